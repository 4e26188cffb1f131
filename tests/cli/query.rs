//! `dropcase query compare|trend|funnel` on the hand-written fixture `tests/data/tiny/`.
//!
//! The fixture, by hand (baseline 2026-03-01..02, current 2026-03-03..04; 20 sessions each):
//!
//! | window   | platform | sessions | viewed | cart | checkout | purchased | revenue      |
//! |----------|----------|----------|--------|------|----------|-----------|--------------|
//! | baseline | android  | 8        | 6      | 4    | 3        | 2         | 50 + 30      |
//! | baseline | ios      | 6        | 5      | 3    | 2        | 2         | 40 + 60      |
//! | baseline | web      | 6        | 4      | 2    | 1        | 1         | 20           |
//! | current  | android  | 10       | 7      | 5    | 4        | 1         | 70           |
//! | current  | ios      | 5        | 4      | 3    | 2        | 2         | 50 + 50      |
//! | current  | web      | 5        | 4      | 2    | 1        | 1         | 30           |
//!
//! Totals: baseline 20 / 15 / 9 / 6 / 5, revenue 200; current 20 / 15 / 10 / 7 / 4,
//! revenue 200. Users: baseline ids 1..15 (1–5 twice) = 15, current ids 10..25 = 16.
//! page_load_ms: baseline 100, 200, …, 2000; current 150, 250, …, 2050. Backend orders
//! (orders.csv): baseline 5, current 6 (android logs 1 purchase but 3 orders).

use serde_json::Value;

use crate::support::{Sandbox, fixture, json_of, tiny_drill};

const WINDOWS: [&str; 4] = ["--baseline", "2026-03-01..2026-03-02", "--current", "2026-03-03..2026-03-04"];

/// (metric, baseline total, current total), each computed by hand from the table above.
const HAND: [(&str, f64, f64); 15] = [
    ("sessions", 20.0, 20.0),
    ("users", 15.0, 16.0),
    ("orders", 5.0, 6.0),
    ("conversion", 5.0 / 20.0, 4.0 / 20.0),
    ("view_rate", 15.0 / 20.0, 15.0 / 20.0),
    ("cart_rate", 9.0 / 15.0, 10.0 / 15.0),
    ("checkout_rate", 6.0 / 9.0, 7.0 / 10.0),
    ("purchase_rate", 5.0 / 6.0, 4.0 / 7.0),
    ("aov", 200.0 / 5.0, 200.0 / 4.0),
    ("revenue", 200.0, 200.0),
    ("revenue_per_session", 200.0 / 20.0, 200.0 / 20.0),
    ("backend_conversion", 5.0 / 20.0, 6.0 / 20.0),
    ("sessions_per_user", 20.0 / 15.0, 20.0 / 16.0),
    // numpy.percentile(range(100, 2001, 100), 50) = (1000 + 1100) / 2; p75 at rank
    // 0.75 × 19 = 14.25 → 1500 + 0.25 × 100. Current values are 50 higher.
    ("page_load_p50", 1050.0, 1100.0),
    ("page_load_p75", 1525.0, 1575.0),
];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn total_values(json: &Value) -> (f64, f64) {
    let total = &json["total"];
    (total["baseline_value"].as_f64().unwrap(), total["current_value"].as_f64().unwrap())
}

fn compare(sandbox: &Sandbox, data: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut args = vec!["query", "compare", "--data", data, "--format", "json"];
    args.extend_from_slice(&WINDOWS);
    args.extend_from_slice(extra);
    sandbox.cmd(&args)
}

#[test]
fn every_metric_matches_the_hand_computation_from_rollup_and_from_raw_sessions() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    for (metric, baseline, current) in HAND {
        for no_rollup in ["0", "1"] {
            let mut cmd = compare(&sandbox, drill, &["--metric", metric, "--by", "platform"]);
            let json = json_of(cmd.env("DROPCASE_NO_ROLLUP", no_rollup));
            let (b, c) = total_values(&json);
            assert!(close(b, baseline) && close(c, current), "{metric} (no_rollup={no_rollup}): {b} → {c}");
        }
    }
}

