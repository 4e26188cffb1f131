//! Shared helpers: generate a drill into a temporary folder and read its tables back into
//! plain vectors, so signature checks can slice the data any way they need.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use dropcase::brief::Window;
use dropcase::generate::{Generated, Options, generate};
use dropcase::scenario::Scenario;
use dropcase::schema::{files, orders as ocols, sessions as cols};
use polars::prelude::*;

/// A drill generated into a temporary folder, with its tables loaded.
pub struct Drill {
    pub dir: tempfile::TempDir,
    pub generated: Generated,
    pub sessions: Sessions,
    pub orders: Orders,
}

impl Drill {
    pub fn baseline(&self) -> Window {
        self.generated.brief.baseline
    }

    pub fn current(&self) -> Window {
        self.generated.brief.current
    }
}

/// Generates `scenario` with `seed` and `sessions` sessions, panicking with the generator's
/// message if it fails (that includes a failed self-check).
pub fn generate_drill(scenario: &Scenario, seed: u64, sessions: u64) -> Drill {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("drill");
    let options = Options { sessions: Some(sessions), days: None, partitioned: false, force: false };
    let generated = generate(scenario, seed, &out, &options, &|_, _| {})
        .unwrap_or_else(|err| panic!("{} (seed {seed}) did not generate: {err:#}", scenario.name));
    let sessions = Sessions::read(&out.join(files::SESSIONS)).expect("sessions.parquet reads");
    let orders = Orders::read(&out.join(files::ORDERS)).expect("orders.parquet reads");
    Drill { dir, generated, sessions, orders }
}

pub fn scan(path: &Path) -> PolarsResult<LazyFrame> {
    LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())
}

/// A dimension column as small codes into its list of names (`None` = null).
#[derive(Debug, Default)]
pub struct Dim {
    pub codes: Vec<Option<u16>>,
    pub names: Vec<String>,
}

impl Dim {
    fn from_column(column: &Column) -> PolarsResult<Dim> {
        let mut dim = Dim::default();
        let mut index: HashMap<String, u16> = HashMap::new();
        dim.codes.reserve(column.len());
        for value in column.str()?.iter() {
            let code = value.map(|v| {
                *index.entry(v.to_string()).or_insert_with(|| {
                    dim.names.push(v.to_string());
                    (dim.names.len() - 1) as u16
                })
            });
            dim.codes.push(code);
        }
        Ok(dim)
    }

    /// The code of `value`, or `None` if it never occurs.
    pub fn code(&self, value: &str) -> Option<u16> {
        self.names.iter().position(|n| n == value).map(|i| i as u16)
    }

    pub fn is(&self, row: usize, value: &str) -> bool {
        self.code(value).is_some_and(|c| self.codes[row] == Some(c))
    }

    pub fn name(&self, row: usize) -> Option<&str> {
        self.codes[row].map(|c| self.names[c as usize].as_str())
    }
}

fn date_of(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(i64::from(days))
}

fn datetime_of(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms).expect("timestamp in range").naive_utc()
}

/// `sessions.parquet` as vectors.
#[derive(Debug, Default)]
pub struct Sessions {
    pub len: usize,
    pub session_id: Vec<u64>,
    pub user_id: Vec<u64>,
    pub ts: Vec<NaiveDateTime>,
    pub date: Vec<NaiveDate>,
    pub dims: HashMap<&'static str, Dim>,
    /// viewed, carted, checked out, purchased.
    pub flags: [Vec<bool>; 4],
    pub revenue: Vec<f64>,
    pub page_load_ms: Vec<f64>,
}

fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    Ok(df.column(name)?.bool()?.iter().map(|v| v.expect("no nulls")).collect())
}

fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    Ok(df.column(name)?.f64()?.into_no_null_iter().collect())
}

fn u64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<u64>> {
    Ok(df.column(name)?.u64()?.into_no_null_iter().collect())
}

fn dates(df: &DataFrame, name: &str) -> PolarsResult<Vec<NaiveDate>> {
    Ok(df.column(name)?.i32()?.into_no_null_iter().map(date_of).collect())
}

fn datetimes(df: &DataFrame, name: &str) -> PolarsResult<Vec<NaiveDateTime>> {
    Ok(df.column(name)?.i64()?.into_no_null_iter().map(datetime_of).collect())
}

impl Sessions {
    pub fn read(path: &Path) -> PolarsResult<Sessions> {
        let mut select = vec![
            col(cols::SESSION_ID),
            col(cols::USER_ID),
            col(cols::TS).cast(DataType::Int64),
            col(cols::DATE).cast(DataType::Int32),
            col(cols::REVENUE),
            col(cols::PAGE_LOAD_MS),
        ];
        select.extend(cols::FUNNEL.iter().map(|f| col(*f)));
        select.extend(cols::DIMENSIONS.iter().map(|d| col(*d).cast(DataType::String)));
        let df = scan(path)?.select(select).collect()?;
        let mut dims = HashMap::new();
        for d in cols::DIMENSIONS {
            dims.insert(d, Dim::from_column(df.column(d)?)?);
        }
        Ok(Sessions {
            len: df.height(),
            session_id: u64s(&df, cols::SESSION_ID)?,
            user_id: u64s(&df, cols::USER_ID)?,
            ts: datetimes(&df, cols::TS)?,
            date: dates(&df, cols::DATE)?,
            dims,
            flags: [
                bools(&df, cols::VIEWED_PRODUCT)?,
                bools(&df, cols::ADDED_TO_CART)?,
                bools(&df, cols::REACHED_CHECKOUT)?,
                bools(&df, cols::PURCHASED)?,
            ],
            revenue: floats(&df, cols::REVENUE)?,
            page_load_ms: floats(&df, cols::PAGE_LOAD_MS)?,
        })
    }

