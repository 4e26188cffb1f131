//! Thin wrappers over `statrs` distributions: tail probabilities and quantiles with the
//! argument checks done once, so the tests elsewhere read as formulas.

use statrs::distribution::{Beta, ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};

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
/// once df reaches the millions: about 6e-9 at df = 4e6, 1e-12 at df = 1e4.
pub fn t_sf(t: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).expect("df > 0 checked by caller").sf(t)
}

/// Quantile of Student's t. statrs' inverse drifts for large df (1% off at df = 4e6), so
/// its answer (or Φ⁻¹(p) when df > 1000) only seeds Newton steps on the cdf.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let dist = StudentsT::new(0.0, 1.0, df).expect("df > 0 checked by caller");
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
    ChiSquared::new(df).expect("df > 0 checked by caller").sf(x)
}

/// Quantile of Beta(a, b), with the endpoints handled exactly.
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    Beta::new(a, b).expect("a, b > 0 checked by caller").inverse_cdf(p)
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
