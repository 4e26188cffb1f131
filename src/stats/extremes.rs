//! Every statistics entry point over a grid of extreme inputs (issue #13): each returns a
//! value or an error naming its argument, never a panic, and each finishes quickly.

use super::Alternative;
use super::bayes::beta_binomial;
use super::bootstrap::{Statistic, bootstrap_ci};
use super::cuped::cuped;
use super::means::{Summary, welch_test};
use super::moments::{Bivariate, Sums};
use super::power::{Design, Plan};
use super::proportion::{CiMethod, Counts, proportion_ci, two_proportion_test};
use super::ratio::ratio_test;
use super::sequential::{sequential_means, sequential_proportions};
use super::srm::srm_test;

const COUNTS: [u64; 7] = [0, 1, 2, 4_294_967_297, 999_999_999_999, 1_000_000_000_000, u64::MAX];
const FLOATS: [f64; 10] = [f64::NAN, f64::NEG_INFINITY, -1e30, -1.0, 0.0, 1e-300, 0.5, 1.0, 1e30, 1e300];
const LEVELS: [f64; 6] = [1e-320, 1e-10, 0.05, 0.5, 1.0, f64::NAN];

fn counts() -> Vec<Counts> {
    let mut out = Vec::new();
    for &n in &COUNTS {
        for &x in &[0, 1, n / 2, n.saturating_sub(1), n] {
            if let Ok(c) = Counts::new("test", x, n) {
                out.push(c);
            }
        }
    }
    out
}

#[test]
fn proportions_never_panic_at_extreme_counts() {
    let started = std::time::Instant::now();
    let all = counts();
    for &c in &all {
        for &alpha in &LEVELS {
            for method in [
                CiMethod::Wilson,
                CiMethod::AgrestiCoull,
                CiMethod::ClopperPearson,
                CiMethod::Jeffreys,
                CiMethod::Wald,
            ] {
                if let Ok(r) = proportion_ci(c, alpha, method) {
                    assert!(r.ci.lower <= r.ci.upper, "{c:?} {alpha} {method:?}: {:?}", r.ci);
                }
            }
        }
    }
    for &c in all.iter().step_by(3) {
        for &t in all.iter().step_by(2) {
            for alternative in [Alternative::TwoSided, Alternative::Greater, Alternative::Less] {
                let _ = two_proportion_test(c, t, 0.05, alternative);
            }
            let _ = sequential_proportions(c, t, 0.05, 10_000);
        }
    }
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[test]
fn bayes_never_panics_and_stays_quick_at_extreme_counts() {
    let all = counts();
    for &c in all.iter().step_by(4) {
        for &t in all.iter().step_by(5) {
            let started = std::time::Instant::now();
            for prior in [[1.0, 1.0], [0.5, 0.5], [0.01, 1e9]] {
                if let Ok(r) = beta_binomial(c, t, prior, 0.05) {
                    let p = r.prob_treatment_beats_control;
                    assert!((0.0..=1.0).contains(&p), "{c:?} {t:?} {prior:?}: {p}");
                }
            }
            assert!(started.elapsed().as_secs() < 10, "{c:?} {t:?}: {:?}", started.elapsed());
        }
    }
}

#[test]
fn means_sums_and_plans_never_panic() {
    for &mean in &FLOATS {
        for &sd in &FLOATS {
            for &n in &COUNTS {
                let Ok(s) = Summary::new("control", mean, sd, n) else { continue };
                let other = Summary::new("treatment", 1.0, 1.0, 10).unwrap();
                for &alpha in &LEVELS {
                    let _ = welch_test(s, other, alpha, Alternative::TwoSided);
                    let _ = welch_test(other, s, alpha, Alternative::Less);
                }
                let _ = sequential_means(s, other, 0.05, 1);
            }
            for n in [2, 10, 1_000_000_000_000] {
                let sums = Sums {
                    n,
                    sum_x: mean,
                    sum_y: sd,
                    sum_x2: mean * mean,
                    sum_y2: sd * sd,
                    sum_xy: mean * sd,
                };
                let Ok(arm) = Bivariate::from_sums("control", sums) else { continue };
                let other = Bivariate::from_values("treatment", &[1.0, 2.0, 4.0], &[1.0, 3.0, 2.0]).unwrap();
                for (c, t) in [(&arm, &other), (&other, &arm), (&arm, &arm)] {
                    let _ = ratio_test(c, t, 0.05, Alternative::TwoSided);
                    let _ = cuped(c, t, 0.05, Alternative::Greater);
                }
            }
            for design in [Design::Proportion { baseline: mean }, Design::Mean { baseline: mean, sd }] {
                for &alpha in &LEVELS {
                    if let Ok(plan) = Plan::new(design, alpha, 2) {
                        for &mde in &FLOATS {
                            let _ = plan.sample_size(mde, 0.8);
                            let _ = plan.power(mde, 1000);
                        }
                        let _ = plan.mde(1_000_000_000_000, 0.9);
                    }
                }
            }
        }
    }
}

#[test]
fn srm_and_bootstrap_never_panic() {
    for &a in &COUNTS {
        for &b in &COUNTS {
            for weights in [None, Some(vec![1.0, 1e-300]), Some(vec![1e30, 1.0]), Some(vec![f64::NAN, 1.0])] {
                for &alpha in &LEVELS {
                    let _ = srm_test(&[a, b], weights.as_deref(), alpha);
                }
            }
        }
    }
    let values = [1e30, -1e30, 0.0, 1.0, 1e-300];
    for resamples in [0, 100, 100_001, usize::MAX] {
        let _ = bootstrap_ci(&values, &values, |c, t| Statistic::Lift.compute(c, t), resamples, 0.05, 1);
    }
}
