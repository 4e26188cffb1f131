//! Clarifying questions, answered as an interviewer would: from what the case holds — the
//! brief, the context logs with their decoys, the data's own shape — and never from the
//! sealed answer, so asking is worth it but gives nothing away.

use std::path::Path;

use chrono::Datelike;

use crate::brief::{Brief, Window};
use crate::schema::files;

use super::evidence;

/// What a learner may ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Topic {
    /// What the metric counts, and from which source.
    Definition,
    /// The windows compared, their days and weekdays.
    Window,
    /// The platforms and how traffic splits between them.
    Platforms,
    /// Releases in the period (the release log).
    Releases,
    /// How the data is collected and loaded.
    Pipeline,
    /// The calendar: weekdays, holidays, sales.
    Seasonality,
    /// Experiments and feature flags.
    Experiments,
    /// Campaigns and channels.
    Marketing,
    /// The topics one may ask about.
    List,
}

impl Topic {
    pub const ALL: [Topic; 9] = [
        Topic::Definition,
        Topic::Window,
        Topic::Platforms,
        Topic::Releases,
        Topic::Pipeline,
        Topic::Seasonality,
        Topic::Experiments,
        Topic::Marketing,
        Topic::List,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topic::Definition => "definition",
            Topic::Window => "window",
            Topic::Platforms => "platforms",
            Topic::Releases => "releases",
            Topic::Pipeline => "pipeline",
            Topic::Seasonality => "seasonality",
            Topic::Experiments => "experiments",
            Topic::Marketing => "marketing",
            Topic::List => "list",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Topic::Definition => "what the metric counts, and from which source",
            Topic::Window => "the windows compared, their days and weekdays",
            Topic::Platforms => "the platforms and how traffic splits between them",
            Topic::Releases => "what shipped in the period",
            Topic::Pipeline => "how the data is collected and loaded",
            Topic::Seasonality => "the calendar: weekdays, holidays, sales",
            Topic::Experiments => "experiments and feature flags",
            Topic::Marketing => "campaigns and channels",
            Topic::List => "this list",
        }
    }
}

