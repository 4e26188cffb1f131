//! `dropcase diagnose` on leaf table files: a planted cause is found; bad input is a clear
//! user error (exit 1).

use predicates::prelude::*;

use crate::support::Sandbox;

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
    .stdout(predicate::str::contains("\"explanatory_power\""));
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
