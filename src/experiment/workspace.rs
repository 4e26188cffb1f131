//! An experiment drill folder: its brief, data, sealed truth and the learner's decision
//! (`decision.json`). The log, hints and reveal flag live in the shared `progress.json`,
//! so the `ab` commands are logged into experiment drills exactly as into drop drills.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::brief::DrillKind;
use crate::drill::grade::Grade;
use crate::drill::workspace::{Progress, current_drill_dir};
use crate::schema::files;

use super::brief::ExperimentBrief;
use super::data::ExperimentData;
use super::generate::ExperimentTruth;
use super::grade::ExperimentAnswer;

pub const DECISION_FILE: &str = "decision.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub answer: ExperimentAnswer,
    pub grade: Grade,
}

pub struct ExperimentDrill {
    pub dir: PathBuf,
    pub brief: ExperimentBrief,
}

impl ExperimentDrill {
    /// `--dir DIR`, or the current drill; refuses metric-drop drills.
    pub fn open(dir: Option<&Path>) -> anyhow::Result<Self> {
        let dir = match dir {
            Some(d) => {
                anyhow::ensure!(
                    d.join(files::BRIEF).exists(),
                    "{} is not an experiment drill folder (no {}); start one with `dropcase exp start --dir {}`",
                    d.display(),
                    files::BRIEF,
                    d.display()
                );
                d.to_path_buf()
            }
            None => current_drill_dir().map_err(|_| {
                anyhow::anyhow!("no current drill: run `dropcase exp start`, or pass --dir DIR")
            })?,
        };
        if crate::brief::kind_of(&dir)? == DrillKind::Drop {
            anyhow::bail!(
                "{} is a metric-drop drill, not an experiment: use `dropcase drill status|hint|answer|reveal` (or start an experiment with `dropcase exp start`)",
                dir.display()
            );
        }
        let brief = ExperimentBrief::read(&dir)?;
        Ok(Self { dir, brief })
    }

    pub fn progress(&self) -> anyhow::Result<Progress> {
        Progress::load(&self.dir)
    }

    pub fn data(&self) -> anyhow::Result<ExperimentData> {
        ExperimentData::read(&self.dir, &self.brief.design.arms)
    }

    pub fn truth(&self) -> anyhow::Result<ExperimentTruth> {
        let plain = crate::drill::state::open_sealed(&self.dir)?;
        serde_json::from_slice(&plain)
            .with_context(|| format!("{} does not decode", self.dir.join(files::ANSWER).display()))
    }

    /// The decision, `None` only when `decision.json` does not exist; a damaged or foreign
    /// one is an error, never a silent "not decided yet".
    pub fn decision(&self) -> anyhow::Result<Option<DecisionRecord>> {
        let what_to_do = format!(
            "dropcase will not guess whether this experiment was decided, so nothing was changed; restore the file, or delete {} and {} to restart the drill (its log, hints and decision are lost)",
            self.dir.join(DECISION_FILE).display(),
            self.dir.join(crate::drill::workspace::PROGRESS_FILE).display()
        );
        crate::drill::state::load(&self.dir, DECISION_FILE, &what_to_do)
    }

    pub fn save_decision(&self, record: &DecisionRecord) -> anyhow::Result<()> {
        crate::drill::state::save(&self.dir, DECISION_FILE, record)
    }
}
