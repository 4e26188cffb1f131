//! The metric registry: every metric an analyst asks about, defined once by the measures
//! it divides and the kind of statistic it is. The metrics come from the product's file
//! (`products/*.toml`, see [`crate::product::registry`]); queries compute measures (sums,
//! counts, quantiles per segment) and the registry turns them into values and tests.

use serde::Serialize;

use crate::product::Product;

/// A per-segment aggregate a metric is built from. Columns are named by the product;
/// names are interned so a measure stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Rows of the main table (sessions, user-days), named as the product names them.
    Rows(&'static str),
    /// Rows whose boolean column is true.
    Flag(&'static str),
    /// Σ of a numeric column.
    Sum(&'static str),
    /// Σ of a numeric column squared (for the variance of means).
    SumSq(&'static str),
    /// Distinct `user_id`.
    Users,
    /// Distinct `user_id` over the trailing this many days, per day (a window: the mean of
    /// its days).
    ActiveUsers(u16),
    /// Rows of a second source table (`orders`, `server_events`).
    Source(&'static str),
    /// A percentile (0–100) of a column, named like its metric.
    Quantile { name: &'static str, column: &'static str, percent: u8 },
}

#[allow(non_upper_case_globals)]
impl Measure {
    // The shop's measures by their old names.
    pub const Sessions: Measure = Measure::Rows("sessions");
    pub const ViewedProduct: Measure = Measure::Flag("viewed_product");
    pub const AddedToCart: Measure = Measure::Flag("added_to_cart");
    pub const ReachedCheckout: Measure = Measure::Flag("reached_checkout");
    pub const Purchased: Measure = Measure::Flag("purchased");
    pub const Revenue: Measure = Measure::Sum("revenue");
    pub const RevenueSq: Measure = Measure::SumSq("revenue");
    pub const Orders: Measure = Measure::Source("orders");

    /// The name `dropcase metrics` shows.
    pub fn name(self) -> String {
        match self {
            Measure::Rows(n) | Measure::Flag(n) | Measure::Sum(n) | Measure::Source(n) => n.to_string(),
            Measure::SumSq(n) => format!("{n}_sq"),
            Measure::Users => "users".into(),
            Measure::ActiveUsers(days) => format!("active_users_{days}d"),
            Measure::Quantile { name, .. } => name.to_string(),
        }
    }

    /// Whether segment values add up to the whole (distinct counts and quantiles do not).
    pub fn is_additive(self) -> bool {
        !matches!(self, Measure::Users | Measure::ActiveUsers(_) | Measure::Quantile { .. })
    }

    /// The column a rollup table must hold for this measure (`None`: never from a rollup).
    pub fn rollup_column(self) -> Option<&'static str> {
        match self {
            Measure::Rows(c) | Measure::Flag(c) | Measure::Sum(c) => Some(c),
            Measure::SumSq(c) => Some(crate::product::registry::intern(&format!("{c}_sq"))),
            _ => None,
        }
    }

    /// The second source this measure counts rows of, if any.
    pub fn source(self) -> Option<&'static str> {
        match self {
            Measure::Source(name) => Some(name),
            _ => None,
        }
    }

    /// What the measure is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Measure::Users => "distinct users",
            Measure::ActiveUsers(_) => "distinct users over trailing days",
            Measure::Source(_) => "a second source table (a backend ledger)",
            Measure::Quantile { .. } => "a percentile",
            _ => "a sum",
        }
    }

    /// Whether this measure comes from a second source rather than the main table.
    pub fn from_orders(self) -> bool {
        self.source().is_some()
    }
}

impl Serialize for Measure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// What kind of statistic a metric is; decides its decomposition and its test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A count over the window (tested as a Poisson rate per day).
    Count,
    /// A sum of values over the window (no test).
    Sum,
    /// A proportion: numerator units are a subset of denominator units (two-proportion z).
    Rate,
    /// A mean per denominator unit (Welch's t from count, sum and sum of squares).
    Mean,
    /// A percentile of a per-row value (no decomposition, no test).
    Percentile,
    /// Distinct users over trailing days (DAU, WAU, MAU): per day, or a window's daily mean
    /// (no decomposition, no test).
    ActiveUsers,
}

/// One entry of the registry.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub numerator: Measure,
    pub denominator: Option<Measure>,
    /// Σ x² of the numerator's per-unit values, for `Mean` metrics that have it.
    #[serde(skip)]
    pub sum_sq: Option<Measure>,
    /// Definition in words, as `dropcase metrics` prints it.
    pub definition: &'static str,
}

/// The shop's metrics, in the order `dropcase metrics` lists them (from `products/shop.toml`).
pub fn shop_metrics() -> &'static [Metric] {
    Product::shop().metric_registry()
}

