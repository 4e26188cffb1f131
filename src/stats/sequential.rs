//! A sequential test that stays valid however often the analyst peeks: the mixture
//! sequential probability ratio test (mSPRT) with a normal mixing distribution, Johari,
//! Koomen, Pekelis & Walsh (2017/2022), "Always Valid Inference: Continuous Monitoring of
//! A/B Tests", Operations Research 70(3); equivalently the normal-mixture confidence sequence
//! of Howard, Ramdas, McAuliffe & Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic
//! confidence sequences", Ann. Statist. 49(2), eq. (14).
//!
//! With θ̂ the difference in means (or rates), V its variance at this look and τ² the mixing
//! variance, the mixture likelihood ratio is Λ = √(V/(V+τ²))·exp(τ²θ̂²/(2V(V+τ²))). The test
//! rejects when Λ ≥ 1/α; 1/Λ is an always-valid p-value and θ̂ ± √(V(V+τ²)/τ²·(2 ln(1/α) +
//! ln((V+τ²)/V))) an always-valid confidence sequence. Variances are plug-in estimates, so
//! the guarantee is asymptotic (Waudby-Smith et al. 2021, "Time-uniform central limit
//! theory"). τ² = ρ²·(σ²_c + σ²_t) with Howard et al.'s ρ² = (2 ln(1/α) + ln(1 + 2 ln(1/α)))/m
//! makes the boundary tightest at m users per arm (`tuning_n`).

use serde::Serialize;

use super::error::{Result, StatsError, count, level};
use super::interval::Interval;
use super::means::Summary;
use super::proportion::Counts;

/// The |z| needed to stop at one sample size (equal arms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundaryPoint {
    pub n_per_arm: u64,
    pub z: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SequentialTest {
    /// Treatment − control.
    pub diff: f64,
    /// Always-valid 1 − alpha confidence sequence at this look.
    pub ci: Interval,
    /// The fixed-horizon z statistic θ̂/√V.
    pub z: f64,
    /// |z| that must be crossed at this look to stop.
    pub z_boundary: f64,
    /// The fixed-horizon critical value, for comparison.
    pub z_fixed: f64,
    /// Always-valid p-value min(1, 1/Λ).
    pub p_value: f64,
    pub log_likelihood_ratio: f64,
    pub alpha: f64,
    pub tuning_n: u64,
    pub significant: bool,
    /// The stopping boundary for equal arms at a few sample sizes around `tuning_n`.
    pub boundary: Vec<BoundaryPoint>,
}

/// ρ² of Howard et al. (2021, eq. 15) for a boundary tightest at `tuning_n` per arm.
fn rho_squared(alpha: f64, tuning_n: u64) -> f64 {
    let l = 2.0 * (1.0 / alpha).ln();
    (l + (1.0 + l).ln()) / tuning_n as f64
}

/// Radius of the confidence sequence for an estimate with variance `v` and mixing variance `tau2`.
fn radius(v: f64, tau2: f64, alpha: f64) -> f64 {
    (v * (v + tau2) / tau2 * (2.0 * (1.0 / alpha).ln() + ((v + tau2) / v).ln())).sqrt()
}

