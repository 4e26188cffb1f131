//! `--engine sc://HOST:PORT`: the cube built by a Spark Connect server where the rows live.
//! The query is the one `dropcase cube --sql --dialect spark` prints ([`super::sql`]), run
//! over the user's table (`--table NAME`) or files (`--data PATH`: Parquet, a folder of
//! `key=value/` Parquet partitions, a drill folder, or CSV, read by Spark itself). Spark
//! answers with Arrow record batches; they become a polars frame with the cube's columns and
//! go through the same reader as `--cube FILE` ([`super::from_frame`]), so everything after
//! this point is what a cube file gets.
//!
//! The client is Apache's Spark Connect crate (`apache-spark-connect`, synchronous). Its
//! polars feature pins another polars, so the Arrow batches are decoded here. Before the
//! first call the server's port is probed with a bounded TCP connect, because the client
//! retries an unavailable server with exponential backoff for minutes. The client reattaches
//! to a result stream that breaks, but not to one the server ends cleanly before the
//! result is complete — which a Spark Connect server does to every stream open longer than
//! `spark.connect.execute.reattachable.senderMaxStreamDuration` (2 minutes by default). A
//! cube query slower than that comes back empty; [`run`] tells that apart from an empty
//! source and says which server setting to raise.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use arrow::array::{Array, ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::DataType as ArrowType;
use arrow::record_batch::RecordBatch;
use polars::prelude::*;
use spark_connect::SparkSession;

use super::sql::{Dialect, SqlSpec, cube_sql};
use super::{CubeInfo, Time};
use crate::brief::Brief;
use crate::dataset::{ColumnMap, Dataset, Table};
use crate::product::Product;
use crate::schema::{files, sessions as s};

/// Spark Connect's default port, used when the URL names none.
pub const DEFAULT_PORT: u16 = 15002;
/// How long the first TCP connect to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The temporary view `--data` files are registered as (one per Spark session).
const SOURCE_VIEW: &str = "dropcase_source";

/// A Spark Connect endpoint, from `--engine sc://HOST[:PORT][/;key=value...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// The URL as given (passed to the client, parameters and all).
    pub url: String,
    pub host: String,
    pub port: u16,
}

impl Engine {
    /// Parses `--engine`, refusing anything but a Spark Connect URL.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let how = "write sc://HOST:PORT, e.g. sc://127.0.0.1:15002 (Spark Connect's default port is 15002)";
        let Some(rest) = url.strip_prefix("sc://") else {
            bail!("--engine '{url}' is not a Spark Connect URL: {how}");
        };
        let authority = rest.split(['/', ';']).next().unwrap_or("");
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, rest)) => (host, rest.strip_prefix(':')),
                None => bail!("--engine '{url}': the IPv6 host has no closing ']'; {how}"),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => port.parse().ok().filter(|p| *p > 0).with_context(|| {
                format!("--engine '{url}': the port '{port}' is not a number from 1 to 65535; {how}")
            })?,
        };
        if host.is_empty() {
            bail!("--engine '{url}' names no host: {how}");
        }
        if host.chars().any(|c| c.is_whitespace() || "@?#".contains(c)) {
            bail!("--engine '{url}': '{host}' is not a host name: {how}");
        }
        Ok(Self { url: url.to_string(), host: host.to_string(), port })
    }

    /// Fails unless something accepts TCP connections at the engine's address, within
    /// [`CONNECT_TIMEOUT`].
    fn probe(&self) -> anyhow::Result<()> {
        let unreachable = |why: String| {
            anyhow::anyhow!(
                "cannot reach the Spark Connect server {} ({why}): start it (e.g. $SPARK_HOME/sbin/start-connect-server.sh) or check --engine's host and port",
                self.url
            )
        };
        let addresses: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("cannot resolve host '{}': {e}", self.host)))?
            .collect();
        let mut last = String::from("no address");
        for address in addresses {
            match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("{address}: {e}"),
            }
        }
        Err(unreachable(last))
    }
}

/// Where the engine reads the sessions.
#[derive(Debug, Clone)]
pub enum Source {
    /// A table or view the engine knows (`--table NAME`).
    Table(String),
    /// Files the engine reads (`--data PATH`): a path the Spark server can open.
    Files(PathBuf),
}

