//! `--engine sc://HOST:PORT` (issue 16): Spark builds the cube over a Hive-partitioned
//! drill, and `diagnose`, `query` and `cube --out` continue from it exactly as from the
//! rows. Bad engines, tables and columns are refused by name, with nothing written.
//!
//! The server is the Spark Connect server the `pyspark[connect]` package (PyPI) bundles,
//! run on Java 17, started here on 127.0.0.1 and a free port within a time limit, and
//! killed when the test ends. Without pyspark or java the test says so and passes, except
//! under `.ci/run`, which installs pyspark and sets `DROPCASE_REQUIRE_SPARK` so that a
//! missing server fails.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cube::{DIMS, assert_same, drill};
use crate::cube_sql::{assert_same_cube, read_parquet};
use crate::support::{Sandbox, heavy_test, json_of};

/// How long the server may take to open its port (it starts a JVM and a local Spark).
const START_LIMIT: Duration = Duration::from_secs(240);
/// How long one dropcase command may take against the server.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);

/// A local Spark Connect server, killed when dropped.
struct SparkServer {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// `$SPARK_HOME` of the pyspark package, when it and java are installed.
fn spark_home() -> Option<PathBuf> {
    let java = Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    let out = Command::new("python3")
        .args(["-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"])
        .output()
        .ok()?;
    let home = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let connect_jar = std::fs::read_dir(home.join("jars"))
        .ok()?
        .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("spark-connect_")));
    (java && out.status.success() && connect_jar).then_some(home)
}

impl SparkServer {
    /// The server, or `None` (the test skips) when pyspark or java is missing outside CI.
    fn start() -> Option<SparkServer> {
        let Some(home) = spark_home() else {
            assert!(
                std::env::var_os("DROPCASE_REQUIRE_SPARK").is_none(),
                "pyspark[connect] (with its Spark Connect jar) or java is not installed, and DROPCASE_REQUIRE_SPARK is set (.ci/run installs it)"
            );
            eprintln!("skipping: pyspark[connect] or java is not installed (.ci/run installs them)");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("dropcase-spark").tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.path().join("server.log");
        let conf = |key: &str, value: &str| ["--conf".to_string(), format!("{key}={value}")];
        let mut cmd = Command::new(home.join("bin").join("spark-submit"));
        cmd.current_dir(dir.path())
            .env("SPARK_HOME", &home)
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .args(["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"])
            .args(["--name", "dropcase-test", "--master", "local[2]", "--driver-memory", "1g"])
            .args(conf("spark.connect.grpc.binding.address", "127.0.0.1"))
            .args(conf("spark.connect.grpc.binding.port", &port.to_string()))
            .args(conf("spark.driver.bindAddress", "127.0.0.1"))
            .args(conf("spark.driver.host", "127.0.0.1"))
            .args(conf("spark.ui.enabled", "false"))
            .args(conf("spark.sql.shuffle.partitions", "4"))
            .args(conf("spark.local.dir", dir.path().join("scratch").to_str().unwrap()))
            .args(conf("spark.sql.warehouse.dir", dir.path().join("warehouse").to_str().unwrap()))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("server.err")).unwrap());
        let child = cmd.spawn().expect("spark-submit starts");
        let mut server = SparkServer { child, port, log, _dir: dir };
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok() {
                return Some(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "the Spark Connect server exited ({status}) before opening its port:\n{}",
                    server.logs()
                );
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "the Spark Connect server did not open port {port} within {START_LIMIT:?}:\n{}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn url(&self) -> String {
        format!("sc://127.0.0.1:{}", self.port)
    }

