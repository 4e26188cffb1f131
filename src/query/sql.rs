//! `dropcase sql`: polars SQL over the dataset's tables — `sessions`, `orders`, `rollup` and
//! the drill's context CSVs by file name (`releases`, `marketing`, `config_changes`) — for
//! the questions the built-in queries do not ask.

use anyhow::Context;
use polars::prelude::*;
use polars::sql::SQLContext;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};

use crate::dataset::{Dataset, Table};
use crate::query::engine::{categorical, collect};

/// One value of a result, typed as JSON will carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SqlCell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// Rows of a SQL result. JSON: a list of objects, one per row, keys in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlCell>>,
    /// Whether more rows existed beyond the limit.
    pub truncated: bool,
}

impl Serialize for SqlResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [String], &'a [SqlCell]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (name, cell) in self.0.iter().zip(self.1) {
                    map.serialize_entry(name, cell)?;
                }
                map.end()
            }
        }
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for row in &self.rows {
            seq.serialize_element(&Row(&self.columns, row))?;
        }
        seq.end()
    }
}

/// The tables a query can name, in listing order.
pub fn table_names(ds: &Dataset) -> Vec<String> {
    let mut names = vec!["sessions".to_string()];
    if ds.orders.is_some() {
        names.push("orders".into());
    }
    if ds.rollup.is_some() {
        names.push("rollup".into());
    }
    if ds.hourly.is_some() {
        names.push("rollup_hourly".into());
    }
    names.extend(ds.context.iter().map(|(name, _)| name.clone()));
    names
}

/// Every table with its columns and types, as rows `table, column, type`.
pub fn describe_tables(ds: &Dataset) -> anyhow::Result<SqlResult> {
    // The tables' schemas were read when the data was opened; no rows are read here.
    let mut schemas: Vec<(String, SchemaRef)> = vec![("sessions".into(), ds.sessions.schema.clone())];
    for (name, table) in [("orders", &ds.orders), ("rollup", &ds.rollup), ("rollup_hourly", &ds.hourly)] {
        if let Some(table) = table {
            schemas.push((name.to_string(), table.schema.clone()));
        }
    }
    for (name, frame) in &ds.context {
        let schema = frame
            .clone()
            .collect_schema()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read table {name}"))?;
        schemas.push((name.clone(), schema));
    }
    let mut rows = Vec::new();
    for (name, schema) in schemas {
        for (column, dtype) in schema.iter() {
            let dtype = match dtype {
                DataType::Enum(..) => "enum".to_string(),
                other => other.to_string(),
            };
            rows.push(vec![
                SqlCell::Text(name.clone()),
                SqlCell::Text(column.to_string()),
                SqlCell::Text(dtype),
            ]);
        }
    }
    Ok(SqlResult { columns: vec!["table".into(), "column".into(), "type".into()], rows, truncated: false })
}

/// Longest query accepted, in bytes.
pub const MAX_SQL_BYTES: usize = 100_000;
/// Deepest nesting of parentheses accepted.
pub const MAX_SQL_NESTING: usize = 64;
/// Most operators (`+`, `=`, `AND`, `NOT`, ...) accepted in one query. Polars' SQL planner
/// and optimiser recurse once per level of an expression, and `1+1+...+1` is as deep as it
/// is long, so a long chain would overflow the stack: refused here, before parsing.
pub const MAX_SQL_OPERATORS: usize = 1_000;

/// How big a query is, as a shallow lexer sees it (strings, quoted names and comments skipped).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QuerySize {
    pub nesting: usize,
    pub operators: usize,
}

