//! Localisers over a [`LeafTable`]: which conjunctions of `dim=value` terms explain the gap
//! between actual and expected. Three algorithms, written from the papers' descriptions:
//!
//! - [`scan`] (the default): a likelihood-ratio scan over elements under the ripple-effect
//!   model (HotSpot, Sun et al. 2018; Squeeze, Li et al. ISSRE 2019): leaves inside a root
//!   cause move by one common ratio, leaves outside by another. The element's score is the
//!   Poisson log-likelihood ratio of that two-ratio model against one ratio for everyone
//!   (Kulldorff's scan statistic), so a too-broad element (diluted by normal leaves) and a
//!   too-narrow one (leaving abnormal leaves outside) both score lower than the true one.
//!   Layer-by-layer search with a beam (pruning), parsimony (a deeper element must beat its
//!   parent by a margin), and RiskLoc's greedy removal of explained leaves for several
//!   simultaneous causes.
//! - [`riskloc`]: RiskLoc (Kalander 2022): deviation scores 2(f−v)/(f+v), a cutoff that
//!   splits abnormal from normal leaves, deviation-weighted leaf weights, a risk score per
//!   element combining its abnormal weight share with the ripple-effect residual, an
//!   explanatory-power filter, greedy removal of explained leaves.
//! - [`adtributor`]: Adtributor (Bhagwan et al. NSDI 2014): per dimension, explanatory
//!   power and Jensen–Shannon surprise; single-dimension causes only.
//!
//! Why the scan is the default: on our data most leaves hold a handful of sessions, so a
//! leaf's own deviation score is mostly noise (RiskLoc's abnormal/normal split and
//! Squeeze's clustering of deviation scores both start from it), whereas the likelihood
//! ratio pools counts over an element before judging it. Measured in BENCHMARKS.md.

use std::collections::HashSet;

use serde::Serialize;

use super::leaves::{Element, LeafTable};

/// Which localiser to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    #[default]
    Scan,
    /// Not offered on the command line: our port is too weak to offer (micro-F1 0.45 on the
    /// synthetic benchmark against the scan's 0.97, see BENCHMARKS.md); kept for the
    /// comparison tests.
    #[value(skip)]
    Riskloc,
    Adtributor,
}

/// Tuning shared by the localisers.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Deepest conjunction searched.
    pub max_depth: usize,
    /// Elements kept per layer for expansion.
    pub beam: usize,
    pub max_causes: usize,
    /// Smallest log-likelihood ratio for a cause (after the dispersion correction).
    pub min_llr: f64,
    /// Smallest share of the total change a cause must explain.
    pub min_explanatory_power: f64,
    /// Variance of actual − expected relative to Poisson: above 1 when the forecast is
    /// itself noisy (fitted on a baseline window of similar size), below 1 for binomial
    /// counts with a high rate. The log-likelihood ratios are divided by it.
    pub dispersion: f64,
}

impl Settings {
    /// The dispersion, guarded against non-positive values.
    fn dispersion(&self) -> f64 {
        if self.dispersion > 0.0 { self.dispersion } else { 1.0 }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_depth: 4,
            beam: 32,
            max_causes: 4,
            min_llr: 10.0,
            min_explanatory_power: 0.01,
            dispersion: 1.0,
        }
    }
}

/// One localised cause, with the sums behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub element: Element,
    /// Actual and expected inside the element.
    pub actual: f64,
    pub expected: f64,
    /// actual/expected inside and outside the element when it was found.
    pub ratio_inside: f64,
    pub ratio_outside: f64,
    /// Share of the table's total change (expected − actual) this element accounts for.
    pub explanatory_power: f64,
    /// The algorithm's own ranking score (larger is stronger).
    pub score: f64,
    /// Evidence strength as a log-likelihood ratio (all algorithms report it, for the
    /// confidence column).
    pub llr: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    actual: f64,
    expected: f64,
}

/// Poisson log-likelihood ratio of "inside moves by its own ratio" vs "one ratio for all".
fn log_likelihood_ratio(inside: Sums, total: Sums) -> f64 {
    let outside = Sums { actual: total.actual - inside.actual, expected: total.expected - inside.expected };
    let term = |s: Sums| {
        if s.actual <= 0.0 || s.expected <= 0.0 { 0.0 } else { s.actual * (s.actual / s.expected).ln() }
    };
    (term(inside) + term(outside) - term(total)).max(0.0)
}

