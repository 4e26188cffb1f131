//! `dropcase exp start|status|hint|decide|reveal|log`: experiment drills. The learner reads
//! an A/B test with the `ab` tools and decides: ship, don't ship, extend, fix and rerun, or
//! ship to a segment, with reasons from a fixed list.

use std::path::PathBuf;

use chrono::Utc;
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

use crate::drill::workspace::{self, Progress};
use crate::experiment::brief::ExperimentBrief;
use crate::experiment::criteria;
use crate::experiment::grade::{self, ExperimentAnswer, ExperimentProcess};
use crate::experiment::hint;
use crate::experiment::metrics::Metric;
use crate::experiment::workspace::{DecisionRecord, ExperimentDrill};
use crate::experiment::{Decision, ExpFamily, ExperimentScenario, Reason};
use crate::generate::model::mix_seed;
use crate::output::{self, Format};
use crate::scenario::{Difficulty, catalogue};

use super::drill::{DirArgs, emit_hint, emit_log, progress_line};
use super::emit;

#[derive(Debug, Args)]
pub struct ExpArgs {
    #[command(subcommand)]
    pub command: ExpCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExpCommand {
    /// Start an experiment drill (a random experiment scenario by default).
    Start(StartArgs),
    /// The brief again, commands used, hints taken.
    Status(DirArgs),
    /// The next staged hint (each costs points).
    Hint(DirArgs),
    /// Decide what to do with the experiment, and why; graded.
    Decide(DecideArgs),
    /// The truth: family, right decision, reasons, explanation.
    Reveal(DirArgs),
    /// Every command run in the drill, with its time.
    Log(DirArgs),
    /// Ask a clarifying question about the experiment (logged).
    Ask(AskArgs),
    /// Scores per rubric line across every decided experiment, oldest first.
    History(super::drill::HistoryArgs),
}

/// What one may ask about an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExpTopic {
    /// The randomisation unit and the split.
    Unit,
    /// The planned duration and sample size.
    Duration,
    /// The primary, secondary and guardrail metrics and their definitions.
    Metrics,
    /// Known incidents and notes from the run.
    Incidents,
    /// The topics.
    List,
}

impl ExpTopic {
    pub fn name(self) -> &'static str {
        match self {
            ExpTopic::Unit => "unit",
            ExpTopic::Duration => "duration",
            ExpTopic::Metrics => "metrics",
            ExpTopic::Incidents => "incidents",
            ExpTopic::List => "list",
        }
    }
}

#[derive(Debug, Args)]
pub struct AskArgs {
    #[arg(value_enum)]
    pub topic: ExpTopic,
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// A catalogue name or a path to an experiment scenario file (default: random).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Draw only experiment scenarios of this family.
    #[arg(long)]
    pub family: Option<String>,
    #[arg(long, value_enum)]
    pub difficulty: Option<Difficulty>,
    /// Replays a case exactly (printed when a drill starts).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Users the experiment planned to expose, 2000 to 2000000 (default: the scenario's, tens of thousands).
    #[arg(long)]
    pub users: Option<u64>,
    /// Drill folder (default: $DROPCASE_HOME/experiments/<seed>).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Replace an existing drill folder.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("decision").required(true).multiple(false)
    .args(["ship", "dont_ship", "extend", "fix_and_rerun", "ship_segment"])))]
