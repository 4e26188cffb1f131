//! The funnel model: a resolved [`Case`] compiled into lookup tables, and the hot loop that
//! simulates one chunk of sessions. Every chunk has its own RNG seeded from (seed, day,
//! part), so the data is identical whatever the number of threads.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use polars::prelude::{InitHashMaps, PlHashMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::sample::{Discrete, LogNormal, ShortBits};

use crate::scenario::{Case, Cause, Family, Mechanism, PLATFORMS, Stage, payment_offered};

/// Marks a null dimension value (browser in an app, app version on the web, ...).
pub const NULL: u8 = u8::MAX;

/// Dimension slots of a session, in `scenario::DIMENSIONS` order.
pub const PLATFORM: usize = 0;
pub const APP_VERSION: usize = 1;
pub const OS_VERSION: usize = 2;
pub const BROWSER: usize = 3;
pub const DEVICE: usize = 4;
pub const COUNTRY: usize = 5;
pub const SOURCE: usize = 6;
pub const USER_TYPE: usize = 7;
pub const PAYMENT: usize = 8;
pub const N_DIMS: usize = 9;

const WEB: u8 = 2;

/// Share of a day's sessions starting in each hour (UTC), a typical e-commerce curve.
const HOURLY: [f64; 24] = [
    1.6, 1.1, 0.8, 0.6, 0.6, 0.8, 1.5, 2.6, 3.6, 4.3, 4.8, 5.1, 5.4, 5.3, 5.2, 5.3, 5.5, 5.8, 6.2, 6.8, 7.2,
    6.6, 4.9, 2.9,
];

/// Sessions per chunk: bounds memory however large the dataset (100M+ sessions).
pub const CHUNK_SESSIONS: usize = 400_000;

/// A compiled rollout: new version share at hour `t` since the data start.
#[derive(Debug, Clone, Copy)]
struct CompiledRollout {
    old: u8,
    new: u8,
    start_hour: f64,
    adoption_hours: f64,
    max_share: f64,
}

impl CompiledRollout {
    fn share(&self, t: f64) -> f64 {
        if t < self.start_hour {
            0.0
        } else {
            // ~95% of max adoption after `adoption_hours`.
            self.max_share * (1.0 - (-3.0 * (t - self.start_hour) / self.adoption_hours).exp())
        }
    }
}

/// What a cause does, compiled from its family's mechanism composition.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    /// Multiply a step's rate by `1 - s × weight`.
    StepRate {
        step: usize,
        weight: f64,
    },
    /// Cause-created sessions: bots (`true`) or a low-intent campaign.
    AddSessions {
        bots: bool,
    },
    /// Matching sessions do not happen.
    RemoveSessions,
    /// Returning users in the target come back less often.
    ReturnRate,
    /// Returning users replaced by new ones.
    Mix,
    /// Client purchase events lost; the backend order stands.
    LoggingLoss,
    Duplication,
    Definition,
    LateData,
    /// Volume lift of a holiday in the window it spans (`weight` × size).
    Holiday {
        weight: f64,
    },
    Latency,
    Price {
        weight: f64,
    },
    /// Acts through the windows alone (weekday mismatch).
    Nothing,
}

