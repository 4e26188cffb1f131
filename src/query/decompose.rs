//! Splitting a metric's overall change into per-segment mix and rate effects.
//!
//! A ratio metric is a share-weighted mean of segment rates, R = Σ sᵢ rᵢ with
//! sᵢ = denᵢ / Σ den. Its change splits per segment into a mix effect (the segment's share
//! moved) and a rate effect (its rate moved), with the symmetric (Shapley) weights of
//! Kitagawa (1955), *JASA* 50, 1168–1194, the mix term measured against the average rate
//! R̄ = (R0 + R1)/2:
//!
//! mixᵢ = (s1ᵢ − s0ᵢ)(r̄ᵢ − R̄),  rateᵢ = (r1ᵢ − r0ᵢ)(s0ᵢ + s1ᵢ)/2,  r̄ᵢ = (r0ᵢ + r1ᵢ)/2.
//!
//! Because Σ (s1ᵢ − s0ᵢ) = 0, centring changes no sum: Σ (mixᵢ + rateᵢ) = R1 − R0 exactly,
//! with no interaction term left over. What it changes is attribution: traffic moving to a
//! segment only counts against the total if that segment converts below average. Without
//! it, a new app version that takes over from the old one would show a large positive mix
//! (it "adds" conversions) and the old one a large negative mix, hiding a broken release.
//! A total (a count or a sum) is the plain sum of its segments; its change is all "rate".

/// One segment's numerator and denominator in one window. For a total, `den` is the count
/// the share is taken of and `num` equals it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cell {
    pub num: f64,
    pub den: f64,
}

/// A segment's effects on the overall change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effects {
    pub mix: f64,
    pub rate: f64,
}

/// Decomposes a ratio metric (Σ num / Σ den) over segments given as (baseline, current).
/// A segment absent from one window (den = 0) takes the other window's rate there, so its
/// whole effect is mix. `None` when a window holds no denominator at all.
pub fn decompose_ratio(segments: &[(Cell, Cell)]) -> Option<Vec<Effects>> {
    decompose_ratio_with_references(segments, &[])
}

/// As [`decompose_ratio`], but a segment new in the current window (s0 = 0) with a
/// reference rate r_ref (its parent segment's baseline, `references[i]`) is measured
/// against it: had its sessions converted at r_ref, the change would be all mix, so
///
/// mixᵢ = s1ᵢ (r_refᵢ − R̄),  rateᵢ = s1ᵢ (r1ᵢ − r_refᵢ).
///
/// Their sum is s1ᵢ (r1ᵢ − R̄), the same as without a reference, so the parts still add up
/// to R1 − R0 exactly; only the split moves. Without it a broken new app version read as
/// all mix with no rate effect, steering away from a release bug.
pub fn decompose_ratio_with_references(
    segments: &[(Cell, Cell)],
    references: &[Option<f64>],
) -> Option<Vec<Effects>> {
    let den0: f64 = segments.iter().map(|(a, _)| a.den).sum();
    let den1: f64 = segments.iter().map(|(_, b)| b.den).sum();
    if !(den0 > 0.0 && den1 > 0.0) {
        return None;
    }
    let num0: f64 = segments.iter().map(|(a, _)| a.num).sum();
    let num1: f64 = segments.iter().map(|(_, b)| b.num).sum();
    let average = (num0 / den0 + num1 / den1) / 2.0;
    let effects = segments
        .iter()
        .enumerate()
        .map(|(i, (a, b))| {
            let (s0, s1) = (a.den / den0, b.den / den1);
            let reference = references.get(i).copied().flatten().filter(|r| r.is_finite());
            if let (false, true, Some(r_ref)) = (a.den > 0.0, b.den > 0.0, reference) {
                let r1 = b.num / b.den;
                return Effects { mix: s1 * (r_ref - average), rate: s1 * (r1 - r_ref) };
            }
            let (r0, r1) = match (a.den > 0.0, b.den > 0.0) {
                (true, true) => (a.num / a.den, b.num / b.den),
                (true, false) => (a.num / a.den, a.num / a.den),
                (false, true) => (b.num / b.den, b.num / b.den),
                (false, false) => (average, average),
            };
            Effects { mix: (s1 - s0) * ((r0 + r1) / 2.0 - average), rate: (r1 - r0) * (s0 + s1) / 2.0 }
        })
        .collect();
    Some(effects)
}

