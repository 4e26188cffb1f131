//! `dropcase drill start|status|hint|answer|reveal|log`: the practice loop.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::drill::ask::Topic;
use crate::drill::command::CommandRecord;
use crate::drill::grade::{self, Claim, Diagnosis, Grade, InterviewCard, Process};
use crate::drill::workspace::{self, AnswerRecord, ClaimRecord, Drill, Interview, Progress};
use crate::drill::{evidence, hint};
use crate::generate::Truth;
use crate::generate::truth::CauseTruth;
use crate::generate::{self, Options, model::mix_seed};
use crate::output::{self, Format};
use crate::scenario::{self, Action, Difficulty, Family, Scenario, catalogue};
use crate::suggest;

use super::emit;
use super::generate::Progress as Bar;

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(subcommand)]
    pub command: DrillCommand,
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Start a new drill (a random case from the embedded catalogue by default).
    Start(StartArgs),
    /// The brief again, time spent, commands used, hints taken.
    Status(DirArgs),
    /// The next staged hint (each costs points).
    Hint(DirArgs),
    /// Submit your diagnosis and get graded.
    Answer(AnswerArgs),
    /// The truth, the numbers that prove it, and the command that shows it.
    Reveal(DirArgs),
    /// Every command run in the drill, with its time.
    Log(DirArgs),
    /// Ask the interviewer a clarifying question (logged; it counts in the grade).
    Ask(AskArgs),
    /// Scores per rubric line across every answered drill, oldest first.
    History(HistoryArgs),
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// What to ask about (`list` shows the topics).
    #[arg(value_enum)]
    pub topic: Topic,
    /// Drill folder (default: the current drill).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Where the drills live (default: $DROPCASE_HOME/drills).
    #[arg(long)]
    pub drills: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// A catalogue name or a path to a scenario file (default: random).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Draw only scenarios of this cause family.
    #[arg(long)]
    pub family: Option<String>,
    #[arg(long, value_enum)]
    pub difficulty: Option<Difficulty>,
    /// Replays a case exactly (printed when a drill starts).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Total sessions, 1000 to 2000000000 (default: about a million).
    #[arg(long)]
    pub sessions: Option<u64>,
    /// Drill folder (default: $DROPCASE_HOME/drills/<seed>).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Replace an existing drill folder.
    #[arg(long)]
    pub force: bool,
    /// An interview: a vague opening prompt, a clock, and a scorecard at the end.
    #[arg(long)]
    pub interview: bool,
    /// Minutes the interview lasts (with --interview).
    #[arg(long, requires = "interview", value_parser = clap::value_parser!(u32).range(1..=600))]
    pub minutes: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// Drill folder (default: the current drill).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// Cause family, e.g. release_bug, tracking_loss, noise. Repeat for a case with several
    /// causes, each followed by its own --where, --stage and --start.
    #[arg(long, action = clap::ArgAction::Append)]
    pub cause: Vec<String>,
    /// Segment as dim=value pairs, e.g. platform=android,app_version=5.2.0 (of the --cause before it).
    #[arg(long = "where", action = clap::ArgAction::Append)]
    pub segment: Vec<String>,
    /// Funnel stage: view, cart, checkout or purchase (of the --cause before it).
    #[arg(long, action = clap::ArgAction::Append)]
    pub stage: Vec<String>,
    /// Day the change began, YYYY-MM-DD (of the --cause before it).
    #[arg(long, action = clap::ArgAction::Append)]
    pub start: Vec<String>,
    /// Lost conversions per day in the current window (purchases a day for the shop).
    #[arg(long)]
    pub impact: Option<String>,
    /// What to do first: rollback, hotfix, fix_tracking, restate_metric, pause_campaign,
    /// block_bots, wait_for_data, no_action, contact_partner, revert_config,
    /// fix_performance, review_pricing, restore_channel.
    #[arg(long)]
    pub action: Option<String>,
    /// Metrics that would confirm the fix, comma-separated (names from `dropcase metrics`).
    #[arg(long, value_delimiter = ',')]
    pub monitor: Vec<String>,
    /// Your reasoning, kept with the answer for the reviewer.
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The per-cause flags in command-line order, filled in from clap's indices after
    /// parsing (see [`claim_order`]).
    #[arg(skip)]
    pub order: Vec<(usize, ClaimField, String)>,
}

/// A flag that belongs to one claimed cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimField {
    Cause,
    Where,
    Stage,
    Start,
}

impl ClaimField {
    fn flag(self) -> &'static str {
        match self {
            ClaimField::Cause => "--cause",
            ClaimField::Where => "--where",
            ClaimField::Stage => "--stage",
            ClaimField::Start => "--start",
        }
    }
}

/// The per-cause flags of `drill answer` in the order given, from clap's argument indices.
pub fn claim_order(matches: &clap::ArgMatches) -> Vec<(usize, ClaimField, String)> {
    let mut order = Vec::new();
    for (id, field) in [
        ("cause", ClaimField::Cause),
        ("segment", ClaimField::Where),
        ("stage", ClaimField::Stage),
        ("start", ClaimField::Start),
    ] {
        if let (Some(indices), Some(values)) = (matches.indices_of(id), matches.get_many::<String>(id)) {
            order.extend(indices.zip(values).map(|(i, v)| (i, field, v.clone())));
        }
    }
    order.sort_by_key(|(i, _, _)| *i);
    order
}

/// Fills `drill answer`'s flag order in from the parsed matches (a no-op for other commands).
pub fn attach_order(cli: &mut super::Cli, matches: &clap::ArgMatches) {
    if let super::Command::Drill(DrillArgs { command: DrillCommand::Answer(answer) }) = &mut cli.command
        && let Some(("drill", drill)) = matches.subcommand()
        && let Some(("answer", m)) = drill.subcommand()
    {
        answer.order = claim_order(m);
    }
}

