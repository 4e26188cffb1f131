//! Conversion rates: confidence intervals for one proportion and the comparison of two.
//!
//! One proportion: Wilson (1927) score, Agresti & Coull (1998), Clopper & Pearson (1934),
//! Jeffreys and Wald intervals, as reviewed by Brown, Cai & DasGupta (2001), "Interval
//! Estimation for a Binomial Proportion", Statistical Science 16(2). Two proportions: the
//! pooled z-test, the unpooled Wald interval of the difference, Newcombe's (1998) hybrid
//! Wilson-score interval ("Interval estimation for the difference between independent
//! proportions", Stat. Med. 17, method 10), a delta-method interval for the relative lift,
//! and Pearson's chi-square on the 2×2 table with and without Yates' (1934) correction.

use serde::Serialize;

use super::dist::{
    Alternative, beta_quantile, beta_upper_quantile, chi2_sf, normal_quantile, normal_sf, p_from_tails,
};
use super::error::{Result, StatsError, count, level};
use super::interval::Interval;

/// Conversions out of users in one arm, validated (`x <= n`, `n > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Counts {
    pub x: u64,
    pub n: u64,
    pub rate: f64,
}

impl Counts {
    /// `arg` names the input in error messages ("control", "count").
    pub fn new(arg: &'static str, x: u64, n: u64) -> Result<Self> {
        count(arg, n)?;
        if n == 0 {
            return Err(StatsError::ZeroTotal { arg });
        }
        if x > n {
            return Err(StatsError::CountExceedsTotal { arg, successes: x, trials: n });
        }
        Ok(Self { x, n, rate: x as f64 / n as f64 })
    }

    /// Binomial variance of the rate estimate, p(1 − p)/n.
    pub fn rate_variance(&self) -> f64 {
        self.rate * (1.0 - self.rate) / self.n as f64
    }
}

/// How to compute a single-proportion interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CiMethod {
    /// Wilson score interval: good coverage at every n; the default.
    #[default]
    Wilson,
    /// Wald interval on the adjusted counts x + z²/2, n + z².
    AgrestiCoull,
    /// Exact interval from beta quantiles; conservative (coverage ≥ 1 − alpha).
    ClopperPearson,
    /// Equal-tailed Beta(x + ½, n − x + ½) posterior interval.
    Jeffreys,
    /// p ± z·√(p(1−p)/n): shown for teaching; collapses to a point at 0 and n.
    Wald,
}

impl CiMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CiMethod::Wilson => "wilson",
            CiMethod::AgrestiCoull => "agresti-coull",
            CiMethod::ClopperPearson => "clopper-pearson",
            CiMethod::Jeffreys => "jeffreys",
            CiMethod::Wald => "wald",
        }
    }
}

/// A single-proportion estimate with its interval.
#[derive(Debug, Clone, Serialize)]
pub struct ProportionCi {
    pub x: u64,
    pub n: u64,
    pub estimate: f64,
    pub ci: Interval,
    pub method: CiMethod,
    pub alpha: f64,
}

/// Two-sided `1 − alpha` interval for a binomial proportion.
pub fn proportion_ci(counts: Counts, alpha: f64, method: CiMethod) -> Result<ProportionCi> {
    level("alpha", alpha)?;
    let ci = binomial_interval(counts, normal_quantile(1.0 - alpha / 2.0), alpha, method);
    Ok(ProportionCi { x: counts.x, n: counts.n, estimate: counts.rate, ci, method, alpha })
}

/// The interval with critical value `z` (= Φ⁻¹(1 − alpha/2)); the beta-based methods
/// use `alpha` directly.
fn binomial_interval(counts: Counts, z: f64, alpha: f64, method: CiMethod) -> Interval {
    let (x, n, p) = (counts.x as f64, counts.n as f64, counts.rate);
    match method {
        CiMethod::Wilson => wilson(counts, z),
        CiMethod::AgrestiCoull => {
            let n_adj = n + z * z;
            let p_adj = (x + z * z / 2.0) / n_adj;
            Interval::around(p_adj, z * (p_adj * (1.0 - p_adj) / n_adj).sqrt()).clamp(0.0, 1.0)
        }
        CiMethod::ClopperPearson => {
            let lower = if counts.x == 0 { 0.0 } else { beta_quantile(alpha / 2.0, x, n - x + 1.0) };
            let upper =
                if counts.x == counts.n { 1.0 } else { beta_upper_quantile(alpha / 2.0, x + 1.0, n - x) };
            Interval::new(lower, upper)
        }
        CiMethod::Jeffreys => {
            // Brown, Cai & DasGupta (2001, §4.1.2) pin the bound at 0 (or 1) when x = 0
            // (or n) so the interval contains the estimate.
            let lower = if counts.x == 0 { 0.0 } else { beta_quantile(alpha / 2.0, x + 0.5, n - x + 0.5) };
            let upper = if counts.x == counts.n {
                1.0
            } else {
                beta_upper_quantile(alpha / 2.0, x + 0.5, n - x + 0.5)
            };
            Interval::new(lower, upper)
        }
        CiMethod::Wald => Interval::around(p, z * (p * (1.0 - p) / n).sqrt()).clamp(0.0, 1.0),
    }
}