/// What the engine builds and how: the cube's cut, the columns' map.
pub struct Request<'a> {
    pub source: &'a Source,
    /// The `--schema` map and its file.
    pub map: Option<(&'a ColumnMap, &'a Path)>,
    /// Dimensions to keep; `None` keeps every dimension the source has (as queries and
    /// `diagnose` cut by any of them).
    pub by: Option<&'a [String]>,
    pub time: Time,
}

impl Request<'_> {
    /// Whether the cube keeps only some rows (two windows), so that an empty cube of a
    /// source with rows can be an honest answer.
    fn time_filters_rows(&self) -> bool {
        matches!(self.time, Time::Windows(..))
    }
}

/// A cube built by the engine, read back.
pub struct EngineCube {
    pub table: Table,
    pub info: CubeInfo,
    /// The polars frame the Arrow result became (what `cube --out` writes).
    pub frame: DataFrame,
    /// For messages and `origin`: `sc://… table NAME` or `sc://… PATH`.
    pub what: String,
}

/// Opens `--engine URL` over `--table NAME` or `--data PATH` (default: the current drill)
/// as a dataset: the engine's cube of every dimension, cut by `time`. A drill folder keeps
/// its brief (so windows default as on its rows) and a `--schema` file its mix dimensions.
pub fn open(
    url: &str,
    data: Option<&Path>,
    table: Option<&str>,
    schema_file: Option<&Path>,
    time: Time,
) -> anyhow::Result<Dataset> {
    let engine = Engine::parse(url)?;
    let map = schema_file.map(ColumnMap::read).transpose()?;
    let (source, brief) = match (table, data) {
        (Some(_), Some(_)) => bail!("--table and --data both name the rows: give one"),
        (Some(name), None) => (Source::Table(name.to_string()), None),
        (None, data) => {
            let path = match data {
                Some(path) => path.to_path_buf(),
                None => crate::dataset::current_drill_dir()?,
            };
            let brief = if path.join(files::BRIEF).is_file() { Some(Brief::read(&path)?) } else { None };
            (Source::Files(path), brief)
        }
    };
    let file = schema_file.map(Path::to_path_buf).unwrap_or_default();
    let request = Request { source: &source, map: map.as_ref().map(|m| (m, file.as_path())), by: None, time };
    let cube = build(&engine, &request)?;
    let origin = match &source {
        Source::Files(path) => path.clone(),
        Source::Table(_) => PathBuf::from(&cube.what),
    };
    let mix = map.and_then(|m| m.mix_dimensions);
    Ok(Dataset::from_cube(origin, cube.table, cube.info, brief, mix))
}

/// Runs the cube query on the engine and reads the result as a cube.
pub fn build(engine: &Engine, request: &Request) -> anyhow::Result<EngineCube> {
    engine.probe()?;
    let session = SparkSession::builder()
        .remote(&engine.url)
        .get_or_create()
        .map_err(|e| anyhow::anyhow!("cannot open a Spark Connect session on {}: {e}", engine.url))?;
    let result = run(&session, engine, request);
    // The session's temporary view goes with it; a failed release is not the user's error.
    let _ = session.stop();
    result
}

