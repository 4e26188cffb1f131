//! The cube: the one aggregate every analysis here needs, so the rows can stay where they
//! live. One row per window (or date, or date × hour) × combination of the chosen
//! dimensions' values, holding the row count, the sum of each funnel flag, and the sum and
//! sum of squares of each value measure — enough for counts, sums, rates, means, their
//! variances, z- and t-tests, mix/rate splits and localisation. `dropcase cube --out`
//! writes one with polars ([`build`]), `dropcase cube --sql` prints the query that builds
//! the same rows in a warehouse ([`sql`]), and `--cube FILE` reads one back as a dataset
//! ([`read`]). Its measures are the data's product's (`products/*.toml`): the shop's for
//! own data and shop drills, the engagement app's or the SaaS product's for their drills.
//!
//! # Columns (a contract: added to, never renamed)
//!
//! Time, one of:
//! - per window (`--baseline` / `--current` given): `window` (text: `baseline` or
//!   `current`), `window_from`, `window_to` (dates, inclusive);
//! - per date (`--grain day`, the default): `date` (date);
//! - per hour (`--grain hour`): `date` (date) and `hour` (integer 0–23, UTC).
//!
//! Then the `--by` dimensions in the order given, as text (a missing or empty value is
//! null), then the product's measures ([`product_measures`]), in this order:
//! - the rows, named as the product names them (`rows` in its file: `sessions` for the
//!   shop and SaaS, `user_days` for the engagement app; integer);
//! - each funnel step's flag column in funnel order, then each retention horizon's
//!   `cohort_dN` and `retained_dN`: rows whose flag is true (integer; a flag is true when
//!   it is boolean true, the number 1, or the text `1`, `true`, `t`, `y` or `yes` in any
//!   case);
//! - each value measure (`[[measure]]`, in file order), then the latency column, as the
//!   sum (named like the column) and the sum of squares (`_sq` appended; float; rows
//!   without a value add nothing).
//!
//! The shop's are therefore `sessions`, `viewed_product`, `added_to_cart`,
//! `reached_checkout`, `purchased`, `revenue`, `revenue_sq`, `page_load_ms`,
//! `page_load_ms_sq`; the engagement app's `user_days`, `opened`, `feed_viewed`,
//! `post_viewed`, `engaged`, `cohort_d1`, `retained_d1`, `cohort_d7`, `retained_d7`,
//! `minutes`, `minutes_sq`, `load_ms`, `load_ms_sq`.
//!
//! A measure whose column the data does not have is left out. Rows are sorted by time,
//! then by dimension values (nulls first); windows may overlap, so a row of the data can
//! count in both.
//!
//! # Which product a cube is
//!
//! A Parquet cube of any product but the shop names it in the file's key-value metadata
//! (key [`PRODUCT_KEY`], the drill's `product` as its brief names it); the shop's carries
//! none, so its bytes are what they were. A cube without that key (a CSV, or the result of
//! `cube --sql` saved by a warehouse) is the embedded product whose every step column it
//! has, else the shop's (own data mapped with `--schema` reads as the shop).

pub mod spark;
pub mod sql;

use std::path::Path;

use anyhow::{Context, bail};
use polars::prelude::*;

use crate::brief::Window;
use crate::dataset::{Dataset, Table};
use crate::product::Product;
use crate::query::engine::collect;
use crate::schema::sessions as s;

/// Time column names of a cube (its measures are named by the product:
/// [`super::product_measures`]).
pub mod columns {
    pub const WINDOW: &str = "window";
    pub const WINDOW_FROM: &str = "window_from";
    pub const WINDOW_TO: &str = "window_to";
    pub const DATE: &str = "date";
    pub const HOUR: &str = "hour";
    /// Window labels, in bucket order.
    pub const BASELINE: &str = "baseline";
    pub const CURRENT: &str = "current";
}
use columns as c;

/// Key of a Parquet cube's key-value metadata naming its product (absent for the shop).
pub const PRODUCT_KEY: &str = "dropcase.product";
/// Texts read as a true flag (compared in lower case).
pub const TRUE_WORDS: [&str; 5] = ["1", "true", "t", "y", "yes"];

