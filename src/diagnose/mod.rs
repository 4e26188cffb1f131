//! Root-cause localisation (`dropcase diagnose`): which `dim=value` combination explains a
//! metric's change. A leaf table (one row per combination of dimension values, actual vs
//! expected) is searched for the elements that explain the gap; for drills the data-quality
//! and mix checks run first and the funnel step is named after. Algorithms and the reasons
//! for the default are in [`localise`]; the drill pipeline is in [`drill`].

pub mod csv_records;
pub mod drill;
pub mod events;
pub mod leaves;
pub mod localise;
pub mod noise;
pub mod onset;
pub mod synthetic;
pub mod table_file;

use std::collections::BTreeMap;

use serde::Serialize;

pub use leaves::{Element, LeafTable, RatioLeaves};
pub use localise::{Algorithm, Found, Settings};

/// A localised cause as reported: readable terms plus the numbers behind them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RootCause {
    /// The cause's `dim=value` terms.
    pub terms: BTreeMap<String, String>,
    /// Terms every leaf of the cause shares without adding to it (`platform=android` under
    /// `app_version=5.2.0`).
    pub implied: BTreeMap<String, String>,
    /// Share of the total change the cause accounts for.
    pub explanatory_power: f64,
    /// The algorithm's ranking score.
    pub score: f64,
    /// 1 − a Bonferroni-corrected p-value of the likelihood-ratio test.
    pub confidence: f64,
    pub actual: f64,
    pub expected: f64,
    /// Relative change against expectation inside the cause and in the rest.
    pub change_inside: f64,
    pub change_outside: f64,
    /// 95% interval of `explanatory_power` (delta method under the table's noise model).
    pub contribution_interval: [f64; 2],
    /// `finding`, or `uncertain` when the contribution is below the smallest effect its cell
    /// can detect (2.8 standard errors: 5% two-sided at 80% power), so its interval may
    /// span zero. Uncertain causes are listed after the findings.
    pub status: String,
    /// For drills: the funnel step where the cause shows (`view`, `cart`, `checkout`, `purchase`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// For drills: when the cause's change began (a change-point on its daily series).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onset: Option<onset::Onset>,
}

impl RootCause {
    /// The cause's terms with the implied ones: the leaves it covers.
    pub fn segment(&self) -> BTreeMap<String, String> {
        let mut all = self.terms.clone();
        all.extend(self.implied.clone());
        all
    }

    /// `platform=android & app_version=5.2.0`.
    pub fn label(&self) -> String {
        self.terms.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(" & ")
    }

    pub fn from_found(table: &LeafTable, found: &Found) -> RootCause {
        // Elements searched: a few thousand at most; Bonferroni over them.
        let tests = 2000.0;
        let p = crate::stats::dist::chi2_sf(2.0 * found.llr, 1.0);
        let excess = found.expected * found.ratio_outside - found.actual;
        let relative_se = if excess.abs() > 0.0 { found.excess_sd / excess.abs() } else { f64::INFINITY };
        RootCause {
            contribution_interval: contribution_interval(found.explanatory_power, relative_se),
            status: status(relative_se).to_string(),
            terms: table.terms(&found.element).into_iter().collect(),
            implied: table.implied_terms(&found.element).into_iter().collect(),
            explanatory_power: found.explanatory_power,
            score: found.score,
            confidence: (1.0 - p * tests).clamp(0.0, 1.0),
            actual: found.actual,
            expected: found.expected,
            change_inside: found.ratio_inside - 1.0,
            change_outside: found.ratio_outside - 1.0,
            step: None,
            onset: None,
        }
    }

    /// Whether the cause covers exactly the leaves of `terms` (implied terms count:
    /// `app_version=5.2.0` is `platform=android & app_version=5.2.0`).
    pub fn matches(&self, terms: &BTreeMap<String, String>) -> bool {
        self.matches_with(terms, &BTreeMap::new())
    }

    /// [`RootCause::matches`], where the cause may also name terms of the truth's
    /// `fingerprint` (what every affected session shares beyond the segment, such as the
    /// bots' user agent).
    pub fn matches_with(
        &self,
        terms: &BTreeMap<String, String>,
        fingerprint: &BTreeMap<String, String>,
    ) -> bool {
        let mut mine = self.terms.clone();
        mine.extend(self.implied.clone());
        let named_ok =
            self.terms.iter().all(|(d, v)| terms.get(d) == Some(v) || fingerprint.get(d) == Some(v));
        let theirs_ok = terms.iter().all(|(d, v)| mine.get(d) == Some(v));
        named_ok && theirs_ok
    }
}

