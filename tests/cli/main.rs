//! Integration tests of the `dropcase` binary: one test binary, one module per subcommand.

mod ab;
mod drill;
mod exp;
mod support;
