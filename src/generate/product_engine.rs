//! The generic generator: any product but the shop (which keeps its tuned model in
//! `model.rs`) from its file and a case's causes. Users are drawn once (when they first
//! come, how long they stay, how often they return, their fixed dimensions); whether a user
//! is active on a day is a pure function of the seed, the user and the day, so each day is
//! simulated on its own, in parallel, and the same seed gives the same bytes whatever the
//! number of cores. Causes act through mechanisms: `step_rate`, `traffic`, `return_rate`,
//! `logging_loss`, `definition`, `late_data`, `latency`, `price` and `calendar`.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use fixedbitset::FixedBitSet;

use super::model::mix_seed;
use super::sample::{Bits, Discrete, LogNormal, ShortBits};
use crate::brief::Window;
use crate::product::{Derived, Per, Product, Unit};
use crate::query::metric::{Measure, Metric};

/// A missing dimension value.
pub const NULL: u8 = u8::MAX;

/// What a mechanism does (the names of the families catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    StepRate,
    Traffic,
    ReturnRate,
    LoggingLoss,
    Definition,
    LateData,
    Latency,
    Price,
    Calendar,
}

impl Mechanism {
    /// The catalogue's mechanism, when this generator implements it.
    pub fn from_catalogue(mechanism: crate::scenario::family::Mechanism) -> Option<Mechanism> {
        use crate::scenario::family::Mechanism as M;
        Some(match mechanism {
            M::StepRate => Mechanism::StepRate,
            M::Traffic => Mechanism::Traffic,
            M::ReturnRate => Mechanism::ReturnRate,
            M::LoggingLoss => Mechanism::LoggingLoss,
            M::Definition => Mechanism::Definition,
            M::LateData => Mechanism::LateData,
            M::Latency => Mechanism::Latency,
            M::Price => Mechanism::Price,
            M::Calendar => Mechanism::Calendar,
            M::Mix | M::Duplication | M::Timezone | M::Attribution => return None,
        })
    }

    /// The mechanisms this generator implements, for messages.
    pub const NAMES: &'static str =
        "step_rate, traffic, return_rate, logging_loss, definition, late_data, latency, price, calendar";
}

/// One term of a cause's composition.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub mechanism: Mechanism,
    /// Step index it acts on (default: the cause's step).
    pub step: Option<usize>,
    pub weight: f64,
    /// `remove` / `bots` / `low_intent` for traffic.
    pub profile: Option<String>,
}

/// A resolved cause of a product case.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductCause {
    pub family: String,
    pub terms: Vec<Term>,
    pub target: Vec<(String, String)>,
    /// The step the cause hits (index into the product's steps).
    pub step: Option<usize>,
    pub start: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
    pub size: f64,
    pub ramp_days: f64,
    pub decoy: bool,
}

/// A product case with every random choice made.
#[derive(Debug, Clone)]
pub struct ProductCase {
    pub product: &'static Product,
    pub seed: u64,
    pub start: NaiveDate,
    pub days: u32,
    pub baseline: Window,
    pub current: Window,
    pub rows_per_day: f64,
    pub causes: Vec<ProductCause>,
}

impl ProductCase {
    pub fn date(&self, day: u32) -> NaiveDate {
        self.start + Duration::days(i64::from(day))
    }

    pub fn end(&self) -> NaiveDate {
        self.date(self.days - 1)
    }
}

/// A target compiled to (dimension slot, code) pairs; `None` when a value is unknown.
type Target = Vec<(usize, u8)>;

struct CompiledCause {
    target: Target,
    start_ms: i64,
    end_ms: Option<i64>,
    size: f64,
    ramp_ms: f64,
    terms: Vec<(Mechanism, Option<usize>, f64, Profile)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Profile {
    Remove,
    /// Added users of an intent level ([`INTENTS`]).
    Add {
        intent: u8,
    },
    None,
}

impl CompiledCause {
    fn strength(&self, t_ms: i64) -> f64 {
        if t_ms < self.start_ms || self.end_ms.is_some_and(|e| t_ms >= e) {
            return 0.0;
        }
        if self.ramp_ms <= 0.0 {
            return self.size;
        }
        self.size * ((t_ms - self.start_ms) as f64 / self.ramp_ms).min(1.0)
    }

    fn hits(&self, codes: &[u8]) -> bool {
        in_segment(&self.target, codes)
    }

    /// Whether the cause changes rows once a user has come (a step, the load time, the
    /// value, what the client logs, rows of a row-level segment removed), not only who
    /// comes (returns, a holiday, added users).
    fn acts_on_rows(&self) -> bool {
        let removes = self.terms.iter().any(|t| t.3 == Profile::Remove);
        self.terms.iter().any(|t| match t.0 {
            Mechanism::ReturnRate | Mechanism::Calendar => false,
            Mechanism::Traffic => removes,
            _ => true,
        })
    }
}

/// Whether `codes` are in the segment `target` (every slot holds its code).
#[inline]
fn in_segment(target: &[(usize, u8)], codes: &[u8]) -> bool {
    target.iter().all(|&(slot, code)| codes[slot] == code)
}

/// A rollout on one platform: old code, new code, start day, adoption days, max share.
type Rollout = (u8, u8, f64, f64, f64);

/// One day's encoded row groups: the main table's (if any) and each source's.
type EncodedDay = (Option<Vec<EncodedRowGroup>>, Vec<Vec<EncodedRowGroup>>);

// A product has a handful of dimensions: their size does not matter.
#[allow(clippy::large_enum_variant)]
enum DimKind {
    /// Drawn once per user, or per row; `cases` first (the first whose segment matches).
    Fixed {
        per: Per,
        default: Option<Discrete>,
        cases: Vec<(Target, Discrete)>,
        when: Option<Target>,
        at: Option<usize>,
    },
    UserType,
    /// Per platform code: (old, new, first day of the rollout (model day), adoption days, max share).
    Rollout {
        by_platform: Vec<Option<Rollout>>,
        /// Per platform code, per day of the data: the new version's share that day.
        shares: Vec<Vec<f64>>,
    },
}

/// The new version's share of a rollout on day `day`.
fn rollout_share(&(_, _, start, adoption, max_share): &Rollout, day: i32) -> f64 {
    max_share * ((f64::from(day) + 0.5 - start) / adoption).clamp(0.0, 1.0)
}

/// Everything the hot loop needs, compiled from the product and the case.
pub struct Engine {
    pub case: ProductCase,
    /// Dictionary of each dimension slot.
    pub values: Vec<Vec<String>>,
    dims: Vec<DimKind>,
    platform_slot: Option<usize>,
    causes: Vec<CompiledCause>,
    /// Per step: steady effects as (target, multiplier).
    effects: Vec<Vec<(Target, f64)>>,
    measures: Vec<(usize, LogNormal)>,
    latency: Option<LogNormal>,
    elasticity: f64,
    hours: Discrete,
    /// Shared with the world without a cause when no cause adds or removes users.
    users: Arc<Users>,
    /// Per day: the weekday factor times the day's noise (activity multiplier).
    day_factor: Vec<f64>,
    /// Per day: the terms acting on returns at its noon, in the causes' order, as (cause,
    /// strength × weight, whether it keeps first days and new users away too (a calendar
    /// effect) rather than only returning users (a return rate)).
    returns_on: Vec<Vec<(usize, f64, bool)>>,
    /// Per day: the seed's key of the day, which a user's key turns into that user-day's
    /// random stream (see [`Engine::user_day`]).
    day_keys: Vec<u64>,
    /// Per source: the share of rows reaching the step it records, at the base rates (the
    /// room a chunk reserves for its rows).
    source_shares: Vec<f64>,
    /// Expected new users per day at weekly factor 1.
    pub base_new: f64,
}

/// A user's intent (a multiplier of every step after the first) by level: a user of the
/// product, one an added-traffic cause brings, a bot (who never comes back).
const INTENTS: [f32; 3] = [1.0f64 as f32, 0.5f64 as f32, 0.15f64 as f32];
const LOW_INTENT: u8 = 1;
const BOTS: u8 = 2;

/// At most this many days in a product's period (user days are stored in 16 bits, with
/// up to [`MAX_HORIZON`] days before the data).
pub const MAX_DAYS: u32 = 20_000;
const MAX_HORIZON: f64 = 2000.0;

/// At most this many dimensions (codes live in fixed buffers in the hot loop).
pub const MAX_SLOTS: usize = 32;

/// The users, flat: index = user id - 1.
#[derive(Default)]
struct Users {
    /// The day of the first visit (negative: before the data), and the first day the user
    /// is gone, capped at the number of days (later makes no difference): 16 bits each, a
    /// saving of 60 MB a copy at 100M rows.
    signup: Vec<i16>,
    end: Vec<i16>,
    propensity: Vec<f32>,
    adopt: Vec<f32>,
    /// Intent level, an index into [`INTENTS`].
    intent: Vec<u8>,
    codes: Vec<u8>,
    /// Each user's random stream, keyed by its signup day and place in that day's plan, not
    /// by its index: removing users (a cause, or the world without one) leaves every other
    /// user's draws unchanged, so a counterfactual differs by the cause alone.
    key: Vec<u64>,
    /// Users sorted by signup: the first index whose signup is above day d, per day.
    upto: Vec<usize>,
}

impl Users {
    /// Room for `users` more users of `slots` dimensions, exactly.
    fn reserve_exact(&mut self, users: usize, slots: usize) {
        self.key.reserve_exact(users);
        self.signup.reserve_exact(users);
        self.end.reserve_exact(users);
        self.propensity.reserve_exact(users);
        self.adopt.reserve_exact(users);
        self.intent.reserve_exact(users);
        self.codes.reserve_exact(users * slots);
    }

