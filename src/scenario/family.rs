//! The catalogue of root causes, as data: `products/families.toml` names each family's
//! group, the mechanisms it is composed of, the look-alike a learner must rule out, its
//! signature, the command that shows it, and the right actions. A scenario file may add
//! families of its own (`[family.NAME]` tables), so a new family needs no Rust.
//!
//! `Family` and `Stage` are interned names (`Copy`, compared by pointer-sized string
//! compares); the shop's built-in families and steps are associated constants so code
//! that needs one by name reads `Family::ReleaseBug`, `Stage::Purchase`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock, RwLock};

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

/// A name that lives for the whole process: families and steps are few and named in data,
/// so each distinct name is stored once.
pub fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// A funnel step of a product, by name: the rate of reaching it given the step before.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stage(&'static str);

#[allow(non_upper_case_globals)]
impl Stage {
    /// session → viewed a product (the shop)
    pub const View: Stage = Stage("view");
    /// viewed → added to cart
    pub const Cart: Stage = Stage("cart");
    /// cart → reached checkout
    pub const Checkout: Stage = Stage("checkout");
    /// checkout → purchased
    pub const Purchase: Stage = Stage("purchase");

    /// The shop's steps in funnel order.
    pub const ALL: [Stage; 4] = [Stage::View, Stage::Cart, Stage::Checkout, Stage::Purchase];

    pub fn new(name: &str) -> Stage {
        Stage(intern(name))
    }

    /// Position in the shop's funnel; steps of other products sort after the shop's.
    pub fn index(self) -> usize {
        Stage::ALL.iter().position(|s| *s == self).unwrap_or(Stage::ALL.len())
    }

    pub fn name(self) -> &'static str {
        self.0
    }

    /// The step-rate metric that isolates this stage (`purchase_rate`).
    pub fn metric(self) -> &'static str {
        intern(&format!("{}_rate", self.0))
    }

    /// One of the shop's steps.
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == text)
    }
}

impl PartialOrd for Stage {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Stage {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.index(), self.0).cmp(&(other.index(), other.0))
    }
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stage({})", self.0)
    }
}

impl Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if !is_name(&text) {
            return Err(serde::de::Error::custom(format!(
                "bad step name {text:?}: use lower-case letters, digits and '_'"
            )));
        }
        Ok(Stage::new(&text))
    }
}

/// Whether `text` is a name a family or step may have.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// What a cause does to the data. Families are compositions of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// A funnel step's rate falls (or rises, with a negative weight) in the target.
    StepRate,
    /// Sessions are added (`profile = "bots"` or `"low_intent"`) or removed (`"remove"`).
    Traffic,
    /// Returning users in the target come back less often.
    ReturnRate,
    /// Returning users are replaced by new ones (the mix moves; rates within stay).
    Mix,
    /// Client events of a step are lost; the backend ledger is untouched.
    LoggingLoss,
    /// The client logs some sessions twice.
    Duplication,
    /// The session or metric definition changes on a date (visits split in two).
    Definition,
    /// The newest hours are not fully loaded yet; late steps are missing most.
    LateData,
    /// Events are shifted by some hours.
    Timezone,
    /// A traffic source is relabelled.
    Attribution,
    /// Holidays and weekday windows (`profile = "holiday"` lifts volume; `"weekday"` acts
    /// through the windows alone).
    Calendar,
    /// Pages load slower; every step dips with an elasticity, mobile worst.
    Latency,
    /// Prices rise: order value up by `weight` × size.
    Price,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::StepRate => "step_rate",
            Mechanism::Traffic => "traffic",
            Mechanism::ReturnRate => "return_rate",
            Mechanism::Mix => "mix",
            Mechanism::LoggingLoss => "logging_loss",
            Mechanism::Duplication => "duplication",
            Mechanism::Definition => "definition",
            Mechanism::LateData => "late_data",
            Mechanism::Timezone => "timezone",
            Mechanism::Attribution => "attribution",
            Mechanism::Calendar => "calendar",
            Mechanism::Latency => "latency",
            Mechanism::Price => "price",
        }
    }
}

