//! `dropcase ab ...`: judge an experiment from numbers typed at the prompt. Each subcommand
//! parses its flags into validated `stats` inputs, calls one `stats` function and renders
//! the result struct as a table (ending in one plain sentence), CSV or JSON.

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::ab_data::{Arms, load_arms};
use super::plot::PlotArgs;
use crate::output::{self, Format, p_value, signed_pct, table, thousands};
use crate::stats::adjust::{AdjustMethod, adjust_p_values};
use crate::stats::bayes::beta_binomial;
use crate::stats::bootstrap::{Statistic, bootstrap_ci};
use crate::stats::cuped::cuped;
use crate::stats::error::{MAX_ABS, MAX_COUNT};
use crate::stats::means::{Summary, welch_test};
use crate::stats::moments::{Bivariate, Sums};
use crate::stats::power::{Design, Plan, PowerResult};
use crate::stats::proportion::{CiMethod, Counts, proportion_ci, two_proportion_test};
use crate::stats::ratio::ratio_test;
use crate::stats::sequential::{SequentialTest, sequential_means, sequential_proportions};
use crate::stats::srm::{MIN_EXPECTED_COUNT, srm_test};
use crate::stats::{Alternative, Interval, StatsError};

#[derive(Debug, Args)]
pub struct AbArgs {
    #[command(subcommand)]
    command: AbCommand,
}

#[derive(Debug, Subcommand)]
enum AbCommand {
    /// Compare two conversion rates: z-test, intervals of the difference and the lift, chi-square.
    Test(TestArgs),
    /// Confidence interval of one conversion rate.
    Ci(CiArgs),
    /// Compare two means with Welch's t-test, from summaries (mean,sd,n) or --data.
    Means(MeansArgs),
    /// Compare a ratio metric (revenue per session, randomised by user) by the delta method.
    Ratio(RatioArgs),
    /// Check the split of users between arms for a sample-ratio mismatch.
    Srm(SrmArgs),
    /// Sample size per arm, power (with --n) or minimum detectable effect (--n without --mde).
    Size(SizeArgs),
    /// Adjust p-values for multiple comparisons (results in input order).
    Adjust(AdjustArgs),
    /// Sequential test (mSPRT) that stays valid however often you peek.
    Seq(SeqArgs),
    /// CUPED: reduce variance with a pre-period covariate, from per-arm sums or --data.
    Cuped(CupedArgs),
    /// Bayesian beta-binomial: chance to beat control, expected loss, credible intervals.
    Bayes(BayesArgs),
    /// Seeded percentile bootstrap interval of a metric on raw data (--data).
    Bootstrap(BootstrapArgs),
    /// The whole readout of an experiment: SRM first, the plan, every metric, guardrails.
    Analyze(super::ab_experiment::AnalyzeArgs),
    /// Daily and cumulative lift with intervals (novelty, primacy, peeking).
    Daily(super::ab_experiment::DailyArgs),
    /// Per-segment effects with Holm-adjusted p-values.
    Segments(super::ab_experiment::SegmentsArgs),
}

/// Raw data instead of typed-in numbers: one row per randomised unit.
#[derive(Debug, Args)]
struct DataArgs {
    /// CSV or Parquet file with one row per randomised unit (user).
    #[arg(long, requires = "variant")]
    data: Option<PathBuf>,
    /// Column naming each row's arm (exactly two values).
    #[arg(long, requires = "data")]
    variant: Option<String>,
    /// Value of --variant that marks control [default: "control", else the first sorted].
    #[arg(long, requires = "data")]
    control_label: Option<String>,
}

impl DataArgs {
    /// Each arm's sums of two per-unit values: from the data's `columns`, or as typed in
    /// `--control` and `--treatment` (in the form `form`).
    fn paired_sums(
        &self,
        columns: &[(&str, Option<&String>)],
        (control, treatment): (&Option<String>, &Option<String>),
        form: &str,
    ) -> Result<(Bivariate, Bivariate, Option<ArmLabels>)> {
        Ok(match self.load(columns)? {
            Some(arms) => (
                Bivariate::from_values("--data (control)", &arms.control[0], &arms.control[1])
                    .map_err(flag_error)?,
                Bivariate::from_values("--data (treatment)", &arms.treatment[0], &arms.treatment[1])
                    .map_err(flag_error)?,
                Some(labels_of(&arms)),
            ),
            None => (
                parse_sums("--control", typed(control), form)?,
                parse_sums("--treatment", typed(treatment), form)?,
                None,
            ),
        })
    }

    /// Loads the named columns, each paired with its flag; `None` when no --data was given.
    fn load(&self, columns: &[(&str, Option<&String>)]) -> Result<Option<Arms>> {
        let Some(path) = &self.data else { return Ok(None) };
        let variant = self.variant.as_deref().expect("clap requires --variant with --data");
        let mut named = Vec::new();
        for (flag, column) in columns {
            match column {
                Some(column) => named.push((*flag, column.as_str())),
                None => bail!("{flag}: name the column to use from {}", path.display()),
            }
        }
        load_arms(path, variant, &named, self.control_label.as_deref()).map(Some)
    }
}

/// Which rows of the data file formed each arm.
#[derive(Debug, Serialize)]
struct ArmLabels {
    control: String,
    treatment: String,
}

/// A result with, for raw data, the variant values that formed each arm.
#[derive(Serialize)]
struct Labelled<'a, T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    arms: Option<&'a ArmLabels>,
    #[serde(flatten)]
    result: &'a T,
}

fn labels_of(arms: &Arms) -> ArmLabels {
    ArmLabels { control: arms.control_label.clone(), treatment: arms.treatment_label.clone() }
}

