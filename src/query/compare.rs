//! `query compare`: each segment's value in the baseline and current windows, its change,
//! its traffic share, its mix and rate effects on the overall change (they sum exactly to
//! it, see [`super::decompose`]), its share of the change and a test of its own change.

use serde::Serialize;

use super::decompose::{Cell, Effects, decompose_ratio_with_references, decompose_total};
use super::engine::{Buckets, Key, Request, aggregate, aggregate_with_whole};
use super::significance::{Moments, count_rate_p, two_proportion_p, welch_p};
use super::{Filter, Kind, Metric, Segment, Stat, difference, layout, relative};
use crate::brief::Window;
use crate::dataset::Dataset;

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareSpec {
    pub metric: &'static Metric,
    pub by: Vec<String>,
    pub filter: Filter,
    pub baseline: Window,
    pub current: Window,
    /// Keep the N segments that contribute most; the rest fold into one `(other)` row.
    pub top: Option<usize>,
}

/// The result of `query compare` (its JSON is a documented contract).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub metric: String,
    pub by: Vec<String>,
    pub baseline: Window,
    pub current: Window,
    pub segments: Vec<SegmentChange>,
    pub total: SegmentChange,
    /// Whether the answer came from the pre-aggregated rollup (not part of the JSON).
    #[serde(skip)]
    pub from_rollup: bool,
}

/// One row of a comparison: a segment (or the total) in both windows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentChange {
    #[serde(flatten)]
    pub segment: Segment,
    pub baseline_value: Option<f64>,
    pub current_value: Option<f64>,
    pub abs_change: Option<f64>,
    pub rel_change: Option<f64>,
    pub baseline_n: u64,
    pub current_n: u64,
    pub baseline_share: Option<f64>,
    pub current_share: Option<f64>,
    pub mix_effect: Option<f64>,
    pub rate_effect: Option<f64>,
    pub contribution: Option<f64>,
    /// 95% interval of `contribution` (delta method, as `diagnose`'s `contribution_interval`):
    /// the effect's variance is s1² var(r1) + s0² var(r0) for a rate or mean (s the
    /// segment's shares, shares held fixed), the two windows' Poisson variances for a count
    /// or total. Empty for the total row, `(other)` and metrics without a decomposition.
    pub contribution_interval: Option<[f64; 2]>,
    /// `finding`, or `uncertain` when the contribution is below the smallest effect the
    /// segment's size can detect (2.8 standard errors), so its interval may span zero.
    pub contribution_status: Option<String>,
    pub p_value: Option<f64>,
    /// A segment with no baseline sessions (a new app version): its `abs_change`,
    /// `rel_change`, `rate_effect` and `p_value` are measured against `baseline_reference`.
    pub new_segment: bool,
    /// For a new segment of a rate or mean: the baseline it is measured against, that of its
    /// parent segment (itself with the new dimension values dropped; the whole population
    /// when none is left). `baseline_value` stays empty: it had no baseline of its own.
    pub baseline_reference: Option<BaselineReference>,
}

/// The baseline a new segment is measured against.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BaselineReference {
    /// The parent segment, `{}` for the whole population.
    pub segment: Segment,
    pub value: Option<f64>,
    pub n: u64,
}

/// Label of the row that folds the segments beyond `--top`.
pub const OTHER: &str = "(other)";

