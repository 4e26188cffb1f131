//! `dropcase exp ...` end to end: for every experiment family in the catalogue, start a
//! drill with a fixed seed, check its signature directly in the readout, run the checks a
//! good analyst would, decide correctly (full marks) — and in a second drill decide wrongly
//! (low marks). Also: the sealed truth is not readable, drop and experiment commands refuse
//! each other's folders, and bad input is refused with exit 1.

use predicates::prelude::*;
use serde_json::Value;

use dropcase::experiment::ExpFamily;
use dropcase::experiment::workspace::ExperimentDrill;
use dropcase::scenario::catalogue;

use crate::support::Sandbox;

const SEED: &str = "11";

fn json(sandbox: &Sandbox, args: &[&str]) -> Value {
    let out = sandbox.cmd(args).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{args:?} prints JSON: {e}"))
}

fn start(sandbox: &Sandbox, scenario: &str, dir: &str) {
    sandbox.cmd(&["exp", "start", "--scenario", scenario, "--seed", SEED, "--dir", dir]).assert().success();
}

fn metric<'a>(readout: &'a Value, name: &str) -> &'a Value {
    readout["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap_or_else(|| panic!("metric {name}"))
}

/// The family's signature, checked in the `ab` output a learner sees.
fn check_signature(sandbox: &Sandbox, family: ExpFamily, readout: &Value) {
    use ExpFamily::*;
    let primary = readout["metrics"].as_array().unwrap().iter().find(|m| m["role"] == "primary").unwrap();
    let p = primary["p_value"].as_f64().unwrap();
    let lift = primary["lift"].as_f64().unwrap();
    let srm_p = readout["srm"]["p_value"].as_f64().unwrap();
    if family != Srm {
        assert!(srm_p > 0.01, "{family}: unexpected SRM p = {srm_p}");
    }
    match family {
        TrueWin => assert!(p < 0.01 && lift > 0.0),
        TrueLoss => assert!(p < 0.01 && lift < 0.0),
        Flat => assert!(p > 0.05),
        Srm => {
            assert!(srm_p < 0.001, "srm p = {srm_p}");
            assert_eq!(readout["trustworthy"], false);
            assert_eq!(readout["srm"]["worst_segment"]["dimension"], "browser");
        }
        Novelty | Primacy => {
            let daily = json(sandbox, &["ab", "daily", "--format", "json"]);
            let z = daily["trend_z"].as_f64().unwrap();
            assert!(if family == Novelty { z < -2.0 } else { z > 2.0 }, "{family}: trend z = {z}");
        }
        Peeking => {
            assert!(p < 0.05 && lift > 0.0);
            assert_eq!(readout["sample"]["complete"], false);
        }
        SimpsonRamp => {
            let seg = json(sandbox, &["ab", "segments", "--by", "phase", "--format", "json"]);
            assert!(seg["rows"].as_array().unwrap().iter().all(|r| r["lift"].as_f64().unwrap() > 0.0));
            assert!(!(p < 0.05 && lift > 0.0), "pooled should not show the win");
        }
        GuardrailRegression => {
            assert!(p < 0.05 && lift > 0.0);
            assert!(readout["metrics"].as_array().unwrap().iter().any(|m| m["regressed"] == true));
        }
        Heterogeneous => {
            let seg = json(sandbox, &["ab", "segments", "--by", "platform", "--format", "json"]);
            assert!(
                seg["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["p_value"].as_f64().unwrap() < 0.001 && r["lift"].as_f64().unwrap() < 0.0)
            );
        }
        Underpowered => {
            assert!(p > 0.05);
            assert!(primary["lift_ci"][1].as_f64().unwrap() >= 0.07);
        }
        MultipleMetrics => {
            let s = metric(readout, "sessions_per_user");
            assert!(s["p_value"].as_f64().unwrap() < 0.05 && s["p_adjusted"].as_f64().unwrap() > 0.05);
            assert!(p > 0.05);
        }
        HeavyTailOutlier => {
            let capped =
                json(sandbox, &["ab", "analyze", "--metric", "revenue_per_user_capped", "--format", "json"]);
            assert!(p < 0.05);
            assert!(metric(&capped, "revenue_per_user_capped")["p_value"].as_f64().unwrap() > 0.1);
        }
        Carryover => assert!(readout["pre_period"]["p_value"].as_f64().unwrap() < 0.001),
        TelemetryBias => {
            assert!(p < 0.05 && lift > 0.0);
            assert!(metric(readout, "server_conversion")["p_value"].as_f64().unwrap() > 0.2);
        }
    }
}

/// The full answer: the decision and reasons, and the metric, guardrails and ship rule the
/// case needs.
fn full_answer_args(truth: &dropcase::experiment::generate::ExperimentTruth) -> Vec<String> {
    let mut args = decision_args(&serde_json::to_value(truth).unwrap());
    let primary = truth.primary.expect("a new drill seals its primary");
    let guardrails: Vec<&str> = truth.guardrails.iter().map(|m| m.name()).collect();
    let mut rule = format!("ship if {primary} lift > 0 at 95% and no guardrail drops more than 1%");
    for check in &truth.criteria {
        rule.push_str(&format!(" and {}", check.example()));
    }
    args.extend(["--primary".into(), primary.name().into(), "--guardrail".into(), guardrails.join(",")]);
    args.extend(["--criteria".into(), rule]);
    args
}

fn decision_args(truth: &Value) -> Vec<String> {
    let mut args = vec!["exp".to_string(), "decide".into()];
    match truth["decision"].as_str().unwrap() {
        "ship_segment" => args.extend(["--ship-segment".into(), truth["segment"].as_str().unwrap().into()]),
        other => args.push(format!("--{}", other.replace('_', "-"))),
    }
    let reasons: Vec<&str> =
        truth["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    args.extend(["--reason".into(), reasons.join(","), "--format".into(), "json".into()]);
    args
}

/// A confidently wrong call for each family.
fn wrong_args(family: ExpFamily) -> Vec<&'static str> {
    match family {
        ExpFamily::TrueWin | ExpFamily::SimpsonRamp => vec!["--dont-ship", "--reason", "no_effect"],
        _ => vec!["--ship", "--reason", "clear_win"],
    }
}

#[test]
fn every_experiment_family_full_marks_for_the_right_call_low_for_the_wrong_one() {
    let scenarios = catalogue::experiments().expect("catalogue parses");
    let families: std::collections::BTreeSet<ExpFamily> = scenarios.iter().map(|s| s.family).collect();
    assert_eq!(families.len(), ExpFamily::ALL.len(), "one scenario per family at least");
    for scenario in &scenarios {
        let sandbox = Sandbox::new();
        start(&sandbox, &scenario.name, "e");
        // The sealed truth is not readable in any file of the folder.
        for entry in std::fs::read_dir(sandbox.join("e")).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(scenario.family.name()), "{}: family visible in a file", scenario.name);
        }
        let readout = json(&sandbox, &["ab", "analyze", "--format", "json"]);
        sandbox.cmd(&["ab", "daily"]).assert().success();
        sandbox.cmd(&["ab", "segments", "--by", "platform"]).assert().success();
        check_signature(&sandbox, scenario.family, &readout);
        let truth = ExperimentDrill::open(Some(&sandbox.join("e"))).unwrap().truth().unwrap();
        assert_eq!(truth.family, scenario.family);
        let args = full_answer_args(&truth);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let grade = json(&sandbox, &refs);
        assert_eq!(grade["score"].as_f64().unwrap(), 100.0, "{}: {grade}", scenario.name);
        for c in grade["breakdown"].as_array().unwrap() {
            assert_eq!(c["earned"], c["possible"], "{}: {c}", scenario.name);
        }
        let revealed = json(&sandbox, &["exp", "reveal", "--format", "json"]);
        assert_eq!(revealed["truth"]["family"], scenario.family.name());
        assert!(revealed["truth"]["explanation"].as_str().unwrap().len() > 40);

        // A second drill of the same case, decided wrongly after the same checks.
        start(&sandbox, &scenario.name, "w");
        sandbox.cmd(&["ab", "analyze"]).assert().success();
        let mut wrong = vec!["exp", "decide"];
        wrong.extend(wrong_args(scenario.family));
        wrong.extend(["--format", "json"]);
        let grade = json(&sandbox, &wrong);
        assert!(grade["score"].as_f64().unwrap() <= 25.0, "{}: wrong call scored {grade}", scenario.name);
    }
}