/// mSPRT on a difference `diff` with variance `variance` at this look, where one pair of
/// units (one per arm) has variance `unit_variance` (σ²_c + σ²_t).
pub fn msprt(
    diff: f64,
    variance: f64,
    unit_variance: f64,
    alpha: f64,
    tuning_n: u64,
) -> Result<SequentialTest> {
    level("alpha", alpha)?;
    if tuning_n == 0 {
        return Err(StatsError::ZeroTotal { arg: "tuning-n" });
    }
    count("tuning-n", tuning_n)?;
    let rho2 = rho_squared(alpha, tuning_n);
    let boundary = [10u64, 4, 2, 1]
        .iter()
        .map(|d| (tuning_n / d).max(1))
        .chain([2, 4, 10].iter().map(|m| tuning_n * m))
        .map(|n| {
            let nr = n as f64 * rho2;
            BoundaryPoint {
                n_per_arm: n,
                z: ((1.0 + nr) / nr * (2.0 * (1.0 / alpha).ln() + (1.0 + nr).ln())).sqrt(),
            }
        })
        .collect();
    let z_fixed = super::dist::normal_quantile(1.0 - alpha / 2.0);
    if variance <= 0.0 || unit_variance <= 0.0 {
        // No variation observed yet: no evidence either way.
        return Ok(SequentialTest {
            diff,
            ci: Interval::new(f64::NEG_INFINITY, f64::INFINITY),
            z: 0.0,
            z_boundary: f64::INFINITY,
            z_fixed,
            p_value: 1.0,
            log_likelihood_ratio: 0.0,
            alpha,
            tuning_n,
            significant: false,
            boundary,
        });
    }
    let tau2 = rho2 * unit_variance;
    let v = variance;
    let log_lr = 0.5 * (v / (v + tau2)).ln() + tau2 * diff * diff / (2.0 * v * (v + tau2));
    let r = radius(v, tau2, alpha);
    Ok(SequentialTest {
        diff,
        ci: Interval::around(diff, r),
        z: diff / v.sqrt(),
        z_boundary: r / v.sqrt(),
        z_fixed,
        p_value: (-log_lr).exp().min(1.0),
        log_likelihood_ratio: log_lr,
        alpha,
        tuning_n,
        significant: log_lr >= (1.0 / alpha).ln(),
        boundary,
    })
}

/// mSPRT for the difference of two conversion rates (plug-in Bernoulli variances).
pub fn sequential_proportions(
    control: Counts,
    treatment: Counts,
    alpha: f64,
    tuning_n: u64,
) -> Result<SequentialTest> {
    let unit = control.rate * (1.0 - control.rate) + treatment.rate * (1.0 - treatment.rate);
    let mut test = msprt(
        treatment.rate - control.rate,
        control.rate_variance() + treatment.rate_variance(),
        unit,
        alpha,
        tuning_n,
    )?;
    test.ci = test.ci.clamp(-1.0, 1.0);
    Ok(test)
}

/// mSPRT for the difference of two means (plug-in sample variances).
pub fn sequential_means(
    control: Summary,
    treatment: Summary,
    alpha: f64,
    tuning_n: u64,
) -> Result<SequentialTest> {
    msprt(
        treatment.mean - control.mean,
        control.mean_variance() + treatment.mean_variance(),
        control.sd.powi(2) + treatment.sd.powi(2),
        alpha,
        tuning_n,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{CLOSED_FORM, assert_close, assert_interval};

    // numpy, Howard et al. (2021) eq. (14) with ρ² from eq. (15):
    // l = 2*np.log(1/0.05); rho2 = (l + np.log(1 + l))/10000
    // V = .02*.98/1e4 + .025*.975/1e4; tau2 = rho2*(.02*.98 + .025*.975); d = .005
    // r = np.sqrt(V*(V+tau2)/tau2*(l + np.log((V+tau2)/V)))
    // loglr = 0.5*np.log(V/(V+tau2)) + tau2*d**2/(2*V*(V+tau2))
    #[test]
    fn closed_form_matches_numpy() {
        let c = Counts::new("control", 200, 10000).unwrap();
        let t = Counts::new("treatment", 250, 10000).unwrap();
        let r = sequential_proportions(c, t, 0.05, 10000).unwrap();
        assert_close(r.diff, 0.005, CLOSED_FORM);
        assert_interval(r.ci, [-0.0013648991094211, 0.0113648991094211], CLOSED_FORM);
        assert_close(r.log_likelihood_ratio, 1.429378934959201, CLOSED_FORM);
        assert_close(r.p_value, 0.23945759481219994, CLOSED_FORM);
        assert!(!r.significant, "p = 0.017 fixed-horizon is not enough under continuous peeking");
        // At n = tuning_n the boundary is √((1+l')/l'·(l + ln(1+l'))) with l' = n·ρ².
        let at_tuning = r.boundary.iter().find(|b| b.n_per_arm == 10000).unwrap();
        assert_close(at_tuning.z, 3.0352089903762534, CLOSED_FORM);
        assert!(r.boundary.windows(2).all(|w| w[0].n_per_arm < w[1].n_per_arm));
    }

    #[test]
    fn no_variation_is_no_evidence() {
        let c = Counts::new("control", 0, 100).unwrap();
        let r = sequential_proportions(c, c, 0.05, 1000).unwrap();
        assert_eq!((r.p_value, r.significant), (1.0, false));
    }
}
