//! Grading a diagnosis against the truth: a score out of 100 with a breakdown per
//! component, partial credit where a near miss deserves it, process credit for checking
//! the data before blaming the product, and the cost of hints.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::generate::Truth;
use crate::scenario::{Family, Group, Stage};

/// What the learner claims.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub family: Family,
    pub segment: Vec<(String, String)>,
    pub stage: Option<Stage>,
    pub start: Option<NaiveDate>,
}

/// What the learner did before answering.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// Investigative commands run (queries, sql, ab).
    pub commands: usize,
    /// Whether one of them looked at backend orders or another data-quality signal.
    pub checked_data_quality: bool,
    pub hints: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Component {
    pub component: String,
    pub earned: f64,
    pub possible: f64,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grade {
    pub score: f64,
    pub breakdown: Vec<Component>,
}

pub const FAMILY_POINTS: f64 = 40.0;
pub const SEGMENT_POINTS: f64 = 20.0;
pub const STAGE_POINTS: f64 = 10.0;
pub const START_POINTS: f64 = 10.0;
pub const QUALITY_POINTS: f64 = 10.0;
pub const EFFORT_POINTS: f64 = 10.0;

/// Points each hint costs, by stage (later hints give more away).
pub const HINT_COSTS: [f64; 6] = [2.0, 4.0, 5.0, 8.0, 8.0, 15.0];

pub fn hint_cost_total(hints: u32) -> f64 {
    HINT_COSTS.iter().take(hints as usize).sum()
}

fn component(name: &str, earned: f64, possible: f64, why: impl Into<String>) -> Component {
    Component { component: name.into(), earned, possible, why: why.into() }
}

pub fn grade(truth: &Truth, answer: &Diagnosis, process: &Process) -> Grade {
    let mut parts = Vec::new();

    // Cause family: exact, or the right group (e.g. "measurement"), or nothing.
    let family = if answer.family == truth.family {
        component("cause", FAMILY_POINTS, FAMILY_POINTS, format!("{} is right", truth.family))
    } else if answer.family.group() == truth.family.group() && truth.family.group() != Group::None {
        component(
            "cause",
            FAMILY_POINTS * 0.4,
            FAMILY_POINTS,
            format!(
                "{} is in the right group ({}), but the cause was another family",
                answer.family,
                truth.family.group().name()
            ),
        )
    } else {
        component(
            "cause",
            0.0,
            FAMILY_POINTS,
            format!(
                "{} is a {} cause; the truth is in another group",
                answer.family,
                answer.family.group().name()
            ),
        )
    };
    parts.push(family);

    // Segment: exact, superset (named the segment and more), overlapping, or wrong.
    let truth_terms: BTreeMap<&str, &str> =
        truth.segment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer_terms: BTreeMap<&str, &str> =
        answer.segment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let shared = truth_terms.iter().filter(|(k, v)| answer_terms.get(*k) == Some(v)).count();
    // Extra terms that describe the affected sessions themselves (the bots' user agent).
    let extras_fit = answer_terms
        .iter()
        .filter(|(k, _)| !truth_terms.contains_key(*k))
        .all(|(k, v)| truth.fingerprint.get(*k).map(String::as_str) == Some(*v));
    let segment = if truth_terms.is_empty() {
        if answer_terms.is_empty() {
            component("segment", SEGMENT_POINTS, SEGMENT_POINTS, "right: it hit everyone, no single segment")
        } else {
            component(
                "segment",
                SEGMENT_POINTS * 0.25,
                SEGMENT_POINTS,
                "it hit everyone; the segment you named is only part of it",
            )
        }
    } else if shared == truth_terms.len() && answer_terms.len() == truth_terms.len() {
        component("segment", SEGMENT_POINTS, SEGMENT_POINTS, "exact segment")
    } else if shared == truth_terms.len() && extras_fit {
        component(
            "segment",
            SEGMENT_POINTS,
            SEGMENT_POINTS,
            "exact segment (your extra terms describe the affected sessions themselves)",
        )
    } else if shared == truth_terms.len() {
        component(
            "segment",
            SEGMENT_POINTS * 0.6,
            SEGMENT_POINTS,
            "the segment is inside yours, but yours adds terms that do not matter",
        )
    } else if shared > 0 {
        component(
            "segment",
            SEGMENT_POINTS * 0.4,
            SEGMENT_POINTS,
            "overlapping: some of your terms are right, the segment is narrower or different",
        )
    } else if answer_terms.is_empty() {
        component("segment", 0.0, SEGMENT_POINTS, "no segment named, but the cause hit one segment")
    } else {
        component("segment", 0.0, SEGMENT_POINTS, "wrong segment")
    };
    parts.push(segment);

    let stage = match (truth.stage, answer.stage) {
        (Some(t), Some(a)) if t == a => {
            component("stage", STAGE_POINTS, STAGE_POINTS, format!("{t} is the broken step"))
        }
        (Some(t), Some(a)) if (t.index() as i32 - a.index() as i32).abs() == 1 => {
            component("stage", STAGE_POINTS * 0.3, STAGE_POINTS, format!("{a} is next to the broken step"))
        }
        (Some(_), Some(a)) => component("stage", 0.0, STAGE_POINTS, format!("{a} is not the broken step")),
        (Some(_), None) => component("stage", 0.0, STAGE_POINTS, "no stage named, but one step broke"),
        (None, None) => component("stage", STAGE_POINTS, STAGE_POINTS, "right: no single step is to blame"),
        (None, Some(a)) => component(
            "stage",
            STAGE_POINTS * 0.5,
            STAGE_POINTS,
            format!("the cause is not tied to one step (you named {a})"),
        ),
    };
    parts.push(stage);

    let start = match answer.start {
        Some(date) => {
            let off = (date - truth.start).num_days().abs();
            if off <= 1 {
                component("start", START_POINTS, START_POINTS, "start date within a day")
            } else if off <= 3 {
                component("start", START_POINTS * 0.5, START_POINTS, format!("start date {off} days off"))
            } else {
                component("start", 0.0, START_POINTS, format!("start date {off} days off"))
            }
        }
        None if truth.family == Family::Noise => {
            component("start", START_POINTS, START_POINTS, "right: nothing started")
        }
        None => component("start", 0.0, START_POINTS, "no start date named"),
    };
    parts.push(start);

    let quality = if process.checked_data_quality {
        component(
            "data quality first",
            QUALITY_POINTS,
            QUALITY_POINTS,
            "you checked the second source or data quality before answering",
        )
    } else {
        component(
            "data quality first",
            0.0,
            QUALITY_POINTS,
            "no command checked backend orders or data quality before the answer",
        )
    };
    parts.push(quality);

    let effort = match process.commands {
        0 => component("investigation", 0.0, EFFORT_POINTS, "answered before running any query"),
        1..=2 => component(
            "investigation",
            EFFORT_POINTS * 0.5,
            EFFORT_POINTS,
            format!("{} queries: a diagnosis needs more evidence", process.commands),
        ),
        3..=40 => {
            component("investigation", EFFORT_POINTS, EFFORT_POINTS, format!("{} queries", process.commands))
        }
        n => component(
            "investigation",
            EFFORT_POINTS * 0.5,
            EFFORT_POINTS,
            format!("{n} queries: a fishing expedition"),
        ),
    };
    parts.push(effort);

    let hints = hint_cost_total(process.hints);
    if process.hints > 0 {
        parts.push(component("hints", -hints, 0.0, format!("{} hint(s) taken", process.hints)));
    }
    let score = parts.iter().map(|p| p.earned).sum::<f64>().clamp(0.0, 100.0);
    Grade { score, breakdown: parts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn truth(family: Family, segment: &[(&str, &str)], stage: Option<Stage>) -> Truth {
        let start = NaiveDate::from_ymd_opt(2026, 3, 23).unwrap();
        Truth {
            family,
            segment: segment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            fingerprint: Default::default(),
            stage,
            start,
            start_time: start.and_hms_opt(0, 0, 0).unwrap(),
            end_time: None,
            size: 0.4,
            scenario: "s".into(),
            title: "t".into(),
            difficulty: "medium".into(),
            decoys: vec![],
            headline_change: -0.05,
            target_rate: None,
            explanation: String::new(),
            evidence_command: String::new(),
        }
    }

    fn answer(
        family: Family,
        segment: &[(&str, &str)],
        stage: Option<Stage>,
        start: Option<(i32, u32, u32)>,
    ) -> Diagnosis {
        Diagnosis {
            family,
            segment: segment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            stage,
            start: start.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
        }
    }

    const SEG: [(&str, &str); 2] = [("platform", "android"), ("app_version", "5.2.0")];

    #[test]
    fn a_perfect_answer_with_good_process_scores_100() {
        let t = truth(Family::ReleaseBug, &SEG, Some(Stage::Purchase));
        let a = answer(Family::ReleaseBug, &SEG, Some(Stage::Purchase), Some((2026, 3, 24)));
        let g = grade(&t, &a, &Process { commands: 5, checked_data_quality: true, hints: 0 });
        assert_eq!(g.score, 100.0);
    }

    #[test]
    fn the_lookalike_in_another_group_loses_the_cause_points() {
        let t = truth(Family::ReleaseBug, &SEG, Some(Stage::Purchase));
        let a = answer(Family::TrackingLoss, &SEG, Some(Stage::Purchase), Some((2026, 3, 23)));
        let g = grade(&t, &a, &Process { commands: 5, checked_data_quality: true, hints: 0 });
        assert_eq!(g.score, 60.0);
    }

    #[test]
    fn same_group_gets_partial_credit_and_hints_cost() {
        let t = truth(Family::TrackingLoss, &SEG, Some(Stage::Purchase));
        let a = answer(Family::DuplicateSessions, &SEG[..1], None, None);
        let g = grade(&t, &a, &Process { commands: 0, checked_data_quality: false, hints: 2 });
        // 16 (group) + 8 (overlapping segment) + 0 + 0 + 0 + 0 − (2 + 4) hints
        assert_eq!(g.score, 18.0);
        assert_eq!(g.breakdown.last().unwrap().earned, -6.0);
    }

    fn segment_points(g: &Grade) -> f64 {
        g.breakdown.iter().find(|p| p.component == "segment").map(|p| p.earned).expect("a segment component")
    }

    #[test]
    fn naming_the_bots_user_agent_beyond_the_segment_is_exact() {
        let mut t = truth(Family::BotTraffic, &[("country", "BR"), ("traffic_source", "affiliate")], None);
        t.fingerprint = [("browser", "chrome"), ("user_type", "new")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let process = Process { commands: 5, checked_data_quality: true, hints: 0 };
        let with_ua = answer(
            Family::BotTraffic,
            &[("country", "BR"), ("traffic_source", "affiliate"), ("browser", "chrome")],
            None,
            None,
        );
        assert_eq!(segment_points(&grade(&t, &with_ua, &process)), SEGMENT_POINTS);
        // A term outside the fingerprint is still an unneeded addition.
        let with_other = answer(
            Family::BotTraffic,
            &[("country", "BR"), ("traffic_source", "affiliate"), ("device", "mobile")],
            None,
            None,
        );
        assert_eq!(segment_points(&grade(&t, &with_other, &process)), SEGMENT_POINTS * 0.6);
    }
}
