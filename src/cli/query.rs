//! `dropcase query compare|trend|funnel`: flags, and rendering the results as tables, CSV
//! or JSON. The shared `--data`/`--schema` and `--format`/`--color` flags live here too.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use comfy_table::{Cell, Table};

use super::emit;
use crate::brief::Window;
use crate::dataset::Dataset;
use crate::output::{self, ColorChoice, Fit, FitTable, Format};
use crate::query::compare::OTHER;
use crate::query::{
    CompareSpec, Comparison, Filter, Funnel, FunnelSpec, Grain, Kind, Metric, SegmentChange, Trend,
    TrendSpec, compare_segments, funnel, trend,
};

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A drill folder, a Parquet or CSV file, or a folder of date=YYYY-MM-DD/ Parquet
    /// partitions [default: the current drill]
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// TOML file mapping your column names onto dropcase's (timestamp, date, user_id,
    /// dimensions, [funnel] flags, revenue)
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// A cube (`dropcase cube --out`, or the result of `dropcase cube --sql` saved as
    /// Parquet or CSV) to answer from instead of rows
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "schema"])]
    pub cube: Option<PathBuf>,
    /// A Spark Connect server (sc://HOST:PORT) that builds the cube over --data PATH (a
    /// path the server can read) or --table NAME; the answer is then computed from it
    #[arg(long, value_name = "sc://HOST:PORT", conflicts_with = "cube")]
    pub engine: Option<String>,
    /// With --engine: the table (or view) of one row per session the server reads
    #[arg(long, value_name = "NAME", requires = "engine", conflicts_with = "data")]
    pub table: Option<String>,
}

impl SourceArgs {
    pub fn open(&self) -> anyhow::Result<Dataset> {
        self.open_at(crate::cube::Time::Days)
    }

