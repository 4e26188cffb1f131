//! Opening data for queries: a drill folder, a Parquet or CSV file, or a Hive-partitioned
//! folder, as lazy polars scans (so filters and column choices reach the file readers and
//! data larger than memory works). A user's own column names map onto dropcase's through a
//! `--schema` TOML file; what a query needs but the data lacks is refused by name.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use polars::prelude::*;
use serde::Deserialize;

use crate::brief::{Brief, Window};
use crate::cube::{CubeInfo, TRUE_WORDS, Time};
use crate::product::Product;
use crate::query::did_you_mean;
use crate::schema::{files, sessions as s};

/// A lazily scanned table and its (mapped) schema.
#[derive(Clone)]
pub struct Table {
    frame: LazyFrame,
    pub schema: SchemaRef,
    /// The drill files whose checksums are checked before the rows are first read
    /// ([`Table::frame`]): opening a drill reads every table's footer, but a query answered
    /// from a rollup does not pay for a checksum of the raw sessions.
    unverified: Vec<PathBuf>,
}

impl Table {
    pub(crate) fn scan(frame: LazyFrame, what: &str) -> anyhow::Result<Self> {
        let mut frame = frame;
        let schema = frame
            .collect_schema()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read {what}"))?;
        Ok(Self { frame, schema, unverified: Vec::new() })
    }

    /// Scans a Parquet file or a folder of them ([`crate::datafile::scan_parquet_unverified`]).
    /// A footer that decodes can still hold a damaged schema: its checksum then says so.
    fn scan_parquet(path: &Path, hive: bool, what: &str) -> anyhow::Result<Self> {
        let (frame, files) = crate::datafile::scan_parquet_unverified(path, hive)?;
        match Self::scan(frame, what) {
            Ok(table) => Ok(Self { unverified: files, ..table }),
            Err(err) => {
                for file in &files {
                    crate::datafile::verify(file)?;
                }
                Err(err.context(format!("cannot read {}", path.display())))
            }
        }
    }

    /// The same files read through `frame` (a selection or renaming of this table's).
    pub(crate) fn derived(&self, frame: LazyFrame, what: &str) -> anyhow::Result<Self> {
        Ok(Self { unverified: self.unverified.clone(), ..Self::scan(frame, what)? })
    }

    /// The rows, once the files they come from have passed their drill's checksums.
    pub fn frame(&self) -> anyhow::Result<LazyFrame> {
        for file in &self.unverified {
            crate::datafile::verify(file)?;
        }
        Ok(self.frame.clone())
    }

    pub fn has(&self, column: &str) -> bool {
        self.schema.contains(column)
    }

    pub fn dtype(&self, column: &str) -> Option<&DataType> {
        self.schema.get(column)
    }

    pub fn column_names(&self) -> Vec<String> {
        self.schema.iter_names().map(|n| n.to_string()).collect()
    }
}

/// Everything a query can read, in dropcase's column names.
pub struct Dataset {
    /// The folder or file the data came from.
    pub origin: PathBuf,
    /// The drill's brief, when the data is a drill folder.
    pub brief: Option<Brief>,
    pub sessions: Table,
    pub orders: Option<Table>,
    /// Pre-aggregated sessions (`rollup.parquet`), used when a query allows it.
    pub rollup: Option<Table>,
    /// The rollup per date × hour (`rollup_hourly.parquet`), for hourly trends.
    pub hourly: Option<Table>,
    /// `context/*.csv` of a drill folder, by file stem (`releases`, `marketing`, ...).
    pub context: Vec<(String, LazyFrame)>,
    /// Columns queries may cut by, in listing order.
    pub dimensions: Vec<String>,
    /// The product the data describes: the drill's (from its brief), a cube's (see
    /// [`crate::cube`]), else the shop.
    pub product: &'static Product,
    /// Second sources of truth other than `orders` (a drill of another product), by name.
    pub sources: Vec<(String, Table)>,
    /// Column names as the source spells them (for messages about own data).
    source_columns: Vec<String>,
    /// How columns were mapped: `Some(file)` when a `--schema` file was given.
    schema_file: Option<PathBuf>,
    /// What a `--cube FILE` holds; `sessions` and `rollup` are then both the cube, and
    /// queries read it as a rollup.
    pub cube: Option<CubeInfo>,
    /// The `--schema` file's `mix_dimensions`, when given.
    mix_dimensions: Option<Vec<String>>,
    date_range: OnceCell<(NaiveDate, NaiveDate)>,
}