/// Decomposes a total (Σ num): each segment's effect is its own change, none of it mix.
pub fn decompose_total(segments: &[(Cell, Cell)]) -> Vec<Effects> {
    segments.iter().map(|(a, b)| Effects { mix: 0.0, rate: b.num - a.num }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ratio(segments: &[(Cell, Cell)], pick: fn(&(Cell, Cell)) -> Cell) -> f64 {
        let num: f64 = segments.iter().map(|s| pick(s).num).sum();
        let den: f64 = segments.iter().map(|s| pick(s).den).sum();
        num / den
    }

    #[test]
    fn simpsons_paradox_is_all_mix() {
        // Rates flat within both segments (10% and 2%); traffic moves to the weak one.
        let segments = [
            (Cell { num: 80.0, den: 800.0 }, Cell { num: 50.0, den: 500.0 }),
            (Cell { num: 4.0, den: 200.0 }, Cell { num: 10.0, den: 500.0 }),
        ];
        let effects = decompose_ratio(&segments).unwrap();
        assert!(effects.iter().all(|e| e.rate.abs() < 1e-15));
        // Average R̄ = (0.084 + 0.06)/2 = 0.072. Strong segment loses 0.3 of share at 0.10:
        // −0.3 × 0.028 = −0.0084; weak one gains 0.3 at 0.02: 0.3 × −0.052 = −0.0156.
        assert!((effects[0].mix + 0.0084).abs() < 1e-15);
        assert!((effects[1].mix + 0.0156).abs() < 1e-15);
        let total: f64 = effects.iter().map(|e| e.mix).sum();
        assert!((total - (0.06 - 0.084)).abs() < 1e-15);
    }

    #[test]
    fn a_new_segment_below_average_counts_against_the_total() {
        // Version 1 (4%) is replaced in half the traffic by version 2 (2%).
        let segments = [
            (Cell { num: 40.0, den: 1000.0 }, Cell { num: 20.0, den: 500.0 }),
            (Cell { num: 0.0, den: 0.0 }, Cell { num: 10.0, den: 500.0 }),
        ];
        let effects = decompose_ratio(&segments).unwrap();
        // R0 = 0.04, R1 = 0.03, R̄ = 0.035. Version 1: −0.5 × (0.04 − 0.035) = −0.0025;
        // version 2: 0.5 × (0.02 − 0.035) = −0.0075, the larger part of the −0.01 change.
        assert!((effects[0].mix + 0.0025).abs() < 1e-15 && effects[0].rate.abs() < 1e-15);
        assert!((effects[1].mix + 0.0075).abs() < 1e-15 && effects[1].rate.abs() < 1e-15);
    }

    #[test]
    fn a_new_segment_is_measured_against_its_reference_rate() {
        // The same case, with version 2 measured against version 1's baseline of 4%:
        // R̄ = 0.035; version 2 mix = 0.5 × (0.04 − 0.035) = +0.0025, rate = 0.5 × (0.02 −
        // 0.04) = −0.01; version 1 as before, mix −0.0025, rate 0. Sum −0.01 = 0.03 − 0.04.
        let segments = [
            (Cell { num: 40.0, den: 1000.0 }, Cell { num: 20.0, den: 500.0 }),
            (Cell { num: 0.0, den: 0.0 }, Cell { num: 10.0, den: 500.0 }),
        ];
        let effects = decompose_ratio_with_references(&segments, &[None, Some(0.04)]).unwrap();
        assert!((effects[0].mix + 0.0025).abs() < 1e-15 && effects[0].rate.abs() < 1e-15);
        assert!((effects[1].mix - 0.0025).abs() < 1e-15, "{:?}", effects[1]);
        assert!((effects[1].rate + 0.01).abs() < 1e-15, "{:?}", effects[1]);
        let sum: f64 = effects.iter().map(|e| e.mix + e.rate).sum();
        assert!((sum + 0.01).abs() < 1e-15);
        // A reference on a segment that has a baseline changes nothing.
        assert_eq!(
            decompose_ratio_with_references(&segments, &[Some(0.5), Some(0.04)]).unwrap()[0],
            effects[0]
        );
    }

    fn cell() -> impl Strategy<Value = Cell> {
        // Denominators 0..10⁶ (zero = segment absent), numerators up to their denominator.
        (0u32..1_000_000, 0.0f64..=1.0)
            .prop_map(|(den, rate)| Cell { num: (f64::from(den) * rate).floor(), den: f64::from(den) })
    }

    proptest! {
        /// The parts sum to the overall change to rounding (1e-12 absolute on rates ≤ 1).
        #[test]
        fn ratio_parts_sum_to_total_change(segments in prop::collection::vec((cell(), cell()), 1..40)) {
            let total_change = ratio(&segments, |s| s.1) - ratio(&segments, |s| s.0);
            match decompose_ratio(&segments) {
                None => prop_assert!(!total_change.is_finite()),
                Some(effects) => {
                    let sum: f64 = effects.iter().map(|e| e.mix + e.rate).sum();
                    prop_assert!((sum - total_change).abs() < 1e-12, "{sum} vs {total_change}");
                }
            }
        }

        /// With reference rates for new segments, the parts still sum to the change.
        #[test]
        fn referenced_parts_sum_to_total_change(
            segments in prop::collection::vec((cell(), cell()), 1..40),
            references in prop::collection::vec(prop::option::of(0.0f64..=1.0), 40),
        ) {
            let total_change = ratio(&segments, |s| s.1) - ratio(&segments, |s| s.0);
            if let Some(effects) = decompose_ratio_with_references(&segments, &references) {
                let sum: f64 = effects.iter().map(|e| e.mix + e.rate).sum();
                prop_assert!((sum - total_change).abs() < 1e-12, "{sum} vs {total_change}");
            }
        }

        #[test]
        fn total_parts_sum_to_total_change(segments in prop::collection::vec((cell(), cell()), 1..40)) {
            let change: f64 = segments.iter().map(|(a, b)| b.num - a.num).sum();
            let sum: f64 = decompose_total(&segments).iter().map(|e| e.mix + e.rate).sum();
            prop_assert!((sum - change).abs() < 1e-6);
        }
    }
}
