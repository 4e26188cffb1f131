//! An experiment folder in memory: who was assigned to which arm (with their dimensions
//! and pre-period behaviour) and what each user did on each day. The generator produces it,
//! writes it as `assignments.parquet` and `outcomes.parquet`, and the analysis reads it back.

use std::fs::File;
use std::path::Path;

use anyhow::Context as _;
use chrono::NaiveDate;
use polars::prelude::*;

/// Dimension columns of `assignments.parquet`, in segment order.
pub const DIMENSIONS: [&str; 4] = ["platform", "browser", "country", "user_type"];

pub const ASSIGNMENTS: &str = "assignments.parquet";
pub const OUTCOMES: &str = "outcomes.parquet";

/// One randomised user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct User {
    pub id: u64,
    /// 0 = control, 1 = treatment.
    pub arm: u8,
    /// Day of first exposure, counted from the data's first day.
    pub day: u16,
    /// Seconds into that day of the first exposure.
    pub second: u32,
    /// Index into `ExperimentData::dim_values` per dimension.
    pub dims: [u8; 4],
    pub pre_orders: f64,
    pub pre_revenue: f64,
}

/// What one user did on one day (only days with a session are stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayRow {
    /// Index into `ExperimentData::users`.
    pub user: u32,
    pub day: u16,
    pub sessions: u32,
    /// Orders as logged by the client.
    pub orders: u32,
    pub revenue: f64,
    /// Mean page load time of the day's sessions.
    pub page_load_ms: f64,
    pub refunds: u32,
    /// Orders in the server-side source.
    pub server_orders: u32,
}

#[derive(Debug, Clone)]
pub struct ExperimentData {
    pub arms: [String; 2],
    pub start: NaiveDate,
    pub days: u16,
    pub dim_values: [Vec<String>; 4],
    pub users: Vec<User>,
    pub rows: Vec<DayRow>,
}

impl ExperimentData {
    pub fn date(&self, day: u16) -> NaiveDate {
        self.start + chrono::Duration::days(i64::from(day))
    }

    pub fn dim_value(&self, user: &User, dim: usize) -> &str {
        &self.dim_values[dim][user.dims[dim] as usize]
    }

    pub fn arm_counts(&self) -> [u64; 2] {
        let mut counts = [0u64; 2];
        for u in &self.users {
            counts[u.arm as usize] += 1;
        }
        counts
    }

