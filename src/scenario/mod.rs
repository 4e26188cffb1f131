//! Scenario files: the TOML that describes a synthetic shop, its funnel and the hidden
//! cause of a metric drop. Parsing validates everything up front and reports every problem
//! with file, line, key, the bad value and what is allowed; `draw` then resolves the
//! parameters the seed randomizes (segment, start day, size) into a concrete [`Case`].

pub mod catalogue;
pub mod family;
pub(crate) mod locate;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use family::{Action, Family, Group, Mechanism, Stage};

use crate::brief::Window;

/// Platforms are fixed: the generator ties app versions and OS versions to the apps and
/// browsers to the web.
pub const PLATFORMS: [&str; 3] = ["ios", "android", "web"];
/// Dimensions a target, an effect or a `--where` may name.
pub const DIMENSIONS: [&str; 9] = [
    "platform",
    "app_version",
    "os_version",
    "browser",
    "device",
    "country",
    "traffic_source",
    "user_type",
    "payment_method",
];

/// Limits that keep every valid scenario quick to generate in bounded memory (issue #13).
/// A period of at most a year.
pub const MAX_DAYS: u32 = 366;
/// Sessions a drill may hold (100M partitioned sessions take 8 s; this is 20 times that).
pub const MAX_SESSIONS: u64 = 2_000_000_000;
/// Volume growth over the period allowed by `trend_per_week` (either way).
pub const MAX_GROWTH: f64 = 16.0;
pub const MAX_WEEKLY: f64 = 10.0;
pub const MAX_WEEKLY_CONVERSION: f64 = 10.0;
/// Sessions converting at the lowest weekday, at least: a headline needs purchases.
pub const MIN_CONVERSION: f64 = 1e-4;
/// Expected purchases in each comparison window at the scenario's volume, at least.
pub const MIN_WINDOW_PURCHASES: f64 = 20.0;
pub const MAX_ORDER_VALUE: f64 = 1e6;
pub const MAX_PAGE_LOAD_MS: f64 = 600_000.0;
/// Values per dimension (stored as one-byte codes).
pub const MAX_VALUES: usize = 100;
pub const MAX_EFFECTS: usize = 500;
pub const MAX_DECOYS: usize = 20;
pub const MAX_CONTEXT: usize = 1000;
pub const MAX_TARGET_CHOICES: usize = 100;
/// True causes one case may hold.
pub const MAX_CAUSES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Drop,
    Experiment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub fn name(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
        }
    }
}

/// A scenario file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub kind: Kind,
    /// The product the case is about (`products/NAME.toml`); files without the key are the shop's.
    #[serde(default = "default_product")]
    pub product: String,
    pub title: String,
    pub difficulty: Difficulty,
    /// The headline metric (default `conversion`).
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Allowed relative change of the headline metric, e.g. `[-0.10, -0.03]`.
    #[serde(default = "default_headline")]
    pub headline: [f64; 2],
    /// Free text for teachers reading the file; never shown to a learner.
    #[serde(default)]
    pub notes: String,
    pub period: Period,
    pub traffic: Traffic,
    pub funnel: Funnel,
    pub order_value: OrderValue,
    pub page_load: PageLoad,
    pub dimensions: Dimensions,
    #[serde(default, rename = "rollout")]
    pub rollouts: Vec<Rollout>,
    #[serde(default, rename = "effect")]
    pub effects: Vec<Effect>,
    #[serde(rename = "cause")]
    pub causes: Vec<CauseSpec>,
    #[serde(default, rename = "decoy")]
    pub decoys: Vec<CauseSpec>,
    #[serde(default, rename = "context")]
    pub context: Vec<ContextEntry>,
    /// Families this file defines beside the catalogue's (`[family.NAME]`, the catalogue's format).
    #[serde(default, rename = "family", skip_serializing_if = "BTreeMap::is_empty")]
    pub own_families: BTreeMap<String, family::FamilyDef>,
}

fn default_product() -> String {
    "shop".into()
}

fn default_metric() -> String {
    "conversion".into()
}

fn default_headline() -> [f64; 2] {
    [-0.10, -0.03]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// The first day of data (the earliest, when the calendar moves).
    pub start: NaiveDate,
    pub days: u32,
    #[serde(default = "seven")]
    pub baseline_days: u32,
    #[serde(default = "seven")]
    pub current_days: u32,
    /// A moving calendar: the seed moves the whole period forward by 0 to this many whole
    /// weeks (weekdays stay where the file put them), so no two learners know the dates.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calendar_weeks: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Most weeks a moving calendar may span (ten years).
pub const MAX_CALENDAR_WEEKS: u32 = 520;

fn seven() -> u32 {
    7
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub sessions_per_day: f64,
    /// Volume multipliers Monday..Sunday.
    #[serde(default = "flat_week")]
    pub weekly: [f64; 7],
    /// Purchase-step multipliers Monday..Sunday (weekends convert differently).
    #[serde(default = "flat_week")]
    pub weekly_conversion: [f64; 7],
    /// Relative volume growth per week.
    #[serde(default)]
    pub trend_per_week: f64,
    /// Day-to-day standard deviation of log volume.
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// Returning-user pool size as a fraction of all sessions (smaller ⇒ more sessions per user).
    #[serde(default = "default_user_pool")]
    pub user_pool: f64,
}

fn flat_week() -> [f64; 7] {
    [1.0; 7]
}

fn default_noise() -> f64 {
    0.03
}

fn default_user_pool() -> f64 {
    0.3
}

/// Step probabilities, each conditional on the step before.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Funnel {
    pub view: f64,
    pub cart: f64,
    pub checkout: f64,
    pub purchase: f64,
}