    /// Opens the data; through `--engine`, as a cube cut by `time`.
    pub fn open_at(&self, time: crate::cube::Time) -> anyhow::Result<Dataset> {
        match &self.engine {
            Some(url) => crate::cube::spark::open(
                url,
                self.data.as_deref(),
                self.table.as_deref(),
                self.schema.as_deref(),
                time,
            ),
            None => Dataset::open_any(self.data.as_deref(), self.schema.as_deref(), self.cube.as_deref()),
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Colour changes red/green
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// Segment filters and windows shared by compare and funnel.
#[derive(Debug, Clone, Args)]
pub struct SliceArgs {
    /// Keep only matching sessions: dim=v, dim!=v, dim=a|b, comma-separated (repeatable)
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Baseline window FROM..TO (inclusive dates) [default: the drill's brief]
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    pub baseline: Option<Window>,
    /// Current window FROM..TO (inclusive dates) [default: the drill's brief]
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    pub current: Option<Window>,
}

pub(crate) fn parse_window(text: &str) -> Result<Window, String> {
    Window::parse(text).map_err(|e| format!("{e:#}"))
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(subcommand)]
    pub command: QueryCommand,
}

#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Per-segment before/after: change, traffic share, mix vs rate effect, p-value
    Compare(CompareArgs),
    /// A metric's series per hour, day or week, per segment
    Trend(TrendArgs),
    /// Step counts and step rates in both windows, their changes and p-values
    Funnel(FunnelArgs),
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Dimensions to cut by, comma-separated (at most a few)
    #[arg(long, value_delimiter = ',', value_name = "DIM[,DIM2]")]
    pub by: Vec<String>,
    /// Metric to compare (see `dropcase metrics`) [default: the brief's metric, else the product's widest funnel rate, the shop's conversion]
    #[arg(long)]
    pub metric: Option<String>,
    #[command(flatten)]
    pub slice: SliceArgs,
    /// Show the N segments that contribute most; the rest fold into one "(other)" row
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub plot: super::plot::PlotArgs,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Metric to follow (see `dropcase metrics`)
    #[arg(long)]
    pub metric: String,
    /// Dimension to split the series by
    #[arg(long, value_delimiter = ',', value_name = "DIM")]
    pub by: Vec<String>,
    #[arg(long, value_enum, default_value_t = Grain::Day)]
    pub grain: Grain,
    /// Keep only matching sessions: dim=v, dim!=v, dim=a|b, comma-separated (repeatable)
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Only dates FROM..TO [default: all of the data]
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    pub window: Option<Window>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub plot: super::plot::PlotArgs,
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// Dimension(s) to split the funnel by, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "DIM")]
    pub by: Vec<String>,
    #[command(flatten)]
    pub slice: SliceArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub plot: super::plot::PlotArgs,
}

pub fn run(args: QueryArgs) -> anyhow::Result<()> {
    match args.command {
        QueryCommand::Compare(args) => run_compare(args),
        QueryCommand::Trend(args) => run_trend(args),
        QueryCommand::Funnel(args) => run_funnel(args),
    }
}

/// Windows from the flags, the brief, or (own data) the last week against the one before,
/// saying so on stderr in the last case.
fn windows(ds: &Dataset, slice: &SliceArgs) -> anyhow::Result<(Window, Window)> {
    let (baseline, current) = ds.windows(slice.baseline, slice.current)?;
    if ds.brief.is_none() && ds.cube.is_none() && (slice.baseline.is_none() || slice.current.is_none()) {
        eprintln!("windows: baseline {baseline}, current {current} (choose with --baseline/--current)");
    }
    Ok((baseline, current))
}

fn run_compare(args: CompareArgs) -> anyhow::Result<()> {
    let filter = Filter::parse_all(&args.slice.filter)?;
    let ds = args.source.open()?;
    let name = args
        .metric
        .clone()
        .or_else(|| ds.brief.as_ref().map(|b| b.metric.clone()))
        // No brief (own data, a cube): the product's widest funnel rate, as diagnose reads.
        .unwrap_or_else(|| {
            crate::diagnose::drill::Funnel::of(ds.product).default_metric(ds.product, None).name
        });
    let metric = Metric::find_in(ds.metrics(), &name)?;
    let (baseline, current) = windows(&ds, &args.slice)?;
    let spec = CompareSpec { metric, by: args.by, filter, baseline, current, top: args.top };
    let comparison = compare_segments(&ds, &spec)?;
    args.plot.write(|| super::query_plot::comparison_chart(&comparison, metric))?;
    emit(&render_comparison(&comparison, metric, args.output.format, args.output.color.enabled()))
}

fn run_trend(args: TrendArgs) -> anyhow::Result<()> {
    let filter = Filter::parse_all(&args.filter)?;
    let time = if args.grain == Grain::Hour { crate::cube::Time::Hours } else { crate::cube::Time::Days };
    let ds = args.source.open_at(time)?;
    let metric = Metric::find_in(ds.metrics(), &args.metric)?;
    let spec = TrendSpec { metric, by: args.by, filter, grain: args.grain, window: args.window };
    let trend = trend(&ds, &spec)?;
    let marker = revealed_start(&ds);
    args.plot.write(|| super::query_plot::trend_chart(&trend, metric, ds.brief.as_ref(), marker))?;
    emit(&render_trend(&trend, metric, args.output.format))
}

fn run_funnel(args: FunnelArgs) -> anyhow::Result<()> {
    let filter = Filter::parse_all(&args.slice.filter)?;
    let ds = args.source.open()?;
    let (baseline, current) = windows(&ds, &args.slice)?;
    let spec = FunnelSpec { by: args.by, filter, baseline, current };
    let funnel = funnel(&ds, &spec)?;
    args.plot.write(|| super::query_plot::funnel_chart(&funnel))?;
    emit(&render_funnel(&funnel, args.output.format, args.output.color.enabled()))
}

/// When the cause began, if the dataset is a drill whose truth has been revealed.
fn revealed_start(ds: &Dataset) -> Option<chrono::NaiveDateTime> {
    ds.brief.as_ref()?;
    let drill = crate::drill::Drill::open(Some(&ds.origin)).ok()?;
    if !drill.progress().ok()?.revealed {
        return None;
    }
    drill.truth().ok().map(|t| t.start_time)
}

/// How a metric's values and changes read: rates as percentages and points.
#[derive(Clone, Copy)]
struct Style {
    proportion: bool,
    count: bool,
}

impl Style {
    fn of(metric: &Metric) -> Self {
        Self {
            proportion: metric.is_proportion(),
            count: matches!(metric.kind, Kind::Count | Kind::ActiveUsers),
        }
    }

    fn value(self, x: Option<f64>) -> String {
        match x {
            None => "–".into(),
            Some(x) if self.proportion => output::pct(x),
            Some(x) if self.count => output::thousands(x.max(0.0).round() as u64),
            Some(x) => output::number(x),
        }
    }

    fn change(self, x: Option<f64>) -> String {
        match x {
            None => "–".into(),
            Some(x) if self.proportion && x.abs() < 5e-5 => "0.00pp".into(),
            Some(x) if self.proportion => format!("{:+.2}pp", x * 100.0),
            Some(x) if x.abs() < 5e-9 => "0".into(),
            Some(x) => signed_number(x),
        }
    }
}

fn signed_number(x: f64) -> String {
    let text = output::number(x);
    if x > 0.0 && x.is_finite() { format!("+{text}") } else { text }
}

/// A percentage that never reads "-0.00%" (a rounding-level negative).
fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| output::pct(if x.abs() < 5e-7 { 0.0 } else { x }))
}

