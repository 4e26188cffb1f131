//! `dropcase generate` and `dropcase scenarios list|check` as a user runs them.

use std::path::Path;

use crate::support::Sandbox;

/// A catalogue scenario's text with its headline range replaced, so a small drill generates
/// (wide range) or can never pass the self-check (an impossible rise).
fn scenario_text(name: &str, headline: &str) -> String {
    let (_, text) =
        dropcase::scenario::catalogue::EMBEDDED.iter().find(|(n, _)| *n == name).expect("catalogue scenario");
    let line = text.lines().find(|l| l.starts_with("headline = ")).expect("headline line");
    text.replacen(line, &format!("headline = {headline}"), 1)
}

fn write_scenario(sandbox: &Sandbox, file: &str, headline: &str) {
    std::fs::write(sandbox.join(file), scenario_text("price_increase", headline)).unwrap();
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn refuses_to_overwrite_a_folder_that_is_not_empty() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("my-drill");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let output = sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "price_increase",
            "--seed",
            "1",
            "--out",
            "my-drill",
            "--sessions",
            "20000",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("my-drill") && stderr.contains("--force"), "{stderr}");
    assert_eq!(entries(&out), ["notes.txt"]);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
}

/// `generate --scenario SCENARIO --seed SEED --out drill --sessions 20000 --force`.
fn force_generate(sandbox: &Sandbox, scenario: &str, seed: &str) -> assert_cmd::Command {
    sandbox.cmd(&[
        "generate",
        "--scenario",
        scenario,
        "--seed",
        seed,
        "--out",
        "drill",
        "--sessions",
        "20000",
        "--force",
    ])
}

#[test]
fn force_replaces_an_existing_drill_folder() {
    let sandbox = Sandbox::new();
    write_scenario(&sandbox, "wide.toml", "[-0.95, 0.95]");
    let out = sandbox.join("drill");
    let generate = |seed: &str| force_generate(&sandbox, "wide.toml", seed);
    generate("1").assert().success();
    // The old drill's state goes with it; only drill folders may be replaced (#13: a folder
    // of anything else is refused, see integrity.rs).
    std::fs::write(out.join("progress.json"), "{}").unwrap();
    generate("2").assert().success();
    assert!(!entries(&out).contains(&"progress.json".to_string()));
    std::fs::write(out.join("old.txt"), "old").unwrap();
    generate("3").assert().code(1);
    std::fs::remove_file(out.join("old.txt")).unwrap();
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "wide.toml",
            "--seed",
            "2",
            "--out",
            "drill",
            "--sessions",
            "20000",
            "--force",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("Conversion"));
    let names = entries(&out);
    assert!(!names.contains(&"old.txt".to_string()), "{names:?}");
    for file in [
        "answer.sealed",
        "context",
        "drill.toml",
        "orders.parquet",
        "rollup.parquet",
        "rollup_hourly.parquet",
        "sessions.parquet",
    ] {
        assert!(names.contains(&file.to_string()), "{file} missing from {names:?}");
    }
}

/// Another product's drill holds its own second source (`server_events.parquet` for the
/// engagement app): `--force` replaces it like any drill file, and still refuses a file of
/// the user's beside it.
#[test]
fn force_replaces_a_drill_of_another_product() {
    let sandbox = Sandbox::new();
    let generate = |seed: &str| force_generate(&sandbox, "wau_push_outage", seed);
    generate("1").assert().success();
    let out = sandbox.join("drill");
    assert!(entries(&out).contains(&"server_events.parquet".to_string()));
    generate("2").assert().success();
    std::fs::write(out.join("mine.parquet"), "mine").unwrap();
    generate("3").assert().code(1).stderr(predicates::str::contains("mine.parquet"));
    assert_eq!(std::fs::read_to_string(out.join("mine.parquet")).unwrap(), "mine");
}

#[test]
fn partitioned_writes_hive_style_date_folders() {
    let sandbox = Sandbox::new();
    write_scenario(&sandbox, "wide.toml", "[-0.95, 0.95]");
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "wide.toml",
            "--seed",
            "3",
            "--out",
            "drill",
            "--sessions",
            "20000",
            "--partitioned",
        ])
        .assert()
        .success();
    let out = sandbox.join("drill");
    // The calendar moves with the seed: the partitions span the brief's dates.
    let brief: toml::Value =
        toml::from_str(&std::fs::read_to_string(out.join("drill.toml")).unwrap()).unwrap();
    let (from, to) =
        (brief["data_from"].as_str().unwrap().to_string(), brief["data_to"].as_str().unwrap().to_string());
    for table in ["sessions", "orders"] {
        let days = entries(&out.join(table));
        assert_eq!(days.len(), 28, "{table}: {days:?}");
        assert_eq!(days.first().cloned(), Some(format!("date={from}")));
        assert_eq!(days.last().cloned(), Some(format!("date={to}")));
        for day in &days {
            assert_eq!(entries(&out.join(table).join(day)), ["part-0.parquet"], "{table}/{day}");
        }
    }
    assert!(!out.join("sessions.parquet").exists());
    assert!(out.join("rollup.parquet").is_file() && out.join("drill.toml").is_file());
}

