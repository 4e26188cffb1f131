//! A bounded, seeded fuzz run of the whole binary (#13). Each case runs `dropcase` on one
//! malformed input — a hostile value for one flag or argument of a command, a damaged
//! scenario file, a damaged data file, or damaged drill state — and the run must end
//! within 20 s with exit 0, 1 or 2: never a panic, an abort, a signal or a hang. A failing
//! run must say what failed by naming the flag, the value or the file. Drill state must
//! never silently reset: an answered drill whose files are damaged refuses a second answer,
//! and damaged sealed truth is never revealed.
//!
//! `DROPCASE_FUZZ_CASES` (default 600, what CI runs) and `DROPCASE_FUZZ_SEED` (default 13)
//! size and seed the run; every case is drawn from the seed and its own index, so a failure
//! reported as `case N` replays with the same seed. BENCHMARKS.md records the full run:
//!
//!     DROPCASE_FUZZ_CASES=10000 cargo test --test cli fuzz -- --nocapture

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::support::Sandbox;

const TIME_LIMIT: Duration = Duration::from_secs(20);

/// Values that have broken commands before, or sit on an edge of some range.
const HOSTILE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "-0.05",
    "1",
    "2.5",
    "1000",
    "1e308",
    "-1e308",
    "1e-300",
    "1e-320",
    "inf",
    "-inf",
    "NaN",
    "99999999999",
    "4294967296",
    "2147483648",
    "18446744073709551615",
    "18446744073709551616",
    "1e11",
    "0.0000001",
    "0x10",
];

const HOSTILE_PAIRS: &[&str] = &[
    "18446744073709551615/18446744073709551615",
    "4294967296/4294967297",
    "5:100",
    "1/0",
    "0/0",
    "-1/10",
    "10/5",
    "1e308/1e308",
    "/",
    "3/",
    "200/10000/3",
    "1e308,1",
    "1e308,1e308,2",
    "0,0",
    "-5,10",
    "1,,2",
    ",",
    "10.0,-2,100",
    "10,0,1",
    "nan,1,100",
];

const HOSTILE_TEXT: &[&str] = &[
    "",
    " ",
    "yesterday",
    "big",
    "2026-13-45",
    "2026-03-10..2026-03-01",
    "..",
    "2026-03-01..",
    "1970-01-01..9999-12-31",
    "262143-01-01..262143-01-02",
    "platform=",
    "=android",
    "platform=android|",
    "platform!=",
    "a=b=c",
    "nonexistent=1",
    "platform=android,platform=ios",
    "platform,platform",
    "💥",
    "e\u{301}\u{301}\u{301}",
    "'; DROP TABLE sessions; --",
    "0x0",
    "99999x99999",
    "-5x10",
    "100000000x1",
    "--help",
    "-",
];

/// Relative paths only: a hostile path must never reach outside the case's own folder.
const HOSTILE_PATHS: &[&str] = &["", "nope", "nope/deeper/file", "userdir", "garbage.bin", "empty.csv", "."];