/// Rows of a context log (`context/NAME.csv`), header dropped; none when it is missing.
fn context_rows(dir: &Path, name: &str) -> Vec<Vec<String>> {
    let Ok(text) = std::fs::read_to_string(dir.join(files::CONTEXT_DIR).join(name)) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn weekdays(w: &Window) -> String {
    (0..w.days())
        .map(|i| (w.from + chrono::Duration::days(i)).format("%a").to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn weekend_days(w: &Window) -> i64 {
    (0..w.days())
        .filter(|&i| (w.from + chrono::Duration::days(i)).weekday().number_from_monday() >= 6)
        .count() as i64
}

/// The interviewer's answer to `topic` for the drill in `dir`.
pub fn answer(topic: Topic, dir: &Path, brief: &Brief) -> anyhow::Result<String> {
    Ok(match topic {
        Topic::List => Topic::ALL
            .iter()
            .map(|t| format!("{:<12} {}", t.name(), t.about()))
            .collect::<Vec<_>>()
            .join("\n"),
        Topic::Definition => {
            let mut text = format!("The number on the dashboard is `{}`.", brief.metric);
            for d in &brief.definitions {
                text.push_str(&format!(" {}: {}.", d.metric, d.definition));
            }
            text.push_str(
                " A purchase counts once per session. Nobody changed the dashboard's formula that I know of — but check the config log if you doubt it.",
            );
            text
        }
        Topic::Window => format!(
            "We compare {} ({} days: {}) with {} ({} days: {}); the data run from {} to {}. Weekend days: {} in the baseline, {} in the current window. The last day in the data is {}.",
            brief.baseline,
            brief.baseline.days(),
            weekdays(&brief.baseline),
            brief.current,
            brief.current.days(),
            weekdays(&brief.current),
            brief.data_from,
            brief.data_to,
            weekend_days(&brief.baseline),
            weekend_days(&brief.current),
            brief.data_to
        ),
        Topic::Platforms => {
            let rows = evidence::by_dimension(dir, brief, "platform")?;
            let total: f64 = rows.iter().map(|(_, _, c)| c.sessions).sum();
            let shares: Vec<String> = rows
                .iter()
                .map(|(name, _, c)| format!("{name} {:.0}%", 100.0 * c.sessions / total.max(1.0)))
                .collect();
            format!(
                "We sell through an iOS app, an Android app and the website. Traffic in the current window: {}. The apps roll out versions gradually over several days; the web ships continuously. App versions, OS versions and browsers are columns in the sessions table.",
                shares.join(", ")
            )
        }
        Topic::Releases => {
            let rows = context_rows(dir, "releases.csv");
            if rows.is_empty() {
                "Nothing shipped in the period, as far as the release log says.".to_string()
            } else {
                let lines: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {} — {}",
                            r[0],
                            r.get(1).map(String::as_str).unwrap_or(""),
                            r.get(2).map(String::as_str).unwrap_or(""),
                            r.get(3).map(String::as_str).unwrap_or("")
                        )
                    })
                    .collect();
                format!(
                    "From the release log (context/releases.csv): {}. Teams ship often; not every release matters.",
                    lines.join("; ")
                )
            }
        }
        Topic::Pipeline => {
            let analytics: Vec<String> = context_rows(dir, "config_changes.csv")
                .into_iter()
                .filter(|r| r.get(1).is_some_and(|s| s == "analytics"))
                .map(|r| format!("{}: {}", r[0], r.get(2).cloned().unwrap_or_default()))
                .collect();
            let mut text = "Sessions and funnel events are sent by the apps and the web's tracking script to the analytics pipeline, which loads them in hourly batches; the newest hours can still be arriving when you look. Orders are written by the payment backend to the orders table — a second source that does not depend on client tracking.".to_string();
            if analytics.is_empty() {
                text.push_str(" No analytics configuration changes were logged in the period.");
            } else {
                text.push_str(&format!(" Analytics configuration changes logged: {}.", analytics.join("; ")));
            }
            text
        }
        Topic::Seasonality => {
            let sales: Vec<String> = context_rows(dir, "marketing.csv")
                .into_iter()
                .filter(|r| r.get(2).is_some_and(|c| c == "all"))
                .map(|r| {
                    format!(
                        "{} to {}: {}",
                        r[0],
                        r.get(1).cloned().unwrap_or_default(),
                        r.get(3).cloned().unwrap_or_default()
                    )
                })
                .collect();
            let mut text = format!(
                "Weekends usually convert differently from weekdays here. The baseline holds {} weekend day(s), the current window {}.",
                weekend_days(&brief.baseline),
                weekend_days(&brief.current)
            );
            if sales.is_empty() {
                text.push_str(" No site-wide sale or holiday is on the marketing calendar for the period.");
            } else {
                text.push_str(&format!(" Site-wide events on the marketing calendar: {}.", sales.join("; ")));
            }
            text
        }
        Topic::Experiments => {
            let flags: Vec<String> = context_rows(dir, "config_changes.csv")
                .into_iter()
                .filter(|r| r.get(1).is_some_and(|s| s != "analytics"))
                .map(|r| {
                    format!(
                        "{} {}: {}",
                        r[0],
                        r.get(1).cloned().unwrap_or_default(),
                        r.get(2).cloned().unwrap_or_default()
                    )
                })
                .collect();
            let mut text = "No A/B test was running on the purchase funnel in these weeks.".to_string();
            if flags.is_empty() {
                text.push_str(" No feature flag or pricing change was logged either.");
            } else {
                text.push_str(&format!(
                    " Changes switched on outside an experiment (context/config_changes.csv): {}.",
                    flags.join("; ")
                ));
            }
            text
        }
        Topic::Marketing => {
            let rows = context_rows(dir, "marketing.csv");
            if rows.is_empty() {
                "Marketing ran its usual mix; nothing new is on the calendar for the period.".to_string()
            } else {
                let lines: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{} to {} on {}: {}",
                            r[0],
                            r.get(1).cloned().unwrap_or_default(),
                            r.get(2).cloned().unwrap_or_default(),
                            r.get(3).cloned().unwrap_or_default()
                        )
                    })
                    .collect();
                format!("From the marketing calendar (context/marketing.csv): {}.", lines.join("; "))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_have_distinct_names_that_clap_accepts() {
        use clap::ValueEnum;
        for topic in Topic::ALL {
            assert_eq!(Topic::from_str(topic.name(), false), Ok(topic));
        }
    }

    #[test]
    fn weekends_are_counted_from_the_calendar() {
        // 2026-03-23 is a Monday: Mon..Sun holds one Saturday and one Sunday.
        let d = |day| chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        assert_eq!(weekend_days(&Window::new(d(23), d(29))), 2);
        assert_eq!(weekend_days(&Window::new(d(23), d(27))), 0);
        assert_eq!(weekdays(&Window::new(d(23), d(24))), "Mon Tue");
    }
}
