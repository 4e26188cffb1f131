//! Integration tests of the `dropcase` binary: one test binary, one module per subcommand.

mod ab;
mod diagnose;
mod support;
