//! Statistics for metric drops and experiments: plain numbers in, plain structs out.
//! No data frames here; `statrs` supplies the distributions.