fn signed_opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), output::signed_pct)
}

/// A CSV field: full precision, empty when missing.
fn field(x: Option<f64>) -> String {
    x.map(|x| x.to_string()).unwrap_or_default()
}

fn with_dims<'a>(by: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut header: Vec<&str> = by.iter().map(String::as_str).collect();
    header.extend_from_slice(rest);
    header
}

const COMPARE_FIELDS: [&str; 14] = [
    "baseline_value",
    "current_value",
    "abs_change",
    "rel_change",
    "baseline_n",
    "current_n",
    "baseline_share",
    "current_share",
    "mix_effect",
    "rate_effect",
    "contribution",
    "p_value",
    "new_segment",
    "baseline_reference",
];

pub fn render_comparison(c: &Comparison, metric: &Metric, format: Format, color: bool) -> String {
    match format {
        Format::Json => output::json(c),
        Format::Csv => {
            let header = with_dims(&c.by, &COMPARE_FIELDS);
            let csv_row = |r: &SegmentChange, dims: Vec<String>| {
                let mut row = dims;
                row.extend([
                    field(r.baseline_value),
                    field(r.current_value),
                    field(r.abs_change),
                    field(r.rel_change),
                    r.baseline_n.to_string(),
                    r.current_n.to_string(),
                    field(r.baseline_share),
                    field(r.current_share),
                    field(r.mix_effect),
                    field(r.rate_effect),
                    field(r.contribution),
                    field(r.p_value),
                    r.new_segment.to_string(),
                    field(r.baseline_reference.as_ref().and_then(|p| p.value)),
                ]);
                row
            };
            // Without --by the one segment is the total: print it once.
            let segments: &[SegmentChange] = if c.by.is_empty() { &[] } else { &c.segments };
            let mut rows: Vec<Vec<String>> =
                segments.iter().map(|r| csv_row(r, r.segment.values().map(String::from).collect())).collect();
            rows.push(csv_row(&c.total, c.by.iter().map(|_| "(total)".to_string()).collect()));
            output::csv(&header, &rows)
        }
        Format::Table => {
            let style = Style::of(metric);
            let dims: Vec<&str> =
                if c.by.is_empty() { vec!["segment"] } else { c.by.iter().map(String::as_str).collect() };
            // Left out first when the terminal is narrow: the sizes and shares, the absolute
            // change, the share of the change, then the relative change; the values, the
            // mix/rate split and the p-value stay.
            let mut columns: Vec<(&str, Fit)> = dims.iter().map(|d| (*d, Fit::Keep)).collect();
            columns.extend([
                ("baseline", Fit::Keep),
                ("current", Fit::Keep),
                ("change", Fit::Drop(5)),
                ("abs", Fit::Drop(3)),
                ("n base → cur", Fit::Drop(2)),
                ("share base → cur", Fit::Drop(1)),
                ("mix", Fit::Keep),
                ("rate", Fit::Keep),
                ("contrib", Fit::Drop(4)),
                ("p", Fit::Keep),
            ]);
            let mut table = FitTable::new(&columns);
            let mut add = |r: &SegmentChange, labels: Vec<String>| {
                let mut cells: Vec<Cell> = labels.into_iter().map(Cell::new).collect();
                // A new segment's baseline is its parent's, shown in brackets.
                let baseline = match &r.baseline_reference {
                    Some(reference) => format!("({})", style.value(reference.value)),
                    None => style.value(r.baseline_value),
                };
                cells.extend([
                    Cell::new(baseline),
                    Cell::new(style.value(r.current_value)),
                    output::change_cell(signed_opt_pct(r.rel_change), r.rel_change.unwrap_or(0.0), color),
                    Cell::new(style.change(r.abs_change)),
                    Cell::new(format!(
                        "{} → {}",
                        output::thousands(r.baseline_n),
                        output::thousands(r.current_n)
                    )),
                    Cell::new(format!("{} → {}", opt_pct(r.baseline_share), opt_pct(r.current_share))),
                    Cell::new(style.change(r.mix_effect)),
                    Cell::new(style.change(r.rate_effect)),
                    Cell::new(opt_pct(r.contribution)),
                    Cell::new(output::p_value(r.p_value)),
                ]);
                table.add_row(cells);
            };
            // Without --by the one segment is the whole population: the total row says it all.
            let segments: &[SegmentChange] = if c.by.is_empty() { &[] } else { &c.segments };
            let mut parents = Vec::new();
            for r in segments {
                let kept = r.baseline_reference.as_ref().map(|p| &p.segment);
                let labels = r.segment.0.iter().map(|(dim, v)| {
                    let text = match v.as_deref() {
                        None | Some("") => "(none)".to_string(),
                        Some(v) => v.to_string(),
                    };
                    // The values the parent drops are the new ones.
                    let new = kept.is_some_and(|k| !k.0.iter().any(|(d, _)| d == dim));
                    if new { format!("{text} (new)") } else { text }
                });
                add(r, labels.collect());
                if let Some(reference) = &r.baseline_reference {
                    // Named by its new values: "7.4.0 against platform=ios".
                    let new_values: Vec<&str> = r
                        .segment
                        .0
                        .iter()
                        .filter(|(d, _)| !reference.segment.0.iter().any(|(k, _)| k == d))
                        .map(|(_, v)| v.as_deref().unwrap_or("(none)"))
                        .collect();
                    parents.push(format!(
                        "{} against {}",
                        new_values.join(" "),
                        parent_text(&reference.segment)
                    ));
                }
            }
            let mut total_labels = vec!["total".to_string()];
            total_labels.resize(dims.len(), String::new());
            add(&c.total, total_labels);
            let by = if c.by.is_empty() { String::new() } else { format!(" by {}", c.by.join(", ")) };
            let title =
                output::prose(&format!("{}{by}: baseline {} → current {}", c.metric, c.baseline, c.current));
            let mut out = format!("{title}\n{table}\n");
            let mut notes = String::new();
            if !parents.is_empty() {
                notes.push_str(&format!(
                    "(new): no baseline sessions; its change, rate and p are against its parent's baseline, in brackets: {}.\n",
                    parents.join(", ")
                ));
            }
            if segments.iter().any(|r| r.segment.values().any(|v| v == OTHER)) {
                notes.push_str("(other) sums the segments beyond --top.\n");
            }
            if c.total.mix_effect.is_some() && !segments.is_empty() {
                notes.push_str("mix + rate of the segments sum to the total change; contrib is each segment's share of it.\n");
            }
            out.push_str(&output::prose(&notes));
            out
        }
    }
}