impl Funnel {
    pub fn steps(&self) -> [f64; 4] {
        [self.view, self.cart, self.checkout, self.purchase]
    }
}

/// Log-normal order value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderValue {
    pub median: f64,
    pub sigma: f64,
}

/// Log-normal page load time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageLoad {
    pub median_ms: f64,
    pub sigma: f64,
}

/// Whether `platform` offers the payment method `method`: Apple Pay on iOS only, Google Pay
/// on Android only, everything else everywhere.
pub fn payment_offered(method: &str, platform: &str) -> bool {
    match method {
        "apple_pay" => platform == "ios",
        "google_pay" => platform == "android",
        _ => true,
    }
}

/// Value shares per dimension. App and OS versions come from `[[rollout]]`s.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    pub platform: BTreeMap<String, f64>,
    pub country: BTreeMap<String, f64>,
    pub traffic_source: BTreeMap<String, f64>,
    pub user_type: BTreeMap<String, f64>,
    /// Web only.
    pub browser: BTreeMap<String, f64>,
    /// Device shares on the web.
    pub web_device: BTreeMap<String, f64>,
    /// Device shares in the apps.
    pub app_device: BTreeMap<String, f64>,
    /// `apple_pay` is offered on iOS only, `google_pay` on Android only.
    pub payment_method: BTreeMap<String, f64>,
}

impl Dimensions {
    pub fn shares(&self) -> [(&'static str, &BTreeMap<String, f64>); 8] {
        [
            ("platform", &self.platform),
            ("country", &self.country),
            ("traffic_source", &self.traffic_source),
            ("user_type", &self.user_type),
            ("browser", &self.browser),
            ("web_device", &self.web_device),
            ("app_device", &self.app_device),
            ("payment_method", &self.payment_method),
        ]
    }
}

/// A new app or OS version that users adopt over some days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// `app_version` or `os_version`.
    pub dimension: String,
    /// `ios` or `android`.
    pub platform: String,
    pub old: String,
    pub new: String,
    /// Release day as an offset from the first day of the current window.
    pub start_day: i64,
    /// Days until adoption is ~95% of `max_share`.
    pub adoption_days: f64,
    pub max_share: f64,
    /// Release note shown in the context release log.
    #[serde(default)]
    pub note: String,
}

/// A steady per-segment multiplier on one funnel step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// `dim=value` terms joined by commas.
    pub target: String,
    pub step: Stage,
    pub multiplier: f64,
}

/// A cause as written, with the ranges the seed draws from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CauseSpec {
    pub family: Family,
    /// Fixed target segment (`dim=value,...`).
    #[serde(default)]
    pub target: Option<String>,
    /// The seed picks one of these targets.
    #[serde(default)]
    pub target_choices: Vec<String>,
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Start day as `[earliest, latest]` offsets from the first day of the current window.
    pub start_day: [i64; 2],
    /// Hour of day the cause starts (0–23); default: a random hour for time-boxed causes, else 0.
    #[serde(default)]
    pub start_hour: Option<u32>,
    /// Size as `[low, high]`; what it means depends on the family (see the scenario guide).
    pub size: [f64; 2],
    /// For time-boxed causes: duration in hours as `[low, high]`.
    #[serde(default)]
    pub duration_hours: Option<[f64; 2]>,
    /// Days over which the effect grows to full size.
    #[serde(default)]
    pub ramp_days: f64,
    /// Context entry that goes with this cause (release log, marketing calendar, config log).
    #[serde(default)]
    pub note: Option<String>,
}

/// A line in a context table that is not tied to a cause (usually a decoy).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextEntry {
    /// `releases`, `marketing` or `config_changes`.
    pub table: String,
    pub day: i64,
    pub text: String,
    #[serde(default)]
    pub platform: Option<String>,
}

/// Something wrong in a scenario file, located as precisely as the file allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub value: String,
    pub allowed: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{}", render_problems(origin, problems))]
    Invalid { origin: String, problems: Vec<Problem> },
    #[error(
        "unknown scenario '{name}'{suggestion}; `dropcase scenarios list` shows the catalogue, or pass a path to a .toml file"
    )]
    Unknown { name: String, suggestion: String },
}

/// `origin:line:column` of a TOML error, as every other scenario problem is located, or the
/// bare origin when the parser gives no position (a missing table or key).
/// Deserialises scenario TOML (drop or experiment); a syntax error names `origin:line:column`.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, ScenarioError> {
    toml::from_str(text).map_err(|err| ScenarioError::Syntax {
        origin: syntax_place(origin, text, err.span()),
        message: syntax_message(text, &err),
    })
}

/// `Ok` when validation found nothing, else every problem at once.
pub(crate) fn check_problems(problems: Vec<Problem>, origin: &str) -> Result<(), ScenarioError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Invalid { origin: origin.to_string(), problems })
    }
}

/// A scenario file's text.
pub(crate) fn read_text(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.display().to_string(), source })
}

fn syntax_place(origin: &str, text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) if span.start < text.len() => {
            let before = &text[..span.start];
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
            format!("{origin}:{line}:{column}")
        }
        _ => origin.to_string(),
    }
}

/// The parser's message followed by the offending line, e.g. "unknown field `colour`,
/// expected `median_ms` or `sigma`\n    colour = \"red\"".
fn syntax_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end().to_string();
    match err.span().filter(|span| span.start < text.len()) {
        Some(span) => {
            let line = text[..span.start].matches('\n').count();
            format!("{message}\n    {}", text.lines().nth(line).unwrap_or("").trim_end())
        }
        None => message,
    }
}

