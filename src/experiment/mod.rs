//! Experiment drills: an A/B test with a hidden truth (a real win, a broken split, a
//! novelty effect, ...). `scenario` reads the design, `simulate` and `generate` build the
//! folder and check it is solvable, `analysis` is the readout the `ab` commands print, and
//! `grade` scores the learner's decision.

pub mod analysis;
pub mod brief;
pub mod criteria;
pub mod data;
pub mod family;
pub mod generate;
pub mod grade;
pub mod hint;
pub mod metrics;
pub mod scenario;
pub mod simulate;
pub mod workspace;

pub use family::{Decision, ExpFamily, Reason};
pub use scenario::ExperimentScenario;
