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
//!   simultaneous causes: a found cause's leaves leave the table, so overlapping causes need
//!   not combine multiplicatively (on Squeeze B0 the later-injected cause overrides the
//!   earlier one where they meet, and rescaling the first cause's leaves left a spurious
//!   deeper "cause" in the overlap). Tables without their own variance are weighed by a
//!   leaf noise model fitted to them ([`super::noise`]), so significance is judged against
//!   the table's real noise rather than Poisson's; a single leaf is never a cause.
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
use super::noise::NoiseModel;

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
    /// Variance of actual − expected relative to the fitted leaf noise model, for tables
    /// without denominators (ratio tables carry their own variance, element by element).
    /// The log-likelihood ratios are divided by it; 1 trusts the fit.
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
    /// Standard error of the element's excess change (expected × the rest's ratio − actual,
    /// in the metric's units), by the delta method under the table's noise model.
    pub excess_sd: f64,
}

/// Delta-method standard error of `inside.expected × ratio_outside − inside.actual`: the
/// inside actual's variance plus the inside forecast times the outside ratio's, each side
/// Poisson in evidence units times the contrast's dispersion, converted back to units.
fn excess_sd(table: &LeafTable, split: &Split, fallback: f64) -> f64 {
    let (e_in, e_out) = (split.inside.evidence_expected, split.outside.evidence_expected);
    if e_in <= 0.0 {
        return 0.0;
    }
    let var_evidence = e_in + if e_out > 0.0 { e_in * e_in / e_out } else { 0.0 };
    let units_per_evidence = split.inside.expected / e_in;
    (var_evidence * dispersion(table, split, fallback)).sqrt() * units_per_evidence
}

/// An element's sums as the localisers compare them; `expected` already recalibrated by the
/// element's baseline fit when the table has one.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    /// In the metric's units: what explanatory power and the reported ratios use.
    actual: f64,
    expected: f64,
    /// The rate's denominator (ratio tables), else 0.
    denominator: f64,
    /// The same sums in evidence units (each leaf weighted by its noise model's
    /// [`LeafTable::weight`]): what the likelihood ratio, the direction and the explained-away
    /// ratios use. Equal to `actual` and `expected` when every weight is 1.
    evidence_actual: f64,
    evidence_expected: f64,
}

impl Sums {
    fn evidence(&self) -> Sums {
        Sums { actual: self.evidence_actual, expected: self.evidence_expected, ..*self }
    }
}

/// An element's raw sums over its leaves: actual, expected, baseline actual, baseline
/// expected, denominator, weighted actual, weighted expected. Raw sums add and subtract;
/// calibrated [`Sums`] do not.
type Raw = [f64; 7];

fn minus(a: Raw, b: Raw) -> Raw {
    std::array::from_fn(|k| a[k] - b[k])
}

fn add_leaf(acc: &mut Raw, leaf: &Raw) {
    for k in 0..7 {
        acc[k] += leaf[k];
    }
}

/// An element against the rest of the table, each side calibrated on its own.
#[derive(Debug, Clone, Copy, Default)]
struct Split {
    inside: Sums,
    outside: Sums,
}

impl Split {
    fn new(table: &LeafTable, inside: Raw, total: Raw) -> Split {
        Split { inside: sums(table, inside), outside: sums(table, minus(total, inside)) }
    }

    /// For sums that need no calibration (the RiskLoc port works on raw forecasts).
    fn plain(inside: Sums, total: Sums) -> Split {
        let outside = Sums {
            actual: total.actual - inside.actual,
            expected: total.expected - inside.expected,
            denominator: total.denominator - inside.denominator,
            evidence_actual: total.evidence_actual - inside.evidence_actual,
            evidence_expected: total.evidence_expected - inside.evidence_expected,
        };
        Split { inside, outside }
    }

    fn total(&self) -> Sums {
        Sums {
            actual: self.inside.actual + self.outside.actual,
            expected: self.inside.expected + self.outside.expected,
            denominator: self.inside.denominator + self.outside.denominator,
            evidence_actual: self.inside.evidence_actual + self.outside.evidence_actual,
            evidence_expected: self.inside.evidence_expected + self.outside.evidence_expected,
        }
    }

