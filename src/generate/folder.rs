//! The folder a drill is written to: `--force` replaces only a folder that is a dropcase
//! drill (its brief and nothing but drill files), never a user's own documents; and the
//! `.NAME.partial-PID` folders a killed run leaves beside it are removed on the next run.

use std::path::{Path, PathBuf};

use crate::schema::files;

/// Names a drill folder may hold: what `generate` and `exp start` write, and what the drill
/// commands add (state files, `report.html`).
const DRILL_FILES: [&str; 14] = [
    files::CHECKSUMS,
    files::SESSIONS,
    files::ORDERS,
    files::ROLLUP,
    files::ROLLUP_HOURLY,
    files::BRIEF,
    files::ANSWER,
    files::CONTEXT_DIR,
    // Hive-partitioned sessions and orders (`--partitioned`).
    "sessions",
    "orders",
    crate::experiment::data::ASSIGNMENTS,
    crate::experiment::data::OUTCOMES,
    crate::drill::workspace::PROGRESS_FILE,
    crate::experiment::workspace::DECISION_FILE,
];

fn is_drill_file(name: &str) -> bool {
    DRILL_FILES.contains(&name)
        || name == "report.html"
        // write_atomic's temporary sibling of a state file, left by a killed run.
        || name.split_once(".tmp-").is_some_and(|(stem, pid)| {
            !stem.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Whether `out` may be written: absent, an empty folder, or (with `force`) a dropcase drill
/// folder. `flag` names the option that chose it (`--out`, `--dir`).
pub fn check_target(out: &Path, force: bool, flag: &str) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => anyhow::bail!("{flag} {}: cannot inspect it ({err})", out.display()),
    };
    anyhow::ensure!(
        meta.is_dir(),
        "{flag} {} is a file, not a folder: choose another {flag} (--force replaces only a drill folder)",
        out.display()
    );
    let entries: Vec<String> = std::fs::read_dir(out)
        .map_err(|err| anyhow::anyhow!("{flag} {}: cannot list it ({err})", out.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|err| anyhow::anyhow!("{flag} {}: cannot list it ({err})", out.display()))?;
    if entries.is_empty() {
        return Ok(());
    }
    anyhow::ensure!(
        force,
        "{} already exists; pass --force to replace it, or choose another {flag}",
        out.display()
    );
    anyhow::ensure!(
        out.join(files::BRIEF).is_file() && crate::brief::kind_of(out).is_ok(),
        "{} is not a dropcase drill (it has no valid {}): --force replaces only a drill folder, so nothing was deleted; choose another {flag}",
        out.display(),
        files::BRIEF
    );
    // A product's second sources (`server_events.parquet`, ...) are its drill's files too:
    // whatever the drill's checksum manifest lists was written by the generator.
    let listed: Vec<String> = std::fs::read_to_string(out.join(files::CHECKSUMS))
        .ok()
        .and_then(|text| crate::datafile::Manifest::parse(&text).ok())
        .map(|m| {
            m.entries
                .into_iter()
                .filter_map(|(name, ..)| name.split('/').next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut foreign: Vec<&String> =
        entries.iter().filter(|name| !is_drill_file(name) && !listed.contains(name)).collect();
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let shown: Vec<&str> = foreign.iter().take(5).map(|s| s.as_str()).collect();
    anyhow::bail!(
        "{} holds files that are not part of a drill ({}{}): --force replaces only drill files, so nothing was deleted; move them out, or choose another {flag}",
        out.display(),
        shown.join(", "),
        if foreign.len() > shown.len() {
            format!(" and {} more", foreign.len() - shown.len())
        } else {
            String::new()
        }
    )
}

/// The temporary folder a run with process id `pid` builds `out` in.
pub fn partial_dir(out: &Path, pid: u32) -> PathBuf {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "drill".into());
    parent.join(format!(".{name}.partial-{pid}"))
}

/// Where `replace_dir` moves the old drill while the new one moves in.
pub fn previous_dir(out: &Path) -> PathBuf {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "drill".into());
    parent.join(format!(".{name}.previous"))
}

/// Settles a replacement a killed run left half done: with the new drill in place the old
/// one beside it is removed; with no drill in place the old one is moved back.
pub fn settle_previous(out: &Path) -> anyhow::Result<()> {
    let previous = previous_dir(out);
    if !previous.is_dir() {
        return Ok(());
    }
    if out.exists() {
        std::fs::remove_dir_all(&previous).map_err(|err| {
            anyhow::anyhow!("cannot remove the old drill left at {} ({err})", previous.display())
        })
    } else {
        std::fs::rename(&previous, out).map_err(|err| {
            anyhow::anyhow!(
                "cannot move the old drill at {} back to {} ({err})",
                previous.display(),
                out.display()
            )
        })
    }
}

/// Whether a process with this id is running. Off Linux it cannot tell, and says yes, so
/// nothing of a live run is ever removed.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") { Path::new("/proc").join(pid.to_string()).exists() } else { true }
}

/// Removes `.NAME.partial-PID` folders beside `out` whose run is no longer alive (killed
/// mid-generation). Returns what was removed. Best effort: a folder that cannot be removed
/// is left for the next run.
pub fn clean_stale_partials(out: &Path) -> Vec<PathBuf> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "drill".into());
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok()) else { continue };
        let path = entry.path();
        if pid != std::process::id()
            && !process_alive(pid)
            && path.is_dir()
            && std::fs::remove_dir_all(&path).is_ok()
        {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill_folder(dir: &Path) {
        std::fs::create_dir_all(dir.join(files::CONTEXT_DIR)).unwrap();
        std::fs::write(dir.join(files::BRIEF), "kind = \"drop\"\n").unwrap();
        std::fs::write(dir.join(files::SESSIONS), b"PAR1").unwrap();
        std::fs::write(dir.join("progress.json"), b"{}").unwrap();
        std::fs::write(dir.join("progress.tmp-123"), b"{}").unwrap();
    }

    #[test]
    fn force_replaces_only_drill_folders() {
        let root = tempfile::tempdir().unwrap();
        let drill = root.path().join("drill");
        drill_folder(&drill);
        check_target(&drill, true, "--out").unwrap();
        let err = check_target(&drill, false, "--out").unwrap_err().to_string();
        assert!(err.contains("pass --force"), "{err}");

        std::fs::write(drill.join("notes.txt"), "mine").unwrap();
        let err = check_target(&drill, true, "--out").unwrap_err().to_string();
        assert!(
            err.contains("not part of a drill (notes.txt)") && err.contains("nothing was deleted"),
            "{err}"
        );

        let documents = root.path().join("documents");
        std::fs::create_dir_all(&documents).unwrap();
        std::fs::write(documents.join("thesis.docx"), "years of work").unwrap();
        let err = check_target(&documents, true, "--out").unwrap_err().to_string();
        assert!(err.contains("is not a dropcase drill"), "{err}");

        let file = root.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(check_target(&file, true, "--out").unwrap_err().to_string().contains("is a file"));
        std::fs::create_dir_all(root.path().join("empty")).unwrap();
        check_target(&root.path().join("empty"), false, "--out").unwrap();
        check_target(&root.path().join("absent"), false, "--out").unwrap();
    }

    #[test]
    fn a_half_done_replacement_is_settled() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("drill");
        // Killed between moving the old drill aside and the new one in: the old comes back.
        drill_folder(&previous_dir(&out));
        settle_previous(&out).unwrap();
        assert!(out.join(files::BRIEF).is_file() && !previous_dir(&out).exists());
        // Killed after the new one moved in: the old one goes.
        drill_folder(&previous_dir(&out));
        settle_previous(&out).unwrap();
        assert!(out.join(files::BRIEF).is_file() && !previous_dir(&out).exists());
    }

    #[test]
    fn stale_partials_go_live_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("drill");
        // No process has id u32::MAX - 1 (Linux caps ids far below).
        let stale = partial_dir(&out, u32::MAX - 1);
        let mine = partial_dir(&out, std::process::id());
        let other = root.path().join(".other.partial-1");
        for dir in [&stale, &mine, &other] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let removed = clean_stale_partials(&out);
        if cfg!(target_os = "linux") {
            assert_eq!(removed, vec![stale.clone()]);
            assert!(!stale.exists());
        }
        assert!(mine.exists(), "the running process's own folder stays");
        assert!(other.exists(), "another target's folders are not touched");
    }
}