/// Where `dropcase` keeps its state: `$DROPCASE_HOME`, else `$HOME/.dropcase`.
pub fn dropcase_home() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("DROPCASE_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("neither DROPCASE_HOME nor HOME is set: set one, or pass --data PATH")?;
    Ok(PathBuf::from(home).join(".dropcase"))
}

/// The folder of the current drill, named by the pointer file `$DROPCASE_HOME/current`
/// (plain text: the folder's absolute path) that `dropcase drill start` writes.
pub fn current_drill_dir() -> anyhow::Result<PathBuf> {
    const NONE: &str = "no current drill: run `dropcase drill start` or pass --data PATH";
    let pointer = dropcase_home()?.join("current");
    let text = match std::fs::read_to_string(&pointer) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(NONE),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read {}", pointer.display()));
        }
    };
    let dir = PathBuf::from(text.trim());
    if text.trim().is_empty() {
        bail!(NONE);
    }
    if !dir.join(files::BRIEF).is_file() {
        bail!(
            "the current drill folder {} (named in {}) is gone or holds no {}: run `dropcase drill start` or pass --data PATH",
            dir.display(),
            pointer.display(),
            files::BRIEF
        );
    }
    Ok(dir)
}

/// A `--schema` file: which of the user's columns play which part. Keys are optional; a
/// query that needs an unmapped part says which key to set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    pub timestamp: Option<String>,
    pub date: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    /// Order value or session revenue.
    pub revenue: Option<String>,
    pub page_load_ms: Option<String>,
    /// Columns to cut by; they keep their own names.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// Which of `dimensions` describe who arrives (device, country, channel), for
    /// `diagnose`'s mix-vs-rate check; a version or build is not mix. Default: those named
    /// like dropcase's (platform, browser, device, country, traffic_source, user_type).
    pub mix_dimensions: Option<Vec<String>>,
    #[serde(default)]
    pub funnel: FunnelMap,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelMap {
    pub viewed_product: Option<String>,
    pub added_to_cart: Option<String>,
    pub reached_checkout: Option<String>,
    pub purchased: Option<String>,
}

impl ColumnMap {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the schema file {}", path.display()))?;
        toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid schema file (keys: timestamp, date, session_id, user_id, revenue, page_load_ms, dimensions = [...], [funnel] viewed_product/added_to_cart/reached_checkout/purchased)",
                path.display()
            )
        })
    }

    /// (TOML key, dropcase column, source column) for every mapped single column.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.funnel;
        [
            ("timestamp", s::TS, &self.timestamp),
            ("date", s::DATE, &self.date),
            ("session_id", s::SESSION_ID, &self.session_id),
            ("user_id", s::USER_ID, &self.user_id),
            ("revenue", s::REVENUE, &self.revenue),
            ("page_load_ms", s::PAGE_LOAD_MS, &self.page_load_ms),
            ("funnel.viewed_product", s::VIEWED_PRODUCT, &f.viewed_product),
            ("funnel.added_to_cart", s::ADDED_TO_CART, &f.added_to_cart),
            ("funnel.reached_checkout", s::REACHED_CHECKOUT, &f.reached_checkout),
            ("funnel.purchased", s::PURCHASED, &f.purchased),
        ]
        .into_iter()
        .filter_map(|(key, ours, theirs)| theirs.as_deref().map(|t| (key, ours, t)))
        .collect()
    }
}

/// The `--schema` key that maps a dropcase column, for "map it with ..." hints.
fn schema_key(column: &str) -> String {
    match column {
        s::TS | s::DATE => "timestamp".into(),
        c if s::FUNNEL.contains(&c) => format!("[funnel] {c}"),
        c => c.to_string(),
    }
}

fn is_text(dtype: &DataType) -> bool {
    matches!(dtype, DataType::String | DataType::Categorical(..) | DataType::Enum(..))
}