/// Commands with valid arguments; `{drill}`, `{exp}`, `{cuped}`, `{ratio}` are filled in.
const TEMPLATES: &[&str] = &[
    "ab test --control 200/10000 --treatment 250/10000 --alpha 0.05",
    "ab ci --count 7/40 --method clopper-pearson",
    "ab ci --count 7/40 --method wilson",
    "ab means --control 10.0,25.0,5000 --treatment 10.8,27.0,5100",
    "ab means --data {cuped} --variant variant --value metric",
    "ab ratio --data {ratio} --variant group --numerator revenue --denominator sessions",
    "ab srm --counts 50214,48903 --weights 50,50",
    "ab size --baseline 0.05 --mde 5%",
    "ab size --baseline 0.05 --n 10000",
    "ab size --baseline 10 --sd 4 --mde 0.5",
    "ab adjust --method holm 0.01 0.04 0.03",
    "ab seq --control 200/10000 --treatment 250/10000 --tuning-n 10000",
    "ab cuped --data {cuped} --variant variant --value metric --covariate pre",
    "ab bayes --control 49/100 --treatment 51/100 --prior 1,1",
    "ab bootstrap --data {cuped} --variant variant --value metric --resamples 200 --seed 3",
    "ab analyze --data {exp}",
    "ab daily --data {exp}",
    "ab segments --data {exp} --by platform",
    "query funnel --data {drill}",
    "query compare --data {drill} --by platform",
    "query compare --data {drill} --by platform,app_version --metric conversion --top 5",
    "query trend --data {drill} --metric conversion --by platform --grain day",
    "query trend --data {drill} --metric backend_conversion --window 2026-03-10..2026-03-20",
    "sql --data {drill} SELECT platform, count(*) FROM sessions GROUP BY 1",
    "diagnose --data {drill}",
    "diagnose --data {drill} --metric purchase-rate --max-depth 2",
    "metrics",
    "scenarios list",
    "scenarios show app_release_bug",
    "scenarios families",
    "cube --data {drill} --by platform,device --out cube.parquet",
    "cube --sql --dialect postgres --table sessions --by platform --baseline 2026-03-16..2026-03-22 --current 2026-03-23..2026-03-29",
    "drill status --dir {drill}",
    "drill log --dir {drill}",
    "drill ask definition --dir {drill}",
    "drill history --drills {drill}",
    "exp status --dir {exp}",
    "exp log --dir {exp}",
    "exp ask unit --dir {exp}",
    "exp history --drills {exp}",
    "generate --scenario app_release_bug --seed 4 --sessions 20000 --out gen",
    "generate --scenario bot_swarm --seed 5 --sessions 4000 --days 35 --out gen",
    "exp start --seed 5 --users 2000 --dir expnew",
    "drill start --scenario bot_swarm --seed 5 --sessions 4000 --dir drillnew",
    "report --dir {drill} --out report.html",
    "query funnel --data {drill} --by platform --plot f.png --size 400x300",
    "query compare --data {own} --schema {own_schema} --by device_type",
    "query trend --data {own} --schema {own_schema} --metric conversion --by region",
    "diagnose --leaves {leaves} --actual actual --expected expected --dims country,device",
    "scenarios check {scenario}",
    "completions bash",
    // A server runs until stopped: its template asks for the help, so the mutated flags
    // (--port, --host, --class) are parsed and checked but no server is left running.
    "serve --help",
    // Commands that change a drill's state run on the case's own copy.
    "drill hint --dir {drillcopy}",
    "drill answer --dir {drillcopy} --cause release_bug --where platform=android,app_version=5.2.0 --stage purchase --start 2026-03-23",
    "drill reveal --dir {drillcopy}",
    "exp hint --dir {expcopy}",
    "exp decide --dir {expcopy} --ship --reason clear_win",
    "exp reveal --dir {expcopy}",
];

/// Per class of case: how many ran, how many ended with exit 0, 1 and 2, the slowest.
type Tally = (usize, [usize; 3], Duration);

/// What one case ran and how it ended.
struct Outcome {
    case: usize,
    class: &'static str,
    args: Vec<String>,
    code: Option<i32>,
    elapsed: Duration,
    stderr: String,
}

/// The shared inputs every case copies from: a small drill, an experiment drill, an answered
/// drill, and raw A/B files.
struct Fixtures {
    root: PathBuf,
    drill: PathBuf,
    answered: PathBuf,
    other_drill: PathBuf,
    exp: PathBuf,
    leaves: PathBuf,
    scenarios: Vec<(String, String)>,
}

fn binary() -> PathBuf {
    match std::env::var_os("DROPCASE_TEST_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => PathBuf::from(env!("CARGO_BIN_EXE_dropcase")),
    }
}

