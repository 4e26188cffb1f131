//! `dropcase cube --sql`: the one query that builds the cube (see [`super`] for its columns)
//! inside the engine that holds the rows, in the engine's own dialect. Its result has
//! exactly the columns and rows `dropcase cube --out` writes for the same arguments (and, for
//! a table of another product's rows, `--product NAME`: its dimensions and measures, as
//! `cube --out` on its drill); run it where the data lives, save the (small) result as
//! Parquet or CSV, and read it back with `--cube FILE`.
//!
//! One `GROUP BY` at the finest level (window or date × every `--by` dimension): every
//! cube measure adds up, so coarser cuts are sums of its rows, and subtotal rows (GROUPING
//! SETS, CUBE) would be counted twice by anything that sums a cube. Two windows are two
//! such SELECTs joined by `UNION ALL`, because windows may overlap.

use anyhow::bail;

use super::{CubeMeasure, TRUE_WORDS, Time, columns as c};
use crate::dataset::ColumnMap;
use crate::product::Product;
use crate::schema::sessions as s;

/// SQL dialects `dropcase cube --sql` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    Duckdb,
    Postgres,
    Spark,
    Bigquery,
    Snowflake,
    Trino,
}

impl Dialect {
    fn quote(self, name: &str) -> String {
        match self {
            Dialect::Spark | Dialect::Bigquery => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    fn text(self) -> &'static str {
        match self {
            Dialect::Spark | Dialect::Bigquery => "STRING",
            _ => "VARCHAR",
        }
    }

    fn float(self) -> &'static str {
        match self {
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::Bigquery => "FLOAT64",
            _ => "DOUBLE",
        }
    }

    fn integer(self) -> &'static str {
        match self {
            Dialect::Bigquery => "INT64",
            _ => "BIGINT",
        }
    }

    fn quote_char(self) -> char {
        match self {
            Dialect::Spark | Dialect::Bigquery => '`',
            _ => '"',
        }
    }
}

/// What the query reads and how it cuts.
#[derive(Debug)]
pub struct SqlSpec<'a> {
    pub dialect: Dialect,
    /// The table (or view) holding one row per session, as the engine names it.
    pub table: &'a str,
    pub by: &'a [String],
    pub time: Time,
    /// The `--schema` map and its file, when the table uses other column names.
    pub map: Option<(&'a ColumnMap, &'a std::path::Path)>,
    /// The table's columns, when known (an engine was asked): without a map, a funnel flag
    /// or value measure the table lacks is left out, as `cube --out` leaves it out.
    pub columns: Option<&'a [String]>,
    /// The product whose dimensions and measures the table has (a map maps onto the shop's).
    pub product: &'a Product,
}

/// A source column as the query reads it.
struct Source {
    name: String,
    /// Where the name comes from, for messages (`--schema FILE key`).
    origin: String,
}