    /// Writes both tables into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let mut assignments =
            anyhow::Context::context(self.assignments_frame(), "building the assignments table")?;
        let mut outcomes = anyhow::Context::context(self.outcomes_frame(), "building the outcomes table")?;
        for (name, frame) in [(ASSIGNMENTS, &mut assignments), (OUTCOMES, &mut outcomes)] {
            let path = dir.join(name);
            let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let written =
                ParquetWriter::new(file).with_compression(ParquetCompression::Zstd(None)).finish(frame);
            anyhow::Context::with_context(written, || format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    fn enum_column(name: &str, values: &[String], codes: Vec<u8>) -> PolarsResult<Column> {
        let dtype =
            DataType::from_frozen_categories(FrozenCategories::new(values.iter().map(String::as_str))?);
        let physical = UInt8Chunked::from_vec(name.into(), codes);
        Ok(Categorical8Chunked::from_cats_and_dtype(physical, dtype).into_series().into_column())
    }

    fn assignments_frame(&self) -> PolarsResult<DataFrame> {
        let users = &self.users;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let start_ms = (self.start - epoch).num_days() * 86_400_000;
        let exposure: Vec<i64> = users
            .iter()
            .map(|u| start_ms + i64::from(u.day) * 86_400_000 + i64::from(u.second) * 1000)
            .collect();
        let mut columns = vec![
            UInt64Chunked::from_vec("user_id".into(), users.iter().map(|u| u.id).collect()).into_column(),
            Self::enum_column("variant", &self.arms, users.iter().map(|u| u.arm).collect())?,
            Int64Chunked::from_vec("first_exposure".into(), exposure)
                .into_datetime(TimeUnit::Milliseconds, None)
                .into_series()
                .into_column(),
        ];
        for (i, name) in DIMENSIONS.iter().enumerate() {
            columns.push(Self::enum_column(
                name,
                &self.dim_values[i],
                users.iter().map(|u| u.dims[i]).collect(),
            )?);
        }
        columns.push(
            Float64Chunked::from_vec("pre_orders".into(), users.iter().map(|u| u.pre_orders).collect())
                .into_column(),
        );
        columns.push(
            Float64Chunked::from_vec("pre_revenue".into(), users.iter().map(|u| u.pre_revenue).collect())
                .into_column(),
        );
        DataFrame::new(users.len(), columns)
    }

    fn outcomes_frame(&self) -> PolarsResult<DataFrame> {
        let rows = &self.rows;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let start = (self.start - epoch).num_days() as i32;
        let int = |name: &str, f: &dyn Fn(&DayRow) -> u32| {
            Int32Chunked::from_vec(name.into(), rows.iter().map(|r| f(r) as i32).collect()).into_column()
        };
        let float = |name: &str, f: &dyn Fn(&DayRow) -> f64| {
            Float64Chunked::from_vec(name.into(), rows.iter().map(f).collect()).into_column()
        };
        let columns = vec![
            UInt64Chunked::from_vec(
                "user_id".into(),
                rows.iter().map(|r| self.users[r.user as usize].id).collect(),
            )
            .into_column(),
            Int32Chunked::from_vec("date".into(), rows.iter().map(|r| start + i32::from(r.day)).collect())
                .into_date()
                .into_series()
                .into_column(),
            int("sessions", &|r| r.sessions),
            int("orders", &|r| r.orders),
            float("revenue", &|r| r.revenue),
            float("page_load_ms", &|r| r.page_load_ms),
            int("refunds", &|r| r.refunds),
            int("server_orders", &|r| r.server_orders),
        ];
        DataFrame::new(rows.len(), columns)
    }

    /// Reads an experiment folder; `arms` are (control, treatment) from the brief.
    pub fn read(dir: &Path, arms: &[String]) -> anyhow::Result<ExperimentData> {
        let assignments = collect(dir, ASSIGNMENTS, {
            let mut exprs = vec![
                col("user_id").cast(DataType::UInt64),
                col("variant").cast(DataType::String),
                col("first_exposure")
                    .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
                    .cast(DataType::Int64),
                col("pre_orders").cast(DataType::Float64),
                col("pre_revenue").cast(DataType::Float64),
            ];
            exprs.extend(DIMENSIONS.iter().map(|d| col(*d).cast(DataType::String)));
            exprs
        })?;
        let outcomes = collect(
            dir,
            OUTCOMES,
            vec![
                col("user_id").cast(DataType::UInt64),
                col("date").cast(DataType::Int32),
                col("sessions").cast(DataType::Float64),
                col("orders").cast(DataType::Float64),
                col("revenue").cast(DataType::Float64),
                col("page_load_ms").cast(DataType::Float64),
                col("refunds").cast(DataType::Float64),
                col("server_orders").cast(DataType::Float64),
            ],
        )?;
        from_frames(&assignments, &outcomes, arms)
            .with_context(|| format!("reading the experiment in {}", dir.display()))
    }
}

fn collect(dir: &Path, name: &str, exprs: Vec<Expr>) -> anyhow::Result<DataFrame> {
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} has no {name}: is it an experiment folder (`dropcase exp start`)?",
        dir.display()
    );
    let frame = crate::datafile::scan_parquet(&path, false)?.select(exprs).collect();
    anyhow::Context::with_context(frame, || {
        format!("cannot read {} (expected the columns of a dropcase experiment)", path.display())
    })
}