fn render_problems(origin: &str, problems: &[Problem]) -> String {
    let mut out = format!("{origin} has {} problem(s):", problems.len());
    for p in problems {
        let place = p.line.map(|l| format!("{origin}:{l}")).unwrap_or_else(|| origin.to_string());
        out.push_str(&format!(
            "\n  {place}: key `{}` has bad value {}; allowed: {}",
            p.key, p.value, p.allowed
        ));
    }
    out
}

impl Scenario {
    /// Parses and validates scenario text; `origin` names it in messages (a path or `catalogue:NAME`).
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = parse_toml(text, origin)?;
        let loc = locate::Locator::new(text);
        if let Err(message) = family::register(&scenario.own_families) {
            return Err(ScenarioError::Invalid {
                origin: origin.to_string(),
                problems: vec![Problem {
                    line: loc.header("family", None),
                    key: "family".into(),
                    value: message,
                    allowed: "families with new names, or exactly the catalogue's definition".into(),
                }],
            });
        }
        check_problems(scenario.problems(text), origin)?;
        Ok(scenario)
    }

    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&read_text(path)?, &path.display().to_string())
    }

    /// The same validation as [`Scenario::parse`] for a scenario changed in code (resized by
    /// `--sessions` or `--days`); problems carry no line, `origin` names what changed it.
    pub fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        check_problems(self.problems(""), origin)
    }

    /// A catalogue name or a path to a `.toml` file.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        let path = Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || path.exists() {
            return Scenario::read(path);
        }
        catalogue::find(name_or_path)
    }

    pub fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = self.causes.iter().map(|c| c.family).collect();
        families.dedup();
        families
    }

    pub fn end(&self) -> NaiveDate {
        self.period.start + Duration::days(i64::from(self.period.days) - 1)
    }

    /// The comparison windows: the last `current_days`, and the `baseline_days` before them.
    pub fn windows(&self) -> (Window, Window) {
        let end = self.end();
        let current_from = end - Duration::days(i64::from(self.period.current_days) - 1);
        let baseline_to = current_from - Duration::days(1);
        let baseline_from = baseline_to - Duration::days(i64::from(self.period.baseline_days) - 1);
        (Window::new(baseline_from, baseline_to), Window::new(current_from, end))
    }

    /// Every value each dimension can take in generated data, in a fixed order.
    pub fn dimension_values(&self) -> BTreeMap<&'static str, Vec<String>> {
        let keys = |m: &BTreeMap<String, f64>| m.keys().cloned().collect::<Vec<_>>();
        let mut values: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        values.insert("platform", PLATFORMS.iter().map(|s| s.to_string()).collect());
        for dim in ["app_version", "os_version"] {
            let mut versions = Vec::new();
            for r in self.rollouts.iter().filter(|r| r.dimension == dim) {
                for v in [&r.old, &r.new] {
                    if !versions.contains(v) {
                        versions.push(v.clone());
                    }
                }
            }
            values.insert(dim, versions);
        }
        values.insert("browser", keys(&self.dimensions.browser));
        let mut devices = keys(&self.dimensions.web_device);
        for d in self.dimensions.app_device.keys() {
            if !devices.contains(d) {
                devices.push(d.clone());
            }
        }
        values.insert("device", devices);
        values.insert("country", keys(&self.dimensions.country));
        let mut sources = keys(&self.dimensions.traffic_source);
        // A campaign can bring a source the shop never had; it must exist as a value.
        for cause in self.causes.iter().chain(&self.decoys) {
            if cause.family.uses(family::Mechanism::Traffic, Some("low_intent")) {
                for target in cause.targets() {
                    for (dim, value) in parse_terms(target).unwrap_or_default() {
                        if dim == "traffic_source" && !sources.contains(&value) {
                            sources.push(value);
                        }
                    }
                }
            }
        }
        values.insert("traffic_source", sources);
        values.insert("user_type", keys(&self.dimensions.user_type));
        values.insert("payment_method", keys(&self.dimensions.payment_method));
        values
    }

    fn problems(&self, text: &str) -> Vec<Problem> {
        let loc = locate::Locator::new(text);
        let mut out = Vec::new();
        let mut bad = |line: Option<usize>, key: &str, value: String, allowed: &str| {
            out.push(Problem { line, key: key.to_string(), value, allowed: allowed.to_string() })
        };
        if self.kind != Kind::Drop {
            bad(
                loc.key(None, "kind"),
                "kind",
                "\"experiment\"".into(),
                "\"drop\" (an experiment scenario runs with `dropcase exp start --scenario FILE`)",
            );
        }
        if self.name.trim().is_empty()
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bad(loc.key(None, "name"), "name", format!("{:?}", self.name), "letters, digits, '_' and '-'");
        }
        let [low, high] = self.headline;
        if !(low < high && low >= -1.0 && high <= 1.0) {
            bad(
                loc.key(None, "headline"),
                "headline",
                format!("{:?}", self.headline),
                "[low, high] relative changes with -1 ≤ low < high ≤ 1, e.g. [-0.10, -0.03]",
            );
        }
        if self.metric != "conversion" {
            bad(loc.key(None, "metric"), "metric", format!("{:?}", self.metric), "\"conversion\"");
        }
        // period
        let p = &self.period;
        let windows_days = u64::from(p.baseline_days) + u64::from(p.current_days);
        let period_ok = u64::from(p.days) >= windows_days
            && p.days <= MAX_DAYS
            && p.baseline_days > 0
            && p.current_days > 0;
        if !period_ok {
            bad(
                loc.key(Some(("period", None)), "days"),
                "period.days",
                format!("{} (baseline_days {}, current_days {})", p.days, p.baseline_days, p.current_days),
                &format!(
                    "at least baseline_days + current_days (both ≥ 1), at most {MAX_DAYS} (a year: longer periods take minutes to generate)"
                ),
            );
        }
        if p.calendar_weeks > MAX_CALENDAR_WEEKS
            || NaiveDate::MAX - Duration::weeks(i64::from(p.calendar_weeks) + 60) < p.start
        {
            bad(
                loc.key(Some(("period", None)), "calendar_weeks"),
                "period.calendar_weeks",
                p.calendar_weeks.to_string(),
                &format!("whole weeks in [0, {MAX_CALENDAR_WEEKS}] (0: the dates the file gives)"),
            );
        }
        // traffic
        let t = &self.traffic;
        let traffic = Some(("traffic", None));
        for (key, week, max) in [
            ("weekly", &t.weekly, MAX_WEEKLY),
            ("weekly_conversion", &t.weekly_conversion, MAX_WEEKLY_CONVERSION),
        ] {
            if week.iter().any(|w| !(w.is_finite() && *w > 0.0 && *w <= max)) {
                bad(
                    loc.key(traffic, key),
                    &format!("traffic.{key}"),
                    format!("{week:?}"),
                    &format!("seven multipliers in (0, {max}], Monday first"),
                );
            }
        }
        let trend_ok = t.trend_per_week.is_finite() && (-0.5..=0.5).contains(&t.trend_per_week);
        // The volume of the period's last day against its first, when the period is valid.
        let growth = (1.0 + t.trend_per_week).powf(f64::from(p.days.saturating_sub(1)) / 7.0);
        let growth_ok = trend_ok && (!period_ok || (1.0 / MAX_GROWTH..=MAX_GROWTH).contains(&growth));
        if !growth_ok {
            bad(
                loc.key(traffic, "trend_per_week"),
                "traffic.trend_per_week",
                if trend_ok {
                    format!("{} (×{growth:.3} over {} days)", t.trend_per_week, p.days)
                } else {
                    t.trend_per_week.to_string()
                },
                &format!(
                    "a weekly growth rate in [-0.5, 0.5] whose compound over the period stays within ×{:.4}..×{MAX_GROWTH}",
                    1.0 / MAX_GROWTH
                ),
            );
        }
        let max_week = t.weekly.iter().copied().fold(0.0, f64::max);
        let peak_total = t.sessions_per_day * f64::from(p.days) * max_week * growth.max(1.0);
        if !(t.sessions_per_day.is_finite() && t.sessions_per_day >= 1.0)
            || (period_ok && growth_ok && peak_total > MAX_SESSIONS as f64)
        {
            bad(
                loc.key(traffic, "sessions_per_day"),
                "traffic.sessions_per_day",
                t.sessions_per_day.to_string(),
                &format!(
                    "a number ≥ 1 that, over the period's days with its weekly pattern and trend, stays within {MAX_SESSIONS} sessions (`generate --sessions N` sets the volume too)"
                ),
            );
        }
        if !(t.noise.is_finite() && (0.0..=1.0).contains(&t.noise)) {
            bad(
                loc.key(traffic, "noise"),
                "traffic.noise",
                t.noise.to_string(),
                "a standard deviation of log volume in [0, 1]",
            );
        }
        if !(t.user_pool.is_finite() && t.user_pool > 0.0 && t.user_pool <= 1.0) {
            bad(
                loc.key(traffic, "user_pool"),
                "traffic.user_pool",
                t.user_pool.to_string(),
                "a fraction in (0, 1]",
            );
        }
        // funnel
        for (stage, value) in Stage::ALL.iter().zip(self.funnel.steps()) {
            if !(value.is_finite() && value > 0.0 && value <= 1.0) {
                bad(
                    loc.key(Some(("funnel", None)), stage.name()),
                    &format!("funnel.{}", stage.name()),
                    value.to_string(),
                    "a probability in (0, 1]",
                );
            }
        }
        let steps_ok = self.funnel.steps().iter().all(|v| v.is_finite() && *v > 0.0 && *v <= 1.0);
        let weeks_ok = t.weekly_conversion.iter().all(|w| w.is_finite() && *w > 0.0);
        if steps_ok && weeks_ok {
            let max_conversion_week = t.weekly_conversion.iter().copied().fold(0.0, f64::max);
            if self.funnel.purchase * max_conversion_week > 1.0 {
                bad(
                    loc.key(traffic, "weekly_conversion"),
                    "traffic.weekly_conversion",
                    format!("{:?} with funnel.purchase = {}", t.weekly_conversion, self.funnel.purchase),
                    "multipliers that keep the purchase step a probability: purchase × each multiplier ≤ 1",
                );
            }
            // The headline is a ratio of two windows' conversion: each needs purchases.
            let min_conversion_week = t.weekly_conversion.iter().copied().fold(f64::INFINITY, f64::min);
            let conversion: f64 = self.funnel.steps().iter().product::<f64>() * min_conversion_week;
            if conversion < MIN_CONVERSION {
                // Point at the smallest step, the likeliest typo.
                let (smallest, _) = Stage::ALL
                    .iter()
                    .zip(self.funnel.steps())
                    .min_by(|x, y| x.1.total_cmp(&y.1))
                    .expect("four steps");
                bad(
                    loc.key(Some(("funnel", None)), smallest.name()),
                    "funnel",
                    format!(
                        "view × cart × checkout × purchase × the lowest weekly_conversion = {conversion:.3e}"
                    ),
                    &format!(
                        "a conversion of at least {MIN_CONVERSION} (0.01%), so each window has purchases to compare"
                    ),
                );
            } else if period_ok && growth_ok && t.sessions_per_day.is_finite() {
                let min_week = t.weekly.iter().copied().fold(f64::INFINITY, f64::min);
                let window = f64::from(p.baseline_days.min(p.current_days));
                let expected = t.sessions_per_day * window * min_week * growth.min(1.0) * conversion;
                if expected < MIN_WINDOW_PURCHASES {
                    bad(
                        loc.key(traffic, "sessions_per_day"),
                        "traffic.sessions_per_day",
                        format!(
                            "{} (about {expected:.1} purchases in the smaller window)",
                            t.sessions_per_day
                        ),
                        &format!(
                            "a volume that gives each window at least {MIN_WINDOW_PURCHASES:.0} expected purchases at conversion {conversion:.3e}: sessions_per_day ≥ {needed:.0} (with `--sessions`, at least {total:.0})",
                            needed = (MIN_WINDOW_PURCHASES / (expected / t.sessions_per_day)).ceil(),
                            total = (MIN_WINDOW_PURCHASES / (expected / t.sessions_per_day)).ceil()
                                * f64::from(p.days),
                        ),
                    );
                }
            }
        }
        for (key, median_key, median, sigma, max) in [
            ("order_value", "median", self.order_value.median, self.order_value.sigma, MAX_ORDER_VALUE),
            ("page_load", "median_ms", self.page_load.median_ms, self.page_load.sigma, MAX_PAGE_LOAD_MS),
        ] {
            let median_ok = median > 0.0 && median <= max;
            if !(median_ok && (0.0..=3.0).contains(&sigma)) {
                bad(
                    loc.key(Some((key, None)), if median_ok { "sigma" } else { median_key }),
                    key,
                    format!("median {median}, sigma {sigma}"),
                    &format!("median in (0, {max}] and sigma in [0, 3]"),
                );
            }
        }
        // dimensions
        for (dim, shares) in self.dimensions.shares() {
            let line = loc.key(Some(("dimensions", None)), dim);
            let key = format!("dimensions.{dim}");
            if shares.is_empty() {
                bad(line, &key, "{}".into(), "at least one value with a share");
                continue;
            }
            if shares.len() > MAX_VALUES {
                bad(line, &key, format!("{} values", shares.len()), &format!("at most {MAX_VALUES} values"));
            }
            if let Some(empty) = shares.keys().find(|v| v.trim().is_empty() || v.contains(['=', ',', '|'])) {
                bad(line, &key, format!("value {empty:?}"), "non-empty names without '=', ',' or '|'");
            }
            for (value, share) in shares {
                if !(share.is_finite() && (0.0..=1.0).contains(share)) {
                    bad(line, &key, format!("{value} = {share}"), "shares in [0, 1]");
                }
            }
            let sum: f64 = shares.values().sum();
            if (sum - 1.0).abs() > 1e-6 {
                bad(line, &key, format!("shares summing to {sum:.6}"), "shares that sum to 1");
            }
        }
        for platform in PLATFORMS {
            let offered =
                self.dimensions.payment_method.iter().any(|(m, w)| *w > 0.0 && payment_offered(m, platform));
            if !offered && !self.dimensions.payment_method.is_empty() {
                bad(
                    loc.key(Some(("dimensions", None)), "payment_method"),
                    "dimensions.payment_method",
                    format!("no method with a share that {platform} offers"),
                    "at least one method per platform (apple_pay is offered on iOS only, google_pay on Android only)",
                );
            }
        }
        let platforms: Vec<&String> = self.dimensions.platform.keys().collect();
        if platforms.len() != 3 || !PLATFORMS.iter().all(|p| self.dimensions.platform.contains_key(*p)) {
            bad(
                loc.key(Some(("dimensions", None)), "platform"),
                "dimensions.platform",
                format!("{platforms:?}"),
                "exactly ios, android and web",
            );
        }
        // rollouts
        // Days are offsets from the current window's first day, compared as integers so an
        // offset like 2147483648 is reported rather than overflowing a date.
        let (first_day, last_day, range_text) = if period_ok {
            let (_, current) = self.windows();
            let (first, last) =
                ((self.period.start - current.from).num_days(), (self.end() - current.from).num_days());
            let text = format!(
                "offsets from the current window's first day ({}) that stay inside the period {}..{}: {first}..{last}",
                current.from,
                self.period.start,
                self.end(),
            );
            (first, last, text)
        } else {
            // Without a valid period (reported above) no day can be placed.
            (i64::MIN, i64::MAX, String::new())
        };
        let day_ok = |offset: i64| (first_day..=last_day).contains(&offset);
        for (table, count, max) in [
            ("effect", self.effects.len(), MAX_EFFECTS),
            ("decoy", self.decoys.len(), MAX_DECOYS),
            ("context", self.context.len(), MAX_CONTEXT),
        ] {
            if count > max {
                bad(
                    loc.header(table, Some(max)),
                    table,
                    format!("{count} [[{table}]] tables"),
                    &format!("at most {max} (each one is checked for every simulated session)"),
                );
            }
        }
        for (i, r) in self.rollouts.iter().enumerate() {
            let here = Some(("rollout", Some(i)));
            if r.dimension != "app_version" && r.dimension != "os_version" {
                bad(
                    loc.key(here, "dimension"),
                    &format!("rollout[{i}].dimension"),
                    format!("{:?}", r.dimension),
                    "\"app_version\" or \"os_version\"",
                );
            }
            if r.platform != "ios" && r.platform != "android" {
                bad(
                    loc.key(here, "platform"),
                    &format!("rollout[{i}].platform"),
                    format!("{:?}", r.platform),
                    "\"ios\" or \"android\"",
                );
            }
            if !(r.max_share > 0.0 && r.max_share <= 1.0) {
                bad(
                    loc.key(here, "max_share"),
                    &format!("rollout[{i}].max_share"),
                    r.max_share.to_string(),
                    "a share in (0, 1]",
                );
            }
            if !(r.adoption_days > 0.0 && r.adoption_days <= f64::from(MAX_DAYS)) {
                bad(
                    loc.key(here, "adoption_days"),
                    &format!("rollout[{i}].adoption_days"),
                    r.adoption_days.to_string(),
                    &format!("a number of days in (0, {MAX_DAYS}]"),
                );
            }
            if !day_ok(r.start_day) {
                bad(
                    loc.key(here, "start_day"),
                    &format!("rollout[{i}].start_day"),
                    r.start_day.to_string(),
                    &range_text,
                );
            }
            if r.old == r.new {
                bad(
                    loc.key(here, "new"),
                    &format!("rollout[{i}].new"),
                    format!("{:?}", r.new),
                    "a version different from `old`",
                );
            }
        }
        for platform in ["ios", "android"] {
            for dim in ["app_version", "os_version"] {
                let n = self.rollouts.iter().filter(|r| r.platform == platform && r.dimension == dim).count();
                if n != 1 {
                    bad(
                        loc.header("rollout", None),
                        "rollout",
                        format!("{n} {dim} rollouts for {platform}"),
                        "exactly one app_version and one os_version rollout per app platform",
                    );
                }
            }
        }
        let values = self.dimension_values();
        let check_target =
            |text: &str, line: Option<usize>, key: &str, out: &mut Vec<Problem>| match parse_terms(text) {
                Err(message) => {
                    out.push(Problem { line, key: key.into(), value: format!("{text:?}"), allowed: message })
                }
                Ok(terms) => {
                    for (dim, value) in terms {
                        match values.get(dim.as_str()) {
                            None => out.push(Problem {
                                line,
                                key: key.into(),
                                value: format!("dimension {dim:?}"),
                                allowed: DIMENSIONS.join(", "),
                            }),
                            Some(known) if !known.contains(&value) => out.push(Problem {
                                line,
                                key: key.into(),
                                value: format!("{dim}={value}"),
                                allowed: format!("{dim} values: {}", known.join(", ")),
                            }),
                            Some(_) => {}
                        }
                    }
                }
            };
        for (i, e) in self.effects.iter().enumerate() {
            let here = Some(("effect", Some(i)));
            check_target(&e.target, loc.key(here, "target"), &format!("effect[{i}].target"), &mut out);
            if !Stage::ALL.contains(&e.step) {
                out.push(Problem {
                    line: loc.key(here, "step"),
                    key: format!("effect[{i}].step"),
                    value: format!("{:?}", e.step.name()),
                    allowed: format!(
                        "a step of the shop's funnel: {}",
                        Stage::ALL.map(|s| s.name()).join(", ")
                    ),
                });
            }
            if !(e.multiplier.is_finite() && e.multiplier > 0.0 && e.multiplier <= 5.0) {
                out.push(Problem {
                    line: loc.key(here, "multiplier"),
                    key: format!("effect[{i}].multiplier"),
                    value: e.multiplier.to_string(),
                    allowed: "a multiplier in (0, 5]".into(),
                });
            }
        }
        if self.product != "shop" {
            out.push(Problem {
                line: loc.key(None, "product"),
                key: "product".into(),
                value: format!("{:?}", self.product),
                allowed: "\"shop\" for a scenario with [funnel], [dimensions], [order_value] and [page_load] (other products' scenarios use their product's format)".into(),
            });
        }
        if self.causes.is_empty() || self.causes.len() > MAX_CAUSES {
            out.push(Problem {
                line: loc.header("cause", None),
                key: "cause".into(),
                value: format!("{} [[cause]] tables", self.causes.len()),
                allowed: format!("1 to {MAX_CAUSES} [[cause]] tables (add look-alikes as [[decoy]])"),
            });
        }
        if self.causes.len() > 1 && self.causes.iter().any(|c| c.family == Family::Noise) {
            out.push(Problem {
                line: loc.header("cause", None),
                key: "cause".into(),
                value: "noise beside another cause".into(),
                allowed: "noise alone (it means nothing happened)".into(),
            });
        }
        for (table, causes) in [("cause", &self.causes), ("decoy", &self.decoys)] {
            for (i, c) in causes.iter().enumerate() {
                let here = Some((table, Some(i)));
                let key = |k: &str| format!("{table}[{i}].{k}");
                if !family::is_known(c.family) {
                    out.push(Problem {
                        line: loc.key(here, "family"),
                        key: key("family"),
                        value: format!("{:?}", c.family.name()),
                        allowed: format!(
                            "a family of the catalogue ({}) or one this file defines as [family.NAME]",
                            Family::names().join(", ")
                        ),
                    });
                    continue;
                }
                if !c.family.belongs_to(&self.product) {
                    out.push(Problem {
                        line: loc.key(here, "family"),
                        key: key("family"),
                        value: format!("{:?}", c.family.name()),
                        allowed: format!("a family of product {:?}", self.product),
                    });
                }
                if let Some(term) = c.family.mechanisms().iter().find(|t| {
                    matches!(t.mechanism, family::Mechanism::Timezone | family::Mechanism::Attribution)
                }) {
                    out.push(Problem {
                        line: loc.key(here, "family"),
                        key: key("family"),
                        value: format!("{} (mechanism {})", c.family, term.mechanism.name()),
                        allowed: "mechanisms the shop's generator runs: step_rate, traffic, return_rate, mix, logging_loss, duplication, definition, late_data, calendar, latency, price".into(),
                    });
                }
                if table == "decoy" && c.family == Family::Noise {
                    out.push(Problem {
                        line: loc.key(here, "family"),
                        key: key("family"),
                        value: "\"noise\"".into(),
                        allowed: "a real cause (noise is not a decoy)".into(),
                    });
                }
                for target in c.targets() {
                    let line = loc.key(here, if c.target.is_some() { "target" } else { "target_choices" });
                    check_target(target, line, &key("target"), &mut out);
                }
                if c.family.has_segment() && c.targets().is_empty() {
                    out.push(Problem {
                        line: loc.key(here, "family"),
                        key: key("target"),
                        value: "nothing".into(),
                        allowed: format!("a `target` or `target_choices`: {} needs a segment", c.family),
                    });
                }
                if c.target.is_some() && !c.target_choices.is_empty() {
                    out.push(Problem {
                        line: loc.key(here, "target_choices"),
                        key: key("target_choices"),
                        value: "both target and target_choices".into(),
                        allowed: "one of them".into(),
                    });
                }
                if let Some(stage) = c.stage
                    && !Stage::ALL.contains(&stage)
                {
                    out.push(Problem {
                        line: loc.key(here, "stage"),
                        key: key("stage"),
                        value: format!("{:?}", stage.name()),
                        allowed: format!(
                            "a step of the shop's funnel: {}",
                            Stage::ALL.map(|s| s.name()).join(", ")
                        ),
                    });
                }
                let needs_stage = c.family.def().needs_stage;
                if needs_stage && c.stage.is_none() {
                    out.push(Problem {
                        line: loc.key(here, "family"),
                        key: key("stage"),
                        value: "nothing".into(),
                        allowed: format!(
                            "a stage ({}) for {}",
                            Stage::ALL.map(|s| s.name()).join(", "),
                            c.family
                        ),
                    });
                }
                if c.start_day[0] > c.start_day[1] || !day_ok(c.start_day[0]) || !day_ok(c.start_day[1]) {
                    out.push(Problem {
                        line: loc.key(here, "start_day"),
                        key: key("start_day"),
                        value: format!("{:?}", c.start_day),
                        allowed: format!("[earliest, latest] {range_text}"),
                    });
                }
                // The seed draws the size from [low, high], so even noise needs an ordered range.
                let low_ok = if c.family == Family::Noise { c.size[0] >= 0.0 } else { c.size[0] > 0.0 };
                if !(low_ok && c.size[0] <= c.size[1] && c.size[1] <= 1.0) {
                    out.push(Problem {
                        line: loc.key(here, "size"),
                        key: key("size"),
                        value: format!("{:?}", c.size),
                        allowed: if c.family == Family::Noise {
                            "[low, high] with 0 ≤ low ≤ high ≤ 1".into()
                        } else {
                            "[low, high] with 0 < low ≤ high ≤ 1".into()
                        },
                    });
                }
                if c.target_choices.len() > MAX_TARGET_CHOICES {
                    out.push(Problem {
                        line: loc.key(here, "target_choices"),
                        key: key("target_choices"),
                        value: format!("{} choices", c.target_choices.len()),
                        allowed: format!("at most {MAX_TARGET_CHOICES}"),
                    });
                }
                if let Some(hours) = c.duration_hours
                    && !(hours[0] > 0.0 && hours[0] <= hours[1] && hours[1] <= 24.0 * 14.0)
                {
                    out.push(Problem {
                        line: loc.key(here, "duration_hours"),
                        key: key("duration_hours"),
                        value: format!("{hours:?}"),
                        allowed: "[low, high] hours with 0 < low ≤ high ≤ 336".into(),
                    });
                }
                if let Some(hour) = c.start_hour
                    && hour > 23
                {
                    out.push(Problem {
                        line: loc.key(here, "start_hour"),
                        key: key("start_hour"),
                        value: hour.to_string(),
                        allowed: "an hour 0–23".into(),
                    });
                }
                if !(c.ramp_days >= 0.0 && c.ramp_days <= f64::from(MAX_DAYS)) {
                    out.push(Problem {
                        line: loc.key(here, "ramp_days"),
                        key: key("ramp_days"),
                        value: c.ramp_days.to_string(),
                        allowed: format!("days in [0, {MAX_DAYS}]"),
                    });
                }
            }
        }
        for (i, e) in self.context.iter().enumerate() {
            let here = Some(("context", Some(i)));
            if !["releases", "marketing", "config_changes"].contains(&e.table.as_str()) {
                out.push(Problem {
                    line: loc.key(here, "table"),
                    key: format!("context[{i}].table"),
                    value: format!("{:?}", e.table),
                    allowed: "\"releases\", \"marketing\" or \"config_changes\"".into(),
                });
            }
            if !day_ok(e.day) {
                out.push(Problem {
                    line: loc.key(here, "day"),
                    key: format!("context[{i}].day"),
                    value: e.day.to_string(),
                    allowed: range_text.clone(),
                });
            }
        }
        out
    }

    /// Resolves every randomized parameter with `rng` into a concrete case.
    pub fn draw(&self, rng: &mut impl Rng, seed: u64) -> Case {
        let mut scenario = self.clone();
        if self.period.calendar_weeks > 0 {
            // Its own stream, so the calendar depends on the seed alone (not on the redraw
            // attempt) and the other draws are those of a fixed calendar.
            use rand::SeedableRng;
            let mut calendar = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xCA1E_DA25_0000_0001);
            let weeks = calendar.random_range(0..=self.period.calendar_weeks);
            scenario.period.start += Duration::weeks(i64::from(weeks));
            scenario.period.calendar_weeks = 0;
        }
        let (baseline, current) = scenario.windows();
        let resolve = |spec: &CauseSpec, rng: &mut dyn rand::RngCore, decoy: bool| {
            let targets = spec.targets();
            let target_text =
                if targets.is_empty() { "" } else { targets[rng.random_range(0..targets.len())] };
            let target = parse_terms(target_text).expect("validated at parse time");
            let day = rng.random_range(spec.start_day[0]..=spec.start_day[1]);
            let hour = match (spec.start_hour, spec.duration_hours) {
                (Some(h), _) => h,
                (None, Some(_)) => rng.random_range(6..=20),
                (None, None) => 0,
            };
            let start = (current.from + Duration::days(day)).and_time(NaiveTime::MIN)
                + Duration::hours(i64::from(hour));
            let size = if spec.size[0] == spec.size[1] {
                spec.size[0]
            } else {
                rng.random_range(spec.size[0]..=spec.size[1])
            };
            let end = spec.duration_hours.map(|h| {
                let hours = if h[0] == h[1] { h[0] } else { rng.random_range(h[0]..=h[1]) };
                start + Duration::minutes((hours * 60.0).round() as i64)
            });
            Cause {
                family: spec.family,
                target,
                stage: spec.stage,
                start,
                end,
                size,
                ramp_days: spec.ramp_days,
                note: spec.note.clone(),
                decoy,
            }
        };
        // The first cause is drawn before the decoys, as when a case held one cause, so
        // one-cause scenarios give the same data as before.
        let first = resolve(&self.causes[0], rng, false);
        let decoys = self.decoys.iter().map(|d| resolve(d, rng, true)).collect::<Vec<_>>();
        let mut causes = vec![first];
        causes.extend(self.causes[1..].iter().map(|c| resolve(c, rng, false)));
        // A version-bound cause ships with its version: the rollout starts when the cause does.
        let mut rollouts = self.rollouts.clone();
        for c in causes.iter().chain(&decoys) {
            for (dim, value) in &c.target {
                if let Some(r) = rollouts.iter_mut().find(|r| &r.dimension == dim && &r.new == value) {
                    r.start_day = (c.start.date() - current.from).num_days();
                }
            }
        }
        Case { scenario, seed, baseline, current, causes, decoys, rollouts }
    }
}

