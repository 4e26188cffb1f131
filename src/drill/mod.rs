//! The practice loop: start a drill, investigate, take hints, answer, be graded, see the
//! truth. A drill is a folder (data, brief, sealed answer, progress); the current drill is
//! remembered under `$DROPCASE_HOME` so commands need no flags.

pub mod ask;
pub mod command;
pub mod evidence;
pub mod grade;
pub mod hint;
pub mod product_hint;
pub mod start_window;
pub mod state;
pub mod workspace;

pub use grade::{Claim, Diagnosis, Grade, Process};
pub use workspace::{Drill, Progress, current_drill_dir};
