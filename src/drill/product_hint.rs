//! Staged hints for drills of products other than the shop, in the same order as the
//! shop's ([`super::hint::STAGES`]), computed through the query layer from the drill's
//! product: its headline metric, its second sources, its funnel steps and dimensions.

use std::path::Path;

use crate::brief::Brief;
use crate::dataset::Dataset;
use crate::generate::Truth;
use crate::output::{pct, signed_pct};
use crate::query::{CompareSpec, Filter, FunnelSpec, Metric, compare_segments, funnel};
use crate::scenario::Group;

use super::hint::STAGES;

fn change(before: f64, after: f64) -> f64 {
    after / before - 1.0
}

fn value(v: Option<f64>, metric: &Metric) -> String {
    match v {
        Some(x) if metric.is_proportion() => pct(x),
        Some(x) => format!("{x:.1}"),
        None => "n/a".into(),
    }
}

/// Hint number `stage` (0-based) for a product drill.
pub fn hint(dir: &Path, brief: &Brief, truth: &Truth, stage: usize) -> anyhow::Result<String> {
    let ds = Dataset::open(Some(dir), None)?;
    let product = ds.product;
    let compare = |metric: &'static Metric, by: Vec<String>| {
        compare_segments(
            &ds,
            &CompareSpec {
                metric,
                by,
                filter: Filter::default(),
                baseline: brief.baseline,
                current: brief.current,
                top: None,
            },
        )
    };
    let headline = Metric::find_in(ds.metrics(), &brief.metric)?;
    Ok(match stage {
        0 => {
            let c = compare(headline, Vec::new())?;
            let weekdays = |w: &crate::brief::Window| {
                (0..w.days())
                    .map(|i| (w.from + chrono::Duration::days(i)).format("%a").to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            format!(
                "{}: {} vs {}. {} is {} in the baseline and {} now ({}): {}. Do both windows hold the same weekdays? baseline: {}; current: {}.",
                STAGES[0],
                brief.baseline,
                brief.current,
                headline.name,
                value(c.total.baseline_value, headline),
                value(c.total.current_value, headline),
                c.total.rel_change.map(signed_pct).unwrap_or_else(|| "n/a".into()),
                headline.definition,
                weekdays(&brief.baseline),
                weekdays(&brief.current)
            )
        }
        1 => {
            let rows = Metric::find_in(ds.metrics(), &product.rows)
                .ok()
                .or_else(|| ds.metrics().iter().find(|m| m.kind == crate::query::Kind::Count));
            let mut parts = Vec::new();
            for metric in rows.into_iter().chain(
                ds.metrics().iter().filter(|m| m.denominator.is_none() && m.numerator.source().is_some()),
            ) {
                let c = compare(metric, Vec::new())?;
                parts.push(format!(
                    "{} {}",
                    metric.name,
                    c.total.rel_change.map(signed_pct).unwrap_or_else(|| "n/a".into())
                ));
            }
            format!(
                "{}: {}. If the client and the backend disagree, suspect the measurement before the product ({}).",
                STAGES[1],
                parts.join(", "),
                product
                    .sources
                    .iter()
                    .map(|s| format!("{}: {}", s.name, s.about))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
        2 => {
            let f = funnel(
                &ds,
                &FunnelSpec {
                    by: Vec::new(),
                    filter: Filter::default(),
                    baseline: brief.baseline,
                    current: brief.current,
                },
            )?;
            let rates: Vec<String> = f
                .steps
                .iter()
                .skip(1)
                .map(|s| {
                    format!(
                        "{} {} → {} ({})",
                        s.step,
                        s.baseline_rate.map(pct).unwrap_or_default(),
                        s.current_rate.map(pct).unwrap_or_default(),
                        match (s.baseline_rate, s.current_rate) {
                            (Some(a), Some(b)) => signed_pct(change(a, b)),
                            _ => "n/a".into(),
                        }
                    )
                })
                .collect();
            format!(
                "{}: {}. Which step carries the change, or is it the volume of rows? `dropcase query funnel`",
                STAGES[2],
                rates.join("; ")
            )
        }
        3 => {
            let dim = truth
                .segment
                .keys()
                .find(|d| d.as_str() != "platform")
                .or(truth.segment.keys().next())
                .cloned()
                .or_else(|| truth.family.def().hint_by.clone())
                .unwrap_or_else(|| product.dimension_names().first().cloned().unwrap_or_default());
            let metric = truth
                .stage
                .and_then(|s| product.step_metric(s.name()))
                .filter(|m| m.is_decomposable())
                .unwrap_or(headline);
            let c = compare(metric, vec![dim.clone()])?;
            let rows: Vec<String> = c
                .segments
                .iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s.segment.values().collect::<Vec<_>>().join(","),
                        s.rel_change.map(signed_pct).unwrap_or_else(|| "n/a".into())
                    )
                })
                .collect();
            format!(
                "{}: {metric} by {dim}: {}. Does one value move differently? `dropcase query compare --by {dim} --metric {metric}`",
                STAGES[3],
                rows.join("; "),
                metric = metric.name
            )
        }
        4 => {
            let advice = match truth.family.group() {
                Group::Measurement | Group::Product => {
                    "the context logs (context/releases.csv, config_changes.csv) list our own changes; line their dates up with the daily trend"
                }
                Group::Mix => {
                    "compare each segment's rate with its share of rows: did the rates move, or did the mix?"
                }
                Group::Seasonality => {
                    "look at the calendar: what was special about some days, and in which segment?"
                }
                Group::External => {
                    "our own logs may not explain it: look for a partner or a dimension we do not control with its own timing"
                }
                Group::None => {
                    "ask whether anything changed at all: is any segment or step outside its normal variation?"
                }
            };
            format!("{}: {advice}. `dropcase query trend --metric {} --grain day`", STAGES[4], headline.name)
        }
        _ => {
            let mut text = format!(
                "{}: it is {} ({} group): {}.",
                STAGES[5],
                truth.family,
                truth.family.group().name(),
                truth.family.signature()
            );
            let mut command = format!("dropcase drill answer --cause {}", truth.family);
            if !truth.segment.is_empty() {
                command.push_str(" --where <the segment>");
            }
            if truth.stage.is_some() {
                command.push_str(" --stage <the step>");
            }
            command.push_str(" --start <the day it began>");
            text.push_str(&format!(" Answer with `{command}`"));
            text
        }
    })
}