fn from_frames(
    assignments: &DataFrame,
    outcomes: &DataFrame,
    arms: &[String],
) -> anyhow::Result<ExperimentData> {
    anyhow::ensure!(arms.len() == 2, "an experiment has two arms, the brief names {}", arms.len());
    let ids = assignments.column("user_id")?.u64()?;
    let variants = assignments.column("variant")?.str()?;
    let exposure = assignments.column("first_exposure")?.i64()?;
    let pre_orders = assignments.column("pre_orders")?.f64()?;
    let pre_revenue = assignments.column("pre_revenue")?.f64()?;
    let dims: Vec<&StringChunked> = DIMENSIONS
        .iter()
        .map(|d| assignments.column(d).and_then(|c| c.str()))
        .collect::<PolarsResult<_>>()?;
    let first_ms = exposure.min().context("no users in assignments")?;
    let start = chrono::DateTime::from_timestamp_millis(first_ms)
        .context("first_exposure is out of range")?
        .date_naive();
    let start_ms = start.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis();
    let mut dim_values: [Vec<String>; 4] = Default::default();
    let mut users = Vec::with_capacity(assignments.height());
    let mut index = std::collections::HashMap::with_capacity(assignments.height());
    for i in 0..assignments.height() {
        let variant = variants.get(i).unwrap_or_default();
        let arm = arms.iter().position(|a| a == variant).with_context(|| {
            format!(
                "assignments has variant '{variant}', but the brief names the arms {}",
                arms.join(" and ")
            )
        })? as u8;
        let ms = exposure.get(i).unwrap_or(first_ms) - start_ms;
        let mut codes = [0u8; 4];
        for (d, column) in dims.iter().enumerate() {
            let value = column.get(i).unwrap_or("(none)");
            let pos = match dim_values[d].iter().position(|v| v == value) {
                Some(p) => p,
                None => {
                    anyhow::ensure!(dim_values[d].len() < 255, "{} has too many values", DIMENSIONS[d]);
                    dim_values[d].push(value.to_string());
                    dim_values[d].len() - 1
                }
            };
            codes[d] = pos as u8;
        }
        let id = ids.get(i).unwrap_or(i as u64);
        index.insert(id, users.len() as u32);
        users.push(User {
            id,
            arm,
            day: (ms / 86_400_000) as u16,
            second: ((ms % 86_400_000) / 1000) as u32,
            dims: codes,
            pre_orders: pre_orders.get(i).unwrap_or(0.0),
            pre_revenue: pre_revenue.get(i).unwrap_or(0.0),
        });
    }
    let epoch_day = (start - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32;
    let get = |name: &str| outcomes.column(name).and_then(|c| c.f64().cloned());
    let (sessions, orders, revenue, page_load, refunds, server) = (
        get("sessions")?,
        get("orders")?,
        get("revenue")?,
        get("page_load_ms")?,
        get("refunds")?,
        get("server_orders")?,
    );
    let out_ids = outcomes.column("user_id")?.u64()?;
    let dates = outcomes.column("date")?.i32()?;
    let mut rows = Vec::with_capacity(outcomes.height());
    let mut days = users.iter().map(|u| u.day + 1).max().unwrap_or(1);
    for i in 0..outcomes.height() {
        let Some(&user) = out_ids.get(i).and_then(|id| index.get(&id)) else { continue };
        let day = dates.get(i).unwrap_or(epoch_day) - epoch_day;
        if day < 0 {
            continue;
        }
        days = days.max(day as u16 + 1);
        let n = |c: &Float64Chunked| c.get(i).unwrap_or(0.0);
        rows.push(DayRow {
            user,
            day: day as u16,
            sessions: n(&sessions) as u32,
            orders: n(&orders) as u32,
            revenue: n(&revenue),
            page_load_ms: n(&page_load),
            refunds: n(&refunds) as u32,
            server_orders: n(&server) as u32,
        });
    }
    Ok(ExperimentData { arms: [arms[0].clone(), arms[1].clone()], start, days, dim_values, users, rows })
}
