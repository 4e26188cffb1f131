//! `query trend`: a metric's series per hour, day or week, per segment — where a step change
//! starts and whether it grows (a rollout) or stops (an outage).

use serde::Serialize;

use super::engine::{Buckets, Grain, Request, aggregate, bucket_time};
use super::{Filter, Metric, Segment, Stat, layout};
use crate::brief::Window;
use crate::dataset::Dataset;

#[derive(Debug, Clone)]
pub struct TrendSpec {
    pub metric: &'static Metric,
    pub by: Vec<String>,
    pub filter: Filter,
    pub grain: Grain,
    /// Only these dates; all of the data when absent.
    pub window: Option<Window>,
}

/// The result of `query trend`.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub metric: String,
    pub by: Vec<String>,
    pub grain: Grain,
    /// One point per period × segment, periods ascending; a segment without rows in a
    /// period still has its point (n = 0).
    pub points: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrendPoint {
    /// Period start: `YYYY-MM-DD` for days and weeks (weeks start on Monday),
    /// `YYYY-MM-DDTHH:00` for hours.
    pub period: String,
    #[serde(flatten)]
    pub segment: Segment,
    pub value: Option<f64>,
    pub n: u64,
}

pub fn trend(ds: &Dataset, spec: &TrendSpec) -> anyhow::Result<Trend> {
    if let Some(window) = &spec.window {
        ds.check_window("--window", window)?;
    }
    let (measures, layout) = layout(spec.metric);
    let needed_by = format!("metric {}", spec.metric.name);
    let request = Request {
        measures: &measures,
        by: &spec.by,
        filter: &spec.filter,
        buckets: Buckets::Grain(spec.grain, spec.window),
        needed_by: &needed_by,
    };
    let aggregates = aggregate(ds, &request)?;
    let mut points = Vec::new();
    for bucket in aggregates.buckets() {
        let start = bucket_time(bucket);
        let period = match spec.grain {
            Grain::Hour => start.format("%Y-%m-%dT%H:00").to_string(),
            Grain::Day | Grain::Week => start.format("%Y-%m-%d").to_string(),
        };
        for key in &aggregates.keys {
            let stat = Stat::from_values(&layout, aggregates.get(bucket, key));
            points.push(TrendPoint {
                period: period.clone(),
                segment: Segment::new(&spec.by, key),
                value: stat.value(spec.metric),
                n: stat.n.max(0.0).round() as u64,
            });
        }
    }
    Ok(Trend { metric: spec.metric.name.to_string(), by: spec.by.clone(), grain: spec.grain, points })
}