    fn ratio_outside(&self) -> f64 {
        if self.outside.expected > 0.0 { ratio(self.outside) } else { 1.0 }
    }
}

/// Poisson log-likelihood ratio of "inside moves by its own ratio" vs "one ratio for all",
/// on the evidence sums (a quasi-likelihood when the leaves are weighted by a noise model).
fn log_likelihood_ratio(split: Split) -> f64 {
    let term = |s: Sums| {
        let s = s.evidence();
        if s.actual <= 0.0 || s.expected <= 0.0 { 0.0 } else { s.actual * (s.actual / s.expected).ln() }
    };
    (term(split.inside) + term(split.outside) - term(split.total())).max(0.0)
}

/// Var(actual − expected) of the inside-vs-outside contrast relative to Poisson. Ratio
/// tables know it per element: each side's binomial counts carry (1 − p) of the Poisson
/// variance, weighted as the contrast's variance weighs them (1/E per side), and a forecast
/// fitted on a baseline window adds its own noise (`forecast_noise`). Other tables use the
/// settings' dispersion.
fn dispersion(table: &LeafTable, split: &Split, fallback: f64) -> f64 {
    if !table.has_denominator() {
        return fallback;
    }
    let part = |s: &Sums| {
        let p = if s.denominator > 0.0 { (s.expected / s.denominator).clamp(0.0, 0.95) } else { 0.0 };
        (1.0 - p, s.expected)
    };
    let ((q_in, e_in), (q_out, e_out)) = (part(&split.inside), part(&split.outside));
    let binomial = match (e_in > 0.0, e_out > 0.0) {
        (true, true) => (q_in / e_in + q_out / e_out) / (1.0 / e_in + 1.0 / e_out),
        (true, false) => q_in,
        (false, true) => q_out,
        (false, false) => 1.0,
    };
    binomial * (1.0 + table.forecast_noise)
}

/// actual / expected in the metric's units.
fn ratio(s: Sums) -> f64 {
    if s.expected > 0.0 { s.actual / s.expected } else { f64::NAN }
}

/// actual / expected in evidence units: the ripple-effect ratio as the noise model
/// estimates it (every leaf's ratio weighted by its precision).
fn evidence_ratio(s: Sums) -> f64 {
    ratio(s.evidence())
}

/// Calibrated sums from raw ones (see [`LeafTable::calibration`]).
fn sums(table: &LeafTable, raw: Raw) -> Sums {
    let [actual, expected, base_actual, base_expected, denominator, w_actual, w_expected] = raw;
    let factor = if table.has_baseline() { LeafTable::calibration(base_actual, base_expected) } else { 1.0 };
    Sums {
        actual,
        expected: expected * factor,
        denominator,
        evidence_actual: w_actual,
        evidence_expected: w_expected * factor,
    }
}

fn raw(table: &LeafTable, expected: &[f64], i: usize) -> Raw {
    let (base_actual, base_expected) =
        if table.has_baseline() { (table.base_actual[i], table.base_expected[i]) } else { (0.0, 0.0) };
    let denominator = if table.has_denominator() { table.denominator[i] } else { 0.0 };
    let w = table.weight(i);
    [
        table.actual[i],
        expected[i],
        base_actual,
        base_expected,
        denominator,
        w * table.actual[i],
        w * expected[i],
    ]
}

/// Which leaves hold each `dim=value` term, so a parent's children are summed over the
/// parent's leaves alone rather than the whole table. Leaves with nothing in them (no
/// actual, forecast, baseline or denominator) are left out: they add nothing to any sum.
struct TermIndex {
    live: Vec<usize>,
    /// Per dimension, per value code, the live leaves with that value.
    postings: Vec<Vec<Vec<usize>>>,
}