impl CauseSpec {
    pub fn targets(&self) -> Vec<&str> {
        match &self.target {
            Some(t) => vec![t.as_str()],
            None => self.target_choices.iter().map(String::as_str).collect(),
        }
    }
}

/// Parses `dim=value,dim2=value2` into pairs (no negation or alternatives: a target is a segment).
pub fn parse_terms(text: &str) -> Result<Vec<(String, String)>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|term| {
            let (dim, value) = term.split_once('=').ok_or_else(|| {
                format!("`dim=value` terms separated by commas; `{}` has no '='", term.trim())
            })?;
            let (dim, value) = (dim.trim(), value.trim());
            if dim.is_empty() || value.is_empty() {
                return Err(format!("`dim=value` terms; `{}` is missing a side", term.trim()));
            }
            Ok((dim.to_string(), value.to_string()))
        })
        .collect()
}

/// A scenario with every random choice made: what the generator builds.
#[derive(Debug, Clone)]
pub struct Case {
    pub scenario: Scenario,
    pub seed: u64,
    pub baseline: Window,
    pub current: Window,
    /// The true causes, in the scenario's order (one for most cases).
    pub causes: Vec<Cause>,
    pub decoys: Vec<Cause>,
    /// Rollouts with release days tied to the causes that ship with them.
    pub rollouts: Vec<Rollout>,
}

