//! The one place queries touch polars: measures per time bucket × segment, computed from
//! `rollup.parquet` when the measures, filters and grain allow (a few thousand rows per day
//! instead of every session) and from raw sessions otherwise. Orders come from the orders
//! table and are joined on the same keys.

use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDateTime};
use polars::prelude::*;
use serde::Serialize;

use super::did_you_mean;
use super::filter::{Condition, Filter};
use super::metric::Measure;
use crate::brief::Window;
use crate::cube::{self, CubeInfo, Time};
use crate::dataset::{Dataset, Table};
use crate::schema::sessions as s;

/// Environment variable that forces queries onto raw sessions (to check the rollup).
pub const NO_ROLLUP_ENV: &str = "DROPCASE_NO_ROLLUP";

const BUCKET: &str = "__bucket";

/// Time resolution of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Hour,
    Day,
    Week,
}

/// How rows are bucketed in time.
#[derive(Debug, Clone, Copy)]
pub enum Buckets {
    /// Bucket 0 is the baseline window, bucket 1 the current one (they may overlap).
    Windows(Window, Window),
    /// Buckets are period starts (milliseconds since the epoch), optionally within a window.
    Grain(Grain, Option<Window>),
}

/// A segment: one value (or none) per `--by` dimension.
pub type Key = Vec<Option<String>>;

/// Measures per bucket and segment.
#[derive(Debug, Default)]
pub struct Aggregates {
    /// Values in the order of the requested measures; missing combinations are absent.
    pub cells: HashMap<(i64, Key), Vec<f64>>,
    /// Every segment seen, sorted (missing values first).
    pub keys: Vec<Key>,
    /// Whether sessions measures came from the rollup.
    pub from_rollup: bool,
}

impl Aggregates {
    pub fn get(&self, bucket: i64, key: &Key) -> Option<&[f64]> {
        self.cells.get(&(bucket, key.clone())).map(Vec::as_slice)
    }

    /// Buckets present, sorted.
    pub fn buckets(&self) -> Vec<i64> {
        let mut buckets: Vec<i64> = self.cells.keys().map(|(b, _)| *b).collect();
        buckets.sort_unstable();
        buckets.dedup();
        buckets
    }
}

/// Period start of a grain bucket.
pub fn bucket_time(bucket: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(bucket).map(|t| t.naive_utc()).unwrap_or_default()
}

/// What a query asks for: measures by segment and bucket, under a filter.
pub struct Request<'a> {
    pub measures: &'a [Measure],
    pub by: &'a [String],
    pub filter: &'a Filter,
    pub buckets: Buckets,
    /// Who needs this (for messages): "metric conversion", "funnel".
    pub needed_by: &'a str,
}

/// Computes the request's measures on the dataset.
pub fn aggregate(ds: &Dataset, req: &Request) -> anyhow::Result<Aggregates> {
    aggregate_on(ds, req, None)
}

/// The request by its segments, and the same measures over the whole population (no
/// `--by`): what a compare of a metric that does not add up (a percentile, distinct users)
/// needs. On raw rows, the two windows' rows are read from the files once, into memory, and
/// both answers come from there: the scan and decompression dominate such a query.
pub fn aggregate_with_whole(ds: &Dataset, req: &Request) -> anyhow::Result<(Aggregates, Aggregates)> {
    let whole = Request { by: &[], ..*req };
    match windows_rows(ds, req)? {
        Some(rows) => Ok((aggregate_on(ds, req, Some(&rows))?, aggregate_on(ds, &whole, Some(&rows))?)),
        None => Ok((aggregate(ds, req)?, aggregate(ds, &whole)?)),
    }
}