pub struct DecideArgs {
    /// Ship to everyone.
    #[arg(long)]
    pub ship: bool,
    /// Do not ship.
    #[arg(long)]
    pub dont_ship: bool,
    /// Keep the test running to the planned sample.
    #[arg(long)]
    pub extend: bool,
    /// The test is broken: fix it and run it again.
    #[arg(long)]
    pub fix_and_rerun: bool,
    /// Ship to one segment after a retest, e.g. platform=ios,web or platform!=android.
    #[arg(long, value_name = "SEG")]
    pub ship_segment: Option<String>,
    /// Why, from a fixed list (comma-separated): clear_win, clear_loss, no_effect, srm,
    /// novelty, primacy, peeking, simpson, guardrail, heterogeneous, underpowered,
    /// multiple_comparisons, outlier, carryover, telemetry.
    #[arg(long, value_name = "REASON[,REASON]", required = true)]
    pub reason: String,
    /// The metric the decision rests on, e.g. conversion or server_conversion (graded).
    #[arg(long, value_name = "METRIC")]
    pub primary: Option<String>,
    /// The guardrail metrics you watch (comma-separated or repeated), e.g. aov,refund_rate (graded).
    #[arg(long, value_name = "METRIC[,METRIC]", value_delimiter = ',')]
    pub guardrail: Vec<String>,
    /// The ship rule you commit to, as clauses joined by 'and', e.g. "ship if conversion
    /// lift \> 0 at 95% and no guardrail drops more than 1%"; checks such as "srm passes" or
    /// "planned sample reached" count where the case needs them (graded).
    #[arg(long, value_name = "RULE")]
    pub criteria: Option<String>,
    /// Your reasoning, kept with the decision.
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: ExpArgs) -> anyhow::Result<()> {
    match args.command {
        ExpCommand::Start(a) => start(a),
        ExpCommand::Status(a) => status(a),
        ExpCommand::Hint(a) => take_hint(a),
        ExpCommand::Decide(a) => decide(a),
        ExpCommand::Reveal(a) => reveal(a),
        ExpCommand::Log(a) => log(a),
        ExpCommand::Ask(a) => ask(a),
        ExpCommand::History(a) => history(a),
    }
}

fn nearest_error(kind: &str, text: &str, names: &[&str]) -> anyhow::Error {
    let hint =
        crate::suggest::nearest(text, names).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default();
    anyhow::anyhow!("unknown {kind} '{text}'{hint}; choose one of: {}", names.join(", "))
}

fn pick_scenario(args: &StartArgs, seed: u64) -> anyhow::Result<(ExperimentScenario, bool)> {
    if let Some(name) = &args.scenario {
        return Ok((ExperimentScenario::load(name)?, true));
    }
    let family = match &args.family {
        Some(f) => Some(
            ExpFamily::parse(f).ok_or_else(|| nearest_error("experiment family", f, &ExpFamily::names()))?,
        ),
        None => None,
    };
    let candidates: Vec<ExperimentScenario> = catalogue::experiments()?
        .into_iter()
        .filter(|s| family.is_none_or(|f| s.family == f))
        .filter(|s| args.difficulty.is_none_or(|d| s.difficulty == d))
        .collect();
    anyhow::ensure!(
        !candidates.is_empty(),
        "no experiment scenario in the catalogue matches{}{}; `dropcase scenarios list` shows what there is",
        family.map(|f| format!(" --family {f}")).unwrap_or_default(),
        args.difficulty.map(|d| format!(" --difficulty {}", d.name())).unwrap_or_default()
    );
    let index = (mix_seed(&[seed, 0xE5C]) % candidates.len() as u64) as usize;
    Ok((candidates[index].clone(), false))
}

fn start(args: StartArgs) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(|| rand::random::<u32>() as u64);
    let (scenario, named) = pick_scenario(&args, seed)?;
    let dir =
        args.dir.clone().unwrap_or_else(|| workspace::home().join("experiments").join(seed.to_string()));
    let generated = crate::experiment::generate::generate(&scenario, seed, &dir, args.users, args.force)?;
    Progress::new().save(&generated.dir)?;
    workspace::set_current(&generated.dir)?;
    let mut replay = format!("dropcase exp start --seed {seed}");
    if named {
        replay.push_str(&format!(" --scenario {}", args.scenario.as_deref().unwrap_or_default()));
    }
    if let Some(f) = &args.family {
        replay.push_str(&format!(" --family {f}"));
    }
    if let Some(d) = args.difficulty {
        replay.push_str(&format!(" --difficulty {}", d.name()));
    }
    if let Some(n) = args.users {
        replay.push_str(&format!(" --users {n}"));
    }
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct Started<'a> {
            dir: String,
            seed: u64,
            brief: &'a ExperimentBrief,
            replay: String,
        }
        return emit(&output::json(&Started {
            dir: generated.dir.display().to_string(),
            seed,
            brief: &generated.brief,
            replay,
        }));
    }
    emit(&render_brief(&generated.brief, &generated.dir, Some(&replay)))
}

