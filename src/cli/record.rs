//! What the drill log records of a command line, read from the parsed `Cli` rather than
//! from argv: the command's kind, the data source clap resolved (`--data DIR`,
//! `--data=DIR`, `--dir DIR` or the current drill), metrics, cuts, filters, windows and the
//! tables an SQL query reads. The matches below are exhaustive over the clap tree, so a
//! renamed or added subcommand fails to compile here instead of silently costing points.

use std::path::{Path, PathBuf};

use super::drill::DrillCommand;
use super::exp::ExpCommand;
use super::query::QueryCommand;
use super::{Cli, Command};
use crate::brief::Brief;
use crate::drill::command::{
    CommandKind, CommandRecord, DrillStep, ExpStep, QueryKind, TABLE_ORDERS, TABLE_SESSIONS,
};
use crate::drill::workspace::{self, Progress};
use crate::query::Metric;
use crate::schema::files;

/// Where a command's data came from, as clap parsed it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    /// A path given with `--data` or `--dir`: logged into it when it is a drill folder,
    /// and nowhere otherwise (a user's own file is no drill's business).
    Path(PathBuf),
    /// No path: the current drill.
    CurrentDrill,
    /// Numbers typed on the command line (`ab test --control 30/1000`): logged into the
    /// current drill, with no data source of its own.
    Typed,
    /// A file that is not a drill (`diagnose --leaves FILE`): not logged.
    File,
}

/// A command to log once it has run: its record so far and where its data came from.
#[derive(Debug, Clone)]
pub struct Pending {
    record: CommandRecord,
    source: Source,
    /// The command line as shown by `drill log`.
    line: String,
}

/// The parts of an `ab` command the log needs (built in `ab.rs`, whose types are private).
pub(super) struct AbParts {
    pub kind: crate::drill::command::AbKind,
    pub source: Source,
    pub metrics: Vec<String>,
    pub by: Vec<String>,
}

fn source_of(path: Option<&PathBuf>) -> Source {
    match path {
        Some(path) => Source::Path(path.clone()),
        None => Source::CurrentDrill,
    }
}

