//! Grading a diagnosis as an interviewer would: a score out of 100 with one line per rubric
//! item. The answer's content — each cause found (family, segment, stage, start, matched to
//! the true causes by the best assignment, so a two-cause case gives credit per cause),
//! the impact, the action and what to monitor — and the path that led to it, read from
//! the typed command log (never from command text): the metric's definition confirmed,
//! data quality checked before drilling into segments, segments cut before the answer,
//! the cause's evidence command actually run, a reasonable number of queries. Hints cost
//! points. Every line says what earned it, with the command and its time.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::generate::truth::CauseTruth;
use crate::scenario::{Action, Family, Group, Stage};

use super::command::{CommandKind, CommandRecord, DrillStep, QualityCheck, QueryKind};
use super::workspace::LogEntry;

/// One cause the learner claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub family: Family,
    pub segment: Vec<(String, String)>,
    pub stage: Option<Stage>,
    pub start: Option<NaiveDate>,
}

/// What the learner answers: one claim per cause, and the rest of a full answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnosis {
    pub claims: Vec<Claim>,
    /// Lost conversions per day in the current window.
    pub impact: Option<f64>,
    pub action: Option<Action>,
    /// Metrics (registry names) to watch to confirm the fix.
    pub monitor: Vec<String>,
    pub note: Option<String>,
}

/// What the learner did before answering: the drill's log, hints, and the evidence command
/// of each true cause as the command line's parser reads it (`None` where it does not
/// parse, e.g. an older truth).
#[derive(Debug, Clone, Default)]
pub struct Process {
    pub log: Vec<LogEntry>,
    pub hints: u32,
    pub evidence: Vec<Option<CommandRecord>>,
    /// How closely the data dates each true cause's start (empty or `None`: within a day,
    /// the tolerance of a crisp step).
    pub start_tolerance: Vec<Option<StartTolerance>>,
    /// The metric names of the drill's product: a family of several products lists monitors
    /// of each, and only this product's are offered (empty: every monitor counts).
    pub metrics: Vec<String>,
}

/// The claimed start dates that earn the start line in full: a day either side of the true
/// start for a crisp step, wider where the data cannot date the change more closely (a
/// cause that ramps up, a segment whose daily series leaves the change-point uncertain).
/// Half credit reaches two days beyond it; further off earns nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct StartTolerance {
    pub full: [NaiveDate; 2],
    /// Why it is wider than a day either side (`None` for a crisp step).
    pub why: Option<String>,
}

impl StartTolerance {
    /// A crisp step: the day it began, or the day either side.
    pub fn crisp(start: NaiveDate) -> Self {
        StartTolerance {
            full: [start - chrono::Duration::days(1), start + chrono::Duration::days(1)],
            why: None,
        }
    }

    /// Days from `date` to the full-credit window (0 inside it).
    pub fn days_outside(&self, date: NaiveDate) -> i64 {
        if date < self.full[0] {
            (self.full[0] - date).num_days()
        } else if date > self.full[1] {
            (date - self.full[1]).num_days()
        } else {
            0
        }
    }
}

/// Days beyond the full-credit window that still earn half the start line.
pub const START_HALF_CREDIT_DAYS: i64 = 2;

/// The interview rubric's headings, under which the scorecard groups the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rubric {
    Structure,
    DataQualityInstinct,
    Segmentation,
    RootCause,
    Impact,
    Recommendation,
    Communication,
}

impl Rubric {
    pub const ALL: [Rubric; 7] = [
        Rubric::Structure,
        Rubric::DataQualityInstinct,
        Rubric::Segmentation,
        Rubric::RootCause,
        Rubric::Impact,
        Rubric::Recommendation,
        Rubric::Communication,
    ];

    pub fn words(self) -> &'static str {
        match self {
            Rubric::Structure => "structure",
            Rubric::DataQualityInstinct => "data-quality instinct",
            Rubric::Segmentation => "segmentation",
            Rubric::RootCause => "root cause",
            Rubric::Impact => "impact",
            Rubric::Recommendation => "recommendation",
            Rubric::Communication => "communication",
        }
    }
}

/// One line of the grade.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Component {
    pub component: String,
    pub earned: f64,
    pub possible: f64,
    pub why: String,
    /// The rubric heading the line counts under (absent in grades from older versions).
    #[serde(default)]
    pub rubric: Option<Rubric>,
    /// Which true cause (from 1) the line grades, in a case with several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<usize>,
    /// The command that earned the line, as typed, and when it ran.
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grade {
    pub score: f64,
    pub breakdown: Vec<Component>,
}

/// Points per rubric line; the content of the causes is split evenly among the true causes.
pub const FAMILY_POINTS: f64 = 25.0;
pub const SEGMENT_POINTS: f64 = 10.0;
pub const STAGE_POINTS: f64 = 5.0;
pub const START_POINTS: f64 = 5.0;
pub const IMPACT_POINTS: f64 = 10.0;
pub const ACTION_POINTS: f64 = 10.0;
pub const MONITOR_POINTS: f64 = 5.0;
pub const DEFINITION_POINTS: f64 = 5.0;
pub const QUALITY_POINTS: f64 = 10.0;
pub const SEGMENTATION_POINTS: f64 = 5.0;
pub const EVIDENCE_POINTS: f64 = 5.0;
pub const EFFORT_POINTS: f64 = 5.0;
/// What a claimed cause that did not happen costs.
pub const EXTRA_CAUSE_COST: f64 = 5.0;

/// Points each hint costs, by stage (later hints give more away).
pub const HINT_COSTS: [f64; 6] = [2.0, 4.0, 5.0, 8.0, 8.0, 15.0];

pub fn hint_cost_total(hints: u32) -> f64 {
    HINT_COSTS.iter().take(hints as usize).sum()
}

fn line(name: &str, rubric: Rubric, earned: f64, possible: f64, why: impl Into<String>) -> Component {
    Component {
        component: name.into(),
        earned,
        possible,
        why: why.into(),
        rubric: Some(rubric),
        cause: None,
        command: None,
        at: None,
    }
}

impl Component {
    /// A line with no rubric heading and nothing that earned it (experiment grades).
    pub fn new(name: &str, earned: f64, possible: f64, why: impl Into<String>) -> Self {
        Component { rubric: None, ..line(name, Rubric::Structure, earned, possible, why) }
    }