    /// The end of the server's output, for failure messages.
    fn logs(&self) -> String {
        let mut text = String::new();
        for name in [self.log.clone(), self.log.with_file_name("server.err")] {
            if let Ok(mut file) = std::fs::File::open(name) {
                let _ = file.read_to_string(&mut text);
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for SparkServer {
    fn drop(&mut self) {
        // spark-submit execs the JVM, so the child is the server itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_json(sb: &Sandbox, args: &[&str], raw: bool) -> Value {
    let mut cmd = sb.cmd(args);
    cmd.timeout(COMMAND_LIMIT);
    if raw {
        cmd.env("DROPCASE_NO_ROLLUP", "1");
    }
    json_of(&mut cmd)
}

/// Runs a command that must fail with exit code 1; its stderr.
fn refused(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.cmd(args).timeout(COMMAND_LIMIT).assert().code(1);
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

#[test]
fn spark_builds_the_cube_and_diagnose_names_the_causes_the_rows_do() {
    let _heavy = heavy_test();
    let Some(server) = SparkServer::start() else { return };
    let url = server.url();
    let sb = Sandbox::new();
    let dir = drill(&sb, true);
    assert!(dir.join("sessions").is_dir(), "the drill is Hive-partitioned (sessions/date=.../)");

    // The cube: Spark's equals the polars cube of the same rows (columns, types, rows).
    sb.cmd(&["cube", "--data", "drill", "--by", DIMS, "--out", "local.parquet"]).assert().success();
    let built = sb
        .cmd(&["cube", "--engine", &url, "--data", "drill", "--by", DIMS, "--out", "spark.parquet"])
        .timeout(COMMAND_LIMIT)
        .assert();
    let out = built.get_output();
    assert!(
        out.status.success(),
        "cube --engine failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    assert_same_cube(
        &read_parquet(&sb.join("local.parquet")),
        &read_parquet(&sb.join("spark.parquet")),
        "cube --engine --by all dimensions",
    );

    // Diagnose: the same funnel, mix split and root causes as the raw rows (onsets are
    // dated on a drill's own daily rollup, which a cube does not hold), and the same
    // report as the local cube gives.
    let mut raw = run_json(&sb, &["diagnose", "--data", "drill", "--format", "json"], true);
    let spark = run_json(&sb, &["diagnose", "--engine", &url, "--data", "drill", "--format", "json"], false);
    let cubed = run_json(&sb, &["diagnose", "--cube", "local.parquet", "--format", "json"], false);
    for cause in raw["root_causes"].as_array_mut().unwrap() {
        cause.as_object_mut().unwrap().remove("onset");
    }
    assert!(!raw["root_causes"].as_array().unwrap().is_empty(), "{raw}");
    for field in [
        "baseline",
        "current",
        "baseline_value",
        "current_value",
        "p_value",
        "funnel",
        "mix_vs_rate",
        "root_causes",
        "verdict",
    ] {
        assert_same(&raw[field], &spark[field], field);
    }
    assert_same(&cubed, &spark, "diagnose --engine vs --cube");

    // Queries: a compare with a filter and an hourly trend, as on the rows.
    let compare = [
        "query",
        "compare",
        "--metric",
        "conversion",
        "--by",
        "device",
        "--where",
        "platform=ios",
        "--format",
        "json",
    ];
    let raw_compare = run_json(&sb, &[&compare[..], &["--data", "drill"]].concat(), true);
    let spark_compare =
        run_json(&sb, &[&compare[..], &["--engine", &url, "--data", "drill"]].concat(), false);
    assert_same(&raw_compare, &spark_compare, "query compare --engine");
    let trend = [
        "query",
        "trend",
        "--metric",
        "conversion",
        "--by",
        "platform",
        "--grain",
        "hour",
        "--format",
        "json",
    ];
    let raw_trend = run_json(&sb, &[&trend[..], &["--data", "drill"]].concat(), true);
    let spark_trend = run_json(&sb, &[&trend[..], &["--engine", &url, "--data", "drill"]].concat(), false);
    assert!(raw_trend["points"].as_array().unwrap().len() > 24, "{raw_trend}");
    assert_same(&raw_trend, &spark_trend, "query trend --grain hour --engine");

    // Bad input on a live server: a table or a column that does not exist, files Spark
    // cannot read. Each names what is wrong; nothing is written.
    let err = refused(&sb, &["cube", "--engine", &url, "--table", "no_such_table", "--out", "t.parquet"]);
    assert!(err.contains("no_such_table") && err.contains("Spark"), "{err}");
    let err =
        refused(&sb, &["cube", "--engine", &url, "--data", "drill", "--by", "devise", "--out", "d.parquet"]);
    assert!(err.contains("unknown dimension 'devise'") && err.contains("did you mean 'device'"), "{err}");
    let err = refused(&sb, &["diagnose", "--engine", &url, "--data", "no_such_folder"]);
    assert!(err.contains("no_such_folder"), "{err}");
    for name in ["t.parquet", "d.parquet"] {
        assert!(!sb.join(name).exists(), "{name} was written");
    }
}

/// No server needed: an engine nobody listens on and URLs that are not Spark Connect's
/// are refused at once by name, exit 1, within a time limit, with nothing written.
#[test]
fn an_unreachable_engine_or_a_bad_url_is_refused_by_name() {
    let sb = Sandbox::new();
    let limit = Duration::from_secs(60);
    let started = Instant::now();
    let out = sb
        .cmd(&["cube", "--engine", "sc://127.0.0.1:1", "--data", "x", "--out", "c.parquet"])
        .timeout(limit)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("cannot reach the Spark Connect server sc://127.0.0.1:1"), "{err}");
    assert!(started.elapsed() < limit, "refusing took {:?}", started.elapsed());
    let out =
        sb.cmd(&["diagnose", "--engine", "sc://127.0.0.1:1", "--data", "x"]).timeout(limit).assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("cannot reach"), "{err}");
    for (url, says) in
        [("http://127.0.0.1:15002", "is not a Spark Connect URL"), ("sc://host:port", "is not a number")]
    {
        let out = sb
            .cmd(&["query", "compare", "--by", "device", "--engine", url, "--data", "x"])
            .timeout(limit)
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(says) && err.contains(url), "{url}: {err}");
    }
    assert!(!sb.join("c.parquet").exists(), "c.parquet was written");
}