    /// Appends the users of `other` after these.
    fn append(&mut self, other: Users) {
        self.key.extend(other.key);
        self.signup.extend(other.signup);
        self.end.extend(other.end);
        self.propensity.extend(other.propensity);
        self.adopt.extend(other.adopt);
        self.intent.extend(other.intent);
        self.codes.extend(other.codes);
    }
}

/// `x.round()` for 0 ≤ x < 2⁵², exactly (halves away from zero), without the library
/// call: `x − trunc(x)` is exact in that range, so the comparison decides as `round` does.
fn round_positive(x: f64) -> f64 {
    let whole = x as i64 as f64;
    // As a number rather than a branch: which way a value rounds is a coin flip.
    whole + f64::from(u8::from(x - whole >= 0.5))
}

/// The splitmix64 finaliser (Steele, Lea & Flood 2014): one round of mixing, enough to
/// turn two independent 64-bit keys xored together into an unrelated 64-bit value.
fn mix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Salts of a user-day's streams: the come-back draw is the user-day value itself.
const SESSIONS_SALT: u64 = 0x5E55_10E5_C0DE_0001;
const ROW_SALT: u64 = 0x20A5_E551_0A00_0000;

fn u01(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn day_ms(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// Evening-heavy hours of the day (UTC), summing to about 1.
const HOURS: [f64; 24] = [
    0.020, 0.014, 0.010, 0.008, 0.008, 0.012, 0.022, 0.034, 0.044, 0.048, 0.050, 0.052, 0.054, 0.052, 0.050,
    0.050, 0.052, 0.056, 0.062, 0.068, 0.070, 0.064, 0.050, 0.034,
];

impl Engine {
    pub fn new(case: ProductCase) -> anyhow::Result<Engine> {
        Engine::with_users(case, None)
    }

    /// The engine of `case`, its users drawn, or `users` when given (drawn for the same
    /// product, seed and volume, by a case whose causes add and remove no users).
    fn with_users(case: ProductCase, users: Option<Arc<Users>>) -> anyhow::Result<Engine> {
        let product = case.product;
        anyhow::ensure!(
            case.days <= MAX_DAYS,
            "product {} has a period of {} days; at most {MAX_DAYS}",
            product.name,
            case.days
        );
        let values: Vec<Vec<String>> = product.dimensions.iter().map(|d| product.values_of(d)).collect();
        let slot_of = |name: &str| product.dimensions.iter().position(|d| d.name == name);
        let code_of =
            |slot: usize, value: &str| values[slot].iter().position(|v| v == value).map(|c| c as u8);
        let compile = |text: &[(String, String)]| -> anyhow::Result<Target> {
            text.iter()
                .map(|(dim, value)| {
                    let slot = slot_of(dim).ok_or_else(|| {
                        anyhow::anyhow!("product {} has no dimension '{dim}'", product.name)
                    })?;
                    let code = code_of(slot, value).ok_or_else(|| {
                        anyhow::anyhow!("'{dim}' of product {} has no value '{value}'", product.name)
                    })?;
                    Ok((slot, code))
                })
                .collect()
        };
        let parse = |text: &str| -> anyhow::Result<Target> {
            compile(&crate::scenario::parse_terms(text).map_err(|e| anyhow::anyhow!("{text}: {e}"))?)
        };
        let platform_slot = slot_of("platform");
        let start_day_of_current = (case.current.from - case.start).num_days() as f64;
        let mut dims = Vec::new();
        for (slot, d) in product.dimensions.iter().enumerate() {
            let discrete = |shares: &std::collections::BTreeMap<String, f64>| {
                Discrete::new(shares.iter().map(|(v, w)| (code_of(slot, v).expect("a listed value"), *w)))
            };
            dims.push(match d.derived {
                Some(Derived::UserType) => DimKind::UserType,
                Some(Derived::Rollout) => {
                    let platforms = platform_slot.map(|p| values[p].clone()).unwrap_or_default();
                    let by_platform = platforms
                        .iter()
                        .map(|platform| {
                            product
                                .rollouts
                                .iter()
                                .find(|r| r.dimension == d.name && &r.platform == platform)
                                .map(|r| {
                                    (
                                        code_of(slot, &r.old).expect("a rollout value"),
                                        code_of(slot, &r.new).expect("a rollout value"),
                                        start_day_of_current + r.start_day as f64,
                                        r.adoption_days,
                                        r.max_share,
                                    )
                                })
                        })
                        .collect::<Vec<Option<Rollout>>>();
                    let shares = by_platform
                        .iter()
                        .map(|r| match r {
                            Some(r) => (0..case.days as i32).map(|day| rollout_share(r, day)).collect(),
                            None => Vec::new(),
                        })
                        .collect();
                    DimKind::Rollout { by_platform, shares }
                }
                None => DimKind::Fixed {
                    per: d.per,
                    default: (!d.values.is_empty()).then(|| discrete(&d.values)),
                    cases: d
                        .cases
                        .iter()
                        .map(|c| Ok((parse(&c.when)?, discrete(&c.values))))
                        .collect::<anyhow::Result<_>>()?,
                    when: d.when.as_deref().map(parse).transpose()?,
                    at: d.at.as_deref().and_then(|s| product.step(s).map(|(i, _)| i)),
                },
            });
        }
        let mut causes = Vec::new();
        for cause in &case.causes {
            let terms = cause
                .terms
                .iter()
                .map(|t| {
                    let profile = match (t.mechanism, t.profile.as_deref()) {
                        (Mechanism::Traffic, Some("remove")) => Profile::Remove,
                        (Mechanism::Traffic, Some("bots")) => Profile::Add { intent: BOTS },
                        (Mechanism::Traffic, _) => Profile::Add { intent: LOW_INTENT },
                        _ => Profile::None,
                    };
                    (t.mechanism, t.step.or(cause.step), t.weight, profile)
                })
                .collect();
            causes.push(CompiledCause {
                target: compile(&cause.target)?,
                start_ms: cause.start.and_utc().timestamp_millis(),
                end_ms: cause.end.map(|e| e.and_utc().timestamp_millis()),
                size: cause.size,
                ramp_ms: cause.ramp_days * 86_400_000.0,
                terms,
            });
        }
        let effects = product
            .steps
            .iter()
            .map(|s| {
                product
                    .effects
                    .iter()
                    .filter(|e| e.step == s.name)
                    .map(|e| Ok((parse(&e.target)?, e.multiplier)))
                    .collect()
            })
            .collect::<anyhow::Result<Vec<Vec<_>>>>()?;
        let lognormal = |spec: &crate::product::LogNormalSpec| LogNormal::new(spec.median.ln(), spec.sigma);
        let measures = product
            .measures
            .iter()
            .map(|m| (product.step(&m.at).map(|(i, _)| i).unwrap_or(0), lognormal(&m.lognormal)))
            .collect();
        let u = &product.users;
        // Expected rows a day's new users bring over their lives, so the volume asked for
        // sets the number of new users a day.
        let h = u.churn_per_day;
        let mut per_new = 0.0;
        let mut survive = 1.0;
        for age in 0..4000 {
            let p = if age == 0 {
                1.0
            } else if age < u.new_days {
                u.return_probability.new
            } else {
                u.return_probability.returning
            };
            per_new += survive * p;
            survive *= 1.0 - h;
            if survive < 1e-6 {
                break;
            }
        }
        let base_new = case.rows_per_day / (per_new * u.sessions_per_active_day);
        anyhow::ensure!(
            values.len() <= MAX_SLOTS,
            "product {} has {} dimensions; at most {MAX_SLOTS}",
            product.name,
            values.len()
        );
        let day_factor = (0..case.days)
            .map(|d| {
                let date = case.date(d);
                let noise = crate::stats::dist::normal_quantile(
                    u01(mix_seed(&[case.seed, 0xDA1, u64::from(d)])).clamp(1e-9, 1.0 - 1e-9),
                )
                .clamp(-2.0, 2.0);
                product.weekly[date.weekday().num_days_from_monday() as usize] * (1.0 + 0.03 * noise)
            })
            .collect();
        let returns_on = (0..case.days)
            .map(|d| {
                let noon = day_ms(case.date(d)) + 43_200_000;
                let mut terms = Vec::new();
                for (c, cause) in causes.iter().enumerate() {
                    for &(mechanism, _, weight, _) in &cause.terms {
                        let everyone = match mechanism {
                            Mechanism::ReturnRate => false,
                            Mechanism::Calendar => true,
                            _ => continue,
                        };
                        let s = cause.strength(noon) * weight;
                        if s != 0.0 {
                            terms.push((c, s, everyone));
                        }
                    }
                }
                terms
            })
            .collect();
        let day_keys = (0..case.days).map(|d| mix_seed(&[case.seed, 0xAC7, u64::from(d)])).collect();
        let source_shares = product
            .sources
            .iter()
            .map(|source| {
                let upto = product.step(&source.from).map(|(i, _)| i).unwrap_or(0);
                product.steps[..=upto].iter().map(|step| step.base).product::<f64>().min(1.0)
            })
            .collect();
        let mut engine = Engine {
            values,
            dims,
            platform_slot,
            causes,
            effects,
            measures,
            latency: product.latency.as_ref().map(|l| lognormal(&l.lognormal)),
            elasticity: product.latency.as_ref().map(|l| l.elasticity).unwrap_or(0.0),
            hours: Discrete::new(HOURS.iter().enumerate().map(|(h, w)| (h as u8, *w))),
            users: Arc::new(Users::default()),
            day_factor,
            returns_on,
            day_keys,
            source_shares,
            base_new,
            case,
        };
        match users {
            Some(users) => engine.users = users,
            None => engine.draw_users(),
        }
        Ok(engine)
    }

    /// The world without cause `index`: the same users when no cause of the case adds or
    /// removes any (they are drawn the same either way), so its counterfactual costs no
    /// second copy of the users (a quarter of a gigabyte at 100M rows).
    pub fn without(&self, index: usize) -> anyhow::Result<Engine> {
        let mut case = self.case.clone();
        case.causes.remove(index);
        let same_users =
            !self.case.causes.iter().any(|c| c.terms.iter().any(|t| t.mechanism == Mechanism::Traffic));
        Engine::with_users(case, same_users.then(|| Arc::clone(&self.users)))
    }

    fn product(&self) -> &'static Product {
        self.case.product
    }

    fn slots(&self) -> usize {
        self.values.len()
    }

    /// Users alive at the start (their first day in the past) and every new user.
    fn draw_users(&mut self) {
        let days = self.case.days as i32;
        let log_keep = (1.0 - self.product().users.churn_per_day).ln();
        let horizon = ((0.001f64).ln() / log_keep).ceil().min(MAX_HORIZON) as i32;
        // Each signup day draws from streams of its own, so the days are drawn in parallel,
        // a batch at a time, and joined in order into columns sized for every planned user
        // (no growth slack, which was up to half their memory at 100M rows; a batch's own
        // columns are the only copy).
        let signups: Vec<i32> = (-horizon..days).collect();
        let planned: usize = signups.iter().map(|&signup| self.planned(signup).len()).sum();
        let mut users = Users::default();
        users.reserve_exact(planned, self.slots());
        for batch in signups.chunks(32) {
            let parts: Vec<Users> = batch.par_iter().map(|&signup| self.draw_signup_day(signup)).collect();
            for part in parts {
                users.append(part);
            }
        }
        users.upto = (0..days).map(|d| users.signup.partition_point(|&s| i32::from(s) <= d)).collect();
        self.users = Arc::new(users);
    }

    /// The users planned to first come on day `signup`, each as (the added-traffic cause
    /// that brings them, their intent): the day's arrivals (before the data, those still
    /// alive at its start), then each added-traffic cause's.
    fn planned(&self, signup: i32) -> Vec<(Option<usize>, u8)> {
        let product = self.product();
        let h = product.users.churn_per_day;
        let date_ms = day_ms(self.case.start) + i64::from(signup) * 86_400_000;
        let weekday =
            (self.case.start + Duration::days(i64::from(signup))).weekday().num_days_from_monday() as usize;
        let mut rng = Bits::new(mix_seed(&[self.case.seed, 0x05E2, signup as u64]));
        let survive = if signup < 0 { (1.0 - h).powi(-signup) } else { 1.0 };
        let expected = self.base_new * product.weekly[weekday] * survive;
        // Normal approximation of a Poisson count (exact enough above a few users).
        let z = crate::stats::dist::normal_quantile(u01(rng.u64()).clamp(1e-12, 1.0 - 1e-12));
        let count = (expected + z * expected.sqrt()).round().max(0.0) as u64;
        let mut planned: Vec<(Option<usize>, u8)> = (0..count).map(|_| (None, 0)).collect();
        // Added traffic: users of the target, with their own intent.
        for (c, cause) in self.causes.iter().enumerate() {
            for &(mechanism, _, weight, profile) in &cause.terms {
                if let (Mechanism::Traffic, Profile::Add { intent }) = (mechanism, profile) {
                    let share = cause.strength(date_ms + 43_200_000) * weight;
                    if share > 0.0 {
                        let n = (self.base_new * product.weekly[weekday] * share).round() as u64;
                        planned.extend((0..n).map(|_| (Some(c), intent)));
                    }
                }
            }
        }
        planned
    }

    /// The users who first come on day `signup` (before the data when negative: those
    /// still alive at its start).
    fn draw_signup_day(&self, signup: i32) -> Users {
        let product = self.product();
        let u = &product.users;
        let seed = self.case.seed;
        let h = u.churn_per_day;
        let log_keep = (1.0 - h).ln();
        let lifetime = |x: f64| ((x.max(1e-300).ln() / log_keep).floor() as i32).saturating_add(1);
        let slots = self.slots();
        let mut users = Users::default();
        let date_ms = day_ms(self.case.start) + i64::from(signup) * 86_400_000;
        {
            let planned = self.planned(signup);
            // At most the planned users stay (removed traffic drops some): no growth slack.
            users.reserve_exact(planned.len(), slots);
            for (k, (forced, intent)) in planned.into_iter().enumerate() {
                let key = mix_seed(&[signup as u64, k as u64, forced.map_or(0, |c| c as u64 + 1)]);
                let mut r = Bits::new(mix_seed(&[seed, 0x05E3, key]));
                let mut codes = [NULL; MAX_SLOTS];
                for (slot, dim) in self.dims.iter().enumerate() {
                    if let DimKind::Fixed { per: Per::User, default, cases, when, at: None } = dim {
                        if when.as_ref().is_some_and(|w| !w.iter().all(|&(s, c)| codes[s] == c)) {
                            continue;
                        }
                        let pick = cases
                            .iter()
                            .find(|(t, _)| t.iter().all(|&(s, c)| codes[s] == c))
                            .map(|(_, d)| d)
                            .or(default.as_ref());
                        codes[slot] = pick.map(|d| d.draw(r.u32())).unwrap_or(NULL);
                    }
                }
                if let Some(c) = forced {
                    for &(slot, code) in &self.causes[c].target {
                        if matches!(self.dims[slot], DimKind::Fixed { per: Per::User, .. }) {
                            codes[slot] = code;
                        }
                    }
                }
                let end = if signup < 0 {
                    lifetime(u01(r.u64()))
                } else {
                    signup.saturating_add(lifetime(u01(r.u64())))
                };
                let propensity =
                    (u.return_probability.returning * (0.4 + 1.2 * u01(r.u64()))).min(0.98) as f32;
                let adopt = u01(r.u64()) as f32;
                // Removed traffic: new users of the target who never come.
                if signup >= 0 && forced.is_none() {
                    let removed = self.causes.iter().any(|cause| {
                        cause.terms.iter().any(|&(m, _, w, p)| {
                            m == Mechanism::Traffic
                                && p == Profile::Remove
                                && self.hits_user(cause, &codes, 0, signup, adopt)
                                && r.chance(cause.strength(date_ms + 43_200_000) * w)
                        })
                    });
                    if removed {
                        continue;
                    }
                }
                users.key.push(key);
                // Both fit: the period and the horizon before it are bounded (`MAX_DAYS`).
                users.signup.push(signup as i16);
                users.end.push(end.min(self.case.days as i32) as i16);
                users.propensity.push(propensity);
                users.adopt.push(adopt);
                users.intent.push(intent);
                users.codes.extend_from_slice(&codes[..slots]);
            }
        }
        users
    }

    /// The user-level codes of user `u` on day `d` (user type and versions filled in).
    fn user_codes(&self, u: usize, d: i32, out: &mut [u8]) {
        let slots = self.slots();
        out[..slots].copy_from_slice(&self.users.codes[u * slots..(u + 1) * slots]);
        self.fill_derived(&mut out[..slots], d - i32::from(self.users.signup[u]), d, self.users.adopt[u]);
    }

    fn fill_derived(&self, codes: &mut [u8], age: i32, day: i32, adopt: f32) {
        for (slot, dim) in self.dims.iter().enumerate() {
            match dim {
                DimKind::UserType => {
                    codes[slot] = u8::from(age >= self.product().users.new_days as i32);
                }
                DimKind::Rollout { by_platform, shares } => {
                    let platform = usize::from(self.platform_slot.map(|p| codes[p]).unwrap_or(NULL));
                    codes[slot] = match by_platform.get(platform).copied().flatten() {
                        Some(rollout) => {
                            let share = usize::try_from(day)
                                .ok()
                                .and_then(|day| shares[platform].get(day).copied())
                                .unwrap_or_else(|| rollout_share(&rollout, day));
                            if f64::from(adopt) < share { rollout.1 } else { rollout.0 }
                        }
                        None => NULL,
                    };
                }
                DimKind::Fixed { .. } => {}
            }
        }
    }

    /// Whether every dimension of the cause's target is fixed per user, so removed traffic
    /// means users who never come rather than rows that vanish.
    pub fn removes_whole_users(&self, cause: &ProductCause) -> bool {
        let product = self.product();
        cause.target.iter().all(|(dim, _)| {
            product.dimensions.iter().position(|x| x.name == *dim).is_some_and(|slot| {
                matches!(self.dims[slot], DimKind::Fixed { per: Per::User, .. } | DimKind::UserType)
            })
        })
    }

    fn hits_user(&self, cause: &CompiledCause, codes: &[u8], age: i32, day: i32, adopt: f32) -> bool {
        let mut all = [NULL; MAX_SLOTS];
        all[..codes.len()].copy_from_slice(codes);
        self.fill_derived(&mut all[..codes.len()], age, day, adopt);
        cause.hits(&all)
    }

    /// User `u`'s random value on day `d` (`d` within the data): one mixing round of the
    /// user's key and the day's. It is the come-back draw; the day's rows seed their
    /// streams from it.
    fn user_day(&self, u: usize, d: usize) -> u64 {
        mix64(self.users.key[u] ^ self.day_keys[d])
    }

    /// Whether user `u` comes on day `d` (a pure function of seed, user and day).
    pub fn active(&self, u: usize, d: i32) -> bool {
        let Ok(day) = usize::try_from(d) else { return false };
        if day >= self.day_keys.len() {
            return false;
        }
        let (draw, p) = self.come_back(u, day);
        draw < p && self.stays_despite_causes(u, day, draw, p)
    }

    /// User `u`'s come-back draw on day `d` (within the data) and the chance it is held
    /// against before any cause: 0 outside the user's life, 1 on their first day (they
    /// arrive; only a calendar effect, a holiday in their country, keeps some arrivals away,
    /// as it keeps returning users away), 0 for a bot's return. Computed without branches,
    /// so a block of users is sorted into comers and stayers without a mispredicted jump
    /// per user (see [`Engine::simulate_users`]).
    #[inline(always)]
    fn come_back(&self, u: usize, d: usize) -> (f64, f64) {
        let users = &self.product().users;
        let day = d as i32;
        let signup = i32::from(self.users.signup[u]);
        let alive = signup <= day && day < i32::from(self.users.end[u]);
        let returning = day - signup >= users.new_days as i32;
        let p = if returning { f64::from(self.users.propensity[u]) } else { users.return_probability.new };
        let p = if self.users.intent[u] == BOTS { 0.0 } else { p } * self.day_factor[d];
        let p = if day == signup { 1.0 } else { p };
        (u01(self.user_day(u, d)), if alive { p } else { 0.0 })
    }

    /// Given a draw under the cause-free chance `p`, whether the causes acting on returns
    /// that day (they only ever lower it) still let user `u` come.
    fn stays_despite_causes(&self, u: usize, d: usize, draw: f64, mut p: f64) -> bool {
        let terms = &self.returns_on[d];
        if terms.is_empty() {
            return true;
        }
        let day = d as i32;
        let signup = i32::from(self.users.signup[u]);
        let returning_day = day != signup && day - signup >= self.product().users.new_days as i32;
        let mut codes = [NULL; MAX_SLOTS];
        let mut filled = false;
        for &(c, s, everyone) in terms {
            if !everyone && !returning_day {
                continue;
            }
            if !filled {
                self.user_codes(u, day, &mut codes);
                filled = true;
            }
            if self.causes[c].hits(&codes) {
                p *= (1.0 - s).max(0.0);
            }
        }
        draw < p
    }

    /// The users of `users` who come on day `d`, in order: a block of 64 at a time, the
    /// cause-free draws first into a bit mask, then the causes for the set bits alone.
    fn comers(&self, d: usize, users: std::ops::Range<usize>) -> impl Iterator<Item = usize> + '_ {
        let blocks = users.clone().step_by(64);
        blocks.flat_map(move |from| {
            let to = (from + 64).min(users.end);
            let mut draws = [0.0; 64];
            let mut chances = [0.0; 64];
            let mut mask = 0u64;
            for (i, u) in (from..to).enumerate() {
                let (draw, p) = self.come_back(u, d);
                draws[i] = draw;
                chances[i] = p;
                mask |= u64::from(draw < p) << i;
            }
            std::iter::from_fn(move || {
                while mask != 0 {
                    let i = mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    if self.stays_despite_causes(from + i, d, draws[i], chances[i]) {
                        return Some(from + i);
                    }
                }
                None
            })
        })
    }

    /// Simulates one day.
    pub fn simulate(&self, day: u32) -> DayChunk {
        self.simulate_users(day, 0..self.users.upto[day as usize])
    }

    /// The day's users split into parts of about [`ROWS_PER_PART`] rows, so a big day is
    /// simulated, tallied and encoded a slice at a time (memory stays bounded at any volume).
    /// A user's rows depend only on the seed, the user and the day, so the parts concatenated
    /// in order are the whole day.
    pub fn day_parts(&self, day: u32) -> Vec<std::ops::Range<usize>> {
        let users = self.users.upto[day as usize];
        let parts = ((self.case.rows_per_day / ROWS_PER_PART as f64).ceil() as usize).clamp(1, users.max(1));
        (0..parts).map(|k| k * users / parts..(k + 1) * users / parts).collect()
    }

    /// The day's tally, simulated part by part.
    pub fn day_tally(&self, day: u32) -> Tally {
        let mut tally = Tally::default();
        for users in self.day_parts(day) {
            tally.merge(self.tally(&self.simulate_users(day, users)));
        }
        tally
    }

    /// Simulates the rows of users `users` (indices in signup order) on one day.
    pub fn simulate_users(&self, day: u32, users: std::ops::Range<usize>) -> DayChunk {
        // The part's expected rows (its share of the day's users), with a margin for the
        // day-to-day noise and the weekly pattern.
        let all = self.users.upto[day as usize].max(1);
        let expected = self.case.rows_per_day * 1.15 * users.len() as f64 / all as f64;
        let rows = (expected as usize).min(users.len() * 8);
        self.simulate_comers(day, self.comers(day as usize, users), rows)
    }

    /// Simulates the rows of `comers`, users who come on day `day` (indices in increasing
    /// order; a user's rows depend only on the seed, the user and the day).
    /// `rows` is the room to reserve for them.
    fn simulate_comers(&self, day: u32, comers: impl Iterator<Item = usize>, rows: usize) -> DayChunk {
        let product = self.product();
        let d = day as i32;
        let date = self.case.date(day);
        let base_ms = day_ms(date);
        let slots = self.slots();
        let steps = product.steps.len();
        let retention = &product.users.retention;
        let last_day = self.case.days as i32 - 1;
        let mut chunk =
            DayChunk::new(day, slots, steps, retention.len(), self.measures.len(), product.sources.len());
        chunk.reserve(rows, slots, self.latency.is_some(), &self.source_shares);
        let mut row_codes = vec![NULL; slots];
        let mut user = [NULL; MAX_SLOTS];
        let mut hit: Vec<(usize, f64)> = Vec::with_capacity(self.causes.len());
        let mut reached = vec![false; steps];
        let mut client = vec![false; steps];
        let mut values = vec![0.0; self.measures.len()];
        let from_steps: Vec<usize> =
            product.sources.iter().map(|s| product.step(&s.from).map(|(i, _)| i).unwrap_or(0)).collect();
        let source_slots: Vec<Vec<usize>> = product
            .sources
            .iter()
            .map(|s| {
                s.dimensions
                    .iter()
                    .map(|d| product.dimensions.iter().position(|x| &x.name == d).expect("validated"))
                    .collect()
            })
            .collect();
        let source_amount: Vec<Option<usize>> = product
            .sources
            .iter()
            .map(|s| s.amount.as_ref().and_then(|a| product.measures.iter().position(|m| &m.name == a)))
            .collect();
        // The dimensions drawn per row, and those drawn at a step (in slot order).
        let row_dims: Vec<usize> = (0..slots)
            .filter(|&slot| matches!(self.dims[slot], DimKind::Fixed { per: Per::Row, at: None, .. }))
            .collect();
        let step_dims: Vec<usize> = (0..slots)
            .filter(|&slot| matches!(self.dims[slot], DimKind::Fixed { at: Some(_), .. }))
            .collect();
        // The causes that change rows at some moment of this day; the others leave every
        // row's draws as they are.
        let row_causes: Vec<usize> = (0..self.causes.len())
            .filter(|&c| {
                let cause = &self.causes[c];
                cause.acts_on_rows()
                    && cause.start_ms < base_ms + 86_400_000
                    && cause.end_ms.is_none_or(|end| end > base_ms)
            })
            .collect();
        for u in comers {
            let signup = i32::from(self.users.signup[u]);
            let user_day = self.user_day(u, day as usize);
            self.user_codes(u, d, &mut user);
            let sessions = match product.unit {
                Unit::UserDay => 1,
                Unit::Session => {
                    let extra = product.users.sessions_per_active_day - 1.0;
                    let mut r = ShortBits::short(user_day ^ SESSIONS_SALT);
                    // Poisson count of extra sessions by inversion.
                    let (mut k, mut p, mut acc, x) = (0u32, (-extra).exp(), (-extra).exp(), u01(r.u64()));
                    while x > acc && k < 50 {
                        k += 1;
                        p *= extra / f64::from(k);
                        acc += p;
                    }
                    1 + k
                }
            };
            let mut client_rows = 0;
            for k in 0..sessions {
                let mut r = ShortBits::short(mix64(user_day ^ ROW_SALT.wrapping_add(u64::from(k))));
                row_codes.copy_from_slice(&user[..slots]);
                let hour = self.hours.draw(r.u32());
                let ts = base_ms + i64::from(hour) * 3_600_000 + r.below(0, 3_600_000) as i64;
                // Row-level dimensions (those at a step are drawn once the flags are known).
                for &slot in &row_dims {
                    if let DimKind::Fixed { default, cases, when, .. } = &self.dims[slot] {
                        draw_dim(&mut row_codes, slot, default, cases, when, &mut r);
                    }
                }
                hit.clear();
                hit.extend(
                    row_causes
                        .iter()
                        .filter(|&&c| self.causes[c].hits(&row_codes))
                        .map(|&c| (c, self.causes[c].strength(ts)))
                        .filter(|(_, s)| *s != 0.0),
                );
                let term_sum = |want: Mechanism, step: Option<usize>| -> f64 {
                    hit.iter()
                        .flat_map(|&(c, s)| {
                            self.causes[c]
                                .terms
                                .iter()
                                .filter(move |t| t.0 == want && (step.is_none() || t.1 == step))
                                .map(move |t| s * t.2)
                        })
                        .sum()
                };
                let slower = term_sum(Mechanism::Latency, None);
                let load = self.latency.as_ref().map(|l| l.draw(r.u64()) * (1.0 + slower));
                let intent = f64::from(INTENTS[usize::from(self.users.intent[u])]);
                let mut before = true;
                for (i, step) in product.steps.iter().enumerate() {
                    let mut p = step.base;
                    for (target, m) in &self.effects[i] {
                        if in_segment(target, &row_codes) {
                            p *= m;
                        }
                    }
                    if i > 0 {
                        p *= intent;
                        p *= (1.0 - self.elasticity * slower).max(0.0);
                    }
                    p *= (1.0 - term_sum(Mechanism::StepRate, Some(i))).max(0.0);
                    before = before && r.chance(p.min(1.0));
                    reached[i] = before;
                }
                let price = term_sum(Mechanism::Price, None);
                for (value, (at, dist)) in values.iter_mut().zip(&self.measures) {
                    let x = dist.draw(r.u64());
                    *value =
                        if reached[*at] { round_positive(x * (1.0 + price) * 100.0) / 100.0 } else { 0.0 };
                }
                // Dimensions at a step (a payment method at checkout).
                for &slot in &step_dims {
                    if let DimKind::Fixed { default, cases, when, at: Some(at), .. } = &self.dims[slot] {
                        if reached[*at] {
                            draw_dim(&mut row_codes, slot, default, cases, when, &mut r);
                        } else {
                            row_codes[slot] = NULL;
                        }
                    }
                }
                // The backend's ledgers see what truly happened.
                for (s, rows) in chunk.sources.iter_mut().enumerate() {
                    if reached[from_steps[s]] {
                        rows.user_id.push(u as u64 + 1);
                        rows.ts.push(ts);
                        rows.codes.extend(source_slots[s].iter().map(|&slot| row_codes[slot]));
                        if let Some(m) = source_amount[s] {
                            rows.amount.push(values[m]);
                        }
                    }
                }
                // Client-side: definitions, loss and late loads.
                client.copy_from_slice(&reached);
                let mut dropped = false;
                for &(c, s) in hit.iter() {
                    for &(mechanism, step, weight, _) in &self.causes[c].terms {
                        let j = step.unwrap_or(1).min(steps - 1);
                        let p = s * weight;
                        match mechanism {
                            Mechanism::LoggingLoss if client[j] && r.chance(p) => client[j..].fill(false),
                            Mechanism::LateData if d == last_day && client[j] && r.chance(p) => {
                                client[j..].fill(false)
                            }
                            Mechanism::Definition if !reached[j] && r.chance(p) => dropped = true,
                            // Rows of a row-level segment (a channel ending).
                            Mechanism::Traffic
                                if self.causes[c].terms.iter().any(|t| t.3 == Profile::Remove)
                                    && r.chance(p)
                                    && !self.causes[c].target.iter().all(|&(slot, _)| {
                                        matches!(
                                            self.dims[slot],
                                            DimKind::Fixed { per: Per::User, .. } | DimKind::UserType
                                        )
                                    }) =>
                            {
                                dropped = true
                            }
                            _ => {}
                        }
                    }
                }
                if dropped {
                    continue;
                }
                client_rows += 1;
                chunk.user_id.push(u as u64 + 1);
                chunk.ts.push(ts);
                chunk.codes.extend_from_slice(&row_codes);
                for (i, flag) in client.iter().enumerate() {
                    chunk.flags[i].push(*flag);
                }
                for (i, n) in retention.iter().enumerate() {
                    let first_row = d == signup && client_rows == 1;
                    let cohort = first_row && d + *n as i32 <= last_day;
                    chunk.cohorts[i].push(cohort);
                    chunk.retained[i].push(cohort && self.active(u, d + *n as i32));
                }
                for (i, v) in values.iter().enumerate() {
                    let at = self.measures[i].0;
                    chunk.values[i].push(if client[at] { *v } else { 0.0 });
                }
                if let Some(load) = load {
                    chunk.latency.push(round_positive(load * 10.0) / 10.0);
                }
            }
            if client_rows > 0 {
                chunk.active.push(u as u32);
            }
        }
        chunk
    }

    /// Number of days.
    pub fn days(&self) -> u32 {
        self.case.days
    }
}

fn draw_dim(
    codes: &mut [u8],
    slot: usize,
    default: &Option<Discrete>,
    cases: &[(Target, Discrete)],
    when: &Option<Target>,
    r: &mut ShortBits,
) {
    if when.as_ref().is_some_and(|w| !w.iter().all(|&(s, c)| codes[s] == c)) {
        codes[slot] = NULL;
        return;
    }
    let pick = cases
        .iter()
        .find(|(t, _)| t.iter().all(|&(s, c)| codes[s] == c))
        .map(|(_, d)| d)
        .or(default.as_ref());
    codes[slot] = pick.map(|d| d.draw(r.u32())).unwrap_or(NULL);
}

/// The rows of a second source in one day, column by column.
#[derive(Debug, Clone, Default)]
pub struct SourceRows {
    pub user_id: Vec<u64>,
    pub ts: Vec<i64>,
    /// Row-major: the codes of the source's own dimensions.
    pub codes: Vec<u8>,
    pub amount: Vec<f64>,
}

impl SourceRows {
    pub fn len(&self) -> usize {
        self.user_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user_id.is_empty()
    }
}

/// One simulated day, column by column.
#[derive(Debug, Default)]
pub struct DayChunk {
    pub day: u32,
    pub user_id: Vec<u64>,
    pub ts: Vec<i64>,
    /// Row-major: `slots` codes per row.
    pub codes: Vec<u8>,
    pub flags: Vec<Vec<bool>>,
    pub cohorts: Vec<Vec<bool>>,
    pub retained: Vec<Vec<bool>>,
    pub values: Vec<Vec<f64>>,
    pub latency: Vec<f64>,
    pub sources: Vec<SourceRows>,
    /// Users with at least one client row (user index).
    pub active: Vec<u32>,
}

impl DayChunk {
    fn new(day: u32, _slots: usize, steps: usize, retention: usize, measures: usize, sources: usize) -> Self {
        DayChunk {
            day,
            flags: vec![Vec::new(); steps],
            cohorts: vec![Vec::new(); retention],
            retained: vec![Vec::new(); retention],
            values: vec![Vec::new(); measures],
            sources: vec![SourceRows::default(); sources],
            ..DayChunk::default()
        }
    }

