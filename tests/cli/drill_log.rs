//! The drill log (issue 13): each command is logged as its parsed form into the drill it
//! ran on (`--data DIR`, `--data=DIR`, `--dir DIR` or the current drill), never into the
//! current drill when it ran on another path, and graded from the parsed fields, so a path
//! that contains `Users` or `orders` earns nothing. Old logs (command text only) still load.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Sandbox, json_of, tiny_drill};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn set_current(sb: &Sandbox, dir: &Path) {
    let home = sb.join(".dropcase-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("current"), dir.canonicalize().unwrap().display().to_string()).unwrap();
}

/// The drill's log as stored in its progress.json (empty when nothing was logged).
fn stored_log(dir: &Path) -> Vec<Value> {
    match std::fs::read_to_string(dir.join("progress.json")) {
        Ok(text) => serde_json::from_str::<Value>(&text).unwrap()["log"].as_array().unwrap().clone(),
        Err(_) => Vec::new(),
    }
}

/// Two small drill folders, the first the current drill.
fn two_drills(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let current = tiny_drill(sb);
    let other = sb.join("other-drill");
    copy_dir(&current, &other);
    set_current(sb, &current);
    (current, other)
}

#[test]
fn data_dir_in_any_spelling_logs_into_that_drill_not_the_current_one() {
    let sb = Sandbox::new();
    let (current, other) = two_drills(&sb);
    sb.cmd(&["query", "compare", "--by", "platform", "--data=other-drill"]).assert().success();
    sb.cmd(&["query", "funnel", "--data", "other-drill"]).assert().success();
    sb.cmd(&["sql", "SELECT COUNT(*) FROM orders", "--data=other-drill"]).assert().success();
    assert!(stored_log(&current).is_empty(), "logged into the current drill: {:?}", stored_log(&current));
    let log = stored_log(&other);
    assert_eq!(log.len(), 3, "{log:?}");
    let canonical = other.canonicalize().unwrap().display().to_string();
    for entry in &log {
        assert_eq!(entry["parsed"]["drill"], canonical.as_str(), "{entry}");
    }
    assert_eq!(log[0]["command"], "dropcase query compare --by platform --data=other-drill");
    assert_eq!(log[0]["parsed"]["kind"], "query compare");
    assert_eq!(log[0]["parsed"]["by"], serde_json::json!(["platform"]));
    assert_eq!(log[0]["parsed"]["metrics"], serde_json::json!(["conversion"]), "the brief's metric");
    assert_eq!(log[2]["parsed"]["kind"], "sql");
    assert_eq!(log[2]["parsed"]["tables"], serde_json::json!(["orders"]));

    // Without --data, the current drill.
    sb.cmd(&["query", "funnel"]).assert().success();
    assert_eq!(stored_log(&current).len(), 1);
    assert_eq!(stored_log(&other).len(), 3);
}

#[test]
fn a_command_on_a_path_that_is_not_a_drill_is_logged_nowhere() {
    let sb = Sandbox::new();
    let (current, other) = two_drills(&sb);
    let sessions = other.join("sessions.parquet");
    sb.cmd(&["query", "compare", "--by", "platform", "--data", sessions.to_str().unwrap()])
        .assert()
        .success();
    assert!(stored_log(&current).is_empty());
    assert!(stored_log(&other).is_empty());
}

fn start(sb: &Sandbox, dir: &str) {
    sb.cmd(&[
        "drill",
        "start",
        "--scenario",
        "app_release_bug",
        "--seed",
        "4",
        "--sessions",
        "20000",
        "--dir",
        dir,
    ])
    .assert()
    .success();
}

fn answer_truth(sb: &Sandbox, dir: &str) -> Value {
    let truth = dropcase::drill::Drill::open(Some(&sb.join(dir))).unwrap().truth().unwrap();
    let terms: Vec<String> = truth.segment.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let start = truth.start.format("%Y-%m-%d").to_string();
    let mut args = vec!["drill", "answer", "--cause", truth.family.name(), "--start", &start];
    let joined = terms.join(",");
    if !terms.is_empty() {
        args.extend(["--where", &joined]);
    }
    let stage = truth.stage.map(|s| s.name().to_string());
    if let Some(stage) = &stage {
        args.extend(["--stage", stage]);
    }
    args.extend(["--dir", dir, "--format", "json"]);
    json_of(&mut sb.cmd(&args))
}

