//! Products as data: what a row is, who the users are and how often they return, the
//! ordered funnel steps, the dimensions (with conditional ones and version rollouts), the
//! value and latency measures, the second sources of truth and the metrics, all read from
//! `products/*.toml` (embedded at build time) or a user's own file. The metric registry
//! ([`crate::query::metric`]) is built from a product's `[[metric]]` tables, and the generic
//! generator ([`crate::generate::product_engine`]) simulates any product but the shop.

pub mod registry;
pub mod scenario;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::scenario::locate::Locator;
use crate::scenario::{Problem, parse_terms};

/// (file name without `.toml`, file text) of every embedded product.
pub const EMBEDDED: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/products.rs"));

/// The product a drill or scenario is about when it names none.
pub const DEFAULT: &str = "shop";

/// What one row of the main table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// One row per visit (a user may have several a day).
    Session,
    /// One row per active user per day.
    UserDay,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Session => "session",
            Unit::UserDay => "user_day",
        }
    }
}

/// A product, as its file describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    pub title: String,
    pub unit: Unit,
    /// The name of the row-count measure (`sessions`, `user_days`).
    pub rows: String,
    /// Rows per day at the default volume.
    pub rows_per_day: f64,
    pub period: Period,
    pub users: Users,
    /// Volume by weekday, Monday first (1.0 = average).
    #[serde(default = "flat_week")]
    pub weekly: [f64; 7],
    /// Funnel steps in order; each is reached only from the one before.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    #[serde(rename = "dimension", default)]
    pub dimensions: Vec<Dimension>,
    #[serde(rename = "rollout", default)]
    pub rollouts: Vec<Rollout>,
    #[serde(rename = "effect", default)]
    pub effects: Vec<Effect>,
    #[serde(rename = "measure", default)]
    pub measures: Vec<ValueMeasure>,
    #[serde(default)]
    pub latency: Option<Latency>,
    #[serde(rename = "source", default)]
    pub sources: Vec<Source>,
    #[serde(rename = "metric")]
    pub metrics: Vec<MetricDef>,
}

fn flat_week() -> [f64; 7] {
    [1.0; 7]
}

/// Days of data and the two windows at its end.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub days: u32,
    pub baseline_days: u32,
    pub current_days: u32,
}

/// Who uses the product and how often they come back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// Users count as `new` for this many days after their first (day 0 included).
    #[serde(default = "seven")]
    pub new_days: u32,
    /// Daily probability of coming back: `new` while new, `returning` (the mean of a
    /// spread across users) afterwards.
    #[serde(rename = "return")]
    pub return_probability: ReturnProbability,
    /// Daily probability that a user leaves for good.
    pub churn_per_day: f64,
    /// Mean rows per active user-day (1 for a user-day product).
    #[serde(default = "one")]
    pub sessions_per_active_day: f64,
    /// Retention horizons in days: each N adds `cohort_dN` and `retained_dN` flags.
    #[serde(default)]
    pub retention: Vec<u32>,
}

fn seven() -> u32 {
    7
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnProbability {
    pub new: f64,
    pub returning: f64,
}

/// One funnel step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's name (`--stage`, `{name}_rate`).
    pub name: String,
    /// The boolean column that flags rows reaching it.
    pub column: String,
    /// Probability of reaching it from the step before (the first: from a row).
    pub base: f64,
}

/// Whether a dimension's value is fixed per user or drawn per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    #[default]
    User,
    Row,
}

/// A categorical column with values and shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub name: String,
    /// Values and their shares (normalised). Empty for `derived` and rollout dimensions.
    #[serde(default)]
    pub values: BTreeMap<String, f64>,
    /// Only rows matching this segment have a value (`platform=web`); others are null.
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub per: Per,
    /// `user_type` (new / returning, from the user's age) or `rollout` (versions).
    #[serde(default)]
    pub derived: Option<Derived>,
    /// Other shares where a segment matches (the first matching case wins).
    #[serde(default)]
    pub cases: Vec<DimensionCase>,
    /// Only rows that reach this step have a value (a payment method at checkout).
    #[serde(default)]
    pub at: Option<String>,
}

/// Shares of a dimension's values within one segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionCase {
    pub when: String,
    pub values: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derived {
    UserType,
    Rollout,
}

/// A version rollout on one platform: users move from `old` to `new` over `adoption_days`
/// from `start_day` (counted from the current window's first day), up to `max_share`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    pub dimension: String,
    pub platform: String,
    pub old: String,
    pub new: String,
    pub start_day: i64,
    pub adoption_days: f64,
    pub max_share: f64,
}

