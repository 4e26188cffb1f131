//! Thin wrappers over `statrs` distributions: tail probabilities and quantiles with the
//! argument checks done once, so the tests elsewhere read as formulas.

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};

use super::beta::BetaDist;

/// Standard normal.
fn std_normal() -> Normal {
    Normal::standard()
}

/// Φ(z).
pub fn normal_cdf(z: f64) -> f64 {
    std_normal().cdf(z)
}

/// 1 − Φ(z), computed from erfc so the far tail keeps its digits.
pub fn normal_sf(z: f64) -> f64 {
    std_normal().sf(z)
}

/// Φ⁻¹(p).
pub fn normal_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Upper tail of Student's t with `df` degrees of freedom (df may be fractional). statrs
/// goes through ln Γ(df/2), whose absolute rounding (~eps·ln Γ) costs relative accuracy
/// once df reaches the millions: about 6e-9 at df = 4e6, 1e-12 at df = 1e4. Above
/// [`LARGE_DF`] Wallace's (1959) normalisation z = (8df+1)/(8df+3)·√(df·ln(1 + t²/df))
/// ("Bounds on normal approximations to Student's and the chi-square distributions", Ann.
/// Math. Statist. 30) is used instead: against scipy 1.17 `t.sf` its relative error is
/// below 1e-11 at df = 1e6 and 1e-12 from df = 1e7 on, for |t| up to 8.
pub fn t_sf(t: f64, df: f64) -> f64 {
    if df > LARGE_DF {
        return normal_sf(wallace_z(t, df));
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => dist.sf(t),
        Err(_) => f64::NAN,
    }
}

/// Degrees of freedom above which Student's t is computed by Wallace's normalisation.
const LARGE_DF: f64 = 1e6;

fn wallace_z(t: f64, df: f64) -> f64 {
    t.signum() * (8.0 * df + 1.0) / (8.0 * df + 3.0) * (df * (t * t / df).ln_1p()).sqrt()
}

/// Quantile of Student's t. statrs' inverse drifts for large df (1% off at df = 4e6), so
/// its answer (or Φ⁻¹(p) when df > 1000) only seeds Newton steps on the cdf.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if df > LARGE_DF {
        // Wallace's normalisation inverted: t = ±√(df·(exp(w²/df) − 1)).
        let w = normal_quantile(p).abs() * (8.0 * df + 3.0) / (8.0 * df + 1.0);
        return (p - 0.5).signum() * (df * (w * w / df).exp_m1()).sqrt();
    }
    let Ok(dist) = StudentsT::new(0.0, 1.0, df) else { return f64::NAN };
    let mut t = if df > 1000.0 { normal_quantile(p) } else { dist.inverse_cdf(p) };
    for _ in 0..8 {
        // cdf(t) − p, evaluated in the smaller tail so it keeps its digits.
        let residual = if t > 0.0 { (1.0 - p) - dist.sf(t) } else { dist.cdf(t) - p };
        let step = residual / dist.pdf(t);
        t -= step;
        if step.abs() <= 1e-15 * t.abs().max(1.0) {
            break;
        }
    }
    t
}

/// Upper tail of the chi-square distribution.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(dist) => dist.sf(x),
        Err(_) => f64::NAN,
    }
}

/// Quantile of Beta(a, b) at lower tail `p`, in bounded time for any a, b > 0
/// ([`super::beta`]); the endpoints exactly.
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    BetaDist::new(a, b).quantile(p)
}

/// The x with P(X > x) = `q` for X ~ Beta(a, b): an upper bound from its own small tail.
pub fn beta_upper_quantile(q: f64, a: f64, b: f64) -> f64 {
    BetaDist::new(a, b).upper_quantile(q)
}

/// P-value of a statistic `z` with a symmetric null distribution given its upper tail.
pub fn p_from_tails(upper_tail: impl Fn(f64) -> f64, z: f64, alternative: Alternative) -> f64 {
    match alternative {
        Alternative::TwoSided => (2.0 * upper_tail(z.abs())).min(1.0),
        Alternative::Greater => upper_tail(z),
        Alternative::Less => upper_tail(-z),
    }
}

/// Which way the alternative hypothesis points: treatment − control ≠ 0, > 0 or < 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    #[default]
    TwoSided,
    Greater,
    Less,
}

impl Alternative {
    pub fn as_str(self) -> &'static str {
        match self {
            Alternative::TwoSided => "two-sided",
            Alternative::Greater => "greater",
            Alternative::Less => "less",
        }
    }

    /// Number of tails the test spends alpha on.
    pub fn sides(self) -> u8 {
        if self == Alternative::TwoSided { 2 } else { 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::assert_close;

    #[test]
    fn student_t_with_millions_of_df_matches_scipy() {
        // scipy 1.17: t.sf(3.0, 2e6) = 0.0013499146511160671, t.sf(5.0, 5e7) =
        // 2.866525382481911e-07, t.ppf(0.975, 2e11) = 1.9599639845519155; Wallace's
        // normalisation is good to ~1e-11 relative from df = 1e6 on.
        assert_close(t_sf(3.0, 2e6), 0.0013499146511160671, 1e-10);
        assert_close(t_sf(5.0, 5e7), 2.866525382481911e-07, 1e-10);
        assert_close(t_sf(-3.0, 2e6), 1.0 - 0.0013499146511160671, 1e-12);
        assert_close(t_quantile(0.975, 2e11), 1.9599639845519155, 1e-12);
        assert_close(t_quantile(0.025, 2e11), -1.9599639845519155, 1e-12);
        // Below the switch statrs still answers, and a df that is not a number gives NaN
        // rather than a panic.
        assert!(t_sf(1.0, f64::NAN).is_nan());
        assert!(t_quantile(0.9, -1.0).is_nan());
    }
}