/// One claimed cause as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimText {
    pub cause: String,
    pub segment: Option<String>,
    pub stage: Option<String>,
    pub start: Option<String>,
}

/// Groups the per-cause flags: each --where, --stage and --start belongs to the --cause
/// before it. With one --cause the order does not matter (as before several were allowed);
/// with several, a flag before the first --cause, or given twice for one cause, is refused.
pub fn group_claims(order: &[(usize, ClaimField, String)]) -> anyhow::Result<Vec<ClaimText>> {
    let causes = order.iter().filter(|(_, f, _)| *f == ClaimField::Cause).count();
    let mut claims: Vec<ClaimText> = Vec::new();
    let mut pending: Vec<(ClaimField, &String)> = Vec::new();
    for (_, field, value) in order {
        if *field == ClaimField::Cause {
            claims.push(ClaimText { cause: value.clone(), ..ClaimText::default() });
            continue;
        }
        if claims.is_empty() {
            anyhow::ensure!(
                causes <= 1,
                "{} '{value}' comes before any --cause, so it is not clear which of the {causes} causes it belongs to; give each cause its flags after it: `--cause A --where ... --stage ... --start ... --cause B --where ...`",
                field.flag()
            );
            pending.push((*field, value));
            continue;
        }
        let n = claims.len();
        let claim = claims.last_mut().expect("not empty");
        let slot = match field {
            ClaimField::Where => &mut claim.segment,
            ClaimField::Stage => &mut claim.stage,
            ClaimField::Start => &mut claim.start,
            ClaimField::Cause => unreachable!("handled above"),
        };
        anyhow::ensure!(
            slot.is_none(),
            "{} is given twice for cause {n} ({}): each --cause takes one {}; for another cause, write --cause first",
            field.flag(),
            claim.cause,
            field.flag()
        );
        *slot = Some(value.clone());
    }
    if let Some(claim) = claims.first_mut() {
        for (field, value) in pending {
            let slot = match field {
                ClaimField::Where => &mut claim.segment,
                ClaimField::Stage => &mut claim.stage,
                ClaimField::Start => &mut claim.start,
                ClaimField::Cause => unreachable!("causes are not pending"),
            };
            anyhow::ensure!(
                slot.is_none(),
                "{} is given twice for the cause {}: each --cause takes one {}",
                field.flag(),
                claim.cause,
                field.flag()
            );
            *slot = Some(value.clone());
        }
    } else if let Some((field, _)) = pending.first() {
        anyhow::bail!(
            "{} needs a --cause to belong to (one of: {})",
            field.flag(),
            Family::names().join(", ")
        );
    }
    Ok(claims)
}

pub fn run(args: DrillArgs) -> anyhow::Result<()> {
    match args.command {
        DrillCommand::Start(a) => start(a),
        DrillCommand::Status(a) => status(a),
        DrillCommand::Hint(a) => take_hint(a),
        DrillCommand::Answer(a) => answer(a),
        DrillCommand::Reveal(a) => reveal(a),
        DrillCommand::Log(a) => log(a),
        DrillCommand::Ask(a) => ask(a),
        DrillCommand::History(a) => history(a),
    }
}

fn parse_family(text: &str) -> anyhow::Result<Family> {
    Family::parse(text.trim()).ok_or_else(|| {
        let names = Family::names();
        let hint =
            suggest::nearest(text, &names).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default();
        anyhow::anyhow!("unknown cause family '{text}'{hint}; choose one of: {}", names.join(", "))
    })
}

fn pick_scenario(args: &StartArgs, seed: u64) -> anyhow::Result<(Scenario, bool)> {
    if let Some(name) = &args.scenario {
        return Ok((Scenario::load(name)?, true));
    }
    let family = args.family.as_deref().map(parse_family).transpose()?;
    let candidates: Vec<Scenario> = catalogue::all()?
        .into_iter()
        .filter(|s| family.is_none_or(|f| s.families().contains(&f)))
        .filter(|s| args.difficulty.is_none_or(|d| s.difficulty == d))
        .collect();
    anyhow::ensure!(
        !candidates.is_empty(),
        "no scenario in the catalogue matches{}{}; `dropcase scenarios list` shows what there is",
        family.map(|f| format!(" --family {f}")).unwrap_or_default(),
        args.difficulty.map(|d| format!(" --difficulty {}", d.name())).unwrap_or_default()
    );
    let index = (mix_seed(&[seed, 0x5CE]) % candidates.len() as u64) as usize;
    Ok((candidates[index].clone(), false))
}

/// A product scenario (not the shop) named by `--scenario`, or drawn for a `--family` of
/// another product.
fn pick_product_scenario(
    args: &StartArgs,
    seed: u64,
) -> anyhow::Result<Option<crate::product::scenario::ProductScenario>> {
    use crate::product::scenario::ProductScenario;
    if let Some(name) = &args.scenario {
        return ProductScenario::find(name).transpose().map_err(anyhow::Error::from);
    }
    let Some(family) = &args.family else { return Ok(None) };
    if !crate::product::scenario::families().contains_key(family.trim()) {
        return Ok(None);
    }
    let candidates: Vec<ProductScenario> = ProductScenario::all()?
        .into_iter()
        .filter(|s| s.causes.first().is_some_and(|c| c.family == family.trim()))
        .filter(|s| args.difficulty.is_none_or(|d| s.difficulty == d))
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let index = (mix_seed(&[seed, 0x5CE]) % candidates.len() as u64) as usize;
    Ok(Some(candidates[index].clone()))
}