fn compile_acts(family: Family, stage: Option<Stage>) -> Vec<Act> {
    family
        .mechanisms()
        .iter()
        .map(|term| {
            let step = term.step.or(stage).map(Stage::index).filter(|&i| i < 4);
            match term.mechanism {
                Mechanism::StepRate => match step {
                    Some(step) => Act::StepRate { step, weight: term.weight },
                    None => Act::Nothing,
                },
                Mechanism::Traffic => match term.profile.as_deref() {
                    Some("bots") => Act::AddSessions { bots: true },
                    Some("remove") => Act::RemoveSessions,
                    _ => Act::AddSessions { bots: false },
                },
                Mechanism::ReturnRate => Act::ReturnRate,
                Mechanism::Mix => Act::Mix,
                Mechanism::LoggingLoss => Act::LoggingLoss,
                Mechanism::Duplication => Act::Duplication,
                Mechanism::Definition => Act::Definition,
                Mechanism::LateData => Act::LateData,
                Mechanism::Calendar => match term.profile.as_deref() {
                    Some("holiday") => Act::Holiday { weight: term.weight },
                    _ => Act::Nothing,
                },
                Mechanism::Latency => Act::Latency,
                Mechanism::Price => Act::Price { weight: term.weight },
                // Validation refuses these for the shop (they need columns it does not write).
                Mechanism::Timezone | Mechanism::Attribution => Act::Nothing,
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct CompiledCause {
    family: Family,
    acts: Vec<Act>,
    /// Whether the cause creates its own sessions (bots or campaign traffic), and which.
    adds: Option<bool>,
    target: Vec<(usize, u8)>,
    stage: Option<Stage>,
    start_hour: f64,
    end_hour: f64,
    size: f64,
    ramp_hours: f64,
}

impl CompiledCause {
    fn strength(&self, t: f64) -> f64 {
        if t < self.start_hour || t >= self.end_hour {
            0.0
        } else if self.ramp_hours <= 0.0 {
            self.size
        } else {
            self.size * ((t - self.start_hour) / self.ramp_hours).min(1.0)
        }
    }

    /// Whether a session matches the target; the payment method is judged only once known.
    fn matches(&self, dims: &[u8; N_DIMS]) -> bool {
        self.target.iter().all(|&(d, v)| dims[d] == v)
    }

    fn targets_payment(&self) -> bool {
        self.target.iter().any(|&(d, _)| d == PAYMENT)
    }
}

#[derive(Debug, Clone)]
struct CompiledEffect {
    target: Vec<(usize, u8)>,
    step: usize,
    multiplier: f64,
}

/// Everything the hot loop needs, precomputed once per case.
#[derive(Debug, Clone)]
pub struct Model {
    pub seed: u64,
    pub start: NaiveDate,
    pub days: u32,
    /// Category names per dimension slot, code = index.
    pub values: Vec<Vec<String>>,
    /// Expected base sessions per day (before extra bot/campaign sessions).
    pub day_sessions: Vec<u64>,
    hour: Discrete,
    platform: Discrete,
    country: Discrete,
    source: Discrete,
    user_type: Discrete,
    browser: Discrete,
    web_device: Discrete,
    app_device: Discrete,
    payment: [Discrete; 3],
    app_rollout: [CompiledRollout; 2],
    os_rollout: [CompiledRollout; 2],
    base: [f64; 4],
    weekly_conversion: [f64; 7],
    first_weekday: usize,
    /// Step multipliers of one-term effects, per dimension slot and code, for the slots
    /// some effect names (payment is chosen later and never carries an effect).
    single_effects: Vec<(usize, Vec<[f64; 4]>)>,
    /// Effects on a combination of values, checked term by term.
    joint_effects: Vec<CompiledEffect>,
    causes: Vec<CompiledCause>,
    /// The first `true_causes` of `causes` are the case's true causes; the rest are decoys.
    true_causes: usize,
    order_value: LogNormal,
    page_load: LogNormal,
    returning_pool: u64,
    new_pool: u64,
    returning_code: u8,
    new_code: u8,
    mobile_codes: Vec<u8>,
    /// Hours from the data start to the end of the last day.
    end_hour: f64,
    /// Hours from the data start to the first hour of the current window.
    current_hour: f64,
}

/// One simulated chunk of sessions (part of one day) and the backend orders it produced.
#[derive(Debug, Default)]
pub struct Chunk {
    pub day: u32,
    pub user_id: Vec<u64>,
    /// Milliseconds since the Unix epoch, UTC.
    pub ts: Vec<i64>,
    pub dims: [Vec<u8>; N_DIMS],
    pub flags: [Vec<bool>; 4],
    pub revenue: Vec<f64>,
    pub page_load_ms: Vec<f64>,
    pub orders: Orders,
    /// Expected purchases with and without the truth's cause (current window only).
    pub expected: Expected,
}

#[derive(Debug, Default)]
pub struct Orders {
    pub user_id: Vec<u64>,
    pub ts: Vec<i64>,
    pub platform: Vec<u8>,
    pub country: Vec<u8>,
    pub payment: Vec<u8>,
    pub amount: Vec<f64>,
    pub refunded: Vec<bool>,
}

impl Chunk {
    fn with_capacity(day: u32, n: usize) -> Self {
        Chunk {
            day,
            user_id: Vec::with_capacity(n),
            ts: Vec::with_capacity(n),
            dims: std::array::from_fn(|_| Vec::with_capacity(n)),
            flags: std::array::from_fn(|_| Vec::with_capacity(n)),
            revenue: Vec::with_capacity(n),
            page_load_ms: Vec::with_capacity(n),
            orders: Orders::default(),
            expected: Expected::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.user_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user_id.is_empty()
    }

    fn push(&mut self, s: &Session) {
        self.user_id.push(s.user_id);
        self.ts.push(s.ts_ms);
        for (col, v) in self.dims.iter_mut().zip(s.dims) {
            col.push(v);
        }
        for (col, v) in self.flags.iter_mut().zip(s.flags) {
            col.push(v);
        }
        self.revenue.push(s.revenue);
        self.page_load_ms.push(s.page_load_ms);
    }
}

#[derive(Debug, Clone, Copy)]
struct Session {
    user_id: u64,
    ts_ms: i64,
    dims: [u8; N_DIMS],
    flags: [bool; 4],
    revenue: f64,
    page_load_ms: f64,
}

fn code_of(values: &[String], value: &str) -> u8 {
    values.iter().position(|v| v == value).expect("scenario validation checked every value") as u8
}

fn hours_since(start: NaiveDate, t: NaiveDateTime) -> f64 {
    (t - start.and_time(NaiveTime::MIN)).num_seconds() as f64 / 3600.0
}

/// A 64-bit mix of several integers (SplitMix64 finaliser): independent seeds per chunk.
/// The seed of item `index`'s own stream in a stream family `family` (one splitmix64 round,
/// so neighbouring indices get unrelated streams; see [`ShortBits`]).
fn stream_seed(family: u64, index: u64) -> u64 {
    let mut z = family ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// True with probability `p`, the coin flip of act `act` of cause `cause` on the session
/// whose stream seed is `seed`: a hash, not a draw from the session's stream, so whether a
/// cause acts (or exists) never shifts the session's other draws.
fn cause_chance(seed: u64, cause: usize, act: usize, p: f64) -> bool {
    let x = stream_seed(seed ^ 0xCA05_E000, ((cause as u64) << 8) | act as u64);
    ((x >> 32) as f64) < p * 4_294_967_296.0
}

pub fn mix_seed(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h ^= p.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6).wrapping_add(h >> 2);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

impl Model {
    /// Terms every session of a cause shares beyond its target, when the cause creates or
    /// removes its own sessions: bots arrive as new users on one desktop browser user agent,
    /// and a return-rate cause (broken deep links, a login change) keeps returning users
    /// away, so every session it removed was a returning user's. Naming them in an answer
    /// is not wrong, and a localiser may well report them.
    pub fn fingerprint(&self, family: Family) -> BTreeMap<String, String> {
        let name = |slot: usize, code: u8| {
            (crate::scenario::DIMENSIONS[slot].to_string(), self.values[slot][code as usize].clone())
        };
        if family.uses(Mechanism::Traffic, Some("bots")) {
            [
                name(PLATFORM, WEB),
                name(BROWSER, 0),
                name(DEVICE, self.web_device.codes[0]),
                name(USER_TYPE, self.new_code),
            ]
            .into_iter()
            .collect()
        } else if !family.mechanisms().is_empty()
            && family.mechanisms().iter().all(|t| t.mechanism == Mechanism::ReturnRate)
        {
            [name(USER_TYPE, self.returning_code)].into_iter().collect()
        } else {
            BTreeMap::new()
        }
    }

    /// Compiles a resolved case into lookup tables.
    pub fn new(case: &Case) -> Model {
        let sc = &case.scenario;
        let dim_values = sc.dimension_values();
        let values: Vec<Vec<String>> =
            crate::scenario::DIMENSIONS.iter().map(|d| dim_values[d].clone()).collect();
        let shares = |slot: usize, map: &std::collections::BTreeMap<String, f64>| {
            Discrete::new(map.iter().map(|(k, w)| (code_of(&values[slot], k), *w)))
        };
        let d = &sc.dimensions;
        let payment_for = |platform: &str| {
            Discrete::new(d.payment_method.iter().map(|(k, w)| {
                (code_of(&values[PAYMENT], k), if payment_offered(k, platform) { *w } else { 0.0 })
            }))
        };
        let (_, current) = (case.baseline, case.current);
        let rollout = |dim: &str, platform: &str, slot: usize| {
            let r = case
                .rollouts
                .iter()
                .find(|r| r.dimension == dim && r.platform == platform)
                .expect("validation requires one rollout per platform and dimension");
            let start = (current.from + Duration::days(r.start_day)).and_time(NaiveTime::MIN);
            CompiledRollout {
                old: code_of(&values[slot], &r.old),
                new: code_of(&values[slot], &r.new),
                start_hour: hours_since(sc.period.start, start) + 8.0,
                adoption_hours: r.adoption_days * 24.0,
                max_share: r.max_share,
            }
        };
        let compile_target = |terms: &[(String, String)]| {
            terms
                .iter()
                .map(|(dim, value)| {
                    let slot = crate::scenario::DIMENSIONS
                        .iter()
                        .position(|d| d == dim)
                        .expect("validated dimension");
                    (slot, code_of(&values[slot], value))
                })
                .collect::<Vec<_>>()
        };
        let compile_cause = |c: &Cause| CompiledCause {
            family: c.family,
            acts: compile_acts(c.family, c.stage),
            adds: compile_acts(c.family, c.stage).iter().find_map(|a| match a {
                Act::AddSessions { bots } => Some(*bots),
                _ => None,
            }),
            target: compile_target(&c.target),
            stage: c.stage,
            start_hour: hours_since(sc.period.start, c.start),
            end_hour: c.end.map(|e| hours_since(sc.period.start, e)).unwrap_or(f64::INFINITY),
            size: c.size,
            ramp_hours: c.ramp_days * 24.0,
        };
        let causes: Vec<CompiledCause> = case.causes.iter().chain(&case.decoys).map(compile_cause).collect();
        let effects: Vec<CompiledEffect> = sc
            .effects
            .iter()
            .map(|e| CompiledEffect {
                target: compile_target(&crate::scenario::parse_terms(&e.target).expect("validated")),
                step: e.step.index(),
                multiplier: e.multiplier,
            })
            .collect();
        let (single, joint_effects): (Vec<CompiledEffect>, Vec<CompiledEffect>) =
            effects.into_iter().partition(|e| e.target.len() == 1 && e.target[0].0 != PAYMENT);
        let mut single_effects: Vec<(usize, Vec<[f64; 4]>)> = Vec::new();
        for e in single {
            let (slot, code) = e.target[0];
            let at = match single_effects.iter().position(|(s, _)| *s == slot) {
                Some(at) => at,
                None => {
                    single_effects.push((slot, vec![[1.0; 4]; values[slot].len()]));
                    single_effects.len() - 1
                }
            };
            single_effects[at].1[code as usize][e.step] *= e.multiplier;
        }

        // Daily volume: weekly pattern × trend × log-normal day noise × holiday lift.
        let mut volume_rng = ChaCha8Rng::seed_from_u64(mix_seed(&[case.seed, 0xDA7]));
        let first_weekday = Case::weekday(sc.period.start);
        let day_sessions = (0..sc.period.days)
            .map(|day| {
                let weekday = (first_weekday + day as usize) % 7;
                let noise: f64 = volume_rng.sample(StandardNormal);
                let trend = (1.0 + sc.traffic.trend_per_week).powf(f64::from(day) / 7.0);
                let midday = f64::from(day) * 24.0 + 12.0;
                let holiday: f64 = causes
                    .iter()
                    .flat_map(|c| {
                        c.acts.iter().filter_map(move |a| match a {
                            Act::Holiday { weight } => Some(1.0 + weight * c.strength(midday)),
                            _ => None,
                        })
                    })
                    .product();
                let expected = sc.traffic.sessions_per_day
                    * sc.traffic.weekly[weekday]
                    * trend
                    * (sc.traffic.noise * noise).exp()
                    * holiday;
                expected.round().max(0.0) as u64
            })
            .collect::<Vec<_>>();
        let total: u64 = day_sessions.iter().sum();

        let user_values = &values[USER_TYPE];
        let returning_code = user_values.iter().position(|v| v == "returning").unwrap_or(0) as u8;
        let new_code = user_values.iter().position(|v| v == "new").unwrap_or(0) as u8;
        let mobile_codes = values[DEVICE]
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_str() != "desktop")
            .map(|(i, _)| i as u8)
            .collect();
        let returning_pool = ((total as f64) * sc.traffic.user_pool).max(10.0) as u64;

        Model {
            seed: case.seed,
            start: sc.period.start,
            days: sc.period.days,
            day_sessions,
            hour: Discrete::new(HOURLY.iter().enumerate().map(|(h, w)| (h as u8, *w))),
            platform: Discrete::new(
                PLATFORMS.iter().map(|p| (code_of(&values[PLATFORM], p), d.platform[*p])),
            ),
            country: shares(COUNTRY, &d.country),
            source: shares(SOURCE, &d.traffic_source),
            user_type: shares(USER_TYPE, &d.user_type),
            browser: shares(BROWSER, &d.browser),
            web_device: shares(DEVICE, &d.web_device),
            app_device: shares(DEVICE, &d.app_device),
            payment: [payment_for("ios"), payment_for("android"), payment_for("web")],
            app_rollout: [
                rollout("app_version", "ios", APP_VERSION),
                rollout("app_version", "android", APP_VERSION),
            ],
            os_rollout: [
                rollout("os_version", "ios", OS_VERSION),
                rollout("os_version", "android", OS_VERSION),
            ],
            base: sc.funnel.steps(),
            weekly_conversion: sc.traffic.weekly_conversion,
            first_weekday,
            single_effects,
            joint_effects,
            true_causes: case.causes.len().min(MAX_CAUSES),
            causes,
            order_value: LogNormal::new(sc.order_value.median.ln(), sc.order_value.sigma),
            page_load: LogNormal::new(sc.page_load.median_ms.ln(), sc.page_load.sigma),
            returning_pool,
            new_pool: returning_pool * 4,
            returning_code,
            new_code,
            mobile_codes,
            end_hour: f64::from(sc.period.days) * 24.0,
            current_hour: hours_since(sc.period.start, case.current.from.and_time(NaiveTime::MIN)),
            values,
        }
    }

    /// The chunks a day is split into, so no chunk exceeds [`CHUNK_SESSIONS`].
    pub fn parts(&self, day: u32) -> u32 {
        (self.day_sessions[day as usize] as usize).div_ceil(CHUNK_SESSIONS).max(1) as u32
    }

    fn epoch_ms(&self, t_hours: f64) -> i64 {
        let start = self.start.and_time(NaiveTime::MIN).and_utc().timestamp_millis();
        start + (t_hours * 3_600_000.0) as i64
    }

    /// A session start, as milliseconds after midnight: an hour from the daily curve, then
    /// a uniform moment inside it.
    fn draw_ms(&self, bits: &mut ShortBits) -> u32 {
        u32::from(self.hour.draw(bits.u32())) * MS_PER_HOUR + bits.below(0, u64::from(MS_PER_HOUR)) as u32
    }

    /// Simulates part `part` of `parts` of day `day`.
    ///
    /// Every session draws from its own stream, seeded by the day and its index in the day
    /// (a bot or campaign session: by its cause and index), and a cause's own coin flips
    /// come from a hash of that seed and the cause ([`cause_chance`]). So the world without
    /// a cause (same seed, size 0) draws the very same numbers for every session: the two
    /// differ by what the cause did, session by session, and the impact the grader holds
    /// can be checked against the data without the noise of two independent samples.
    pub fn simulate(&self, day: u32, part: u32, parts: u32) -> Chunk {
        let day_seed = mix_seed(&[self.seed, u64::from(day)]);
        let base_n = self.day_sessions[day as usize];
        let (share, rest) = (base_n / u64::from(parts), base_n % u64::from(parts));
        let first = u64::from(part) * share + u64::from(part).min(rest);
        let n = share + u64::from(u64::from(part) < rest);
        let mut chunk = Chunk::with_capacity(day, (n as usize) * 11 / 10);
        let today = Today::new(self, day);

        for index in first..first + n {
            let seed = stream_seed(day_seed, index);
            let mut bits = ShortBits::short(seed);
            let ms = self.draw_ms(&mut bits);
            self.session(&mut bits, seed, &mut chunk, &today, ms, None);
        }
        // Extra sessions that campaigns and bots add on top of organic traffic.
        for &i in &today.active {
            let cause = &self.causes[i];
            if cause.adds.is_none() {
                continue;
            }
            let peak = cause.size;
            if peak <= 0.0 {
                continue;
            }
            let cause_seed = mix_seed(&[day_seed, 0xADD5, i as u64, u64::from(part)]);
            let extra = (n as f64 * peak).round() as u64;
            for index in 0..extra {
                let seed = stream_seed(cause_seed, index);
                let mut bits = ShortBits::short(seed);
                let ms = self.draw_ms(&mut bits);
                let s = cause.strength(today.at(ms));
                // Thin to the strength at this hour (ramps, start mid-day).
                if s <= 0.0 || !bits.chance(s / peak) {
                    continue;
                }
                self.session(&mut bits, seed, &mut chunk, &today, ms, Some(i));
            }
        }
        chunk
    }

    /// Simulates one session starting `ms` after midnight of `today`; `extra` is the index of
    /// a bot/campaign cause that created it.
    /// `seed` is the session's stream seed, from which the causes' coin flips are hashed.
    fn session(
        &self,
        bits: &mut ShortBits,
        seed: u64,
        chunk: &mut Chunk,
        today: &Today,
        ms: u32,
        extra: Option<usize>,
    ) {
        let t = today.at(ms);
        let minute = (ms / MS_PER_MINUTE) as usize;
        let ts_ms = today.epoch_ms + i64::from(ms);
        // The session is built in place: dimension codes written byte by byte into a local
        // array and then copied as a whole stall the copy until the writes land.
        let mut session = Session {
            user_id: 0,
            ts_ms,
            dims: [NULL; N_DIMS],
            flags: [false; 4],
            revenue: 0.0,
            page_load_ms: 0.0,
        };
        let dims = &mut session.dims;
        let extra_cause = extra.map(|i| &self.causes[i]);
        let is_bot = extra_cause.is_some_and(|c| c.adds == Some(true));
        if is_bot {
            dims[PLATFORM] = WEB;
            dims[BROWSER] = 0;
            dims[DEVICE] = self.web_device.codes[0];
            dims[COUNTRY] = self.country.draw(bits.u32());
            dims[SOURCE] = self.source.draw(bits.u32());
            dims[USER_TYPE] = self.new_code;
        } else {
            dims[PLATFORM] = self.platform.draw(bits.u32());
            dims[COUNTRY] = self.country.draw(bits.u32());
            dims[SOURCE] = self.source.draw(bits.u32());
            dims[USER_TYPE] = self.user_type.draw(bits.u32());
            if extra_cause.is_some() {
                // Campaign traffic is new users.
                dims[USER_TYPE] = self.new_code;
            }
            if dims[PLATFORM] == WEB {
                dims[BROWSER] = self.browser.draw(bits.u32());
                dims[DEVICE] = self.web_device.draw(bits.u32());
            } else {
                let p = dims[PLATFORM] as usize;
                let (app, os) = (&self.app_rollout[p], &self.os_rollout[p]);
                dims[APP_VERSION] = if bits.chance(today.app_new[p][minute]) { app.new } else { app.old };
                dims[OS_VERSION] = if bits.chance(today.os_new[p][minute]) { os.new } else { os.old };
                dims[DEVICE] = self.app_device.draw(bits.u32());
            }
        }
        if let Some(cause) = extra_cause {
            // The cause's own target pins its segment (e.g. traffic_source=paid_social).
            for &(d, v) in &cause.target {
                if d != PLATFORM || !is_bot {
                    dims[d] = v;
                }
            }
        }

        // Mix causes act on who arrives, not on rates, so they run before any rate is set.
        // On the days the impact is counted, the truth's own mix effect is remembered, so
        // the session's counterfactual (the world without the cause) can be priced.
        let mut dropped_by_truth = false;
        let mut switched_by_truth = false;
        for &i in &today.active {
            let cause = &self.causes[i];
            let s = cause.strength(t);
            if s <= 0.0 {
                continue;
            }
            let mut dropped = false;
            for (a, act) in cause.acts.iter().enumerate() {
                let flip = || cause_chance(seed, i, a, s);
                match act {
                    Act::RemoveSessions if cause.matches(dims) && flip() => dropped = true,
                    Act::ReturnRate
                        if dims[USER_TYPE] == self.returning_code && cause.matches(dims) && flip() =>
                    {
                        dropped = true
                    }
                    Act::Mix if dims[USER_TYPE] == self.returning_code && flip() => {
                        dims[USER_TYPE] = self.new_code;
                        switched_by_truth |= i == TRUTH;
                    }
                    _ => {}
                }
                if dropped {
                    break;
                }
            }
            if dropped {
                if i == TRUTH && today.accounting {
                    dropped_by_truth = true;
                    break;
                }
                return;
            }
        }
        if dropped_by_truth {
            // Without the cause this session would have come, and bought at its rates.
            if !is_bot {
                let without = self.rates(&session.dims, t, today, extra, Some(TRUTH));
                let cf = self.expected_purchase(&session.dims, t, today, &without, Some(TRUTH));
                chunk.expected.add(0.0, 0.0, cf);
            }
            return;
        }
        let dims = &session.dims;
        let rates = self.rates(dims, t, today, extra, None);
        if today.accounting && !is_bot {
            let with = self.expected_purchase(dims, t, today, &rates, None);
            let without = if extra == Some(TRUTH) {
                (0.0, 0.0)
            } else {
                let mut cf_dims = *dims;
                if switched_by_truth {
                    cf_dims[USER_TYPE] = self.returning_code;
                }
                let cf = self.rates(&cf_dims, t, today, extra, Some(TRUTH));
                self.expected_purchase(&cf_dims, t, today, &cf, Some(TRUTH))
            };
            chunk.expected.add(with.0, with.1, without);
        }
        let Rates { mut steps, load_factor, revenue_factor, tracking_loss, duplicate, split, late_loss } =
            rates;

        let user_id = if dims[USER_TYPE] == self.returning_code {
            bits.one_to(self.returning_pool)
        } else {
            self.returning_pool + bits.one_to(self.new_pool)
        };
        let bot_load = if is_bot { 0.35 } else { 1.0 };
        session.user_id = user_id;
        session.page_load_ms = round_positive(self.page_load.draw(bits.u64()) * load_factor * bot_load);

        if is_bot {
            // Bots look at a page, never at a cart.
            session.flags[0] = bits.chance(0.2);
            chunk.push(&session);
            return;
        }
        let mut reached = 0;
        while reached < 4 && bits.chance(steps[reached]) {
            session.flags[reached] = true;
            if reached == 2 {
                let p = session.dims[PLATFORM] as usize;
                session.dims[PAYMENT] = self.payment[p].draw(bits.u32());
                // Causes bound to a payment method act once the method is chosen.
                for &i in &today.active {
                    let cause = &self.causes[i];
                    if cause.targets_payment() && cause.matches(&session.dims) {
                        let s = cause.strength(t);
                        for act in &cause.acts {
                            if let Act::StepRate { step: 3, weight } = *act {
                                steps[3] *= 1.0 - s * weight;
                            }
                        }
                    }
                }
            }
            reached += 1;
        }
        if session.flags[3] {
            let amount = round_positive(self.order_value.draw(bits.u64()) * revenue_factor * 100.0) / 100.0;
            let order_ts = ts_ms + bits.below(60_000, 1_800_000) as i64;
            let o = &mut chunk.orders;
            o.user_id.push(user_id);
            o.ts.push(order_ts);
            o.platform.push(session.dims[PLATFORM]);
            o.country.push(session.dims[COUNTRY]);
            o.payment.push(session.dims[PAYMENT]);
            o.amount.push(amount);
            o.refunded.push(bits.chance(0.02));
            session.revenue = amount;
            // Client-side event loss: the order happened, the analytics event did not arrive.
            if tracking_loss > 0.0 && bits.chance(tracking_loss) {
                session.flags[3] = false;
                session.revenue = 0.0;
            }
        }
        if late_loss > 0.0 {
            // Later steps are ingested later, so they are missing more often.
            for (step, weight) in [(3, 1.0), (2, 0.5), (1, 0.2)] {
                if session.flags[step] && bits.chance(late_loss * weight) {
                    for flag in &mut session.flags[step..] {
                        *flag = false;
                    }
                    session.revenue = 0.0;
                    if step <= 2 {
                        session.dims[PAYMENT] = NULL;
                    }
                }
            }
        }
        chunk.push(&session);
        if duplicate > 0.0 && bits.chance(duplicate) {
            // The client logs the session start twice: same user, same time, no events.
            let mut copy = session;
            copy.flags = [false; 4];
            copy.revenue = 0.0;
            copy.dims[PAYMENT] = NULL;
            chunk.push(&copy);
        }
        if split > 0.0 && bits.chance(split) {
            // A shorter inactivity timeout cuts a visit in two: the fragment carries no events.
            let mut fragment = session;
            fragment.flags = [false; 4];
            fragment.revenue = 0.0;
            fragment.dims[PAYMENT] = NULL;
            let day_end = today.epoch_ms + i64::from(MS_PER_DAY) - 1;
            fragment.ts_ms = (fragment.ts_ms + bits.below(600_000, 3_600_000) as i64).min(day_end);
            chunk.push(&fragment);
        }
    }
}

/// What the causes acting at one moment do to a session of given dimensions: the step
/// probabilities and the measurement effects the hot loop applies.
#[derive(Debug, Clone, Copy)]
struct Rates {
    steps: [f64; 4],
    load_factor: f64,
    revenue_factor: f64,
    tracking_loss: f64,
    duplicate: f64,
    split: f64,
    late_loss: f64,
}

/// The index of the truth's cause among the model's causes (decoys follow it).
const TRUTH: usize = 0;

impl Model {
    /// The rates of a session with `dims` at hour `t`, every active cause applied except
    /// `skip` (the truth, for the world without it). `extra` is the cause that created the
    /// session, if one did.
    #[inline]
    fn rates(
        &self,
        dims: &[u8; N_DIMS],
        t: f64,
        today: &Today,
        extra: Option<usize>,
        skip: Option<usize>,
    ) -> Rates {
        let mobile = self.mobile_codes.contains(&dims[DEVICE]);
        let mut steps = self.base;
        steps[3] *= self.weekly_conversion[today.weekday];
        for (slot, table) in &self.single_effects {
            if let Some(multipliers) = table.get(usize::from(dims[*slot])) {
                for (step, m) in steps.iter_mut().zip(multipliers) {
                    *step *= m;
                }
            }
        }
        for e in &self.joint_effects {
            if e.target.iter().all(|&(d, v)| dims[d] == v) {
                steps[e.step] *= e.multiplier;
            }
        }
        let mut r = Rates {
            steps,
            load_factor: if dims[PLATFORM] == WEB { 1.0 } else { 0.8 },
            revenue_factor: 1.0,
            tracking_loss: 0.0,
            duplicate: 0.0,
            split: 0.0,
            late_loss: 0.0,
        };
        let steps = &mut r.steps;
        for &i in &today.active {
            if skip == Some(i) {
                continue;
            }
            let cause = &self.causes[i];
            let s = cause.strength(t);
            if s <= 0.0 {
                continue;
            }
            if cause.targets_payment() || !cause.matches(dims) {
                continue;
            }
            for act in &cause.acts {
                match *act {
                    Act::StepRate { step, weight } => steps[step] *= 1.0 - s * weight,
                    Act::Latency => {
                        let weight = if mobile { 1.0 } else { 0.45 };
                        for step in steps.iter_mut() {
                            *step *= 1.0 - s * weight;
                        }
                        r.load_factor *= 1.0 + s * if mobile { 25.0 } else { 12.0 };
                    }
                    Act::Price { weight } => r.revenue_factor *= 1.0 + weight * s,
                    Act::AddSessions { bots: false } if extra.is_some() => {
                        steps[1] *= 0.3;
                        steps[3] *= 0.6;
                    }
                    Act::LoggingLoss => r.tracking_loss = s,
                    Act::Duplication => r.duplicate = s,
                    Act::Definition => r.split = s,
                    Act::LateData => {
                        // Late events of the newest hours are not ingested yet.
                        r.late_loss = s * (-(self.end_hour - t) / 14.0).exp();
                    }
                    _ => {}
                }
            }
        }
        r
    }

    /// The probability that a (non-bot) session with `dims` and `rates` logs a purchase
    /// event, and that it places a backend order: the funnel's product, the payment
    /// method's causes averaged over the methods its platform offers, then the client-side
    /// losses (tracking, a partial last day) for the event. `skip` as in [`Model::rates`].
    fn expected_purchase(
        &self,
        dims: &[u8; N_DIMS],
        t: f64,
        today: &Today,
        rates: &Rates,
        skip: Option<usize>,
    ) -> (f64, f64) {
        let payment_causes = today.active.iter().filter(|&&i| {
            let c = &self.causes[i];
            skip != Some(i)
                && c.targets_payment()
                && c.acts.iter().any(|a| matches!(a, Act::StepRate { step: 3, .. }))
        });
        let mut payment = 1.0;
        if payment_causes.clone().next().is_some() {
            let table = &self.payment[usize::from(dims[PLATFORM]).min(2)];
            payment = table
                .probabilities()
                .map(|(code, share)| {
                    let mut with_method = *dims;
                    with_method[PAYMENT] = code;
                    let kept: f64 = payment_causes
                        .clone()
                        .map(|&i| &self.causes[i])
                        .filter(|c| c.matches(&with_method))
                        .map(|c| {
                            let s = c.strength(t).max(0.0);
                            c.acts
                                .iter()
                                .map(|a| match *a {
                                    Act::StepRate { step: 3, weight } => 1.0 - s * weight,
                                    _ => 1.0,
                                })
                                .product::<f64>()
                        })
                        .product();
                    share * kept
                })
                .sum();
        }
        let order = rates.steps.iter().map(|p| p.clamp(0.0, 1.0)).product::<f64>() * payment.clamp(0.0, 1.0);
        let late = rates.late_loss;
        let event =
            order * (1.0 - rates.tracking_loss) * (1.0 - late) * (1.0 - 0.5 * late) * (1.0 - 0.2 * late);
        (event, order)
    }
}

/// Expected purchases of the current window's sessions with the truth's cause and without
/// it, summed over a chunk: the impact the reveal states. Events are the client-side
/// purchases the headline counts; orders are the backend's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Expected {
    pub events_with: f64,
    pub orders_with: f64,
    pub events_without: f64,
    pub orders_without: f64,
}

impl Expected {
    fn add(&mut self, events_with: f64, orders_with: f64, without: (f64, f64)) {
        self.events_with += events_with;
        self.orders_with += orders_with;
        self.events_without += without.0;
        self.orders_without += without.1;
    }

    pub fn sum(&mut self, other: &Expected) {
        self.events_with += other.events_with;
        self.orders_with += other.orders_with;
        self.events_without += other.events_without;
        self.orders_without += other.orders_without;
    }
}

/// `x.round()` for 0 ≤ x < 2⁶³, without the library call `round` costs in the hot loop
/// (through `i64`, which converts in one instruction where `u64` does not).
fn round_positive(x: f64) -> f64 {
    (x + 0.5) as i64 as f64
}

const MS_PER_MINUTE: u32 = 60_000;
const MS_PER_HOUR: u32 = 3_600_000;
const MS_PER_DAY: u32 = 86_400_000;
const MINUTES_PER_DAY: usize = 1440;

/// What every session of one day shares: where the day sits in time, the causes acting on
/// it, and the rollouts' adoption minute by minute (an adoption curve moves over days, so
/// a minute's resolution is exact to the eye and saves an `exp` per session).
struct Today {
    weekday: usize,
    /// Hours from the data start to this day's midnight.
    hour: f64,
    /// This day's midnight, in milliseconds since the Unix epoch.
    epoch_ms: i64,
    /// Causes that act at some moment of this day, by index.
    active: Vec<usize>,
    /// Whether the day is in the current window, where the impact is counted.
    accounting: bool,
    /// Share of sessions on the new app / OS version, per app platform and minute.
    app_new: [Vec<f64>; 2],
    os_new: [Vec<f64>; 2],
}

impl Today {
    fn new(model: &Model, day: u32) -> Today {
        let hour = f64::from(day) * 24.0;
        let minutes = |rollout: &CompiledRollout| {
            (0..MINUTES_PER_DAY).map(|m| rollout.share(hour + (m as f64 + 0.5) / 60.0)).collect()
        };
        Today {
            weekday: (model.first_weekday + day as usize) % 7,
            hour,
            epoch_ms: model.epoch_ms(hour),
            accounting: hour >= model.current_hour,
            active: (0..model.causes.len())
                .filter(|&i| {
                    let c = &model.causes[i];
                    c.start_hour < hour + 24.0 && c.end_hour > hour
                })
                .collect(),
            app_new: [minutes(&model.app_rollout[0]), minutes(&model.app_rollout[1])],
            os_new: [minutes(&model.os_rollout[0]), minutes(&model.os_rollout[1])],
        }
    }

    /// Hours since the data start of the moment `ms` after this day's midnight.
    fn at(&self, ms: u32) -> f64 {
        self.hour + f64::from(ms) * (1.0 / f64::from(MS_PER_HOUR))
    }
}

pub use crate::scenario::MAX_CAUSES;

/// One true cause's counts in its target segment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TargetCounts {
    /// Sessions in the cause's target segment.
    pub sessions: u64,
    /// The cause's stage in its target: sessions that reached the step before, and the step.
    pub den: u64,
    pub num: u64,
    /// The same stage for the rest of the target's parent segment (the target without its
    /// version terms, e.g. android users on other app versions): the comparison when the
    /// target (a new version) did not exist in the baseline.
    pub control_den: u64,
    pub control_num: u64,
}

impl TargetCounts {
    fn add(&mut self, other: &TargetCounts) {
        self.sessions += other.sessions;
        self.den += other.den;
        self.num += other.num;
        self.control_den += other.control_den;
        self.control_num += other.control_num;
    }
}

/// Counts behind the solvability check and the reveal, gathered per chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayCounts {
    pub sessions: u64,
    pub purchases: u64,
    pub orders: u64,
    /// Per true cause, in the scenario's order.
    pub target: [TargetCounts; MAX_CAUSES],
    /// Expected purchases with and without the first true cause (current window only).
    pub expected: Expected,
}

impl DayCounts {
    pub fn add(&mut self, other: &DayCounts) {
        self.sessions += other.sessions;
        self.purchases += other.purchases;
        self.orders += other.orders;
        for (mine, theirs) in self.target.iter_mut().zip(&other.target) {
            mine.add(theirs);
        }
        self.expected.sum(&other.expected);
    }
}

impl Model {
    /// The stage a cause's signature shows in, when it acts on a step.
    pub fn signature_stage(family: Family, stage: Option<Stage>) -> Option<Stage> {
        stage.or(family.def().step)
    }

    /// The day counts of `chunk`, whose rollup cells are `cells`: summed over the cells
    /// (a few thousand) rather than the sessions, except on the days a time-boxed cause's
    /// window cuts through, where only the sessions carry the hour.
    pub fn count(&self, chunk: &Chunk, cells: &Cells) -> DayCounts {
        let (from, to) = (f64::from(chunk.day) * 24.0, f64::from(chunk.day + 1) * 24.0);
        let hours_matter = self.causes[..self.true_causes].iter().any(|cause| {
            cause.end_hour.is_finite()
                && to > self.current_hour
                && !(from >= cause.start_hour && to <= cause.end_hour)
        });
        if hours_matter {
            return self.count_sessions(chunk);
        }
        let mut counts = DayCounts {
            orders: chunk.orders.amount.len() as u64,
            expected: chunk.expected,
            ..DayCounts::default()
        };
        for cell in cells.values() {
            counts.sessions += cell.sessions;
            counts.purchases += cell.steps[3];
        }
        for (k, cause) in self.causes[..self.true_causes].iter().enumerate() {
            let (stage, membership) = self.membership(cause);
            let target = &mut counts.target[k];
            for (key, cell) in cells {
                let (in_target, in_control) = membership(&unpack_key(*key));
                if !in_target && !in_control {
                    continue;
                }
                target.sessions += if in_target { cell.sessions } else { 0 };
                if let Some(step) = stage {
                    // The funnel is monotone, so the sessions that reached the step before are
                    // that step's count (all sessions for the first step).
                    let den = if step == 0 { cell.sessions } else { cell.steps[step - 1] };
                    let num = cell.steps[step];
                    if in_target {
                        target.den += den;
                        target.num += num;
                    } else {
                        target.control_den += den;
                        target.control_num += num;
                    }
                }
            }
        }
        counts
    }

    /// The stage index a cause's signature shows in, and a test of whether a session's
    /// dimensions put it in the cause's target, or in the control group: the rest of the
    /// target's parent segment (the target without its version terms, e.g. android users
    /// on other app versions), the comparison when the target (a new version) did not
    /// exist in the baseline.
    fn membership<'a>(
        &self,
        cause: &'a CompiledCause,
    ) -> (Option<usize>, impl Fn(&[u8; N_DIMS]) -> (bool, bool) + 'a) {
        let stage = Self::signature_stage(cause.family, cause.stage).map(Stage::index).filter(|&i| i < 4);
        let is_version = |d: usize| d == APP_VERSION || d == OS_VERSION;
        let has_version = cause.target.iter().any(|&(d, _)| is_version(d));
        let membership = move |dims: &[u8; N_DIMS]| {
            let parent = cause.target.iter().filter(|&&(d, _)| !is_version(d)).all(|&(d, v)| dims[d] == v);
            let in_target = parent && cause.target.iter().all(|&(d, v)| dims[d] == v);
            // Sessions with a null version (the web) are not a version's control group.
            let in_control = has_version
                && parent
                && !in_target
                && cause.target.iter().filter(|&&(d, _)| is_version(d)).all(|&(d, _)| dims[d] != NULL);
            (in_target, in_control)
        };
        (stage, membership)
    }

    /// [`Model::count`] session by session.
    pub fn count_sessions(&self, chunk: &Chunk) -> DayCounts {
        let mut counts = DayCounts {
            sessions: chunk.len() as u64,
            purchases: chunk.flags[3].iter().filter(|&&p| p).count() as u64,
            orders: chunk.orders.amount.len() as u64,
            expected: chunk.expected,
            ..DayCounts::default()
        };
        let start_ms = self.epoch_ms(0.0);
        for (k, cause) in self.causes[..self.true_causes].iter().enumerate() {
            let (stage, membership) = self.membership(cause);
            let target = &mut counts.target[k];
            // A time-boxed cause (an outage, a regional event) shows in its own hours: in the
            // current window its stage is counted only while it lasts, so the hours around it
            // do not dilute the signature the learner is expected to find.
            let boxed = cause.end_hour.is_finite();
            for i in 0..chunk.len() {
                let dims: [u8; N_DIMS] = std::array::from_fn(|d| chunk.dims[d][i]);
                let (in_target, in_control) = membership(&dims);
                if !in_target && !in_control {
                    continue;
                }
                target.sessions += u64::from(in_target);
                if boxed {
                    let t = (chunk.ts[i] - start_ms) as f64 / 3_600_000.0;
                    if t >= self.current_hour && !(cause.start_hour..cause.end_hour).contains(&t) {
                        continue;
                    }
                }
                if let Some(step) = stage {
                    let reached_before = step == 0 || chunk.flags[step - 1][i];
                    if reached_before {
                        let reached = u64::from(chunk.flags[step][i]);
                        if in_target {
                            target.den += 1;
                            target.num += reached;
                        } else {
                            target.control_den += 1;
                            target.control_num += reached;
                        }
                    }
                }
            }
        }
        counts
    }
}

/// Sessions, funnel steps and revenue of one dimension combination on one day: a row of
/// the rollup table.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cell {
    pub sessions: u64,
    pub steps: [u64; 4],
    pub revenue: f64,
    pub revenue_sq: f64,
}