/// One measure of a cube, named by its column in the data (see the module doc for order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CubeMeasure {
    /// The row count, in a column named like the product's rows.
    Rows(String),
    /// Rows whose flag column is true, in a column of the flag's name.
    Flag(String),
    /// A value column: its sum (the column's name) and sum of squares (`{name}_sq`).
    Value(String),
}

impl CubeMeasure {
    /// The data column this measure reads (`None`: the rows themselves).
    pub fn source(&self) -> Option<&str> {
        match self {
            CubeMeasure::Rows(_) => None,
            CubeMeasure::Flag(column) | CubeMeasure::Value(column) => Some(column),
        }
    }

    /// The cube columns it fills, in column order.
    pub fn columns(&self) -> Vec<String> {
        match self {
            CubeMeasure::Rows(name) | CubeMeasure::Flag(name) => vec![name.clone()],
            CubeMeasure::Value(name) => vec![name.clone(), format!("{name}_sq")],
        }
    }

    /// Whether its columns count rows (integers) rather than add values (floats).
    pub fn counts(&self) -> bool {
        !matches!(self, CubeMeasure::Value(_))
    }
}

/// Every measure a cube of `product`'s data can hold, in column order: the rows, the
/// steps' flags in funnel order, the retention flags, the value measures and the latency
/// column. Read from the product's file, as the funnel and the metrics are.
pub fn product_measures(product: &Product) -> Vec<CubeMeasure> {
    let mut out = vec![CubeMeasure::Rows(product.rows.clone())];
    out.extend(product.steps.iter().map(|step| CubeMeasure::Flag(step.column.clone())));
    for (cohort, retained) in product.retention_columns() {
        out.extend([CubeMeasure::Flag(cohort), CubeMeasure::Flag(retained)]);
    }
    out.extend(product.measures.iter().map(|m| CubeMeasure::Value(m.name.clone())));
    out.extend(product.latency.iter().map(|l| CubeMeasure::Value(l.column.clone())));
    out
}

/// The measures a cube of `product`'s data holds when the data has the columns `has`
/// says it has (the rows always).
pub fn measures_for(product: &Product, has: impl Fn(&str) -> bool) -> Vec<CubeMeasure> {
    product_measures(product).into_iter().filter(|m| m.source().is_none_or(&has)).collect()
}

/// The product a cube without [`PRODUCT_KEY`] belongs to, by its columns: the embedded
/// product whose every step column it has, else the shop (own data's cube may hold only
/// some of the shop's flags, or none).
pub fn product_of_columns(names: &[String]) -> &'static Product {
    let has_all_steps = |p: &Product| p.steps.iter().all(|step| names.contains(&step.column));
    Product::all()
        .ok()
        .and_then(|all| all.into_iter().find(|p| has_all_steps(p)))
        .unwrap_or_else(Product::shop)
}

/// How a cube's rows are cut in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// Two windows, `baseline` then `current`.
    Windows(Window, Window),
    /// One row group per date.
    Days,
    /// One row group per date and hour of the day.
    Hours,
}

/// What to aggregate.
#[derive(Debug, Clone)]
pub struct CubeSpec {
    pub by: Vec<String>,
    pub time: Time,
}

/// What a cube file holds, read from its columns (and its product from its metadata).
#[derive(Debug, Clone)]
pub struct CubeInfo {
    pub time: Time,
    pub dimensions: Vec<String>,
    /// Measure columns present, in column order.
    pub measures: Vec<String>,
    /// The product whose steps, measures and metrics the cube holds.
    pub product: &'static Product,
}

/// The time columns of a cube cut by `time`.
pub fn time_columns(time: &Time) -> &'static [&'static str] {
    match time {
        Time::Windows(..) => &[c::WINDOW, c::WINDOW_FROM, c::WINDOW_TO],
        Time::Days => &[c::DATE],
        Time::Hours => &[c::DATE, c::HOUR],
    }
}

