//! Where drills live and what they remember: the current-drill pointer under
//! `$DROPCASE_HOME` (default `~/.dropcase`), and each drill's progress file (commands run,
//! hints taken, the answer and its grade), written atomically so a crash never corrupts it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::brief::Brief;
use crate::schema::files;

use super::grade::Grade;

pub const PROGRESS_FILE: &str = "progress.json";

pub use crate::dataset::current_drill_dir;

/// `$DROPCASE_HOME`, or `~/.dropcase` (falls back to `./.dropcase` with neither variable set).
pub fn home() -> PathBuf {
    crate::dataset::dropcase_home().unwrap_or_else(|_| PathBuf::from(".dropcase"))
}

fn pointer() -> PathBuf {
    home().join("current")
}

pub fn set_current(dir: &Path) -> anyhow::Result<()> {
    let absolute = std::fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    std::fs::create_dir_all(home()).with_context(|| format!("cannot create {}", home().display()))?;
    write_atomic(&pointer(), absolute.display().to_string().as_bytes())
}

/// Writes a file by writing a sibling and renaming it over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub command: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub at: DateTime<Utc>,
    pub cause: String,
    #[serde(rename = "where")]
    pub segment: Vec<(String, String)>,
    pub stage: Option<String>,
    pub start: Option<chrono::NaiveDate>,
    pub note: Option<String>,
    pub grade: Grade,
}

/// A drill's memory: `progress.json` in its folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub started_at: DateTime<Utc>,
    pub hints: u32,
    pub log: Vec<LogEntry>,
    pub answer: Option<AnswerRecord>,
    pub revealed: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self { started_at: Utc::now(), hints: 0, log: Vec::new(), answer: None, revealed: false }
    }

    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(PROGRESS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).with_context(|| format!("{} is corrupted", path.display()))
            }
            Err(_) => Ok(Self::new()),
        }
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        write_atomic(&dir.join(PROGRESS_FILE), serde_json::to_string_pretty(self)?.as_bytes())
    }

    /// Investigative commands run before the answer (queries, sql, ab).
    pub fn investigations(&self) -> impl Iterator<Item = &LogEntry> {
        self.log.iter().filter(|e| is_investigation(&e.command))
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

pub fn is_investigation(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    matches!(words.get(1).copied(), Some("query" | "sql" | "ab" | "diagnose"))
}

/// Whether a command looked at the second source or at data quality.
pub fn checks_data_quality(command: &str) -> bool {
    let lower = command.to_lowercase();
    ["orders", "backend_conversion", "sessions_per_user", "users"].iter().any(|w| lower.contains(w))
}

/// A drill folder with its brief, ready for drill commands.
pub struct Drill {
    pub dir: PathBuf,
    pub brief: Brief,
}

/// Why a metric-drop command (`what`, e.g. "`dropcase report`") refuses an experiment drill
/// and what to run instead: the `exp` commands for the experiment, or `--dir` for a
/// metric-drop drill. `explicit` says whether the folder came from `--dir` or is the current
/// drill (set by the last `exp start`).
pub fn experiment_refusal(dir: &Path, explicit: bool, what: &str) -> String {
    let which = if explicit {
        format!("--dir {} is an experiment drill", dir.display())
    } else {
        format!("the current drill {} is an experiment drill (set by `dropcase exp start`)", dir.display())
    };
    format!(
        "{which}, and {what} works on metric-drop drills only. For the experiment use \
         `dropcase exp status|hint|decide|reveal|log` and `dropcase ab analyze|daily|segments`; for a \
         metric-drop drill pass `--dir DIR` (a folder from `dropcase drill start --dir DIR`), or start \
         one with `dropcase drill start`"
    )
}

impl Drill {
    /// `--dir DIR`, or the current drill.
    pub fn open(dir: Option<&Path>) -> anyhow::Result<Drill> {
        let explicit = dir.is_some();
        let dir = match dir {
            Some(d) => {
                anyhow::ensure!(
                    d.join(files::BRIEF).exists(),
                    "{} is not a drill folder (no {}); start one with `dropcase drill start --dir {}`",
                    d.display(),
                    files::BRIEF,
                    d.display()
                );
                d.to_path_buf()
            }
            None => current_drill_dir()?,
        };
        if crate::brief::kind_of(&dir)? == crate::brief::DrillKind::Experiment {
            anyhow::bail!("{}", experiment_refusal(&dir, explicit, "this command"));
        }
        let brief = Brief::read(&dir)?;
        Ok(Drill { dir, brief })
    }

    pub fn progress(&self) -> anyhow::Result<Progress> {
        Progress::load(&self.dir)
    }

    pub fn truth(&self) -> anyhow::Result<crate::generate::Truth> {
        let path = self.dir.join(files::ANSWER);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let plain = crate::generate::seal::unseal(&text)?;
        serde_json::from_slice(&plain).context("the sealed answer does not decode")
    }
}

/// Appends a command to a drill's log (best effort: logging never fails a query).
pub fn log_command(dir: &Path, command: &str) {
    if let Ok(mut progress) = Progress::load(dir) {
        progress.log.push(LogEntry { at: Utc::now(), command: command.to_string() });
        let _ = progress.save(dir);
    }
}
