//! A leaf table given directly as CSV or Parquet: dimension columns plus an actual and an
//! expected (forecast) column. Errors name the flag, the file and the columns there are.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::{
    DataType, Expr, LazyCsvReader, LazyFileListReader, LazyFrame, PlRefPath, PolarsResult, ScanArgsParquet,
    StringChunked, col, lit,
};

use super::leaves::{Dictionary, LeafTable, NULL_VALUE};

/// Which columns of the file to read.
#[derive(Debug, Clone)]
pub struct Columns {
    pub actual: String,
    pub expected: String,
    /// Dimension columns; `None`: every column other than the two measures.
    pub dims: Option<Vec<String>>,
}

fn scan(path: &Path) -> Result<LazyFrame> {
    if !path.is_file() {
        bail!("--leaves: no file at {}", path.display());
    }
    let source = PlRefPath::try_from_path(path)
        .with_context(|| format!("--leaves: {} is not a UTF-8 path", path.display()))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let frame = match extension.as_str() {
        "parquet" | "pq" => LazyFrame::scan_parquet(source, ScanArgsParquet::default()),
        "csv" | "txt" => LazyCsvReader::new(source).with_has_header(true).finish(),
        other => bail!("--leaves: {} has extension '{other}'; expected .csv or .parquet", path.display()),
    };
    frame.with_context(|| format!("--leaves: cannot read {}", path.display()))
}

/// Reads a leaf table file. Rows with the same dimension values are summed.
pub fn read(path: &Path, columns: &Columns) -> Result<LeafTable> {
    let mut frame = scan(path)?;
    let schema =
        frame.collect_schema().with_context(|| format!("--leaves: cannot read {}", path.display()))?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    if names.is_empty() {
        bail!("--leaves: {} has no columns (is it empty?)", path.display());
    }
    let check = |flag: &str, name: &str| -> Result<()> {
        if names.iter().any(|n| n == name) {
            return Ok(());
        }
        let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
        let hint = crate::suggest::nearest(name, &candidates)
            .map(|n| format!(" (did you mean '{n}'?)"))
            .unwrap_or_default();
        bail!("{flag}: no column '{name}' in {}{hint}; columns: {}", path.display(), names.join(", "))
    };
    check("--actual", &columns.actual)?;
    check("--expected", &columns.expected)?;
    let dims: Vec<String> = match &columns.dims {
        Some(dims) => {
            for d in dims {
                check("--dims", d)?;
            }
            dims.clone()
        }
        None => names.iter().filter(|n| **n != columns.actual && **n != columns.expected).cloned().collect(),
    };
    if dims.is_empty() {
        bail!("--leaves: {} has no dimension columns besides the two measures", path.display());
    }
    let mut exprs: Vec<Expr> =
        dims.iter().map(|d| col(d.as_str()).cast(DataType::String).fill_null(lit(NULL_VALUE))).collect();
    exprs.push(col(columns.actual.as_str()).cast(DataType::Float64));
    exprs.push(col(columns.expected.as_str()).cast(DataType::Float64));
    let data = frame.select(exprs).collect().with_context(|| {
        format!("--leaves: reading {} (are --actual and --expected numeric?)", path.display())
    })?;
    if data.height() == 0 {
        bail!("--leaves: {} has no rows", path.display());
    }
    let actual = data.column(&columns.actual)?.f64()?;
    let expected = data.column(&columns.expected)?.f64()?;
    let dim_cols: Vec<&StringChunked> =
        dims.iter().map(|d| data.column(d).and_then(|c| c.str())).collect::<PolarsResult<_>>()?;
    let mut table = LeafTable::new(dims.clone());
    let mut dict = Dictionary::default();
    for row in 0..data.height() {
        let (Some(a), Some(e)) = (actual.get(row), expected.get(row)) else {
            bail!(
                "--leaves: row {} of {} has no value in '{}' or '{}'",
                row + 1,
                path.display(),
                columns.actual,
                columns.expected
            );
        };
        if !a.is_finite() || !e.is_finite() || e < 0.0 || a < 0.0 {
            bail!(
                "--leaves: row {} of {}: actual {a} and expected {e} must be finite and non-negative",
                row + 1,
                path.display()
            );
        }
        let values: Vec<&str> = dim_cols.iter().map(|c| c.get(row).unwrap_or(NULL_VALUE)).collect();
        table.push(&mut dict, &values, a, e);
    }
    Ok(table)
}
