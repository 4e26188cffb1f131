//! Experiment scenarios: `scenarios/*.toml` files with `kind = "experiment"`. A file states
//! the experiment's public design (arms, weights, dates, metrics, the MDE it was powered
//! for) and the hidden family with seed-randomised parameter ranges.

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::scenario::{Difficulty, Problem, ScenarioError, catalogue, locate::Locator};

use super::family::ExpFamily;
use super::metrics::Metric;

/// Users an experiment needs for any family's signature to show.
pub const MIN_USERS: u64 = 2_000;
/// Users a scenario file may plan.
pub const MAX_SCENARIO_USERS: u64 = 2_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentScenario {
    pub name: String,
    /// Always "experiment" (checked by validation).
    pub kind: String,
    pub title: String,
    pub difficulty: Difficulty,
    pub family: ExpFamily,
    /// What the team expected, as told to the learner.
    pub hypothesis: String,
    pub design: DesignSpec,
    #[serde(default)]
    pub truth: TruthSpec,
    /// What `exp decide --primary/--guardrail/--criteria` is graded against.
    #[serde(default)]
    pub grading: GradingSpec,
}

/// What a careful analyst judges this experiment on: the metric the decision rests on, the
/// guardrails that matter and the checks the ship rule must hold for this case (an SRM
/// case: the split; a peeked test: the planned sample). Absent keys fall back to the
/// design: its primary and its guardrails, and no checks beyond the bars.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradingSpec {
    /// The metric to judge on (default: `design.primary`).
    #[serde(default)]
    pub primary: Option<Metric>,
    /// Defensible second choices for the primary (half credit).
    #[serde(default)]
    pub primary_also: Vec<Metric>,
    /// The guardrails that matter (default: `design.guardrails`). For a
    /// `guardrail_regression` case the guardrail the seed broke is the one that matters.
    #[serde(default)]
    pub guardrails: Option<Vec<Metric>>,
    /// Checks the ship rule must hold, beyond the primary's bar and a guardrail allowance.
    #[serde(default)]
    pub criteria: Vec<super::criteria::Check>,
    /// Why, in a sentence the grade quotes when the rule misses a check.
    #[serde(default)]
    pub why: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignSpec {
    #[serde(default = "default_arms")]
    pub arms: Vec<String>,
    #[serde(default = "default_weights")]
    pub weights: Vec<f64>,
    pub start: NaiveDate,
    pub planned_days: u32,
    /// Users exposed over the planned duration.
    pub users: u64,
    #[serde(default = "default_primary")]
    pub primary: Metric,
    #[serde(default)]
    pub secondary: Vec<Metric>,
    #[serde(default)]
    pub guardrails: Vec<Metric>,
    /// Relative minimum detectable effect the test was powered for (0.05 = 5%).
    pub mde: f64,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default = "default_power")]
    pub power: f64,
}

/// Seed-randomised parameters of the hidden truth; families use the ones they need and
/// fall back to their own defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthSpec {
    /// Relative effect on the order rate, drawn uniformly from [low, high].
    pub lift: Option<[f64; 2]>,
    /// Share of the planned users actually exposed (underpowered), or the day the test
    /// was stopped (peeking) as a share of the planned days.
    pub exposed_share: Option<[f64; 2]>,
}

fn default_arms() -> Vec<String> {
    vec!["control".into(), "treatment".into()]
}
fn default_weights() -> Vec<f64> {
    vec![50.0, 50.0]
}
fn default_primary() -> Metric {
    Metric::Conversion
}
fn default_alpha() -> f64 {
    0.05
}
fn default_power() -> f64 {
    0.8
}

