//! The readout of an experiment folder, as a careful analyst builds it: the sample-ratio
//! check first (a failed one means no metric can be trusted), the planned sample, the
//! pre-period balance, every metric with its test and interval (multiple-comparison
//! adjusted secondaries, guardrails flagged), daily and cumulative lift, and segments.

use serde::Serialize;

use crate::stats::adjust::{AdjustMethod, adjust_p_values};
use crate::stats::cuped::cuped;
use crate::stats::means::{Summary, welch_test};
use crate::stats::moments::{Bivariate, Sums};
use crate::stats::proportion::{Counts, two_proportion_test};
use crate::stats::ratio::ratio_test;
use crate::stats::srm::srm_test;
use crate::stats::{Alternative, Interval};

use super::brief::ExperimentBrief;
use super::data::{DIMENSIONS, ExperimentData};
use super::metrics::{Metric, MetricKind};

/// The SRM test's level: a stricter alpha than for metrics, as is usual.
pub const SRM_ALPHA: f64 = 0.001;

/// One user's sums over a set of days.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub sessions: f64,
    pub orders: f64,
    pub revenue: f64,
    pub load_sum: f64,
    pub refunds: f64,
    pub server_orders: f64,
    pub active_days: f64,
}

impl Totals {
    fn add(&mut self, row: &super::data::DayRow) {
        self.sessions += f64::from(row.sessions);
        self.orders += f64::from(row.orders);
        self.revenue += row.revenue;
        self.load_sum += row.page_load_ms * f64::from(row.sessions);
        self.refunds += f64::from(row.refunds);
        self.server_orders += f64::from(row.server_orders);
        self.active_days += 1.0;
    }
}

/// Per-user totals over the days `include` accepts.
pub fn totals(data: &ExperimentData, include: impl Fn(u16) -> bool) -> Vec<Totals> {
    let mut out = vec![Totals::default(); data.users.len()];
    for row in &data.rows {
        if include(row.day) {
            out[row.user as usize].add(row);
        }
    }
    out
}

/// The comparison of one metric between the arms.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    pub metric: Metric,
    pub test: &'static str,
    pub users: [u64; 2],
    pub control: f64,
    pub treatment: f64,
    pub diff: f64,
    pub diff_ci: Interval,
    pub lift: Option<f64>,
    pub lift_ci: Option<Interval>,
    pub p_value: f64,
    pub significant: bool,
}

impl Effect {
    /// Significantly worse in the metric's own direction.
    pub fn worse(&self) -> bool {
        self.significant && ((self.diff < 0.0) == self.metric.higher_is_better())
    }
}

fn user_value(metric: Metric, t: &Totals, cap: f64) -> (f64, f64) {
    match metric {
        Metric::Conversion => (f64::from(t.orders > 0.0), 1.0),
        Metric::ServerConversion => (f64::from(t.server_orders > 0.0), 1.0),
        Metric::OrdersPerUser => (t.orders, 1.0),
        Metric::ServerOrdersPerUser => (t.server_orders, 1.0),
        Metric::RevenuePerUser => (t.revenue, 1.0),
        Metric::RevenuePerUserCapped => (t.revenue.min(cap), 1.0),
        Metric::SessionsPerUser => (t.sessions, 1.0),
        Metric::ActiveDays => (t.active_days, 1.0),
        Metric::Aov => (t.revenue, t.orders),
        Metric::PageLoadMs => (t.load_sum, t.sessions),
        Metric::RefundRate => (t.refunds, t.orders),
    }
}

/// The pooled 99.9th percentile of revenue per user, the cap of `revenue_per_user_capped`.
fn revenue_cap(totals: &[Totals], include: &dyn Fn(usize) -> bool) -> f64 {
    let mut values: Vec<f64> = (0..totals.len()).filter(|&i| include(i)).map(|i| totals[i].revenue).collect();
    if values.is_empty() {
        return f64::INFINITY;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64) * 0.999) as usize].max(values[0])
}

