//! Grading an experiment decision: the decision itself (50), the reasons (30) and the
//! process (20: the split checked before any lift was read, the daily trend and the
//! segments looked at), less the cost of hints. A wrong call earns little whatever the
//! process; the breakdown says why, with the truth's explanation for the decision.

use serde::{Deserialize, Serialize};

use crate::drill::command::{AbKind, CommandKind, CommandRecord};
use crate::drill::grade::{Component, Grade};

use super::family::{Decision, Reason};
use super::generate::ExperimentTruth;

pub const DECISION_POINTS: f64 = 50.0;
pub const REASON_POINTS: f64 = 30.0;
pub const SRM_FIRST_POINTS: f64 = 10.0;
pub const DAILY_POINTS: f64 = 5.0;
pub const SEGMENT_POINTS: f64 = 5.0;
pub const HINT_COSTS: [f64; 3] = [5.0, 10.0, 15.0];

/// What the learner decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentAnswer {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub segment: Option<String>,
}

/// What the learner did before deciding, read from the drill's typed log.
#[derive(Debug, Clone, Default)]
pub struct ExperimentProcess {
    /// Investigative commands run before the decision, in order.
    pub commands: Vec<CommandRecord>,
    pub hints: u32,
}

/// Whether an `ab` command reads a lift (as opposed to checking the split or planning).
fn reads_lift(kind: AbKind) -> bool {
    match kind {
        AbKind::Daily
        | AbKind::Segments
        | AbKind::Test
        | AbKind::Means
        | AbKind::Ratio
        | AbKind::Cuped
        | AbKind::Bayes
        | AbKind::Bootstrap => true,
        // `ab analyze` opens with the SRM check before any lift.
        AbKind::Analyze | AbKind::Srm | AbKind::Ci | AbKind::Size | AbKind::Adjust | AbKind::Seq => false,
    }
}

impl ExperimentProcess {
    fn ab_kinds(&self) -> impl Iterator<Item = (AbKind, &CommandRecord)> {
        self.commands.iter().filter_map(|c| match c.kind {
            CommandKind::Ab(kind) => Some((kind, c)),
            CommandKind::Query(_)
            | CommandKind::Sql
            | CommandKind::Diagnose
            | CommandKind::Metrics
            | CommandKind::Drill(_)
            | CommandKind::Exp(_) => None,
        })
    }

    /// An SRM check (`ab srm`, or `ab analyze`, which opens with it) before any command
    /// that reads a lift.
    pub fn srm_checked_first(&self) -> bool {
        for (kind, _) in self.ab_kinds() {
            if matches!(kind, AbKind::Analyze | AbKind::Srm) {
                return true;
            }
            if reads_lift(kind) {
                return false;
            }
        }
        false
    }

    pub fn looked_daily(&self) -> bool {
        self.ab_kinds().any(|(kind, _)| kind == AbKind::Daily)
    }

    pub fn looked_segments(&self) -> bool {
        self.ab_kinds()
            .any(|(kind, c)| kind == AbKind::Segments || (kind == AbKind::Analyze && !c.by.is_empty()))
    }
}

/// `dim=value[,value]` or `dim!=value` → (dimension, sorted values, negated).
pub fn parse_segment(text: &str) -> Option<(String, Vec<String>, bool)> {
    let (dim, values, negated) = match text.split_once("!=") {
        Some((d, v)) => (d, v, true),
        None => {
            let (d, v) = text.split_once('=')?;
            (d, v, false)
        }
    };
    let mut values: Vec<String> =
        values.split([',', '|']).map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty()).collect();
    values.sort();
    values.dedup();
    let dim = dim.trim().to_ascii_lowercase();
    (!dim.is_empty() && !values.is_empty()).then_some((dim, values, negated))
}

/// Whether two segments name the same users, given every value of the dimension.
pub fn same_segment(a: &str, b: &str, all_values: &[&str]) -> bool {
    let resolve = |text: &str| {
        parse_segment(text).map(|(dim, values, negated)| {
            let mut set: Vec<String> = if negated {
                all_values.iter().map(|v| v.to_string()).filter(|v| !values.contains(v)).collect()
            } else {
                values
            };
            set.sort();
            (dim, set)
        })
    };
    matches!((resolve(a), resolve(b)), (Some(x), Some(y)) if x == y)
}