#[test]
fn shipping_an_srm_case_gets_the_srm_explanation_and_skipping_srm_costs_process_points() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_payment_page_redesign", "e");
    sandbox.cmd(&["ab", "daily"]).assert().success();
    let grade = json(&sandbox, &["exp", "decide", "--ship", "--reason", "clear_win", "--format", "json"]);
    let breakdown = grade["breakdown"].as_array().unwrap();
    let decision = breakdown.iter().find(|c| c["component"] == "decision").unwrap();
    assert_eq!(decision["earned"], 0.0);
    assert!(decision["why"].as_str().unwrap().contains("SRM"), "{decision}");
    let srm = breakdown.iter().find(|c| c["component"] == "srm_checked_first").unwrap();
    assert_eq!(srm["earned"], 0.0);
}

#[test]
fn the_table_readout_opens_with_srm_and_warns_when_it_fails() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_payment_page_redesign", "e");
    sandbox
        .cmd(&["ab", "analyze"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Experiment readout"))
        .stdout(predicate::str::contains("1. Sample ratio"))
        .stdout(predicate::str::contains("SAMPLE RATIO MISMATCH"));
    // Commands are logged into the experiment drill.
    sandbox.cmd(&["exp", "log"]).assert().success().stdout(predicate::str::contains("dropcase ab analyze"));
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&["exp", "decide", "--ship", "--reason", "clear_win"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no current drill"));
    sandbox
        .cmd(&["exp", "decide", "--ship", "--reason", "clear_win", "--dir", "missing"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not an experiment drill folder"));
    start(&sandbox, "exp_one_click_checkout", "e");
    sandbox
        .cmd(&["exp", "decide", "--ship", "--reason", "because"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown reason 'because'"));
    sandbox
        .cmd(&["exp", "decide", "--ship-segment", "planet=mars", "--reason", "heterogeneous"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown dimension"));
    sandbox.cmd(&["exp", "decide", "--ship", "--dont-ship", "--reason", "srm"]).assert().code(2);
    sandbox.cmd(&["exp", "reveal"]).assert().success();
    sandbox
        .cmd(&["exp", "decide", "--ship", "--reason", "clear_win"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already revealed"));
    // Drop-drill commands refuse the experiment folder, and the other way round.
    sandbox
        .cmd(&["drill", "status"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is an experiment drill"));
    sandbox
        .cmd(&["exp", "start", "--scenario", "just_noise", "--seed", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("metric-drop scenario"));
}

#[test]
fn second_decision_is_refused() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_new_search_ranking", "e");
    sandbox.cmd(&["exp", "decide", "--dont-ship", "--reason", "no_effect"]).assert().success();
    sandbox
        .cmd(&["exp", "decide", "--ship", "--reason", "clear_win"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already decided"));
}

#[test]
fn same_seed_gives_the_same_data_and_scenarios_list_shows_experiments() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_homepage_carousel", "a");
    start(&sandbox, "exp_homepage_carousel", "b");
    for file in ["assignments.parquet", "outcomes.parquet", "drill.toml", "answer.sealed"] {
        assert_eq!(
            std::fs::read(sandbox.join("a").join(file)).unwrap(),
            std::fs::read(sandbox.join("b").join(file)).unwrap(),
            "{file}"
        );
    }
    let list = json(&sandbox, &["scenarios", "list", "--format", "json"]);
    let experiments: Vec<&Value> =
        list.as_array().unwrap().iter().filter(|e| e["kind"] == "experiment").collect();
    assert!(experiments.len() >= 15);
    assert!(experiments.iter().any(|e| e["family"][0] == "srm"));
}

#[test]
fn users_beyond_the_limit_are_refused_up_front() {
    // Issue #13: 99,999,999,999 users would be simulated in memory (hours, terabytes).
    let sandbox = Sandbox::new();
    for users in ["99999999999", "18446744073709551615", "10"] {
        let output = sandbox
            .cmd(&[
                "exp",
                "start",
                "--scenario",
                "exp_dark_mode",
                "--seed",
                "1",
                "--users",
                users,
                "--dir",
                "e",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{users}: {stderr}");
        assert!(stderr.contains(&format!("--users {users}")) && stderr.contains("2000..2000000"), "{stderr}");
        assert!(!sandbox.join("e").exists(), "nothing is written for a refused --users");
    }
}

/// Issue #13: `report` and `drill hint` after an `exp start` failed with no pointer to what
/// to run instead. They name the experiment drill and point to the `exp` commands and `--dir`.
#[test]
fn drop_commands_on_the_current_experiment_say_what_to_run_instead() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_payment_page_redesign", "e");
    for args in [&["drill", "hint"][..], &["report"][..], &["drill", "reveal"][..]] {
        let out = sandbox.cmd(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        for needle in ["the current drill", "is an experiment drill", "dropcase exp status|hint", "--dir DIR"]
        {
            assert!(stderr.contains(needle), "{args:?}: {needle:?} missing from {stderr}");
        }
    }
    assert!(!sandbox.join("report.html").exists(), "no report is written");
    let out = sandbox.cmd(&["report", "--dir", "e"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("--dir e is an experiment drill") && stderr.contains("`dropcase report`"),
        "{stderr}"
    );
}

/// Issue #13: `ab analyze` was 137 columns wide. At 80 it leaves out the test name (and
/// what else it must), says so, and wraps its sentences at spaces; piped it keeps all. The
/// other experiment commands fit too.
#[test]
fn the_readout_fits_80_columns() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_payment_page_redesign", "e");
    for args in [
        &["ab", "analyze"][..],
        &["ab", "daily"],
        &["ab", "segments", "--by", "platform"],
        &["exp", "status"],
        &["exp", "hint"],
        &["exp", "hint"],
        &["exp", "hint"],
        &["exp", "log"],
        &["exp", "decide", "--dont-ship", "--reason", "srm"],
        &["exp", "reveal"],
    ] {
        let out = sandbox.cmd(args).env("COLUMNS", "80").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= 80, "{args:?} is {widest} wide:\n{text}");
        if args[1] == "analyze" {
            assert!(text.contains("(left out to fit 80 columns: role, control, treatment, test;"), "{text}");
            assert!(text.contains("p (Holm)") && text.contains("lift (95% CI)"), "{text}");
            let piped = String::from_utf8(sandbox.cmd(args).output().unwrap().stdout).unwrap();
            assert!(piped.lines().any(|l| l.chars().count() > 80) && !piped.contains("left out"), "{piped}");
        }
    }
}

/// Issue #17: `exp decide --primary --guardrail --criteria`, graded against the case. An SRM
/// case needs the split check in the ship rule; the decision and reasons alone (the old
/// invocation) still grade, with the new lines missed.
#[test]
fn primary_guardrails_and_the_ship_rule_are_graded_against_the_case() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_payment_page_redesign", "e");
    sandbox.cmd(&["ab", "analyze"]).assert().success();
    let grade = json(
        &sandbox,
        &[
            "exp",
            "decide",
            "--fix-and-rerun",
            "--reason",
            "srm",
            "--primary",
            "conversion",
            "--guardrail",
            "aov",
            "--guardrail",
            "page_load_ms,refund_rate",
            "--criteria",
            "ship if conversion lift > 0 at 95% and no guardrail drops more than 1%",
            "--format",
            "json",
        ],
    );
    let line = |name: &str| {
        grade["breakdown"].as_array().unwrap().iter().find(|c| c["component"] == name).unwrap().clone()
    };
    assert_eq!(line("primary")["earned"], 5.0);
    assert_eq!(line("guardrails")["earned"], 5.0);
    // The rule misses the check this case needs: a third of the criteria points is lost.
    let criteria = line("criteria");
    let earned = criteria["earned"].as_f64().unwrap();
    assert!((earned - 10.0 * 2.0 / 3.0).abs() < 1e-9, "{criteria}");
    assert!(criteria["why"].as_str().unwrap().contains("srm passes"), "{criteria}");
    for c in grade["breakdown"].as_array().unwrap() {
        for key in ["component", "earned", "possible", "why"] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
    }
    // The reveal names what the case is judged on; the decision keeps what was committed to.
    let revealed = json(&sandbox, &["exp", "reveal", "--format", "json"]);
    assert_eq!(revealed["truth"]["primary"], "conversion");
    assert_eq!(revealed["truth"]["criteria"][0], "srm");
    assert_eq!(revealed["your_decision"]["primary"], "conversion");
    assert_eq!(revealed["your_decision"]["guardrails"].as_array().unwrap().len(), 3);

    // The old invocation: decision and reasons only.
    start(&sandbox, "exp_payment_page_redesign", "old");
    sandbox.cmd(&["ab", "analyze"]).assert().success();
    let grade = json(&sandbox, &["exp", "decide", "--fix-and-rerun", "--reason", "srm", "--format", "json"]);
    let breakdown = grade["breakdown"].as_array().unwrap();
    let missed: Vec<&str> = breakdown
        .iter()
        .filter(|c| c["earned"] == 0.0 && c["possible"].as_f64().unwrap() > 0.0)
        .map(|c| c["component"].as_str().unwrap())
        .collect();
    assert_eq!(missed, ["primary", "guardrails", "criteria", "daily_trend", "segments"], "{grade}");
    assert_eq!(grade["score"].as_f64().unwrap(), 70.0, "{grade}");
}

#[test]
fn unreadable_primary_guardrail_or_criteria_is_refused_with_examples() {
    let sandbox = Sandbox::new();
    start(&sandbox, "exp_one_click_checkout", "e");
    let refused = |extra: &[&str], needles: &[&str]| {
        let mut args = vec!["exp", "decide", "--ship", "--reason", "clear_win"];
        args.extend(extra);
        let out = sandbox.cmd(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{extra:?}: {n:?} missing from {stderr}");
        }
    };
    refused(
        &["--primary", "convresion"],
        &["--primary", "unknown metric 'convresion'", "did you mean 'conversion'"],
    );
    refused(&["--guardrail", "aov,latency"], &["--guardrail", "unknown metric 'latency'"]);
    refused(
        &["--criteria", "ship when it looks good"],
        &["--criteria: cannot read", "it looks good", "no guardrail drops more than 1%", "srm passes"],
    );
    refused(&["--criteria", "conversion lift > 2"], &["write a percentage, e.g. 2%"]);
    // Nothing was recorded: the right decision can still be made.
    sandbox.cmd(&["exp", "decide", "--ship", "--reason", "clear_win"]).assert().success();
}
