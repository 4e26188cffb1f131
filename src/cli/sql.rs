//! `dropcase sql "SELECT ..."`: polars SQL over the data's tables.

use clap::Args;

use super::emit;
use super::query::{OutputArgs, SourceArgs, plain_table};
use crate::output::{self, Format};
use crate::query::sql::{SqlCell, describe_tables, run_sql};

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query; tables: sessions, orders, rollup and the drill's context CSVs by name
    /// (releases, marketing, config_changes)
    #[arg(required_unless_present = "tables")]
    pub query: Option<String>,
    /// Print at most N rows as a table (CSV and JSON print all unless given)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// List the tables and their columns instead of running a query
    #[arg(long, conflicts_with = "query")]
    pub tables: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

const TABLE_LIMIT: usize = 200;

fn cell_text(cell: &SqlCell, table: bool) -> String {
    match cell {
        SqlCell::Null => {
            if table {
                "null".into()
            } else {
                String::new()
            }
        }
        SqlCell::Bool(b) => b.to_string(),
        SqlCell::Int(i) => i.to_string(),
        SqlCell::Float(x) if table => output::number(*x),
        SqlCell::Float(x) => x.to_string(),
        SqlCell::Text(s) => s.clone(),
    }
}

pub fn run(args: SqlArgs) -> anyhow::Result<()> {
    let ds = args.source.open()?;
    let Some(query) = &args.query else {
        let result = describe_tables(&ds)?;
        let text = match args.output.format {
            Format::Json => output::json(&result),
            format => {
                let header: Vec<&str> = result.columns.iter().map(String::as_str).collect();
                let rows: Vec<Vec<String>> =
                    result.rows.iter().map(|r| r.iter().map(|c| cell_text(c, false)).collect()).collect();
                if format == Format::Table {
                    format!("{}\n", plain_table(&header, rows))
                } else {
                    output::csv(&header, &rows)
                }
            }
        };
        return emit(&text);
    };
    let limit = match (args.limit, args.output.format) {
        (Some(n), _) => Some(n),
        (None, Format::Table) => Some(TABLE_LIMIT),
        (None, _) => None,
    };
    let result = run_sql(&ds, query, limit)?;
    if result.truncated {
        eprintln!("showing the first {} rows; pass --limit N or --format csv for more", result.rows.len());
    }
    let text = match args.output.format {
        Format::Json => output::json(&result),
        Format::Csv | Format::Table => {
            let table = args.output.format == Format::Table;
            let header: Vec<&str> = result.columns.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> =
                result.rows.iter().map(|r| r.iter().map(|c| cell_text(c, table)).collect()).collect();
            if table { format!("{}\n", plain_table(&header, rows)) } else { output::csv(&header, &rows) }
        }
    };
    emit(&text)
}
