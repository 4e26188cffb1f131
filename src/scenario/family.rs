//! The catalogue of root causes: each family's group, the funnel stage it usually hits,
//! the look-alike a learner must rule out, and how the truth reads in a reveal.

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

macro_rules! families {
    ($( $variant:ident => $name:literal, $group:ident, $lookalike:literal, $about:literal; )*) => {
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
        }
    };
}

families! {
    TrackingLoss => "tracking_loss", Measurement, "release_bug",
        "purchase events are lost on one client while backend orders stay flat";
    DuplicateSessions => "duplicate_sessions", Measurement, "low_intent_campaign",
        "one client logs sessions twice: sessions per user rise, users and orders do not";
    PartialDay => "partial_day", Measurement, "partner_outage",
        "the newest day is not fully ingested: late funnel steps are missing, backend orders are complete";
    DefinitionChange => "definition_change", Measurement, "ui_step_change",
        "a session-definition change on a config date splits sessions on every client; orders are flat";
    BotTraffic => "bot_traffic", Measurement, "low_intent_campaign",
        "zero-intent sessions from one source and country inflate the denominator; no one adds to cart";
    ReleaseBug => "release_bug", Product, "os_update",
        "one funnel step breaks on one platform's new app version and grows with its adoption; orders fall";
    BrowserBug => "browser_bug", Product, "browser_update",
        "one step breaks in one browser from our web deploy date; orders fall";
    LatencyRegression => "latency_regression", Product, "competitor_promo",
        "pages got slower: every step dips a little, page_load_ms rises, mobile worst";
    PaymentOutage => "payment_outage", Product, "fraud_rule_change",
        "one payment method fails for some hours: checkout → purchase collapses for it, then recovers";
    PriceChange => "price_change", Product, "competitor_promo",
        "prices went up: fewer carts, but order value rises";
    UiStepChange => "ui_step_change", Product, "price_change",
        "a redesigned step converts worse for everyone from its flag date; order value unchanged";
    LowIntentCampaign => "low_intent_campaign", Mix, "bot_traffic",
        "a campaign brings many low-intent sessions from a new source; every source's own rate is flat";
    HighIntentChannelEnd => "high_intent_channel_end", Mix, "push_email_broken",
        "a high-converting channel sends far fewer sessions; rates within channels are flat";
    NewReturningMix => "new_returning_mix", Mix, "release_bug",
        "the share of new users rose; new and returning users each convert as before (Simpson's paradox)";
    HolidayHangover => "holiday_hangover", Seasonality, "latency_regression",
        "the baseline window held a holiday sale: every segment is down by about the same proportion";
    WeekdayMismatch => "weekday_mismatch", Seasonality, "release_bug",
        "the two windows hold different weekdays, and weekends convert better";
    OsUpdate => "os_update", External, "release_bug",
        "one step breaks on a new OS version across every app version, ramping with OS adoption";
    RegionalEvent => "regional_event", External, "payment_outage",
        "one country's sessions convert far less for some hours";
    CompetitorPromo => "competitor_promo", External, "price_change",
        "new users and paid search convert less at checkout; our prices and order value are unchanged";
    Noise => "noise", None, "any real cause",
        "the change is within normal variation for this volume";
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