/// Puts an "arms" row first when the numbers came from a file.
fn with_arms_row(labels: Option<&ArmLabels>, mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    if let Some(l) = labels {
        rows.insert(
            0,
            row("arms (--variant)", format!("control = {}, treatment = {}", l.control, l.treatment)),
        );
    }
    rows
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatisticArg {
    DiffMeans,
    Lift,
    DiffMedians,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AlternativeArg {
    TwoSided,
    Greater,
    Less,
}

impl From<AlternativeArg> for Alternative {
    fn from(value: AlternativeArg) -> Self {
        match value {
            AlternativeArg::TwoSided => Alternative::TwoSided,
            AlternativeArg::Greater => Alternative::Greater,
            AlternativeArg::Less => Alternative::Less,
        }
    }
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Control conversions/users, e.g. 200/10000.
    #[arg(long, allow_hyphen_values = true)]
    control: String,
    /// Treatment conversions/users, e.g. 250/10000.
    #[arg(long, allow_hyphen_values = true)]
    treatment: String,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Alternative hypothesis about treatment − control.
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    alternative: AlternativeArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CiMethodArg {
    Wilson,
    AgrestiCoull,
    ClopperPearson,
    Jeffreys,
    Wald,
}

#[derive(Debug, Args)]
struct CiArgs {
    /// Conversions/users, e.g. 0/10.
    #[arg(long, allow_hyphen_values = true)]
    count: String,
    #[arg(long, value_enum, default_value_t = CiMethodArg::Wilson)]
    method: CiMethodArg,
    /// 1 − confidence level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct MeansArgs {
    /// Control summary mean,sd,n (sample sd, ddof 1), e.g. 10.0,25.0,5000.
    #[arg(long, allow_hyphen_values = true, required_unless_present = "data", conflicts_with = "data")]
    control: Option<String>,
    /// Treatment summary mean,sd,n.
    #[arg(long, allow_hyphen_values = true, required_unless_present = "data", conflicts_with = "data")]
    treatment: Option<String>,
    #[command(flatten)]
    source: DataArgs,
    /// With --data: the metric column.
    #[arg(long, requires = "data")]
    value: Option<String>,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    alternative: AlternativeArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct RatioArgs {
    /// Control sums per user n,Σx,Σy,Σx²,Σy²,Σxy (x numerator, y denominator).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "data", conflicts_with = "data")]
    control: Option<String>,
    /// Treatment sums, same order.
    #[arg(long, allow_hyphen_values = true, required_unless_present = "data", conflicts_with = "data")]
    treatment: Option<String>,
    #[command(flatten)]
    source: DataArgs,
    /// With --data: the numerator column (e.g. revenue).
    #[arg(long, requires = "data")]
    numerator: Option<String>,
    /// With --data: the denominator column (e.g. sessions).
    #[arg(long, requires = "data")]
    denominator: Option<String>,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    alternative: AlternativeArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct SrmArgs {
    /// Users per arm, e.g. 50214,48903 (2 or more arms).
    #[arg(long, allow_hyphen_values = true)]
    counts: String,
    /// Planned split, e.g. 50,50 (any scale; equal when omitted).
    #[arg(long)]
    weights: Option<String>,
    /// Significance level; SRM checks use a strict 0.001.
    #[arg(long, default_value_t = 0.001)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    plot: PlotArgs,
}

#[derive(Debug, Args)]
struct SizeArgs {
    /// Baseline conversion rate (or baseline mean with --sd).
    #[arg(long)]
    baseline: f64,
    /// Effect to detect: "5%" is relative to the baseline, "0.0025" absolute.
    #[arg(long, allow_hyphen_values = true)]
    mde: Option<String>,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Target power [default: 0.8].
    #[arg(long)]
    power: Option<f64>,
    /// Users per arm: with --mde gives the power, without it the MDE.
    #[arg(long)]
    n: Option<u64>,
    /// 1 or 2 tails.
    #[arg(long, default_value_t = 2)]
    sides: u8,
    /// Standard deviation of a per-user metric: plans a comparison of means.
    #[arg(long)]
    sd: Option<f64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AdjustMethodArg {
    Bonferroni,
    Holm,
    Bh,
}

#[derive(Debug, Args)]
struct AdjustArgs {
    #[arg(long, value_enum)]
    method: AdjustMethodArg,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The p-values, e.g. 0.01 0.04 0.03.
    #[arg(required = true, num_args = 1..)]
    p_values: Vec<f64>,
}

#[derive(Debug, Args)]
struct SeqArgs {
    /// Control so far: conversions/users (200/10000) or mean,sd,n.
    #[arg(long, allow_hyphen_values = true)]
    control: String,
    /// Treatment so far, same form.
    #[arg(long, allow_hyphen_values = true)]
    treatment: String,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Users per arm where the boundary is tightest: set it to the planned size before
    /// the experiment starts, never from the data.
    #[arg(long, default_value_t = 10_000)]
    tuning_n: u64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct CupedArgs {
    /// Control sums n,Σy,Σx,Σy²,Σx²,Σxy (y the metric, x the pre-period covariate).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "data", conflicts_with = "data")]
    control: Option<String>,
    /// Treatment sums, same order.
    #[arg(long, allow_hyphen_values = true, required_unless_present = "data", conflicts_with = "data")]
    treatment: Option<String>,
    #[command(flatten)]
    source: DataArgs,
    /// With --data: the metric column.
    #[arg(long, requires = "data")]
    value: Option<String>,
    /// With --data: the pre-period covariate column.
    #[arg(long, requires = "data")]
    covariate: Option<String>,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    alternative: AlternativeArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct BayesArgs {
    /// Control conversions/users.
    #[arg(long, allow_hyphen_values = true)]
    control: String,
    /// Treatment conversions/users.
    #[arg(long, allow_hyphen_values = true)]
    treatment: String,
    /// Beta prior a,b on both rates.
    #[arg(long, default_value = "1,1")]
    prior: String,
    /// 1 − credible level of the intervals.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct BootstrapArgs {
    #[command(flatten)]
    source: DataArgs,
    /// The metric column.
    #[arg(long)]
    value: String,
    #[arg(long, value_enum, default_value_t = StatisticArg::DiffMeans)]
    statistic: StatisticArg,
    /// Resamples, 100 to 100000 (and resamples × users at most 100 million, about 10 s).
    #[arg(long, default_value_t = 2000, value_parser = parse_resamples)]
    resamples: usize,
    /// Random seed: the same seed gives the same interval.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: AbArgs) -> Result<()> {
    let text = match args.command {
        AbCommand::Test(a) => test(a),
        AbCommand::Ci(a) => ci(a),
        AbCommand::Means(a) => means(a),
        AbCommand::Ratio(a) => ratio(a),
        AbCommand::Srm(a) => srm(a),
        AbCommand::Size(a) => size(a),
        AbCommand::Adjust(a) => adjust(a),
        AbCommand::Seq(a) => seq(a),
        AbCommand::Cuped(a) => cuped_command(a),
        AbCommand::Bayes(a) => bayes(a),
        AbCommand::Bootstrap(a) => bootstrap(a),
        AbCommand::Analyze(a) => super::ab_experiment::analyze(a),
        AbCommand::Daily(a) => super::ab_experiment::daily(a),
        AbCommand::Segments(a) => super::ab_experiment::segments(a),
    }?;
    super::emit(&text)
}

impl AbArgs {
    /// What the drill log records of this command (`super::record`): its kind, where its
    /// data came from, and the metrics and cuts it read.
    pub(super) fn log_parts(&self) -> super::record::AbParts {
        use super::record::{AbParts, Source};
        use crate::drill::command::AbKind;
        let typed_or_file = |source: &DataArgs| match &source.data {
            Some(path) => Source::Path(path.clone()),
            None => Source::Typed,
        };
        let folder = |data: &Option<PathBuf>| match data {
            Some(path) => Source::Path(path.clone()),
            None => Source::CurrentDrill,
        };
        let parts = |kind, source| AbParts { kind, source, metrics: Vec::new(), by: Vec::new() };
        match &self.command {
            AbCommand::Test(_) => parts(AbKind::Test, Source::Typed),
            AbCommand::Ci(_) => parts(AbKind::Ci, Source::Typed),
            AbCommand::Means(a) => parts(AbKind::Means, typed_or_file(&a.source)),
            AbCommand::Ratio(a) => parts(AbKind::Ratio, typed_or_file(&a.source)),
            AbCommand::Srm(_) => parts(AbKind::Srm, Source::Typed),
            AbCommand::Size(_) => parts(AbKind::Size, Source::Typed),
            AbCommand::Adjust(_) => parts(AbKind::Adjust, Source::Typed),
            AbCommand::Seq(_) => parts(AbKind::Seq, Source::Typed),
            AbCommand::Cuped(a) => parts(AbKind::Cuped, typed_or_file(&a.source)),
            AbCommand::Bayes(_) => parts(AbKind::Bayes, Source::Typed),
            AbCommand::Bootstrap(a) => parts(AbKind::Bootstrap, typed_or_file(&a.source)),
            AbCommand::Analyze(a) => AbParts {
                metrics: a.metrics.clone(),
                by: a.by.iter().cloned().collect(),
                ..parts(AbKind::Analyze, folder(&a.data))
            },
            AbCommand::Daily(a) => AbParts {
                metrics: a.metric.iter().cloned().collect(),
                ..parts(AbKind::Daily, folder(&a.data))
            },
            AbCommand::Segments(a) => AbParts {
                metrics: a.metric.iter().cloned().collect(),
                by: vec![a.by.clone()],
                ..parts(AbKind::Segments, folder(&a.data))
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing: every error names the flag and shows the expected form.

/// Library errors name the argument without dashes; the user typed a flag.
fn flag_error(err: StatsError) -> anyhow::Error {
    const FLAGS: [&str; 12] = [
        "alpha",
        "weights",
        "counts",
        "prior",
        "sides",
        "baseline",
        "mde",
        "power",
        "n",
        "sd",
        "tuning-n",
        "covariate",
    ];
    let text = err.to_string();
    let named = FLAGS.iter().any(|f| text.strip_prefix(f).is_some_and(|rest| rest.starts_with([':', ' '])));
    if named { anyhow!("--{text}") } else { anyhow!(text) }
}

fn parse_counts(flag: &'static str, text: &str) -> Result<Counts> {
    let form =
        || format!("{flag}: expected conversions/users as whole numbers, e.g. 200/10000, got '{text}'");
    let (x, n) = text.split_once('/').ok_or_else(|| anyhow!(form()))?;
    let parse = |s: &str| -> Result<u64> {
        let s = s.trim();
        if s.starts_with('-') {
            bail!("{flag}: counts cannot be negative, got '{text}'");
        }
        s.parse::<u64>().map_err(|_| anyhow!(form()))
    };
    Counts::new(flag, parse(x)?, parse(n)?).map_err(flag_error)
}

/// `--resamples`: a whole number in the range the bootstrap accepts, refused up front.
fn parse_resamples(text: &str) -> std::result::Result<usize, String> {
    use crate::stats::bootstrap::MAX_RESAMPLES;
    let allowed = format!("a whole number from 100 to {MAX_RESAMPLES}");
    match text.trim().parse::<u64>() {
        Ok(n) if (100..=MAX_RESAMPLES as u64).contains(&n) => Ok(n as usize),
        Ok(n) => Err(format!(
            "{n} resamples is outside {allowed}; more would take hours without moving the interval"
        )),
        Err(_) => Err(format!("expected {allowed}, got '{text}'")),
    }
}

/// Comma-separated whole numbers (users per arm), each at most [`MAX_COUNT`]; `1e308` and
/// `2.5` are not counts.
fn parse_whole_numbers(flag: &'static str, text: &str, form: &str) -> Result<Vec<u64>> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            if s.starts_with('-') {
                bail!("{flag}: counts cannot be negative, got '{s}' in '{text}'");
            }
            let value: u64 = s
                .parse()
                .map_err(|_| anyhow!("{flag}: '{s}' is not a whole number; expected {form}, got '{text}'"))?;
            if value > MAX_COUNT {
                bail!("{flag}: {value} is more than {MAX_COUNT} (10^12), the most users a count may hold");
            }
            Ok(value)
        })
        .collect()
}

fn parse_numbers(flag: &'static str, text: &str, expected: usize, form: &str) -> Result<Vec<f64>> {
    let values: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow!("{flag}: expected {form}, got '{text}'"))?;
    if expected > 0 && values.len() != expected {
        bail!("{flag}: expected {expected} numbers {form}, got {} in '{text}'", values.len());
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        bail!("{flag}: {bad} is not a finite number in '{text}'");
    }
    if let Some(bad) = values.iter().find(|v| v.abs() > MAX_ABS) {
        bail!(
            "{flag}: {bad:e} is beyond ±{MAX_ABS:e}, the largest magnitude a typed number may have, in '{text}'"
        );
    }
    Ok(values)
}

/// A whole, non-negative count written as a number.
fn whole(flag: &'static str, value: f64, what: &str) -> Result<u64> {
    if value < 0.0 || value.fract() != 0.0 {
        bail!("{flag}: {what} must be a whole number ≥ 0, got {value}");
    }
    if value > MAX_COUNT as f64 {
        bail!("{flag}: {what} must be at most {MAX_COUNT} (10^12), got {value:e}");
    }
    Ok(value as u64)
}

fn parse_summary(flag: &'static str, text: &str) -> Result<Summary> {
    let v = parse_numbers(flag, text, 3, "mean,sd,n (e.g. 10.0,25.0,5000)")?;
    Summary::new(flag, v[0], v[1], whole(flag, v[2], "n")?).map_err(flag_error)
}

fn parse_sums(flag: &'static str, text: &str, form: &str) -> Result<Bivariate> {
    let v = parse_numbers(flag, text, 6, form)?;
    let sums = Sums {
        n: whole(flag, v[0], "n")?,
        sum_x: v[1],
        sum_y: v[2],
        sum_x2: v[3],
        sum_y2: v[4],
        sum_xy: v[5],
    };
    Bivariate::from_sums(flag, sums).map_err(flag_error)
}

// ---------------------------------------------------------------------------------------
// Rendering.

/// Rows of (label, value), shown as a table with a closing sentence, as CSV, or the result
/// struct as JSON.
fn render<T: Serialize>(
    format: Format,
    result: &T,
    header: &[&str],
    rows: Vec<Vec<String>>,
    sentence: &str,
) -> String {
    match format {
        Format::Json => output::json(result),
        Format::Csv => output::csv(header, &rows),
        Format::Table => {
            let mut t = table(header);
            for row in rows {
                t.add_row(row);
            }
            format!("{t}\n{}", output::prose(sentence))
        }
    }
}

fn row(label: &str, value: String) -> Vec<String> {
    vec![label.to_string(), value]
}

/// 0.0525 → "5.25%".
fn rate(x: f64) -> String {
    output::pct(x)
}

/// A difference of rates in percentage points: 0.005 → "+0.50 pp".
fn pp(x: f64) -> String {
    if x.is_finite() { format!("{:+.2} pp", x * 100.0) } else { "–".into() }
}

/// A relative change with one decimal for sentences: 0.25 → "25.0%".
fn pct1(x: f64) -> String {
    if x.is_finite() { format!("{:.1}%", x * 100.0) } else { "∞".into() }
}

fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.4}") } else { "–".into() }
}

fn interval(ci: Interval, show: impl Fn(f64) -> String) -> String {
    let bound = |x: f64| {
        if x.is_finite() {
            show(x)
        } else if x > 0.0 {
            "+∞".into()
        } else {
            "−∞".into()
        }
    };
    format!("{} to {}", bound(ci.lower), bound(ci.upper))
}

/// An interval as the alternative tests it: both ends, or only the bound a one-sided test
/// uses ("≥ +0.16 pp").
fn tested_interval(ci: Interval, alternative: Alternative, show: impl Fn(f64) -> String) -> String {
    match alternative {
        Alternative::TwoSided => interval(ci, show),
        Alternative::Greater => format!("≥ {}", show(ci.lower)),
        Alternative::Less => format!("≤ {}", show(ci.upper)),
    }
}

fn level(alpha: f64) -> String {
    let pct = (1.0 - alpha) * 100.0;
    if (pct - pct.round()).abs() < 1e-9 { format!("{pct:.0}%") } else { format!("{pct}%") }
}

fn verdict(p: f64, alpha: f64, significant: bool) -> String {
    let signif = if significant { "significant" } else { "not significant" };
    format!("p = {}, {signif} at alpha {alpha}", p_value(Some(p)))
}

fn change_word(lift: f64, up: &str, down: &str) -> String {
    if lift > 0.0 {
        format!("{} {up}", pct1(lift))
    } else if lift < 0.0 {
        format!("{} {down}", pct1(-lift))
    } else {
        "no different".into()
    }
}

fn signed_pct1(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1}%", x * 100.0)
    } else if x > 0.0 {
        "+∞".into()
    } else {
        "−∞".into()
    }
}

// ---------------------------------------------------------------------------------------
// Commands.

fn test(a: TestArgs) -> Result<String> {
    let control = parse_counts("--control", &a.control)?;
    let treatment = parse_counts("--treatment", &a.treatment)?;
    let r = two_proportion_test(control, treatment, a.alpha, a.alternative.into()).map_err(flag_error)?;
    let lvl = level(a.alpha);
    let mut rows = vec![
        row(
            "control",
            format!("{} / {} = {}", thousands(control.x), thousands(control.n), rate(control.rate)),
        ),
        row(
            "treatment",
            format!("{} / {} = {}", thousands(treatment.x), thousands(treatment.n), rate(treatment.rate)),
        ),
        row("difference", pp(r.diff)),
        row(&format!("{lvl} CI (Wald)"), tested_interval(r.diff_ci, r.alternative, pp)),
        row(&format!("{lvl} CI (Newcombe)"), tested_interval(r.diff_ci_newcombe, r.alternative, pp)),
    ];
    push_lift_rows(&mut rows, r.lift.zip(r.lift_ci), &format!("{lvl} CI (delta method)"), r.alternative);
    rows.push(row("z (pooled)", format!("{:.3}", r.z)));
    rows.push(row(&format!("p-value ({})", r.alternative.as_str()), p_value(Some(r.p_value))));
    rows.push(row("chi-square", format!("{:.3} (p = {})", r.chi2, p_value(Some(r.chi2_p)))));
    rows.push(row(
        "chi-square, Yates",
        format!("{:.3} (p = {})", r.chi2_yates, p_value(Some(r.chi2_p_yates))),
    ));
    let sentence = change_sentence(
        ("Treatment converts", "better", "worse"),
        r.lift.zip(r.lift_ci),
        || {
            format!(
                "Control has no conversions, so there is no relative lift; treatment is {} ({lvl} CI {})",
                pp(r.diff),
                interval(r.diff_ci_newcombe, pp)
            )
        },
        (r.p_value, a.alpha, r.significant, r.alternative),
    );
    Ok(render(a.format, &r, &["", "value"], rows, &sentence))
}

/// The relative lift and its interval, when the control's value allows one.
fn push_lift_rows(
    rows: &mut Vec<Vec<String>>,
    lift: Option<(f64, Interval)>,
    ci_label: &str,
    alternative: Alternative,
) {
    if let Some((lift, ci)) = lift {
        rows.push(row("relative lift", signed_pct(lift)));
        rows.push(row(ci_label, tested_interval(ci, alternative, signed_pct)));
    }
}

/// The closing sentence of a two-arm test: `subject` moved by the lift (its interval in
/// words), or `otherwise` when there is no lift, then the verdict.
fn change_sentence(
    (subject, up, down): (&str, &str, &str),
    lift: Option<(f64, Interval)>,
    otherwise: impl FnOnce() -> String,
    (p, alpha, significant, alternative): (f64, f64, bool, Alternative),
) -> String {
    let head = match lift {
        Some((lift, ci)) => {
            format!("{subject} {} {}", change_word(lift, up, down), lift_ci_phrase(ci, alpha, alternative))
        }
        None => otherwise(),
    };
    format!("{head}; {}.", verdict(p, alpha, significant))
}

/// "(95% CI +2.0% to +48.0%)", or for a one-sided test "(95% lower bound +2.5%)".
fn lift_ci_phrase(ci: Interval, alpha: f64, alternative: Alternative) -> String {
    match alternative {
        Alternative::TwoSided => {
            format!("({} CI {} to {})", level(alpha), signed_pct1(ci.lower), signed_pct1(ci.upper))
        }
        Alternative::Greater => format!("({} lower bound {})", level(alpha), signed_pct1(ci.lower)),
        Alternative::Less => format!("({} upper bound {})", level(alpha), signed_pct1(ci.upper)),
    }
}

fn ci(a: CiArgs) -> Result<String> {
    let counts = parse_counts("--count", &a.count)?;
    let method = match a.method {
        CiMethodArg::Wilson => CiMethod::Wilson,
        CiMethodArg::AgrestiCoull => CiMethod::AgrestiCoull,
        CiMethodArg::ClopperPearson => CiMethod::ClopperPearson,
        CiMethodArg::Jeffreys => CiMethod::Jeffreys,
        CiMethodArg::Wald => CiMethod::Wald,
    };
    let r = proportion_ci(counts, a.alpha, method).map_err(flag_error)?;
    let rows = vec![
        row("conversions", format!("{} / {}", thousands(r.x), thousands(r.n))),
        row("estimate", rate(r.estimate)),
        row(&format!("{} CI ({})", level(a.alpha), method.as_str()), interval(r.ci, rate)),
    ];
    let sentence = format!(
        "{} of {} converted ({}); the {} {} interval runs from {} to {}.",
        thousands(r.x),
        thousands(r.n),
        pct1(r.estimate),
        level(a.alpha),
        method.as_str(),
        pct1(r.ci.lower),
        pct1(r.ci.upper)
    );
    Ok(render(a.format, &r, &["", "value"], rows, &sentence))
}

/// A typed-in flag value; clap guarantees it when --data is absent.
fn typed(value: &Option<String>) -> &str {
    value.as_deref().expect("clap requires the flag without --data")
}

fn means(a: MeansArgs) -> Result<String> {
    let (control, treatment, labels) = match a.source.load(&[("--value", a.value.as_ref())])? {
        Some(arms) => (
            Summary::from_values("--value (control)", &arms.control[0]).map_err(flag_error)?,
            Summary::from_values("--value (treatment)", &arms.treatment[0]).map_err(flag_error)?,
            Some(labels_of(&arms)),
        ),
        None => (
            parse_summary("--control", typed(&a.control))?,
            parse_summary("--treatment", typed(&a.treatment))?,
            None,
        ),
    };
    let r = welch_test(control, treatment, a.alpha, a.alternative.into()).map_err(flag_error)?;
    let lvl = level(a.alpha);
    let arm = |s: Summary| format!("mean {} (sd {}, n {})", num(s.mean), num(s.sd), thousands(s.n));
    let mut rows = vec![
        row("control", arm(control)),
        row("treatment", arm(treatment)),
        row("difference", num(r.diff)),
        row(&format!("{lvl} CI (Welch)"), tested_interval(r.diff_ci, r.alternative, num)),
    ];
    push_lift_rows(&mut rows, r.lift.zip(r.lift_ci), &format!("{lvl} CI (delta method)"), r.alternative);
    rows.push(row("t", format!("{:.3}", r.t)));
    rows.push(row("df (Welch–Satterthwaite)", format!("{:.1}", r.df)));
    rows.push(row(&format!("p-value ({})", r.alternative.as_str()), p_value(Some(r.p_value))));
    let sentence = change_sentence(
        ("Treatment's mean is", "higher", "lower"),
        r.lift.zip(r.lift_ci),
        || format!("Treatment's mean differs by {} ({lvl} CI {})", num(r.diff), interval(r.diff_ci, num)),
        (r.p_value, a.alpha, r.significant, r.alternative),
    );
    let labelled = Labelled { arms: labels.as_ref(), result: &r };
    Ok(render(a.format, &labelled, &["", "value"], with_arms_row(labels.as_ref(), rows), &sentence))
}

fn ratio(a: RatioArgs) -> Result<String> {
    const FORM: &str = "n,Σx,Σy,Σx²,Σy²,Σxy per user (x numerator, y denominator)";
    let columns = [("--numerator", a.numerator.as_ref()), ("--denominator", a.denominator.as_ref())];
    let (control, treatment, labels) = a.source.paired_sums(&columns, (&a.control, &a.treatment), FORM)?;
    let r = ratio_test(&control, &treatment, a.alpha, a.alternative.into()).map_err(flag_error)?;
    let lvl = level(a.alpha);
    let mut rows = vec![
        row(
            "control ratio",
            format!("{} (se {}, {} users)", num(r.control.ratio), num(r.control.se), thousands(r.control.n)),
        ),
        row(
            "treatment ratio",
            format!(
                "{} (se {}, {} users)",
                num(r.treatment.ratio),
                num(r.treatment.se),
                thousands(r.treatment.n)
            ),
        ),
        row("difference", num(r.diff)),
        row(&format!("{lvl} CI (delta method)"), tested_interval(r.diff_ci, r.alternative, num)),
    ];
    push_lift_rows(&mut rows, r.lift.zip(r.lift_ci), &format!("{lvl} CI"), r.alternative);
    rows.push(row("z", format!("{:.3}", r.z)));
    rows.push(row(&format!("p-value ({})", r.alternative.as_str()), p_value(Some(r.p_value))));
    let sentence = change_sentence(
        ("Treatment's ratio is", "higher", "lower"),
        r.lift.zip(r.lift_ci),
        || format!("Treatment's ratio differs by {}", num(r.diff)),
        (r.p_value, a.alpha, r.significant, r.alternative),
    );
    let labelled = Labelled { arms: labels.as_ref(), result: &r };
    Ok(render(a.format, &labelled, &["", "value"], with_arms_row(labels.as_ref(), rows), &sentence))
}

fn srm(a: SrmArgs) -> Result<String> {
    let counts = parse_whole_numbers("--counts", &a.counts, "users per arm, e.g. 50214,48903")?;
    let weights = a
        .weights
        .as_deref()
        .map(|w| parse_numbers("--weights", w, 0, "the planned split, e.g. 50,50"))
        .transpose()?;
    let r = srm_test(&counts, weights.as_deref(), a.alpha).map_err(flag_error)?;
    let rows: Vec<Vec<String>> = (0..r.counts.len())
        .map(|i| {
            vec![
                format!("arm {}", i + 1),
                thousands(r.counts[i]),
                thousands(r.expected[i].round() as u64),
                rate(r.observed_share[i]),
                rate(r.expected_share[i]),
            ]
        })
        .collect();
    let split = r.expected_share.iter().map(|s| format!("{:.0}", s * 100.0)).collect::<Vec<_>>().join("/");
    let sentence = if r.low_expected_count {
        format!(
            "Too few users for a reliable check: an arm expects fewer than {MIN_EXPECTED_COUNT:.0} (chi-square = {:.2}, p = {}).",
            r.chi2,
            p_value(Some(r.p_value))
        )
    } else if r.mismatch {
        format!(
            "Sample ratio mismatch: chi-square = {:.2}, p = {} < {}; the split is not the planned {split}, so do not trust this experiment's metrics until you find why.",
            r.chi2,
            p_value(Some(r.p_value)),
            a.alpha
        )
    } else {
        format!(
            "No sample ratio mismatch: chi-square = {:.2}, p = {} ≥ {}; the split is consistent with the planned {split}.",
            r.chi2,
            p_value(Some(r.p_value)),
            a.alpha
        )
    };
    a.plot.write(|| srm_chart(&r))?;
    Ok(render(
        a.format,
        &r,
        &["arm", "users", "expected", "observed share", "planned share"],
        rows,
        &sentence,
    ))
}

/// Observed against expected users per arm, titled with the verdict.
fn srm_chart(r: &crate::stats::srm::SrmTest) -> crate::plot::CountsChart {
    use crate::plot::{CountGroup, CountsChart};
    let p = p_value(Some(r.p_value));
    let title = if r.low_expected_count {
        format!("Too few users for a reliable sample-ratio check (p = {p})")
    } else if r.mismatch {
        let worst = (0..r.counts.len())
            .max_by(|&i, &j| {
                let gap = |k: usize| (r.observed_share[k] - r.expected_share[k]).abs();
                gap(i).total_cmp(&gap(j))
            })
            .unwrap_or(0);
        format!(
            "Sample ratio mismatch: arm {} got {} of users, planned {} (p = {p})",
            worst + 1,
            rate(r.observed_share[worst]),
            rate(r.expected_share[worst])
        )
    } else {
        format!("No sample ratio mismatch: the split matches the plan (p = {p})")
    };
    CountsChart {
        title,
        y_label: "users".into(),
        groups: (0..r.counts.len())
            .map(|i| CountGroup {
                label: format!("arm {}", i + 1),
                observed: r.counts[i] as f64,
                expected: r.expected[i],
            })
            .collect(),
    }
}

fn size(a: SizeArgs) -> Result<String> {
    let design = match a.sd {
        Some(sd) => Design::Mean { baseline: a.baseline, sd },
        None => Design::Proportion { baseline: a.baseline },
    };
    let plan = Plan::new(design, a.alpha, a.sides).map_err(flag_error)?;
    let mde = a.mde.as_deref().map(|text| parse_mde(text, a.baseline)).transpose()?;
    let r = match (mde, a.n) {
        (Some(_), Some(_)) if a.power.is_some() => {
            return Err(super::exit::UsageError(
                "--power: give --power (to solve for n) or --n (to solve for power), not both".into(),
            )
            .into());
        }
        (Some(mde), Some(n)) => plan.power(mde, n),
        (Some(mde), None) => plan.sample_size(mde, a.power.unwrap_or(0.8)),
        (None, Some(n)) => plan.mde(n, a.power.unwrap_or(0.8)),
        (None, None) => bail!(
            "--mde or --n: give --mde for the sample size (or, with --n, the power), or --n alone for the MDE"
        ),
    }
    .map_err(flag_error)?;
    let rows = vec![
        row("baseline", if a.sd.is_some() { num(a.baseline) } else { rate(a.baseline) }),
        row(
            "MDE",
            format!(
                "{} relative ({} absolute)",
                signed_pct(r.mde_relative),
                if a.sd.is_some() { num(r.mde) } else { pp(r.mde) }
            ),
        ),
        row("alpha", format!("{} ({}-sided)", r.alpha, r.sides)),
        row("power", pct1(r.power)),
        row("users per arm", thousands(r.n_per_arm)),
        row("users in total", thousands(2 * r.n_per_arm)),
        row("method", r.method.to_string()),
    ];
    Ok(render(a.format, &r, &["", "value"], rows, &size_sentence(&r, mde, a.n, a.sd.is_some())))
}

fn size_sentence(r: &PowerResult, mde: Option<f64>, n: Option<u64>, means: bool) -> String {
    let effect = if means {
        format!("a {} change ({} in the mean)", signed_pct1(r.mde_relative), num(r.mde))
    } else {
        let base = match r.design {
            Design::Proportion { baseline } => baseline,
            Design::Mean { baseline, .. } => baseline,
        };
        format!("a {} relative change ({} → {})", signed_pct1(r.mde_relative), rate(base), rate(base + r.mde))
    };
    let test = format!("alpha {} ({}-sided)", r.alpha, r.sides);
    match (mde, n) {
        (Some(_), Some(_)) => format!(
            "With {} users per arm, the test detects {effect} with probability {} at {test}.",
            thousands(r.n_per_arm),
            pct1(r.power)
        ),
        (Some(_), None) => format!(
            "Detecting {effect} with {} power at {test} needs {} users per arm ({} in total).",
            pct1(r.power),
            thousands(r.n_per_arm),
            thousands(2 * r.n_per_arm)
        ),
        _ => format!(
            "With {} users per arm, the smallest effect detected with {} power at {test} is {effect}.",
            thousands(r.n_per_arm),
            pct1(r.power)
        ),
    }
}

/// "5%" is relative to the baseline; a plain number is an absolute difference.
fn parse_mde(text: &str, baseline: f64) -> Result<f64> {
    let text = text.trim();
    let bad =
        || anyhow!("--mde: expected a relative effect like 5% or an absolute one like 0.0025, got '{text}'");
    match text.strip_suffix('%') {
        Some(relative) => Ok(relative.trim().parse::<f64>().map_err(|_| bad())? / 100.0 * baseline),
        None => text.parse::<f64>().map_err(|_| bad()),
    }
}

fn adjust(a: AdjustArgs) -> Result<String> {
    let method = match a.method {
        AdjustMethodArg::Bonferroni => AdjustMethod::Bonferroni,
        AdjustMethodArg::Holm => AdjustMethod::Holm,
        AdjustMethodArg::Bh => AdjustMethod::Bh,
    };
    let r = adjust_p_values(&a.p_values, method, a.alpha).map_err(flag_error)?;
    let rows = (0..r.adjusted.len())
        .map(|i| {
            vec![
                (i + 1).to_string(),
                p_value(Some(r.p_values[i])),
                p_value(Some(r.adjusted[i])),
                if r.rejected[i] { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    let kept = r.rejected.iter().filter(|&&x| x).count();
    let (name, controls) = match method {
        AdjustMethod::Bonferroni => ("Bonferroni", "family-wise error rate"),
        AdjustMethod::Holm => ("Holm", "family-wise error rate"),
        AdjustMethod::Bh => ("Benjamini–Hochberg", "false discovery rate"),
    };
    let sentence = format!(
        "{name} keeps {kept} of {} results significant at alpha {} (controlling the {controls}).",
        r.adjusted.len(),
        a.alpha
    );
    Ok(render(a.format, &r, &["#", "p-value", "adjusted", "significant"], rows, &sentence))
}

fn seq(a: SeqArgs) -> Result<String> {
    let (r, show): (SequentialTest, fn(f64) -> String) = if a.control.contains('/') {
        let c = parse_counts("--control", &a.control)?;
        let t = parse_counts("--treatment", &a.treatment)?;
        (sequential_proportions(c, t, a.alpha, a.tuning_n).map_err(flag_error)?, pp)
    } else {
        let c = parse_summary("--control", &a.control)?;
        let t = parse_summary("--treatment", &a.treatment)?;
        (sequential_means(c, t, a.alpha, a.tuning_n).map_err(flag_error)?, num)
    };
    let lvl = level(a.alpha);
    let mut rows = vec![
        row("difference", show(r.diff)),
        row(&format!("always-valid {lvl} CI"), interval(r.ci, show)),
        row("z", format!("{:.3}", r.z)),
        row("|z| boundary at this look", format!("{:.3}", r.z_boundary)),
        row("fixed-horizon |z| (not valid when peeking)", format!("{:.3}", r.z_fixed)),
        row("always-valid p-value", p_value(Some(r.p_value))),
    ];
    for b in &r.boundary {
        rows.push(row(
            &format!("boundary at {} per arm", thousands(b.n_per_arm)),
            format!("|z| ≥ {:.3}", b.z),
        ));
    }
    let sentence = if r.significant {
        format!(
            "Stop: the difference {} is significant however often you peeked (always-valid p = {} < {}; {lvl} CI {}).",
            show(r.diff),
            p_value(Some(r.p_value)),
            a.alpha,
            interval(r.ci, show)
        )
    } else {
        format!(
            "Keep collecting: |z| = {:.2} is below this look's boundary {:.2} (always-valid p = {}); a fixed-horizon test's {:.2} is not valid when you peek.",
            r.z.abs(),
            r.z_boundary,
            p_value(Some(r.p_value)),
            r.z_fixed
        )
    };
    Ok(render(a.format, &r, &["", "value"], rows, &sentence))
}

fn cuped_command(a: CupedArgs) -> Result<String> {
    const FORM: &str = "n,Σy,Σx,Σy²,Σx²,Σxy per user (y the metric, x the pre-period covariate)";
    let columns = [("--value", a.value.as_ref()), ("--covariate", a.covariate.as_ref())];
    let (control, treatment, labels) = a.source.paired_sums(&columns, (&a.control, &a.treatment), FORM)?;
    let r = cuped(&control, &treatment, a.alpha, a.alternative.into()).map_err(flag_error)?;
    let lvl = level(a.alpha);
    let rows = vec![
        row("theta", num(r.theta)),
        row("variance removed", pct1(r.variance_reduction)),
        row("control mean (adjusted)", format!("{} ({})", num(r.control.mean), num(r.control.adjusted_mean))),
        row(
            "treatment mean (adjusted)",
            format!("{} ({})", num(r.treatment.mean), num(r.treatment.adjusted_mean)),
        ),
        row("difference, adjusted", num(r.adjusted.diff)),
        row(&format!("{lvl} CI, adjusted"), tested_interval(r.adjusted.diff_ci, r.adjusted.alternative, num)),
        row(
            &format!("{lvl} CI, unadjusted"),
            tested_interval(r.unadjusted.diff_ci, r.unadjusted.alternative, num),
        ),
        row("p-value, adjusted", p_value(Some(r.adjusted.p_value))),
        row("p-value, unadjusted", p_value(Some(r.unadjusted.p_value))),
    ];
    let effect = match (r.adjusted.lift, r.adjusted.lift_ci) {
        (Some(lift), Some(ci)) => {
            format!(
                "treatment's mean is {} {}",
                change_word(lift, "higher", "lower"),
                lift_ci_phrase(ci, a.alpha, a.alternative.into())
            )
        }
        _ => format!("treatment's mean differs by {}", num(r.adjusted.diff)),
    };
    let sentence = format!(
        "CUPED (theta {:.3}) removes {} of the variance: {effect}; {} (unadjusted p = {}).",
        r.theta,
        pct1(r.variance_reduction),
        verdict(r.adjusted.p_value, a.alpha, r.adjusted.significant),
        p_value(Some(r.unadjusted.p_value))
    );
    let labelled = Labelled { arms: labels.as_ref(), result: &r };
    Ok(render(a.format, &labelled, &["", "value"], with_arms_row(labels.as_ref(), rows), &sentence))
}

fn bayes(a: BayesArgs) -> Result<String> {
    let control = parse_counts("--control", &a.control)?;
    let treatment = parse_counts("--treatment", &a.treatment)?;
    let prior = parse_numbers("--prior", &a.prior, 2, "a,b of the beta prior, e.g. 1,1")?;
    let r = beta_binomial(control, treatment, [prior[0], prior[1]], a.alpha).map_err(flag_error)?;
    let lvl = level(a.alpha);
    let rows = vec![
        row(
            "control posterior",
            format!(
                "Beta({}, {}), mean {}",
                r.control_posterior.alpha,
                r.control_posterior.beta,
                rate(r.control_posterior.mean)
            ),
        ),
        row(
            "treatment posterior",
            format!(
                "Beta({}, {}), mean {}",
                r.treatment_posterior.alpha,
                r.treatment_posterior.beta,
                rate(r.treatment_posterior.mean)
            ),
        ),
        row(&format!("control {lvl} credible interval"), interval(r.control_ci, rate)),
        row(&format!("treatment {lvl} credible interval"), interval(r.treatment_ci, rate)),
        row("P(treatment beats control)", pct1(r.prob_treatment_beats_control)),
        row("expected loss, choosing control", pp(r.expected_loss_control).replace('+', "")),
        row("expected loss, choosing treatment", pp(r.expected_loss_treatment).replace('+', "")),
        row("method", format!("exact ({})", r.method)),
    ];
    let sentence = format!(
        "Treatment beats control with probability {}; choosing treatment risks an expected loss of {} of conversion rate, choosing control {}.",
        pct1(r.prob_treatment_beats_control),
        pp(r.expected_loss_treatment).replace('+', ""),
        pp(r.expected_loss_control).replace('+', "")
    );
    Ok(render(a.format, &r, &["", "value"], rows, &sentence))
}

fn bootstrap(a: BootstrapArgs) -> Result<String> {
    let Some(arms) = a.source.load(&[("--value", Some(&a.value))])? else {
        bail!("--data: the bootstrap resamples raw data; give --data PATH --variant COL --value COL");
    };
    let statistic = match a.statistic {
        StatisticArg::DiffMeans => Statistic::DiffMeans,
        StatisticArg::Lift => Statistic::Lift,
        StatisticArg::DiffMedians => Statistic::DiffMedians,
    };
    let (control, treatment) = (&arms.control[0], &arms.treatment[0]);
    let r = bootstrap_ci(control, treatment, |c, t| statistic.compute(c, t), a.resamples, a.alpha, a.seed)
        .map_err(flag_error)?;
    let labels = labels_of(&arms);
    let (name, show): (&str, fn(f64) -> String) = match a.statistic {
        StatisticArg::DiffMeans => ("difference in means", num),
        StatisticArg::Lift => ("relative lift", signed_pct),
        StatisticArg::DiffMedians => ("difference in medians", num),
    };
    let lvl = level(a.alpha);
    let rows = vec![
        row(
            "users",
            format!(
                "control {}, treatment {}",
                thousands(control.len() as u64),
                thousands(treatment.len() as u64)
            ),
        ),
        row(name, show(r.estimate)),
        row(&format!("{lvl} CI (percentile bootstrap)"), interval(r.ci, show)),
        row("bootstrap standard error", show(r.se).trim_start_matches('+').to_string()),
        row("resamples (seed)", format!("{} ({})", thousands(r.resamples as u64), r.seed)),
    ];
    let excludes_zero = !r.ci.contains(0.0);
    let sentence = format!(
        "The {name} is {} ({lvl} bootstrap CI {}); the interval {} 0. Same seed, same interval.",
        show(r.estimate),
        interval(r.ci, show),
        if excludes_zero { "excludes" } else { "includes" }
    );
    let labelled = Labelled { arms: Some(&labels), result: &r };
    Ok(render(a.format, &labelled, &["", "value"], with_arms_row(Some(&labels), rows), &sentence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_names_the_flag() {
        assert_eq!(parse_counts("--control", "200/10000").unwrap().n, 10000);
        let err = parse_counts("--control", "250/200").unwrap_err().to_string();
        assert!(err.starts_with("--control:") && err.contains("exceed"), "{err}");
        assert!(parse_counts("--treatment", "-5/100").unwrap_err().to_string().contains("negative"));
        assert!(parse_counts("--treatment", "5:100").unwrap_err().to_string().contains("conversions/users"));
        assert!(parse_counts("--treatment", "5/0").unwrap_err().to_string().starts_with("--treatment"));
    }

    #[test]
    fn mde_percent_is_relative() {
        assert!((parse_mde("5%", 0.05).unwrap() - 0.0025).abs() < 1e-15);
        assert_eq!(parse_mde("0.01", 0.05).unwrap(), 0.01);
        assert!(parse_mde("five", 0.05).is_err());
    }

    #[test]
    fn library_errors_get_their_flag() {
        let err = flag_error(StatsError::ProbabilityOutOfRange { arg: "alpha", value: 2.0 });
        assert!(err.to_string().starts_with("--alpha"));
    }
}