    fn earned_by(mut self, entry: Option<&LogEntry>) -> Self {
        if let Some(e) = entry {
            self.command = Some(e.command.clone());
            self.at = Some(e.at);
        }
        self
    }
}

/// The content lines of one claim against one true cause, each scaled by `share`.
fn claim_lines(
    truth: &CauseTruth,
    claim: Option<&Claim>,
    share: f64,
    tolerance: Option<&StartTolerance>,
) -> Vec<Component> {
    let rc = Rubric::RootCause;
    let Some(answer) = claim else {
        let why = format!("not named: {} was a cause", truth.family);
        return vec![
            line("cause", rc, 0.0, FAMILY_POINTS * share, why.clone()),
            line("segment", Rubric::Segmentation, 0.0, SEGMENT_POINTS * share, why.clone()),
            line("stage", rc, 0.0, STAGE_POINTS * share, why.clone()),
            line("start", rc, 0.0, START_POINTS * share, why),
        ];
    };
    let mut parts = Vec::new();
    let family_points = FAMILY_POINTS * share;
    parts.push(if answer.family == truth.family {
        line("cause", rc, family_points, family_points, format!("{} is right", truth.family))
    } else if answer.family.group() == truth.family.group() && truth.family.group() != Group::None {
        line(
            "cause",
            rc,
            family_points * 0.4,
            family_points,
            format!(
                "{} is in the right group ({}), but the cause was another family",
                answer.family,
                truth.family.group().name()
            ),
        )
    } else {
        line(
            "cause",
            rc,
            0.0,
            family_points,
            format!(
                "{} is a {} cause; the truth is in another group",
                answer.family,
                answer.family.group().name()
            ),
        )
    });

    // Segment: exact, superset (named the segment and more), overlapping, or wrong.
    let seg = Rubric::Segmentation;
    let points = SEGMENT_POINTS * share;
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
    parts.push(if truth_terms.is_empty() {
        if answer_terms.is_empty() {
            line("segment", seg, points, points, "right: it hit everyone, no single segment")
        } else {
            line(
                "segment",
                seg,
                points * 0.25,
                points,
                "it hit everyone; the segment you named is only part of it",
            )
        }
    } else if shared == truth_terms.len() && answer_terms.len() == truth_terms.len() {
        line("segment", seg, points, points, "exact segment")
    } else if shared == truth_terms.len() && extras_fit {
        line(
            "segment",
            seg,
            points,
            points,
            "exact segment (your extra terms describe the affected sessions themselves)",
        )
    } else if shared == truth_terms.len() {
        line(
            "segment",
            seg,
            points * 0.6,
            points,
            "the segment is inside yours, but yours adds terms that do not matter",
        )
    } else if shared > 0 {
        line(
            "segment",
            seg,
            points * 0.4,
            points,
            "overlapping: some of your terms are right, the segment is narrower or different",
        )
    } else if answer_terms.is_empty() {
        line("segment", seg, 0.0, points, "no segment named, but the cause hit one segment")
    } else {
        line("segment", seg, 0.0, points, "wrong segment")
    });

    let points = STAGE_POINTS * share;
    parts.push(match (truth.stage, answer.stage) {
        (Some(t), Some(a)) if t == a => line("stage", rc, points, points, format!("{t} is the broken step")),
        (Some(t), Some(a)) if (t.index() as i32 - a.index() as i32).abs() == 1 => {
            line("stage", rc, points * 0.3, points, format!("{a} is next to the broken step"))
        }
        (Some(_), Some(a)) => line("stage", rc, 0.0, points, format!("{a} is not the broken step")),
        (Some(_), None) => line("stage", rc, 0.0, points, "no stage named, but one step broke"),
        (None, None) => line("stage", rc, points, points, "right: no single step is to blame"),
        (None, Some(a)) => line(
            "stage",
            rc,
            points * 0.5,
            points,
            format!("the cause is not tied to one step (you named {a})"),
        ),
    });

    let points = START_POINTS * share;
    let crisp = StartTolerance::crisp(truth.start);
    let tolerance = tolerance.unwrap_or(&crisp);
    parts.push(match answer.start {
        Some(date) => {
            let off = (date - truth.start).num_days().abs();
            let outside = tolerance.days_outside(date);
            let [lo, hi] = tolerance.full;
            let (earned, verdict) = match (outside, &tolerance.why) {
                (0, None) => (points, "start date within a day".to_string()),
                (0, Some(why)) => {
                    (points, format!("start date within the data's tolerance ({lo} – {hi}): {why}"))
                }
                (o, why) => (
                    if o <= START_HALF_CREDIT_DAYS { points * 0.5 } else { 0.0 },
                    format!(
                        "start date {off} days off {} (full credit {lo} – {hi}{})",
                        truth.start,
                        why.as_deref().map(|w| format!(": {w}")).unwrap_or_default()
                    ),
                ),
            };
            line("start", rc, earned, points, verdict)
        }
        None if truth.family == Family::Noise => line("start", rc, points, points, "right: nothing started"),
        None => line("start", rc, 0.0, points, "no start date named"),
    });
    parts
}

fn earned(lines: &[Component]) -> f64 {
    lines.iter().map(|c| c.earned).sum()
}

/// The assignment of claims to true causes (each used at most once) that earns the most
/// content points: `result[t]` is the claim matched to true cause `t`. Brute force over
/// injective assignments: a case has a handful of causes at most.
pub fn best_assignment(truths: &[CauseTruth], claims: &[Claim]) -> Vec<Option<usize>> {
    best_assignment_within(truths, claims, &[])
}

