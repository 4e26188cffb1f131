//! Onset detection: the day a localised segment's change began, with an interval. Each day
//! the segment's successes xₜ are set against what it would have had converting like its
//! reference population that day, eₜ = nₜ × the reference's rate (weekday and trend effects
//! both share cancel), and a single change-point in the level λₜ = xₜ / eₜ is found by
//! profile likelihood: one Poisson level before the day of change and one from it on
//! (Hinkley 1970, *Biometrika* 57, 1–17; Worsley 1986, *Biometrika* 73, 91–104). The interval
//! holds the days whose profile log-likelihood is within χ²₁(0.95) / 2 of the best, the
//! likelihood scaled by the series' Pearson dispersion (binomial steps with high rates, and
//! the reference's own noise, are not Poisson). It is approximate: the change-point's profile
//! is not exactly χ², and days are the resolution.

use chrono::NaiveDate;
use serde::Serialize;

/// One day of a segment's series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    /// The segment's successes that day (purchases, carts, …).
    pub observed: f64,
    /// Its successes had it converted like the reference that day.
    pub expected: f64,
}

/// When the change began.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Onset {
    /// The first day at the new level.
    pub date: NaiveDate,
    /// Approximate 95% interval of that day (profile likelihood).
    pub interval: [NaiveDate; 2],
    /// The segment's level against its reference before and from the onset (1: converting
    /// like the reference).
    pub level_before: f64,
    pub level_after: f64,
    /// Twice the log-likelihood ratio of the change-point against no change, divided by the
    /// dispersion: how clearly the daily series shows a step at all.
    pub evidence: f64,
    /// Pearson dispersion of the days around the fitted levels (1 for Poisson).
    pub dispersion: f64,
    /// The segment had no traffic before its first day (a new app version): its level
    /// before is taken as its reference's, 1.
    pub new_segment: bool,
    /// The last day of a temporary stretch inside the baseline window at a level beyond
    /// the rest's (a sale or a holiday lifted the baseline, so the current window reads as
    /// a drop): the change began on `date` and ended after `until` ([`lifted_baseline`]).
    /// `level_before` is then the level outside the stretch, `level_after` inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// Per candidate day, the profile log-likelihood's shortfall from the best (0 at the
    /// onset), dispersion-scaled: what the change log's ranking reads.
    #[serde(skip)]
    pub profile: Vec<(NaiveDate, f64)>,
}

impl Onset {
    /// How far the change beginning on `date` falls short of the best day, in the
    /// dispersion-scaled log-likelihood (0 at the onset; `None` outside the series).
    pub fn shortfall(&self, date: NaiveDate) -> Option<f64> {
        self.profile.iter().find(|(d, _)| *d == date).map(|(_, s)| *s)
    }
}

/// χ²₁ 0.95 quantile (scipy.stats.chi2.ppf(0.95, 1) = 3.841459).
const CHI2_1_95: f64 = 3.841_458_820_694_124;

/// Poisson log-likelihood of a stretch of days at its best level, up to terms that do not
/// depend on the level: X ln(X/E) − X (0 ln 0 = 0).
fn best_piece(observed: f64, expected: f64) -> (f64, f64) {
    if expected <= 0.0 {
        return (0.0, f64::NAN);
    }
    let level = observed / expected;
    let ll = if observed > 0.0 { observed * level.ln() - observed } else { -expected };
    (ll, level)
}

/// The same at the fixed level 1: −E.
fn unit_piece(expected: f64) -> f64 {
    -expected
}

/// Pearson dispersion of `days` around the levels `fitted` (by day index) of a model with
/// `parameters` free parameters: 1 for Poisson counts, at least 0.05; 1 when the days are
/// too few to tell.
fn dispersion(days: &[Day], fitted: impl Fn(usize) -> f64, parameters: usize) -> f64 {
    if days.len() <= parameters {
        return 1.0;
    }
    let pearson: f64 = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mu = fitted(i) * d.expected;
            if mu > 0.0 { (d.observed - mu).powi(2) / mu } else { 0.0 }
        })
        .sum();
    (pearson / (days.len() - parameters) as f64).max(0.05)
}