fn ratio(s: Sums) -> f64 {
    if s.expected > 0.0 { s.actual / s.expected } else { f64::NAN }
}

/// An element's sums as the localisers see them: the expected sum already recalibrated by
/// the element's baseline fit when the table has one.
fn sums(table: &LeafTable, raw: [f64; 4]) -> Sums {
    let [actual, expected, base_actual, base_expected] = raw;
    let factor = if table.has_baseline() { LeafTable::calibration(base_actual, base_expected) } else { 1.0 };
    Sums { actual, expected: expected * factor }
}

fn raw(table: &LeafTable, expected: &[f64], i: usize) -> [f64; 4] {
    if table.has_baseline() {
        [table.actual[i], expected[i], table.base_actual[i], table.base_expected[i]]
    } else {
        [table.actual[i], expected[i], 0.0, 0.0]
    }
}

/// Sums of every child of `parent` (the parent plus one term on a dimension it does not
/// name), in one pass over the parent's leaves.
fn children(table: &LeafTable, expected: &[f64], parent: &[(usize, u32)]) -> Vec<(Element, Sums)> {
    let mut acc: Vec<Vec<[f64; 4]>> = table.values.iter().map(|v| vec![[0.0; 4]; v.len()]).collect();
    for (i, codes) in table.codes.iter().enumerate() {
        if !parent.iter().all(|&(d, v)| codes[d] == v) {
            continue;
        }
        let leaf = raw(table, expected, i);
        for (d, &v) in codes.iter().enumerate() {
            let s = &mut acc[d][v as usize];
            for k in 0..4 {
                s[k] += leaf[k];
            }
        }
    }
    let mut out = Vec::new();
    for (d, per_value) in acc.into_iter().enumerate() {
        if parent.iter().any(|&(pd, _)| pd == d) {
            continue;
        }
        for (v, r) in per_value.into_iter().enumerate() {
            if r[0] <= 0.0 && r[1] <= 0.0 {
                continue;
            }
            let mut element = parent.to_vec();
            element.push((d, v as u32));
            element.sort_unstable();
            out.push((element, sums(table, r)));
        }
    }
    out
}

fn totals(table: &LeafTable, expected: &[f64]) -> Sums {
    let mut t = [0.0; 4];
    for i in 0..table.len() {
        let leaf = raw(table, expected, i);
        for k in 0..4 {
            t[k] += leaf[k];
        }
    }
    sums(table, t)
}

/// The direction of the table's change: -1 for a drop, +1 for a rise.
fn direction(total: Sums) -> f64 {
    if total.actual < total.expected { -1.0 } else { 1.0 }
}

/// Whether an element moves in the table's direction, relative to the rest.
fn moves_with(inside: Sums, total: Sums, dir: f64) -> bool {
    let outside = Sums { actual: total.actual - inside.actual, expected: total.expected - inside.expected };
    let (r_in, r_out) = (ratio(inside), ratio(outside));
    if !r_in.is_finite() {
        return false;
    }
    if !r_out.is_finite() {
        return true;
    }
    (r_in - r_out) * dir > 0.0
}

fn explained(inside: Sums, total: Sums, original_change: f64) -> f64 {
    let outside = Sums { actual: total.actual - inside.actual, expected: total.expected - inside.expected };
    let r_out = if outside.expected > 0.0 { ratio(outside) } else { 1.0 };
    // The change beyond what the rest of the table did.
    let excess = inside.expected * r_out - inside.actual;
    if original_change.abs() > 0.0 { excess / original_change } else { 0.0 }
}

/// An element's sums over `expected`.
fn element_sums(table: &LeafTable, expected: &[f64], element: &[(usize, u32)]) -> Sums {
    let mut t = [0.0; 4];
    for i in (0..table.len()).filter(|&i| table.contains(i, element)) {
        let leaf = raw(table, expected, i);
        for k in 0..4 {
            t[k] += leaf[k];
        }
    }
    sums(table, t)
}

