//! CUPED: variance reduction with a pre-experiment covariate (Deng, Xu, Kohavi & Walker
//! 2013, "Improving the Sensitivity of Online Controlled Experiments by Utilizing
//! Pre-Experiment Data", WSDM). Each unit's metric Y becomes Y − θ(X − X̄) with
//! θ = cov(Y, X)/var(X) estimated on both arms pooled; the adjusted arms are compared with
//! Welch's t-test. The variance of the difference shrinks by about ρ², ρ = corr(Y, X).

use serde::Serialize;

use super::dist::Alternative;
use super::error::{Result, StatsError};
use super::means::{Summary, WelchTest, welch_test};
use super::moments::Bivariate;

/// One arm before and after adjustment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CupedArm {
    pub n: u64,
    pub mean: f64,
    pub adjusted_mean: f64,
    pub sd: f64,
    pub adjusted_sd: f64,
}

/// CUPED-adjusted comparison, with the unadjusted test for reference.
#[derive(Debug, Clone, Serialize)]
pub struct CupedResult {
    pub theta: f64,
    /// 1 − Var(adjusted diff)/Var(raw diff): the share of the variance removed.
    pub variance_reduction: f64,
    pub control: CupedArm,
    pub treatment: CupedArm,
    pub adjusted: WelchTest,
    pub unadjusted: WelchTest,
}