fn quality_points(grade: &Value) -> f64 {
    grade["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "data quality first")
        .expect("a data-quality component")["earned"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_path_with_users_or_orders_in_it_earns_no_data_quality_points() {
    let sb = Sandbox::new();
    let dir = "Users/x/orders-analysis";
    start(&sb, dir);
    for query in [
        &["query", "funnel", "--data", dir][..],
        &["query", "compare", "--by", "platform", "--data", dir][..],
        &["query", "trend", "--metric", "conversion", "--data", dir][..],
        &["sql", "SELECT platform, COUNT(*) FROM sessions GROUP BY platform", "--data", dir][..],
    ] {
        sb.cmd(query).assert().success();
    }
    let grade = answer_truth(&sb, dir);
    assert_eq!(quality_points(&grade), 0.0, "{grade}");

    // The second source, by metric, earns the points.
    let sb = Sandbox::new();
    start(&sb, dir);
    sb.cmd(&["query", "trend", "--metric", "backend_conversion", "--data", dir]).assert().success();
    sb.cmd(&["query", "funnel", "--data", dir]).assert().success();
    sb.cmd(&["query", "compare", "--by", "platform", "--data", dir]).assert().success();
    let grade = answer_truth(&sb, dir);
    assert_eq!(quality_points(&grade), 10.0, "checked before cutting segments: {grade}");
}

#[test]
fn a_log_written_before_records_were_typed_still_loads_and_grades() {
    let sb = Sandbox::new();
    start(&sb, "d");
    let at = "2026-12-01T10:00:00Z";
    let old = serde_json::json!({
        "started_at": at,
        "hints": 0,
        "log": [
            {"at": at, "command": "dropcase query funnel"},
            {"at": at, "command": "dropcase query compare --by platform"},
            {"at": at, "command": "dropcase sql \"SELECT COUNT(*) FROM orders\""},
            {"at": at, "command": "dropcase query explode --by platform"},
            // A record this build cannot read (a kind from a newer version): rebuilt from the text.
            {"at": at, "command": "dropcase ab srm --counts 5,6", "parsed": {"kind": "ab teleport"}}
        ],
        "answer": null,
        "revealed": false
    });
    std::fs::write(sb.join("d/progress.json"), serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let status = json_of(&mut sb.cmd(&["drill", "status", "--format", "json"]));
    assert_eq!(status["commands"], 4, "three queries and the srm; the unparseable line counts for nothing");
    let log = json_of(&mut sb.cmd(&["drill", "log", "--format", "json"]));
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 5);
    assert_eq!(log[1]["command"], "dropcase query compare --by platform", "the text is kept");
    assert_eq!(log[1]["parsed"]["kind"], "query compare");
    assert_eq!(log[1]["parsed"]["legacy"], true);
    assert_eq!(log[2]["parsed"]["tables"], serde_json::json!(["orders"]));
    assert!(log[3].get("parsed").is_none(), "{}", log[3]);
    assert_eq!(log[4]["parsed"]["kind"], "ab srm");
    let grade = answer_truth(&sb, "d");
    // The old SQL on orders counts, though only after the segments were cut (partial).
    assert_eq!(quality_points(&grade), 6.0, "the old sql on orders counts: {grade}");
}

#[test]
fn report_reruns_a_command_logged_with_a_relative_data_path_from_another_folder() {
    let sb = Sandbox::new();
    start(&sb, "d");
    sb.cmd(&["query", "funnel", "--data=d"]).assert().success();
    let elsewhere = sb.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let dir = sb.join("d");
    sb.cmd(&["report", "--dir", dir.to_str().unwrap(), "--out", "r.html"])
        .current_dir(&elsewhere)
        .assert()
        .success();
    let html = std::fs::read_to_string(elsewhere.join("r.html")).unwrap();
    assert!(html.contains("dropcase query funnel --data=d"), "the command as typed");
    assert!(!html.contains("<pre class=\"error\">"), "the re-run failed:\n{html}");
    assert!(html.contains("<svg"), "the funnel chart was drawn");
}

#[test]
fn experiment_commands_log_into_the_experiment_they_read() {
    let sb = Sandbox::new();
    for dir in ["e1", "e2"] {
        sb.cmd(&["exp", "start", "--scenario", "exp_payment_page_redesign", "--seed", "4", "--dir", dir])
            .assert()
            .success();
    }
    // e2 is the current drill; these read e1.
    sb.cmd(&["ab", "analyze", "--data=e1", "--by", "platform"]).assert().success();
    sb.cmd(&["ab", "daily", "--data", "e1"]).assert().success();
    sb.cmd(&["exp", "hint", "--dir=e1"]).assert().success();
    assert!(stored_log(&sb.join("e2")).is_empty(), "{:?}", stored_log(&sb.join("e2")));
    let log = stored_log(&sb.join("e1"));
    let kinds: Vec<&str> = log.iter().map(|e| e["parsed"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ab analyze", "ab daily", "exp hint"]);
    assert_eq!(log[0]["parsed"]["by"], serde_json::json!(["platform"]));
    // The readout cut by platform and the daily lift count in the decision's process.
    let grade = json_of(&mut sb.cmd(&[
        "exp",
        "decide",
        "--dont-ship",
        "--reason",
        "srm",
        "--dir",
        "e1",
        "--format",
        "json",
    ]));
    for component in ["srm_checked_first", "daily_trend", "segments"] {
        let c = grade["breakdown"].as_array().unwrap().iter().find(|c| c["component"] == component).unwrap();
        assert!(c["earned"].as_f64().unwrap() > 0.0, "{component}: {grade}");
    }
}