    /// Room for about `rows` rows of `slots` codes (and each source's share of them), so
    /// the columns grow without copying.
    fn reserve(&mut self, rows: usize, slots: usize, latency: bool, source_shares: &[f64]) {
        self.user_id.reserve(rows);
        self.ts.reserve(rows);
        self.codes.reserve(rows * slots);
        for column in self.flags.iter_mut().chain(&mut self.cohorts).chain(&mut self.retained) {
            column.reserve(rows);
        }
        for column in &mut self.values {
            column.reserve(rows);
        }
        if latency {
            self.latency.reserve(rows);
        }
        for (source, share) in self.sources.iter_mut().zip(source_shares) {
            let n = (rows as f64 * share) as usize;
            source.user_id.reserve(n);
            source.ts.reserve(n);
        }
        self.active.reserve(rows);
    }

    pub fn len(&self) -> usize {
        self.user_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user_id.is_empty()
    }
}

/// What a day holds, for the headline, the truth and the solvability check.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub rows: u64,
    /// Per flag column (steps, then cohort/retained pairs): rows flagged.
    pub flags: Vec<u64>,
    /// Per value measure, then the latency column: sums.
    pub sums: Vec<f64>,
    pub sources: Vec<u64>,
    /// The users active that day, by index: a bitset (an eighth of a byte per user of the
    /// product, where a list of ids took four bytes per row of a user-day product).
    pub active: FixedBitSet,
    /// One per real cause, in the case's order: what its solvability check reads.
    pub targets: Vec<TargetTally>,
}

