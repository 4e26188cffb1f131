//! The command line: clap definitions, one file per subcommand, and the one place that
//! prints. Exit codes: 0 success, 1 a user error (bad file, bad value), 2 a usage error.

pub mod ab;
mod ab_data;
mod ab_experiment;
pub mod diagnose;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub mod drill;
pub mod exp;
pub mod generate;
pub mod metrics;
pub mod plot;
pub mod query;
mod query_plot;
pub mod report;
pub mod scenarios;
pub mod sql;

#[derive(Debug, Parser)]
#[command(name = "dropcase", bin_name = "dropcase", version, about = "Metric-drop diagnosis simulator: find the hidden root cause", long_about = None)]
pub struct Cli {
    /// Print every table column, however narrow the terminal (tables otherwise fit
    /// $COLUMNS or the terminal, leaving out secondary columns; piped output is never cut)
    #[arg(long, global = true)]
    pub wide: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A/B statistics: tests, intervals, SRM, sample size, sequential, CUPED, Bayesian.
    Ab(ab::AbArgs),
    /// Find the root cause: data-quality and mix checks, then the segments that explain a change.
    Diagnose(diagnose::DiagnoseArgs),
    /// Practise: start a case, investigate, take hints, answer, get graded.
    Drill(drill::DrillArgs),
    /// Experiment drills: interpret an A/B test with a hidden truth, decide whether to ship.
    Exp(exp::ExpArgs),
    /// Generate a drill folder from a scenario and a seed.
    Generate(generate::GenerateArgs),
    /// Write the investigation (brief, commands with tables and charts, answer, truth) as one HTML file.
    Report(report::ReportArgs),
    /// List, show and check scenario files.
    Scenarios(scenarios::ScenariosArgs),
    /// List the metrics queries know, with their definitions
    Metrics(metrics::MetricsArgs),
    /// Investigate: compare segments, follow a trend, walk the funnel
    Query(query::QueryArgs),
    /// Run polars SQL over sessions, orders and the context tables
    Sql(sql::SqlArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Entry point of the binary: parses arguments, runs the command, maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => {
            log_to_drill();
            ExitCode::SUCCESS
        }
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::output::set_wide(cli.wide);
    match cli.command {
        Command::Ab(args) => ab::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Drill(args) => drill::run(args),
        Command::Exp(args) => exp::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Report(args) => report::run(args),
        Command::Scenarios(args) => scenarios::run(args),
        Command::Metrics(args) => metrics::run(args),
        Command::Query(args) => query::run(args),
        Command::Sql(args) => sql::run(args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dropcase", &mut out);
            emit(&String::from_utf8_lossy(&out))
        }
    }
}

/// Records an investigative command in the drill it ran on (`--data DIR` or the current one).
fn log_to_drill() {
    // `dropcase report` re-runs logged commands; they must not be logged again.
    if std::env::var_os(report::NO_LOG_ENV).is_some() {
        return;
    }
    let argv: Vec<String> = std::env::args().collect();
    let mut words = vec!["dropcase".to_string()];
    words.extend(argv.iter().skip(1).map(|a| if a.contains(' ') { format!("{a:?}") } else { a.clone() }));
    let command = words.join(" ");
    let drill_step = match argv.get(1).map(String::as_str) {
        Some("drill") => matches!(argv.get(2).map(String::as_str), Some("hint" | "answer" | "reveal")),
        Some("exp") => matches!(argv.get(2).map(String::as_str), Some("hint" | "decide" | "reveal")),
        _ => false,
    };
    if !crate::drill::workspace::is_investigation(&command) && !drill_step {
        return;
    }
    let explicit = argv
        .iter()
        .position(|a| a == "--data" || a == "--dir")
        .and_then(|i| argv.get(i + 1))
        .map(std::path::PathBuf::from);
    let dir = match explicit {
        Some(dir) if dir.join(crate::schema::files::BRIEF).exists() => dir,
        Some(_) => return,
        None => match crate::drill::current_drill_dir() {
            Ok(dir) => dir,
            Err(_) => return,
        },
    };
    crate::drill::workspace::log_command(&dir, &command);
}

/// Writes a command's result to stdout. A closed pipe (`dropcase ... | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
