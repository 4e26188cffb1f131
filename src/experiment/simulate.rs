//! Simulates an experiment: users arrive over the test days, are bucketed into arms, and
//! visit and buy with individual propensities; the family's hidden effect is applied to the
//! treatment arm (or to the assignment log, for sample-ratio mismatch). Everything is drawn
//! from one seeded generator, so a seed always gives the same data.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, LogNormal, Poisson};

use crate::generate::model::mix_seed;

use super::data::{DayRow, ExperimentData, User};
use super::family::ExpFamily;
use super::metrics::Metric;
use super::scenario::ExperimentScenario;

pub const PLATFORMS: [&str; 3] = ["ios", "android", "web"];
const PLATFORM_SHARES: [f64; 3] = [0.36, 0.34, 0.30];
pub const BROWSERS: [&str; 5] = ["app", "chrome", "safari", "firefox", "edge"];
const WEB_BROWSER_SHARES: [f64; 4] = [0.5, 0.3, 0.12, 0.08];
pub const COUNTRIES: [&str; 5] = ["us", "gb", "de", "fr", "br"];
const COUNTRY_SHARES: [f64; 5] = [0.4, 0.15, 0.15, 0.1, 0.2];
pub const USER_TYPES: [&str; 2] = ["new", "returning"];
const RETURNING_SHARE: f64 = 0.6;

/// The seed-drawn parameters of one experiment.
#[derive(Debug, Clone)]
pub struct Params {
    pub family: ExpFamily,
    /// Relative effect on the order rate (family-specific meaning).
    pub lift: f64,
    /// Users who would be exposed over the planned days.
    pub users: u64,
    /// Days of data (fewer than planned when the test was stopped early).
    pub days_run: u16,
    pub planned_days: u16,
    /// Novelty/primacy: how many days the initial reaction takes to fade.
    pub fade_days: f64,
    /// Novelty: initial extra lift; primacy: initial dip.
    pub initial: f64,
    /// SRM: browser index losing treatment users, and the share lost.
    pub srm_browser: u8,
    pub srm_loss: f64,
    pub guardrail: Metric,
    /// Heterogeneous: the platform index that reacts badly.
    pub bad_platform: u8,
    /// Simpson ramp: the day allocation switched to the design weights, and the treatment
    /// share before it.
    pub ramp_day: u16,
    pub ramp_share: f64,
    /// Carryover: treatment users' propensity, before and during the test.
    pub carryover: f64,
    /// Telemetry bias: chance a treatment user's active day without an order logs one.
    pub phantom: f64,
    pub treatment_share: f64,
}

fn uniform(rng: &mut impl Rng, range: [f64; 2]) -> f64 {
    if range[1] > range[0] { rng.random_range(range[0]..range[1]) } else { range[0] }
}

impl Params {
    pub fn draw(scenario: &ExperimentScenario, seed: u64, attempt: u64, users: Option<u64>) -> Params {
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(&[seed, attempt, 0xE1]));
        let family = scenario.family;
        let default_lift = match family {
            ExpFamily::TrueWin | ExpFamily::GuardrailRegression | ExpFamily::SimpsonRamp => [0.09, 0.14],
            ExpFamily::TrueLoss => [-0.13, -0.09],
            ExpFamily::Underpowered => [0.0, 0.03],
            ExpFamily::Primacy => [0.06, 0.1],
            ExpFamily::Novelty => [0.0, 0.01],
            _ => [0.0, 0.0],
        };
        let lift = uniform(&mut rng, scenario.truth.lift.unwrap_or(default_lift));
        let planned_days = scenario.design.planned_days as u16;
        let mut users = users.unwrap_or(scenario.design.users);
        let mut days_run = planned_days;
        match family {
            ExpFamily::Underpowered => {
                let share = uniform(&mut rng, scenario.truth.exposed_share.unwrap_or([0.12, 0.2]));
                users = ((users as f64) * share).round() as u64;
            }
            ExpFamily::Peeking => {
                let share = uniform(&mut rng, scenario.truth.exposed_share.unwrap_or([0.25, 0.35]));
                days_run = ((f64::from(planned_days) * share).round() as u16).max(3);
            }
            _ => {}
        }
        let guardrails = [Metric::Aov, Metric::PageLoadMs, Metric::RefundRate];
        let listed: Vec<Metric> =
            guardrails.iter().copied().filter(|g| scenario.design.guardrails.contains(g)).collect();
        let choices = if listed.is_empty() { guardrails.to_vec() } else { listed };
        let total_weight: f64 = scenario.design.weights.iter().sum();
        Params {
            family,
            lift,
            users,
            days_run,
            planned_days,
            fade_days: rng.random_range(1.5..2.5),
            initial: match family {
                ExpFamily::Novelty => rng.random_range(0.35..0.5),
                ExpFamily::Primacy => rng.random_range(0.3..0.4),
                _ => 0.0,
            },
            srm_browser: if rng.random_bool(0.5) { 1 } else { 2 },
            srm_loss: rng.random_range(0.45..0.65),
            guardrail: choices[rng.random_range(0..choices.len())],
            bad_platform: rng.random_range(0..3),
            ramp_day: rng.random_range(3..=5).min(planned_days.saturating_sub(3)),
            ramp_share: 0.1,
            carryover: rng.random_range(0.12..0.18),
            phantom: rng.random_range(0.012..0.018),
            treatment_share: scenario.design.weights[1] / total_weight,
        }
    }

    /// Relative change of a treatment user's order rate `k` days after first exposure.
    fn effect(&self, user: &User, k: u16) -> f64 {
        let returning = user.dims[3] == 1;
        let fade = (-f64::from(k) / self.fade_days).exp();
        match self.family {
            ExpFamily::Novelty if returning => self.lift + self.initial * fade,
            ExpFamily::Novelty => self.lift,
            ExpFamily::Primacy if returning => self.lift - (self.lift + self.initial) * fade,
            ExpFamily::Primacy => self.lift,
            ExpFamily::Heterogeneous if user.dims[0] == self.bad_platform => -0.3,
            ExpFamily::Heterogeneous => 0.12,
            _ => self.lift,
        }
    }
}