/// Compares `metric` between the arms over the users `include` accepts.
pub fn compare(
    data: &ExperimentData,
    totals: &[Totals],
    metric: Metric,
    include: &dyn Fn(usize) -> bool,
    alpha: f64,
) -> anyhow::Result<Effect> {
    let cap =
        if metric == Metric::RevenuePerUserCapped { revenue_cap(totals, include) } else { f64::INFINITY };
    let mut values: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for (i, user) in data.users.iter().enumerate() {
        if include(i) {
            values[user.arm as usize].push(user_value(metric, &totals[i], cap));
        }
    }
    let users = [values[0].len() as u64, values[1].len() as u64];
    anyhow::ensure!(
        users[0] >= 2 && users[1] >= 2,
        "too few users to compare {metric} (control {}, treatment {})",
        users[0],
        users[1]
    );
    let two = Alternative::TwoSided;
    Ok(match metric.kind() {
        MetricKind::Proportion => {
            let count = |v: &[(f64, f64)]| v.iter().filter(|x| x.0 > 0.0).count() as u64;
            let c = Counts::new("control", count(&values[0]), users[0])?;
            let t = Counts::new("treatment", count(&values[1]), users[1])?;
            let r = two_proportion_test(c, t, alpha, two)?;
            Effect {
                metric,
                test: "two-proportion z-test",
                users,
                control: c.rate,
                treatment: t.rate,
                diff: r.diff,
                diff_ci: r.diff_ci,
                lift: r.lift,
                lift_ci: r.lift_ci,
                p_value: r.p_value,
                significant: r.significant,
            }
        }
        MetricKind::Mean => {
            let summary = |arg, v: &[(f64, f64)]| {
                let xs: Vec<f64> = v.iter().map(|x| x.0).collect();
                Summary::from_values(arg, &xs)
            };
            let (c, t) = (summary("control", &values[0])?, summary("treatment", &values[1])?);
            let r = welch_test(c, t, alpha, two)?;
            Effect {
                metric,
                test: "Welch t-test",
                users,
                control: c.mean,
                treatment: t.mean,
                diff: r.diff,
                diff_ci: r.diff_ci,
                lift: r.lift,
                lift_ci: r.lift_ci,
                p_value: r.p_value,
                significant: r.significant,
            }
        }
        MetricKind::Ratio => {
            let moments = |arg, v: &[(f64, f64)]| {
                let mut s =
                    Sums { n: v.len() as u64, sum_x: 0.0, sum_y: 0.0, sum_x2: 0.0, sum_y2: 0.0, sum_xy: 0.0 };
                for (x, y) in v {
                    s.sum_x += x;
                    s.sum_y += y;
                    s.sum_x2 += x * x;
                    s.sum_y2 += y * y;
                    s.sum_xy += x * y;
                }
                Bivariate::from_sums(arg, s)
            };
            let (c, t) = (moments("control", &values[0])?, moments("treatment", &values[1])?);
            let r = ratio_test(&c, &t, alpha, two)?;
            Effect {
                metric,
                test: "delta-method z-test",
                users,
                control: r.control.ratio,
                treatment: r.treatment.ratio,
                diff: r.diff,
                diff_ci: r.diff_ci,
                lift: r.lift,
                lift_ci: r.lift_ci,
                p_value: r.p_value,
                significant: r.significant,
            }
        }
    })
}