/// The query building the cube in `spec.dialect`.
pub fn cube_sql(spec: &SqlSpec) -> anyhow::Result<String> {
    let d = spec.dialect;
    check_table(spec.table)?;
    if let (Some((_, file)), false) = (spec.map, spec.product.is_shop()) {
        bail!(
            "--schema {} maps columns onto the shop's, not the {} product's: name the product's own columns in the table, or leave out --schema",
            file.display(),
            spec.product.name
        );
    }
    let q = |name: &str| d.quote(name);
    let source = |key: &str, ours: &str, theirs: Option<&String>| -> Option<Source> {
        match spec.map {
            Some((_, file)) => {
                theirs.map(|t| Source { name: t.clone(), origin: format!("{} key {key}", file.display()) })
            }
            None => Some(Source { name: ours.to_string(), origin: "dropcase's column name".into() }),
        }
    };
    let map = spec.map.map(|(m, _)| m);
    // A measure the table is known to lack (unmapped names only: a map names columns).
    let present = |src: &Source| spec.map.is_some() || spec.columns.is_none_or(|cs| cs.contains(&src.name));
    let column = |src: &Source| -> anyhow::Result<String> {
        if src.name.contains(d.quote_char()) || src.name.is_empty() {
            bail!("column name '{}' ({}) cannot be quoted in {d:?} SQL", src.name, src.origin);
        }
        Ok(q(&src.name))
    };
    let need_time = |what: &str| -> anyhow::Error {
        match spec.map {
            Some((_, file)) => anyhow::anyhow!(
                "{what} needs a timestamp column: add `timestamp = \"your_column\"` to {}",
                file.display()
            ),
            None => anyhow::anyhow!("{what} needs a timestamp column"),
        }
    };
    // Date: the mapped date, else the date of the timestamp; dropcase's `date` without a map.
    let date = match (map.and_then(|m| m.date.as_ref()), map.and_then(|m| m.timestamp.as_ref()), map) {
        (Some(date), _, _) => source("date", s::DATE, Some(date)).expect("mapped"),
        (None, Some(ts), _) => source("timestamp", s::TS, Some(ts)).expect("mapped"),
        (None, None, None) => source("date", s::DATE, None).expect("unmapped"),
        (None, None, Some(_)) => return Err(need_time("a cube")),
    };
    let mut select: Vec<String> = vec![format!("CAST({} AS DATE) AS {}", column(&date)?, q(c::DATE))];
    if spec.time == Time::Hours {
        let ts = source("timestamp", s::TS, map.and_then(|m| m.timestamp.as_ref()))
            .ok_or_else(|| need_time("a cube per hour (--grain hour)"))?;
        select.push(format!(
            "CAST(EXTRACT(HOUR FROM {}) AS {}) AS {}",
            column(&ts)?,
            d.integer(),
            q(c::HOUR)
        ));
    }
    for (i, dim) in spec.by.iter().enumerate() {
        if spec.by[..i].contains(dim) {
            bail!("--by names '{dim}' twice");
        }
        match spec.map {
            Some((m, file)) => {
                if !m.dimensions.contains(dim) {
                    bail!(
                        "unknown dimension '{dim}' in --by{}; {} lists dimensions: {}",
                        crate::query::did_you_mean(dim, m.dimensions.iter().map(String::as_str)),
                        file.display(),
                        if m.dimensions.is_empty() { "(none)".into() } else { m.dimensions.join(", ") }
                    );
                }
            }
            None if spec.product.is_shop() => {
                if !s::DIMENSIONS.contains(&dim.as_str()) {
                    bail!(
                        "unknown dimension '{dim}' in --by{}; without --schema the table has dropcase's dimensions: {} (list your own in a --schema file's dimensions = [...])",
                        crate::query::did_you_mean(dim, s::DIMENSIONS),
                        s::DIMENSIONS.join(", ")
                    );
                }
            }
            None => {
                let known = spec.product.dimension_names();
                if !known.contains(dim) {
                    bail!(
                        "unknown dimension '{dim}' in --by{}; the {} product's dimensions: {}",
                        crate::query::did_you_mean(dim, known.iter().map(String::as_str)),
                        spec.product.name,
                        known.join(", ")
                    );
                }
            }
        }
        let src = Source { name: dim.clone(), origin: "--by".into() };
        select.push(format!("NULLIF(CAST({} AS {}), '') AS {}", column(&src)?, d.text(), q(dim)));
    }
    let true_words = TRUE_WORDS.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(", ");
    let mut measures: Vec<String> = Vec::new();
    for measure in super::product_measures(spec.product) {
        let columns = measure.columns();
        let ours = match &measure {
            CubeMeasure::Rows(_) => {
                measures.push(format!("CAST(COUNT(*) AS {}) AS {}", d.integer(), q(&columns[0])));
                continue;
            }
            CubeMeasure::Flag(ours) | CubeMeasure::Value(ours) => ours.as_str(),
        };
        // With a map, the column it names for this measure, and its key there.
        let mapped = map.and_then(|m| m.pairs().into_iter().find(|(_, o, _)| *o == ours));
        let theirs = mapped.map(|(_, _, theirs)| theirs.to_string());
        let key = mapped.map_or(ours, |(key, _, _)| key);
        let Some(src) = source(key, ours, theirs.as_ref()).filter(present) else { continue };
        if measure.counts() {
            select.push(format!(
                "CASE WHEN LOWER(CAST({} AS {})) IN ({true_words}) THEN 1 ELSE 0 END AS {}",
                column(&src)?,
                d.text(),
                q(ours)
            ));
            measures.push(format!("CAST(COALESCE(SUM({}), 0) AS {}) AS {}", q(ours), d.integer(), q(ours)));
        } else {
            select.push(format!("CAST({} AS {}) AS {}", column(&src)?, d.float(), q(ours)));
            measures.push(format!(
                "CAST(COALESCE(SUM({}), 0) AS {}) AS {}",
                q(ours),
                d.float(),
                q(&columns[0])
            ));
            measures.push(format!(
                "CAST(COALESCE(SUM({v} * {v}), 0) AS {}) AS {}",
                d.float(),
                q(&columns[1]),
                v = q(ours)
            ));
        }
    }
    let dims: Vec<String> = spec.by.iter().map(|dim| q(dim)).collect();
    let indent = |items: &[String]| items.join(",\n    ");
    let mut out = format!("WITH src AS (\n  SELECT\n    {}\n  FROM {}\n)\n", indent(&select), spec.table);
    let group_by = |time: &[String]| -> String {
        let keys: Vec<String> = time.iter().cloned().chain(dims.iter().cloned()).collect();
        if keys.is_empty() { String::new() } else { format!("\nGROUP BY {}", keys.join(", ")) }
    };
    let order_by = |time: &[String]| -> String {
        let keys: Vec<String> = time.iter().chain(dims.iter()).map(|k| format!("{k} NULLS FIRST")).collect();
        if keys.is_empty() { String::new() } else { format!("\nORDER BY {}", keys.join(", ")) }
    };
    match spec.time {
        Time::Windows(baseline, current) => {
            let parts: Vec<String> = [(c::BASELINE, baseline), (c::CURRENT, current)]
                .iter()
                .map(|(label, w)| {
                    let mut columns = vec![
                        format!("'{label}' AS {}", q(c::WINDOW)),
                        format!("DATE '{}' AS {}", w.from, q(c::WINDOW_FROM)),
                        format!("DATE '{}' AS {}", w.to, q(c::WINDOW_TO)),
                    ];
                    columns.extend(dims.iter().cloned());
                    columns.extend(measures.iter().cloned());
                    format!(
                        "SELECT\n    {}\nFROM src\nWHERE {} BETWEEN DATE '{}' AND DATE '{}'{}",
                        indent(&columns),
                        q(c::DATE),
                        w.from,
                        w.to,
                        group_by(&[])
                    )
                })
                .collect();
            out.push_str(&parts.join("\nUNION ALL\n"));
            out.push_str(&order_by(&[q(c::WINDOW)]));
        }
        Time::Days | Time::Hours => {
            let time: Vec<String> = super::time_columns(&spec.time).iter().map(|t| q(t)).collect();
            let mut columns = time.clone();
            columns.extend(dims.iter().cloned());
            columns.extend(measures.iter().cloned());
            out.push_str(&format!("SELECT\n    {}\nFROM src{}", indent(&columns), group_by(&time)));
            out.push_str(&order_by(&time));
        }
    }
    out.push_str(";\n");
    Ok(out)
}