fn pick(rng: &mut impl Rng, shares: &[f64]) -> usize {
    let mut x = rng.random::<f64>() * shares.iter().sum::<f64>();
    for (i, s) in shares.iter().enumerate() {
        if x < *s {
            return i;
        }
        x -= s;
    }
    shares.len() - 1
}

/// Simulates the experiment's assignments and daily outcomes.
pub fn simulate(
    params: &Params,
    arms: &[String],
    start: chrono::NaiveDate,
    seed: u64,
    attempt: u64,
) -> ExperimentData {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(&[seed, attempt, 0xE2]));
    let propensity = Gamma::new(2.0, 0.5).expect("valid gamma");
    let aov = LogNormal::new(3.9, 0.6).expect("valid lognormal");
    let load_noise = LogNormal::new(0.0, 0.25).expect("valid lognormal");
    let extra_sessions = Poisson::new(0.6).expect("valid poisson");
    let planned = f64::from(params.planned_days);
    let returning_days: Vec<f64> = (0..params.planned_days).map(|d| 0.8f64.powi(i32::from(d))).collect();
    let new_days: Vec<f64> = vec![1.0; params.planned_days as usize];

    let mut users = Vec::with_capacity(params.users as usize);
    let mut rows = Vec::with_capacity(params.users as usize * 4);
    let mut next_id: u64 = 100_000 + (mix_seed(&[seed, 0xE3]) % 800_000);
    for _ in 0..params.users {
        next_id += 1 + rng.random_range(0..3);
        let returning = rng.random_bool(RETURNING_SHARE);
        let day = pick(&mut rng, if returning { &returning_days } else { &new_days }) as u16;
        let platform = pick(&mut rng, &PLATFORM_SHARES) as u8;
        let browser = if platform == 2 { 1 + pick(&mut rng, &WEB_BROWSER_SHARES) as u8 } else { 0 };
        let country = pick(&mut rng, &COUNTRY_SHARES) as u8;
        let share = if params.family == ExpFamily::SimpsonRamp && day < params.ramp_day {
            params.ramp_share
        } else {
            params.treatment_share
        };
        let arm = u8::from(rng.random_bool(share));
        let mut intent = propensity.sample(&mut rng);
        // The launch cohort (exposed before the ramp) came from a launch email: keener
        // during the test, ordinary before it.
        let launch_boost =
            if params.family == ExpFamily::SimpsonRamp && day < params.ramp_day { 1.8 } else { 1.0 };
        if params.family == ExpFamily::Carryover && arm == 1 {
            intent *= 1.0 + params.carryover;
        }
        let active = if returning { 0.4 } else { 0.22 };
        let platform_rate = [1.15, 0.95, 0.9][platform as usize];
        let order_rate = (if returning { 0.06 } else { 0.045 }) * platform_rate * intent;
        let (mut pre_orders, mut pre_revenue) = (0.0f64, 0.0f64);
        if returning {
            let lambda = 28.0 * active * order_rate.min(0.9);
            if lambda > 0.0 {
                pre_orders = Poisson::new(lambda).expect("positive rate").sample(&mut rng);
                for _ in 0..pre_orders as u32 {
                    pre_revenue += aov.sample(&mut rng);
                }
            }
        }
        let user = User {
            id: next_id,
            arm,
            day,
            second: rng.random_range(0..86_400),
            dims: [platform, browser, country, u8::from(returning)],
            pre_orders,
            pre_revenue: (pre_revenue * 100.0).round() / 100.0,
        };
        // The SRM mechanism: a redirect in the treatment arm loses users of one browser
        // before their exposure is logged, mostly those who would have bounced anyway.
        if params.family == ExpFamily::Srm
            && arm == 1
            && browser == params.srm_browser
            && intent < 1.3
            && rng.random_bool(params.srm_loss)
        {
            continue;
        }
        if day >= params.days_run {
            continue;
        }
        let index = users.len() as u32;
        users.push(user);
        let base_load: f64 = if platform == 2 { 1600.0 } else { 900.0 };
        for t in day..params.days_run {
            if t != day && !rng.random_bool(active) {
                continue;
            }
            let effect = if arm == 1 { params.effect(&user, t - day) } else { 0.0 };
            let treated = arm == 1;
            let guard = |m: Metric| {
                treated && params.family == ExpFamily::GuardrailRegression && params.guardrail == m
            };
            let sessions = 1 + extra_sessions.sample(&mut rng) as u32;
            let p = (order_rate * launch_boost * (1.0 + effect)).clamp(0.0, 0.95);
            let mut orders = u32::from(rng.random_bool(p));
            if orders == 1 && rng.random_bool(0.15) {
                orders += 1;
            }
            let aov_factor = if guard(Metric::Aov) { 0.86 } else { 1.0 };
            let mut revenue = 0.0f64;
            let mut refunds = 0;
            let refund_p = if guard(Metric::RefundRate) { 0.11 } else { 0.05 };
            for _ in 0..orders {
                revenue += aov.sample(&mut rng) * aov_factor;
                refunds += u32::from(rng.random_bool(refund_p));
            }
            let server_orders = orders;
            if treated
                && params.family == ExpFamily::TelemetryBias
                && orders == 0
                && rng.random_bool(params.phantom)
            {
                // The new confirmation page fires the purchase event on a failed payment.
                orders = 1;
                revenue += aov.sample(&mut rng);
            }
            let load_factor = if guard(Metric::PageLoadMs) { 1.15 } else { 1.0 };
            let _ = planned;
            rows.push(DayRow {
                user: index,
                day: t,
                sessions,
                orders,
                revenue: (revenue * 100.0).round() / 100.0,
                page_load_ms: (base_load * load_factor * load_noise.sample(&mut rng)).round(),
                refunds,
                server_orders,
            });
        }
    }
    ExperimentData {
        arms: [arms[0].clone(), arms[1].clone()],
        start,
        days: params.days_run,
        dim_values: [
            PLATFORMS.iter().map(|s| s.to_string()).collect(),
            BROWSERS.iter().map(|s| s.to_string()).collect(),
            COUNTRIES.iter().map(|s| s.to_string()).collect(),
            USER_TYPES.iter().map(|s| s.to_string()).collect(),
        ],
        users,
        rows,
    }
}

