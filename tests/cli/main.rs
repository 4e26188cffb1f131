//! Integration tests of the `dropcase` binary: one test binary, one module per subcommand.

mod ab;
mod pixels;
mod plot;
mod report;
mod support;