/// The record of a parsed command line, or `None` for commands the log does not keep
/// (starting a drill, listing scenarios, printing completions, ...). `args` are the words
/// after `dropcase`, as typed.
pub fn summarise(cli: &Cli, args: &[String]) -> Option<Pending> {
    let (mut record, source) = match &cli.command {
        Command::Query(q) => {
            let (kind, source, metrics, by, slice, filters, window, grain) = match &q.command {
                QueryCommand::Compare(a) => (
                    QueryKind::Compare,
                    &a.source,
                    a.metric.iter().cloned().collect(),
                    a.by.clone(),
                    Some(&a.slice),
                    a.slice.filter.clone(),
                    None,
                    None,
                ),
                QueryCommand::Trend(a) => (
                    QueryKind::Trend,
                    &a.source,
                    vec![a.metric.clone()],
                    a.by.clone(),
                    None,
                    a.filter.clone(),
                    a.window,
                    Some(a.grain),
                ),
                QueryCommand::Funnel(a) => (
                    QueryKind::Funnel,
                    &a.source,
                    Vec::new(),
                    a.by.clone(),
                    Some(&a.slice),
                    a.slice.filter.clone(),
                    None,
                    None,
                ),
            };
            let mut record = CommandRecord::new(CommandKind::Query(kind));
            record.metrics = metrics;
            record.by = by;
            record.filters = filters;
            record.baseline = slice.and_then(|s| s.baseline);
            record.current = slice.and_then(|s| s.current);
            record.window = window;
            record.grain = grain;
            let source = if source.cube.is_some() { Source::File } else { source_of(source.data.as_ref()) };
            (record, source)
        }
        Command::Sql(a) => {
            let mut record = CommandRecord::new(CommandKind::Sql);
            record.sql = a.query.clone();
            let source =
                if a.source.cube.is_some() { Source::File } else { source_of(a.source.data.as_ref()) };
            (record, source)
        }
        Command::Diagnose(a) => {
            let mut record = CommandRecord::new(CommandKind::Diagnose);
            if a.leaves.is_some() || a.cube.is_some() {
                (record, Source::File)
            } else {
                record.metrics = a.metric.iter().cloned().collect();
                (record, source_of(a.data.as_ref()))
            }
        }
        Command::Ab(a) => {
            let parts = a.log_parts();
            let mut record = CommandRecord::new(CommandKind::Ab(parts.kind));
            record.metrics = parts.metrics;
            record.by = parts.by;
            (record, parts.source)
        }
        Command::Metrics(_) => (CommandRecord::new(CommandKind::Metrics), Source::Typed),
        // Building a cube investigates nothing yet; the queries on it are logged.
        Command::Cube(_) => return None,
        Command::Drill(d) => match &d.command {
            DrillCommand::Hint(a) => {
                (CommandRecord::new(CommandKind::Drill(DrillStep::Hint)), source_of(a.dir.as_ref()))
            }
            DrillCommand::Answer(a) => {
                (CommandRecord::new(CommandKind::Drill(DrillStep::Answer)), source_of(a.dir.as_ref()))
            }
            DrillCommand::Reveal(a) => {
                (CommandRecord::new(CommandKind::Drill(DrillStep::Reveal)), source_of(a.dir.as_ref()))
            }
            DrillCommand::Ask(a) => {
                let mut record = CommandRecord::new(CommandKind::Drill(DrillStep::Ask));
                record.topic = Some(a.topic.name().to_string());
                (record, source_of(a.dir.as_ref()))
            }
            DrillCommand::Start(_)
            | DrillCommand::Status(_)
            | DrillCommand::Log(_)
            | DrillCommand::History(_) => return None,
        },
        Command::Exp(e) => match &e.command {
            ExpCommand::Hint(a) => {
                (CommandRecord::new(CommandKind::Exp(ExpStep::Hint)), source_of(a.dir.as_ref()))
            }
            ExpCommand::Decide(a) => {
                (CommandRecord::new(CommandKind::Exp(ExpStep::Decide)), source_of(a.dir.as_ref()))
            }
            ExpCommand::Reveal(a) => {
                (CommandRecord::new(CommandKind::Exp(ExpStep::Reveal)), source_of(a.dir.as_ref()))
            }
            ExpCommand::Ask(a) => {
                let mut record = CommandRecord::new(CommandKind::Exp(ExpStep::Ask));
                record.topic = Some(a.topic.name().to_string());
                (record, source_of(a.dir.as_ref()))
            }
            ExpCommand::Start(_) | ExpCommand::Status(_) | ExpCommand::Log(_) | ExpCommand::History(_) => {
                return None;
            }
        },
        Command::Generate(_)
        | Command::Report(_)
        | Command::Scenarios(_)
        | Command::Serve(_)
        | Command::Completions { .. } => {
            return None;
        }
    };
    record.args = args.to_vec();
    Some(Pending { record, source, line: command_line(args) })
}

/// `dropcase ARGS` as the log has always shown it: words joined by spaces, a word with a
/// space in Rust's debug quoting (which `report::split_command` reads back).
pub fn command_line(args: &[String]) -> String {
    let mut words = vec!["dropcase".to_string()];
    words.extend(args.iter().map(|a| if a.contains(' ') { format!("{a:?}") } else { a.clone() }));
    words.join(" ")
}

/// The tables an SQL query names in FROM and JOIN clauses (and subqueries), lowercased.
fn sql_tables(query: &str) -> Vec<String> {
    let mut tables: Vec<String> = polars::sql::extract_table_identifiers(query, false, true)
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.to_lowercase())
        .collect();
    tables.dedup();
    tables
}

/// The tables a query reads for its metrics: the sessions (or their rollup), and the
/// orders when a metric counts them.
fn query_tables(metrics: &[String]) -> Vec<String> {
    let mut tables = vec![TABLE_SESSIONS.to_string()];
    let orders = metrics
        .iter()
        .filter_map(|m| Metric::find_any(m))
        .any(|m| m.measures().iter().any(|measure| measure.from_orders()));
    if orders {
        tables.push(TABLE_ORDERS.to_string());
    }
    tables
}

/// Fills in what is known once the command has run: a compare's or diagnose's default
/// metric (the brief's), and the tables a query or an SQL statement read (parsed only now, so a query
/// that failed to run is never parsed twice).
fn resolve(record: &mut CommandRecord, dir: &Path) {
    match record.kind {
        CommandKind::Query(kind) => {
            if kind == QueryKind::Compare
                && record.metrics.is_empty()
                && let Ok(brief) = Brief::read(dir)
            {
                record.metrics = vec![brief.metric];
            }
            record.tables = query_tables(&record.metrics);
        }
        CommandKind::Sql => record.tables = record.sql.as_deref().map(sql_tables).unwrap_or_default(),
        CommandKind::Diagnose => {
            if record.metrics.is_empty()
                && let Ok(brief) = Brief::read(dir)
            {
                record.metrics = vec![brief.metric];
            }
        }
        CommandKind::Ab(_) | CommandKind::Metrics | CommandKind::Drill(_) | CommandKind::Exp(_) => {}
    }
}

