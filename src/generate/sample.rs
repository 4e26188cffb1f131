//! Samplers for the hot loop. A session needs about a dozen random choices; drawing each
//! from a fresh 64-bit number through a general-purpose distribution was a third of
//! generation time. Here the bits come from xoshiro256++ 32 at a time (a category or a
//! coin flip needs no more), categories are drawn through a guide table (one lookup,
//! almost never a second comparison), and log-normal values come from a quantile table.

use rand::{RngCore, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

use crate::stats::dist::normal_quantile;

/// 2³², the number of distinct 32-bit draws.
const TWO_32: f64 = 4_294_967_296.0;

/// A stream of uniform random bits, handed out as 32- or 64-bit integers: xoshiro256++ by
/// default; [`ShortBits`] for the shop's sessions, which each draw a dozen numbers from a
/// stream of their own.
pub struct Bits<R = Xoshiro256PlusPlus> {
    rng: R,
    spare: u32,
    has_spare: bool,
}

/// A short stream: splitmix64 (Steele, Lea & Flood 2014), whose seeding is one store where
/// xoshiro's is four splitmix64 rounds. Streams from well-mixed seeds start at unrelated
/// points of its period of 2⁶⁴ and are a dozen steps long, so they do not overlap.
pub type ShortBits = Bits<SplitMix64>;

impl Bits {
    pub fn new(seed: u64) -> Self {
        Bits { rng: Xoshiro256PlusPlus::seed_from_u64(seed), spare: 0, has_spare: false }
    }
}

impl ShortBits {
    pub fn short(seed: u64) -> Self {
        Bits { rng: SplitMix64::seed_from_u64(seed), spare: 0, has_spare: false }
    }
}

impl<R: RngCore> Bits<R> {
    pub fn u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    pub fn u32(&mut self) -> u32 {
        if self.has_spare {
            self.has_spare = false;
            self.spare
        } else {
            let x = self.rng.next_u64();
            self.spare = x as u32;
            self.has_spare = true;
            (x >> 32) as u32
        }
    }

    /// True with probability `p` (to 2⁻³²); `p` ≥ 1 is always true, `p` ≤ 0 never.
    pub fn chance(&mut self, p: f64) -> bool {
        f64::from(self.u32()) < p * TWO_32
    }

    /// Uniform integer in `lo..hi` (`hi > lo`, span below 2³²), by a multiply-shift: the bias
    /// is under span / 2³² of a count, far below anything the data can show.
    pub fn below(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((u64::from(self.u32()) * (hi - lo)) >> 32)
    }

    /// Uniform integer in `1..=n`, from a full 64-bit draw (bias under n / 2⁶⁴).
    pub fn one_to(&mut self, n: u64) -> u64 {
        1 + ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }
}

/// A discrete distribution over byte codes, drawn from a 32-bit uniform.
#[derive(Debug, Clone)]
pub struct Discrete {
    pub codes: Vec<u8>,
    /// Cumulative probability × 2³² per code; the last is 2³², above every draw.
    thresholds: Vec<u64>,
    /// For each of the 256 slices of the 32-bit range, the first code that can be drawn in
    /// it: the draw starts there and rarely has to step on.
    guide: [u8; 256],
}

impl Discrete {
    /// Codes with weights; zero weights are dropped, the rest normalised.
    pub fn new(pairs: impl IntoIterator<Item = (u8, f64)>) -> Self {
        let pairs: Vec<(u8, f64)> = pairs.into_iter().filter(|(_, w)| *w > 0.0).collect();
        assert!(!pairs.is_empty(), "a distribution needs a positive weight");
        let total: f64 = pairs.iter().map(|(_, w)| w).sum();
        let mut acc = 0.0;
        let mut codes = Vec::with_capacity(pairs.len());
        let mut thresholds = Vec::with_capacity(pairs.len());
        for (code, w) in pairs {
            acc += w / total;
            codes.push(code);
            thresholds.push(((acc * TWO_32).round() as u64).min(1 << 32));
        }
        *thresholds.last_mut().expect("not empty") = 1 << 32;
        let mut guide = [0u8; 256];
        let mut i = 0;
        for (slice, g) in guide.iter_mut().enumerate() {
            let low = (slice as u64) << 24;
            while thresholds[i] <= low {
                i += 1;
            }
            *g = i as u8;
        }
        Discrete { codes, thresholds, guide }
    }

    /// Each code with its probability.
    pub fn probabilities(&self) -> impl Iterator<Item = (u8, f64)> + '_ {
        self.codes.iter().zip(&self.thresholds).scan(0u64, |below, (&code, &upto)| {
            let share = (upto - *below) as f64 / TWO_32;
            *below = upto;
            Some((code, share))
        })
    }

    #[inline]
    pub fn draw(&self, u: u32) -> u8 {
        let mut i = usize::from(self.guide[(u >> 24) as usize]);
        while u64::from(u) >= self.thresholds[i] {
            i += 1;
        }
        self.codes[i]
    }
}

/// Quantile-table sampler for exp(μ + σ·Z), Z standard normal: the 4,096-quantile grid,
/// linearly interpolated, with the two outer bins (probability 1/4,096 each) computed
/// exactly so the tails keep their shape. Inside a bin values are uniform between its
/// quantiles; bins near the median are about 0.1% of the median wide.
#[derive(Debug, Clone)]
pub struct LogNormal {
    mu: f64,
    sigma: f64,
    quantiles: Vec<f64>,
}

const BINS_LOG2: u32 = 12;
const BINS: usize = 1 << BINS_LOG2;

