//! An experiment drill folder: its brief, data, sealed truth and the learner's decision
//! (`decision.json`). The log, hints and reveal flag live in the shared `progress.json`,
//! so the `ab` commands are logged into experiment drills exactly as into drop drills.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::brief::DrillKind;
use crate::drill::grade::Grade;
use crate::drill::workspace::{Progress, current_drill_dir, write_atomic};
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
        let path = self.dir.join(files::ANSWER);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let plain = crate::generate::seal::unseal(&text)?;
        serde_json::from_slice(&plain).context("the sealed truth does not decode")
    }

    pub fn decision(&self) -> anyhow::Result<Option<DecisionRecord>> {
        let path = self.dir.join(DECISION_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(
                serde_json::from_str(&text).with_context(|| format!("{} is corrupted", path.display()))?,
            )),
            Err(_) => Ok(None),
        }
    }

    pub fn save_decision(&self, record: &DecisionRecord) -> anyhow::Result<()> {
        write_atomic(&self.dir.join(DECISION_FILE), serde_json::to_string_pretty(record)?.as_bytes())
    }
}
