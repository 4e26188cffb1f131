//! The typed record of a logged command: its kind (mirroring the clap tree), the drill it
//! ran on, the metrics, cuts, filters, windows and tables it used, and the arguments as
//! typed. Grading reads these fields, never the command's text, so a path that happens to
//! contain `orders` earns nothing and renaming a subcommand is a compile error, not lost
//! points. `crate::cli::record` builds a record from the parsed command line.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::brief::Window;
use crate::query::{Grain, Measure, Metric};

/// `dropcase query …`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKind {
    Compare,
    Trend,
    Funnel,
}

/// `dropcase ab …`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbKind {
    Test,
    Ci,
    Means,
    Ratio,
    Srm,
    Size,
    Adjust,
    Seq,
    Cuped,
    Bayes,
    Bootstrap,
    Analyze,
    Daily,
    Segments,
}

/// The steps of a metric-drop drill that are logged (`dropcase drill …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrillStep {
    /// A clarifying question to the interviewer (`drill ask TOPIC`).
    Ask,
    Hint,
    Answer,
    Reveal,
}

/// The steps of an experiment drill that are logged (`dropcase exp …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpStep {
    /// A clarifying question (`exp ask TOPIC`).
    Ask,
    Hint,
    Decide,
    Reveal,
}

/// What a logged command was. Serialised as its command words, e.g. `"query compare"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    Query(QueryKind),
    Sql,
    Diagnose,
    Ab(AbKind),
    /// `dropcase metrics`: the definitions (confirming the metric before investigating).
    Metrics,
    Drill(DrillStep),
    Exp(ExpStep),
}

impl CommandKind {
    /// Every kind, in the order of the clap tree (a test walks the tree to check that
    /// every leaf subcommand is here or deliberately not logged).
    pub const ALL: [CommandKind; 28] = {
        use AbKind as A;
        use CommandKind as C;
        [
            C::Ab(A::Test),
            C::Ab(A::Ci),
            C::Ab(A::Means),
            C::Ab(A::Ratio),
            C::Ab(A::Srm),
            C::Ab(A::Size),
            C::Ab(A::Adjust),
            C::Ab(A::Seq),
            C::Ab(A::Cuped),
            C::Ab(A::Bayes),
            C::Ab(A::Bootstrap),
            C::Ab(A::Analyze),
            C::Ab(A::Daily),
            C::Ab(A::Segments),
            C::Diagnose,
            C::Drill(DrillStep::Ask),
            C::Drill(DrillStep::Hint),
            C::Drill(DrillStep::Answer),
            C::Drill(DrillStep::Reveal),
            C::Exp(ExpStep::Ask),
            C::Exp(ExpStep::Hint),
            C::Exp(ExpStep::Decide),
            C::Exp(ExpStep::Reveal),
            C::Metrics,
            C::Query(QueryKind::Compare),
            C::Query(QueryKind::Trend),
            C::Query(QueryKind::Funnel),
            C::Sql,
        ]
    };

    /// The command words after `dropcase`.
    pub fn words(self) -> (&'static str, Option<&'static str>) {
        match self {
            CommandKind::Query(q) => (
                "query",
                Some(match q {
                    QueryKind::Compare => "compare",
                    QueryKind::Trend => "trend",
                    QueryKind::Funnel => "funnel",
                }),
            ),
            CommandKind::Sql => ("sql", None),
            CommandKind::Diagnose => ("diagnose", None),
            CommandKind::Ab(a) => (
                "ab",
                Some(match a {
                    AbKind::Test => "test",
                    AbKind::Ci => "ci",
                    AbKind::Means => "means",
                    AbKind::Ratio => "ratio",
                    AbKind::Srm => "srm",
                    AbKind::Size => "size",
                    AbKind::Adjust => "adjust",
                    AbKind::Seq => "seq",
                    AbKind::Cuped => "cuped",
                    AbKind::Bayes => "bayes",
                    AbKind::Bootstrap => "bootstrap",
                    AbKind::Analyze => "analyze",
                    AbKind::Daily => "daily",
                    AbKind::Segments => "segments",
                }),
            ),
            CommandKind::Metrics => ("metrics", None),
            CommandKind::Drill(step) => (
                "drill",
                Some(match step {
                    DrillStep::Ask => "ask",
                    DrillStep::Hint => "hint",
                    DrillStep::Answer => "answer",
                    DrillStep::Reveal => "reveal",
                }),
            ),
            CommandKind::Exp(step) => (
                "exp",
                Some(match step {
                    ExpStep::Ask => "ask",
                    ExpStep::Hint => "hint",
                    ExpStep::Decide => "decide",
                    ExpStep::Reveal => "reveal",
                }),
            ),
        }
    }