fn start(args: StartArgs) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(|| rand::random::<u32>() as u64);
    let product_scenario = pick_product_scenario(&args, seed)?;
    let dir = args.dir.clone().unwrap_or_else(|| workspace::home().join("drills").join(seed.to_string()));
    crate::generate::folder::check_target(&dir, args.force, "--dir")?;
    let options = Options { sessions: args.sessions, days: None, partitioned: false, force: args.force };
    let bar = Bar::new();
    let (generated, named) = match &product_scenario {
        Some(scenario) => (
            generate::product_engine::generate(scenario, seed, &dir, &options, &|d, t| bar.update(d, t)),
            args.scenario.is_some(),
        ),
        None => {
            let (scenario, named) = pick_scenario(&args, seed)?;
            (generate::generate(&scenario, seed, &dir, &options, &|d, t| bar.update(d, t)), named)
        }
    };
    bar.finish();
    let generated = generated?;
    let mut progress = Progress::new();
    if args.interview {
        progress.interview =
            Some(Interview { minutes: args.minutes.unwrap_or(30), prompt: vague_prompt(&generated.brief) });
    }
    progress.save(&generated.dir)?;
    workspace::set_current(&generated.dir)?;
    let mut replay = format!("dropcase drill start --seed {seed}");
    if named {
        replay.push_str(&format!(" --scenario {}", args.scenario.as_deref().unwrap_or_default()));
    }
    if let Some(f) = &args.family {
        replay.push_str(&format!(" --family {f}"));
    }
    if let Some(d) = args.difficulty {
        replay.push_str(&format!(" --difficulty {}", d.name()));
    }
    if let Some(n) = args.sessions {
        replay.push_str(&format!(" --sessions {n}"));
    }
    if let Some(interview) = &progress.interview {
        replay.push_str(&format!(" --interview --minutes {}", interview.minutes));
    }
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct Started<'a> {
            dir: String,
            seed: u64,
            brief: &'a crate::brief::Brief,
            replay: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            interview: Option<&'a Interview>,
        }
        return emit(&output::json(&Started {
            dir: generated.dir.display().to_string(),
            seed,
            brief: &generated.brief,
            replay,
            interview: progress.interview.as_ref(),
        }));
    }
    match &progress.interview {
        Some(interview) => emit(&render_interview(interview, &generated.dir, Some(&replay))),
        None => emit(&render_brief(&generated.brief, &generated.dir, Some(&replay))),
    }
}

/// What an interviewer opens with: the metric and its direction, nothing more. The
/// windows, the size and the definitions are the learner's to ask for.
fn vague_prompt(brief: &crate::brief::Brief) -> String {
    let metric = brief.metric.replace('_', " ");
    let moved = if brief.prompt.contains("rose") { "went up" } else { "dropped" };
    format!(
        "Our {metric} {moved} recently and leadership is asking why. Walk me through how you would investigate."
    )
}

fn render_interview(interview: &Interview, dir: &Path, replay: Option<&str>) -> String {
    let mut out = format!(
        "Interview ({} minutes)\n\n  \"{}\"\n\nThe data are in {}. Ask before you query: `dropcase drill ask list` shows the topics (definition, window, platforms, releases, pipeline, seasonality, experiments, marketing); questions count in the grade.\n\nAnswer in full: dropcase drill answer --cause FAMILY [--where ...] [--stage ...] [--start ...] --impact N --action ACTION --monitor METRIC --note \"...\"\n`dropcase drill status` shows the clock.\n",
        interview.minutes,
        interview.prompt,
        dir.display()
    );
    if let Some(replay) = replay {
        out.push_str(&format!("Replay this case: {replay}\n"));
    }
    output::prose(&out)
}

fn render_brief(brief: &crate::brief::Brief, dir: &Path, replay: Option<&str>) -> String {
    let mut out = format!("Case {}\n\n  {}\n\n", brief.seed, brief.prompt);
    out.push_str(&format!(
        "Windows: baseline {} vs current {} (data {} to {}, {} sessions)\n\nTables in {}:\n",
        brief.baseline,
        brief.current,
        brief.data_from,
        brief.data_to,
        output::thousands(brief.sessions),
        dir.display()
    ));
    for t in &brief.tables {
        out.push_str(&format!("  {:<34} {}\n", t.name, t.about));
    }
    out.push_str("\nDefinitions:\n");
    for d in &brief.definitions {
        out.push_str(&format!("  {:<20} {}\n", d.metric, d.definition));
    }
    out.push_str(
        "\nSuggested first commands:\n  dropcase query funnel\n  dropcase query compare --by platform\n  dropcase query trend --metric conversion --grain day\n",
    );
    out.push_str("\nWhen ready: dropcase drill answer --cause FAMILY [--where dim=value,...] [--stage STAGE] [--start YYYY-MM-DD]\nStuck? dropcase drill hint (costs points)\n");
    if let Some(replay) = replay {
        out.push_str(&format!("Replay this case: {replay}\n"));
    }
    output::prose(&out)
}