#[test]
fn every_session_metric_matches_on_a_plain_csv() {
    let sandbox = Sandbox::new();
    let csv = fixture("tiny/sessions.csv");
    for (metric, baseline, current) in
        HAND.iter().filter(|(m, ..)| !m.contains("orders") && !m.starts_with("backend"))
    {
        let json = json_of(&mut compare(&sandbox, csv.to_str().unwrap(), &["--metric", metric]));
        let (b, c) = total_values(&json);
        assert!(close(b, *baseline) && close(c, *current), "{metric}: {b} → {c}");
    }
}

#[test]
fn compare_decomposes_conversion_by_platform() {
    // Shares 8/20, 6/20, 6/20 → 10/20, 5/20, 5/20; rates 2/8, 2/6, 1/6 → 1/10, 2/5, 1/5;
    // overall 0.25 → 0.20, average R̄ = 0.225.
    // android: mix = (0.5 − 0.4)((0.25 + 0.1)/2 − 0.225) = −0.005,
    //          rate = (0.1 − 0.25)(0.4 + 0.5)/2 = −0.0675; together −0.0725 = 145% of −0.05.
    // ios: mix = (0.25 − 0.3)(0.366667 − 0.225) = −0.0070833, rate = (0.4 − 0.333333) × 0.275
    //      = +0.0183333; web: mix = −0.05 × (0.183333 − 0.225) = +0.0020833, rate = +0.0091667.
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let json = json_of(&mut compare(&sandbox, drill.to_str().unwrap(), &["--by", "platform"]));
    let first = &json["segments"][0];
    assert_eq!(first["platform"], "android");
    assert!(close(first["mix_effect"].as_f64().unwrap(), -0.005));
    assert!(close(first["rate_effect"].as_f64().unwrap(), -0.0675));
    assert!(close(first["contribution"].as_f64().unwrap(), 1.45));
    let ios = &json["segments"][1];
    assert_eq!(ios["platform"], "ios");
    assert!(close(ios["mix_effect"].as_f64().unwrap(), -0.05 * (11.0 / 30.0 - 0.225)));
    assert!(close(ios["contribution"].as_f64().unwrap(), -0.225));
    // statsmodels proportions_ztest([2, 1], [8, 10]) → p = 0.396144.
    assert!((first["p_value"].as_f64().unwrap() - 0.396144).abs() < 1e-5);
    let total = &json["total"];
    assert!(close(total["abs_change"].as_f64().unwrap(), -0.05));
    // statsmodels proportions_ztest([5, 4], [20, 20]) → p = 0.704954.
    assert!((total["p_value"].as_f64().unwrap() - 0.704954).abs() < 1e-5);
    let sum: f64 = json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["mix_effect"].as_f64().unwrap() + s["rate_effect"].as_f64().unwrap())
        .sum();
    assert!((sum - total["abs_change"].as_f64().unwrap()).abs() < 1e-12);
}

#[test]
fn compare_tests_means_with_welch() {
    // scipy.stats.ttest_ind([50, 30, 40, 60, 20], [70, 50, 50, 30], equal_var=False)
    //   → p = 0.387810; tolerance 1e-5 absolute.
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let json = json_of(&mut compare(&sandbox, drill.to_str().unwrap(), &["--metric", "aov"]));
    assert!((json["total"]["p_value"].as_f64().unwrap() - 0.387810).abs() < 1e-5);
}

