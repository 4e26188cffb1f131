//! Turns an experiment scenario and a seed into a drill folder: simulated data, the public
//! brief, and the sealed truth. Every draw is checked for solvability (the family's
//! signature must be statistically visible); a draw that fails is replaced by the next
//! attempt of the same seed, so a seed always gives the same folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::brief::{Definition, DrillKind, TableNote};
use crate::generate::seal;
use crate::schema::files;

use super::analysis::{self, Totals};
use super::brief::{Design, ExperimentBrief, Phase};
use super::criteria::Check;
use super::data::ExperimentData;
use super::family::{Decision, ExpFamily, Reason};
use super::metrics::Metric;
use super::scenario::{ExperimentScenario, MIN_USERS};
use super::simulate::{self, PLATFORMS, Params};

const MAX_ATTEMPTS: u64 = 400;

/// Users `exp start --users` may ask for, as many as a scenario file may plan: every user and
/// their sessions are simulated in memory (2 million users took 26 s and 830 MB on the
/// project's busy 2-core machine).
pub const MAX_USERS: u64 = super::scenario::MAX_SCENARIO_USERS;

/// The hidden truth of an experiment drill (stored sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentTruth {
    pub family: ExpFamily,
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// For ship_segment: `dim=value[,value]` of the users to ship to.
    pub segment: Option<String>,
    pub explanation: String,
    /// The command that shows the signature.
    pub evidence: String,
    pub scenario: String,
    /// The metric the decision should rest on (absent in a drill sealed before the primary,
    /// guardrails and ship rule were graded).
    #[serde(default)]
    pub primary: Option<Metric>,
    /// Defensible second choices for the primary.
    #[serde(default)]
    pub primary_also: Vec<Metric>,
    /// The guardrails that matter in this case (a guardrail regression: the one that broke).
    #[serde(default)]
    pub guardrails: Vec<Metric>,
    /// Checks the ship rule must hold in this case, beyond the primary's bar and a guardrail
    /// allowance, and why.
    #[serde(default)]
    pub criteria: Vec<Check>,
    #[serde(default)]
    pub criteria_why: Option<String>,
}

impl ExperimentTruth {
    /// A truth sealed before primaries, guardrails and ship rules were graded takes the
    /// design's primary and guardrails (what the new grade would default to) and no checks.
    pub fn with_design_defaults(mut self, design: &super::brief::Design) -> Self {
        if self.primary.is_none() {
            self.primary = Some(design.primary);
            self.guardrails = design.guardrails.clone();
        }
        self
    }
}

pub struct Generated {
    pub dir: PathBuf,
    pub brief: ExperimentBrief,
    pub attempts: u64,
}

/// Generates the folder. `users` overrides the scenario's planned users.
pub fn generate(
    scenario: &ExperimentScenario,
    seed: u64,
    dir: &Path,
    users: Option<u64>,
    force: bool,
) -> anyhow::Result<Generated> {
    if let Some(users) = users {
        anyhow::ensure!(
            (MIN_USERS..=MAX_USERS).contains(&users),
            "--users {users} is outside {MIN_USERS}..{MAX_USERS}: fewer users hide every signature, and more take minutes and gigabytes to simulate (each user is held in memory; 2 million take about 30 s and 830 MB); {MAX_USERS} users already detect effects well below 1%"
        );
    }
    prepare(dir, force)?;
    let mut last_problem = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        let params = Params::draw(scenario, seed, attempt, users);
        let mut data =
            simulate::simulate(&params, &scenario.design.arms, scenario.design.start, seed, attempt);
        let brief = brief(scenario, &params, &data, seed);
        adjust(&mut data, &brief, &params, seed, attempt)?;
        match solvable(&data, &brief, &params) {
            Ok(()) => {
                let truth = truth(scenario, &params);
                data.write(dir)?;
                crate::datafile::Manifest::write(dir)?;
                let brief_toml = brief.to_toml();
                crate::drill::workspace::write_atomic(&dir.join(files::BRIEF), brief_toml.as_bytes())?;
                let plain = serde_json::to_vec(&truth)?;
                let drill = crate::brief::identity(&brief_toml)?;
                crate::drill::workspace::write_atomic(
                    &dir.join(files::ANSWER),
                    seal::seal(&plain, seed, &drill).as_bytes(),
                )?;
                return Ok(Generated { dir: dir.to_path_buf(), brief, attempts: attempt + 1 });
            }
            Err(problem) => last_problem = problem,
        }
    }
    anyhow::bail!(
        "scenario {} with seed {seed}: no draw in {MAX_ATTEMPTS} attempts passed the solvability check (last: {last_problem}); try another seed or more users",
        scenario.name
    )
}

