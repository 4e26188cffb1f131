//! `dropcase diagnose`: root-cause localisation on a drill (the current one by default), on
//! any dataset `query` reads (`--data PATH [--schema FILE]`, or `--cube FILE`), or on a leaf
//! table file (`--leaves FILE --actual COL --expected COL`, plus
//! `--actual-denominator COL --expected-denominator COL` for a ratio metric).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use super::query::parse_window;
use crate::brief::Window;
use crate::dataset::Dataset;
use crate::diagnose::drill::{DiagnoseSpec, DrillDiagnosis, diagnose_dataset};
use crate::diagnose::events::{self, ChangeLog};
use crate::diagnose::onset::Onset;
use crate::diagnose::table_file::{self, Columns, LeafFile};
use crate::diagnose::{Algorithm, RootCause, Settings, localise_table};
use crate::output::{self, Fit, Format, number, p_value, pct, signed_pct};
use crate::query::Filter;

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// A drill folder, a Parquet or CSV file, or a folder of date=YYYY-MM-DD/ Parquet
    /// partitions (default: the current drill).
    #[arg(long, value_name = "PATH", conflicts_with = "leaves")]
    pub data: Option<PathBuf>,
    /// TOML file mapping your column names onto dropcase's (as for `query`).
    #[arg(long, value_name = "FILE", conflicts_with = "leaves")]
    pub schema: Option<PathBuf>,
    /// A cube to diagnose instead of rows (`dropcase cube --out`, or its SQL's result);
    /// its dimensions are the ones searched.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["leaves", "data", "schema"])]
    pub cube: Option<PathBuf>,
    /// A Spark Connect server (sc://HOST:PORT) that builds the cube of every dimension over
    /// --data PATH (a path the server can read) or --table NAME; diagnosed as --cube.
    #[arg(long, value_name = "sc://HOST:PORT", conflicts_with_all = ["leaves", "cube"])]
    pub engine: Option<String>,
    /// With --engine: the table (or view) of one row per session the server reads.
    #[arg(long, value_name = "NAME", requires = "engine", conflicts_with = "data")]
    pub table: Option<String>,
    /// Baseline window FROM..TO (default: the drill's brief, else the week before --current).
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window, conflicts_with = "leaves")]
    pub baseline: Option<Window>,
    /// Current window FROM..TO (default: the drill's brief, else the data's last week).
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window, conflicts_with = "leaves")]
    pub current: Option<Window>,
    /// Keep only matching rows: dim=v, dim!=v, dim=a|b, comma-separated (repeatable).
    #[arg(long = "where", value_name = "FILTER", conflicts_with = "leaves")]
    pub filter: Vec<String>,
    /// The metric to explain, by the product's name for it: a funnel rate (`conversion`,
    /// `cart_rate`, `engagement_rate`) or a count of rows or active users (`sessions`, `dau`,
    /// `wau`). Default: the drill's headline metric, else the widest funnel rate.
    #[arg(long, value_name = "NAME", conflicts_with = "leaves")]
    pub metric: Option<String>,
    /// A leaf table (CSV or Parquet): dimension columns plus --actual and --expected.
    #[arg(long, value_name = "FILE", requires_all = ["actual", "expected"])]
    pub leaves: Option<PathBuf>,
    /// Column of the leaf table holding the actual value.
    #[arg(long, value_name = "COL", requires = "leaves")]
    pub actual: Option<String>,
    /// Column of the leaf table holding the expected (forecast) value.
    #[arg(long, value_name = "COL", requires = "leaves")]
    pub expected: Option<String>,
    /// For a ratio metric (a rate): the denominator of --actual, which is then its numerator.
    #[arg(long, value_name = "COL", requires_all = ["leaves", "expected_denominator"])]
    pub actual_denominator: Option<String>,
    /// For a ratio metric: the denominator of --expected. The expected pair is read as an
    /// observed reference such as last week's counts.
    #[arg(long, value_name = "COL", requires_all = ["leaves", "actual_denominator"])]
    pub expected_denominator: Option<String>,
    /// Dimension columns of the leaf table (default: every other column).
    #[arg(long, value_name = "a,b,c", value_delimiter = ',', requires = "leaves")]
    pub dims: Option<Vec<String>>,
    /// Localisation algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Scan)]
    pub algorithm: Algorithm,
    /// Deepest combination of terms searched.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub max_depth: u8,
    /// A CSV of timestamped changes (releases, flags, campaigns, incidents) to rank against
    /// the cause: columns time (or date), description, optionally scope (`dim=value,...`,
    /// empty for everyone) and end. On a drill they are ranked with its context logs.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Serialize)]
