//! A helper that runs `dropcase` in a temporary folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temporary folder") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `dropcase ARGS` run inside the sandbox, with its own config home so tests never
    /// touch the user's current drill.
    pub fn cmd(&self, args: &[&str]) -> Command {
        // DROPCASE_TEST_BIN runs a copied binary: worktrees that share one target folder
        // overwrite each other's target/debug/dropcase between build and test.
        let mut cmd = match std::env::var_os("DROPCASE_TEST_BIN") {
            Some(bin) => Command::new(bin),
            None => Command::cargo_bin("dropcase").expect("binary built"),
        };
        cmd.current_dir(self.path())
            .env("DROPCASE_HOME", self.path().join(".dropcase-home"))
            .env("NO_COLOR", "1")
            // Tables fit $COLUMNS when it is set: tests choose it themselves.
            .env_remove("COLUMNS")
            .args(args);
        cmd
    }
}

/// Path of a fixture under tests/data.
/// `app_release_bug` with the dates its file was written with (March 2026): the catalogue's
/// calendar moves with the seed, and tests that name dates need fixed ones. Written to `path`.
pub fn write_fixed_calendar_scenario(path: &Path) {
    let text = dropcase::scenario::catalogue::EMBEDDED
        .iter()
        .find(|(name, _)| *name == "app_release_bug")
        .expect("in the catalogue")
        .1
        .lines()
        .filter(|l| !l.starts_with("calendar_weeks"))
        .map(|l| if l.starts_with("start = ") { "start = \"2026-03-02\"" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(path, text).unwrap();
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// Builds a small drill folder from the hand-written fixture `tests/data/tiny/` the way
/// the generator lays one out: `sessions.parquet` (dimensions Enum-encoded, `date` added),
/// `orders.parquet`, `rollup.parquet` (per date × dimension combination), `context/` and
/// `drill.toml` (baseline 2026-03-01..02, current 2026-03-03..04). Returns its path.
pub fn tiny_drill(sandbox: &Sandbox) -> PathBuf {
    use polars::prelude::*;

    let dir = sandbox.join("tiny-drill");
    std::fs::create_dir_all(dir.join("context")).unwrap();
    let dims = [
        "platform",
        "app_version",
        "os_version",
        "browser",
        "device",
        "country",
        "traffic_source",
        "user_type",
        "payment_method",
    ];
    let read_csv = |name: &str, text: &[&str]| -> DataFrame {
        let text: Vec<String> = text.iter().map(|s| s.to_string()).collect();
        LazyCsvReader::new(PlRefPath::try_from_path(&fixture(name)).unwrap())
            .with_try_parse_dates(true)
            .with_schema_modify(move |mut schema: Schema| {
                for t in &text {
                    schema.set_dtype(t, DataType::String);
                }
                Ok(schema)
            })
            .unwrap()
            .finish()
            .unwrap()
            .collect()
            .unwrap()
    };
    let plain = read_csv("tiny/sessions.csv", &dims)
        .lazy()
        .with_column(col("ts").dt().date().alias("date"))
        .collect()
        .unwrap();
    // Enum-encode the dimensions, as the generator does.
    let mut enums = Vec::new();
    for dim in dims {
        let values = plain.column(dim).unwrap().str().unwrap().clone();
        let mut categories: Vec<&str> = values.iter().flatten().collect();
        categories.sort_unstable();
        categories.dedup();
        let categories = FrozenCategories::new(categories.iter().copied()).unwrap();
        enums.push(col(dim).cast(DataType::from_frozen_categories(categories)));
    }
    let write = |df: &mut DataFrame, name: &str| {
        let file = std::fs::File::create(dir.join(name)).unwrap();
        ParquetWriter::new(file).finish(df).unwrap();
    };
    let mut sessions = plain.clone().lazy().with_columns(enums.clone()).collect().unwrap();
    write(&mut sessions, "sessions.parquet");

    // Grouped on text: polars here cannot group by several Enum columns.
    let mut keys = vec![col("date")];
    keys.extend(dims.iter().map(|d| col(*d)));
    let count = |flag: &str| col(flag).sum().cast(DataType::UInt64);
    let mut rollup = plain
        .lazy()
        .group_by(keys)
        .agg([
            len().cast(DataType::UInt64).alias("sessions"),
            count("viewed_product"),
            count("added_to_cart"),
            count("reached_checkout"),
            count("purchased"),
            col("revenue").sum(),
            (col("revenue") * col("revenue")).sum().alias("revenue_sq"),
        ])
        .with_columns(enums)
        .collect()
        .unwrap();
    write(&mut rollup, "rollup.parquet");

    let mut orders = read_csv("tiny/orders.csv", &["platform", "country", "payment_method"]);
    write(&mut orders, "orders.parquet");
    for name in ["releases.csv", "marketing.csv"] {
        std::fs::copy(fixture(&format!("tiny/context/{name}")), dir.join("context").join(name)).unwrap();
    }
    std::fs::write(dir.join("drill.toml"), TINY_BRIEF).unwrap();
    dir
}

const TINY_BRIEF: &str = r#"kind = "drop"
prompt = "Conversion fell from 25% to 20%. Find out why."
metric = "conversion"
data_from = "2026-03-01"
data_to = "2026-03-04"
seed = 7
sessions = 40

[baseline]
from = "2026-03-01"
to = "2026-03-02"

[current]
from = "2026-03-03"
to = "2026-03-04"

[[tables]]
name = "sessions"
about = "one row per session"

[[definitions]]
metric = "conversion"
definition = "purchased / sessions"
"#;

/// Parses a command's stdout as JSON, failing loudly with stderr on error.
pub fn json_of(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("command runs");
    assert!(out.status.success(), "command failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Held by the tests that load both cores for a while (the fuzz run, the 30-learner serve
/// load test), so they never run at the same time and push each other's bounded cases past
/// their time limits.
pub fn heavy_test() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