#[test]
fn a_failed_generation_leaves_no_folder_behind() {
    let sandbox = Sandbox::new();
    // A 90–100% rise in conversion under a price increase never happens: every draw fails
    // the self-check. (A 50–90% rise did once, at 20,000 sessions: a week of about 150
    // purchases has a sd of about 11%, and 24 draws of a cause that may fall outside the
    // windows reach far into the tail.)
    write_scenario(&sandbox, "impossible.toml", "[0.9, 1.0]");
    let output = sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "impossible.toml",
            "--seed",
            "4",
            "--out",
            "drill",
            "--sessions",
            "20000",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("no solvable case") && stderr.contains("--seed"), "{stderr}");
    assert_eq!(entries(sandbox.path()), ["impossible.toml"], "no drill and no partial folder");

    // With --force, the folder it would have replaced survives the failure untouched.
    std::fs::create_dir(sandbox.join("drill")).unwrap();
    std::fs::write(sandbox.join("drill/keep.txt"), "keep").unwrap();
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "impossible.toml",
            "--seed",
            "4",
            "--out",
            "drill",
            "--sessions",
            "20000",
            "--force",
        ])
        .assert()
        .code(1);
    assert_eq!(entries(&sandbox.join("drill")), ["keep.txt"]);
    assert_eq!(entries(sandbox.path()), ["drill", "impossible.toml"]);
}

#[test]
fn too_few_sessions_is_a_user_error() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&["generate", "--scenario", "price_increase", "--seed", "1", "--out", "d", "--sessions", "10"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--sessions 10"));
    assert!(!sandbox.join("d").exists());
}

#[test]
fn an_unknown_scenario_suggests_the_nearest_name() {
    Sandbox::new()
        .cmd(&["generate", "--scenario", "price_increse", "--seed", "1", "--out", "d"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("did you mean 'price_increase'"));
}

#[test]
fn scenarios_list_json_describes_the_catalogue() {
    let output = Sandbox::new().cmd(&["scenarios", "list", "--format", "json"]).output().unwrap();
    assert!(output.status.success());
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let list = list.as_array().expect("a JSON array");
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().expect("name")).collect();
    let catalogue: Vec<&str> = dropcase::scenario::catalogue::EMBEDDED.iter().map(|(n, _)| *n).collect();
    let product_scenarios: Vec<&str> =
        dropcase::product::scenario::EMBEDDED.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), catalogue.len() + product_scenarios.len());
    for name in catalogue.iter().chain(&product_scenarios) {
        assert!(names.contains(name), "{name} missing from the list");
    }
    // Drop families per product, and drops in all.
    let mut drop_families: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut drops = 0;
    let mut several_causes: std::collections::BTreeSet<String> = Default::default();
    for entry in list {
        let kind = entry["kind"].as_str().expect("kind");
        assert!(["drop", "experiment"].contains(&kind), "{entry}");
        assert!(["easy", "medium", "hard"].contains(&entry["difficulty"].as_str().unwrap()), "{entry}");
        assert!(!entry["title"].as_str().unwrap().is_empty(), "{entry}");
        let product = entry["product"].as_str().expect("product");
        assert!(["shop", "engagement_app", "saas"].contains(&product), "{entry}");
        let family = entry["family"].as_array().expect("family is a list");
        assert!(!family.is_empty(), "{entry}");
        if kind == "drop" {
            drops += 1;
            if family.len() > 1 {
                several_causes.insert(product.to_string());
            }
            for f in family {
                let f = f.as_str().unwrap();
                let parsed =
                    dropcase::scenario::Family::parse(f).unwrap_or_else(|| panic!("unknown family {f}"));
                assert!(parsed.belongs_to(product), "{f} is not a family of {product}");
                drop_families.entry(product.to_string()).or_default().insert(f.to_string());
            }
        }
    }
    // The breadth: at least 3 products, 30 drop families and 45 drop scenarios.
    assert_eq!(drops, 51, "metric-drop scenarios");
    assert_eq!(drop_families.len(), 3, "products with drop scenarios: {drop_families:?}");
    // Every product has a case with two things going wrong at once.
    assert_eq!(several_causes.len(), 3, "products with a two-cause scenario: {several_causes:?}");
    let distinct: std::collections::BTreeSet<&String> = drop_families.values().flatten().collect();
    assert!(distinct.len() >= 30, "{} drop families", distinct.len());
    // Every family of the catalogue has a scenario in each of its products (noise included;
    // a family of several products needs one in at least one of them).
    for family in dropcase::scenario::Family::all() {
        let products = &family.def().products;
        let covered = if products.is_empty() {
            drop_families.get("shop").is_some_and(|f| f.contains(family.name()))
        } else {
            products.iter().any(|p| drop_families.get(p).is_some_and(|f| f.contains(family.name())))
        };
        assert!(covered, "no scenario for the family {family}");
        // Its monitors name metrics each of its products has (`drill answer --monitor`).
        let owners: Vec<String> = if products.is_empty() { vec!["shop".into()] } else { products.clone() };
        for p in owners {
            let registry = dropcase::product::Product::load(&p).unwrap().metric_registry();
            assert!(
                family.monitors().iter().any(|m| registry.iter().any(|r| r.name == *m)),
                "{family}: none of {:?} is a metric of {p}",
                family.monitors()
            );
        }
    }
}

