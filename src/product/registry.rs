//! A product's `[[metric]]` tables turned into the query layer's registry: each measure
//! named in the file is resolved to a column of the product (a step's flag, a value
//! measure, the latency column, a second source), with the names interned so a
//! [`Metric`] stays `Copy` and `'static`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};

use super::{MetricDef, MetricKind, Product};
use crate::query::metric::{Kind, Measure, Metric};

/// A name that lives for the whole process (products name few columns and metrics).
pub fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Why a metric definition does not resolve: the key, its value, what is allowed.
#[derive(Debug)]
pub struct Unresolved {
    pub key: &'static str,
    pub value: String,
    pub allowed: String,
}

fn measure(product: &Product, key: &'static str, name: &str) -> Result<Measure, Unresolved> {
    if name == product.rows {
        return Ok(Measure::Rows(intern(name)));
    }
    if name == "users" {
        return Ok(Measure::Users);
    }
    let retention = product.retention_columns();
    if product.steps.iter().any(|s| s.column == name) || retention.iter().any(|(a, b)| a == name || b == name)
    {
        return Ok(Measure::Flag(intern(name)));
    }
    if product.measures.iter().any(|m| m.name == name)
        || product.latency.as_ref().is_some_and(|l| l.column == name)
    {
        return Ok(Measure::Sum(intern(name)));
    }
    if product.sources.iter().any(|s| s.name == name) {
        return Ok(Measure::Source(intern(name)));
    }
    // Another metric's active users (stickiness = dau / mau).
    if let Some(days) = product
        .metrics
        .iter()
        .find(|m| m.name == name && m.kind == MetricKind::ActiveUsers)
        .and_then(|m| m.days)
    {
        return Ok(Measure::ActiveUsers(days));
    }
    Err(Unresolved { key, value: format!("{name:?}"), allowed: product.measure_names().join(", ") })
}

/// Resolves one definition against its product.
pub fn resolve(product: &Product, def: &MetricDef) -> Result<Metric, Unresolved> {
    let name = intern(&def.name);
    let definition = intern(&def.description);
    let need = |key: &'static str, value: &Option<String>| -> Result<Measure, Unresolved> {
        match value {
            Some(v) => measure(product, key, v),
            None => Err(Unresolved {
                key,
                value: "none".into(),
                allowed: format!("a measure for a {:?} metric", def.kind),
            }),
        }
    };
    let absent = |key: &'static str, present: bool| -> Result<(), Unresolved> {
        if present {
            Err(Unresolved {
                key,
                value: "given".into(),
                allowed: format!("nothing for a {:?} metric", def.kind).to_lowercase(),
            })
        } else {
            Ok(())
        }
    };
    let metric = match def.kind {
        MetricKind::Count | MetricKind::Sum => {
            absent("denominator", def.denominator.is_some())?;
            let numerator = need("numerator", &def.numerator)?;
            let kind = if def.kind == MetricKind::Count { Kind::Count } else { Kind::Sum };
            Metric { name, kind, numerator, denominator: None, sum_sq: None, definition }
        }
        MetricKind::Rate | MetricKind::Mean => {
            let numerator = need("numerator", &def.numerator)?;
            let denominator = need("denominator", &def.denominator)?;
            let (kind, sum_sq) = match (def.kind, numerator) {
                (MetricKind::Rate, _) => (Kind::Rate, None),
                (_, Measure::Sum(column)) => (Kind::Mean, Some(Measure::SumSq(column))),
                _ => (Kind::Mean, None),
            };
            if kind == Kind::Rate
                && !matches!(numerator, Measure::Flag(_) | Measure::Source(_) | Measure::Rows(_))
            {
                return Err(Unresolved {
                    key: "numerator",
                    value: format!("{:?}", def.numerator.clone().unwrap_or_default()),
                    allowed: "a step column, a source or the rows measure (a count of units)".into(),
                });
            }
            Metric { name, kind, numerator, denominator: Some(denominator), sum_sq, definition }
        }
        MetricKind::Percentile => {
            let column = def.column.as_deref().unwrap_or_default();
            let is_numeric = product.measures.iter().any(|m| m.name == column)
                || product.latency.as_ref().is_some_and(|l| l.column == column);
            if !is_numeric {
                return Err(Unresolved {
                    key: "column",
                    value: format!("{column:?}"),
                    allowed: "a [[measure]] name or the latency column".into(),
                });
            }
            let percent = def.percentile.unwrap_or(f64::NAN);
            if !(percent > 0.0 && percent < 100.0 && percent.fract() == 0.0) {
                return Err(Unresolved {
                    key: "percentile",
                    value: percent.to_string(),
                    allowed: "a whole number between 1 and 99".into(),
                });
            }
            let q = Measure::Quantile { name, column: intern(column), percent: percent as u8 };
            Metric { name, kind: Kind::Percentile, numerator: q, denominator: None, sum_sq: None, definition }
        }
        MetricKind::ActiveUsers => {
            let days = def.days.unwrap_or(0);
            if !(1..=90).contains(&days) {
                return Err(Unresolved {
                    key: "days",
                    value: days.to_string(),
                    allowed: "1 to 90 (1 = DAU, 7 = WAU, 28 or 30 = MAU)".into(),
                });
            }
            Metric {
                name,
                kind: Kind::ActiveUsers,
                numerator: Measure::ActiveUsers(days),
                denominator: None,
                sum_sq: None,
                definition,
            }
        }
    };
    Ok(metric)
}

impl Product {
    /// This product's metrics as the query layer's registry, in file order (built once).
    pub fn metric_registry(&self) -> &'static [Metric] {
        static BUILT: OnceLock<Mutex<BTreeMap<String, &'static [Metric]>>> = OnceLock::new();
        let cache = BUILT.get_or_init(|| Mutex::new(BTreeMap::new()));
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        // Keyed by name and definition text, so a user's file named like an embedded
        // product keeps its own metrics.
        let key = format!("{}\u{0}{}", self.name, serde_json::to_string(&self.metrics).unwrap_or_default());
        if let Some(known) = cache.get(&key) {
            return known;
        }
        // Validation resolved every metric already; one that does not is left out.
        let metrics: Vec<Metric> = self.metrics.iter().filter_map(|m| resolve(self, m).ok()).collect();
        let leaked: &'static [Metric] = Box::leak(metrics.into_boxed_slice());
        cache.insert(key, leaked);
        leaked
    }

    /// The step-rate metric of a step (`{step}_rate`) when the product defines it.
    pub fn step_metric(&self, step: &str) -> Option<&'static Metric> {
        let name = format!("{step}_rate");
        self.metric_registry().iter().find(|m| m.name == name)
    }
}
