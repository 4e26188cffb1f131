//! Per-arm first and second moments of a pair of per-unit values (a numerator and a
//! denominator, or a metric and its pre-period covariate), from running sums or raw values.
//! Ratio metrics and CUPED both need exactly these six numbers.

use serde::Serialize;

use super::error::{Result, StatsError, bounded, count};

/// n, means, sample variances (ddof 1) and sample covariance of (x, y) in one arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bivariate {
    pub n: u64,
    pub mean_x: f64,
    pub mean_y: f64,
    pub var_x: f64,
    pub var_y: f64,
    pub cov_xy: f64,
}

/// Running sums per arm: n, Σx, Σy, Σx², Σy², Σxy (what a SQL `GROUP BY variant` gives).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sums {
    pub n: u64,
    pub sum_x: f64,
    pub sum_y: f64,
    pub sum_x2: f64,
    pub sum_y2: f64,
    pub sum_xy: f64,
}

impl Bivariate {
    /// From running sums. Variances that round below 0 (constant values) become 0; a
    /// variance clearly below 0 or |cov| above √(var_x·var_y) means the sums are inconsistent.
    pub fn from_sums(arg: &'static str, sums: Sums) -> Result<Self> {
        for value in [sums.sum_x, sums.sum_y, sums.sum_x2, sums.sum_y2, sums.sum_xy] {
            bounded(arg, value)?;
        }
        count(arg, sums.n)?;
        if sums.n < 2 {
            return Err(StatsError::TooFewObservations { arg, min: 2, got: sums.n });
        }
        let n = sums.n as f64;
        let (mean_x, mean_y) = (sums.sum_x / n, sums.sum_y / n);
        let centered = |sum_sq: f64, a: f64, b: f64| (sum_sq - n * a * b) / (n - 1.0);
        let var_x = centered(sums.sum_x2, mean_x, mean_x);
        let var_y = centered(sums.sum_y2, mean_y, mean_y);
        let cov_xy = centered(sums.sum_xy, mean_x, mean_y);
        // Cancellation in Σx² − n·x̄² leaves relative noise of order 1e-12 of Σx².
        let slack = |sum_sq: f64| 1e-9 * sum_sq.abs() / (n - 1.0);
        let inconsistent = var_x < -slack(sums.sum_x2)
            || var_y < -slack(sums.sum_y2)
            || cov_xy.powi(2) > var_x.max(0.0) * var_y.max(0.0) * (1.0 + 1e-9) + slack(sums.sum_xy).powi(2);
        if inconsistent {
            return Err(StatsError::Invalid {
                arg,
                message: "the sums are inconsistent (a sum of squares is smaller than the square of the sum allows); expected n,Σx,Σy,Σx²,Σy²,Σxy".into(),
            });
        }
        Ok(Self { n: sums.n, mean_x, mean_y, var_x: var_x.max(0.0), var_y: var_y.max(0.0), cov_xy })
    }

    /// From paired raw values (two-pass, so large offsets keep their precision).
    pub fn from_values(arg: &'static str, x: &[f64], y: &[f64]) -> Result<Self> {
        if x.len() != y.len() {
            return Err(StatsError::Invalid {
                arg,
                message: format!("{} x values but {} y values; they must pair up", x.len(), y.len()),
            });
        }
        if let Some(&bad) = x.iter().chain(y).find(|v| !v.is_finite()) {
            return Err(StatsError::NotFinite { arg, value: bad });
        }
        if let Some(&bad) = x.iter().chain(y).find(|v| v.abs() > super::error::MAX_ABS) {
            super::error::bounded(arg, bad)?;
        }
        let n = x.len();
        if n < 2 {
            return Err(StatsError::TooFewObservations { arg, min: 2, got: n as u64 });
        }
        let nf = n as f64;
        let mean_x = x.iter().sum::<f64>() / nf;
        let mean_y = y.iter().sum::<f64>() / nf;
        let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
        for (a, b) in x.iter().zip(y) {
            let (dx, dy) = (a - mean_x, b - mean_y);
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
        Ok(Self {
            n: n as u64,
            mean_x,
            mean_y,
            var_x: sxx / (nf - 1.0),
            var_y: syy / (nf - 1.0),
            cov_xy: sxy / (nf - 1.0),
        })
    }

    /// The moments of two groups pooled into one (Chan, Golub & LeVeque 1979 merge).
    pub fn combine(&self, other: &Bivariate) -> Bivariate {
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let (dx, dy) = (other.mean_x - self.mean_x, other.mean_y - self.mean_y);
        let co = |s_a: f64, s_b: f64, d1: f64, d2: f64| {
            ((na - 1.0) * s_a + (nb - 1.0) * s_b + d1 * d2 * na * nb / n) / (n - 1.0)
        };
        Bivariate {
            n: self.n + other.n,
            mean_x: self.mean_x + dx * nb / n,
            mean_y: self.mean_y + dy * nb / n,
            var_x: co(self.var_x, other.var_x, dx, dx),
            var_y: co(self.var_y, other.var_y, dy, dy),
            cov_xy: co(self.cov_xy, other.cov_xy, dx, dy),
        }
    }
}
