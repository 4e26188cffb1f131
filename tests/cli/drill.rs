//! `dropcase drill ...` end to end: for every cause family in the catalogue, start a drill
//! with a fixed seed, investigate like a good analyst, answer with the truth (full marks),
//! and check the look-alike earns only partial marks and an answer before any query shows
//! the process deduction. Also: the sealed answer is not readable, and bad input is refused.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use dropcase::drill::Drill;
use dropcase::scenario::{Family, catalogue};

use crate::support::{Sandbox, json_of};

const SESSIONS: &str = "400000";

fn start(sandbox: &Sandbox, scenario: &str, seed: &str, dir: &str) {
    sandbox
        .cmd(&[
            "drill",
            "start",
            "--scenario",
            scenario,
            "--seed",
            seed,
            "--sessions",
            SESSIONS,
            "--dir",
            dir,
        ])
        .assert()
        .success();
}

fn answer_args(truth: &dropcase::generate::Truth, family: Family) -> Vec<String> {
    let mut args = vec!["drill".to_string(), "answer".into()];
    let mut cause = truth.causes().remove(0);
    cause.family = family;
    args.extend(cause_args(&cause));
    args.extend(["--format".into(), "json".into()]);
    args
}

/// `--cause FAMILY [--where ...] [--stage ...] --start DATE` for one cause.
fn cause_args(cause: &dropcase::generate::truth::CauseTruth) -> Vec<String> {
    let mut args = vec!["--cause".to_string(), cause.family.name().into()];
    if !cause.segment.is_empty() {
        let terms: Vec<String> = cause.segment.iter().map(|(k, v)| format!("{k}={v}")).collect();
        args.extend(["--where".into(), terms.join(",")]);
    }
    if let Some(stage) = cause.stage {
        args.extend(["--stage".into(), stage.name().into()]);
    }
    args.extend(["--start".into(), cause.start.format("%Y-%m-%d").to_string()]);
    args
}

/// The truth's full answer: every cause as above (a case with two names both), with the
/// impact the grader holds (the causes' summed), and the best action and a metric that
/// confirms the fix of the cause that costs the most.
fn full_answer_args(truth: &dropcase::generate::Truth) -> Vec<String> {
    let causes = truth.causes();
    let mut args = vec!["drill".to_string(), "answer".into()];
    for cause in &causes {
        args.extend(cause_args(cause));
    }
    let impact: f64 = causes.iter().map(|c| c.impact.expect("sealed impact")).sum();
    let costliest =
        causes.iter().max_by(|a, b| a.impact.unwrap().abs().total_cmp(&b.impact.unwrap().abs())).unwrap();
    args.extend(["--impact".into(), format!("{impact:.1}")]);
    args.extend(["--action".into(), costliest.family.actions()[0].name().into()]);
    args.extend(["--monitor".into(), costliest.family.monitors()[0].into()]);
    args.extend(["--format".into(), "json".into()]);
    args
}

/// The framework path: the definition, the second source before any cut, the funnel, a
/// cut, and the cause's own evidence command.
fn framework(sandbox: &Sandbox, truth: &dropcase::generate::Truth) {
    sandbox.cmd(&["drill", "ask", "definition"]).assert().success();
    investigate(sandbox);
    let evidence = truth.evidence_command.split('(').next().unwrap().trim();
    let words: Vec<&str> = evidence.split_whitespace().skip(1).collect();
    // Not asserted: one family's evidence command cuts the orders by a dimension they lack
    // (tracking_loss by app_version), a fault of the reveal's text noted in the report; the
    // answer then loses the evidence line only.
    let _ = sandbox.cmd(&words).output();
}

fn score(sandbox: &Sandbox, args: &[String]) -> Value {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sandbox.cmd(&refs).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("answer prints JSON")
}

fn investigate(sandbox: &Sandbox) {
    for query in [
        vec!["query", "trend", "--metric", "backend_conversion", "--grain", "day"],
        vec!["query", "funnel"],
        vec!["query", "compare", "--by", "platform"],
    ] {
        sandbox.cmd(&query).assert().success();
    }
}

