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
use crate::product::Product;

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
    /// The product whose rows --table holds (a name from `products/`, or a product file's
    /// path; a drill's is its drill.toml's `product`): --sql builds its dimensions and
    /// measures [default: shop]
    #[arg(long, value_name = "NAME|FILE", requires = "sql", conflicts_with = "schema")]
    pub product: Option<String>,
    /// Table (or view) of one row per session that --sql (or --engine) reads, as the
    /// engine names it
    #[arg(long, value_name = "NAME", conflicts_with = "data")]
    pub table: Option<String>,
    /// Build the cube on a Spark Connect server (sc://HOST:PORT) over --data PATH (a path
    /// the server can read) or --table NAME, and write its result to --out
    #[arg(long, value_name = "sc://HOST:PORT", conflicts_with = "sql")]
    pub engine: Option<String>,
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
            columns: None,
            product: match &args.product {
                Some(name) => {
                    Product::load(name).map_err(|err| anyhow::anyhow!("--product {name}: {err}"))?
                }
                None => Product::shop(),
            },
        };
        return emit(&cube_sql(&spec)?);
    }
    let out = args.out.as_deref().context("--out FILE is required without --sql")?;
    cube::check_out(out)?;
    if let Some(url) = &args.engine {
        return run_on_engine(&args, url, out);
    }
    if args.table.is_some() {
        bail!("--table names a table in an engine: use it with --sql or --engine sc://HOST:PORT");
    }
    let ds = Dataset::open(args.data.as_deref(), args.schema.as_deref())?;
    let time = args.time(Some(&ds))?;
    let mut frame = cube::build(&ds, &CubeSpec { by: args.by.clone(), time })?;
    cube::write(
        &mut frame,
        out,
        cube::recorded_product(ds.product, ds.brief.as_ref().map(|b| b.product.as_str())),
    )?;
    eprintln!("wrote {} ({} rows, {} columns)", out.display(), frame.height(), frame.width());
    Ok(())
}

/// `cube --engine URL`: the cube built by Spark Connect, written as `--out` writes one.
fn run_on_engine(args: &CubeArgs, url: &str, out: &std::path::Path) -> anyhow::Result<()> {
    use crate::cube::spark::{self, Engine, Request, Source};
    let engine = Engine::parse(url)?;
    let map = args.schema.as_deref().map(ColumnMap::read).transpose()?;
    let file = args.schema.clone().unwrap_or_default();
    let source = match (&args.table, &args.data) {
        (Some(name), _) => Source::Table(name.clone()),
        (None, Some(path)) => Source::Files(path.clone()),
        (None, None) => Source::Files(crate::dataset::current_drill_dir()?),
    };
    // Windows are given or come from a drill's brief: the engine holds no brief.
    let brief = match &source {
        Source::Files(path) if path.join(crate::schema::files::BRIEF).is_file() => {
            Some(crate::brief::Brief::read(path)?)
        }
        _ => None,
    };
    let time = match (args.baseline, args.current, &brief) {
        (Some(_), Some(_), _) | (None, None, _) => args.time(None)?,
        (b, c, Some(brief)) => Time::Windows(b.unwrap_or(brief.baseline), c.unwrap_or(brief.current)),
        (_, _, None) => bail!("--engine with windows needs both --baseline and --current"),
    };
    let request =
        Request { source: &source, map: map.as_ref().map(|m| (m, file.as_path())), by: Some(&args.by), time };
    let mut built = spark::build(&engine, &request)?;
    cube::write(&mut built.frame, out, cube::recorded_product(built.info.product, None))?;
    eprintln!(
        "wrote {} ({} rows, {} columns) from {}",
        out.display(),
        built.frame.height(),
        built.frame.width(),
        built.what
    );
    Ok(())
}
