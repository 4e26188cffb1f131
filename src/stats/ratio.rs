//! Ratio metrics whose unit of analysis is not the unit of randomisation (revenue per
//! session, clicks per page view, randomised by user): the delta method of Deng, Knoblich &
//! Lu (2018), "Applying the Delta Method in Metric Analytics: A Practical Guide with Novel
//! Ideas", KDD, §3. For an arm of n users with per-user numerator X and denominator Y,
//! Var(X̄/Ȳ) ≈ (1/n)·(σ²ₓ/μ²ᵧ − 2·μₓσₓᵧ/μ³ᵧ + μ²ₓσ²ᵧ/μ⁴ᵧ).

use serde::Serialize;

use super::dist::{Alternative, normal_quantile, normal_sf, p_from_tails};
use super::error::{Result, StatsError, level};
use super::interval::Interval;
use super::moments::Bivariate;
use super::proportion::{open_side, ratio_se};

/// One arm's ratio and its delta-method standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioArm {
    pub n: u64,
    pub ratio: f64,
    pub se: f64,
}

impl RatioArm {
    /// Ratio Σx/Σy of an arm; x is the numerator, y the denominator.
    pub fn new(arg: &'static str, moments: &Bivariate) -> Result<Self> {
        let (mx, my) = (moments.mean_x, moments.mean_y);
        if my == 0.0 {
            return Err(StatsError::Invalid { arg, message: "the denominator sums to 0".into() });
        }
        let variance = (moments.var_x / my.powi(2) - 2.0 * mx * moments.cov_xy / my.powi(3)
            + mx * mx * moments.var_y / my.powi(4))
            / moments.n as f64;
        Ok(Self { n: moments.n, ratio: mx / my, se: variance.max(0.0).sqrt() })
    }
}

/// Delta-method z-test of `treatment ratio − control ratio`.
#[derive(Debug, Clone, Serialize)]
pub struct RatioTest {
    pub control: RatioArm,
    pub treatment: RatioArm,
    pub diff: f64,
    pub diff_ci: Interval,
    pub lift: Option<f64>,
    pub lift_ci: Option<Interval>,
    pub z: f64,
    pub p_value: f64,
    pub alternative: Alternative,
    pub alpha: f64,
    pub significant: bool,
}

