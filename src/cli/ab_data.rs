//! Raw experiment data for `dropcase ab`: read a CSV or Parquet file with polars (lazily,
//! only the columns asked for) and split numeric columns by arm. The polars side of the `ab`
//! commands lives here so `stats` never sees a data frame.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::{DataType, LazyFileListReader, LazyFrame, col};

/// Numeric columns of the two arms, in the order they were requested. Rows with a null in
/// any requested column are dropped.
#[derive(Debug)]
pub struct Arms {
    pub control_label: String,
    pub treatment_label: String,
    pub control: Vec<Vec<f64>>,
    pub treatment: Vec<Vec<f64>>,
}

/// Reads `columns` (each paired with the flag that named it) split by the `variant` column.
/// The control arm is `control_label`, or the value named "control" (any case), or the
/// first value in sorted order; the file must hold exactly two variants.
pub fn load_arms(
    path: &Path,
    variant: &str,
    columns: &[(&str, &str)],
    control_label: Option<&str>,
) -> Result<Arms> {
    let mut frame = scan(path)?;
    let schema = frame.collect_schema().with_context(|| format!("--data: cannot read {}", path.display()))?;
    let available = || schema.iter_names().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
    for (flag, name) in std::iter::once(&("--variant", variant)).chain(columns) {
        if schema.get(name).is_none() {
            bail!("{flag}: no column '{name}' in {} (columns: {})", path.display(), available());
        }
    }
    let mut exprs = vec![col(variant).cast(DataType::String)];
    for (_, name) in columns {
        exprs.push(col(*name).cast(DataType::Float64));
    }
    let data =
        frame.select(exprs).drop_nulls(None).collect().with_context(|| {
            format!("--data: reading {} (are the value columns numeric?)", path.display())
        })?;

    let labels: Vec<Option<&str>> = data.column(variant)?.str()?.iter().collect();
    let mut distinct: Vec<&str> = labels.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let listed = || {
        let shown: Vec<&str> = distinct.iter().take(8).copied().collect();
        let more =
            if distinct.len() > 8 { format!(", … {} in all", distinct.len()) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    let control = match control_label {
        Some(label) if distinct.contains(&label) => label,
        Some(label) => {
            bail!("--control-label: no row has {variant} = '{label}' (values: {})", listed())
        }
        None if distinct.len() == 2 => {
            distinct.iter().copied().find(|v| v.eq_ignore_ascii_case("control")).unwrap_or(distinct[0])
        }
        None => bail!(
            "--variant: column '{variant}' has {} values ({}); the ab commands compare two arms",
            distinct.len(),
            listed()
        ),
    };
    if distinct.len() != 2 {
        bail!(
            "--variant: column '{variant}' has {} values ({}); the ab commands compare two arms",
            distinct.len(),
            listed()
        );
    }
    let treatment = distinct.iter().copied().find(|v| *v != control).expect("two distinct values");

    let mut arms = Arms {
        control_label: control.to_string(),
        treatment_label: treatment.to_string(),
        control: vec![Vec::new(); columns.len()],
        treatment: vec![Vec::new(); columns.len()],
    };
    for (i, (_, name)) in columns.iter().enumerate() {
        let values = data.column(name)?.f64()?;
        for (label, value) in labels.iter().zip(values.iter()) {
            let (Some(label), Some(value)) = (label, value) else { continue };
            if *label == control {
                arms.control[i].push(value);
            } else {
                arms.treatment[i].push(value);
            }
        }
    }
    Ok(arms)
}

fn scan(path: &Path) -> Result<LazyFrame> {
    if !path.is_file() {
        bail!("--data: no file at {}", path.display());
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let frame = match extension.as_str() {
        "parquet" | "pq" => crate::datafile::scan_parquet(path, false),
        "csv" | "txt" => {
            crate::datafile::csv_reader(path).and_then(|reader| Ok(reader.with_has_header(true).finish()?))
        }
        other => {
            bail!("--data: {} has extension '{other}'; expected .csv or .parquet", path.display())
        }
    };
    frame.with_context(|| format!("--data: cannot read {}", path.display()))
}
