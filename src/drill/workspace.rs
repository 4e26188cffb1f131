//! Where drills live and what they remember: the current-drill pointer under
//! `$DROPCASE_HOME` (default `~/.dropcase`), and each drill's progress file (commands run,
//! hints taken, the answer and its grade), written atomically so a crash never corrupts it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::brief::Brief;
use crate::schema::files;

use super::command::{CommandKind, CommandRecord};
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

/// Writes a file by writing a sibling and renaming it over the target. The sibling's name
/// is unique to the write, so threads of one process (the web server's) never share one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Digits only, as `generate::folder` recognises a leftover sibling: the pid, then the count.
    let tmp = path.with_extension(format!("tmp-{}{n:06}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// One logged command: when, the command line as typed (for display), and its parsed
/// record. Entries from logs written before records were typed have none until
/// `Progress::complete_records` rebuilds them from the text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "StoredLogEntry")]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parsed: Option<CommandRecord>,
}

/// A log entry as stored: a record this build cannot read (a kind from a newer version)
/// is dropped, to be rebuilt from the text, rather than making the whole file unreadable.
#[derive(Deserialize)]
struct StoredLogEntry {
    at: DateTime<Utc>,
    command: String,
    #[serde(default)]
    parsed: Option<serde_json::Value>,
}

impl From<StoredLogEntry> for LogEntry {
    fn from(stored: StoredLogEntry) -> Self {
        let parsed = stored.parsed.and_then(|v| serde_json::from_value(v).ok());
        LogEntry { at: stored.at, command: stored.command, parsed }
    }
}

impl LogEntry {
    /// The entry's kind, when its record is known.
    pub fn kind(&self) -> Option<CommandKind> {
        self.parsed.as_ref().map(|r| r.kind)
    }
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
    /// Every cause claimed, the first being the one the fields above repeat.
    #[serde(default)]
    pub causes: Vec<ClaimRecord>,
    #[serde(default)]
    pub impact: Option<f64>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub monitor: Vec<String>,
}

/// One claimed cause, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimRecord {
    pub cause: String,
    #[serde(rename = "where")]
    pub segment: Vec<(String, String)>,
    pub stage: Option<String>,
    pub start: Option<chrono::NaiveDate>,
}

/// An interview: the clock and the vague prompt the interviewer opened with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interview {
    pub minutes: u32,
    pub prompt: String,
}

/// A drill's memory: `progress.json` in its folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub started_at: DateTime<Utc>,
    pub hints: u32,
    pub log: Vec<LogEntry>,
    pub answer: Option<AnswerRecord>,
    pub revealed: bool,
    /// Set when the drill was started with `--interview`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interview: Option<Interview>,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            started_at: Utc::now(),
            hints: 0,
            log: Vec::new(),
            answer: None,
            revealed: false,
            interview: None,
        }
    }

    /// The drill's progress: new only when `progress.json` does not exist. A damaged file,
    /// or one from another drill, is an error (an answered drill must not silently become
    /// unanswered and take a second answer).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let what_to_do = format!(
            "dropcase will not guess this drill's state, so nothing was changed; restore the file, or delete {} to restart the drill (its log, hints and answer are lost)",
            dir.join(PROGRESS_FILE).display()
        );
        Ok(super::state::load(dir, PROGRESS_FILE, &what_to_do)?.unwrap_or_default())
    }

    /// Writes `progress.json` atomically, bound to the drill and checksummed.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        super::state::save(dir, PROGRESS_FILE, self)
    }

    /// Investigative commands run before the answer (queries, sql, ab, diagnose), by their
    /// parsed kind; an entry without a record counts for nothing.
    pub fn investigations(&self) -> impl Iterator<Item = &LogEntry> {
        self.log.iter().filter(|e| e.kind().is_some_and(CommandKind::is_investigation))
    }

    /// Whether an investigation looked at the second source or at data quality.
    pub fn checked_data_quality(&self) -> bool {
        self.investigations().any(|e| e.parsed.as_ref().is_some_and(|r| r.quality_check().is_some()))
    }

    /// Gives entries of an older log their record, parsed from the command text by `parse`
    /// (the command line's parser, which lives above this module).
    pub fn complete_records(&mut self, parse: impl Fn(&str) -> Option<CommandRecord>) {
        for entry in self.log.iter_mut().filter(|e| e.parsed.is_none()) {
            entry.parsed = parse(&entry.command);
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
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
        let plain = super::state::open_sealed(&self.dir)?;
        serde_json::from_slice(&plain)
            .with_context(|| format!("{} does not decode", self.dir.join(files::ANSWER).display()))
    }
}

/// Appends a command to a drill's log (best effort: logging never fails a query).
pub fn log_command(dir: &Path, command: &str, record: CommandRecord) {
    if let Ok(mut progress) = Progress::load(dir) {
        progress.log.push(LogEntry { at: Utc::now(), command: command.to_string(), parsed: Some(record) });
        let _ = progress.save(dir);
    }
}