fn prepare(dir: &Path, force: bool) -> anyhow::Result<()> {
    crate::generate::folder::check_target(dir, force, "--dir")?;
    if dir.exists() && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn brief(
    scenario: &ExperimentScenario,
    params: &Params,
    data: &ExperimentData,
    seed: u64,
) -> ExperimentBrief {
    let d = &scenario.design;
    let share = d.weights[1] / d.weights.iter().sum::<f64>();
    let planned_users_per_arm = (d.users as f64 * share.min(1.0 - share)).round() as u64;
    let data_to = d.start + Duration::days(i64::from(params.days_run) - 1);
    let mut notes = Vec::new();
    let mut phases = Vec::new();
    match params.family {
        ExpFamily::Peeking => notes.push(format!(
            "The team stopped the test after {} of the planned {} days, on the first day the dashboard showed the primary metric significant (p < 0.05).",
            params.days_run, d.planned_days
        )),
        ExpFamily::Underpowered => notes.push("Traffic to the tested page came in lower than the forecast used for planning.".into()),
        ExpFamily::SimpsonRamp => {
            let ramp = d.start + Duration::days(i64::from(params.ramp_day));
            let first = params.ramp_share * 100.0;
            notes.push(format!(
                "To limit risk, treatment was ramped: {first:.0}% of users until {}, then the planned split from {ramp}.",
                ramp - Duration::days(1)
            ));
            phases.push(Phase { from: d.start, weights: vec![100.0 - first, first] });
            phases.push(Phase { from: ramp, weights: d.weights.clone() });
        }
        _ => {}
    }
    let metric_list: Vec<Metric> = std::iter::once(d.primary)
        .chain(d.secondary.iter().copied())
        .chain(d.guardrails.iter().copied())
        .collect();
    ExperimentBrief {
        kind: DrillKind::Experiment,
        prompt: format!(
            "Experiment \"{}\" ran from {} to {}. {} Should it ship?",
            scenario.title, d.start, data_to, scenario.hypothesis
        ),
        hypothesis: scenario.hypothesis.clone(),
        seed,
        design: Design {
            arms: d.arms.clone(),
            weights: d.weights.clone(),
            start: d.start,
            planned_days: d.planned_days,
            planned_end: d.start + Duration::days(i64::from(d.planned_days) - 1),
            primary: d.primary,
            secondary: d.secondary.clone(),
            guardrails: d.guardrails.clone(),
            mde: d.mde,
            alpha: d.alpha,
            power: d.power,
            planned_users_per_arm,
            phases,
        },
        data_from: d.start,
        data_to,
        users: data.users.len() as u64,
        notes,
        tables: vec![
            TableNote {
                name: super::data::ASSIGNMENTS.into(),
                about: "one row per user: user_id, variant, first_exposure, platform, browser, country, user_type, pre_orders and pre_revenue (the 28 days before the test, for CUPED)".into(),
            },
            TableNote {
                name: super::data::OUTCOMES.into(),
                about: "one row per user and active day: sessions, orders (client-logged), revenue, page_load_ms, refunds, server_orders (the order service)".into(),
            },
        ],
        definitions: metric_list
            .iter()
            .map(|m| Definition { metric: m.name().into(), definition: m.definition().into() })
            .collect(),
    }
}

/// Family mechanisms applied after the simulation, sized from the simulated data.
fn adjust(
    data: &mut ExperimentData,
    brief: &ExperimentBrief,
    params: &Params,
    seed: u64,
    attempt: u64,
) -> anyhow::Result<()> {
    let alpha = brief.design.alpha;
    match params.family {
        ExpFamily::HeavyTailOutlier => {
            simulate::add_whales(data, seed, attempt, |d| {
                let all = analysis::totals(d, |_| true);
                analysis::compare(d, &all, Metric::RevenuePerUser, &|_| true, alpha)
                    .is_ok_and(|e| e.p_value < 0.03)
            });
        }
        ExpFamily::MultipleMetrics => {
            let all = analysis::totals(data, |_| true);
            let e = analysis::compare(data, &all, Metric::SessionsPerUser, &|_| true, alpha)?;
            let se = e.diff_ci.width() / (2.0 * 1.96);
            let extra = (2.2 * se - e.diff) * e.users[1] as f64;
            simulate::add_sessions(data, extra, seed, attempt);
        }
        _ => {}
    }
    Ok(())
}

/// The family's signature must be visible, and nothing else may look broken.
pub fn solvable(data: &ExperimentData, brief: &ExperimentBrief, params: &Params) -> Result<(), String> {
    let err = |e: anyhow::Error| e.to_string();
    let alpha = brief.design.alpha;
    let all: Vec<Totals> = analysis::totals(data, |_| true);
    let everyone = |_: usize| true;
    let cmp = |m: Metric| analysis::compare(data, &all, m, &everyone, alpha).map_err(err);
    let primary = cmp(brief.design.primary)?;
    let lift = primary.lift.unwrap_or(0.0);
    let srm = analysis::srm_check(data, brief).map_err(err)?;
    let family = params.family;
    if family != ExpFamily::Srm && srm.p_value < 0.01 {
        return Err(format!("unintended SRM (p = {:.4})", srm.p_value));
    }
    if family != ExpFamily::GuardrailRegression {
        for g in &brief.design.guardrails {
            if cmp(*g)?.worse() {
                return Err(format!("guardrail {g} regressed by chance"));
            }
        }
    }
    if family != ExpFamily::Carryover {
        let pre = analysis::compare_pre(data, brief).map_err(err)?;
        if pre.p_value < 0.05 {
            return Err("pre-period imbalance by chance".into());
        }
    }
    let ok = |cond: bool, what: &str| if cond { Ok(()) } else { Err(what.to_string()) };
    match family {
        ExpFamily::TrueWin => {
            ok(primary.significant && lift > 0.0 && primary.p_value < 0.01, "win not significant")
        }
        ExpFamily::TrueLoss => {
            ok(primary.significant && lift < 0.0 && primary.p_value < 0.01, "loss not significant")
        }
        ExpFamily::Flat => ok(primary.p_value > 0.2, "flat case significant"),
        ExpFamily::Srm => {
            let browser = simulate::BROWSERS[params.srm_browser as usize];
            ok(
                srm.p_value < 0.001
                    && srm
                        .worst_segment
                        .as_ref()
                        .is_some_and(|w| w.dimension == "browser" && w.value == browser),
                "SRM not visible in the browser",
            )
        }
        ExpFamily::Novelty => {
            let daily = analysis::daily(data, brief, brief.design.primary).map_err(err)?;
            ok(daily.trend_z.is_some_and(|z| z < -2.5) && lift > 0.0, "novelty trend not significant")
        }
        ExpFamily::Primacy => {
            let daily = analysis::daily(data, brief, brief.design.primary).map_err(err)?;
            ok(daily.trend_z.is_some_and(|z| z > 2.5), "primacy trend not significant")
        }
        ExpFamily::Peeking => ok(primary.significant && lift > 0.0, "no early significance"),
        ExpFamily::SimpsonRamp => {
            let seg = analysis::segments(data, brief, brief.design.primary, "phase").map_err(err)?;
            let all_phases_up = seg.rows.iter().all(|r| r.effect.lift.unwrap_or(0.0) > 0.0);
            let late = seg.rows.last().map(|r| r.effect.significant && r.effect.lift.unwrap_or(0.0) > 0.0);
            ok(
                all_phases_up && late == Some(true) && !(primary.significant && lift > 0.0),
                "ramp paradox not visible",
            )
        }
        ExpFamily::GuardrailRegression => {
            let g = cmp(params.guardrail)?;
            ok(
                primary.significant && lift > 0.0 && g.worse() && g.p_value < 0.01,
                "guardrail regression not visible",
            )
        }
        ExpFamily::Heterogeneous => {
            let seg = analysis::segments(data, brief, brief.design.primary, "platform").map_err(err)?;
            let bad = PLATFORMS[params.bad_platform as usize];
            let bad_ok =
                seg.rows.iter().any(|r| r.value == bad && r.effect.p_value < 0.001 && r.effect.diff < 0.0);
            let others_ok = seg.rows.iter().filter(|r| r.value != bad).all(|r| r.effect.diff > 0.0);
            ok(bad_ok && others_ok && !primary.significant, "segment effect not visible")
        }
        ExpFamily::Underpowered => ok(
            !primary.significant && primary.lift_ci.is_some_and(|ci| ci.upper >= brief.design.mde),
            "not clearly underpowered",
        ),
        ExpFamily::MultipleMetrics => {
            let mut chance_hits = 0;
            for m in &brief.design.secondary {
                let e = cmp(*m)?;
                if *m == Metric::SessionsPerUser {
                    if !(0.005..0.045).contains(&e.p_value) {
                        return Err("sessions_per_user not near p 0.04".into());
                    }
                } else if e.p_value < 0.1 {
                    chance_hits += 1;
                }
            }
            ok(chance_hits == 0 && primary.p_value > 0.2, "other metrics moved")
        }
        ExpFamily::HeavyTailOutlier => {
            let revenue = cmp(Metric::RevenuePerUser)?;
            let capped = cmp(Metric::RevenuePerUserCapped)?;
            let conversion = cmp(Metric::Conversion)?;
            ok(
                revenue.p_value < 0.05 && capped.p_value > 0.1 && conversion.p_value > 0.1,
                "whales not decisive",
            )
        }
        ExpFamily::Carryover => {
            let pre = analysis::compare_pre(data, brief).map_err(err)?;
            ok(pre.p_value < 0.001 && primary.significant && lift > 0.0, "pre-period difference not visible")
        }
        ExpFamily::TelemetryBias => {
            let server = cmp(Metric::ServerConversion)?;
            ok(primary.significant && lift > 0.0 && server.p_value > 0.2, "telemetry gap not visible")
        }
    }
}

fn truth(scenario: &ExperimentScenario, p: &Params) -> ExperimentTruth {
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let primary = scenario.design.primary;
    let explanation = match p.family {
        ExpFamily::TrueWin => format!("The treatment really raised the order rate by about {}, steadily and in every segment; the design held (no SRM, full sample). Ship it.", pct(p.lift)),
        ExpFamily::TrueLoss => format!("The treatment really lowered the order rate by about {}: a clean, significant loss. Don't ship.", pct(-p.lift)),
        ExpFamily::Flat => "The treatment had no effect and the test had the planned power: a confident null. Don't ship (there is nothing to gain).".into(),
        ExpFamily::Srm => format!(
            "A redirect in the treatment arm lost about {} of {} users (mostly low-intent ones) before their exposure was logged: the split fails the SRM test, and the surviving treatment users are not comparable to control. Every metric is biased; fix the redirect and rerun.",
            pct(p.srm_loss), simulate::BROWSERS[p.srm_browser as usize]
        ),
        ExpFamily::Novelty => format!("Returning users clicked the new design out of curiosity: a {} lift on their first day that fades within days (half-life about {:.1} days). The steady-state effect is about zero, so the overall lift overstates it. Don't ship on the novelty.", pct(p.initial), p.fade_days * std::f64::consts::LN_2),
        ExpFamily::Primacy => format!("Returning users disliked the change at first (a {} dip) but adapt within days; new users gain about {} from the start. The steady state is positive but the test is too short to show it cleanly: extend it.", pct(p.initial), pct(p.lift)),
        ExpFamily::Peeking => format!("There is no effect: the test was stopped at the first peek below p = 0.05, after {} of {} days. With repeated peeks the false-positive rate is far above 5%. Run it to the planned sample (or use a sequential test).", p.days_run, p.planned_days),
        ExpFamily::SimpsonRamp => format!("Treatment improves the order rate by about {} within each phase, but it was ramped at {} while the early, high-intent users arrived; pooled over phases the arms hold different mixes of users and the comparison points the wrong way. Stratified by phase the win is clear: ship.", pct(p.lift), pct(p.ramp_share)),
        ExpFamily::GuardrailRegression => format!("{} rose by about {}, but the guardrail {} got significantly worse. Don't ship as is; fix the regression first.", primary, pct(p.lift), p.guardrail),
        ExpFamily::Heterogeneous => format!("The change hurts {} users badly (about −30%) and helps the others (about +12%); pooled, the effect looks flat. Ship to the other platforms after a retest, and fix {}.", PLATFORMS[p.bad_platform as usize], PLATFORMS[p.bad_platform as usize]),
        ExpFamily::Underpowered => format!("Only a fraction of the planned users were exposed, so the interval of the lift is wide and still includes the {} MDE. Not significant is not 'no effect': extend to the planned sample.", pct(scenario.design.mde)),
        ExpFamily::MultipleMetrics => "The primary metric is flat; one of many secondary metrics (sessions per user) came in at p ≈ 0.03, which is what chance gives among that many metrics, and it does not survive a multiple-comparison correction. Don't ship on it.".into(),
        ExpFamily::HeavyTailOutlier => "A handful of treatment users placed huge orders; they alone make revenue per user 'significant'. Capped at the 99.9th percentile, and in conversion, there is no effect. Don't ship on outliers.".into(),
        ExpFamily::Carryover => format!("The treatment arm held users who already ordered about {} more before the test (the bucketing reused an earlier experiment's split); the post-period 'lift' is that pre-existing difference. Re-randomise and rerun.", pct(p.carryover)),
        ExpFamily::TelemetryBias => "The new page fires the client purchase event even when payment fails: client-logged orders and conversion rise, but the server-side orders do not move. Trust the server source: no real effect, don't ship.".into(),
    };
    let segment = (p.family == ExpFamily::Heterogeneous).then(|| {
        let good: Vec<&str> = PLATFORMS
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != p.bad_platform as usize)
            .map(|(_, v)| *v)
            .collect();
        format!("platform={}", good.join(","))
    });
    ExperimentTruth {
        family: p.family,
        decision: p.family.decision(),
        reasons: p.family.reasons(),
        segment,
        explanation,
        evidence: p.family.evidence_command().to_string(),
        scenario: scenario.name.clone(),
        primary: Some(scenario.grading.primary.unwrap_or(primary)),
        primary_also: scenario.grading.primary_also.clone(),
        guardrails: if p.family == ExpFamily::GuardrailRegression {
            vec![p.guardrail]
        } else {
            scenario.grading.guardrails.clone().unwrap_or_else(|| scenario.design.guardrails.clone())
        },
        criteria: scenario.grading.criteria.clone(),
        criteria_why: scenario.grading.why.clone(),
    }
}