impl Dataset {
    /// Opens `--data PATH` (or the current drill when absent), mapping columns through
    /// `--schema FILE` when given.
    pub fn open(data: Option<&Path>, schema_file: Option<&Path>) -> anyhow::Result<Self> {
        let origin = match data {
            Some(path) => path.to_path_buf(),
            None => current_drill_dir()?,
        };
        let map = schema_file.map(ColumnMap::read).transpose()?;
        if !origin.exists() {
            bail!("--data {}: no such file or folder", origin.display());
        }
        let mut brief: Option<Brief> = None;
        let (mut orders, mut rollup, mut hourly, mut context) = (None, None, None, Vec::new());
        let mut product = Product::shop();
        let mut sources = Vec::new();
        let what = origin.display().to_string();
        let raw = if origin.is_dir() && origin.join(files::BRIEF).is_file() {
            let read = Brief::read(&origin)?;
            product = Product::load(&read.product).map_err(anyhow::Error::from).with_context(|| {
                format!(
                    "the drill's brief {} names product '{}'",
                    origin.join(files::BRIEF).display(),
                    read.product
                )
            })?;
            brief = Some(read);
            for source in product.sources.iter().filter(|s| s.name != "orders") {
                let path = origin.join(format!("{}.parquet", source.name));
                if path.exists() {
                    let table = Table::scan_parquet(&path, false, &format!("{}.parquet", source.name))?;
                    sources.push((source.name.clone(), table));
                }
            }
            let folder_sessions = origin.join("sessions");
            let sessions = if folder_sessions.is_dir() {
                Table::scan_parquet(&folder_sessions, true, &what)?
            } else {
                Table::scan_parquet(&origin.join(files::SESSIONS), false, &what)?
            };
            let orders_path = origin.join(files::ORDERS);
            if orders_path.exists() {
                orders = Some(Table::scan_parquet(&orders_path, false, "orders.parquet")?);
            }
            let rollup_path = origin.join(files::ROLLUP);
            if rollup_path.exists() && map.is_none() {
                rollup = Some(Table::scan_parquet(&rollup_path, false, "rollup.parquet")?);
            }
            let hourly_path = origin.join(files::ROLLUP_HOURLY);
            if hourly_path.exists() && map.is_none() {
                hourly = Some(Table::scan_parquet(&hourly_path, false, files::ROLLUP_HOURLY)?);
            }
            context = scan_context(&origin.join(files::CONTEXT_DIR))?;
            sessions
        } else if origin.is_dir() {
            Table::scan(scan_parquet(&origin, true)?, &what)?
        } else {
            let frame = match origin
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("parquet" | "pq") => scan_parquet(&origin, false)?,
                Some("csv") => {
                    let mut text: Vec<String> = s::DIMENSIONS.iter().map(|d| d.to_string()).collect();
                    text.extend(map.iter().flat_map(|m| m.dimensions.iter().cloned()));
                    scan_csv(&origin, &text)?
                }
                _ => bail!(
                    "--data {}: expected a drill folder, a .parquet or .csv file, or a folder of date=YYYY-MM-DD/*.parquet partitions",
                    origin.display()
                ),
            };
            Table::scan(frame, &what)?
        };
        let source_columns = raw.column_names();
        let (sessions, mut dimensions) = match &map {
            Some(map) => apply_map(raw, map, schema_file.expect("map implies a file"), &what)?,
            None => normalize(raw, &what)?,
        };
        in_product_order(product, &mut dimensions);
        Ok(Self {
            origin,
            brief,
            sessions,
            orders,
            rollup,
            hourly,
            context,
            dimensions,
            product,
            sources,
            source_columns,
            schema_file: schema_file.map(Path::to_path_buf),
            cube: None,
            mix_dimensions: map.as_ref().and_then(|m| m.mix_dimensions.clone()),
            date_range: OnceCell::new(),
        })
    }

    /// A second source of truth by name (`orders`, `server_events`, `billing`).
    pub fn source(&self, name: &str) -> Option<&Table> {
        if name == "orders" && self.orders.is_some() {
            return self.orders.as_ref();
        }
        self.sources.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The metric registry of this data's product.
    pub fn metrics(&self) -> &'static [crate::query::Metric] {
        self.product.metric_registry()
    }

    /// Opens `--cube FILE` (see [`crate::cube`]) as a dataset whose only table is the cube.
    pub fn open_cube(path: &Path) -> anyhow::Result<Self> {
        let (table, info) = crate::cube::read(path)?;
        Ok(Self::from_cube(path.to_path_buf(), table, info, None, None))
    }

    /// A dataset whose only table is a cube already read (a file's, or an engine's result
    /// for `--engine`, which keeps a drill's brief and a `--schema` file's mix dimensions).
    pub fn from_cube(
        origin: PathBuf,
        table: Table,
        info: CubeInfo,
        brief: Option<Brief>,
        mix_dimensions: Option<Vec<String>>,
    ) -> Self {
        let source_columns = table.column_names();
        let product = info.product;
        let mut dimensions = info.dimensions.clone();
        in_product_order(product, &mut dimensions);
        Self {
            origin,
            brief,
            sessions: table.clone(),
            orders: None,
            rollup: Some(table),
            hourly: None,
            context: Vec::new(),
            dimensions,
            product,
            sources: Vec::new(),
            source_columns,
            schema_file: None,
            cube: Some(info),
            mix_dimensions,
            date_range: OnceCell::new(),
        }
    }

    /// Opens `--cube FILE` when given, else `--data PATH` with `--schema FILE`.
    pub fn open_any(
        data: Option<&Path>,
        schema_file: Option<&Path>,
        cube: Option<&Path>,
    ) -> anyhow::Result<Self> {
        match cube {
            Some(cube) => Self::open_cube(cube),
            None => Self::open(data, schema_file),
        }
    }

    /// The dimensions a `--schema` file names as traffic mix, if it does.
    pub fn mix_dimensions(&self) -> Option<&[String]> {
        self.mix_dimensions.as_deref()
    }

    /// Fails unless sessions have `column`, saying what needs it and how to map it.
    pub fn require(&self, column: &str, needed_by: &str) -> anyhow::Result<()> {
        if self.sessions.has(column) {
            return Ok(());
        }
        if self.cube.is_some() {
            bail!(
                "{needed_by} needs the cube column '{column}', which {} does not have (its columns: {}); build the cube again from data that has it",
                self.origin.display(),
                self.source_columns.join(", ")
            );
        }
        let how = match &self.schema_file {
            Some(file) => format!("add `{} = \"your_column\"` to {}", schema_key(column), file.display()),
            None => format!(
                "map one of its columns with --schema FILE (`{} = \"your_column\"`)",
                schema_key(column)
            ),
        };
        bail!(
            "{needed_by} needs the column '{column}', which {} does not have (its columns: {}); {how}",
            self.origin.display(),
            self.source_columns.join(", ")
        )
    }

    /// Fails unless `name` is a dimension of this data, listing them and the nearest.
    pub fn require_dimension(&self, name: &str, context: &str) -> anyhow::Result<()> {
        if self.dimensions.iter().any(|d| d == name) {
            return Ok(());
        }
        bail!(
            "unknown dimension '{name}'{}{context}; dimensions: {}",
            did_you_mean(name, self.dimensions.iter().map(String::as_str)),
            if self.dimensions.is_empty() { "(none)".into() } else { self.dimensions.join(", ") }
        )
    }

    /// First and last date in the data: from the brief for drills, else from the data.
    pub fn date_range(&self) -> anyhow::Result<(NaiveDate, NaiveDate)> {
        if let Some(range) = self.date_range.get() {
            return Ok(*range);
        }
        let range = match (&self.brief, self.cube.as_ref().map(|c| c.time)) {
            (Some(brief), _) => (brief.data_from, brief.data_to),
            (None, Some(Time::Windows(b, c))) => (b.from.min(c.from), b.to.max(c.to)),
            (None, _) => {
                self.require(s::DATE, "finding the data's dates")?;
                let source = self.rollup.as_ref().unwrap_or(&self.sessions);
                let frame = source
                    .frame()?
                    .select([col(s::DATE).min().alias("from"), col(s::DATE).max().alias("to")]);
                let df = crate::query::engine::collect(frame).context("cannot read the data's dates")?;
                let day = |name: &str| -> anyhow::Result<NaiveDate> {
                    let days = df.column(name)?.cast(&DataType::Int32)?.i32()?.get(0);
                    days.and_then(|d| NaiveDate::from_num_days_from_ce_opt(d + 719_163))
                        .with_context(|| format!("{} holds no dated rows", self.origin.display()))
                };
                (day("from")?, day("to")?)
            }
        };
        Ok(*self.date_range.get_or_init(|| range))
    }

    /// Fails unless `window` lies inside the data, naming the data's range.
    pub fn check_window(&self, label: &str, window: &Window) -> anyhow::Result<()> {
        let (from, to) = self.date_range()?;
        if window.from < from || window.to > to {
            bail!(
                "the {label} window {window} is outside the data, which covers {from}..{to}: choose dates in that range"
            );
        }
        Ok(())
    }

    /// Baseline and current windows: the flags if given, else the brief's, else the last
    /// seven days of the data against the seven before (or, with under two weeks of data,
    /// its later half against its earlier half).
    pub fn windows(
        &self,
        baseline: Option<Window>,
        current: Option<Window>,
    ) -> anyhow::Result<(Window, Window)> {
        // A window the brief supplied is named as coming from it (a damaged `drill.toml` is
        // then found where it is).
        let brief_label = |label: &str, given: bool| {
            if given || self.brief.is_none() {
                label.to_string()
            } else {
                format!("{label} (from {})", self.origin.join(files::BRIEF).display())
            }
        };
        let (baseline_label, current_label) =
            (brief_label("baseline", baseline.is_some()), brief_label("current", current.is_some()));
        if let Some(Time::Windows(cube_baseline, cube_current)) = self.cube.as_ref().map(|c| c.time) {
            for (label, given, held) in
                [("baseline", baseline, cube_baseline), ("current", current, cube_current)]
            {
                if let Some(given) = given
                    && given != held
                {
                    bail!(
                        "the {label} window {given} is not the cube's: {} holds {label} {held}; omit --{label}, or build a cube for those dates (or per date, without --baseline/--current)",
                        self.origin.display()
                    );
                }
            }
            return Ok((cube_baseline, cube_current));
        }
        let (baseline, current) = match (baseline, current, &self.brief) {
            (Some(b), Some(c), _) => (b, c),
            (b, c, Some(brief)) => (b.unwrap_or(brief.baseline), c.unwrap_or(brief.current)),
            (b, c, None) => {
                let (from, to) = self.date_range()?;
                // A week against the week before; with under two weeks of data, the later
                // half against the earlier half.
                let span_days = (Window::new(from, to).days() / 2).clamp(1, 7) as u64;
                let default_current = Window::new(to - chrono::Days::new(span_days - 1), to);
                let current = c.unwrap_or(default_current);
                let before = current.from.pred_opt().unwrap_or(current.from);
                let span = chrono::Days::new(current.days().max(1) as u64 - 1);
                (b.unwrap_or(Window::new(before - span, before)), current)
            }
        };
        self.check_window(&baseline_label, &baseline)?;
        self.check_window(&current_label, &current)?;
        Ok((baseline, current))
    }
}