/// The sample-ratio check: observed users per arm against the planned allocation on each
/// user's exposure day, and the segment where the split is most off.
#[derive(Debug, Clone, Serialize)]
pub struct SrmCheck {
    pub counts: [u64; 2],
    pub expected_share: [f64; 2],
    pub observed_share: [f64; 2],
    pub chi2: f64,
    pub p_value: f64,
    pub alpha: f64,
    pub mismatch: bool,
    /// The dimension value whose split is furthest from plan.
    pub worst_segment: Option<SegmentSplit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentSplit {
    pub dimension: String,
    pub value: String,
    pub counts: [u64; 2],
    pub treatment_share: f64,
    pub expected_share: f64,
    pub p_value: f64,
}

fn split(
    data: &ExperimentData,
    brief: &ExperimentBrief,
    include: &dyn Fn(usize) -> bool,
) -> Option<([u64; 2], [f64; 2])> {
    let mut counts = [0u64; 2];
    let mut expected = [0.0f64; 2];
    for (i, u) in data.users.iter().enumerate() {
        if !include(i) {
            continue;
        }
        counts[u.arm as usize] += 1;
        let w = brief.weights_on(data.date(u.day));
        let total: f64 = w.iter().sum();
        expected[0] += w[0] / total;
        expected[1] += w[1] / total;
    }
    (counts[0] + counts[1] > 0).then_some((counts, expected))
}

pub fn srm_check(data: &ExperimentData, brief: &ExperimentBrief) -> anyhow::Result<SrmCheck> {
    let (counts, expected) =
        split(data, brief, &|_| true).ok_or_else(|| anyhow::anyhow!("no users in the assignments"))?;
    let test = srm_test(&counts, Some(&expected), SRM_ALPHA)?;
    let n = (counts[0] + counts[1]) as f64;
    let mut worst: Option<SegmentSplit> = None;
    for (d, dim) in DIMENSIONS.iter().enumerate() {
        for (v, value) in data.dim_values[d].iter().enumerate() {
            let Some((c, e)) = split(data, brief, &|i| data.users[i].dims[d] as usize == v) else { continue };
            if c[0] + c[1] < 200 {
                continue;
            }
            let Ok(t) = srm_test(&c, Some(&e), SRM_ALPHA) else { continue };
            if worst.as_ref().is_none_or(|w| t.p_value < w.p_value) {
                worst = Some(SegmentSplit {
                    dimension: dim.to_string(),
                    value: value.clone(),
                    counts: c,
                    treatment_share: c[1] as f64 / (c[0] + c[1]) as f64,
                    expected_share: e[1] / (e[0] + e[1]),
                    p_value: t.p_value,
                });
            }
        }
    }
    Ok(SrmCheck {
        counts,
        expected_share: [expected[0] / n, expected[1] / n],
        observed_share: [counts[0] as f64 / n, counts[1] as f64 / n],
        chi2: test.chi2,
        p_value: test.p_value,
        alpha: SRM_ALPHA,
        mismatch: test.mismatch,
        worst_segment: worst.filter(|w| w.p_value < SRM_ALPHA),
    })
}

/// How much of the planned test ran.
#[derive(Debug, Clone, Serialize)]
pub struct SampleCheck {
    pub days_run: u64,
    pub planned_days: u32,
    pub users_per_arm: [u64; 2],
    pub planned_users_per_arm: u64,
    pub complete: bool,
}

/// A metric in the readout, with its role and (for secondaries) the adjusted p-value.
#[derive(Debug, Clone, Serialize)]
pub struct MetricLine {
    pub role: &'static str,
    #[serde(flatten)]
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    /// A guardrail significantly worse.
    pub regressed: bool,
}

/// CUPED-adjusted lift of the primary metric with the pre-period orders as covariate.
#[derive(Debug, Clone, Serialize)]
pub struct CupedLine {
    pub covariate: &'static str,
    pub lift: Option<f64>,
    pub lift_ci: Option<Interval>,
    pub p_value: f64,
    pub variance_reduction: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Readout {
    pub arms: [String; 2],
    pub srm: SrmCheck,
    /// False when the SRM check fails: then no metric below should be trusted.
    pub trustworthy: bool,
    pub sample: SampleCheck,
    pub pre_period: Option<Effect>,
    pub metrics: Vec<MetricLine>,
    pub cuped: Option<CupedLine>,
    pub segments: Option<Segments>,
    pub warnings: Vec<String>,
}

pub fn analyze(
    data: &ExperimentData,
    brief: &ExperimentBrief,
    metrics: Option<&[Metric]>,
    by: Option<&str>,
) -> anyhow::Result<Readout> {
    let alpha = brief.design.alpha;
    let srm = srm_check(data, brief)?;
    let all = totals(data, |_| true);
    let everyone = |_: usize| true;
    let counts = data.arm_counts();
    let sample = SampleCheck {
        days_run: u64::from(data.days),
        planned_days: brief.design.planned_days,
        users_per_arm: counts,
        planned_users_per_arm: brief.design.planned_users_per_arm,
        complete: u32::from(data.days) >= brief.design.planned_days
            && (counts[0] + counts[1]) as f64 >= 2.0 * 0.95 * brief.design.planned_users_per_arm as f64,
    };
    let mut lines = Vec::new();
    let d = &brief.design;
    let roles: Vec<(Metric, &'static str)> = match metrics {
        Some(list) => list
            .iter()
            .map(|m| {
                let role = if *m == d.primary {
                    "primary"
                } else if d.guardrails.contains(m) {
                    "guardrail"
                } else {
                    "secondary"
                };
                (*m, role)
            })
            .collect(),
        None => std::iter::once((d.primary, "primary"))
            .chain(d.secondary.iter().map(|m| (*m, "secondary")))
            .chain(d.guardrails.iter().map(|m| (*m, "guardrail")))
            .collect(),
    };
    for (metric, role) in roles {
        let effect = compare(data, &all, metric, &everyone, alpha)?;
        let regressed = role == "guardrail" && effect.worse();
        lines.push(MetricLine { role, effect, p_adjusted: None, regressed });
    }
    let secondary: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].role == "secondary").collect();
    if secondary.len() > 1 {
        let ps: Vec<f64> = secondary.iter().map(|&i| lines[i].effect.p_value).collect();
        let adjusted = adjust_p_values(&ps, AdjustMethod::Holm, alpha)?;
        for (k, &i) in secondary.iter().enumerate() {
            lines[i].p_adjusted = Some(adjusted.adjusted[k]);
        }
    }
    let pre_period = compare_pre(data, brief).ok();
    let cuped_line = primary_cuped(data, &all, d.primary, alpha).ok();
    let segments = match by {
        Some(dim) => Some(segments(data, brief, d.primary, dim)?),
        None => None,
    };

