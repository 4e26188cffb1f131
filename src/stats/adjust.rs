//! Multiple-comparison adjustments, returned in input order: Bonferroni; Holm (1979), "A
//! simple sequentially rejective multiple test procedure", Scand. J. Statist. 6; and
//! Benjamini & Hochberg (1995), "Controlling the false discovery rate", JRSS B 57. Same
//! definitions and the same `p_adj <= alpha` rejection rule as statsmodels' `multipletests`.

use serde::Serialize;

use super::error::{Result, StatsError, finite, level};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjustMethod {
    /// Family-wise error rate, p·m.
    Bonferroni,
    /// Family-wise error rate, step-down; never less powerful than Bonferroni.
    Holm,
    /// False discovery rate, step-up.
    Bh,
}

#[derive(Debug, Clone, Serialize)]
pub struct Adjusted {
    pub method: AdjustMethod,
    pub p_values: Vec<f64>,
    pub adjusted: Vec<f64>,
    pub rejected: Vec<bool>,
    pub alpha: f64,
}

pub fn adjust_p_values(p_values: &[f64], method: AdjustMethod, alpha: f64) -> Result<Adjusted> {
    level("alpha", alpha)?;
    if p_values.is_empty() {
        return Err(StatsError::Invalid { arg: "p-values", message: "give at least one p-value".into() });
    }
    for &p in p_values {
        finite("p-values", p)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(StatsError::Invalid {
                arg: "p-values",
                message: format!("{p} is not a probability between 0 and 1"),
            });
        }
    }
    let m = p_values.len();
    let mf = m as f64;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    match method {
        AdjustMethod::Bonferroni => {
            for (adj, &p) in adjusted.iter_mut().zip(p_values) {
                *adj = (p * mf).min(1.0);
            }
        }
        AdjustMethod::Holm => {
            let mut running_max: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running_max = running_max.max((mf - rank as f64) * p_values[i]);
                adjusted[i] = running_max.min(1.0);
            }
        }
        AdjustMethod::Bh => {
            let mut running_min: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running_min = running_min.min(p_values[i] * mf / (rank as f64 + 1.0));
                adjusted[i] = running_min;
            }
        }
    }
    let rejected = adjusted.iter().map(|&p| p <= alpha).collect();
    Ok(Adjusted { method, p_values: p_values.to_vec(), adjusted, rejected, alpha })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{CLOSED_FORM, assert_close};

    #[track_caller]
    fn check(p: &[f64], method: AdjustMethod, adjusted: &[f64], rejected: &[bool]) {
        let r = adjust_p_values(p, method, 0.05).unwrap();
        for (a, e) in r.adjusted.iter().zip(adjusted) {
            assert_close(*a, *e, CLOSED_FORM);
        }
        assert_eq!(r.rejected, rejected);
    }

    // Reference: statsmodels 0.15 `multipletests(p, alpha=0.05, method='bonferroni' |
    // 'holm' | 'fdr_bh')`, adjusted p-values and reject flags, input order.
    #[test]
    fn matches_statsmodels_multipletests() {
        let p = [0.01, 0.04, 0.03];
        check(&p, AdjustMethod::Bonferroni, &[0.03, 0.12, 0.09], &[true, false, false]);
        check(&p, AdjustMethod::Holm, &[0.03, 0.06, 0.06], &[true, false, false]);
        check(&p, AdjustMethod::Bh, &[0.030000000000000002, 0.04, 0.04], &[true, true, true]);
        let p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.049];
        check(
            &p,
            AdjustMethod::Bonferroni,
            &[0.06, 0.24, 0.18, 0.03, 1.0, 0.29400000000000004],
            &[false, false, false, true, false, false],
        );
        check(
            &p,
            AdjustMethod::Holm,
            &[0.05, 0.12, 0.12, 0.03, 0.5, 0.12],
            &[true, false, false, true, false, false],
        );
        check(
            &p,
            AdjustMethod::Bh,
            &[0.030000000000000002, 0.0588, 0.0588, 0.030000000000000002, 0.5, 0.0588],
            &[true, false, false, true, false, false],
        );
        let p = [0.2, 0.2, 0.9]; // ties
        check(&p, AdjustMethod::Holm, &[0.6000000000000001, 0.6000000000000001, 0.9], &[false, false, false]);
        check(&p, AdjustMethod::Bh, &[0.30000000000000004, 0.30000000000000004, 0.9], &[false, false, false]);
    }

    #[test]
    fn rejects_values_that_are_not_p_values() {
        assert!(adjust_p_values(&[], AdjustMethod::Holm, 0.05).is_err());
        assert!(
            adjust_p_values(&[0.5, 1.2], AdjustMethod::Holm, 0.05)
                .unwrap_err()
                .to_string()
                .starts_with("p-values")
        );
        assert!(adjust_p_values(&[f64::NAN], AdjustMethod::Bh, 0.05).is_err());
    }
}
