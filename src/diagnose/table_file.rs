//! A leaf table given directly as CSV or Parquet: dimension columns plus an actual and an
//! expected (forecast) column, and for a ratio metric a denominator beside each (the
//! numerator and denominator pairs). Errors name the flag, the file and the columns there are.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::{DataType, Expr, LazyFileListReader, LazyFrame, PolarsResult, StringChunked, col, lit};

use super::leaves::{Dictionary, LeafTable, NULL_VALUE, RatioLeaves};

/// Which columns of the file to read.
#[derive(Debug, Clone)]
pub struct Columns {
    pub actual: String,
    pub expected: String,
    /// For a ratio metric, the denominators of the actual and the expected value; `actual`
    /// and `expected` are then the numerators.
    pub denominators: Option<(String, String)>,
    /// Dimension columns; `None`: every column other than the measures.
    pub dims: Option<Vec<String>>,
}

impl Columns {
    /// (flag, column) of every measure column.
    fn measures(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("--actual", self.actual.as_str()), ("--expected", self.expected.as_str())];
        if let Some((a, e)) = &self.denominators {
            out.push(("--actual-denominator", a.as_str()));
            out.push(("--expected-denominator", e.as_str()));
        }
        out
    }
}

/// What a leaf file holds.
#[derive(Debug, Clone)]
pub enum LeafFile {
    /// An additive metric: actual vs expected per leaf.
    Additive(LeafTable),
    /// A ratio metric: numerator and denominator of the actual and the expected value. The
    /// expected pair is read as an observed reference (a baseline window), not a noiseless
    /// forecast, when the localiser weighs the evidence.
    Ratio(RatioLeaves),
}

fn scan(path: &Path) -> Result<LazyFrame> {
    if !path.is_file() {
        bail!("--leaves: no file at {}", path.display());
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let frame = match extension.as_str() {
        "parquet" | "pq" => crate::datafile::scan_parquet(path, false),
        "csv" | "txt" => {
            crate::datafile::csv_reader(path).and_then(|reader| Ok(reader.with_has_header(true).finish()?))
        }
        other => bail!("--leaves: {} has extension '{other}'; expected .csv or .parquet", path.display()),
    };
    frame.with_context(|| format!("--leaves: cannot read {}", path.display()))
}

/// Reads a leaf table file: CSV through [`super::csv_records`] (a B0 case is read and
/// localised in less time than polars takes to start), Parquet through polars.
pub fn read(path: &Path, columns: &Columns) -> Result<LeafFile> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if matches!(extension.as_str(), "csv" | "txt") {
        return read_csv(path, columns);
    }
    let mut frame = scan(path)?;
    let schema =
        frame.collect_schema().with_context(|| format!("--leaves: cannot read {}", path.display()))?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let (dims, measures) = resolve(path, &names, columns)?;
    let mut exprs: Vec<Expr> =
        dims.iter().map(|d| col(d.as_str()).cast(DataType::String).fill_null(lit(NULL_VALUE))).collect();
    exprs.extend(measures.iter().map(|(_, m)| col(*m).cast(DataType::Float64)));
    let data = frame.select(exprs).collect().with_context(|| {
        format!("--leaves: reading {} (are the measure columns numeric?)", path.display())
    })?;
    let measure_cols = measures
        .iter()
        .map(|(_, m)| data.column(m).and_then(|c| c.f64()))
        .collect::<PolarsResult<Vec<_>>>()?;
    let dim_cols: Vec<&StringChunked> =
        dims.iter().map(|d| data.column(d).and_then(|c| c.str())).collect::<PolarsResult<_>>()?;
    build(
        path,
        columns,
        &dims,
        &measures,
        data.height(),
        |row, k| Ok(measure_cols[k].get(row)),
        |row, d| dim_cols[d].get(row).unwrap_or(NULL_VALUE),
    )
}

/// A CSV leaf table, read whole. An empty field is a missing value, as polars reads it.
fn read_csv(path: &Path, columns: &Columns) -> Result<LeafFile> {
    crate::datafile::reading(path);
    if !path.is_file() {
        bail!("--leaves: no file at {}", path.display());
    }
    crate::datafile::verify(path).with_context(|| format!("--leaves: cannot read {}", path.display()))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--leaves: cannot read {}", path.display()))?;
    // Fields are slices of the text when it holds no quotes (a B0 case), else of the parsed
    // records.
    let (plain, parsed, quoted);
    let records: Vec<(usize, &[&str])> = match super::csv_records::split_plain(&text) {
        Some(records) => {
            plain = records;
            plain.iter().collect()
        }
        None => {
            parsed = super::csv_records::parse(&text)
                .map_err(|e| anyhow::anyhow!("--leaves: {} {e}", path.display()))?;
            quoted = parsed
                .iter()
                .map(|r| r.fields.iter().map(String::as_str).collect())
                .collect::<Vec<Vec<&str>>>();
            parsed.iter().zip(&quoted).map(|(r, fields)| (r.line, fields.as_slice())).collect()
        }
    };
    let Some(((_, header), rows)) = records.split_first() else {
        bail!("--leaves: {} has no columns (is it empty?)", path.display());
    };
    let names: Vec<String> = header.iter().map(|n| n.trim().to_string()).collect();
    let (dims, measures) = resolve(path, &names, columns)?;
    let index = |name: &str| names.iter().position(|n| n == name).expect("resolved columns exist");
    let dim_index: Vec<usize> = dims.iter().map(|d| index(d)).collect();
    let measure_index: Vec<usize> = measures.iter().map(|(_, m)| index(m)).collect();
    for (line, fields) in rows {
        if fields.len() != names.len() {
            bail!(
                "--leaves: {} line {line}: {} fields where the header has {}",
                path.display(),
                fields.len(),
                names.len()
            );
        }
    }
    let measure = |row: usize, k: usize| -> Result<Option<f64>> {
        let text = rows[row].1[measure_index[k]].trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>().map(Some).map_err(|_| {
            let (flag, name) = measures[k];
            anyhow::anyhow!(
                "--leaves: reading {} (are the measure columns numeric?): line {}: '{name}' ({flag}) is '{text}', not a number",
                path.display(),
                rows[row].0
            )
        })
    };
    let dim = |row: usize, d: usize| -> &str {
        let v = rows[row].1[dim_index[d]];
        if v.is_empty() { NULL_VALUE } else { v }
    };
    build(path, columns, &dims, &measures, rows.len(), measure, dim)
}