fn run(session: &SparkSession, engine: &Engine, request: &Request) -> anyhow::Result<EngineCube> {
    let (relation, what) = match request.source {
        Source::Table(name) => {
            super::sql::check_table(name)?;
            (name.clone(), format!("table {name} on {}", engine.url))
        }
        Source::Files(path) => {
            register_files(session, engine, path)?;
            (SOURCE_VIEW.to_string(), format!("{} read by {}", path.display(), engine.url))
        }
    };
    let columns = source_columns(session, &relation, &what).map_err(|e| match request.source {
        Source::Table(name) if e.to_string().contains("TABLE_OR_VIEW_NOT_FOUND") => anyhow::anyhow!(
            "{e:#}; check --table {name} (SHOW TABLES on the server lists its tables; qualify a name as SCHEMA.NAME or CATALOG.SCHEMA.NAME)"
        ),
        _ => e,
    })?;
    let by = match request.by {
        Some(by) => by.to_vec(),
        None => dimensions_of(&columns, request.map),
    };
    check_columns(&columns, &by, request, &what)?;
    let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    // A map maps onto the shop's columns; unmapped rows are the product whose steps they have.
    let product = if request.map.is_some() { Product::shop() } else { super::product_of_columns(&names) };
    let sql = cube_sql(&SqlSpec {
        dialect: Dialect::Spark,
        table: &relation,
        by: &by,
        time: request.time,
        map: request.map,
        columns: Some(&names),
        product,
    })?;
    let sql = sql.trim_end().trim_end_matches(';');
    let batches = collect(session, sql)
        .map_err(|e| anyhow::anyhow!("Spark failed to build the cube of {what}: {e}"))?;
    let frame =
        to_polars(&batches).with_context(|| format!("cannot read the cube Spark built from {what}"))?;
    if frame.height() == 0 {
        // An empty answer from a source with rows is a result stream the server closed
        // before the end: this client does not reattach to a stream the server ends
        // cleanly, which Spark does after `senderMaxStreamDuration` (2 minutes by default).
        let has_rows = collect(session, &format!("SELECT 1 FROM {relation} LIMIT 1"))
            .is_ok_and(|batches| batches.iter().any(|b| b.num_rows() > 0));
        let cut = "Spark Connect ends a result stream after spark.connect.execute.reattachable.senderMaxStreamDuration, 2 minutes by default, and this client does not reattach to a stream ended that way; start the server with --conf spark.connect.execute.reattachable.senderMaxStreamDuration=30m, or give it more executors";
        if has_rows && !request.time_filters_rows() {
            bail!(
                "Spark ({}) answered the cube of {what} with no rows although it has rows: the server closed the result stream before the query finished ({cut})",
                engine.url
            );
        }
        bail!(
            "{what} holds no rows: the cube is empty (if it does hold rows, the query ran longer than the server keeps a result stream open: {cut})"
        );
    }
    let (table, info) =
        super::from_frame(frame.clone().lazy(), &format!("the cube of {what}"), Some(product))?;
    Ok(EngineCube { table, info, frame, what })
}

/// Registers `--data PATH` as [`SOURCE_VIEW`]: a drill folder's sessions, a Parquet file
/// or partitioned folder, or a CSV with a header row.
fn register_files(session: &SparkSession, engine: &Engine, path: &Path) -> anyhow::Result<()> {
    // A local path is made absolute (the server resolves paths from its own folder); one
    // that does not exist here may be the cluster's (hdfs://, s3a://, ...).
    let given = path.to_string_lossy();
    if !path.exists() && path.is_relative() && !given.contains("://") {
        bail!("--data {}: no such file or folder", path.display());
    }
    let mut path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if path.join(files::BRIEF).is_file() {
        let folder = path.join("sessions");
        path = if folder.is_dir() { folder } else { path.join(files::SESSIONS) };
    }
    let text = path.to_str().with_context(|| format!("--data {}: not a UTF-8 path", path.display()))?;
    let csv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let reader = session.read();
    let frame = if csv {
        reader.option("header", "true").option("inferSchema", "true").csv(text)
    } else {
        reader.parquet(text)
    };
    frame.create_or_replace_temp_view(SOURCE_VIEW).map_err(|e| {
        anyhow::anyhow!(
            "Spark ({}) cannot read --data {}: {e}; the path must be readable by the Spark server (a Parquet file, a folder of Parquet partitions, or a CSV with a header)",
            engine.url,
            path.display()
        )
    })
}

/// Runs one query on the engine and collects its Arrow batches; the server's message on
/// failure.
fn collect(session: &SparkSession, sql: &str) -> Result<Vec<RecordBatch>, String> {
    let frame = session.sql(sql).map_err(|e| server_message(&e.to_string()))?;
    frame.collect_record_batches().map_err(|e| server_message(&e.to_string()))
}

/// A Spark error as a user reads it: the message up to its `SQLSTATE` code, without the
/// logical plan Spark appends after it.
fn server_message(text: &str) -> String {
    const CODE: &str = "SQLSTATE: ";
    match text.find(CODE) {
        Some(at) => {
            let code_end = text[at + CODE.len()..]
                .find(|c: char| !c.is_ascii_alphanumeric())
                .map_or(text.len(), |n| at + CODE.len() + n);
            text[..code_end].trim_end().to_string()
        }
        None => text.trim_end().to_string(),
    }
}