/// The table's expected values with every explained element moved like the leaves no found
/// element covers: each element's forecast is scaled by its own ratio over that of the
/// normal leaves. Recomputed from the original forecast after each find, so an element found
/// first is not adjusted towards a "rest" that still held the causes found later.
fn explain_away(table: &LeafTable, explained: &[(Element, f64)]) -> Vec<f64> {
    let in_any = |i: usize| explained.iter().any(|(e, _)| table.contains(i, e));
    let mut normal = [0.0; 4];
    for i in (0..table.len()).filter(|&i| !in_any(i)) {
        let leaf = raw(table, &table.expected, i);
        for k in 0..4 {
            normal[k] += leaf[k];
        }
    }
    let normal = sums(table, normal);
    let r_normal = if normal.expected > 0.0 && normal.actual > 0.0 { ratio(normal) } else { 1.0 };
    let mut expected = table.expected.clone();
    for (element, r) in explained {
        let adjust = if r.is_finite() && *r > 0.0 { r / r_normal } else { 0.0 };
        for (i, e) in expected.iter_mut().enumerate() {
            if table.contains(i, element) {
                *e = table.expected[i] * adjust;
            }
        }
    }
    expected
}

/// Likelihood-ratio scan with greedy removal (see the module header).
pub fn scan(table: &LeafTable, settings: &Settings) -> Vec<Found> {
    let mut expected = table.expected.clone();
    let original = totals(table, &expected);
    let original_change = original.expected - original.actual;
    let phi = settings.dispersion();
    let mut found: Vec<Found> = Vec::new();
    // Found elements with their ratio (actual / expected) in the original table.
    let mut explained_elements: Vec<(Element, f64)> = Vec::new();
    while found.len() < settings.max_causes {
        let total = totals(table, &expected);
        // Both directions (noise elsewhere can hide a drop in the total), but an element
        // moving against the table's change counts half: of two complements (new vs
        // returning users) with the same likelihood ratio, the one that fell is the cause.
        let dir = direction(total);
        let score = |s: Sums| {
            let llr = log_likelihood_ratio(s, total) / phi;
            if moves_with(s, total, dir) { llr } else { 0.5 * llr }
        };
        // An element already explained is not found twice.
        let mut seen: HashSet<Element> = found.iter().map(|f| f.element.clone()).collect();
        let mut layer: Vec<(Element, Sums, f64)> = children(table, &expected, &[])
            .into_iter()
            .map(|(e, s)| {
                let llr = score(s);
                (e, s, llr)
            })
            .collect();
        let mut best: Option<(Element, Sums, f64)> = None;
        for depth in 1..=settings.max_depth {
            layer.retain(|(e, s, _)| seen.insert(e.clone()) && s.expected > 0.0);
            layer.sort_by(|a, b| b.2.total_cmp(&a.2));
            if let Some(top) = layer.first() {
                let margin = best.as_ref().map(|b| (8.0_f64).max(0.03 * b.2));
                let better = match (&best, margin) {
                    (None, _) => true,
                    (Some(b), Some(m)) => top.2 > b.2 + m,
                    _ => false,
                };
                if better {
                    best = Some(top.clone());
                }
            }
            if depth == settings.max_depth {
                break;
            }
            let beam: Vec<Element> = layer.iter().take(settings.beam).map(|(e, _, _)| e.clone()).collect();
            layer = beam
                .iter()
                .flat_map(|parent| children(table, &expected, parent))
                .filter(|(e, _)| !seen.contains(e))
                .map(|(e, s)| {
                    let llr = score(s);
                    (e, s, llr)
                })
                .collect();
        }
        let Some((element, inside, llr)) = best else { break };
        let ep = explained(inside, total, original_change);
        // Size against the larger of the total change and the first cause, so a cause
        // still counts when the rest of the table moved the other way.
        let scale = found.first().map_or(original_change.abs(), |f: &Found| {
            original_change.abs().max((f.explanatory_power * original_change).abs())
        });
        let excess = ep * original_change;
        if llr < settings.min_llr || excess.abs() < settings.min_explanatory_power * scale {
            break;
        }
        let outside =
            Sums { actual: total.actual - inside.actual, expected: total.expected - inside.expected };
        let (r_in, r_out) = (ratio(inside), if outside.expected > 0.0 { ratio(outside) } else { 1.0 });
        explained_elements.push((element.clone(), ratio(element_sums(table, &table.expected, &element))));
        expected = explain_away(table, &explained_elements);
        found.push(Found {
            element,
            actual: inside.actual,
            expected: inside.expected,
            ratio_inside: r_in,
            ratio_outside: r_out,
            explanatory_power: ep,
            score: llr,
            llr,
        });
    }
    found
}

