//! `dropcase ab analyze|daily|segments`: the whole readout of an experiment folder (an
//! experiment drill, the current one by default), the daily and cumulative lift, and
//! per-segment effects. `ab analyze --data FILE --variant COL --metric COL` reads a user's
//! own one-row-per-user file instead.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;

use super::ab_data::load_arms;
use crate::experiment::analysis::{self, Daily, Effect, Readout, Segments};
use crate::experiment::brief::ExperimentBrief;
use crate::experiment::data::ExperimentData;
use crate::experiment::metrics::{Metric, MetricKind};
use crate::experiment::workspace::ExperimentDrill;
use crate::output::{self, Fit, FitTable, Format, p_value, prose, signed_pct, table, thousands};
use crate::stats::Alternative;
use crate::stats::means::{Summary, welch_test};
use crate::stats::srm::srm_test;

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// An experiment folder, or a CSV/Parquet file with one row per user (then --variant
    /// and --metric name its columns) [default: the current drill].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Column naming each row's arm (files only; folders know their arms).
    #[arg(long)]
    pub variant: Option<String>,
    /// Metrics to read out (repeatable) [default: the design's primary, secondary and guardrails].
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Add a segment breakdown of the primary metric by this dimension.
    #[arg(long)]
    pub by: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub plot: super::plot::PlotArgs,
}

#[derive(Debug, Args)]
pub struct DailyArgs {
    /// Experiment folder [default: the current drill].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Metric [default: the primary].
    #[arg(long)]
    pub metric: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub plot: super::plot::PlotArgs,
}

