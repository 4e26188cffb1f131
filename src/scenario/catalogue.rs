//! The scenarios embedded in the binary, so `dropcase` works from any folder.

use super::{Scenario, ScenarioError};

/// (file name without `.toml`, file text), in catalogue order.
pub const EMBEDDED: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// Every embedded scenario, parsed. The catalogue is validated by tests, so a parse failure
/// here is a build defect, reported as an error rather than a panic.
pub fn all() -> Result<Vec<Scenario>, ScenarioError> {
    EMBEDDED.iter().map(|(name, text)| Scenario::parse(text, &format!("catalogue:{name}"))).collect()
}

pub fn find(name: &str) -> Result<Scenario, ScenarioError> {
    if let Some((file, text)) = EMBEDDED.iter().find(|(file, _)| *file == name) {
        return Scenario::parse(text, &format!("catalogue:{file}"));
    }
    let names: Vec<&str> = EMBEDDED.iter().map(|(file, _)| *file).collect();
    let suggestion =
        crate::suggest::nearest(name, &names).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default();
    Err(ScenarioError::Unknown { name: name.to_string(), suggestion })
}
