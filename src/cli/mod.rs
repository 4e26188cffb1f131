//! The command line: clap definitions, one file per subcommand, and the one place that
//! prints. Exit codes: 0 success, 1 a user error (bad file, bad value), 2 a usage error.

pub mod ab;
mod ab_data;
mod ab_experiment;
pub mod cube;
pub mod diagnose;
pub mod exit;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub mod drill;
pub mod exp;
pub mod generate;
pub mod metrics;
pub mod plot;
pub mod query;
mod query_plot;
pub mod record;
pub mod report;
pub mod scenarios;
pub mod serve;
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
    /// Aggregate rows into a cube (--out FILE), or print the SQL that builds it in a warehouse (--sql).
    Cube(cube::CubeArgs),
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
    /// The drills in a browser: a local web app (and, with --class, a classroom)
    Serve(serve::ServeArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Entry point of the binary: parses arguments, runs the command, maps errors to exit codes
/// (`exit::Failure`). A panic inside a dependency is caught here and reported as an error
/// naming the files the command was reading.
pub fn main() -> ExitCode {
    exit::install_panic_hook();
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let (cli, argv) = match parse(argv) {
        Ok(parsed) => parsed,
        Err(err) => return exit::clap_exit(&err.format(&mut command())),
    };
    let args: Vec<String> = argv.into_iter().skip(1).collect();
    let logged = record::summarise(&cli, &args);
    // On a thread with a large stack: polars plans expressions recursively, and the stack a
    // deep (but allowed) SQL expression needs is a few times the main thread's 8 MiB. The
    // memory is reserved, not used, until a deep query touches it.
    let worker =
        std::thread::Builder::new().name("dropcase".into()).stack_size(COMMAND_STACK).spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let result = run(cli);
                if result.is_ok()
                    && let Some(pending) = logged
                {
                    record::log(pending);
                }
                result
            }))
        });
    let outcome = match worker {
        Ok(handle) => handle.join().unwrap_or_else(Err),
        Err(err) => Ok(Err(anyhow::Error::from(err).context("cannot start the command's thread"))),
    };
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("error: {}", exit::with_files(&err));
            ExitCode::from(exit::Failure::of(&err).code())
        }
        Err(payload) => {
            eprintln!("error: {}", exit::panic_error(payload.as_ref()));
            ExitCode::from(exit::Failure::User.code())
        }
    }
}

/// Parses the command line. A value that starts with `-` but is not a number (`--size
/// -5x10`, `--metric -inf`) reads to clap as a short flag; when that is the only reason the
/// line fails, it is read again as `--size=-5x10`, so the value reaches its own check and
/// gets that check's message instead of "unexpected argument '-5'". Returns the arguments
/// as they were finally read.
pub fn parse(argv: Vec<String>) -> Result<(Cli, Vec<String>), clap::Error> {
    let read = |argv: &[String]| {
        let matches = command().try_get_matches_from(argv)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        drill::attach_order(&mut cli, &matches);
        Ok::<Cli, clap::Error>(cli)
    };
    match read(&argv) {
        Ok(cli) => Ok((cli, argv)),
        Err(err) if err.kind() == clap::error::ErrorKind::UnknownArgument => {
            let joined = join_hyphen_values(&argv);
            if joined == argv {
                return Err(err);
            }
            read(&joined).map(|cli| (cli, joined))
        }
        Err(err) => Err(err),
    }
}