    let mut warnings = Vec::new();
    if srm.mismatch {
        let mut text = format!(
            "SAMPLE RATIO MISMATCH: {} vs {} users where the plan expects {:.1}% / {:.1}% (chi-square p = {}). The assignment is broken, so none of the metrics below can be trusted; find the cause and rerun.",
            srm.counts[0],
            srm.counts[1],
            srm.expected_share[0] * 100.0,
            srm.expected_share[1] * 100.0,
            crate::output::p_value(Some(srm.p_value))
        );
        if let Some(w) = &srm.worst_segment {
            text.push_str(&format!(
                " The split is most off for {}={}: {:.1}% treatment where {:.1}% is expected.",
                w.dimension,
                w.value,
                w.treatment_share * 100.0,
                w.expected_share * 100.0
            ));
        }
        warnings.push(text);
    }
    if !sample.complete {
        warnings.push(format!(
            "The test is short of its plan: {} of {} days, {} / {} users per arm where the power calculation asked for {}. A significant result now is not the planned test; a flat one is inconclusive if its interval still holds the MDE ({:.1}%).",
            sample.days_run,
            sample.planned_days,
            counts[0],
            counts[1],
            sample.planned_users_per_arm,
            d.mde * 100.0
        ));
    }
    if let Some(pre) = &pre_period
        && pre.p_value < 0.01
    {
        warnings.push(format!(
            "The arms differ BEFORE the test: pre-period orders per user {:.3} vs {:.3} (p = {}). Randomisation is not balanced (carryover from an earlier test?).",
            pre.control,
            pre.treatment,
            crate::output::p_value(Some(pre.p_value))
        ));
    }
    if !d.phases.is_empty() {
        warnings.push(
            "The allocation changed during the test (see the design's phases): the pooled comparison mixes users of different periods in different proportions; compare within phases (`dropcase ab segments --by phase`).".into(),
        );
    }
    for line in lines.iter().filter(|l| l.regressed) {
        warnings.push(format!(
            "Guardrail {} is significantly worse (p = {}).",
            line.effect.metric,
            crate::output::p_value(Some(line.effect.p_value))
        ));
    }
    Ok(Readout {
        arms: data.arms.clone(),
        trustworthy: !srm.mismatch,
        srm,
        sample,
        pre_period,
        metrics: lines,
        cuped: cuped_line,
        segments,
        warnings,
    })
}

/// Pre-period orders per user by arm: an A/A check on behaviour before the test. When the
/// allocation changed, within the last phase (pooled, the phases' different user mixes
/// would show as an imbalance that randomisation did not cause).
pub fn compare_pre(data: &ExperimentData, brief: &ExperimentBrief) -> anyhow::Result<Effect> {
    let pre: Vec<Totals> =
        data.users.iter().map(|u| Totals { orders: u.pre_orders, ..Totals::default() }).collect();
    let from = brief.design.phases.last().map(|p| p.from);
    let include = |i: usize| from.is_none_or(|f| data.date(data.users[i].day) >= f);
    compare(data, &pre, Metric::OrdersPerUser, &include, brief.design.alpha)
}

