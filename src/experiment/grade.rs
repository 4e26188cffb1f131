//! Grading an experiment decision as an interviewer would: the decision itself (40), the
//! reasons (20), the metric it rests on (5), the guardrails that matter (5), the ship rule
//! committed to (10: the primary's bar at a confidence level, a guardrail allowance, and
//! the checks this case needs, such as the split for an SRM case) and the process (20: the
//! split checked before any lift was read, the daily trend and the segments looked at),
//! less the cost of hints. A wrong call earns little whatever the process; the breakdown
//! says why, with the truth's explanation for the decision.

use serde::{Deserialize, Serialize};

use crate::drill::command::{AbKind, CommandKind, CommandRecord};
use crate::drill::grade::{Component, Grade};

use super::criteria::ShipRule;
use super::family::{Decision, Reason};
use super::generate::ExperimentTruth;
use super::metrics::Metric;

pub const DECISION_POINTS: f64 = 40.0;
pub const REASON_POINTS: f64 = 20.0;
pub const PRIMARY_POINTS: f64 = 5.0;
pub const GUARDRAIL_POINTS: f64 = 5.0;
pub const CRITERIA_POINTS: f64 = 10.0;
/// A guardrail allowance wider than this lets a real regression through.
pub const MAX_GUARDRAIL_TOLERANCE: f64 = 0.05;
/// A bar stated below this confidence is not a significance bar.
pub const MIN_CONFIDENCE: f64 = 0.9;
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
    /// The metric the decision rests on (`--primary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<Metric>,
    /// The guardrails watched (`--guardrail`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<Metric>,
    /// The ship rule committed to (`--criteria`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria: Option<ShipRule>,
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

fn names(metrics: &[Metric]) -> String {
    metrics.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
}

/// The metric the decision rests on.
fn primary_line(truth: &ExperimentTruth, claimed: Option<Metric>) -> Component {
    let Some(right) = truth.primary else {
        return Component::new("primary", 0.0, 0.0, "this drill was sealed before the primary was graded");
    };
    let why = truth.criteria_why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default();
    let Some(claimed) = claimed else {
        return Component::new(
            "primary",
            0.0,
            PRIMARY_POINTS,
            format!("no primary metric named (`--primary METRIC`): the decision rests on {right}"),
        );
    };
    if claimed == right {
        Component::new(
            "primary",
            PRIMARY_POINTS,
            PRIMARY_POINTS,
            format!("{right} is the metric to decide on"),
        )
    } else if truth.primary_also.contains(&claimed) {
        Component::new(
            "primary",
            PRIMARY_POINTS * 0.5,
            PRIMARY_POINTS,
            format!("{claimed} is defensible, but the decision rests on {right}{why}"),
        )
    } else {
        Component::new(
            "primary",
            0.0,
            PRIMARY_POINTS,
            format!("{claimed} is not the metric to decide on: {right} is{why}"),
        )
    }
}

/// The guardrails that matter, named: the share of them named earns the line.
fn guardrail_line(truth: &ExperimentTruth, claimed: &[Metric]) -> Component {
    let matter = &truth.guardrails;
    if truth.primary.is_none() || matter.is_empty() {
        return Component::new("guardrails", 0.0, 0.0, "this drill was sealed before guardrails were graded");
    }
    let regressed = truth.family == super::ExpFamily::GuardrailRegression;
    if claimed.is_empty() {
        return Component::new(
            "guardrails",
            0.0,
            GUARDRAIL_POINTS,
            format!(
                "no guardrail named (`--guardrail METRIC[,METRIC]`); the ones that matter: {}",
                names(matter)
            ),
        );
    }
    let missed: Vec<Metric> = matter.iter().copied().filter(|m| !claimed.contains(m)).collect();
    let earned = GUARDRAIL_POINTS * (matter.len() - missed.len()) as f64 / matter.len() as f64;
    let not_guardrails: Vec<Metric> = claimed
        .iter()
        .copied()
        .filter(|m| Some(*m) == truth.primary || truth.primary_also.contains(m))
        .collect();
    let mut why = if missed.is_empty() && regressed {
        format!("you watched {}, the guardrail that regressed", names(matter))
    } else if missed.is_empty() {
        format!("you named the guardrails that matter: {}", names(matter))
    } else if regressed {
        format!("{} is the guardrail that regressed, and you did not name it", names(&missed))
    } else {
        format!("missing: {} (the guardrails that matter: {})", names(&missed), names(matter))
    };
    if !not_guardrails.is_empty() {
        why.push_str(&format!("; {} is what you decide on, not a guardrail", names(&not_guardrails)));
    }
    Component::new("guardrails", earned, GUARDRAIL_POINTS, why)
}