/// A real cause's target in one day (or window): its rows and its signature step's counts.
#[derive(Debug, Clone, Default)]
pub struct TargetTally {
    pub rows: u64,
    /// The signature step's count (`num`) and the step before's (`den`), inside the target.
    pub num: u64,
    pub den: u64,
    /// The same counts over the rest of the rows.
    pub rest_num: u64,
    pub rest_den: u64,
    /// Distinct users of the target.
    pub active: u64,
    /// Rows of the target whose user is new that day (`user_type` = new).
    pub new_rows: u64,
}

/// Rows a day is simulated in at a time (see [`Engine::day_parts`]).
pub const ROWS_PER_PART: usize = 250_000;

impl Tally {
    /// Adds the tally of another part of the same day (its users are others).
    pub fn merge(&mut self, other: Tally) {
        fn add<T: Copy + std::ops::AddAssign + Default>(a: &mut Vec<T>, b: &[T]) {
            if a.len() < b.len() {
                a.resize(b.len(), T::default());
            }
            for (x, y) in a.iter_mut().zip(b) {
                *x += *y;
            }
        }
        self.rows += other.rows;
        add(&mut self.flags, &other.flags);
        add(&mut self.sums, &other.sums);
        add(&mut self.sources, &other.sources);
        self.active.union_with(&other.active);
        if self.targets.len() < other.targets.len() {
            self.targets.resize(other.targets.len(), TargetTally::default());
        }
        for (a, b) in self.targets.iter_mut().zip(&other.targets) {
            a.add(b);
        }
    }
}

impl TargetTally {
    fn add(&mut self, other: &TargetTally) {
        self.rows += other.rows;
        self.num += other.num;
        self.den += other.den;
        self.rest_num += other.rest_num;
        self.rest_den += other.rest_den;
        self.active += other.active;
        self.new_rows += other.new_rows;
    }
}

impl Engine {
    /// The flag columns in the order of [`Tally::flags`].
    pub fn flag_columns(&self) -> Vec<String> {
        let product = self.product();
        let mut out: Vec<String> = product.steps.iter().map(|s| s.column.clone()).collect();
        for (cohort, retained) in product.retention_columns() {
            out.push(cohort);
            out.push(retained);
        }
        out
    }

    /// The sum columns in the order of [`Tally::sums`].
    pub fn sum_columns(&self) -> Vec<String> {
        let product = self.product();
        let mut out: Vec<String> = product.measures.iter().map(|m| m.name.clone()).collect();
        out.extend(product.latency.iter().map(|l| l.column.clone()));
        out
    }

    /// The signature step of the first real cause: its own, or the first step its terms name.
    pub fn signature_step(&self) -> Option<usize> {
        self.case.causes.iter().find(|c| !c.decoy).and_then(signature_step)
    }

    pub fn tally(&self, chunk: &DayChunk) -> Tally {
        let slots = self.slots();
        let mut t = Tally {
            rows: chunk.len() as u64,
            flags: Vec::new(),
            sums: chunk.values.iter().map(|v| v.iter().sum()).collect(),
            sources: chunk.sources.iter().map(|s| s.len() as u64).collect(),
            active: active_set(&chunk.active),
            ..Tally::default()
        };
        t.sums.push(chunk.latency.iter().sum());
        for (i, flags) in chunk.flags.iter().enumerate() {
            t.flags.push(flags.iter().filter(|f| **f).count() as u64);
            let _ = i;
        }
        for (cohort, retained) in chunk.cohorts.iter().zip(&chunk.retained) {
            t.flags.push(cohort.iter().filter(|f| **f).count() as u64);
            t.flags.push(retained.iter().filter(|f| **f).count() as u64);
        }
        let user_type = self.dims.iter().position(|d| matches!(d, DimKind::UserType));
        for (c, spec) in self.case.causes.iter().enumerate().filter(|(_, c)| !c.decoy) {
            let cause = &self.causes[c];
            let step = signature_step(spec);
            let mut target = TargetTally::default();
            // A user's rows of a day are consecutive, so a new user among the target's rows
            // is one whose id differs from the last counted.
            let mut last_user = None;
            for row in 0..chunk.len() {
                let codes = &chunk.codes[row * slots..(row + 1) * slots];
                let hit = cause.hits(codes);
                if hit {
                    target.rows += 1;
                    // Code 0 of the derived user type is `new` (see `user_codes`).
                    if user_type.is_some_and(|slot| codes[slot] == 0) {
                        target.new_rows += 1;
                    }
                    if last_user != Some(chunk.user_id[row]) {
                        target.active += 1;
                        last_user = Some(chunk.user_id[row]);
                    }
                }
                if let Some(j) = step {
                    let den = if j == 0 { true } else { chunk.flags[j - 1][row] };
                    let num = chunk.flags[j][row];
                    if hit {
                        target.den += u64::from(den);
                        target.num += u64::from(num);
                    } else {
                        target.rest_den += u64::from(den);
                        target.rest_num += u64::from(num);
                    }
                }
            }
            t.targets.push(target);
        }
        t
    }
}

/// A cause's signature step: its own, or the first step its terms name.
fn signature_step(cause: &ProductCause) -> Option<usize> {
    cause.step.or_else(|| cause.terms.iter().find_map(|t| t.step))
}

/// A metric's value over a window from the day tallies (what the queries compute from
/// the files: the same definitions, so the brief's headline is what the learner finds).
pub fn metric_value(engine: &Engine, metric: &Metric, tallies: &[Tally], window: &Window) -> Option<f64> {
    let days: Vec<usize> =
        (0..engine.days()).filter(|d| window.contains(engine.case.date(*d))).map(|d| d as usize).collect();
    let flags = engine.flag_columns();
    let sums = engine.sum_columns();
    let product = engine.product();
    let measure = |m: Measure| -> Option<f64> {
        Some(match m {
            Measure::Rows(_) => days.iter().map(|&d| tallies[d].rows as f64).sum(),
            Measure::Flag(c) => {
                let i = flags.iter().position(|f| f == c)?;
                days.iter().map(|&d| tallies[d].flags[i] as f64).sum()
            }
            Measure::Sum(c) => {
                let i = sums.iter().position(|f| f == c)?;
                days.iter().map(|&d| tallies[d].sums[i]).sum()
            }
            Measure::Source(s) => {
                let i = product.sources.iter().position(|x| x.name == s)?;
                days.iter().map(|&d| tallies[d].sources[i] as f64).sum()
            }
            Measure::Users => {
                let mut set = FixedBitSet::new();
                for &d in &days {
                    set.union_with(&tallies[d].active);
                }
                set.count_ones(..) as f64
            }
            Measure::ActiveUsers(n) => {
                let series = active_series(tallies, n);
                days.iter().map(|&d| series[d]).sum::<f64>() / days.len().max(1) as f64
            }
            Measure::SumSq(_) | Measure::Quantile { .. } => return None,
        })
    };
    let num = measure(metric.numerator)?;
    match metric.denominator {
        None => Some(num),
        Some(den) => {
            let den = measure(den)?;
            (den > 0.0).then(|| num / den)
        }
    }
}