/// Builds the cube of `ds` with polars, from its raw rows.
pub fn build(ds: &Dataset, spec: &CubeSpec) -> anyhow::Result<DataFrame> {
    if ds.cube.is_some() {
        bail!("--data {} is already a cube; build a cube from the rows it came from", ds.origin.display());
    }
    for (i, dim) in spec.by.iter().enumerate() {
        ds.require_dimension(dim, " in --by")?;
        if spec.by[..i].contains(dim) {
            bail!("--by names '{dim}' twice");
        }
    }
    ds.require(s::DATE, "a cube")?;
    if spec.time == Time::Hours {
        ds.require(s::TS, "a cube per hour (--grain hour)")?;
    }
    if let Time::Windows(baseline, current) = &spec.time {
        ds.check_window("baseline", baseline)?;
        ds.check_window("current", current)?;
    }
    let table = &ds.sessions;
    let rows = table.frame()?;
    let held = measures_for(ds.product, |column| table.has(column));
    let measures: Vec<Expr> = held.iter().flat_map(measure_exprs).collect();
    let dims: Vec<Expr> = spec.by.iter().map(|d| col(d.as_str()).cast(DataType::String)).collect();
    let group = |frame: LazyFrame, time_keys: Vec<Expr>| -> LazyFrame {
        let keys: Vec<Expr> = time_keys.into_iter().chain(dims.iter().cloned()).collect();
        if keys.is_empty() {
            frame.select(measures.clone())
        } else {
            frame.group_by(keys).agg(measures.clone())
        }
    };
    let frame = match spec.time {
        Time::Windows(baseline, current) => {
            let parts: Vec<LazyFrame> = [(c::BASELINE, baseline), (c::CURRENT, current)]
                .into_iter()
                .map(|(label, w)| {
                    group(rows.clone().filter(crate::query::engine::dates_within(&w)), Vec::new())
                        .with_columns([
                            lit(label).alias(c::WINDOW),
                            lit(w.from).cast(DataType::Date).alias(c::WINDOW_FROM),
                            lit(w.to).cast(DataType::Date).alias(c::WINDOW_TO),
                        ])
                })
                .collect();
            concat(parts, UnionArgs::default())?
        }
        Time::Days => group(rows, vec![col(s::DATE)]),
        Time::Hours => {
            let hour = col(s::TS).dt().hour().cast(DataType::Int64).alias(c::HOUR);
            group(rows, vec![col(s::DATE), hour])
        }
    };
    let order: Vec<String> = time_columns(&spec.time)
        .iter()
        .map(|t| t.to_string())
        .chain(spec.by.iter().cloned())
        .chain(held.iter().flat_map(CubeMeasure::columns))
        .collect();
    let sort_keys: Vec<PlSmallStr> = time_columns(&spec.time)
        .iter()
        .filter(|t| **t != c::WINDOW_FROM && **t != c::WINDOW_TO)
        .map(|t| PlSmallStr::from(*t))
        .chain(spec.by.iter().map(|d| PlSmallStr::from(d.as_str())))
        .collect();
    let frame = frame.select(order.iter().map(|n| col(n.as_str())).collect::<Vec<_>>());
    let frame = if sort_keys.is_empty() {
        frame
    } else {
        frame.sort(sort_keys, SortMultipleOptions::default().with_nulls_last(false).with_maintain_order(true))
    };
    collect(frame).with_context(|| format!("cannot build the cube of {}", ds.origin.display()))
}

/// The aggregate expressions of one measure, one per cube column it fills.
fn measure_exprs(measure: &CubeMeasure) -> Vec<Expr> {
    match measure {
        CubeMeasure::Rows(name) => vec![len().cast(DataType::Int64).alias(name.as_str())],
        CubeMeasure::Flag(flag) => {
            vec![col(flag.as_str()).cast(DataType::Int64).sum().cast(DataType::Int64).alias(flag.as_str())]
        }
        CubeMeasure::Value(source) => {
            let value = col(source.as_str()).cast(DataType::Float64);
            vec![
                value.clone().sum().alias(source.as_str()),
                (value.clone() * value).sum().alias(format!("{source}_sq")),
            ]
        }
    }
}

