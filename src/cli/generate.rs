//! `dropcase generate`: a scenario and a seed become a drill folder.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::generate::{self, Options};
use crate::scenario::Scenario;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A catalogue name (see `dropcase scenarios list`) or a path to a scenario .toml file.
    #[arg(long)]
    pub scenario: String,
    /// Seed for every random choice: the same seed gives the same data.
    #[arg(long)]
    pub seed: u64,
    /// Folder to write the drill into.
    #[arg(long)]
    pub out: PathBuf,
    /// Total sessions, 1000 to 2000000000 (default: the scenario's volume, about a million;
    /// above 100 million add --partitioned).
    #[arg(long)]
    pub sessions: Option<u64>,
    /// Days of data, up to 366 (the comparison windows stay at the end).
    #[arg(long)]
    pub days: Option<u32>,
    /// Write Hive-style `date=YYYY-MM-DD/` Parquet folders (for Spark, Trino, DuckDB).
    #[arg(long)]
    pub partitioned: bool,
    /// Replace an existing folder.
    #[arg(long)]
    pub force: bool,
}

/// Reports progress on stderr once a job has run for more than a second.
pub struct Progress {
    started: Instant,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new() -> Self {
        Self { started: Instant::now(), bar: Mutex::new(None) }
    }

    pub fn update(&self, done: u64, total: u64) {
        let Ok(mut bar) = self.bar.lock() else { return };
        if bar.is_none() && self.started.elapsed() > Duration::from_secs(1) {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} generating {pos}/{len} sessions [{bar:30}] {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            *bar = Some(b);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(done);
        }
    }

    pub fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(b) = bar.take()
        {
            b.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let options = Options {
        sessions: args.sessions,
        days: args.days,
        partitioned: args.partitioned,
        force: args.force,
    };
    let progress = Progress::new();
    let generated = match crate::product::scenario::ProductScenario::find(&args.scenario) {
        Some(scenario) => {
            generate::product_engine::generate(&scenario?, args.seed, &args.out, &options, &|d, t| {
                progress.update(d, t)
            })
        }
        None => {
            let scenario = Scenario::load(&args.scenario)?;
            generate::generate(&scenario, args.seed, &args.out, &options, &|d, t| progress.update(d, t))
        }
    };
    progress.finish();
    let generated = generated?;
    eprintln!(
        "wrote {} ({} rows, {} in the second source){}",
        generated.dir.display(),
        crate::output::thousands(generated.sessions),
        crate::output::thousands(generated.orders),
        if generated.attempts > 1 {
            format!("; {} draws until the case was solvable", generated.attempts)
        } else {
            String::new()
        }
    );
    super::emit(&generated.brief.prompt)
}