fn status(args: DirArgs) -> anyhow::Result<()> {
    let drill = Drill::open(args.dir.as_deref())?;
    let progress = super::record::load_progress(&drill.dir)?;
    let minutes = (Utc::now() - progress.started_at).num_minutes();
    #[derive(Serialize)]
    struct Status<'a> {
        dir: String,
        prompt: &'a str,
        minutes: i64,
        commands: usize,
        hints: u32,
        score: Option<f64>,
        revealed: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        interview: Option<Clock>,
    }
    #[derive(Serialize)]
    struct Clock {
        minutes_allowed: u32,
        minutes_used: i64,
        minutes_left: i64,
    }
    let clock = progress.interview.as_ref().map(|i| Clock {
        minutes_allowed: i.minutes,
        minutes_used: minutes,
        minutes_left: i64::from(i.minutes) - minutes,
    });
    let s = Status {
        dir: drill.dir.display().to_string(),
        prompt: &drill.brief.prompt,
        minutes,
        commands: progress.investigations().count(),
        hints: progress.hints,
        score: progress.answer.as_ref().map(|a| a.grade.score),
        revealed: progress.revealed,
        interview: clock,
    };
    if args.format == Format::Json {
        return emit(&output::json(&s));
    }
    if let (Some(interview), Some(clock)) = (&progress.interview, &s.interview) {
        let left = if clock.minutes_left >= 0 {
            format!("{} min left", clock.minutes_left)
        } else {
            format!("{} min over", -clock.minutes_left)
        };
        let outcome = match &progress.answer {
            Some(a) => format!("answered ({:.0}/100)", a.grade.score),
            None => "not answered yet".into(),
        };
        return emit(&format!(
            "{}\n{}",
            render_interview(interview, &drill.dir, None),
            output::prose(&format!(
                "Clock: {} of {} min used, {left} · questions asked: {} · queries run: {} · {outcome}",
                clock.minutes_used,
                clock.minutes_allowed,
                progress
                    .log
                    .iter()
                    .filter(|e| e.kind()
                        == Some(crate::drill::command::CommandKind::Drill(
                            crate::drill::command::DrillStep::Ask
                        )))
                    .count(),
                s.commands
            ))
        ));
    }
    let outcome = match &progress.answer {
        Some(a) => format!("answered: {} ({:.0}/100)", a.cause, a.grade.score),
        None => "not answered yet".into(),
    };
    let line = progress_line(minutes, s.commands, "queries", s.hints, hint::STAGES.len(), &outcome);
    emit(&format!("{}\n{}", render_brief(&drill.brief, &drill.dir, None), output::prose(&line)))
}

/// The last line of `drill status` and `exp status`.
pub(super) fn progress_line(
    minutes: i64,
    commands: usize,
    what: &str,
    hints: u32,
    stages: usize,
    outcome: &str,
) -> String {
    format!("Time spent: {minutes} min · {what} run: {commands} · hints taken: {hints}/{stages} · {outcome}")
}

fn take_hint(args: DirArgs) -> anyhow::Result<()> {
    let drill = Drill::open(args.dir.as_deref())?;
    let mut progress = drill.progress()?;
    anyhow::ensure!(
        progress.answer.is_none() && !progress.revealed,
        "this drill is already answered; hints are for before the answer (`dropcase drill reveal` shows the truth)"
    );
    let stage = progress.hints as usize;
    anyhow::ensure!(
        stage < hint::STAGES.len(),
        "no hints left: all {} have been taken; `dropcase drill reveal` gives up and shows the truth",
        hint::STAGES.len()
    );
    let truth = drill.truth()?;
    let text = if drill.brief.product == crate::product::DEFAULT {
        hint::hint(&drill.dir, &drill.brief, &truth, stage)?
    } else {
        crate::drill::product_hint::hint(&drill.dir, &drill.brief, &truth, stage)?
    };
    progress.hints += 1;
    progress.save(&drill.dir)?;
    emit_hint(args.format, stage, &hint::STAGES, grade::HINT_COSTS[stage], &text)
}

/// A hint just taken (`drill hint`, `exp hint`): stage `stage` (from 0) of `stages`.
pub(super) fn emit_hint(
    format: Format,
    stage: usize,
    stages: &[&str],
    cost: f64,
    text: &str,
) -> anyhow::Result<()> {
    if format == Format::Json {
        #[derive(Serialize)]
        struct Hint<'a> {
            stage: usize,
            name: &'a str,
            hint: &'a str,
            cost: f64,
        }
        return emit(&output::json(&Hint { stage: stage + 1, name: stages[stage], hint: text, cost }));
    }
    emit(&output::prose(&format!("Hint {}/{} (−{cost:.0} points): {text}", stage + 1, stages.len())))
}

fn prompt_line(question: &str) -> anyhow::Result<Option<String>> {
    eprint!("{question}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim().to_string();
    Ok((!line.is_empty()).then_some(line))
}

/// A claimed cause as typed, checked against the drill: a known family, dimensions and
/// values the data hold, a funnel stage, a date inside the data.
fn parse_claim(text: &ClaimText, drill: &Drill) -> anyhow::Result<Claim> {
    let family = parse_family(&text.cause)?;
    let segment = match &text.segment {
        None => Vec::new(),
        Some(t) => scenario::parse_terms(t).map_err(|e| anyhow::anyhow!("--where '{t}': {e}"))?,
    };
    let product = crate::product::Product::load(&drill.brief.product)?;
    let dimensions: Vec<String> = product.dimension_names();
    let dimension_refs: Vec<&str> = dimensions.iter().map(String::as_str).collect();
    for (dim, value) in &segment {
        if !dimension_refs.contains(&dim.as_str()) {
            let hint = suggest::nearest(dim, &dimension_refs)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            anyhow::bail!("--where: unknown dimension '{dim}'{hint}; dimensions: {}", dimensions.join(", "));
        }
        let values = match product.dimension(dim) {
            Some(d) if !product.is_shop() => product.values_of(d),
            _ => evidence::dimension_values(&drill.dir, dim)?,
        };
        if !values.contains(value) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let hint =
                suggest::nearest(value, &refs).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default();
            anyhow::bail!(
                "--where: {dim} has no value '{value}' in this drill{hint}; its values: {}",
                values.join(", ")
            );
        }
    }
    let stage = match &text.stage {
        None => None,
        Some(t) => {
            let steps: Vec<&str> = product.steps.iter().map(|s| s.name.as_str()).collect();
            anyhow::ensure!(
                steps.contains(&t.trim()),
                "--stage '{t}' is not a funnel stage of the {} product; choose {}",
                product.name,
                steps.join(", ")
            );
            Some(crate::scenario::Stage::new(t.trim()))
        }
    };
    let start = match &text.start {
        None => None,
        Some(t) => {
            let date = NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .with_context(|| format!("--start '{t}' is not a YYYY-MM-DD date"))?;
            anyhow::ensure!(
                date >= drill.brief.data_from && date <= drill.brief.data_to,
                "--start {date} is outside the data ({} to {})",
                drill.brief.data_from,
                drill.brief.data_to
            );
            Some(date)
        }
    };
    Ok(Claim { family, segment, stage, start })
}

