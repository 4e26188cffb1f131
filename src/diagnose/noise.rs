//! The leaf noise model for tables that carry no variance of their own (an additive metric
//! against a forecast): Var(actual − expected) = φ·e + κ·e², a Poisson-like term plus a
//! multiplicative (forecast-error) term, the variance function of the negative binomial and
//! of quasi-likelihood (McCullagh & Nelder, *Generalized Linear Models*, 2nd ed., §9.2).
//!
//! Why: the scan's Poisson likelihood ratio assumes variance = e. Forecast errors grow with
//! the leaf (on the Squeeze B0 benchmark every leaf is off by about 1% of itself), so under
//! Poisson a few large leaves make any element that holds them "significant", and among
//! thousands of candidates some always are: spurious extra causes. With the fitted model
//! each leaf weighs 1/(φ + κ·e) Poisson-equivalent counts per unit, the likelihood ratio on
//! the weighted sums is a quasi-likelihood ratio calibrated to the table's own noise, and
//! under a multiplicative model every leaf's ratio counts alike: the ripple effect (a root
//! cause moves all its leaves by one ratio) is what a cause must show, not a few big leaves.
//!
//! The fit is robust to the anomalous leaves (the causes), which can be a fifth of a table:
//! leaves are binned by expected value, each bin's variance is the median squared residual
//! (over the median of χ²₁), φ and κ are fitted to the bins by weighted least squares, and
//! the bins' medians are taken again over the leaves within 3 standard deviations of that
//! fit, a few rounds. Medians, not means: a mean over a bin that still holds anomalous
//! leaves has a second, inflated fixed point (a large κ that keeps them all), a median does
//! not. Too few leaves, or residuals of exactly zero (a hand-made table), keep Poisson.

/// Var(actual − expected) = `phi`·e + `kappa`·e² for a leaf with expected value e.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseModel {
    pub phi: f64,
    pub kappa: f64,
}

/// Fewest leaves with a forecast for a fit; below it the model stays Poisson.
pub const MIN_LEAVES: usize = 50;

/// Median of χ²₁ (scipy.stats.chi2.median(1) = 0.454936…): squared residuals' median over
/// their variance under normal noise.
const CHI2_1_MEDIAN: f64 = 0.454_936_423_119_572_8;

/// Leaves farther than this many standard deviations are left out of the refit.
const TRIM_Z: f64 = 3.0;

impl NoiseModel {
    pub const POISSON: NoiseModel = NoiseModel { phi: 1.0, kappa: 0.0 };

    pub fn variance(&self, expected: f64) -> f64 {
        self.phi * expected + self.kappa * expected * expected
    }

    /// Poisson-equivalent counts per unit of a leaf with this expected value: e / variance.
    pub fn weight(&self, expected: f64) -> f64 {
        let d = self.phi + self.kappa * expected.max(0.0);
        if d > 0.0 { 1.0 / d } else { 0.0 }
    }

    /// Fits the model to leaves' actual and expected values (see the module header).
    pub fn fit(actual: &[f64], expected: &[f64]) -> NoiseModel {
        let mut leaves: Vec<(f64, f64)> =
            actual.iter().zip(expected).filter(|&(_, &e)| e > 0.0).map(|(&a, &e)| (a, e)).collect();
        if leaves.len() < MIN_LEAVES {
            return NoiseModel::POISSON;
        }
        leaves.sort_by(|x, y| x.1.total_cmp(&y.1));
        let mut ratios: Vec<f64> = leaves.iter().map(|&(a, e)| a / e).collect();
        let centre = median(&mut ratios);
        let n_bins = (leaves.len() / BIN_LEAVES).clamp(2, MAX_BINS);
        let bins: Vec<&[(f64, f64)]> = (0..n_bins)
            .map(|b| &leaves[b * leaves.len() / n_bins..(b + 1) * leaves.len() / n_bins])
            .collect();
        // Round 0 measures each bin against the Poisson shape, later rounds against the
        // previous fit: a bin spans a range of sizes, so its squared residuals are compared
        // with the model's shape leaf by leaf and only the bin's level is read off them.
        let mut model: Option<NoiseModel> = None;
        for _ in 0..ROUNDS {
            let shape = model.unwrap_or(NoiseModel::POISSON);
            let points: Vec<(f64, f64, f64)> = bins
                .iter()
                .filter_map(|bin| {
                    // Squared residuals over the shape's variance, without the leaves beyond
                    // TRIM_Z standard deviations of the current fit (none in round 0).
                    let mut z2: Vec<f64> = bin
                        .iter()
                        .filter_map(|&(a, e)| {
                            let r2 = (a - centre * e).powi(2);
                            let v = shape.variance(e);
                            let kept = model.is_none_or(|m| r2 < TRIM_Z * TRIM_Z * m.variance(e));
                            (kept && v > 0.0).then_some(r2 / v)
                        })
                        .collect();
                    if z2.len() < MIN_BIN {
                        return None;
                    }
                    let mut sizes: Vec<f64> = bin.iter().map(|&(_, e)| e).collect();
                    let typical = median(&mut sizes);
                    let level = median(&mut z2) / CHI2_1_MEDIAN;
                    Some((typical, level * shape.variance(typical), z2.len() as f64))
                })
                .collect();
            let Some(next) = fit_points(&points) else { break };
            let settled = model.is_some_and(|m| {
                (next.phi - m.phi).abs() <= 1e-3 * m.phi.max(f64::MIN_POSITIVE)
                    && (next.kappa - m.kappa).abs() <= 1e-3 * m.kappa.max(f64::MIN_POSITIVE)
            });
            model = Some(next);
            if settled {
                break;
            }
        }
        model.unwrap_or(NoiseModel::POISSON)
    }
}

