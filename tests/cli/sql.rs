//! `dropcase sql`.

use crate::support::{Sandbox, json_of, tiny_drill};

#[test]
fn sql_reads_sessions_orders_and_context_tables() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    let json = json_of(&mut sandbox.cmd(&[
        "sql",
        "SELECT platform, COUNT(*) AS n, SUM(revenue) AS revenue FROM sessions \
         WHERE date >= '2026-03-03' GROUP BY platform ORDER BY platform",
        "--data",
        drill,
        "--format",
        "json",
    ]));
    assert_eq!(
        json,
        serde_json::json!([
            {"platform": "android", "n": 10, "revenue": 70.0},
            {"platform": "ios", "n": 5, "revenue": 100.0},
            {"platform": "web", "n": 5, "revenue": 30.0},
        ])
    );
    let json = json_of(&mut sandbox.cmd(&[
        "sql",
        "SELECT COUNT(*) AS orders FROM orders WHERE platform = 'android'",
        "--data",
        drill,
        "--format",
        "json",
    ]));
    assert_eq!(json, serde_json::json!([{"orders": 5}]));
    let out = sandbox
        .cmd(&["sql", "SELECT note FROM releases ORDER BY date", "--data", drill, "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "note\nbug fixes\nnew checkout screen\n");
}

#[test]
fn sql_errors_name_the_tables() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    sandbox
        .cmd(&["sql", "SELECT * FROM sesions", "--data", drill.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("tables: sessions, orders, rollup, marketing, releases"));
}

#[test]
fn sql_lists_tables_and_limits_tables() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    let out = sandbox.cmd(&["sql", "--tables", "--data", drill, "--format", "csv"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("sessions,platform,enum\n") && text.contains("releases,note,str\n"), "{text}");
    let out =
        sandbox.cmd(&["sql", "SELECT * FROM sessions", "--data", drill, "--limit", "3"]).output().unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().contains("showing the first 3 rows"));
}

/// Issue #13: the context logs were type-inferred, so the release `5.2.0` read as the date
/// 0000-02-05 and an OS version of 14 as a number. They are read with an explicit schema:
/// `date`/`start`/`end` are dates, everything else text.
#[test]
fn context_logs_keep_versions_as_text_and_dates_as_dates() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    std::fs::write(drill.join("context/config_changes.csv"), "date,system,change\n2026-03-02,14,0.5\n")
        .unwrap();
    let drill = drill.to_str().unwrap();
    let out = sandbox
        .cmd(&[
            "sql",
            "SELECT date, app_version FROM releases WHERE date >= '2026-03-01' ORDER BY date",
            "--data",
            drill,
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "date,app_version\n2026-03-02,5.1.0\n2026-03-03,5.2.0\n"
    );
    let out = sandbox.cmd(&["sql", "--tables", "--data", drill, "--format", "csv"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "releases,date,date\n",
        "releases,app_version,str\n",
        "marketing,start,date\n",
        "marketing,end,date\n",
        "config_changes,system,str\n",
        "config_changes,change,str\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from {text}");
    }
}