impl ExperimentScenario {
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = crate::scenario::parse_toml(text, origin)?;
        crate::scenario::check_problems(scenario.problems(text), origin)?;
        Ok(scenario)
    }

    pub fn read(path: &Path) -> Result<Self, ScenarioError> {
        Self::parse(&crate::scenario::read_text(path)?, &path.display().to_string())
    }

    /// A catalogue name or a path to a `.toml` file.
    pub fn load(name_or_path: &str) -> Result<Self, ScenarioError> {
        let path = Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || path.exists() {
            return Self::read(path);
        }
        catalogue::find_experiment(name_or_path)
    }

    fn problems(&self, text: &str) -> Vec<Problem> {
        let loc = Locator::new(text);
        let mut out = Vec::new();
        let mut bad = |line: Option<usize>, key: &str, value: String, allowed: &str| {
            out.push(Problem { line, key: key.to_string(), value, allowed: allowed.to_string() })
        };
        let design = Some(("design", None));
        if self.kind != "experiment" {
            bad(loc.key(None, "kind"), "kind", format!("{:?}", self.kind), "\"experiment\"");
        }
        if self.name.trim().is_empty()
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bad(loc.key(None, "name"), "name", format!("{:?}", self.name), "letters, digits, '_' and '-'");
        }
        let d = &self.design;
        if d.arms.len() != 2 || d.arms[0] == d.arms[1] {
            bad(loc.key(design, "arms"), "design.arms", format!("{:?}", d.arms), "two distinct names");
        }
        let weight_sum: f64 = d.weights.iter().sum();
        let shares_ok = d.weights.iter().all(|w| (0.01..=0.99).contains(&(w / weight_sum)));
        if d.weights.len() != d.arms.len()
            || d.weights.iter().any(|w| !(w.is_finite() && *w > 0.0 && *w <= 1e6))
            || !shares_ok
        {
            bad(
                loc.key(design, "weights"),
                "design.weights",
                format!("{:?}", d.weights),
                "one positive weight (at most 1e6) per arm, each arm's share of the split in [1%, 99%]",
            );
        }
        if !(7..=60).contains(&d.planned_days) {
            bad(
                loc.key(design, "planned_days"),
                "design.planned_days",
                d.planned_days.to_string(),
                "7 to 60",
            );
        }
        if !(MIN_USERS..=MAX_SCENARIO_USERS).contains(&d.users) {
            bad(
                loc.key(design, "users"),
                "design.users",
                d.users.to_string(),
                &format!("{MIN_USERS} to {MAX_SCENARIO_USERS}"),
            );
        }
        if !(d.mde > 0.0 && d.mde < 1.0) {
            bad(
                loc.key(design, "mde"),
                "design.mde",
                d.mde.to_string(),
                "a relative effect in (0, 1), e.g. 0.05",
            );
        }
        if !(d.alpha > 0.0 && d.alpha < 0.5) {
            bad(loc.key(design, "alpha"), "design.alpha", d.alpha.to_string(), "a level in (0, 0.5)");
        }
        if !(d.power > 0.5 && d.power < 1.0) {
            bad(loc.key(design, "power"), "design.power", d.power.to_string(), "a power in (0.5, 1)");
        }
        if d.secondary.contains(&d.primary) || d.guardrails.contains(&d.primary) {
            bad(
                loc.key(design, "primary"),
                "design.primary",
                d.primary.name().to_string(),
                "a metric not also listed as secondary or guardrail",
            );
        }
        let grading = Some(("grading", None));
        let all_metrics: Vec<Metric> = std::iter::once(d.primary)
            .chain(d.secondary.iter().copied())
            .chain(d.guardrails.iter().copied())
            .collect();
        for (key, metrics) in [
            ("primary", self.grading.primary.into_iter().collect::<Vec<_>>()),
            ("primary_also", self.grading.primary_also.clone()),
            ("guardrails", self.grading.guardrails.clone().unwrap_or_default()),
        ] {
            if let Some(m) = metrics.iter().find(|m| !all_metrics.contains(m)) {
                bad(
                    loc.key(grading, key),
                    &format!("grading.{key}"),
                    m.name().to_string(),
                    "a metric of the design (its primary, secondary or guardrails)",
                );
            }
        }
        let truth = Some(("truth", None));
        for (key, range) in [("lift", self.truth.lift), ("exposed_share", self.truth.exposed_share)] {
            if let Some([lo, hi]) = range {
                let ok = lo.is_finite() && hi.is_finite() && lo <= hi && lo > -0.9 && hi < 2.0;
                let share_ok = key != "exposed_share" || (lo > 0.0 && hi <= 1.0);
                if !ok || !share_ok {
                    bad(
                        loc.key(truth, key),
                        &format!("truth.{key}"),
                        format!("[{lo}, {hi}]"),
                        "[low, high] with low <= high (shares in (0, 1])",
                    );
                }
            }
        }
        out
    }
}
