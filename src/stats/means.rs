//! Comparing two means from summaries (mean, sample sd, n) or raw values: Welch's (1947)
//! unequal-variance t-test with the Welch–Satterthwaite degrees of freedom ("The
//! generalization of 'Student's' problem when several different population variances are
//! involved", Biometrika 34), the t interval of the difference, and a delta-method interval
//! for the relative lift (normal critical value, as in Deng et al. 2018, "Applying the Delta
//! Method in Metric Analytics", KDD).

use serde::Serialize;

use super::dist::{Alternative, normal_quantile, p_from_tails, t_quantile, t_sf};
use super::error::{Result, StatsError, bounded, count, level, non_negative};
use super::interval::Interval;
use super::proportion::{open_side, ratio_se};

/// Mean, sample standard deviation (ddof 1) and size of one arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub mean: f64,
    pub sd: f64,
    pub n: u64,
}

impl Summary {
    /// A validated summary; `arg` names it in errors. Needs n ≥ 2 for a sample sd.
    pub fn new(arg: &'static str, mean: f64, sd: f64, n: u64) -> Result<Self> {
        bounded(arg, mean)?;
        non_negative(arg, sd)?;
        bounded(arg, sd)?;
        count(arg, n)?;
        if n < 2 {
            return Err(StatsError::TooFewObservations { arg, min: 2, got: n });
        }
        Ok(Self { mean, sd, n })
    }

