//! A helper that runs `dropcase` in a temporary folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temporary folder") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `dropcase ARGS` run inside the sandbox, with its own config home so tests never
    /// touch the user's current drill.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("dropcase").expect("binary built");
        cmd.current_dir(self.path())
            .env("DROPCASE_HOME", self.path().join(".dropcase-home"))
            .env("NO_COLOR", "1")
            .args(args);
        cmd
    }
}

/// Path of a fixture under tests/data.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}