#[test]
fn compare_json_has_the_documented_shape() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let json = json_of(&mut compare(&sandbox, drill.to_str().unwrap(), &["--by", "platform,country"]));
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect::<Vec<_>>() };
    let mut top = keys(&json);
    top.sort();
    assert_eq!(top, ["baseline", "by", "current", "metric", "segments", "total"]);
    assert_eq!(json["metric"], "conversion");
    assert_eq!(json["by"], serde_json::json!(["platform", "country"]));
    assert_eq!(json["baseline"], serde_json::json!({"from": "2026-03-01", "to": "2026-03-02"}));
    assert_eq!(json["current"], serde_json::json!({"from": "2026-03-03", "to": "2026-03-04"}));
    let fields = [
        "baseline_value",
        "current_value",
        "abs_change",
        "rel_change",
        "baseline_n",
        "current_n",
        "baseline_share",
        "current_share",
        "mix_effect",
        "rate_effect",
        "contribution",
        "contribution_interval",
        "contribution_status",
        "p_value",
        "new_segment",
        "baseline_reference",
    ];
    let segments = json["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 6);
    for segment in segments {
        let mut expected: Vec<&str> = vec!["platform", "country"];
        expected.extend(fields);
        let mut got = keys(segment);
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
        assert!(segment["platform"].is_string() && segment["baseline_n"].is_u64());
    }
    let mut total = keys(&json["total"]);
    total.sort();
    let mut expected = fields.to_vec();
    expected.sort();
    assert_eq!(total, expected);
}

#[test]
fn a_segment_absent_from_a_window_has_n_zero_and_no_p_value() {
    // app_version 5.2.0 ships in the current window only.
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let json = json_of(&mut compare(&sandbox, drill.to_str().unwrap(), &["--by", "app_version"]));
    let new = json["segments"].as_array().unwrap().iter().find(|s| s["app_version"] == "5.2.0").unwrap();
    assert_eq!(new["baseline_n"], 0);
    assert_eq!(new["current_n"], 10);
    assert!(new["baseline_value"].is_null());
    // Issue #13: it used to be all mix with no rate. It is new, so it is measured against
    // its parent, here the whole baseline (no dimension is left): 5/20 = 0.25 over 20
    // sessions. It took s1 = 10/20 of current traffic at 0.1; R̄ = (0.25 + 0.2)/2 = 0.225:
    // mix = 0.5 × (0.25 − 0.225) = +0.0125, rate = 0.5 × (0.1 − 0.25) = −0.075.
    assert_eq!(new["new_segment"], true);
    assert_eq!(new["baseline_reference"], serde_json::json!({"segment": {}, "value": 0.25, "n": 20}));
    assert!(close(new["mix_effect"].as_f64().unwrap(), 0.0125), "{new}");
    assert!(close(new["rate_effect"].as_f64().unwrap(), -0.075), "{new}");
    assert!(
        close(new["abs_change"].as_f64().unwrap(), -0.15) && close(new["rel_change"].as_f64().unwrap(), -0.6)
    );
    assert!(new["p_value"].as_f64().is_some_and(|p| p > 0.0 && p < 1.0), "{new}");
    // Every segment still sums to the total change, 0.20 − 0.25.
    let sum: f64 = json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["mix_effect"].as_f64().unwrap() + s["rate_effect"].as_f64().unwrap())
        .sum();
    assert!(close(sum, -0.05), "{sum}");
    // Web has no app version: a segment with a null value.
    assert!(json["segments"].as_array().unwrap().iter().any(|s| s["app_version"].is_null()));
}

#[test]
fn where_filters_and_top_folds_the_rest() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    let json = json_of(&mut compare(&sandbox, drill, &["--by", "platform", "--where", "platform=ios|web"]));
    assert_eq!(json["segments"].as_array().unwrap().len(), 2);
    assert_eq!(json["total"]["baseline_n"], 12);
    let json = json_of(&mut compare(&sandbox, drill, &["--by", "platform", "--where", "platform!=android"]));
    assert_eq!(json["total"]["current_n"], 10);
    // != keeps rows where the dimension is missing (web has no app_version).
    let json = json_of(&mut compare(&sandbox, drill, &["--where", "app_version!=5.2.0"]));
    assert_eq!(json["total"]["current_n"], 10);
    let json = json_of(&mut compare(&sandbox, drill, &["--by", "platform", "--top", "1"]));
    let segments = json["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[1]["platform"], "(other)");
    let sum: f64 =
        segments.iter().map(|s| s["mix_effect"].as_f64().unwrap() + s["rate_effect"].as_f64().unwrap()).sum();
    assert!((sum - json["total"]["abs_change"].as_f64().unwrap()).abs() < 1e-12);
}