/// Refuses a `--table` that is not a (possibly qualified, possibly quoted) table name.
pub(crate) fn check_table(table: &str) -> anyhow::Result<()> {
    let fine = |ch: char| ch.is_alphanumeric() || "_.$-\"`@".contains(ch);
    if table.is_empty() || !table.chars().all(fine) {
        bail!(
            "--table '{table}' is not a table name: write NAME, SCHEMA.NAME or CATALOG.SCHEMA.NAME (letters, digits, _, ., $, -, quotes)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dialect: Dialect, by: &[String], time: Time) -> String {
        cube_sql(&SqlSpec {
            dialect,
            table: "analytics.sessions",
            by,
            time,
            map: None,
            columns: None,
            product: Product::shop(),
        })
        .unwrap()
    }

    #[test]
    fn each_dialect_quotes_and_types_its_own_way() {
        let by = vec!["platform".to_string(), "country".to_string()];
        let duck = spec(Dialect::Duckdb, &by, Time::Days);
        assert!(duck.contains("NULLIF(CAST(\"platform\" AS VARCHAR), '') AS \"platform\""), "{duck}");
        assert!(duck.contains("GROUP BY \"date\", \"platform\", \"country\""), "{duck}");
        let big = spec(Dialect::Bigquery, &by, Time::Hours);
        assert!(big.contains("CAST(EXTRACT(HOUR FROM `ts`) AS INT64) AS `hour`"), "{big}");
        assert!(big.contains("AS FLOAT64) AS `revenue_sq`"), "{big}");
        let pg = spec(Dialect::Postgres, &[], Time::Days);
        assert!(pg.contains("DOUBLE PRECISION"), "{pg}");
        assert!(pg.contains("GROUP BY \"date\"\nORDER BY \"date\" NULLS FIRST;"), "{pg}");
    }

    #[test]
    fn windows_are_two_selects_and_bad_names_are_refused() {
        let w = |a: u32, b: u32| {
            Window::new(
                chrono::NaiveDate::from_ymd_opt(2026, 3, a).unwrap(),
                chrono::NaiveDate::from_ymd_opt(2026, 3, b).unwrap(),
            )
        };
        let sql = spec(Dialect::Trino, &["device".to_string()], Time::Windows(w(1, 7), w(8, 14)));
        assert_eq!(sql.matches("UNION ALL").count(), 1, "{sql}");
        assert!(sql.contains("WHERE \"date\" BETWEEN DATE '2026-03-08' AND DATE '2026-03-14'"), "{sql}");
        let err = cube_sql(&SqlSpec {
            dialect: Dialect::Duckdb,
            table: "t; DROP TABLE x",
            by: &[],
            time: Time::Days,
            map: None,
            columns: None,
            product: Product::shop(),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("is not a table name"), "{err}");
        let err = cube_sql(&SqlSpec {
            dialect: Dialect::Duckdb,
            table: "t",
            by: &["devise".to_string()],
            time: Time::Days,
            map: None,
            columns: None,
            product: Product::shop(),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown dimension 'devise'") && err.contains("did you mean 'device'"), "{err}");
    }

    /// A product's query selects its own dimensions and measures, in `cube --out`'s order;
    /// a `--schema` map (onto the shop's columns) does not go with another product.
    #[test]
    fn a_products_query_builds_its_own_measures() {
        let app = Product::load("engagement_app").unwrap();
        let by = vec!["acquisition".to_string()];
        let spec = |map| SqlSpec {
            dialect: Dialect::Postgres,
            table: "app.user_days",
            by: &by,
            time: Time::Days,
            map,
            columns: None,
            product: app,
        };
        let sql = cube_sql(&spec(None)).unwrap();
        let aliases: Vec<&str> = sql
            .split("\nFROM src")
            .next()
            .unwrap()
            .rsplit("SELECT")
            .next()
            .unwrap()
            .lines()
            .filter_map(|line| line.trim().trim_end_matches(',').rsplit(" AS ").next())
            .filter(|alias| !alias.is_empty())
            .collect();
        let expected: Vec<String> = ["date", "acquisition"]
            .iter()
            .map(|c| c.to_string())
            .chain(super::super::product_measures(app).iter().flat_map(CubeMeasure::columns))
            .map(|c| format!("\"{c}\""))
            .collect();
        assert_eq!(aliases, expected, "{sql}");
        assert!(sql.contains("CAST(COUNT(*) AS BIGINT) AS \"user_days\""), "{sql}");
        assert!(!sql.contains("purchased") && !sql.contains("revenue"), "{sql}");
        let err = cube_sql(&SqlSpec { by: &["devise".to_string()], ..spec(None) }).unwrap_err().to_string();
        assert!(err.contains("unknown dimension 'devise'") && err.contains("engagement_app"), "{err}");
        let map = ColumnMap::default();
        let err = cube_sql(&spec(Some((&map, std::path::Path::new("s.toml"))))).unwrap_err().to_string();
        assert!(err.contains("s.toml") && err.contains("shop"), "{err}");
    }

    use crate::brief::Window;
}