fn best_assignment_within(
    truths: &[CauseTruth],
    claims: &[Claim],
    tolerances: &[Option<StartTolerance>],
) -> Vec<Option<usize>> {
    let share = 1.0 / truths.len().max(1) as f64;
    let value: Vec<Vec<f64>> = truths
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let tolerance = tolerances.get(i).and_then(Option::as_ref);
            claims.iter().map(|c| earned(&claim_lines(t, Some(c), share, tolerance))).collect()
        })
        .collect();
    fn search(
        t: usize,
        value: &[Vec<f64>],
        used: &mut Vec<bool>,
        current: &mut Vec<Option<usize>>,
        best: &mut (f64, Vec<Option<usize>>),
    ) {
        if t == value.len() {
            let total: f64 = current.iter().enumerate().filter_map(|(t, c)| c.map(|c| value[t][c])).sum();
            if total > best.0 + 1e-9 {
                *best = (total, current.clone());
            }
            return;
        }
        current.push(None);
        search(t + 1, value, used, current, best);
        current.pop();
        for c in 0..used.len() {
            if !used[c] {
                used[c] = true;
                current.push(Some(c));
                search(t + 1, value, used, current, best);
                current.pop();
                used[c] = false;
            }
        }
    }
    let mut best = (-1.0, vec![None; truths.len()]);
    search(0, &value, &mut vec![false; claims.len()], &mut Vec::new(), &mut best);
    best.1
}

/// The lost conversions a day the graded impact is measured against, and the scale of the
/// tolerance: the impact itself, or, when the cause lost (almost) nothing — bots, a
/// duplicate-session bug, a calendar effect — the loss the headline seems to show, so an
/// answer of "nothing was lost" is judged against how much it looked like.
pub struct ImpactTruth {
    pub impact: f64,
    /// For a measurement cause, the backend orders lost (a defensible second reading:
    /// the business lost this, the metric lost `impact`).
    pub orders_impact: Option<f64>,
    pub scale: f64,
}

fn impact_line(truth: Option<&ImpactTruth>, claimed: Option<f64>) -> Component {
    let im = Rubric::Impact;
    let Some(truth) = truth else {
        return line("impact", im, 0.0, 0.0, "this drill was sealed before impacts were: not graded");
    };
    let Some(claimed) = claimed else {
        return line(
            "impact",
            im,
            0.0,
            IMPACT_POINTS,
            "no impact sized: how many conversions a day are lost (`--impact N`)?",
        );
    };
    let off = |target: f64| (claimed - target).abs() / truth.scale.max(1e-9);
    let mut best = off(truth.impact);
    let mut against = "the metric's lost conversions";
    if let Some(orders) = truth.orders_impact
        && off(orders) < best
    {
        best = off(orders);
        against = "the backend orders lost";
    }
    let detail = format!(
        "you said {claimed:.0}/day; the truth is {:.0}/day{}",
        truth.impact,
        truth.orders_impact.map(|o| format!(" ({o:.0} backend orders/day)")).unwrap_or_default()
    );
    if best <= 0.25 {
        line("impact", im, IMPACT_POINTS, IMPACT_POINTS, format!("within 25% of {against}: {detail}"))
    } else if best <= 0.5 {
        line("impact", im, IMPACT_POINTS * 0.5, IMPACT_POINTS, format!("within 50% of {against}: {detail}"))
    } else {
        line("impact", im, 0.0, IMPACT_POINTS, format!("more than 50% off: {detail}"))
    }
}

fn action_line(truths: &[CauseTruth], primary: usize, claimed: Option<Action>) -> Component {
    let rec = Rubric::Recommendation;
    let best = truths[primary].actions();
    let names = |a: &[Action]| a.iter().map(|a| a.name()).collect::<Vec<_>>().join(", then ");
    let Some(claimed) = claimed else {
        return line(
            "action",
            rec,
            0.0,
            ACTION_POINTS,
            format!("no action named; the right one was {}", names(&best)),
        );
    };
    if best.first() == Some(&claimed) {
        return line(
            "action",
            rec,
            ACTION_POINTS,
            ACTION_POINTS,
            format!("{claimed} is the right first move"),
        );
    }
    let acceptable = best.contains(&claimed) || truths.iter().any(|t| t.actions().first() == Some(&claimed));
    if acceptable {
        line(
            "action",
            rec,
            ACTION_POINTS * 0.5,
            ACTION_POINTS,
            format!("{claimed} is acceptable, but {} comes first", best[0]),
        )
    } else {
        line(
            "action",
            rec,
            0.0,
            ACTION_POINTS,
            format!("{claimed} does not fix this; the right one was {}", names(&best)),
        )
    }
}

fn monitor_line(truths: &[CauseTruth], claimed: &[String], metrics: &[String]) -> Component {
    let rec = Rubric::Recommendation;
    let mut good: Vec<&str> = Vec::new();
    for m in truths.iter().flat_map(|t| t.family.monitors().iter().copied()) {
        if !good.contains(&m) && (metrics.is_empty() || metrics.iter().any(|x| x == m)) {
            good.push(m);
        }
    }
    if claimed.is_empty() {
        return line(
            "monitor",
            rec,
            0.0,
            MONITOR_POINTS,
            format!("nothing to watch named; {} would confirm the fix", good.join(" or ")),
        );
    }
    match claimed.iter().find(|m| good.contains(&m.as_str())) {
        Some(m) => line("monitor", rec, MONITOR_POINTS, MONITOR_POINTS, format!("{m} confirms the fix")),
        None => line(
            "monitor",
            rec,
            0.0,
            MONITOR_POINTS,
            format!("{} would not show the fix; {} would", claimed.join(", "), good.join(" or ")),
        ),
    }
}

/// Whether a logged command cut the data by a segment.
fn segments(record: &CommandRecord) -> bool {
    match record.kind {
        CommandKind::Query(_) => !record.by.is_empty(),
        CommandKind::Sql => {
            let text = record.sql.as_deref().unwrap_or_default().to_lowercase();
            text.contains("group by") && crate::scenario::DIMENSIONS.iter().any(|d| text.contains(d))
        }
        CommandKind::Ab(crate::drill::command::AbKind::Segments) => true,
        CommandKind::Diagnose => true,
        _ => false,
    }
}

/// Whether a logged command shows what the evidence command shows: the same kind of
/// query, reading the evidence's metrics (the brief's headline when it names none) and
/// cutting by its dimensions (any order, more allowed).
pub fn matches_evidence(logged: &CommandRecord, evidence: &CommandRecord) -> bool {
    if logged.kind != evidence.kind {
        return false;
    }
    let metrics_ok = evidence.metrics.iter().all(|m| logged.metrics.contains(m));
    let by_ok = evidence.by.iter().all(|d| logged.by.contains(d));
    let grain_ok = evidence.grain.is_none()
        || evidence.kind != CommandKind::Query(QueryKind::Trend)
        || logged.grain == evidence.grain;
    metrics_ok && by_ok && grain_ok
}

