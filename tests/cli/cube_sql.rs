//! `dropcase cube --sql` on real engines (issue 16): the query printed for DuckDB and for
//! PostgreSQL, run there over a generated drill's sessions, gives the cube `dropcase cube
//! --out` writes for the same arguments — same columns, same types, same rows.
//!
//! DuckDB is the `duckdb` Python package (PyPI), PostgreSQL Debian's server, started here
//! as a throw-away cluster on 127.0.0.1 and a free port and stopped at the end. Without
//! them the tests say so and pass, except under `.ci/run`, which installs both and sets
//! `DROPCASE_REQUIRE_DUCKDB` / `DROPCASE_REQUIRE_POSTGRES` so that a missing engine fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;

use crate::cube::drill;
use crate::support::Sandbox;

const BASELINE: &str = "2026-03-16..2026-03-22";
const CURRENT: &str = "2026-03-23..2026-03-29";

/// The cubes compared: (--by, extra flags).
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("platform,country", vec![]),
        ("device,browser", vec!["--baseline", BASELINE, "--current", CURRENT]),
        ("platform,app_version", vec!["--grain", "hour"]),
        ("", vec!["--baseline", BASELINE, "--current", CURRENT]),
    ]
}

/// Whether an engine the test needs is missing; fails instead when CI requires it.
fn missing(engine: &str, require_env: &str, present: bool) -> bool {
    if present {
        return false;
    }
    assert!(
        std::env::var_os(require_env).is_none(),
        "{engine} is not installed, and {require_env} is set (.ci/run installs it)"
    );
    eprintln!("skipping: {engine} is not installed (.ci/run installs it)");
    true
}

/// The product drills compared, each with its `--product` and (--by, extra flags) cases.
fn product_cases(sb: &Sandbox) -> Vec<ProductDrill> {
    let (b, c) = crate::cube::product_drill(sb, "wau_push_outage", "3", "40000", "app");
    let engagement = ProductDrill {
        dir: "app",
        product: "engagement_app",
        cases: vec![
            ("platform,country".into(), vec![]),
            ("acquisition".into(), vec!["--baseline".into(), b, "--current".into(), c]),
            ("app_version".into(), vec!["--grain".into(), "hour".into()]),
        ],
    };
    crate::cube::product_drill(sb, "email_verification_domain", "2", "30000", "saas");
    let saas = ProductDrill { dir: "saas", product: "saas", cases: vec![("plan,device".into(), vec![])] };
    vec![engagement, saas]
}

/// A product's drill in the sandbox and the cubes compared on it.
struct ProductDrill {
    dir: &'static str,
    product: &'static str,
    cases: Vec<(String, Vec<String>)>,
}

impl ProductDrill {
    /// (label, the polars cube, the SQL for `dialect` over the table `table`) per case.
    fn cubes(&self, sb: &Sandbox, dialect: &str, table: &str) -> Vec<(String, DataFrame, String)> {
        self.cases
            .iter()
            .enumerate()
            .map(|(i, (by, flags))| {
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                let name = format!("{}{i}.parquet", self.dir);
                let expected = polars_cube(sb, self.dir, by, &flags, &name);
                let sql_flags = [&flags[..], &["--product", self.product]].concat();
                let sql = cube_sql_of(sb, dialect, table, by, &sql_flags);
                (format!("{} --by '{by}' {flags:?}", self.product), expected, sql)
            })
            .collect()
    }
}

/// The polars cube `dropcase cube --out` writes for `by` and `flags` of the drill in `data`.
fn polars_cube(sb: &Sandbox, data: &str, by: &str, flags: &[&str], name: &str) -> DataFrame {
    let mut args = vec!["cube", "--data", data, "--out", name];
    if !by.is_empty() {
        args.extend(["--by", by]);
    }
    args.extend(flags);
    sb.cmd(&args).assert().success();
    read_parquet(&sb.join(name))
}

/// The SQL `dropcase cube --sql` prints for `dialect` over the table `sessions`, without
/// its final `;`.
fn cube_sql(sb: &Sandbox, dialect: &str, by: &str, flags: &[&str]) -> String {
    cube_sql_of(sb, dialect, "sessions", by, flags)
}

/// The SQL `dropcase cube --sql` prints for `dialect` over `table`, without its final `;`.
fn cube_sql_of(sb: &Sandbox, dialect: &str, table: &str, by: &str, flags: &[&str]) -> String {
    let mut args = vec!["cube", "--sql", "--dialect", dialect, "--table", table];
    if !by.is_empty() {
        args.extend(["--by", by]);
    }
    args.extend(flags);
    let out = sb.cmd(&args).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    text.trim_end().trim_end_matches(';').to_string()
}

pub fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap();
    ParquetReader::new(file).finish().unwrap()
}