/// Puts a product's dimensions first, in its order (the shop's keep the order they were
/// listed in: dropcase's for its drills, the cube's or the `--schema` file's otherwise).
fn in_product_order(product: &Product, dimensions: &mut [String]) {
    if !product.is_shop() {
        let order = product.dimension_names();
        dimensions.sort_by_key(|d| order.iter().position(|k| k == d).unwrap_or(usize::MAX));
    }
}

fn scan_parquet(path: &Path, partitioned: bool) -> anyhow::Result<LazyFrame> {
    crate::datafile::scan_parquet(path, partitioned)
}

/// Scans a CSV, reading `text_columns` as text even when they look numeric (an
/// `os_version` of 14 is a label, not a number).
fn scan_csv(path: &Path, text_columns: &[String]) -> anyhow::Result<LazyFrame> {
    let text_columns = text_columns.to_vec();
    crate::datafile::csv_reader(path)?
        .with_try_parse_dates(true)
        .with_infer_schema_length(Some(10_000))
        .with_schema_modify(move |mut schema: Schema| {
            for name in &text_columns {
                schema.set_dtype(name, DataType::String);
            }
            Ok(schema)
        })
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .finish()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot scan {} as CSV", path.display()))
}

fn scan_context(dir: &Path) -> anyhow::Result<Vec<(String, LazyFrame)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "csv") {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            tables.push((stem, scan_context_csv(&path)?));
        }
    }
    tables.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tables)
}

