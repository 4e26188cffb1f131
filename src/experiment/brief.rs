//! The public brief of an experiment drill (`drill.toml` with `kind = "experiment"`): the
//! hypothesis, the design as planned, and what actually ran. Never the truth.

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::brief::{Definition, DrillKind, TableNote};

use super::metrics::Metric;

/// The design of the experiment as the team planned it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Design {
    /// Control first.
    pub arms: Vec<String>,
    pub weights: Vec<f64>,
    pub start: NaiveDate,
    pub planned_days: u32,
    pub planned_end: NaiveDate,
    pub primary: Metric,
    pub secondary: Vec<Metric>,
    pub guardrails: Vec<Metric>,
    /// Relative minimum detectable effect on the primary metric.
    pub mde: f64,
    pub alpha: f64,
    pub power: f64,
    /// Users per arm the power calculation asked for.
    pub planned_users_per_arm: u64,
    /// Allocation changes during the test (empty: `weights` throughout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
}

/// From `from` on, users were assigned with `weights`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    pub from: NaiveDate,
    pub weights: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentBrief {
    pub kind: DrillKind,
    pub prompt: String,
    pub hypothesis: String,
    pub seed: u64,
    pub design: Design,
    /// First and last day present in the data.
    pub data_from: NaiveDate,
    pub data_to: NaiveDate,
    /// Users in the assignment log.
    pub users: u64,
    /// What happened while the test ran, as the team reports it.
    #[serde(default)]
    pub notes: Vec<String>,
    pub tables: Vec<TableNote>,
    pub definitions: Vec<Definition>,
}

impl ExperimentBrief {
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(crate::schema::files::BRIEF);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the experiment brief {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not a valid experiment brief", path.display()))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a brief always serialises")
    }

    /// Expected treatment share for a user exposed on `date`.
    pub fn weights_on(&self, date: NaiveDate) -> &[f64] {
        self.design
            .phases
            .iter()
            .rev()
            .find(|p| p.from <= date)
            .map(|p| p.weights.as_slice())
            .unwrap_or(&self.design.weights)
    }

    pub fn days_run(&self) -> i64 {
        (self.data_to - self.data_from).num_days() + 1
    }
}
