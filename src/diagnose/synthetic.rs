//! Synthetic leaf tables with planted root causes, for tests and benchmarks: a full grid of
//! dimension values, lognormal leaf sizes, noisy actuals, and 1–3 causes 1–3 terms deep
//! that scale their leaves by one factor (the ripple effect). [`planted`] makes an additive
//! metric (actual vs expected counts); [`planted_ratio`] a ratio metric (numerator and
//! denominator in a baseline and a current window, the causes scaling the rate).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

use super::leaves::{Dictionary, Element, LeafTable, RatioLeaves};

#[derive(Debug, Clone)]
pub struct Planted {
    pub table: LeafTable,
    pub causes: Vec<Element>,
}

fn names(cardinalities: &[usize]) -> Vec<Vec<String>> {
    cardinalities.iter().enumerate().map(|(d, &k)| (0..k).map(|v| format!("v{d}_{v}")).collect()).collect()
}

/// Causes: distinct dimensions per cause, values drawn at random, no cause inside another.
fn draw_causes(
    rng: &mut ChaCha8Rng,
    cardinalities: &[usize],
    n_causes: usize,
    depths: &[usize],
) -> Vec<Element> {
    let mut causes: Vec<Element> = Vec::new();
    while causes.len() < n_causes {
        let depth = depths[causes.len() % depths.len()].min(cardinalities.len());
        let mut dims: Vec<usize> = (0..cardinalities.len()).collect();
        for i in (1..dims.len()).rev() {
            dims.swap(i, rng.random_range(0..=i));
        }
        let mut element: Element =
            dims[..depth].iter().map(|&d| (d, rng.random_range(0..cardinalities[d]) as u32)).collect();
        element.sort_unstable();
        let overlaps = causes.iter().any(|c| {
            c.iter().all(|&(d, v)| element.iter().all(|&(e, w)| e != d || w == v))
                || element.iter().all(|&(d, v)| c.iter().all(|&(e, w)| e != d || w == v))
        });
        if !overlaps {
            causes.push(element);
        }
    }
    causes
}

/// Advances grid codes to the next cell (last dimension fastest).
fn next_cell(codes: &mut [u32], cardinalities: &[usize]) {
    for d in (0..codes.len()).rev() {
        codes[d] += 1;
        if (codes[d] as usize) < cardinalities[d] {
            break;
        }
        codes[d] = 0;
    }
}

/// A grid of `cardinalities` with `n_causes` causes of the given depths (cycled).
pub fn planted(seed: u64, cardinalities: &[usize], n_causes: usize, depths: &[usize]) -> Planted {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dims: Vec<String> = (0..cardinalities.len()).map(|d| format!("d{d}")).collect();
    let mut table = LeafTable::new(dims);
    let mut dict = Dictionary::default();
    let names = names(cardinalities);
    let causes = draw_causes(&mut rng, cardinalities, n_causes, depths);
    let sizes = LogNormal::new(4.0, 1.0).expect("valid");
    let factors: Vec<f64> = causes.iter().map(|_| rng.random_range(0.2..0.6)).collect();
    let noise = Normal::new(1.0, 0.03).expect("valid");
    let total: usize = cardinalities.iter().product();
    let mut codes = vec![0u32; cardinalities.len()];
    for _ in 0..total {
        let values: Vec<&str> =
            codes.iter().enumerate().map(|(d, &v)| names[d][v as usize].as_str()).collect();
        let expected: f64 = sizes.sample(&mut rng);
        let jitter: f64 = noise.sample(&mut rng);
        let mut mean = expected * jitter.max(0.5);
        for (cause, factor) in causes.iter().zip(&factors) {
            if cause.iter().all(|&(d, v)| codes[d] == v) {
                mean *= factor;
            }
        }
        let actual = if mean > 0.0 { Poisson::new(mean).expect("mean > 0").sample(&mut rng) } else { 0.0 };
        table.push(&mut dict, &values, actual, expected);
        next_cell(&mut codes, cardinalities);
    }
    // Codes follow first appearance, which on a full grid is the value order.
    Planted { table, causes }
}

/// A ratio metric with planted causes.
#[derive(Debug, Clone)]
pub struct PlantedRatio {
    pub leaves: RatioLeaves,
    pub causes: Vec<Element>,
}

/// A ratio metric (a conversion rate) on a grid: each dimension value has its own rate
/// effect, so leaves differ in rate; denominators are lognormal and move between the
/// windows by ±20% per leaf (mix noise); numerators are binomial; causes multiply the
/// current rate of their leaves by a factor in 0.4–0.7.
pub fn planted_ratio(seed: u64, cardinalities: &[usize], n_causes: usize, depths: &[usize]) -> PlantedRatio {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let names = names(cardinalities);
    let causes = draw_causes(&mut rng, cardinalities, n_causes, depths);
    let factors: Vec<f64> = causes.iter().map(|_| rng.random_range(0.4..0.7)).collect();
    let effects: Vec<Vec<f64>> =
        cardinalities.iter().map(|&k| (0..k).map(|_| rng.random_range(0.6..1.5)).collect()).collect();
    let sizes = LogNormal::new(7.5, 1.0).expect("valid");
    let mut leaves = RatioLeaves {
        dims: (0..cardinalities.len()).map(|d| format!("d{d}")).collect(),
        values: names,
        ..Default::default()
    };
    let binomial = |rng: &mut ChaCha8Rng, n: f64, p: f64| -> f64 {
        let n = n.round() as u64;
        if n == 0 {
            0.0
        } else {
            rand_distr::Binomial::new(n, p.clamp(0.0, 1.0)).expect("valid").sample(rng) as f64
        }
    };
    let total: usize = cardinalities.iter().product();
    let mut codes = vec![0u32; cardinalities.len()];
    for _ in 0..total {
        let rate = (0.05 * codes.iter().enumerate().map(|(d, &v)| effects[d][v as usize]).product::<f64>())
            .clamp(0.001, 0.9);
        let den_base: f64 = sizes.sample(&mut rng);
        let den_base = den_base.round();
        let den_cur = (den_base * rng.random_range(0.8..1.2)).round();
        let mut current_rate = rate;
        for (cause, factor) in causes.iter().zip(&factors) {
            if cause.iter().all(|&(d, v)| codes[d] == v) {
                current_rate *= factor;
            }
        }
        leaves.codes.push(codes.clone());
        leaves.num_base.push(binomial(&mut rng, den_base, rate));
        leaves.den_base.push(den_base);
        leaves.num_cur.push(binomial(&mut rng, den_cur, current_rate));
        leaves.den_cur.push(den_cur);
        next_cell(&mut codes, cardinalities);
    }
    PlantedRatio { leaves, causes }
}

/// Micro-averaged F1 over causes: a found element counts only if it equals a planted one.
pub fn micro_f1(results: &[(Vec<Element>, Vec<Element>)]) -> f64 {
    let (mut tp, mut n_found, mut n_true) = (0usize, 0usize, 0usize);
    for (truth, found) in results {
        n_true += truth.len();
        n_found += found.len();
        tp += found.iter().filter(|f| truth.contains(f)).count();
    }
    if n_found + n_true == 0 { 1.0 } else { 2.0 * tp as f64 / (n_found + n_true) as f64 }
}
