//! Damaged input and damaged state (#13): a flipped, truncated, emptied or missing data file
//! is an error naming the file, never a panic; an over-deep SQL query is refused with its
//! limit; a damaged or foreign `progress.json` or `answer.sealed` is an error that says what
//! to do, never a silent reset; `--force` replaces only drill folders; a killed run's
//! `.NAME.partial-PID` folder is removed on the next run.

use std::path::Path;

use predicates::prelude::*;

use crate::support::{Sandbox, tiny_drill};

fn generate(sandbox: &Sandbox, out: &str, seed: &str) {
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "app_release_bug",
            "--seed",
            seed,
            "--sessions",
            "200000",
            "--out",
            out,
        ])
        .assert()
        .success();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `args`; asserts exit 1, an `error:` line naming `file`, and no panic text.
fn fails_naming(sandbox: &Sandbox, args: &[&str], file: &str, case: &str) {
    let out = sandbox.cmd(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{case}: {args:?} exit code; stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "{case}: {args:?}: {stderr}");
    assert!(stderr.contains(file), "{case}: {args:?} does not name {file}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{case}: {args:?}: {stderr}");
}

type Damage = (&'static str, fn(&[u8]) -> Vec<u8>);

const DAMAGES: [Damage; 5] = [
    ("a flipped footer byte", |b| flip(b, b.len() - 12)),
    ("a flipped footer length", |b| flip(b, b.len() - 6)),
    ("a flipped body byte", |b| flip(b, b.len() / 2)),
    ("truncated to half", |b| b[..b.len() / 2].to_vec()),
    ("emptied", |_| Vec::new()),
];

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0xFF;
    out
}

/// A damaged footer, a truncated, emptied or replaced file fails every command on the drill,
/// whichever table answers (each table's footer is checked when the drill is opened). A
/// flipped byte inside a file passes the footer check: the drill's checksum finds it when a
/// command reads that table's rows. Then a command that reads the table fails naming it,
/// and one answered from other tables answers as on the intact drill.
#[test]
fn damaged_drill_files_are_errors_naming_the_file() {
    let sandbox = Sandbox::new();
    generate(&sandbox, "good", "3");
    let good = sandbox.join("good");
    let commands = |d: &str| -> Vec<Vec<String>> {
        [
            vec!["query", "funnel", "--data", d],
            vec!["query", "compare", "--by", "platform", "--data", d],
            vec!["query", "compare", "--metric", "page_load_p75", "--by", "device", "--data", d],
            vec!["query", "trend", "--metric", "conversion", "--data", d],
            vec!["query", "trend", "--metric", "conversion", "--grain", "hour", "--data", d],
            vec!["sql", "SELECT count(*) FROM sessions", "--data", d],
            vec!["diagnose", "--data", d],
        ]
        .into_iter()
        .map(|args| args.into_iter().map(String::from).collect())
        .collect()
    };
    let answers: Vec<Vec<u8>> = commands(good.to_str().unwrap())
        .iter()
        .map(|args| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = sandbox.cmd(&args).output().unwrap();
            assert!(out.status.success(), "{args:?} on the intact drill");
            out.stdout
        })
        .collect();
    // Per file, a command that reads its rows (SQL registers every table, so it reads all).
    let readers = [
        ("sessions.parquet", "page_load_p75"),
        ("orders.parquet", "diagnose"),
        ("rollup.parquet", "funnel"),
        ("rollup_hourly.parquet", "hour"),
    ];
    for (file, reader) in readers {
        let original = std::fs::read(good.join(file)).unwrap();
        let mut cases: Vec<(String, Option<Vec<u8>>)> =
            DAMAGES.iter().map(|(what, damage)| (what.to_string(), Some(damage(&original)))).collect();
        cases.push(("a folder in its place".into(), None));
        for (what, bytes) in cases {
            let dir = sandbox.join("bad");
            let _ = std::fs::remove_dir_all(&dir);
            copy_dir(&good, &dir);
            std::fs::remove_file(dir.join(file)).unwrap();
            match bytes {
                Some(bytes) => std::fs::write(dir.join(file), bytes).unwrap(),
                None => std::fs::create_dir(dir.join(file)).unwrap(),
            }
            let case = format!("{file} {what}");
            let mut answered = 0;
            for (args, answer) in commands(dir.to_str().unwrap()).iter().zip(&answers) {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let reads = args.contains(&reader) || args[0] == "sql";
                if what == "a flipped body byte" && !reads {
                    // Either it reads the table after all (and fails naming it) or it
                    // answers from others exactly as on the intact drill.
                    let out = sandbox.cmd(&args).output().unwrap();
                    if out.status.success() {
                        assert_eq!(&out.stdout, answer, "{case}: {args:?} answers as on the intact drill");
                        answered += 1;
                        continue;
                    }
                }
                fails_naming(&sandbox, &args, file, &case);
            }
            // Each table is read by some of the commands only: a damaged raw table does not
            // stop a query its rollup answers.
            if what == "a flipped body byte" {
                assert!(answered > 0, "{case}: every command failed, though some do not read {file}");
            }
        }
    }
}

