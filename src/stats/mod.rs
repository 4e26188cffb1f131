//! Statistics for metric drops and experiments: plain numbers in, plain structs out.
//! No data frames here; `statrs` supplies the distributions.

pub mod adjust;
pub mod bayes;
pub mod beta;
pub mod bootstrap;
pub mod cuped;
pub mod dist;
pub mod error;
pub mod interval;
pub mod means;
pub mod moments;
pub mod power;
pub mod proportion;
pub mod ratio;
pub mod sequential;
pub mod srm;

pub use dist::Alternative;
pub use error::StatsError;
pub use interval::Interval;

#[cfg(test)]
mod calibration;
#[cfg(test)]
mod extremes;
#[cfg(test)]
mod testutil;