#[test]
fn scenarios_check_reports_file_and_line() {
    let sandbox = Sandbox::new();
    let text = scenario_text("price_increase", "[-0.10, -0.03]");
    std::fs::write(sandbox.join("good.toml"), &text).unwrap();
    sandbox
        .cmd(&["scenarios", "check", "good.toml"])
        .assert()
        .success()
        .stdout(predicates::str::contains("ok"));

    let bad = text.replacen("purchase = 0.45", "purchase = 1.45", 1);
    let line = bad.lines().position(|l| l.contains("purchase = 1.45")).unwrap() + 1;
    std::fs::write(sandbox.join("bad.toml"), &bad).unwrap();
    let output = sandbox.cmd(&["scenarios", "check", "bad.toml"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains(&format!("bad.toml:{line}")), "{stderr}");
    assert!(stderr.contains("funnel.purchase") && stderr.contains("1.45"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");

    let broken = text.replacen("[funnel]", "[funnel", 1);
    std::fs::write(sandbox.join("broken.toml"), &broken).unwrap();
    let line = broken.lines().position(|l| l.starts_with("[funnel")).unwrap() + 1;
    sandbox
        .cmd(&["scenarios", "check", "broken.toml"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!("broken.toml:{line}")));
}

// Issue #13: sizes are refused up front with the limit and why, and a scenario that
// `check` accepts generates (what `generate` needs, `check` validates).

#[test]
fn sessions_and_days_beyond_the_limits_are_refused_up_front() {
    let sandbox = Sandbox::new();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--sessions", "18446744073709551615"],
            &["--sessions 18446744073709551615", "2000000000", "--partitioned"],
        ),
        (&["--days", "999"], &["--days 999", "366"]),
        (&["--days", "4294967295"], &["--days 4294967295", "366"]),
    ];
    for (flags, fragments) in cases {
        let mut args = vec!["generate", "--scenario", "price_increase", "--seed", "1", "--out", "d"];
        args.extend_from_slice(flags);
        let output = sandbox.cmd(&args).output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {stderr}");
        for f in *fragments {
            assert!(stderr.contains(f), "{flags:?} should mention `{f}`: {stderr}");
        }
        assert_eq!(entries(sandbox.path()), Vec::<String>::new(), "nothing written for {flags:?}");
    }
    let output = sandbox
        .cmd(&["drill", "start", "--seed", "1", "--sessions", "99999999999", "--dir", "dr"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("2000000000"), "{}", stderr_of(&output));
    assert!(!sandbox.join("dr").exists());
}

#[test]
fn a_scenario_that_breaks_generate_is_refused_by_check_and_by_generate() {
    let sandbox = Sandbox::new();
    let text = scenario_text("price_increase", "[-0.50, 0.50]");
    for (name, from, to, key) in [
        ("trend.toml", "trend_per_week = 0.005", "trend_per_week = -inf", "traffic.trend_per_week"),
        ("empty.toml", "trend_per_week = 0.005", "trend_per_week = -1", "traffic.trend_per_week"),
        ("cart.toml", "cart = 0.21", "cart = 1e-7", "funnel"),
        ("rollout.toml", "start_day = 0\n", "start_day = 2147483648\n", "start_day"),
    ] {
        assert_eq!(text.matches(from).count(), 1, "{from} in price_increase");
        std::fs::write(sandbox.join(name), text.replacen(from, to, 1)).unwrap();
        let output = sandbox.cmd(&["scenarios", "check", name]).output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "check {name}: {stderr}");
        assert!(stderr.contains(&format!("{name}:")) && stderr.contains(key), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let output = sandbox
            .cmd(&["generate", "--scenario", name, "--seed", "1", "--out", "d", "--sessions", "20000"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "generate {name}: {}", stderr_of(&output));
        assert!(stderr_of(&output).contains(key), "{}", stderr_of(&output));
        assert!(
            !entries(sandbox.path()).iter().any(|e| e.starts_with('.') || e == "d"),
            "{:?}",
            entries(sandbox.path())
        );
    }
}

#[test]
fn a_resized_scenario_is_validated_like_a_file() {
    // 2,000 sessions over 28 days leave each window a handful of purchases: refused with
    // the rule, not generated into a "NaN%" headline.
    let sandbox = Sandbox::new();
    let output = sandbox
        .cmd(&["generate", "--scenario", "price_increase", "--seed", "1", "--out", "d", "--sessions", "2000"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--sessions 2000") && stderr.contains("expected purchases"), "{stderr}");
    assert!(!stderr.contains("NaN"), "{stderr}");
}