fn parse_action(text: &str) -> anyhow::Result<Action> {
    Action::parse(text.trim()).ok_or_else(|| {
        let names = Action::names();
        let hint =
            suggest::nearest(text, &names).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default();
        anyhow::anyhow!("--action '{text}' is not an action{hint}; choose one of: {}", names.join(", "))
    })
}

fn parse_impact(text: &str) -> anyhow::Result<f64> {
    let value: f64 = text.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "--impact '{text}' is not a number: give the lost conversions per day, e.g. --impact 120"
        )
    })?;
    anyhow::ensure!(value.is_finite(), "--impact {text} is not a finite number of conversions per day");
    Ok(value)
}

/// `--monitor` names, checked against the drill's product's metrics.
fn parse_monitor(names: &[String], product: &crate::product::Product) -> anyhow::Result<Vec<String>> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            crate::query::Metric::find_in(product.metric_registry(), n)
                .map(|m| m.name.to_string())
                .context("--monitor")
        })
        .collect()
}

/// The evidence command of each true cause, as the command line's parser reads it (its
/// trailing remark in parentheses dropped).
fn evidence_records(truths: &[CauseTruth], dir: &Path) -> Vec<Option<CommandRecord>> {
    truths
        .iter()
        .map(|t| {
            let command = t.evidence_command.split('(').next().unwrap_or_default().trim();
            super::record::parse_line(command, dir)
        })
        .collect()
}

fn answer(mut args: AnswerArgs) -> anyhow::Result<()> {
    let drill = Drill::open(args.dir.as_deref())?;
    let mut progress = super::record::load_progress(&drill.dir)?;
    anyhow::ensure!(
        !progress.revealed,
        "the truth of this drill was already revealed, so it cannot be answered; start a new one with `dropcase drill start`"
    );
    if let Some(previous) = &progress.answer {
        anyhow::bail!(
            "this drill was already answered ({}, {:.0}/100); `dropcase drill reveal` shows the truth, `dropcase drill start` starts a new case",
            previous.cause,
            previous.grade.score
        );
    }
    // Built directly (not through the command line's parser), the flags carry no order:
    // take them as one cause each, in the order given.
    if args.order.is_empty() {
        let mut i = 0;
        let mut push = |field, values: &[String], order: &mut Vec<(usize, ClaimField, String)>| {
            for v in values {
                order.push((i, field, v.clone()));
                i += 1;
            }
        };
        let mut order = Vec::new();
        push(ClaimField::Cause, &args.cause, &mut order);
        push(ClaimField::Where, &args.segment, &mut order);
        push(ClaimField::Stage, &args.stage, &mut order);
        push(ClaimField::Start, &args.start, &mut order);
        args.order = order;
    }
    if args.cause.is_empty() {
        anyhow::ensure!(
            std::io::stdin().is_terminal(),
            "--cause is required (one of: {})",
            Family::names().join(", ")
        );
        eprintln!("Your diagnosis (leave blank to skip a field). Families: {}", Family::names().join(", "));
        let mut order = Vec::new();
        for (field, question) in [
            (ClaimField::Cause, "cause family"),
            (ClaimField::Where, "segment (dim=value,...)"),
            (ClaimField::Stage, "stage (view, cart, checkout, purchase)"),
            (ClaimField::Start, "start date (YYYY-MM-DD)"),
        ] {
            if let Some(value) = prompt_line(question)? {
                order.push((order.len(), field, value));
            }
        }
        args.order = order;
        args.impact = prompt_line("impact (lost conversions per day)")?;
        eprintln!("Actions: {}", Action::names().join(", "));
        args.action = prompt_line("action (what to do first)")?;
        args.monitor = prompt_line("monitor (metrics that confirm the fix, comma-separated)")?
            .map(|m| m.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        args.note = prompt_line("note (your reasoning, for the reviewer)")?;
    }
    let texts = group_claims(&args.order)?;
    anyhow::ensure!(!texts.is_empty(), "--cause is required (one of: {})", Family::names().join(", "));
    let claims = texts.iter().map(|t| parse_claim(t, &drill)).collect::<anyhow::Result<Vec<Claim>>>()?;
    let impact = args.impact.as_deref().map(parse_impact).transpose()?;
    let action = args.action.as_deref().map(parse_action).transpose()?;
    let product = crate::product::Product::load(&drill.brief.product)?;
    let metrics: Vec<String> = product.metric_registry().iter().map(|m| m.name.to_string()).collect();
    let monitor = parse_monitor(&args.monitor, product)?;

    let truth = drill.truth()?;
    let truths = truth.causes();
    let process = Process {
        log: progress.log.clone(),
        hints: progress.hints,
        evidence: evidence_records(&truths, &drill.dir),
        start_tolerance: crate::drill::start_window::tolerances(&drill.dir, &truths),
        metrics,
    };
    let diagnosis = Diagnosis {
        claims: claims.clone(),
        impact,
        action,
        monitor: monitor.clone(),
        note: args.note.clone(),
    };
    let grade = grade::grade(&truths, truth.impact_truth().as_ref(), &diagnosis, &process);
    let records: Vec<ClaimRecord> = claims
        .iter()
        .map(|c| ClaimRecord {
            cause: c.family.name().to_string(),
            segment: c.segment.clone(),
            stage: c.stage.map(|s| s.name().to_string()),
            start: c.start,
        })
        .collect();
    let first = records[0].clone();
    progress.answer = Some(AnswerRecord {
        at: Utc::now(),
        cause: first.cause,
        segment: first.segment,
        stage: first.stage,
        start: first.start,
        note: args.note.clone(),
        grade: grade.clone(),
        causes: records,
        impact,
        action: action.map(|a| a.name().to_string()),
        monitor,
    });
    progress.save(&drill.dir)?;
    let card = progress
        .interview
        .as_ref()
        .map(|_| interview_card(&progress, &truth, &truths, &grade, &diagnosis, &drill.brief.product));
    match args.format {
        Format::Json => {
            if let Some(card) = card {
                #[derive(Serialize)]
                struct WithCard<'a> {
                    score: f64,
                    breakdown: &'a [grade::Component],
                    scorecard: InterviewCard,
                }
                return emit(&output::json(&WithCard {
                    score: grade.score,
                    breakdown: &grade.breakdown,
                    scorecard: card,
                }));
            }
            emit(&output::json(&grade))
        }
        _ => {
            let mut text = render_grade(&grade);
            if let Some(card) = &card {
                text.push_str("\n\n");
                text.push_str(&render_card(card));
            }
            emit(&text)
        }
    }
}

