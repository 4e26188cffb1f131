//! `dropcase cube`: write the cube of a dataset (`--out FILE`), or print the SQL that builds
//! the same cube in a warehouse (`--sql --dialect D --table NAME`). Columns: see
//! [`crate::cube`].

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::emit;
use super::query::parse_window;
use crate::brief::Window;
use crate::cube::sql::{Dialect, SqlSpec, cube_sql};
use crate::cube::{self, CubeSpec, Time};
use crate::dataset::{ColumnMap, Dataset};

/// Time resolution of a cube per date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CubeGrain {
    #[default]
    Day,
    Hour,
}

#[derive(Debug, Args)]
pub struct CubeArgs {
    /// A drill folder, a Parquet or CSV file, or a folder of date=YYYY-MM-DD/ Parquet
    /// partitions [default: the current drill]
    #[arg(long, value_name = "PATH", conflicts_with = "sql")]
    pub data: Option<PathBuf>,
    /// TOML file mapping your column names onto dropcase's (as for `query`)
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Dimensions to keep, comma-separated (each row is one combination of their values)
    #[arg(long, value_delimiter = ',', value_name = "DIM[,DIM2,...]")]
    pub by: Vec<String>,
    /// Baseline window FROM..TO: with --current, one row group per window instead of per date
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    pub baseline: Option<Window>,
    /// Current window FROM..TO
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    pub current: Option<Window>,
    /// Per date or per date and hour (without windows)
    #[arg(long, value_enum, default_value_t, conflicts_with_all = ["baseline", "current"])]
    pub grain: CubeGrain,
    /// Where to write the cube (.parquet or .csv)
    #[arg(long, value_name = "FILE", required_unless_present = "sql", conflicts_with = "sql")]
    pub out: Option<PathBuf>,
    /// Print the SQL that builds this cube in a warehouse instead of building it here
    #[arg(long, requires_all = ["dialect", "table"])]
    pub sql: bool,
    /// SQL dialect of --sql
    #[arg(long, value_enum, requires = "sql")]
    pub dialect: Option<Dialect>,
    /// Table (or view) of one row per session that --sql reads, as the engine names it
    #[arg(long, value_name = "NAME", requires = "sql")]
    pub table: Option<String>,
}

impl CubeArgs {
    fn time(&self, ds: Option<&Dataset>) -> anyhow::Result<Time> {
        Ok(match (self.baseline, self.current, ds) {
            (None, None, _) => match self.grain {
                CubeGrain::Day => Time::Days,
                CubeGrain::Hour => Time::Hours,
            },
            (Some(b), Some(c), _) => Time::Windows(b, c),
            (b, c, Some(ds)) => {
                let (b, c) = ds.windows(b, c)?;
                Time::Windows(b, c)
            }
            (Some(_), None, None) | (None, Some(_), None) => {
                bail!(
                    "--sql with windows needs both --baseline and --current (there are no rows here to default from)"
                )
            }
        })
    }
}

pub fn run(args: CubeArgs) -> anyhow::Result<()> {
    if args.sql {
        let map = args.schema.as_deref().map(ColumnMap::read).transpose()?;
        let file = args.schema.clone().unwrap_or_default();
        let spec = SqlSpec {
            dialect: args.dialect.context("--sql needs --dialect")?,
            table: args.table.as_deref().context("--sql needs --table")?,
            by: &args.by,
            time: args.time(None)?,
            map: map.as_ref().map(|m| (m, file.as_path())),
        };
        return emit(&cube_sql(&spec)?);
    }
    let out = args.out.as_deref().context("--out FILE is required without --sql")?;
    cube::check_out(out)?;
    let ds = Dataset::open(args.data.as_deref(), args.schema.as_deref())?;
    let time = args.time(Some(&ds))?;
    let mut frame = cube::build(&ds, &CubeSpec { by: args.by.clone(), time })?;
    cube::write(&mut frame, out)?;
    eprintln!("wrote {} ({} rows, {} columns)", out.display(), frame.height(), frame.width());
    Ok(())
}
