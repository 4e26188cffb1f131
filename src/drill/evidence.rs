//! Numbers behind hints and reveals, computed from a drill folder's rollup and orders:
//! window totals, the funnel per window, and per-segment changes.

use std::path::Path;

use polars::prelude::*;

use crate::brief::{Brief, Window};
use crate::query::engine::dates_within;
use crate::schema::{files, rollup as r};

/// Sums of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub sessions: f64,
    /// viewed, carted, checked out, purchased
    pub steps: [f64; 4],
    pub revenue: f64,
    pub orders: f64,
}

impl Totals {
    pub fn conversion(&self) -> f64 {
        self.steps[3] / self.sessions
    }

    /// Rate of step `i` given the step before (sessions for the first).
    pub fn step_rate(&self, i: usize) -> f64 {
        let den = if i == 0 { self.sessions } else { self.steps[i - 1] };
        self.steps[i] / den
    }
}

fn scan(dir: &Path, name: &str, folder: &str) -> PolarsResult<LazyFrame> {
    let file = dir.join(name);
    let path = if file.exists() { file } else { dir.join(folder) };
    crate::datafile::scan_parquet(&path, false).map_err(|err| polars_err!(ComputeError: "{err:#}"))
}

fn sums(dir: &Path, window: &Window, by: Option<&str>) -> PolarsResult<DataFrame> {
    let measures = [
        col(r::SESSIONS).sum().cast(DataType::Float64),
        col(r::VIEWED_PRODUCT).sum().cast(DataType::Float64),
        col(r::ADDED_TO_CART).sum().cast(DataType::Float64),
        col(r::REACHED_CHECKOUT).sum().cast(DataType::Float64),
        col(r::PURCHASED).sum().cast(DataType::Float64),
        col(r::REVENUE).sum(),
    ];
    let lf = scan(dir, files::ROLLUP, "rollup")?.filter(dates_within(window));
    match by {
        None => lf.select(measures).collect(),
        Some(dim) => lf
            .group_by([col(dim).cast(DataType::String).fill_null(lit("(none)")).alias(dim)])
            .agg(measures)
            .sort([dim], SortMultipleOptions::default())
            .collect(),
    }
}

fn orders_in(dir: &Path, window: &Window) -> PolarsResult<f64> {
    let df = scan(dir, files::ORDERS, "orders")?
        .filter(dates_within(window))
        .select([len().cast(DataType::Float64).alias("orders")])
        .collect()?;
    Ok(df.column("orders")?.f64()?.get(0).unwrap_or(0.0))
}

fn row_totals(df: &DataFrame, row: usize) -> PolarsResult<Totals> {
    let get = |name: &str| -> PolarsResult<f64> { Ok(df.column(name)?.f64()?.get(row).unwrap_or(0.0)) };
    Ok(Totals {
        sessions: get(r::SESSIONS)?,
        steps: [
            get(r::VIEWED_PRODUCT)?,
            get(r::ADDED_TO_CART)?,
            get(r::REACHED_CHECKOUT)?,
            get(r::PURCHASED)?,
        ],
        revenue: get(r::REVENUE)?,
        orders: 0.0,
    })
}

/// Totals of the baseline and current windows, with backend orders.
pub fn window_totals(dir: &Path, brief: &Brief) -> PolarsResult<(Totals, Totals)> {
    let mut out = [Totals::default(); 2];
    for (slot, w) in [brief.baseline, brief.current].iter().enumerate() {
        let df = sums(dir, w, None)?;
        out[slot] = row_totals(&df, 0)?;
        out[slot].orders = orders_in(dir, w)?;
    }
    Ok((out[0], out[1]))
}

/// Per value of `dim`: (value, baseline totals, current totals).
pub fn by_dimension(dir: &Path, brief: &Brief, dim: &str) -> PolarsResult<Vec<(String, Totals, Totals)>> {
    let base = sums(dir, &brief.baseline, Some(dim))?;
    let cur = sums(dir, &brief.current, Some(dim))?;
    let names = |df: &DataFrame| -> PolarsResult<Vec<String>> {
        Ok(df.column(dim)?.str()?.iter().map(|v| v.unwrap_or("(none)").to_string()).collect())
    };
    let (base_names, cur_names) = (names(&base)?, names(&cur)?);
    let mut out = Vec::new();
    for (i, name) in base_names.iter().enumerate() {
        let current = match cur_names.iter().position(|n| n == name) {
            Some(j) => row_totals(&cur, j)?,
            None => Totals::default(),
        };
        out.push((name.clone(), row_totals(&base, i)?, current));
    }
    for (j, name) in cur_names.iter().enumerate() {
        if !base_names.contains(name) {
            out.push((name.clone(), Totals::default(), row_totals(&cur, j)?));
        }
    }
    Ok(out)
}

/// The values of every dimension present in a drill (for validating answers).
/// Each dimension of a drill's product with the values its data hold: the shop's from the
/// rollup, another product's from its definition (its drills have no rollup).
pub fn drill_dimension_values(dir: &Path) -> Vec<(String, Vec<String>)> {
    let product = Brief::read(dir)
        .ok()
        .and_then(|b| crate::product::Product::load(&b.product).ok())
        .unwrap_or_else(crate::product::Product::shop);
    product
        .dimension_names()
        .into_iter()
        .map(|name| {
            let values = match product.dimension(&name) {
                Some(d) if !product.is_shop() => product.values_of(d),
                _ => dimension_values(dir, &name).unwrap_or_default(),
            };
            (name, values)
        })
        .collect()
}

pub fn dimension_values(dir: &Path, dim: &str) -> PolarsResult<Vec<String>> {
    let df = scan(dir, files::ROLLUP, "rollup")?
        .select([col(dim).cast(DataType::String)])
        .unique(None, UniqueKeepStrategy::Any)
        .drop_nulls(None)
        .collect()?;
    let mut values: Vec<String> = df.column(dim)?.str()?.iter().flatten().map(str::to_string).collect();
    values.sort();
    Ok(values)
}