/// The rows of a compare's two windows with only the columns it reads, collected once;
/// `None` where the request is not answered from raw rows by windows (a rollup, a cube,
/// trends), or reads a second source or active users, which have their own paths.
fn windows_rows(ds: &Dataset, req: &Request) -> anyhow::Result<Option<Table>> {
    let Buckets::Windows(baseline, current) = req.buckets else { return Ok(None) };
    if ds.cube.is_some()
        || req.measures.iter().any(|m| m.source().is_some() || matches!(m, Measure::ActiveUsers(_)))
    {
        return Ok(None);
    }
    let measures: Vec<(usize, Measure)> = req.measures.iter().copied().enumerate().collect();
    let (table, time) = choose_session_source(ds, &measures, req)?;
    if time != TimeColumns::Full {
        return Ok(None);
    }
    let mut columns: Vec<&str> = vec![s::DATE];
    for (_, measure) in &measures {
        // Checks each column is there, with the message a query would give.
        let _ = measure_expr(ds, *measure, false, false, req.needed_by)?;
        columns.extend(match measure {
            Measure::Rows(_) => None,
            Measure::Flag(c) | Measure::Sum(c) | Measure::SumSq(c) => Some(*c),
            Measure::Quantile { column, .. } => Some(*column),
            Measure::Users => Some(s::USER_ID),
            Measure::Source(_) | Measure::ActiveUsers(_) => unreachable!("returned above"),
        });
    }
    columns.extend(req.by.iter().map(String::as_str).chain(req.filter.dimensions()));
    let mut seen = std::collections::HashSet::new();
    columns.retain(|c| seen.insert(*c));
    let rows = table
        .frame()?
        .filter(dates_within(&baseline).or(dates_within(&current)))
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>());
    let rows = collect(rows).context("reading the windows' rows of the sessions failed")?;
    Ok(Some(table.derived(rows.lazy(), "the windows' rows")?))
}