#[test]
fn compare_table_snapshot() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let mut args = vec!["query", "compare", "--data", drill.to_str().unwrap(), "--by", "platform"];
    args.extend_from_slice(&WINDOWS);
    let out = sandbox.cmd(&args).env("COLUMNS", "200").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn funnel_table_snapshot_and_the_broken_step() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    let out = sandbox.cmd(&["query", "funnel", "--data", drill]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());

    // purchase_rate 5/6 → 4/7 is the step that fell; counts as in the module table.
    let json = json_of(&mut sandbox.cmd(&["query", "funnel", "--data", drill, "--format", "json"]));
    let steps = json["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, ["sessions", "viewed_product", "added_to_cart", "reached_checkout", "purchased"]);
    let counts: Vec<(u64, u64)> = steps
        .iter()
        .map(|s| (s["baseline_count"].as_u64().unwrap(), s["current_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [(20, 20), (15, 15), (9, 10), (6, 7), (5, 4)]);
    assert!(steps[0]["baseline_rate"].is_null());
    assert!(close(steps[4]["abs_change"].as_f64().unwrap(), 4.0 / 7.0 - 5.0 / 6.0));

    let json = json_of(
        &mut sandbox.cmd(&["query", "funnel", "--data", drill, "--by", "platform", "--format", "json"]),
    );
    assert_eq!(json["steps"].as_array().unwrap().len(), 15);
}

#[test]
fn trend_by_day_and_week_and_hour() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    // Baseline rows 1–10 fall on Mar 1, 11–20 on Mar 2 (likewise in the current window):
    // android's 8 baseline sessions are rows 1–8, all on Mar 1.
    let json = json_of(&mut sandbox.cmd(&[
        "query", "trend", "--data", drill, "--metric", "sessions", "--by", "platform", "--format", "json",
    ]));
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 4 * 3);
    let at = |period: &str, platform: &str| {
        points.iter().find(|p| p["period"] == period && p["platform"] == platform).unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(at("2026-03-01", "android"), 8.0);
    assert_eq!(at("2026-03-02", "android"), 0.0);
    assert_eq!(at("2026-03-03", "android"), 10.0);
    // 2026-03-01 is a Sunday: its week starts Monday 2026-02-23; the other days fall in
    // the week of 2026-03-02.
    let json = json_of(&mut sandbox.cmd(&[
        "query",
        "trend",
        "--data",
        drill,
        "--metric",
        "conversion",
        "--grain",
        "week",
        "--format",
        "json",
    ]));
    let points = json["points"].as_array().unwrap();
    assert_eq!(points[0]["period"], "2026-02-23");
    assert_eq!(points[0]["n"], 10);
    assert_eq!(points[1]["n"], 30);
    let json = json_of(&mut sandbox.cmd(&[
        "query", "trend", "--data", drill, "--metric", "sessions", "--grain", "hour", "--format", "json",
    ]));
    assert_eq!(json["points"][0]["period"], "2026-03-01T10:00");
    let total: f64 = json["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64().unwrap()).sum();
    assert_eq!(total, 40.0);
}

#[test]
fn csv_output_has_a_header_and_a_total_row() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let mut args =
        vec!["query", "compare", "--data", drill.to_str().unwrap(), "--by", "platform", "--format", "csv"];
    args.extend_from_slice(&WINDOWS);
    let out = sandbox.cmd(&args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("platform,baseline_value,current_value,abs_change"), "{text}");
    assert_eq!(lines.len(), 5);
    assert!(lines[4].starts_with("(total),0.25,0.2,"), "{text}");
}

#[test]
fn own_data_with_other_column_names_maps_through_schema() {
    let sandbox = Sandbox::new();
    let data = fixture("own/visits.csv");
    let schema = fixture("own/schema.toml");
    let (data, schema) = (data.to_str().unwrap(), schema.to_str().unwrap());
    let json = json_of(&mut compare(&sandbox, data, &["--schema", schema, "--by", "device_type"]));
    assert!(close(json["total"]["baseline_value"].as_f64().unwrap(), 0.25));
    assert!(close(json["total"]["current_value"].as_f64().unwrap(), 0.20));
    let json = json_of(&mut compare(&sandbox, data, &["--schema", schema, "--metric", "aov"]));
    assert!(close(json["total"]["baseline_value"].as_f64().unwrap(), 40.0));

    // A metric needing a column the schema does not map is refused by name.
    sandbox
        .cmd(&["query", "compare", "--data", data, "--schema", schema, "--metric", "page_load_p50"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("needs the column 'page_load_ms'"))
        .stderr(predicates::str::contains("page_load_ms = \"your_column\""));
    // Without the schema there is no date to window by.
    sandbox
        .cmd(&["query", "compare", "--data", data])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("needs the column 'date'"))
        .stderr(predicates::str::contains("its columns: visit_time"))
        .stderr(predicates::str::contains("timestamp = \"your_column\""));
}

#[test]
fn a_schema_naming_a_missing_column_is_refused() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("bad.toml"), "timestamp = \"visit_tme\"\n").unwrap();
    let data = fixture("own/visits.csv");
    sandbox
        .cmd(&["query", "compare", "--data", data.to_str().unwrap(), "--schema", "bad.toml"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("has no column 'visit_tme' (did you mean 'visit_time'?)"));
}

#[test]
fn bad_input_is_explained() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let drill = drill.to_str().unwrap();
    let fails = |args: &[&str], message: &str| {
        let mut all = vec!["query"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data", drill]);
        sandbox.cmd(&all).assert().code(1).stderr(predicates::str::contains(message.to_string()));
    };
    fails(&["compare", "--metric", "convrsion"], "unknown metric 'convrsion' (did you mean 'conversion'?)");
    fails(&["compare", "--by", "platfrom"], "unknown dimension 'platfrom' (did you mean 'platform'?)");
    fails(
        &["compare", "--where", "platform=andriod"],
        "'platform' has no value 'andriod' (did you mean 'android'?)",
    );
    fails(
        &["compare", "--where", "platform=ios,app_version"],
        "malformed --where: 'app_version' has no = or !=",
    );
    fails(
        &["compare", "--current", "2026-03-03..2026-03-09"],
        "outside the data, which covers 2026-03-01..2026-03-04",
    );
    fails(
        &["compare", "--metric", "orders", "--by", "device"],
        "orders can be cut by platform, country, payment_method",
    );
    fails(
        &["trend", "--metric", "sessions", "--window", "2025-01-01..2025-01-02"],
        "covers 2026-03-01..2026-03-04",
    );
    // A window that is not FROM..TO is a bad value: exit 1, clap's message (#13).
    sandbox
        .cmd(&["query", "compare", "--baseline", "yesterday"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("invalid value 'yesterday' for '--baseline"));
}

#[test]
fn without_data_or_current_drill_says_how_to_start() {
    Sandbox::new()
        .cmd(&["query", "compare"])
        .assert()
        .code(1)
        .stderr("error: no current drill: run `dropcase drill start` or pass --data PATH\n");
}

#[test]
fn the_current_drill_pointer_is_followed() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let home = sandbox.join(".dropcase-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("current"), format!("{}\n", drill.display())).unwrap();
    let json = json_of(&mut sandbox.cmd(&["query", "compare", "--format", "json"]));
    assert!(close(json["total"]["abs_change"].as_f64().unwrap(), -0.05));
}

#[test]
fn partitioned_parquet_folders_are_read() {
    use polars::prelude::*;
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let sessions = LazyFrame::scan_parquet(
        PlRefPath::try_from_path(&drill.join("sessions.parquet")).unwrap(),
        ScanArgsParquet::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    let root = sandbox.join("parts");
    for day in ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"] {
        let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        let mut part =
            sessions.clone().lazy().filter(col("date").eq(lit(date))).drop(cols(["date"])).collect().unwrap();
        let dir = root.join(format!("date={day}"));
        std::fs::create_dir_all(&dir).unwrap();
        ParquetWriter::new(std::fs::File::create(dir.join("part-0.parquet")).unwrap())
            .finish(&mut part)
            .unwrap();
    }
    let json = json_of(&mut compare(&sandbox, root.to_str().unwrap(), &["--by", "platform"]));
    assert!(close(json["total"]["abs_change"].as_f64().unwrap(), -0.05));
}

/// `--plot` on the query commands writes a chart of the result: well-formed SVG with one
/// series per segment for a trend, and a PNG of the requested size for compare.
#[test]
fn query_commands_draw_their_results() {
    let sandbox = crate::support::Sandbox::new();
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "payment_provider_outage",
            "--seed",
            "4",
            "--sessions",
            "200000",
            "--out",
            "d",
        ])
        .assert()
        .success();
    sandbox
        .cmd(&[
            "query",
            "trend",
            "--data",
            "d",
            "--metric",
            "conversion",
            "--by",
            "platform",
            "--plot",
            "t.svg",
        ])
        .assert()
        .success();
    let svg = std::fs::read_to_string(sandbox.join("t.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    for platform in ["ios", "android", "web"] {
        assert!(svg.contains(platform), "legend names {platform}");
    }
    sandbox
        .cmd(&["query", "compare", "--data", "d", "--by", "platform", "--plot", "c.png", "--size", "800x500"])
        .assert()
        .success();
    let png = std::fs::read(sandbox.join("c.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height are the first two big-endian u32 after the chunk header.
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 800);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 500);
    sandbox.cmd(&["query", "funnel", "--data", "d", "--plot", "f.svg"]).assert().success();
    assert!(sandbox.join("f.svg").exists());
    // A bad extension is a bad value, refused before any work.
    sandbox.cmd(&["query", "funnel", "--data", "d", "--plot", "f.gif"]).assert().code(1);
}

/// Generated drills with a known, segment-level cause: `compare` by the cause's dimensions
/// must rank the caused segment first (its share of the drop is the largest).
#[test]
fn compare_ranks_the_caused_segment_first_on_generated_drills() {
    let sandbox = Sandbox::new();
    for (scenario, seed) in
        [("app_release_bug", 11), ("web_browser_bug", 3), ("os_update_breaks_checkout", 5)]
    {
        let out = sandbox.join(&format!("{scenario}-{seed}"));
        let out = out.to_str().unwrap();
        sandbox
            .cmd(&[
                "generate",
                "--scenario",
                scenario,
                "--seed",
                &seed.to_string(),
                "--out",
                out,
                "--sessions",
                "200000",
            ])
            .assert()
            .success();
        let truth: dropcase::generate::Truth =
            serde_json::from_slice(&dropcase::drill::state::open_sealed(std::path::Path::new(out)).unwrap())
                .unwrap();
        let by: Vec<&str> = truth.segment.keys().map(String::as_str).collect();
        assert!(!by.is_empty(), "{scenario}: the cause has a segment");
        let by = by.join(",");
        for no_rollup in ["0", "1"] {
            let json = json_of(
                sandbox
                    .cmd(&["query", "compare", "--data", out, "--by", &by, "--format", "json"])
                    .env("DROPCASE_NO_ROLLUP", no_rollup),
            );
            let first = &json["segments"][0];
            for (dim, value) in &truth.segment {
                assert_eq!(first[dim], value.as_str(), "{scenario} seed {seed} by {by}: {first}");
            }
            let sum: f64 = json["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["mix_effect"].as_f64().unwrap() + s["rate_effect"].as_f64().unwrap())
                .sum();
            assert!((sum - json["total"]["abs_change"].as_f64().unwrap()).abs() < 1e-12);
        }
    }
}

/// Issue #13: a segment new in the current window was booked as all mix with rate "–". By
/// platform and app version, android 5.2.0 is new and is measured against android's
/// baseline (its parent: the segment with the new value dropped). By hand, from the tiny
/// fixture: baseline android/5.1.0 2/8, ios 2/6, web 1/6 (R0 = 5/20); current android/5.2.0
/// 1/10, ios 2/5, web 1/5 (R1 = 4/20); R̄ = 0.225.
#[test]
fn a_new_segment_is_measured_against_its_parent_and_the_split_still_adds_up() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let json = json_of(&mut compare(&sandbox, drill.to_str().unwrap(), &["--by", "platform,app_version"]));
    let segments = json["segments"].as_array().unwrap();
    let find = |platform: &str, version: &str| {
        segments.iter().find(|s| s["platform"] == platform && s["app_version"] == version).unwrap()
    };
    let new = find("android", "5.2.0");
    assert_eq!(new["new_segment"], true);
    assert_eq!(
        new["baseline_reference"],
        serde_json::json!({"segment": {"platform": "android"}, "value": 0.25, "n": 8})
    );
    // mix = s1 (r_ref − R̄) = 0.5 × (0.25 − 0.225) = 0.0125; rate = s1 (r1 − r_ref) =
    // 0.5 × (0.1 − 0.25) = −0.075.
    assert!(close(new["mix_effect"].as_f64().unwrap(), 0.0125), "{new}");
    assert!(close(new["rate_effect"].as_f64().unwrap(), -0.075), "{new}");
    // The version it replaced is gone: all mix, (0 − 0.4)(0.25 − 0.225) = −0.01.
    let old = find("android", "5.1.0");
    assert_eq!(old["new_segment"], false);
    assert!(old["baseline_reference"].is_null());
    assert!(
        close(old["mix_effect"].as_f64().unwrap(), -0.01) && close(old["rate_effect"].as_f64().unwrap(), 0.0)
    );
    // ios: mix = (0.25 − 0.3)((1/3 + 0.4)/2 − 0.225) = −0.0070833; rate = (0.4 − 1/3)(0.55/2)
    // = 0.0183333. web: mix = −0.05 × (0.1833333 − 0.225) = 0.0020833; rate = (0.2 − 1/6)
    // × 0.275 = 0.0091667. Totals: mix −0.0025, rate −0.0475, sum −0.05 = R1 − R0.
    let ios = find("ios", "5.1.0");
    assert!((ios["mix_effect"].as_f64().unwrap() + 0.0070833).abs() < 1e-6, "{ios}");
    assert!((ios["rate_effect"].as_f64().unwrap() - 0.0183333).abs() < 1e-6, "{ios}");
    let total = &json["total"];
    assert!((total["mix_effect"].as_f64().unwrap() + 0.0025).abs() < 1e-12, "{total}");
    assert!((total["rate_effect"].as_f64().unwrap() + 0.0475).abs() < 1e-12, "{total}");
    // The broken release carries most of the drop, as rate: it ranks first.
    assert_eq!(segments[0]["app_version"], "5.2.0");
}

/// Issue #13: at 80 columns the comparison leaves out its secondary columns (and says
/// which) instead of wrapping cells mid-number, and marks the new segment.
#[test]
fn compare_fits_80_columns_and_marks_the_new_segment() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let mut args =
        vec!["query", "compare", "--data", drill.to_str().unwrap(), "--by", "platform,app_version"];
    args.extend_from_slice(&WINDOWS);
    let out = sandbox.cmd(&args).env("COLUMNS", "80").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(text.contains("5.2.0 (new)") && text.contains("(25.00%)"), "{text}");
    assert!(
        text.contains("(left out to fit 80 columns: change, abs, n base → cur, share base → cur,\ncontrib;"),
        "{text}"
    );
    insta::assert_snapshot!(text);
    // --wide, or a pipe without COLUMNS, prints every column.
    args.push("--wide");
    let wide = sandbox.cmd(&args).env("COLUMNS", "80").output().unwrap();
    let wide = String::from_utf8(wide.stdout).unwrap();
    assert!(wide.contains("share base → cur") && !wide.contains("left out"), "{wide}");
    args.pop();
    let piped = String::from_utf8(sandbox.cmd(&args).output().unwrap().stdout).unwrap();
    assert_eq!(piped, wide);
}

