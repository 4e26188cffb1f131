//! The scenarios embedded in the binary, so `dropcase` works from any folder. Metric-drop
//! scenarios and experiment scenarios (`kind = "experiment"`) share the folder; `all` gives
//! the drops, `experiments` the experiments.

use super::{Scenario, ScenarioError};
use crate::experiment::ExperimentScenario;

/// (file name without `.toml`, file text), in catalogue order.
pub const EMBEDDED: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// Whether scenario text declares `kind = "experiment"` (read without full parsing, so a
/// broken file is reported by the parser of its own kind).
pub fn is_experiment(text: &str) -> bool {
    text.parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("kind").and_then(|k| k.as_str().map(|s| s == "experiment")))
        .unwrap_or(false)
}

/// Every embedded metric-drop scenario, parsed. The catalogue is validated by tests, so a
/// parse failure here is a build defect, reported as an error rather than a panic.
pub fn all() -> Result<Vec<Scenario>, ScenarioError> {
    EMBEDDED
        .iter()
        .filter(|(_, text)| !is_experiment(text))
        .map(|(name, text)| Scenario::parse(text, &format!("catalogue:{name}")))
        .collect()
}

/// Every embedded experiment scenario, parsed.
pub fn experiments() -> Result<Vec<ExperimentScenario>, ScenarioError> {
    EMBEDDED
        .iter()
        .filter(|(_, text)| is_experiment(text))
        .map(|(name, text)| ExperimentScenario::parse(text, &format!("catalogue:{name}")))
        .collect()
}

fn unknown(name: &str, experiment: bool) -> ScenarioError {
    let names: Vec<&str> = EMBEDDED
        .iter()
        .filter(|(_, text)| is_experiment(text) == experiment)
        .map(|(file, _)| *file)
        .collect();
    let suggestion = if name.trim().is_empty() {
        format!(
            " (an empty name: give one such as '{}')",
            names.first().copied().unwrap_or("app_release_bug")
        )
    } else {
        crate::suggest::nearest(name, &names).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default()
    };
    ScenarioError::Unknown { name: name.to_string(), suggestion }
}

pub fn find(name: &str) -> Result<Scenario, ScenarioError> {
    match EMBEDDED.iter().find(|(file, _)| *file == name) {
        Some((file, text)) if is_experiment(text) => Err(ScenarioError::Syntax {
            origin: format!("catalogue:{file}"),
            message: format!(
                "is an experiment scenario: start it with `dropcase exp start --scenario {file}`"
            ),
        }),
        Some((file, text)) => Scenario::parse(text, &format!("catalogue:{file}")),
        None => Err(unknown(name, false)),
    }
}

pub fn find_experiment(name: &str) -> Result<ExperimentScenario, ScenarioError> {
    match EMBEDDED.iter().find(|(file, _)| *file == name) {
        Some((file, text)) if !is_experiment(text) => Err(ScenarioError::Syntax {
            origin: format!("catalogue:{file}"),
            message: format!(
                "is a metric-drop scenario: start it with `dropcase drill start --scenario {file}`"
            ),
        }),
        Some((file, text)) => ExperimentScenario::parse(text, &format!("catalogue:{file}")),
        None => Err(unknown(name, true)),
    }
}