/// `platform=android,app_version=5.2.0`, as `--where` writes it.
fn segment_text(segment: &crate::query::Segment) -> String {
    let terms: Vec<String> =
        segment.0.iter().map(|(d, v)| format!("{d}={}", v.as_deref().unwrap_or("(none)"))).collect();
    terms.join(",")
}

/// A parent segment, or the whole population when it has no terms.
fn parent_text(segment: &crate::query::Segment) -> String {
    if segment.0.is_empty() { "the whole baseline".into() } else { segment_text(segment) }
}

pub fn render_trend(t: &Trend, metric: &Metric, format: Format) -> String {
    match format {
        Format::Json => output::json(t),
        Format::Csv | Format::Table => {
            let mut header = vec!["period"];
            header.extend(t.by.iter().map(String::as_str));
            header.extend(["value", "n"]);
            let style = Style::of(metric);
            let rows: Vec<Vec<String>> = t
                .points
                .iter()
                .map(|p| {
                    let mut row = vec![p.period.clone()];
                    row.extend(p.segment.values().map(String::from));
                    if format == Format::Csv {
                        row.extend([field(p.value), p.n.to_string()]);
                    } else {
                        row.extend([style.value(p.value), output::thousands(p.n)]);
                    }
                    row
                })
                .collect();
            if format == Format::Csv {
                return output::csv(&header, &rows);
            }
            let mut table = output::table(&header);
            for row in rows {
                table.add_row(row);
            }
            // Only the grain's name is lowercased: the rows hold the data's own spelling
            // (`Chrome`, `US`, `2026-01-26T00:00`).
            format!("{} per {}\n{table}\n", t.metric, format!("{:?}", t.grain).to_lowercase())
        }
    }
}

