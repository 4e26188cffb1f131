//! dropcase: a metric-drop diagnosis simulator.
//!
//! A scenario (TOML) plus a seed becomes synthetic funnel data with a hidden root cause
//! (`scenario`, `generate`); the learner investigates with `query` and `stats`, answers,
//! and is graded (`drill`). Dependencies point one way: `cli` → `drill` → `generate`,
//! `query` → `scenario`, `dataset`, `stats`. Nothing below `cli` prints to the terminal.

pub mod brief;
pub mod cli;
pub mod cube;
pub mod datafile;
pub mod dataset;
pub mod diagnose;
pub mod drill;
pub mod experiment;
pub mod generate;
pub mod output;
pub mod plot;
pub mod product;
pub mod query;
pub mod report;
pub mod scenario;
pub mod schema;
pub mod serve;
pub mod stats;
pub mod suggest;