/// Heavy tail: a few treatment users place huge orders, added one at a time until the
/// revenue difference turns significant (as it would look to a naive analyst).
pub fn add_whales(
    data: &mut ExperimentData,
    seed: u64,
    attempt: u64,
    enough: impl Fn(&ExperimentData) -> bool,
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(&[seed, attempt, 0xE4]));
    let treated: Vec<u32> =
        (0..data.users.len() as u32).filter(|&i| data.users[i as usize].arm == 1).collect();
    for whales in 1..=60 {
        let user = treated[rng.random_range(0..treated.len())];
        let u = data.users[user as usize];
        let day = rng.random_range(u.day..data.days);
        data.rows.push(DayRow {
            user,
            day,
            sessions: 2,
            orders: 1,
            revenue: (rng.random_range(6_000.0..14_000.0f64) * 100.0).round() / 100.0,
            page_load_ms: 900.0,
            refunds: 0,
            server_orders: 1,
        });
        if whales >= 3 && enough(data) {
            return whales;
        }
    }
    60
}

/// Multiple metrics: treatment users open slightly more sessions, sized so that sessions
/// per user lands near p ≈ 0.03 while nothing else moves.
pub fn add_sessions(data: &mut ExperimentData, extra: f64, seed: u64, attempt: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(&[seed, attempt, 0xE5]));
    let treated_rows: Vec<usize> =
        (0..data.rows.len()).filter(|&i| data.users[data.rows[i].user as usize].arm == 1).collect();
    if treated_rows.is_empty() || extra <= 0.0 {
        return;
    }
    for _ in 0..extra.round() as u64 {
        let row = treated_rows[rng.random_range(0..treated_rows.len())];
        data.rows[row].sessions += 1;
    }
}