/// [`aggregate`], reading the raw sessions from `rows` when given (a selection of them).
fn aggregate_on(ds: &Dataset, req: &Request, rows: Option<&Table>) -> anyhow::Result<Aggregates> {
    for (i, dim) in req.by.iter().enumerate() {
        ds.require_dimension(dim, " in --by")?;
        if req.by[..i].contains(dim) {
            bail!("--by names '{dim}' twice");
        }
    }
    for condition in &req.filter.conditions {
        ds.require_dimension(
            &condition.dimension,
            &format!(" in --where\n{}", req.filter.point_at(condition)),
        )?;
    }
    if let Some(cube) = &ds.cube {
        check_cube(ds, cube, req)?;
    }
    let session_measures: Vec<(usize, Measure)> = req
        .measures
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, m)| m.source().is_none() && !matches!(m, Measure::ActiveUsers(_)))
        .collect();

    let mut out = Aggregates::default();
    if !session_measures.is_empty() {
        let (table, time) = choose_session_source(ds, &session_measures, req)?;
        let table = match rows {
            Some(rows) if time == TimeColumns::Full => rows,
            _ => table,
        };
        let from_rollup = time != TimeColumns::Full;
        out.from_rollup = from_rollup;
        // With neither buckets of time nor `--by`, the measures reduce the whole table.
        let whole = req.by.is_empty() && matches!(req.buckets, Buckets::Windows(..));
        let exprs = session_measures
            .iter()
            .map(|(i, m)| Ok(measure_expr(ds, *m, from_rollup, whole, req.needed_by)?.alias(slot(*i))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let df = run(table, exprs, &session_measures, req, time, "sessions")?;
        merge(&mut out, &df, req, &session_measures)?;
    }
    let mut sources: Vec<&'static str> = req.measures.iter().filter_map(|m| m.source()).collect();
    sources.dedup();
    for source in sources {
        let source_measures: Vec<(usize, Measure)> =
            req.measures.iter().copied().enumerate().filter(|(_, m)| m.source() == Some(source)).collect();
        let table = ds.source(source).with_context(|| {
            format!(
                "{} needs the table {source} ({source}.parquet in a drill folder), which {} does not have",
                req.needed_by,
                ds.origin.display()
            )
        })?;
        for dim in req.by.iter().map(String::as_str).chain(req.filter.dimensions()) {
            if !table.has(dim) {
                let dims: Vec<String> =
                    table.column_names().into_iter().filter(|c| ds.dimensions.contains(c)).collect();
                bail!(
                    "{} reads the {source} table, which has no '{dim}': {source} can be cut by {}",
                    req.needed_by,
                    dims.join(", ")
                );
            }
        }
        let exprs =
            source_measures.iter().map(|(i, _)| len().cast(DataType::Float64).alias(slot(*i))).collect();
        let df = run(table, exprs, &source_measures, req, TimeColumns::Full, source)?;
        merge(&mut out, &df, req, &source_measures)?;
    }
    for (i, measure) in req.measures.iter().enumerate() {
        if let Measure::ActiveUsers(days) = measure {
            for (cell, value) in super::active::active_users(ds, *days, req)? {
                let values = out.cells.entry(cell).or_default();
                if values.len() <= i {
                    values.resize(i + 1, 0.0);
                }
                values[i] = value;
            }
        }
    }
    // Measures missing from one table's side of a cell are zero counts there.
    let width = req.measures.len();
    for values in out.cells.values_mut() {
        values.resize(width, 0.0);
    }
    let mut keys: Vec<Key> = out.cells.keys().map(|(_, k)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    out.keys = keys;
    Ok(out)
}

fn slot(i: usize) -> String {
    format!("__m{i}")
}

#[derive(Clone, Copy, PartialEq)]
enum TimeColumns {
    /// Only `date` (the rollup, a cube per date): no hourly buckets.
    DateOnly,
    /// `date` and `hour` (a cube per hour).
    DateHour,
    /// `window` (a cube per window): the two windows it holds, no dates.
    Windows,
    /// `date` and `ts`.
    Full,
}

/// Checks that a `--cube` can answer the request, saying what it lacks and how to get it.
fn check_cube(ds: &Dataset, cube: &CubeInfo, req: &Request) -> anyhow::Result<()> {
    let origin = ds.origin.display();
    for measure in req.measures {
        if let Some(source) = measure.source() {
            bail!(
                "{} needs the {source} table (a second source of truth), and a cube ({origin}) holds sums of the main table's rows only: run it on the drill with --data",
                req.needed_by
            );
        }
        let Some(column) = measure.rollup_column() else {
            bail!(
                "{} needs {}, which does not add up across segments, so a cube ({origin}) cannot hold it: run it on the rows with --data",
                req.needed_by,
                measure.describe()
            );
        };
        ds.require(column, req.needed_by)?;
    }
    match (req.buckets, cube.time) {
        (Buckets::Grain(Grain::Hour, _), Time::Days) => bail!(
            "an hourly trend needs a cube per hour, and {origin} is per date: build one with `dropcase cube --grain hour`"
        ),
        (Buckets::Grain(..), Time::Windows(..)) => bail!(
            "a trend needs a cube per date or hour, and {origin} holds two windows: build one without --baseline/--current"
        ),
        (Buckets::Windows(b, c), Time::Windows(cb, cc)) if (b, c) != (cb, cc) => bail!(
            "{origin} holds baseline {cb} and current {cc}, not {b} and {c}: use its windows, or build a cube per date (without --baseline/--current)"
        ),
        _ => Ok(()),
    }
}

/// The table a request's session measures read, and the time columns it has: a cube, the
/// drill's hourly or daily rollup when it holds every measure and dimension asked for,
/// else the raw sessions.
fn choose_session_source<'a>(
    ds: &'a Dataset,
    measures: &[(usize, Measure)],
    req: &Request,
) -> anyhow::Result<(&'a Table, TimeColumns)> {
    let hourly = matches!(req.buckets, Buckets::Grain(Grain::Hour, _));
    if let (Some(cube), Some(table)) = (&ds.cube, &ds.rollup) {
        for dim in req.by.iter().map(String::as_str).chain(req.filter.dimensions()) {
            ds.require_dimension(dim, &format!(" in the cube {}", ds.origin.display()))?;
        }
        let time = match cube.time {
            Time::Windows(..) => TimeColumns::Windows,
            Time::Hours => TimeColumns::DateHour,
            Time::Days => TimeColumns::DateOnly,
        };
        return Ok((table, time));
    }
    let rollup = if hourly { &ds.hourly } else { &ds.rollup };
    if let Some(rollup) = rollup {
        let usable = measures.iter().all(|(_, m)| m.rollup_column().is_some_and(|c| rollup.has(c)))
            && req.by.iter().map(String::as_str).chain(req.filter.dimensions()).all(|d| rollup.has(d))
            && std::env::var_os(NO_ROLLUP_ENV).is_none_or(|v| v.is_empty() || v == "0");
        if usable {
            return Ok((rollup, if hourly { TimeColumns::DateHour } else { TimeColumns::DateOnly }));
        }
    }
    ds.require(s::DATE, req.needed_by)?;
    if hourly {
        ds.require(s::TS, "an hourly trend")?;
    }
    Ok((&ds.sessions, TimeColumns::Full))
}

/// A measure's expression; `whole` when it reduces a whole (filtered) table rather than
/// groups.
fn measure_expr(
    ds: &Dataset,
    measure: Measure,
    from_rollup: bool,
    whole: bool,
    needed_by: &str,
) -> anyhow::Result<Expr> {
    let flag = |name: &str| -> anyhow::Result<Expr> {
        if !from_rollup {
            ds.require(name, needed_by)?;
        }
        Ok(col(name).sum())
    };
    let expr = match (measure, from_rollup) {
        (Measure::Rows(rows), true) => col(rows).sum(),
        (Measure::Rows(_), false) => len(),
        (Measure::Flag(column) | Measure::Sum(column), _) => flag(column)?,
        (Measure::SumSq(column), true) => col(format!("{column}_sq")).sum(),
        (Measure::SumSq(column), false) => {
            ds.require(column, needed_by)?;
            (col(column) * col(column)).sum()
        }
        (Measure::Users, _) => {
            ds.require(s::USER_ID, needed_by)?;
            col(s::USER_ID).n_unique()
        }
        (Measure::Quantile { column, percent, .. }, _) => {
            ds.require(column, needed_by)?;
            // polars selects a quantile in linear time from one contiguous run of values
            // without nulls, and sorts anything else: a whole table's column arrives in a
            // chunk per row group, so it is made one (the value is the same: a quantile
            // skips nulls). Groups are gathered into one run per group already.
            let values = if whole { col(column).drop_nulls().rechunk() } else { col(column) };
            values.quantile(lit(f64::from(percent) / 100.0), QuantileMethod::Linear)
        }
        (Measure::Source(_) | Measure::ActiveUsers(_), _) => {
            unreachable!("source and active-user measures are computed apart")
        }
    };
    Ok(expr.cast(DataType::Float64))
}

/// Filters, buckets and groups one table, returning bucket, `--by` columns (as text) and
/// the measure slots.
fn run(
    table: &Table,
    exprs: Vec<Expr>,
    measures: &[(usize, Measure)],
    req: &Request,
    time: TimeColumns,
    what: &str,
) -> anyhow::Result<DataFrame> {
    // Multi-column group-bys on Enum columns panic in this polars build (their u8 codes
    // need the `dtype-u8` feature), so such keys group by their category codes as UInt32
    // and are named after collecting ([`EnumCodes`]); a single Enum key (the common `--by
    // platform` of a compare) groups as it is, which is fastest.
    let rows = table.frame()?;
    let cast_keys = matches!(req.buckets, Buckets::Grain(..)) || req.by.len() > 1;
    let coded: Vec<Option<EnumCodes>> = req
        .by
        .iter()
        .map(|d| match table.dtype(d) {
            Some(DataType::Enum(categories, _)) if cast_keys => Some(EnumCodes::of(categories)),
            _ => None,
        })
        .collect();
    let dim_keys: Vec<Expr> = req
        .by
        .iter()
        .zip(&coded)
        .map(|(d, codes)| match codes {
            Some(_) => EnumCodes::expr(d),
            None => col(d.as_str()),
        })
        .collect();
    let group = |frame: LazyFrame, bucket: Option<Expr>| -> LazyFrame {
        let keys: Vec<Expr> = bucket.into_iter().chain(dim_keys.iter().cloned()).collect();
        if keys.is_empty() { frame.select(exprs.clone()) } else { frame.group_by(keys).agg(exprs.clone()) }
    };
    let filter = filter_expr(table, req.filter)?;
    let in_window = |label: &str, w: &Window| match time {
        TimeColumns::Windows => col(cube::columns::WINDOW).eq(lit(label.to_string())),
        _ => dates_within(w),
    };
    let restrict = |frame: LazyFrame, window: Option<(&str, &Window)>| {
        let condition = match (window.map(|(label, w)| in_window(label, w)), filter.clone()) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        };
        match condition {
            Some(c) => frame.filter(c),
            None => frame,
        }
    };
    let grouped = match req.buckets {
        Buckets::Windows(baseline, current) => {
            let parts: Vec<LazyFrame> =
                [(cube::columns::BASELINE, baseline), (cube::columns::CURRENT, current)]
                    .iter()
                    .enumerate()
                    .map(|(i, (label, w))| {
                        group(restrict(rows.clone(), Some((label, w))), None)
                            .with_column(lit(i as i64).cast(DataType::Int64).alias(BUCKET))
                    })
                    .collect();
            concat(parts, UnionArgs::default())?
        }
        Buckets::Grain(grain, window) => {
            let millis = DataType::Datetime(TimeUnit::Milliseconds, None);
            let start = match (grain, time) {
                // Whole hours of milliseconds since the epoch, by integer division (the
                // hour of a UTC timestamp is its truncation; `dt().truncate` goes through
                // calendar arithmetic per row).
                (Grain::Hour, TimeColumns::Full) => {
                    col(s::TS).cast(millis.clone()).cast(DataType::Int64).floor_div(lit(HOUR_MS))
                        * lit(HOUR_MS)
                }
                (Grain::Hour, TimeColumns::DateHour) => {
                    col(s::DATE).cast(millis.clone()).cast(DataType::Int64)
                        + col(cube::columns::HOUR).cast(DataType::Int64) * lit(HOUR_MS)
                }
                (_, TimeColumns::Windows) | (Grain::Hour, TimeColumns::DateOnly) => {
                    unreachable!(
                        "checked: hourly trends use a per-hour cube or raw rows, trends no window cube"
                    )
                }
                (Grain::Day, _) => col(s::DATE).cast(millis.clone()),
                (Grain::Week, _) => col(s::DATE).dt().truncate(lit("1w")).cast(millis.clone()),
            };
            let frame = restrict(rows, window.as_ref().map(|w| ("", w)))
                .with_column(start.cast(DataType::Int64).alias(BUCKET));
            group(frame, Some(col(BUCKET)))
        }
    };
    let mut columns = vec![col(BUCKET)];
    columns.extend(req.by.iter().zip(&coded).map(|(d, codes)| match codes {
        Some(_) => col(d.as_str()),
        None => col(d.as_str()).cast(DataType::String),
    }));
    columns.extend(measures.iter().map(|(i, _)| col(slot(*i))));
    let mut df = collect(grouped.select(columns)).with_context(|| format!("query on {what} failed"))?;
    for (d, codes) in req.by.iter().zip(&coded) {
        if let Some(codes) = codes {
            let named = codes.names(df.column(d)?)?;
            df.with_column(named)?;
        }
    }
    Ok(df)
}