/// A user's own Parquet file has no checksums: a damaged footer is caught by the footer
/// check, and whatever a damaged body does inside polars ends as an error naming the file.
#[test]
fn a_users_damaged_parquet_is_named_never_a_panic() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let original = std::fs::read(drill.join("sessions.parquet")).unwrap();
    let path = sandbox.join("mine.parquet");
    let len = original.len();
    for at in (0..len).step_by((len / 60).max(1)).chain(len - 16..len) {
        std::fs::write(&path, flip(&original, at)).unwrap();
        for args in [
            vec!["query", "funnel", "--data", "mine.parquet"],
            vec!["sql", "SELECT * FROM sessions", "--data", "mine.parquet"],
        ] {
            let out = sandbox.cmd(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "flip at {at}: {args:?}: {stderr}");
            if !out.status.success() {
                assert_eq!(out.status.code(), Some(1), "flip at {at}: {args:?}: {stderr}");
                assert!(stderr.contains("mine.parquet"), "flip at {at}: {args:?}: {stderr}");
            }
        }
    }
    for (what, bytes) in
        [("empty", b"".to_vec()), ("a CSV", b"a,b\n1,2\n".to_vec()), ("garbage", vec![0xC3; 100])]
    {
        std::fs::write(&path, bytes).unwrap();
        fails_naming(&sandbox, &["query", "funnel", "--data", "mine.parquet"], "mine.parquet", what);
    }
}

#[test]
fn damaged_csv_and_leaf_files_are_named() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("empty.csv"), b"").unwrap();
    std::fs::create_dir(sandbox.join("folder.csv")).unwrap();
    std::fs::write(sandbox.join("garbage.csv"), [0xFF, 0xFE, 0x00, 0x01, b'\n', 0xC3]).unwrap();
    std::fs::write(sandbox.join("empty.parquet"), b"").unwrap();
    for file in ["empty.csv", "folder.csv", "garbage.csv", "empty.parquet"] {
        fails_naming(&sandbox, &["query", "funnel", "--data", file], file, "--data");
        fails_naming(
            &sandbox,
            &["diagnose", "--leaves", file, "--actual", "a", "--expected", "e"],
            file,
            "--leaves",
        );
        fails_naming(
            &sandbox,
            &["ab", "means", "--data", file, "--variant", "variant", "--value", "revenue"],
            file,
            "ab --data",
        );
    }
}

/// `sql` with a query 2,000 operators or parentheses deep overflowed the stack (#13).
#[test]
fn over_deep_sql_is_refused_with_its_limit() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let d = drill.to_str().unwrap();
    let chain = format!("SELECT 1{} AS x FROM sessions", "+1".repeat(2_000));
    let nested = format!("SELECT {}1{} AS x FROM sessions", "(".repeat(2_000), ")".repeat(2_000));
    let not = format!("SELECT * FROM sessions WHERE {} purchased", "NOT ".repeat(2_000));
    for (query, limit) in [(&chain, "limit is 1000"), (&nested, "limit is 64"), (&not, "limit is 1000")] {
        sandbox
            .cmd(&["sql", query, "--data", d])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(limit).and(predicate::str::contains("overflow the stack")));
    }
    // Below the limits, a long chain still runs.
    let ok = format!("SELECT 1{} AS x FROM sessions LIMIT 1", "+1".repeat(900));
    sandbox.cmd(&["sql", &ok, "--data", d, "--format", "csv"]).assert().success().stdout("x\n901\n");
}

fn start(sandbox: &Sandbox, dir: &str, seed: &str) {
    sandbox
        .cmd(&[
            "drill",
            "start",
            "--scenario",
            "app_release_bug",
            "--seed",
            seed,
            "--sessions",
            "200000",
            "--dir",
            dir,
        ])
        .assert()
        .success();
}

