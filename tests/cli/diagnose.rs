//! `dropcase diagnose` on leaf table files: a planted cause is found; bad input is a clear
//! user error (exit 1).

use predicates::prelude::*;

use crate::support::{Sandbox, json_of};

/// A 4 × 3 × 2 grid where `country=DE & device=mobile` lost half its volume.
fn leaf_csv() -> String {
    let mut out = String::from("country,device,source,actual,expected\n");
    for country in ["US", "DE", "FR", "GB"] {
        for device in ["mobile", "desktop", "tablet"] {
            for source in ["ads", "seo"] {
                let expected = 1000.0;
                let actual = if country == "DE" && device == "mobile" { 500.0 } else { 1000.0 };
                out.push_str(&format!("{country},{device},{source},{actual},{expected}\n"));
            }
        }
    }
    out
}

#[test]
fn finds_a_planted_two_term_cause_in_a_leaf_file() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("leaves.csv"), leaf_csv()).unwrap();
    sb.cmd(&[
        "diagnose",
        "--leaves",
        "leaves.csv",
        "--actual",
        "actual",
        "--expected",
        "expected",
        "--format",
        "json",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("\"root_causes\""))
    .stdout(predicate::str::contains("\"country\": \"DE\""))
    .stdout(predicate::str::contains("\"device\": \"mobile\""))
    .stdout(predicate::str::contains("\"explanatory_power\""))
    .stdout(predicate::str::contains("\"contribution_interval\""))
    .stdout(predicate::str::contains("\"status\": \"finding\""));
}

#[test]
fn unknown_column_is_a_user_error_with_a_suggestion() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("leaves.csv"), leaf_csv()).unwrap();
    sb.cmd(&["diagnose", "--leaves", "leaves.csv", "--actual", "actul", "--expected", "expected"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--actual: no column 'actul'"))
        .stderr(predicate::str::contains("did you mean 'actual'"));
}

#[test]
fn empty_file_is_a_user_error() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("empty.csv"), "country,actual,expected\n").unwrap();
    sb.cmd(&["diagnose", "--leaves", "empty.csv", "--actual", "actual", "--expected", "expected"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no rows"));
}

#[test]
fn no_current_drill_is_a_user_error() {
    let sb = Sandbox::new();
    sb.cmd(&["diagnose"]).assert().code(1).stderr(predicate::str::contains("no current drill"));
}

/// A conversion rate per leaf: last week's purchases and sessions beside this week's. Every
/// leaf converts at 5% (sources differ in traffic, which shifts towards ads this week: mix,
/// not a rate change) except `country=FR & source=ads`, whose rate halves.
fn ratio_csv() -> String {
    let mut out = String::from("country,device,source,purchases,sessions,purchases_lw,sessions_lw\n");
    for country in ["US", "DE", "FR", "GB"] {
        for device in ["mobile", "desktop", "tablet"] {
            for source in ["ads", "seo"] {
                let (sessions_lw, sessions) =
                    if source == "ads" { (4000.0, 6000.0) } else { (6000.0, 4000.0) };
                let rate = if country == "FR" && source == "ads" { 0.025 } else { 0.05 };
                out.push_str(&format!(
                    "{country},{device},{source},{},{sessions},{},{sessions_lw}\n",
                    sessions * rate,
                    sessions_lw * 0.05
                ));
            }
        }
    }
    out
}

/// `dropcase diagnose` on `rates.csv` as a rate: numerator and denominator columns of the
/// actual and the expected value, then any extra arguments.
fn ratio_diagnose(sb: &Sandbox, [x, n, x0, n0]: [&str; 4], extra: &[&str]) -> assert_cmd::Command {
    let mut args = vec![
        "diagnose",
        "--leaves",
        "rates.csv",
        "--actual",
        x,
        "--actual-denominator",
        n,
        "--expected",
        x0,
        "--expected-denominator",
        n0,
    ];
    args.extend_from_slice(extra);
    sb.cmd(&args)
}

#[test]
fn a_ratio_metric_leaf_file_localises_the_rate_change_not_the_mix() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("rates.csv"), ratio_csv()).unwrap();
    let columns = ["purchases", "sessions", "purchases_lw", "sessions_lw"];
    let out = json_of(&mut ratio_diagnose(&sb, columns, &["--format", "json"]));
    let causes = out["root_causes"].as_array().expect("root_causes");
    assert_eq!(causes.len(), 1, "{out}");
    assert_eq!(causes[0]["terms"], serde_json::json!({"country": "FR", "source": "ads"}), "{out}");
    // Totals are rates: this week 6,000 purchases of 120,000 sessions, less the 450 FR ads lost.
    let actual = out["actual"].as_f64().unwrap();
    assert!((actual - (6000.0 - 3.0 * 6000.0 * 0.025) / 120_000.0).abs() < 1e-12, "{out}");
}

