//! What really happened in a drill: sealed at generation, unsealed by grading and the reveal.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::scenario::{Case, Cause, Family, Stage};

use super::model::{DayCounts, Model};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Truth {
    pub family: Family,
    /// The segment the cause hit (`dim → value`); empty when it hit everyone.
    #[serde(rename = "where")]
    pub segment: BTreeMap<String, String>,
    /// Terms every affected session shares beyond the segment (bots: one user agent, new
    /// users). An answer or a localised cause may add them without being wrong.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprint: BTreeMap<String, String>,
    pub stage: Option<Stage>,
    pub start: NaiveDate,
    pub start_time: NaiveDateTime,
    pub end_time: Option<NaiveDateTime>,
    pub size: f64,
    pub scenario: String,
    pub title: String,
    pub difficulty: String,
    pub decoys: Vec<DecoyTruth>,
    /// Relative change of the headline metric between the windows.
    pub headline_change: f64,
    /// The target's signature stage rate in the baseline and current windows.
    pub target_rate: Option<(f64, f64)>,
    pub explanation: String,
    pub evidence_command: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DecoyTruth {
    pub family: Family,
    #[serde(rename = "where")]
    pub segment: BTreeMap<String, String>,
    pub start: NaiveDate,
}

fn segment(cause: &Cause) -> BTreeMap<String, String> {
    cause.target.iter().cloned().collect()
}

/// The command that shows this family's signature most clearly: the catalogue's template
/// with the target's dimensions and the signature step's rate metric filled in.
pub fn evidence_command(cause: &Cause) -> String {
    let dims: Vec<&str> = cause.target.iter().map(|(d, _)| d.as_str()).collect();
    let by = if dims.is_empty() { "platform".to_string() } else { dims.join(",") };
    let stage_metric =
        Model::signature_stage(cause.family, cause.stage).map(|s| s.metric()).unwrap_or("conversion");
    cause.family.def().evidence.replace("{by}", &by).replace("{step_metric}", stage_metric)
}

fn rate(num: u64, den: u64) -> f64 {
    if den == 0 { f64::NAN } else { num as f64 / den as f64 }
}

pub fn window_counts(case: &Case, counts: &[DayCounts]) -> (DayCounts, DayCounts) {
    let mut baseline = DayCounts::default();
    let mut current = DayCounts::default();
    for (day, c) in counts.iter().enumerate() {
        let date = case.data_start() + chrono::Duration::days(day as i64);
        if case.baseline.contains(date) {
            baseline.add(c);
        } else if case.current.contains(date) {
            current.add(c);
        }
    }
    (baseline, current)
}

pub fn headline_change(case: &Case, counts: &[DayCounts]) -> f64 {
    let (b, c) = window_counts(case, counts);
    rate(c.purchases, c.sessions) / rate(b.purchases, b.sessions) - 1.0
}

impl Truth {
    pub fn new(case: &Case, counts: &[DayCounts]) -> Truth {
        let cause = &case.causes[0];
        let (b, c) = window_counts(case, counts);
        let (tb, tc) = (&b.target[0], &c.target[0]);
        let stage = Model::signature_stage(cause.family, cause.stage);
        let (x0, n0) = super::check::reference_counts(tb, tc);
        let versus_rest = tb.den < 200;
        let target_rate = stage.map(|_| (rate(x0, n0), rate(tc.num, tc.den)));
        let headline = headline_change(case, counts);
        let mut explanation = format!(
            "The cause was {} ({} group): {}.",
            cause.family,
            cause.family.group().name(),
            cause.family.signature()
        );
        if !cause.target.is_empty() {
            explanation.push_str(&format!(" It hit {}", cause.target_text()));
            if let Some(stage) = stage {
                explanation.push_str(&format!(" at the {stage} step"));
            }
            explanation.push_str(&format!(" from {}", cause.start.format("%Y-%m-%d %H:%M")));
            if let Some(end) = cause.end {
                explanation.push_str(&format!(" until {}", end.format("%Y-%m-%d %H:%M")));
            }
            explanation.push('.');
        } else if cause.family != Family::Noise {
            explanation.push_str(&format!(" It began {}.", cause.start.format("%Y-%m-%d")));
        }
        if let (Some(stage), Some((before, after))) = (stage, target_rate)
            && before.is_finite()
            && after.is_finite()
        {
            let lead = if cause.target.is_empty() {
                format!(" Overall the {stage} rate was {:.2}% in the baseline", before * 100.0)
            } else if versus_rest {
                format!(
                    " In the current window the {stage} rate was {:.2}% for the rest of that segment's platform",
                    before * 100.0
                )
            } else {
                format!(" In that segment the {stage} rate was {:.2}% in the baseline", before * 100.0)
            };
            let when = if cause.end.is_some() { "while it lasted" } else { "now" };
            explanation.push_str(&format!(
                "{lead} and {:.2}% {} {when} ({:+.1}%), while conversion overall moved {:+.1}%.",
                after * 100.0,
                if cause.target.is_empty() { "overall" } else { "in the segment" },
                (after / before - 1.0) * 100.0,
                headline * 100.0
            ));
        }
        let orders_change =
            rate(c.orders, 1) / rate(b.orders, 1) * (b.sessions as f64 / c.sessions as f64) - 1.0;
        explanation.push_str(&format!(
            " Backend orders per session moved {:+.1}% against {:+.1}% for client-side conversion.",
            orders_change * 100.0,
            headline * 100.0
        ));
        explanation.push_str(&format!(" The look-alike to rule out is {}.", cause.family.lookalike()));
        if !case.decoys.is_empty() {
            let decoys: Vec<String> = case
                .decoys
                .iter()
                .map(|d| {
                    format!(
                        "{} on {}",
                        d.family,
                        if d.target.is_empty() { "everyone".into() } else { d.target_text() }
                    )
                })
                .collect();
            explanation.push_str(&format!(" Real but small decoys: {}.", decoys.join("; ")));
        }
        Truth {
            family: cause.family,
            segment: segment(cause),
            fingerprint: Model::new(case).fingerprint(cause.family),
            stage,
            start: cause.start.date(),
            start_time: cause.start,
            end_time: cause.end,
            size: cause.size,
            scenario: case.scenario.name.clone(),
            title: case.scenario.title.clone(),
            difficulty: case.scenario.difficulty.name().to_string(),
            decoys: case
                .decoys
                .iter()
                .map(|d| DecoyTruth { family: d.family, segment: segment(d), start: d.start.date() })
                .collect(),
            headline_change: headline,
            target_rate,
            explanation,
            evidence_command: evidence_command(cause),
        }
    }
}