/// The path an interviewer hopes to see for these causes.
pub fn ideal_path(truth: &Truth, truths: &[CauseTruth], product: &str) -> Vec<String> {
    let product = crate::product::Product::load(product).unwrap_or_else(|_| crate::product::Product::shop());
    let registry = product.metric_registry();
    let mut path = vec![
        "dropcase drill ask definition   (confirm what the metric counts)".to_string(),
        "dropcase drill ask window   (same weekdays? a complete last day?)".to_string(),
    ];
    // The product's second source, and (where it has one) a per-user count for duplicates.
    if let Some(m) = registry.iter().find(|m| m.measures().iter().any(|x| x.source().is_some())) {
        path.push(format!("dropcase query trend --metric {} --grain day   (second source)", m.name));
    }
    if let Some(m) = registry.iter().find(|m| m.denominator == Some(crate::query::metric::Measure::Users)) {
        path.push(format!("dropcase query trend --metric {} --grain day   (duplicates)", m.name));
    }
    path.push("dropcase query funnel   (which step)".to_string());
    let by = product.dimension_names().into_iter().next().unwrap_or_else(|| "platform".into());
    path.push(format!("dropcase query compare --by {by}   (segments)"));
    for t in truths {
        path.push(t.evidence_command.clone());
    }
    let claims: Vec<String> = truths
        .iter()
        .map(|t| {
            let mut c = format!("--cause {}", t.family);
            if !t.segment.is_empty() {
                c.push_str(&format!(
                    " --where {}",
                    t.segment.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
                ));
            }
            if let Some(stage) = t.stage {
                c.push_str(&format!(" --stage {stage}"));
            }
            c.push_str(&format!(" --start {}", t.start));
            c
        })
        .collect();
    let best = truths.first().map(|t| t.actions()[0].name()).unwrap_or("no_action");
    let monitor = truths
        .first()
        .and_then(|t| {
            let monitors = t.family.monitors();
            monitors.iter().find(|m| registry.iter().any(|x| x.name == **m)).or(monitors.first()).copied()
        })
        .unwrap_or("conversion");
    path.push(format!(
        "dropcase drill answer {} --impact {:.0} --action {best} --monitor {monitor} --note \"...\"",
        claims.join(" "),
        truth.impact_truth().map(|i| i.impact).unwrap_or(0.0)
    ));
    path
}

fn interview_card(
    progress: &Progress,
    truth: &Truth,
    truths: &[CauseTruth],
    grade: &Grade,
    diagnosis: &Diagnosis,
    product: &str,
) -> InterviewCard {
    let interview = progress.interview.clone().expect("an interview");
    InterviewCard {
        lines: grade::scorecard(grade, diagnosis),
        minutes_allowed: interview.minutes,
        minutes_used: (Utc::now() - progress.started_at).num_minutes(),
        ideal_path: ideal_path(truth, truths, product),
        your_path: progress.log.iter().map(|e| e.command.clone()).collect(),
    }
}

/// The scorecard of an answered interview drill, rebuilt from its progress (for `report`).
pub fn card_of(dir: &Path) -> anyhow::Result<Option<InterviewCard>> {
    let drill = Drill::open(Some(dir))?;
    let progress = super::record::load_progress(&drill.dir)?;
    let (Some(_), Some(answer)) = (&progress.interview, &progress.answer) else { return Ok(None) };
    let truth = drill.truth()?;
    let truths = truth.causes();
    let diagnosis = Diagnosis {
        claims: Vec::new(),
        impact: answer.impact,
        action: answer.action.as_deref().and_then(Action::parse),
        monitor: answer.monitor.clone(),
        note: answer.note.clone(),
    };
    let mut card =
        interview_card(&progress, &truth, &truths, &answer.grade, &diagnosis, &drill.brief.product);
    card.minutes_used = (answer.at - progress.started_at).num_minutes();
    Ok(Some(card))
}

pub fn render_card(card: &InterviewCard) -> String {
    let mut table = output::FitTable::new(&[
        ("rubric", output::Fit::Keep),
        ("points", output::Fit::Keep),
        ("of", output::Fit::Keep),
        ("verdict", output::Fit::Wrap),
    ]);
    for l in &card.lines {
        table.add_row(vec![
            l.words.clone(),
            format!("{:.0}", l.earned),
            format!("{:.0}", l.possible),
            l.verdict.clone(),
        ]);
    }
    let timing = if card.minutes_used > i64::from(card.minutes_allowed) {
        format!("over time: {} of {} minutes", card.minutes_used, card.minutes_allowed)
    } else {
        format!("{} of {} minutes", card.minutes_used, card.minutes_allowed)
    };
    let mut out = format!("Interview scorecard ({timing})\n{table}\n\nThe ideal path:\n");
    for (i, step) in card.ideal_path.iter().enumerate() {
        out.push_str(&format!("  {}. {step}\n", i + 1));
    }
    out.push_str("\nYour path:\n");
    if card.your_path.is_empty() {
        out.push_str("  (no commands before the answer)\n");
    }
    for (i, step) in card.your_path.iter().enumerate() {
        out.push_str(&format!("  {}. {step}\n", i + 1));
    }
    out
}

