//! `query funnel`: sessions through each funnel step in both windows, each step's rate from
//! the step before, the changes and a two-proportion test per step — so the step that broke
//! stands out from the steps that merely inherit its loss.

use serde::Serialize;

use super::engine::{Buckets, Request, aggregate};
use super::significance::two_proportion_p;
use super::{Filter, Measure, Segment, difference, relative};
use crate::brief::Window;
use crate::dataset::Dataset;

#[derive(Debug, Clone)]
pub struct FunnelSpec {
    pub by: Vec<String>,
    pub filter: Filter,
    pub baseline: Window,
    pub current: Window,
}

/// The result of `query funnel`.
#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    pub by: Vec<String>,
    pub baseline: Window,
    pub current: Window,
    /// Per segment (in segment order), the five steps in funnel order.
    pub steps: Vec<FunnelStep>,
    #[serde(skip)]
    pub from_rollup: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunnelStep {
    #[serde(flatten)]
    pub segment: Segment,
    /// `sessions`, `viewed_product`, `added_to_cart`, `reached_checkout`, `purchased`.
    pub step: &'static str,
    pub baseline_count: u64,
    pub current_count: u64,
    /// Relative change of the count.
    pub count_change: Option<f64>,
    /// Share of the previous step's sessions that reached this step (none for `sessions`).
    pub baseline_rate: Option<f64>,
    pub current_rate: Option<f64>,
    /// Change of the step rate, in proportion points (0.01 = one percentage point).
    pub abs_change: Option<f64>,
    pub rel_change: Option<f64>,
    /// Two-proportion z-test of the step rate.
    pub p_value: Option<f64>,
}

/// The funnel's rows: the row count, then each step's flag, in the product's order.
fn steps(ds: &Dataset) -> Vec<(Measure, &'static str)> {
    let product = ds.product;
    let rows = crate::product::registry::intern(&product.rows);
    let mut out = vec![(Measure::Rows(rows), rows)];
    for step in &product.steps {
        let column = crate::product::registry::intern(&step.column);
        out.push((Measure::Flag(column), column));
    }
    out
}

pub fn funnel(ds: &Dataset, spec: &FunnelSpec) -> anyhow::Result<Funnel> {
    let funnel_steps = steps(ds);
    let measures: Vec<Measure> = funnel_steps.iter().map(|(m, _)| *m).collect();
    let request = Request {
        measures: &measures,
        by: &spec.by,
        filter: &spec.filter,
        buckets: Buckets::Windows(spec.baseline, spec.current),
        needed_by: "the funnel",
    };
    let aggregates = aggregate(ds, &request)?;
    let mut keys = aggregates.keys.clone();
    if keys.is_empty() && spec.by.is_empty() {
        keys.push(Vec::new());
    }
    let zeros = vec![0.0; funnel_steps.len()];
    let mut steps = Vec::new();
    for key in &keys {
        let before = aggregates.get(0, key).unwrap_or(&zeros);
        let after = aggregates.get(1, key).unwrap_or(&zeros);
        for (i, (_, name)) in funnel_steps.iter().enumerate() {
            let (c0, c1) = (before[i], after[i]);
            let rate = |counts: &[f64]| (i > 0 && counts[i - 1] > 0.0).then(|| counts[i] / counts[i - 1]);
            let (r0, r1) = (rate(before), rate(after));
            let p_value = if i > 0 { two_proportion_p(c0, before[i - 1], c1, after[i - 1]) } else { None };
            steps.push(FunnelStep {
                segment: Segment::new(&spec.by, key),
                step: name,
                baseline_count: c0.round() as u64,
                current_count: c1.round() as u64,
                count_change: relative(Some(c0), Some(c1)),
                baseline_rate: r0,
                current_rate: r1,
                abs_change: difference(r0, r1),
                rel_change: relative(r0, r1),
                p_value,
            });
        }
    }
    Ok(Funnel {
        by: spec.by.clone(),
        baseline: spec.baseline,
        current: spec.current,
        steps,
        from_rollup: aggregates.from_rollup,
    })
}
