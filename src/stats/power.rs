//! Power, sample size and minimum detectable effect for a two-arm test with equal arms.
//!
//! Proportions: the normal approximation with the pooled variance under the null and the
//! unpooled variance under the alternative (Fleiss, Levin & Paik 2003, "Statistical Methods
//! for Rates and Proportions", 3rd ed., eq. 4.14 without continuity correction):
//! n = (z₁₋α/ₛ·√(2p̄(1−p̄)) + z₁₋β·√(p₁(1−p₁) + p₂(1−p₂)))² / (p₂ − p₁)², p̄ = (p₁ + p₂)/2,
//! the formula of R's `power.prop.test` and statsmodels'
//! `samplesize_proportions_2indep_onetail`.
//! Means: n = 2σ²(z₁₋α/ₛ + z₁₋β)²/δ² (known-variance normal approximation, Chow, Shao & Wang
//! 2008, "Sample Size Calculations in Clinical Research", §3.2.1), as statsmodels'
//! `NormalIndPower`. The sample size ignores the far tail of a two-sided test (its share of
//! power is below 1e-6 at any useful power); power and MDE count both tails.

use serde::Serialize;

use super::dist::{normal_cdf, normal_quantile};
use super::error::{MAX_COUNT, Result, StatsError, bounded, count, level, open_unit, positive};

/// What the metric is: a conversion rate with its baseline, or a mean with its sd.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "metric", rename_all = "lowercase")]
pub enum Design {
    Proportion { baseline: f64 },
    Mean { baseline: f64, sd: f64 },
}

/// The settings every calculation shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub design: Design,
    pub alpha: f64,
    /// 1 or 2 tails.
    pub sides: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct PowerResult {
    #[serde(flatten)]
    pub design: Design,
    /// Users per arm (rounded up when solved for).
    pub n_per_arm: u64,
    pub power: f64,
    /// Minimum detectable effect as an absolute difference (rate points, or metric units).
    pub mde: f64,
    /// The same effect relative to the baseline.
    pub mde_relative: f64,
    pub alpha: f64,
    pub sides: u8,
    pub method: &'static str,
}

const PROPORTION_METHOD: &str =
    "normal approximation, pooled variance under H0 (Fleiss, Levin & Paik 2003, eq. 4.14; R power.prop.test)";
const MEAN_METHOD: &str =
    "normal approximation with known sd (Chow, Shao & Wang 2008, §3.2.1; statsmodels NormalIndPower)";

impl Plan {
    pub fn new(design: Design, alpha: f64, sides: u8) -> Result<Self> {
        level("alpha", alpha)?;
        if !(sides == 1 || sides == 2) {
            return Err(StatsError::Invalid {
                arg: "sides",
                message: format!("must be 1 or 2, got {sides}"),
            });
        }
        match design {
            Design::Proportion { baseline } => {
                open_unit("baseline", baseline)?;
            }
            Design::Mean { baseline, sd } => {
                bounded("baseline", baseline)?;
                positive("sd", sd)?;
                bounded("sd", sd)?;
            }
        }
        Ok(Self { design, alpha, sides })
    }

    fn z_alpha(&self) -> f64 {
        normal_quantile(1.0 - self.alpha / self.sides as f64)
    }

    /// sd of one unit's outcome under H0 and under H1 (per-arm, equal n).
    fn sds(&self, mde: f64) -> (f64, f64) {
        match self.design {
            Design::Proportion { baseline: p1 } => {
                let p2 = p1 + mde;
                let pbar = (p1 + p2) / 2.0;
                ((2.0 * pbar * (1.0 - pbar)).sqrt(), (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt())
            }
            Design::Mean { sd, .. } => ((2.0f64).sqrt() * sd, (2.0f64).sqrt() * sd),
        }
    }

    fn baseline(&self) -> f64 {
        match self.design {
            Design::Proportion { baseline } | Design::Mean { baseline, .. } => baseline,
        }
    }

    fn method(&self) -> &'static str {
        match self.design {
            Design::Proportion { .. } => PROPORTION_METHOD,
            Design::Mean { .. } => MEAN_METHOD,
        }
    }

    fn check_mde(&self, mde: f64) -> Result<f64> {
        bounded("mde", mde)?;
        if mde == 0.0 {
            return Err(StatsError::Invalid {
                arg: "mde",
                message: "the effect to detect must not be 0".into(),
            });
        }
        if let Design::Proportion { baseline } = self.design
            && !(0.0..1.0).contains(&(baseline + mde))
        {
            return Err(StatsError::Invalid {
                arg: "mde",
                message: format!("baseline {baseline} plus the effect {mde} leaves the rate outside [0, 1)"),
            });
        }
        Ok(mde)
    }

