//! Staged hints for experiment drills: first the method (check the split, the plan and the
//! pre-period), then where to look for this case, then nearly the answer.

use super::family::ExpFamily;
use super::generate::ExperimentTruth;

pub const STAGES: [&str; 3] = ["method", "where to look", "nearly the answer"];

pub fn hint(truth: &ExperimentTruth, stage: usize) -> String {
    use ExpFamily::*;
    match stage {
        0 => "Before reading any lift, check the design held: the split of users (SRM), the sample against the plan, and the pre-period balance. `dropcase ab analyze` opens with all three.".into(),
        1 => {
            let place = match truth.family {
                Novelty | Primacy | Peeking => "how the effect moves day by day",
                Heterogeneous | SimpsonRamp => "the effect within segments rather than pooled",
                Srm | Carryover => "whether the two arms are comparable at all",
                GuardrailRegression | TelemetryBias | MultipleMetrics | HeavyTailOutlier => "the metrics other than the primary, and how robust the headline number is",
                TrueWin | TrueLoss | Flat | Underpowered => "the primary metric's interval against the MDE the test was planned for",
            };
            format!("Look at {place}: `{}`.", truth.evidence)
        }
        _ => format!("The reason to give is '{}'.", truth.reasons.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")),
    }
}
