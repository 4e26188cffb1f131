//! Drop scenarios of products other than the shop (`products/scenarios/*.toml`, embedded;
//! or a user's file): which product, which headline metric and range, and the causes and
//! decoys with their seeded ranges. Each cause names a family of the catalogue, whose
//! mechanisms say what it does to the data; drawing a scenario with a seed fixes every
//! choice (the calendar too: the period's first Monday comes from the seed).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime};
use rand::Rng;
use serde::Deserialize;

use super::{Product, ProductError};
use crate::brief::Window;
use crate::generate::product_engine::{Mechanism, ProductCase, ProductCause, Term};
use crate::scenario::family::{Family, FamilyDef, Mechanism as CatalogueMechanism};
use crate::scenario::locate::Locator;
use crate::scenario::{Difficulty, Problem, parse_terms};

/// (file name without `.toml`, file text) of every embedded product scenario.
pub const EMBEDDED: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/product_scenarios.rs"));

/// How a cause's strength unfolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Full strength from the start.
    #[default]
    Step,
    /// Linear over `ramp_days` (a rollout's adoption).
    Ramp,
    /// Full strength for `hours`, then gone.
    Outage,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CauseSpec {
    pub family: String,
    /// Segments to choose from (`dim=value,dim=value`); none: everyone.
    #[serde(default)]
    pub target_choices: Vec<String>,
    #[serde(default)]
    pub stage: Option<String>,
    /// Onset, in days from the current window's first day.
    #[serde(default = "onset")]
    pub start_day: [i64; 2],
    pub size: [f64; 2],
    #[serde(default)]
    pub shape: Shape,
    #[serde(default)]
    pub ramp_days: Option<[f64; 2]>,
    #[serde(default)]
    pub hours: Option<[f64; 2]>,
}

fn onset() -> [i64; 2] {
    [0, 2]
}

/// A product scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductScenario {
    pub name: String,
    pub product: String,
    #[serde(default = "drop_kind")]
    pub kind: String,
    pub title: String,
    pub difficulty: Difficulty,
    /// The headline metric (a name of the product's registry).
    pub metric: String,
    /// Range of the headline's relative change a case must fall in.
    pub headline: [f64; 2],
    #[serde(default)]
    pub notes: String,
    /// Rows per day (default: the product's).
    #[serde(default)]
    pub rows_per_day: Option<f64>,
    #[serde(rename = "cause")]
    pub causes: Vec<CauseSpec>,
    #[serde(rename = "decoy", default)]
    pub decoys: Vec<CauseSpec>,
}

fn drop_kind() -> String {
    "drop".into()
}

/// The catalogue's families of the products other than the shop. There is one catalogue
/// (`products/families.toml`, parsed and checked by `scenario::family`); this is its view
/// for the product generator.
pub fn families() -> BTreeMap<String, &'static FamilyDef> {
    Family::all()
        .into_iter()
        .filter(|f| f.def().products.iter().any(|p| p != super::DEFAULT))
        .map(|f| (f.name().to_string(), f.def()))
        .collect()
}

impl ProductScenario {
    pub fn parse(text: &str, origin: &str) -> Result<ProductScenario, ProductError> {
        let scenario: ProductScenario = toml::from_str(text).map_err(|err| {
            let place = match err.span() {
                Some(span) if span.start < text.len() => {
                    format!("{origin}:{}", text[..span.start].matches('\n').count() + 1)
                }
                _ => origin.to_string(),
            };
            ProductError::Syntax { origin: place, message: err.message().trim_end().to_string() }
        })?;
        let problems = scenario.problems(text);
        if problems.is_empty() {
            Ok(scenario)
        } else {
            Err(ProductError::Invalid { origin: origin.to_string(), problems })
        }
    }

    /// Every embedded product scenario.
    pub fn all() -> Result<Vec<ProductScenario>, ProductError> {
        EMBEDDED
            .iter()
            .map(|(name, text)| ProductScenario::parse(text, &format!("products/scenarios/{name}.toml")))
            .collect()
    }

    /// An embedded product scenario by name, or a file that declares a product other than
    /// the shop; `None` when `name_or_path` is neither (a shop scenario).
    pub fn find(name_or_path: &str) -> Option<Result<ProductScenario, ProductError>> {
        if let Some((name, text)) = EMBEDDED.iter().find(|(n, _)| *n == name_or_path) {
            return Some(ProductScenario::parse(text, &format!("products/scenarios/{name}.toml")));
        }
        let path = std::path::Path::new(name_or_path);
        if !(name_or_path.ends_with(".toml") && path.is_file()) {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        let product = text.parse::<toml::Table>().ok()?.get("product")?.as_str()?.to_string();
        (product != super::DEFAULT).then(|| ProductScenario::parse(&text, name_or_path))
    }

    pub fn product(&self) -> &'static Product {
        Product::load(&self.product).expect("validated")
    }