struct LeafDiagnosis<'a> {
    leaves: usize,
    actual: f64,
    expected: f64,
    algorithm: Algorithm,
    verdict: String,
    root_causes: &'a [RootCause],
    /// With `--events`: the events ranked by scope (a leaf table has no dates to match).
    #[serde(skip_serializing_if = "Option::is_none")]
    change_log: Option<ChangeLog>,
}

pub fn run(args: DiagnoseArgs) -> Result<()> {
    let settings = Settings { max_depth: usize::from(args.max_depth), ..Settings::default() };
    if let Some(path) = &args.leaves {
        let columns = Columns {
            actual: args.actual.clone().expect("clap: --actual required with --leaves"),
            expected: args.expected.clone().expect("clap: --expected required with --leaves"),
            denominators: args.actual_denominator.clone().zip(args.expected_denominator.clone()),
            dims: args.dims.clone(),
        };
        // A ratio metric is localised on its numerator against the expected rate times the
        // actual denominator (mix within an element cancels), weighing binomial evidence.
        let (table, settings, rates) = match table_file::read(path, &columns)? {
            LeafFile::Additive(table) => (table, settings, None),
            LeafFile::Ratio(ratio) => {
                let [num_e, den_e, num_a, den_a] = ratio.totals();
                (ratio.to_rate_table(), settings, Some((num_a / den_a, num_e / den_e)))
            }
        };
        let causes = localise_table(&table, args.algorithm, &settings);
        let (actual, expected) = rates.unwrap_or_else(|| table.total());
        let verdict = match causes.first() {
            Some(top) => {
                format!("{} explains {:.0}% of the change", top.label(), top.explanatory_power * 100.0)
            }
            None => "no localised cause: no element moves beyond normal variation".into(),
        };
        let change_log = match &args.events {
            Some(file) => {
                let logged = events::read_events_file(file, &table.dims)?;
                let (core, segment) =
                    causes.first().map(|c| (c.terms.clone(), c.segment())).unwrap_or_default();
                Some(events::rank(&logged, &core, &segment, None))
            }
            None => None,
        };
        let result = LeafDiagnosis {
            leaves: table.len(),
            actual,
            expected,
            algorithm: args.algorithm,
            verdict,
            root_causes: &causes,
            change_log,
        };
        return super::emit(&match args.format {
            Format::Json => output::json(&result),
            Format::Csv => causes_csv(&causes),
            Format::Table => format!(
                "{} leaves: actual {} vs expected {} ({})\n{}\n\n{}{}",
                table.len(),
                if rates.is_some() { pct(actual) } else { number(actual) },
                if rates.is_some() { pct(expected) } else { number(expected) },
                signed_pct(actual / expected - 1.0),
                result.verdict,
                causes_table(&causes),
                result
                    .change_log
                    .as_ref()
                    .map(|log| format!(
                        "\n\nChange log (by scope; a leaf table has no dates)\n{}",
                        change_log_text(log)
                    ))
                    .unwrap_or_default()
            ),
        });
    }
    let filter = Filter::parse_all(&args.filter)?;
    let ds = match &args.engine {
        Some(url) => crate::cube::spark::open(
            url,
            args.data.as_deref(),
            args.table.as_deref(),
            args.schema.as_deref(),
            crate::cube::Time::Days,
        )?,
        None => Dataset::open_any(args.data.as_deref(), args.schema.as_deref(), args.cube.as_deref())?,
    };
    let (baseline, current) = ds.windows(args.baseline, args.current)?;
    if ds.brief.is_none() && ds.cube.is_none() && (args.baseline.is_none() || args.current.is_none()) {
        eprintln!("windows: baseline {baseline}, current {current} (choose with --baseline/--current)");
    }
    let extra = match &args.events {
        Some(file) => events::read_events_file(file, &ds.dimensions)?,
        None => Vec::new(),
    };
    let spec = DiagnoseSpec { metric: args.metric.clone(), baseline, current, filter };
    let diagnosis = diagnose_dataset(&ds, &spec, args.algorithm, &settings, extra)?;
    super::emit(&match args.format {
        Format::Json => output::json(&diagnosis),
        Format::Csv => causes_csv(&diagnosis.root_causes),
        Format::Table => drill_text(&diagnosis),
    })
}