fn render_brief(brief: &ExperimentBrief, dir: &std::path::Path, replay: Option<&str>) -> String {
    let d = &brief.design;
    let mut out = format!("Experiment case {}\n\n  {}\n\n", brief.seed, brief.prompt);
    out.push_str(&format!(
        "Design: {} vs {} at {}/{}, from {} for {} days (to {}); powered ({:.0}%, alpha {}) for a {:.1}% relative MDE on {}: {} users per arm.\n",
        d.arms[0],
        d.arms[1],
        d.weights[0],
        d.weights[1],
        d.start,
        d.planned_days,
        d.planned_end,
        d.power * 100.0,
        d.alpha,
        d.mde * 100.0,
        d.primary,
        output::thousands(d.planned_users_per_arm)
    ));
    out.push_str(&format!(
        "Metrics: primary {}; secondary {}; guardrails {}.\n",
        d.primary,
        d.secondary.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
        d.guardrails.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
    ));
    for p in &d.phases {
        out.push_str(&format!("Allocation from {}: {}/{}\n", p.from, p.weights[0], p.weights[1]));
    }
    out.push_str(&format!(
        "Data: {} to {}, {} users.\n",
        brief.data_from,
        brief.data_to,
        output::thousands(brief.users)
    ));
    for n in &brief.notes {
        out.push_str(&format!("Note: {n}\n"));
    }
    out.push_str(&format!("\nTables in {}:\n", dir.display()));
    for t in &brief.tables {
        out.push_str(&format!("  {:<20} {}\n", t.name, t.about));
    }
    out.push_str("\nDefinitions:\n");
    for d in &brief.definitions {
        out.push_str(&format!("  {:<24} {}\n", d.metric, d.definition));
    }
    out.push_str("\nSuggested first commands:\n  dropcase ab analyze\n  dropcase ab daily\n  dropcase ab segments --by platform\n");
    out.push_str("\nWhen ready: dropcase exp decide --ship|--dont-ship|--extend|--fix-and-rerun|--ship-segment SEG --reason REASON[,REASON] --primary METRIC --guardrail METRIC[,METRIC] --criteria \"ship if ...\"\nStuck? dropcase exp hint (costs points)\n");
    if let Some(replay) = replay {
        out.push_str(&format!("Replay this case: {replay}\n"));
    }
    output::prose(&out)
}

fn status(args: DirArgs) -> anyhow::Result<()> {
    let drill = ExperimentDrill::open(args.dir.as_deref())?;
    let progress = super::record::load_progress(&drill.dir)?;
    let decision = drill.decision()?;
    let minutes = (Utc::now() - progress.started_at).num_minutes();
    #[derive(Serialize)]
    struct Status<'a> {
        dir: String,
        prompt: &'a str,
        minutes: i64,
        commands: usize,
        hints: u32,
        decision: Option<Decision>,
        score: Option<f64>,
        revealed: bool,
    }
    let s = Status {
        dir: drill.dir.display().to_string(),
        prompt: &drill.brief.prompt,
        minutes,
        commands: progress.investigations().count(),
        hints: progress.hints,
        decision: decision.as_ref().map(|d| d.answer.decision),
        score: decision.as_ref().map(|d| d.grade.score),
        revealed: progress.revealed,
    };
    if args.format == Format::Json {
        return emit(&output::json(&s));
    }
    let outcome = match &decision {
        Some(d) => format!("decided: {} ({:.0}/100)", d.answer.decision, d.grade.score),
        None => "not decided yet".into(),
    };
    let line = progress_line(minutes, s.commands, "analyses", s.hints, hint::STAGES.len(), &outcome);
    emit(&format!("{}\n{}", render_brief(&drill.brief, &drill.dir, None), output::prose(&line)))
}