/// A steady difference of one segment's step rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    pub target: String,
    pub step: String,
    pub multiplier: f64,
}

/// A value drawn on rows that reach a step (order value, minutes watched, seat price).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMeasure {
    pub name: String,
    /// The step whose rows carry a value (others hold 0).
    pub at: String,
    pub lognormal: LogNormalSpec,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogNormalSpec {
    pub median: f64,
    pub sigma: f64,
}

/// The per-row load time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub column: String,
    pub lognormal: LogNormalSpec,
    /// Relative fall of every step's rate per +100% load time.
    #[serde(default = "elasticity")]
    pub elasticity: f64,
}

fn elasticity() -> f64 {
    0.25
}

/// A second source of truth: one row per row that truly reached a step, written by the
/// backend (client-side loss does not reach it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub name: String,
    pub from: String,
    /// Dimensions the source table carries.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// A value measure copied as `amount`.
    #[serde(default)]
    pub amount: Option<String>,
    pub about: String,
}

/// What kind of statistic a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Count,
    Rate,
    Mean,
    Sum,
    Percentile,
    ActiveUsers,
}

/// A metric, defined once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    pub name: String,
    pub kind: MetricKind,
    /// A measure: the rows measure, `users`, a step column, a value measure or the latency
    /// column (summed), or a source name (its rows).
    #[serde(default)]
    pub numerator: Option<String>,
    #[serde(default)]
    pub denominator: Option<String>,
    /// `percentile`: the column and the percentile (0–100).
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub percentile: Option<f64>,
    /// `active_users`: distinct users over the trailing this many days.
    #[serde(default)]
    pub days: Option<u16>,
    #[serde(default)]
    pub unit: Option<String>,
    pub description: String,
}

/// A product file that cannot be used, every problem with its line.
#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    #[error("cannot read product file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{}", render(origin, problems))]
    Invalid { origin: String, problems: Vec<Problem> },
    #[error(
        "unknown product '{name}'{suggestion}; products: {known} (or pass a path to a product .toml file)"
    )]
    Unknown { name: String, suggestion: String, known: String },
}