fn path_lines(truths: &[CauseTruth], process: &Process) -> Vec<Component> {
    let records: Vec<(&LogEntry, &CommandRecord)> =
        process.log.iter().filter_map(|e| e.parsed.as_ref().map(|r| (e, r))).collect();
    // Only what came before the answer counts.
    let before_answer: Vec<(&LogEntry, &CommandRecord)> = records
        .iter()
        .take_while(|(_, r)| r.kind != CommandKind::Drill(DrillStep::Answer))
        .copied()
        .collect();
    let mut out = Vec::new();

    let definition = before_answer.iter().find(|(_, r)| {
        r.kind == CommandKind::Metrics
            || (r.kind == CommandKind::Drill(DrillStep::Ask) && r.topic.as_deref() == Some("definition"))
    });
    out.push(
        match definition {
            Some((_, r)) => line(
                "definition confirmed",
                Rubric::Structure,
                DEFINITION_POINTS,
                DEFINITION_POINTS,
                format!("you confirmed what the metric counts first (`{}`)", r.kind),
            ),
            None => line(
                "definition confirmed",
                Rubric::Structure,
                0.0,
                DEFINITION_POINTS,
                "the metric's definition was never confirmed (`dropcase drill ask definition` or `dropcase metrics`)",
            ),
        }
        .earned_by(definition.map(|(e, _)| *e)),
    );

    let first_check =
        before_answer.iter().find(|(_, r)| r.kind.is_investigation() && r.quality_check().is_some());
    let first_cut = before_answer.iter().position(|(_, r)| segments(r));
    let check_at =
        before_answer.iter().position(|(_, r)| r.kind.is_investigation() && r.quality_check().is_some());
    let check_name = |r: &CommandRecord| match r.quality_check() {
        Some(QualityCheck::SecondSource) => "the second source (a backend count beside the client's)",
        Some(QualityCheck::Duplicates) => "duplicates (sessions per user)",
        Some(QualityCheck::PartialDay) => "a partial day (the hours, the last timestamp)",
        None => "",
    };
    out.push(
        match (check_at, first_cut) {
            (Some(at), cut) if cut.is_none_or(|c| at < c) => line(
                "data quality first",
                Rubric::DataQualityInstinct,
                QUALITY_POINTS,
                QUALITY_POINTS,
                format!("you checked {} before drilling into segments", check_name(before_answer[at].1)),
            ),
            (Some(at), _) => line(
                "data quality first",
                Rubric::DataQualityInstinct,
                QUALITY_POINTS * 0.6,
                QUALITY_POINTS,
                format!(
                    "you checked {}, but only after cutting segments: check the data before blaming the product",
                    check_name(before_answer[at].1)
                ),
            ),
            (None, _) => line(
                "data quality first",
                Rubric::DataQualityInstinct,
                0.0,
                QUALITY_POINTS,
                "no command checked a second source (backend orders, a server log), duplicates or a partial day before the answer",
            ),
        }
        .earned_by(first_check.map(|(e, _)| *e)),
    );

    let cut = first_cut.map(|i| before_answer[i]);
    out.push(
        match cut {
            Some((_, r)) => line(
                "segmentation",
                Rubric::Segmentation,
                SEGMENTATION_POINTS,
                SEGMENTATION_POINTS,
                if r.by.is_empty() {
                    format!("you cut the data by segment (`{}`)", r.kind)
                } else {
                    format!("you cut by {} before answering", r.by.join(", "))
                },
            ),
            None => line(
                "segmentation",
                Rubric::Segmentation,
                0.0,
                SEGMENTATION_POINTS,
                "no command cut the data by a segment (`query compare --by DIM`) before the answer",
            ),
        }
        .earned_by(cut.map(|(e, _)| e)),
    );

    let share = 1.0 / truths.len().max(1) as f64;
    for (i, truth) in truths.iter().enumerate() {
        let points = EVIDENCE_POINTS * share;
        let evidence = process.evidence.get(i).and_then(Option::as_ref);
        let run = evidence.and_then(|ev| before_answer.iter().find(|(_, r)| matches_evidence(r, ev)));
        let mut c = match (evidence, run) {
            (Some(ev), Some(_)) => line(
                "evidence",
                Rubric::RootCause,
                points,
                points,
                format!("you ran the command that shows {} (`{}`)", truth.family, ev.kind),
            ),
            (Some(_), None) => line(
                "evidence",
                Rubric::RootCause,
                0.0,
                points,
                format!("the command that shows {} was never run: {}", truth.family, truth.evidence_command),
            ),
            (None, _) => {
                line("evidence", Rubric::RootCause, 0.0, 0.0, "no evidence command to check for this cause")
            }
        }
        .earned_by(run.map(|(e, _)| *e));
        if truths.len() > 1 {
            c.cause = Some(i + 1);
        }
        out.push(c);
    }

    let commands: Vec<&(&LogEntry, &CommandRecord)> =
        before_answer.iter().filter(|(_, r)| r.kind.is_investigation()).collect();
    let n = commands.len();
    let structure = Rubric::Structure;
    // Two queries that look from two angles (which step: a funnel; which segment: a cut)
    // are a full investigation; two of one kind are not.
    let funnel = commands.iter().any(|(_, r)| r.kind == CommandKind::Query(QueryKind::Funnel));
    let cut = commands.iter().any(|(_, r)| segments(r));
    out.push(match n {
        0 => line("investigation", structure, 0.0, EFFORT_POINTS, "answered before running any query"),
        2 if funnel && cut => line(
            "investigation",
            structure,
            EFFORT_POINTS,
            EFFORT_POINTS,
            "2 queries from both angles: the step (a funnel) and the segment (a cut)",
        ),
        1..=2 => line(
            "investigation",
            structure,
            EFFORT_POINTS * 0.5,
            EFFORT_POINTS,
            format!("{n} queries: a diagnosis needs more evidence"),
        ),
        3..=40 => line("investigation", structure, EFFORT_POINTS, EFFORT_POINTS, format!("{n} queries")),
        n => line(
            "investigation",
            structure,
            EFFORT_POINTS * 0.5,
            EFFORT_POINTS,
            format!("{n} queries: a fishing expedition"),
        ),
    });
    out
}

