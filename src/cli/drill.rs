//! `dropcase drill start|status|hint|answer|reveal|log`: the practice loop.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::drill::grade::{self, Diagnosis, Grade, Process};
use crate::drill::workspace::{self, AnswerRecord, Drill, Progress};
use crate::drill::{evidence, hint};
use crate::generate::{self, Options, model::mix_seed};
use crate::output::{self, Format};
use crate::scenario::{self, Difficulty, Family, Scenario, catalogue};
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
    /// Cause family, e.g. release_bug, tracking_loss, noise.
    #[arg(long)]
    pub cause: Option<String>,
    /// Segment as dim=value pairs, e.g. platform=android,app_version=5.2.0.
    #[arg(long = "where")]
    pub segment: Option<String>,
    /// Funnel stage: view, cart, checkout or purchase.
    #[arg(long)]
    pub stage: Option<String>,
    /// Day the change began (YYYY-MM-DD).
    #[arg(long)]
    pub start: Option<String>,
    /// Your reasoning, kept with the answer.
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: DrillArgs) -> anyhow::Result<()> {
    match args.command {
        DrillCommand::Start(a) => start(a),
        DrillCommand::Status(a) => status(a),
        DrillCommand::Hint(a) => take_hint(a),
        DrillCommand::Answer(a) => answer(a),
        DrillCommand::Reveal(a) => reveal(a),
        DrillCommand::Log(a) => log(a),
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
    Progress::new().save(&generated.dir)?;
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
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct Started<'a> {
            dir: String,
            seed: u64,
            brief: &'a crate::brief::Brief,
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
    }
    let s = Status {
        dir: drill.dir.display().to_string(),
        prompt: &drill.brief.prompt,
        minutes,
        commands: progress.investigations().count(),
        hints: progress.hints,
        score: progress.answer.as_ref().map(|a| a.grade.score),
        revealed: progress.revealed,
    };
    if args.format == Format::Json {
        return emit(&output::json(&s));
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
    if args.cause.is_none() {
        anyhow::ensure!(
            std::io::stdin().is_terminal(),
            "--cause is required (one of: {})",
            Family::names().join(", ")
        );
        eprintln!("Your diagnosis (leave blank to skip a field). Families: {}", Family::names().join(", "));
        args.cause = prompt_line("cause family")?;
        args.segment = prompt_line("segment (dim=value,...)")?;
        args.stage = prompt_line("stage (view, cart, checkout, purchase)")?;
        args.start = prompt_line("start date (YYYY-MM-DD)")?;
    }
    let family = parse_family(args.cause.as_deref().unwrap_or_default())?;
    let segment = match &args.segment {
        None => Vec::new(),
        Some(text) => scenario::parse_terms(text).map_err(|e| anyhow::anyhow!("--where '{text}': {e}"))?,
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
    let stage = match &args.stage {
        None => None,
        Some(text) => {
            let steps: Vec<&str> = product.steps.iter().map(|s| s.name.as_str()).collect();
            anyhow::ensure!(
                steps.contains(&text.trim()),
                "--stage '{text}' is not a funnel stage of the {} product; choose {}",
                product.name,
                steps.join(", ")
            );
            Some(crate::scenario::Stage::new(text.trim()))
        }
    };
    let start = match &args.start {
        None => None,
        Some(text) => {
            let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .with_context(|| format!("--start '{text}' is not a YYYY-MM-DD date"))?;
            anyhow::ensure!(
                date >= drill.brief.data_from && date <= drill.brief.data_to,
                "--start {date} is outside the data ({} to {})",
                drill.brief.data_from,
                drill.brief.data_to
            );
            Some(date)
        }
    };
    let truth = drill.truth()?;
    let process = Process {
        commands: progress.investigations().count(),
        checked_data_quality: progress.checked_data_quality(),
        hints: progress.hints,
    };
    let grade = grade::grade(&truth, &Diagnosis { family, segment: segment.clone(), stage, start }, &process);
    progress.answer = Some(AnswerRecord {
        at: Utc::now(),
        cause: family.name().to_string(),
        segment,
        stage: stage.map(|s| s.name().to_string()),
        start,
        note: args.note.clone(),
        grade: grade.clone(),
    });
    progress.save(&drill.dir)?;
    match args.format {
        Format::Json => emit(&output::json(&grade)),
        _ => emit(&render_grade(&grade)),
    }
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
    let engine =
        if drill.brief.product == crate::product::DEFAULT { hint::engine(&drill.dir).ok() } else { None };
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct Engine<'a> {
            kind: &'a str,
            verdict: &'a str,
            root_causes: &'a [crate::diagnose::RootCause],
            agrees: bool,
        }
        #[derive(Serialize)]
        struct TruthJson<'a> {
            family: &'a str,
            #[serde(rename = "where")]
            segment: &'a std::collections::BTreeMap<String, String>,
            stage: Option<&'a str>,
            start: String,
            explanation: &'a str,
            evidence_command: &'a str,
            lookalike: &'a str,
            scenario: &'a str,
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
                stage: truth.stage.map(|s| s.name()),
                start: truth.start.format("%Y-%m-%d").to_string(),
                explanation: &truth.explanation,
                evidence_command: &truth.evidence_command,
                lookalike: truth.family.lookalike(),
                scenario: &truth.scenario,
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