/// Wilson score interval with critical value `z`.
fn wilson(counts: Counts, z: f64) -> Interval {
    let (x, n) = (counts.x as f64, counts.n as f64);
    let z2 = z * z;
    let center = (x + z2 / 2.0) / (n + z2);
    let half = z / (n + z2) * (x * (n - x) / n + z2 / 4.0).sqrt();
    Interval::around(center, half).clamp(0.0, 1.0)
}

/// The comparison of two conversion rates, treatment against control.
#[derive(Debug, Clone, Serialize)]
pub struct TwoProportionTest {
    pub control: Counts,
    pub treatment: Counts,
    /// Treatment rate − control rate.
    pub diff: f64,
    /// Wald interval of the difference (unpooled variance).
    pub diff_ci: Interval,
    /// Newcombe's hybrid Wilson-score interval of the difference.
    pub diff_ci_newcombe: Interval,
    /// Treatment rate / control rate − 1; `None` when the control rate is 0.
    pub lift: Option<f64>,
    /// Delta-method interval of the lift; `None` when the control rate is 0.
    pub lift_ci: Option<Interval>,
    /// Pooled z statistic (0 when both arms are all-0 or all-1).
    pub z: f64,
    pub p_value: f64,
    /// Pearson's chi-square on the 2×2 table (= z²) and its p-value.
    pub chi2: f64,
    pub chi2_p: f64,
    /// With Yates' continuity correction.
    pub chi2_yates: f64,
    pub chi2_p_yates: f64,
    pub alternative: Alternative,
    pub alpha: f64,
    pub significant: bool,
}

/// Pooled two-proportion z-test of `treatment − control`, with intervals at level
/// `1 − alpha`. For a one-sided alternative the intervals are one-sided too (the open side
/// runs to the range limit: ±1 for a difference, +∞ or −100% for the lift), so an interval
/// excludes 0 exactly when a test of the same level would reject.
pub fn two_proportion_test(
    control: Counts,
    treatment: Counts,
    alpha: f64,
    alternative: Alternative,
) -> Result<TwoProportionTest> {
    level("alpha", alpha)?;
    let (pc, pt) = (control.rate, treatment.rate);
    let (nc, nt) = (control.n as f64, treatment.n as f64);
    let diff = pt - pc;

    let pooled = (control.x + treatment.x) as f64 / (nc + nt);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nt)).sqrt();
    // Both arms all-0 or all-1: no variation, no evidence of a difference.
    let z = if se_pooled > 0.0 { diff / se_pooled } else { 0.0 };
    let p_value = p_from_tails(normal_sf, z, alternative);

    let z_crit = normal_quantile(1.0 - alpha / alternative.sides() as f64);
    let se_unpooled = (control.rate_variance() + treatment.rate_variance()).sqrt();
    let diff_ci = open_side(Interval::around(diff, z_crit * se_unpooled), alternative, -1.0, 1.0);

    let (wc, wt) = (wilson(control, z_crit), wilson(treatment, z_crit));
    let newcombe = Interval::new(
        diff - ((pt - wt.lower).powi(2) + (wc.upper - pc).powi(2)).sqrt(),
        diff + ((wt.upper - pt).powi(2) + (pc - wc.lower).powi(2)).sqrt(),
    );
    let diff_ci_newcombe = open_side(newcombe, alternative, -1.0, 1.0);

    let (lift, lift_ci) = if pc > 0.0 {
        let lift = pt / pc - 1.0;
        let se = ratio_se(pt, treatment.rate_variance(), pc, control.rate_variance());
        let ci = open_side(Interval::around(lift, z_crit * se), alternative, -1.0, f64::INFINITY);
        (Some(lift), Some(ci))
    } else {
        (None, None)
    };

    let table = [[control.x, control.n - control.x], [treatment.x, treatment.n - treatment.x]];
    let chi2 = chi_square_2x2(table, false);
    let chi2_yates = chi_square_2x2(table, true);

    Ok(TwoProportionTest {
        control,
        treatment,
        diff,
        diff_ci,
        diff_ci_newcombe,
        lift,
        lift_ci,
        z,
        p_value,
        chi2,
        chi2_p: chi2_sf(chi2, 1.0),
        chi2_yates,
        chi2_p_yates: chi2_sf(chi2_yates, 1.0),
        alternative,
        alpha,
        significant: p_value < alpha,
    })
}