/// z of a two-sided 95% interval (scipy.stats.norm.ppf(0.975) = 1.959964).
const Z_95: f64 = 1.959_963_984_540_054;
/// Standard errors of the smallest detectable effect: 1.96 + 0.84 (scipy.stats.norm.ppf(0.8)
/// = 0.841621), 5% two-sided at 80% power.
const DETECTABLE_SE: f64 = Z_95 + 0.841_621_233_572_914_3;

/// A contribution's 95% interval from its relative standard error.
pub fn contribution_interval(contribution: f64, relative_se: f64) -> [f64; 2] {
    let half = (Z_95 * relative_se * contribution).abs();
    [contribution - half, contribution + half]
}

/// `finding` above the detectable effect, else `uncertain`.
pub fn status(relative_se: f64) -> &'static str {
    if relative_se.is_finite() && relative_se * DETECTABLE_SE <= 1.0 { "finding" } else { "uncertain" }
}

/// Findings first, each group in the order given.
pub fn findings_first(causes: &mut [RootCause]) {
    causes.sort_by_key(|c| c.status != "finding");
}

/// Localises a leaf table: the ranked root causes.
pub fn localise_table(table: &LeafTable, algorithm: Algorithm, settings: &Settings) -> Vec<RootCause> {
    let mut causes: Vec<RootCause> = localise::localise(table, algorithm, settings)
        .iter()
        .map(|f| RootCause::from_found(table, f))
        .collect();
    findings_first(&mut causes);
    causes
}

#[cfg(test)]
mod tests {
    use super::synthetic::{micro_f1, planted, planted_ratio};
    use super::*;

    fn run(
        seed: u64,
        cards: &[usize],
        n: usize,
        depths: &[usize],
        algorithm: Algorithm,
    ) -> (Vec<Element>, Vec<Element>) {
        let p = planted(seed, cards, n, depths);
        let found = localise::localise(&p.table, algorithm, &Settings::default());
        (p.causes, found.into_iter().map(|f| f.element).collect())
    }

    #[test]
    fn finds_a_single_dimension_cause() {
        for seed in 0..5 {
            let (truth, found) = run(seed, &[8, 6, 5, 4], 1, &[1], Algorithm::Scan);
            assert_eq!(found.first(), truth.first(), "seed {seed}");
        }
    }

    #[test]
    fn finds_a_two_dimension_combination() {
        for seed in 0..5 {
            let (truth, found) = run(seed, &[8, 6, 5, 4], 1, &[2], Algorithm::Scan);
            assert_eq!(found.first(), truth.first(), "seed {seed}");
        }
    }

    #[test]
    fn finds_two_simultaneous_causes() {
        for seed in 0..5 {
            let (mut truth, mut found) = run(seed, &[8, 6, 5, 4], 2, &[1, 2], Algorithm::Scan);
            truth.sort();
            found.sort();
            assert_eq!(found, truth, "seed {seed}");
        }
    }

    #[test]
    fn adtributor_finds_single_dimension_causes() {
        let (truth, found) = run(3, &[8, 6, 5, 4], 1, &[1], Algorithm::Adtributor);
        assert_eq!(found.first(), truth.first());
    }

    #[test]
    fn micro_f1_over_many_planted_tables() {
        for algorithm in [Algorithm::Scan, Algorithm::Riskloc, Algorithm::Adtributor] {
            let mut results = Vec::new();
            for seed in 0..60 {
                let n = 1 + (seed as usize % 3);
                let depths = [1 + (seed as usize / 3) % 3, 1 + (seed as usize / 9) % 3, 1];
                results.push(run(100 + seed, &[10, 8, 6, 5], n, &depths, algorithm));
            }
            let f1 = micro_f1(&results);
            for (k, (truth, found)) in results.iter().enumerate() {
                if algorithm == Algorithm::Scan
                    && truth.iter().collect::<std::collections::BTreeSet<_>>() != found.iter().collect()
                {
                    eprintln!("seed {} truth {truth:?} found {found:?}", 100 + k);
                }
            }
            eprintln!("{algorithm:?}: micro-F1 {f1:.3}");
            if algorithm == Algorithm::Scan {
                assert!(f1 >= 0.95, "micro-F1 {f1}");
            }
        }
    }