impl TermIndex {
    /// The index of the leaves not `removed` (an empty slice: none removed).
    fn new(table: &LeafTable, removed: &[bool]) -> TermIndex {
        let mut postings: Vec<Vec<Vec<usize>>> =
            table.values.iter().map(|v| vec![Vec::new(); v.len()]).collect();
        let mut live = Vec::new();
        for i in 0..table.len() {
            let r = raw(table, &table.expected, i);
            if removed.get(i).copied().unwrap_or(false) || r[..5].iter().all(|&x| x == 0.0) {
                continue;
            }
            live.push(i);
            for (d, &v) in table.codes[i].iter().enumerate() {
                postings[d][v as usize].push(i);
            }
        }
        TermIndex { live, postings }
    }

    /// The leaves to visit for `parent`: its shortest term's list (all live leaves at the root).
    fn candidates(&self, parent: &[(usize, u32)]) -> &[usize] {
        parent
            .iter()
            .map(|&(d, v)| self.postings[d][v as usize].as_slice())
            .min_by_key(|l| l.len())
            .unwrap_or(&self.live)
    }
}

/// Raw sums of every child of `parent` (the parent plus one term on a dimension it does
/// not name), in one pass over the parent's leaves.
fn children(table: &LeafTable, expected: &[f64], parent: &[(usize, u32)]) -> Vec<(Element, Raw)> {
    let all: Vec<usize> = (0..table.len()).collect();
    children_of(table, expected, parent, &all)
}

/// [`children`] with the parent's leaves looked up in an index.
fn indexed_children(
    table: &LeafTable,
    expected: &[f64],
    parent: &[(usize, u32)],
    index: &TermIndex,
) -> Vec<(Element, Raw)> {
    children_of(table, expected, parent, index.candidates(parent))
}

fn children_of(
    table: &LeafTable,
    expected: &[f64],
    parent: &[(usize, u32)],
    leaves: &[usize],
) -> Vec<(Element, Raw)> {
    let mut acc: Vec<Vec<Raw>> = table.values.iter().map(|v| vec![[0.0; 7]; v.len()]).collect();
    for &i in leaves {
        let codes = &table.codes[i];
        if !parent.iter().all(|&(d, v)| codes[d] == v) {
            continue;
        }
        let leaf = raw(table, expected, i);
        for (d, &v) in codes.iter().enumerate() {
            add_leaf(&mut acc[d][v as usize], &leaf);
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
            out.push((element, r));
        }
    }
    out
}

fn totals(table: &LeafTable, expected: &[f64]) -> Raw {
    let mut t = [0.0; 7];
    for i in 0..table.len() {
        add_leaf(&mut t, &raw(table, expected, i));
    }
    t
}

/// The direction of the table's change: -1 for a drop, +1 for a rise.
fn direction(total: Sums) -> f64 {
    if total.actual < total.expected { -1.0 } else { 1.0 }
}

/// Whether an element moves in the table's direction, relative to the rest.
fn moves_with(split: &Split, dir: f64) -> bool {
    let (r_in, r_out) = (evidence_ratio(split.inside), evidence_ratio(split.outside));
    if !r_in.is_finite() {
        return false;
    }
    if !r_out.is_finite() {
        return true;
    }
    (r_in - r_out) * dir > 0.0
}

/// Share of `original_change` the element accounts for beyond what the rest of the table did.
fn explained(split: &Split, original_change: f64) -> f64 {
    let excess = split.inside.expected * split.ratio_outside() - split.inside.actual;
    if original_change.abs() > 0.0 { excess / original_change } else { 0.0 }
}

/// Whether an element holds more than one leaf with data. A root cause moves several leaves
/// by one ratio (the ripple effect); an element of a single leaf (every term of a
/// four-dimension table named) is that leaf's outlier, which the noise model's tails do not
/// price: among thousands of leaves one always sits beyond the significance bar.
fn spans_leaves(table: &LeafTable, index: &TermIndex, element: &[(usize, u32)]) -> bool {
    index.candidates(element).iter().filter(|&&i| table.contains(i, element)).nth(1).is_some()
}