/// Leaves per bin of expected value (at most [`MAX_BINS`] bins).
const BIN_LEAVES: usize = 200;
const MAX_BINS: usize = 16;
/// Fewest kept leaves for a bin's variance.
const MIN_BIN: usize = 20;
/// Refits (each trims by the previous model).
const ROUNDS: usize = 6;

/// The median, by selection (no full sort); the upper one of an even count's two middles.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mid = values.len() / 2;
    *values.select_nth_unstable_by(mid, f64::total_cmp).1
}

/// φ, κ ≥ 0 from (mean expected, variance, leaves) per bin: least squares on the relative
/// error (each bin weighted by its leaves over its variance squared); one term alone if the
/// other would be negative. `None` if every bin's variance is zero (a noiseless table).
fn fit_points(points: &[(f64, f64, f64)]) -> Option<NoiseModel> {
    if points.iter().all(|&(_, v, _)| v <= 0.0) {
        return None;
    }
    let floor = points.iter().map(|&(_, v, _)| v).filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    // Scaled so e and e² stay near 1.
    let scale = points.iter().map(|&(e, _, _)| e).fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let (mut s11, mut s12, mut s22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(e, v, n) in points {
        let w = n / v.max(floor).powi(2);
        let (x1, x2, y) = (e / scale, (e / scale).powi(2), v / scale);
        s11 += w * x1 * x1;
        s12 += w * x1 * x2;
        s22 += w * x2 * x2;
        b1 += w * x1 * y;
        b2 += w * x2 * y;
    }
    let det = s11 * s22 - s12 * s12;
    let both = (det > 1e-12 * s11 * s22).then(|| ((b1 * s22 - b2 * s12) / det, (s11 * b2 - s12 * b1) / det));
    let (c1, c2) = match both {
        Some((c1, c2)) if c1 >= 0.0 && c2 >= 0.0 => (c1, c2),
        _ => {
            // One term: the one that leaves the smaller weighted residual sum of squares
            // (the constant Σw·y² cancels between the two).
            let gain = |s: f64, b: f64| if s > 0.0 { b * b / s } else { 0.0 };
            if gain(s11, b1) >= gain(s22, b2) {
                ((b1 / s11).max(0.0), 0.0)
            } else {
                (0.0, (b2 / s22).max(0.0))
            }
        }
    };
    // y = v/scale = c1·(e/scale) + c2·(e/scale)²  ⇒  v = c1·e + (c2/scale)·e².
    let model = NoiseModel { phi: c1, kappa: c2 / scale };
    (model.phi > 0.0 || model.kappa > 0.0).then_some(model)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, LogNormal, Normal, Poisson};

    use super::*;

    /// Leaves of log-normal size with actual = Poisson(expected) or expected·(1 + N(0, σ)).
    fn leaves(seed: u64, n: usize, multiplicative: Option<f64>) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sizes = LogNormal::new(3.0, 2.0).expect("valid");
        let (mut a, mut e) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let x: f64 = sizes.sample(&mut rng);
            let y = match multiplicative {
                Some(sigma) => x * (1.0 + Normal::new(0.0, sigma).expect("valid").sample(&mut rng)),
                None => Poisson::new(x).expect("x > 0").sample(&mut rng),
            };
            a.push(y);
            e.push(x);
        }
        (a, e)
    }

    #[test]
    fn recovers_a_poisson_variance() {
        // Var = e exactly (φ = 1, κ = 0); 5,000 leaves estimate φ within about 5%.
        let (a, e) = leaves(1, 5000, None);
        let m = NoiseModel::fit(&a, &e);
        assert!((m.phi - 1.0).abs() < 0.1, "{m:?}");
        assert!(m.kappa < 1e-3, "{m:?}");
    }

    #[test]
    fn recovers_a_multiplicative_variance_despite_anomalous_leaves() {
        // Var = (0.01 e)² (κ = 1e-4, φ = 0); a fifth of the leaves dropped to 30%: the trimmed
        // refit must not see them (with them, the mean squared relative residual is 0.098).
        let (mut a, e) = leaves(2, 5000, Some(0.01));
        for (i, x) in a.iter_mut().enumerate() {
            if i % 5 == 0 {
                *x *= 0.3;
            }
        }
        let m = NoiseModel::fit(&a, &e);
        assert!((m.kappa / 1e-4 - 1.0).abs() < 0.15, "{m:?}");
        // φ·e is at most a small part of the variance at the median leaf (e ≈ 20).
        assert!(m.phi < 0.2 * 1e-4 * 20.0, "{m:?}");
    }

    #[test]
    fn few_or_noiseless_leaves_keep_poisson() {
        let e = vec![10.0; 40];
        assert_eq!(NoiseModel::fit(&e, &e), NoiseModel::POISSON);
        let e = vec![10.0; 400];
        assert_eq!(NoiseModel::fit(&e, &e), NoiseModel::POISSON);
    }

    #[test]
    fn weight_is_counts_per_unit() {
        let m = NoiseModel { phi: 2.0, kappa: 0.0 };
        assert_eq!(m.weight(100.0), 0.5);
        let m = NoiseModel { phi: 0.0, kappa: 0.01 };
        assert!((m.weight(100.0) * m.variance(100.0) - 100.0).abs() < 1e-9);
        assert_eq!(NoiseModel { phi: 0.0, kappa: 0.0 }.weight(5.0), 0.0);
    }
}