/// The set of user indices `users` (ids of one day's part, each once).
fn active_set(users: &[u32]) -> FixedBitSet {
    let mut set = FixedBitSet::with_capacity(users.iter().max().map_or(0, |&m| m as usize + 1));
    for &u in users {
        set.insert(u as usize);
    }
    set
}

/// Distinct users over the trailing `n` days, per day: the size of the union of the day's
/// active set and the `n − 1` before it. Word by word of the sets, each window's union is
/// one OR of a block-suffix and a block-prefix (the van Herk–Gil–Werman sliding window,
/// blocks of `n` days), so a day costs two ORs and a popcount per word whatever `n` is.
pub fn active_series(tallies: &[Tally], n: u16) -> Vec<f64> {
    let days = tallies.len();
    let n = usize::from(n.max(1));
    let words = tallies.iter().map(|t| t.active.as_slice().len()).max().unwrap_or(0);
    let mut counts = vec![0u64; days];
    let (mut x, mut prefix, mut suffix) = (vec![0usize; days], vec![0usize; days], vec![0usize; days]);
    for w in 0..words {
        for (d, t) in tallies.iter().enumerate() {
            x[d] = t.active.as_slice().get(w).copied().unwrap_or(0);
        }
        for d in 0..days {
            prefix[d] = if d % n == 0 { x[d] } else { prefix[d - 1] | x[d] };
        }
        for d in (0..days).rev() {
            let block_end = d % n == n - 1 || d == days - 1;
            suffix[d] = if block_end { x[d] } else { suffix[d + 1] | x[d] };
        }
        for (d, count) in counts.iter_mut().enumerate() {
            // The window is days d + 1 − n ..= d, from day 0 while d < n − 1.
            let union = match (d + 1).checked_sub(n) {
                Some(start) if start % n != 0 => suffix[start] | prefix[d],
                _ => prefix[d],
            };
            *count += u64::from(union.count_ones());
        }
    }
    counts.into_iter().map(|c| c as f64).collect()
}

// ---------------------------------------------------------------------------------------
// Writing: the same folder layout as the shop's, through the shop's Parquet encoder.

use std::path::Path;
use std::sync::{Arc, mpsc};

use anyhow::Context as _;
use polars::prelude::*;
use rayon::prelude::*;

use super::{
    Dictionaries, EncodedRowGroup, Encoder, boolean_column, create, date_column, datetime_column, parquet,
    write_frame,
};
use crate::schema::files;