    pub fn dim(&self, name: &str) -> &Dim {
        &self.dims[name]
    }

    /// Whether row `i` lies in the segment `terms` (`dim=value` pairs; empty = everyone).
    pub fn in_segment(&self, i: usize, terms: &[(String, String)]) -> bool {
        terms.iter().all(|(d, v)| self.dims[d.as_str()].is(i, v))
    }

    /// Funnel sums over the rows where `keep` holds.
    pub fn funnel(&self, keep: impl Fn(usize) -> bool) -> Funnel {
        let mut f = Funnel::default();
        for i in 0..self.len {
            if !keep(i) {
                continue;
            }
            f.sessions += 1;
            for s in 0..4 {
                f.steps[s] += u64::from(self.flags[s][i]);
            }
            f.revenue += self.revenue[i];
        }
        f
    }

    /// Sessions per distinct user among the rows where `keep` holds, one day at a time,
    /// averaged over days (users are drawn per session, so repeats within a day are rare
    /// unless the client logs a session twice).
    pub fn sessions_per_user_daily(&self, keep: impl Fn(usize) -> bool) -> f64 {
        let mut per_day: HashMap<NaiveDate, (u64, std::collections::HashSet<u64>)> = HashMap::new();
        for i in 0..self.len {
            if keep(i) {
                let entry = per_day.entry(self.date[i]).or_default();
                entry.0 += 1;
                entry.1.insert(self.user_id[i]);
            }
        }
        let (sessions, users) =
            per_day.values().fold((0u64, 0u64), |(s, u), (n, set)| (s + n, u + set.len() as u64));
        sessions as f64 / users.max(1) as f64
    }
}

/// Counts of one slice of sessions.
#[derive(Debug, Default, Clone, Copy)]
pub struct Funnel {
    pub sessions: u64,
    pub steps: [u64; 4],
    pub revenue: f64,
}

impl Funnel {
    /// Rate of step `i` given the step before (given a session for the first step).
    pub fn rate(&self, i: usize) -> f64 {
        let den = if i == 0 { self.sessions } else { self.steps[i - 1] };
        self.steps[i] as f64 / den.max(1) as f64
    }

    pub fn den(&self, i: usize) -> u64 {
        if i == 0 { self.sessions } else { self.steps[i - 1] }
    }

    pub fn conversion(&self) -> f64 {
        self.steps[3] as f64 / self.sessions.max(1) as f64
    }

    /// Average order value of purchasing sessions.
    pub fn aov(&self) -> f64 {
        self.revenue / self.steps[3].max(1) as f64
    }
}

/// `orders.parquet` as vectors.
#[derive(Debug, Default)]
pub struct Orders {
    pub len: usize,
    pub order_id: Vec<u64>,
    pub user_id: Vec<u64>,
    pub ts: Vec<NaiveDateTime>,
    pub date: Vec<NaiveDate>,
    pub platform: Dim,
    pub country: Dim,
    pub payment_method: Dim,
    pub amount: Vec<f64>,
    pub status: Vec<String>,
}

impl Orders {
    pub fn read(path: &Path) -> PolarsResult<Orders> {
        let df = scan(path)?
            .select([
                col(ocols::ORDER_ID),
                col(ocols::USER_ID),
                col(ocols::TS).cast(DataType::Int64),
                col(ocols::DATE).cast(DataType::Int32),
                col(ocols::PLATFORM).cast(DataType::String),
                col(ocols::COUNTRY).cast(DataType::String),
                col(ocols::PAYMENT_METHOD).cast(DataType::String),
                col(ocols::AMOUNT),
                col(ocols::STATUS),
            ])
            .collect()?;
        Ok(Orders {
            len: df.height(),
            order_id: u64s(&df, ocols::ORDER_ID)?,
            user_id: u64s(&df, ocols::USER_ID)?,
            ts: datetimes(&df, ocols::TS)?,
            date: dates(&df, ocols::DATE)?,
            platform: Dim::from_column(df.column(ocols::PLATFORM)?)?,
            country: Dim::from_column(df.column(ocols::COUNTRY)?)?,
            payment_method: Dim::from_column(df.column(ocols::PAYMENT_METHOD)?)?,
            amount: floats(&df, ocols::AMOUNT)?,
            status: df
                .column(ocols::STATUS)?
                .str()?
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect(),
        })
    }

    /// Orders where `keep` holds.
    pub fn count(&self, keep: impl Fn(usize) -> bool) -> u64 {
        (0..self.len).filter(|&i| keep(i)).count() as u64
    }
}

/// Ratio of two rates, `a / b - 1` (relative change).
pub fn change(after: f64, before: f64) -> f64 {
    after / before - 1.0
}

/// z statistic of the pooled two-proportion test (x0 of n0 against x1 of n1).
pub fn z_two_proportions(x0: u64, n0: u64, x1: u64, n1: u64) -> f64 {
    let (x0, n0, x1, n1) = (x0 as f64, n0 as f64, x1 as f64, n1 as f64);
    let pooled = (x0 + x1) / (n0 + n1);
    let se = (pooled * (1.0 - pooled) * (1.0 / n0 + 1.0 / n1)).sqrt();
    (x1 / n1 - x0 / n0) / se
}

/// A catalogue scenario by file name.
pub fn catalogue(name: &str) -> Scenario {
    Scenario::load(name).unwrap_or_else(|err| panic!("catalogue scenario {name}: {err}"))
}