    /// Issue 18: a contribution's interval and status. Relative standard error 0.1: 95%
    /// half-width 1.96 × 0.1 × 0.5 = 0.098 and a finding (0.1 × 2.80 ≤ 1); 0.5: uncertain.
    #[test]
    fn contribution_intervals_and_status() {
        let [lo, hi] = contribution_interval(0.5, 0.1);
        assert!((lo - 0.402).abs() < 1e-3 && (hi - 0.598).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(status(0.1), "finding");
        assert_eq!(status(0.5), "uncertain");
        assert_eq!(status(f64::INFINITY), "uncertain");
        // A planted cause of the synthetic benchmark is a finding whose interval holds its
        // explanatory power and excludes zero.
        let p = planted(3, &[8, 6, 5, 4], 1, &[1]);
        let causes = localise_table(&p.table, Algorithm::Scan, &Settings::default());
        let top = &causes[0];
        assert_eq!(top.status, "finding", "{top:?}");
        let [lo, hi] = top.contribution_interval;
        assert!(lo > 0.0 && lo < top.explanatory_power && top.explanatory_power < hi, "{top:?}");
    }

    /// Issue 18, the Squeeze B0 pattern: forecasts off by 1% of themselves (not Poisson),
    /// two overlapping causes where the later one overrides the earlier where they meet
    /// (`d=d0` to zero, `a=a2` to 20% including `a=a2 & d=d0`), and anomalous values rounded
    /// to whole units. The engine used to add deeper spurious causes here (leaves of the
    /// overlap, or big leaves "significant" under Poisson); exactly the two must be found.
    #[test]
    fn overlapping_overriding_causes_under_multiplicative_noise() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, LogNormal, Normal};
        for seed in 0..4u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let sizes = LogNormal::new(2.0, 2.0).expect("valid");
            let noise = Normal::new(0.0, 0.01).expect("valid");
            let cards = [6usize, 10, 8, 5];
            let mut table = LeafTable::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
            let mut dict = leaves::Dictionary::default();
            for a in 0..cards[0] {
                for b in 0..cards[1] {
                    for c in 0..cards[2] {
                        for d in 0..cards[3] {
                            let expected: f64 = sizes.sample(&mut rng);
                            let expected = expected.round().max(1.0);
                            let ratio = if a == 2 {
                                Some(0.2)
                            } else if d == 0 {
                                Some(0.0)
                            } else {
                                None
                            };
                            let actual = match ratio {
                                Some(r) => (expected * r).round() * (1.0 + noise.sample(&mut rng)),
                                None => expected * (1.0 + noise.sample(&mut rng)),
                            };
                            let values = [format!("a{a}"), format!("b{b}"), format!("c{c}"), format!("d{d}")];
                            let values: Vec<&str> = values.iter().map(String::as_str).collect();
                            table.push(&mut dict, &values, actual.max(0.0), expected);
                        }
                    }
                }
            }
            let mut found: Vec<String> = localise_table(&table, Algorithm::Scan, &Settings::default())
                .iter()
                .map(RootCause::label)
                .collect();
            found.sort();
            assert_eq!(found, ["a=a2", "d=d0"], "seed {seed}");
        }
    }

    /// The ratio-metric benchmark: 60 tables (10×8×6×5 = 2,400 leaves, a median of about 1,800 sessions
    /// each, 1–3 causes 1–3 terms deep cutting the rate to 40–70%), localised as the drill
    /// pipeline does (rate forecast from the baseline window, binomial dispersion).
    #[test]
    fn micro_f1_on_ratio_metrics() {
        let mut results = Vec::new();
        for seed in 0..60u64 {
            let n = 1 + (seed as usize % 3);
            let depths = [1 + (seed as usize / 3) % 3, 1 + (seed as usize / 9) % 3, 1];
            let p = planted_ratio(500 + seed, &[10, 8, 6, 5], n, &depths);
            let found = localise::scan(&p.leaves.to_rate_table(), &Settings::default());
            let found: Vec<Element> = found.into_iter().map(|f| f.element).collect();
            if p.causes.iter().collect::<std::collections::BTreeSet<_>>() != found.iter().collect() {
                eprintln!("truth {:?} found {found:?}", p.causes);
            }
            results.push((p.causes, found));
        }
        let f1 = micro_f1(&results);
        eprintln!("ratio metrics: micro-F1 {f1:.3}");
        assert!(f1 >= 0.95, "micro-F1 {f1}");
    }
}