fn primary_cuped(
    data: &ExperimentData,
    all: &[Totals],
    metric: Metric,
    alpha: f64,
) -> anyhow::Result<CupedLine> {
    anyhow::ensure!(metric.kind() != MetricKind::Ratio, "CUPED here covers per-user metrics");
    let mut sums = [Sums { n: 0, sum_x: 0.0, sum_y: 0.0, sum_x2: 0.0, sum_y2: 0.0, sum_xy: 0.0 }; 2];
    for (i, u) in data.users.iter().enumerate() {
        let (x, _) = user_value(metric, &all[i], f64::INFINITY);
        let y = u.pre_orders;
        let s = &mut sums[u.arm as usize];
        s.n += 1;
        s.sum_x += x;
        s.sum_y += y;
        s.sum_x2 += x * x;
        s.sum_y2 += y * y;
        s.sum_xy += x * y;
    }
    let c = Bivariate::from_sums("control", sums[0])?;
    let t = Bivariate::from_sums("treatment", sums[1])?;
    let r = cuped(&c, &t, alpha, Alternative::TwoSided)?;
    Ok(CupedLine {
        covariate: "pre_orders",
        lift: r.adjusted.lift,
        lift_ci: r.adjusted.lift_ci,
        p_value: r.adjusted.p_value,
        variance_reduction: r.variance_reduction,
    })
}

/// Daily and cumulative effects of one metric.
#[derive(Debug, Clone, Serialize)]
pub struct DailyRow {
    pub date: chrono::NaiveDate,
    pub day: u16,
    /// Users exposed so far, per arm.
    pub users: [u64; 2],
    /// The metric on this day among users exposed so far.
    pub daily: Option<Effect>,
    /// The metric from the start through this day.
    pub cumulative: Option<Effect>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Daily {
    pub metric: Metric,
    pub rows: Vec<DailyRow>,
    /// Weighted slope of the daily lift per day and its z (negative: the effect fades).
    pub trend_per_day: Option<f64>,
    pub trend_z: Option<f64>,
    pub note: String,
}

pub fn daily(data: &ExperimentData, brief: &ExperimentBrief, metric: Metric) -> anyhow::Result<Daily> {
    let alpha = brief.design.alpha;
    let mut rows = Vec::new();
    for day in 0..data.days {
        let exposed = |i: usize| data.users[i].day <= day;
        let today = totals(data, |d| d == day);
        let through = totals(data, |d| d <= day);
        let mut users = [0u64; 2];
        for u in data.users.iter().filter(|u| u.day <= day) {
            users[u.arm as usize] += 1;
        }
        rows.push(DailyRow {
            date: data.date(day),
            day,
            users,
            daily: compare(data, &today, metric, &exposed, alpha).ok(),
            cumulative: compare(data, &through, metric, &exposed, alpha).ok(),
        });
    }
    // Weighted least squares of the daily lift on the day index.
    let points: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            let e = r.daily.as_ref()?;
            let (lift, ci) = (e.lift?, e.lift_ci?);
            let se = ci.width() / (2.0 * 1.959_963_984_540_054);
            (se > 0.0 && se.is_finite()).then(|| (f64::from(r.day), lift, 1.0 / (se * se)))
        })
        .collect();
    let (slope, z) = if points.len() >= 3 {
        let w: f64 = points.iter().map(|p| p.2).sum();
        let mx = points.iter().map(|p| p.0 * p.2).sum::<f64>() / w;
        let my = points.iter().map(|p| p.1 * p.2).sum::<f64>() / w;
        let sxx: f64 = points.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
        let slope = sxy / sxx;
        (Some(slope), Some(slope * sxx.sqrt()))
    } else {
        (None, None)
    };
    let note = match z {
        Some(z) if z < -2.0 => "The daily lift falls significantly over the test: a novelty effect; judge the late days, not the total.".to_string(),
        Some(z) if z > 2.0 => "The daily lift rises significantly over the test: users adapt (primacy); the early days understate the steady state.".to_string(),
        _ => "No significant trend in the daily lift. The cumulative p-value wanders early: read it at the planned end, not at the first peek below alpha.".to_string(),
    };
    Ok(Daily { metric, rows, trend_per_day: slope, trend_z: z, note })
}