fn terms_text(c: &RootCause) -> String {
    let mut label = c.label();
    if !c.implied.is_empty() {
        let implied: Vec<String> = c.implied.iter().map(|(d, v)| format!("{d}={v}")).collect();
        label.push_str(&format!(" ({})", implied.join(", ")));
    }
    label
}

fn causes_table(causes: &[RootCause]) -> String {
    if causes.is_empty() {
        return "no localised cause".into();
    }
    // Narrow terminals wrap the cause's terms, then lose the score, the change outside and
    // inside, the confidence and last the interval; what it explains stays.
    let mut table = output::FitTable::new(&[
        ("#", Fit::Keep),
        ("root cause", Fit::Wrap),
        ("step", Fit::Keep),
        ("explains", Fit::Keep),
        ("95% interval", Fit::Drop(5)),
        ("inside", Fit::Drop(3)),
        ("outside", Fit::Drop(2)),
        ("confidence", Fit::Drop(4)),
        ("score", Fit::Drop(1)),
    ]);
    for (i, c) in causes.iter().enumerate() {
        let label =
            if c.status == "finding" { terms_text(c) } else { format!("{} [{}]", terms_text(c), c.status) };
        table.add_row(vec![
            (i + 1).to_string(),
            label,
            c.step.clone().unwrap_or_else(|| "–".into()),
            pct(c.explanatory_power),
            format!("{} – {}", pct(c.contribution_interval[0]), pct(c.contribution_interval[1])),
            signed_pct(c.change_inside),
            signed_pct(c.change_outside),
            pct(c.confidence),
            number(c.score),
        ]);
    }
    table.to_string()
}

fn causes_csv(causes: &[RootCause]) -> String {
    let rows: Vec<Vec<String>> = causes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.label(),
                c.step.clone().unwrap_or_default(),
                c.explanatory_power.to_string(),
                c.change_inside.to_string(),
                c.change_outside.to_string(),
                c.confidence.to_string(),
                c.score.to_string(),
            ]
        })
        .collect();
    output::csv(
        &[
            "rank",
            "terms",
            "step",
            "explanatory_power",
            "change_inside",
            "change_outside",
            "confidence",
            "score",
        ],
        &rows,
    )
}