    /// Power with both tails counted for a two-sided test.
    fn power_at(&self, mde: f64, n: f64) -> f64 {
        let (sd0, sd1) = self.sds(mde);
        let z = self.z_alpha();
        let shift = mde.abs() * n.sqrt();
        let near = normal_cdf((shift - z * sd0) / sd1);
        if self.sides == 2 { near + normal_cdf((-shift - z * sd0) / sd1) } else { near }
    }

    fn result(&self, n_per_arm: u64, power: f64, mde: f64) -> PowerResult {
        PowerResult {
            design: self.design,
            n_per_arm,
            power,
            mde,
            mde_relative: mde / self.baseline(),
            alpha: self.alpha,
            sides: self.sides,
            method: self.method(),
        }
    }

    /// Users per arm to detect an absolute effect `mde` with probability `power`.
    pub fn sample_size(&self, mde: f64, power: f64) -> Result<PowerResult> {
        let n = self.sample_size_exact(mde, power)?;
        // Too small an effect needs more users than exist (1e-300 needs ~1e600 of them).
        if !(n.is_finite() && n.ceil() <= MAX_COUNT as f64) {
            // With a mean, the effect is small relative to the sd: name both.
            let against = match self.design {
                Design::Mean { sd, .. } => format!(" against an sd of {sd:e} (--sd)"),
                Design::Proportion { .. } => String::new(),
            };
            return Err(StatsError::Invalid {
                arg: "mde",
                message: format!(
                    "detecting an effect of {mde:e}{against} needs more than {MAX_COUNT} (10^12) users per arm; plan for a larger effect"
                ),
            });
        }
        Ok(self.result((n.ceil() as u64).max(1), power, mde))
    }

    /// The unrounded sample size (for reference checks).
    pub fn sample_size_exact(&self, mde: f64, power: f64) -> Result<f64> {
        let mde = self.check_mde(mde)?;
        open_unit("power", power)?;
        let (sd0, sd1) = self.sds(mde);
        Ok(((self.z_alpha() * sd0 + normal_quantile(power) * sd1) / mde).powi(2))
    }

    /// Probability of a significant result with `n` users per arm and true effect `mde`.
    pub fn power(&self, mde: f64, n: u64) -> Result<PowerResult> {
        let mde = self.check_mde(mde)?;
        count("n", n)?;
        if n == 0 {
            return Err(StatsError::ZeroTotal { arg: "n" });
        }
        Ok(self.result(n, self.power_at(mde, n as f64), mde))
    }

    /// Smallest positive absolute effect detected with probability `power` at `n` per arm
    /// (solved by bisection to 1e-14 relative).
    pub fn mde(&self, n: u64, power: f64) -> Result<PowerResult> {
        open_unit("power", power)?;
        count("n", n)?;
        if n == 0 {
            return Err(StatsError::ZeroTotal { arg: "n" });
        }
        let nf = n as f64;
        let mut hi = match self.design {
            Design::Proportion { baseline } => 1.0 - baseline - 1e-12,
            Design::Mean { sd, .. } => {
                let mut hi = sd;
                while self.power_at(hi, nf) < power {
                    hi *= 2.0;
                }
                hi
            }
        };
        if self.power_at(hi, nf) < power {
            return Err(StatsError::Invalid {
                arg: "n",
                message: format!(
                    "{n} users per arm cannot reach power {power} for any effect on this baseline"
                ),
            });
        }
        let mut lo = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.power_at(mid, nf) < power {
                lo = mid
            } else {
                hi = mid
            }
            if hi - lo <= 1e-14 * hi {
                break;
            }
        }
        Ok(self.result(n, power, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{CLOSED_FORM, assert_close};

    fn proportions(baseline: f64, alpha: f64, sides: u8) -> Plan {
        Plan::new(Design::Proportion { baseline }, alpha, sides).unwrap()
    }

    #[test]
    fn an_effect_too_small_to_detect_is_an_error_not_an_overflow() {
        // Issue #13: --mde 1e-300 gave n = ∞, saturated to u64::MAX and overflowed 2n.
        let err = proportions(0.05, 0.05, 2).sample_size(1e-300, 0.8).unwrap_err().to_string();
        assert!(err.starts_with("mde") && err.contains("10^12"), "{err}");
        let plan = Plan::new(Design::Mean { baseline: 10.0, sd: 5.0 }, 0.05, 2).unwrap();
        assert!(plan.sample_size(1e-20, 0.8).is_err());
        assert!(plan.power(0.5, crate::stats::error::MAX_COUNT + 1).is_err());
        assert!(Plan::new(Design::Mean { baseline: 1e300, sd: 1.0 }, 0.05, 2).is_err());
        assert!(Plan::new(Design::Proportion { baseline: 0.05 }, 1e-300, 2).is_err());
    }

    // Reference: statsmodels 0.15 `samplesize_proportions_2indep_onetail(diff, prop2=baseline,
    // power, ratio=1, alpha, alternative)` (alternative='larger' for one side).
    #[test]
    fn sample_size_matches_statsmodels() {
        assert_close(
            proportions(0.05, 0.05, 2).sample_size_exact(0.0025, 0.8).unwrap(),
            122123.46528317501,
            CLOSED_FORM,
        );
        assert_eq!(proportions(0.05, 0.05, 2).sample_size(0.0025, 0.8).unwrap().n_per_arm, 122124);
        assert_close(
            proportions(0.05, 0.05, 1).sample_size_exact(0.0025, 0.8).unwrap(),
            96196.45291103114,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.2, 0.01, 2).sample_size_exact(0.02, 0.9).unwrap(),
            12339.979691847342,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.5, 0.05, 2).sample_size_exact(-0.05, 0.8).unwrap(),
            1564.6720527749528,
            CLOSED_FORM,
        );
    }