/// (flag, column) of each measure: `("--actual", "real")`.
type Measures<'c> = Vec<(&'static str, &'c str)>;

/// The dimension columns and the measures, checked against the file's column names.
fn resolve<'c>(path: &Path, names: &[String], columns: &'c Columns) -> Result<(Vec<String>, Measures<'c>)> {
    if names.is_empty() || names.iter().all(String::is_empty) {
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
    let measures = columns.measures();
    for (flag, name) in &measures {
        check(flag, name)?;
    }
    for (i, (flag, name)) in measures.iter().enumerate() {
        if let Some((other, _)) = measures[..i].iter().find(|(_, n)| n == name) {
            bail!("{other} and {flag} both name column '{name}'; each measure needs its own column");
        }
        if columns.dims.as_ref().is_some_and(|dims| dims.iter().any(|d| d == name)) {
            bail!("--dims lists '{name}', which is also {flag}; a measure cannot be a dimension");
        }
    }
    let dims: Vec<String> = match &columns.dims {
        Some(dims) => {
            for d in dims {
                check("--dims", d)?;
            }
            dims.clone()
        }
        None => names.iter().filter(|n| !measures.iter().any(|(_, m)| m == n)).cloned().collect(),
    };
    if dims.is_empty() {
        bail!("--leaves: {} has no dimension columns besides the measures", path.display());
    }
    Ok((dims, measures))
}

/// Builds the leaf table from `height` rows, a row's measure `k` (`None`: missing) and its
/// dimension `d`, checking every value.
fn build<'r>(
    path: &Path,
    columns: &Columns,
    dims: &[String],
    measures: &[(&'static str, &str)],
    height: usize,
    measure: impl Fn(usize, usize) -> Result<Option<f64>>,
    dim: impl Fn(usize, usize) -> &'r str,
) -> Result<LeafFile> {
    if height == 0 {
        bail!("--leaves: {} has no rows", path.display());
    }
    let mut table = LeafTable::new(dims.to_vec());
    let mut dict = Dictionary::default();
    let mut denominators: Vec<[f64; 2]> = Vec::new();
    let mut cells: Vec<&str> = Vec::with_capacity(dims.len());
    for row in 0..height {
        let mut values = [0.0; 4];
        for (k, (flag, name)) in measures.iter().enumerate() {
            let Some(v) = measure(row, k)? else {
                bail!("--leaves: row {} of {} has no value in '{name}' ({flag})", row + 1, path.display());
            };
            if !v.is_finite() || v < 0.0 {
                bail!(
                    "--leaves: row {} of {}: '{name}' ({flag}) is {v}; measures must be finite and non-negative",
                    row + 1,
                    path.display()
                );
            }
            values[k] = v;
        }
        if columns.denominators.is_some() {
            let [num_a, num_e, den_a, den_e] = values;
            for (num, den, k) in [(num_a, den_a, 0), (num_e, den_e, 1)] {
                if num > den {
                    let ((num_flag, num_col), (den_flag, den_col)) = (measures[k], measures[k + 2]);
                    bail!(
                        "--leaves: row {} of {}: numerator exceeds its denominator: '{num_col}' ({num_flag}) is {num} but '{den_col}' ({den_flag}) is {den}; a ratio metric here is a rate of successes",
                        row + 1,
                        path.display()
                    );
                }
            }
            denominators.push([den_a, den_e]);
        }
        cells.clear();
        cells.extend((0..dims.len()).map(|d| dim(row, d)));
        table.push(&mut dict, &cells, values[0], values[1]);
    }
    if columns.denominators.is_none() {
        return Ok(LeafFile::Additive(table));
    }
    for (k, flag) in [(0, "--actual-denominator"), (1, "--expected-denominator")] {
        if denominators.iter().all(|d| d[k] <= 0.0) {
            bail!("--leaves: every row of {} has a zero {flag}; the rate is undefined", path.display());
        }
    }
    Ok(LeafFile::Ratio(RatioLeaves {
        dims: table.dims,
        values: table.values,
        codes: table.codes,
        num_base: table.expected,
        den_base: denominators.iter().map(|d| d[1]).collect(),
        num_cur: table.actual,
        den_cur: denominators.iter().map(|d| d[0]).collect(),
    }))
}