#[derive(Debug, Args)]
pub struct SegmentsArgs {
    /// Experiment folder [default: the current drill].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Dimension: platform, browser, country, user_type (and phase when the allocation changed).
    #[arg(long, default_value = "platform")]
    pub by: String,
    /// Metric [default: the primary].
    #[arg(long)]
    pub metric: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_metric(text: &str) -> Result<Metric> {
    Metric::parse(text).ok_or_else(|| {
        let names = Metric::names();
        let hint = crate::suggest::nearest(text, &names)
            .map(|n| format!(" (did you mean '{n}'?)"))
            .unwrap_or_default();
        anyhow::anyhow!("--metric: unknown metric '{text}'{hint}; choose one of: {}", names.join(", "))
    })
}

fn open(data: Option<&PathBuf>) -> Result<(ExperimentDrill, ExperimentData)> {
    if let Some(path) = data
        && !path.is_dir()
    {
        bail!(
            "--data: {} is not an experiment folder (a file works only with `ab analyze --variant COL --metric COL`)",
            path.display()
        );
    }
    let drill = ExperimentDrill::open(data.map(PathBuf::as_path))?;
    let experiment = drill.data()?;
    Ok((drill, experiment))
}

pub fn analyze(a: AnalyzeArgs) -> Result<String> {
    if let Some(path) = &a.data
        && path.is_file()
    {
        return analyze_file(&a, path);
    }
    let (drill, data) = open(a.data.as_ref())?;
    let metrics: Vec<Metric> = a.metrics.iter().map(|m| parse_metric(m)).collect::<Result<_>>()?;
    let readout = analysis::analyze(
        &data,
        &drill.brief,
        (!metrics.is_empty()).then_some(&metrics[..]),
        a.by.as_deref(),
    )?;
    a.plot.write(|| readout_chart(&readout))?;
    Ok(match a.format {
        Format::Json => output::json(&readout),
        Format::Csv => metrics_csv(&readout),
        Format::Table => render_readout(&readout, &drill.brief),
    })
}

fn value(metric: Metric, x: f64) -> String {
    match metric.kind() {
        MetricKind::Proportion => output::pct(x),
        _ if x.abs() >= 100.0 => format!("{x:.1}"),
        _ => format!("{x:.4}"),
    }
}

fn lift_cell(e: &Effect) -> String {
    match (e.lift, e.lift_ci) {
        (Some(l), Some(ci)) => {
            format!("{} ({} to {})", signed_pct(l), signed_pct(ci.lower), signed_pct(ci.upper))
        }
        _ => "–".into(),
    }
}

fn metrics_csv(r: &Readout) -> String {
    let rows: Vec<Vec<String>> = r
        .metrics
        .iter()
        .map(|m| {
            let e = &m.effect;
            vec![
                m.role.to_string(),
                e.metric.name().to_string(),
                e.control.to_string(),
                e.treatment.to_string(),
                e.lift.map(|x| x.to_string()).unwrap_or_default(),
                e.lift_ci.map(|c| c.lower.to_string()).unwrap_or_default(),
                e.lift_ci.map(|c| c.upper.to_string()).unwrap_or_default(),
                e.p_value.to_string(),
                m.p_adjusted.map(|p| p.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    output::csv(
        &["role", "metric", "control", "treatment", "lift", "lift_low", "lift_high", "p_value", "p_adjusted"],
        &rows,
    )
}

fn render_readout(r: &Readout, brief: &ExperimentBrief) -> String {
    let mut out = format!("Experiment readout: {} vs {}\n\n", r.arms[0], r.arms[1]);
    let s = &r.srm;
    out.push_str(&format!(
        "1. Sample ratio (SRM, alpha {}): {} {} / {} {} users; planned {:.1}% / {:.1}%, observed {:.2}% / {:.2}%; chi-square {:.2}, p = {} — {}\n",
        s.alpha,
        r.arms[0],
        thousands(s.counts[0]),
        r.arms[1],
        thousands(s.counts[1]),
        s.expected_share[0] * 100.0,
        s.expected_share[1] * 100.0,
        s.observed_share[0] * 100.0,
        s.observed_share[1] * 100.0,
        s.chi2,
        p_value(Some(s.p_value)),
        if s.mismatch { "MISMATCH: do not trust the readout" } else { "ok" }
    ));
    let sm = &r.sample;
    out.push_str(&format!(
        "2. Sample: {} of {} planned days; {} / {} users per arm (the plan asked for {} per arm, MDE {:.1}%) — {}\n",
        sm.days_run,
        sm.planned_days,
        thousands(sm.users_per_arm[0]),
        thousands(sm.users_per_arm[1]),
        thousands(sm.planned_users_per_arm),
        brief.design.mde * 100.0,
        if sm.complete { "complete" } else { "SHORT of plan" }
    ));
    if let Some(pre) = &r.pre_period {
        out.push_str(&format!(
            "3. Pre-period balance (orders per user in the 28 days before): {:.3} vs {:.3}, p = {} — {}\n",
            pre.control,
            pre.treatment,
            p_value(Some(pre.p_value)),
            if pre.p_value < 0.01 { "IMBALANCED" } else { "balanced" }
        ));
    }
    out.push('\n');
    let mut out = prose(&out);
    // Narrow terminals lose the test's name, the role, both arms' values, then Holm's p and
    // the raw p; the lift with its interval and the flag stay.
    let mut t = FitTable::new(&[
        ("role", Fit::Drop(2)),
        ("metric", Fit::Keep),
        (r.arms[0].as_str(), Fit::Drop(3)),
        (r.arms[1].as_str(), Fit::Drop(3)),
        ("lift (95% CI)", Fit::Keep),
        ("p", Fit::Drop(5)),
        ("p (Holm)", Fit::Drop(4)),
        ("test", Fit::Drop(1)),
        ("flag", Fit::Keep),
    ]);
    for m in &r.metrics {
        let e = &m.effect;
        let flag = if m.regressed {
            "REGRESSED".to_string()
        } else if e.significant {
            if (e.diff > 0.0) == e.metric.higher_is_better() { "better".into() } else { "worse".into() }
        } else {
            String::new()
        };
        t.add_row(vec![
            m.role.to_string(),
            e.metric.name().to_string(),
            value(e.metric, e.control),
            value(e.metric, e.treatment),
            lift_cell(e),
            p_value(Some(e.p_value)),
            m.p_adjusted.map(|p| p_value(Some(p))).unwrap_or_default(),
            e.test.to_string(),
            flag,
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    if let Some(c) = &r.cuped {
        out.push_str(&prose(&format!(
            "\nCUPED ({} as covariate, variance −{:.0}%): primary lift {} , p = {}\n",
            c.covariate,
            c.variance_reduction * 100.0,
            match (c.lift, c.lift_ci) {
                (Some(l), Some(ci)) =>
                    format!("{} ({} to {})", signed_pct(l), signed_pct(ci.lower), signed_pct(ci.upper)),
                _ => "–".into(),
            },
            p_value(Some(c.p_value))
        )));
    }
    if let Some(seg) = &r.segments {
        out.push('\n');
        out.push_str(&render_segments(seg));
    }
    for w in &r.warnings {
        out.push_str(&prose(&format!("\nWARNING: {w}")));
    }
    if let Some(primary) = r.metrics.iter().find(|m| m.role == "primary") {
        let e = &primary.effect;
        let sentence = format!(
            "\n\n{} {}: {} ({}), p = {}{}.",
            e.metric,
            if e.significant { "moved significantly" } else { "did not move significantly" },
            e.lift.map(signed_pct).unwrap_or_else(|| "–".into()),
            e.lift_ci
                .map(|ci| format!("95% CI {} to {}", signed_pct(ci.lower), signed_pct(ci.upper)))
                .unwrap_or_default(),
            p_value(Some(e.p_value)),
            if r.trustworthy { "" } else { " — but the split is broken, so this number means nothing" }
        );
        out.push_str(&prose(&sentence));
    }
    out
}

fn render_segments(s: &Segments) -> String {
    // Narrow terminals lose the user counts, the raw p (Holm's stays), then the arms' values.
    let mut t = FitTable::new(&[
        ("segment", Fit::Keep),
        ("users", Fit::Drop(1)),
        ("control", Fit::Drop(3)),
        ("treatment", Fit::Drop(4)),
        ("lift (95% CI)", Fit::Keep),
        ("p", Fit::Drop(2)),
        ("p (Holm)", Fit::Keep),
    ]);
    for r in &s.rows {
        let e = &r.effect;
        t.add_row(vec![
            format!("{}={}", s.dimension, r.value),
            format!("{} / {}", thousands(e.users[0]), thousands(e.users[1])),
            value(s.metric, e.control),
            value(s.metric, e.treatment),
            lift_cell(e),
            p_value(Some(e.p_value)),
            p_value(Some(r.p_adjusted)),
        ]);
    }
    format!("{} by {}\n{t}\n{}\n", s.metric, s.dimension, prose(&format!("Note: {}", s.note)))
}

pub fn daily(a: DailyArgs) -> Result<String> {
    let (drill, data) = open(a.data.as_ref())?;
    let metric = match &a.metric {
        Some(m) => parse_metric(m)?,
        None => drill.brief.design.primary,
    };
    let daily = analysis::daily(&data, &drill.brief, metric)?;
    a.plot.write(|| daily_chart(&daily))?;
    Ok(match a.format {
        Format::Json => output::json(&daily),
        Format::Csv => daily_csv(&daily),
        Format::Table => render_daily(&daily),
    })
}

fn daily_csv(d: &Daily) -> String {
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    let rows: Vec<Vec<String>> = d
        .rows
        .iter()
        .map(|r| {
            vec![
                r.date.to_string(),
                r.users[0].to_string(),
                r.users[1].to_string(),
                num(r.daily.as_ref().and_then(|e| e.lift)),
                num(r.daily.as_ref().map(|e| e.p_value)),
                num(r.cumulative.as_ref().and_then(|e| e.lift)),
                num(r.cumulative.as_ref().map(|e| e.p_value)),
            ]
        })
        .collect();
    output::csv(
        &[
            "date",
            "users_control",
            "users_treatment",
            "daily_lift",
            "daily_p",
            "cumulative_lift",
            "cumulative_p",
        ],
        &rows,
    )
}

fn render_daily(d: &Daily) -> String {
    // Narrow terminals lose the day number, the users, then the cumulative p-value (the one
    // peeking misreads) and the daily one; the lifts with their intervals stay.
    let mut t = FitTable::new(&[
        ("day", Fit::Drop(1)),
        ("date", Fit::Keep),
        ("users so far", Fit::Drop(2)),
        ("daily lift (95% CI)", Fit::Keep),
        ("daily p", Fit::Drop(4)),
        ("cumulative lift (95% CI)", Fit::Keep),
        ("cumulative p", Fit::Drop(3)),
    ]);
    for r in &d.rows {
        t.add_row(vec![
            (r.day + 1).to_string(),
            r.date.to_string(),
            format!("{} / {}", thousands(r.users[0]), thousands(r.users[1])),
            r.daily.as_ref().map(lift_cell).unwrap_or_else(|| "–".into()),
            p_value(r.daily.as_ref().map(|e| e.p_value)),
            r.cumulative.as_ref().map(lift_cell).unwrap_or_else(|| "–".into()),
            p_value(r.cumulative.as_ref().map(|e| e.p_value)),
        ]);
    }
    let trend = match (d.trend_per_day, d.trend_z) {
        (Some(s), Some(z)) => format!("Trend of the daily lift: {} per day (z = {z:.2}). ", signed_pct(s)),
        _ => String::new(),
    };
    let title = prose(&format!(
        "{} by day (daily: that day's activity of users exposed so far; cumulative: from the start)",
        d.metric
    ));
    format!("{title}\n{t}\n{}", prose(&format!("{trend}{}", d.note)))
}

pub fn segments(a: SegmentsArgs) -> Result<String> {
    let (drill, data) = open(a.data.as_ref())?;
    let metric = match &a.metric {
        Some(m) => parse_metric(m)?,
        None => drill.brief.design.primary,
    };
    let seg = analysis::segments(&data, &drill.brief, metric, &a.by)?;
    Ok(match a.format {
        Format::Json => output::json(&seg),
        Format::Csv => {
            let rows: Vec<Vec<String>> = seg
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.value.clone(),
                        r.effect.lift.map(|x| x.to_string()).unwrap_or_default(),
                        r.effect.p_value.to_string(),
                        r.p_adjusted.to_string(),
                    ]
                })
                .collect();
            output::csv(&["segment", "lift", "p_value", "p_adjusted"], &rows)
        }
        Format::Table => render_segments(&seg),
    })
}

/// `ab analyze` on a one-row-per-user file: the split (50/50) and each metric column by Welch.
fn analyze_file(a: &AnalyzeArgs, path: &std::path::Path) -> Result<String> {
    let Some(variant) = a.variant.as_deref() else {
        bail!("--variant: name the column holding each row's arm in {}", path.display());
    };
    if a.metrics.is_empty() {
        bail!("--metric: name at least one numeric column of {} to compare", path.display());
    }
    let columns: Vec<(&str, &str)> = a.metrics.iter().map(|m| ("--metric", m.as_str())).collect();
    let arms = load_arms(path, variant, &columns, None)?;
    let counts = [arms.control[0].len() as u64, arms.treatment[0].len() as u64];
    let srm = srm_test(&counts, None, analysis::SRM_ALPHA)?;
    #[derive(Serialize)]
    struct FileMetric {
        metric: String,
        control: f64,
        treatment: f64,
        lift: Option<f64>,
        lift_ci: Option<crate::stats::Interval>,
        p_value: f64,
        significant: bool,
    }
    #[derive(Serialize)]
    struct FileReadout {
        arms: [String; 2],
        srm: crate::stats::srm::SrmTest,
        trustworthy: bool,
        metrics: Vec<FileMetric>,
    }
    let mut metrics = Vec::new();
    for (i, name) in a.metrics.iter().enumerate() {
        let c = Summary::from_values("control", &arms.control[i])?;
        let t = Summary::from_values("treatment", &arms.treatment[i])?;
        let r = welch_test(c, t, 0.05, Alternative::TwoSided)?;
        metrics.push(FileMetric {
            metric: name.clone(),
            control: c.mean,
            treatment: t.mean,
            lift: r.lift,
            lift_ci: r.lift_ci,
            p_value: r.p_value,
            significant: r.significant,
        });
    }
    let readout = FileReadout {
        arms: [arms.control_label.clone(), arms.treatment_label.clone()],
        trustworthy: !srm.mismatch,
        srm,
        metrics,
    };
    if a.format == Format::Json {
        return Ok(output::json(&readout));
    }
    let mut out = format!(
        "Sample ratio: {} / {} (p = {}) — {}\n",
        counts[0],
        counts[1],
        p_value(Some(readout.srm.p_value)),
        if readout.trustworthy { "ok" } else { "MISMATCH: do not trust the readout" }
    );
    let mut t = table(&["metric", readout.arms[0].as_str(), readout.arms[1].as_str(), "lift (95% CI)", "p"]);
    for m in &readout.metrics {
        t.add_row(vec![
            m.metric.clone(),
            format!("{:.4}", m.control),
            format!("{:.4}", m.treatment),
            match (m.lift, m.lift_ci) {
                (Some(l), Some(ci)) => {
                    format!("{} ({} to {})", signed_pct(l), signed_pct(ci.lower), signed_pct(ci.upper))
                }
                _ => "–".into(),
            },
            p_value(Some(m.p_value)),
        ]);
    }
    out.push_str(&t.to_string());
    Ok(out)
}

/// Forest plot of the readout: each metric's relative lift with its interval.
fn readout_chart(r: &analysis::Readout) -> crate::plot::ForestChart {
    let rows: Vec<crate::plot::ForestRow> = r
        .metrics
        .iter()
        .filter_map(|m| {
            let (lift, ci) = (m.effect.lift?, m.effect.lift_ci?);
            Some(crate::plot::ForestRow {
                label: format!("{} ({})", m.effect.metric.name(), m.role),
                estimate: lift,
                lo: ci.lower,
                hi: ci.upper,
            })
        })
        .collect();
    let title = if r.trustworthy {
        "Treatment vs control: lift per metric with 95% intervals".to_string()
    } else {
        "Sample ratio mismatch: these lifts cannot be trusted".to_string()
    };
    crate::plot::ForestChart {
        title,
        x_label: "relative lift of treatment over control (%)".into(),
        scale: crate::plot::Scale::SignedPercent,
        rows,
        reference: 0.0,
    }
}

/// Daily and cumulative lift per day, with the cumulative interval as a band.
fn daily_chart(d: &Daily) -> crate::plot::TrendChart {
    use crate::plot::{Period, Point, Series};
    let point = |date: chrono::NaiveDate, e: &Option<analysis::Effect>, band: bool| {
        let (value, ci) = match e {
            Some(e) => (e.lift.unwrap_or(f64::NAN), e.lift_ci),
            None => (f64::NAN, None),
        };
        let p = Point::day(date, value);
        match ci {
            Some(ci) if band => p.with_ci(ci.lower, ci.upper),
            _ => p,
        }
    };
    let daily = Series {
        label: "daily lift".into(),
        points: d.rows.iter().map(|r| point(r.date, &r.daily, false)).collect(),
    };
    let cumulative = Series {
        label: "cumulative lift".into(),
        points: d.rows.iter().map(|r| point(r.date, &r.cumulative, true)).collect(),
    };
    let title = match d.trend_z {
        Some(z) if z < -2.0 => format!("{}: the daily lift fades (trend z = {z:.1})", d.metric.name()),
        Some(z) if z > 2.0 => format!("{}: the daily lift grows (trend z = {z:.1})", d.metric.name()),
        _ => format!("{}: daily and cumulative lift", d.metric.name()),
    };
    crate::plot::TrendChart {
        title,
        y_label: "relative lift of treatment over control (%)".into(),
        scale: crate::plot::Scale::SignedPercent,
        period: Period::Day,
        series: vec![daily, cumulative],
        windows: Vec::new(),
        marker: None,
        reference: Some(0.0),
    }
}