/// The change-point of `days` (in date order; days without expected successes are left
/// out). `direction` is the sign of the change to date (negative for a drop); a step the
/// other way is not this change. With `new_segment` the level before is fixed at 1 and the
/// change may begin on the first day. `None` when the series is too short or shows no step
/// in the direction.
pub fn detect(days: &[Day], direction: f64, new_segment: bool) -> Option<Onset> {
    let days: Vec<Day> = days.iter().copied().filter(|d| d.expected > 0.0 && d.observed >= 0.0).collect();
    let first_candidate = if new_segment { 0 } else { 1 };
    if days.len() < first_candidate + 1 || days.len() < 2 {
        return None;
    }
    let total_x: f64 = days.iter().map(|d| d.observed).sum();
    let total_e: f64 = days.iter().map(|d| d.expected).sum();
    let null = if new_segment { unit_piece(total_e) } else { best_piece(total_x, total_e).0 };
    // Log-likelihood and levels of a change beginning at day index k.
    let split = |k: usize| -> (f64, f64, f64) {
        let (x0, e0) = days[..k].iter().fold((0.0, 0.0), |(x, e), d| (x + d.observed, e + d.expected));
        let (x1, e1) = (total_x - x0, total_e - e0);
        let (ll0, l0) = if new_segment { (unit_piece(e0), 1.0) } else { best_piece(x0, e0) };
        let (ll1, l1) = best_piece(x1, e1);
        (ll0 + ll1, l0, l1)
    };
    let candidates: Vec<(usize, f64, f64, f64)> = (first_candidate..days.len())
        .map(|k| {
            let (ll, l0, l1) = split(k);
            (k, ll, l0, l1)
        })
        .collect();
    let in_direction = |c: &&(usize, f64, f64, f64)| (c.3 - c.2) * direction > 0.0;
    let &(best_k, best_ll, level_before, level_after) =
        candidates.iter().filter(in_direction).max_by(|a, b| a.1.total_cmp(&b.1))?;
    // Pearson dispersion around the fitted two-level model (three parameters: two levels
    // and the day, two with the level before fixed).
    let parameters = if new_segment { 2 } else { 3 };
    let dispersion = dispersion(&days, |i| if i < best_k { level_before } else { level_after }, parameters);
    let profile: Vec<(NaiveDate, f64)> =
        candidates.iter().map(|c| (days[c.0].date, (best_ll - c.1).max(0.0) / dispersion)).collect();
    let within: Vec<NaiveDate> =
        profile.iter().filter(|(_, s)| 2.0 * s <= CHI2_1_95).map(|(d, _)| *d).collect();
    let interval =
        [*within.first().unwrap_or(&days[best_k].date), *within.last().unwrap_or(&days[best_k].date)];
    Some(Onset {
        date: days[best_k].date,
        interval,
        level_before,
        level_after,
        evidence: 2.0 * (best_ll - null).max(0.0) / dispersion,
        dispersion,
        new_segment,
        until: None,
        profile,
    })
}