/// Asserts two cubes hold the same columns (names, order, types) and rows. Counts,
/// dimension values and dates must be equal; float sums equal to 1e-9 of their size,
/// because engines add in different orders and IEEE addition is not associative (the
/// last bits differ; one cent or one session more would be ~1e-6 and beyond).
pub fn assert_same_cube(expected: &DataFrame, actual: &DataFrame, what: &str) {
    let names = |df: &DataFrame| df.get_column_names().iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(names(expected), names(actual), "{what}: columns");
    assert_eq!(expected.height(), actual.height(), "{what}: rows");
    assert!(expected.height() > 0, "{what}: an empty cube proves nothing");
    let keys: Vec<String> = names(expected)
        .into_iter()
        .filter(|n| !expected.column(n).unwrap().dtype().is_primitive_numeric() || n == "hour")
        .collect();
    let sort = |df: &DataFrame| {
        df.sort(keys.clone(), SortMultipleOptions::default().with_nulls_last(false).with_maintain_order(true))
            .unwrap()
    };
    let (e, a) = (sort(expected), sort(actual));
    for column in e.columns() {
        let name = column.name();
        let other = a.column(name).unwrap();
        assert_eq!(column.dtype(), other.dtype(), "{what}: type of {name}");
        if column.dtype().is_float() {
            let (x, y) = (column.f64().unwrap(), other.f64().unwrap());
            for (i, (x, y)) in x.iter().zip(y.iter()).enumerate() {
                let (x, y) = (x.unwrap(), y.unwrap());
                assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12),
                    "{what}: {name} row {i}: {x} vs {y}"
                );
            }
        } else {
            assert!(
                column.as_materialized_series().equals_missing(other.as_materialized_series()),
                "{what}: {name} differs:\n{column:?}\n{other:?}"
            );
        }
    }
}

fn python_has_duckdb() -> bool {
    Command::new("python3").args(["-c", "import duckdb"]).output().is_ok_and(|o| o.status.success())
}

/// Runs `sql` on DuckDB over the Parquet `sessions` as the view `sessions`, into `out`.
fn run_duckdb(sessions: &Path, sql: &str, sql_file: &Path, out: &Path) {
    let script = "import duckdb, sys\n\
        con = duckdb.connect()\n\
        con.execute(\"CREATE VIEW sessions AS SELECT * FROM read_parquet('\" + sys.argv[1] + \"')\")\n\
        con.execute(\"COPY (\" + open(sys.argv[2]).read() + \") TO '\" + sys.argv[3] + \"' (FORMAT PARQUET)\")\n";
    std::fs::write(sql_file, sql).unwrap();
    let run =
        Command::new("python3").args(["-c", script]).arg(sessions).arg(sql_file).arg(out).output().unwrap();
    assert!(run.status.success(), "duckdb failed on\n{sql}\n{}", String::from_utf8_lossy(&run.stderr));
}

#[test]
fn duckdb_builds_the_cube_polars_builds() {
    if missing("DuckDB (python3 -m pip install duckdb)", "DROPCASE_REQUIRE_DUCKDB", python_has_duckdb()) {
        return;
    }
    let sb = Sandbox::new();
    let dir = drill(&sb, false);
    let sessions = dir.join("sessions.parquet");
    for (i, (by, flags)) in cases().into_iter().enumerate() {
        let expected = polars_cube(&sb, "drill", by, &flags, &format!("polars{i}.parquet"));
        let sql = cube_sql(&sb, "duckdb", by, &flags);
        let out = sb.join(&format!("duckdb{i}.parquet"));
        run_duckdb(&sessions, &sql, &sb.join(&format!("duckdb{i}.sql")), &out);
        assert_same_cube(&expected, &read_parquet(&out), &format!("duckdb --by '{by}' {flags:?}"));
    }
    // The engagement app's and the SaaS product's drills, with `--product`.
    for drill in product_cases(&sb) {
        let sessions = sb.join(drill.dir).join("sessions.parquet");
        for (i, (what, expected, sql)) in drill.cubes(&sb, "duckdb", "sessions").into_iter().enumerate() {
            let out = sb.join(&format!("duckdb_{}{i}.parquet", drill.dir));
            run_duckdb(&sessions, &sql, &sb.join(&format!("duckdb_{}{i}.sql", drill.dir)), &out);
            assert_same_cube(&expected, &read_parquet(&out), &format!("duckdb {what}"));
        }
    }
}

/// A throw-away PostgreSQL cluster on 127.0.0.1, stopped when dropped.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