impl Metric {
    /// Looks a shop metric up by name (own data reads as the shop).
    pub fn find(name: &str) -> anyhow::Result<&'static Metric> {
        Metric::find_in(shop_metrics(), name)
    }

    /// A metric of any embedded product by name, the shop's first (for records of commands
    /// whose data is gone).
    pub fn find_any(name: &str) -> Option<&'static Metric> {
        Metric::find(name).ok().or_else(|| {
            Product::all().ok()?.into_iter().find_map(|p| p.metric_registry().iter().find(|m| m.name == name))
        })
    }

    /// Looks a metric up in a registry; the error lists the names and suggests the nearest.
    pub fn find_in(registry: &'static [Metric], name: &str) -> anyhow::Result<&'static Metric> {
        registry.iter().find(|m| m.name == name).ok_or_else(|| {
            let names: Vec<&str> = registry.iter().map(|m| m.name).collect();
            anyhow::anyhow!(
                "unknown metric '{name}'{}; metrics: {} (see `dropcase metrics`)",
                super::did_you_mean(name, names.iter().copied()),
                names.join(", ")
            )
        })
    }

    /// The measures a query must compute for this metric, numerator first.
    pub fn measures(&self) -> Vec<Measure> {
        let mut out = vec![self.numerator];
        out.extend(self.denominator);
        out.extend(self.sum_sq);
        out
    }

    /// Whether the metric splits exactly into per-segment mix and rate effects.
    pub fn is_decomposable(&self) -> bool {
        !matches!(self.kind, Kind::Percentile | Kind::ActiveUsers)
            && self.measures().iter().all(|m| m.is_additive())
    }

    /// Whether values read as proportions (printed as percentages).
    pub fn is_proportion(&self) -> bool {
        self.kind == Kind::Rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for m in shop_metrics() {
            assert_eq!(Metric::find(m.name).unwrap().name, m.name);
            assert_eq!(shop_metrics().iter().filter(|n| n.name == m.name).count(), 1);
        }
    }

    #[test]
    fn unknown_metric_suggests_the_nearest() {
        let err = Metric::find("convertion").unwrap_err().to_string();
        assert!(err.contains("did you mean 'conversion'"), "{err}");
        assert!(err.contains("checkout_rate"), "{err}");
    }

    #[test]
    fn per_user_and_percentile_metrics_do_not_decompose() {
        assert!(Metric::find("conversion").unwrap().is_decomposable());
        assert!(Metric::find("aov").unwrap().is_decomposable());
        assert!(!Metric::find("sessions_per_user").unwrap().is_decomposable());
        assert!(!Metric::find("users").unwrap().is_decomposable());
        assert!(!Metric::find("page_load_p50").unwrap().is_decomposable());
    }

    /// The shop's registry read from `products/shop.toml` is the registry dropcase had as
    /// a Rust constant before products were data (session 4's `METRICS`, copied here).
    #[test]
    fn the_shop_registry_is_the_old_constant() {
        use Measure as M;
        let p50 = M::Quantile { name: "page_load_p50", column: "page_load_ms", percent: 50 };
        let p75 = M::Quantile { name: "page_load_p75", column: "page_load_ms", percent: 75 };
        type Entry<'a> = (&'a str, Kind, Measure, Option<Measure>, Option<Measure>, &'a str);
        let old: [Entry; 15] = [
            ("sessions", Kind::Count, M::Sessions, None, None, "number of sessions"),
            ("users", Kind::Count, M::Users, None, None, "distinct user_id with a session"),
            ("orders", Kind::Count, M::Orders, None, None, "rows of the backend orders table"),
            ("conversion", Kind::Rate, M::Purchased, Some(M::Sessions), None, "purchased / sessions"),
            ("view_rate", Kind::Rate, M::ViewedProduct, Some(M::Sessions), None, "viewed_product / sessions"),
            (
                "cart_rate",
                Kind::Rate,
                M::AddedToCart,
                Some(M::ViewedProduct),
                None,
                "added_to_cart / viewed_product",
            ),
            (
                "checkout_rate",
                Kind::Rate,
                M::ReachedCheckout,
                Some(M::AddedToCart),
                None,
                "reached_checkout / added_to_cart",
            ),
            (
                "purchase_rate",
                Kind::Rate,
                M::Purchased,
                Some(M::ReachedCheckout),
                None,
                "purchased / reached_checkout",
            ),
            (
                "aov",
                Kind::Mean,
                M::Revenue,
                Some(M::Purchased),
                Some(M::RevenueSq),
                "average order value: revenue / purchased sessions",
            ),
            ("revenue", Kind::Sum, M::Revenue, None, None, "sum of session revenue"),
            (
                "revenue_per_session",
                Kind::Mean,
                M::Revenue,
                Some(M::Sessions),
                Some(M::RevenueSq),
                "revenue / sessions",
            ),
            (
                "backend_conversion",
                Kind::Rate,
                M::Orders,
                Some(M::Sessions),
                None,
                "backend orders / sessions (orders from the orders table)",
            ),
            ("sessions_per_user", Kind::Mean, M::Sessions, Some(M::Users), None, "sessions / distinct users"),
            ("page_load_p50", Kind::Percentile, p50, None, None, "median page_load_ms"),
            ("page_load_p75", Kind::Percentile, p75, None, None, "75th percentile of page_load_ms"),
        ];
        let now = shop_metrics();
        assert_eq!(now.len(), old.len());
        for (m, (name, kind, num, den, sq, definition)) in now.iter().zip(old) {
            assert_eq!(
                (m.name, m.kind, m.numerator, m.denominator, m.sum_sq, m.definition),
                (name, kind, num, den, sq, definition)
            );
        }
        let json = serde_json::to_value(now).unwrap();
        assert_eq!(json[13]["numerator"], "page_load_p50");
        assert_eq!(json[8]["numerator"], "revenue");
    }
}
