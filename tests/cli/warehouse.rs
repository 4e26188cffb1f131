//! The own-data sample `data/warehouse_export.csv` (issue 16): a warehouse-style export with
//! foreign column names, `Y`/`N` flags, an empty country on some rows and an app build
//! that is empty on web, and one planted cause — from 2026-04-08 the Android build 7.3.1
//! loses most orders at the last step (checkout started, order not placed). Written by
//! [`export`] from a fixed seed; `DROPCASE_WRITE_SAMPLE=1 cargo test --test cli warehouse`
//! writes it again.

use std::path::PathBuf;

use rand::{Rng, SeedableRng};

use crate::support::{Sandbox, json_of};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

/// Rows per day of the export (14 days).
const SESSIONS_PER_DAY: usize = 570;

/// The export's text, from seed 16.
fn export() -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let mut out = String::from(
        "event_time,anon_user,plat,app_build,ctry,channel,device_class,pdp_viewed,cart_add,checkout_start,order_placed,order_value\n",
    );
    let start = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let broken_from = chrono::NaiveDate::from_ymd_opt(2026, 4, 8).unwrap();
    let pick = |rng: &mut rand_chacha::ChaCha8Rng, options: &[(&'static str, f64)]| -> &'static str {
        let mut x: f64 = rng.random();
        for (value, weight) in options {
            if x < *weight {
                return value;
            }
            x -= weight;
        }
        options.last().unwrap().0
    };
    let flag = |b: bool| if b { "Y" } else { "N" };
    for day in 0..14u64 {
        let date = start + chrono::Days::new(day);
        for _ in 0..SESSIONS_PER_DAY {
            let seconds: u32 = rng.random_range(0..86_400);
            let time = date.and_hms_opt(seconds / 3600, seconds / 60 % 60, seconds % 60).unwrap();
            let user = format!("u{:05}", rng.random_range(0..3_000));
            let plat = pick(&mut rng, &[("ios", 0.25), ("android", 0.4), ("web", 0.35)]);
            let build = match plat {
                "ios" => pick(&mut rng, &[("5.2.0", 0.4), ("5.3.0", 0.6)]),
                "android" => pick(&mut rng, &[("7.3.0", 0.3), ("7.3.1", 0.7)]),
                _ => "",
            };
            let country = pick(&mut rng, &[("US", 0.4), ("DE", 0.2), ("GB", 0.2), ("FR", 0.15), ("", 0.05)]);
            let channel = pick(&mut rng, &[("organic", 0.5), ("paid", 0.3), ("email", 0.2)]);
            let device = match plat {
                "web" => pick(&mut rng, &[("desktop", 0.7), ("phone", 0.3)]),
                _ => pick(&mut rng, &[("phone", 0.85), ("tablet", 0.15)]),
            };
            let broken = plat == "android" && build == "7.3.1" && date >= broken_from;
            let viewed = rng.random_bool(0.6);
            let carted = viewed && rng.random_bool(0.4);
            let checkout = carted && rng.random_bool(0.65);
            let ordered = checkout && rng.random_bool(if broken { 0.1 } else { 0.65 });
            let value = if ordered { format!("{:.2}", rng.random_range(15.0..120.0)) } else { String::new() };
            out.push_str(&format!(
                "{},{user},{plat},{build},{country},{channel},{device},{},{},{},{},{value}\n",
                time.format("%Y-%m-%d %H:%M:%S"),
                flag(viewed),
                flag(carted),
                flag(checkout),
                flag(ordered)
            ));
        }
    }
    out
}

/// The committed sample is what [`export`] writes (same seed, same data), and small.
#[test]
fn the_sample_is_reproducible_and_small() {
    let path = sample("warehouse_export.csv");
    if std::env::var_os("DROPCASE_WRITE_SAMPLE").is_some() {
        std::fs::write(&path, export()).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("data/warehouse_export.csv");
    assert!(
        committed == export(),
        "data/warehouse_export.csv differs from its generator: DROPCASE_WRITE_SAMPLE=1 writes it again"
    );
    assert!(committed.len() < 1_000_000, "{} bytes", committed.len());
    assert_eq!(committed.lines().count(), 1 + 14 * SESSIONS_PER_DAY);
}

/// The held-out style case of issue 16, end to end with the schema file: the top root
/// cause is the broken segment, from the rows and from their cube alike.
#[test]
fn diagnose_names_the_broken_build_in_the_warehouse_export() {
    let sb = Sandbox::new();
    let (csv, schema) = (sample("warehouse_export.csv"), sample("warehouse_schema.toml"));
    let (csv, schema) = (csv.to_str().unwrap(), schema.to_str().unwrap());
    // Default windows: the last 7 days of the data against the 7 before.
    let rows = json_of(&mut sb.cmd(&["diagnose", "--data", csv, "--schema", schema, "--format", "json"]));
    assert_eq!(rows["baseline"], serde_json::json!({"from": "2026-04-01", "to": "2026-04-07"}));
    assert_eq!(rows["kind"], "localised", "{rows}");
    let top = &rows["root_causes"][0];
    assert_eq!(top["terms"], serde_json::json!({"app_build": "7.3.1"}), "{rows}");
    assert_eq!(top["implied"]["plat"], "android", "{top}");
    assert_eq!(top["step"], "purchase", "{top}");
    sb.cmd(&[
        "cube",
        "--data",
        csv,
        "--schema",
        schema,
        "--by",
        "plat,app_build,ctry,channel,device_class",
        "--out",
        "cube.parquet",
    ])
    .assert()
    .success();
    let cubed = json_of(&mut sb.cmd(&["diagnose", "--cube", "cube.parquet", "--format", "json"]));
    crate::cube::assert_same(&rows["root_causes"], &cubed["root_causes"], "root causes from the cube");
}