/// A `progress.json` that is not UTF-8 reset an answered drill, which then took a second
/// answer (#13). Now: an error naming the file and what to do; nothing is rewritten.
#[test]
fn a_damaged_progress_file_is_an_error_not_a_reset() {
    let sandbox = Sandbox::new();
    start(&sandbox, "d", "4");
    sandbox.cmd(&["drill", "answer", "--cause", "release_bug", "--dir", "d"]).assert().success();
    let progress = sandbox.join("d/progress.json");
    let answered = std::fs::read(&progress).unwrap();
    let mut broken = answered.clone();
    broken[5] = 0xFF;
    for (what, bytes) in [
        ("not UTF-8", broken),
        ("not JSON", answered[..answered.len() / 2].to_vec()),
        (
            "edited",
            String::from_utf8(answered.clone()).unwrap().replace("\"hints\": 0", "\"hints\": 1").into_bytes(),
        ),
    ] {
        std::fs::write(&progress, &bytes).unwrap();
        for args in [
            vec!["drill", "answer", "--cause", "release_bug", "--dir", "d"],
            vec!["drill", "status", "--dir", "d"],
            vec!["drill", "hint", "--dir", "d"],
        ] {
            sandbox.cmd(&args).assert().code(1).stderr(
                predicate::str::contains("progress.json is damaged").and(predicate::str::contains("delete")),
            );
        }
        assert_eq!(std::fs::read(&progress).unwrap(), bytes, "{what}: the damaged file is left as it was");
    }
    // Restored, the drill is answered as before and refuses a second answer.
    std::fs::write(&progress, &answered).unwrap();
    sandbox
        .cmd(&["drill", "answer", "--cause", "release_bug", "--dir", "d"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already answered"));
    // Another drill's progress file is refused by identity.
    start(&sandbox, "e", "5");
    std::fs::copy(&progress, sandbox.join("e/progress.json")).unwrap();
    sandbox
        .cmd(&["drill", "status", "--dir", "e"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("belongs to another drill"));
    // Only a missing file means a fresh drill.
    std::fs::remove_file(sandbox.join("e/progress.json")).unwrap();
    sandbox.cmd(&["drill", "status", "--dir", "e"]).assert().success();
}

/// A flipped byte in `answer.sealed` revealed garbled truth with exit 0, and another drill's
/// sealed file graded against the wrong truth (#13).
#[test]
fn a_damaged_or_foreign_sealed_answer_is_refused() {
    let sandbox = Sandbox::new();
    start(&sandbox, "d", "4");
    start(&sandbox, "e", "5");
    let sealed = sandbox.join("d/answer.sealed");
    let original = std::fs::read(&sealed).unwrap();
    for at in [0, 25, original.len() / 2, original.len() - 3] {
        let mut bytes = original.clone();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        std::fs::write(&sealed, &bytes).unwrap();
        for args in [
            vec!["drill", "reveal", "--dir", "d"],
            vec!["drill", "answer", "--cause", "release_bug", "--dir", "d"],
        ] {
            sandbox.cmd(&args).assert().code(1).stderr(
                predicate::str::contains("answer.sealed cannot be trusted")
                    .and(predicate::str::contains("--seed 4")),
            );
        }
    }
    std::fs::copy(sandbox.join("e/answer.sealed"), &sealed).unwrap();
    sandbox
        .cmd(&["drill", "answer", "--cause", "release_bug", "--dir", "d"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("belongs to another drill"));
    std::fs::write(&sealed, &original).unwrap();
    sandbox.cmd(&["drill", "reveal", "--dir", "d"]).assert().success();
}

/// `--force` deleted any folder, a user's documents included (#13).
#[test]
fn force_replaces_only_drill_folders() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("documents")).unwrap();
    std::fs::write(sandbox.join("documents/thesis.txt"), "years of work").unwrap();
    for args in [
        vec!["generate", "--scenario", "app_release_bug", "--seed", "1", "--out", "documents", "--force"],
        vec!["drill", "start", "--seed", "1", "--dir", "documents", "--force"],
        vec!["exp", "start", "--seed", "1", "--dir", "documents", "--force"],
    ] {
        sandbox.cmd(&args).assert().code(1).stderr(
            predicate::str::contains("not a dropcase drill")
                .and(predicate::str::contains("nothing was deleted")),
        );
        assert!(sandbox.join("documents/thesis.txt").is_file(), "{args:?} left the documents alone");
    }
    generate(&sandbox, "drill", "1");
    std::fs::write(sandbox.join("drill/notes.txt"), "my notes").unwrap();
    sandbox
        .cmd(&["generate", "--scenario", "app_release_bug", "--seed", "2", "--out", "drill", "--force"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not part of a drill (notes.txt)"));
    assert!(sandbox.join("drill/notes.txt").is_file());
    std::fs::remove_file(sandbox.join("drill/notes.txt")).unwrap();
    sandbox
        .cmd(&[
            "generate",
            "--scenario",
            "app_release_bug",
            "--seed",
            "2",
            "--sessions",
            "200000",
            "--out",
            "drill",
            "--force",
        ])
        .assert()
        .success();
}

/// Killed runs left `.NAME.partial-PID` folders that nothing removed (#13).
#[test]
fn stale_partial_folders_are_removed_on_the_next_run() {
    let sandbox = Sandbox::new();
    // Above Linux's largest process id (2^22), so no process has it.
    let stale = sandbox.join(".d.partial-4999999");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("sessions.parquet"), vec![0u8; 1000]).unwrap();
    let unrelated = sandbox.join(".other.partial-4999999");
    std::fs::create_dir(&unrelated).unwrap();
    generate(&sandbox, "d", "1");
    if cfg!(target_os = "linux") {
        assert!(!stale.exists(), "the dead run's folder is removed");
    }
    assert!(unrelated.exists(), "another target's folder is left alone");
    let left: Vec<String> = std::fs::read_dir(sandbox.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".d."))
        .collect();
    assert!(left.is_empty() || !cfg!(target_os = "linux"), "leftovers: {left:?}");
}

/// The experiment drill's `decision.json` read any damage as "not decided yet" (#13).
#[test]
fn a_damaged_experiment_decision_is_an_error_not_a_reset() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&["exp", "start", "--scenario", "exp_payment_page_redesign", "--seed", "3", "--dir", "e"])
        .assert()
        .success();
    sandbox.cmd(&["exp", "decide", "--ship", "--reason", "clear_win"]).assert().success();
    let decision = sandbox.join("e/decision.json");
    let mut bytes = std::fs::read(&decision).unwrap();
    bytes[3] = 0xFF;
    std::fs::write(&decision, &bytes).unwrap();
    for args in [vec!["exp", "decide", "--ship", "--reason", "clear_win"], vec!["exp", "reveal"]] {
        sandbox.cmd(&args).assert().code(1).stderr(
            predicate::str::contains("decision.json is damaged").and(predicate::str::contains("delete")),
        );
    }
    // A flipped byte in the experiment's sealed truth is refused too.
    std::fs::remove_file(&decision).unwrap();
    let sealed = sandbox.join("e/answer.sealed");
    let mut truth = std::fs::read(&sealed).unwrap();
    let at = truth.len() / 2;
    truth[at] = if truth[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&sealed, truth).unwrap();
    sandbox
        .cmd(&["exp", "reveal"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("answer.sealed cannot be trusted"));
}

/// Every numeric flag takes a negative number as a value and refuses it as a bad value
/// (exit 1, naming flag and value), never as an unknown flag (#13).
#[test]
fn negative_values_are_bad_values_on_every_command() {
    let sandbox = Sandbox::new();
    let drill = tiny_drill(&sandbox);
    let d = drill.to_str().unwrap();
    for (args, flag) in [
        (vec!["generate", "--scenario", "app_release_bug", "--seed", "-1", "--out", "x"], "--seed"),
        (
            vec![
                "generate",
                "--scenario",
                "app_release_bug",
                "--seed",
                "1",
                "--sessions",
                "-5",
                "--out",
                "x",
            ],
            "--sessions",
        ),
        (vec!["drill", "start", "--seed", "-3"], "--seed"),
        (vec!["exp", "start", "--users", "-10"], "--users"),
        (vec!["sql", "SELECT 1", "--limit", "-2", "--data", d], "--limit"),
        (vec!["query", "compare", "--by", "platform", "--top", "-1", "--data", d], "--top"),
        (vec!["diagnose", "--max-depth", "-1", "--data", d], "--max-depth"),
    ] {
        let out = sandbox.cmd(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(flag) && !stderr.contains("unexpected argument"), "{args:?}: {stderr}");
    }
    assert!(!sandbox.join("x").exists());
}

/// Found by the fuzz run: `--data /` walked the whole disk (over 20 s) looking for Parquet
/// files. Only `key=value` partition folders are entered, so a folder that is no dataset is
/// refused at once, naming it.
#[test]
fn a_folder_that_is_no_dataset_is_not_walked() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("home/projects/old")).unwrap();
    std::fs::write(sb.join("home/projects/old/notes.parquet"), b"not really").unwrap();
    let out = sb.cmd(&["query", "funnel", "--data", "home"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("home: no .parquet files in this folder or in its key=value partition folders"),
        "{stderr}"
    );
}
