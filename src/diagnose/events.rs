//! The change log ranked: which logged change (a release, a flag, a campaign, an incident)
//! the evidence points to. Each event is scored by how well its scope matches the localised
//! cause's segment and its day the cause's onset ([`super::onset`]); a decoy elsewhere (the
//! other app's release, a web deploy when Android broke) or after the change had begun ranks
//! below the event that fits both.
//!
//! Events come from a drill's context logs (`context/releases.csv`, `marketing.csv`,
//! `config_changes.csv`) or from a user's `--events FILE`: a CSV with a header and the columns
//! `time` (or `date`): `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]`;
//! `description`; optionally `scope`: `dim=value` terms joined by `,` (AND), empty or `all`
//! for everyone; optionally `end` (a date, for campaigns). Other columns are ignored.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::onset::Onset;

/// One logged change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// The day it happened (a time of day in the file is kept in `time`).
    pub date: NaiveDate,
    /// The time as written in the log.
    pub time: String,
    /// Last day, for a change with a duration (a campaign).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    /// `dim=value` terms it applied to; empty for everyone.
    pub scope: BTreeMap<String, String>,
    pub description: String,
    /// Where it was read: `context/releases.csv:3`.
    pub source: String,
}

impl Event {
    /// `platform=android, app_version=5.2.0`, or `everyone`.
    pub fn scope_label(&self) -> String {
        scope_text(&self.scope)
    }
}

fn scope_text(scope: &BTreeMap<String, String>) -> String {
    if scope.is_empty() {
        "everyone".into()
    } else {
        scope.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(", ")
    }
}

/// An event with how well it fits the evidence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedEvent {
    #[serde(flatten)]
    pub event: Event,
    /// `exact` (names the segment), `broader` (a part of the segment's terms, no other),
    /// `everyone`, `narrower` (terms the segment does not have), `conflicts` (another value
    /// of one of the segment's dimensions).
    pub scope_match: String,
    /// `at onset` (inside the onset's interval), `before onset`, `after onset` (the change
    /// had begun), or `not checked` (no onset: a leaf table has no dates).
    pub time_match: String,
    /// Days from the onset's interval: negative before it, 0 inside, positive after.
    pub days_from_onset: Option<i64>,
    /// Scope fit × time fit, in [0, 1]; the ranking.
    pub score: f64,
}

/// The ranked change log and what it points to.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ChangeLog {
    /// The segment and onset the events were matched against, as text.
    pub matched_against: String,
    pub events: Vec<RankedEvent>,
    /// The event the evidence points to: the best, when its scope does not conflict and it
    /// did not come after the change had begun.
    pub points_to: Option<RankedEvent>,
    pub verdict: String,
}

/// Scope fit: how well an event's scope can explain a change in `segment` (`core` the
/// cause's own terms, `segment` those plus the terms they imply). Exact scope explains it;
/// a part of it (`platform=android` for `app_version=5.2.0`) may; a change for everyone
/// rarely hits one segment only; a change narrower than the segment cannot have moved all
/// of it; another value of the same dimension cannot have moved it at all.
fn scope_fit(
    event: &BTreeMap<String, String>,
    core: &BTreeMap<String, String>,
    segment: &BTreeMap<String, String>,
) -> (&'static str, f64) {
    if segment.is_empty() {
        return if event.is_empty() { ("exact", 1.0) } else { ("narrower", 0.1) };
    }
    if event.iter().any(|(d, v)| segment.get(d).is_some_and(|s| s != v)) {
        return ("conflicts", 0.0);
    }
    if event.is_empty() {
        return ("everyone", 0.25);
    }
    if event.keys().any(|d| !segment.contains_key(d)) {
        return ("narrower", 0.1);
    }
    if core.keys().all(|d| event.contains_key(d)) { ("exact", 1.0) } else { ("broader", 0.5) }
}