fn take_hint(args: DirArgs) -> anyhow::Result<()> {
    let drill = ExperimentDrill::open(args.dir.as_deref())?;
    let mut progress = drill.progress()?;
    anyhow::ensure!(
        drill.decision()?.is_none() && !progress.revealed,
        "this experiment is already decided; hints are for before the decision (`dropcase exp reveal` shows the truth)"
    );
    let stage = progress.hints as usize;
    anyhow::ensure!(
        stage < hint::STAGES.len(),
        "no hints left: all {} have been taken; `dropcase exp reveal` gives up and shows the truth",
        hint::STAGES.len()
    );
    let text = hint::hint(&drill.truth()?, stage);
    progress.hints += 1;
    progress.save(&drill.dir)?;
    emit_hint(args.format, stage, &hint::STAGES, grade::HINT_COSTS[stage], &text)
}

fn parse_reasons(text: &str) -> anyhow::Result<Vec<Reason>> {
    let mut reasons = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let reason = Reason::parse(word).ok_or_else(|| {
            let e = nearest_error("reason", word, &Reason::names());
            anyhow::anyhow!("--reason: {e}")
        })?;
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    anyhow::ensure!(!reasons.is_empty(), "--reason: give at least one reason, e.g. --reason srm");
    Ok(reasons)
}

fn parse_metric(flag: &str, text: &str) -> anyhow::Result<Metric> {
    Metric::parse(&text.trim().to_ascii_lowercase())
        .ok_or_else(|| anyhow::anyhow!("{flag}: {}", nearest_error("metric", text.trim(), &Metric::names())))
}

fn parse_guardrails(values: &[String]) -> anyhow::Result<Vec<Metric>> {
    let mut out = Vec::new();
    for text in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let metric = parse_metric("--guardrail", text)?;
        if !out.contains(&metric) {
            out.push(metric);
        }
    }
    Ok(out)
}

fn decide(args: DecideArgs) -> anyhow::Result<()> {
    let drill = ExperimentDrill::open(args.dir.as_deref())?;
    let progress = super::record::load_progress(&drill.dir)?;
    anyhow::ensure!(
        !progress.revealed,
        "the truth of this experiment was already revealed, so it cannot be decided; start a new one with `dropcase exp start`"
    );
    if let Some(previous) = drill.decision()? {
        anyhow::bail!(
            "this experiment was already decided ({}, {:.0}/100); `dropcase exp reveal` shows the truth, `dropcase exp start` starts a new case",
            previous.answer.decision,
            previous.grade.score
        );
    }
    let reasons = parse_reasons(&args.reason)?;
    let primary = args.primary.as_deref().map(|p| parse_metric("--primary", p)).transpose()?;
    let guardrails = parse_guardrails(&args.guardrail)?;
    let criteria = args.criteria.as_deref().map(criteria::parse).transpose()?;
    let data = drill.data()?;
    let platforms: Vec<&str> = data.dim_values[0].iter().map(String::as_str).collect();
    let decision = if args.ship {
        Decision::Ship
    } else if args.dont_ship {
        Decision::DontShip
    } else if args.extend {
        Decision::Extend
    } else if args.fix_and_rerun {
        Decision::FixAndRerun
    } else {
        Decision::ShipSegment
    };
    let segment = match &args.ship_segment {
        Some(text) => {
            let (dim, values, _) = grade::parse_segment(text).ok_or_else(|| {
                anyhow::anyhow!(
                    "--ship-segment '{text}' is not DIM=VALUE[,VALUE] or DIM!=VALUE (e.g. platform=ios,web)"
                )
            })?;
            let dims = crate::experiment::data::DIMENSIONS;
            let d = dims.iter().position(|x| *x == dim).ok_or_else(|| {
                anyhow::anyhow!("--ship-segment: {}", nearest_error("dimension", &dim, &dims))
            })?;
            for v in &values {
                anyhow::ensure!(
                    data.dim_values[d].contains(v),
                    "--ship-segment: {dim} has no value '{v}' in this experiment; its values: {}",
                    data.dim_values[d].join(", ")
                );
            }
            Some(text.clone())
        }
        None => None,
    };
    let truth = drill.truth()?.with_design_defaults(&drill.brief.design);
    let commands = progress.investigations().filter_map(|e| e.parsed.clone()).collect();
    let process = ExperimentProcess { commands, hints: progress.hints };
    let answer = ExperimentAnswer { decision, reasons, segment, primary, guardrails, criteria };
    let grade = grade::grade(&truth, &answer, &process, &platforms);
    drill.save_decision(&DecisionRecord { at: Utc::now(), answer, grade: grade.clone() })?;
    match args.format {
        Format::Json => emit(&output::json(&grade)),
        _ => {
            let mut table = output::FitTable::new(&[
                ("component", output::Fit::Keep),
                ("points", output::Fit::Keep),
                ("of", output::Fit::Keep),
                ("why", output::Fit::Wrap),
            ]);
            for c in &grade.breakdown {
                table.add_row(vec![
                    c.component.clone(),
                    format!("{:.0}", c.earned),
                    format!("{:.0}", c.possible),
                    c.why.clone(),
                ]);
            }
            emit(&format!("Score: {:.0}/100\n{table}\n`dropcase exp reveal` shows the truth.", grade.score))
        }
    }
}