/// A resolved cause: the truth the learner must find (or a decoy beside it).
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub family: Family,
    pub target: Vec<(String, String)>,
    pub stage: Option<Stage>,
    pub start: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
    pub size: f64,
    pub ramp_days: f64,
    pub note: Option<String>,
    pub decoy: bool,
}

impl Cause {
    /// The strength of the cause at `t` (0 before the start or after the end), ramping linearly.
    pub fn strength(&self, t: NaiveDateTime) -> f64 {
        if t < self.start || self.end.is_some_and(|end| t >= end) {
            return 0.0;
        }
        if self.ramp_days <= 0.0 {
            return self.size;
        }
        let days = (t - self.start).num_seconds() as f64 / 86_400.0;
        self.size * (days / self.ramp_days).min(1.0)
    }

    pub fn target_text(&self) -> String {
        self.target.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(",")
    }
}

impl Case {
    pub fn data_start(&self) -> NaiveDate {
        self.scenario.period.start
    }

    pub fn data_end(&self) -> NaiveDate {
        self.scenario.end()
    }

    pub fn days(&self) -> u32 {
        self.scenario.period.days
    }

    /// Weekday index, Monday = 0.
    pub fn weekday(date: NaiveDate) -> usize {
        date.weekday().num_days_from_monday() as usize
    }
}