/// Standard error of `num / den` by the delta method for independent estimates:
/// Var(a/b) ≈ Var(a)/b² + a²·Var(b)/b⁴.
pub(crate) fn ratio_se(num: f64, var_num: f64, den: f64, var_den: f64) -> f64 {
    (var_num / (den * den) + num * num * var_den / den.powi(4)).sqrt()
}

/// Replaces the bound an alternative does not test with the range limit.
pub(crate) fn open_side(interval: Interval, alternative: Alternative, min: f64, max: f64) -> Interval {
    match alternative {
        Alternative::TwoSided => interval,
        Alternative::Greater => Interval::new(interval.lower, max),
        Alternative::Less => Interval::new(min, interval.upper),
    }
}

/// Pearson's chi-square for a 2×2 table; Yates' correction shrinks each |O − E| by ½ (but
/// not below 0, as in `scipy.stats.chi2_contingency`). A table with an empty row or column
/// carries no evidence: 0.
fn chi_square_2x2(table: [[u64; 2]; 2], yates: bool) -> f64 {
    let rows = [table[0][0] + table[0][1], table[1][0] + table[1][1]];
    let cols = [table[0][0] + table[1][0], table[0][1] + table[1][1]];
    let total = (rows[0] + rows[1]) as f64;
    if rows.contains(&0) || cols.contains(&0) {
        return 0.0;
    }
    let mut chi2 = 0.0;
    for (i, row) in table.iter().enumerate() {
        for (j, &observed) in row.iter().enumerate() {
            let expected = rows[i] as f64 * cols[j] as f64 / total;
            let mut gap = (observed as f64 - expected).abs();
            if yates {
                gap -= gap.min(0.5);
            }
            chi2 += gap * gap / expected;
        }
    }
    chi2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{CLOSED_FORM, assert_close, assert_interval};

    fn counts(x: u64, n: u64) -> Counts {
        Counts::new("test", x, n).unwrap()
    }

    fn ci(x: u64, n: u64, method: CiMethod) -> Interval {
        proportion_ci(counts(x, n), 0.05, method).unwrap().ci
    }

    // Reference: statsmodels 0.15 `proportion_confint(x, n, alpha=0.05, method=...)`;
    // tolerance 1e-9 relative (closed forms; beta quantiles agree with scipy to ~1e-12).
    #[test]
    fn wilson_matches_statsmodels() {
        assert_interval(ci(0, 10, CiMethod::Wilson), [0.0, 0.27753279986288926], CLOSED_FORM); // method='wilson'
        assert_interval(ci(3, 7, CiMethod::Wilson), [0.15821985525146964, 0.7495416354723428], CLOSED_FORM);
        assert_interval(ci(10, 10, CiMethod::Wilson), [0.7224672001371106, 1.0], CLOSED_FORM);
        assert_interval(
            ci(200, 10000, CiMethod::Wilson),
            [0.01743471167513658, 0.022933926760712948],
            CLOSED_FORM,
        );
    }

    #[test]
    fn agresti_coull_matches_statsmodels() {
        // method='agresti_coull' (statsmodels clips to [0, 1] as we do)
        assert_interval(ci(0, 10, CiMethod::AgrestiCoull), [0.0, 0.3208873057505458], CLOSED_FORM);
        assert_interval(
            ci(3, 7, CiMethod::AgrestiCoull),
            [0.15752124573939852, 0.750240244984414],
            CLOSED_FORM,
        );
        assert_interval(ci(10, 10, CiMethod::AgrestiCoull), [0.6791126942494543, 1.0], CLOSED_FORM);
        assert_interval(
            ci(200, 10000, CiMethod::AgrestiCoull),
            [0.017428543071780638, 0.02294009536406889],
            CLOSED_FORM,
        );
    }

    #[test]
    fn clopper_pearson_matches_statsmodels() {
        // method='beta'
        assert_interval(ci(0, 10, CiMethod::ClopperPearson), [0.0, 0.30849710781876083], CLOSED_FORM);
        assert_interval(
            ci(3, 7, CiMethod::ClopperPearson),
            [0.09898827844250786, 0.815948432359917],
            CLOSED_FORM,
        );
        assert_interval(ci(10, 10, CiMethod::ClopperPearson), [0.6915028921812392, 1.0], CLOSED_FORM);
        assert_interval(
            ci(200, 10000, CiMethod::ClopperPearson),
            [0.017346535326613344, 0.022937924776033184],
            CLOSED_FORM,
        );
    }

    #[test]
    fn jeffreys_matches_statsmodels_inside_and_pins_the_ends() {
        // method='jeffreys'; statsmodels keeps 4.79e-05 as the lower bound at x = 0 and
        // 0.99995 as the upper bound at x = n, where Brown et al. (2001) pin 0 and 1.
        assert_interval(ci(0, 10, CiMethod::Jeffreys), [0.0, 0.2171962675092106], CLOSED_FORM);
        assert_interval(ci(3, 7, CiMethod::Jeffreys), [0.13886421910489025, 0.7654987507479063], CLOSED_FORM);
        assert_interval(ci(10, 10, CiMethod::Jeffreys), [0.7828037324907894, 1.0], CLOSED_FORM);
        assert_interval(
            ci(200, 10000, CiMethod::Jeffreys),
            [0.017393162183029942, 0.02288458485416723],
            CLOSED_FORM,
        );
    }

    #[test]
    fn wald_matches_statsmodels() {
        // method='normal'
        assert_interval(ci(0, 10, CiMethod::Wald), [0.0, 0.0], CLOSED_FORM);
        assert_interval(ci(3, 7, CiMethod::Wald), [0.061972109447262946, 0.7951707476955941], CLOSED_FORM);
        assert_interval(ci(10, 10, CiMethod::Wald), [1.0, 1.0], CLOSED_FORM);
        assert_interval(
            ci(200, 10000, CiMethod::Wald),
            [0.017256050421643923, 0.022743949578356078],
            CLOSED_FORM,
        );
    }

    fn test(c: (u64, u64), t: (u64, u64), alternative: Alternative) -> TwoProportionTest {
        two_proportion_test(counts(c.0, c.1), counts(t.0, t.1), 0.05, alternative).unwrap()
    }

    /// Checks one case against statsmodels/scipy: z and p from
    /// `proportions_ztest([xt, xc], [nt, nc])`, the Wald and Newcombe intervals from
    /// `confint_proportions_2indep(xt, nt, xc, nc, method='wald'|'newcomb', compare='diff')`,
    /// chi-square from `scipy.stats.chi2_contingency([[xc, nc-xc], [xt, nt-xt]], correction=...)`.
    struct Reference {
        z: f64,
        p: f64,
        wald: [f64; 2],
        newcombe: [f64; 2],
        chi2: [f64; 2],
        yates: [f64; 2],
    }

    #[track_caller]
    fn check(c: (u64, u64), t: (u64, u64), r: Reference) {
        let result = test(c, t, Alternative::TwoSided);
        assert_close(result.z, r.z, CLOSED_FORM);
        assert_close(result.p_value, r.p, CLOSED_FORM);
        assert_interval(result.diff_ci, r.wald, CLOSED_FORM);
        assert_interval(result.diff_ci_newcombe, r.newcombe, CLOSED_FORM);
        assert_close(result.chi2, r.chi2[0], CLOSED_FORM);
        assert_close(result.chi2_p, r.chi2[1], CLOSED_FORM);
        assert_close(result.chi2_yates, r.yates[0], CLOSED_FORM);
        assert_close(result.chi2_p_yates, r.yates[1], CLOSED_FORM);
    }

    #[test]
    fn headline_example_matches_statsmodels() {
        check(
            (200, 10000),
            (250, 10000),
            Reference {
                z: 2.3839951328405053,
                p: 0.01712582887219501,
                wald: [0.0008899129980008431, 0.009110087001999159],
                newcombe: [0.0008870475992941457, 0.009138266721419232],
                chi2: [5.683432793407218, 0.017125828872195024],
                yates: [5.458368854788293, 0.01947481832521563],
            },
        );
        let r = test((200, 10000), (250, 10000), Alternative::TwoSided);
        // Delta method, numpy: lift = pt/pc - 1; se = sqrt(pt*(1-pt)/nt/pc**2 +
        // pt**2*pc*(1-pc)/nc/pc**4); lift ± norm.ppf(0.975)*se
        assert_close(r.lift.unwrap(), 0.25, CLOSED_FORM);
        assert_interval(r.lift_ci.unwrap(), [0.020173850955675143, 0.47982614904432486], CLOSED_FORM);
        assert!(r.significant);
    }

    #[test]
    fn one_sided_alternatives_match_statsmodels() {
        // proportions_ztest([250, 200], [10000, 10000], alternative='larger' / 'smaller')
        let greater = test((200, 10000), (250, 10000), Alternative::Greater);
        assert_close(greater.p_value, 0.008562914436097505, CLOSED_FORM);
        let less = test((200, 10000), (250, 10000), Alternative::Less);
        assert_close(less.p_value, 0.9914370855639025, CLOSED_FORM);
        assert!(!less.significant);
        // One-sided 95% Newcombe bound = the matching bound of the two-sided 90% interval:
        // confint_proportions_2indep(250, 10000, 200, 10000, method='newcomb', alpha=0.10)
        assert_interval(greater.diff_ci_newcombe, [0.001550457570126717, 1.0], CLOSED_FORM);
        assert_interval(less.diff_ci_newcombe, [-1.0, 0.008467409234886605], CLOSED_FORM);
        assert_eq!(greater.lift_ci.unwrap().upper, f64::INFINITY);
    }

    #[test]
    fn zero_conversions_in_control() {
        check(
            (0, 50),
            (3, 40),
            Reference {
                z: 1.9695964928958383,
                p: 0.048884633916181135,
                wald: [-0.006624323226238016, 0.156624323226238],
                newcombe: [-0.011646270916476312, 0.1986423352431055],
                chi2: [3.8793103448275863, 0.0488846339161811],
                yates: [1.9008620689655176, 0.16798185783203062],
            },
        );
        let r = test((0, 50), (3, 40), Alternative::TwoSided);
        assert_eq!(r.lift, None);
        assert!(r.lift_ci.is_none());
    }

    #[test]
    fn zero_conversions_in_both_arms_is_no_evidence() {
        // statsmodels returns nan for z and p, and scipy refuses the table (zero expected
        // count); we report z = 0, p = 1. Newcombe still has width:
        // confint_proportions_2indep(0, 10, 0, 10, method='newcomb')
        let r = test((0, 10), (0, 10), Alternative::TwoSided);
        assert_eq!((r.z, r.p_value, r.chi2, r.chi2_p_yates), (0.0, 1.0, 0.0, 1.0));
        assert_interval(r.diff_ci, [0.0, 0.0], CLOSED_FORM);
        assert_interval(r.diff_ci_newcombe, [-0.27753279986288926, 0.27753279986288926], CLOSED_FORM);
        assert!(!r.significant);
    }

    #[test]
    fn full_conversion_in_both_arms_is_no_evidence() {
        // confint_proportions_2indep(10, 10, 10, 10, method='newcomb')
        let r = test((10, 10), (10, 10), Alternative::TwoSided);
        assert_eq!((r.z, r.p_value), (0.0, 1.0));
        assert_eq!(r.lift, Some(0.0));
        assert_interval(r.diff_ci_newcombe, [-0.27753279986288937, 0.27753279986288937], CLOSED_FORM);
    }

    #[test]
    fn tiny_arms_with_full_conversion_in_control() {
        check(
            (5, 5),
            (3, 8),
            Reference {
                z: -2.2534695471649933,
                p: 0.024229558745687267,
                wald: [-0.960473901946967, -0.289526098053033],
                newcombe: [-0.8631557141764026, -0.08583357781838152],
                chi2: [5.078125, 0.024229558745687153],
                yates: [2.7807812499999995, 0.09540162137282097],
            },
        );
    }

    #[test]
    fn equal_rates() {
        // proportions_ztest([51, 49], [100, 100]); chi2_contingency(..., correction=True)
        check(
            (49, 100),
            (51, 100),
            Reference {
                z: 0.2828427124746193,
                p: 0.7772974107895213,
                wald: [-0.11856266158611864, 0.15856266158611868],
                newcombe: [-0.11649972426762042, 0.15545339012994167],
                chi2: [0.08, 0.7772974107895214],
                yates: [0.02, 0.887537083981715],
            },
        );
        let same = test((300, 1000), (300, 1000), Alternative::TwoSided);
        assert_eq!((same.z, same.p_value, same.diff), (0.0, 1.0, 0.0));
    }

    #[test]
    fn two_million_per_arm() {
        check(
            (100000, 2000000),
            (101000, 2000000),
            Reference {
                z: 2.288744534270458,
                p: 0.0220941998458574,
                wald: [7.182580409922614e-05, 0.0009281741959007747],
                newcombe: [7.182492874979865e-05, 0.0009281794693953043],
                chi2: [5.238351543152884, 0.022094199845857518],
                yates: [5.227880078418123, 0.022227607702697265],
            },
        );
        let r = test((100000, 2000000), (101000, 2000000), Alternative::TwoSided);
        // numpy delta method as in headline_example_matches_statsmodels
        assert_interval(r.lift_ci.unwrap(), [0.001393793903471682, 0.018606206096528334], 1e-8);
    }

    #[test]
    fn extreme_imbalance() {
        // 1,000 users against 100,000; p ~ 5e-12 tests the far tail of Φ (statrs erfc is
        // accurate to ~3e-11 relative there, hence the looser tolerance on p).
        let r = test((30, 1000), (900, 100000), Alternative::TwoSided);
        assert_close(r.z, -6.918095572818325, CLOSED_FORM);
        assert_close(r.p_value, 4.577554489104016e-12, 1e-8);
        assert_interval(r.diff_ci, [-0.031589101538582805, -0.01041089846141719], CLOSED_FORM);
        assert_interval(r.diff_ci_newcombe, [-0.033516253130275016, -0.012073248239078899], CLOSED_FORM);
        assert_close(r.chi2_yates, 45.585882919590695, CLOSED_FORM);
        assert_close(r.chi2_p_yates, 1.4609070163568046e-11, 1e-8);
        assert_interval(r.lift_ci.unwrap(), [-0.8075143420077093, -0.5924856579922906], CLOSED_FORM);
    }

    #[test]
    fn exact_intervals_at_billions_are_bounded_and_match_scipy() {
        // Issue #13: statrs' beta inversion ran for minutes at 4294967296/4294967297.
        // scipy 1.17: beta.ppf(0.025, x, n-x+1), beta.isf(0.025, x+1, n-x); Jeffreys
        // beta.ppf(0.025, x+0.5, n-x+0.5) and beta.isf(0.025, ...). Tolerance: 1e-10 of
        // the distance to the nearer end of [0, 1].
        let near = |actual: f64, expected: f64| {
            let room = expected.min(1.0 - expected);
            assert!((actual - expected).abs() <= 1e-10 * room + 4.5e-16, "{actual:e} vs {expected:e}");
        };
        let started = std::time::Instant::now();
        let cp = ci(4294967296, 4294967297, CiMethod::ClopperPearson);
        near(cp.lower, 0.9999999987027507);
        near(cp.upper, 0.9999999999941053);
        let cp = ci(1, 4_000_000_000, CiMethod::ClopperPearson);
        // beta.ppf(0.025, 1, 4e9) = 6.329451996052438e-12; beta.isf(0.025, 2, 3999999999)
        near(cp.lower, 6.329451996052438e-12);
        near(cp.upper, 1.3929108469387381e-09);
        let j = ci(3, 1_000_000_000_000, CiMethod::Jeffreys);
        near(j.lower, 8.449345903393763e-13);
        near(j.upper, 8.00638213729262e-12);
        assert!(started.elapsed().as_secs_f64() < 5.0, "{:?}", started.elapsed());
    }

    #[test]
    fn the_largest_counts_do_not_overflow() {
        let max = crate::stats::error::MAX_COUNT;
        let r = test((max, max), (0, max), Alternative::TwoSided);
        assert_eq!(r.diff, -1.0);
        assert!(r.chi2.is_finite() && r.p_value == 0.0, "{} {}", r.chi2, r.p_value);
        let err = Counts::new("control", 1, max + 1).unwrap_err();
        assert!(err.to_string().contains("10^12"), "{err}");
    }

    #[test]
    fn rejects_bad_counts_naming_the_argument() {
        let err = Counts::new("control", 11, 10).unwrap_err();
        assert_eq!(err, StatsError::CountExceedsTotal { arg: "control", successes: 11, trials: 10 });
        assert!(err.to_string().starts_with("control:"));
        assert_eq!(Counts::new("treatment", 0, 0).unwrap_err(), StatsError::ZeroTotal { arg: "treatment" });
        for alpha in [0.0, 1.0, -0.1, f64::NAN] {
            let err =
                two_proportion_test(counts(1, 10), counts(2, 10), alpha, Alternative::TwoSided).unwrap_err();
            assert!(err.to_string().starts_with("alpha"), "{err}");
        }
    }
}
