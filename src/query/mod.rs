//! Investigation queries over any dataset: the metric registry, `compare` (per-segment
//! change with a mix/rate decomposition and tests), `trend`, `funnel` and `sql`. Results
//! are plain serde structs; the CLI renders them as tables, CSV or JSON.

pub mod active;
pub mod compare;
pub mod decompose;
pub mod engine;
pub mod filter;
pub mod funnel;
pub mod metric;
pub mod significance;
pub mod sql;
pub mod trend;

use serde::Serialize;
use serde::ser::SerializeMap;

pub use compare::{CompareSpec, Comparison, SegmentChange, compare_segments};
pub use engine::Grain;
pub use filter::Filter;
pub use funnel::{Funnel, FunnelSpec, FunnelStep, funnel};
pub use metric::{Kind, Measure, Metric, shop_metrics};
pub use trend::{Trend, TrendPoint, TrendSpec, trend};

/// `" (did you mean 'x'?)"`, or nothing when no candidate is near.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    crate::suggest::nearest(word, &candidates).map(|c| format!(" (did you mean '{c}'?)")).unwrap_or_default()
}

/// A segment's dimension values, in `--by` order. Serialises as `{"platform": "android"}`
/// so result rows can flatten it into their own fields; a missing value is `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment(pub Vec<(String, Option<String>)>);

impl Segment {
    pub fn new(by: &[String], key: &[Option<String>]) -> Self {
        Self(by.iter().cloned().zip(key.iter().cloned()).collect())
    }

    /// Values as printed in tables and CSV: a missing value is empty.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, v)| v.as_deref().unwrap_or(""))
    }
}

impl Serialize for Segment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (dim, value) in &self.0 {
            map.serialize_entry(dim, value)?;
        }
        map.end()
    }
}

/// Where a metric's inputs sit in the measures a query computes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    numerator: usize,
    denominator: Option<usize>,
    sum_sq: Option<usize>,
    /// The units counted as the segment's size (`baseline_n`, `current_n`).
    n: usize,
}

/// The measures to compute for `metric` and where each input sits among them.
pub(crate) fn layout(metric: &Metric) -> (Vec<Measure>, Layout) {
    let mut measures = metric.measures();
    let position = |m: Measure, measures: &mut Vec<Measure>| {
        measures.iter().position(|x| *x == m).unwrap_or_else(|| {
            measures.push(m);
            measures.len() - 1
        })
    };
    let n_measure = match metric.kind {
        Kind::Count | Kind::ActiveUsers => metric.numerator,
        Kind::Rate | Kind::Mean => metric.denominator.expect("ratios have a denominator"),
        Kind::Sum | Kind::Percentile => Measure::Sessions,
    };
    let layout = Layout {
        numerator: 0,
        denominator: metric.denominator.map(|_| 1),
        sum_sq: metric.sum_sq.map(|_| 2),
        n: position(n_measure, &mut measures),
    };
    (measures, layout)
}

/// A metric's inputs in one bucket × segment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Stat {
    pub num: f64,
    pub den: f64,
    pub sum_sq: f64,
    pub n: f64,
    /// Whether the cell held any rows.
    pub present: bool,
}

impl Stat {
    pub fn from_values(layout: &Layout, values: Option<&[f64]>) -> Self {
        let Some(v) = values else { return Self::default() };
        Self {
            num: v[layout.numerator],
            den: layout.denominator.map_or(0.0, |i| v[i]),
            sum_sq: layout.sum_sq.map_or(0.0, |i| v[i]),
            n: v[layout.n],
            present: true,
        }
    }

    /// Sums two cells of an additive metric.
    pub fn add(&self, other: &Stat) -> Stat {
        Stat {
            num: self.num + other.num,
            den: self.den + other.den,
            sum_sq: self.sum_sq + other.sum_sq,
            n: self.n + other.n,
            present: self.present || other.present,
        }
    }

    /// The metric's value; `None` when undefined (an empty segment of a ratio).
    pub fn value(&self, metric: &Metric) -> Option<f64> {
        match metric.kind {
            Kind::Count | Kind::Sum | Kind::ActiveUsers => Some(self.num),
            Kind::Rate | Kind::Mean => (self.den > 0.0).then(|| self.num / self.den),
            Kind::Percentile => (self.present && self.num.is_finite()).then_some(self.num),
        }
    }

    /// What the segment's share is a share of: the denominator of a ratio, the count of a
    /// total, sessions for a percentile.
    pub fn base(&self, metric: &Metric) -> f64 {
        match metric.kind {
            Kind::Rate | Kind::Mean => self.den,
            Kind::Count | Kind::Sum | Kind::ActiveUsers => self.num,
            Kind::Percentile => self.n,
        }
    }
}

/// Relative change, `None` from a zero or missing baseline.
pub(crate) fn relative(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if b != 0.0 => Some((a - b) / b.abs()),
        _ => None,
    }
}

pub(crate) fn difference(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}
