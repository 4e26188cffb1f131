//! Experiment families (what is really going on in an A/B test), the decisions a learner
//! can take, and the fixed list of reasons. Each family maps to the decision and reasons a
//! careful analyst would give (see CASES.md, "Experiment pitfalls").

use serde::{Deserialize, Serialize};

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim().to_ascii_lowercase().replace('-', "_");
                Self::ALL.iter().copied().find(|v| v.name() == text)
            }

            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.name()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum!(
    /// What is really behind an experiment's numbers.
    ExpFamily {
        TrueWin => "true_win",
        TrueLoss => "true_loss",
        Flat => "flat",
        Srm => "srm",
        Novelty => "novelty",
        Primacy => "primacy",
        Peeking => "peeking",
        SimpsonRamp => "simpson_ramp",
        GuardrailRegression => "guardrail_regression",
        Heterogeneous => "heterogeneous",
        Underpowered => "underpowered",
        MultipleMetrics => "multiple_metrics",
        HeavyTailOutlier => "heavy_tail_outlier",
        Carryover => "carryover",
        TelemetryBias => "telemetry_bias",
    }
);

named_enum!(
    /// What to do with the experiment.
    Decision {
        Ship => "ship",
        DontShip => "dont_ship",
        Extend => "extend",
        FixAndRerun => "fix_and_rerun",
        ShipSegment => "ship_segment",
    }
);

named_enum!(
    /// Why: the fixed list `exp decide --reason` accepts.
    Reason {
        ClearWin => "clear_win",
        ClearLoss => "clear_loss",
        NoEffect => "no_effect",
        Srm => "srm",
        Novelty => "novelty",
        Primacy => "primacy",
        Peeking => "peeking",
        Simpson => "simpson",
        Guardrail => "guardrail",
        Heterogeneous => "heterogeneous",
        Underpowered => "underpowered",
        MultipleComparisons => "multiple_comparisons",
        Outlier => "outlier",
        Carryover => "carryover",
        Telemetry => "telemetry",
    }
);

impl Reason {
    /// One line on what each reason claims, for help texts and errors.
    pub fn about(self) -> &'static str {
        match self {
            Reason::ClearWin => "the primary metric is significantly better and stable",
            Reason::ClearLoss => "the primary metric is significantly worse",
            Reason::NoEffect => "no effect on an adequately powered sample",
            Reason::Srm => "sample-ratio mismatch: the split of users is broken",
            Reason::Novelty => "the lift fades as users get used to the change",
            Reason::Primacy => "users dislike change at first; the effect recovers over time",
            Reason::Peeking => "stopped early on a significant peek, before the planned sample",
            Reason::Simpson => "allocation changed mid-test; the pooled comparison misleads",
            Reason::Guardrail => "a guardrail metric regressed",
            Reason::Heterogeneous => "one segment reacts very differently",
            Reason::Underpowered => "too few users: the interval still holds the MDE",
            Reason::MultipleComparisons => "one of many metrics at p≈0.04 is expected by chance",
            Reason::Outlier => "a few extreme users drive the metric",
            Reason::Carryover => "the arms differed before the test began",
            Reason::Telemetry => "a client-logged metric moved but the server source did not",
        }
    }
}

impl ExpFamily {
    /// The decision a careful analyst takes.
    pub fn decision(self) -> Decision {
        use ExpFamily::*;
        match self {
            TrueWin | SimpsonRamp => Decision::Ship,
            TrueLoss | Flat | Novelty | GuardrailRegression | MultipleMetrics | HeavyTailOutlier
            | TelemetryBias => Decision::DontShip,
            Primacy | Peeking | Underpowered => Decision::Extend,
            Srm | Carryover => Decision::FixAndRerun,
            Heterogeneous => Decision::ShipSegment,
        }
    }

    /// A decision that is defensible but not the best one: half the decision points.
    pub fn partial_decisions(self) -> &'static [Decision] {
        use ExpFamily::*;
        match self {
            Flat | Novelty => &[Decision::Extend],
            Heterogeneous => &[Decision::FixAndRerun, Decision::DontShip],
            Peeking | Underpowered => &[Decision::DontShip],
            Primacy => &[Decision::DontShip],
            MultipleMetrics => &[Decision::Extend],
            _ => &[],
        }
    }

    pub fn reasons(self) -> Vec<Reason> {
        use ExpFamily::*;
        vec![match self {
            TrueWin => Reason::ClearWin,
            TrueLoss => Reason::ClearLoss,
            Flat => Reason::NoEffect,
            Srm => Reason::Srm,
            Novelty => Reason::Novelty,
            Primacy => Reason::Primacy,
            Peeking => Reason::Peeking,
            SimpsonRamp => Reason::Simpson,
            GuardrailRegression => Reason::Guardrail,
            Heterogeneous => Reason::Heterogeneous,
            Underpowered => Reason::Underpowered,
            MultipleMetrics => Reason::MultipleComparisons,
            HeavyTailOutlier => Reason::Outlier,
            Carryover => Reason::Carryover,
            TelemetryBias => Reason::Telemetry,
        }]
    }

    /// The commands that show the family's signature.
    pub fn evidence_command(self) -> &'static str {
        use ExpFamily::*;
        match self {
            Novelty | Primacy | Peeking => "dropcase ab daily",
            Heterogeneous => "dropcase ab segments --by platform",
            SimpsonRamp => "dropcase ab segments --by phase",
            Srm => "dropcase ab segments --by browser",
            _ => "dropcase ab analyze",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in ExpFamily::ALL {
            assert_eq!(ExpFamily::parse(f.name()), Some(*f));
            assert!(!f.reasons().is_empty());
        }
        assert_eq!(Decision::parse("dont-ship"), Some(Decision::DontShip));
        assert_eq!(Reason::parse("SRM"), Some(Reason::Srm));
        assert_eq!(ExpFamily::ALL.len(), 15);
    }
}
