//! The metrics of an experiment folder, all per randomised user over the test: how each is
//! defined, which test it takes, and which direction is good.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Conversion,
    ServerConversion,
    OrdersPerUser,
    ServerOrdersPerUser,
    RevenuePerUser,
    RevenuePerUserCapped,
    SessionsPerUser,
    ActiveDays,
    Aov,
    PageLoadMs,
    RefundRate,
}

/// Which test a metric takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Share of users with the event: two-proportion z-test.
    Proportion,
    /// Mean of a per-user value: Welch's t-test.
    Mean,
    /// Ratio of two per-user sums (randomised by user): delta method.
    Ratio,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::Conversion,
        Metric::ServerConversion,
        Metric::OrdersPerUser,
        Metric::ServerOrdersPerUser,
        Metric::RevenuePerUser,
        Metric::RevenuePerUserCapped,
        Metric::SessionsPerUser,
        Metric::ActiveDays,
        Metric::Aov,
        Metric::PageLoadMs,
        Metric::RefundRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Conversion => "conversion",
            Metric::ServerConversion => "server_conversion",
            Metric::OrdersPerUser => "orders_per_user",
            Metric::ServerOrdersPerUser => "server_orders_per_user",
            Metric::RevenuePerUser => "revenue_per_user",
            Metric::RevenuePerUserCapped => "revenue_per_user_capped",
            Metric::SessionsPerUser => "sessions_per_user",
            Metric::ActiveDays => "active_days",
            Metric::Aov => "aov",
            Metric::PageLoadMs => "page_load_ms",
            Metric::RefundRate => "refund_rate",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Self::ALL.iter().copied().find(|m| m.name() == text.trim())
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|m| m.name()).collect()
    }

    pub fn kind(self) -> MetricKind {
        match self {
            Metric::Conversion | Metric::ServerConversion => MetricKind::Proportion,
            Metric::Aov | Metric::PageLoadMs | Metric::RefundRate => MetricKind::Ratio,
            _ => MetricKind::Mean,
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::PageLoadMs | Metric::RefundRate)
    }

    pub fn definition(self) -> &'static str {
        match self {
            Metric::Conversion => "share of exposed users with at least one order (client-logged)",
            Metric::ServerConversion => {
                "share of exposed users with at least one order in the server-side source"
            }
            Metric::OrdersPerUser => "client-logged orders per exposed user",
            Metric::ServerOrdersPerUser => "server-side orders per exposed user",
            Metric::RevenuePerUser => "revenue per exposed user",
            Metric::RevenuePerUserCapped => {
                "revenue per exposed user, each user's revenue capped at the pooled 99.9th percentile"
            }
            Metric::SessionsPerUser => "sessions per exposed user",
            Metric::ActiveDays => "days with at least one session, per exposed user",
            Metric::Aov => "revenue / orders (ratio of per-user sums, delta method)",
            Metric::PageLoadMs => {
                "mean page load time per session in ms (ratio, delta method; lower is better)"
            }
            Metric::RefundRate => "refunds / orders (ratio, delta method; lower is better)",
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
