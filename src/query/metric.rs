//! The metric registry: every metric an analyst asks about, defined once by the measures
//! it divides and the kind of statistic it is. Queries compute measures (sums, counts,
//! quantiles per segment) and the registry turns them into values and tests.

use serde::Serialize;

/// A per-segment aggregate a metric is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Sessions,
    ViewedProduct,
    AddedToCart,
    ReachedCheckout,
    Purchased,
    Revenue,
    /// Σ revenue² (for the variance of revenue means).
    RevenueSq,
    /// Distinct `user_id`.
    Users,
    /// Rows of the backend orders table.
    Orders,
    PageLoadP50,
    PageLoadP75,
}

impl Measure {
    /// Whether segment values add up to the whole (distinct counts and quantiles do not).
    pub fn is_additive(self) -> bool {
        !matches!(self, Measure::Users | Measure::PageLoadP50 | Measure::PageLoadP75)
    }

    /// Whether `rollup.parquet` holds this measure.
    pub fn in_rollup(self) -> bool {
        matches!(
            self,
            Measure::Sessions
                | Measure::ViewedProduct
                | Measure::AddedToCart
                | Measure::ReachedCheckout
                | Measure::Purchased
                | Measure::Revenue
                | Measure::RevenueSq
        )
    }

    /// The column of `rollup.parquet` and of a cube that sums this measure, if any.
    pub fn rollup_column(self) -> Option<&'static str> {
        use crate::cube::columns as c;
        Some(match self {
            Measure::Sessions => c::SESSIONS,
            Measure::ViewedProduct => c::VIEWED_PRODUCT,
            Measure::AddedToCart => c::ADDED_TO_CART,
            Measure::ReachedCheckout => c::REACHED_CHECKOUT,
            Measure::Purchased => c::PURCHASED,
            Measure::Revenue => c::REVENUE,
            Measure::RevenueSq => c::REVENUE_SQ,
            Measure::Users | Measure::Orders | Measure::PageLoadP50 | Measure::PageLoadP75 => return None,
        })
    }

    /// What the measure is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Measure::Users => "distinct users",
            Measure::Orders => "the backend orders table",
            Measure::PageLoadP50 | Measure::PageLoadP75 => "a percentile of page_load_ms",
            _ => "a sum",
        }
    }

    /// Whether this measure comes from the orders table rather than sessions.
    pub fn from_orders(self) -> bool {
        self == Measure::Orders
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
    /// A percentile of a per-session value (no decomposition, no test).
    Percentile,
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

const fn metric(
    name: &'static str,
    kind: Kind,
    numerator: Measure,
    denominator: Option<Measure>,
    definition: &'static str,
) -> Metric {
    Metric { name, kind, numerator, denominator, sum_sq: None, definition }
}

use Measure as M;

/// Every metric, in the order `dropcase metrics` lists them.
pub const METRICS: [Metric; 15] = [
    metric("sessions", Kind::Count, M::Sessions, None, "number of sessions"),
    metric("users", Kind::Count, M::Users, None, "distinct user_id with a session"),
    metric("orders", Kind::Count, M::Orders, None, "rows of the backend orders table"),
    metric("conversion", Kind::Rate, M::Purchased, Some(M::Sessions), "purchased / sessions"),
    metric("view_rate", Kind::Rate, M::ViewedProduct, Some(M::Sessions), "viewed_product / sessions"),
    metric("cart_rate", Kind::Rate, M::AddedToCart, Some(M::ViewedProduct), "added_to_cart / viewed_product"),
    metric(
        "checkout_rate",
        Kind::Rate,
        M::ReachedCheckout,
        Some(M::AddedToCart),
        "reached_checkout / added_to_cart",
    ),
    metric(
        "purchase_rate",
        Kind::Rate,
        M::Purchased,
        Some(M::ReachedCheckout),
        "purchased / reached_checkout",
    ),
    Metric {
        sum_sq: Some(M::RevenueSq),
        ..metric(
            "aov",
            Kind::Mean,
            M::Revenue,
            Some(M::Purchased),
            "average order value: revenue / purchased sessions",
        )
    },
    metric("revenue", Kind::Sum, M::Revenue, None, "sum of session revenue"),
    Metric {
        sum_sq: Some(M::RevenueSq),
        ..metric("revenue_per_session", Kind::Mean, M::Revenue, Some(M::Sessions), "revenue / sessions")
    },
    metric(
        "backend_conversion",
        Kind::Rate,
        M::Orders,
        Some(M::Sessions),
        "backend orders / sessions (orders from the orders table)",
    ),
    metric("sessions_per_user", Kind::Mean, M::Sessions, Some(M::Users), "sessions / distinct users"),
    metric("page_load_p50", Kind::Percentile, M::PageLoadP50, None, "median page_load_ms"),
    metric("page_load_p75", Kind::Percentile, M::PageLoadP75, None, "75th percentile of page_load_ms"),
];

impl Metric {
    /// Looks a metric up by name; the error lists the names and suggests the nearest.
    pub fn find(name: &str) -> anyhow::Result<&'static Metric> {
        METRICS.iter().find(|m| m.name == name).ok_or_else(|| {
            let names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
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
        self.kind != Kind::Percentile && self.measures().iter().all(|m| m.is_additive())
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
        for m in &METRICS {
            assert_eq!(Metric::find(m.name).unwrap().name, m.name);
            assert_eq!(METRICS.iter().filter(|n| n.name == m.name).count(), 1);
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
}
