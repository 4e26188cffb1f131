//! Staged hints that follow the accepted order of a metric-drop diagnosis: clarify the
//! metric and windows → check data quality and the second source → decompose into funnel
//! steps → cut by segments → internal vs external → name the cause. Each is computed from
//! this drill's data; only the last names the answer. The segment hint follows what the
//! diagnose engine ([`crate::diagnose::drill`]) reads in the data, not the sealed answer.

use std::path::Path;

use crate::brief::Brief;
use crate::diagnose::drill::{DrillDiagnosis, diagnose_drill};
use crate::diagnose::{Algorithm, Settings};
use crate::generate::Truth;
use crate::generate::check::two_proportion_p;
use crate::output::{p_value, pct, signed_pct};
use crate::scenario::{Group, Stage};

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
    truth.family.def().hint_by.as_deref().unwrap_or("platform")
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

/// Conversion of a (baseline, current) pair of counts: purchases and sessions.
type Counts = (f64, f64, f64, f64);

/// Cochran's Q test that every segment's conversion changed by the same factor: the log
/// rate ratios Lᵢ = ln(r1ᵢ / r0ᵢ), with delta-method variances
/// vᵢ = 1/x0ᵢ − 1/n0ᵢ + 1/x1ᵢ − 1/n1ᵢ, give Q = Σ wᵢ (Lᵢ − L̄)², wᵢ = 1/vᵢ, chi-square with
/// k − 1 degrees of freedom under equal changes (Cochran 1954, *Biometrics* 10, 101–129).
/// Segments with no purchases in a window carry no log ratio and are left out; `None` when
/// fewer than two remain.
fn equal_change_p(segments: &[Counts]) -> Option<f64> {
    let terms: Vec<(f64, f64)> = segments
        .iter()
        .filter(|(x0, n0, x1, n1)| *x0 > 0.0 && *x1 > 0.0 && n0 > x0 && n1 > x1)
        .map(|(x0, n0, x1, n1)| {
            let log_ratio = ((x1 / n1) / (x0 / n0)).ln();
            let variance = 1.0 / x0 - 1.0 / n0 + 1.0 / x1 - 1.0 / n1;
            (log_ratio, 1.0 / variance)
        })
        .collect();
    if terms.len() < 2 {
        return None;
    }
    let weight: f64 = terms.iter().map(|(_, w)| w).sum();
    let mean = terms.iter().map(|(l, w)| l * w).sum::<f64>() / weight;
    let q: f64 = terms.iter().map(|(l, w)| w * (l - mean).powi(2)).sum();
    Some(crate::stats::dist::chi2_sf(q, (terms.len() - 1) as f64))
}

/// Below this p-value the segments' changes count as different (a hint, not a finding:
/// strict enough that a drop that hit everyone alike is not called uneven by chance).
const UNEVEN_P: f64 = 0.001;

/// Hint 4: how the values of `dim` moved, read from the data. A value new in the current
/// window is measured against the whole baseline (`overall`), since it has no baseline of
/// its own. Whether they "moved very differently" or "alike" follows a test of equal
/// changes, so a drop that hit every segment alike (a holiday in the baseline) is not sent
/// hunting for a segment.
fn segment_hint(dim: &str, rows: &[(String, Totals, Totals)], overall: &Totals) -> String {
    let mut counts: Vec<Counts> = Vec::new();
    let mut changes: Vec<f64> = Vec::new();
    let mut new_values: Vec<&str> = Vec::new();
    for (value, b, c) in rows {
        if c.sessions <= 0.0 {
            continue;
        }
        let base = if b.sessions > 0.0 {
            b
        } else {
            new_values.push(value);
            overall
        };
        counts.push((base.steps[3], base.sessions, c.steps[3], c.sessions));
        changes.push(change(base.conversion(), c.conversion()));
    }
    let lo = changes.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = changes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let new_note = if new_values.is_empty() {
        String::new()
    } else {
        format!("; new in the current window, against the whole baseline: {}", new_values.join(", "))
    };
    let range = format!(
        "conversion changes from {} to {} across its {} values{new_note}",
        signed_pct(lo),
        signed_pct(hi),
        changes.len()
    );
    match equal_change_p(&counts) {
        Some(p) if p < UNEVEN_P => format!(
            "{}: cut by `{dim}` — its values moved very differently ({range}; p = {} for equal changes). `dropcase query compare --by {dim}`; then cut inside the worst value by another dimension.",
            STAGES[3],
            p_value(Some(p))
        ),
        Some(p) => format!(
            "{}: cut by `{dim}` — its values moved alike ({range}; p = {} for equal changes, within noise). When every segment moves together, the cause is not in one segment: look for what hit all of them at once (the calendar, one funnel step, the traffic mix). `dropcase query compare --by {dim}`",
            STAGES[3],
            p_value(Some(p))
        ),
        None => format!(
            "{}: cut by `{dim}` ({range}). `dropcase query compare --by {dim}`; then cut inside the worst value by another dimension.",
            STAGES[3]
        ),
    }
}