    /// A command that looks at the data or computes a statistic (what a drill counts as
    /// investigation), as opposed to a drill step or a look at the definitions.
    pub fn is_investigation(self) -> bool {
        match self {
            CommandKind::Query(_) | CommandKind::Sql | CommandKind::Diagnose | CommandKind::Ab(_) => true,
            CommandKind::Metrics | CommandKind::Drill(_) | CommandKind::Exp(_) => false,
        }
    }

    /// Whether the command reads a drill folder through `--data` (so `report` can run it
    /// again on the drill wherever it was first run from).
    pub fn reads_drill_data(self) -> bool {
        match self {
            CommandKind::Query(_) | CommandKind::Sql | CommandKind::Diagnose => true,
            CommandKind::Ab(a) => match a {
                AbKind::Analyze | AbKind::Daily | AbKind::Segments => true,
                AbKind::Test
                | AbKind::Ci
                | AbKind::Means
                | AbKind::Ratio
                | AbKind::Srm
                | AbKind::Size
                | AbKind::Adjust
                | AbKind::Seq
                | AbKind::Cuped
                | AbKind::Bayes
                | AbKind::Bootstrap => false,
            },
            CommandKind::Metrics | CommandKind::Drill(_) | CommandKind::Exp(_) => false,
        }
    }

    /// Whether the command takes `--plot`.
    pub fn draws_chart(self) -> bool {
        match self {
            CommandKind::Query(_) => true,
            CommandKind::Ab(a) => match a {
                AbKind::Srm | AbKind::Analyze | AbKind::Daily => true,
                AbKind::Test
                | AbKind::Ci
                | AbKind::Means
                | AbKind::Ratio
                | AbKind::Size
                | AbKind::Adjust
                | AbKind::Seq
                | AbKind::Cuped
                | AbKind::Bayes
                | AbKind::Bootstrap
                | AbKind::Segments => false,
            },
            CommandKind::Sql
            | CommandKind::Diagnose
            | CommandKind::Metrics
            | CommandKind::Drill(_)
            | CommandKind::Exp(_) => false,
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.words() {
            (first, Some(second)) => write!(f, "{first} {second}"),
            (first, None) => f.write_str(first),
        }
    }
}

impl FromStr for CommandKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        CommandKind::ALL
            .iter()
            .copied()
            .find(|k| k.to_string() == text)
            .ok_or_else(|| format!("'{text}' is not a logged command kind"))
    }
}

impl Serialize for CommandKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CommandKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The kinds of data-quality check a drill rewards before an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityCheck {
    /// Read the backend orders table, the second source for purchases.
    SecondSource,
    /// Counted users or sessions per user (duplicate sessions, a definition change).
    Duplicates,
    /// Looked at the hours or the last timestamp (a partial last day).
    PartialDay,
}

