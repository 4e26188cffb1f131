//! Staged hints that follow the accepted order of a metric-drop diagnosis: clarify the
//! metric and windows → check data quality and the second source → decompose into funnel
//! steps → cut by segments → internal vs external → name the cause. Each is computed from
//! this drill's data; only the last names the answer. The segment hint follows what the
//! diagnose engine ([`crate::diagnose::drill`]) reads in the data, not the sealed answer.

use std::path::Path;

use crate::brief::Brief;
use crate::diagnose::drill::{DrillDiagnosis, Metric, diagnose_drill};
use crate::diagnose::{Algorithm, Settings};
use crate::generate::Truth;
use crate::generate::check::two_proportion_p;
use crate::output::{p_value, pct, signed_pct};
use crate::scenario::{Family, Group, Stage};

use super::evidence::{self, Totals};

pub const STAGES: [&str; 6] = [
    "clarify the metric and windows",
    "check data quality and the second source",
    "decompose the metric into funnel steps",
    "cut by segments",
    "internal or external",
    "name the cause",
];

fn change(before: f64, after: f64) -> f64 {
    after / before - 1.0
}

/// The dimension most worth cutting for this truth.
pub fn dimension_to_cut(truth: &Truth) -> &str {
    if let Some((dim, _)) = truth.segment.iter().find(|(d, _)| d.as_str() != "platform") {
        return dim;
    }
    if let Some((dim, _)) = truth.segment.iter().next() {
        return dim;
    }
    match truth.family {
        Family::LatencyRegression => "device",
        Family::NewReturningMix => "user_type",
        Family::LowIntentCampaign | Family::HighIntentChannelEnd | Family::BotTraffic => "traffic_source",
        _ => "platform",
    }
}

/// The dimension the engine's reading of the data points at: the top localised cause's
/// first term (preferring one that is not `platform`, which the other terms usually imply),
/// or for a mix shift the dimension whose mix moved the rate most. `None` when the engine
/// sees nothing to cut.
pub fn engine_dimension(diagnosis: &DrillDiagnosis, truth: &Truth) -> Option<String> {
    if let Some(top) = diagnosis.root_causes.first() {
        // Prefer a term that isolates the cause: not `platform`, and not one every affected
        // session shares anyway (the bots' user agent).
        let terms = &top.terms;
        let telling = |d: &&String| d.as_str() != "platform" && !truth.fingerprint.contains_key(*d);
        return terms.keys().find(telling).or(terms.keys().next()).cloned();
    }
    match diagnosis.kind.as_str() {
        "mix" => diagnosis.mix_vs_rate.first().map(|m| m.dimension.clone()),
        _ => None,
    }
}

/// Runs the engine on a drill with its defaults (conversion, the scan localiser).
pub fn engine(dir: &Path) -> anyhow::Result<DrillDiagnosis> {
    diagnose_drill(dir, Metric::Conversion, Algorithm::Scan, &Settings::default())
}

/// Hint number `stage` (0-based) for a drill.
pub fn hint(dir: &Path, brief: &Brief, truth: &Truth, stage: usize) -> anyhow::Result<String> {
    let (b, c): (Totals, Totals) = evidence::window_totals(dir, brief)?;
    Ok(match stage {
        0 => {
            let p =
                two_proportion_p(b.steps[3] as u64, b.sessions as u64, c.steps[3] as u64, c.sessions as u64);
            let weekdays = |w: &crate::brief::Window| {
                (0..w.days())
                    .map(|i| (w.from + chrono::Duration::days(i)).format("%a").to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            format!(
                "{}: {} vs {}. Conversion is {} in the baseline and {} now ({}), p = {} for a two-proportion z-test. Do both windows hold the same weekdays? baseline: {}; current: {}. Is the change beyond normal variation?",
                STAGES[0],
                brief.baseline,
                brief.current,
                pct(b.conversion()),
                pct(c.conversion()),
                signed_pct(change(b.conversion(), c.conversion())),
                p_value(Some(p)),
                weekdays(&brief.baseline),
                weekdays(&brief.current)
            )
        }
        1 => format!(
            "{}: sessions moved {}, client-side purchases {}, backend orders {}. If the client and the backend disagree, suspect the measurement before the product. `dropcase query trend --metric backend_conversion` and `--metric sessions_per_user` are the usual checks.",
            STAGES[1],
            signed_pct(change(b.sessions, c.sessions)),
            signed_pct(change(b.steps[3], c.steps[3])),
            signed_pct(change(b.orders, c.orders))
        ),
        2 => {
            let rates: Vec<String> = Stage::ALL
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    format!(
                        "{} {} → {} ({})",
                        s.metric(),
                        pct(b.step_rate(i)),
                        pct(c.step_rate(i)),
                        signed_pct(change(b.step_rate(i), c.step_rate(i)))
                    )
                })
                .collect();
            format!(
                "{}: {}. Which step carries the change, or is it every step a little? `dropcase query funnel`",
                STAGES[2],
                rates.join("; ")
            )
        }
        3 => {
            let engine_dim = engine(dir).ok().and_then(|d| engine_dimension(&d, truth));
            let dim = engine_dim.as_deref().unwrap_or_else(|| dimension_to_cut(truth));
            let rows = evidence::by_dimension(dir, brief, dim)?;
            let spread: Vec<f64> = rows
                .iter()
                .filter(|(_, b, c)| b.sessions > 0.0 && c.sessions > 0.0)
                .map(|(_, b, c)| change(b.conversion(), c.conversion()))
                .collect();
            let lo = spread.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = spread.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            format!(
                "{}: cut by `{dim}` — its values moved very differently (conversion changes from {} to {} across its {} values). `dropcase query compare --by {dim}`; then cut inside the worst value by another dimension.",
                STAGES[3],
                signed_pct(lo),
                signed_pct(hi),
                rows.len()
            )
        }
        4 => {
            let advice = match truth.family.group() {
                Group::Measurement | Group::Product => {
                    "the context logs (context/releases.csv, config_changes.csv) list our own changes; line their dates up with the daily trend"
                }
                Group::Mix => {
                    "compare each segment's rate with its share of traffic: did the rates move, or did the mix? context/marketing.csv lists campaigns"
                }
                Group::Seasonality => {
                    "look at the calendar: what was special about the baseline days, and which weekdays does each window hold?"
                }
                Group::External => {
                    "our own release log may not explain it: look for a dimension we do not control (OS version, country) whose change has its own timing"
                }
                Group::None => {
                    "ask whether anything changed at all: is any segment or step outside its normal variation?"
                }
            };
            format!("{}: {advice}. `dropcase query trend --metric conversion --grain day`", STAGES[4])
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
            if let Ok(d) = engine(dir) {
                text.push_str(&format!(". What `dropcase diagnose` reads in the data: {}", d.verdict));
            }
            text
        }
    })
}
