//! A classroom: the TOML a teacher writes (the class code, the cases as scenario and seed,
//! a time limit), the learners who joined (one folder each, the same cases), and the
//! teacher's view of everyone's progress, also as CSV.

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::brief::DrillKind;

/// `dropcase serve --class FILE`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassFile {
    /// Shown on every page.
    #[serde(default = "default_title")]
    pub title: String,
    /// What learners type to join (letters and digits, 4 to 32).
    pub code: String,
    /// Minutes from a case's start during which it can be answered (none: no limit).
    #[serde(default)]
    pub time_limit_minutes: Option<u32>,
    /// Sessions of each metric-drop case (default: the drill's default, about a million).
    #[serde(default)]
    pub sessions: Option<u64>,
    /// Users of each experiment case (default: the scenario's).
    #[serde(default)]
    pub users: Option<u64>,
    #[serde(rename = "cases")]
    pub cases: Vec<ClassCase>,
    /// Where the learners' folders go (default: $DROPCASE_HOME/classes/CODE).
    #[serde(skip)]
    pub root: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassCase {
    /// `drop` (default) or `experiment`.
    #[serde(default)]
    pub kind: CaseKind,
    /// A catalogue name or a scenario file.
    pub scenario: String,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    #[default]
    Drop,
    Experiment,
}

fn default_title() -> String {
    "dropcase class".into()
}

impl ClassFile {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--class {}: cannot read it ({e})", path.display()))?;
        let root = crate::drill::workspace::home().join("classes");
        Self::parse(&text, &path.display().to_string(), &root)
    }

    /// Parses and checks a class file; `origin` names it in errors, `classes` is where class
    /// folders go.
    pub fn parse(text: &str, origin: &str, classes: &Path) -> anyhow::Result<Self> {
        let mut class: ClassFile =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {}", e.to_string().trim_end()))?;
        anyhow::ensure!(
            (4..=32).contains(&class.code.len()) && class.code.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{origin}: code = '{}' must be 4 to 32 letters or digits (learners type it to join)",
            class.code
        );
        anyhow::ensure!(
            !class.cases.is_empty(),
            "{origin}: no cases; add at least one [[cases]] with scenario = \"NAME\" and seed = N"
        );
        anyhow::ensure!(
            class.time_limit_minutes.is_none_or(|m| m > 0),
            "{origin}: time_limit_minutes must be at least 1 (leave it out for no limit)"
        );
        for (i, case) in class.cases.iter().enumerate() {
            let checked = match case.kind {
                CaseKind::Drop => crate::scenario::Scenario::load(&case.scenario).map(|_| ()),
                CaseKind::Experiment => {
                    crate::experiment::ExperimentScenario::load(&case.scenario).map(|_| ())
                }
            };
            checked.map_err(|e| anyhow::anyhow!("{origin}: [[cases]] number {}: {e}", i + 1))?;
        }
        class.root = classes.join(&class.code);
        Ok(class)
    }

    /// The case for `case-N` (from 1).
    pub fn case(&self, number: usize) -> Option<&ClassCase> {
        number.checked_sub(1).and_then(|i| self.cases.get(i))
    }

    /// The words of the command that starts case `number` for a learner, into `dir`.
    pub fn start_words(&self, number: usize, dir: &Path) -> Option<Vec<String>> {
        let case = self.case(number)?;
        let mut words: Vec<String> = match case.kind {
            CaseKind::Drop => vec!["drill".into(), "start".into()],
            CaseKind::Experiment => vec!["exp".into(), "start".into()],
        };
        words.extend(["--scenario".into(), case.scenario.clone(), "--seed".into(), case.seed.to_string()]);
        match (case.kind, self.sessions, self.users) {
            (CaseKind::Drop, Some(n), _) => words.extend(["--sessions".into(), n.to_string()]),
            (CaseKind::Experiment, _, Some(n)) => words.extend(["--users".into(), n.to_string()]),
            _ => {}
        }
        words.extend(["--dir".into(), dir.display().to_string(), "--format".into(), "json".into()]);
        Some(words)
    }
}

/// A learner's name as a folder name: lowercase letters, digits and `-`.
pub fn learner_id(name: &str) -> Result<String, String> {
    let mut id = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-').chars().take(32).collect::<String>();
    if id.is_empty() {
        return Err("write your name (letters or digits) to join the class".into());
    }
    Ok(id)
}

/// One learner's progress on one case, as the teacher sees it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseProgress {
    pub learner: String,
    pub case: usize,
    pub scenario: String,
    pub seed: u64,
    pub kind: CaseKind,
    pub started: bool,
    pub started_at: Option<String>,
    pub commands: usize,
    pub hints: u32,
    pub answered: bool,
    pub score: Option<f64>,
    pub revealed: bool,
    pub minutes: Option<i64>,
}