#[test]
fn every_family_full_marks_for_the_truth_partial_for_the_lookalike() {
    let scenarios = catalogue::all().expect("catalogue parses");
    for scenario in scenarios.iter().filter(|s| s.kind == dropcase::scenario::Kind::Drop) {
        let sandbox = Sandbox::new();
        start(&sandbox, &scenario.name, "11", "d");
        let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
        framework(&sandbox, &truth);
        let graded = score(&sandbox, &full_answer_args(&truth));
        // The must-hold of #17: the truth, its impact and action after the framework path.
        assert!(graded["score"].as_f64().unwrap() >= 95.0, "{}: {graded}", scenario.name);
        assert!(graded["breakdown"].as_array().unwrap().len() >= 12);

        // The same case again, answered with the look-alike family (where it is one we know).
        if let Some(lookalike) = Family::parse(truth.family.lookalike()) {
            let sandbox = Sandbox::new();
            start(&sandbox, &scenario.name, "11", "d");
            investigate(&sandbox);
            let graded = score(&sandbox, &answer_args(&truth, lookalike));
            let points = graded["score"].as_f64().unwrap();
            assert!(
                points > 0.0 && points < 100.0,
                "{}: look-alike {lookalike} scored {points}",
                scenario.name
            );
        }
    }
}

#[test]
fn answering_before_any_query_shows_the_process_deduction() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_release_bug", "5", "d");
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    let graded = score(&sandbox, &answer_args(&truth, truth.family));
    // The cause's content only (25 + 10 + 5 + 5): no impact, action, monitor or path.
    assert_eq!(graded["score"], 45.0, "{graded}");
    let breakdown = graded["breakdown"].as_array().unwrap();
    let investigation = breakdown.iter().find(|c| c["component"] == "investigation").unwrap();
    assert_eq!(investigation["earned"], 0.0);
}

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

#[test]
fn the_sealed_answer_is_not_readable_in_any_file() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_tracking_loss", "3", "d");
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    for path in files_under(&sandbox.join("d")) {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [truth.family.name(), "app_tracking_loss", "Purchases vanish"] {
            assert!(!text.contains(secret), "{} reveals {secret}", path.display());
        }
    }
    // The folder name and the printed brief do not give it away either.
    let out = sandbox.cmd(&["drill", "status"]).assert().success().get_output().stdout.clone();
    assert!(!String::from_utf8_lossy(&out).contains("tracking_loss"));
}

#[test]
fn random_drills_replay_from_their_seed() {
    let sandbox = Sandbox::new();
    let first = sandbox
        .cmd(&["drill", "start", "--seed", "99", "--sessions", SESSIONS, "--dir", "a"])
        .assert()
        .success();
    let prompt_a = String::from_utf8_lossy(&first.get_output().stdout).lines().nth(2).unwrap().to_string();
    let again = sandbox
        .cmd(&["drill", "start", "--seed", "99", "--sessions", SESSIONS, "--dir", "b"])
        .assert()
        .success();
    let prompt_b = String::from_utf8_lossy(&again.get_output().stdout).lines().nth(2).unwrap().to_string();
    assert_eq!(prompt_a, prompt_b);
    assert_eq!(
        std::fs::read(sandbox.join("a/sessions.parquet")).unwrap(),
        std::fs::read(sandbox.join("b/sessions.parquet")).unwrap()
    );
}

