//! Charts of query results for `--plot`: a comparison becomes stacked mix/rate contribution
//! bars, a trend becomes lines per segment with the drill's windows shaded (and the cause's
//! start marked once the truth is revealed), a funnel becomes step rates side by side.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::brief::Brief;
use crate::output::signed_pct;
use crate::plot::{
    Contribution, ContributionChart, Estimate, FunnelChart, FunnelStepRates, Marker, Period, Point, Scale,
    Series, Shade, TrendChart,
};
use crate::query::{Comparison, Funnel, Grain, Metric, Segment, Trend};

fn label(segment: &Segment) -> String {
    let values: Vec<&str> = segment.values().map(|v| if v.is_empty() { "(none)" } else { v }).collect();
    if values.is_empty() { "all sessions".into() } else { values.join(" · ") }
}

fn span(brief_from: NaiveDate, brief_to: NaiveDate) -> String {
    format!("{}–{}", brief_from.format("%b %-d"), brief_to.format("%b %-d"))
}

pub fn comparison_chart(c: &Comparison, metric: &Metric) -> ContributionChart {
    let rows: Vec<Contribution> = c
        .segments
        .iter()
        .map(|s| Contribution {
            label: label(&s.segment),
            mix: s.mix_effect.unwrap_or(0.0),
            rate: s.rate_effect.unwrap_or(0.0),
        })
        .collect();
    let top = rows.iter().max_by(|a, b| a.net().abs().total_cmp(&b.net().abs()));
    let change = c.total.rel_change.map(signed_pct).unwrap_or_else(|| "–".into());
    let title = match top {
        Some(t) => format!(
            "{} {change}: {} explains the most ({} by {})",
            metric.name,
            t.label,
            metric.name,
            c.by.join(", ")
        ),
        None => format!("{} {change} by {}", metric.name, c.by.join(", ")),
    };
    let (scale, unit) = if metric.is_proportion() {
        (Scale::PercentPoints, "percentage points")
    } else {
        (Scale::Number, "metric units")
    };
    ContributionChart {
        title,
        x_label: format!(
            "contribution to the change in {} ({unit}); rate part and mix part stacked",
            metric.name
        ),
        scale,
        rows,
    }
}

fn period_start(text: &str) -> Option<NaiveDateTime> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_time(NaiveTime::MIN));
    }
    NaiveDateTime::parse_from_str(&format!("{text}:00"), "%Y-%m-%dT%H:%M:%S").ok()
}

/// `marker`: when the cause began, once the truth is revealed.
pub fn trend_chart(
    t: &Trend,
    metric: &Metric,
    brief: Option<&Brief>,
    marker: Option<NaiveDateTime>,
) -> TrendChart {
    let mut by_segment: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for p in &t.points {
        let Some(at) = period_start(&p.period) else { continue };
        by_segment.entry(label(&p.segment)).or_default().push(Point::new(at, p.value.unwrap_or(f64::NAN)));
    }
    // A segment with no value anywhere (e.g. no payment method before checkout) draws nothing.
    let series: Vec<Series> = by_segment
        .into_iter()
        .filter(|(_, points)| points.iter().any(|p| p.value.is_finite()))
        .map(|(label, points)| Series { label, points })
        .collect();
    let windows = brief
        .map(|b| {
            vec![
                Shade { label: "baseline".into(), from: b.baseline.from, to: b.baseline.to },
                Shade { label: "current".into(), from: b.current.from, to: b.current.to },
            ]
        })
        .unwrap_or_default();
    let period = match t.grain {
        Grain::Hour => Period::Hour,
        Grain::Day => Period::Day,
        Grain::Week => Period::Week,
    };
    let by = if t.by.is_empty() { String::new() } else { format!(" by {}", t.by.join(", ")) };
    let scale = if metric.is_proportion() { Scale::Percent } else { Scale::Number };
    TrendChart {
        title: format!("{} per {:?}{by}", metric.name, t.grain).to_lowercase(),
        y_label: if metric.is_proportion() {
            format!("{} (%)", metric.name)
        } else {
            metric.name.to_string()
        },
        scale,
        period,
        series,
        windows,
        marker: marker.map(|at| Marker { at, label: "cause began".into() }),
        reference: None,
    }
}

pub fn funnel_chart(f: &Funnel) -> FunnelChart {
    let mut steps = Vec::new();
    let mut previous: Option<(u64, u64)> = None;
    let mut last_segment: Option<String> = None;
    for step in &f.steps {
        let segment = label(&step.segment);
        if last_segment.as_ref() != Some(&segment) {
            previous = None;
            last_segment = Some(segment.clone());
        }
        if let Some((b0, c0)) = previous {
            let name =
                if f.by.is_empty() { step.step.to_string() } else { format!("{segment}: {}", step.step) };
            steps.push(FunnelStepRates {
                label: name,
                baseline: Estimate::proportion(step.baseline_count, b0),
                current: Estimate::proportion(step.current_count, c0),
                significant: step.p_value.is_some_and(|p| p < 0.05),
            });
        }
        previous = Some((step.baseline_count, step.current_count));
    }
    let worst = f
        .steps
        .iter()
        .filter(|s| s.p_value.is_some_and(|p| p < 0.05))
        .min_by(|a, b| a.rel_change.unwrap_or(0.0).total_cmp(&b.rel_change.unwrap_or(0.0)));
    let title = match worst {
        Some(s) => format!(
            "{}{} rate moved {} (p = {})",
            if f.by.is_empty() { String::new() } else { format!("{}: ", label(&s.segment)) },
            s.step,
            s.rel_change.map(signed_pct).unwrap_or_default(),
            crate::output::p_value(s.p_value)
        ),
        None => "No funnel step moved significantly".into(),
    };
    FunnelChart {
        title,
        windows: [
            format!("baseline {}", span(f.baseline.from, f.baseline.to)),
            format!("current {}", span(f.current.from, f.current.to)),
        ],
        steps,
    }
}
