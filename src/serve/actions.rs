//! Each action of the drill and experiment pages as the command a terminal user would type:
//! the form's (or the JSON body's) fields become flags, the drill's folder becomes `--data`
//! or `--dir`. The command then runs, is checked and is logged as if typed, so the fields
//! documented for `/api/` are the CLI's flags by name.

use super::app::{DrillRef, Kind, field, push_flag};
use super::http::Fields;

#[derive(Debug, PartialEq)]
pub enum BadAction {
    /// No such action on this kind of page.
    Unknown,
    /// The form cannot become a command (the message says what to fill in).
    Input(String),
}

/// Every value of a field that may repeat or be comma-separated, trimmed, empty ones left out.
fn values(fields: &Fields, name: &str) -> Vec<String> {
    fields
        .get(name)
        .map(|vs| {
            vs.iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Lines of a multi-line field (each `--where` filter on its own line, or repeated).
fn lines(fields: &Fields, name: &str) -> Vec<String> {
    fields
        .get(name)
        .map(|vs| {
            vs.iter()
                .flat_map(|v| v.lines())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn flag(words: &mut Vec<String>, fields: &Fields, name: &str) {
    if let Some(value) = field(fields, name) {
        push_flag(words, name, value);
    }
}

fn list_flag(words: &mut Vec<String>, fields: &Fields, name: &str) {
    let list = values(fields, name);
    if !list.is_empty() {
        push_flag(words, name, &list.join(","));
    }
}

fn each_line(words: &mut Vec<String>, fields: &Fields, name: &str) {
    for line in lines(fields, name) {
        push_flag(words, name, &line);
    }
}

/// The answer's segment: `where` as typed (`platform=android,app_version=5.2.0`) and the
/// pickers `where_DIM` (one value each), joined.
fn answer_segment(fields: &Fields) -> Option<String> {
    let mut terms: Vec<String> = values(fields, "where");
    // The pickers are named by the drill's product's dimensions (`where_platform`, ...).
    for key in fields.keys() {
        let Some(dim) = key.strip_prefix("where_") else { continue };
        if let Some(value) = field(fields, key) {
            terms.push(format!("{dim}={value}"));
        }
    }
    (!terms.is_empty()).then(|| terms.join(","))
}

/// The command for `action` on `drill`; `json` asks for `--format json` (the API).
pub fn words(drill: &DrillRef, action: &str, fields: &Fields, json: bool) -> Result<Vec<String>, BadAction> {
    let dir = drill.dir.display().to_string();
    let mut words: Vec<String> = Vec::new();
    let mut data = true;
    match (drill.kind, action) {
        (Kind::Drop, "compare") => {
            words.extend(["query".into(), "compare".into()]);
            list_flag(&mut words, fields, "by");
            flag(&mut words, fields, "metric");
            each_line(&mut words, fields, "where");
            for name in ["baseline", "current", "top"] {
                flag(&mut words, fields, name);
            }
        }
        (Kind::Drop, "trend") => {
            words.extend(["query".into(), "trend".into()]);
            let metric = field(fields, "metric").ok_or_else(|| {
                BadAction::Input("the trend needs a metric: pick one (e.g. conversion)".into())
            })?;
            push_flag(&mut words, "metric", metric);
            list_flag(&mut words, fields, "by");
            flag(&mut words, fields, "grain");
            each_line(&mut words, fields, "where");
            flag(&mut words, fields, "window");
        }
        (Kind::Drop, "funnel") => {
            words.extend(["query".into(), "funnel".into()]);
            list_flag(&mut words, fields, "by");
            each_line(&mut words, fields, "where");
            flag(&mut words, fields, "baseline");
            flag(&mut words, fields, "current");
        }
        (Kind::Drop, "sql") => {
            let query = field(fields, "query").ok_or_else(|| {
                BadAction::Input("write an SQL query first, e.g. SELECT platform, COUNT(*) FROM sessions GROUP BY platform".into())
            })?;
            words.push("sql".into());
            flag(&mut words, fields, "limit");
            push_flag(&mut words, "data", &dir);
            if json {
                words.extend(["--format".into(), "json".into()]);
            }
            // After `--`, a query that starts with `-` (an SQL comment) stays the query.
            words.extend(["--".into(), query.to_string()]);
            return Ok(words);
        }
        (Kind::Drop, "diagnose") => {
            words.push("diagnose".into());
            flag(&mut words, fields, "metric");
        }
        (Kind::Drop, "hint") => {
            words.extend(["drill".into(), "hint".into()]);
            data = false;
        }
        (Kind::Drop, "answer") => {
            words.extend(["drill".into(), "answer".into()]);
            let Some(cause) = field(fields, "cause") else {
                return Err(BadAction::Input(format!(
                    "--cause is required (one of: {})",
                    crate::scenario::Family::names().join(", ")
                )));
            };
            push_flag(&mut words, "cause", cause);
            if let Some(segment) = answer_segment(fields) {
                push_flag(&mut words, "where", &segment);
            }
            for name in ["stage", "start", "note"] {
                flag(&mut words, fields, name);
            }
            data = false;
        }
        (Kind::Drop, "reveal") => {
            words.extend(["drill".into(), "reveal".into()]);
            data = false;
        }
        (Kind::Experiment, "analyze") => {
            words.extend(["ab".into(), "analyze".into()]);
            for metric in values(fields, "metric") {
                push_flag(&mut words, "metric", &metric);
            }
            flag(&mut words, fields, "by");
        }
        (Kind::Experiment, "daily") => {
            words.extend(["ab".into(), "daily".into()]);
            flag(&mut words, fields, "metric");
        }
        (Kind::Experiment, "segments") => {
            words.extend(["ab".into(), "segments".into()]);
            flag(&mut words, fields, "by");
            flag(&mut words, fields, "metric");
        }
        (Kind::Experiment, "hint") => {
            words.extend(["exp".into(), "hint".into()]);
            data = false;
        }
        (Kind::Experiment, "decide") => {
            words.extend(["exp".into(), "decide".into()]);
            match field(fields, "decision") {
                Some("ship-segment") => {
                    let segment = field(fields, "segment").ok_or_else(|| {
                        BadAction::Input(
                            "shipping to a segment needs the segment, e.g. platform=ios,web".into(),
                        )
                    })?;
                    push_flag(&mut words, "ship-segment", segment);
                }
                Some(d @ ("ship" | "dont-ship" | "extend" | "fix-and-rerun")) => words.push(format!("--{d}")),
                Some(other) => {
                    return Err(BadAction::Input(format!(
                        "decision '{other}' is not one of: ship, dont-ship, extend, fix-and-rerun, ship-segment"
                    )));
                }
                None => {
                    return Err(BadAction::Input(
                        "choose a decision: ship, dont-ship, extend, fix-and-rerun or ship-segment".into(),
                    ));
                }
            }
            let reasons = values(fields, "reason");
            if reasons.is_empty() {
                return Err(BadAction::Input("--reason: give at least one reason, e.g. --reason srm".into()));
            }
            push_flag(&mut words, "reason", &reasons.join(","));
            for name in ["primary", "guardrail", "criteria", "note"] {
                flag(&mut words, fields, name);
            }
            data = false;
        }
        (Kind::Experiment, "reveal") => {
            words.extend(["exp".into(), "reveal".into()]);
            data = false;
        }
        _ => return Err(BadAction::Unknown),
    }
    push_flag(&mut words, if data { "data" } else { "dir" }, &dir);
    if json {
        words.extend(["--format".into(), "json".into()]);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn drill(kind: Kind) -> DrillRef {
        DrillRef { kind, id: "7".into(), dir: PathBuf::from("/h/drills/7") }
    }

    fn form(pairs: &[(&str, &str)]) -> Fields {
        let mut fields = Fields::new();
        for (k, v) in pairs {
            fields.entry(k.to_string()).or_default().push(v.to_string());
        }
        fields
    }

    #[test]
    fn forms_become_the_commands_a_terminal_user_types() {
        let d = drill(Kind::Drop);
        let w = words(
            &d,
            "compare",
            &form(&[
                ("by", "platform"),
                ("by", "country"),
                ("metric", ""),
                ("where", "platform=ios\n\ncountry!=US"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            w.join(" "),
            "query compare --by platform,country --where platform=ios --where country!=US --data /h/drills/7"
        );
        let w = words(
            &d,
            "answer",
            &form(&[
                ("cause", "release_bug"),
                ("where_platform", "android"),
                ("where_app_version", "5.2.0"),
                ("stage", "purchase"),
                ("start", ""),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            w.join(" "),
            "drill answer --cause release_bug --where app_version=5.2.0,platform=android --stage purchase --dir /h/drills/7 --format json"
        );
        let w = words(&d, "sql", &form(&[("query", "-- hi\nSELECT 1")]), false).unwrap();
        assert_eq!(w, ["sql", "--data", "/h/drills/7", "--", "-- hi\nSELECT 1"]);
        // A value that starts with '-' can never read as a flag.
        let w = words(&d, "compare", &form(&[("metric", "--data")]), false).unwrap();
        assert!(w.contains(&"--metric=--data".to_string()), "{w:?}");
    }

    #[test]
    fn missing_input_and_unknown_actions_are_refused_with_the_cli_words() {
        let d = drill(Kind::Drop);
        let Err(BadAction::Input(message)) = words(&d, "answer", &form(&[]), false) else { panic!() };
        assert!(message.starts_with("--cause is required (one of: "), "{message}");
        assert_eq!(words(&d, "decide", &form(&[]), false), Err(BadAction::Unknown));
        assert_eq!(words(&drill(Kind::Experiment), "compare", &form(&[]), false), Err(BadAction::Unknown));
        let e = drill(Kind::Experiment);
        let w = words(
            &e,
            "decide",
            &form(&[("decision", "ship-segment"), ("segment", "platform=ios"), ("reason", "heterogeneous")]),
            false,
        )
        .unwrap();
        assert_eq!(
            w.join(" "),
            "exp decide --ship-segment platform=ios --reason heterogeneous --dir /h/drills/7"
        );
        // Issue #17: the metric, guardrails and ship rule go through as typed.
        let w = words(
            &e,
            "decide",
            &form(&[
                ("decision", "ship"),
                ("reason", "clear_win"),
                ("primary", "conversion"),
                ("guardrail", "aov,refund_rate"),
                ("criteria", "ship if conversion lift > 0 at 95%"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            w,
            "exp decide --ship --reason clear_win --primary conversion --guardrail aov,refund_rate --criteria"
                .split(' ')
                .chain(["ship if conversion lift > 0 at 95%", "--dir", "/h/drills/7"])
                .collect::<Vec<_>>()
        );
        let Err(BadAction::Input(message)) = words(&e, "decide", &form(&[("decision", "ship")]), false)
        else {
            panic!()
        };
        assert!(message.contains("--reason"), "{message}");
    }
}
