//! The context tables an analyst would also have: the release log, the marketing calendar
//! and the config-change log. Causes leave entries here; so do decoys that did not matter.

use chrono::{Duration, NaiveDate};

use crate::output::csv;
use crate::scenario::{Case, Cause};

pub struct ContextTables {
    pub releases: Vec<Vec<String>>,
    pub marketing: Vec<Vec<String>>,
    pub config_changes: Vec<Vec<String>>,
}

pub const RELEASES_HEADER: [&str; 4] = ["date", "platform", "version", "note"];
pub const MARKETING_HEADER: [&str; 4] = ["start", "end", "channel", "campaign"];
pub const CONFIG_HEADER: [&str; 3] = ["date", "system", "change"];
/// Columns of a context log read as dates (`YYYY-MM-DD`); every other column is text, so a
/// version such as 5.2.0 stays a version (see `dataset::scan_context_csv`).
pub const DATE_COLUMNS: [&str; 3] = ["date", "start", "end"];

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn target_value<'a>(cause: &'a Cause, dim: &str) -> Option<&'a str> {
    cause.target.iter().find(|(d, _)| d == dim).map(|(_, v)| v.as_str())
}

impl ContextTables {
    pub fn new(case: &Case) -> ContextTables {
        let mut t = ContextTables { releases: Vec::new(), marketing: Vec::new(), config_changes: Vec::new() };
        for r in case.rollouts.iter().filter(|r| r.dimension == "app_version") {
            let day = case.current.from + Duration::days(r.start_day);
            let note = if r.note.is_empty() { "bug fixes and performance improvements" } else { &r.note };
            t.releases.push(vec![date(day), r.platform.clone(), r.new.clone(), note.to_string()]);
        }
        for cause in case.causes.iter().chain(&case.decoys) {
            let Some(line) = &cause.family.def().context else { continue };
            let day = cause.start.date();
            let text = cause.note.clone().unwrap_or_else(|| line.text.clone());
            let subject = line.subject.clone();
            match line.table.as_str() {
                "releases" => {
                    let platform = subject.unwrap_or_else(|| "web".into());
                    let version = format!("{platform}-{}", day.format("%Y.%m.%d"));
                    t.releases.push(vec![date(day), platform, version, text]);
                }
                "marketing" => {
                    let channel = target_value(cause, "traffic_source")
                        .map(str::to_string)
                        .or(subject)
                        .unwrap_or_else(|| "all".into());
                    let end = cause.end.map(|e| e.date()).unwrap_or(case.data_end());
                    t.marketing.push(vec![date(day), date(end), channel, text]);
                }
                _ => {
                    t.config_changes.push(vec![date(day), subject.unwrap_or_else(|| "platform".into()), text])
                }
            }
        }
        for entry in &case.scenario.context {
            let day = date(case.current.from + Duration::days(entry.day));
            let row = match entry.table.as_str() {
                "releases" => vec![
                    day,
                    entry.platform.clone().unwrap_or_else(|| "web".into()),
                    String::new(),
                    entry.text.clone(),
                ],
                "marketing" => vec![
                    day.clone(),
                    day,
                    entry.platform.clone().unwrap_or_else(|| "all".into()),
                    entry.text.clone(),
                ],
                _ => {
                    vec![day, entry.platform.clone().unwrap_or_else(|| "platform".into()), entry.text.clone()]
                }
            };
            match entry.table.as_str() {
                "releases" => t.releases.push(row),
                "marketing" => t.marketing.push(row),
                _ => t.config_changes.push(row),
            }
        }
        for rows in [&mut t.releases, &mut t.marketing, &mut t.config_changes] {
            rows.sort();
        }
        t
    }

    /// (file name, CSV text) for each table.
    pub fn files(&self) -> [(&'static str, String); 3] {
        [
            ("releases.csv", csv(&RELEASES_HEADER, &self.releases)),
            ("marketing.csv", csv(&MARKETING_HEADER, &self.marketing)),
            ("config_changes.csv", csv(&CONFIG_HEADER, &self.config_changes)),
        ]
    }
}