/// One logged command as parsed: what `drill log --format json` shows under `parsed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub kind: CommandKind,
    /// The arguments after `dropcase`, exactly as given (`report` runs them again).
    #[serde(default)]
    pub args: Vec<String>,
    /// The drill folder the command ran on (absolute); none for numbers typed on the
    /// command line, and for entries rebuilt from an older log.
    #[serde(default)]
    pub drill: Option<PathBuf>,
    /// The metrics read, by their registry names (a compare without `--metric` records
    /// the brief's).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Dimensions cut by (`--by`).
    #[serde(default)]
    pub by: Vec<String>,
    /// Filters (`--where`), as typed.
    #[serde(default, rename = "where")]
    pub filters: Vec<String>,
    #[serde(default)]
    pub baseline: Option<Window>,
    #[serde(default)]
    pub current: Option<Window>,
    /// `query trend --window`.
    #[serde(default)]
    pub window: Option<Window>,
    #[serde(default)]
    pub grain: Option<Grain>,
    /// The tables read: `sessions` and `orders` for queries (by their metrics' measures),
    /// the tables named in an SQL query's FROM and JOIN clauses.
    #[serde(default)]
    pub tables: Vec<String>,
    /// The query of `dropcase sql`.
    #[serde(default)]
    pub sql: Option<String>,
    /// Rebuilt by parsing the command text of a log written before records were typed.
    #[serde(default)]
    pub legacy: bool,
    /// The topic of a clarifying question (`drill ask`, `exp ask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl CommandRecord {
    /// A record of `kind` with nothing else known yet.
    pub fn new(kind: CommandKind) -> Self {
        Self {
            kind,
            args: Vec::new(),
            drill: None,
            metrics: Vec::new(),
            by: Vec::new(),
            filters: Vec::new(),
            baseline: None,
            current: None,
            window: None,
            grain: None,
            tables: Vec::new(),
            sql: None,
            legacy: false,
            topic: None,
        }
    }

    pub fn reads_table(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t == table)
    }

    /// The data-quality check this command made, if any, from what it read: the orders
    /// table, a metric built on distinct users, the hours of a trend, or an SQL query over
    /// the sessions that counts per session or user, or looks at the hours or the last
    /// timestamp. `diagnose` makes such checks itself; they are the engine's, not the
    /// learner's, so they earn nothing here.
    pub fn quality_check(&self) -> Option<QualityCheck> {
        match self.kind {
            CommandKind::Query(query) => {
                if self.reads_table(TABLE_ORDERS) {
                    return Some(QualityCheck::SecondSource);
                }
                let measures: Vec<Measure> = self
                    .metrics
                    .iter()
                    .filter_map(|m| Metric::find_any(m))
                    .flat_map(|m| m.measures())
                    .collect();
                if measures.iter().any(|m| m.source().is_some()) {
                    return Some(QualityCheck::SecondSource);
                }
                if measures.contains(&Measure::Users) {
                    return Some(QualityCheck::Duplicates);
                }
                match query {
                    QueryKind::Trend if self.grain == Some(Grain::Hour) => Some(QualityCheck::PartialDay),
                    QueryKind::Trend | QueryKind::Compare | QueryKind::Funnel => None,
                }
            }
            CommandKind::Sql => {
                if self.reads_table(TABLE_ORDERS) {
                    return Some(QualityCheck::SecondSource);
                }
                let words = sql_words(self.sql.as_deref().unwrap_or_default());
                let has = |w: &str| words.iter().any(|x| x == w);
                let sessions = self.reads_table(TABLE_SESSIONS);
                if sessions && (has("session_id") || has("user_id")) && (has("group") || has("distinct")) {
                    return Some(QualityCheck::Duplicates);
                }
                let last_timestamp = words.windows(3).any(|w| w[0] == "max" && w[1] == "(" && w[2] == "ts");
                if sessions && (last_timestamp || has("hour") || has("%h")) {
                    return Some(QualityCheck::PartialDay);
                }
                None
            }
            CommandKind::Diagnose
            | CommandKind::Ab(_)
            | CommandKind::Metrics
            | CommandKind::Drill(_)
            | CommandKind::Exp(_) => None,
        }
    }
}

pub const TABLE_SESSIONS: &str = "sessions";
pub const TABLE_ORDERS: &str = "orders";