/// One part of a family's composition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub mechanism: Mechanism,
    /// The step it acts on; default: the cause's own `stage`.
    #[serde(default)]
    pub step: Option<Stage>,
    /// Share of the cause's size this term applies (negative lifts instead of cuts).
    #[serde(default = "one")]
    pub weight: f64,
    /// The variant of the mechanism (traffic: bots, low_intent, remove; calendar: holiday, weekday).
    #[serde(default)]
    pub profile: Option<String>,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

/// Which shift the solvability check demands of the target's share of sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeCheck {
    Up,
    Down,
}

/// The line a cause writes in a context table (release log, marketing calendar, config log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextLine {
    /// `releases`, `marketing` or `config_changes`.
    pub table: String,
    /// The system (config log), channel (marketing; default: the target's traffic source)
    /// or platform (releases).
    #[serde(default)]
    pub subject: Option<String>,
    /// Default text when the cause carries no `note`.
    pub text: String,
}

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyDef {
    pub group: Group,
    /// Products the family belongs to (empty: every product).
    #[serde(default)]
    pub products: Vec<String>,
    pub mechanisms: Vec<Term>,
    pub lookalike: String,
    pub signature: String,
    /// The command that shows the signature; `{by}` is the target's dimensions, `{step_metric}`
    /// the step-rate metric of the signature step.
    pub evidence: String,
    /// The right actions, best first (the names `drill answer --action` accepts).
    #[serde(default)]
    pub actions: Vec<String>,
    /// The metrics that confirm a fix worked (`drill answer --monitor`).
    #[serde(default)]
    pub monitor: Vec<String>,
    /// Whether the learner must name a segment.
    #[serde(default = "yes")]
    pub segment: bool,
    /// Whether a scenario must give the cause a `stage`.
    #[serde(default)]
    pub needs_stage: bool,
    /// The step the signature shows in when the cause names none.
    #[serde(default)]
    pub step: Option<Stage>,
    /// The shift of the target's share of sessions a solvable case must show.
    #[serde(default)]
    pub volume: Option<VolumeCheck>,
    /// The dimension a hint suggests cutting by.
    #[serde(default)]
    pub hint_by: Option<String>,
    #[serde(default)]
    pub context: Option<ContextLine>,
}

/// `products/families.toml`, embedded.
pub const EMBEDDED_FAMILIES: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/products/families.toml"));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    family: BTreeMap<String, FamilyDef>,
}

/// Every family known to this process: the embedded catalogue plus those scenario files added.
struct Catalogue {
    order: Vec<Family>,
    defs: BTreeMap<&'static str, &'static FamilyDef>,
}

fn catalogue() -> &'static RwLock<Catalogue> {
    static CATALOGUE: OnceLock<RwLock<Catalogue>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut cat = Catalogue { order: Vec::new(), defs: BTreeMap::new() };
        // The embedded file is checked by the tests below; a broken one leaves an empty
        // catalogue, whose every lookup then fails with a message, never a panic.
        if let Ok(file) = toml::from_str::<CatalogueFile>(EMBEDDED_FAMILIES) {
            for (name, def) in file.family {
                let family = Family(intern(&name));
                cat.order.push(family);
                cat.defs.insert(family.0, Box::leak(Box::new(def)));
            }
        }
        RwLock::new(cat)
    })
}

/// Parses a `[family.NAME]` table set (the embedded file, or a scenario's own families).
pub fn parse_families(text: &str) -> Result<BTreeMap<String, FamilyDef>, toml::de::Error> {
    toml::from_str::<CatalogueFile>(text).map(|f| f.family)
}

/// Adds families a scenario file defines. A name already known must have the same definition.
pub fn register(families: &BTreeMap<String, FamilyDef>) -> Result<(), String> {
    let lock = catalogue();
    let mut cat = lock.write().unwrap_or_else(|p| p.into_inner());
    for (name, def) in families {
        if !is_name(name) {
            return Err(format!("family name {name:?}: use lower-case letters, digits and '_'"));
        }
        match cat.defs.get(name.as_str()) {
            Some(known) if *known == def => {}
            Some(_) => {
                return Err(format!(
                    "family `{name}` is already in the catalogue with another definition; give yours a new name"
                ));
            }
            None => {
                let family = Family(intern(name));
                cat.order.push(family);
                cat.defs.insert(family.0, Box::leak(Box::new(def.clone())));
            }
        }
    }
    Ok(())
}