/// Rows whose `date` lies in `w` (both ends included), compared as dates: polars reads
/// `lit(NaiveDate)` as a nanosecond datetime, which would cast every row's date to compare.
pub fn dates_within(w: &Window) -> Expr {
    let day = |d: chrono::NaiveDate| lit(Scalar::new_date(d.to_epoch_days()));
    col(s::DATE).gt_eq(day(w.from)).and(col(s::DATE).lt_eq(day(w.to)))
}

/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;

/// An Enum dimension grouped by its category codes: polars' Enum → Categorical cast looks
/// every row's text up in the global string cache (a third of an hourly trend's time on
/// 10M rows), while the codes are already integers. Codes become names again on the
/// grouped result, a few rows per bucket.
struct EnumCodes {
    names: Vec<String>,
}

impl EnumCodes {
    fn of(categories: &FrozenCategories) -> Self {
        Self { names: categories.categories().values_iter().map(str::to_string).collect() }
    }

    /// `col(dim)`'s codes as UInt32 (a missing value stays missing).
    fn expr(dim: &str) -> Expr {
        col(dim).map(
            |column| Ok(enum_codes(column.as_materialized_series())?.into_column()),
            |_, field| Ok(Field::new(field.name().clone(), DataType::UInt32)),
        )
    }

    /// A column of codes as the names they stand for.
    fn names(&self, codes: &Column) -> anyhow::Result<Column> {
        let values = codes
            .u32()?
            .iter()
            .map(|code| match code {
                None => Some(None),
                Some(c) => self.names.get(c as usize).map(|name| Some(name.as_str())),
            })
            .collect::<Option<Vec<Option<&str>>>>()
            .context("a grouped Enum code has no category (a bug)")?;
        Ok(Column::new(codes.name().clone(), values))
    }
}

