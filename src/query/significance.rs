//! Significance of a segment's change between two windows, from the sums a query holds: the
//! pooled two-proportion z-test for rates and Welch's t-test for means (both through the
//! `stats` module), and a conditional (binomial) test for counts.

use crate::stats::Alternative;
use crate::stats::dist::normal_sf;
use crate::stats::means::{Summary, welch_test};
use crate::stats::proportion::{Counts, two_proportion_test};

/// Two-sided p-value of H0: p0 = p1 for `x0` of `n0` against `x1` of `n1`, pooled variance.
/// `None` when a window is empty or the counts are not whole-number proportions.
pub(crate) fn two_proportion_p(x0: f64, n0: f64, x1: f64, n1: f64) -> Option<f64> {
    let counts = |arg, x: f64, n: f64| {
        let whole = |v: f64| v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64;
        if !(whole(x) && whole(n)) {
            return None;
        }
        Counts::new(arg, x as u64, n as u64).ok()
    };
    let (before, after) = (counts("baseline", x0, n0)?, counts("current", x1, n1)?);
    two_proportion_test(before, after, 0.05, Alternative::TwoSided).ok().map(|t| t.p_value)
}

/// Sample summary of a mean: count, sum and sum of squares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Moments {
    pub n: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Moments {
    pub fn mean(&self) -> f64 {
        self.sum / self.n
    }

    /// Unbiased sample variance, clamped at zero against rounding.
    pub fn variance(&self) -> f64 {
        let mean = self.mean();
        ((self.sum_sq - self.n * mean * mean) / (self.n - 1.0)).max(0.0)
    }

    fn summary(&self, arg: &'static str) -> Option<Summary> {
        Summary::new(arg, self.mean(), self.variance().sqrt(), self.n as u64).ok()
    }
}

/// Two-sided p-value of Welch's t-test of equal means. `None` below two observations a side;
/// 1 when neither side varies and the means agree.
pub(crate) fn welch_p(a: Moments, b: Moments) -> Option<f64> {
    if !(a.n >= 2.0 && b.n >= 2.0) {
        return None;
    }
    if a.variance() == 0.0 && b.variance() == 0.0 {
        return (a.mean() == b.mean()).then_some(1.0);
    }
    let test = welch_test(a.summary("baseline")?, b.summary("current")?, 0.05, Alternative::TwoSided);
    test.ok().map(|t| t.p_value)
}

/// Two-sided p-value that two counts come from the same daily rate, given the windows'
/// lengths: conditional on the total, the current count is Binomial(x0 + x1, t1 / (t0 + t1));
/// normal approximation (Cox & Lewis 1966; fine for the counts a funnel produces).
pub(crate) fn count_rate_p(x0: f64, days0: f64, x1: f64, days1: f64) -> Option<f64> {
    let total = x0 + x1;
    if !(total > 0.0 && days0 > 0.0 && days1 > 0.0) {
        return None;
    }
    let share = days1 / (days0 + days1);
    let se = (total * share * (1.0 - share)).sqrt();
    let z = (x1 - total * share) / se;
    Some((2.0 * normal_sf(z.abs())).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn two_proportion_matches_statsmodels() {
        // statsmodels.stats.proportion.proportions_ztest([120, 90], [1000, 1000])
        //   → z = 2.18827, p = 0.0286502; tolerance 1e-4 relative.
        let p = two_proportion_p(120.0, 1000.0, 90.0, 1000.0).unwrap();
        assert!(close(p, 0.0286502, 1e-4), "{p}");
        assert_eq!(two_proportion_p(0.0, 0.0, 1.0, 10.0), None);
        assert_eq!(two_proportion_p(0.0, 10.0, 0.0, 10.0), Some(1.0));
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind([1,2,3,4], [2,4,6,8,10], equal_var=False)
        //   → t = -2.25144, p = 0.0691336 (df 5.5208); tolerance 1e-4 relative.
        let a = Moments { n: 4.0, sum: 10.0, sum_sq: 30.0 };
        let b = Moments { n: 5.0, sum: 30.0, sum_sq: 220.0 };
        let p = welch_p(a, b).unwrap();
        assert!(close(p, 0.0691336, 1e-4), "{p}");
        assert_eq!(welch_p(Moments { n: 1.0, sum: 1.0, sum_sq: 1.0 }, b), None);
    }

    #[test]
    fn count_rate_test_is_symmetric_and_flat_at_equal_rates() {
        assert_eq!(count_rate_p(100.0, 7.0, 100.0, 7.0), Some(1.0));
        let a = count_rate_p(100.0, 7.0, 140.0, 7.0).unwrap();
        let b = count_rate_p(140.0, 7.0, 100.0, 7.0).unwrap();
        assert!(close(a, b, 1e-12) && a < 0.05);
    }
}