/// The source's columns and their Arrow types, from a query that returns no rows.
fn source_columns(
    session: &SparkSession,
    relation: &str,
    what: &str,
) -> anyhow::Result<Vec<(String, ArrowType)>> {
    let batches = collect(session, &format!("SELECT * FROM {relation} LIMIT 0"))
        .map_err(|e| anyhow::anyhow!("Spark cannot read {what}: {e}"))?;
    let schema = match batches.first() {
        Some(batch) => batch.schema(),
        None => {
            // No batch for no rows: ask for the schema itself.
            let df = session
                .sql(&format!("SELECT * FROM {relation}"))
                .map_err(|e| anyhow::anyhow!("Spark cannot read {what}: {e}"))?;
            let names =
                df.columns().map_err(|e| anyhow::anyhow!("Spark cannot read the columns of {what}: {e}"))?;
            return Ok(names.into_iter().map(|n| (n, ArrowType::Null)).collect());
        }
    };
    Ok(schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect())
}

/// Dimensions of a source as `--data` would list them: the `--schema` file's, else
/// dropcase's dimensions and any other text column, in the source's column order.
fn dimensions_of(columns: &[(String, ArrowType)], map: Option<(&ColumnMap, &Path)>) -> Vec<String> {
    if let Some((map, _)) = map {
        return map.dimensions.clone();
    }
    let known = [s::SESSION_ID, s::USER_ID, s::TS, s::DATE, s::REVENUE, s::PAGE_LOAD_MS];
    columns
        .iter()
        .filter(|(name, dtype)| {
            s::DIMENSIONS.contains(&name.as_str())
                || (matches!(dtype, ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View)
                    && !known.contains(&name.as_str())
                    && !s::FUNNEL.contains(&name.as_str()))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Refuses, by name, a dimension or mapped column the source does not have.
fn check_columns(
    columns: &[(String, ArrowType)],
    by: &[String],
    request: &Request,
    what: &str,
) -> anyhow::Result<()> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let has = |name: &str| names.contains(&name);
    let listing = names.join(", ");
    let hint = |name: &str| crate::query::did_you_mean(name, names.iter().copied());
    for dim in by {
        if !has(dim) {
            bail!(
                "unknown dimension '{dim}'{}: {what} has no such column; its columns: {listing}",
                hint(dim)
            );
        }
    }
    match request.map {
        Some((map, file)) => {
            let f = &map.funnel;
            let keys = [
                ("timestamp", &map.timestamp),
                ("date", &map.date),
                ("revenue", &map.revenue),
                ("page_load_ms", &map.page_load_ms),
                ("funnel.viewed_product", &f.viewed_product),
                ("funnel.added_to_cart", &f.added_to_cart),
                ("funnel.reached_checkout", &f.reached_checkout),
                ("funnel.purchased", &f.purchased),
            ];
            for (key, theirs) in keys {
                if let Some(theirs) = theirs
                    && !has(theirs)
                {
                    bail!(
                        "{}: {key} = \"{theirs}\", but {what} has no column '{theirs}'{}; its columns: {listing}",
                        file.display(),
                        hint(theirs)
                    );
                }
            }
        }
        None => {
            if !has(s::DATE) {
                bail!(
                    "a cube needs the column '{}', which {what} does not have; its columns: {listing} (map yours with --schema)",
                    s::DATE
                );
            }
            if request.time == Time::Hours && !has(s::TS) {
                bail!(
                    "a cube per hour needs the column '{}', which {what} does not have; its columns: {listing}",
                    s::TS
                );
            }
        }
    }
    // Nothing else is needed: the SQL leaves out the measures the source lacks.
    Ok(())
}

/// Arrow record batches (Spark's result) as a polars frame: text, whole numbers, floats
/// and dates, each column cast to the cube's type for it.
pub fn to_polars(batches: &[RecordBatch]) -> anyhow::Result<DataFrame> {
    let Some(first) = batches.first() else {
        return Ok(DataFrame::empty_with_schema(&Schema::default()));
    };
    let schema = first.schema();
    let mut columns: Vec<Column> = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let name = PlSmallStr::from(field.name().as_str());
        let arrays: Vec<&ArrayRef> = batches.iter().map(|b| b.column(i)).collect();
        let column = match field.data_type() {
            ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View | ArrowType::Null => {
                let values =
                    gather::<StringArray, _>(&arrays, &ArrowType::Utf8, |a, j| a.value(j).to_string())?;
                Column::new(name, values)
            }
            ArrowType::Int8
            | ArrowType::Int16
            | ArrowType::Int32
            | ArrowType::Int64
            | ArrowType::UInt8
            | ArrowType::UInt16
            | ArrowType::UInt32 => {
                Column::new(name, gather::<Int64Array, _>(&arrays, &ArrowType::Int64, |a, j| a.value(j))?)
            }
            ArrowType::Float16 | ArrowType::Float32 | ArrowType::Float64 | ArrowType::Decimal128(..) => {
                Column::new(name, gather::<Float64Array, _>(&arrays, &ArrowType::Float64, |a, j| a.value(j))?)
            }
            ArrowType::Date32 | ArrowType::Date64 => {
                let days = gather::<Date32Array, _>(&arrays, &ArrowType::Date32, |a, j| a.value(j))?;
                Column::new(name, days).cast(&DataType::Date)?
            }
            other => bail!(
                "the result column '{}' has the Arrow type {other}, which a cube never holds",
                field.name()
            ),
        };
        columns.push(column);
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The values of one column across batches, each batch cast to `target` and read as `A`.
fn gather<A: Array + 'static, T>(
    arrays: &[&ArrayRef],
    target: &ArrowType,
    value: impl Fn(&A, usize) -> T,
) -> anyhow::Result<Vec<Option<T>>> {
    let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for array in arrays {
        let array: &dyn Array = &***array;
        let cast = arrow::compute::cast(array, target)?;
        let typed = cast
            .as_any()
            .downcast_ref::<A>()
            .with_context(|| format!("an Arrow column cast to {target} is not {target}"))?;
        for j in 0..typed.len() {
            out.push(if typed.is_null(j) { None } else { Some(value(typed, j)) });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn engine_urls_are_parsed_or_refused_by_name() {
        let e = Engine::parse("sc://127.0.0.1:15099").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 15099));
        let e = Engine::parse("sc://spark.example.com/;user_id=ana").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("spark.example.com", DEFAULT_PORT));
        let e = Engine::parse("sc://[::1]:7077").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 7077));
        for (bad, says) in [
            ("http://localhost:15002", "not a Spark Connect URL"),
            ("localhost:15002", "not a Spark Connect URL"),
            ("sc://", "names no host"),
            ("sc://:15002", "names no host"),
            ("sc://host:port", "the port 'port' is not a number"),
            ("sc://host:0", "the port '0' is not a number"),
            ("sc://host:99999", "the port '99999'"),
        ] {
            let err = Engine::parse(bad).unwrap_err().to_string();
            assert!(err.contains(says) && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn spark_messages_stop_at_their_sqlstate() {
        let text = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `t` cannot be found. SQLSTATE: 42P01; line 1 pos 14;\n'GlobalLimit 0\n+- 'UnresolvedRelation [t]";
        assert_eq!(
            server_message(text),
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `t` cannot be found. SQLSTATE: 42P01"
        );
        assert_eq!(server_message("connection reset\n"), "connection reset");
    }

    #[test]
    fn arrow_batches_become_a_frame_with_the_cube_types() {
        // Two batches, as Spark sends a result in parts: text with a null, a 32-bit count,
        // a float sum and a date (days since 1970: 20_513 is 2026-03-01).
        let schema = Arc::new(Schema::new(vec![
            Field::new("date", ArrowType::Date32, false),
            Field::new("platform", ArrowType::Utf8, true),
            Field::new("sessions", ArrowType::Int32, false),
            Field::new("revenue", ArrowType::Float64, false),
        ]));
        let batch = |d: i32, p: Option<&str>, n: i32, r: f64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Date32Array::from(vec![d])),
                    Arc::new(StringArray::from(vec![p])),
                    Arc::new(arrow::array::Int32Array::from(vec![n])),
                    Arc::new(Float64Array::from(vec![r])),
                ],
            )
            .unwrap()
        };
        let frame = to_polars(&[batch(20_513, Some("ios"), 3, 1.5), batch(20_514, None, 4, 0.0)]).unwrap();
        assert_eq!(frame.height(), 2);
        assert_eq!(frame.column("date").unwrap().dtype(), &DataType::Date);
        assert_eq!(frame.column("sessions").unwrap().dtype(), &DataType::Int64);
        assert_eq!(frame.column("sessions").unwrap().i64().unwrap().get(1), Some(4));
        assert_eq!(frame.column("platform").unwrap().str().unwrap().get(1), None);
        assert_eq!(frame.column("revenue").unwrap().f64().unwrap().get(0), Some(1.5));
        let first = frame.column("date").unwrap().cast(&DataType::Int32).unwrap();
        assert_eq!(first.i32().unwrap().get(0), Some(20_513));
    }
}