/// The physical codes of an Enum series, widened to UInt32. Done on the arrays: a UInt8
/// series does not exist in this polars build.
fn enum_codes(series: &Series) -> PolarsResult<UInt32Chunked> {
    fn widen<T>(name: PlSmallStr, codes: &ChunkedArray<T>) -> UInt32Chunked
    where
        T: PolarsNumericType,
        T::Native: Into<u32>,
    {
        UInt32Chunked::from_chunk_iter(
            name,
            codes.downcast_iter().map(|array| {
                let values: Vec<u32> = array.values().iter().map(|v| (*v).into()).collect();
                polars_arrow::array::PrimitiveArray::new(
                    polars_arrow::datatypes::ArrowDataType::UInt32,
                    values.into(),
                    array.validity().cloned(),
                )
            }),
        )
    }
    let name = series.name().clone();
    Ok(match series.dtype().cat_physical()? {
        CategoricalPhysical::U8 => widen(name, series.cat8()?.physical()),
        CategoricalPhysical::U16 => widen(name, series.cat16()?.physical()),
        CategoricalPhysical::U32 => series.cat32()?.physical().clone().with_name(name),
    })
}

/// A global Categorical type: what Enum columns become where polars cannot handle them.
pub(crate) fn categorical() -> DataType {
    DataType::from_categories(Categories::global())
}