/// Time fit: 1 inside the onset's interval. A change precedes its effect, but a latent
/// defect or a staged rollout can delay the effect, so an earlier event is discounted by its
/// lead, 1 / (1 + days). An event after the change had begun cannot have started it: its fit
/// is the likelihood ratio of the change beginning on its day against the onset (tiny when
/// the series is clear).
fn time_fit(
    date: NaiveDate,
    end: Option<NaiveDate>,
    onset: Option<&Onset>,
) -> (&'static str, Option<i64>, f64) {
    let Some(onset) = onset else {
        return ("not checked", None, 1.0);
    };
    let [lo, hi] = onset.interval;
    // A campaign running over the onset is at the onset from its start.
    let last = end.unwrap_or(date).max(date);
    if date <= hi && last >= lo {
        return ("at onset", Some(0), 1.0);
    }
    if date < lo {
        let lead = (lo - date).num_days();
        return ("before onset", Some(-lead), 1.0 / (1.0 + lead as f64));
    }
    let lag = (date - hi).num_days();
    let shortfall = onset.shortfall(date).unwrap_or(f64::INFINITY);
    ("after onset", Some(lag), (-shortfall).exp().min(0.5))
}

/// Ranks `events` against a cause (`core` its terms, `segment` with the implied ones;
/// both empty for a change that hit everyone) and its onset.
pub fn rank(
    events: &[Event],
    core: &BTreeMap<String, String>,
    segment: &BTreeMap<String, String>,
    onset: Option<&Onset>,
) -> ChangeLog {
    let mut ranked: Vec<RankedEvent> = events
        .iter()
        .map(|e| {
            let (scope_match, scope) = scope_fit(&e.scope, core, segment);
            let (time_match, days, time) = time_fit(e.date, e.end, onset);
            RankedEvent {
                event: e.clone(),
                scope_match: scope_match.into(),
                time_match: time_match.into(),
                days_from_onset: days,
                score: scope * time,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.days_from_onset.map(i64::abs).cmp(&b.days_from_onset.map(i64::abs)))
            .then_with(|| a.event.date.cmp(&b.event.date))
            .then_with(|| a.event.source.cmp(&b.event.source))
    });
    let matched_against = format!(
        "{}{}",
        scope_text(segment),
        onset
            .map(|o| format!(", onset {} (95% interval {} – {})", o.date, o.interval[0], o.interval[1]))
            .unwrap_or_else(|| ", no onset (no dates)".into())
    );
    let points_to = ranked
        .first()
        .filter(|e| e.score > 0.0 && e.scope_match != "conflicts" && e.time_match != "after onset")
        .cloned();
    let verdict = match (&points_to, ranked.is_empty()) {
        (_, true) => "no logged changes to rank".to_string(),
        (Some(e), _) => format!(
            "the evidence points to {} \"{}\" ({}; scope {}, {}{})",
            e.event.time,
            e.event.description,
            e.event.source,
            e.scope_match,
            e.time_match,
            match e.days_from_onset {
                Some(d) if d < 0 => format!(", {} days before", -d),
                _ => String::new(),
            }
        ),
        (None, false) => format!(
            "no logged change fits {matched_against}: look for an unlogged change or an external cause"
        ),
    };
    ChangeLog { matched_against, events: ranked, points_to, verdict }
}

/// Parses an event time: a date, or a date and a time of day.
fn parse_time(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(d);
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.date());
        }
    }
    None
}