/// Everyone's progress: one row per learner and case, learners in name order.
pub fn progress(class: &ClassFile) -> Vec<CaseProgress> {
    let mut learners: Vec<String> = std::fs::read_dir(&class.root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|name| learner_id(name).as_deref() == Ok(name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    learners.sort();
    let mut rows = Vec::new();
    for learner in &learners {
        for (i, case) in class.cases.iter().enumerate() {
            let dir = class.root.join(learner).join(format!("case-{}", i + 1));
            rows.push(case_progress(learner, i + 1, case, &dir));
        }
    }
    rows
}

fn case_progress(learner: &str, number: usize, case: &ClassCase, dir: &Path) -> CaseProgress {
    let mut row = CaseProgress {
        learner: learner.to_string(),
        case: number,
        scenario: case.scenario.clone(),
        seed: case.seed,
        kind: case.kind,
        started: false,
        started_at: None,
        commands: 0,
        hints: 0,
        answered: false,
        score: None,
        revealed: false,
        minutes: None,
    };
    let Ok(progress) = crate::drill::Progress::load(dir) else { return row };
    if !dir.join(crate::schema::files::BRIEF).is_file() {
        return row;
    }
    row.started = true;
    row.started_at = Some(progress.started_at.format("%Y-%m-%d %H:%M:%S").to_string());
    row.minutes = Some((Utc::now() - progress.started_at).num_minutes());
    row.commands = progress.investigations().count();
    row.hints = progress.hints;
    row.revealed = progress.revealed;
    row.score = match crate::brief::kind_of(dir) {
        Ok(DrillKind::Experiment) => crate::experiment::workspace::ExperimentDrill::open(Some(dir))
            .ok()
            .and_then(|d| d.decision().ok().flatten())
            .map(|d| d.grade.score),
        _ => progress.answer.as_ref().map(|a| a.grade.score),
    };
    row.answered = row.score.is_some();
    row
}

/// The progress rows as CSV, for a spreadsheet.
pub fn progress_csv(rows: &[CaseProgress]) -> String {
    let header = [
        "learner",
        "case",
        "kind",
        "scenario",
        "seed",
        "started_at",
        "commands",
        "hints",
        "answered",
        "score",
        "revealed",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.learner.clone(),
                r.case.to_string(),
                match r.kind {
                    CaseKind::Drop => "drop".into(),
                    CaseKind::Experiment => "experiment".into(),
                },
                r.scenario.clone(),
                r.seed.to_string(),
                r.started_at.clone().unwrap_or_default(),
                r.commands.to_string(),
                r.hints.to_string(),
                r.answered.to_string(),
                r.score.map(|s| format!("{s:.0}")).unwrap_or_default(),
                r.revealed.to_string(),
            ]
        })
        .collect();
    crate::output::csv(&header, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
title = "Week 3"
code = "ROSE42"
time_limit_minutes = 40
sessions = 20000

[[cases]]
scenario = "app_release_bug"
seed = 7

[[cases]]
kind = "experiment"
scenario = "exp_dark_mode"
seed = 3
"#;

    #[test]
    fn a_class_file_reads_and_names_its_mistakes() {
        let class = ClassFile::parse(FILE, "class.toml", Path::new("/h/classes")).unwrap();
        assert_eq!(class.code, "ROSE42");
        assert_eq!(class.root, Path::new("/h/classes/ROSE42"));
        assert_eq!(class.cases.len(), 2);
        assert_eq!(class.cases[1].kind, CaseKind::Experiment);
        let words = class.start_words(1, Path::new("/d")).unwrap();
        assert_eq!(
            words.join(" "),
            "drill start --scenario app_release_bug --seed 7 --sessions 20000 --dir /d --format json"
        );
        assert!(class.start_words(3, Path::new("/d")).is_none());
        assert!(class.start_words(0, Path::new("/d")).is_none());

        let bad = |text: &str| ClassFile::parse(text, "class.toml", Path::new("/h")).unwrap_err().to_string();
        assert!(bad(&FILE.replace("ROSE42", "a b")).contains("code = 'a b' must be 4 to 32 letters"));
        assert!(bad(&FILE.replace("app_release_bug", "no_such_case")).contains("[[cases]] number 1"));
        assert!(bad(&FILE.replace("sessions", "sesions")).contains("class.toml"));
        assert!(bad("code = \"ROSE42\"\ncases = []\n").contains("no cases"));
    }

    #[test]
    fn learner_names_become_safe_folder_names() {
        assert_eq!(learner_id("Ada Lovelace").unwrap(), "ada-lovelace");
        assert_eq!(learner_id("../../etc/passwd").unwrap(), "etc-passwd");
        assert_eq!(learner_id("  Émile  ").unwrap(), "mile");
        assert!(learner_id("../").is_err());
        assert!(learner_id("").is_err());
    }
}