impl LogNormal {
    pub fn new(mu: f64, sigma: f64) -> Self {
        let quantiles = (0..=BINS)
            .map(|i| {
                if i == 0 || i == BINS {
                    f64::NAN // the outer bins are computed exactly, never from the table
                } else {
                    (mu + sigma * normal_quantile(i as f64 / BINS as f64)).exp()
                }
            })
            .collect();
        LogNormal { mu, sigma, quantiles }
    }

    #[inline]
    pub fn draw(&self, x: u64) -> f64 {
        let bin = (x >> (64 - BINS_LOG2)) as usize;
        if bin == 0 || bin == BINS - 1 {
            // The tail probability at 53 bits, centred in its step so it is never 0; the
            // upper tail through 1 − p, which keeps its digits where p would round to 1.
            let scale = (1u64 << 53) as f64;
            let k = (x >> 11) as f64;
            let z = if bin == 0 {
                normal_quantile((k + 0.5) / scale)
            } else {
                -normal_quantile((scale - 1.0 - k + 0.5) / scale)
            };
            return (self.mu + self.sigma * z).exp();
        }
        let frac = (x << BINS_LOG2 >> 11) as f64 / (1u64 << 53) as f64;
        let (lo, hi) = (self.quantiles[bin], self.quantiles[bin + 1]);
        lo + (hi - lo) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_hits_every_code_at_its_share() {
        let d = Discrete::new([(3, 0.5), (7, 0.0), (1, 0.3), (9, 0.2)]);
        assert!(!d.codes.contains(&7), "zero weights are dropped");
        // Exact boundaries: the first 2^31 draws are code 3, then 0.3 × 2^32 of code 1.
        assert_eq!(d.draw(0), 3);
        assert_eq!(d.draw((1 << 31) - 1), 3);
        assert_eq!(d.draw(1 << 31), 1);
        let edge = (0.8 * TWO_32).round() as u32;
        assert_eq!(d.draw(edge - 1), 1);
        assert_eq!(d.draw(edge), 9);
        assert_eq!(d.draw(u32::MAX), 9);
        // Share over an even sweep of the 32-bit range equals the weight to 1e-6.
        let mut counts = [0u64; 10];
        let step = 4099u32;
        let mut u = 0u32;
        let mut n = 0u64;
        loop {
            counts[d.draw(u) as usize] += 1;
            n += 1;
            match u.checked_add(step) {
                Some(next) => u = next,
                None => break,
            }
        }
        for (code, want) in [(3, 0.5), (1, 0.3), (9, 0.2)] {
            let share = counts[code] as f64 / n as f64;
            assert!((share - want).abs() < 1e-5, "code {code}: {share} vs {want}");
        }
    }

    #[test]
    fn discrete_with_tiny_weights_still_draws_them() {
        // A weight smaller than one guide slice (1/256) must still be reachable.
        let d = Discrete::new([(0, 0.999), (1, 0.0005), (2, 0.0005)]);
        let lo = (0.999 * TWO_32).round() as u32;
        assert_eq!(d.draw(lo - 1), 0);
        assert_eq!(d.draw(lo), 1);
        assert_eq!(d.draw(u32::MAX), 2);
    }

    #[test]
    fn lognormal_quantiles_match_the_closed_form() {
        // Median exp(μ) and the 0.9 quantile exp(μ + 1.2815516·σ) (Φ⁻¹(0.9) from statrs,
        // checked against scipy.stats.norm.ppf(0.9) = 1.2815515655446004); interpolation
        // error inside a bin is below 1e-6 relative at σ = 0.45.
        let ln = LogNormal::new(850f64.ln(), 0.45);
        let at = |p: f64| ln.draw((p * 2f64.powi(64)) as u64);
        assert!((at(0.5) / 850.0 - 1.0).abs() < 1e-6, "{}", at(0.5));
        let q90 = 850.0 * (0.45 * 1.2815515655446004f64).exp();
        assert!((at(0.9) / q90 - 1.0).abs() < 1e-6, "{} vs {q90}", at(0.9));
        // Outer bins are exact: p = 1e-5 is in the lowest bin.
        let q_low = 850.0 * (0.45 * normal_quantile(1e-5)).exp();
        assert!((at(1e-5) / q_low - 1.0).abs() < 1e-4, "{} vs {q_low}", at(1e-5));
        // Upper tail: p = 1 − 1e-5 mirrors the lower one.
        let q_high = 850.0 * (-0.45 * normal_quantile(1e-5)).exp();
        assert!((at(1.0 - 1e-5) / q_high - 1.0).abs() < 1e-4, "{} vs {q_high}", at(1.0 - 1e-5));
        // The extreme draws stay finite and positive (Φ⁻¹ of about ±8.3).
        assert!(ln.draw(0) > 0.0 && ln.draw(u64::MAX).is_finite());
    }

    #[test]
    fn bits_are_reproducible_and_cover_the_range() {
        let mut a = Bits::new(7);
        let mut b = Bits::new(7);
        let xs: Vec<u32> = (0..1000).map(|_| a.u32()).collect();
        let ys: Vec<u32> = (0..1000).map(|_| b.u32()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().any(|&x| x > u32::MAX - (u32::MAX / 50)));
        assert!(xs.iter().any(|&x| x < u32::MAX / 50));
        let mut c = Bits::new(7);
        let draws: Vec<u64> = (0..10_000).map(|_| c.below(60, 90)).collect();
        assert!(draws.iter().all(|&x| (60..90).contains(&x)));
        assert!(draws.contains(&60) && draws.contains(&89));
        assert!((0..10_000).map(|_| c.one_to(3)).all(|x| (1..=3).contains(&x)));
    }
}