/// RiskLoc-style localisation (see the module header).
pub fn riskloc(table: &LeafTable, settings: &Settings) -> Vec<Found> {
    let original = totals(table, &table.expected);
    let original_change = original.expected - original.actual;
    let dir = direction(original);
    // Deviation scores, signed so the table's direction is positive.
    let deviation: Vec<f64> = table
        .actual
        .iter()
        .zip(&table.expected)
        .map(|(&v, &f)| if f + v > 0.0 { dir * 2.0 * (v - f) / (f + v) } else { 0.0 })
        .collect();
    // Cutoff: RiskLoc takes the largest deviation in the opposite direction as the noise
    // level. Single tiny leaves make that maximum meaningless here, so it is taken over the
    // leaves carrying 99% of the expected volume (the largest ones).
    let mut by_size: Vec<usize> = (0..table.len()).collect();
    by_size.sort_by(|&a, &b| table.expected[b].total_cmp(&table.expected[a]));
    let volume: f64 = table.expected.iter().sum();
    let mut acc = 0.0;
    let mut cutoff: f64 = 0.0;
    for &i in &by_size {
        if acc > 0.99 * volume {
            break;
        }
        acc += table.expected[i];
        cutoff = cutoff.max(-deviation[i]);
    }
    // Leaf weight: distance from the cutoff, scaled by the leaf's size (its evidence).
    let weight: Vec<f64> = (0..table.len())
        .map(|i| (deviation[i] - cutoff).abs() * (table.expected[i] + table.actual[i]).sqrt())
        .collect();
    let abnormal: Vec<bool> = deviation.iter().map(|&d| d > cutoff).collect();
    let mut removed = vec![false; table.len()];
    let mut found = Vec::new();
    while found.len() < settings.max_causes {
        let live = |i: usize| !removed[i];
        let total = Sums {
            actual: (0..table.len()).filter(|&i| live(i)).map(|i| table.actual[i]).sum(),
            expected: (0..table.len()).filter(|&i| live(i)).map(|i| table.expected[i]).sum(),
        };
        let risk = |element: &[(usize, u32)]| -> (f64, Sums) {
            let (mut w_ab, mut w_all, mut s) = (0.0, 0.0, Sums::default());
            let mut members = Vec::new();
            for i in (0..table.len()).filter(|&i| live(i) && table.contains(i, element)) {
                w_all += weight[i];
                if abnormal[i] {
                    w_ab += weight[i];
                }
                s.actual += table.actual[i];
                s.expected += table.expected[i];
                members.push(i);
            }
            if w_all <= 0.0 || s.expected <= 0.0 {
                return (0.0, s);
            }
            // Ripple-effect residual: how far the leaves are from one common ratio.
            let r = ratio(s);
            let (mut res, mut dev) = (0.0, 0.0);
            for &i in &members {
                res += (table.actual[i] - table.expected[i] * r).abs();
                dev += (table.actual[i] - table.expected[i]).abs();
            }
            let ripple = if dev > 0.0 { 1.0 - res / dev } else { 0.0 };
            (w_ab / w_all * (0.5 + 0.5 * ripple.max(0.0)), s)
        };
        let mut best: Option<(Element, Sums, f64)> = None;
        let mut frontier: Vec<Element> = vec![Vec::new()];
        for _depth in 1..=settings.max_depth {
            let mut layer: Vec<(Element, Sums, f64)> = Vec::new();
            let mut seen = HashSet::new();
            for parent in &frontier {
                for (element, _) in children(table, &table.expected, parent) {
                    if !seen.insert(element.clone()) {
                        continue;
                    }
                    let (r, s) = risk(&element);
                    if explained(s, total, original_change) >= settings.min_explanatory_power
                        && moves_with(s, total, dir)
                    {
                        layer.push((element, s, r));
                    }
                }
            }
            layer.sort_by(|a, b| b.2.total_cmp(&a.2));
            if let Some(top) = layer.first()
                && best.as_ref().is_none_or(|b| top.2 > b.2 + 0.05)
            {
                best = Some(top.clone());
            }
            frontier = layer.iter().take(settings.beam).map(|(e, _, _)| e.clone()).collect();
        }
        let Some((element, inside, risk_score)) = best else { break };
        let llr = log_likelihood_ratio(inside, total) / settings.dispersion();
        if risk_score < 0.5 || llr < settings.min_llr {
            break;
        }
        let outside =
            Sums { actual: total.actual - inside.actual, expected: total.expected - inside.expected };
        for (i, r) in removed.iter_mut().enumerate() {
            if table.contains(i, &element) {
                *r = true;
            }
        }
        found.push(Found {
            explanatory_power: explained(inside, total, original_change),
            element,
            actual: inside.actual,
            expected: inside.expected,
            ratio_inside: ratio(inside),
            ratio_outside: ratio(outside),
            score: risk_score,
            llr,
        });
    }
    found
}