#[test]
fn bad_answers_get_clear_messages() {
    let sandbox = Sandbox::new();
    // No drill at all.
    sandbox
        .cmd(&["drill", "answer", "--cause", "release_bug"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no current drill"));
    start(&sandbox, "web_browser_bug", "2", "d");
    sandbox
        .cmd(&["drill", "answer", "--cause", "relase_bug"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean 'release_bug'"));
    sandbox
        .cmd(&["drill", "answer", "--cause", "browser_bug", "--where", "browser=safary"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean 'safari'"));
    sandbox
        .cmd(&["drill", "answer", "--cause", "browser_bug", "--stage", "payment"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a funnel stage"));
    sandbox
        .cmd(&["drill", "answer", "--cause", "browser_bug", "--start", "2020-01-01"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("outside the data"));
    sandbox.cmd(&["drill", "reveal"]).assert().success();
    sandbox
        .cmd(&["drill", "answer", "--cause", "browser_bug"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already revealed"));
    sandbox.cmd(&["drill", "hint"]).assert().code(1);
}

#[test]
fn hints_are_staged_and_cost_points() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_release_bug", "8", "d");
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    let mut texts = Vec::new();
    for _ in 0..6 {
        let out = sandbox
            .cmd(&["drill", "hint", "--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let hint: Value = serde_json::from_slice(&out).unwrap();
        texts.push(hint["hint"].as_str().unwrap().to_string());
    }
    // Only the last stage names the family.
    assert!(texts[..5].iter().all(|t| !t.contains(truth.family.name())), "{texts:?}");
    assert!(texts[5].contains(truth.family.name()));
    // The segment hint follows the diagnose engine's reading: the new app version.
    assert!(texts[3].contains("cut by `app_version`"), "{}", texts[3]);
    sandbox.cmd(&["drill", "hint"]).assert().code(1).stderr(predicate::str::contains("no hints left"));
    let graded = score(&sandbox, &answer_args(&truth, truth.family));
    // The cause's content (45) less 2 + 4 + 5 + 8 + 8 + 15 = 42 points of hints; no impact,
    // action, monitor or path.
    assert_eq!(graded["score"], 45.0 - 42.0);
    let log =
        sandbox.cmd(&["drill", "log", "--format", "json"]).assert().success().get_output().stdout.clone();
    let log: Value = serde_json::from_slice(&log).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 7, "6 hints and the answer: {log}");
    // The reveal carries the engine's reading, which agrees with the truth here.
    let revealed = json_of(&mut sandbox.cmd(&["drill", "reveal", "--format", "json"]));
    let engine = &revealed["engine"];
    assert_eq!(engine["kind"], "localised", "{revealed}");
    assert_eq!(engine["agrees"], true, "{revealed}");
    assert_eq!(engine["root_causes"][0]["terms"]["app_version"], truth.segment["app_version"]);
}

/// Issue #13: in a holiday_hangover case hint 4 said the platforms "moved very differently"
/// while the reveal says every segment fell alike. The segment hint now tests for equal
/// changes: alike in the holiday case (three seeds), very different for a release bug.
#[test]
fn the_segment_hint_agrees_with_a_drop_that_hit_everyone_alike() {
    let sandbox = Sandbox::new();
    for seed in ["1", "2", "3"] {
        let dir = format!("holiday{seed}");
        start(&sandbox, "post_holiday_week", seed, &dir);
        let drill = Drill::open(Some(&sandbox.join(&dir))).unwrap();
        let truth = drill.truth().unwrap();
        assert!(truth.segment.is_empty(), "the holiday hits everyone: {:?}", truth.segment);
        let text = dropcase::drill::hint::hint(&drill.dir, &drill.brief, &truth, 3).unwrap();
        assert!(text.contains("moved alike") && !text.contains("differently"), "seed {seed}: {text}");
    }
    start(&sandbox, "app_release_bug", "8", "bug");
    let drill = Drill::open(Some(&sandbox.join("bug"))).unwrap();
    let text = dropcase::drill::hint::hint(&drill.dir, &drill.brief, &drill.truth().unwrap(), 3).unwrap();
    assert!(text.contains("moved very differently"), "{text}");
}

/// Issue #13: `drill log` was about 300 columns wide. At 80 its commands wrap at spaces
/// (no word split) and the time stays.
#[test]
fn the_log_fits_80_columns() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_release_bug", "8", "d");
    let long = [
        "query",
        "compare",
        "--by",
        "platform,app_version",
        "--metric",
        "conversion",
        "--where",
        "country=US|DE|FR,traffic_source!=email",
        "--top",
        "5",
    ];
    sandbox.cmd(&long).assert().success();
    sandbox.cmd(&["query", "funnel", "--by", "platform"]).assert().success();
    let out = sandbox.cmd(&["drill", "log"]).env("COLUMNS", "80").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(text.contains("time (UTC)") && !text.contains("left out"), "{text}");
    for word in ["platform,app_version", "country=US|DE|FR,traffic_source!=email", "--by"] {
        assert!(text.contains(word), "{word} is whole in\n{text}");
    }
}

/// Issue #13: every table-printing command of a drill fits an 80-column terminal.
#[test]
fn every_drill_command_fits_80_columns() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_release_bug", "8", "d");
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    // The answer as a table, not JSON.
    let answer: Vec<String> =
        answer_args(&truth, truth.family).into_iter().filter(|a| a != "--format" && a != "json").collect();
    let mut commands: Vec<Vec<String>> = [
        &["query", "funnel"][..],
        &["query", "funnel", "--by", "platform"],
        &["query", "compare", "--by", "platform"],
        &["query", "compare", "--by", "platform,app_version"],
        &["query", "compare", "--by", "app_version,country"],
        &["query", "compare"],
        &["query", "trend", "--metric", "conversion", "--by", "platform"],
        &["diagnose"],
        &["metrics"],
        &["scenarios", "list"],
        &["drill", "status"],
        &["drill", "hint"],
        &["drill", "hint"],
        &["drill", "hint"],
        &["drill", "hint"],
        &["drill", "hint"],
        &["drill", "hint"],
        &["drill", "log"],
    ]
    .iter()
    .map(|args| args.iter().map(|a| a.to_string()).collect())
    .collect();
    commands.push(answer);
    commands.push(vec!["drill".into(), "reveal".into()]);
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sandbox.cmd(&args).env("COLUMNS", "80").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= 80, "{args:?} is {widest} columns wide:\n{text}");
    }
}

#[test]
fn two_causes_each_take_their_own_flags_and_ambiguous_forms_are_refused() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_release_bug", "5", "d");
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    let start_day = truth.start.format("%Y-%m-%d").to_string();
    // A flag before the first of several causes belongs to neither.
    sandbox
        .cmd(&[
            "drill",
            "answer",
            "--stage",
            "purchase",
            "--cause",
            "release_bug",
            "--cause",
            "tracking_loss",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("comes before any --cause"));
    // Two --where for one cause.
    sandbox
        .cmd(&[
            "drill",
            "answer",
            "--cause",
            "release_bug",
            "--where",
            "platform=ios",
            "--where",
            "platform=web",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--where is given twice for cause 1 (release_bug)"));
    sandbox
        .cmd(&["drill", "answer", "--cause", "release_bug", "--action", "reboot"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--action 'reboot' is not an action"));
    // Two causes, each with its own flags: the true one is matched whichever comes first,
    // the other costs as a cause that did not happen.
    let terms: Vec<String> = truth.segment.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let joined = terms.join(",");
    let graded = score(
        &sandbox,
        &[
            "drill",
            "answer",
            "--cause",
            "tracking_loss",
            "--where",
            "platform=web",
            "--stage",
            "purchase",
            "--cause",
            "release_bug",
            "--where",
            &joined,
            "--stage",
            "purchase",
            "--start",
            &start_day,
            "--format",
            "json",
        ]
        .map(String::from),
    );
    let breakdown = graded["breakdown"].as_array().unwrap();
    let cause = breakdown.iter().find(|c| c["component"] == "cause").unwrap();
    assert_eq!(cause["earned"], 25.0, "{graded}");
    let extra = breakdown.iter().find(|c| c["component"] == "extra causes").unwrap();
    assert_eq!(extra["earned"], -5.0, "{graded}");
    let reveal = json_of(&mut sandbox.cmd(&["drill", "reveal", "--format", "json"]));
    let causes = reveal["truth"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1);
    for key in ["family", "where", "stage", "start", "explanation", "evidence_command", "impact", "actions"] {
        assert!(causes[0].get(key).is_some(), "{key}: {reveal}");
    }
    assert_eq!(reveal["truth"]["actions"][0], "rollback");
}

#[test]
fn ask_answers_from_the_case_and_never_names_the_cause() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_tracking_loss", "3", "d");
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    for topic in [
        "definition",
        "window",
        "platforms",
        "releases",
        "pipeline",
        "seasonality",
        "experiments",
        "marketing",
        "list",
    ] {
        let asked = json_of(&mut sandbox.cmd(&["drill", "ask", topic, "--format", "json"]));
        assert_eq!(asked["topic"], topic);
        let answer = asked["answer"].as_str().unwrap();
        assert!(!answer.is_empty());
        assert!(!answer.contains(truth.family.name()), "{topic}: {answer}");
    }
    let log = json_of(&mut sandbox.cmd(&["drill", "log", "--format", "json"]));
    let asks = log.as_array().unwrap().iter().filter(|e| e["parsed"]["kind"] == "drill ask").count();
    assert_eq!(asks, 9);
    sandbox.cmd(&["drill", "ask", "weather"]).assert().failure().stderr(predicate::str::contains("weather"));
}

#[test]
fn an_interview_shows_a_clock_and_ends_with_a_scorecard() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&[
            "drill",
            "start",
            "--scenario",
            "app_release_bug",
            "--seed",
            "5",
            "--sessions",
            SESSIONS,
            "--dir",
            "d",
            "--interview",
            "--minutes",
            "25",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Interview (25 minutes)")
                .and(predicate::str::contains("Walk me through")),
        );
    let status = json_of(&mut sandbox.cmd(&["drill", "status", "--format", "json"]));
    assert_eq!(status["interview"]["minutes_allowed"], 25);
    let truth = Drill::open(Some(&sandbox.join("d"))).unwrap().truth().unwrap();
    framework(&sandbox, &truth);
    let graded = score(&sandbox, &full_answer_args(&truth));
    let lines: Vec<&str> = graded["scorecard"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["words"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "structure",
            "data-quality instinct",
            "segmentation",
            "root cause",
            "impact",
            "recommendation",
            "communication"
        ]
    );
    assert!(graded["scorecard"]["ideal_path"].as_array().unwrap().len() >= 7);
    assert!(!graded["scorecard"]["your_path"].as_array().unwrap().is_empty());
    let history = json_of(&mut sandbox.cmd(&["drill", "history", "--drills", ".", "--format", "json"]));
    assert_eq!(history["drills"].as_array().unwrap().len(), 1, "{history}");
    assert!(history["habits"].as_array().unwrap().iter().any(|h| h["line"] == "impact"));
}

/// The start line of a one-cause answer whose start is `days` off the truth's.
fn start_line(sandbox: &Sandbox, dir: &str, days: i64) -> Value {
    let truth = Drill::open(Some(&sandbox.join(dir))).unwrap().truth().unwrap();
    let mut args = answer_args(&truth, truth.family);
    let at = args.iter().position(|a| a == "--start").unwrap() + 1;
    args[at] = (truth.start + chrono::Duration::days(days)).format("%Y-%m-%d").to_string();
    args.extend(["--dir".into(), dir.into()]);
    let grade = score(sandbox, &args);
    grade["breakdown"].as_array().unwrap().iter().find(|c| c["component"] == "start").unwrap().clone()
}

/// Issue #18: the start line's tolerance follows what the data can date. A crisp step (the
/// release bug as catalogued) keeps a day either side: two days late loses half the start
/// points. The same case with the bug growing over 6 days accepts a start up to the ramp's
/// midpoint, says why, and still halves a start three days early.
#[test]
fn the_start_tolerance_is_a_day_for_a_step_and_wider_for_a_ramp() {
    let sandbox = Sandbox::new();
    start(&sandbox, "app_release_bug", "5", "step");
    let step = start_line(&sandbox, "step", 2);
    assert_eq!(step["earned"], 2.5, "{step}");
    assert!(step["why"].as_str().unwrap().contains("2 days off"), "{step}");
    start(&sandbox, "app_release_bug", "5", "step_on_time");
    let on_time = start_line(&sandbox, "step_on_time", 1);
    assert_eq!(on_time["earned"], 5.0, "{on_time}");
    assert_eq!(on_time["why"], "start date within a day");

    let text = dropcase::scenario::catalogue::EMBEDDED
        .iter()
        .find(|(name, _)| *name == "app_release_bug")
        .expect("in the catalogue")
        .1;
    std::fs::write(sandbox.join("ramp.toml"), format!("{}\nramp_days = 6\n", text.trim_end())).unwrap();
    for (dir, days, earned) in [("ramp", 3, 5.0), ("ramp_early", -3, 2.5)] {
        start(&sandbox, "ramp.toml", "5", dir);
        let line = start_line(&sandbox, dir, days);
        assert_eq!(line["earned"], earned, "{dir}: {line}");
        assert!(line["why"].as_str().unwrap().contains("grew over 6 days"), "{dir}: {line}");
    }
}
