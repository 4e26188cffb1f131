//! `dropcase report`: the current drill's investigation as one self-contained HTML file.
//! Each logged query or A/B command is run again by this same executable (with the drill's
//! folder as its data, its chart drawn to a temporary SVG and logging switched off), so the
//! report shows exactly what the learner saw, plotted.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use clap::Args;

use crate::drill::Drill;
use crate::drill::command::CommandRecord;
use crate::drill::workspace::{LogEntry, write_atomic};
use crate::plot::Size;
use crate::report::{Report, Step, StepOutput, TruthSection, render_html, truth_chart};

/// Set in the environment of re-run commands so they are not logged a second time.
pub const NO_LOG_ENV: &str = "DROPCASE_NO_LOG";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the report.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "report.html")]
    out: PathBuf,
    /// The drill folder [default: the current drill].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The arguments to run a logged command again with: the drill's data in place of any
/// `--data` it was given (the path may have been relative to another folder), and a chart
/// to `svg` in place of the learner's own.
fn rerun_args(record: &CommandRecord, dir: &Path, svg: Option<&Path>) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let data = record.kind.reads_drill_data();
    let mut rest = record.args.iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            // The learner's own chart file is left alone; the report draws its own.
            "--plot" if svg.is_some() => {
                rest.next();
            }
            w if svg.is_some() && w.starts_with("--plot=") => {}
            "--data" if data => {
                rest.next();
            }
            w if data && w.starts_with("--data=") => {}
            _ => args.push(word.clone()),
        }
    }
    if data {
        args.push("--data".into());
        args.push(dir.display().to_string());
    }
    if let Some(svg) = svg {
        args.push("--plot".into());
        args.push(svg.display().to_string());
        if !args.iter().any(|a| a == "--size" || a.starts_with("--size=")) {
            args.push("--size".into());
            args.push(Size::default().to_string());
        }
    }
    args
}

fn run_again(entry: &LogEntry, dir: &Path, scratch: &Path, index: usize) -> StepOutput {
    let Some(record) = entry.parsed.as_ref().filter(|r| r.kind.is_investigation()) else {
        return StepOutput::Recorded("A drill step: recorded, not run again.".into());
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => return StepOutput::Failed(format!("cannot find the dropcase executable: {err}")),
    };
    let svg = record.kind.draws_chart().then(|| scratch.join(format!("step-{index}.svg")));
    let output = Command::new(&exe)
        .args(rerun_args(record, dir, svg.as_deref()))
        .env(NO_LOG_ENV, "1")
        .env("NO_COLOR", "1")
        // The report shows every column, whatever the learner's terminal.
        .env_remove("COLUMNS")
        .output();
    match output {
        Err(err) => StepOutput::Failed(format!("cannot run {}: {err}", exe.display())),
        Ok(out) if !out.status.success() => {
            StepOutput::Failed(String::from_utf8_lossy(&out.stderr).into_owned())
        }
        Ok(out) => StepOutput::Ran {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            chart_svg: svg.and_then(|p| std::fs::read_to_string(p).ok()),
        },
    }
}

/// A temporary folder for the re-run commands' charts, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("dropcase-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create a temporary folder {} for the charts", dir.display()))?;
        Ok(Scratch(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let dir = match args.dir.as_deref() {
        Some(dir) => dir.to_path_buf(),
        None => crate::dataset::current_drill_dir()?,
    };
    if dir.join(crate::schema::files::BRIEF).is_file()
        && crate::brief::kind_of(&dir)? == crate::brief::DrillKind::Experiment
    {
        anyhow::bail!(
            "{}",
            crate::drill::workspace::experiment_refusal(&dir, args.dir.is_some(), "`dropcase report`")
        );
    }
    let drill = Drill::open(Some(&dir))?;
    let progress = super::record::load_progress(&drill.dir)?;
    let scratch = Scratch::new()?;
    let steps = progress
        .log
        .iter()
        .enumerate()
        .map(|(i, entry)| Step {
            at: entry.at,
            command: entry.command.clone(),
            output: run_again(entry, &drill.dir, scratch.path(), i),
        })
        .collect();
    let truth = if progress.revealed {
        let truth = drill.truth()?;
        let chart_svg = match truth_chart(&drill.dir, &drill.brief, &truth) {
            Ok(chart) => Some(crate::plot::to_svg(&chart, Size::default())?),
            Err(err) => {
                eprintln!("note: no truth chart ({err:#})");
                None
            }
        };
        Some(TruthSection { truth, chart_svg })
    } else {
        None
    };
    let report = Report {
        brief: drill.brief.clone(),
        steps,
        hints: progress.hints,
        answer: progress.answer.clone(),
        truth,
        interview: super::drill::card_of(&drill.dir).unwrap_or(None),
    };
    write_atomic(&args.out, render_html(&report).as_bytes())?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::command::{AbKind, CommandKind, QueryKind};

    fn record(kind: CommandKind, args: &[&str]) -> CommandRecord {
        CommandRecord { args: args.iter().map(|a| a.to_string()).collect(), ..CommandRecord::new(kind) }
    }

    #[test]
    fn rerun_adds_the_drill_data_and_the_report_chart() {
        let dir = Path::new("/d");
        let svg = Path::new("/tmp/s.svg");
        let compare = record(
            CommandKind::Query(QueryKind::Compare),
            &["query", "compare", "--by", "platform", "--plot", "mine.png"],
        );
        assert_eq!(
            rerun_args(&compare, dir, Some(svg)),
            [
                "query",
                "compare",
                "--by",
                "platform",
                "--data",
                "/d",
                "--plot",
                "/tmp/s.svg",
                "--size",
                "1200x700"
            ]
        );
        let srm = record(CommandKind::Ab(AbKind::Srm), &["ab", "srm", "--counts", "5,6"]);
        assert_eq!(rerun_args(&srm, dir, None), ["ab", "srm", "--counts", "5,6"]);
    }

    #[test]
    fn rerun_reads_the_drill_it_is_logged_in_whatever_data_path_was_typed() {
        let dir = Path::new("/d");
        for data in [&["--data", "rel/x"][..], &["--data=rel/x"][..]] {
            let mut args = vec!["sql", "SELECT 1"];
            args.extend(data);
            let sql = record(CommandKind::Sql, &args);
            assert_eq!(rerun_args(&sql, dir, None), ["sql", "SELECT 1", "--data", "/d"], "{data:?}");
        }
    }
}