/// Adtributor (see the module header): the most surprising dimension's elements.
pub fn adtributor(table: &LeafTable, settings: &Settings) -> Vec<Found> {
    const ELEMENT_EP: f64 = 0.1;
    const DIMENSION_EP: f64 = 0.67;
    let total = totals(table, &table.expected);
    let change = total.expected - total.actual;
    if change.abs() <= 0.0 {
        return Vec::new();
    }
    let js = |p: f64, q: f64| {
        let m = (p + q) / 2.0;
        let part = |x: f64| if x > 0.0 { x * (x / m).ln() } else { 0.0 };
        0.5 * (part(p) + part(q))
    };
    let mut best: Option<(f64, Vec<Found>)> = None;
    for d in 0..table.dims.len() {
        let mut per_value: Vec<(Element, Sums, f64, f64)> = children(table, &table.expected, &[])
            .into_iter()
            .filter(|(e, _)| e[0].0 == d)
            .map(|(e, s)| {
                let ep = (s.expected - s.actual) / change;
                let surprise =
                    js(s.expected / total.expected, s.actual / total.actual.max(f64::MIN_POSITIVE));
                (e, s, ep, surprise)
            })
            .collect();
        per_value.sort_by(|a, b| b.3.total_cmp(&a.3));
        let (mut cumulative, mut surprise, mut set) = (0.0, 0.0, Vec::new());
        for (element, s, ep, sv) in per_value {
            if ep < ELEMENT_EP {
                continue;
            }
            cumulative += ep;
            surprise += sv;
            let llr = log_likelihood_ratio(s, total) / settings.dispersion();
            let outside = Sums { actual: total.actual - s.actual, expected: total.expected - s.expected };
            set.push(Found {
                element,
                actual: s.actual,
                expected: s.expected,
                ratio_inside: ratio(s),
                ratio_outside: ratio(outside),
                explanatory_power: ep,
                score: sv,
                llr,
            });
            if cumulative > DIMENSION_EP {
                break;
            }
        }
        if cumulative > DIMENSION_EP && best.as_ref().is_none_or(|(b, _)| surprise > *b) {
            best = Some((surprise, set));
        }
    }
    let mut out = best.map(|(_, set)| set).unwrap_or_default();
    out.retain(|f| f.llr >= settings.min_llr);
    out.sort_by(|a, b| b.explanatory_power.total_cmp(&a.explanatory_power));
    out.truncate(settings.max_causes);
    out
}

/// Runs the chosen localiser.
pub fn localise(table: &LeafTable, algorithm: Algorithm, settings: &Settings) -> Vec<Found> {
    match algorithm {
        Algorithm::Scan => scan(table, settings),
        Algorithm::Riskloc => riskloc(table, settings),
        Algorithm::Adtributor => adtributor(table, settings),
    }
}
