//! How a command ends: the exit code is decided in one place by the error's type (0 success,
//! 1 a user error such as a bad value or a bad file, 2 a usage error such as an unknown
//! flag), and a panic inside a dependency becomes an error naming the files being read.

use std::process::ExitCode;
use std::sync::Mutex;

use clap::error::ErrorKind;

/// An error in how the command was called (not in a value or a file): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What kind of failure an error is, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A bad value, file or state: exit 1.
    User,
    /// A bad command line (unknown flag, missing argument, conflicting flags): exit 2.
    Usage,
}

impl Failure {
    pub fn code(self) -> u8 {
        match self {
            Failure::User => 1,
            Failure::Usage => 2,
        }
    }

    /// A clap error: a value clap rejected (not in the list, failed its parser) is a user
    /// error like any other bad value; everything else clap rejects is a usage error.
    pub fn of_clap(err: &clap::Error) -> Failure {
        match err.kind() {
            ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8 => Failure::User,
            _ => Failure::Usage,
        }
    }

    pub fn of(err: &anyhow::Error) -> Failure {
        for cause in err.chain() {
            if cause.is::<UsageError>() {
                return Failure::Usage;
            }
            if let Some(clap) = cause.downcast_ref::<clap::Error>() {
                return Failure::of_clap(clap);
            }
        }
        Failure::User
    }
}

/// Ends a command that failed to parse: help and version print to stdout and exit 0.
pub fn clap_exit(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    if !err.use_stderr() {
        return ExitCode::SUCCESS;
    }
    ExitCode::from(Failure::of_clap(err).code())
}

/// The last panic's message and place, kept by the hook for the error message.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the default panic print (message and backtrace hint) with a record the command
/// boundary turns into an error. `DROPCASE_PANIC=print` keeps the default print (with
/// `RUST_BACKTRACE`) for debugging.
pub fn install_panic_hook() {
    if std::env::var_os("DROPCASE_PANIC").is_some_and(|v| v == "print") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let message = panic_text(info.payload());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{message}{place}"));
    }));
}

pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown cause".into())
}

/// The error for a panic caught at the command boundary: what was being read, what failed.
pub fn panic_error(payload: &(dyn std::any::Any + Send)) -> String {
    let recorded = LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()).take();
    let what = recorded.unwrap_or_else(|| panic_text(payload));
    let files = crate::datafile::files_read();
    if files.is_empty() {
        return format!(
            "dropcase failed internally ({what}); this is a bug: please report it with the command that caused it"
        );
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    format!(
        "cannot read {}: the reader failed inside a library ({what}); a file may be damaged or truncated: if it is part of a drill, generate the drill again (`dropcase drill start --force` or `dropcase generate ... --force`), else export the file again",
        names.join(", ")
    )
}

/// An error message that names the files being read when the error itself names none (a
/// polars error deep in a query knows no file name). Errors in the query itself (SQL syntax,
/// an unknown column) are not about a file and stay as they are.
pub fn with_files(err: &anyhow::Error) -> String {
    use polars::prelude::PolarsError;
    let text = format!("{err:#}");
    let is_reader_error = err.chain().any(|c| {
        c.downcast_ref::<PolarsError>().is_some_and(|e| {
            !matches!(
                e,
                PolarsError::SQLSyntax(_)
                    | PolarsError::SQLInterface(_)
                    | PolarsError::ColumnNotFound(_)
                    | PolarsError::SchemaFieldNotFound(_)
                    | PolarsError::InvalidOperation(_)
            )
        })
    });
    let files = crate::datafile::files_read();
    if !is_reader_error || files.is_empty() || files.iter().any(|f| text.contains(&f.display().to_string())) {
        return text;
    }
    format!("{text}{}", crate::datafile::reading_clause())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Demo {
        #[arg(long)]
        alpha: f64,
        #[arg(long, value_enum, default_value = "small")]
        size: Size,
    }

    #[derive(Debug, Clone, Copy, clap::ValueEnum)]
    enum Size {
        Small,
    }

    fn kind(args: &[&str]) -> Failure {
        let cmd = super::super::allow_negative_numbers(Demo::command());
        Failure::of_clap(&cmd.try_get_matches_from(args).unwrap_err())
    }

    #[test]
    fn values_are_user_errors_and_the_command_line_usage_errors() {
        assert_eq!(kind(&["demo", "--alpha", "x"]), Failure::User);
        assert_eq!(kind(&["demo", "--alpha", "1", "--size", "big"]), Failure::User);
        assert_eq!(kind(&["demo"]), Failure::Usage, "missing required argument");
        assert_eq!(kind(&["demo", "--alpha", "1", "--beta"]), Failure::Usage, "unknown argument");
        let usage = anyhow::Error::new(UsageError("give A or B".into())).context("ab size");
        assert_eq!(Failure::of(&usage), Failure::Usage);
        assert_eq!(Failure::of(&anyhow::anyhow!("--alpha: out of range")), Failure::User);
    }

    #[test]
    fn a_panic_names_the_files_being_read() {
        let payload = std::panic::catch_unwind(|| panic!("index out of bounds")).unwrap_err();
        crate::datafile::reading(std::path::Path::new("/data/drill/sessions.parquet"));
        let text = panic_error(payload.as_ref());
        // Other tests in this binary may have recorded files too.
        assert!(text.starts_with("cannot read ") && text.contains("/data/drill/sessions.parquet"), "{text}");
        assert!(text.contains("index out of bounds") && text.contains("generate the drill again"), "{text}");
    }

    #[test]
    fn a_negative_number_reaches_the_value() {
        let cmd = super::super::allow_negative_numbers(Demo::command());
        let matches = cmd.try_get_matches_from(["demo", "--alpha", "-0.05"]).unwrap();
        assert_eq!(matches.get_one::<f64>("alpha"), Some(&-0.05));
    }
}