/// Scans one context log with an explicit schema rather than inferred types: the columns
/// named in [`crate::generate::context::DATE_COLUMNS`] are `YYYY-MM-DD` dates and every other
/// column is text. Inference read a release `version` of 5.2.0 as the date 0000-02-05 and
/// would read 14 as a number.
fn scan_context_csv(path: &Path) -> anyhow::Result<LazyFrame> {
    let mut frame = crate::datafile::csv_reader(path)?
        .with_infer_schema_length(Some(0))
        .finish()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot scan {} as CSV", path.display()))?;
    let schema = frame
        .collect_schema()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let dates: Vec<Expr> = schema
        .iter_names()
        .filter(|name| crate::generate::context::DATE_COLUMNS.contains(&name.as_str()))
        .map(|name| {
            let options =
                StrptimeOptions { format: Some("%Y-%m-%d".into()), strict: true, exact: true, cache: true };
            col(name.clone()).str().to_date(options)
        })
        .collect();
    Ok(if dates.is_empty() { frame } else { frame.with_columns(dates) })
}

/// Columns in dropcase's names and types: flags to booleans, a `date` derived from `ts`
/// when missing. Dimensions are the known ones present plus any other text column.
fn normalize(raw: Table, what: &str) -> anyhow::Result<(Table, Vec<String>)> {
    let mut exprs: Vec<Expr> = Vec::new();
    let mut dimensions: Vec<String> = Vec::new();
    let mut empty_as_missing = false;
    for (name, dtype) in raw.schema.iter() {
        let name = name.as_str();
        let known = [s::SESSION_ID, s::USER_ID, s::TS, s::DATE, s::REVENUE, s::PAGE_LOAD_MS];
        let dimension = s::DIMENSIONS.contains(&name) || (is_text(dtype) && !known.contains(&name));
        if dimension && dtype == &DataType::String {
            exprs.push(without_empty(col(name)).alias(name));
            empty_as_missing = true;
        } else {
            exprs.push(conform(name, name, dtype, what, None)?);
        }
        if dimension {
            dimensions.push(name.to_string());
        }
    }
    if !raw.has(s::DATE) && raw.has(s::TS) {
        exprs.push(col(s::TS).dt().date().alias(s::DATE));
    }
    // Known dimensions first, in their listing order; then the data's own.
    dimensions.sort_by_key(|d| s::DIMENSIONS.iter().position(|k| k == d).unwrap_or(usize::MAX));
    let needs_rewrite = empty_as_missing
        || exprs.len() != raw.schema.len()
        || raw.schema.iter().any(|(n, t)| conform_needed(n.as_str(), t));
    let table = if needs_rewrite { raw.derived(raw.frame.clone().select(exprs), what)? } else { raw };
    Ok((table, dimensions))
}