/// Collects a query, turning a polars panic (a bug or an unsupported type combination in
/// polars) into an error rather than a crash.
pub(crate) fn collect(frame: LazyFrame) -> anyhow::Result<DataFrame> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| frame.collect())) {
        Ok(result) => Ok(result?),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown cause");
            bail!(
                "polars failed{} (internal panic: {message}); a file may be damaged: if it is part of a drill, generate the drill again",
                crate::datafile::reading_clause()
            )
        }
    }
}

/// The `--where` conditions as one predicate on `table`, checking values of enum columns.
pub(crate) fn filter_expr(table: &Table, filter: &Filter) -> anyhow::Result<Option<Expr>> {
    let mut predicate: Option<Expr> = None;
    for condition in &filter.conditions {
        let dtype = table.dtype(&condition.dimension).expect("dimensions are checked first");
        let mut matches: Option<Expr> = None;
        for value in &condition.values {
            let test = value_test(&condition.dimension, dtype, value, condition, filter)?;
            matches = Some(match (matches, condition.negated) {
                (None, _) => test,
                (Some(m), false) => m.or(test),
                (Some(m), true) => m.and(test),
            });
        }
        let matches = matches.expect("a condition has at least one value");
        predicate = Some(match predicate {
            None => matches,
            Some(p) => p.and(matches),
        });
    }
    Ok(predicate)
}