/// The drill a command's entry belongs in, or `None` when it ran on no drill.
fn target(source: &Source) -> Option<PathBuf> {
    let dir = match source {
        Source::Path(path) if path.join(files::BRIEF).is_file() => path.clone(),
        Source::Path(_) | Source::File => return None,
        Source::CurrentDrill | Source::Typed => crate::drill::current_drill_dir().ok()?,
    };
    Some(std::fs::canonicalize(&dir).unwrap_or(dir))
}

/// Appends a command that has run successfully to the log of the drill it ran on.
pub fn log(pending: Pending) {
    // `dropcase report` re-runs logged commands; they must not be logged again.
    if std::env::var_os(super::report::NO_LOG_ENV).is_some() {
        return;
    }
    let Some(dir) = target(&pending.source) else { return };
    let mut record = pending.record;
    resolve(&mut record, &dir);
    if pending.source != Source::Typed {
        record.drill = Some(dir.clone());
    }
    workspace::log_command(&dir, &pending.line, record);
}

/// The record of a command line from an older log (`dropcase query compare --by x`),
/// parsed by clap as if it were typed again; `None` when it no longer parses or is not
/// a kind the log keeps. `dir` is the drill whose log holds it.
pub fn parse_line(line: &str, dir: &Path) -> Option<CommandRecord> {
    let words = crate::report::split_command(line);
    // The same parser as the binary's (negative numbers allowed as values).
    let matches = super::command().try_get_matches_from(&words).ok()?;
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).ok()?;
    let mut record = summarise(&cli, words.get(1..).unwrap_or_default())?.record;
    resolve(&mut record, dir);
    record.legacy = true;
    Some(record)
}

/// A drill's progress with every log entry's record, older entries parsed from their text.
pub fn load_progress(dir: &Path) -> anyhow::Result<Progress> {
    let mut progress = Progress::load(dir)?;
    progress.complete_records(|line| parse_line(line, dir));
    Ok(progress)
}