impl Engine {
    fn dictionaries(&self) -> PolarsResult<Dictionaries> {
        let dtypes = self
            .values
            .iter()
            .map(|values| {
                FrozenCategories::new(values.iter().map(String::as_str)).map(DataType::from_frozen_categories)
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        Ok(Dictionaries { dtypes })
    }

    /// The main table's frame of one chunk (ids continue from `first_row`).
    fn rows_frame(
        &self,
        dict: &Dictionaries,
        chunk: &mut DayChunk,
        first_row: u64,
    ) -> PolarsResult<DataFrame> {
        let product = self.product();
        let n = chunk.len();
        let slots = self.slots();
        let date = self.case.date(chunk.day);
        let mut columns = vec![
            UInt64Chunked::from_vec(
                crate::schema::sessions::SESSION_ID.into(),
                (first_row..first_row + n as u64).collect(),
            )
            .into_column(),
            UInt64Chunked::from_vec(
                crate::schema::sessions::USER_ID.into(),
                std::mem::take(&mut chunk.user_id),
            )
            .into_column(),
            datetime_column(crate::schema::sessions::TS, std::mem::take(&mut chunk.ts)),
            date_column(crate::schema::sessions::DATE, date, n),
        ];
        for (slot, dim) in product.dimensions.iter().enumerate() {
            let codes: Vec<u8> = (0..n).map(|row| chunk.codes[row * slots + slot]).collect();
            columns.push(dict.column(slot, &dim.name, codes));
        }
        for (step, flags) in product.steps.iter().zip(&chunk.flags) {
            columns.push(boolean_column(&step.column, flags));
        }
        for (i, (cohort, retained)) in product.retention_columns().iter().enumerate() {
            columns.push(boolean_column(cohort, &chunk.cohorts[i]));
            columns.push(boolean_column(retained, &chunk.retained[i]));
        }
        for (m, values) in product.measures.iter().zip(chunk.values.iter_mut()) {
            columns
                .push(Float64Chunked::from_vec(m.name.as_str().into(), std::mem::take(values)).into_column());
        }
        if let Some(l) = &product.latency {
            columns.push(
                Float64Chunked::from_vec(l.column.as_str().into(), std::mem::take(&mut chunk.latency))
                    .into_column(),
            );
        }
        DataFrame::new(n, columns)
    }

    /// One source's frame of one chunk.
    fn source_frame(
        &self,
        dict: &Dictionaries,
        s: usize,
        day: u32,
        rows: &mut SourceRows,
        first: u64,
    ) -> PolarsResult<DataFrame> {
        let product = self.product();
        let source = &product.sources[s];
        let n = rows.len();
        let width = source.dimensions.len();
        let mut columns = vec![
            UInt64Chunked::from_vec(
                format!("{}_id", source.name).as_str().into(),
                (first..first + n as u64).collect(),
            )
            .into_column(),
            UInt64Chunked::from_vec("user_id".into(), std::mem::take(&mut rows.user_id)).into_column(),
            datetime_column("ts", std::mem::take(&mut rows.ts)),
            date_column("date", self.case.date(day), n),
        ];
        for (k, dim) in source.dimensions.iter().enumerate() {
            let slot = product.dimensions.iter().position(|d| &d.name == dim).expect("validated");
            columns.push(dict.column(slot, dim, (0..n).map(|row| rows.codes[row * width + k]).collect()));
        }
        if source.amount.is_some() {
            columns.push(
                Float64Chunked::from_vec("amount".into(), std::mem::take(&mut rows.amount)).into_column(),
            );
        }
        DataFrame::new(n, columns)
    }

    /// Simulates every day (a batch of days per core at a time, in day order) and writes the
    /// main table (one file, or one folder per date), each source and the context logs into
    /// `dir`. Returns each day's tally.
    pub fn write(
        &self,
        dir: &Path,
        partitioned: bool,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<Vec<Tally>> {
        std::fs::create_dir_all(dir.join(files::CONTEXT_DIR))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let product = self.product();
        let dict = self.dictionaries()?;
        let total = (self.case.rows_per_day * f64::from(self.days())) as u64;
        let mut empty = DayChunk::new(
            0,
            self.slots(),
            product.steps.len(),
            product.users.retention.len(),
            product.measures.len(),
            product.sources.len(),
        );
        let schema_rows = self.rows_frame(&dict, &mut empty, 1)?;
        let mut rows_writer = if partitioned {
            None
        } else {
            Some(parquet(create(&dir.join(files::SESSIONS))?).batched(schema_rows.schema())?)
        };
        let rows_encoder = rows_writer.as_ref().map(Encoder::new);
        let mut source_writers = Vec::new();
        for (s, source) in product.sources.iter().enumerate() {
            let frame = self.source_frame(&dict, s, 0, &mut SourceRows::default(), 1)?;
            source_writers.push(
                parquet(create(&dir.join(format!("{}.parquet", source.name)))?).batched(frame.schema())?,
            );
        }
        let source_encoders: Vec<Encoder> = source_writers.iter().map(Encoder::new).collect();
        let threads = rayon::current_num_threads().max(1);
        let days: Vec<(u32, usize, std::ops::Range<usize>)> = (0..self.days())
            .flat_map(|day| {
                self.day_parts(day).into_iter().enumerate().map(move |(k, users)| (day, k, users))
            })
            .collect();
        let mut tallies: Vec<Tally> = Vec::with_capacity(self.days() as usize);
        let (mut next_row, mut next_source, mut done) = (1u64, vec![1u64; product.sources.len()], 0u64);
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let (tx, rx) = mpsc::sync_channel::<Vec<(DayChunk, Tally, usize)>>(1);
            let days_ref = &days;
            scope.spawn(move || {
                for batch in days_ref.chunks(threads) {
                    let produced: Vec<(DayChunk, Tally, usize)> = batch
                        .par_iter()
                        .map(|(day, part, users)| {
                            let chunk = self.simulate_users(*day, users.clone());
                            let tally = self.tally(&chunk);
                            (chunk, tally, *part)
                        })
                        .collect();
                    if tx.send(produced).is_err() {
                        return;
                    }
                }
            });
            for produced in rx {
                let mut work = Vec::with_capacity(produced.len());
                for (chunk, tally, part) in produced {
                    let firsts: Vec<u64> = chunk.sources.iter().zip(&next_source).map(|(_, f)| *f).collect();
                    for (s, rows) in chunk.sources.iter().enumerate() {
                        next_source[s] += rows.len() as u64;
                    }
                    work.push((chunk, next_row, firsts, part));
                    next_row += tally.rows;
                    done += tally.rows;
                    match tallies.last_mut() {
                        Some(day) if part > 0 => day.merge(tally),
                        _ => tallies.push(tally),
                    }
                }
                let encoded: Vec<EncodedDay> = work
                    .into_par_iter()
                    .map(|(mut chunk, first, firsts, part)| -> anyhow::Result<_> {
                        let mut sources = Vec::new();
                        let day = chunk.day;
                        for (s, rows) in chunk.sources.iter_mut().enumerate() {
                            let mut frame = self.source_frame(&dict, s, day, rows, firsts[s])?;
                            sources.push(source_encoders[s].encode(&mut frame)?);
                        }
                        let mut frame = self.rows_frame(&dict, &mut chunk, first)?;
                        let rows = match &rows_encoder {
                            Some(encoder) => Some(encoder.encode(&mut frame)?),
                            None => {
                                let date = self.case.date(day);
                                let folder =
                                    dir.join("sessions").join(format!("date={}", date.format("%Y-%m-%d")));
                                std::fs::create_dir_all(&folder)?;
                                let mut frame = frame.drop(crate::schema::sessions::DATE)?;
                                write_frame(&folder.join(format!("part-{part}.parquet")), &mut frame)?;
                                None
                            }
                        };
                        Ok((rows, sources))
                    })
                    .collect::<anyhow::Result<_>>()?;
                for (rows, sources) in encoded {
                    if let (Some(writer), Some(groups)) = (&mut rows_writer, rows) {
                        for (n, group) in groups {
                            writer.write_row_group(n, &group)?;
                        }
                    }
                    for (writer, groups) in source_writers.iter_mut().zip(sources) {
                        for (n, group) in groups {
                            writer.write_row_group(n, &group)?;
                        }
                    }
                }
                progress(done.min(total), total);
            }
            Ok(())
        })?;
        if let Some(writer) = rows_writer {
            writer.finish()?;
        }
        for writer in source_writers {
            writer.finish()?;
        }
        for (name, text) in self.context_files() {
            std::fs::write(dir.join(files::CONTEXT_DIR).join(name), text)?;
        }
        Ok(tallies)
    }

    /// The release log (the product's rollouts) and the config-change log (causes and
    /// decoys that leave a line), in the shop's formats.
    fn context_files(&self) -> Vec<(&'static str, String)> {
        use super::context::{CONFIG_HEADER, MARKETING_HEADER, RELEASES_HEADER};
        let product = self.product();
        let mut releases = Vec::new();
        for r in &product.rollouts {
            let day = self.case.current.from + Duration::days(r.start_day);
            releases.push(vec![
                day.format("%Y-%m-%d").to_string(),
                r.platform.clone(),
                r.new.clone(),
                "bug fixes and performance improvements".to_string(),
            ]);
        }
        let mut config = Vec::new();
        let mut marketing = Vec::new();
        for cause in &self.case.causes {
            let date = cause.start.date().format("%Y-%m-%d").to_string();
            let Some(line) =
                crate::product::scenario::families().get(&cause.family).and_then(|f| f.context.as_ref())
            else {
                continue;
            };
            let (subject, text) = (line.subject.as_deref().unwrap_or_default(), line.text.as_str());
            match line.table.as_str() {
                "releases" => releases.push(vec![
                    date,
                    subject.to_string(),
                    format!("{}-{}", product.name, cause.start.date().format("%Y.%m.%d")),
                    text.to_string(),
                ]),
                "marketing" => {
                    marketing.push(vec![date.clone(), date, subject.to_string(), text.to_string()])
                }
                "config_changes" => config.push(vec![date, subject.to_string(), text.to_string()]),
                _ => {}
            }
        }
        releases.sort();
        config.sort();
        vec![
            ("releases.csv", crate::output::csv(&RELEASES_HEADER, &releases)),
            ("marketing.csv", crate::output::csv(&MARKETING_HEADER, &marketing)),
            ("config_changes.csv", crate::output::csv(&CONFIG_HEADER, &config)),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// The brief and the solvability check.

use crate::brief::{Brief, Definition, DrillKind, TableNote};

/// The headline metric's relative change between the windows.
pub fn headline_change(engine: &Engine, metric: &Metric, tallies: &[Tally]) -> f64 {
    let case = &engine.case;
    match (
        metric_value(engine, metric, tallies, &case.baseline),
        metric_value(engine, metric, tallies, &case.current),
    ) {
        (Some(b), Some(c)) if b > 0.0 => c / b - 1.0,
        _ => f64::NAN,
    }
}

fn window_sum(engine: &Engine, tallies: &[Tally], window: &Window) -> Tally {
    let mut sum = Tally::default();
    for (d, t) in tallies.iter().enumerate() {
        if !window.contains(engine.case.date(d as u32)) {
            continue;
        }
        sum.rows += t.rows;
        if sum.targets.len() < t.targets.len() {
            sum.targets.resize(t.targets.len(), TargetTally::default());
        }
        for (a, b) in sum.targets.iter_mut().zip(&t.targets) {
            a.add(b);
        }
        if sum.sources.len() < t.sources.len() {
            sum.sources.resize(t.sources.len(), 0);
        }
        for (a, b) in sum.sources.iter_mut().zip(&t.sources) {
            *a += b;
        }
    }
    sum
}

/// `Ok` if the case is fit to hand out: its headline lies in the scenario's range and the
/// signature of every real cause is statistically visible; otherwise why not.
pub fn solvable(
    engine: &Engine,
    metric: &Metric,
    headline: [f64; 2],
    tallies: &[Tally],
) -> Result<(), String> {
    let change = headline_change(engine, metric, tallies);
    let [low, high] = headline;
    if !(low..=high).contains(&change) {
        return Err(format!(
            "headline change of {} {:+.2}% outside the scenario's range [{:+.1}%, {:+.1}%]",
            metric.name,
            change * 100.0,
            low * 100.0,
            high * 100.0
        ));
    }
    let case = &engine.case;
    let (b, c) = (window_sum(engine, tallies, &case.baseline), window_sum(engine, tallies, &case.current));
    let real: Vec<&ProductCause> = case.causes.iter().filter(|c| !c.decoy).collect();
    for (k, cause) in real.iter().enumerate() {
        cause_visible(engine, tallies, cause, k, &b, &c).map_err(|why| {
            if real.len() > 1 { format!("cause {} ({}): {why}", k + 1, cause.family) } else { why }
        })?;
    }
    Ok(())
}

/// Whether real cause `k` (in the case's order) shows its signature: the statistical check
/// of its mechanism against the baseline `b` and the current window `c`.
fn cause_visible(
    engine: &Engine,
    tallies: &[Tally],
    cause: &ProductCause,
    k: usize,
    b: &Tally,
    c: &Tally,
) -> Result<(), String> {
    let case = &engine.case;
    let (bt, ct) = (&b.targets[k], &c.targets[k]);
    let uses = |m: Mechanism| cause.terms.iter().any(|t| t.mechanism == m);
    if signature_step(cause).is_some()
        && (uses(Mechanism::StepRate) || uses(Mechanism::LoggingLoss) || uses(Mechanism::LateData))
    {
        // Late data shows on the last day alone: compare it with the window before.
        let (x0, n0, x1, n1) = if uses(Mechanism::LateData) {
            let last = &tallies.last().expect("days").targets[k];
            (bt.num, bt.den, last.num, last.den)
        } else {
            (bt.num, bt.den, ct.num, ct.den)
        };
        let p = super::check::two_proportion_p(x0, n0, x1, n1);
        let fell = (x1 as f64 / n1.max(1) as f64) < (x0 as f64 / n0.max(1) as f64);
        if !(p < 1e-3 && fell) {
            return Err(format!("the target's step rate did not fall visibly (p = {p:.2e})"));
        }
    }
    let share = |t: &Tally| t.targets[k].rows as f64 / t.rows.max(1) as f64;
    // New users who never arrive (a store de-listing) show first among the new: their
    // share of rows falls long before the target's whole share does.
    let removes_users = cause
        .terms
        .iter()
        .any(|t| t.mechanism == Mechanism::Traffic && t.profile.as_deref() == Some("remove"))
        && engine.removes_whole_users(cause);
    if !cause.target.is_empty() && removes_users {
        // Against the days before the onset (a trend by segment and user type shows it),
        // which may lie before the baseline: the users who never came stay missing.
        let onset = cause.start.date();
        let before = if onset > case.start {
            window_sum(engine, tallies, &Window::new(case.start, onset - Duration::days(1)))
        } else {
            b.clone()
        };
        let new_share = |t: &Tally| t.targets[k].new_rows as f64 / t.rows.max(1) as f64;
        let ratio = new_share(c) / new_share(&before).max(1e-12);
        if ratio > 0.8 {
            return Err(format!("the target's new users' share of rows moved only ×{ratio:.3}"));
        }
        return Ok(());
    }
    if !cause.target.is_empty()
        && (uses(Mechanism::ReturnRate)
            || uses(Mechanism::Calendar)
            || cause
                .terms
                .iter()
                .any(|t| t.mechanism == Mechanism::Traffic && t.profile.as_deref() == Some("remove")))
    {
        let ratio = share(c) / share(b).max(1e-12);
        if ratio > 0.97 {
            return Err(format!("the target's share of rows moved only ×{ratio:.3}"));
        }
    }
    if uses(Mechanism::Definition) {
        let coverage = |t: &Tally| t.rows as f64 / t.sources.first().copied().unwrap_or(0).max(1) as f64;
        let ratio = coverage(c) / coverage(b);
        if ratio > 0.99 {
            return Err(format!("client rows per server row moved only ×{ratio:.3}"));
        }
    }
    Ok(())
}

/// Windows and headline as the learner is told them, with the product's definitions.
pub fn brief(engine: &Engine, metric: &Metric, seed: u64, tallies: &[Tally], product_ref: &str) -> Brief {
    let case = &engine.case;
    let product = engine.product();
    let change = headline_change(engine, metric, tallies);
    let verb = if change < 0.0 { "fell" } else { "rose" };
    let span = |w: &Window| format!("{}–{}", w.from.format("%b %-d, %Y"), w.to.format("%b %-d, %Y"));
    let period = if case.baseline.days() == 7 && case.current.days() == 7 {
        "week over week"
    } else {
        "between the two windows"
    };
    let prompt = format!(
        "{} ({}) {verb} {:.1}% {period}: {} vs {}. Find out why.",
        metric.name,
        product.title,
        change.abs() * 100.0,
        span(&case.current),
        span(&case.baseline)
    );
    let (b, c) = (window_sum(engine, tallies, &case.baseline), window_sum(engine, tallies, &case.current));
    let mut definitions =
        vec![Definition { metric: metric.name.to_string(), definition: metric.definition.to_string() }];
    for m in product.metric_registry() {
        if m.name != metric.name
            && (m.numerator.source().is_some() || m.denominator.and_then(|d| d.source()).is_some())
        {
            definitions.push(Definition { metric: m.name.to_string(), definition: m.definition.to_string() });
        }
    }
    let unit = match product.unit {
        Unit::Session => "one row per session",
        Unit::UserDay => "one row per active user per day",
    };
    let mut tables = vec![TableNote {
        name: "sessions".into(),
        about: format!(
            "client analytics, {unit} ({} in the baseline window, {} in the current)",
            b.rows, c.rows
        ),
    }];
    for source in &product.sources {
        tables.push(TableNote { name: source.name.clone(), about: source.about.clone() });
    }
    tables.push(TableNote {
        name: "releases, marketing, config_changes".into(),
        about: "context logs (context/*.csv); not every entry matters".into(),
    });
    Brief {
        kind: DrillKind::Drop,
        product: product_ref.to_string(),
        prompt,
        metric: metric.name.to_string(),
        baseline: case.baseline,
        current: case.current,
        data_from: case.start,
        data_to: case.end(),
        seed,
        sessions: tallies.iter().map(|t| t.rows).sum(),
        tables,
        definitions,
        families: Default::default(),
    }
}

/// Every day's tally without writing anything (the solvability check of a draw).
pub fn tallies(engine: &Engine) -> Vec<Tally> {
    (0..engine.days()).into_par_iter().map(|d| engine.day_tally(d)).collect()
}

// ---------------------------------------------------------------------------------------
// A whole drill: draws until solvable, the sealed truth, the brief, the checksums.

use std::collections::BTreeMap;

use rand::SeedableRng;

use super::truth::{CauseTruth, DecoyTruth, Truth};
use super::{Generated, Options, folder, replace_dir, seal};
use crate::product::scenario::{ProductScenario, families};
use crate::scenario::{Family, Stage};

/// A product's step as the truth's stage.
/// What every row a cause touched shares beyond its target: a cause that only makes
/// returning users come back less never touches a new user's row, so its rows are all
/// `user_type=returning` (the grader accepts the term, and diagnose may name it).
fn fingerprint(product: &Product, cause: &ProductCause) -> BTreeMap<String, String> {
    let returns_only =
        !cause.terms.is_empty() && cause.terms.iter().all(|t| t.mechanism == Mechanism::ReturnRate);
    let user_type = product.dimensions.iter().find(|d| d.derived == Some(Derived::UserType));
    match user_type {
        Some(dim) if returns_only && !cause.target.iter().any(|(d, _)| *d == dim.name) => {
            BTreeMap::from([(dim.name.clone(), "returning".to_string())])
        }
        _ => BTreeMap::new(),
    }
}

fn stage_of(name: &str) -> Stage {
    Stage::new(name)
}

fn target_text(target: &[(String, String)]) -> String {
    target.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(",")
}

/// The evidence command of a cause: its family's template filled in.
pub fn evidence_command(engine: &Engine, cause: &ProductCause) -> String {
    let product = engine.product();
    let family = &families()[&cause.family];
    let by = if cause.target.is_empty() {
        family
            .hint_by
            .clone()
            .unwrap_or_else(|| product.dimensions.first().map(|d| d.name.clone()).unwrap_or_default())
    } else {
        cause.target.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>().join(",")
    };
    let step_metric = cause
        .step
        .and_then(|i| product.step_metric(&product.steps[i].name))
        .map(|m| m.name)
        .unwrap_or_else(|| product.metric_registry().first().map(|m| m.name).unwrap_or("sessions"));
    family.evidence.replace("{by}", &by).replace("{step_metric}", step_metric)
}

/// What removing real cause `index` (of the case's causes) changes in the current window,
/// per day: the headline metric's unit lost (its numerator for a rate or mean: signups,
/// posts, revenue; the value itself for a count or an active-user metric) and the first
/// second source's rows lost. The world without the cause is simulated from the same seed:
/// every row draws the same random numbers, so the difference is the cause alone.
pub fn counterfactual_impact(
    engine: &Engine,
    metric: &Metric,
    tallies: &[Tally],
    index: usize,
) -> anyhow::Result<(f64, Option<f64>)> {
    let case = &engine.case;
    let world = engine.without(index)?;
    let in_window: Vec<u32> = (0..engine.days()).filter(|d| case.current.contains(case.date(*d))).collect();
    let (Some(&first), Some(&last)) = (in_window.first(), in_window.last()) else {
        anyhow::bail!("the current window {} lies outside the data", case.current);
    };
    let lookback = |m: Measure| if let Measure::ActiveUsers(n) = m { u32::from(n) } else { 0 };
    let back = lookback(metric.numerator).max(metric.denominator.map(lookback).unwrap_or(0));
    let from = first.saturating_sub(back);
    // Before the cause starts the two worlds are the same, but for the retention flags,
    // which look ahead (when the metric reads one): those days are the tallies already
    // made (their per-cause target counts, which the price does not read, aside).
    let onset = (case.causes[index].start.date() - case.start).num_days();
    let retention = case.product.retention_columns();
    let reads_retention = [Some(metric.numerator), metric.denominator].into_iter().flatten().any(|m| {
        matches!(m, Measure::Flag(c) if retention.iter().any(|(cohort, retained)| c == cohort || c == retained))
    });
    let ahead =
        if reads_retention { case.product.users.retention.iter().copied().max().unwrap_or(0) } else { 0 };
    let same_until = u32::try_from(onset - i64::from(ahead)).unwrap_or(0).clamp(from, last + 1);
    // A cause that only keeps users away (a return rate, a holiday), in a case where no
    // cause adds or removes users, changes nothing of the rows of a user who comes in both
    // worlds (their draws are the same), so the world without it is the real day plus the
    // rows of those it kept away: only theirs are simulated. (Their retention flags would
    // differ, which is why a metric reading them takes the full simulation.) A cause that
    // raised a return chance on some day would also bring users the other world lacks.
    let returns_only = !engine.causes[index].acts_on_rows()
        && engine.causes[index]
            .terms
            .iter()
            .all(|t| matches!(t.0, Mechanism::ReturnRate | Mechanism::Calendar))
        && engine.returns_on.iter().flatten().all(|&(c, s, _)| c != index || s > 0.0)
        && Arc::ptr_eq(&engine.users, &world.users)
        && !reads_retention;
    let simulated: Vec<Tally> = (same_until..=last)
        .into_par_iter()
        .map(|d| {
            if !returns_only {
                return world.day_tally(d);
            }
            let mut day = tallies[d as usize].clone();
            for users in world.day_parts(d) {
                let kept_away = world.comers(d as usize, users).filter(|&u| !engine.active(u, d as i32));
                let mut theirs = world.tally(&world.simulate_comers(d, kept_away, 0));
                theirs.targets.clear(); // the other world's causes: not read by the price
                day.merge(theirs);
            }
            day
        })
        .collect();
    let mut other = vec![Tally::default(); from as usize];
    other.extend_from_slice(&tallies[from as usize..same_until as usize]);
    other.extend(simulated);
    other.resize(tallies.len(), Tally::default());
    let days = in_window.len() as f64;
    let per_day = |measure: Measure, t: &[Tally]| -> Option<f64> {
        let numerator = Metric { numerator: measure, denominator: None, ..*metric };
        let total = metric_value(engine, &numerator, t, &case.current)?;
        Some(if matches!(measure, Measure::ActiveUsers(_)) { total } else { total / days })
    };
    let lost =
        |measure: Measure| -> Option<f64> { Some(per_day(measure, &other)? - per_day(measure, tallies)?) };
    let impact =
        lost(metric.numerator).context("the headline metric cannot be priced from the day tallies")?;
    let source = engine
        .product()
        .sources
        .first()
        .and_then(|s| lost(Measure::Source(crate::product::registry::intern(&s.name))));
    Ok((impact, source))
}

/// The headline metric's unit per day in the current window (the scale of an impact).
pub fn headline_units_per_day(engine: &Engine, metric: &Metric, tallies: &[Tally]) -> Option<f64> {
    let case = &engine.case;
    let days = (0..engine.days()).filter(|d| case.current.contains(case.date(*d))).count() as f64;
    let numerator = Metric { numerator: metric.numerator, denominator: None, ..*metric };
    let total = metric_value(engine, &numerator, tallies, &case.current)?;
    Some(if matches!(metric.numerator, Measure::ActiveUsers(_)) { total } else { total / days.max(1.0) })
}

/// What really happened, as the reveal and the grader read it.
pub fn truth(
    engine: &Engine,
    scenario: &ProductScenario,
    metric: &Metric,
    tallies: &[Tally],
) -> anyhow::Result<Truth> {
    let product = engine.product();
    let case = &engine.case;
    let cause = case.causes.iter().find(|c| !c.decoy).context("a scenario has a cause")?;
    let entry = &families()[&cause.family];
    let family = Family::parse(&cause.family)
        .with_context(|| format!("family {} is not in the catalogue", cause.family))?;
    let (b, c) = (window_sum(engine, tallies, &case.baseline), window_sum(engine, tallies, &case.current));
    let rate = |x: u64, n: u64| if n == 0 { f64::NAN } else { x as f64 / n as f64 };
    let stage = engine.signature_step();
    let first = |t: &Tally| t.targets.first().cloned().unwrap_or_default();
    let (bt, ct) = (first(&b), first(&c));
    let target_rate = stage.map(|_| (rate(bt.num, bt.den), rate(ct.num, ct.den)));
    let headline = headline_change(engine, metric, tallies);
    let mut explanation =
        format!("The cause was {} ({} group): {}.", cause.family, entry.group.name(), entry.signature);
    let step_name = stage.map(|i| product.steps[i].name.clone());
    if !cause.target.is_empty() {
        explanation.push_str(&format!(" It hit {}", target_text(&cause.target)));
    } else {
        explanation.push_str(" It hit everyone");
    }
    if let Some(step) = &step_name {
        explanation.push_str(&format!(" at the {step} step"));
    }
    explanation.push_str(&format!(" from {}", cause.start.format("%Y-%m-%d %H:%M")));
    if let Some(end) = cause.end {
        explanation.push_str(&format!(" until {}", end.format("%Y-%m-%d %H:%M")));
    }
    explanation.push('.');
    if let (Some(step), Some((before, after))) = (&step_name, target_rate)
        && before.is_finite()
        && after.is_finite()
    {
        explanation.push_str(&format!(
            " There the {step} rate was {:.2}% in the baseline and {:.2}% in the current window ({:+.1}%), while {} overall moved {:+.1}%.",
            before * 100.0,
            after * 100.0,
            (after / before - 1.0) * 100.0,
            metric.name,
            headline * 100.0
        ));
    } else {
        explanation.push_str(&format!(
            " {} moved {:+.1}% between the windows.",
            metric.name,
            headline * 100.0
        ));
    }
    if let Some(source) = product.sources.first() {
        let per_row = |t: &Tally| t.sources.first().copied().unwrap_or(0) as f64 / t.rows.max(1) as f64;
        explanation.push_str(&format!(
            " The backend's {} per row moved {:+.1}%.",
            source.name,
            (per_row(&c) / per_row(&b) - 1.0) * 100.0
        ));
    }
    explanation.push_str(&format!(" The look-alike to rule out is {}.", entry.lookalike));
    let decoys: Vec<&ProductCause> = case.causes.iter().filter(|c| c.decoy).collect();
    if !decoys.is_empty() {
        let text: Vec<String> = decoys
            .iter()
            .map(|d| {
                format!(
                    "{} on {}",
                    d.family,
                    if d.target.is_empty() { "everyone".into() } else { target_text(&d.target) }
                )
            })
            .collect();
        explanation.push_str(&format!(" Real but small decoys: {}.", text.join("; ")));
    }
    // Every real cause, each priced against the world without it.
    let mut causes = Vec::new();
    for (index, c) in case.causes.iter().enumerate().filter(|(_, c)| !c.decoy) {
        let family = Family::parse(&c.family)
            .with_context(|| format!("family {} is not in the catalogue", c.family))?;
        let (impact, orders_impact) = counterfactual_impact(engine, metric, tallies, index)?;
        let step =
            c.step.or_else(|| c.terms.iter().find_map(|t| t.step)).map(|i| product.steps[i].name.clone());
        let own = if std::ptr::eq(c, cause) {
            explanation.clone()
        } else {
            format!(
                "The cause was {} ({} group): {}. It hit {}{} from {}.",
                c.family,
                families()[&c.family].group.name(),
                families()[&c.family].signature,
                if c.target.is_empty() { "everyone".into() } else { target_text(&c.target) },
                step.as_deref().map(|s| format!(" at the {s} step")).unwrap_or_default(),
                c.start.format("%Y-%m-%d %H:%M")
            )
        };
        causes.push(CauseTruth {
            family,
            segment: c.target.iter().cloned().collect(),
            fingerprint: fingerprint(product, c),
            stage: step.as_deref().map(stage_of),
            start: c.start.date(),
            start_time: c.start,
            end_time: c.end,
            ramp_days: c.ramp_days,
            explanation: own,
            evidence_command: evidence_command(engine, c),
            impact: Some(impact),
            orders_impact,
            actions: family.actions().to_vec(),
        });
    }
    let first = causes.first().context("a scenario has a real cause")?;
    Ok(Truth {
        impact: first.impact,
        orders_impact: first.orders_impact,
        purchases_per_day: headline_units_per_day(engine, metric, tallies),
        actions: first.actions.clone(),
        causes: causes.clone(),
        family,
        segment: cause.target.iter().cloned().collect::<BTreeMap<_, _>>(),
        fingerprint: fingerprint(product, cause),
        stage: step_name.as_deref().map(stage_of),
        start: cause.start.date(),
        start_time: cause.start,
        end_time: cause.end,
        ramp_days: cause.ramp_days,
        size: cause.size,
        scenario: scenario.name.clone(),
        title: scenario.title.clone(),
        difficulty: scenario.difficulty.name().to_string(),
        decoys: decoys
            .iter()
            .filter_map(|d| {
                Some(DecoyTruth {
                    family: Family::parse(&d.family)?,
                    segment: d.target.iter().cloned().collect(),
                    start: d.start.date(),
                })
            })
            .collect(),
        headline_change: headline,
        target_rate,
        explanation,
        evidence_command: evidence_command(engine, cause),
    })
}

/// Generates a product scenario's drill folder at `out`, as [`super::generate`] does for
/// the shop: built under a temporary name, checked, sealed, then moved into place.
pub fn generate(
    scenario: &ProductScenario,
    seed: u64,
    out: &Path,
    options: &Options,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Generated> {
    let product = scenario.product();
    anyhow::ensure!(
        options.days.is_none(),
        "--days is not available for scenarios of the {} product yet: its period is {} days (products/{}.toml)",
        product.name,
        product.period.days,
        product.name
    );
    if let Some(n) = options.sessions {
        anyhow::ensure!(
            (1000..=crate::scenario::MAX_SESSIONS).contains(&n),
            "--sessions {n}: use 1000 to {} rows",
            crate::scenario::MAX_SESSIONS
        );
    }
    let metric = Metric::find_in(product.metric_registry(), &scenario.metric)?;
    folder::settle_previous(out)?;
    folder::check_target(out, options.force, "--out")?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    folder::clean_stale_partials(out);
    let mut last_failure = String::new();
    for attempt in 0..super::MAX_ATTEMPTS {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix_seed(&[seed, 0xCA5E, attempt]));
        let mut case = scenario.draw(&mut rng, seed);
        case.seed = mix_seed(&[seed, attempt]);
        if let Some(n) = options.sessions {
            case.rows_per_day = n as f64 / f64::from(case.days);
        }
        let engine = Engine::new(case)?;
        let tmp = folder::partial_dir(out, std::process::id());
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        let tallies = match engine.write(&tmp, options.partitioned, progress) {
            Ok(t) => t,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(err);
            }
        };
        if let Err(why) = solvable(&engine, metric, scenario.headline, &tallies) {
            last_failure = why;
            std::fs::remove_dir_all(&tmp)?;
            continue;
        }
        let truth = truth(&engine, scenario, metric, &tallies)?;
        let brief = brief(&engine, metric, seed, &tallies, &scenario.product);
        let brief_toml = brief.to_toml();
        std::fs::write(tmp.join(files::BRIEF), &brief_toml)?;
        let salt = mix_seed(&[seed, 0x5EA1]);
        let sealed = seal::seal(&serde_json::to_vec(&truth)?, salt, &crate::brief::identity(&brief_toml)?);
        std::fs::write(tmp.join(files::ANSWER), sealed)?;
        crate::datafile::Manifest::write(&tmp)?;
        replace_dir(&tmp, out)?;
        return Ok(Generated {
            dir: out.to_path_buf(),
            brief,
            truth,
            sessions: tallies.iter().map(|t| t.rows).sum(),
            orders: tallies.iter().map(|t| t.sources.first().copied().unwrap_or(0)).sum(),
            attempts: attempt + 1,
        });
    }
    anyhow::bail!(
        "scenario '{}' with seed {seed} gave no solvable case in {} draws (last: {last_failure}); try another --seed, or more --sessions so the signature is visible",
        scenario.name,
        super::MAX_ATTEMPTS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn quiet_case(product: &str, rows_per_day: f64, seed: u64) -> ProductCase {
        let product = Product::load(product).unwrap();
        let start = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let days = product.period.days;
        let end = start + Duration::days(i64::from(days) - 1);
        let current = Window::new(end - Duration::days(6), end);
        let baseline = Window::new(current.from - Duration::days(7), current.from - Duration::days(1));
        ProductCase { product, seed, start, days, baseline, current, rows_per_day, causes: Vec::new() }
    }

    /// The volume asked for is the volume written (within 5%: the day-to-day noise and the
    /// weekly pattern average out over the period), and the same seed gives the same rows.
    #[test]
    fn volume_and_determinism() {
        let engine = Engine::new(quiet_case("engagement_app", 3000.0, 7)).unwrap();
        let tallies: Vec<Tally> = (0..engine.days()).map(|d| engine.tally(&engine.simulate(d))).collect();
        let rows: u64 = tallies.iter().map(|t| t.rows).sum();
        let expected = 3000.0 * f64::from(engine.days());
        assert!((rows as f64 / expected - 1.0).abs() < 0.05, "{rows} rows against {expected}");
        let again = Engine::new(quiet_case("engagement_app", 3000.0, 7)).unwrap();
        assert!(engine.simulate(30).len() > 1000);
        let a = engine.simulate(30);
        let b = again.simulate(30);
        assert_eq!((a.user_id, a.ts, a.codes), (b.user_id, b.ts, b.codes));
    }

    /// The sliding-window count against the definition: the union of the window's sets,
    /// counted bit by bit, for windows shorter and longer than the data and sets of
    /// different lengths (a product gains users over the days).
    #[test]
    fn active_series_counts_the_union_of_each_trailing_window() {
        let mut r = Bits::new(7);
        let tallies: Vec<Tally> = (0..45)
            .map(|d| {
                let mut active = FixedBitSet::with_capacity(100 + 9 * d);
                for u in 0..active.len() {
                    active.set(u, r.chance(0.2));
                }
                Tally { active, ..Tally::default() }
            })
            .collect();
        for n in [1u16, 3, 7, 28, 60] {
            let series = active_series(&tallies, n);
            for (d, value) in series.iter().enumerate() {
                let mut union = FixedBitSet::new();
                for t in &tallies[(d + 1).saturating_sub(usize::from(n))..=d] {
                    union.union_with(&t.active);
                }
                assert_eq!(*value, union.count_ones(..) as f64, "day {d}, window {n}");
            }
        }
    }

    /// A day simulated in slices of its users is the whole day: the rows concatenate to the
    /// same rows, and the slices' merged tally is the day's.
    #[test]
    fn a_day_in_parts_is_the_whole_day() {
        let engine = Engine::new(quiet_case("engagement_app", 3000.0, 7)).unwrap();
        let users = engine.users.upto[30];
        let whole = engine.simulate(30);
        let (mut user_id, mut ts, mut codes) = (Vec::new(), Vec::new(), Vec::new());
        let mut merged = Tally::default();
        for range in [0..users / 3, users / 3..users / 2, users / 2..users] {
            let part = engine.simulate_users(30, range);
            user_id.extend_from_slice(&part.user_id);
            ts.extend_from_slice(&part.ts);
            codes.extend_from_slice(&part.codes);
            merged.merge(engine.tally(&part));
        }
        assert!(whole.len() > 1000);
        assert_eq!((&user_id, &ts, &codes), (&whole.user_id, &whole.ts, &whole.codes));
        let tally = engine.tally(&whole);
        assert_eq!((merged.rows, &merged.flags, &merged.sources), (tally.rows, &tally.flags, &tally.sources));
        assert_eq!(merged.active, tally.active);
        for (a, b) in merged.sums.iter().zip(&tally.sums) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    /// A drawn case written to a folder reads back through the query layer with the
    /// headline the generator computed: `query compare --metric wau` over the brief's
    /// windows gives the same relative change (to 1e-9), and `query trend --metric wau`
    /// has one point per day.
    #[test]
    fn a_written_case_queries_as_generated() {
        use crate::product::scenario::ProductScenario;
        use crate::query::{CompareSpec, Filter, TrendSpec, compare_segments, trend};
        use rand::SeedableRng;
        let scenario = ProductScenario::find("wau_push_outage").unwrap().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut case = scenario.draw(&mut rng, 11);
        case.rows_per_day = 2500.0;
        let engine = Engine::new(case).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tallies = engine.write(dir.path(), false, &|_, _| {}).unwrap();
        let metric = Metric::find_in(engine.product().metric_registry(), "wau").unwrap();
        let brief = brief(&engine, metric, 11, &tallies, "engagement_app");
        std::fs::write(dir.path().join(files::BRIEF), brief.to_toml()).unwrap();
        crate::datafile::Manifest::write(dir.path()).unwrap();
        let ds = crate::dataset::Dataset::open(Some(dir.path()), None).unwrap();
        assert_eq!(ds.product.name, "engagement_app");
        let spec = CompareSpec {
            metric,
            by: vec!["platform".into()],
            filter: Filter::default(),
            baseline: brief.baseline,
            current: brief.current,
            top: None,
        };
        let comparison = compare_segments(&ds, &spec).unwrap();
        let json = serde_json::to_value(&comparison).unwrap();
        let generated = headline_change(&engine, metric, &tallies);
        let queried = json["total"]["rel_change"].as_f64().unwrap();
        assert!((queried - generated).abs() < 1e-9, "query {queried} vs generator {generated}");
        let t = trend(
            &ds,
            &TrendSpec {
                metric,
                by: vec![],
                filter: Filter::default(),
                grain: crate::query::Grain::Day,
                window: None,
            },
        )
        .unwrap();
        assert_eq!(t.points.len(), engine.days() as usize);
        let series = active_series(&tallies, 7);
        for (point, expected) in t.points.iter().zip(series) {
            assert_eq!(point.value, Some(expected), "{}", point.period);
        }
    }

    /// Writes a world to `dir` the way `generate` does (files, brief, manifest), unchecked.
    fn write_world(engine: &Engine, metric: &'static Metric, dir: &Path) -> Vec<Tally> {
        let tallies = engine.write(dir, false, &|_, _| {}).unwrap();
        let brief = brief(engine, metric, 1, &tallies, &engine.product().name);
        std::fs::write(dir.join(files::BRIEF), brief.to_toml()).unwrap();
        crate::datafile::Manifest::write(dir).unwrap();
        tallies
    }

    /// The headline metric's numerator per day in `window`, read back from the written rows
    /// (an active-user count through `query compare`, which averages its days).
    fn numerator_per_day(dir: &Path, metric: &'static Metric, window: &Window) -> f64 {
        if let Measure::ActiveUsers(_) = metric.numerator {
            let ds = crate::dataset::Dataset::open(Some(dir), None).unwrap();
            let spec = crate::query::CompareSpec {
                metric,
                by: vec![],
                filter: crate::query::Filter::default(),
                baseline: *window,
                current: *window,
                top: None,
            };
            let json = serde_json::to_value(crate::query::compare_segments(&ds, &spec).unwrap()).unwrap();
            return json["total"]["current_value"].as_f64().unwrap();
        }
        let df = crate::datafile::scan_parquet(&dir.join(files::SESSIONS), false).unwrap().collect().unwrap();
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let (lo, hi) = ((window.from - epoch).num_days() as i32, (window.to - epoch).num_days() as i32);
        let dates = df.column("date").unwrap().cast(&DataType::Int32).unwrap();
        let inside: Vec<bool> =
            dates.i32().unwrap().iter().map(|d| d.is_some_and(|d| (lo..=hi).contains(&d))).collect();
        let total = match metric.numerator {
            Measure::Rows(_) => inside.iter().filter(|i| **i).count() as f64,
            Measure::Flag(c) => {
                let flags = df.column(c).unwrap().bool().unwrap().clone();
                flags.iter().zip(&inside).filter(|(v, i)| **i && *v == Some(true)).count() as f64
            }
            Measure::Sum(c) => {
                let values = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
                let values = values.f64().unwrap().clone();
                values.iter().zip(&inside).filter(|(_, i)| **i).map(|(v, _)| v.unwrap_or(0.0)).sum()
            }
            other => panic!("no reading of {other:?} from the rows in this test"),
        };
        total / window.days() as f64
    }

    /// For every product scenario and each of its real causes (#17: "the impact the grader
    /// holds is recomputed from the data"): the world without that cause is generated from
    /// the same seed and written to its own folder, the headline's numerator per day in the
    /// current window is read back from both folders' rows, and their difference is the
    /// sealed impact. Rows draw their random numbers by user and day (common random numbers),
    /// so the two worlds differ only where the cause acted: the issue's bound is 5%; they
    /// agree to rounding (1e-9 relative), which is what is asserted.
    #[test]
    fn every_product_causes_impact_is_the_data_without_it() {
        use crate::product::scenario::ProductScenario;
        use rand::SeedableRng;
        let mut checked = std::collections::BTreeSet::new();
        for scenario in ProductScenario::all().unwrap() {
            let metric = Metric::find_in(scenario.product().metric_registry(), &scenario.metric).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix_seed(&[5, 0xCA5E, 0]));
            let mut case = scenario.draw(&mut rng, 5);
            case.rows_per_day = 2500.0;
            let engine = Engine::new(case.clone()).unwrap();
            let with = tempfile::tempdir().unwrap();
            let tallies = write_world(&engine, metric, with.path());
            let observed = numerator_per_day(with.path(), metric, &case.current);
            for (index, cause) in case.causes.iter().enumerate().filter(|(_, c)| !c.decoy) {
                let (sealed, _) = counterfactual_impact(&engine, metric, &tallies, index).unwrap();
                let mut without = case.clone();
                without.causes.remove(index);
                let world = Engine::new(without).unwrap();
                let other = tempfile::tempdir().unwrap();
                write_world(&world, metric, other.path());
                let measured = numerator_per_day(other.path(), metric, &case.current) - observed;
                assert!(
                    (measured - sealed).abs() <= 1e-9 * sealed.abs().max(1.0),
                    "{} ({}): sealed {sealed} per day, the rows say {measured}",
                    scenario.name,
                    cause.family
                );
                assert!(
                    sealed > 0.0,
                    "{} ({}): a drop's cause loses something: {sealed}",
                    scenario.name,
                    cause.family
                );
                checked.insert(cause.family.clone());
            }
        }
        let families = crate::product::scenario::families();
        assert_eq!(checked.len(), families.len(), "checked {checked:?} of {:?}", families.keys());
    }

    /// A holiday in one country keeps some of that day's arrivals away, as it keeps returning
    /// users away; arrivals elsewhere, and every arrival in the world without the holiday,
    /// come on their first day.
    #[test]
    fn a_holiday_keeps_some_arrivals_away_in_its_country() {
        use crate::product::scenario::ProductScenario;
        use rand::SeedableRng;
        let scenario = ProductScenario::find("holiday_one_country").unwrap().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix_seed(&[5, 0xCA5E, 0]));
        let mut case = scenario.draw(&mut rng, 5);
        case.rows_per_day = 20_000.0;
        let engine = Engine::new(case.clone()).unwrap();
        let without = Engine::new(ProductCase { causes: Vec::new(), ..case.clone() }).unwrap();
        let (index, holiday) = case.causes.iter().enumerate().find(|(_, c)| !c.decoy).unwrap();
        let d = (holiday.start.date() - case.start).num_days() as i32 + 1;
        let noon = day_ms(case.date(d as u32)) + 43_200_000;
        let weight: f64 =
            engine.causes[index].terms.iter().filter(|t| t.0 == Mechanism::Calendar).map(|t| t.2).sum();
        let strength = engine.causes[index].strength(noon) * weight;
        assert!(strength > 0.2, "the holiday acts on day {d}: {strength}");
        let (mut inside, mut inside_came, mut outside, mut outside_came) = (0, 0, 0, 0);
        for u in 0..engine.users.upto[d as usize] {
            if i32::from(engine.users.signup[u]) != d {
                continue;
            }
            assert!(without.active(u, d), "without the holiday every arrival comes");
            let mut codes = [NULL; MAX_SLOTS];
            engine.user_codes(u, d, &mut codes);
            if engine.causes[index].hits(&codes) {
                inside += 1;
                inside_came += usize::from(engine.active(u, d));
            } else {
                outside += 1;
                outside_came += usize::from(engine.active(u, d));
            }
        }
        assert_eq!(outside_came, outside, "arrivals outside the holiday's country all come");
        // Binomial: the share that comes is 1 − strength, within 4 standard errors.
        let share = inside_came as f64 / inside as f64;
        let se = (strength * (1.0 - strength) / inside as f64).sqrt();
        assert!(inside > 100, "{inside} arrivals in the holiday's country");
        assert!(
            (share - (1.0 - strength)).abs() < 4.0 * se,
            "{inside_came}/{inside} came; strength {strength}"
        );
    }

    /// Solvability of every product scenario on seeds 1–5 (how many draws each needs and
    /// the headline), printed for tuning: `cargo test --lib solvability_table -- --ignored --nocapture`.
    #[test]
    #[ignore = "a tuning table that prints solvability per product scenario and seed; run by hand"]
    fn solvability_table() {
        use crate::product::scenario::ProductScenario;
        use rand::SeedableRng;
        for scenario in ProductScenario::all().unwrap() {
            let metric = Metric::find_in(scenario.product().metric_registry(), &scenario.metric).unwrap();
            for seed in 1..=5u64 {
                let mut line = format!("{:<28} seed {seed}:", scenario.name);
                for attempt in 0..24u64 {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix_seed(&[seed, 0xCA5E, attempt]));
                    let mut case = scenario.draw(&mut rng, seed);
                    case.seed = mix_seed(&[seed, attempt]);
                    let engine = Engine::new(case).unwrap();
                    let t = tallies(&engine);
                    let change = headline_change(&engine, metric, &t);
                    match solvable(&engine, metric, scenario.headline, &t) {
                        Ok(()) => {
                            line.push_str(&format!(" ok {:+.2}%", change * 100.0));
                            break;
                        }
                        Err(why) => line.push_str(&format!(" [{why}]")),
                    }
                }
                println!("{line}");
            }
        }
    }
}