/// `--flag -value` → `--flag=-value` wherever `--flag` takes a value and `-value` is not one
/// of dropcase's own short flags.
fn join_hyphen_values(argv: &[String]) -> Vec<String> {
    let mut takes_value = std::collections::HashSet::new();
    let mut shorts = std::collections::HashSet::new();
    fn walk(
        cmd: &clap::Command,
        takes: &mut std::collections::HashSet<String>,
        shorts: &mut std::collections::HashSet<String>,
    ) {
        for arg in cmd.get_arguments() {
            if let Some(short) = arg.get_short() {
                shorts.insert(format!("-{short}"));
            }
            if arg.get_action().takes_values()
                && let Some(long) = arg.get_long()
            {
                takes.insert(format!("--{long}"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, takes, shorts);
        }
    }
    walk(&command(), &mut takes_value, &mut shorts);
    shorts.insert("-h".into());
    shorts.insert("-V".into());
    let mut out: Vec<String> = Vec::with_capacity(argv.len());
    let mut words = argv.iter().peekable();
    while let Some(word) = words.next() {
        let hyphen_value = words.peek().is_some_and(|next| {
            next.starts_with('-')
                && !next.starts_with("--")
                && next.len() > 1
                && !shorts.contains(next.as_str())
        });
        if takes_value.contains(word.as_str()) && hyphen_value {
            let value = words.next().expect("peeked");
            out.push(format!("{word}={value}"));
        } else {
            out.push(word.clone());
        }
    }
    out
}

/// Stack of the thread a command runs on (`sql` limits keep a query's depth well inside it).
const COMMAND_STACK: usize = 64 << 20;

/// The command line as parsed: every argument that takes a value also takes a negative
/// number (`--alpha -0.05` reaches the range check instead of reading as a flag `-0`).
pub fn command() -> clap::Command {
    allow_negative_numbers(Cli::command())
}

pub(crate) fn allow_negative_numbers(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|arg| if arg.get_action().takes_values() { arg.allow_negative_numbers(true) } else { arg })
        .mut_subcommands(allow_negative_numbers)
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::output::set_wide(cli.wide);
    run_command(cli)
}

fn run_command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Ab(args) => ab::run(args),
        Command::Cube(args) => cube::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Drill(args) => drill::run(args),
        Command::Exp(args) => exp::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Report(args) => report::run(args),
        Command::Scenarios(args) => scenarios::run(args),
        Command::Metrics(args) => metrics::run(args),
        Command::Query(args) => query::run(args),
        Command::Sql(args) => sql::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dropcase", &mut out);
            emit(&String::from_utf8_lossy(&out))
        }
    }
}

thread_local! {
    /// Set while a command runs for another face (`run_captured`): what it would print.
    static CAPTURED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// What a command run by `run_captured` printed, and the charts it drew.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub stdout: String,
    pub charts: Vec<String>,
}

/// Why a command run by `run_captured` failed: the message the terminal would show after
/// `error: `, and the exit code it would end with.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandFailure {
    pub message: String,
    pub code: u8,
}

/// Runs `dropcase ARGS` in this thread exactly as the binary would — parsed by the same
/// clap tree, logged into its drill by the same typed record — but with what it prints
/// kept and returned, and every chart it can draw returned as SVG. This is how the web
/// face (`serve`) plays a drill, so a drill graded in the browser grades as in a terminal.
pub fn run_captured(args: &[String]) -> Result<Captured, CommandFailure> {
    let mut argv = vec!["dropcase".to_string()];
    argv.extend(args.iter().cloned());
    let (cli, argv) = parse(argv).map_err(|err| CommandFailure {
        message: clap_message(&err),
        code: exit::Failure::of_clap(&err).code(),
    })?;
    let args: Vec<String> = argv.into_iter().skip(1).collect();
    let logged = record::summarise(&cli, &args);
    CAPTURED.with(|c| *c.borrow_mut() = Some(String::new()));
    let (result, charts) = plot::capture_charts(|| run_command(cli));
    let stdout = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    match result {
        Ok(()) => {
            if let Some(pending) = logged {
                record::log(pending);
            }
            Ok(Captured { stdout, charts })
        }
        Err(err) => {
            Err(CommandFailure { message: exit::with_files(&err), code: exit::Failure::of(&err).code() })
        }
    }
}

/// A clap error as one message, without the `error: ` prefix and the `--help` tip.
fn clap_message(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let text = text.trim().strip_prefix("error: ").unwrap_or(text.trim());
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("For more information")).collect();
    kept.join("\n").trim().to_string()
}

/// Writes a command's result to stdout. A closed pipe (`dropcase ... | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let kept = CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buffer) => {
            buffer.push_str(text);
            if !text.ends_with('\n') {
                buffer.push('\n');
            }
            true
        }
        None => false,
    });
    if kept {
        return Ok(());
    }
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
    fn a_value_that_looks_like_a_short_flag_reaches_its_check() {
        let words = |line: &str| line.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            join_hyphen_values(&words("dropcase ab srm --counts 10,20 --size -5x10")),
            words("dropcase ab srm --counts 10,20 --size=-5x10")
        );
        // The value's own check answers (exit 1), not "unexpected argument '-5'" (exit 2).
        let err = parse(words("dropcase ab srm --counts 10,20 --size -5x10")).expect_err("a bad size");
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("-5x10"), "{err}");
        let (_, read) = parse(words("dropcase query trend --metric -inf")).unwrap();
        assert_eq!(read, words("dropcase query trend --metric=-inf"));
        // A short flag of dropcase's own stays a flag.
        assert_eq!(
            join_hyphen_values(&words("dropcase report --dir d -o r.html")),
            words("dropcase report --dir d -o r.html")
        );
        // A genuinely unknown argument is still a usage error.
        let err = parse(words("dropcase query funnel --nope")).expect_err("fails");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }
}