/// Writes a cube as Parquet or CSV (by the extension) atomically: to a sibling first, then
/// renamed over `path`, so a failure leaves any earlier file as it was. A Parquet cube
/// names `product` (see [`recorded_product`]) in its metadata under [`PRODUCT_KEY`].
pub fn write(frame: &mut DataFrame, path: &Path, product: Option<&str>) -> anyhow::Result<()> {
    check_out(path)?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let mut bytes = Vec::new();
    match extension.as_str() {
        "parquet" | "pq" => {
            let metadata = product
                .map(|p| KeyValueMetadata::from_static(vec![(PRODUCT_KEY.to_string(), p.to_string())]));
            ParquetWriter::new(&mut bytes)
                .with_key_value_metadata(metadata)
                .finish(frame)
                .map_err(anyhow::Error::from)
                .context("cannot encode the cube as Parquet")?;
        }
        "csv" => {
            CsvWriter::new(&mut bytes)
                .include_header(true)
                .finish(frame)
                .map_err(anyhow::Error::from)
                .context("cannot encode the cube as CSV")?;
        }
        _ => unreachable!("checked by check_out"),
    }
    crate::drill::workspace::write_atomic(path, &bytes)
}

/// What a cube of `product`'s data records as its product: `reference`, the name a drill's
/// brief loads it by (an embedded product's name, or a product file's path), else its
/// name; nothing for the shop, whose cube files stay as they were before cubes named one.
pub fn recorded_product<'a>(product: &'a Product, reference: Option<&'a str>) -> Option<&'a str> {
    (!product.is_shop()).then(|| reference.unwrap_or(&product.name))
}

/// Fails unless `path` can take a cube: a .parquet or .csv name in a folder that exists
/// (checked before any work, so a bad `--out` costs nothing).
pub fn check_out(path: &Path) -> anyhow::Result<()> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if !["parquet", "pq", "csv"].contains(&extension.as_str()) {
        bail!(
            "--out {}: extension '{extension}' is neither .parquet nor .csv; name the file cube.parquet or cube.csv",
            path.display()
        );
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!("--out {}: the folder {} does not exist", path.display(), parent.display());
    }
    if path.is_dir() {
        bail!("--out {}: is a folder; name a file such as cube.parquet", path.display());
    }
    Ok(())
}