/// Compares two arms' ratio metrics (x = numerator, y = denominator per unit).
pub fn ratio_test(
    control: &Bivariate,
    treatment: &Bivariate,
    alpha: f64,
    alternative: Alternative,
) -> Result<RatioTest> {
    level("alpha", alpha)?;
    let c = RatioArm::new("control", control)?;
    let t = RatioArm::new("treatment", treatment)?;
    let diff = t.ratio - c.ratio;
    let se = (c.se.powi(2) + t.se.powi(2)).sqrt();
    if se == 0.0 {
        return Err(StatsError::Invalid {
            arg: "sums",
            message: "both arms have zero variance, so there is nothing to test".into(),
        });
    }
    let z = diff / se;
    let z_crit = normal_quantile(1.0 - alpha / alternative.sides() as f64);
    let inf = f64::INFINITY;
    let diff_ci = open_side(Interval::around(diff, z_crit * se), alternative, -inf, inf);
    let (lift, lift_ci) = if c.ratio != 0.0 {
        let lift = t.ratio / c.ratio - 1.0;
        let se_lift = ratio_se(t.ratio, t.se.powi(2), c.ratio, c.se.powi(2));
        (Some(lift), Some(open_side(Interval::around(lift, z_crit * se_lift), alternative, -inf, inf)))
    } else {
        (None, None)
    };
    let p_value = p_from_tails(normal_sf, z, alternative);
    Ok(RatioTest {
        control: c,
        treatment: t,
        diff,
        diff_ci,
        lift,
        lift_ci,
        z,
        p_value,
        alternative,
        alpha,
        significant: p_value < alpha,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stats::moments::Sums;
    use crate::stats::testutil::{CLOSED_FORM, assert_close, assert_interval};

    // rng = np.random.default_rng(11); per user: sessions = rng.integers(1, 6, n),
    // revenue = np.round(sessions * rng.gamma(2.0, 3.0*lift, n) * (rng.random(n) < 0.3), 2),
    // control n = 40 (lift 1.0), treatment n = 50 (lift 1.15).
    pub const REVENUE_C: [f64; 40] = [
        0.0, 0.0, 0.0, 0.0, 3.48, 0.0, 10.55, 0.0, 22.26, 4.24, 0.0, 52.89, 0.0, 0.0, 22.01, 0.0, 31.38, 0.0,
        38.87, 3.21, 20.46, 0.0, 0.0, 0.0, 0.0, 0.0, 21.71, 0.0, 0.0, 0.0, 4.05, 6.13, 0.0, 0.0, 0.0, 0.0,
        15.44, 0.0, 0.0, 14.81,
    ];
    pub const SESSIONS_C: [f64; 40] = [
        1.0, 1.0, 4.0, 3.0, 3.0, 4.0, 4.0, 1.0, 3.0, 1.0, 3.0, 5.0, 3.0, 1.0, 3.0, 1.0, 4.0, 5.0, 5.0, 4.0,
        5.0, 2.0, 1.0, 3.0, 3.0, 4.0, 5.0, 2.0, 5.0, 1.0, 2.0, 4.0, 2.0, 4.0, 3.0, 3.0, 5.0, 5.0, 5.0, 3.0,
    ];
    pub const REVENUE_T: [f64; 50] = [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 20.19, 0.0, 26.24, 0.0, 0.0, 0.0, 14.21, 0.0, 0.0, 23.15, 35.94, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 15.82, 0.0, 6.65, 6.34, 0.0, 0.0, 0.0, 0.0, 0.0,
        16.18, 17.39, 0.0, 0.0, 0.0, 0.0, 0.0, 47.16, 29.14, 0.0, 2.33, 35.61, 22.66,
    ];
    pub const SESSIONS_T: [f64; 50] = [
        4.0, 3.0, 5.0, 1.0, 2.0, 5.0, 4.0, 4.0, 3.0, 5.0, 5.0, 4.0, 4.0, 2.0, 1.0, 4.0, 2.0, 2.0, 1.0, 1.0,
        1.0, 2.0, 2.0, 3.0, 3.0, 2.0, 3.0, 4.0, 4.0, 4.0, 1.0, 2.0, 4.0, 4.0, 2.0, 2.0, 5.0, 4.0, 2.0, 2.0,
        1.0, 4.0, 4.0, 3.0, 4.0, 3.0, 3.0, 4.0, 4.0, 3.0,
    ];

    #[track_caller]
    fn check(r: &RatioTest, rel: f64) {
        // numpy: R = x.mean()/y.mean(); C = np.cov(x, y, ddof=1);
        // V = (C[0,0]/my**2 - 2*mx*C[0,1]/my**3 + mx**2*C[1,1]/my**4)/n (Deng et al. 2018)
        assert_close(r.control.ratio, 2.1546825396825398, rel);
        assert_close(r.control.se, 0.5724198912610442, rel);
        assert_close(r.treatment.ratio, 2.112649006622517, rel);
        assert_close(r.treatment.se, 0.5512593796845751, rel);
        assert_close(r.diff, -0.042033533060022776, rel);
        assert_interval(r.diff_ci, [-1.5996210371873278, 1.5155539710672823], rel);
        assert_close(r.z, -0.052892187901043206, rel);
        assert_close(r.p_value, 0.9578178088370043, rel);
        assert_interval(r.lift_ci.unwrap(), [-0.73511111290778, 0.6960951258322864], rel);
    }

    #[test]
    fn delta_method_from_raw_values_matches_numpy() {
        let c = Bivariate::from_values("control", &REVENUE_C, &SESSIONS_C).unwrap();
        let t = Bivariate::from_values("treatment", &REVENUE_T, &SESSIONS_T).unwrap();
        check(&ratio_test(&c, &t, 0.05, Alternative::TwoSided).unwrap(), CLOSED_FORM);
    }

    #[test]
    fn delta_method_from_sums_matches_numpy() {
        // (len(x), x.sum(), y.sum(), (x*x).sum(), (y*y).sum(), (x*y).sum()) per arm; sums
        // lose a few digits to cancellation in Σx² − n·x̄², hence 1e-8.
        let c = Sums {
            n: 40,
            sum_x: 271.49,
            sum_y: 126.0,
            sum_x2: 7826.220499999999,
            sum_y2: 476.0,
            sum_xy: 1151.95,
        };
        let t = Sums {
            n: 50,
            sum_x: 319.01000000000005,
            sum_y: 151.0,
            sum_x2: 8884.7807,
            sum_y2: 533.0,
            sum_xy: 1058.71,
        };
        let c = Bivariate::from_sums("control", c).unwrap();
        let t = Bivariate::from_sums("treatment", t).unwrap();
        check(&ratio_test(&c, &t, 0.05, Alternative::TwoSided).unwrap(), 1e-8);
    }

    #[test]
    fn rejects_inconsistent_sums_and_zero_denominators() {
        let bad = Sums { n: 10, sum_x: 100.0, sum_y: 10.0, sum_x2: 5.0, sum_y2: 10.0, sum_xy: 10.0 };
        assert!(matches!(
            Bivariate::from_sums("control", bad),
            Err(StatsError::Invalid { arg: "control", .. })
        ));
        let zero = Bivariate::from_values("control", &[1.0, 2.0], &[0.0, 0.0]).unwrap();
        let ok = Bivariate::from_values("treatment", &[1.0, 2.0], &[1.0, 1.0]).unwrap();
        assert!(
            ratio_test(&zero, &ok, 0.05, Alternative::TwoSided)
                .unwrap_err()
                .to_string()
                .contains("denominator")
        );
    }
}