/// Runs the engine on a drill with its defaults (its headline metric, the scan localiser).
pub fn engine(dir: &Path) -> anyhow::Result<DrillDiagnosis> {
    diagnose_drill(dir, None, Algorithm::Scan, &Settings::default())
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
            segment_hint(dim, &rows, &b)
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
            // When the data says the change began: the day to line the logs up with.
            let onset = engine(dir)
                .ok()
                .and_then(|d| d.onset)
                .map(|o| {
                    format!(
                        " The daily series dates the change to {} (95% interval {} – {}): which logged change, and which segment, fits that day?",
                        o.date, o.interval[0], o.interval[1]
                    )
                })
                .unwrap_or_default();
            format!("{}: {advice}.{onset} `dropcase query trend --metric conversion --grain day`", STAGES[4])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_changes_give_q_zero() {
        let p = equal_change_p(&[(100.0, 1000.0, 90.0, 1000.0), (50.0, 500.0, 45.0, 500.0)]).unwrap();
        assert!((p - 1.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn unequal_changes_match_the_two_group_closed_form() {
        // Two groups: Q = (L1 − L2)² / (v1 + v2). L1 = ln 0.5, v1 = 1/100 − 1/1000 + 1/50 −
        // 1/1000 = 0.028; L2 = 0, v2 = 0.018: Q = 0.480453 / 0.046 = 10.44463, and with one
        // degree of freedom chi2.sf(Q) = erfc(√(Q/2)) = 0.0012301 (Python math.erfc;
        // tolerance 1e-6).
        let p = equal_change_p(&[(100.0, 1000.0, 50.0, 1000.0), (100.0, 1000.0, 100.0, 1000.0)]).unwrap();
        assert!((p - 0.0012301).abs() < 1e-6, "{p}");
        assert_eq!(equal_change_p(&[(100.0, 1000.0, 50.0, 1000.0), (0.0, 10.0, 0.0, 10.0)]), None);
    }

    fn totals(sessions: f64, purchased: f64) -> Totals {
        Totals { sessions, steps: [sessions, sessions, sessions, purchased], revenue: 0.0, orders: 0.0 }
    }

    #[test]
    fn the_segment_hint_says_alike_when_every_value_fell_alike() {
        let rows = vec![
            ("android".to_string(), totals(10_000.0, 400.0), totals(10_000.0, 380.0)),
            ("ios".to_string(), totals(8_000.0, 400.0), totals(8_000.0, 381.0)),
            ("web".to_string(), totals(6_000.0, 180.0), totals(6_000.0, 170.0)),
        ];
        let text = segment_hint("platform", &rows, &totals(24_000.0, 980.0));
        assert!(text.contains("moved alike") && !text.contains("differently"), "{text}");
    }

    #[test]
    fn a_broken_new_value_makes_the_values_differ() {
        // The old versions are flat; the new one (no baseline) converts at half the
        // overall baseline rate of 4%.
        let rows = vec![
            ("5.1.0".to_string(), totals(20_000.0, 800.0), totals(10_000.0, 400.0)),
            ("5.2.0".to_string(), Totals::default(), totals(10_000.0, 200.0)),
        ];
        let text = segment_hint("app_version", &rows, &totals(20_000.0, 800.0));
        assert!(text.contains("moved very differently"), "{text}");
        assert!(text.contains("against the whole baseline: 5.2.0") && text.contains("-50.00%"), "{text}");
    }
}