/// Reads a cube file (Parquet or CSV written by `dropcase cube` or by the query
/// `dropcase cube --sql` prints), checking its columns.
pub fn read(path: &Path) -> anyhow::Result<(Table, CubeInfo)> {
    let what = format!("the cube {}", path.display());
    if !path.is_file() {
        bail!("--cube {}: no such file", path.display());
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let (frame, named) = match extension.as_str() {
        "parquet" | "pq" => {
            let frame = crate::datafile::scan_parquet(path, false)?;
            (frame, crate::datafile::parquet_metadata_value(path, PRODUCT_KEY)?)
        }
        "csv" => {
            let frame = crate::datafile::csv_reader(path)?
                .with_infer_schema_length(Some(0))
                .finish()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot scan {what} as CSV"))?;
            (frame, None)
        }
        other => bail!("--cube {}: extension '{other}' is neither .parquet nor .csv", path.display()),
    };
    let product = named
        .map(|name| {
            Product::load(&name).map_err(anyhow::Error::from).with_context(|| {
                format!(
                    "{what} names the product '{name}' in its metadata ({PRODUCT_KEY}), which cannot be read"
                )
            })
        })
        .transpose()?;
    from_frame(frame, &what, product)
}

/// Reads a cube's rows however they came (a file, an engine's result; `what` names them
/// in messages), checking its columns and casting them to the contract's types. Its
/// product is `product` when known (a file's metadata, an engine's drill), else read from
/// its columns ([`product_of_columns`]).
pub fn from_frame(
    frame: LazyFrame,
    what: &str,
    product: Option<&'static Product>,
) -> anyhow::Result<(Table, CubeInfo)> {
    let mut frame = frame;
    let schema =
        frame.collect_schema().map_err(anyhow::Error::from).with_context(|| format!("cannot read {what}"))?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let product = product.unwrap_or_else(|| product_of_columns(&names));
    let has = |n: &str| names.iter().any(|x| x == n);
    let listing = || names.join(", ");
    let windowed = has(c::WINDOW) || has(c::WINDOW_FROM) || has(c::WINDOW_TO);
    let time_cols: &[&str] = if windowed {
        let none = Window::new(Default::default(), Default::default());
        time_columns(&Time::Windows(none, none))
    } else if has(c::HOUR) {
        time_columns(&Time::Hours)
    } else {
        time_columns(&Time::Days)
    };
    for column in time_cols.iter().copied().chain([product.rows.as_str()]) {
        if !has(column) {
            bail!(
                "{what} is missing the column '{column}'{}; a cube has {} (see `dropcase cube --help`); its columns: {}",
                crate::query::did_you_mean(column, names.iter().map(String::as_str)),
                if windowed {
                    "window, window_from, window_to"
                } else {
                    "date (and hour), or window, window_from and window_to"
                },
                listing()
            );
        }
    }
    // Types as the contract has them, whatever the file's reader inferred.
    let mut casts: Vec<Expr> = Vec::new();
    let date = |name: &str, dtype: &DataType| match dtype {
        DataType::String => col(name).str().to_date(StrptimeOptions {
            format: Some("%Y-%m-%d".into()),
            strict: true,
            exact: true,
            cache: true,
        }),
        _ => col(name).cast(DataType::Date),
    };
    // (column, whether it counts rows) of every measure column the cube has.
    let held: Vec<(String, bool)> = product_measures(product)
        .iter()
        .flat_map(|m| m.columns().into_iter().map(|column| (column, m.counts())))
        .filter(|(column, _)| has(column))
        .collect();
    let measures: Vec<String> = held.iter().map(|(column, _)| column.clone()).collect();
    let dimensions: Vec<String> =
        names.iter().filter(|n| !time_cols.contains(&n.as_str()) && !measures.contains(n)).cloned().collect();
    for (name, dtype) in schema.iter() {
        let name = name.as_str();
        let counts = held.iter().find(|(column, _)| column == name).map(|(_, counts)| *counts);
        let expr = if [c::DATE, c::WINDOW_FROM, c::WINDOW_TO].contains(&name) {
            date(name, dtype)
        } else if name == c::HOUR || counts == Some(true) {
            col(name).cast(DataType::Int64)
        } else if counts == Some(false) {
            col(name).cast(DataType::Float64)
        } else {
            col(name).cast(DataType::String)
        };
        casts.push(expr.alias(name));
    }
    let frame = frame.select(casts);
    let table = Table::scan(frame, what)?;
    let time = if windowed {
        let labels = collect(
            table
                .frame()?
                .group_by([col(c::WINDOW), col(c::WINDOW_FROM), col(c::WINDOW_TO)])
                .agg([len()])
                .sort([c::WINDOW], SortMultipleOptions::default()),
        )
        .with_context(|| format!("cannot read the windows of {what}"))?;
        let window_of = |label: &str| -> anyhow::Result<Window> {
            let label_col = labels.column(c::WINDOW)?.str()?;
            let rows: Vec<usize> =
                (0..labels.height()).filter(|&i| label_col.get(i) == Some(label)).collect();
            let [row] = rows[..] else {
                bail!(
                    "{what} has {} sets of dates for the window '{label}'; a cube per window has one baseline and one current window",
                    rows.len()
                )
            };
            let day = |name: &str| -> anyhow::Result<chrono::NaiveDate> {
                let days = labels.column(name)?.cast(&DataType::Int32)?.i32()?.get(row);
                days.and_then(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163))
                    .with_context(|| format!("{what}: the {label} window has no {name}"))
            };
            Ok(Window::new(day(c::WINDOW_FROM)?, day(c::WINDOW_TO)?))
        };
        let unknown: Vec<String> = labels
            .column(c::WINDOW)?
            .str()?
            .iter()
            .map(|l| l.unwrap_or("(null)").to_string())
            .filter(|l| l != c::BASELINE && l != c::CURRENT)
            .collect();
        if !unknown.is_empty() {
            bail!(
                "{what}: the column 'window' holds {}; a cube's windows are 'baseline' and 'current'",
                unknown.join(", ")
            );
        }
        Time::Windows(window_of(c::BASELINE)?, window_of(c::CURRENT)?)
    } else if has(c::HOUR) {
        Time::Hours
    } else {
        Time::Days
    };
    Ok((table, CubeInfo { time, dimensions, measures, product }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns_of(product: &Product) -> Vec<String> {
        product_measures(product).iter().flat_map(CubeMeasure::columns).collect()
    }

    /// The shop's measures, read from `products/shop.toml`, are the columns the contract
    /// named before cubes followed the product (session 7's `MEASURES`, copied here).
    #[test]
    fn the_shop_cube_keeps_the_columns_it_had() {
        let old = [
            "sessions",
            "viewed_product",
            "added_to_cart",
            "reached_checkout",
            "purchased",
            "revenue",
            "revenue_sq",
            "page_load_ms",
            "page_load_ms_sq",
        ];
        assert_eq!(columns_of(Product::shop()), old);
        assert_eq!(recorded_product(Product::shop(), Some("shop")), None, "a shop cube names no product");
    }

    /// Each product's measures in the documented order: rows, steps, retention, values, latency.
    #[test]
    fn a_product_cube_holds_its_rows_steps_retention_and_values_in_file_order() {
        let app = Product::load("engagement_app").unwrap();
        assert_eq!(
            columns_of(app),
            [
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
            ]
        );
        let saas = Product::load("saas").unwrap();
        assert_eq!(
            columns_of(saas),
            [
                "sessions",
                "visited",
                "signed_up",
                "activated",
                "subscribed",
                "seat_price",
                "seat_price_sq",
                "page_load_ms",
                "page_load_ms_sq",
            ]
        );
        // A measure the data lacks is left out; the rows never are.
        let kept = measures_for(saas, |column| column != "seat_price" && column != "page_load_ms");
        let kept: Vec<String> = kept.iter().flat_map(CubeMeasure::columns).collect();
        assert_eq!(kept, ["sessions", "visited", "signed_up", "activated", "subscribed"]);
    }

    /// An engagement cube's rows: one date, one platform.
    fn engagement_frame(with_engaged: bool) -> DataFrame {
        let mut frame = df!(
            "date" => ["2024-03-01"],
            "platform" => ["ios"],
            "user_days" => [10i64],
            "opened" => [10i64],
            "feed_viewed" => [9i64],
            "post_viewed" => [6i64],
            "engaged" => [2i64],
            "minutes" => [55.5f64],
            "minutes_sq" => [400.25f64],
        )
        .unwrap();
        if !with_engaged {
            frame = frame.drop("engaged").unwrap();
        }
        frame
    }

    /// A Parquet cube is the product its metadata names, even when a step column is left
    /// out (the columns alone would not tell); without the key — a CSV, a warehouse's result
    /// — it is the product whose every step column it has, else the shop.
    #[test]
    fn a_cube_is_read_as_the_product_it_names_else_by_its_step_columns() {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("named.parquet");
        write(&mut engagement_frame(false), &named, Some("engagement_app")).unwrap();
        assert_eq!(
            crate::datafile::parquet_metadata_value(&named, PRODUCT_KEY).unwrap().as_deref(),
            Some("engagement_app")
        );
        let (table, info) = read(&named).unwrap();
        assert_eq!(info.product.name, "engagement_app");
        assert_eq!(info.dimensions, ["platform"]);
        assert_eq!(
            info.measures,
            ["user_days", "opened", "feed_viewed", "post_viewed", "minutes", "minutes_sq"]
        );
        assert_eq!(table.dtype("opened"), Some(&DataType::Int64));
        assert_eq!(table.dtype("minutes"), Some(&DataType::Float64));

        let unnamed = dir.path().join("unnamed.parquet");
        write(&mut engagement_frame(false), &unnamed, None).unwrap();
        assert_eq!(crate::datafile::parquet_metadata_value(&unnamed, PRODUCT_KEY).unwrap(), None);
        let err = read(&unnamed).err().expect("read as the shop").to_string();
        assert!(err.contains("missing the column 'sessions'"), "read as the shop: {err}");

        let csv = dir.path().join("cube.csv");
        write(&mut engagement_frame(true), &csv, Some("engagement_app")).unwrap();
        let (table, info) = read(&csv).unwrap();
        assert_eq!(info.product.name, "engagement_app", "a CSV is read by its step columns");
        assert_eq!(table.dtype("engaged"), Some(&DataType::Int64), "read from text as a count");

        let unknown = dir.path().join("unknown.parquet");
        write(&mut engagement_frame(true), &unknown, Some("ride_hailing")).unwrap();
        let err = format!("{:#}", read(&unknown).err().expect("an unknown product"));
        assert!(
            err.contains("names the product 'ride_hailing'")
                && err.contains(PRODUCT_KEY)
                && err.contains("engagement_app, saas, shop"),
            "{err}"
        );
    }
}