/// Whether a column must be cast to fit dropcase's types.
fn conform_needed(ours: &str, dtype: &DataType) -> bool {
    if s::FUNNEL.contains(&ours) {
        return dtype != &DataType::Boolean;
    }
    match ours {
        s::REVENUE | s::PAGE_LOAD_MS => dtype != &DataType::Float64,
        s::DATE => dtype != &DataType::Date,
        _ => false,
    }
}

/// `col(theirs)` renamed to `ours` and cast to the type dropcase expects of it.
fn conform(
    ours: &str,
    theirs: &str,
    dtype: &DataType,
    what: &str,
    key: Option<&str>,
) -> anyhow::Result<Expr> {
    let column = col(theirs);
    let unreadable = |expected: &str| {
        anyhow::anyhow!(
            "column '{theirs}'{} of {what} is {dtype}, not {expected}",
            key.map(|k| format!(" (mapped as {k})")).unwrap_or_default()
        )
    };
    let expr = if s::FUNNEL.contains(&ours) {
        match dtype {
            DataType::Boolean => column,
            d if d.is_integer() => column.eq(lit(1)),
            DataType::String => {
                let lower = column.str().to_lowercase();
                let any = TRUE_WORDS.iter().map(|w| lower.clone().eq(lit(*w))).reduce(|a, b| a.or(b));
                any.expect("some true words").fill_null(lit(false))
            }
            _ => return Err(unreadable("a true/false, 0/1 or Y/N flag")),
        }
    } else {
        match ours {
            s::REVENUE | s::PAGE_LOAD_MS => match dtype {
                d if d.is_primitive_numeric() => column.cast(DataType::Float64),
                _ => return Err(unreadable("a number")),
            },
            s::DATE => match dtype {
                DataType::Date => column,
                DataType::Datetime(..) => column.dt().date(),
                _ => return Err(unreadable("a date (write ISO dates like 2026-03-15)")),
            },
            s::TS => match dtype {
                DataType::Datetime(..) => column,
                DataType::Date => column.cast(DataType::Datetime(TimeUnit::Milliseconds, None)),
                _ => return Err(unreadable("a timestamp (write ISO 8601 like 2026-03-15 09:30:00)")),
            },
            _ => column,
        }
    };
    Ok(expr.alias(ours))
}