/// Parses a scope: `dim=value` terms joined by `,`; empty, `all` or `everyone` for everyone.
/// `dims` are the data's dimensions: a term naming another is an error.
fn parse_scope(text: &str, dims: &[String]) -> std::result::Result<BTreeMap<String, String>, String> {
    let text = text.trim();
    let mut scope = BTreeMap::new();
    if text.is_empty() || text.eq_ignore_ascii_case("all") || text.eq_ignore_ascii_case("everyone") {
        return Ok(scope);
    }
    for term in text.split(',') {
        let Some((dim, value)) = term.split_once('=') else {
            return Err(format!("scope term '{}' is not dim=value", term.trim()));
        };
        let (dim, value) = (dim.trim(), value.trim());
        if dim.is_empty() || value.is_empty() {
            return Err(format!("scope term '{}' is not dim=value", term.trim()));
        }
        if !dims.iter().any(|d| d == dim) {
            let candidates: Vec<&str> = dims.iter().map(String::as_str).collect();
            let hint = crate::suggest::nearest(dim, &candidates)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            return Err(format!(
                "scope names dimension '{dim}', which the data does not have{hint}; dimensions: {}",
                dims.join(", ")
            ));
        }
        if scope.insert(dim.to_string(), value.to_string()).is_some_and(|old| old != value) {
            return Err(format!("scope gives '{dim}' two values; an event's scope is an AND of terms"));
        }
    }
    Ok(scope)
}

/// Reads a user's `--events FILE` (the format is in the module header). `dims` are the
/// data's dimensions, for checking scopes.
pub fn read_events_file(path: &Path, dims: &[String]) -> Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--events: cannot read {}", path.display()))?;
    let records =
        super::csv_records::parse(&text).map_err(|e| anyhow::anyhow!("--events: {} {e}", path.display()))?;
    let Some((head, rows)) = records.split_first() else {
        bail!("--events: {} is empty; it needs a header: time,scope,description", path.display());
    };
    let header: Vec<String> = head.fields.iter().map(|h| h.trim().to_string()).collect();
    let find = |names: &[&str]| header.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)));
    let require = |names: &[&str]| -> Result<usize> {
        find(names).ok_or_else(|| {
            let candidates: Vec<&str> = header.iter().map(String::as_str).collect();
            let hint = crate::suggest::nearest(names[0], &candidates)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            anyhow::anyhow!(
                "--events: {} has no '{}' column{hint}; columns: {}. An event log needs time (or date), description and optionally scope and end",
                path.display(),
                names.join("' or '"),
                header.join(", ")
            )
        })
    };
    let time_col = require(&["time", "date"])?;
    let description_col = require(&["description"])?;
    let scope_col = find(&["scope"]);
    let end_col = find(&["end"]);
    let mut events = Vec::new();
    for record in rows {
        let line = record.line;
        if record.fields.len() != header.len() {
            bail!(
                "--events: {} line {line}: {} fields where the header has {}; quote a field that holds a comma",
                path.display(),
                record.fields.len(),
                header.len()
            );
        }
        let field = |c: usize| record.fields.get(c).map(String::as_str).unwrap_or("").trim();
        let time = field(time_col);
        let Some(date) = parse_time(time) else {
            bail!(
                "--events: {} line {line}: time '{time}' is not YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DDTHH:MM[:SS]",
                path.display()
            );
        };
        let end = match end_col.map(field).filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => match parse_time(text) {
                Some(end) if end >= date => Some(end),
                Some(end) => {
                    bail!("--events: {} line {line}: end {end} is before the time {date}", path.display())
                }
                None => bail!("--events: {} line {line}: end '{text}' is not YYYY-MM-DD", path.display()),
            },
        };
        let scope = parse_scope(scope_col.map(field).unwrap_or(""), dims)
            .map_err(|e| anyhow::anyhow!("--events: {} line {line}: {e}", path.display()))?;
        let description = field(description_col);
        if description.is_empty() {
            bail!("--events: {} line {line}: the description is empty; say what changed", path.display());
        }
        events.push(Event {
            date,
            time: time.to_string(),
            end,
            scope,
            description: description.to_string(),
            source: format!("{}:{line}", path.display()),
        });
    }
    if events.is_empty() {
        bail!("--events: {} has a header but no events", path.display());
    }
    Ok(events)
}

