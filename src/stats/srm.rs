//! Sample-ratio mismatch: Pearson's chi-square goodness-of-fit of the users each arm received
//! against the planned split (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch in
//! Online Controlled Experiments", KDD). A tiny p-value (the usual threshold is 0.001) means
//! the assignment or logging is broken and no metric of the experiment can be trusted.

use serde::Serialize;

use super::dist::chi2_sf;
use super::error::{Result, StatsError, bounded, count, level, positive};

/// The chi-square approximation needs every expected count at least this large
/// (Cochran 1954); below it the verdict says the check is unreliable.
pub const MIN_EXPECTED_COUNT: f64 = 5.0;

/// Arms a check may compare.
pub const MAX_ARMS: usize = 100;
/// The smallest planned share of an arm (below it the expected count rounds to nothing).
pub const MIN_SHARE: f64 = 1e-9;

#[derive(Debug, Clone, Serialize)]
pub struct SrmTest {
    pub counts: Vec<u64>,
    pub expected: Vec<f64>,
    /// Planned share of each arm (weights normalised to sum to 1).
    pub expected_share: Vec<f64>,
    pub observed_share: Vec<f64>,
    pub chi2: f64,
    pub df: u64,
    pub p_value: f64,
    pub alpha: f64,
    /// p < alpha: the split is not what was planned.
    pub mismatch: bool,
    /// Some expected count is below `MIN_EXPECTED_COUNT`: the test is not reliable.
    pub low_expected_count: bool,
}

/// Tests `counts` (2+ arms) against `weights` (any positive scale; equal when `None`).
pub fn srm_test(counts: &[u64], weights: Option<&[f64]>, alpha: f64) -> Result<SrmTest> {
    level("alpha", alpha)?;
    if counts.len() < 2 {
        return Err(StatsError::Invalid {
            arg: "counts",
            message: format!("needs the users of at least 2 arms, got {}", counts.len()),
        });
    }
    if counts.len() > MAX_ARMS {
        return Err(StatsError::Invalid {
            arg: "counts",
            message: format!("at most {MAX_ARMS} arms, got {}", counts.len()),
        });
    }
    for &c in counts {
        count("counts", c)?;
    }
    let weights: Vec<f64> = match weights {
        Some(w) if w.len() != counts.len() => {
            return Err(StatsError::WeightsMismatch { weights: w.len(), arms: counts.len() });
        }
        Some(w) => w
            .iter()
            .map(|&v| positive("weights", v).and_then(|v| bounded("weights", v)))
            .collect::<Result<_>>()?,
        None => vec![1.0; counts.len()],
    };
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Err(StatsError::ZeroTotal { arg: "counts" });
    }
    let weight_sum: f64 = weights.iter().sum();
    let expected_share: Vec<f64> = weights.iter().map(|w| w / weight_sum).collect();
    if let Some(tiny) = expected_share.iter().find(|&&s| s < MIN_SHARE) {
        return Err(StatsError::Invalid {
            arg: "weights",
            message: format!(
                "an arm planned to get {tiny:e} of the users; each arm's planned share must be at least {MIN_SHARE:e}"
            ),
        });
    }
    let expected: Vec<f64> = expected_share.iter().map(|s| s * total as f64).collect();
    let chi2 = counts.iter().zip(&expected).map(|(&o, &e)| (o as f64 - e).powi(2) / e).sum::<f64>();
    let df = counts.len() as u64 - 1;
    let p_value = chi2_sf(chi2, df as f64);
    Ok(SrmTest {
        counts: counts.to_vec(),
        observed_share: counts.iter().map(|&c| c as f64 / total as f64).collect(),
        low_expected_count: expected.iter().any(|&e| e < MIN_EXPECTED_COUNT),
        expected,
        expected_share,
        chi2,
        df,
        p_value,
        alpha,
        mismatch: p_value < alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{CLOSED_FORM, assert_close};

    // Reference: scipy 1.17 `chisquare(counts, f_exp=weights/sum(weights)*sum(counts))`.
    #[test]
    fn matches_scipy_chisquare() {
        let r = srm_test(&[50214, 48903], Some(&[50.0, 50.0]), 0.001).unwrap();
        assert_close(r.chi2, 17.340325070371378, CLOSED_FORM);
        assert_close(r.p_value, 3.124850439786091e-05, CLOSED_FORM);
        assert!(r.mismatch);
        let r = srm_test(&[1000, 2100, 2900], Some(&[1.0, 2.0, 3.0]), 0.001).unwrap();
        assert_close(r.chi2, 8.333333333333334, CLOSED_FORM);
        assert_close(r.p_value, 0.015503853599009307, CLOSED_FORM);
        assert_eq!(r.df, 2);
        assert!(!r.mismatch);
        let r = srm_test(&[5000, 5000], Some(&[40.0, 60.0]), 0.001).unwrap();
        assert_close(r.chi2, 416.66666666666663, CLOSED_FORM);
        assert_close(r.p_value, 1.2971568501090132e-92, 1e-8); // far tail of the chi2 sf
    }

    #[test]
    fn flags_low_expected_counts() {
        // chisquare([3, 1]) → (1.0, 0.31731050786291115)
        let r = srm_test(&[3, 1], None, 0.001).unwrap();
        assert_close(r.p_value, 0.31731050786291115, CLOSED_FORM);
        assert!(r.low_expected_count);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            srm_test(&[10, 20], Some(&[1.0]), 0.001).unwrap_err(),
            StatsError::WeightsMismatch { weights: 1, arms: 2 }
        );
        assert!(srm_test(&[10], None, 0.001).unwrap_err().to_string().starts_with("counts"));
        assert_eq!(srm_test(&[0, 0], None, 0.001).unwrap_err(), StatsError::ZeroTotal { arg: "counts" });
        assert!(
            srm_test(&[10, 20], Some(&[1.0, -1.0]), 0.001).unwrap_err().to_string().starts_with("weights")
        );
        assert!(srm_test(&[10, 20], None, 1.5).unwrap_err().to_string().starts_with("alpha"));
    }
}