/// A text column with empty values read as missing (a warehouse export writes a missing
/// country as ''): the same value either way, in queries, cubes and the cube's SQL.
fn without_empty(column: Expr) -> Expr {
    when(column.clone().eq(lit(""))).then(lit(NULL)).otherwise(column)
}

/// Applies a `--schema` map: only mapped columns stay visible, in dropcase's names.
fn apply_map(raw: Table, map: &ColumnMap, file: &Path, what: &str) -> anyhow::Result<(Table, Vec<String>)> {
    let columns = raw.column_names();
    let missing = |key: &str, theirs: &str| {
        anyhow::anyhow!(
            "{}: {key} = \"{theirs}\", but {what} has no column '{theirs}'{}; its columns: {}",
            file.display(),
            did_you_mean(theirs, columns.iter().map(String::as_str)),
            columns.join(", ")
        )
    };
    let mut exprs = Vec::new();
    let mut dimensions = Vec::new();
    for (key, ours, theirs) in map.pairs() {
        let dtype = raw.dtype(theirs).ok_or_else(|| missing(key, theirs))?;
        exprs.push(conform(ours, theirs, dtype, what, Some(key))?);
    }
    if let (None, Some(ts)) = (&map.date, &map.timestamp) {
        let dtype = raw.dtype(ts).expect("checked above");
        exprs.push(conform(s::DATE, ts, dtype, what, Some("timestamp"))?);
    }
    let taken: Vec<&str> = map.pairs().iter().map(|(_, ours, _)| *ours).collect();
    for dim in &map.dimensions {
        let dtype = raw.dtype(dim).ok_or_else(|| missing("dimensions", dim))?;
        if taken.contains(&dim.as_str()) {
            bail!("{}: '{dim}' is listed in dimensions and also mapped as a measure", file.display());
        }
        let expr = if is_text(dtype) { col(dim.as_str()) } else { col(dim.as_str()).cast(DataType::String) };
        let expr = if dtype == &DataType::String || !is_text(dtype) { without_empty(expr) } else { expr };
        let expr = expr.alias(dim.as_str());
        exprs.push(expr);
        dimensions.push(dim.clone());
    }
    for dim in map.mix_dimensions.iter().flatten() {
        if !map.dimensions.contains(dim) {
            bail!(
                "{}: mix_dimensions names '{dim}', which is not in dimensions = [{}]",
                file.display(),
                map.dimensions.join(", ")
            );
        }
    }
    if exprs.is_empty() {
        bail!("{} maps no columns: name at least the timestamp or date", file.display());
    }
    Ok((raw.derived(raw.frame.clone().select(exprs), what)?, dimensions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_pointer_says_how_to_start() {
        let home = tempfile::tempdir().unwrap();
        // SAFETY (test-only): no other test in this binary reads DROPCASE_HOME.
        unsafe { std::env::set_var("DROPCASE_HOME", home.path()) };
        let err = current_drill_dir().unwrap_err().to_string();
        assert_eq!(err, "no current drill: run `dropcase drill start` or pass --data PATH");
        std::fs::write(home.path().join("current"), "/nonexistent/drill\n").unwrap();
        let err = current_drill_dir().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/drill"), "{err}");
    }
}