#[test]
fn a_numerator_above_its_denominator_is_a_user_error() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("rates.csv"), "country,x,n,x0,n0\nUS,12,10,5,10\n").unwrap();
    ratio_diagnose(&sb, ["x", "n", "x0", "n0"], &[])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("row 1 of rates.csv"))
        .stderr(predicate::str::contains("numerator exceeds its denominator: 'x' (--actual) is 12 but 'n'"));
}

#[test]
fn one_column_for_two_measures_is_a_user_error_naming_both_flags() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("rates.csv"), ratio_csv()).unwrap();
    ratio_diagnose(&sb, ["purchases", "sessions", "purchases_lw", "sessions"], &[]).assert().code(1).stderr(
        predicate::str::contains(
            "--actual-denominator and --expected-denominator both name column 'sessions'",
        ),
    );
}

/// A table with no third dimension: the one cell that moved is itself a leaf. It is named,
/// not widened to its country (whose other devices did not move).
#[test]
fn names_a_single_cell_of_a_two_dimension_table() {
    let sb = Sandbox::new();
    let mut csv = String::from("country,device,actual,expected\n");
    for country in ["US", "DE", "FR", "GB"] {
        for device in ["mobile", "desktop", "tablet"] {
            let actual = if country == "DE" && device == "mobile" { 500 } else { 1000 };
            csv.push_str(&format!("{country},{device},{actual},1000\n"));
        }
    }
    std::fs::write(sb.join("cells.csv"), csv).unwrap();
    let json = json_of(&mut sb.cmd(&[
        "diagnose",
        "--leaves",
        "cells.csv",
        "--actual",
        "actual",
        "--expected",
        "expected",
        "--format",
        "json",
    ]));
    let causes = json["root_causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{json}");
    assert_eq!(causes[0]["terms"], serde_json::json!({"country": "DE", "device": "mobile"}), "{json}");
}

/// Issue 18: `--events` on a leaf table ranks a log of changes by scope (no dates to match):
/// the change to German mobile first, the French one (another value of `country`) last.
#[test]
fn events_are_ranked_against_the_localised_cause() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("leaves.csv"), leaf_csv()).unwrap();
    std::fs::write(
        sb.join("events.csv"),
        "time,scope,description\n2026-03-10,country=FR,FR tax change\n2026-03-11 09:30,\"country=DE,device=mobile\",mobile checkout for Germany\n2026-03-12,,CDN change\n",
    )
    .unwrap();
    let args = ["diagnose", "--leaves", "leaves.csv", "--actual", "actual", "--expected", "expected"];
    let out = json_of(&mut sb.cmd(&[&args[..], &["--events", "events.csv", "--format", "json"]].concat()));
    let events = out["change_log"]["events"].as_array().expect("ranked events");
    let order: Vec<&str> = events.iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert_eq!(order, ["mobile checkout for Germany", "CDN change", "FR tax change"], "{out}");
    assert_eq!(events[0]["scope_match"], "exact");
    assert_eq!(events[2]["scope_match"], "conflicts");
    assert_eq!(out["change_log"]["points_to"]["description"], "mobile checkout for Germany");
    // A scope naming a dimension the table lacks: exit 1, file, line and a suggestion.
    std::fs::write(sb.join("bad.csv"), "time,scope,description\n2026-03-10,contry=FR,x\n").unwrap();
    sb.cmd(&[&args[..], &["--events", "bad.csv"]].concat())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.csv line 2"))
        .stderr(predicate::str::contains("did you mean 'country'"));
}
