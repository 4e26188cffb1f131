//! Products other than the shop: the engagement app and the SaaS product end to end
//! (`drill start` → queries → `drill answer` → `drill reveal`), their metric registry and
//! the sealed answer.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Sandbox, json_of};

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn start(sandbox: &Sandbox, scenario: &str, seed: &str, dir: &str, rows: &str) -> Value {
    json_of(&mut sandbox.cmd(&[
        "drill",
        "start",
        "--scenario",
        scenario,
        "--seed",
        seed,
        "--sessions",
        rows,
        "--dir",
        dir,
        "--format",
        "json",
    ]))
}

/// `drill reveal --format json` of the drill in `dir` (a twin drill with the same seed).
fn reveal_json(sandbox: &Sandbox, dir: &str) -> Value {
    json_of(&mut sandbox.cmd(&[
        "drill",
        "reveal",
        "--dir",
        sandbox.join(dir).to_str().unwrap(),
        "--format",
        "json",
    ]))
}

/// The WAU drill of the engagement app: `query trend --metric wau` has a point per day,
/// `query compare --metric wau --by platform` gives the brief's headline, `metrics --data`
/// lists the product's metrics, the server's log counts as the second source, and answering
/// with the truth (impact, action and monitor included) scores full marks but the evidence
/// command and the hint.
#[test]
fn a_wau_drop_on_the_engagement_app_end_to_end() {
    let sandbox = Sandbox::new();
    let started = start(&sandbox, "wau_push_outage", "3", "d", "300000");
    let brief = &started["brief"];
    assert_eq!(brief["metric"], "wau");
    assert_eq!(brief["product"], "engagement_app");
    let d = sandbox.join("d");
    let data = d.to_str().unwrap();
    let metrics = json_of(&mut sandbox.cmd(&["metrics", "--data", data, "--format", "json"]));
    let names: Vec<&str> = metrics.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    for name in ["dau", "wau", "mau", "stickiness", "engagement_rate", "d1_retention", "d7_retention"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let trend = json_of(&mut sandbox.cmd(&["query", "trend", "--metric", "wau", "--format", "json"]));
    let points = trend["points"].as_array().unwrap();
    assert_eq!(points.len(), 56, "a point per day of the engagement app's 56-day period");
    assert!(points.iter().all(|p| p["value"].as_f64().unwrap() > 0.0));
    // The second source before any cut: the server's own log of events.
    sandbox.cmd(&["query", "trend", "--metric", "server_events"]).assert().success();
    let compare = json_of(
        &mut sandbox.cmd(&["query", "compare", "--metric", "wau", "--by", "platform", "--format", "json"]),
    );
    let platforms: Vec<&str> =
        compare["segments"].as_array().unwrap().iter().map(|s| s["platform"].as_str().unwrap()).collect();
    assert_eq!(platforms.len(), 3, "{platforms:?}");
    // The prompt's percentage is the compare's total change, to its one decimal.
    let change = compare["total"]["rel_change"].as_f64().unwrap();
    let prompt = brief["prompt"].as_str().unwrap();
    assert!(prompt.contains(&format!("fell {:.1}%", change.abs() * 100.0)), "{prompt} vs {change}");
    sandbox.cmd(&["query", "funnel"]).assert().success();
    // diagnose follows the product: the headline wau is a count of users, localised on the
    // rows' volume, and the server's log is the second source it checks first.
    let diagnosis = json_of(&mut sandbox.cmd(&["diagnose", "--format", "json"]));
    assert_eq!(diagnosis["metric"], "wau", "{diagnosis}");
    assert_eq!(diagnosis["product"], "engagement_app");
    assert_eq!(diagnosis["localised"], "volume");
    let checks = diagnosis["checks"].as_array().unwrap();
    let server = checks.iter().find(|c| c["name"] == "client vs server_events").expect("the second source");
    assert_eq!(server["status"], "ok", "{server}");
    let steps: Vec<&str> =
        diagnosis["funnel"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["open", "feed_view", "post_view", "engage"]);
    sandbox.cmd(&["diagnose", "--metric", "wua"]).assert().code(1).stderr(
        predicates::str::contains("did you mean 'wau'").and(predicates::str::contains("engagement_app")),
    );
    sandbox.cmd(&["drill", "hint"]).assert().success();
    // The same seed in another folder holds the same case: reveal there, answer here.
    start(&sandbox, "wau_push_outage", "3", "twin", "300000");
    let reveal = reveal_json(&sandbox, "twin");
    let truth = &reveal["truth"];
    assert_eq!(truth["family"], "notification_outage");
    // Push notifications bring returning users back: every row the outage touched is a
    // returning user's, and the truth says so.
    assert_eq!(truth["fingerprint"]["user_type"], "returning", "{truth}");
    assert_eq!(truth["causes"][0]["fingerprint"]["user_type"], "returning", "{truth}");
    // The reveal shows what diagnose reads in the same data, as it does for the shop.
    assert_eq!(reveal["engine"]["kind"], "localised", "{reveal}");
    assert_eq!(reveal["engine"]["agrees"], true, "{reveal}");
    // The engine's top cause is the truth's platform (returning users may be named too).
    let top = &diagnosis["root_causes"][0];
    for (dim, value) in truth["where"].as_object().unwrap() {
        assert_eq!(&top["terms"][dim], value, "{top} vs {truth}");
    }
    let graded = answer(&sandbox, truth, data);
    // 100 − 2 (one hint) − 5 (the family's evidence command, a compare of dau by
    // platform and user_type, was not run); the second source came before the cut.
    assert_eq!(graded["score"].as_f64().unwrap(), 93.0, "{graded}");
    let quality =
        graded["breakdown"].as_array().unwrap().iter().find(|c| c["component"] == "data quality first");
    assert_eq!(quality.unwrap()["earned"], 10.0, "{graded}");
}

fn answer(sandbox: &Sandbox, truth: &Value, dir: &str) -> Value {
    let mut args = vec![
        "drill".to_string(),
        "answer".into(),
        "--dir".into(),
        dir.into(),
        "--format".into(),
        "json".into(),
    ];
    // Every cause, each with its own segment, stage and start (one for a one-cause case).
    let causes = match truth["causes"].as_array() {
        Some(list) if !list.is_empty() => list.clone(),
        _ => vec![truth.clone()],
    };
    for cause in &causes {
        args.extend(["--cause".into(), cause["family"].as_str().unwrap().to_string()]);
        let segment: Vec<String> = cause["where"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        if !segment.is_empty() {
            args.extend(["--where".into(), segment.join(",")]);
        }
        if let Some(stage) = cause["stage"].as_str() {
            args.extend(["--stage".into(), stage.to_string()]);
        }
        args.extend(["--start".into(), cause["start"].as_str().unwrap().to_string()]);
    }
    // The full answer: the impact and the best action the truth holds, and the family's
    // first monitor that is a metric of this product (from `scenarios families`).
    // The grader holds the causes' impacts summed.
    let impact: f64 = causes.iter().map(|c| c["impact"].as_f64().expect("impact sealed")).sum();
    args.extend(["--impact".into(), format!("{impact:.1}")]);
    // The grader asks for the action of the cause that costs the most.
    let costliest = causes
        .iter()
        .max_by(|a, b| a["impact"].as_f64().unwrap().abs().total_cmp(&b["impact"].as_f64().unwrap().abs()))
        .unwrap();
    let actions = if costliest["actions"].is_array() { &costliest["actions"] } else { &truth["actions"] };
    args.extend(["--action".into(), actions[0].as_str().expect("an action").to_string()]);
    let metrics = json_of(&mut sandbox.cmd(&["metrics", "--data", dir, "--format", "json"]));
    let names: Vec<&str> = metrics.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    let families = json_of(&mut sandbox.cmd(&["scenarios", "families", "--format", "json"]));
    let family =
        families.as_array().unwrap().iter().find(|f| f["name"] == truth["family"]).expect("family listed");
    let monitor = family["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .find(|m| names.contains(m))
        .expect("a monitor of this product");
    args.extend(["--monitor".into(), monitor.to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    json_of(&mut sandbox.cmd(&refs))
}

/// For every drop scenario of every product and seeds 1–5 (the measure of #14): the drill
/// is solvable (generation succeeds), nothing in its folder names the cause before the
/// answer, and answering with the truth after a funnel and a compare scores at least 80.
/// The truth of a product other than the shop comes from `drill reveal --format json` of a
/// twin drill with the same seed; the shop's from the sealed truth the reveal prints (the
/// same struct, read through the library, to spare 165 twin drills).
#[test]
fn every_drop_scenario_scores_at_least_80_with_the_truth() {
    let sandbox = Sandbox::new();
    let list = json_of(&mut sandbox.cmd(&["scenarios", "list", "--format", "json"]));
    let scenarios: Vec<(String, Vec<String>, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "drop")
        .map(|e| {
            let families =
                e["family"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
            (e["name"].as_str().unwrap().to_string(), families, e["product"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(scenarios.len() >= 45, "{} drop scenarios", scenarios.len());
    let mut scores = Vec::new();
    for (name, families, product) in &scenarios {
        // A dimension every case of the product has, named without looking at the truth.
        let by = if product == "saas" { "browser" } else { "platform" };
        let rows = if product == "shop" { "400000" } else { "200000" };
        for seed in 1..=5 {
            let seed = seed.to_string();
            let dir = format!("{name}-{seed}");
            start(&sandbox, name, &seed, &dir, rows);
            let path = sandbox.join(&dir);
            for file in files_under(&path) {
                let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
                for secret in families.iter().chain([name]) {
                    assert!(!text.contains(secret.as_str()), "{} names {secret}", file.display());
                }
            }
            let data = path.to_str().unwrap().to_string();
            sandbox.cmd(&["query", "funnel", "--data", &data]).assert().success();
            sandbox.cmd(&["query", "compare", "--data", &data, "--by", by]).assert().success();
            let truth = if product == "shop" {
                let sealed = dropcase::drill::workspace::Drill::open(Some(&path)).unwrap().truth().unwrap();
                serde_json::to_value(&sealed).unwrap()
            } else {
                let twin = format!("{dir}-twin");
                start(&sandbox, name, &seed, &twin, rows);
                let reveal = reveal_json(&sandbox, &twin);
                reveal["truth"].clone()
            };
            let graded = answer(&sandbox, &truth, &data);
            let score = graded["score"].as_f64().unwrap();
            assert!(score >= 80.0, "{name} seed {seed}: {score} {graded}");
            scores.push(score);
        }
    }
    let low = scores.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!("{} drills answered with the truth: lowest score {low}", scores.len());
}

/// Two causes in one case of another product (issue 14, "a two-cause case gets credit per
/// cause"): the engagement app's slowdown on one platform and an SDK's lost events on the
/// other. The reveal lists both causes with their own segment and impact; an answer naming
/// one earns that cause's credit and none for the other; naming both earns both.
#[test]
fn a_two_cause_engagement_case_gets_credit_per_cause() {
    let sandbox = Sandbox::new();
    let cause_points = |graded: &Value| -> Vec<f64> {
        graded["breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["component"] == "cause")
            .map(|c| c["earned"].as_f64().unwrap())
            .collect()
    };
    start(&sandbox, "feed_slowdown_and_sdk_loss", "3", "twin", "200000");
    let reveal = reveal_json(&sandbox, "twin");
    let causes = reveal["truth"]["causes"].as_array().expect("causes").clone();
    let families: Vec<&str> = causes.iter().map(|c| c["family"].as_str().unwrap()).collect();
    assert_eq!(families, ["cdn_regression", "sdk_event_loss"], "{reveal}");
    assert_eq!(causes[0]["where"]["platform"], "android");
    assert_eq!(causes[1]["where"]["platform"], "ios");
    for cause in &causes {
        assert!(cause["impact"].as_f64().unwrap() > 0.0, "{cause}");
    }
    // One cause named: its credit, and nothing for the one missed.
    start(&sandbox, "feed_slowdown_and_sdk_loss", "3", "one", "200000");
    let one = sandbox.join("one");
    let first = &causes[0];
    let graded = json_of(&mut sandbox.cmd(&[
        "drill",
        "answer",
        "--dir",
        one.to_str().unwrap(),
        "--cause",
        "cdn_regression",
        "--where",
        "platform=android",
        "--start",
        first["start"].as_str().unwrap(),
        "--format",
        "json",
    ]));
    let points = cause_points(&graded);
    assert_eq!(points.len(), 2, "{graded}");
    assert!(points[0] > 0.0 && points[1] == 0.0, "{points:?} {graded}");
    // Both named: both credited.
    start(&sandbox, "feed_slowdown_and_sdk_loss", "3", "both", "200000");
    let both = sandbox.join("both");
    let graded = answer(&sandbox, &reveal["truth"], both.to_str().unwrap());
    let points = cause_points(&graded);
    assert!(points.len() == 2 && points.iter().all(|p| *p == points[0] && *p > 0.0), "{points:?} {graded}");
    assert!(graded["score"].as_f64().unwrap() > 70.0, "{graded}");
}
