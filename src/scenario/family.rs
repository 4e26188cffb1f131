//! The catalogue of root causes: each family's group, the funnel stage it usually hits,
//! the look-alike a learner must rule out, how the truth reads in a reveal, and what to do
//! about it (the right actions, best first, and the metrics that confirm a fix).

use serde::{Deserialize, Serialize};

/// Where a cause comes from. Grading gives partial credit for the right group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// The data lies; backend orders stay flat.
    Measurement,
    /// Users really convert less; backend orders fall too.
    Product,
    /// Rates within segments are flat; the traffic mix moved.
    Mix,
    /// The calendar explains it.
    Seasonality,
    /// Something outside the product changed.
    External,
    /// Nothing happened beyond normal variation.
    None,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Measurement => "measurement",
            Group::Product => "product",
            Group::Mix => "mix",
            Group::Seasonality => "seasonality",
            Group::External => "external",
            Group::None => "none",
        }
    }
}

/// A funnel step: the rate of reaching it given the step before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// session → viewed a product
    View,
    /// viewed → added to cart
    Cart,
    /// cart → reached checkout
    Checkout,
    /// checkout → purchased
    Purchase,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::View, Stage::Cart, Stage::Checkout, Stage::Purchase];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::View => "view",
            Stage::Cart => "cart",
            Stage::Checkout => "checkout",
            Stage::Purchase => "purchase",
        }
    }

    /// The step-rate metric of the query registry that isolates this stage.
    pub fn metric(self) -> &'static str {
        match self {
            Stage::View => "view_rate",
            Stage::Cart => "cart_rate",
            Stage::Checkout => "checkout_rate",
            Stage::Purchase => "purchase_rate",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// What to do about a cause: the names `drill answer --action` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Roll the release (or the flag) back.
    Rollback,
    /// Ship a fix forward.
    Hotfix,
    /// Repair the client-side events or deduplicate them.
    FixTracking,
    /// Report the metric corrected (or like for like) and tell its readers.
    RestateMetric,
    PauseCampaign,
    BlockBots,
    /// Wait for the data to finish loading before reading it.
    WaitForData,
    /// Nothing to fix in the product: explain the change.
    NoAction,
    /// Take it up with the payment provider, the OS vendor or the channel's owner.
    ContactPartner,
    /// Undo a configuration change.
    RevertConfig,
    /// Make pages fast again.
    FixPerformance,
    /// Revisit prices (or the response to a competitor's).
    ReviewPricing,
    /// Bring a traffic channel back (a newsletter, a partner feed).
    RestoreChannel,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::Rollback,
        Action::Hotfix,
        Action::FixTracking,
        Action::RestateMetric,
        Action::PauseCampaign,
        Action::BlockBots,
        Action::WaitForData,
        Action::NoAction,
        Action::ContactPartner,
        Action::RevertConfig,
        Action::FixPerformance,
        Action::ReviewPricing,
        Action::RestoreChannel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Rollback => "rollback",
            Action::Hotfix => "hotfix",
            Action::FixTracking => "fix_tracking",
            Action::RestateMetric => "restate_metric",
            Action::PauseCampaign => "pause_campaign",
            Action::BlockBots => "block_bots",
            Action::WaitForData => "wait_for_data",
            Action::NoAction => "no_action",
            Action::ContactPartner => "contact_partner",
            Action::RevertConfig => "revert_config",
            Action::FixPerformance => "fix_performance",
            Action::ReviewPricing => "review_pricing",
            Action::RestoreChannel => "restore_channel",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == text)
    }

    pub fn names() -> Vec<&'static str> {
        Action::ALL.iter().map(|a| a.name()).collect()
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! families {
    ($( $variant:ident => $name:literal, $group:ident, $lookalike:literal, $about:literal,
        actions [$($action:ident),+], monitor [$($monitor:literal),+]; )*) => {
        /// A root-cause family of a metric drop.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Family { $( $variant, )* }

        impl Family {
            pub const ALL: &'static [Family] = &[ $( Family::$variant, )* ];

            pub fn name(self) -> &'static str {
                match self { $( Family::$variant => $name, )* }
            }

            pub fn group(self) -> Group {
                match self { $( Family::$variant => Group::$group, )* }
            }

            /// The family a learner most often confuses this one with.
            pub fn lookalike(self) -> &'static str {
                match self { $( Family::$variant => $lookalike, )* }
            }

            /// One sentence on the signature this family leaves in the data.
            pub fn signature(self) -> &'static str {
                match self { $( Family::$variant => $about, )* }
            }

            /// The right actions for this family, best first; the second is an acceptable
            /// alternative (`drill answer --action` gives it partial credit).
            pub fn actions(self) -> &'static [Action] {
                match self { $( Family::$variant => &[$(Action::$action),+], )* }
            }

            /// Metrics (registry names) that confirm a fix worked: the guardrail or input
            /// metric to watch (`drill answer --monitor`).
            pub fn monitors(self) -> &'static [&'static str] {
                match self { $( Family::$variant => &[$($monitor),+], )* }
            }
        }
    };
}