/// The dimension of `value` when exactly one dimension has it (a config log's `system`
/// may be a platform).
fn dimension_of<'a>(value: &str, values: &'a BTreeMap<String, Vec<String>>) -> Option<&'a str> {
    let mut owners = values.iter().filter(|(_, vs)| vs.iter().any(|v| v == value)).map(|(d, _)| d.as_str());
    let first = owners.next()?;
    owners.next().is_none().then_some(first)
}

/// Reads a drill's context logs as events. `values` are the data's dimension values: a
/// release's version is a scope term when it is an `app_version` the data has, and a config
/// change's system when it is a value of one dimension.
pub fn drill_events(dir: &Path, values: &BTreeMap<String, Vec<String>>) -> Result<Vec<Event>> {
    use crate::schema::sessions as s;
    let context = dir.join(crate::schema::files::CONTEXT_DIR);
    let mut events = Vec::new();
    for name in ["releases.csv", "marketing.csv", "config_changes.csv"] {
        let path = context.join(name);
        if !path.is_file() {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let records =
            super::csv_records::parse(&text).map_err(|e| anyhow::anyhow!("{} {e}", path.display()))?;
        for record in records.iter().skip(1) {
            let field = |c: usize| record.fields.get(c).map(|f| f.trim().to_string()).unwrap_or_default();
            let source = format!("context/{name}:{}", record.line);
            let Some(date) = parse_time(&field(0)) else {
                bail!("{source}: '{}' is not a YYYY-MM-DD date", field(0));
            };
            let mut scope = BTreeMap::new();
            let (end, description) = match name {
                "releases.csv" => {
                    let (platform, version) = (field(1), field(2));
                    if !platform.is_empty() {
                        scope.insert(s::PLATFORM.to_string(), platform.clone());
                    }
                    if values.get(s::APP_VERSION).is_some_and(|vs| vs.contains(&version)) {
                        scope.insert(s::APP_VERSION.to_string(), version.clone());
                    }
                    let what = if version.is_empty() { platform } else { format!("{platform} {version}") };
                    (None, format!("release {what}: {}", field(3)))
                }
                "marketing.csv" => {
                    let channel = field(2);
                    if !channel.is_empty() && channel != "all" {
                        scope.insert(s::TRAFFIC_SOURCE.to_string(), channel.clone());
                    }
                    (parse_time(&field(1)), format!("campaign on {channel}: {}", field(3)))
                }
                _ => {
                    let system = field(1);
                    if let Some(dim) = dimension_of(&system, values) {
                        scope.insert(dim.to_string(), system.clone());
                    }
                    (None, format!("config {system}: {}", field(2)))
                }
            };
            events.push(Event { date, time: field(0), end, scope, description, source });
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).expect("a date")
    }

    fn terms(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(d, v)| (d.to_string(), v.to_string())).collect()
    }

    fn event(day: u32, scope: &[(&str, &str)], what: &str) -> Event {
        Event {
            date: date(day),
            time: date(day).to_string(),
            end: None,
            scope: terms(scope),
            description: what.into(),
            source: what.into(),
        }
    }

    fn onset(day: u32, width: u32) -> Onset {
        Onset {
            date: date(day),
            interval: [date(day), date(day + width)],
            level_before: 1.0,
            level_after: 0.6,
            evidence: 100.0,
            dispersion: 1.0,
            new_segment: false,
            until: None,
            // A clear series: each day away from the onset falls 20 log-likelihood units short.
            profile: (1..=28).map(|d| (date(d), 20.0 * (d as f64 - day as f64).abs())).collect(),
        }
    }

    #[test]
    fn the_release_of_the_broken_version_outranks_the_other_apps_and_a_global_change() {
        let core = terms(&[("app_version", "5.2.0")]);
        let segment = terms(&[("app_version", "5.2.0"), ("platform", "android")]);
        let events = vec![
            event(16, &[("platform", "ios"), ("app_version", "7.4.0")], "ios release"),
            // Two days before the onset (a latent defect), and scope exact.
            event(15, &[("platform", "android"), ("app_version", "5.2.0")], "android release"),
            event(17, &[], "pricing update for everyone"),
            event(19, &[("platform", "android")], "android hotfix after the onset"),
        ];
        let log = rank(&events, &core, &segment, Some(&onset(17, 0)));
        let order: Vec<&str> = log.events.iter().map(|e| e.event.description.as_str()).collect();
        // android release: 1 × 1/3; the global change: 0.25 × 1; ios: conflicts (0); the
        // hotfix: broader (0.5) × e^(−40).
        assert_eq!(
            order,
            [
                "android release",
                "pricing update for everyone",
                "android hotfix after the onset",
                "ios release"
            ]
        );
        assert_eq!(log.points_to.as_ref().map(|e| e.event.description.as_str()), Some("android release"));
        assert_eq!(log.events[3].scope_match, "conflicts");
        assert_eq!(log.events[2].time_match, "after onset");
    }

    #[test]
    fn nothing_is_pointed_to_when_every_event_conflicts_or_comes_after() {
        let segment = terms(&[("platform", "web")]);
        let events =
            vec![event(10, &[("platform", "ios")], "ios"), event(20, &[("platform", "web")], "late web")];
        let log = rank(&events, &segment, &segment, Some(&onset(12, 1)));
        assert!(log.points_to.is_none(), "{log:?}");
        assert!(log.verdict.starts_with("no logged change fits platform=web"), "{}", log.verdict);
    }

    #[test]
    fn without_an_onset_scope_alone_ranks() {
        let segment = terms(&[("country", "GB")]);
        let events = vec![event(3, &[], "global"), event(9, &[("country", "GB")], "GB payment change")];
        let log = rank(&events, &segment, &segment, None);
        assert_eq!(log.events[0].event.description, "GB payment change");
        assert_eq!(log.events[0].time_match, "not checked");
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.csv");
        std::fs::write(&path, text).expect("writes");
        (dir, path)
    }

    #[test]
    fn an_events_file_is_read_with_times_scopes_and_ends() {
        let dims = vec!["platform".to_string(), "country".to_string()];
        let (_dir, path) = write(
            "time,scope,description,owner\n2026-03-17 14:05,platform=android,\"release 5.2.0, staged\",ana\n2026-03-18,,flag flip,bo\n",
        );
        let events = read_events_file(&path, &dims).expect("reads");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].date, date(17));
        assert_eq!(events[0].scope, terms(&[("platform", "android")]));
        assert_eq!(events[0].description, "release 5.2.0, staged");
        assert!(events[1].scope.is_empty());
        assert!(events[1].source.ends_with(":3"), "{}", events[1].source);
    }

    #[test]
    fn bad_events_files_say_where_and_how_to_fix() {
        let dims = vec!["platform".to_string()];
        let error = |text: &str| read_events_file(&write(text).1, &dims).expect_err("rejected").to_string();
        assert!(error("when,description\n2026-03-01,x\n").contains("no 'time' or 'date' column"));
        let e = error("date,description\n2026-03-01,x\n2026-13-01,y\n");
        assert!(e.contains("line 3") && e.contains("'2026-13-01'"), "{e}");
        let e = error("date,scope,description\n2026-03-01,platfrom=ios,x\n");
        assert!(e.contains("line 2") && e.contains("did you mean 'platform'"), "{e}");
        let e = error("date,scope,description\n2026-03-01,ios,x\n");
        assert!(e.contains("not dim=value"), "{e}");
        assert!(error("date,description\n2026-03-01,\n").contains("description is empty"));
        assert!(error("date,description\n").contains("no events"));
        let e = error("date,end,description\n2026-03-05,2026-03-01,x\n");
        assert!(e.contains("before the time"), "{e}");
    }
}