/// `dim = value` (or `!=`, which keeps rows where the dimension is missing).
fn value_test(
    dim: &str,
    dtype: &DataType,
    value: &str,
    condition: &Condition,
    filter: &Filter,
) -> anyhow::Result<Expr> {
    let (column, literal) = match dtype {
        DataType::Enum(categories, _) => {
            let known: Vec<&str> = categories.categories().values_iter().collect();
            if !known.contains(&value) {
                bail!(
                    "'{dim}' has no value '{value}'{}; its values: {}\n{}",
                    did_you_mean(value, known.iter().copied()),
                    known.join(", "),
                    filter.point_at(condition)
                );
            }
            (col(dim), lit(value).cast(dtype.clone()))
        }
        DataType::String => (col(dim), lit(value)),
        _ => (col(dim).cast(DataType::String), lit(value)),
    };
    Ok(if condition.negated { column.neq_missing(literal) } else { column.eq(literal) })
}

/// Adds a collected frame's slots into the aggregates.
fn merge(
    out: &mut Aggregates,
    df: &DataFrame,
    req: &Request,
    measures: &[(usize, Measure)],
) -> anyhow::Result<()> {
    let buckets = df.column(BUCKET)?.i64()?;
    let dims = req.by.iter().map(|d| Ok(df.column(d)?.str()?.clone())).collect::<anyhow::Result<Vec<_>>>()?;
    let slots = measures
        .iter()
        .map(|(i, _)| Ok((*i, df.column(&slot(*i))?.f64()?.clone())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for row in 0..df.height() {
        let Some(bucket) = buckets.get(row) else { continue };
        let key: Key = dims.iter().map(|d| d.get(row).map(str::to_string)).collect();
        let cell = out.cells.entry((bucket, key)).or_default();
        for (i, values) in &slots {
            if cell.len() <= *i {
                cell.resize(i + 1, 0.0);
            }
            cell[*i] = values.get(row).unwrap_or(f64::NAN);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Filter;

    /// Rows i = 1..=30 in row groups of 7, dated `date(i)`: platform android for odd i, ios
    /// for even; page_load_ms 10·i, missing where i is a multiple of 5.
    fn thirty_rows(path: &std::path::Path, date: impl Fn(i32) -> chrono::NaiveDate) -> Dataset {
        let i: Vec<i32> = (1..=30).collect();
        let mut df = df!(
            s::DATE => i.iter().map(|i| date(*i)).collect::<Vec<_>>(),
            s::PLATFORM => i.iter().map(|i| if i % 2 == 1 { "android" } else { "ios" }).collect::<Vec<_>>(),
            s::PAGE_LOAD_MS => i.iter().map(|i| (i % 5 != 0).then_some(f64::from(10 * i))).collect::<Vec<_>>(),
        )
        .unwrap();
        let file = std::fs::File::create(path).unwrap();
        ParquetWriter::new(file).with_row_group_size(Some(7)).finish(&mut df).unwrap();
        Dataset::open(Some(path), None).unwrap()
    }

    /// A percentile of a whole table and of its groups, on a file of several row groups
    /// with missing values (the whole table's column is then made one run without nulls
    /// before the quantile is selected). Rows i = 1..=30 on 2026-03-01: platform android
    /// for odd i, ios for even; page_load_ms 10·i, missing where i is a multiple of 5.
    /// Expected values from numpy 1.26, `numpy.percentile(values, 75)` (linear), on the
    /// non-missing values: all 24 → 222.5, android's 12 → 215.0, ios's 12 → 225.0.
    #[test]
    fn a_percentile_skips_missing_values_across_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let ds = thirty_rows(&dir.path().join("rows.parquet"), |_| day);
        let window = Window::new(day, day);
        let p75 = Measure::Quantile { name: "page_load_p75", column: s::PAGE_LOAD_MS, percent: 75 };
        let filter = Filter::default();
        let by = vec![s::PLATFORM.to_string()];
        let whole = Request {
            measures: &[p75],
            by: &[],
            filter: &filter,
            buckets: Buckets::Windows(window, window),
            needed_by: "test",
        };
        let agg = aggregate(&ds, &whole).unwrap();
        assert_eq!(agg.get(0, &Vec::new()).unwrap()[0], 222.5);
        let agg = aggregate(&ds, &Request { by: &by, ..whole }).unwrap();
        assert_eq!(agg.get(0, &vec![Some("android".to_string())]).unwrap()[0], 215.0);
        assert_eq!(agg.get(0, &vec![Some("ios".to_string())]).unwrap()[0], 225.0);
    }

    /// A compare's segments and whole population from the windows' rows read once equal the
    /// two aggregations on the files, and rows outside both windows count in neither. Rows
    /// i = 1..=30 as above, dated 2026-03-01 (i ≤ 10), 03-02 (i ≤ 20) and 03-03; baseline
    /// 03-01, current 03-03. Expected values from numpy 1.26, `numpy.percentile(values, 75)`
    /// (linear) on the non-missing values: baseline all 72.5, android 75.0, ios 65.0;
    /// current 272.5, 275.0, 265.0; under `--where platform=android`, android's alone.
    #[test]
    fn a_compare_reads_its_windows_once_for_segments_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let ds = thirty_rows(&dir.path().join("rows.parquet"), |i| day(1 + (i as u32 - 1) / 10));
        let p75 = Measure::Quantile { name: "page_load_p75", column: s::PAGE_LOAD_MS, percent: 75 };
        let by = vec![s::PLATFORM.to_string()];
        let android = vec![Some("android".to_string())];
        let ios = vec![Some("ios".to_string())];
        for (filter, expected) in [
            (Filter::default(), [(72.5, 75.0, Some(65.0)), (272.5, 275.0, Some(265.0))]),
            (Filter::parse("platform=android").unwrap(), [(75.0, 75.0, None), (275.0, 275.0, None)]),
        ] {
            let req = Request {
                measures: &[p75],
                by: &by,
                filter: &filter,
                buckets: Buckets::Windows(Window::new(day(1), day(1)), Window::new(day(3), day(3))),
                needed_by: "test",
            };
            let (segments, whole) = aggregate_with_whole(&ds, &req).unwrap();
            let apart = (aggregate(&ds, &req).unwrap(), aggregate(&ds, &Request { by: &[], ..req }).unwrap());
            for (bucket, (all, a, i)) in expected.into_iter().enumerate() {
                let bucket = bucket as i64;
                assert_eq!(whole.get(bucket, &Vec::new()).unwrap()[0], all);
                assert_eq!(apart.1.get(bucket, &Vec::new()).unwrap()[0], all);
                assert_eq!(segments.get(bucket, &android).unwrap()[0], a);
                assert_eq!(apart.0.get(bucket, &android).unwrap()[0], a);
                assert_eq!(segments.get(bucket, &ios).map(|v| v[0]), i);
                assert_eq!(apart.0.get(bucket, &ios).map(|v| v[0]), i);
            }
        }
    }
}