/// An SQL query's words, lowercased: identifiers and keywords, `(`, and the contents of
/// string literals (`'hour'`), with comments dropped. Enough to see which columns a query
/// groups or counts by, without a full parse.
fn sql_words(sql: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut literal = String::new();
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    literal.push(d);
                }
                words.push(literal.to_lowercase());
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            '(' => words.push("(".into()),
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = c.to_lowercase().to_string();
                while let Some(&d) = chars.peek() {
                    if !(d.is_alphanumeric() || d == '_') {
                        break;
                    }
                    word.extend(d.to_lowercase());
                    chars.next();
                }
                words.push(word);
            }
            _ => {}
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_their_command_words_and_back() {
        for kind in CommandKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<CommandKind>(&json).unwrap(), kind);
        }
        assert_eq!(CommandKind::Query(QueryKind::Compare).to_string(), "query compare");
        assert!("query explode".parse::<CommandKind>().is_err());
    }

    fn query(kind: QueryKind, metrics: &[&str]) -> CommandRecord {
        let mut r = CommandRecord::new(CommandKind::Query(kind));
        r.metrics = metrics.iter().map(|m| m.to_string()).collect();
        r.tables = vec![TABLE_SESSIONS.into()];
        r
    }

    fn sql(text: &str, tables: &[&str]) -> CommandRecord {
        let mut r = CommandRecord::new(CommandKind::Sql);
        r.sql = Some(text.into());
        r.tables = tables.iter().map(|t| t.to_string()).collect();
        r
    }

    #[test]
    fn a_path_that_mentions_users_or_orders_earns_nothing() {
        let mut r = query(QueryKind::Compare, &["conversion"]);
        r.drill = Some("/Users/x/orders-analysis".into());
        r.args = ["query", "compare", "--by", "platform", "--data", "/Users/x/orders-analysis"]
            .map(String::from)
            .to_vec();
        assert_eq!(r.quality_check(), None);
        // A filter on a value that reads like a table earns nothing either.
        r.filters = vec!["traffic_source=orders".into()];
        assert_eq!(r.quality_check(), None);
    }

    #[test]
    fn metrics_on_the_second_source_or_on_users_are_data_quality_checks() {
        for metric in ["backend_conversion", "orders"] {
            assert_eq!(
                query(QueryKind::Trend, &[metric]).quality_check(),
                Some(QualityCheck::SecondSource),
                "{metric}"
            );
        }
        for metric in ["sessions_per_user", "users"] {
            assert_eq!(
                query(QueryKind::Compare, &[metric]).quality_check(),
                Some(QualityCheck::Duplicates),
                "{metric}"
            );
        }
        assert_eq!(query(QueryKind::Trend, &["conversion"]).quality_check(), None);
        let mut hourly = query(QueryKind::Trend, &["conversion"]);
        hourly.grain = Some(Grain::Hour);
        assert_eq!(hourly.quality_check(), Some(QualityCheck::PartialDay));
        assert_eq!(query(QueryKind::Funnel, &[]).quality_check(), None);
    }

    #[test]
    fn sql_earns_by_the_tables_and_columns_it_reads() {
        let orders = sql("SELECT date, COUNT(*) FROM orders GROUP BY date", &["orders"]);
        assert_eq!(orders.quality_check(), Some(QualityCheck::SecondSource));
        let dups = sql(
            "SELECT user_id, COUNT(*) AS n FROM sessions GROUP BY user_id HAVING COUNT(*) > 1",
            &["sessions"],
        );
        assert_eq!(dups.quality_check(), Some(QualityCheck::Duplicates));
        let distinct = sql("select count(distinct session_id), count(*) from sessions", &["sessions"]);
        assert_eq!(distinct.quality_check(), Some(QualityCheck::Duplicates));
        let last = sql("SELECT MAX(ts) FROM sessions", &["sessions"]);
        assert_eq!(last.quality_check(), Some(QualityCheck::PartialDay));
        let hours =
            sql("SELECT date_part('hour', ts) AS h, COUNT(*) FROM sessions GROUP BY h", &["sessions"]);
        assert_eq!(hours.quality_check(), Some(QualityCheck::PartialDay));
        // Reading only the sessions, with no per-user count: nothing.
        let plain = sql("SELECT platform, AVG(purchased) FROM sessions GROUP BY platform", &["sessions"]);
        assert_eq!(plain.quality_check(), None);
        // A comment naming a column is not a check.
        let comment = sql("SELECT COUNT(*) FROM sessions -- group by user_id later", &["sessions"]);
        assert_eq!(comment.quality_check(), None);
        // Context tables are not a data-quality check.
        assert_eq!(sql("SELECT * FROM releases", &["releases"]).quality_check(), None);
    }

    #[test]
    fn drill_steps_and_definitions_are_not_investigations() {
        let investigations: Vec<CommandKind> =
            CommandKind::ALL.iter().copied().filter(|k| k.is_investigation()).collect();
        assert!(investigations.contains(&CommandKind::Ab(AbKind::Srm)));
        assert!(investigations.contains(&CommandKind::Sql));
        for kind in
            [CommandKind::Metrics, CommandKind::Drill(DrillStep::Hint), CommandKind::Exp(ExpStep::Decide)]
        {
            assert!(!kind.is_investigation(), "{kind}");
        }
    }

    #[test]
    fn records_without_new_fields_still_deserialise() {
        let r: CommandRecord = serde_json::from_str(r#"{"kind": "ab srm"}"#).unwrap();
        assert_eq!(r, CommandRecord::new(CommandKind::Ab(AbKind::Srm)));
    }
}
