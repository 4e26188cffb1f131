//! Integration tests of the `dropcase` binary: one test binary, one module per subcommand.

mod ab;
mod cube;
mod cube_sql;
mod diagnose;
mod drill;
mod drill_log;
mod exp;
mod fuzz;
mod generate;
mod integrity;
mod metrics;
mod pixels;
mod plot;
mod products;
mod query;
mod report;
mod serve;
mod spark;
mod sql;
mod squeeze_b0;
mod support;
mod warehouse;