fn drill_text(d: &DrillDiagnosis) -> String {
    let volume = d.localised == "volume";
    // A volume is localised on the rows (a user-day's row stands for an active user).
    let rows = d.funnel_rows.as_str();
    let value = |v: f64| if volume { format!("{} {rows} a day", number(v)) } else { pct(v) };
    let headline =
        if volume { format!("{} (localised on the {rows} volume)", d.metric) } else { d.metric.clone() };
    let mut out = output::prose(&format!(
        "{}: {} → {} ({}, p = {}), baseline {} vs current {}",
        headline,
        value(d.baseline_value),
        value(d.current_value),
        signed_pct(d.change),
        p_value(Some(d.p_value)),
        d.baseline,
        d.current
    ));
    out.push_str("\n\n1. Data quality\n");
    for c in &d.checks {
        out.push_str(&output::prose(&format!("   [{}] {}: {}\n", c.status, c.name, c.detail)));
    }
    if volume {
        out.push_str(&format!(
            "\n2. Mix vs rate: not for a count ({} is one; the segments whose {rows} moved are localised below)\n",
            d.metric
        ));
    } else {
        out.push_str(&format!("\n2. Mix vs rate ({}, by dimension; most mix-driven first)\n", d.metric));
    }
    let mut mix = output::FitTable::new(&[
        ("dimension", Fit::Keep),
        ("mix effect", Fit::Keep),
        ("rate effect", Fit::Keep),
        ("largest mix move", Fit::Wrap),
    ]);
    for m in d.mix_vs_rate.iter().take(4) {
        mix.add_row(vec![
            m.dimension.clone(),
            format!("{:+.3} pp", m.mix_effect * 100.0),
            format!("{:+.3} pp", m.rate_effect * 100.0),
            format!("{} ({:+.1} pp share)", m.top_mix_segment, m.top_mix_share_change * 100.0),
        ]);
    }
    if !volume {
        out.push_str(&format!("{mix}\n"));
    }
    out.push_str("\n3. Funnel steps\n");
    let mut steps = output::table(&["step", "baseline", "current", "change", "p-value", "share of change"]);
    for s in &d.funnel {
        steps.add_row(vec![
            s.step.clone(),
            pct(s.baseline),
            pct(s.current),
            signed_pct(s.change),
            p_value(Some(s.p_value)),
            pct(s.share_of_change),
        ]);
    }
    out.push_str(&format!(
        "{steps}\n\n4. Root causes\n{}\n\n5. When it began\n{}\n\n{}\n{}\n\n{}\n",
        causes_table(&d.root_causes),
        output::prose(&format!("   {}", onset_text(d.onset.as_ref()))),
        output::prose(&format!("6. Change log (against {})", d.change_log.matched_against)),
        change_log_text(&d.change_log),
        output::prose(&format!("Verdict: {}", d.verdict))
    ));
    out
}

/// One line: when the change began.
pub fn onset_text(onset: Option<&Onset>) -> String {
    match onset {
        None => "no onset: the daily series shows no step in the direction of the change".into(),
        Some(o) if o.until.is_some() => format!(
            "the baseline was lifted: from {} (95% interval {} – {}) to {} the level was {} against {} on the other days (weekdays evened out), evidence {:.0} (2·LLR) — the current window is back at the usual level",
            o.date,
            o.interval[0],
            o.interval[1],
            o.until.map(|d| d.to_string()).unwrap_or_default(),
            pct(o.level_after),
            pct(o.level_before),
            o.evidence
        ),
        Some(o) => format!(
            "onset {} (95% interval {} – {}): level {} → {} of its reference{}, evidence {:.0} (2·LLR)",
            o.date,
            o.interval[0],
            o.interval[1],
            pct(o.level_before),
            pct(o.level_after),
            if o.new_segment { " (new segment: before taken as its reference)" } else { "" },
            o.evidence
        ),
    }
}

fn change_log_text(log: &ChangeLog) -> String {
    if log.events.is_empty() {
        return "   no logged changes".into();
    }
    let mut table = output::FitTable::new(&[
        ("#", Fit::Keep),
        ("time", Fit::Keep),
        ("change", Fit::Wrap),
        ("scope", Fit::Wrap),
        ("scope match", Fit::Drop(2)),
        ("time match", Fit::Drop(1)),
        ("score", Fit::Keep),
    ]);
    for (i, e) in log.events.iter().enumerate() {
        table.add_row(vec![
            (i + 1).to_string(),
            e.event.time.clone(),
            e.event.description.clone(),
            e.event.scope_label(),
            e.scope_match.clone(),
            match e.days_from_onset {
                Some(d) if d != 0 => format!("{} ({d:+} d)", e.time_match),
                _ => e.time_match.clone(),
            },
            format!("{:.2}", e.score),
        ]);
    }
    format!("{table}\n{}", output::prose(&format!("Change log: {}", log.verdict)))
}