/// Issue #13: without --by the comparison is one total row whose cells line up with the
/// header (a segment row with no label used to shift every cell one column left).
#[test]
fn compare_without_by_aligns() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let mut args = vec!["query", "compare", "--data", drill.to_str().unwrap()];
    args.extend_from_slice(&WINDOWS);
    let out = sandbox.cmd(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.contains("segment")).unwrap();
    let rows: Vec<&&str> = lines[header + 2..].iter().take_while(|l| !l.starts_with('─')).collect();
    assert_eq!(rows.len(), 1, "{text}");
    // Each header starts where its cell starts.
    let at = |line: &str, word: &str| line.find(word).unwrap_or_else(|| panic!("{word} in {line}"));
    assert_eq!(at(lines[header], "baseline"), at(rows[0], "25.00%"), "{text}");
    assert_eq!(at(lines[header], "current"), at(rows[0], "20.00%"), "{text}");
    assert!(rows[0].trim_start().starts_with("total"), "{text}");
}

/// Issue #13: the funnel fits 80 columns too.
#[test]
fn funnel_fits_80_columns() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let out = sandbox
        .cmd(&["query", "funnel", "--data", drill.to_str().unwrap(), "--by", "platform"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    insta::assert_snapshot!(text);
}

/// Issue #16: an hourly trend on a generated drill answers from `rollup_hourly.parquet`;
/// every point must be what the raw sessions give (`DROPCASE_NO_ROLLUP=1` forces them):
/// the same periods, segments and counts, and values equal up to float summation order
/// (revenue is summed per cell first), relative 1e-12.
#[test]
fn an_hourly_trend_from_the_hourly_rollup_matches_the_raw_sessions() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "app_release_bug",
            "--seed",
            "4",
            "--out",
            "d",
            "--sessions",
            "60000",
        ])
        .assert()
        .success();
    for (metric, by) in [("conversion", "platform"), ("revenue_per_session", "country"), ("sessions", "")] {
        let points = |no_rollup: &str| {
            let mut args = vec!["query", "trend", "--data", "d", "--metric", metric, "--grain", "hour"];
            args.extend(["--format", "json"]);
            if !by.is_empty() {
                args.extend(["--by", by]);
            }
            let json = json_of(sandbox.cmd(&args).env("DROPCASE_NO_ROLLUP", no_rollup));
            json["points"].as_array().unwrap().clone()
        };
        let (rollup, raw) = (points("0"), points("1"));
        assert!(raw.len() >= 24 * 28, "{metric}: {} points", raw.len());
        assert_eq!(rollup.len(), raw.len(), "{metric}");
        for (a, b) in rollup.iter().zip(&raw) {
            assert_eq!(a["period"], b["period"], "{metric}");
            assert_eq!(a["n"], b["n"], "{metric} {a} vs {b}");
            if !by.is_empty() {
                assert_eq!(a[by], b[by], "{metric}");
            }
            match (a["value"].as_f64(), b["value"].as_f64()) {
                (Some(x), Some(y)) => {
                    assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{metric} {a} vs {b}")
                }
                (x, y) => assert_eq!(x, y, "{metric} {a} vs {b}"),
            }
        }
    }
}

/// The trend table printed the data lowercased (`us` for `US`, `2026-03-01t10:00`): only the
/// title's grain is lowercased now. The tiny fixture's countries are `US` and `DE`.
#[test]
fn the_trend_table_keeps_the_datas_spelling() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let out = sandbox
        .cmd(&[
            "query",
            "trend",
            "--metric",
            "conversion",
            "--data",
            drill.to_str().unwrap(),
            "--grain",
            "hour",
            "--by",
            "country",
        ])
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("conversion per hour\n"), "{text}");
    assert!(text.contains(" US ") && text.contains(" DE "), "{text}");
    assert!(text.contains("2026-03-01T10:00"), "{text}");
    assert!(!text.contains(" us ") && !text.contains("t10:00"), "{text}");
}