/// The ship rule against what the case needs: the primary's bar at a confidence level, a
/// guardrail allowance over the guardrails that matter, and each check the case needs, the
/// points split evenly among them.
fn criteria_line(truth: &ExperimentTruth, rule: Option<&ShipRule>) -> Component {
    let Some(right) = truth.primary else {
        return Component::new("criteria", 0.0, 0.0, "this drill was sealed before ship rules were graded");
    };
    let needs: Vec<String> = std::iter::once(format!("{right} lift > 0 at 95%"))
        .chain(std::iter::once("no guardrail drops more than 1%".to_string()))
        .chain(truth.criteria.iter().map(|c| c.example().to_string()))
        .collect();
    let Some(rule) = rule else {
        return Component::new(
            "criteria",
            0.0,
            CRITERIA_POINTS,
            format!(
                "no ship rule committed (`--criteria`); this case needs: ship if {}",
                needs.join(" and ")
            ),
        );
    };
    let elements = 2 + truth.criteria.len();
    let share = CRITERIA_POINTS / elements as f64;
    let mut earned = 0.0;
    let mut met = Vec::new();
    let mut missed = Vec::new();

    let bar = rule
        .bars()
        .filter(|(m, t, above, _)| *above && *t >= 0.0 && (*m == right || truth.primary_also.contains(m)))
        .max_by_key(|(m, _, _, c)| (*m == right, c.is_some_and(|c| c >= MIN_CONFIDENCE)));
    match bar {
        Some((m, _, _, Some(c))) if m == right && c >= MIN_CONFIDENCE => {
            earned += share;
            met.push(format!("{right}'s bar at {:.0}%", c * 100.0));
        }
        Some((m, _, _, _)) if m == right => {
            earned += share * 0.5;
            missed.push(format!("{right}'s bar states no confidence level of at least 90% (add 'at 95%')"));
        }
        Some((m, _, _, _)) => {
            earned += share * 0.5;
            missed.push(format!("the bar is on {m}; the decision rests on {right}"));
        }
        None => match rule.bars().next() {
            Some((m, ..)) => missed.push(format!("the bar is on {m}, not {right} clearing 0 or more")),
            None => missed.push(format!("no bar for {right} (e.g. '{right} lift > 0 at 95%')")),
        },
    }

    let matter = &truth.guardrails;
    let allowances: Vec<(Option<Metric>, Option<f64>, bool)> = rule.guardrails().collect();
    let covers = |g: Metric| allowances.iter().find(|(m, _, _)| m.is_none_or(|m| m == g));
    let covered: Vec<Metric> = matter.iter().copied().filter(|g| covers(*g).is_some()).collect();
    let too_wide: Vec<Metric> = covered
        .iter()
        .copied()
        .filter(|g| {
            covers(*g).is_some_and(|(_, t, sig)| !sig && t.is_some_and(|t| t > MAX_GUARDRAIL_TOLERANCE))
        })
        .collect();
    if allowances.is_empty() {
        missed.push("no guardrail allowance (e.g. 'no guardrail drops more than 1%')".into());
    } else if matter.is_empty() {
        earned += share;
        met.push("a guardrail allowance".into());
    } else {
        let fraction = (covered.len() - too_wide.len()) as f64 / matter.len() as f64;
        earned += share * fraction;
        if fraction >= 1.0 {
            met.push(format!("an allowance over {}", names(matter)));
        } else if !too_wide.is_empty() {
            missed.push(format!(
                "the allowance for {} is wider than {:.0}%: a real regression passes it",
                names(&too_wide),
                MAX_GUARDRAIL_TOLERANCE * 100.0
            ));
        } else {
            let uncovered: Vec<Metric> = matter.iter().copied().filter(|g| !covered.contains(g)).collect();
            missed.push(format!("no allowance for {}", names(&uncovered)));
        }
    }

    for check in &truth.criteria {
        if rule.has_check(*check) {
            earned += share;
            met.push(format!("'{}'", check.example()));
        } else {
            let why = truth.criteria_why.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
            missed.push(format!("the rule does not require '{}'{why}", check.example()));
        }
    }
    let why = match (met.is_empty(), missed.is_empty()) {
        (_, true) => format!("the rule holds what this case needs: {}", met.join(", ")),
        (true, false) => missed.join("; "),
        (false, false) => format!("has {}; but {}", met.join(", "), missed.join("; ")),
    };
    Component::new("criteria", earned, CRITERIA_POINTS, why)
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
    reason_points = (reason_points - REASON_POINTS / 3.0 * extras.len() as f64).max(0.0);
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
    breakdown.push(primary_line(truth, answer.primary));
    breakdown.push(guardrail_line(truth, &answer.guardrails));
    breakdown.push(criteria_line(truth, answer.criteria.as_ref()));
    let mut add = |name: &str, earned: f64, possible: f64, why: String| {
        breakdown.push(Component::new(name, earned, possible, why))
    };

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
    use crate::experiment::ExpFamily;
    use crate::experiment::criteria::{self, Check};

    fn truth(family: ExpFamily, primary: Metric, guardrails: &[Metric], checks: &[Check]) -> ExperimentTruth {
        ExperimentTruth {
            family,
            decision: family.decision(),
            reasons: family.reasons(),
            segment: None,
            explanation: "what happened".into(),
            evidence: family.evidence_command().into(),
            scenario: "test".into(),
            primary: Some(primary),
            primary_also: vec![],
            guardrails: guardrails.to_vec(),
            criteria: checks.to_vec(),
            criteria_why: Some("the reason the case needs it".into()),
        }
    }

    const GUARDRAILS: [Metric; 3] = [Metric::Aov, Metric::PageLoadMs, Metric::RefundRate];

    fn answer(truth: &ExperimentTruth) -> ExperimentAnswer {
        ExperimentAnswer {
            decision: truth.decision,
            reasons: truth.reasons.clone(),
            segment: None,
            primary: None,
            guardrails: vec![],
            criteria: None,
        }
    }

    fn careful() -> ExperimentProcess {
        ExperimentProcess {
            commands: vec![ab(AbKind::Analyze), ab(AbKind::Daily), ab(AbKind::Segments)],
            hints: 0,
        }
    }

    fn line<'a>(g: &'a Grade, name: &str) -> &'a Component {
        g.breakdown.iter().find(|c| c.component == name).unwrap_or_else(|| panic!("{name} in {g:#?}"))
    }

    fn rule(text: &str) -> Option<ShipRule> {
        Some(criteria::parse(text).expect("a readable rule"))
    }

    #[test]
    fn the_full_answer_scores_100_and_the_old_one_loses_only_the_new_lines() {
        let t = truth(ExpFamily::Srm, Metric::Conversion, &GUARDRAILS, &[Check::Srm]);
        let full = ExperimentAnswer {
            primary: Some(Metric::Conversion),
            guardrails: GUARDRAILS.to_vec(),
            criteria: rule(
                "ship if srm passes and conversion lift > 0 at 95% and no guardrail drops more than 1%",
            ),
            ..answer(&t)
        };
        let g = grade(&t, &full, &careful(), &[]);
        assert_eq!(g.score, 100.0, "{g:#?}");
        let possible: f64 = g.breakdown.iter().map(|c| c.possible).sum();
        assert_eq!(possible, 100.0);
        // The decision and reasons alone, as before the new flags: every new line is there and missed.
        let g = grade(&t, &answer(&t), &careful(), &[]);
        assert_eq!(g.score, 100.0 - PRIMARY_POINTS - GUARDRAIL_POINTS - CRITERIA_POINTS);
        for name in ["primary", "guardrails", "criteria"] {
            assert_eq!(line(&g, name).earned, 0.0, "{name}");
            assert!(line(&g, name).possible > 0.0, "{name}");
        }
        assert!(line(&g, "criteria").why.contains("srm passes"), "{}", line(&g, "criteria").why);
    }

    #[test]
    fn primary_full_for_the_right_metric_half_for_a_second_choice_none_otherwise() {
        let mut t = truth(ExpFamily::TelemetryBias, Metric::ServerConversion, &GUARDRAILS, &[]);
        t.primary_also = vec![Metric::ServerOrdersPerUser];
        let with = |m: Option<Metric>| {
            let a = ExperimentAnswer { primary: m, ..answer(&t) };
            line(&grade(&t, &a, &careful(), &[]), "primary").clone()
        };
        assert_eq!(with(Some(Metric::ServerConversion)).earned, PRIMARY_POINTS);
        assert_eq!(with(Some(Metric::ServerOrdersPerUser)).earned, PRIMARY_POINTS * 0.5);
        let wrong = with(Some(Metric::Conversion));
        assert_eq!(wrong.earned, 0.0);
        assert!(wrong.why.contains("server_conversion is"), "{}", wrong.why);
        assert_eq!(with(None).earned, 0.0);
    }

    #[test]
    fn guardrails_earn_the_share_of_those_that_matter_and_the_regressed_one_is_named() {
        let t = truth(ExpFamily::TrueWin, Metric::Conversion, &GUARDRAILS, &[]);
        let with = |t: &ExperimentTruth, g: &[Metric]| {
            let a = ExperimentAnswer { guardrails: g.to_vec(), ..answer(t) };
            line(&grade(t, &a, &careful(), &[]), "guardrails").clone()
        };
        assert_eq!(with(&t, &GUARDRAILS).earned, GUARDRAIL_POINTS);
        assert!((with(&t, &[Metric::Aov]).earned - GUARDRAIL_POINTS / 3.0).abs() < 1e-9);
        assert_eq!(with(&t, &[]).earned, 0.0);
        let regressed = truth(ExpFamily::GuardrailRegression, Metric::Conversion, &[Metric::PageLoadMs], &[]);
        assert_eq!(with(&regressed, &[Metric::PageLoadMs]).earned, GUARDRAIL_POINTS);
        let missed = with(&regressed, &[Metric::Aov, Metric::RefundRate]);
        assert_eq!(missed.earned, 0.0);
        assert!(missed.why.contains("page_load_ms is the guardrail that regressed"), "{}", missed.why);
    }

    #[test]
    fn the_ship_rule_earns_per_element_the_case_needs() {
        let t = truth(ExpFamily::Peeking, Metric::Conversion, &GUARDRAILS, &[Check::FullSample]);
        let with = |text: Option<&str>| {
            let a = ExperimentAnswer { criteria: text.and_then(rule), ..answer(&t) };
            line(&grade(&t, &a, &careful(), &[]), "criteria").clone()
        };
        let share = CRITERIA_POINTS / 3.0;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let full = with(Some(
            "ship if conversion lift > 0 at 95% and planned sample reached and no guardrail drops more than 1%",
        ));
        assert!(close(full.earned, CRITERIA_POINTS), "{full:?}");
        // The check this case needs is missing: its share is lost, and the why says why.
        let no_check = with(Some("ship if conversion lift > 0 at 95% and no guardrail drops more than 1%"));
        assert!(close(no_check.earned, 2.0 * share), "{no_check:?}");
        assert!(no_check.why.contains("planned sample reached"), "{}", no_check.why);
        // No confidence level: half the bar.
        let no_level =
            with(Some("conversion lift > 0 and planned sample reached and no guardrail drops more than 1%"));
        assert!(close(no_level.earned, 2.5 * share), "{no_level:?}");
        // The bar on the wrong metric, and an allowance too wide to catch anything.
        let wrong = with(Some("revenue_per_user lift > 0 at 95% and no guardrail drops more than 10%"));
        assert!(close(wrong.earned, 0.0), "{wrong:?}");
        assert!(wrong.why.contains("wider than 5%"), "{}", wrong.why);
        // One guardrail covered of three: a third of the allowance.
        let one = with(Some(
            "conversion lift > 0 at 95% and planned sample reached and aov not significantly worse",
        ));
        assert!(close(one.earned, 2.0 * share + share / 3.0), "{one:?}");
        assert_eq!(with(None).earned, 0.0);
    }

    #[test]
    fn a_drill_sealed_before_the_new_lines_grades_them_as_nothing_possible() {
        let mut t = truth(ExpFamily::TrueWin, Metric::Conversion, &GUARDRAILS, &[]);
        t.primary = None;
        t.guardrails.clear();
        let g = grade(&t, &answer(&t), &careful(), &[]);
        for name in ["primary", "guardrails", "criteria"] {
            assert_eq!(line(&g, name).possible, 0.0, "{name}");
            assert!(line(&g, name).why.contains("sealed before"), "{name}");
        }
        // An old truth (no primary fields) still reads, and the CLI grades it on the design's
        // primary and guardrails.
        let old = r#"{"family":"true_win","decision":"ship","reasons":["clear_win"],"segment":null,"explanation":"x","evidence":"y","scenario":"z"}"#;
        let t: ExperimentTruth = serde_json::from_str(old).expect("an old truth reads");
        assert!(t.primary.is_none());
        let design: crate::experiment::brief::Design = toml::from_str(
            r#"arms = ["control", "treatment"]
weights = [50.0, 50.0]
start = "2026-03-02"
planned_days = 14
planned_end = "2026-03-15"
primary = "conversion"
secondary = []
guardrails = ["aov"]
mde = 0.05
alpha = 0.05
power = 0.8
planned_users_per_arm = 1000
"#,
        )
        .expect("a design");
        let t = t.with_design_defaults(&design);
        assert_eq!((t.primary, t.guardrails.clone()), (Some(Metric::Conversion), vec![Metric::Aov]));
        let a = ExperimentAnswer {
            primary: Some(Metric::Conversion),
            guardrails: vec![Metric::Aov],
            ..answer(&t)
        };
        assert_eq!(line(&grade(&t, &a, &careful(), &[]), "guardrails").earned, GUARDRAIL_POINTS);
    }

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