    /// Summary of raw values (two-pass, so large offsets keep their precision).
    pub fn from_values(arg: &'static str, values: &[f64]) -> Result<Self> {
        if let Some(&bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(StatsError::NotFinite { arg, value: bad });
        }
        if let Some(&bad) = values.iter().find(|v| v.abs() > super::error::MAX_ABS) {
            super::error::bounded(arg, bad)?;
        }
        let n = values.len();
        if n < 2 {
            return Err(StatsError::TooFewObservations { arg, min: 2, got: n as u64 });
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        Self::new(arg, mean, (ss / (n as f64 - 1.0)).sqrt(), n as u64)
    }

    /// Variance of the mean estimate, s²/n.
    pub fn mean_variance(&self) -> f64 {
        self.sd * self.sd / self.n as f64
    }
}

/// Welch's t-test of `treatment − control`.
#[derive(Debug, Clone, Serialize)]
pub struct WelchTest {
    pub control: Summary,
    pub treatment: Summary,
    pub diff: f64,
    pub diff_ci: Interval,
    /// treatment mean / control mean − 1; `None` when the control mean is 0.
    pub lift: Option<f64>,
    pub lift_ci: Option<Interval>,
    pub t: f64,
    pub df: f64,
    pub p_value: f64,
    pub alternative: Alternative,
    pub alpha: f64,
    pub significant: bool,
}

/// Welch's t-test; intervals at level `1 − alpha`, one-sided for one-sided alternatives.
pub fn welch_test(
    control: Summary,
    treatment: Summary,
    alpha: f64,
    alternative: Alternative,
) -> Result<WelchTest> {
    level("alpha", alpha)?;
    let (vc, vt) = (control.mean_variance(), treatment.mean_variance());
    let se = (vc + vt).sqrt();
    if se == 0.0 {
        return Err(StatsError::Invalid {
            arg: "sd",
            message: "both arms have standard deviation 0, so there is no variation to test".into(),
        });
    }
    let diff = treatment.mean - control.mean;
    let t = diff / se;
    // Welch–Satterthwaite, written in the arms' shares of the variance so that no square of
    // a variance is formed (sds near 1e30 would overflow it to ∞/∞).
    let (share_c, share_t) = (vc / (vc + vt), vt / (vc + vt));
    let df =
        1.0 / (share_c * share_c / (control.n as f64 - 1.0) + share_t * share_t / (treatment.n as f64 - 1.0));
    if !(df.is_finite() && df > 0.0 && t.is_finite()) {
        return Err(StatsError::Invalid {
            arg: "sd",
            message: format!(
                "the summaries give no usable t statistic (t = {t}, df = {df}); check the means and sds"
            ),
        });
    }
    let p_value = p_from_tails(|x| t_sf(x, df), t, alternative);

    let tail = alpha / alternative.sides() as f64;
    let t_crit = t_quantile(1.0 - tail, df);
    let diff_ci =
        open_side(Interval::around(diff, t_crit * se), alternative, f64::NEG_INFINITY, f64::INFINITY);

    let (lift, lift_ci) = if control.mean != 0.0 {
        let lift = treatment.mean / control.mean - 1.0;
        let se_lift = ratio_se(treatment.mean, vt, control.mean, vc);
        let z_crit = normal_quantile(1.0 - tail);
        let ci = open_side(
            Interval::around(lift, z_crit * se_lift),
            alternative,
            f64::NEG_INFINITY,
            f64::INFINITY,
        );
        (Some(lift), Some(ci))
    } else {
        (None, None)
    };

    Ok(WelchTest {
        control,
        treatment,
        diff,
        diff_ci,
        lift,
        lift_ci,
        t,
        df,
        p_value,
        alternative,
        alpha,
        significant: p_value < alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{CLOSED_FORM, assert_close, assert_interval};

    fn welch(c: (f64, f64, u64), t: (f64, f64, u64), alternative: Alternative) -> WelchTest {
        let c = Summary::new("control", c.0, c.1, c.2).unwrap();
        let t = Summary::new("treatment", t.0, t.1, t.2).unwrap();
        welch_test(c, t, 0.05, alternative).unwrap()
    }

    #[test]
    fn extreme_summaries_compute_or_are_refused() {
        // Issue #13: sd = 1e308 squared to ∞ and panicked inside statrs. scipy 1.17
        // ttest_ind_from_stats(2e29, 1e29, 3, 1e29, 1e29, 2, equal_var=False):
        // t = 1.0954451150103324, p = 0.3757220368079407 (df 2.272727...).
        let r = welch((1e29, 1e29, 2), (2e29, 1e29, 3), Alternative::TwoSided);
        assert_close(r.t, 1.0954451150103324, CLOSED_FORM);
        assert_close(r.df, 2.272727272727273, CLOSED_FORM);
        assert_close(r.p_value, 0.3757220368079407, 1e-7);
        // 1e11 users per arm: df ≈ 2e11, Student's t through Wallace's normalisation.
        // ttest_ind_from_stats(10.0001, 25, 1e11, 10, 25, 1e11, equal_var=False)
        let r = welch((10.0, 25.0, 100_000_000_000), (10.0001, 25.0, 100_000_000_000), Alternative::TwoSided);
        assert_close(r.t, 0.8944271909978313, 1e-8);
        assert_close(r.p_value, 0.37109336952488875, 1e-8);
        for (mean, sd, n) in [(1e308, 1.0, 5), (1.0, 1e31, 5), (1.0, 1.0, crate::stats::error::MAX_COUNT + 1)]
        {
            let err = Summary::new("control", mean, sd, n).unwrap_err().to_string();
            assert!(err.starts_with("control"), "{err}");
        }
    }

    // Reference: scipy 1.17 `ttest_ind_from_stats(mt, st, nt, mc, sc, nc, equal_var=False,
    // alternative=...)`; the interval is diff ± t.ppf(0.975, df)·se and the lift interval
    // the numpy delta method lift ± norm.ppf(0.975)·sqrt(vt/mc² + mt²·vc/mc⁴). 1e-9 relative
    // (statrs' Student t quantile agrees with scipy to ~1e-12).
    #[test]
    fn issue_example_matches_scipy() {
        let r = welch((10.0, 25.0, 5000), (10.8, 27.0, 5100), Alternative::TwoSided);
        assert_close(r.t, 1.5455044398691735, CLOSED_FORM);
        assert_close(r.p_value, 0.12225573439628325, CLOSED_FORM);
        assert_close(r.df, 10065.230067101123, CLOSED_FORM);
        assert_interval(r.diff_ci, [-0.21465885263260565, 1.814658852632607], CLOSED_FORM);
        assert_close(r.lift.unwrap(), 0.08000000000000007, CLOSED_FORM);
        assert_interval(r.lift_ci.unwrap(), [-0.025317963294517742, 0.18531796329451788], CLOSED_FORM);
        // alternative='greater' / 'less'
        assert_close(
            welch((10.0, 25.0, 5000), (10.8, 27.0, 5100), Alternative::Greater).p_value,
            0.061127867198141624,
            CLOSED_FORM,
        );
        assert_close(
            welch((10.0, 25.0, 5000), (10.8, 27.0, 5100), Alternative::Less).p_value,
            0.9388721328018583,
            CLOSED_FORM,
        );
    }

    #[test]
    fn fewer_than_ten_per_arm() {
        // ttest_ind_from_stats(2.0, 1.5, 4, 1.0, 0.5, 3, equal_var=False)
        let r = welch((1.0, 0.5, 3), (2.0, 1.5, 4), Alternative::TwoSided);
        assert_close(r.t, 1.2443420336765103, CLOSED_FORM);
        assert_close(r.p_value, 0.2841118950019109, CLOSED_FORM);
        assert_close(r.df, 3.8286852589641436, CLOSED_FORM);
        assert_interval(r.diff_ci, [-1.2711865153245823, 3.2711865153245823], CLOSED_FORM);
        assert_interval(r.lift_ci.unwrap(), [-0.8550759715454119, 2.855075971545412], CLOSED_FORM);
        assert_close(
            welch((1.0, 0.5, 3), (2.0, 1.5, 4), Alternative::Greater).p_value,
            0.14205594750095546,
            CLOSED_FORM,
        );
    }

    #[test]
    fn two_million_per_arm() {
        // ttest_ind_from_stats(5.003, 2.1, 2000000, 5.0, 2.0, 2000000, equal_var=False).
        // At df = 4e6 statrs' t tail goes through ln Γ(2e6) ≈ 2.7e7, whose rounding leaves
        // ~6e-9 relative error in p (see `dist::t_sf`), hence 1e-8 on p.
        let r = welch((5.0, 2.0, 2_000_000), (5.003, 2.1, 2_000_000), Alternative::TwoSided);
        assert_close(r.t, 1.4629795472825677, 1e-9);
        assert_close(r.p_value, 0.14347305428298532, 1e-8);
        assert_close(r.df, 3990513.716444604, CLOSED_FORM);
        // diff = 5.003 − 5.0 carries 1e-13 relative rounding from the decimal inputs.
        assert_interval(r.diff_ci, [-0.001019122309655937, 0.0070191223096561645], 1e-9);
    }

    #[test]
    fn equal_means_extreme_imbalance() {
        // ttest_ind_from_stats(3.0, 10.0, 20000, 3.0, 1.0, 20, equal_var=False) → t = 0, p = 1
        let r = welch((3.0, 1.0, 20), (3.0, 10.0, 20000), Alternative::TwoSided);
        assert_eq!((r.t, r.p_value), (0.0, 1.0));
        assert_close(r.df, 22.989781586154233, CLOSED_FORM);
        assert_interval(r.diff_ci, [-0.48515514505613105, 0.48515514505613105], CLOSED_FORM);
        assert_close(welch((3.0, 1.0, 20), (3.0, 10.0, 20000), Alternative::Less).p_value, 0.5, CLOSED_FORM);
    }

    #[test]
    fn raw_values_match_scipy_ttest_ind() {
        // a, b = np.round(rng.normal(10, 3, 12), 3), np.round(rng.normal(11, 5, 9), 3) with
        // rng = np.random.default_rng(7); ttest_ind(b, a, equal_var=False) and
        // .confidence_interval(0.95)
        let a = [10.004, 10.896, 9.178, 7.328, 8.636, 7.025, 10.18, 14.021, 8.523, 8.139, 11.47, 11.071];
        let b = [11.527, 6.348, 10.854, 14.477, 4.279, 8.712, 1.494, 4.552, 1.791];
        let c = Summary::from_values("control", &a).unwrap();
        let t = Summary::from_values("treatment", &b).unwrap();
        let r = welch_test(c, t, 0.05, Alternative::TwoSided).unwrap();
        assert_close(r.t, -1.5990758624764239, CLOSED_FORM);
        assert_close(r.p_value, 0.13998778038220278, CLOSED_FORM);
        assert_close(r.df, 10.303651629108614, CLOSED_FORM);
        assert_interval(r.diff_ci, [-6.186973951844774, 1.0049183962892214], CLOSED_FORM);
    }

    #[test]
    fn rejects_bad_summaries() {
        assert_eq!(
            Summary::new("control", 1.0, 1.0, 1).unwrap_err(),
            StatsError::TooFewObservations { arg: "control", min: 2, got: 1 }
        );
        assert!(matches!(
            Summary::new("treatment", 1.0, -1.0, 5),
            Err(StatsError::Negative { arg: "treatment", .. })
        ));
        assert!(matches!(
            Summary::new("control", f64::NAN, 1.0, 5),
            Err(StatsError::NotFinite { arg: "control", .. })
        ));
        let flat = Summary::new("control", 1.0, 0.0, 5).unwrap();
        assert!(welch_test(flat, flat, 0.05, Alternative::TwoSided).is_err());
    }
}