/// A root-cause family of a metric drop, by name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family(&'static str);

#[allow(non_upper_case_globals)]
impl Family {
    pub const TrackingLoss: Family = Family("tracking_loss");
    pub const DuplicateSessions: Family = Family("duplicate_sessions");
    pub const PartialDay: Family = Family("partial_day");
    pub const DefinitionChange: Family = Family("definition_change");
    pub const BotTraffic: Family = Family("bot_traffic");
    pub const ReleaseBug: Family = Family("release_bug");
    pub const BrowserBug: Family = Family("browser_bug");
    pub const LatencyRegression: Family = Family("latency_regression");
    pub const PaymentOutage: Family = Family("payment_outage");
    pub const PriceChange: Family = Family("price_change");
    pub const UiStepChange: Family = Family("ui_step_change");
    pub const LowIntentCampaign: Family = Family("low_intent_campaign");
    pub const HighIntentChannelEnd: Family = Family("high_intent_channel_end");
    pub const NewReturningMix: Family = Family("new_returning_mix");
    pub const HolidayHangover: Family = Family("holiday_hangover");
    pub const WeekdayMismatch: Family = Family("weekday_mismatch");
    pub const OsUpdate: Family = Family("os_update");
    pub const RegionalEvent: Family = Family("regional_event");
    pub const CompetitorPromo: Family = Family("competitor_promo");
    pub const Noise: Family = Family("noise");

    /// Every family in the catalogue, in catalogue order.
    pub fn all() -> Vec<Family> {
        catalogue().read().unwrap_or_else(|p| p.into_inner()).order.clone()
    }

    /// The catalogue entry; every `Family` value was found in the catalogue when it was made.
    pub fn def(self) -> &'static FamilyDef {
        static MISSING: OnceLock<FamilyDef> = OnceLock::new();
        let cat = catalogue().read().unwrap_or_else(|p| p.into_inner());
        cat.defs.get(self.0).copied().unwrap_or_else(|| {
            MISSING.get_or_init(|| FamilyDef {
                group: Group::None,
                products: Vec::new(),
                mechanisms: Vec::new(),
                lookalike: "unknown".into(),
                signature: "not in the catalogue".into(),
                evidence: "dropcase query compare --by platform".into(),
                actions: Vec::new(),
                monitor: Vec::new(),
                segment: false,
                needs_stage: false,
                step: None,
                volume: None,
                hint_by: None,
                context: None,
            })
        })
    }

    pub fn name(self) -> &'static str {
        self.0
    }

    pub fn group(self) -> Group {
        self.def().group
    }

    /// The family a learner most often confuses this one with.
    pub fn lookalike(self) -> &'static str {
        &self.def().lookalike
    }

    /// One sentence on the signature this family leaves in the data.
    pub fn signature(self) -> &'static str {
        &self.def().signature
    }

    pub fn mechanisms(self) -> &'static [Term] {
        &self.def().mechanisms
    }

    /// Whether any term of the family uses `mechanism` (with `profile`, when given).
    pub fn uses(self, mechanism: Mechanism, profile: Option<&str>) -> bool {
        self.mechanisms()
            .iter()
            .any(|t| t.mechanism == mechanism && (profile.is_none() || t.profile.as_deref() == profile))
    }

    /// The right actions, best first (names the catalogue spells that are not actions are
    /// refused by `scenarios check` and the catalogue's test).
    pub fn actions(self) -> &'static [Action] {
        static PARSED: Mutex<BTreeMap<&'static str, &'static [Action]>> = Mutex::new(BTreeMap::new());
        let mut parsed = PARSED.lock().unwrap_or_else(|p| p.into_inner());
        parsed.entry(self.0).or_insert_with(|| {
            let actions: Vec<Action> = self.def().actions.iter().filter_map(|a| Action::parse(a)).collect();
            Box::leak(actions.into_boxed_slice())
        })
    }

    /// The metrics that confirm a fix worked; default: the signature step's rate, or conversion.
    pub fn monitors(self) -> &'static [&'static str] {
        static PARSED: Mutex<BTreeMap<&'static str, &'static [&'static str]>> = Mutex::new(BTreeMap::new());
        let mut parsed = PARSED.lock().unwrap_or_else(|p| p.into_inner());
        parsed.entry(self.0).or_insert_with(|| {
            let def = self.def();
            let mut names: Vec<&'static str> = def.monitor.iter().map(|m| intern(m)).collect();
            if names.is_empty() {
                names.push(def.step.map(Stage::metric).unwrap_or("conversion"));
            }
            Box::leak(names.into_boxed_slice())
        })
    }

    /// A family in the catalogue.
    pub fn parse(text: &str) -> Option<Family> {
        let cat = catalogue().read().unwrap_or_else(|p| p.into_inner());
        cat.defs.get_key_value(text).map(|(name, _)| Family(name))
    }

    pub fn names() -> Vec<&'static str> {
        Family::all().into_iter().map(|f| f.0).collect()
    }

    /// Whether the family is defined by a segment (`dim=value` terms) the learner must name.
    pub fn has_segment(self) -> bool {
        self.def().segment
    }

    /// Whether the family belongs to `product`.
    pub fn belongs_to(self, product: &str) -> bool {
        let products = &self.def().products;
        products.is_empty() || products.iter().any(|p| p == product)
    }
}