/// A stretch of the baseline window `baseline` (first and last day) lifted against the rest
/// of the series, when it explains the series better than a step: the "drop" is then a
/// baseline raised by a sale or a holiday, and the change began when the stretch did. The
/// days are put on a common footing first: each weekday's level, measured on the days
/// outside the baseline window (so the stretch itself does not set it), divides out, so two
/// windows holding different weekdays are not a lifted stretch. A stretch `[a, b]` inside
/// the window is a level in and one out (the epidemic change-point of Levin & Kline 1985,
/// *Stochastic Processes and their Applications* 20, 1–28, restricted to the window), above
/// the rest for a drop (`direction` negative). It is kept when it beats one level over the
/// whole series beyond a Bonferroni bound over the stretches tried (1%, each a χ²₁ test), and
/// beats the best step in `direction` on the same footing by χ²₁(0.95), both scaled by the
/// stretch fit's Pearson dispersion. The interval holds the stretch starts within
/// χ²₁(0.95) / 2 of the best.
pub fn lifted_baseline(days: &[Day], direction: f64, baseline: [NaiveDate; 2]) -> Option<Onset> {
    use chrono::Datelike;
    let days: Vec<Day> = days.iter().copied().filter(|d| d.expected > 0.0 && d.observed >= 0.0).collect();
    let inside = |d: &Day| baseline[0] <= d.date && d.date <= baseline[1];
    let window: Vec<usize> = (0..days.len()).filter(|&i| inside(&days[i])).collect();
    let (Some(&first), Some(&last)) = (window.first(), window.last()) else {
        return None;
    };
    // The stretch needs days outside it on both footings (weekday levels, the rest's level).
    if days.len() < window.len() + 7 {
        return None;
    }
    let mut weekday = [[0.0f64; 2]; 7];
    let (mut x_out, mut e_out) = (0.0, 0.0);
    for d in days.iter().filter(|d| !inside(d)) {
        let w = &mut weekday[d.date.weekday().num_days_from_monday() as usize];
        w[0] += d.observed;
        w[1] += d.expected;
        x_out += d.observed;
        e_out += d.expected;
    }
    if x_out <= 0.0 || e_out <= 0.0 {
        return None;
    }
    let overall = x_out / e_out;
    let days: Vec<Day> = days
        .iter()
        .map(|d| {
            let [x, e] = weekday[d.date.weekday().num_days_from_monday() as usize];
            let factor = if x > 0.0 && e > 0.0 { x / e / overall } else { 1.0 };
            Day { expected: d.expected * factor, ..*d }
        })
        .collect();
    let sums = |range: std::ops::Range<usize>| {
        days[range].iter().fold((0.0, 0.0), |(x, e), d| (x + d.observed, e + d.expected))
    };
    let (total_x, total_e) = sums(0..days.len());
    let null = best_piece(total_x, total_e).0;
    let best_step = (1..days.len())
        .filter_map(|k| {
            let (x0, e0) = sums(0..k);
            let ((ll0, l0), (ll1, l1)) = (best_piece(x0, e0), best_piece(total_x - x0, total_e - e0));
            ((l1 - l0) * direction > 0.0).then_some(ll0 + ll1)
        })
        .fold(null, f64::max);
    // (start, end, log-likelihood, level in, level out) of each stretch above the rest.
    let mut stretches: Vec<(usize, usize, f64, f64, f64)> = Vec::new();
    for a in first..=last {
        for b in a..=last {
            let (x_in, e_in) = sums(a..b + 1);
            let ((ll_in, l_in), (ll_rest, l_rest)) =
                (best_piece(x_in, e_in), best_piece(total_x - x_in, total_e - e_in));
            if (l_in - l_rest) * direction < 0.0 {
                stretches.push((a, b, ll_in + ll_rest, l_in, l_rest));
            }
        }
    }
    let &(a, b, best_ll, level_in, level_rest) = stretches.iter().max_by(|x, y| x.2.total_cmp(&y.2))?;
    // Two levels, two ends, and the seven weekday levels.
    let dispersion = dispersion(&days, |i| if (a..=b).contains(&i) { level_in } else { level_rest }, 4 + 7);
    let evidence = 2.0 * (best_ll - null).max(0.0) / dispersion;
    let bonferroni = 0.01 / stretches.len().max(1) as f64;
    let bound = crate::stats::dist::normal_quantile(1.0 - bonferroni / 2.0).powi(2);
    if evidence < bound || 2.0 * (best_ll - best_step) / dispersion < CHI2_1_95 {
        return None;
    }
    let profile: Vec<(NaiveDate, f64)> = (first..=last)
        .map(|start| {
            let ll = stretches.iter().filter(|s| s.0 == start).map(|s| s.2).fold(f64::NEG_INFINITY, f64::max);
            (days[start].date, ((best_ll - ll) / dispersion).max(0.0))
        })
        .collect();
    let within: Vec<NaiveDate> =
        profile.iter().filter(|(_, s)| 2.0 * s <= CHI2_1_95).map(|(d, _)| *d).collect();
    let interval = [*within.first().unwrap_or(&days[a].date), *within.last().unwrap_or(&days[a].date)];
    Some(Onset {
        date: days[a].date,
        interval,
        level_before: level_rest,
        level_after: level_in,
        evidence,
        dispersion,
        new_segment: false,
        until: Some(days[b].date),
        profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Poisson};

    fn date(day: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).expect("a date") + chrono::Duration::days(day)
    }

    /// Days at expected 400 a day whose level steps from `before` to `after` on `onset`.
    fn series(seed: u64, days: i64, onset: i64, before: f64, after: f64) -> Vec<Day> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..days)
            .map(|t| {
                let level = if t < onset { before } else { after };
                let observed: f64 = Poisson::new(400.0 * level).expect("positive").sample(&mut rng);
                Day { date: date(t), observed, expected: 400.0 }
            })
            .collect()
    }

    #[test]
    fn a_clear_step_is_dated_to_its_day() {
        let mut dispersions = Vec::new();
        for seed in 0..20 {
            let onset = 10 + (seed as i64 % 8);
            let found = detect(&series(seed, 28, onset, 1.1, 0.7), -1.0, false).expect("a step");
            assert_eq!(found.date, date(onset), "seed {seed}: {found:?}");
            assert!(found.interval[0] <= found.date && found.date <= found.interval[1]);
            // A 36% step on 400 a day: the interval is a day or two, not the series.
            assert!((found.interval[1] - found.interval[0]).num_days() <= 2, "{found:?}");
            assert!((found.level_before - 1.1).abs() < 0.03 && (found.level_after - 0.7).abs() < 0.03);
            dispersions.push(found.dispersion);
        }
        // Poisson data: the Pearson dispersion averages 1. One series' has 25 degrees of
        // freedom (sd √(2/25) = 0.28); the mean of 20, sd 0.063: ±0.2 is 3σ.
        let mean = dispersions.iter().sum::<f64>() / dispersions.len() as f64;
        assert!((mean - 1.0).abs() < 0.2, "mean dispersion {mean}: {dispersions:?}");
    }

    #[test]
    fn a_step_the_other_way_is_not_this_change() {
        assert!(detect(&series(1, 28, 14, 1.0, 1.3), -1.0, false).is_none());
        assert!(detect(&series(1, 28, 14, 1.0, 1.3), 1.0, false).is_some());
    }

    #[test]
    fn no_step_gives_little_evidence_and_a_wide_interval() {
        let mut wide = 0;
        for seed in 0..20 {
            if let Some(found) = detect(&series(100 + seed, 28, 0, 1.0, 1.0), -1.0, false) {
                // Under no change the best split's statistic has median 2.0, 95% point 8.1,
                // 99% point 13.3 and 99.9% point 23.8 (a simulation of this statistic: 4,000
                // series of 28 days at 400 a day, Python, normal-approximated Poisson counts).
                assert!(found.evidence < 23.8, "seed {seed}: {found:?}");
                wide += usize::from((found.interval[1] - found.interval[0]).num_days() >= 5);
            }
        }
        assert!(wide >= 10, "only {wide} of 20 null series had a wide interval");
    }

    #[test]
    fn a_new_segment_broken_from_its_first_day_is_dated_to_that_day() {
        // No traffic for ten days, then at 60% of its reference from the first day.
        let mut days = series(7, 28, 10, 1.0, 0.6);
        for d in days.iter_mut().take(10) {
            (d.observed, d.expected) = (0.0, 0.0);
        }
        let found = detect(&days, -1.0, true).expect("a step");
        assert_eq!(found.date, date(10), "{found:?}");
        // Broken two days after its release instead: the first two days are at level 1.
        let mut days = series(8, 28, 12, 1.0, 0.6);
        for d in days.iter_mut().take(10) {
            (d.observed, d.expected) = (0.0, 0.0);
        }
        assert_eq!(detect(&days, -1.0, true).expect("a step").date, date(12));
    }

    /// 28 days at expected `per_day` a day, each day's level the product of `weekly`
    /// (Monday first; 2026-03-01 is a Sunday) and `level(day)`, Poisson counts.
    fn shaped(seed: u64, per_day: f64, weekly: [f64; 7], level: impl Fn(i64) -> f64) -> Vec<Day> {
        use chrono::Datelike;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..28)
            .map(|t| {
                let w = weekly[date(t).weekday().num_days_from_monday() as usize];
                let mean = per_day * w * level(t);
                let observed: f64 = Poisson::new(mean).expect("positive").sample(&mut rng);
                Day { date: date(t), observed, expected: per_day }
            })
            .collect()
    }

    #[test]
    fn a_sale_that_lifted_the_baseline_is_dated_to_its_first_day() {
        // Baseline days 14–20, the sale days 16–18 at +12%, current days 21–27 as before it;
        // 1,200 purchases a day, as a shop drill has (36,000 sessions at 3.3%).
        let baseline = [date(14), date(20)];
        for seed in 0..20 {
            let days = shaped(seed, 1200.0, [1.0; 7], |t| if (16..=18).contains(&t) { 1.12 } else { 1.0 });
            let found = lifted_baseline(&days, -1.0, baseline).expect("a lifted stretch");
            // Days are the resolution and a 12% lift on one day is 4σ: within a day, and the
            // true first day inside the interval.
            let until = found.until.expect("a stretch has an end");
            assert!((found.date - date(16)).num_days().abs() <= 1, "seed {seed}: {found:?}");
            assert!((until - date(18)).num_days().abs() <= 1, "seed {seed}: {found:?}");
            assert!(found.interval[0] <= date(16) && date(16) <= found.interval[1], "seed {seed}: {found:?}");
            assert!((found.level_after / found.level_before - 1.12).abs() < 0.04, "{found:?}");
        }
    }

    #[test]
    fn weekdays_and_real_steps_are_not_a_lifted_baseline() {
        // Weekends convert 8% better and the baseline is Friday to Sunday (days 12–14): the
        // weekday levels, read outside the window, even it out.
        let weekend = [0.985, 0.985, 0.985, 0.985, 1.03, 1.07, 1.07];
        let mut lifted = 0;
        for seed in 0..20 {
            lifted += usize::from(
                lifted_baseline(&shaped(seed, 1200.0, weekend, |_| 1.0), -1.0, [date(12), date(14)])
                    .is_some(),
            );
        }
        // Each series passes a 1% Bonferroni bound and a χ²₁(0.95) margin under no lift:
        // at most 1 in 20 by chance (P(≥2 of 20 at 1%) = 1.7%).
        assert!(lifted <= 1, "{lifted} of 20 weekly series read as a lifted baseline");
        // A drop that began in the current window (day 21) and stays: a step, not a stretch.
        for seed in 0..20 {
            let days = shaped(100 + seed, 1200.0, [1.0; 7], |t| if t >= 21 { 0.9 } else { 1.0 });
            assert!(lifted_baseline(&days, -1.0, [date(14), date(20)]).is_none(), "seed {seed}");
        }
    }
}