/// Compares `spec.metric` between the two windows, segment by segment.
pub fn compare_segments(ds: &Dataset, spec: &CompareSpec) -> anyhow::Result<Comparison> {
    let metric = spec.metric;
    let (measures, layout) = layout(metric);
    let buckets = Buckets::Windows(spec.baseline, spec.current);
    let needed_by = format!("metric {}", metric.name);
    let request =
        Request { measures: &measures, by: &spec.by, filter: &spec.filter, buckets, needed_by: &needed_by };
    // The whole population: the sum of segments when the metric adds up, else its own
    // aggregation (of the same rows, read once).
    let (aggregates, whole) = if metric.is_decomposable() || spec.by.is_empty() {
        (aggregate(ds, &request)?, None)
    } else {
        let (by, whole) = aggregate_with_whole(ds, &request)?;
        (by, Some(whole))
    };
    let cells: Vec<(Key, Stat, Stat)> = aggregates
        .keys
        .iter()
        .map(|key| {
            let at = |bucket| Stat::from_values(&layout, aggregates.get(bucket, key));
            (key.clone(), at(0), at(1))
        })
        .collect();

    let (total0, total1) = match &whole {
        None => {
            cells.iter().fold((Stat::default(), Stat::default()), |(a, b), (_, x, y)| (a.add(x), b.add(y)))
        }
        Some(whole) => {
            let at = |bucket| Stat::from_values(&layout, whole.get(bucket, &Vec::new()));
            (at(0), at(1))
        }
    };
    let days = (spec.baseline.days() as f64, spec.current.days() as f64);
    let sum_base =
        |pick: fn(&(Key, Stat, Stat)) -> &Stat| -> f64 { cells.iter().map(|c| pick(c).base(metric)).sum() };
    let (base0, base1) = (sum_base(|c| &c.1), sum_base(|c| &c.2));

    // A new segment of a ratio metric is measured against its parent's baseline.
    let references: Vec<Option<(Segment, Stat)>> = cells
        .iter()
        .map(|(key, a, b)| {
            // Only where segments add up: a parent's baseline is then the sum of its cells.
            let ratio = matches!(metric.kind, Kind::Rate | Kind::Mean) && metric.is_decomposable();
            let new = a.base(metric) <= 0.0 && b.base(metric) > 0.0;
            (ratio && new).then(|| parent_baseline(&spec.by, key, &cells, metric, &total0))
        })
        .collect();

    let effects: Option<Vec<Effects>> = if metric.is_decomposable() {
        let pairs: Vec<(Cell, Cell)> = cells
            .iter()
            .map(|(_, a, b)| {
                let cell = |s: &Stat| Cell { num: s.num, den: s.base(metric) };
                (cell(a), cell(b))
            })
            .collect();
        match metric.kind {
            Kind::Count | Kind::Sum => Some(decompose_total(&pairs)),
            _ => {
                let rates: Vec<Option<f64>> =
                    references.iter().map(|r| r.as_ref().and_then(|(_, stat)| stat.value(metric))).collect();
                decompose_ratio_with_references(&pairs, &rates)
            }
        }
    } else {
        None
    };

    let mut total = row(metric, Segment::default(), &total0, &total1, days);
    total.baseline_share = (total0.base(metric) > 0.0).then_some(1.0);
    total.current_share = (total1.base(metric) > 0.0).then_some(1.0);
    if let Some(effects) = &effects {
        total.mix_effect = Some(effects.iter().map(|e| e.mix).sum());
        total.rate_effect = Some(effects.iter().map(|e| e.rate).sum());
        total.contribution = total.abs_change.filter(|c| *c != 0.0).map(|_| 1.0);
    }
    let total_change = total.abs_change.filter(|c| *c != 0.0 && c.is_finite());

    let mut segments: Vec<SegmentChange> = cells
        .iter()
        .enumerate()
        .map(|(i, (key, a, b))| {
            let mut r = match &references[i] {
                Some((parent, reference)) => {
                    new_segment_row(metric, Segment::new(&spec.by, key), parent, reference, b, days)
                }
                None => row(metric, Segment::new(&spec.by, key), a, b, days),
            };
            let share = |x: f64, all: f64| (all > 0.0).then(|| x / all);
            r.baseline_share = share(a.base(metric), base0);
            r.current_share = share(b.base(metric), base1);
            if let Some(effects) = &effects {
                let e = effects[i];
                r.mix_effect = Some(e.mix);
                r.rate_effect = Some(e.rate);
                r.contribution = total_change.map(|t| (e.mix + e.rate) / t);
                let shares = (a.base(metric) / base0, b.base(metric) / base1);
                let reference = references[i].is_some();
                if let (Some(c), Some(sd)) = (r.contribution, effect_sd(metric, a, b, shares, reference)) {
                    let effect = (e.mix + e.rate).abs();
                    let relative_se = if effect > 0.0 { sd / effect } else { f64::INFINITY };
                    r.contribution_interval = Some(crate::diagnose::contribution_interval(c, relative_se));
                    r.contribution_status = Some(crate::diagnose::status(relative_se).to_string());
                }
            }
            r
        })
        .collect();
    sort_by_contribution(&mut segments, total_change.unwrap_or(-1.0));
    if let Some(top) = spec.top {
        fold_tail(&mut segments, top, &spec.by);
    }
    Ok(Comparison {
        metric: metric.name.to_string(),
        by: spec.by.clone(),
        baseline: spec.baseline,
        current: spec.current,
        segments,
        total,
        from_rollup: aggregates.from_rollup,
    })
}