impl std::fmt::Debug for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Family({})", self.0)
    }
}

impl Serialize for Family {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if !is_name(&text) {
            return Err(serde::de::Error::custom(format!(
                "bad family name {text:?}: use lower-case letters, digits and '_'"
            )));
        }
        // Known or not: a scenario may define the family further down its file, and
        // validation names an unknown family with the catalogue's names beside it.
        Ok(Family(intern(&text)))
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

/// Whether `family` is in the catalogue (a deserialised name may not be).
pub fn is_known(family: Family) -> bool {
    Family::parse(family.name()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_parses_and_names_every_built_in_family() {
        let file = parse_families(EMBEDDED_FAMILIES).expect("products/families.toml parses");
        for f in [
            Family::TrackingLoss,
            Family::DuplicateSessions,
            Family::PartialDay,
            Family::DefinitionChange,
            Family::BotTraffic,
            Family::ReleaseBug,
            Family::BrowserBug,
            Family::LatencyRegression,
            Family::PaymentOutage,
            Family::PriceChange,
            Family::UiStepChange,
            Family::LowIntentCampaign,
            Family::HighIntentChannelEnd,
            Family::NewReturningMix,
            Family::HolidayHangover,
            Family::WeekdayMismatch,
            Family::OsUpdate,
            Family::RegionalEvent,
            Family::CompetitorPromo,
            Family::Noise,
        ] {
            assert!(file.contains_key(f.name()), "{f} missing from products/families.toml");
            assert_eq!(Family::parse(f.name()), Some(f));
        }
    }

    #[test]
    fn every_family_has_a_look_alike_actions_and_a_known_context_table() {
        for f in Family::all() {
            let def = f.def();
            assert!(!def.signature.is_empty() && !def.evidence.is_empty(), "{f}");
            assert!(def.evidence.starts_with("dropcase "), "{f}: {}", def.evidence);
            assert!(!def.actions.is_empty(), "{f} names no action");
            for a in &def.actions {
                assert!(Action::parse(a).is_some(), "{f}: action {a:?} is not one of {:?}", Action::names());
            }
            if let Some(line) = &def.context {
                assert!(["releases", "marketing", "config_changes"].contains(&line.table.as_str()), "{f}");
            }
            if f != Family::Noise {
                assert!(!def.mechanisms.is_empty() || f == Family::WeekdayMismatch, "{f} has no mechanism");
            }
        }
    }

    #[test]
    fn names_intern_to_one_address_and_steps_order_by_the_funnel() {
        assert!(std::ptr::eq(intern("engage"), intern(&String::from("engage"))));
        assert!(Stage::View < Stage::Purchase);
        assert!(Stage::Purchase < Stage::new("engage"));
        assert_eq!(Stage::Purchase.metric(), "purchase_rate");
    }

    #[test]
    fn a_scenario_family_may_not_redefine_a_catalogue_one() {
        let mut defs = parse_families(EMBEDDED_FAMILIES).unwrap();
        let mut changed = defs.remove("release_bug").unwrap();
        changed.lookalike = "something_else".into();
        let err = register(&BTreeMap::from([("release_bug".to_string(), changed)])).unwrap_err();
        assert!(err.contains("already in the catalogue"), "{err}");
    }
}