/// The command words of a clap subcommand path, for the test that checks the log's kinds
/// mirror the clap tree.
#[cfg(test)]
fn leaf_paths(command: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let subs: Vec<&clap::Command> = command.get_subcommands().filter(|c| c.get_name() != "help").collect();
    if subs.is_empty() {
        out.push(prefix);
        return;
    }
    for sub in subs {
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        leaf_paths(sub, path, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    fn pending(args: &[&str]) -> Pending {
        let mut argv = vec!["dropcase"];
        argv.extend(args);
        let cli = Cli::try_parse_from(&argv).expect("parses");
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        summarise(&cli, &args).expect("logged")
    }

    #[test]
    fn every_leaf_of_the_clap_tree_is_a_kind_or_deliberately_not_logged() {
        const NOT_LOGGED: [&str; 17] = [
            "completions",
            "cube",
            "drill start",
            "drill status",
            "drill log",
            "drill history",
            "exp history",
            "exp start",
            "exp status",
            "exp log",
            "generate",
            "report",
            "scenarios list",
            "scenarios show",
            "scenarios check",
            "scenarios families",
            "serve",
        ];
        let mut leaves = Vec::new();
        leaf_paths(&Cli::command(), Vec::new(), &mut leaves);
        let names: Vec<String> = CommandKind::ALL.iter().map(|k| k.to_string()).collect();
        for leaf in &leaves {
            let name = leaf.join(" ");
            assert!(
                names.contains(&name) || NOT_LOGGED.contains(&name.as_str()),
                "`dropcase {name}` is neither a logged kind nor listed as not logged"
            );
        }
        for name in &names {
            assert!(leaves.iter().any(|l| &l.join(" ") == name), "kind '{name}' is not in the clap tree");
        }
    }

    #[test]
    fn data_flags_resolve_through_clap_in_every_spelling() {
        for args in [
            &["query", "compare", "--data=d1", "--by", "platform"][..],
            &["query", "compare", "--data", "d1", "--by", "platform"][..],
            &["query", "compare", "--by", "platform", "--data", "d1"][..],
        ] {
            let p = pending(args);
            assert_eq!(p.source, Source::Path("d1".into()), "{args:?}");
            assert_eq!(p.record.by, ["platform"]);
        }
        assert_eq!(pending(&["query", "funnel"]).source, Source::CurrentDrill);
        assert_eq!(pending(&["drill", "hint", "--dir=x"]).source, Source::Path("x".into()));
        assert_eq!(pending(&["ab", "srm", "--counts", "5,6"]).source, Source::Typed);
        assert_eq!(pending(&["ab", "daily", "--data", "e"]).source, Source::Path("e".into()));
        assert_eq!(
            pending(&["diagnose", "--leaves", "l.csv", "--actual", "a", "--expected", "b"]).source,
            Source::File
        );
        // A value that looks like a flag belongs to the flag before it.
        let p = pending(&["query", "compare", "--where", "platform=--data"]);
        assert_eq!(p.source, Source::CurrentDrill);
        assert_eq!(p.record.filters, ["platform=--data"]);
    }

    #[test]
    fn records_carry_metrics_cuts_filters_windows_and_sql_tables() {
        let p = pending(&[
            "query",
            "trend",
            "--metric",
            "backend_conversion",
            "--by",
            "platform,country",
            "--where",
            "platform=ios",
            "--grain",
            "hour",
            "--window",
            "2026-03-01..2026-03-05",
        ]);
        let r = &p.record;
        assert_eq!(r.kind, CommandKind::Query(QueryKind::Trend));
        assert_eq!(r.metrics, ["backend_conversion"]);
        assert_eq!(r.by, ["platform", "country"]);
        assert_eq!(r.filters, ["platform=ios"]);
        assert_eq!(r.grain, Some(crate::query::Grain::Hour));
        assert!(r.window.is_some());
        assert_eq!(query_tables(&r.metrics), ["sessions", "orders"]);
        assert_eq!(query_tables(&["conversion".to_string()]), ["sessions"]);

        let mut p = pending(&[
            "sql",
            "SELECT o.* FROM Orders o JOIN (SELECT * FROM sessions) s ON o.user_id = s.user_id",
        ]);
        resolve(&mut p.record, Path::new("/nowhere"));
        assert_eq!(p.record.tables, ["orders", "sessions"]);
        assert!(p.record.quality_check().is_some());
        assert_eq!(
            p.line,
            "dropcase sql \"SELECT o.* FROM Orders o JOIN (SELECT * FROM sessions) s ON o.user_id = s.user_id\""
        );

        let p = pending(&["ab", "analyze", "--metric", "conversion", "--by", "platform"]);
        assert_eq!(p.record.kind, CommandKind::Ab(crate::drill::command::AbKind::Analyze));
        assert_eq!(p.record.by, ["platform"]);
        assert!(summarise(&Cli::try_parse_from(["dropcase", "drill", "log"]).unwrap(), &[]).is_none());
    }

    #[test]
    fn classification_reads_the_parse_not_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = "/Users/x/orders-analysis";
        let mut r = pending(&["query", "compare", "--by", "platform", "--data", path]).record;
        resolve(&mut r, dir.path());
        assert_eq!(r.quality_check(), None, "{r:?}");
        let mut r = pending(&["query", "trend", "--metric", "backend_conversion"]).record;
        resolve(&mut r, dir.path());
        assert!(r.quality_check().is_some());
        let mut r = pending(&["sql", "SELECT COUNT(*) FROM orders"]).record;
        resolve(&mut r, dir.path());
        assert!(r.quality_check().is_some());
        let mut r = pending(&["sql", "SELECT COUNT(*) FROM sessions", "--data", path]).record;
        resolve(&mut r, dir.path());
        assert_eq!(r.quality_check(), None);
    }

    #[test]
    fn an_older_log_line_parses_into_a_legacy_record() {
        let dir = tempfile::tempdir().unwrap();
        let r = parse_line("dropcase sql \"SELECT * FROM orders\" --data /x", dir.path()).unwrap();
        assert!(r.legacy);
        assert_eq!(r.kind, CommandKind::Sql);
        assert_eq!(r.args, ["sql", "SELECT * FROM orders", "--data", "/x"]);
        assert_eq!(r.tables, ["orders"]);
        assert!(parse_line("dropcase query explode", dir.path()).is_none());
        assert!(parse_line("dropcase drill status", dir.path()).is_none());
    }
}
