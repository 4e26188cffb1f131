//! Synthetic leaf tables with planted root causes, for tests and benchmarks: a full grid of
//! dimension values, lognormal leaf sizes, noisy actuals, and 1–3 causes 1–3 terms deep
//! that scale their leaves by one factor (the ripple effect).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

use super::leaves::{Dictionary, Element, LeafTable};

#[derive(Debug, Clone)]
pub struct Planted {
    pub table: LeafTable,
    pub causes: Vec<Element>,
}

/// A grid of `cardinalities` with `n_causes` causes of the given depths (cycled).
pub fn planted(seed: u64, cardinalities: &[usize], n_causes: usize, depths: &[usize]) -> Planted {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dims: Vec<String> = (0..cardinalities.len()).map(|d| format!("d{d}")).collect();
    let mut table = LeafTable::new(dims);
    let mut dict = Dictionary::default();
    let names: Vec<Vec<String>> = cardinalities
        .iter()
        .enumerate()
        .map(|(d, &k)| (0..k).map(|v| format!("v{d}_{v}")).collect())
        .collect();
    // Causes: distinct dimensions per cause, values drawn at random, no cause inside another.
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
        // Next grid cell.
        for d in (0..codes.len()).rev() {
            codes[d] += 1;
            if (codes[d] as usize) < cardinalities[d] {
                break;
            }
            codes[d] = 0;
        }
    }
    // Codes follow first appearance, which on a full grid is the value order.
    Planted { table, causes }
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