fn render_grade(grade: &Grade) -> String {
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
    format!(
        "Score: {:.0}/100\n{table}\n`dropcase drill reveal` shows the truth and the evidence.",
        grade.score
    )
}

fn reveal(args: DirArgs) -> anyhow::Result<()> {
    let drill = Drill::open(args.dir.as_deref())?;
    let mut progress = drill.progress()?;
    let truth = drill.truth()?;
    if !progress.revealed {
        progress.revealed = true;
        progress.save(&drill.dir)?;
    }
    // What the diagnose engine reads in the same data, as the reveal's explanation; a
    // failure to run it does not hide the truth.
    let engine = hint::engine(&drill.dir).ok();
    let causes = truth.causes();
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct Engine<'a> {
            kind: &'a str,
            verdict: &'a str,
            root_causes: &'a [crate::diagnose::RootCause],
            agrees: bool,
        }
        #[derive(Serialize)]
        struct CauseJson<'a> {
            family: &'a str,
            #[serde(rename = "where")]
            segment: &'a std::collections::BTreeMap<String, String>,
            /// What every row the cause touched shares beyond its segment (the bots' user
            /// agent, `user_type=returning` for a cause of returns): terms an answer may add.
            #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            fingerprint: &'a std::collections::BTreeMap<String, String>,
            stage: Option<&'a str>,
            start: String,
            explanation: &'a str,
            evidence_command: &'a str,
            impact: Option<f64>,
            orders_impact: Option<f64>,
            actions: Vec<&'static str>,
        }
        #[derive(Serialize)]
        struct TruthJson<'a> {
            family: &'a str,
            #[serde(rename = "where")]
            segment: &'a std::collections::BTreeMap<String, String>,
            #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            fingerprint: &'a std::collections::BTreeMap<String, String>,
            stage: Option<&'a str>,
            start: String,
            explanation: &'a str,
            evidence_command: &'a str,
            lookalike: &'a str,
            scenario: &'a str,
            impact: Option<f64>,
            orders_impact: Option<f64>,
            actions: Vec<&'static str>,
            causes: Vec<CauseJson<'a>>,
        }
        #[derive(Serialize)]
        struct Reveal<'a> {
            truth: TruthJson<'a>,
            score: Option<f64>,
            engine: Option<Engine<'a>>,
        }
        return emit(&output::json(&Reveal {
            truth: TruthJson {
                family: truth.family.name(),
                segment: &truth.segment,
                fingerprint: &truth.fingerprint,
                stage: truth.stage.map(|s| s.name()),
                start: truth.start.format("%Y-%m-%d").to_string(),
                explanation: &truth.explanation,
                evidence_command: &truth.evidence_command,
                lookalike: truth.family.lookalike(),
                scenario: &truth.scenario,
                impact: causes[0].impact,
                orders_impact: causes[0].orders_impact,
                actions: causes[0].actions().iter().map(|a| a.name()).collect(),
                causes: causes
                    .iter()
                    .map(|c| CauseJson {
                        family: c.family.name(),
                        segment: &c.segment,
                        fingerprint: &c.fingerprint,
                        stage: c.stage.map(|s| s.name()),
                        start: c.start.format("%Y-%m-%d").to_string(),
                        explanation: &c.explanation,
                        evidence_command: &c.evidence_command,
                        impact: c.impact,
                        orders_impact: c.orders_impact,
                        actions: c.actions().iter().map(|a| a.name()).collect(),
                    })
                    .collect(),
            },
            score: progress.answer.as_ref().map(|a| a.grade.score),
            engine: engine.as_ref().map(|d| Engine {
                kind: &d.kind,
                verdict: &d.verdict,
                root_causes: &d.root_causes,
                agrees: d.agrees_with(&truth),
            }),
        }));
    }
    let segment = if truth.segment.is_empty() {
        "everyone".to_string()
    } else {
        truth.segment.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    let mut text = format!(
        "The truth ({} — \"{}\", {}):\n  cause:   {} ({} group)\n  segment: {segment}\n  stage:   {}\n  start:   {}\n\n{}\n\nThe command that shows it:\n  {}\n",
        truth.scenario,
        truth.title,
        truth.difficulty,
        truth.family,
        truth.family.group().name(),
        truth.stage.map(|s| s.name()).unwrap_or("none"),
        truth.start,
        output::prose(&truth.explanation),
        truth.evidence_command
    );
    if let Some(d) = &engine {
        text.push_str(&output::prose(&format!(
            "\nWhat `dropcase diagnose` reads in the data: {}\n",
            d.verdict
        )));
        for (i, c) in d.root_causes.iter().take(3).enumerate() {
            text.push_str(&format!(
                "  {}. {} — explains {:.0}% ({} step)\n",
                i + 1,
                c.label(),
                c.explanatory_power * 100.0,
                c.step.as_deref().unwrap_or("?")
            ));
        }
        text.push_str(if d.agrees_with(&truth) {
            "  The engine's reading agrees with the truth.\n"
        } else {
            "  The engine's reading differs from the truth: a case where the data mislead an automatic search.\n"
        });
    }
    if let Some(a) = &progress.answer {
        text.push_str(&format!("\nYour answer: {} — {:.0}/100\n", a.cause, a.grade.score));
    } else {
        text.push_str("\nYou gave up before answering; the drill is closed.\n");
    }
    emit(&text)
}