/// Grades `answer` against the true causes. `impact` is the sealed impact (the sum over
/// the causes), `None` for a drill sealed before impacts were.
pub fn grade(
    truths: &[CauseTruth],
    impact: Option<&ImpactTruth>,
    answer: &Diagnosis,
    process: &Process,
) -> Grade {
    let mut parts = Vec::new();
    let share = 1.0 / truths.len().max(1) as f64;
    let assignment = best_assignment_within(truths, &answer.claims, &process.start_tolerance);
    for (t, truth) in truths.iter().enumerate() {
        let claim = assignment[t].map(|c| &answer.claims[c]);
        let tolerance = process.start_tolerance.get(t).and_then(Option::as_ref);
        for mut c in claim_lines(truth, claim, share, tolerance) {
            if truths.len() > 1 {
                c.cause = Some(t + 1);
            }
            parts.push(c);
        }
    }
    let matched: Vec<usize> = assignment.iter().flatten().copied().collect();
    let extra: Vec<&Claim> =
        answer.claims.iter().enumerate().filter(|(i, _)| !matched.contains(i)).map(|(_, c)| c).collect();
    if !extra.is_empty() {
        parts.push(line(
            "extra causes",
            Rubric::RootCause,
            -EXTRA_CAUSE_COST * extra.len() as f64,
            0.0,
            format!(
                "claimed but did not happen: {}",
                extra.iter().map(|c| c.family.name()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    parts.push(impact_line(impact, answer.impact));
    // The action that matters most is the one for the cause that cost the most.
    let primary = (0..truths.len())
        .max_by(|&a, &b| {
            let size = |i: usize| truths[i].impact.map(f64::abs).unwrap_or(0.0);
            size(a).total_cmp(&size(b)).then(b.cmp(&a))
        })
        .unwrap_or(0);
    if !truths.is_empty() {
        parts.push(action_line(truths, primary, answer.action));
        parts.push(monitor_line(truths, &answer.monitor, &process.metrics));
    }
    parts.extend(path_lines(truths, process));

    let hints = hint_cost_total(process.hints);
    if process.hints > 0 {
        parts.push(line("hints", Rubric::Structure, -hints, 0.0, format!("{} hint(s) taken", process.hints)));
    }
    let score = parts.iter().map(|p| p.earned).sum::<f64>().clamp(0.0, 100.0);
    Grade { score, breakdown: parts }
}

/// The scorecard of an interview: earned and possible points per rubric heading, and the
/// communication rating (no points in the score: a full answer with a note for the
/// reviewer reads as communicated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScoreLine {
    pub rubric: Rubric,
    pub words: String,
    pub earned: f64,
    pub possible: f64,
    pub verdict: String,
}

/// The end of an interview: the rubric in its own words, the ideal path beside the
/// learner's, and whether the answer came in time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InterviewCard {
    pub lines: Vec<ScoreLine>,
    pub minutes_allowed: u32,
    pub minutes_used: i64,
    pub ideal_path: Vec<String>,
    pub your_path: Vec<String>,
}

pub fn scorecard(grade: &Grade, answer: &Diagnosis) -> Vec<ScoreLine> {
    Rubric::ALL
        .iter()
        .map(|&rubric| {
            if rubric == Rubric::Communication {
                let parts = [
                    answer.note.as_deref().is_some_and(|n| n.split_whitespace().count() >= 5),
                    answer.impact.is_some(),
                    answer.action.is_some(),
                    !answer.monitor.is_empty(),
                ];
                let earned = parts.iter().filter(|&&p| p).count() as f64;
                let verdict = match earned as usize {
                    4 => "a complete answer: cause, size, action, what to watch, and your reasoning",
                    2..=3 => "partly complete: an interviewer would ask for what is missing",
                    _ => "the answer stops at the cause: say how big, what to do and why",
                };
                return ScoreLine {
                    rubric,
                    words: rubric.words().into(),
                    earned,
                    possible: 4.0,
                    verdict: verdict.into(),
                };
            }
            let lines: Vec<&Component> =
                grade.breakdown.iter().filter(|c| c.rubric == Some(rubric)).collect();
            let earned: f64 = lines.iter().map(|c| c.earned).sum();
            let possible: f64 = lines.iter().map(|c| c.possible).sum();
            let ratio = if possible > 0.0 { earned / possible } else { 1.0 };
            let verdict = if ratio >= 0.9 {
                "strong"
            } else if ratio >= 0.5 {
                "partial"
            } else {
                "missing"
            };
            ScoreLine { rubric, words: rubric.words().into(), earned, possible, verdict: verdict.into() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::command::{AbKind, TABLE_ORDERS, TABLE_SESSIONS};
    use chrono::{Duration, TimeZone};

    fn cause(family: Family, segment: &[(&str, &str)], stage: Option<Stage>, impact: f64) -> CauseTruth {
        let start = NaiveDate::from_ymd_opt(2026, 3, 23).unwrap();
        CauseTruth {
            family,
            segment: segment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            fingerprint: Default::default(),
            stage,
            start,
            start_time: start.and_hms_opt(0, 0, 0).unwrap(),
            end_time: None,
            ramp_days: 0.0,
            explanation: String::new(),
            evidence_command: "dropcase query compare --by app_version --metric purchase_rate".into(),
            impact: Some(impact),
            orders_impact: Some(impact),
            actions: family.actions().to_vec(),
        }
    }

    fn claim(
        family: Family,
        segment: &[(&str, &str)],
        stage: Option<Stage>,
        start: Option<(i32, u32, u32)>,
    ) -> Claim {
        Claim {
            family,
            segment: segment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            stage,
            start: start.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
        }
    }

    const SEG: [(&str, &str); 2] = [("platform", "android"), ("app_version", "5.2.0")];

    fn entry(i: i64, record: CommandRecord) -> LogEntry {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap() + Duration::minutes(i);
        LogEntry { at, command: format!("dropcase {} #{i}", record.kind), parsed: Some(record) }
    }

    fn query(kind: QueryKind, metrics: &[&str], by: &[&str]) -> CommandRecord {
        let mut r = CommandRecord::new(CommandKind::Query(kind));
        r.metrics = metrics.iter().map(|m| m.to_string()).collect();
        r.by = by.iter().map(|m| m.to_string()).collect();
        r.tables = vec![TABLE_SESSIONS.into()];
        if metrics.contains(&"backend_conversion") {
            r.tables.push(TABLE_ORDERS.into());
        }
        r
    }

    fn ask(topic: &str) -> CommandRecord {
        let mut r = CommandRecord::new(CommandKind::Drill(DrillStep::Ask));
        r.topic = Some(topic.into());
        r
    }

    fn evidence() -> CommandRecord {
        query(QueryKind::Compare, &["purchase_rate"], &["app_version"])
    }

    /// The framework path: definition, data quality, funnel, segments, the evidence.
    fn framework_log() -> Vec<LogEntry> {
        vec![
            entry(0, ask("definition")),
            entry(1, query(QueryKind::Trend, &["backend_conversion"], &[])),
            entry(2, query(QueryKind::Funnel, &[], &[])),
            entry(3, query(QueryKind::Compare, &["conversion"], &["platform"])),
            entry(4, evidence()),
        ]
    }

    fn process(log: Vec<LogEntry>) -> Process {
        Process { log, hints: 0, evidence: vec![Some(evidence())], start_tolerance: vec![], metrics: vec![] }
    }

    fn impact(value: f64) -> ImpactTruth {
        ImpactTruth { impact: value, orders_impact: None, scale: value }
    }

    fn points(g: &Grade, name: &str) -> f64 {
        g.breakdown.iter().filter(|p| p.component == name).map(|p| p.earned).sum()
    }

    fn component<'a>(g: &'a Grade, name: &str) -> &'a Component {
        g.breakdown.iter().find(|p| p.component == name).expect("the line is there")
    }

    fn full_answer() -> Diagnosis {
        Diagnosis {
            claims: vec![claim(Family::ReleaseBug, &SEG, Some(Stage::Purchase), Some((2026, 3, 24)))],
            impact: Some(70.0),
            action: Some(Action::Rollback),
            monitor: vec!["purchase_rate".into()],
            note: Some("android 5.2.0 breaks the purchase step; roll back and watch purchase_rate".into()),
        }
    }

    #[test]
    fn a_family_of_two_products_offers_only_the_drills_products_monitors() {
        // sdk_event_loss belongs to the engagement app and SaaS; its catalogue monitors are
        // client_coverage, server_events (the engagement app's) and billing (SaaS's).
        let family = Family::parse("sdk_event_loss").expect("in the catalogue");
        assert!(family.monitors().contains(&"billing"), "{:?}", family.monitors());
        let t = [cause(family, &SEG, Some(Stage::new("engage")), 10.0)];
        let engagement: Vec<String> = ["dau", "client_coverage", "server_events"].map(String::from).to_vec();
        let line = monitor_line(&t, &[], &engagement);
        assert!(line.why.contains("client_coverage") && !line.why.contains("billing"), "{}", line.why);
        let line = monitor_line(&t, &["billing".into()], &engagement);
        assert_eq!(line.earned, 0.0, "{}", line.why);
        let line = monitor_line(&t, &["client_coverage".into()], &engagement);
        assert_eq!(line.earned, line.possible);
        // Without the product's metrics (an old drill), every monitor counts.
        assert_eq!(monitor_line(&t, &["billing".into()], &[]).earned, MONITOR_POINTS);
    }

    #[test]
    fn the_truth_with_impact_and_action_after_a_framework_path_scores_at_least_95() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let mut answer = full_answer();
        answer.monitor.clear();
        let g = grade(&t, Some(&impact(74.0)), &answer, &process(framework_log()));
        assert!(g.score >= 95.0, "{g:#?}");
        answer.monitor = vec!["purchase_rate".into()];
        assert_eq!(grade(&t, Some(&impact(74.0)), &answer, &process(framework_log())).score, 100.0);
    }

    #[test]
    fn the_right_cause_without_impact_action_or_data_check_scores_at_most_70() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let answer = Diagnosis { claims: full_answer().claims, ..Diagnosis::default() };
        // Everything else of the framework path, but no data-quality check.
        let log: Vec<LogEntry> = framework_log()
            .into_iter()
            .filter(|e| e.parsed.as_ref().unwrap().quality_check().is_none())
            .collect();
        let g = grade(&t, Some(&impact(74.0)), &answer, &process(log));
        assert!(g.score <= 70.0, "{}: {g:#?}", g.score);
        assert_eq!(points(&g, "data quality first"), 0.0);
    }

    #[test]
    fn every_rubric_line_names_the_command_and_time_that_earned_it() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let log = framework_log();
        let g = grade(&t, Some(&impact(74.0)), &full_answer(), &process(log.clone()));
        for (name, index) in
            [("definition confirmed", 0), ("data quality first", 1), ("segmentation", 3), ("evidence", 4)]
        {
            let c = component(&g, name);
            assert_eq!(c.earned, c.possible, "{name}");
            assert_eq!(c.command.as_deref(), Some(log[index].command.as_str()), "{name}");
            assert_eq!(c.at, Some(log[index].at), "{name}");
        }
        let json = serde_json::to_value(&g).unwrap();
        for c in json["breakdown"].as_array().unwrap() {
            for key in ["component", "earned", "possible", "why", "command", "at", "rubric"] {
                assert!(c.get(key).is_some(), "{key} missing in {c}");
            }
        }
    }

    #[test]
    fn definition_is_earned_by_ask_definition_or_metrics_and_missed_otherwise() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let g = |log| grade(&t, Some(&impact(74.0)), &full_answer(), &process(log));
        assert_eq!(points(&g(vec![entry(0, ask("definition"))]), "definition confirmed"), DEFINITION_POINTS);
        assert_eq!(
            points(&g(vec![entry(0, CommandRecord::new(CommandKind::Metrics))]), "definition confirmed"),
            DEFINITION_POINTS
        );
        // Another topic, or nothing, misses it.
        assert_eq!(points(&g(vec![entry(0, ask("releases"))]), "definition confirmed"), 0.0);
        assert_eq!(points(&g(vec![]), "definition confirmed"), 0.0);
        // After the answer counts for nothing.
        let late = vec![
            entry(0, CommandRecord::new(CommandKind::Drill(DrillStep::Answer))),
            entry(1, ask("definition")),
        ];
        assert_eq!(points(&g(late), "definition confirmed"), 0.0);
    }

    #[test]
    fn data_quality_earns_in_full_before_segments_partly_after_and_nothing_without() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let g = |log| grade(&t, Some(&impact(74.0)), &full_answer(), &process(log));
        let check = query(QueryKind::Trend, &["sessions_per_user"], &[]);
        let cut = query(QueryKind::Compare, &["conversion"], &["platform"]);
        assert_eq!(
            points(&g(vec![entry(0, check.clone()), entry(1, cut.clone())]), "data quality first"),
            QUALITY_POINTS
        );
        assert_eq!(
            points(&g(vec![entry(0, cut.clone()), entry(1, check)]), "data quality first"),
            QUALITY_POINTS * 0.6
        );
        assert_eq!(points(&g(vec![entry(0, cut)]), "data quality first"), 0.0);
    }

    #[test]
    fn segmentation_needs_a_cut_before_the_answer() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let g = |log| grade(&t, Some(&impact(74.0)), &full_answer(), &process(log));
        assert_eq!(
            points(&g(vec![entry(0, query(QueryKind::Funnel, &[], &["platform"]))]), "segmentation"),
            SEGMENTATION_POINTS
        );
        let mut sql = CommandRecord::new(CommandKind::Sql);
        sql.sql = Some("SELECT country, AVG(purchased) FROM sessions GROUP BY country".into());
        assert_eq!(points(&g(vec![entry(0, sql)]), "segmentation"), SEGMENTATION_POINTS);
        assert_eq!(points(&g(vec![entry(0, query(QueryKind::Funnel, &[], &[]))]), "segmentation"), 0.0);
        assert_eq!(
            points(&g(vec![entry(0, CommandRecord::new(CommandKind::Ab(AbKind::Srm)))]), "segmentation"),
            0.0
        );
    }

    #[test]
    fn evidence_is_earned_only_by_running_the_causes_command() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let g = |log| grade(&t, Some(&impact(74.0)), &full_answer(), &process(log));
        // More cuts and more metrics than the evidence's are fine.
        let mut wider =
            query(QueryKind::Compare, &["purchase_rate", "conversion"], &["platform", "app_version"]);
        assert_eq!(points(&g(vec![entry(0, wider.clone())]), "evidence"), EVIDENCE_POINTS);
        wider.metrics = vec!["conversion".into()];
        assert_eq!(points(&g(vec![entry(0, wider)]), "evidence"), 0.0);
        assert_eq!(
            points(
                &g(vec![entry(0, query(QueryKind::Trend, &["purchase_rate"], &["app_version"]))]),
                "evidence"
            ),
            0.0
        );
    }

    #[test]
    fn impact_full_within_25_percent_half_within_50_and_nothing_beyond_or_missing() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 100.0)];
        let p = process(framework_log());
        let with = |claimed: Option<f64>| {
            let answer = Diagnosis { impact: claimed, ..full_answer() };
            points(&grade(&t, Some(&impact(100.0)), &answer, &p), "impact")
        };
        assert_eq!(with(Some(80.0)), IMPACT_POINTS);
        assert_eq!(with(Some(124.0)), IMPACT_POINTS);
        assert_eq!(with(Some(60.0)), IMPACT_POINTS * 0.5);
        assert_eq!(with(Some(149.0)), IMPACT_POINTS * 0.5);
        assert_eq!(with(Some(40.0)), 0.0);
        assert_eq!(with(None), 0.0);
        // A measurement cause: the backend's loss (none) is a defensible answer too.
        let m = ImpactTruth { impact: 100.0, orders_impact: Some(0.0), scale: 100.0 };
        let answer = Diagnosis { impact: Some(10.0), ..full_answer() };
        assert_eq!(points(&grade(&t, Some(&m), &answer, &p), "impact"), IMPACT_POINTS);
    }

    #[test]
    fn the_best_action_earns_in_full_the_second_half_others_nothing() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let p = process(framework_log());
        let with = |action: Option<Action>| {
            points(&grade(&t, Some(&impact(74.0)), &Diagnosis { action, ..full_answer() }, &p), "action")
        };
        assert_eq!(with(Some(Action::Rollback)), ACTION_POINTS);
        assert_eq!(with(Some(Action::Hotfix)), ACTION_POINTS * 0.5);
        assert_eq!(with(Some(Action::BlockBots)), 0.0);
        assert_eq!(with(None), 0.0);
        let monitor = |m: &[&str]| {
            let answer = Diagnosis { monitor: m.iter().map(|s| s.to_string()).collect(), ..full_answer() };
            points(&grade(&t, Some(&impact(74.0)), &answer, &p), "monitor")
        };
        assert_eq!(monitor(&["sessions", "purchase_rate"]), MONITOR_POINTS);
        assert_eq!(monitor(&["sessions"]), 0.0);
        assert_eq!(monitor(&[]), 0.0);
    }

    #[test]
    fn hints_cost_and_lookalikes_lose_the_cause_points() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let mut p = process(framework_log());
        let lookalike = Diagnosis {
            claims: vec![claim(Family::TrackingLoss, &SEG, Some(Stage::Purchase), Some((2026, 3, 23)))],
            ..full_answer()
        };
        assert_eq!(points(&grade(&t, Some(&impact(74.0)), &lookalike, &p), "cause"), 0.0);
        let same_group = Diagnosis {
            claims: vec![claim(Family::BrowserBug, &SEG, Some(Stage::Purchase), Some((2026, 3, 23)))],
            ..full_answer()
        };
        assert_eq!(points(&grade(&t, Some(&impact(74.0)), &same_group, &p), "cause"), FAMILY_POINTS * 0.4);
        p.hints = 2;
        let g = grade(&t, Some(&impact(74.0)), &full_answer(), &p);
        assert_eq!(g.score, 94.0);
        assert_eq!(g.breakdown.last().unwrap().earned, -6.0);
    }

    #[test]
    fn the_start_line_follows_the_tolerance_the_data_allow() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let start = |on: (i32, u32, u32), tolerance: Option<StartTolerance>| {
            let answer = Diagnosis {
                claims: vec![claim(Family::ReleaseBug, &SEG, Some(Stage::Purchase), Some(on))],
                ..full_answer()
            };
            let p = Process { start_tolerance: vec![tolerance], ..process(framework_log()) };
            component(&grade(&t, Some(&impact(74.0)), &answer, &p), "start").clone()
        };
        // A crisp step (the truth starts 2026-03-23): a day either side, half to three days.
        assert_eq!(start((2026, 3, 24), None).earned, START_POINTS);
        assert_eq!(start((2026, 3, 25), None).earned, START_POINTS * 0.5);
        assert_eq!(start((2026, 3, 27), None).earned, 0.0);
        let crisp = Some(StartTolerance::crisp(NaiveDate::from_ymd_opt(2026, 3, 23).unwrap()));
        assert_eq!(start((2026, 3, 25), crisp).earned, START_POINTS * 0.5);
        // A ramp the data cannot date more closely than 2026-03-22 – 26.
        let ramp = Some(StartTolerance {
            full: [
                NaiveDate::from_ymd_opt(2026, 3, 22).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 26).unwrap(),
            ],
            why: Some("the effect grew over 6 days".into()),
        });
        let late = start((2026, 3, 26), ramp.clone());
        assert_eq!(late.earned, START_POINTS);
        assert!(late.why.contains("grew over 6 days"), "{}", late.why);
        assert_eq!(start((2026, 3, 28), ramp.clone()).earned, START_POINTS * 0.5);
        assert_eq!(start((2026, 3, 29), ramp).earned, 0.0);
    }

    fn two_causes() -> [CauseTruth; 2] {
        [
            cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 60.0),
            cause(Family::TrackingLoss, &[("platform", "ios")], Some(Stage::Purchase), 30.0),
        ]
    }

    #[test]
    fn two_causes_found_in_either_order_earn_full_content_credit() {
        let t = two_causes();
        let both = vec![
            claim(Family::TrackingLoss, &[("platform", "ios")], Some(Stage::Purchase), Some((2026, 3, 23))),
            claim(Family::ReleaseBug, &SEG, Some(Stage::Purchase), Some((2026, 3, 23))),
        ];
        let assignment = best_assignment(&t, &both);
        assert_eq!(assignment, vec![Some(1), Some(0)]);
        let mut p = process(framework_log());
        p.evidence = vec![Some(evidence()), None];
        let answer = Diagnosis { claims: both, impact: Some(90.0), ..full_answer() };
        let g = grade(&t, Some(&impact(90.0)), &answer, &p);
        let content: f64 = ["cause", "segment", "stage", "start"].iter().map(|n| points(&g, n)).sum();
        assert!((content - 45.0).abs() < 1e-9, "{g:#?}");
        assert!(g.breakdown.iter().filter(|c| c.component == "cause").all(|c| c.cause.is_some()));
    }

    #[test]
    fn one_of_two_causes_found_earns_half_and_a_wrong_extra_claim_costs() {
        let t = two_causes();
        let p = process(framework_log());
        let one = Diagnosis {
            claims: vec![claim(Family::ReleaseBug, &SEG, Some(Stage::Purchase), Some((2026, 3, 23)))],
            ..full_answer()
        };
        let g = grade(&t, Some(&impact(90.0)), &one, &p);
        assert!((points(&g, "cause") - FAMILY_POINTS / 2.0).abs() < 1e-9);
        let lines: Vec<&Component> = g.breakdown.iter().filter(|c| c.component == "cause").collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].why.contains("not named: tracking_loss"), "{}", lines[1].why);

        let mut claims = one.claims.clone();
        claims.push(claim(
            Family::TrackingLoss,
            &[("platform", "ios")],
            Some(Stage::Purchase),
            Some((2026, 3, 23)),
        ));
        claims.push(claim(Family::BotTraffic, &[], None, None));
        let g = grade(&t, Some(&impact(90.0)), &Diagnosis { claims, ..full_answer() }, &p);
        assert_eq!(points(&g, "extra causes"), -EXTRA_CAUSE_COST);
        // The action that matters most is the costlier cause's.
        assert_eq!(points(&g, "action"), ACTION_POINTS);
        let fix_tracking = Diagnosis { action: Some(Action::FixTracking), ..full_answer() };
        assert_eq!(points(&grade(&t, Some(&impact(90.0)), &fix_tracking, &p), "action"), ACTION_POINTS * 0.5);
    }

    #[test]
    fn naming_the_bots_user_agent_beyond_the_segment_is_exact() {
        let mut t =
            cause(Family::BotTraffic, &[("country", "BR"), ("traffic_source", "affiliate")], None, 0.0);
        t.fingerprint = [("browser", "chrome"), ("user_type", "new")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let segment = |c: &Claim| {
            points(&Grade { score: 0.0, breakdown: claim_lines(&t, Some(c), 1.0, None) }, "segment")
        };
        let with_ua = claim(
            Family::BotTraffic,
            &[("country", "BR"), ("traffic_source", "affiliate"), ("browser", "chrome")],
            None,
            None,
        );
        assert_eq!(segment(&with_ua), SEGMENT_POINTS);
        let with_other = claim(
            Family::BotTraffic,
            &[("country", "BR"), ("traffic_source", "affiliate"), ("device", "mobile")],
            None,
            None,
        );
        assert_eq!(segment(&with_other), SEGMENT_POINTS * 0.6);
    }

    #[test]
    fn the_scorecard_groups_lines_under_the_rubric_words() {
        let t = [cause(Family::ReleaseBug, &SEG, Some(Stage::Purchase), 74.0)];
        let answer = full_answer();
        let g = grade(&t, Some(&impact(74.0)), &answer, &process(framework_log()));
        let card = scorecard(&g, &answer);
        let words: Vec<&str> = card.iter().map(|l| l.words.as_str()).collect();
        assert_eq!(
            words,
            [
                "structure",
                "data-quality instinct",
                "segmentation",
                "root cause",
                "impact",
                "recommendation",
                "communication"
            ]
        );
        assert!(card.iter().all(|l| l.verdict == "strong" || l.rubric == Rubric::Communication), "{card:#?}");
        let bare = Diagnosis { claims: answer.claims.clone(), ..Diagnosis::default() };
        let card = scorecard(&grade(&t, Some(&impact(74.0)), &bare, &process(vec![])), &bare);
        let of = |r: Rubric| card.iter().find(|l| l.rubric == r).unwrap().verdict.clone();
        assert_eq!(of(Rubric::Impact), "missing");
        assert_eq!(of(Rubric::DataQualityInstinct), "missing");
    }
}