/// Runs the binary in `cwd` with its own state home, killing it after the time limit.
fn run_in(cwd: &Path, args: &[String]) -> (Option<i32>, Duration, String, String) {
    let started = Instant::now();
    let out = assert_cmd::Command::new(binary())
        .current_dir(cwd)
        .env("DROPCASE_HOME", cwd.join(".home"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env_remove("RUST_BACKTRACE")
        .args(args)
        .timeout(TIME_LIMIT)
        .output()
        .expect("the binary starts");
    let elapsed = started.elapsed();
    (
        out.status.code(),
        elapsed,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn argv(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn words(template: &str, fx: &Fixtures, dir: &Path) -> Vec<String> {
    if template.contains("{drillcopy}") {
        copy_dir(&fx.drill, &dir.join("drill"));
    }
    if template.contains("{expcopy}") {
        copy_dir(&fx.exp, &dir.join("exp"));
    }
    let fill = |w: &str| {
        w.replace("{drillcopy}", &dir.join("drill").display().to_string())
            .replace("{expcopy}", &dir.join("exp").display().to_string())
            .replace("{own}", &crate::support::fixture("own/visits.csv").display().to_string())
            .replace("{own_schema}", &crate::support::fixture("own/schema.toml").display().to_string())
            .replace("{leaves}", &fx.leaves.display().to_string())
            .replace("{scenario}", &fx.scenarios[0].0)
            .replace("{drill}", &fx.drill.display().to_string())
            .replace("{exp}", &fx.exp.display().to_string())
            .replace("{cuped}", &crate::support::fixture("ab_cuped.csv").display().to_string())
            .replace("{ratio}", &crate::support::fixture("ab_ratio.csv").display().to_string())
    };
    // `sql` takes the rest of the line as one query.
    if let Some(rest) = template.strip_prefix("sql --data {drill} ") {
        return vec!["sql".into(), "--data".into(), fill("{drill}"), rest.into()];
    }
    template.split_whitespace().map(fill).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A case folder with the decoys hostile paths point at: a user's folder with a document
/// in it (which `--force` must never delete), a garbage file and an empty file.
fn case_dir(fx: &Fixtures, case: usize) -> PathBuf {
    let dir = fx.root.join(format!("case-{case}"));
    std::fs::create_dir_all(dir.join("userdir")).unwrap();
    std::fs::write(dir.join("userdir/notes.txt"), "my own notes").unwrap();
    std::fs::write(dir.join("garbage.bin"), [0xff, 0x00, 0x13, 0x37, b'P', b'A', b'R', b'1']).unwrap();
    std::fs::write(dir.join("empty.csv"), "").unwrap();
    dir
}

/// The value-taking long flags of the subcommand `path` names (e.g. `["ab", "test"]`).
fn flags_of(path: &[&str]) -> Vec<String> {
    let mut command = dropcase::cli::Cli::command();
    command.build();
    let mut current = &command;
    for name in path {
        match current.find_subcommand(name) {
            Some(sub) => current = sub,
            None => return Vec::new(),
        }
    }
    current
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect()
}

/// The names of the positional arguments of the subcommand `path` names, as messages
/// spell them (`p_values` → `p-values`).
fn positional_names(path: &[&str]) -> Vec<String> {
    let mut command = dropcase::cli::Cli::command();
    command.build();
    let mut current = &command;
    for name in path {
        match current.find_subcommand(name) {
            Some(sub) => current = sub,
            None => return Vec::new(),
        }
    }
    current.get_positionals().map(|a| a.get_id().as_str().replace('_', "-")).collect()
}

fn subcommand_path(args: &[String]) -> Vec<&str> {
    let first = args[0].as_str();
    match first {
        "ab" | "query" | "drill" | "exp" | "scenarios" => vec![first, args[1].as_str()],
        _ => vec![first],
    }
}

fn hostile_value(rng: &mut ChaCha8Rng, flag: &str) -> String {
    let path_like = ["--data", "--out", "--dir", "--schema", "--plot", "--scenario", "--leaves", "--file"];
    let pool: &[&str] = if path_like.contains(&flag) && rng.random_bool(0.7) {
        HOSTILE_PATHS
    } else {
        match rng.random_range(0..3) {
            0 => HOSTILE_NUMBERS,
            1 => HOSTILE_PAIRS,
            _ => HOSTILE_TEXT,
        }
    };
    let mut value = pool.choose(rng).unwrap().to_string();
    if rng.random_bool(0.03) {
        value = value.repeat(2000);
    }
    value
}

/// A hostile value for one flag or argument of a valid command.
fn value_case(rng: &mut ChaCha8Rng, fx: &Fixtures, dir: &Path) -> (Vec<String>, Vec<String>) {
    let template = TEMPLATES.choose(rng).unwrap();
    let mut args = words(template, fx, dir);
    let flags = flags_of(&subcommand_path(&args));
    let mut named = Vec::new();
    let deep_sql = rng.random_bool(0.03) && args[0] == "sql";
    if deep_sql {
        let depth = rng.random_range(500..4000);
        let query = format!("SELECT {}1{} FROM sessions", "(".repeat(depth), ")".repeat(depth));
        *args.last_mut().unwrap() = query;
        named.push("sql".to_string());
        named.push("query".to_string());
        named.push("nest".to_string());
        named.push("deep".to_string());
    } else if !flags.is_empty() && rng.random_bool(0.85) {
        let flag = flags.choose(rng).unwrap().clone();
        let value = hostile_value(rng, &flag);
        named.push(flag.trim_start_matches('-').to_string());
        named.push(flag.trim_start_matches('-').replace('-', "_"));
        named.push(flag.trim_start_matches('-').replace('-', " "));
        if value.chars().count() <= 60 && !value.trim().is_empty() {
            named.push(value.clone());
        }
        if value.starts_with("--") {
            // Read as a flag of its own: clap names it as an unexpected argument.
            named.push("unexpected argument".into());
        }
        if value.is_empty() {
            named.push("a value is required".into());
        }
        match args.iter().position(|a| *a == flag) {
            Some(i) if i + 1 < args.len() => args[i + 1] = value,
            _ if rng.random_bool(0.5) => args.push(format!("{flag}={value}")),
            _ => {
                args.push(flag.clone());
                args.push(value);
            }
        }
    } else {
        // Replace a positional word (a subcommand name or an argument) with a hostile one.
        let i = rng.random_range(0..args.len());
        let value = hostile_value(rng, "");
        if !value.trim().is_empty() {
            named.push(value.chars().take(60).collect());
        }
        named.push(args[i].clone());
        named.push("invalid value".into());
        // The flag whose value this was, or the argument's own name (`p-values`, `query`).
        if i > 0 && args[i - 1].starts_with("--") {
            named.push(args[i - 1].trim_start_matches('-').to_string());
        }
        named.extend(positional_names(&subcommand_path(&args)));
        // A word in a subcommand's place is a usage error clap words its own way.
        named.push("unexpected argument".into());
        named.push("unrecognized subcommand".into());
        args[i] = value;
    }
    (args, named)
}

/// A damaged copy of a catalogue scenario: checked, and generated when the check passes.
fn scenario_case(rng: &mut ChaCha8Rng, fx: &Fixtures, dir: &Path) -> (Vec<String>, Vec<String>) {
    let (_, text) = fx.scenarios.choose(rng).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let pick = rng.random_range(0..lines.len());
    match rng.random_range(0..7) {
        // A number replaced by a hostile one.
        0..=2 => {
            let numbered: Vec<usize> = (0..lines.len())
                .filter(|&i| !lines[i].trim_start().starts_with('#') && lines[i].contains('='))
                .filter(|&i| {
                    lines[i].split('=').nth(1).is_some_and(|v| v.chars().any(|c| c.is_ascii_digit()))
                })
                .collect();
            if let Some(&i) = numbered.choose(rng) {
                let (key, value) = lines[i].split_once('=').unwrap();
                let hostile = HOSTILE_NUMBERS.choose(rng).unwrap();
                // Inside an array, replace one element; else the whole value.
                let replaced = if value.contains('[') {
                    let mut parts: Vec<String> = value.split(',').map(str::to_string).collect();
                    let j = rng.random_range(0..parts.len());
                    let digits: String =
                        parts[j].chars().filter(|c| c.is_ascii_digit() || *c == '.').collect();
                    parts[j] = if digits.is_empty() {
                        parts[j].clone()
                    } else {
                        parts[j].replacen(&digits, hostile, 1)
                    };
                    parts.join(",")
                } else {
                    format!(" {hostile}")
                };
                lines[i] = format!("{key}={replaced}");
            }
        }
        3 => {
            lines.remove(pick);
        }
        4 => {
            let line = lines[pick].clone();
            let n = if rng.random_bool(0.1) { 8000 } else { 2 };
            for _ in 0..n {
                lines.insert(pick, line.clone());
            }
        }
        5 => {
            let other = fx.scenarios.choose(rng).unwrap().1.lines().collect::<Vec<_>>();
            let line = other.choose(rng).unwrap().to_string();
            lines.insert(pick, line);
        }
        _ => {
            let mut bytes = lines.join("\n").into_bytes();
            let at = rng.random_range(0..bytes.len());
            if rng.random_bool(0.5) {
                bytes.truncate(at);
            } else {
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            let path = dir.join("case.toml");
            std::fs::write(&path, bytes).unwrap();
            return (vec!["scenarios".into(), "check".into(), "case.toml".into()], vec!["case.toml".into()]);
        }
    }
    std::fs::write(dir.join("case.toml"), lines.join("\n")).unwrap();
    (vec!["scenarios".into(), "check".into(), "case.toml".into()], vec!["case.toml".into()])
}

/// A copy of the drill with one file damaged, then one command that reads it.
fn data_case(rng: &mut ChaCha8Rng, fx: &Fixtures, dir: &Path) -> (Vec<String>, Vec<String>) {
    let drill = dir.join("drill");
    copy_dir(&fx.drill, &drill);
    let files = [
        "sessions.parquet",
        "orders.parquet",
        "rollup.parquet",
        "rollup_hourly.parquet",
        "drill.toml",
        "context/releases.csv",
        "context/marketing.csv",
        "context/config_changes.csv",
    ];
    let name = *files.choose(rng).unwrap();
    let path = drill.join(name);
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    match rng.random_range(0..6) {
        0 => bytes.clear(),
        1 if !bytes.is_empty() => bytes.truncate(rng.random_range(0..bytes.len())),
        // Bytes flipped in the footer (the last kilobyte), where the file's layout lives.
        2..=3 if !bytes.is_empty() => {
            for _ in 0..rng.random_range(1..4) {
                let from = bytes.len().saturating_sub(1024);
                let at = rng.random_range(from..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
        }
        4 if !bytes.is_empty() => {
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
        }
        _ => bytes = b"\xff\xfe garbage, not what this file should hold\n".to_vec(),
    }
    std::fs::write(&path, &bytes).unwrap();
    let d = drill.display().to_string();
    let commands: Vec<Vec<String>> = vec![
        vec!["query".into(), "funnel".into(), "--data".into(), d.clone()],
        vec!["query".into(), "compare".into(), "--data".into(), d.clone(), "--by".into(), "platform".into()],
        vec![
            "query".into(),
            "compare".into(),
            "--data".into(),
            d.clone(),
            "--by".into(),
            "device".into(),
            "--metric".into(),
            "page_load_p75".into(),
        ],
        vec![
            "query".into(),
            "trend".into(),
            "--data".into(),
            d.clone(),
            "--metric".into(),
            "backend_conversion".into(),
        ],
        vec![
            "query".into(),
            "trend".into(),
            "--data".into(),
            d.clone(),
            "--metric".into(),
            "sessions_per_user".into(),
        ],
        vec!["sql".into(), "--data".into(), d.clone(), "SELECT * FROM releases".into()],
        vec!["sql".into(), "--data".into(), d.clone(), "SELECT count(*) FROM orders".into()],
        vec!["diagnose".into(), "--data".into(), d.clone()],
        vec!["drill".into(), "status".into(), "--dir".into(), d.clone()],
        vec!["drill".into(), "hint".into(), "--dir".into(), d.clone()],
        vec!["report".into(), "--dir".into(), d.clone(), "--out".into(), "r.html".into()],
    ];
    let file_name = Path::new(name).file_name().unwrap().to_string_lossy().into_owned();
    (commands.choose(rng).unwrap().clone(), vec![file_name])
}

/// Damaged state of an answered drill: the drill must refuse a second answer and must not
/// reveal damaged truth.
fn state_case(rng: &mut ChaCha8Rng, fx: &Fixtures, dir: &Path) -> (Vec<String>, Vec<String>) {
    let drill = dir.join("drill");
    copy_dir(&fx.answered, &drill);
    let name = if rng.random_bool(0.5) { "progress.json" } else { "answer.sealed" };
    let path = drill.join(name);
    let mut bytes = std::fs::read(&path).unwrap();
    match rng.random_range(0..5) {
        0 => bytes.clear(),
        1 => bytes.truncate(rng.random_range(0..bytes.len())),
        2 => bytes = std::fs::read(fx.other_drill.join(name)).unwrap_or_default(),
        3 => bytes.splice(0..0, [0xff, 0xfe, 0x80]).for_each(drop),
        _ => {
            let at = rng.random_range(0..bytes.len());
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let d = drill.display().to_string();
    let args: Vec<String> = if rng.random_bool(0.5) {
        [
            "drill",
            "answer",
            "--dir",
            &d,
            "--cause",
            "release_bug",
            "--where",
            "platform=android",
            "--stage",
            "purchase",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    } else {
        ["drill", "reveal", "--dir", &d].iter().map(|s| s.to_string()).collect()
    };
    // Refusing a second answer is right whether or not the damage was noticed.
    (args, vec![name.to_string(), "already answered".into()])
}

fn setup(sandbox: &Sandbox) -> Fixtures {
    let root = sandbox.path().to_path_buf();
    let run = |line: &str| {
        let args = argv(line);
        let (code, _, _, stderr) = run_in(&root, &args);
        assert_eq!(code, Some(0), "fixture command {args:?} failed: {stderr}");
    };
    // The catalogue's calendar moves with the seed; the templates name March 2026 dates, so
    // the fixture drills keep the dates the file was written with.
    crate::support::write_fixed_calendar_scenario(&root.join("fixed_calendar.toml"));
    run("drill start --scenario fixed_calendar.toml --seed 4 --sessions 20000 --dir drill");
    run("drill start --scenario fixed_calendar.toml --seed 4 --sessions 20000 --dir answered");
    run("query funnel --data answered");
    run("drill answer --dir answered --cause release_bug --where platform=android");
    run("drill start --scenario bot_swarm --seed 4 --sessions 20000 --dir other");
    run("drill answer --dir other --cause bot_traffic");
    run("exp start --seed 3 --users 4000 --dir exp");
    let mut scenarios: Vec<(String, String)> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
            .collect();
    scenarios.sort();
    // A leaf table: 4 × 3 × 2 segments, one of which lost half its volume.
    let mut leaves = String::from("country,device,source,actual,expected\n");
    for country in ["US", "DE", "FR", "GB"] {
        for device in ["mobile", "desktop", "tablet"] {
            for source in ["ads", "seo"] {
                let actual = if country == "DE" && device == "mobile" { 500 } else { 1000 };
                leaves.push_str(&format!("{country},{device},{source},{actual},1000\n"));
            }
        }
    }
    std::fs::write(root.join("leaves.csv"), leaves).unwrap();
    Fixtures {
        leaves: root.join("leaves.csv"),
        drill: root.join("drill"),
        answered: root.join("answered"),
        other_drill: root.join("other"),
        exp: root.join("exp"),
        root,
        scenarios,
    }
}

/// Whether an outcome breaks a rule; `None` when it is fine.
fn verdict(o: &Outcome, named: &[String], stdout: &str, dir: &Path) -> Option<String> {
    let stderr = o.stderr.to_lowercase();
    if o.elapsed >= TIME_LIMIT {
        return Some(format!("ran over {} s", TIME_LIMIT.as_secs()));
    }
    let Some(code) = o.code else { return Some("killed by a signal (abort or crash)".into()) };
    if stderr.contains("panicked") || stderr.contains("backtrace") {
        return Some("panicked".into());
    }
    if !matches!(code, 0..=2) {
        return Some(format!("exit code {code}"));
    }
    if !dir.join("userdir/notes.txt").exists() {
        return Some("deleted a folder that is not a drill (userdir/notes.txt is gone)".into());
    }
    if o.class == "state" && code == 0 {
        let what = if o.args[1] == "answer" { "graded a second answer" } else { "revealed damaged truth" };
        if o.args[1] == "answer" || !named.iter().any(|n| n == "progress.json") {
            return Some(format!("damaged state accepted: {what}"));
        }
    }
    if code != 0 {
        let message = stderr.trim();
        if message.is_empty() {
            return Some("failed with nothing on stderr".into());
        }
        let names = named.iter().any(|n| message.contains(&n.to_lowercase()));
        if !names {
            return Some(format!("the error names none of {named:?}"));
        }
    }
    let _ = stdout;
    None
}

#[test]
fn fuzz_malformed_inputs_never_panic_and_errors_name_the_culprit() {
    let cases: usize = std::env::var("DROPCASE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let seed: u64 = std::env::var("DROPCASE_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(13);
    let _heavy = crate::support::heavy_test();
    let sandbox = Sandbox::new();
    let fx = setup(&sandbox);

    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(Outcome, String)>> = Mutex::new(Vec::new());
    let tally: Mutex<BTreeMap<&'static str, Tally>> = Mutex::new(BTreeMap::new());
    let started = Instant::now();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let case = next.fetch_add(1, Ordering::Relaxed);
                    if case >= cases {
                        break;
                    }
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(seed ^ (case as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    let dir = case_dir(&fx, case);
                    let (class, (args, named)) = match rng.random_range(0..10) {
                        0..=4 => ("value", value_case(&mut rng, &fx, &dir)),
                        5 | 6 => ("scenario", scenario_case(&mut rng, &fx, &dir)),
                        7 | 8 => ("data", data_case(&mut rng, &fx, &dir)),
                        _ => ("state", state_case(&mut rng, &fx, &dir)),
                    };
                    let (code, elapsed, stdout, stderr) = run_in(&dir, &args);
                    let mut outcome = Outcome { case, class, args, code, elapsed, stderr };
                    let mut problem = verdict(&outcome, &named, &stdout, &dir);
                    // A scenario that passes `check` must also generate (or be refused as
                    // unsolvable, by name), and never leave a half-written folder behind.
                    if problem.is_none() && class == "scenario" && code == Some(0) {
                        let text = std::fs::read_to_string(dir.join("case.toml")).unwrap_or_default();
                        let generate = if text.contains("kind = \"experiment\"") {
                            argv("exp start --scenario case.toml --seed 1 --users 4000 --dir gen")
                        } else {
                            argv("generate --scenario case.toml --seed 1 --sessions 20000 --out gen")
                        };
                        let (code, elapsed, stdout, stderr) = run_in(&dir, &generate);
                        outcome = Outcome { case, class, args: generate, code, elapsed, stderr };
                        problem = verdict(&outcome, &["case.toml".into(), "solvab".into()], &stdout, &dir);
                        let leftovers = std::fs::read_dir(&dir)
                            .unwrap()
                            .filter_map(|e| e.ok())
                            .any(|e| e.file_name().to_string_lossy().contains(".partial"));
                        if problem.is_none() && leftovers {
                            problem = Some("left a .partial folder behind".into());
                        }
                        if problem.is_none() && code != Some(0) && !outcome.stderr.contains("solvab") {
                            problem = Some("passed `scenarios check` but failed to generate".into());
                        }
                    }
                    {
                        let mut tally = tally.lock().unwrap();
                        let entry = tally.entry(class).or_default();
                        entry.0 += 1;
                        if let Some(c @ 0..=2) = outcome.code {
                            entry.1[c as usize] += 1;
                        }
                        entry.2 = entry.2.max(outcome.elapsed);
                    }
                    if outcome.elapsed > Duration::from_secs(5) {
                        eprintln!(
                            "slow: case {case} took {:.1} s: {:?}",
                            outcome.elapsed.as_secs_f64(),
                            outcome.args
                        );
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                    if let Some(problem) = problem {
                        failures.lock().unwrap().push((outcome, problem));
                    }
                }
            });
        }
    });

    eprintln!("fuzz: {cases} cases, seed {seed}, {:.1} s", started.elapsed().as_secs_f64());
    for (class, (n, codes, slowest)) in tally.lock().unwrap().iter() {
        eprintln!(
            "  {class:<9} {n:>6} cases  exit 0/1/2: {}/{}/{}  slowest {:.2} s",
            codes[0],
            codes[1],
            codes[2],
            slowest.as_secs_f64()
        );
    }
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|(o, _)| o.case);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (o, problem) in &failures {
        let kind = problem.split(" of [").next().unwrap_or(problem);
        *kinds.entry(format!("[{}] {kind}", o.class)).or_default() += 1;
    }
    for (kind, n) in &kinds {
        eprintln!("  {n:>5} × {kind}");
    }
    for (o, problem) in failures.iter().take(40) {
        let first_line = o.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let shown: Vec<String> = o
            .args
            .iter()
            .map(|a| if a.len() > 80 { format!("{}…", &a[..a.floor_char_boundary(80)]) } else { a.clone() })
            .collect();
        eprintln!(
            "case {} [{}] {problem}: dropcase {}\n    exit {:?} in {:.2} s: {first_line}",
            o.case,
            o.class,
            shown.join(" "),
            o.code,
            o.elapsed.as_secs_f64()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} fuzz cases broke a rule (seed {seed}); see above",
        failures.len()
    );
}

/// Every subcommand has a template, so a new one is fuzzed from the day it is added.
#[test]
fn fuzz_templates_cover_every_subcommand() {
    fn leaves(command: &clap::Command, path: String, out: &mut Vec<String>) {
        let subs: Vec<_> = command.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if subs.is_empty() {
            out.push(path.clone());
        }
        for sub in subs {
            let next = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            leaves(sub, next, out);
        }
    }
    let mut all = Vec::new();
    leaves(&dropcase::cli::Cli::command(), String::new(), &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|path| !TEMPLATES.iter().any(|t| t.starts_with(&format!("{path} ")) || *t == path.as_str()))
        .collect();
    assert!(all.len() > 30, "the command tree was not walked: {all:?}");
    assert!(missing.is_empty(), "subcommands with no fuzz template: {missing:?}");
}

/// Unmutated, every template succeeds: a hostile value then tests the value, not a broken
/// command line around it.
#[test]
fn fuzz_templates_are_valid_commands() {
    let _heavy = crate::support::heavy_test();
    let sandbox = Sandbox::new();
    let fx = setup(&sandbox);
    let mut broken = Vec::new();
    for (i, template) in TEMPLATES.iter().enumerate() {
        let dir = case_dir(&fx, 100_000 + i);
        let args = words(template, &fx, &dir);
        let (code, _, _, stderr) = run_in(&dir, &args);
        if code != Some(0) {
            broken.push(format!("{template}: exit {code:?}: {}", stderr.trim()));
        }
    }
    assert!(broken.is_empty(), "templates that fail unmutated:\n{}", broken.join("\n"));
}