/// Debian's server binaries: `initdb` on PATH, else under /usr/lib/postgresql/*/bin.
fn postgres_bin() -> Option<PathBuf> {
    if let Ok(out) = Command::new("sh").args(["-c", "command -v initdb"]).output()
        && out.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        return std::fs::canonicalize(path).ok().and_then(|p| p.parent().map(Path::to_path_buf));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

impl Postgres {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            // The server refuses to run as root: run it as Debian's `postgres` user.
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    fn start(bin: PathBuf) -> Postgres {
        let dir = tempfile::Builder::new().prefix("dropcase-pg").tempdir().unwrap();
        let as_postgres = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if as_postgres {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Postgres { bin, data: dir.path().join("data"), port, as_postgres, _dir: dir };
        let init = pg
            .command("initdb")
            .args(["-U", "postgres", "--auth=trust", "--locale=C", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&pg.data)
            .output()
            .unwrap();
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        // A throw-away cluster: no fsync (nothing here must survive a crash).
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off",
            pg.data.display()
        );
        let start = pg
            .command("pg_ctl")
            .arg("-D")
            .arg(&pg.data)
            .args(["-w", "-t", "30", "-l"])
            .arg(pg.data.join("server.log"))
            .args(["-o", &options, "start"])
            .output()
            .unwrap();
        assert!(start.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&start.stderr));
        pg
    }

    /// `psql` on the cluster: the client runs as anyone, over TCP.
    fn psql(&self, sql: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres"])
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .unwrap();
        assert!(out.status.success(), "psql failed on\n{sql}\n{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .output();
    }
}

impl Postgres {
    /// Loads a drill's `sessions.parquet` into the table `name`, of the same columns (through
    /// CSV).
    fn load(&self, sb: &Sandbox, name: &str, parquet: &Path) {
        let mut sessions = read_parquet(parquet);
        let csv = sb.join(&format!("{name}.csv"));
        CsvWriter::new(std::fs::File::create(&csv).unwrap())
            .include_header(true)
            .finish(&mut sessions)
            .unwrap();
        let columns: Vec<String> = sessions
            .columns()
            .iter()
            .map(|c| {
                let kind = match c.dtype() {
                    DataType::Boolean => "boolean",
                    DataType::Date => "date",
                    DataType::Datetime(..) => "timestamp",
                    DataType::Float64 => "double precision",
                    d if d.is_integer() => "bigint",
                    _ => "text",
                };
                format!("\"{}\" {kind}", c.name())
            })
            .collect();
        self.psql(&format!("CREATE TABLE {name} ({})", columns.join(", ")));
        self.psql(&format!("\\copy {name} FROM '{}' WITH (FORMAT csv, HEADER)", csv.display()));
    }

    /// The result of `sql`, typed as `expected` is (through CSV, which carries no types).
    fn cube(&self, sb: &Sandbox, sql: &str, expected: &DataFrame, name: &str) -> DataFrame {
        let out = self.psql(&format!("COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"));
        let path = sb.join(name);
        std::fs::write(&path, out).unwrap();
        let text = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path))
            .unwrap()
            .finish()
            .unwrap();
        let typed: Vec<Column> = expected
            .columns()
            .iter()
            .map(|c| {
                let raw = text.column(c.name()).unwrap().as_materialized_series().clone();
                raw.cast(c.dtype()).unwrap().into_column()
            })
            .collect();
        DataFrame::new(text.height(), typed).unwrap()
    }
}

#[test]
fn postgres_builds_the_cube_polars_builds() {
    let bin = postgres_bin();
    if missing("PostgreSQL (apt-get install postgresql)", "DROPCASE_REQUIRE_POSTGRES", bin.is_some()) {
        return;
    }
    let sb = Sandbox::new();
    let dir = drill(&sb, false);
    let pg = Postgres::start(bin.expect("checked"));
    pg.load(&sb, "sessions", &dir.join("sessions.parquet"));
    for (i, (by, flags)) in cases().into_iter().enumerate() {
        let expected = polars_cube(&sb, "drill", by, &flags, &format!("polars{i}.parquet"));
        let sql = cube_sql(&sb, "postgres", by, &flags);
        let actual = pg.cube(&sb, &sql, &expected, &format!("postgres{i}.csv"));
        assert_same_cube(&expected, &actual, &format!("postgres --by '{by}' {flags:?}"));
    }
    // The engagement app's and the SaaS product's drills, each its own table, with `--product`.
    for drill in product_cases(&sb) {
        let table = format!("{}_rows", drill.dir);
        pg.load(&sb, &table, &sb.join(drill.dir).join("sessions.parquet"));
        for (i, (what, expected, sql)) in drill.cubes(&sb, "postgres", &table).into_iter().enumerate() {
            let actual = pg.cube(&sb, &sql, &expected, &format!("postgres_{}{i}.csv", drill.dir));
            assert_same_cube(&expected, &actual, &format!("postgres {what}"));
        }
    }
}