fn reveal(args: DirArgs) -> anyhow::Result<()> {
    let drill = ExperimentDrill::open(args.dir.as_deref())?;
    let mut progress = drill.progress()?;
    let truth = drill.truth()?.with_design_defaults(&drill.brief.design);
    progress.revealed = true;
    progress.save(&drill.dir)?;
    let decision = drill.decision()?;
    #[derive(Serialize)]
    struct Truth<'a> {
        family: ExpFamily,
        decision: Decision,
        reasons: &'a [Reason],
        segment: Option<&'a str>,
        explanation: &'a str,
        /// The metric to decide on, the guardrails that matter and the checks the ship
        /// rule needs (absent in a drill sealed before they were graded).
        #[serde(skip_serializing_if = "Option::is_none")]
        primary: Option<Metric>,
        #[serde(skip_serializing_if = "<[Metric]>::is_empty")]
        guardrails: &'a [Metric],
        #[serde(skip_serializing_if = "<[criteria::Check]>::is_empty")]
        criteria: &'a [criteria::Check],
    }
    #[derive(Serialize)]
    struct Revealed<'a> {
        truth: Truth<'a>,
        evidence: &'a str,
        your_decision: Option<&'a DecisionRecord>,
    }
    let revealed = Revealed {
        truth: Truth {
            family: truth.family,
            decision: truth.decision,
            reasons: &truth.reasons,
            segment: truth.segment.as_deref(),
            explanation: &truth.explanation,
            primary: truth.primary,
            guardrails: &truth.guardrails,
            criteria: &truth.criteria,
        },
        evidence: &truth.evidence,
        your_decision: decision.as_ref(),
    };
    if args.format == Format::Json {
        return emit(&output::json(&revealed));
    }
    let mut text = format!(
        "Truth: {} → {}{} (reason: {})\n\n{}\n\nThe command that shows it: {}",
        truth.family,
        truth.decision,
        truth.segment.as_ref().map(|s| format!(" to {s}")).unwrap_or_default(),
        truth.reasons.iter().map(|r| r.name()).collect::<Vec<_>>().join(", "),
        truth.explanation,
        truth.evidence
    );
    if let Some(primary) = truth.primary {
        text.push_str(&format!(
            "\nDecide on {primary}; the guardrails that matter: {}.",
            truth.guardrails.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
        ));
        if !truth.criteria.is_empty() {
            text.push_str(&format!(
                " The ship rule must also require: {}{}.",
                truth.criteria.iter().map(|c| format!("'{}'", c.example())).collect::<Vec<_>>().join(", "),
                truth.criteria_why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
            ));
        }
    }
    if let Some(d) = &decision {
        text.push_str(&format!("\nYour decision: {} ({:.0}/100)", d.answer.decision, d.grade.score));
    }
    emit(&output::prose(&text))
}