/// The parent of a segment new in the current window, and the parent's baseline: the
/// segment with its new dimension values dropped (values no baseline cell has), or with its
/// last dimension dropped when only the combination is new; the whole population's
/// baseline when no dimension is left or the parent has no baseline either.
fn parent_baseline(
    by: &[String],
    key: &Key,
    cells: &[(Key, Stat, Stat)],
    metric: &Metric,
    total0: &Stat,
) -> (Segment, Stat) {
    let in_baseline = |d: usize, value: &Option<String>| {
        cells.iter().any(|(k, a, _)| a.base(metric) > 0.0 && &k[d] == value)
    };
    let mut keep: Vec<bool> = key.iter().enumerate().map(|(d, v)| in_baseline(d, v)).collect();
    if keep.iter().all(|k| *k)
        && let Some(last) = keep.last_mut()
    {
        *last = false;
    }
    let matches = |k: &Key| k.iter().zip(key).zip(&keep).all(|((x, y), kept)| !kept || x == y);
    let parent =
        cells.iter().filter(|(k, _, _)| matches(k)).fold(Stat::default(), |sum, (_, a, _)| sum.add(a));
    let kept: Vec<(String, Option<String>)> = by
        .iter()
        .zip(key)
        .zip(&keep)
        .filter(|(_, kept)| **kept)
        .map(|((d, v), _)| (d.clone(), v.clone()))
        .collect();
    if kept.is_empty() || parent.base(metric) <= 0.0 {
        (Segment::default(), *total0)
    } else {
        (Segment(kept), parent)
    }
}

/// A segment new in the current window, measured against its parent's baseline: the
/// change, the test and the size of the parent's baseline, with no baseline value or share
/// of its own.
fn new_segment_row(
    metric: &Metric,
    segment: Segment,
    parent: &Segment,
    reference: &Stat,
    b: &Stat,
    days: (f64, f64),
) -> SegmentChange {
    let mut r = row(metric, segment, reference, b, days);
    r.baseline_reference =
        Some(BaselineReference { segment: parent.clone(), value: r.baseline_value, n: r.baseline_n });
    r.baseline_value = None;
    r.baseline_n = 0;
    r.new_segment = true;
    r
}

/// Delta-method standard deviation of a segment's effect on the overall change (mix plus
/// rate, see [`super::decompose`]). For a ratio the effect is
/// (s1 − s0)((r0 + r1)/2 − R̄) + (r1 − r0)(s0 + s1)/2, whose derivatives in r1 and r0 are s1
/// and −s0, so var = s1² var(r1) + s0² var(r0) with shares held fixed; a new segment measured
/// against its parent's baseline keeps only the current term. Counts are Poisson in each
/// window (var = a + b), totals compound Poisson (Σx² per window). `None` without the
/// moments (a total without its sum of squares, a percentile).
fn effect_sd(metric: &Metric, a: &Stat, b: &Stat, (s0, s1): (f64, f64), new_segment: bool) -> Option<f64> {
    let rate_var = |s: &Stat| -> Option<f64> {
        if s.den <= 0.0 {
            return Some(0.0);
        }
        let r = s.num / s.den;
        match metric.kind {
            Kind::Rate => Some(r * (1.0 - r).max(0.0) / s.den),
            Kind::Mean => metric.sum_sq.map(|_| (s.sum_sq / s.den - r * r).max(0.0) / s.den),
            _ => None,
        }
    };
    let variance = match metric.kind {
        Kind::Rate | Kind::Mean => {
            let before = if new_segment { 0.0 } else { s0 * s0 * rate_var(a)? };
            s1 * s1 * rate_var(b)? + before
        }
        Kind::Count => a.num.max(0.0) + b.num.max(0.0),
        Kind::Sum => {
            metric.sum_sq?;
            a.sum_sq + b.sum_sq
        }
        // Distinct users over windows overlap day to day: no honest variance from counts.
        Kind::Percentile | Kind::ActiveUsers => return None,
    };
    (variance.is_finite() && variance >= 0.0).then(|| variance.sqrt())
}