/// Measures a query's parenthesis nesting and operator count.
pub fn query_size(query: &str) -> QuerySize {
    let chars: Vec<char> = query.chars().collect();
    let (mut size, mut depth, mut i) = (QuerySize::default(), 0usize, 0usize);
    let mut in_operator = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let operator = "+-*/%<>=|&^~!".contains(c);
        if !operator {
            in_operator = false;
        }
        match c {
            '\'' | '"' | '`' => {
                // Skip to the closing quote (a doubled quote is an escaped one).
                i += 1;
                while i < chars.len() {
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 1;
            }
            '(' => {
                depth += 1;
                size.nesting = size.nesting.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ if operator => {
                if !in_operator {
                    size.operators += 1;
                }
                in_operator = true;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i + 1 < chars.len() && (chars[i + 1].is_alphanumeric() || chars[i + 1] == '_') {
                    i += 1;
                }
                let word: String = chars[start..=i].iter().collect::<String>().to_ascii_uppercase();
                if matches!(
                    word.as_str(),
                    "AND" | "OR" | "NOT" | "CASE" | "WHEN" | "LIKE" | "ILIKE" | "IN" | "BETWEEN" | "IS"
                ) {
                    size.operators += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    size
}

/// Refuses a query too long or too deep to plan safely, naming the limit and why.
pub fn check_query_size(query: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        query.len() <= MAX_SQL_BYTES,
        "the SQL query is {} bytes long; the limit is {MAX_SQL_BYTES}: split it, or filter with a shorter condition",
        query.len()
    );
    let size = query_size(query);
    anyhow::ensure!(
        size.nesting <= MAX_SQL_NESTING,
        "the SQL query nests parentheses {} deep; the limit is {MAX_SQL_NESTING}, because polars plans nested expressions recursively and a deeper one would overflow the stack: flatten it (for example with a CTE, WITH name AS (...))",
        size.nesting
    );
    anyhow::ensure!(
        size.operators <= MAX_SQL_OPERATORS,
        "the SQL query has {} operators (+, =, AND, NOT, ...); the limit is {MAX_SQL_OPERATORS}, because polars plans a chain of operators recursively and a longer one would overflow the stack: use IN (...) for long lists of alternatives, or split the query",
        size.operators
    );
    Ok(())
}

/// Runs `query`, returning at most `limit` rows (all when `None`).
pub fn run_sql(ds: &Dataset, query: &str, limit: Option<usize>) -> anyhow::Result<SqlResult> {
    check_query_size(query)?;
    let mut context = SQLContext::new();
    context.register("sessions", without_enums(&ds.sessions)?);
    if let Some(orders) = &ds.orders {
        context.register("orders", without_enums(orders)?);
    }
    if let Some(rollup) = &ds.rollup {
        context.register("rollup", without_enums(rollup)?);
    }
    if let Some(hourly) = &ds.hourly {
        context.register("rollup_hourly", without_enums(hourly)?);
    }
    for (name, frame) in &ds.context {
        context.register(name, frame.clone());
    }
    let tables = || table_names(ds).join(", ");
    // The statement is quoted (its start, when long) so a mistyped argument is recognisable.
    let quoted = || {
        let text: String = query.chars().take(80).collect();
        if text.len() < query.len() { format!("`{text}…`") } else { format!("`{text}`") }
    };
    let mut frame = context
        .execute(query)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("SQL {} did not run (tables: {})", quoted(), tables()))?;
    if let Some(limit) = limit {
        frame = frame.slice(0, (limit as IdxSize).saturating_add(1));
    }
    let df = collect(frame).with_context(|| format!("SQL did not run (tables: {})", tables()))?;
    let mut result = frame_to_rows(&df)?;
    if let Some(limit) = limit {
        result.truncated = result.rows.len() > limit;
        result.rows.truncate(limit);
    }
    Ok(result)
}

/// The table with Enum columns as Categorical: polars here cannot group by several Enum
/// columns (see [`crate::query::engine::categorical`]); the cast is lazy, so columns a
/// query does not read cost nothing.
fn without_enums(table: &Table) -> anyhow::Result<LazyFrame> {
    let casts: Vec<Expr> = table
        .schema
        .iter()
        .filter(|(_, dtype)| matches!(dtype, DataType::Enum(..)))
        .map(|(name, _)| col(name.clone()).cast(categorical()))
        .collect();
    let frame = table.frame()?;
    Ok(if casts.is_empty() { frame } else { frame.with_columns(casts) })
}

/// Converts a collected frame to typed cells.
pub fn frame_to_rows(df: &DataFrame) -> anyhow::Result<SqlResult> {
    let columns: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    let mut rows: Vec<Vec<SqlCell>> = vec![Vec::with_capacity(columns.len()); df.height()];
    for column in df.columns() {
        let dtype = column.dtype();
        let cells: Vec<SqlCell> = if dtype == &DataType::Boolean {
            column.bool()?.iter().map(|v| v.map_or(SqlCell::Null, SqlCell::Bool)).collect()
        } else if dtype.is_integer() {
            let ints = column.cast(&DataType::Int64)?;
            ints.i64()?.iter().map(|v| v.map_or(SqlCell::Null, SqlCell::Int)).collect()
        } else if dtype.is_float() {
            let floats = column.cast(&DataType::Float64)?;
            floats.f64()?.iter().map(|v| v.map_or(SqlCell::Null, SqlCell::Float)).collect()
        } else {
            let text = column.cast(&DataType::String)?;
            text.str()?.iter().map(|v| v.map_or(SqlCell::Null, |s| SqlCell::Text(s.to_string()))).collect()
        };
        for (row, cell) in rows.iter_mut().zip(cells) {
            row.push(cell);
        }
    }
    Ok(SqlResult { columns, rows, truncated: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_size_counts_nesting_and_operators_outside_strings_and_comments() {
        let size = query_size("SELECT (a + b) * 2 FROM t WHERE x >= 1 AND y IN ('a+b', \"c-d\") -- 1+1+1\n");
        // +, *, >=, AND, IN; the strings, the quoted name and the comment hold none.
        assert_eq!(size, QuerySize { nesting: 1, operators: 5 });
        assert_eq!(query_size("SELECT abs(abs(abs(1)))").nesting, 3);
        assert_eq!(query_size("SELECT 'it''s (' /* ( + */").operators, 0);
    }

    #[test]
    fn deep_and_long_queries_are_refused_with_the_limit() {
        let chain = format!("SELECT 1{} FROM sessions", "+1".repeat(2_000));
        let err = check_query_size(&chain).unwrap_err().to_string();
        assert!(err.contains("2000 operators") && err.contains("limit is 1000"), "{err}");
        let nested = format!("SELECT {}1{} FROM sessions", "(".repeat(2_000), ")".repeat(2_000));
        let err = check_query_size(&nested).unwrap_err().to_string();
        assert!(err.contains("2000 deep") && err.contains("limit is 64"), "{err}");
        let long = format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES));
        assert!(check_query_size(&long).unwrap_err().to_string().contains("bytes long"));
        check_query_size("SELECT platform, count(*) FROM sessions WHERE purchased GROUP BY 1").unwrap();
    }
}