pub fn grade(
    truth: &ExperimentTruth,
    answer: &ExperimentAnswer,
    process: &ExperimentProcess,
    segment_values: &[&str],
) -> Grade {
    let mut breakdown = Vec::new();
    let mut add = |name: &str, earned: f64, possible: f64, why: String| {
        breakdown.push(Component::new(name, earned, possible, why))
    };
    let right = truth.decision;
    let decision_points = if answer.decision == right {
        if right == Decision::ShipSegment {
            let same = match (&answer.segment, &truth.segment) {
                (Some(a), Some(t)) => same_segment(a, t, segment_values),
                _ => false,
            };
            if same { DECISION_POINTS } else { DECISION_POINTS * 0.6 }
        } else {
            DECISION_POINTS
        }
    } else if truth.family.partial_decisions().contains(&answer.decision) {
        DECISION_POINTS * 0.5
    } else {
        0.0
    };
    let decision_why = if decision_points == DECISION_POINTS {
        format!("{} is the right call", right)
    } else if decision_points > 0.0 {
        format!(
            "{} is defensible, but the better call is {}{}",
            answer.decision,
            right,
            truth.segment.as_ref().map(|s| format!(" to {s}")).unwrap_or_default()
        )
    } else {
        format!("{} is the wrong call: {}", answer.decision, truth.explanation)
    };
    add("decision", decision_points, DECISION_POINTS, decision_why);

    let hits = truth.reasons.iter().filter(|r| answer.reasons.contains(r)).count();
    let extras: Vec<&Reason> = answer.reasons.iter().filter(|r| !truth.reasons.contains(r)).collect();
    let mut reason_points = REASON_POINTS * hits as f64 / truth.reasons.len().max(1) as f64;
    reason_points = (reason_points - 10.0 * extras.len() as f64).max(0.0);
    let names = |rs: &[Reason]| rs.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ");
    let reason_why = if hits == truth.reasons.len() && extras.is_empty() {
        format!("{} is the reason", names(&truth.reasons))
    } else if hits > 0 {
        format!(
            "{} is right; {} does not apply",
            names(&truth.reasons),
            extras.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
        )
    } else {
        format!("the reason is {}: {}", names(&truth.reasons), truth.reasons[0].about())
    };
    add("reason", reason_points, REASON_POINTS, reason_why);

    let srm_first = process.srm_checked_first();
    add(
        "srm_checked_first",
        if srm_first { SRM_FIRST_POINTS } else { 0.0 },
        SRM_FIRST_POINTS,
        if srm_first {
            "checked the split (SRM) before reading any lift".into()
        } else {
            "check the split first (`dropcase ab analyze` or `ab srm`): with a sample-ratio mismatch no lift can be trusted".into()
        },
    );
    let daily = process.looked_daily();
    add(
        "daily_trend",
        if daily { DAILY_POINTS } else { 0.0 },
        DAILY_POINTS,
        if daily {
            "looked at the daily lift".into()
        } else {
            "look at the daily and cumulative lift (`dropcase ab daily`): novelty, primacy and peeking show there".into()
        },
    );
    let segs = process.looked_segments();
    add(
        "segments",
        if segs { SEGMENT_POINTS } else { 0.0 },
        SEGMENT_POINTS,
        if segs {
            "looked at segments".into()
        } else {
            "look at segments (`dropcase ab segments --by platform`)".into()
        },
    );
    let cost: f64 = HINT_COSTS.iter().take(process.hints as usize).sum();
    if process.hints > 0 {
        add("hints", -cost, 0.0, format!("{} hint(s) taken", process.hints));
    }
    let score = breakdown.iter().map(|c| c.earned).sum::<f64>().clamp(0.0, 100.0);
    Grade { score, breakdown }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_compare_as_sets() {
        let all = ["ios", "android", "web"];
        assert!(same_segment("platform=ios,web", "platform!=android", &all));
        assert!(same_segment("platform=web|ios", "platform=ios,web", &all));
        assert!(!same_segment("platform=ios", "platform=ios,web", &all));
    }

    fn ab(kind: AbKind) -> CommandRecord {
        CommandRecord::new(CommandKind::Ab(kind))
    }

    #[test]
    fn srm_first_means_before_any_lift() {
        let p = ExperimentProcess { commands: vec![ab(AbKind::Daily), ab(AbKind::Analyze)], hints: 0 };
        assert!(!p.srm_checked_first());
        let p = ExperimentProcess { commands: vec![ab(AbKind::Size), ab(AbKind::Srm)], hints: 0 };
        assert!(p.srm_checked_first());
    }

    #[test]
    fn segments_are_looked_at_by_ab_segments_or_a_cut_readout() {
        let plain = ExperimentProcess { commands: vec![ab(AbKind::Analyze)], hints: 0 };
        assert!(!plain.looked_segments());
        let mut cut = ab(AbKind::Analyze);
        cut.by = vec!["platform".into()];
        let p = ExperimentProcess { commands: vec![cut], hints: 0 };
        assert!(p.looked_segments());
        assert!(ExperimentProcess { commands: vec![ab(AbKind::Segments)], hints: 0 }.looked_segments());
        assert!(!p.looked_daily());
    }
}