const FUNNEL_FIELDS: [&str; 9] = [
    "step",
    "baseline_count",
    "current_count",
    "count_change",
    "baseline_rate",
    "current_rate",
    "abs_change",
    "rel_change",
    "p_value",
];

pub fn render_funnel(f: &Funnel, format: Format, color: bool) -> String {
    match format {
        Format::Json => output::json(f),
        Format::Csv => {
            let rows: Vec<Vec<String>> = f
                .steps
                .iter()
                .map(|s| {
                    let mut row: Vec<String> = s.segment.values().map(String::from).collect();
                    row.extend([
                        s.step.to_string(),
                        s.baseline_count.to_string(),
                        s.current_count.to_string(),
                        field(s.count_change),
                        field(s.baseline_rate),
                        field(s.current_rate),
                        field(s.abs_change),
                        field(s.rel_change),
                        field(s.p_value),
                    ]);
                    row
                })
                .collect();
            output::csv(&with_dims(&f.by, &FUNNEL_FIELDS), &rows)
        }
        Format::Table => {
            // Narrow terminals lose the count change, the relative rate change and then the
            // counts; the step rates, their change and the p-value stay.
            let mut columns: Vec<(&str, Fit)> = f.by.iter().map(|d| (d.as_str(), Fit::Keep)).collect();
            columns.extend([
                ("step", Fit::Keep),
                ("baseline", Fit::Drop(3)),
                ("current", Fit::Drop(4)),
                ("count Δ", Fit::Drop(1)),
                ("rate base", Fit::Keep),
                ("rate cur", Fit::Keep),
                ("rate Δ", Fit::Keep),
                ("rel", Fit::Drop(2)),
                ("p", Fit::Keep),
            ]);
            let mut table = FitTable::new(&columns);
            let rates = Style { proportion: true, count: false };
            for s in &f.steps {
                let mut cells: Vec<Cell> = s.segment.values().map(Cell::new).collect();
                cells.extend([
                    Cell::new(s.step),
                    Cell::new(output::thousands(s.baseline_count)),
                    Cell::new(output::thousands(s.current_count)),
                    Cell::new(signed_opt_pct(s.count_change)),
                    Cell::new(rates.value(s.baseline_rate)),
                    Cell::new(rates.value(s.current_rate)),
                    Cell::new(rates.change(s.abs_change)),
                    output::change_cell(signed_opt_pct(s.rel_change), s.rel_change.unwrap_or(0.0), color),
                    Cell::new(output::p_value(s.p_value)),
                ]);
                table.add_row(cells);
            }
            let title = output::prose(&format!(
                "funnel: baseline {} → current {} (rate = share of the previous step)",
                f.baseline, f.current
            ));
            format!("{title}\n{table}\n")
        }
    }
}

/// A table of already formatted rows (for callers that build their own).
pub fn plain_table(header: &[&str], rows: Vec<Vec<String>>) -> Table {
    let mut table = output::table(header);
    for row in rows {
        table.add_row(row);
    }
    table
}