    // Reference: `power_proportions_2indep(diff, prop2=baseline, nobs1=n, ratio=1, alpha,
    // alternative, return_results=False)`; the MDE by scipy `brentq` on that function at
    // power 0.8 (xtol 1e-15).
    #[test]
    fn power_and_mde_match_statsmodels() {
        assert_close(
            proportions(0.05, 0.05, 2).power(0.0025, 100_000).unwrap().power,
            0.7174209309044762,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.05, 0.05, 1).power(0.0025, 100_000).unwrap().power,
            0.813348137732453,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.1, 0.05, 2).power(0.01, 2000).unwrap().power,
            0.1779527406224391,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.05, 0.05, 2).mde(100_000, 0.8).unwrap().mde,
            0.002766120945957645,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.05, 0.05, 1).mde(100_000, 0.8).unwrap().mde,
            0.0024514458086492535,
            CLOSED_FORM,
        );
        assert_close(
            proportions(0.1, 0.05, 2).mde(2000, 0.8).unwrap().mde,
            0.028156208597714186,
            CLOSED_FORM,
        );
    }

    // Reference: statsmodels `NormalIndPower().power(effect_size=δ/σ, nobs1=n, alpha,
    // ratio=1, alternative)`; the MDE by `brentq(lambda e: NormalIndPower().power(e, n,
    // alpha, ratio=1, alternative=alt) - 0.8, 1e-6, 5, xtol=1e-15, rtol=1e-15)` times σ
    // (statsmodels' own solve_power stops 3e-5 short); sample size
    // 2*(norm.ppf(.975) + norm.ppf(.8))**2/0.05**2 = 6279.103787479269.
    #[test]
    fn means_match_statsmodels_normal_ind_power() {
        let plan = Plan::new(Design::Mean { baseline: 10.0, sd: 2.0 }, 0.05, 2).unwrap();
        assert_close(plan.power(0.1, 5000).unwrap().power, 0.7054180011138002, CLOSED_FORM);
        assert_close(plan.mde(5000, 0.8).unwrap().mde, 0.05603163574027158 * 2.0, CLOSED_FORM);
        assert_close(plan.sample_size_exact(0.1, 0.8).unwrap(), 6279.103787479269, CLOSED_FORM);
        let one = Plan::new(Design::Mean { baseline: 10.0, sd: 2.0 }, 0.05, 1).unwrap();
        assert_close(one.power(0.1, 5000).unwrap().power, 0.8037649400154937, CLOSED_FORM);
        assert_close(one.mde(5000, 0.8).unwrap().mde, 0.049729497210487736 * 2.0, CLOSED_FORM);
        let strict = Plan::new(Design::Mean { baseline: 1.0, sd: 1.0 }, 0.01, 2).unwrap();
        assert_close(strict.power(0.2, 100).unwrap().power, 0.12272882324457449, CLOSED_FORM);
        assert_close(strict.mde(100, 0.8).unwrap().mde, 0.48330048931427233, CLOSED_FORM);
    }

    #[test]
    fn rejects_impossible_plans() {
        assert!(
            Plan::new(Design::Proportion { baseline: 1.5 }, 0.05, 2)
                .unwrap_err()
                .to_string()
                .starts_with("baseline")
        );
        assert!(
            Plan::new(Design::Proportion { baseline: 0.05 }, 0.05, 3)
                .unwrap_err()
                .to_string()
                .starts_with("sides")
        );
        assert!(proportions(0.95, 0.05, 2).sample_size(0.1, 0.8).unwrap_err().to_string().starts_with("mde"));
        assert!(
            proportions(0.05, 0.05, 2).sample_size(0.01, 1.0).unwrap_err().to_string().starts_with("power")
        );
        assert!(proportions(0.5, 0.05, 2).mde(3, 0.99).unwrap_err().to_string().starts_with("n"));
    }
}