fn ask(args: AskArgs) -> anyhow::Result<()> {
    let drill = Drill::open(args.dir.as_deref())?;
    let progress = drill.progress()?;
    anyhow::ensure!(
        progress.answer.is_none() || args.topic == Topic::List,
        "this drill is already answered; questions are for before the answer (`dropcase drill reveal` shows the truth)"
    );
    let answer = crate::drill::ask::answer(args.topic, &drill.dir, &drill.brief)?;
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

/// One answered drill in the history: when, which case, the score, and each rubric line.
#[derive(Debug, Serialize)]
pub(super) struct HistoryRow {
    pub at: chrono::DateTime<Utc>,
    pub dir: String,
    pub score: f64,
    pub lines: std::collections::BTreeMap<String, (f64, f64)>,
}

/// The drill folders under `root` (one level), with their progress files read by `load`.
pub(super) fn history_rows(
    root: &Path,
    load: impl Fn(&Path) -> Option<(chrono::DateTime<Utc>, f64, Vec<grade::Component>)>,
) -> anyhow::Result<Vec<HistoryRow>> {
    let mut rows = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(rows),
        Err(err) => {
            return Err(err).with_context(|| format!("--drills {}: cannot list the folder", root.display()));
        }
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.join(crate::schema::files::BRIEF).is_file() {
            continue;
        }
        let Some((at, score, breakdown)) = load(&dir) else { continue };
        let mut lines = std::collections::BTreeMap::new();
        for c in breakdown {
            let slot = lines.entry(c.component.clone()).or_insert((0.0, 0.0));
            slot.0 += c.earned;
            slot.1 += c.possible;
        }
        rows.push(HistoryRow { at, dir: dir.display().to_string(), score, lines });
    }
    rows.sort_by_key(|r| r.at);
    Ok(rows)
}

/// The history as JSON or a table: one row per drill, one column per rubric line (earned
/// of possible), and the average share earned per line, weakest first.
pub(super) fn emit_history(rows: &[HistoryRow], format: Format, empty: &str) -> anyhow::Result<()> {
    let mut names: Vec<String> = rows.iter().flat_map(|r| r.lines.keys().cloned()).collect();
    names.sort();
    names.dedup();
    let mut habits: Vec<(String, f64)> = names
        .iter()
        .filter_map(|n| {
            let (earned, possible) = rows
                .iter()
                .filter_map(|r| r.lines.get(n))
                .fold((0.0, 0.0), |(e, p), (de, dp)| (e + de, p + dp));
            (possible > 0.0).then(|| (n.clone(), earned / possible))
        })
        .collect();
    habits.sort_by(|a, b| a.1.total_cmp(&b.1));
    if format == Format::Json {
        #[derive(Serialize)]
        struct History<'a> {
            drills: &'a [HistoryRow],
            /// Share of the possible points earned per rubric line, weakest first.
            habits: Vec<Habit<'a>>,
        }
        #[derive(Serialize)]
        struct Habit<'a> {
            line: &'a str,
            share: f64,
        }
        let habits = habits.iter().map(|(n, s)| Habit { line: n, share: *s }).collect();
        return emit(&output::json(&History { drills: rows, habits }));
    }
    if rows.is_empty() {
        return emit(empty);
    }
    let mut out = String::new();
    for r in rows {
        let lines: Vec<String> = r
            .lines
            .iter()
            .filter(|(_, (_, p))| *p > 0.0)
            .map(|(n, (e, p))| format!("{n} {e:.0}/{p:.0}"))
            .collect();
        out.push_str(&format!(
            "{}  {:>3.0}/100  {}\n    {}\n",
            r.at.format("%Y-%m-%d %H:%M"),
            r.score,
            r.dir,
            lines.join(" · ")
        ));
    }
    out.push_str("\nShare of points earned per rubric line, weakest first:\n");
    for (n, share) in &habits {
        out.push_str(&format!("  {n:<22} {:>4.0}%\n", share * 100.0));
    }
    emit(&out)
}

fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let root = args.drills.clone().unwrap_or_else(|| workspace::home().join("drills"));
    let rows = history_rows(&root, |dir| {
        if crate::brief::kind_of(dir).ok()? != crate::brief::DrillKind::Drop {
            return None;
        }
        let answer = Progress::load(dir).ok()?.answer?;
        Some((answer.at, answer.grade.score, answer.grade.breakdown))
    })?;
    emit_history(&rows, args.format, &format!("No answered drill under {} yet.", root.display()))
}

fn log(args: DirArgs) -> anyhow::Result<()> {
    let drill = Drill::open(args.dir.as_deref())?;
    emit_log(&super::record::load_progress(&drill.dir)?, args.format)
}

/// Every command run in a drill (`drill log`, `exp log`), in order, with its time.
pub(super) fn emit_log(progress: &Progress, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return emit(&output::json(&progress.log));
    }
    let started = progress.started_at.format("%Y-%m-%d %H:%M UTC");
    if progress.log.is_empty() {
        return emit(&format!("Started {started} · no commands logged yet"));
    }
    // Commands wrap at spaces to the terminal; the time goes only if even that cannot fit.
    let mut table = output::FitTable::new(&[
        ("#", output::Fit::Keep),
        ("time (UTC)", output::Fit::Drop(1)),
        ("command", output::Fit::Wrap),
    ]);
    for (i, e) in progress.log.iter().enumerate() {
        table.add_row(vec![
            (i + 1).to_string(),
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.command.clone(),
        ]);
    }
    emit(&format!("Started {started} · {} command(s)\n{table}", progress.log.len()))
}