fn render(origin: &str, problems: &[Problem]) -> String {
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

impl Product {
    /// Parses and validates product text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Product, ProductError> {
        let product: Product = toml::from_str(text).map_err(|err| {
            let place = match err.span() {
                Some(span) if span.start < text.len() => {
                    format!("{origin}:{}", text[..span.start].matches('\n').count() + 1)
                }
                _ => origin.to_string(),
            };
            ProductError::Syntax { origin: place, message: err.message().trim_end().to_string() }
        })?;
        let problems = product.problems(text);
        if problems.is_empty() {
            Ok(product)
        } else {
            Err(ProductError::Invalid { origin: origin.to_string(), problems })
        }
    }

    /// An embedded product by name, or a product file by path.
    pub fn load(name_or_path: &str) -> Result<&'static Product, ProductError> {
        static LOADED: OnceLock<Mutex<BTreeMap<String, &'static Product>>> = OnceLock::new();
        let cache = LOADED.get_or_init(|| Mutex::new(BTreeMap::new()));
        if let Some(known) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(name_or_path) {
            return Ok(known);
        }
        let path = Path::new(name_or_path);
        let product = if name_or_path.ends_with(".toml") || (name_or_path.contains('/') && path.exists()) {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ProductError::Read { path: name_or_path.to_string(), source })?;
            Product::parse(&text, name_or_path)?
        } else {
            match EMBEDDED.iter().find(|(name, _)| *name == name_or_path) {
                Some((name, text)) => Product::parse(text, &format!("products/{name}.toml"))?,
                None => {
                    let names: Vec<&str> =
                        EMBEDDED.iter().map(|(n, _)| *n).filter(|n| *n != "families").collect();
                    return Err(ProductError::Unknown {
                        name: name_or_path.to_string(),
                        suggestion: crate::suggest::nearest(name_or_path, &names)
                            .map(|n| format!(" (did you mean '{n}'?)"))
                            .unwrap_or_default(),
                        known: names.join(", "),
                    });
                }
            }
        };
        let leaked: &'static Product = Box::leak(Box::new(product));
        cache.lock().unwrap_or_else(|p| p.into_inner()).insert(name_or_path.to_string(), leaked);
        Ok(leaked)
    }

    /// The shop, as `products/shop.toml` describes it.
    pub fn shop() -> &'static Product {
        Product::load(DEFAULT).expect("products/shop.toml is embedded and checked by tests")
    }

    /// Every embedded product.
    pub fn all() -> Result<Vec<&'static Product>, ProductError> {
        EMBEDDED.iter().map(|(name, _)| *name).filter(|n| *n != "families").map(Product::load).collect()
    }

    pub fn is_shop(&self) -> bool {
        self.name == DEFAULT
    }

    pub fn step(&self, name: &str) -> Option<(usize, &Step)> {
        self.steps.iter().enumerate().find(|(_, s)| s.name == name)
    }

    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }

    /// Dimension names in listing order.
    pub fn dimension_names(&self) -> Vec<String> {
        self.dimensions.iter().map(|d| d.name.clone()).collect()
    }

    /// Every value a dimension can take, in dictionary order.
    pub fn values_of(&self, dim: &Dimension) -> Vec<String> {
        match dim.derived {
            Some(Derived::UserType) => vec!["new".into(), "returning".into()],
            Some(Derived::Rollout) => {
                let mut values: Vec<String> = Vec::new();
                for r in self.rollouts.iter().filter(|r| r.dimension == dim.name) {
                    for v in [&r.old, &r.new] {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
                values
            }
            None => {
                let mut values: Vec<String> = dim.values.keys().cloned().collect();
                for case in &dim.cases {
                    for v in case.values.keys() {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
                values.sort();
                values
            }
        }
    }

    /// The `retained_dN` / `cohort_dN` flag columns, in order.
    pub fn retention_columns(&self) -> Vec<(String, String)> {
        self.users.retention.iter().map(|n| (format!("cohort_d{n}"), format!("retained_d{n}"))).collect()
    }

    fn problems(&self, text: &str) -> Vec<Problem> {
        let loc = Locator::new(text);
        let mut out = Vec::new();
        let mut bad = |line: Option<usize>, key: &str, value: String, allowed: &str| {
            out.push(Problem { line, key: key.to_string(), value, allowed: allowed.to_string() })
        };
        let is_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !is_name(&self.name) {
            bad(
                loc.key(None, "name"),
                "name",
                format!("{:?}", self.name),
                "lower-case letters, digits and '_'",
            );
        }
        if !(1.0..=1e8).contains(&self.rows_per_day) {
            bad(
                loc.key(None, "rows_per_day"),
                "rows_per_day",
                self.rows_per_day.to_string(),
                "1 to 100000000",
            );
        }
        let p = &self.period;
        if p.baseline_days == 0
            || p.current_days == 0
            || p.baseline_days + p.current_days > p.days
            || p.days > 366
        {
            bad(
                loc.key(Some(("period", None)), "days"),
                "period",
                format!(
                    "days = {}, baseline_days = {}, current_days = {}",
                    p.days, p.baseline_days, p.current_days
                ),
                "windows of at least a day that fit in days (at most 366)",
            );
        }
        let u = &self.users;
        for (key, value) in [
            ("return.new", u.return_probability.new),
            ("return.returning", u.return_probability.returning),
            ("churn_per_day", u.churn_per_day),
        ] {
            if !(0.0..=1.0).contains(&value) || (key == "churn_per_day" && value <= 0.0) {
                bad(
                    loc.key(Some(("users", None)), key.split('.').next().unwrap_or(key)),
                    &format!("users.{key}"),
                    value.to_string(),
                    "a probability between 0 and 1 (churn above 0)",
                );
            }
        }
        if !(1.0..=50.0).contains(&u.sessions_per_active_day)
            || (self.unit == Unit::UserDay && u.sessions_per_active_day != 1.0)
        {
            bad(
                loc.key(Some(("users", None)), "sessions_per_active_day"),
                "users.sessions_per_active_day",
                u.sessions_per_active_day.to_string(),
                "1 to 50 (exactly 1 when unit = \"user_day\")",
            );
        }
        for n in &u.retention {
            if !(1..=60).contains(n) {
                bad(
                    loc.key(Some(("users", None)), "retention"),
                    "users.retention",
                    n.to_string(),
                    "horizons of 1 to 60 days",
                );
            }
        }
        if self.steps.is_empty() {
            bad(None, "step", "none".into(), "at least one [[step]]");
        }
        let mut columns: Vec<&str> = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let at = loc.header("step", Some(i));
            if !is_name(&s.name) || self.steps[..i].iter().any(|o| o.name == s.name) {
                bad(
                    at,
                    "step.name",
                    format!("{:?}", s.name),
                    "a new name of lower-case letters, digits and '_'",
                );
            }
            if !is_name(&s.column) || columns.contains(&s.column.as_str()) {
                bad(
                    at,
                    "step.column",
                    format!("{:?}", s.column),
                    "a new column name of lower-case letters, digits and '_'",
                );
            }
            columns.push(&s.column);
            if !(s.base > 0.0 && s.base <= 1.0) {
                bad(
                    loc.key(Some(("step", Some(i))), "base"),
                    "step.base",
                    s.base.to_string(),
                    "a probability above 0 and at most 1",
                );
            }
        }
        let dims: Vec<&str> = self.dimensions.iter().map(|d| d.name.as_str()).collect();
        for (i, d) in self.dimensions.iter().enumerate() {
            let at = loc.header("dimension", Some(i));
            if !is_name(&d.name) || dims[..i].contains(&d.name.as_str()) || columns.contains(&d.name.as_str())
            {
                bad(
                    at,
                    "dimension.name",
                    format!("{:?}", d.name),
                    "a new column name of lower-case letters, digits and '_'",
                );
            }
            match d.derived {
                None => {
                    let total: f64 = d.values.values().sum();
                    if d.values.is_empty()
                        || d.values.len() > 100
                        || d.values.values().any(|v| v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
                        || total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
                    {
                        bad(
                            loc.key(Some(("dimension", Some(i))), "values"),
                            "dimension.values",
                            format!("{:?}", d.values),
                            "1 to 100 values with positive shares",
                        );
                    }
                }
                Some(Derived::Rollout) => {
                    if !self.rollouts.iter().any(|r| r.dimension == d.name) {
                        bad(
                            at,
                            "dimension.derived",
                            "\"rollout\"".into(),
                            "a [[rollout]] naming this dimension",
                        );
                    }
                }
                Some(Derived::UserType) => {}
            }
            if let Some(at) = &d.at
                && self.step(at).is_none()
            {
                bad(
                    loc.key(Some(("dimension", Some(i))), "at"),
                    "dimension.at",
                    format!("{at:?}"),
                    "a step name",
                );
            }
            for when in d.when.iter().chain(d.cases.iter().map(|c| &c.when)) {
                match parse_terms(when) {
                    Ok(terms)
                        if terms.iter().all(|(k, v)| {
                            self.dimension(k).is_some_and(|o| o.derived.is_none() && o.values.contains_key(v))
                                && dims[..i].contains(&k.as_str())
                        }) => {}
                    _ => bad(
                        loc.key(Some(("dimension", Some(i))), "when"),
                        "dimension.when",
                        format!("{when:?}"),
                        "dim=value terms on fixed dimensions listed before this one",
                    ),
                }
            }
        }
        for (i, r) in self.rollouts.iter().enumerate() {
            let ok_platform = self.dimension("platform").is_some_and(|p| p.values.contains_key(&r.platform));
            if !ok_platform
                || !self.dimension(&r.dimension).is_some_and(|d| d.derived == Some(Derived::Rollout))
            {
                bad(
                    loc.header("rollout", Some(i)),
                    "rollout",
                    format!("{} on {}", r.dimension, r.platform),
                    "a `derived = \"rollout\"` dimension and a value of `platform`",
                );
            }
            if r.adoption_days.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
                || !(0.0..=1.0).contains(&r.max_share)
            {
                bad(
                    loc.header("rollout", Some(i)),
                    "rollout.adoption_days",
                    format!("{} / {}", r.adoption_days, r.max_share),
                    "adoption_days above 0 and max_share between 0 and 1",
                );
            }
        }
        for (i, e) in self.effects.iter().enumerate() {
            if self.step(&e.step).is_none() {
                bad(
                    loc.key(Some(("effect", Some(i))), "step"),
                    "effect.step",
                    format!("{:?}", e.step),
                    &self.steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
                );
            }
            if self.segment_problem(&e.target).is_some() {
                bad(
                    loc.key(Some(("effect", Some(i))), "target"),
                    "effect.target",
                    format!("{:?}", e.target),
                    "dim=value terms of this product's dimensions",
                );
            }
            if !(e.multiplier > 0.0 && e.multiplier <= 10.0) {
                bad(
                    loc.key(Some(("effect", Some(i))), "multiplier"),
                    "effect.multiplier",
                    e.multiplier.to_string(),
                    "above 0, at most 10",
                );
            }
        }
        for (i, m) in self.measures.iter().enumerate() {
            if self.step(&m.at).is_none() {
                bad(
                    loc.key(Some(("measure", Some(i))), "at"),
                    "measure.at",
                    format!("{:?}", m.at),
                    "a step name",
                );
            }
            if !(m.lognormal.median > 0.0 && m.lognormal.sigma >= 0.0 && m.lognormal.sigma <= 3.0) {
                bad(
                    loc.key(Some(("measure", Some(i))), "lognormal"),
                    "measure.lognormal",
                    format!("{:?}", m.lognormal),
                    "median above 0, sigma 0 to 3",
                );
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if self.step(&s.from).is_none() {
                bad(
                    loc.key(Some(("source", Some(i))), "from"),
                    "source.from",
                    format!("{:?}", s.from),
                    "a step name",
                );
            }
            for d in &s.dimensions {
                if self.dimension(d).is_none() {
                    bad(
                        loc.key(Some(("source", Some(i))), "dimensions"),
                        "source.dimensions",
                        format!("{d:?}"),
                        &dims.join(", "),
                    );
                }
            }
            if let Some(a) = &s.amount
                && !self.measures.iter().any(|m| &m.name == a)
            {
                bad(
                    loc.key(Some(("source", Some(i))), "amount"),
                    "source.amount",
                    format!("{a:?}"),
                    "a [[measure]] name",
                );
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let at = loc.key(Some(("metric", Some(i))), "name");
            if !is_name(&m.name) || names.contains(&m.name.as_str()) {
                bad(
                    at,
                    "metric.name",
                    format!("{:?}", m.name),
                    "a new name of lower-case letters, digits and '_'",
                );
            }
            names.push(&m.name);
            if let Err(why) = registry::resolve(self, m) {
                bad(loc.header("metric", Some(i)), &format!("metric.{}", why.key), why.value, &why.allowed);
            }
        }
        if self.metrics.is_empty() {
            bad(None, "metric", "none".into(), "at least one [[metric]]");
        }
        out
    }

    /// Why `segment` is not a segment of this product, if it is not.
    pub fn segment_problem(&self, segment: &str) -> Option<String> {
        let terms = match parse_terms(segment) {
            Ok(terms) => terms,
            Err(why) => return Some(why),
        };
        for (dim, value) in terms {
            let Some(d) = self.dimension(&dim) else {
                return Some(format!(
                    "no dimension '{dim}'; dimensions: {}",
                    self.dimension_names().join(", ")
                ));
            };
            let values = self.values_of(d);
            if !values.contains(&value) {
                return Some(format!("'{dim}' has no value '{value}'; values: {}", values.join(", ")));
            }
        }
        None
    }

    /// The measure names a metric may use, for messages.
    pub fn measure_names(&self) -> Vec<String> {
        let mut out = vec![self.rows.clone(), "users".into()];
        out.extend(self.steps.iter().map(|s| s.column.clone()));
        out.extend(self.retention_columns().into_iter().flat_map(|(a, b)| [a, b]));
        out.extend(self.measures.iter().map(|m| m.name.clone()));
        out.extend(self.latency.iter().map(|l| l.column.clone()));
        out.extend(self.sources.iter().map(|s| s.name.clone()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_product_parses() {
        let all = Product::all().unwrap();
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        for expected in ["shop", "engagement_app", "saas"] {
            assert!(names.contains(&expected), "{names:?}");
        }
    }

    #[test]
    fn a_bad_key_is_located_with_what_is_allowed() {
        let (_, text) = EMBEDDED.iter().find(|(n, _)| *n == "engagement_app").unwrap();
        let broken = text.replacen("base = 0.93", "base = 1.7", 1);
        let err = Product::parse(&broken, "app.toml").unwrap_err().to_string();
        let line = broken.lines().position(|l| l.contains("base = 1.7")).unwrap() + 1;
        assert!(err.contains(&format!("app.toml:{line}: key `step.base` has bad value 1.7")), "{err}");
        assert!(err.contains("a probability above 0 and at most 1"), "{err}");

        let broken = text.replacen("numerator = \"engaged\"", "numerator = \"engagd\"", 1);
        let err = Product::parse(&broken, "app.toml").unwrap_err().to_string();
        assert!(err.contains("key `metric.numerator` has bad value \"engagd\""), "{err}");
        assert!(err.contains("feed_viewed"), "lists the measures: {err}");

        let err = Product::parse("name = \"x\"\ncolour = 1\n", "x.toml").unwrap_err().to_string();
        assert!(err.starts_with("x.toml:"), "{err}");
    }

    #[test]
    fn unknown_products_suggest_the_nearest() {
        let err = Product::load("engagment_app").unwrap_err().to_string();
        assert!(err.contains("did you mean 'engagement_app'"), "{err}");
    }
}