/// The log-likelihood ratio a single leaf needs to count as a cause: as significant on its
/// own among `leaves` candidates (Bonferroni) as `min_llr` makes one element. 2·LLR is
/// asymptotically χ²₁, so the bar is z²/2 at z = Φ⁻¹(1 − p/(2·leaves)), p the two-sided
/// p-value of `min_llr`. A table of a dozen cells (a user's country × device) still names
/// the one cell that moved; among 21,600 forecast leaves an outlier has to be far out.
fn single_leaf_bar(min_llr: f64, leaves: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let normal = Normal::standard();
    let p = 2.0 * normal.sf((2.0 * min_llr).sqrt());
    let z = -normal.inverse_cdf(p / (2.0 * leaves.max(1) as f64));
    if z.is_finite() { z * z / 2.0 } else { f64::INFINITY }
}

/// Likelihood-ratio scan with greedy removal (see the module header). A table without its
/// own variance (no denominators) and no leaf weights of its own is weighed by the noise
/// model fitted to its leaves ([`NoiseModel::fit`]), refitted each round on the leaves no
/// cause has explained yet: the first fit still sees the causes' leaves (robustly, but a
/// cause covering two fifths of the table inflates it), the later ones do not.
pub fn scan(table: &LeafTable, settings: &Settings) -> Vec<Found> {
    let fit_noise = !table.has_denominator() && table.weight.is_empty();
    let mut table = table.clone();
    let original = sums(&table, totals(&table, &table.expected));
    let original_change = original.expected - original.actual;
    // Both directions (noise elsewhere can hide a drop in the total), but an element moving
    // against the table's change counts half: of two complements (new vs returning users)
    // with the same likelihood ratio, the one that fell is the cause. The change is the
    // table's own, not the residual's once causes are removed: what is left then is mostly
    // noise, and its direction would halve the next true cause at random.
    let dir = direction(original);
    let fallback = settings.dispersion();
    let mut removed = vec![false; table.len()];
    let mut found: Vec<Found> = Vec::new();
    while found.len() < settings.max_causes {
        if fit_noise {
            let (actual, expected): (Vec<f64>, Vec<f64>) = (0..table.len())
                .filter(|&i| !removed[i])
                .map(|i| (table.actual[i], table.expected[i]))
                .unzip();
            let model = NoiseModel::fit(&actual, &expected);
            table.weight = table.expected.iter().map(|&e| model.weight(e)).collect();
        }
        let table = &table;
        let index = TermIndex::new(table, &removed);
        let single_leaf_bar = single_leaf_bar(settings.min_llr, index.live.len());
        let mut total = [0.0; 7];
        for &i in &index.live {
            add_leaf(&mut total, &raw(table, &table.expected, i));
        }
        let score = |r: Raw| {
            let split = Split::new(table, r, total);
            let llr = log_likelihood_ratio(split) / dispersion(table, &split, fallback);
            let llr = if moves_with(&split, dir) { llr } else { 0.5 * llr };
            (split, llr)
        };
        // An element already explained is not found twice.
        let mut seen: HashSet<Element> = found.iter().map(|f| f.element.clone()).collect();
        let mut layer: Vec<(Element, Split, f64)> = indexed_children(table, &table.expected, &[], &index)
            .into_iter()
            .map(|(e, r)| {
                let (split, llr) = score(r);
                (e, split, llr)
            })
            .collect();
        let mut best: Option<(Element, Split, f64)> = None;
        for depth in 1..=settings.max_depth {
            layer.retain(|(e, s, _)| seen.insert(e.clone()) && s.inside.expected > 0.0);
            layer.sort_by(|a, b| b.2.total_cmp(&a.2));
            // The strongest element that is a pattern over leaves, or a single leaf strong
            // enough to stand out among all of them.
            if let Some(top) =
                layer.iter().find(|(e, _, llr)| *llr >= single_leaf_bar || spans_leaves(table, &index, e))
            {
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
                .flat_map(|parent| indexed_children(table, &table.expected, parent, &index))
                .filter(|(e, _)| !seen.contains(e))
                .map(|(e, r)| {
                    let (split, llr) = score(r);
                    (e, split, llr)
                })
                .collect();
        }
        let Some((element, split, llr)) = best else { break };
        let ep = explained(&split, original_change);
        // Size against the larger of the total change and the first cause, so a cause
        // still counts when the rest of the table moved the other way.
        let scale = found.first().map_or(original_change.abs(), |f: &Found| {
            original_change.abs().max((f.explanatory_power * original_change).abs())
        });
        let excess = ep * original_change;
        if llr < settings.min_llr || excess.abs() < settings.min_explanatory_power * scale {
            break;
        }
        // The cause's leaves are explained: later rounds judge the rest.
        for &i in &index.live {
            if table.contains(i, &element) {
                removed[i] = true;
            }
        }
        found.push(Found {
            element,
            actual: split.inside.actual,
            expected: split.inside.expected,
            ratio_inside: ratio(split.inside),
            ratio_outside: split.ratio_outside(),
            explanatory_power: ep,
            score: llr,
            llr,
            excess_sd: excess_sd(table, &split, fallback),
        });
    }
    found
}

/// RiskLoc-style localisation (see the module header).
pub fn riskloc(table: &LeafTable, settings: &Settings) -> Vec<Found> {
    let original = sums(table, totals(table, &table.expected));
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
        let actual: f64 = (0..table.len()).filter(|&i| live(i)).map(|i| table.actual[i]).sum();
        let expected: f64 = (0..table.len()).filter(|&i| live(i)).map(|i| table.expected[i]).sum();
        let total = Sums {
            actual,
            expected,
            evidence_actual: actual,
            evidence_expected: expected,
            ..Sums::default()
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
                s.evidence_actual += table.actual[i];
                s.evidence_expected += table.expected[i];
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
                    let split = Split::plain(s, total);
                    if explained(&split, original_change) >= settings.min_explanatory_power
                        && moves_with(&split, dir)
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
        let split = Split::plain(inside, total);
        let llr = log_likelihood_ratio(split) / dispersion(table, &split, settings.dispersion());
        if risk_score < 0.5 || llr < settings.min_llr {
            break;
        }
        for (i, r) in removed.iter_mut().enumerate() {
            if table.contains(i, &element) {
                *r = true;
            }
        }
        found.push(Found {
            explanatory_power: explained(&split, original_change),
            element,
            actual: inside.actual,
            expected: inside.expected,
            ratio_inside: ratio(inside),
            ratio_outside: ratio(split.outside),
            score: risk_score,
            llr,
            excess_sd: excess_sd(table, &split, settings.dispersion()),
        });
    }
    found
}

/// Adtributor (see the module header): the most surprising dimension's elements.
pub fn adtributor(table: &LeafTable, settings: &Settings) -> Vec<Found> {
    const ELEMENT_EP: f64 = 0.1;
    const DIMENSION_EP: f64 = 0.67;
    let total_raw = totals(table, &table.expected);
    let total = sums(table, total_raw);
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
        let mut per_value: Vec<(Element, Split, f64, f64)> = children(table, &table.expected, &[])
            .into_iter()
            .filter(|(e, _)| e[0].0 == d)
            .map(|(e, r)| {
                let split = Split::new(table, r, total_raw);
                let s = split.inside;
                let ep = (s.expected - s.actual) / change;
                let surprise =
                    js(s.expected / total.expected, s.actual / total.actual.max(f64::MIN_POSITIVE));
                (e, split, ep, surprise)
            })
            .collect();
        per_value.sort_by(|a, b| b.3.total_cmp(&a.3));
        let (mut cumulative, mut surprise, mut set) = (0.0, 0.0, Vec::new());
        for (element, split, ep, sv) in per_value {
            if ep < ELEMENT_EP {
                continue;
            }
            cumulative += ep;
            surprise += sv;
            let llr = log_likelihood_ratio(split) / dispersion(table, &split, settings.dispersion());
            set.push(Found {
                element,
                actual: split.inside.actual,
                expected: split.inside.expected,
                ratio_inside: ratio(split.inside),
                ratio_outside: split.ratio_outside(),
                explanatory_power: ep,
                score: sv,
                llr,
                excess_sd: excess_sd(table, &split, settings.dispersion()),
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
