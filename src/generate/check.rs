//! The solvability self-check: a drill is handed out only if its headline lies in the
//! scenario's range and its cause's signature is statistically visible (or, for the noise
//! family, if the "drop" is really within normal variation).

use crate::stats::Alternative;
use crate::stats::proportion::{Counts, two_proportion_test};

use crate::scenario::family::VolumeCheck;
use crate::scenario::{Case, Family};

use super::model::{DayCounts, Model, TargetCounts};
use super::truth::window_counts;

/// Two-sided p-value of the pooled two-proportion z-test (1 when either side is empty).
pub fn two_proportion_p(x0: u64, n0: u64, x1: u64, n1: u64) -> f64 {
    let (Ok(before), Ok(after)) = (Counts::new("baseline", x0, n0), Counts::new("current", x1, n1)) else {
        return 1.0;
    };
    two_proportion_test(before, after, 0.05, Alternative::TwoSided).map(|t| t.p_value).unwrap_or(1.0)
}

/// What the target's current stage rate is compared with: the target itself in the baseline,
/// or, when the target did not exist then (a new version), the rest of its parent segment
/// in the current window.
pub fn reference_counts(baseline: &TargetCounts, current: &TargetCounts) -> (u64, u64) {
    if baseline.den >= 200 {
        (baseline.num, baseline.den)
    } else {
        (current.control_num, current.control_den)
    }
}

/// `Ok` if the case is fit to hand out; otherwise why not.
pub fn solvable(case: &Case, counts: &[DayCounts]) -> Result<(), String> {
    let (b, c) = window_counts(case, counts);
    let [low, high] = case.scenario.headline;
    // A window without purchases has no conversion to compare: no headline, not a NaN one.
    for (window, counts) in [("baseline", &b), ("current", &c)] {
        if counts.purchases == 0 {
            return Err(format!(
                "the {window} window has {} sessions and no purchase, so there is no headline change",
                counts.sessions
            ));
        }
    }
    let change = (c.purchases as f64 / c.sessions as f64) / (b.purchases as f64 / b.sessions as f64) - 1.0;
    if !(low..=high).contains(&change) {
        return Err(format!(
            "headline change {:+.2}% outside the scenario's range [{:+.1}%, {:+.1}%]",
            change * 100.0,
            low * 100.0,
            high * 100.0
        ));
    }
    let p = two_proportion_p(b.purchases, b.sessions, c.purchases, c.sessions);
    if case.causes.iter().all(|c| c.family == Family::Noise) {
        return if p > 0.05 { Ok(()) } else { Err(format!("a noise case moved significantly (p = {p:.4})")) };
    }
    // Every true cause must leave its own signature: credit is given per cause found.
    for (k, cause) in case.causes.iter().enumerate().take(super::model::MAX_CAUSES) {
        let (tb, tc) = (&b.target[k], &c.target[k]);
        let which = if case.causes.len() > 1 {
            format!("cause {} ({}): ", k + 1, cause.family)
        } else {
            String::new()
        };
        if Model::signature_stage(cause.family, cause.stage).is_some() && !cause.target.is_empty() {
            let (x0, n0) = reference_counts(tb, tc);
            let p = two_proportion_p(x0, n0, tc.num, tc.den);
            let fell = (tc.num as f64 / tc.den.max(1) as f64) < (x0 as f64 / n0.max(1) as f64);
            if !(p < 1e-3 && fell) {
                return Err(format!(
                    "{which}the target segment's step rate did not fall visibly (p = {p:.2e})"
                ));
            }
        }
        if let Some(direction) = cause.family.def().volume {
            let ratio =
                (tc.sessions as f64 / c.sessions as f64) / (tb.sessions.max(1) as f64 / b.sessions as f64);
            let up = direction == VolumeCheck::Up;
            if !((up && ratio > 1.15) || (!up && ratio < 0.9)) {
                return Err(format!("{which}the target's share of sessions moved only ×{ratio:.2}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_without_purchases_is_not_solvable() {
        let all = crate::scenario::catalogue::all().unwrap();
        let scenario = all.iter().find(|s| s.name == "app_release_bug").expect("in the catalogue");
        let case = scenario.draw(&mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1), 1);
        let counts = vec![DayCounts { sessions: 100, ..DayCounts::default() }; case.days() as usize];
        let why = solvable(&case, &counts).unwrap_err();
        assert!(why.contains("baseline window has 700 sessions and no purchase"), "{why}");
        assert!(!why.contains("NaN"), "{why}");
    }

    #[test]
    fn empty_sides_are_not_evidence() {
        assert_eq!(two_proportion_p(0, 0, 1, 10), 1.0);
        // Python: p = 450/20000; z = 0.005 / sqrt(p*(1-p)*2/10000);
        // math.erfc(z / sqrt(2)) → 0.01712582887219502 (z = 2.38399513284); tolerance 1e-9 relative.
        let p = two_proportion_p(200, 10_000, 250, 10_000);
        assert!((p / 0.01712582887219502 - 1.0).abs() < 1e-9, "{p}");
    }
}