/// Per-segment effects of one metric, with Holm-adjusted p-values.
#[derive(Debug, Clone, Serialize)]
pub struct Segments {
    pub metric: Metric,
    pub dimension: String,
    pub rows: Vec<SegmentRow>,
    pub comparisons: usize,
    pub method: &'static str,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentRow {
    pub value: String,
    #[serde(flatten)]
    pub effect: Effect,
    pub p_adjusted: f64,
    pub significant_adjusted: bool,
}

/// Dimensions `segments` accepts: the assignment columns, plus `phase` when the allocation
/// changed during the test.
pub fn segment_dimensions(brief: &ExperimentBrief) -> Vec<&'static str> {
    let mut dims = DIMENSIONS.to_vec();
    if !brief.design.phases.is_empty() {
        dims.push("phase");
    }
    dims
}

/// Users of one segment, by index.
type UserFilter<'a> = Box<dyn Fn(usize) -> bool + 'a>;

pub fn segments(
    data: &ExperimentData,
    brief: &ExperimentBrief,
    metric: Metric,
    dim: &str,
) -> anyhow::Result<Segments> {
    let alpha = brief.design.alpha;
    let all = totals(data, |_| true);
    let allowed = segment_dimensions(brief);
    let groups: Vec<(String, UserFilter<'_>)> = if dim == "phase" && !brief.design.phases.is_empty() {
        let phases = &brief.design.phases;
        (0..phases.len())
            .map(|k| {
                let from = phases[k].from;
                let to = phases.get(k + 1).map(|p| p.from);
                let label = match to {
                    Some(to) => format!(
                        "{} to {} ({}/{})",
                        from,
                        to - chrono::Duration::days(1),
                        phases[k].weights[0],
                        phases[k].weights[1]
                    ),
                    None => format!("from {} ({}/{})", from, phases[k].weights[0], phases[k].weights[1]),
                };
                let f: Box<dyn Fn(usize) -> bool> = Box::new(move |i: usize| {
                    let date = data.date(data.users[i].day);
                    date >= from && to.is_none_or(|t| date < t)
                });
                (label, f)
            })
            .collect()
    } else {
        let Some(d) = DIMENSIONS.iter().position(|x| *x == dim) else {
            let hint = crate::suggest::nearest(dim, &allowed)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            anyhow::bail!("--by: unknown dimension '{dim}'{hint}; choose one of: {}", allowed.join(", "));
        };
        data.dim_values[d]
            .iter()
            .enumerate()
            .map(|(v, value)| {
                let f: Box<dyn Fn(usize) -> bool> =
                    Box::new(move |i: usize| data.users[i].dims[d] as usize == v);
                (value.clone(), f)
            })
            .collect()
    };
    let mut effects = Vec::new();
    for (label, include) in &groups {
        if let Ok(effect) = compare(data, &all, metric, include.as_ref(), alpha) {
            effects.push((label.clone(), effect));
        }
    }
    anyhow::ensure!(!effects.is_empty(), "no segment of {dim} has enough users to compare");
    let ps: Vec<f64> = effects.iter().map(|(_, e)| e.p_value).collect();
    let adjusted = adjust_p_values(&ps, AdjustMethod::Holm, alpha)?;
    let comparisons = effects.len();
    let rows: Vec<SegmentRow> = effects
        .into_iter()
        .enumerate()
        .map(|(k, (value, effect))| SegmentRow {
            value,
            effect,
            p_adjusted: adjusted.adjusted[k],
            significant_adjusted: adjusted.rejected[k],
        })
        .collect();
    let note = format!(
        "{comparisons} segments compared: at alpha {alpha} about {:.1} would look significant by chance alone if nothing differed. Holm-adjusted p-values control that; a segment found by slicing is a hypothesis to retest, not a result.",
        comparisons as f64 * alpha
    );
    Ok(Segments { metric, dimension: dim.to_string(), rows, comparisons, method: "holm", note })
}