families! {
    TrackingLoss => "tracking_loss", Measurement, "release_bug",
        "purchase events are lost on one client while backend orders stay flat",
        actions [FixTracking, RestateMetric], monitor ["backend_conversion", "purchase_rate"];
    DuplicateSessions => "duplicate_sessions", Measurement, "low_intent_campaign",
        "one client logs sessions twice: sessions per user rise, users and orders do not",
        actions [FixTracking, RestateMetric], monitor ["sessions_per_user", "sessions"];
    PartialDay => "partial_day", Measurement, "partner_outage",
        "the newest day is not fully ingested: late funnel steps are missing, backend orders are complete",
        actions [WaitForData, RestateMetric], monitor ["backend_conversion", "purchase_rate"];
    DefinitionChange => "definition_change", Measurement, "ui_step_change",
        "a session-definition change on a config date splits sessions on every client; orders are flat",
        actions [RestateMetric, RevertConfig], monitor ["sessions_per_user", "sessions"];
    BotTraffic => "bot_traffic", Measurement, "low_intent_campaign",
        "zero-intent sessions from one source and country inflate the denominator; no one adds to cart",
        actions [BlockBots, RestateMetric], monitor ["sessions", "cart_rate"];
    ReleaseBug => "release_bug", Product, "os_update",
        "one funnel step breaks on one platform's new app version and grows with its adoption; orders fall",
        actions [Rollback, Hotfix], monitor ["purchase_rate", "checkout_rate", "cart_rate", "view_rate", "orders"];
    BrowserBug => "browser_bug", Product, "browser_update",
        "one step breaks in one browser from our web deploy date; orders fall",
        actions [Hotfix, Rollback], monitor ["purchase_rate", "checkout_rate", "cart_rate", "view_rate", "orders"];
    LatencyRegression => "latency_regression", Product, "competitor_promo",
        "pages got slower: every step dips a little, page_load_ms rises, mobile worst",
        actions [FixPerformance, Rollback], monitor ["page_load_p75", "page_load_p50"];
    PaymentOutage => "payment_outage", Product, "fraud_rule_change",
        "one payment method fails for some hours: checkout → purchase collapses for it, then recovers",
        actions [ContactPartner, Hotfix], monitor ["purchase_rate", "orders"];
    PriceChange => "price_change", Product, "competitor_promo",
        "prices went up: fewer carts, but order value rises",
        actions [ReviewPricing, NoAction], monitor ["cart_rate", "aov", "revenue_per_session"];
    UiStepChange => "ui_step_change", Product, "price_change",
        "a redesigned step converts worse for everyone from its flag date; order value unchanged",
        actions [Rollback, Hotfix], monitor ["checkout_rate", "cart_rate", "purchase_rate", "view_rate"];
    LowIntentCampaign => "low_intent_campaign", Mix, "bot_traffic",
        "a campaign brings many low-intent sessions from a new source; every source's own rate is flat",
        actions [NoAction, PauseCampaign], monitor ["conversion", "sessions"];
    HighIntentChannelEnd => "high_intent_channel_end", Mix, "push_email_broken",
        "a high-converting channel sends far fewer sessions; rates within channels are flat",
        actions [RestoreChannel, ContactPartner], monitor ["sessions", "orders"];
    NewReturningMix => "new_returning_mix", Mix, "release_bug",
        "the share of new users rose; new and returning users each convert as before (Simpson's paradox)",
        actions [NoAction, RestateMetric], monitor ["conversion", "users"];
    HolidayHangover => "holiday_hangover", Seasonality, "latency_regression",
        "the baseline window held a holiday sale: every segment is down by about the same proportion",
        actions [NoAction, RestateMetric], monitor ["conversion"];
    WeekdayMismatch => "weekday_mismatch", Seasonality, "release_bug",
        "the two windows hold different weekdays, and weekends convert better",
        actions [RestateMetric, NoAction], monitor ["conversion"];
    OsUpdate => "os_update", External, "release_bug",
        "one step breaks on a new OS version across every app version, ramping with OS adoption",
        actions [Hotfix, ContactPartner], monitor ["purchase_rate", "checkout_rate", "cart_rate", "view_rate", "orders"];
    RegionalEvent => "regional_event", External, "payment_outage",
        "one country's sessions convert far less for some hours",
        actions [NoAction, ContactPartner], monitor ["purchase_rate", "orders"];
    CompetitorPromo => "competitor_promo", External, "price_change",
        "new users and paid search convert less at checkout; our prices and order value are unchanged",
        actions [ReviewPricing, NoAction], monitor ["checkout_rate", "purchase_rate"];
    Noise => "noise", None, "any real cause",
        "the change is within normal variation for this volume",
        actions [NoAction, WaitForData], monitor ["conversion"];
}

impl Family {
    pub fn parse(text: &str) -> Option<Family> {
        Family::ALL.iter().copied().find(|f| f.name() == text)
    }

    pub fn names() -> Vec<&'static str> {
        Family::ALL.iter().map(|f| f.name()).collect()
    }

    /// Whether the family is defined by a segment (`dim=value` terms) the learner must name.
    pub fn has_segment(self) -> bool {
        !matches!(
            self,
            Family::Noise
                | Family::HolidayHangover
                | Family::WeekdayMismatch
                | Family::DefinitionChange
                | Family::PartialDay
                | Family::UiStepChange
                | Family::PriceChange
                | Family::LatencyRegression
        )
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_best_and_a_second_action_and_real_monitor_metrics() {
        for &family in Family::ALL {
            let actions = family.actions();
            assert!(actions.len() >= 2, "{family} needs a best action and an acceptable second");
            assert_ne!(actions[0], actions[1], "{family}");
            for metric in family.monitors() {
                assert!(
                    crate::query::Metric::find(metric).is_ok(),
                    "{family}: monitor '{metric}' is no metric"
                );
            }
        }
        for action in Action::ALL {
            assert_eq!(Action::parse(action.name()), Some(action));
        }
    }
}