/// `x` is the experiment metric, `y` the pre-period covariate, per unit, in each arm.
pub fn cuped(
    control: &Bivariate,
    treatment: &Bivariate,
    alpha: f64,
    alternative: Alternative,
) -> Result<CupedResult> {
    let pooled = control.combine(treatment);
    if pooled.var_y == 0.0 {
        return Err(StatsError::Invalid {
            arg: "covariate",
            message: "the pre-period covariate is constant, so it cannot explain any variance".into(),
        });
    }
    let theta = pooled.cov_xy / pooled.var_y;
    let adjust = |arm: &Bivariate, arg: &'static str| -> Result<(CupedArm, Summary, Summary)> {
        let adjusted_mean = arm.mean_x - theta * (arm.mean_y - pooled.mean_y);
        let adjusted_var = (arm.var_x - 2.0 * theta * arm.cov_xy + theta * theta * arm.var_y).max(0.0);
        let raw = Summary::new(arg, arm.mean_x, arm.var_x.sqrt(), arm.n)?;
        let adjusted = Summary::new(arg, adjusted_mean, adjusted_var.sqrt(), arm.n)?;
        let row =
            CupedArm { n: arm.n, mean: arm.mean_x, adjusted_mean, sd: raw.sd, adjusted_sd: adjusted.sd };
        Ok((row, raw, adjusted))
    };
    let (c_row, c_raw, c_adj) = adjust(control, "control")?;
    let (t_row, t_raw, t_adj) = adjust(treatment, "treatment")?;
    let unadjusted = welch_test(c_raw, t_raw, alpha, alternative)?;
    let adjusted = welch_test(c_adj, t_adj, alpha, alternative)?;
    let var_raw = c_raw.mean_variance() + t_raw.mean_variance();
    let var_adj = c_adj.mean_variance() + t_adj.mean_variance();
    Ok(CupedResult {
        theta,
        variance_reduction: 1.0 - var_adj / var_raw,
        control: c_row,
        treatment: t_row,
        adjusted,
        unadjusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::moments::Sums;
    use crate::stats::testutil::{CLOSED_FORM, assert_close, assert_interval};

    // rng = np.random.default_rng(5); pre = rng.gamma(2.0, 5.0, n);
    // y = 0.8*pre + rng.normal(0, 4, n) + effect, rounded to 3 decimals; control n = 30
    // (effect 0), treatment n = 35 (effect 2).
    const Y_C: [f64; 30] = [
        0.897, 5.185, 19.824, 2.614, 8.932, 2.757, 10.207, 4.784, 3.307, 4.589, 6.758, 5.554, 4.856, -2.418,
        -2.826, 1.343, 6.455, 1.027, 4.012, 10.176, 2.441, -1.777, 1.806, 7.988, 8.184, 9.961, 5.071, 15.514,
        28.542, 17.407,
    ];
    const X_C: [f64; 30] = [
        4.155, 6.831, 18.028, 5.251, 10.221, 3.552, 9.713, 7.805, 4.896, 4.525, 7.933, 11.267, 1.591, 3.47,
        2.474, 8.091, 3.234, 3.087, 9.87, 18.4, 0.946, 3.053, 8.618, 6.916, 16.213, 14.063, 6.373, 21.619,
        35.948, 15.064,
    ];
    const Y_T: [f64; 35] = [
        8.834, -0.741, 2.409, 7.021, 2.766, 7.008, 2.48, 19.261, 25.89, 0.996, 12.391, 11.271, -0.64, 4.929,
        22.249, 12.68, 4.07, 7.666, 6.048, 20.548, 22.874, 9.418, 8.725, 23.816, 3.151, 10.19, 8.867, 26.558,
        8.674, 10.399, 3.234, 22.744, 8.441, 14.403, 9.803,
    ];
    const X_T: [f64; 35] = [
        5.422, 1.211, 6.26, 5.682, 4.491, 9.411, 8.999, 11.824, 25.279, 3.614, 8.448, 4.876, 8.648, 6.406,
        27.251, 10.109, 3.195, 8.235, 5.351, 13.919, 15.292, 11.897, 13.038, 13.807, 6.338, 13.104, 8.401,
        28.281, 3.197, 8.544, 5.904, 23.398, 6.801, 6.119, 9.829,
    ];

    #[track_caller]
    fn check(r: &CupedResult, rel: f64) {
        // numpy/scipy: Y, X = np.r_[yc, yt], np.r_[xc, xt];
        // theta = np.cov(Y, X)[0, 1] / np.var(X, ddof=1); adj = y - theta*(x - X.mean());
        // ttest_ind(adj_t, adj_c, equal_var=False) and its .confidence_interval(0.95);
        // ttest_ind(yt, yc, equal_var=False) for the unadjusted test.
        assert_close(r.theta, 0.8976667872137595, rel);
        assert_close(r.control.adjusted_mean, 6.906332234552614, rel);
        assert_close(r.treatment.adjusted_mean, 10.126086656097756, rel);
        assert_close(r.adjusted.t, 3.360516626191861, rel);
        assert_close(r.adjusted.p_value, 0.0013430051912720216, rel);
        assert_close(r.adjusted.df, 61.31862985930298, rel);
        assert_interval(r.adjusted.diff_ci, [1.3040905359490034, 5.135418307141283], rel);
        assert_close(r.unadjusted.t, 2.2521364800157038, rel);
        assert_close(r.unadjusted.p_value, 0.02780785239687563, rel);
        // 1 - (ac.var(ddof=1)/30 + at.var(ddof=1)/35) / (yc.var(ddof=1)/30 + yt.var(ddof=1)/35)
        assert_close(r.variance_reduction, 0.721340478525595, rel);
    }

    #[test]
    fn matches_numpy_on_raw_values() {
        let c = Bivariate::from_values("control", &Y_C, &X_C).unwrap();
        let t = Bivariate::from_values("treatment", &Y_T, &X_T).unwrap();
        check(&cuped(&c, &t, 0.05, Alternative::TwoSided).unwrap(), CLOSED_FORM);
    }

    #[test]
    fn sums_give_the_same_answer() {
        let sums = |y: &[f64], x: &[f64]| Sums {
            n: y.len() as u64,
            sum_x: y.iter().sum(),
            sum_y: x.iter().sum(),
            sum_x2: y.iter().map(|v| v * v).sum(),
            sum_y2: x.iter().map(|v| v * v).sum(),
            sum_xy: y.iter().zip(x).map(|(a, b)| a * b).sum(),
        };
        let c = Bivariate::from_sums("control", sums(&Y_C, &X_C)).unwrap();
        let t = Bivariate::from_sums("treatment", sums(&Y_T, &X_T)).unwrap();
        // Sums lose a few digits to cancellation, hence 1e-8.
        check(&cuped(&c, &t, 0.05, Alternative::TwoSided).unwrap(), 1e-8);
    }

    #[test]
    fn constant_covariate_is_an_error() {
        let c = Bivariate::from_values("control", &[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]).unwrap();
        let err = cuped(&c, &c, 0.05, Alternative::TwoSided).unwrap_err();
        assert!(err.to_string().starts_with("covariate"));
    }
}
