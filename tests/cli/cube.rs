//! `dropcase cube` and `--cube FILE` (issue 16): a cube answers `query` and `diagnose` as
//! the rows it came from do; `diagnose --data FILE --schema F` reads own data through the
//! same layer as `query`; bad input is refused by name with nothing written.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Sandbox, fixture, json_of};

/// All nine dimensions of a generated drill.
pub const DIMS: &str =
    "platform,app_version,os_version,browser,device,country,traffic_source,user_type,payment_method";

/// A generated drill (a release bug, 30,000 sessions), in the sandbox.
pub fn drill(sb: &Sandbox, partitioned: bool) -> PathBuf {
    let out = sb.join("drill");
    // The catalogue's calendar moves with the seed; these tests name their windows, so the
    // drill keeps the dates the file was written with (March 2026).
    crate::support::write_fixed_calendar_scenario(&sb.join("fixed_calendar.toml"));
    let mut args = vec![
        "generate",
        "--scenario",
        "fixed_calendar.toml",
        "--seed",
        "7",
        "--out",
        "drill",
        "--sessions",
        "30000",
    ];
    if partitioned {
        args.push("--partitioned");
    }
    sb.cmd(&args).assert().success();
    out
}

/// Numbers equal to 1e-9 of their size, everything else exactly. Sums of floats differ
/// in their last bits when added in another order (raw rows per segment, or cube rows per
/// date and then per segment): IEEE addition is not associative, and 1e-9 is ~10⁷ ULPs
/// of slack for that while any real difference (one session, one cent) is far above it.
pub fn assert_same(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12), "{path}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_same(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{path}: keys");
            for (k, v) in x {
                assert_same(v, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

fn json(sb: &Sandbox, args: &[&str], raw: bool) -> Value {
    let mut cmd = sb.cmd(args);
    if raw {
        // Raw sessions, not the drill's own rollup.
        cmd.env("DROPCASE_NO_ROLLUP", "1");
    }
    json_of(&mut cmd)
}

/// `query compare|funnel|trend` (count, sum, rate and mean metrics, with and without
/// `--where`) and `diagnose` give the same numbers from a cube as from raw rows.
#[test]
fn a_cube_answers_queries_and_diagnose_as_the_rows_do() {
    let sb = Sandbox::new();
    drill(&sb, false);
    let (b, c) = ("2026-03-16..2026-03-22", "2026-03-23..2026-03-29");
    sb.cmd(&["cube", "--data", "drill", "--by", DIMS, "--out", "days.parquet"]).assert().success();
    sb.cmd(&[
        "cube",
        "--data",
        "drill",
        "--by",
        "platform,device",
        "--baseline",
        b,
        "--current",
        c,
        "--out",
        "windows.csv",
    ])
    .assert()
    .success();
    sb.cmd(&["cube", "--data", "drill", "--by", "platform", "--grain", "hour", "--out", "hours.parquet"])
        .assert()
        .success();
    let window_args = ["--baseline", b, "--current", c];
    for cube in ["days.parquet", "windows.csv"] {
        for metric in ["sessions", "revenue", "conversion", "cart_rate", "aov", "revenue_per_session"] {
            for filter in [None, Some("platform=ios")] {
                let mut args =
                    vec!["query", "compare", "--metric", metric, "--by", "device", "--format", "json"];
                args.extend(window_args);
                if let Some(f) = filter {
                    args.extend(["--where", f]);
                }
                let raw = json(&sb, &[&args[..], &["--data", "drill"]].concat(), true);
                let cubed = json(&sb, &[&args[..], &["--cube", cube]].concat(), false);
                assert_same(&raw, &cubed, &format!("compare {metric} {filter:?} on {cube}"));
            }
        }
        let args =
            [&["query", "funnel", "--by", "platform", "--format", "json"][..], &window_args[..]].concat();
        let raw = json(&sb, &[&args[..], &["--data", "drill"]].concat(), true);
        assert_same(&raw, &json(&sb, &[&args[..], &["--cube", cube]].concat(), false), "funnel");
    }
    for (grain, cube) in [("day", "days.parquet"), ("week", "days.parquet"), ("hour", "hours.parquet")] {
        let args = [
            "query",
            "trend",
            "--metric",
            "conversion",
            "--by",
            "platform",
            "--grain",
            grain,
            "--format",
            "json",
        ];
        let raw = json(&sb, &[&args[..], &["--data", "drill"]].concat(), true);
        let cubed = json(&sb, &[&args[..], &["--cube", cube]].concat(), false);
        assert!(raw["points"].as_array().unwrap().len() > 10, "{raw}");
        assert_same(&raw, &cubed, &format!("trend {grain}"));
    }
    // Diagnose: the same funnel, mix split and causes. Its checks of users and orders need
    // rows a cube does not hold (they say `skipped`); the last-day check reads the cube.
    let mut raw = json(&sb, &["diagnose", "--data", "drill", "--format", "json"], true);
    let cubed = json(&sb, &["diagnose", "--cube", "days.parquet", "--format", "json"], false);
    // Onsets are dated on a drill's own daily rollup, which a cube of windows does not
    // hold: the localisation is compared without them.
    for cause in raw["root_causes"].as_array_mut().unwrap() {
        cause.as_object_mut().unwrap().remove("onset");
    }
    assert!(!raw["root_causes"].as_array().unwrap().is_empty(), "{raw}");
    for field in
        ["baseline_value", "current_value", "p_value", "funnel", "mix_vs_rate", "root_causes", "verdict"]
    {
        assert_same(&raw[field], &cubed[field], field);
    }
    let statuses: Vec<&str> =
        cubed["checks"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses[..2], ["skipped", "skipped"], "{cubed}");
    assert_same(&raw["checks"][2], &cubed["checks"][2], "last-day check");
}

/// The report: `diagnose --data export.csv --schema schema.toml` answered
/// "unexpected argument '--schema'". Own data now diagnoses, with windows and `--where`.
#[test]
fn diagnose_reads_own_data_with_a_schema_windows_and_where() {
    let sb = Sandbox::new();
    let (csv, schema) = (fixture("own/visits.csv"), fixture("own/schema.toml"));
    let (csv, schema) = (csv.to_str().unwrap(), schema.to_str().unwrap());
    let args = [
        "diagnose",
        "--data",
        csv,
        "--schema",
        schema,
        "--baseline",
        "2026-03-01..2026-03-02",
        "--current",
        "2026-03-03..2026-03-04",
        "--format",
        "json",
    ];
    let all = json(&sb, &args, false);
    // Figures from the fixture by hand: 20 visits per window; bought = 1 on 6 of the
    // first 20 rows and 5 of the last 20.
    assert_eq!(all["baseline"], serde_json::json!({"from": "2026-03-01", "to": "2026-03-02"}));
    assert_eq!(all["checks"][0]["status"], "skipped", "{all}");
    let filtered = json(&sb, &[&args[..], &["--where", "device_type=phone"]].concat(), false);
    assert_ne!(all["baseline_value"], filtered["baseline_value"], "--where changes the rows read");
    let err = sb.cmd(&[&args[..], &["--where", "devise=phone"]].concat()).assert().code(1);
    let stderr = String::from_utf8_lossy(&err.get_output().stderr).to_string();
    assert!(stderr.contains("unknown dimension 'devise'") && stderr.contains("device_type"), "{stderr}");
}

fn stderr_of(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.cmd(args).assert().code(1);
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// A cube missing a column, a dimension or column that does not exist, a bad `--out`:
/// each a clear error naming it, exit 1, and an earlier file left as it was.
#[test]
fn bad_cubes_and_names_are_refused_by_name_and_nothing_is_written() {
    let sb = Sandbox::new();
    let cube = sb.join("cube.csv");
    write(&cube, "date,platform,sessions,viewed_product\n2026-03-01,ios,10,5\n2026-03-02,ios,12,6\n");
    let err = stderr_of(&sb, &["query", "compare", "--metric", "conversion", "--cube", "cube.csv"]);
    assert!(err.contains("cube column 'purchased'") && err.contains("cube.csv"), "{err}");
    let err = stderr_of(
        &sb,
        &["query", "compare", "--metric", "view_rate", "--by", "country", "--cube", "cube.csv"],
    );
    assert!(err.contains("unknown dimension 'country'") && err.contains("platform"), "{err}");
    let err = stderr_of(&sb, &["query", "trend", "--metric", "users", "--cube", "cube.csv"]);
    assert!(err.contains("distinct users") && err.contains("--data"), "{err}");
    write(&sb.join("nosessions.csv"), "date,platform,purchased\n2026-03-01,ios,1\n");
    let err = stderr_of(&sb, &["diagnose", "--cube", "nosessions.csv"]);
    assert!(err.contains("missing the column 'sessions'"), "{err}");
    write(&sb.join("notime.csv"), "day,platform,sessions\n2026-03-01,ios,1\n");
    let err = stderr_of(&sb, &["query", "funnel", "--cube", "notime.csv"]);
    assert!(err.contains("missing the column 'date'") && err.contains("day, platform, sessions"), "{err}");

    let err = stderr_of(&sb, &["diagnose", "--cube", "absent.parquet"]);
    assert!(err.contains("--cube absent.parquet: no such file"), "{err}");
    // Own data without the purchase flag: diagnose names the key to map.
    write(&sb.join("noflag.toml"), "timestamp = \"visit_time\"\ndimensions = [\"region\"]\n");
    let visits = fixture("own/visits.csv");
    let err = stderr_of(&sb, &["diagnose", "--data", visits.to_str().unwrap(), "--schema", "noflag.toml"]);
    assert!(
        err.contains("'purchased'") && err.contains("[funnel] purchased") && err.contains("noflag.toml"),
        "{err}"
    );
    let err = stderr_of(
        &sb,
        &["cube", "--sql", "--dialect", "postgres", "--table", "t", "--baseline", "2026-03-01..2026-03-07"],
    );
    assert!(err.contains("both --baseline and --current"), "{err}");

    // Building: an unknown --by column, a bad extension, an unknown dialect.
    let csv = fixture("own/visits.csv");
    let schema = fixture("own/schema.toml");
    let out = sb.join("out.parquet");
    write(&out, "earlier");
    let err = stderr_of(
        &sb,
        &[
            "cube",
            "--data",
            csv.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
            "--by",
            "regoin",
            "--out",
            "out.parquet",
        ],
    );
    assert!(err.contains("unknown dimension 'regoin'") && err.contains("did you mean 'region'"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier", "nothing written on error");
    let err = stderr_of(
        &sb,
        &[
            "cube",
            "--data",
            csv.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
            "--by",
            "region",
            "--out",
            "out.txt",
        ],
    );
    assert!(err.contains("out.txt") && err.contains("neither .parquet nor .csv"), "{err}");
    assert!(!sb.join("out.txt").exists());
    let err = stderr_of(&sb, &["cube", "--sql", "--dialect", "oracle", "--table", "t", "--by", "platform"]);
    assert!(err.contains("oracle") && err.contains("duckdb") && err.contains("postgres"), "{err}");
    let err = stderr_of(
        &sb,
        &["cube", "--sql", "--dialect", "duckdb", "--table", "t; drop table t", "--by", "platform"],
    );
    assert!(err.contains("is not a table name"), "{err}");
    let err = stderr_of(
        &sb,
        &[
            "cube",
            "--sql",
            "--dialect",
            "duckdb",
            "--table",
            "t",
            "--by",
            "regoin",
            "--schema",
            schema.to_str().unwrap(),
        ],
    );
    assert!(err.contains("unknown dimension 'regoin'") && err.contains("device_type, region"), "{err}");
    // A schema naming a column the data does not have is refused with the data's columns.
    let bad_schema = sb.join("bad.toml");
    write(&bad_schema, "timestamp = \"visit_time\"\ndimensions = [\"regio\"]\n");
    let err = stderr_of(
        &sb,
        &[
            "cube",
            "--data",
            csv.to_str().unwrap(),
            "--schema",
            "bad.toml",
            "--by",
            "regio",
            "--out",
            "out.parquet",
        ],
    );
    assert!(err.contains("no column 'regio'") && err.contains("region"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier");
}

/// A product drill of `scenario` with `rows` rows in the sandbox folder `dir`, and its
/// brief's windows as `--baseline` / `--current` values.
pub fn product_drill(sb: &Sandbox, scenario: &str, seed: &str, rows: &str, dir: &str) -> (String, String) {
    sb.cmd(&["generate", "--scenario", scenario, "--seed", seed, "--sessions", rows, "--out", dir])
        .assert()
        .success();
    let brief: toml::Value =
        toml::from_str(&std::fs::read_to_string(sb.join(dir).join("drill.toml")).unwrap())
            .expect("drill.toml is TOML");
    let window = |key: &str| {
        format!("{}..{}", brief[key]["from"].as_str().unwrap(), brief[key]["to"].as_str().unwrap())
    };
    (window("baseline"), window("current"))
}

/// The column names of a Parquet file.
fn parquet_columns(path: &Path) -> Vec<String> {
    crate::cube_sql::read_parquet(path).get_column_names().iter().map(|n| n.to_string()).collect()
}

/// What a product's case checks: its drill, its dimensions, the cube's measure columns, the
/// metrics compared (counts, rates, means and sums), a segment filter, the metric diagnosed
/// and the segment its top cause must name.
struct ProductCase {
    scenario: &'static str,
    seed: &'static str,
    rows: &'static str,
    dims: &'static str,
    measures: &'static [&'static str],
    metrics: &'static [&'static str],
    by: &'static str,
    filter: &'static str,
    diagnosed: &'static str,
    cause: (&'static str, &'static str),
    /// What `query compare` and `diagnose` explain on a cube without `--metric` (a cube has
    /// no brief): the product's widest named funnel rate.
    cube_default: &'static str,
}

const PRODUCT_CASES: [ProductCase; 2] = [
    ProductCase {
        scenario: "wau_push_outage",
        seed: "3",
        rows: "300000",
        dims: "platform,app_version,browser,country,acquisition,user_type",
        measures: &[
            "user_days",
            "opened",
            "feed_viewed",
            "post_viewed",
            "engaged",
            "cohort_d1",
            "retained_d1",
            "cohort_d7",
            "retained_d7",
            "minutes",
            "minutes_sq",
            "load_ms",
            "load_ms_sq",
        ],
        metrics: &["user_days", "engagement_rate", "post_view_rate", "d1_retention", "minutes_per_user_day"],
        by: "platform",
        filter: "country=US",
        // The headline wau, localised on the rows' volume as on the drill.
        diagnosed: "wau",
        cause: ("platform", "android"),
        cube_default: "engagement_rate",
    },
    ProductCase {
        scenario: "email_verification_domain",
        seed: "2",
        rows: "150000",
        dims: "plan,email_domain,browser,device,country,channel,user_type",
        measures: &[
            "sessions",
            "visited",
            "signed_up",
            "activated",
            "subscribed",
            "seat_price",
            "seat_price_sq",
            "page_load_ms",
            "page_load_ms_sq",
        ],
        metrics: &["sessions", "conversion", "activate_rate", "seat_price", "new_mrr"],
        by: "plan",
        filter: "device=desktop",
        diagnosed: "conversion",
        cause: ("email_domain", "gmail"),
        cube_default: "conversion",
    },
];

/// The engagement app's and the SaaS product's drills: `cube` writes their steps and
/// measures, and `query compare|funnel|trend` and `diagnose` on the cube (Parquet per date,
/// CSV per window) give the numbers the drill's rows give (issues 14 and 16).
#[test]
fn a_product_cube_answers_queries_and_diagnose_as_the_rows_do() {
    for case in &PRODUCT_CASES {
        let sb = Sandbox::new();
        let (b, c) = product_drill(&sb, case.scenario, case.seed, case.rows, "drill");
        sb.cmd(&["cube", "--data", "drill", "--by", case.dims, "--out", "days.parquet"]).assert().success();
        let expected: Vec<String> = ["date"]
            .iter()
            .chain(case.dims.split(',').collect::<Vec<_>>().iter())
            .chain(case.measures)
            .map(|c| c.to_string())
            .collect();
        assert_eq!(parquet_columns(&sb.join("days.parquet")), expected, "{}", case.scenario);
        let two_dims = format!("{},{}", case.by, case.filter.split('=').next().unwrap());
        sb.cmd(&[
            "cube",
            "--data",
            "drill",
            "--by",
            &two_dims,
            "--baseline",
            &b,
            "--current",
            &c,
            "--out",
            "windows.csv",
        ])
        .assert()
        .success();
        let windows = ["--baseline", b.as_str(), "--current", c.as_str()];
        for cube in ["days.parquet", "windows.csv"] {
            for metric in case.metrics {
                for filter in [None, Some(case.filter)] {
                    let mut args =
                        vec!["query", "compare", "--metric", metric, "--by", case.by, "--format", "json"];
                    args.extend(windows);
                    if let Some(f) = filter {
                        args.extend(["--where", f]);
                    }
                    let raw = json(&sb, &[&args[..], &["--data", "drill"]].concat(), false);
                    let cubed = json(&sb, &[&args[..], &["--cube", cube]].concat(), false);
                    assert!(!raw["segments"].as_array().unwrap().is_empty(), "{raw}");
                    assert_same(
                        &raw,
                        &cubed,
                        &format!("{}: compare {metric} {filter:?} on {cube}", case.scenario),
                    );
                }
            }
            let args = [&["query", "funnel", "--by", case.by, "--format", "json"][..], &windows[..]].concat();
            let raw = json(&sb, &[&args[..], &["--data", "drill"]].concat(), false);
            assert_same(&raw, &json(&sb, &[&args[..], &["--cube", cube]].concat(), false), "funnel");
        }
        let rate = case.metrics[1];
        for grain in ["day", "week"] {
            let args =
                ["query", "trend", "--metric", rate, "--by", case.by, "--grain", grain, "--format", "json"];
            let raw = json(&sb, &[&args[..], &["--data", "drill"]].concat(), false);
            let cubed = json(&sb, &[&args[..], &["--cube", "days.parquet"]].concat(), false);
            assert!(raw["points"].as_array().unwrap().len() > 10, "{raw}");
            assert_same(&raw, &cubed, &format!("{}: trend {rate} by {grain}", case.scenario));
        }
        // Without --metric on a cube: the product's widest named funnel rate, for both.
        let compare = json(
            &sb,
            &["query", "compare", "--cube", "days.parquet", "--by", case.by, "--format", "json"],
            false,
        );
        let diagnose = json(&sb, &["diagnose", "--cube", "days.parquet", "--format", "json"], false);
        assert_eq!(compare["metric"], case.cube_default, "{}: {compare}", case.scenario);
        assert_eq!(diagnose["metric"], case.cube_default, "{}: {diagnose}", case.scenario);
        // Diagnose: the drill's headline by default, the same metric named on the cube.
        let mut raw = json(&sb, &["diagnose", "--data", "drill", "--format", "json"], false);
        let cubed = json(
            &sb,
            &["diagnose", "--cube", "days.parquet", "--metric", case.diagnosed, "--format", "json"],
            false,
        );
        assert_eq!(raw["metric"], case.diagnosed, "{raw}");
        for cause in raw["root_causes"].as_array_mut().unwrap() {
            cause.as_object_mut().unwrap().remove("onset");
        }
        let top = &cubed["root_causes"][0]["terms"];
        assert_eq!(top[case.cause.0], case.cause.1, "{}: {cubed}", case.scenario);
        for field in [
            "metric",
            "product",
            "localised",
            "funnel_rows",
            "baseline_value",
            "current_value",
            "p_value",
            "funnel",
            "mix_vs_rate",
            "root_causes",
            "verdict",
        ] {
            assert_same(&raw[field], &cubed[field], &format!("{}: diagnose {field}", case.scenario));
        }
    }
}

/// Metrics a cube cannot hold — distinct users (dau, wau, mau and stickiness over them),
/// percentiles, a second source's rows — are refused by name and sent to `--data`, where
/// they work; so are a misspelt `--product` and a dimension it does not have.
#[test]
fn a_product_cube_refuses_what_does_not_add_up_and_says_to_use_the_rows() {
    let sb = Sandbox::new();
    product_drill(&sb, "wau_push_outage", "3", "60000", "drill");
    sb.cmd(&["cube", "--data", "drill", "--by", "platform", "--out", "cube.parquet"]).assert().success();
    for (metric, why) in [
        ("dau", "distinct users over trailing days, which does not add up"),
        ("wau", "distinct users over trailing days, which does not add up"),
        ("stickiness", "distinct users over trailing days, which does not add up"),
        ("load_p75", "a percentile, which does not add up"),
        ("server_events", "the server_events table (a second source of truth)"),
    ] {
        for command in ["compare", "trend"] {
            let args = ["query", command, "--metric", metric, "--by", "platform"];
            let err = stderr_of(&sb, &[&args[..], &["--cube", "cube.parquet"]].concat());
            assert!(
                err.contains(&format!("metric {metric} needs {why}"))
                    && err.contains("cube.parquet")
                    && err.contains("--data"),
                "{command} {metric}: {err}"
            );
            sb.cmd(&[&args[..], &["--data", "drill"]].concat()).assert().success();
        }
    }
    let err = stderr_of(
        &sb,
        &["cube", "--sql", "--dialect", "duckdb", "--table", "t", "--product", "engagment_app"],
    );
    assert!(
        err.contains("--product engagment_app") && err.contains("did you mean 'engagement_app'"),
        "{err}"
    );
    let err = stderr_of(
        &sb,
        &[
            "cube",
            "--sql",
            "--dialect",
            "duckdb",
            "--table",
            "t",
            "--product",
            "engagement_app",
            "--by",
            "device",
        ],
    );
    assert!(err.contains("unknown dimension 'device'") && err.contains("acquisition"), "{err}");
}