/// Values, changes, sizes and the test of one segment (shares and effects left empty).
fn row(metric: &Metric, segment: Segment, a: &Stat, b: &Stat, days: (f64, f64)) -> SegmentChange {
    let (v0, v1) = (a.value(metric), b.value(metric));
    let p_value = match metric.kind {
        Kind::Rate => two_proportion_p(a.num, a.den, b.num, b.den),
        Kind::Mean => metric.sum_sq.and_then(|_| {
            welch_p(
                Moments { n: a.den, sum: a.num, sum_sq: a.sum_sq },
                Moments { n: b.den, sum: b.num, sum_sq: b.sum_sq },
            )
        }),
        Kind::Count => count_rate_p(a.num, days.0, b.num, days.1),
        Kind::Sum | Kind::Percentile | Kind::ActiveUsers => None,
    };
    // An empty side gives no evidence either way.
    let p_value = p_value.filter(|_| a.n > 0.0 && b.n > 0.0);
    SegmentChange {
        segment,
        baseline_value: v0,
        current_value: v1,
        abs_change: difference(v0, v1),
        rel_change: relative(v0, v1),
        baseline_n: a.n.max(0.0).round() as u64,
        current_n: b.n.max(0.0).round() as u64,
        baseline_share: None,
        current_share: None,
        mix_effect: None,
        rate_effect: None,
        contribution: None,
        contribution_interval: None,
        contribution_status: None,
        p_value,
        new_segment: false,
        baseline_reference: None,
    }
}

/// Largest share of the overall change first; without a decomposition, the largest
/// share-weighted change in the overall direction first. Ties by segment, for stable output.
fn sort_by_contribution(segments: &mut [SegmentChange], total_change: f64) {
    let score = |r: &SegmentChange| -> f64 {
        match r.contribution {
            Some(c) => c,
            None => {
                let change = r.abs_change.unwrap_or(0.0) * total_change.signum();
                change * r.current_share.or(r.baseline_share).unwrap_or(0.0)
            }
        }
    };
    // Rounded so that rounding noise (±1e-17 for a segment that nets to zero) cannot
    // reorder ties.
    let rounded = |r: &SegmentChange| (score(r) * 1e9).round();
    segments.sort_by(|a, b| rounded(b).total_cmp(&rounded(a)).then_with(|| a.segment.0.cmp(&b.segment.0)));
}

/// Keeps `top` rows and folds the rest into one `(other)` row whose effects, shares and
/// sizes are the sums of theirs, so the rows still add up to the total.
fn fold_tail(segments: &mut Vec<SegmentChange>, top: usize, by: &[String]) {
    if segments.len() <= top {
        return;
    }
    let tail = segments.split_off(top);
    let sum = |f: fn(&SegmentChange) -> Option<f64>| -> Option<f64> {
        tail.iter().map(f).try_fold(0.0, |acc, x| x.map(|x| acc + x))
    };
    let key: Vec<Option<String>> = by.iter().map(|_| Some(OTHER.to_string())).collect();
    segments.push(SegmentChange {
        segment: Segment::new(by, &key),
        baseline_value: None,
        current_value: None,
        abs_change: None,
        rel_change: None,
        baseline_n: tail.iter().map(|r| r.baseline_n).sum(),
        current_n: tail.iter().map(|r| r.current_n).sum(),
        baseline_share: sum(|r| r.baseline_share),
        current_share: sum(|r| r.current_share),
        mix_effect: sum(|r| r.mix_effect),
        rate_effect: sum(|r| r.rate_effect),
        contribution: sum(|r| r.contribution),
        contribution_interval: None,
        contribution_status: None,
        p_value: None,
        new_segment: false,
        baseline_reference: None,
    });
}