    /// The families of the causes, first the real ones.
    pub fn families(&self) -> Vec<String> {
        self.causes.iter().map(|c| c.family.clone()).collect()
    }

    fn problems(&self, text: &str) -> Vec<Problem> {
        let loc = Locator::new(text);
        let mut out = Vec::new();
        let mut bad = |line: Option<usize>, key: &str, value: String, allowed: String| {
            out.push(Problem { line, key: key.to_string(), value, allowed })
        };
        if self.kind != "drop" {
            bad(loc.key(None, "kind"), "kind", format!("{:?}", self.kind), "\"drop\"".into());
        }
        let product = match Product::load(&self.product) {
            Ok(p) => p,
            Err(err) => {
                bad(loc.key(None, "product"), "product", format!("{:?}", self.product), err.to_string());
                return out;
            }
        };
        if product.is_shop() {
            bad(
                loc.key(None, "product"),
                "product",
                "\"shop\"".into(),
                "another product (shop scenarios live in scenarios/)".into(),
            );
        }
        if !product.metric_registry().iter().any(|m| m.name == self.metric) {
            let names: Vec<&str> = product.metric_registry().iter().map(|m| m.name).collect();
            bad(loc.key(None, "metric"), "metric", format!("{:?}", self.metric), names.join(", "));
        }
        let [low, high] = self.headline;
        if !(low < high && low >= -1.0 && high <= 1.0) {
            bad(
                loc.key(None, "headline"),
                "headline",
                format!("{:?}", self.headline),
                "[low, high] with -1 ≤ low < high ≤ 1".into(),
            );
        }
        if self.causes.is_empty() {
            bad(None, "cause", "none".into(), "at least one [[cause]]".into());
        }
        let families = families();
        for (table, specs) in [("cause", &self.causes), ("decoy", &self.decoys)] {
            for (i, c) in specs.iter().enumerate() {
                let at = |key: &str| loc.key(Some((table, Some(i))), key);
                match families.get(&c.family) {
                    None => bad(
                        at("family"),
                        &format!("{table}.family"),
                        format!("{:?}", c.family),
                        families
                            .iter()
                            .filter(|(_, f)| f.products.contains(&product.name))
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    Some(f) => {
                        if !f.products.contains(&product.name) {
                            bad(
                                at("family"),
                                &format!("{table}.family"),
                                format!("{:?}", c.family),
                                format!(
                                    "a family of {} (this one belongs to {})",
                                    product.name,
                                    f.products.join(", ")
                                ),
                            );
                        }
                        for t in &f.mechanisms {
                            if Mechanism::from_catalogue(t.mechanism).is_none() {
                                bad(
                                    at("family"),
                                    &format!("{table}.family"),
                                    format!("{:?} uses {}", c.family, t.mechanism.name()),
                                    format!("families whose mechanisms are {}", Mechanism::NAMES),
                                );
                            }
                        }
                        let stage = c
                            .stage
                            .clone()
                            .or(f.step.map(|s| s.name().to_string()))
                            .or(f.mechanisms.iter().find_map(|t| t.step.map(|s| s.name().to_string())));
                        if f.needs_stage && stage.is_none() {
                            bad(
                                at("stage"),
                                &format!("{table}.stage"),
                                "none".into(),
                                "a step of the product".into(),
                            );
                        }
                    }
                }
                if let Some(stage) = &c.stage
                    && product.step(stage).is_none()
                {
                    bad(
                        at("stage"),
                        &format!("{table}.stage"),
                        format!("{stage:?}"),
                        product.steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
                    );
                }
                for target in &c.target_choices {
                    if let Some(why) = product.segment_problem(target) {
                        bad(
                            at("target_choices"),
                            &format!("{table}.target_choices"),
                            format!("{target:?}"),
                            why,
                        );
                    }
                }
                let [a, b] = c.size;
                if !(a <= b && a > 0.0 && b <= 1.0) {
                    bad(
                        at("size"),
                        &format!("{table}.size"),
                        format!("{:?}", c.size),
                        "[low, high] with 0 < low ≤ high ≤ 1".into(),
                    );
                }
                let [s0, s1] = c.start_day;
                if s0 > s1
                    || s0 < -(i64::from(product.period.days) - 8)
                    || s1 > i64::from(product.period.current_days) - 1
                {
                    bad(
                        at("start_day"),
                        &format!("{table}.start_day"),
                        format!("{:?}", c.start_day),
                        "[first, last] days from the current window's first day, inside the data".into(),
                    );
                }
                match (c.shape, c.ramp_days, c.hours) {
                    (Shape::Ramp, Some([a, b]), _) if a > 0.0 && a <= b => {}
                    (Shape::Outage, _, Some([a, b])) if a > 0.0 && a <= b && b <= 72.0 => {}
                    (Shape::Step, None, None) => {}
                    _ => bad(at("shape"), &format!("{table}.shape"), format!("{:?}", c.shape), "step; ramp with ramp_days = [low, high]; outage with hours = [low, high] (at most 72)".into()),
                }
            }
        }
        out
    }

    /// Every random choice made: the calendar, each cause's segment, onset, size and shape.
    pub fn draw(&self, rng: &mut impl Rng, seed: u64) -> ProductCase {
        let product = self.product();
        let days = product.period.days;
        // A Monday between 2024-01-01 and about two years later, so each case has its own dates.
        let first_monday = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
        let start = first_monday + Duration::weeks(rng.random_range(0..100));
        let end = start + Duration::days(i64::from(days) - 1);
        let current = Window::new(end - Duration::days(i64::from(product.period.current_days) - 1), end);
        let baseline_end = current.from - Duration::days(1);
        let baseline = Window::new(
            baseline_end - Duration::days(i64::from(product.period.baseline_days) - 1),
            baseline_end,
        );
        let families = families();
        let mut draw_cause = |spec: &CauseSpec, decoy: bool| -> ProductCause {
            let family = families.get(&spec.family).expect("validated");
            let target = if spec.target_choices.is_empty() {
                Vec::new()
            } else {
                let pick = &spec.target_choices[rng.random_range(0..spec.target_choices.len())];
                parse_terms(pick).expect("validated")
            };
            let stage = spec
                .stage
                .clone()
                .or(family.step.map(|s| s.name().to_string()))
                .or(family.mechanisms.iter().find_map(|t| t.step.map(|s| s.name().to_string())));
            let step = stage.and_then(|s| product.step(&s).map(|(i, _)| i));
            let late = family.mechanisms.iter().any(|t| t.mechanism == CatalogueMechanism::LateData);
            let day = if late {
                (end - current.from).num_days()
            } else {
                rng.random_range(spec.start_day[0]..=spec.start_day[1])
            };
            let hour = if late { 0 } else { rng.random_range(0..24) };
            let start = (current.from + Duration::days(day)).and_time(NaiveTime::MIN) + Duration::hours(hour);
            let size = rng.random_range(spec.size[0]..=spec.size[1]);
            let (ramp_days, end) = match (spec.shape, spec.ramp_days, spec.hours) {
                (Shape::Ramp, Some([a, b]), _) => (rng.random_range(a..=b), None),
                (Shape::Outage, _, Some([a, b])) => {
                    (0.0, Some(start + Duration::minutes((rng.random_range(a..=b) * 60.0) as i64)))
                }
                _ => (0.0, None),
            };
            let terms = family
                .mechanisms
                .iter()
                .map(|t| Term {
                    mechanism: Mechanism::from_catalogue(t.mechanism).expect("validated"),
                    step: t.step.and_then(|s| product.step(s.name()).map(|(i, _)| i)),
                    weight: t.weight,
                    profile: t.profile.clone(),
                })
                .collect();
            ProductCause {
                family: spec.family.clone(),
                terms,
                target,
                step,
                start,
                end,
                size,
                ramp_days,
                decoy,
            }
        };
        let mut causes: Vec<ProductCause> = self.causes.iter().map(|c| draw_cause(c, false)).collect();
        causes.extend(self.decoys.iter().map(|c| draw_cause(c, true)));
        ProductCase {
            product,
            seed,
            start,
            days,
            baseline,
            current,
            rows_per_day: self.rows_per_day.unwrap_or(product.rows_per_day),
            causes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_scenario_parses_and_names_families_of_its_product() {
        let all = ProductScenario::all().unwrap();
        assert!(all.len() >= 12, "{} scenarios", all.len());
        assert!(all.iter().any(|s| s.product == "engagement_app" && s.metric == "wau"));
        assert!(all.iter().any(|s| s.product == "saas"));
        for s in &all {
            for f in s.families() {
                assert!(families()[&f].products.contains(&s.product), "{} {f}", s.name);
            }
        }
    }

    #[test]
    fn a_bad_scenario_is_located() {
        let (_, text) = EMBEDDED.iter().find(|(n, _)| *n == "wau_push_outage").unwrap();
        let broken =
            text.replacen("family = \"notification_outage\"", "family = \"notification_outtage\"", 1);
        let err = ProductScenario::parse(&broken, "s.toml").unwrap_err().to_string();
        let line = broken.lines().position(|l| l.contains("outtage")).unwrap() + 1;
        assert!(
            err.contains(&format!(
                "s.toml:{line}: key `cause.family` has bad value \"notification_outtage\""
            )),
            "{err}"
        );
        assert!(err.contains("login_break"), "lists the product's families: {err}");
        let broken = text.replacen("platform=android", "platform=androd", 1);
        let err = ProductScenario::parse(&broken, "s.toml").unwrap_err().to_string();
        assert!(err.contains("'platform' has no value 'androd'"), "{err}");
    }
}