/// A dimension combination packed big-endian into an integer, so integer order is the
/// combination's order and hashing is one word's work.
pub type CellKey = u128;

pub type Cells = PlHashMap<CellKey, Cell>;

pub fn unpack_key(key: CellKey) -> [u8; N_DIMS] {
    std::array::from_fn(|d| (key >> (8 * (N_DIMS - 1 - d))) as u8)
}

/// Where a cell key's hour of the day sits: above the dimensions' bytes, so
/// [`unpack_key`] reads the dimensions alone and integer order is hour, then combination.
const HOUR_SHIFT: usize = 8 * N_DIMS;

/// The hour of the day (UTC, 0–23) of an hourly cell's key.
pub fn hour_of(key: CellKey) -> u8 {
    (key >> HOUR_SHIFT) as u8
}

/// What one row adds to its hourly cell, kept in its hour's bucket: the row's combination
/// (as its index among the chunk's), its funnel steps as bits, its revenue.
#[derive(Clone, Copy)]
struct HourRow {
    combination: u32,
    steps: u8,
    revenue: f64,
}

/// The rollup cells of one chunk: per dimension combination (`rollup.parquet`'s), and per
/// hour of the day × combination in key order (`rollup_hourly.parquet`'s, the hour packed
/// above the dimensions, [`hour_of`]).
///
/// One pass over the rows in order sums the daily cells in a map of the chunk's
/// combinations (small enough to stay in cache) and drops each row, by its combination's
/// index, into its hour's bucket; each hour's bucket is then summed into a dense array.
/// A map of every hour × combination would outgrow the cache and make each row a miss.
pub fn cells(chunk: &Chunk) -> (Cells, SortedCells) {
    let mut index: PlHashMap<CellKey, u32> = PlHashMap::with_capacity(4096);
    let (mut keys, mut daily): (Vec<CellKey>, Vec<Cell>) = (Vec::new(), Vec::new());
    let mut by_hour: [Vec<HourRow>; 24] = std::array::from_fn(|_| Vec::with_capacity(chunk.len() / 12));
    for i in 0..chunk.len() {
        // Packed straight from the columns: assembling the key in memory first stalls on
        // reading it back whole.
        let key = chunk.dims.iter().fold(0, |key: CellKey, column| (key << 8) | CellKey::from(column[i]));
        let combination = *index.entry(key).or_insert_with(|| {
            keys.push(key);
            daily.push(Cell::default());
            (keys.len() - 1) as u32
        });
        let cell = &mut daily[combination as usize];
        let revenue = chunk.revenue[i];
        cell.sessions += 1;
        let mut steps = 0u8;
        for (s, flags) in chunk.flags.iter().enumerate() {
            cell.steps[s] += u64::from(flags[i]);
            steps |= u8::from(flags[i]) << s;
        }
        cell.revenue += revenue;
        cell.revenue_sq += revenue * revenue;
        let hour = chunk.ts[i].div_euclid(i64::from(MS_PER_HOUR)).rem_euclid(24) as usize;
        by_hour[hour].push(HourRow { combination, steps, revenue });
    }
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by_key(|&c| keys[c as usize]);
    let mut hourly = SortedCells::new();
    let mut sums = vec![Cell::default(); keys.len()];
    for (hour, rows) in by_hour.iter().enumerate() {
        for row in rows {
            let cell = &mut sums[row.combination as usize];
            cell.sessions += 1;
            for s in 0..4 {
                cell.steps[s] += u64::from((row.steps >> s) & 1);
            }
            cell.revenue += row.revenue;
            cell.revenue_sq += row.revenue * row.revenue;
        }
        let hour = (hour as CellKey) << HOUR_SHIFT;
        for &c in &order {
            let c = c as usize;
            if sums[c].sessions > 0 {
                // Taken, so the array starts the next hour at zero.
                hourly.push((hour | keys[c], std::mem::take(&mut sums[c])));
            }
        }
    }
    (keys.into_iter().zip(daily).collect(), hourly)
}

/// Cells in key order: compact to keep and to merge.
pub type SortedCells = Vec<(CellKey, Cell)>;

/// The cells of several parts of one day merged, in key order. Equal keys are summed in
/// the parts' order, so the sums do not depend on anything but the seed.
pub fn merge_sorted(parts: Vec<SortedCells>) -> SortedCells {
    let mut all: SortedCells = parts.into_iter().flatten().collect();
    // Stable: parts keep their order within a key.
    all.sort_by_key(|(key, _)| *key);
    let mut merged: SortedCells = Vec::with_capacity(all.len());
    for (key, cell) in all {
        match merged.last_mut() {
            Some((last, into)) if *last == key => into.add(&cell),
            _ => merged.push((key, cell)),
        }
    }
    merged
}

impl Cell {
    pub fn add(&mut self, other: &Cell) {
        self.sessions += other.sessions;
        for s in 0..4 {
            self.steps[s] += other.steps[s];
        }
        self.revenue += other.revenue;
        self.revenue_sq += other.revenue_sq;
    }
}