fn log(args: DirArgs) -> anyhow::Result<()> {
    let drill = ExperimentDrill::open(args.dir.as_deref())?;
    emit_log(&super::record::load_progress(&drill.dir)?, args.format)
}

/// The answer to a clarifying question about the experiment, from its brief.
fn exp_answer(topic: ExpTopic, brief: &crate::experiment::brief::ExperimentBrief) -> String {
    let d = &brief.design;
    match topic {
        ExpTopic::List => "unit        the randomisation unit and the split\nduration    the planned duration and sample size\nmetrics     primary, secondary and guardrail metrics\nincidents   known incidents and notes from the run\nlist        this list".into(),
        ExpTopic::Unit => format!(
            "Users are randomised (a user keeps their arm across sessions) into {} with planned weights {}; the split was {} over the run.",
            d.arms.join(" / "),
            d.weights.iter().map(|w| format!("{:.0}%", w * 100.0)).collect::<Vec<_>>().join(" / "),
            if d.phases.len() > 1 { "changed during the run (see `ab daily`)" } else { "kept as planned" }
        ),
        ExpTopic::Duration => format!(
            "Planned: {} days from {} to {}, {} users per arm, sized for a {:.1}% relative minimum detectable effect at alpha {} and power {:.0}%. It has run {} days so far.",
            d.planned_days,
            d.start,
            d.planned_end,
            crate::output::thousands(d.planned_users_per_arm),
            d.mde * 100.0,
            d.alpha,
            d.power * 100.0,
            brief.days_run()
        ),
        ExpTopic::Metrics => {
            let describe = |m: &crate::experiment::metrics::Metric| format!("{} ({})", m.name(), m.definition());
            format!(
                "Primary: {}. Secondary: {}. Guardrails: {}.",
                describe(&d.primary),
                if d.secondary.is_empty() { "none".into() } else { d.secondary.iter().map(describe).collect::<Vec<_>>().join("; ") },
                if d.guardrails.is_empty() { "none".into() } else { d.guardrails.iter().map(describe).collect::<Vec<_>>().join("; ") }
            )
        }
        ExpTopic::Incidents => {
            if brief.notes.is_empty() {
                "Nothing was reported during the run.".into()
            } else {
                format!("Notes from the run: {}", brief.notes.join(" "))
            }
        }
    }
}

fn ask(args: AskArgs) -> anyhow::Result<()> {
    let drill = ExperimentDrill::open(args.dir.as_deref())?;
    let answer = exp_answer(args.topic, &drill.brief);
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct Asked<'a> {
            topic: &'a str,
            answer: &'a str,
        }
        return emit(&output::json(&Asked { topic: args.topic.name(), answer: &answer }));
    }
    emit(&output::prose(&answer))
}

fn history(args: super::drill::HistoryArgs) -> anyhow::Result<()> {
    let root = args.drills.clone().unwrap_or_else(|| crate::drill::workspace::home().join("experiments"));
    let rows = super::drill::history_rows(&root, |dir| {
        let drill = ExperimentDrill::open(Some(dir)).ok()?;
        let decision = drill.decision().ok()??;
        Some((decision.at, decision.grade.score, decision.grade.breakdown))
    })?;
    super::drill::emit_history(
        &rows,
        args.format,
        &format!("No decided experiment under {} yet.", root.display()),
    )
}
