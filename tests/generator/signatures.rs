//! Each family's signature (../shared/CASES.md), asserted directly on the generated tables.
//! The truth says where to look (segment, stage, start); the data must then show the
//! pattern that lets a learner tell the family from its look-alike.
//!
//! Comparisons pit the rows the cause touches against the same segment before the cause
//! began (or against the rest of its platform when the target is a version that did not
//! exist before). Tolerances are several standard errors wide at 400k sessions, so they
//! hold for any seed, yet a cause that is missing or acts on the wrong step fails them.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use dropcase::scenario::{Family, Mechanism, Stage};

use super::support::{Drill, Funnel, Sessions, change, z_two_proportions};

/// The signature check for a family.
pub fn check(d: &Drill) {
    match d.generated.truth.family {
        Family::TrackingLoss => tracking_loss(d),
        Family::DuplicateSessions => duplicate_sessions(d),
        Family::PartialDay => partial_day(d),
        Family::DefinitionChange => definition_change(d),
        Family::BotTraffic => bot_traffic(d),
        Family::ReleaseBug => release_bug(d),
        Family::BrowserBug => browser_bug(d),
        Family::LatencyRegression => latency_regression(d),
        Family::PaymentOutage => payment_outage(d),
        Family::PriceChange => price_change(d),
        Family::UiStepChange => ui_step_change(d),
        Family::LowIntentCampaign => low_intent_campaign(d),
        Family::HighIntentChannelEnd => high_intent_channel_end(d),
        Family::NewReturningMix => new_returning_mix(d),
        Family::HolidayHangover => holiday_hangover(d),
        Family::WeekdayMismatch => weekday_mismatch(d),
        Family::OsUpdate => os_update(d),
        Family::RegionalEvent => regional_event(d),
        Family::CompetitorPromo => competitor_promo(d),
        Family::Noise => noise(d),
        // Families defined only in the catalogue's data, checked by their mechanism.
        other if other.uses(Mechanism::Traffic, Some("bots")) => bot_traffic(d),
        other if other.uses(Mechanism::ReturnRate, None) => returning_users_stop(d),
        other if other.uses(Mechanism::StepRate, None) => segment_step_falls(d),
        other => panic!("no signature check for family {other}"),
    }
}

/// A case with several causes: each one's own signature shows in its own target (the
/// single-cause checks compare a target with the rest of the data, which another cause
/// moves here). The first cause's target is the truth's; later causes name fixed targets.
pub fn check_each_cause(d: &Drill, scenario: &dropcase::scenario::Scenario) {
    let s = &d.sessions;
    // The sealed truth names every cause, in the scenario's order, each with its own impact.
    let truths = d.generated.truth.causes();
    assert_eq!(truths.len(), scenario.causes.len(), "{}: one truth per cause", scenario.name);
    for (k, (truth, spec)) in truths.iter().zip(&scenario.causes).enumerate().skip(1) {
        assert_eq!(truth.family, spec.family, "cause {k}");
        let terms = dropcase::scenario::parse_terms(spec.target.as_deref().unwrap()).unwrap();
        assert_eq!(truth.segment, terms.into_iter().collect(), "cause {k}");
        let (impact, orders) = (truth.impact.unwrap(), truth.orders_impact.unwrap());
        if spec.family.uses(Mechanism::Traffic, Some("low_intent")) {
            // Campaign sessions add purchases (a few), never take any away.
            assert!(impact <= 0.0 && orders <= 0.0, "cause {k} ({}): {impact} {orders}", spec.family);
        } else if spec.family.group() == dropcase::scenario::Group::Measurement {
            // A logging loss costs events, and not one backend order: the worlds with and
            // without it draw the same numbers for every session.
            assert!(impact > 0.0 && orders == 0.0, "cause {k} ({}): {impact} {orders}", spec.family);
        } else {
            assert!(impact > 0.0 && orders > 0.0, "cause {k} ({}): {impact} {orders}", spec.family);
        }
    }
    for (k, spec) in scenario.causes.iter().enumerate() {
        let (seg, stage): (Vec<(String, String)>, Option<Stage>) = if k == 0 {
            (target(d), d.generated.truth.stage)
        } else {
            let text = spec.target.as_deref().expect("later causes of a catalogue case name a fixed target");
            (dropcase::scenario::parse_terms(text).unwrap(), spec.stage.or(spec.family.def().step))
        };
        let family = spec.family;
        let size = spec.size[0];
        if family.uses(Mechanism::Traffic, Some("low_intent"))
            || family.uses(Mechanism::Traffic, Some("bots"))
        {
            let share = |f: &Funnel, all: &Funnel| f.sessions as f64 / all.sessions as f64;
            let (ta, tb) = (
                s.funnel(|i| after(d, i) && s.in_segment(i, &seg)),
                s.funnel(|i| before(d, i) && s.in_segment(i, &seg)),
            );
            let (a, b) = (s.funnel(|i| after(d, i)), s.funnel(|i| before(d, i)));
            rises(
                &format!("cause {k} ({family}): the target's share of sessions"),
                change(share(&ta, &a), share(&tb, &b)),
                0.15,
            );
            continue;
        }
        let k_step = stage.expect("a step-rate or logging cause has a step").index();
        let ta = s.funnel(|i| after(d, i) && s.in_segment(i, &seg));
        let tb = s.funnel(|i| before(d, i) && s.in_segment(i, &seg));
        // A new app version has no baseline of its own: compare it with its platform's other versions.
        let reference = if tb.den(k_step) >= 200 {
            tb
        } else {
            let parent: Vec<(String, String)> =
                seg.iter().filter(|(dim, _)| !dim.ends_with("_version")).cloned().collect();
            s.funnel(|i| after(d, i) && s.in_segment(i, &parent) && !s.in_segment(i, &seg))
        };
        falls(
            &format!("cause {k} ({family}): the target's {} rate", Stage::ALL[k_step.min(3)]),
            change(ta.rate(k_step), reference.rate(k_step)),
            -size * 0.5,
        );
    }
}

/// A step-rate family from the catalogue: the target's signature step falls from the
/// start, the same step elsewhere is flat, and backend orders fall with it.
fn segment_step_falls(d: &Drill) {
    let s = &d.sessions;
    let seg = target(d);
    let k = stage(d);
    let size = d.generated.truth.size;
    let boxed = d.generated.truth.end_time;
    let during = |i: usize| {
        after(d, i) && boxed.is_none_or(|end| s.ts[i] < end && s.ts[i] >= d.generated.truth.start_time)
    };
    let target_after = s.funnel(|i| during(i) && s.in_segment(i, &seg));
    let target_before = s.funnel(|i| before(d, i) && s.in_segment(i, &seg));
    assert!(target_after.den(k) > 200, "too few target sessions at the stage: {target_after:?}");
    falls("target stage rate", change(target_after.rate(k), target_before.rate(k)), -size * 0.5);
    let rest_after = s.funnel(|i| during(i) && !s.in_segment(i, &seg));
    let rest_before = s.funnel(|i| before(d, i) && !s.in_segment(i, &seg));
    flat("stage rate outside the target", change(rest_after.rate(k), rest_before.rate(k)), 0.08);
}

/// Returning users of the target stop arriving: the target's share of sessions falls,
/// its own conversion is unchanged.
fn returning_users_stop(d: &Drill) {
    let s = &d.sessions;
    let seg = target(d);
    let size = d.generated.truth.size;
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    let ta = s.funnel(|i| after(d, i) && s.in_segment(i, &seg) && is(s, i, "user_type", "returning"));
    let tb = s.funnel(|i| before(d, i) && s.in_segment(i, &seg) && is(s, i, "user_type", "returning"));
    let share = |part: &Funnel, all: &Funnel| part.sessions as f64 / all.sessions as f64;
    falls(
        "the target's returning users' share of sessions",
        change(share(&ta, &a), share(&tb, &b)),
        -size * 0.6,
    );
    let na = s.funnel(|i| after(d, i) && is(s, i, "user_type", "new"));
    let nb = s.funnel(|i| before(d, i) && is(s, i, "user_type", "new"));
    flat("new users' conversion", change(na.conversion(), nb.conversion()), 0.12);
}

// ---- helpers ------------------------------------------------------------------------

fn start(d: &Drill) -> NaiveDate {
    d.generated.truth.start
}

fn target(d: &Drill) -> Vec<(String, String)> {
    d.generated.truth.segment.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn target_value<'a>(d: &'a Drill, dim: &str) -> &'a str {
    d.generated.truth.segment.get(dim).unwrap_or_else(|| panic!("truth has no {dim} in its segment")).as_str()
}

fn stage(d: &Drill) -> usize {
    d.generated.truth.stage.expect("truth names a stage").index()
}

/// Rows dated before the cause began (the whole period before its start day).
fn before(d: &Drill, i: usize) -> bool {
    d.sessions.date[i] < start(d)
}

/// Rows from the cause's start day to the end of the current window.
fn after(d: &Drill, i: usize) -> bool {
    d.sessions.date[i] >= start(d) && d.current().contains(d.sessions.date[i])
}

fn in_baseline(d: &Drill, i: usize) -> bool {
    d.baseline().contains(d.sessions.date[i])
}

fn in_current(d: &Drill, i: usize) -> bool {
    d.current().contains(d.sessions.date[i])
}

fn is(s: &Sessions, i: usize, dim: &str, value: &str) -> bool {
    s.dim(dim).is(i, value)
}

fn days_between(from: NaiveDate, to: NaiveDate) -> f64 {
    ((to - from).num_days() + 1) as f64
}

/// Backend orders on `platform` (any platform if `None`) with dates in `[from, to]`.
fn orders_between(d: &Drill, platform: Option<&str>, from: NaiveDate, to: NaiveDate) -> u64 {
    d.orders.count(|i| {
        (from..=to).contains(&d.orders.date[i]) && platform.is_none_or(|p| d.orders.platform.is(i, p))
    })
}

fn sessions_between(d: &Drill, platform: Option<&str>, from: NaiveDate, to: NaiveDate) -> u64 {
    d.sessions
        .funnel(|i| {
            (from..=to).contains(&d.sessions.date[i])
                && platform.is_none_or(|p| is(&d.sessions, i, "platform", p))
        })
        .sessions
}

/// Backend orders per session on a platform (every platform if `None`), from the cause's
/// start day to the end of the current window, against all days before the start.
fn backend_conversion_change(d: &Drill, platform: Option<&str>) -> f64 {
    let (first, last) = (d.generated.brief.data_from, start(d) - Duration::days(1));
    let (from, to) = (start(d), d.current().to);
    let rate = |from, to| {
        orders_between(d, platform, from, to) as f64 / sessions_between(d, platform, from, to) as f64
    };
    change(rate(from, to), rate(first, last))
}

/// Asserts `|value| <= tolerance`, naming what was measured.
fn flat(what: &str, value: f64, tolerance: f64) {
    assert!(
        value.abs() <= tolerance,
        "{what} should be flat: changed {:+.2}% (allowed ±{:.1}%)",
        value * 100.0,
        tolerance * 100.0
    );
}

/// Asserts `value < bound` (a fall of more than `-bound`).
fn falls(what: &str, value: f64, bound: f64) {
    assert!(value < bound, "{what} should fall below {:+.1}%: changed {:+.2}%", bound * 100.0, value * 100.0);
}

fn rises(what: &str, value: f64, bound: f64) {
    assert!(value > bound, "{what} should rise above {:+.1}%: changed {:+.2}%", bound * 100.0, value * 100.0);
}

/// Sessions sharing their (user, timestamp) with another session: a client logging twice.
fn duplicated_rows(s: &Sessions) -> Vec<bool> {
    let mut seen: HashMap<(u64, NaiveDateTime), usize> = HashMap::new();
    for i in 0..s.len {
        *seen.entry((s.user_id[i], s.ts[i])).or_default() += 1;
    }
    (0..s.len).map(|i| seen[&(s.user_id[i], s.ts[i])] > 1).collect()
}

// ---- measurement: backend orders stay flat ----------------------------------------------

/// Purchase events vanish in the target (a platform's new app version); the backend still
/// records the orders.
fn tracking_loss(d: &Drill) {
    let s = &d.sessions;
    let seg = target(d);
    let platform = target_value(d, "platform");
    let target = s.funnel(|i| after(d, i) && s.in_segment(i, &seg));
    let rest = s.funnel(|i| after(d, i) && is(s, i, "platform", platform) && !s.in_segment(i, &seg));
    assert!(target.steps[2] > 300, "too few target checkouts: {target:?}");
    falls(
        "target purchase/checkout vs the rest of its platform",
        change(target.rate(3), rest.rate(3)),
        -0.25,
    );
    // The steps before the purchase are untouched.
    flat("target cart rate vs the rest of its platform", change(target.rate(1), rest.rate(1)), 0.12);
    flat("target checkout rate vs the rest of its platform", change(target.rate(2), rest.rate(2)), 0.12);

    // Client purchases on the platform fall; backend orders on the platform do not.
    let client_after = s.funnel(|i| after(d, i) && is(s, i, "platform", platform)).conversion();
    let client_before = s.funnel(|i| before(d, i) && is(s, i, "platform", platform)).conversion();
    let client_change = change(client_after, client_before);
    let backend_change = backend_conversion_change(d, Some(platform));
    flat("backend orders per session on the target platform", backend_change, 0.12);
    falls("client conversion change minus backend conversion change", client_change - backend_change, -0.08);
    // And the two sources disagree only there: orders exceed client purchases on the target
    // platform after the start, never elsewhere.
    let pairs = super::invariants::purchases_and_orders(s, &d.orders);
    let (mut lost, mut orders) = (0u64, 0u64);
    for ((date, p), (purchases, o)) in &pairs {
        if p == platform && *date >= start(d) {
            lost += o - purchases;
            orders += o;
        } else {
            assert_eq!(purchases, o, "{date} {p}: orders and client purchases must agree outside the target");
        }
    }
    rises(
        "share of the target platform's orders missing from client data",
        lost as f64 / orders as f64,
        0.05,
    );
}

/// The target client logs sessions twice: sessions per user rise there, orders do not.
fn duplicate_sessions(d: &Drill) {
    let s = &d.sessions;
    let seg = target(d);
    let platform = target_value(d, "platform");
    let size = d.generated.truth.size;
    let spu_target = s.sessions_per_user_daily(|i| after(d, i) && s.in_segment(i, &seg));
    let spu_rest = s
        .sessions_per_user_daily(|i| after(d, i) && is(s, i, "platform", platform) && !s.in_segment(i, &seg));
    rises("sessions per user, target vs rest of its platform", change(spu_target, spu_rest), size * 0.6);
    let spu_other = s.sessions_per_user_daily(|i| after(d, i) && !is(s, i, "platform", platform));
    let spu_other_before = s.sessions_per_user_daily(|i| before(d, i) && !is(s, i, "platform", platform));
    flat("sessions per user on the other platforms", change(spu_other, spu_other_before), 0.02);

    // The copies carry the same user and timestamp as the original.
    let dup = duplicated_rows(s);
    let share = |keep: &dyn Fn(usize) -> bool| {
        let (n, k) =
            (0..s.len).filter(|&i| keep(i)).fold((0u64, 0u64), |(n, k), i| (n + 1, k + u64::from(dup[i])));
        k as f64 / n.max(1) as f64
    };
    let in_target = share(&|i| after(d, i) && s.in_segment(i, &seg));
    let elsewhere = share(&|i| !s.in_segment(i, &seg));
    assert!(
        in_target > size * 0.8,
        "only {in_target:.3} of target sessions share (user, ts) with another (size {size:.2})"
    );
    assert!(elsewhere < 0.005, "{elsewhere:.4} of other sessions share (user, ts)");

    // Backend orders on the platform stay flat, per day (against every day before the start:
    // one baseline week alone is too noisy a reference for a platform's orders).
    let (b, c) = (d.baseline(), d.current());
    let per_day = |from: NaiveDate, to: NaiveDate| {
        orders_between(d, Some(platform), from, to) as f64 / days_between(from, to)
    };
    let orders_change =
        change(per_day(start(d), c.to), per_day(d.generated.brief.data_from, start(d) - Duration::days(1)));
    flat("backend orders per day on the target platform", orders_change, 0.12);
    let sessions_change = change(
        sessions_between(d, Some(platform), c.from, c.to) as f64,
        sessions_between(d, Some(platform), b.from, b.to) as f64,
    );
    rises("sessions on the target platform", sessions_change, 0.08);
}

/// The newest day is not fully ingested: client purchases lag backend orders on the last
/// day only, late steps worst.
fn partial_day(d: &Drill) {
    let s = &d.sessions;
    let last = d.current().to;
    let mut per_day: HashMap<NaiveDate, (u64, u64)> = HashMap::new();
    for (date, _) in super::invariants::purchases_and_orders(s, &d.orders).keys() {
        per_day.entry(*date).or_default();
    }
    for ((date, _), (p, o)) in super::invariants::purchases_and_orders(s, &d.orders) {
        let e = per_day.get_mut(&date).unwrap();
        e.0 += p;
        e.1 += o;
    }
    let ratio = |date: NaiveDate| {
        let (p, o) = per_day[&date];
        p as f64 / o as f64
    };
    assert!(ratio(last) < 0.8, "last day's client purchases / backend orders = {:.3}", ratio(last));
    for (&date, &(p, o)) in &per_day {
        if date < last - Duration::days(1) {
            assert_eq!(p, o, "{date}: days before the last two are complete");
        }
    }
    // Later steps are missing more: compare the last day with the same weekday a week before.
    let week_before = last - Duration::days(7);
    let day = |date: NaiveDate| s.funnel(|i| s.date[i] == date);
    let (now, then) = (day(last), day(week_before));
    let cart = change(now.rate(1), then.rate(1));
    let purchase =
        change(now.steps[3] as f64 / now.sessions as f64, then.steps[3] as f64 / then.sessions as f64);
    falls("last day's conversion vs a week before", purchase, -0.15);
    assert!(
        purchase < cart - 0.1,
        "late steps should be worst: conversion {purchase:+.3} vs cart rate {cart:+.3}"
    );
    // Session counts are complete (only events are late).
    flat("last day's sessions vs a week before", change(now.sessions as f64, then.sessions as f64), 0.15);
}

/// A session-definition change splits visits on every platform from its config date.
fn definition_change(d: &Drill) {
    let s = &d.sessions;
    let size = d.generated.truth.size;
    for platform in ["ios", "android", "web"] {
        let spu_after = s.sessions_per_user_daily(|i| after(d, i) && is(s, i, "platform", platform));
        let spu_before = s.sessions_per_user_daily(|i| before(d, i) && is(s, i, "platform", platform));
        rises(&format!("sessions per user on {platform}"), change(spu_after, spu_before), size * 0.6);
        // The step is a step: the day before the change looks like the weeks before it.
        let eve = start(d) - Duration::days(1);
        let spu_eve = s.sessions_per_user_daily(|i| s.date[i] == eve && is(s, i, "platform", platform));
        flat(
            &format!("sessions per user on {platform} the day before the change"),
            change(spu_eve, spu_before),
            0.03,
        );
    }
    // Orders per day do not move.
    let c = d.current();
    let before_days =
        days_between(d.generated.truth.start - Duration::days(14), start(d) - Duration::days(1));
    let orders_before = orders_between(d, None, start(d) - Duration::days(14), start(d) - Duration::days(1))
        as f64
        / before_days;
    let orders_after = orders_between(d, None, start(d), c.to) as f64 / days_between(start(d), c.to);
    flat("backend orders per day", change(orders_after, orders_before), 0.10);
}

/// Zero-intent sessions from one source and country: that segment's sessions jump while
/// it adds nothing to carts.
fn bot_traffic(d: &Drill) {
    let s = &d.sessions;
    let seg = target(d);
    let t_after = s.funnel(|i| after(d, i) && s.in_segment(i, &seg));
    let t_before = s.funnel(|i| before(d, i) && s.in_segment(i, &seg));
    let all_after = s.funnel(|i| after(d, i));
    let all_before = s.funnel(|i| before(d, i));
    let share = |t: &Funnel, all: &Funnel| t.sessions as f64 / all.sessions as f64;
    rises(
        "target's share of sessions",
        change(share(&t_after, &all_after), share(&t_before, &all_before)),
        0.5,
    );
    // Carts per day in the target stay where they were: the extra sessions never add to cart.
    let days_after = days_between(start(d), d.current().to);
    let days_before = days_between(d.generated.brief.data_from, start(d) - Duration::days(1));
    let carts = change(t_after.steps[1] as f64 / days_after, t_before.steps[1] as f64 / days_before);
    flat("target's add-to-carts per day", carts, 0.3);
    falls(
        "target's add-to-cart per session",
        change(
            t_after.steps[1] as f64 / t_after.sessions as f64,
            t_before.steps[1] as f64 / t_before.sessions as f64,
        ),
        -0.3,
    );
    // Outside the target nothing changed.
    let rest_after = s.funnel(|i| after(d, i) && !s.in_segment(i, &seg));
    let rest_before = s.funnel(|i| before(d, i) && !s.in_segment(i, &seg));
    flat("conversion outside the target", change(rest_after.conversion(), rest_before.conversion()), 0.06);
    // Backend orders are flat (bots buy nothing).
    let orders = change(
        orders_between(d, None, start(d), d.current().to) as f64 / days_after,
        orders_between(d, None, d.generated.brief.data_from, start(d) - Duration::days(1)) as f64
            / days_before,
    );
    flat("backend orders per day", orders, 0.10);
}

// ---- product: orders fall too ----------------------------------------------------------

/// One step breaks on one platform's new app version: against the old version on the same
/// platform and days, the stage rate falls; the backend loses the orders too.
fn release_bug(d: &Drill) {
    let s = &d.sessions;
    let seg = target(d);
    let platform = target_value(d, "platform");
    let k = stage(d);
    let target = s.funnel(|i| after(d, i) && s.in_segment(i, &seg));
    let rest = s.funnel(|i| after(d, i) && is(s, i, "platform", platform) && !s.in_segment(i, &seg));
    assert!(target.den(k) > 300, "too few target sessions at the stage: {target:?}");
    falls("target stage rate vs the rest of its platform", change(target.rate(k), rest.rate(k)), -0.2);
    // Other steps of the target are untouched.
    for other in (0..4).filter(|&j| j != k) {
        flat(
            &format!("target step {other} vs the rest of its platform"),
            change(target.rate(other), rest.rate(other)),
            0.12,
        );
    }
    // The other platforms are flat at that stage.
    let others_after = s.funnel(|i| after(d, i) && !is(s, i, "platform", platform));
    let others_before = s.funnel(|i| before(d, i) && !is(s, i, "platform", platform));
    flat("stage rate on the other platforms", change(others_after.rate(k), others_before.rate(k)), 0.06);
    // Backend orders fall with the client data (unlike tracking_loss).
    falls(
        "backend orders per session on the target platform",
        backend_conversion_change(d, Some(platform)),
        -0.05,
    );
}

/// One browser's step breaks from the deploy date; other browsers and the apps are flat.
fn browser_bug(d: &Drill) {
    let s = &d.sessions;
    let browser = target_value(d, "browser");
    let k = stage(d);
    let target_after = s.funnel(|i| after(d, i) && is(s, i, "browser", browser));
    let target_before = s.funnel(|i| before(d, i) && is(s, i, "browser", browser));
    falls(&format!("{browser} stage rate"), change(target_after.rate(k), target_before.rate(k)), -0.25);
    let web_other = |i: usize| is(s, i, "platform", "web") && !is(s, i, "browser", browser);
    let other_after = s.funnel(|i| after(d, i) && web_other(i));
    let other_before = s.funnel(|i| before(d, i) && web_other(i));
    flat("stage rate of the other browsers", change(other_after.rate(k), other_before.rate(k)), 0.10);
    let apps_after = s.funnel(|i| after(d, i) && !is(s, i, "platform", "web"));
    let apps_before = s.funnel(|i| before(d, i) && !is(s, i, "platform", "web"));
    flat("stage rate in the apps", change(apps_after.rate(k), apps_before.rate(k)), 0.05);
    falls("backend orders per session on the web", backend_conversion_change(d, Some("web")), -0.05);
}

/// 75th percentile of page_load_ms over the rows where `keep` holds.
fn p75(s: &Sessions, keep: impl Fn(usize) -> bool) -> f64 {
    let mut v: Vec<f64> = (0..s.len).filter(|&i| keep(i)).map(|i| s.page_load_ms[i]).collect();
    v.sort_by(f64::total_cmp);
    v[(v.len() * 3) / 4]
}

/// Pages got slower: page_load p75 up (mobile most), every funnel step dips.
fn latency_regression(d: &Drill) {
    let s = &d.sessions;
    let mobile = |i: usize| !is(s, i, "device", "desktop");
    let mobile_change = change(p75(s, |i| after(d, i) && mobile(i)), p75(s, |i| before(d, i) && mobile(i)));
    let desktop_change =
        change(p75(s, |i| after(d, i) && !mobile(i)), p75(s, |i| before(d, i) && !mobile(i)));
    rises("page_load_ms p75 on mobile", mobile_change, 0.2);
    rises("page_load_ms p75 on desktop", desktop_change, 0.05);
    assert!(
        mobile_change > desktop_change,
        "mobile should slow down most: {mobile_change:+.3} vs {desktop_change:+.3}"
    );
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    let mut total = 0.0;
    for k in 0..4 {
        let c = change(a.rate(k), b.rate(k));
        falls(&format!("step {k} rate"), c, 0.01);
        total += c;
    }
    falls("mean step rate change", total / 4.0, -0.008);
    falls("view rate (the largest sample)", change(a.rate(0), b.rate(0)), -0.006);
}

/// One payment method fails for hours: its purchase/checkout rate collapses during the
/// outage and recovers after; other methods are unaffected.
fn payment_outage(d: &Drill) {
    let s = &d.sessions;
    let method = target_value(d, "payment_method");
    let from = d.generated.truth.start_time;
    let to = d.generated.truth.end_time.expect("an outage ends");
    let during = |i: usize| s.ts[i] >= from && s.ts[i] < to;
    let pay = |i: usize| is(s, i, "payment_method", method);
    let t_during = s.funnel(|i| during(i) && pay(i));
    let t_before = s.funnel(|i| s.ts[i] < from && in_baseline(d, i) && pay(i));
    let o_during = s.funnel(|i| during(i) && !pay(i));
    let o_before = s.funnel(|i| in_baseline(d, i) && !pay(i));
    assert!(t_during.steps[2] > 100, "too few {method} checkouts in the outage: {t_during:?}");
    falls(
        &format!("{method} purchase/checkout during the outage"),
        change(t_during.rate(3), t_before.rate(3)),
        -0.6,
    );
    flat(
        "other methods' purchase/checkout during the outage",
        change(o_during.rate(3), o_before.rate(3)),
        0.15,
    );
    // Checkout itself is untouched: users still reach it and pick the method.
    let picked = |f: &Funnel, all: &Funnel| f.steps[2] as f64 / (f.steps[2] + all.steps[2]) as f64;
    flat(
        &format!("{method}'s share of checkouts during the outage"),
        change(picked(&t_during, &o_during), picked(&t_before, &o_before)),
        0.15,
    );
    // It recovers after the end (when the data reaches far enough).
    let t_after = s.funnel(|i| s.ts[i] >= to && pay(i));
    if t_after.steps[2] >= 150 {
        flat(
            &format!("{method} purchase/checkout after the outage"),
            change(t_after.rate(3), t_before.rate(3)),
            0.2,
        );
    }
    // The backend loses those orders too, per hour.
    let hours = (to - from).num_minutes() as f64 / 60.0;
    let backend_during = d.orders.count(|i| {
        d.orders.ts[i] >= from + Duration::minutes(30)
            && d.orders.ts[i] < to
            && d.orders.payment_method.is(i, method)
    }) as f64
        / (hours - 0.5);
    let b = d.baseline();
    let backend_base =
        d.orders.count(|i| b.contains(d.orders.date[i]) && d.orders.payment_method.is(i, method)) as f64
            / (24.0 * days_between(b.from, b.to));
    falls(
        &format!("backend {method} orders per hour during the outage"),
        change(backend_during, backend_base),
        -0.5,
    );
}

/// Prices went up: fewer carts, higher order value.
fn price_change(d: &Drill) {
    let s = &d.sessions;
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    let size = d.generated.truth.size;
    falls("cart rate", change(a.rate(1), b.rate(1)), -size * 0.5);
    rises("average order value", change(a.aov(), b.aov()), size * 0.6);
    flat("view rate", change(a.rate(0), b.rate(0)), 0.01);
    flat("checkout rate", change(a.rate(2), b.rate(2)), 0.04);
    // Backend amounts rise the same way.
    let amount = |keep: &dyn Fn(usize) -> bool| {
        let (n, sum) = (0..d.orders.len)
            .filter(|&i| keep(i))
            .fold((0u64, 0.0), |(n, s), i| (n + 1, s + d.orders.amount[i]));
        sum / n as f64
    };
    let after_start = amount(&|i| d.orders.date[i] >= start(d));
    let before_start = amount(&|i| d.orders.date[i] < start(d));
    rises("backend average order amount", change(after_start, before_start), size * 0.6);
}

/// A redesigned step converts worse for everyone: the stage falls on every platform, order
/// value does not move.
fn ui_step_change(d: &Drill) {
    let s = &d.sessions;
    let k = stage(d);
    let size = d.generated.truth.size;
    for platform in ["ios", "android", "web"] {
        let a = s.funnel(|i| after(d, i) && is(s, i, "platform", platform));
        let b = s.funnel(|i| before(d, i) && is(s, i, "platform", platform));
        falls(&format!("stage rate on {platform}"), change(a.rate(k), b.rate(k)), -size * 0.3);
    }
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    falls("stage rate overall", change(a.rate(k), b.rate(k)), -size * 0.6);
    for other in (0..4).filter(|&j| j != k) {
        flat(&format!("step {other} overall"), change(a.rate(other), b.rate(other)), 0.04);
    }
    flat("average order value", change(a.aov(), b.aov()), 0.04);
}

// ---- mix: rates within segments flat --------------------------------------------------

/// A campaign brings a new, low-intent source: it appears from nowhere, every existing
/// source converts as before, overall conversion falls.
fn low_intent_campaign(d: &Drill) {
    let s = &d.sessions;
    let source = target_value(d, "traffic_source");
    let campaign = |i: usize| is(s, i, "traffic_source", source);
    assert_eq!(s.funnel(|i| before(d, i) && campaign(i)).sessions, 0, "{source} exists before the campaign");
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    let c = s.funnel(|i| after(d, i) && campaign(i));
    rises(
        &format!("{source}'s share of sessions after the start"),
        c.sessions as f64 / a.sessions as f64,
        0.04,
    );
    assert!(
        c.conversion() < b.conversion() * 0.6,
        "campaign traffic converts low: {:.4} vs {:.4}",
        c.conversion(),
        b.conversion()
    );
    // Campaign visitors are new users.
    let returning = s.funnel(|i| campaign(i) && is(s, i, "user_type", "returning")).sessions;
    assert_eq!(returning, 0, "campaign sessions from returning users");
    for existing in s.dim("traffic_source").names.iter().filter(|n| n.as_str() != source) {
        let ea = s.funnel(|i| after(d, i) && is(s, i, "traffic_source", existing));
        let eb = s.funnel(|i| before(d, i) && is(s, i, "traffic_source", existing));
        // Within 20%, or 4 standard errors of the change where a small source's purchases
        // are few (relative se of a ratio of two Poisson rates: √(1/x₁ + 1/x₂); affiliate
        // has about 200 purchases after the start, se 8%).
        let se = (1.0 / ea.steps[3].max(1) as f64 + 1.0 / eb.steps[3].max(1) as f64).sqrt();
        flat(
            &format!("conversion of {existing}"),
            change(ea.conversion(), eb.conversion()),
            (4.0 * se).max(0.2),
        );
    }
    let ra = s.funnel(|i| after(d, i) && !campaign(i));
    let rb = s.funnel(|i| before(d, i) && !campaign(i));
    flat("conversion of the existing sources together", change(ra.conversion(), rb.conversion()), 0.05);
    falls("overall conversion", change(a.conversion(), b.conversion()), -0.04);
}

/// A high-converting channel (email) sends far fewer sessions; its own conversion is flat.
fn high_intent_channel_end(d: &Drill) {
    let s = &d.sessions;
    let source = target_value(d, "traffic_source");
    let ch = |i: usize| is(s, i, "traffic_source", source);
    let size = d.generated.truth.size;
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    let ca = s.funnel(|i| after(d, i) && ch(i));
    let cb = s.funnel(|i| before(d, i) && ch(i));
    let share = |part: &Funnel, all: &Funnel| part.sessions as f64 / all.sessions as f64;
    falls(&format!("{source}'s share of sessions"), change(share(&ca, &a), share(&cb, &b)), -size * 0.7);
    assert!(cb.conversion() > b.conversion() * 1.2, "{source} should be high-intent");
    flat(&format!("{source}'s own conversion"), change(ca.conversion(), cb.conversion()), 0.25);
    let ra = s.funnel(|i| after(d, i) && !ch(i));
    let rb = s.funnel(|i| before(d, i) && !ch(i));
    flat("conversion of the other sources", change(ra.conversion(), rb.conversion()), 0.05);
    falls("overall conversion", change(a.conversion(), b.conversion()), -0.03);
    // Orders fall: those buyers are really gone (unlike a tracking problem).
    let days_after = days_between(start(d), d.current().to);
    let days_before = days_between(d.generated.brief.data_from, start(d) - Duration::days(1));
    let orders = change(
        orders_between(d, None, start(d), d.current().to) as f64 / days_after,
        orders_between(d, None, d.generated.brief.data_from, start(d) - Duration::days(1)) as f64
            / days_before,
    );
    falls("backend orders per day", orders, -0.03);
}

/// More new users: each user type converts as before, overall falls (Simpson's paradox).
fn new_returning_mix(d: &Drill) {
    let s = &d.sessions;
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    let new_a = s.funnel(|i| after(d, i) && is(s, i, "user_type", "new"));
    let new_b = s.funnel(|i| before(d, i) && is(s, i, "user_type", "new"));
    let share_change = new_a.sessions as f64 / a.sessions as f64 - new_b.sessions as f64 / b.sessions as f64;
    assert!(share_change > 0.08, "new users' share rose only {share_change:+.3}");
    for user_type in ["new", "returning"] {
        let ua = s.funnel(|i| after(d, i) && is(s, i, "user_type", user_type));
        let ub = s.funnel(|i| before(d, i) && is(s, i, "user_type", user_type));
        flat(&format!("conversion of {user_type} users"), change(ua.conversion(), ub.conversion()), 0.12);
    }
    falls("overall conversion", change(a.conversion(), b.conversion()), -0.03);
    // Sessions per day are unchanged: who arrives changed, not how many.
    let days_after = days_between(start(d), d.current().to);
    let days_before = days_between(d.generated.brief.data_from, start(d) - Duration::days(1));
    flat("sessions per day", change(a.sessions as f64 / days_after, b.sessions as f64 / days_before), 0.08);
}

// ---- seasonality ------------------------------------------------------------------------

fn daily_conversion(s: &Sessions) -> Vec<(NaiveDate, Funnel)> {
    let mut days: HashMap<NaiveDate, Funnel> = HashMap::new();
    for i in 0..s.len {
        let f = days.entry(s.date[i]).or_default();
        f.sessions += 1;
        for k in 0..4 {
            f.steps[k] += u64::from(s.flags[k][i]);
        }
        f.revenue += s.revenue[i];
    }
    let mut out: Vec<_> = days.into_iter().collect();
    out.sort_by_key(|(d, _)| *d);
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The baseline window held a holiday: those days convert far above the median, and every
/// segment is down against them.
fn holiday_hangover(d: &Drill) {
    let s = &d.sessions;
    let from = d.generated.truth.start_time;
    let to = d.generated.truth.end_time.expect("a holiday ends");
    assert!(d.baseline().contains(from.date()), "the holiday lies in the baseline window");
    let days = daily_conversion(s);
    // Days wholly inside the holiday.
    let holiday: Vec<f64> = days
        .iter()
        .filter(|(date, _)| {
            date.and_hms_opt(0, 0, 0).unwrap() >= from && date.and_hms_opt(23, 59, 59).unwrap() < to
        })
        .map(|(_, f)| f.conversion())
        .collect();
    assert!(!holiday.is_empty(), "no whole day inside the holiday {from}..{to}");
    let normal: Vec<f64> = days
        .iter()
        .filter(|(date, _)| *date < from.date() || date.and_hms_opt(0, 0, 0).unwrap() >= to)
        .map(|(_, f)| f.conversion())
        .collect();
    let med = median(normal.clone());
    let holiday_mean = holiday.iter().sum::<f64>() / holiday.len() as f64;
    rises("the holiday days' conversion vs the median day", change(holiday_mean, med), 0.06);
    let normal_above = normal.iter().filter(|&&c| c > med * 1.08).count();
    assert!(normal_above <= 1, "{normal_above} ordinary days convert 8% above the median");
    // Every platform converts better during the holiday hours, not one segment alone.
    let during = |i: usize| s.ts[i] >= from && s.ts[i] < to;
    for platform in ["ios", "android", "web"] {
        let on = s.funnel(|i| during(i) && is(s, i, "platform", platform));
        let off = s.funnel(|i| !during(i) && is(s, i, "platform", platform));
        rises(
            &format!("{platform} conversion during the holiday"),
            change(on.conversion(), off.conversion()),
            0.0,
        );
    }
    let on = s.funnel(during);
    let off = s.funnel(|i| !during(i));
    rises("conversion during the holiday", change(on.conversion(), off.conversion()), 0.08);
}

/// The windows hold different weekdays; the same weekday converts the same week to week.
fn weekday_mismatch(d: &Drill) {
    let s = &d.sessions;
    let (b, c) = (d.baseline(), d.current());
    let weekdays = |w: dropcase::brief::Window| -> HashSet<u32> {
        (0..w.days()).map(|k| (w.from + Duration::days(k)).weekday().num_days_from_monday()).collect()
    };
    assert!(weekdays(b).is_disjoint(&weekdays(c)), "windows share weekdays: {b} vs {c}");
    // Current window against the same weekdays a week earlier.
    let now = s.funnel(|i| in_current(d, i));
    let week_ago = s.funnel(|i| {
        let date = s.date[i] + Duration::days(7);
        c.contains(date)
    });
    flat(
        "conversion against the same weekdays a week earlier",
        change(now.conversion(), week_ago.conversion()),
        0.08,
    );
    let current_days = weekdays(c);
    let earlier = s
        .funnel(|i| s.date[i] < c.from && current_days.contains(&s.date[i].weekday().num_days_from_monday()));
    flat(
        "conversion against the same weekdays in all earlier weeks",
        change(now.conversion(), earlier.conversion()),
        0.05,
    );
    // Each weekday on its own, week over week, across the whole period.
    for (date, f) in daily_conversion(s) {
        let prev = s.funnel(|i| s.date[i] == date - Duration::days(7));
        if prev.sessions > 0 {
            flat(
                &format!("conversion on {date} vs a week earlier"),
                change(f.conversion(), prev.conversion()),
                0.2,
            );
        }
    }
    // What moved is the weekday mix: the baseline's weekdays convert better everywhere.
    let bw = weekdays(b);
    let in_bw = s.funnel(|i| bw.contains(&s.date[i].weekday().num_days_from_monday()));
    let in_cw = s.funnel(|i| {
        !bw.contains(&s.date[i].weekday().num_days_from_monday())
            && weekdays(c).contains(&s.date[i].weekday().num_days_from_monday())
    });
    rises(
        "conversion on the baseline's weekdays vs the current's",
        change(in_bw.conversion(), in_cw.conversion()),
        0.04,
    );
}

// ---- external -------------------------------------------------------------------------

/// One step breaks on a new OS version, whatever the app version.
fn os_update(d: &Drill) {
    let s = &d.sessions;
    let os = target_value(d, "os_version");
    let k = stage(d);
    // The platform that ships this OS version.
    let platform = (0..s.len)
        .find(|&i| is(s, i, "os_version", os))
        .and_then(|i| s.dim("platform").name(i))
        .expect("the OS version occurs")
        .to_string();
    let app_versions: BTreeSet<String> = (0..s.len)
        .filter(|&i| after(d, i) && is(s, i, "platform", &platform))
        .filter_map(|i| s.dim("app_version").name(i).map(str::to_string))
        .collect();
    assert_eq!(app_versions.len(), 2, "both app versions are in use: {app_versions:?}");
    for app in &app_versions {
        let on = s.funnel(|i| after(d, i) && is(s, i, "app_version", app) && is(s, i, "os_version", os));
        let off = s.funnel(|i| after(d, i) && is(s, i, "app_version", app) && !is(s, i, "os_version", os));
        assert!(on.den(k) > 80, "too few sessions on {os} with {app}: {on:?}");
        falls(
            &format!("stage rate on os {os} with app {app} vs other OS versions"),
            change(on.rate(k), off.rate(k)),
            -0.2,
        );
    }
    let others_after = s.funnel(|i| after(d, i) && !is(s, i, "platform", &platform));
    let others_before = s.funnel(|i| before(d, i) && !is(s, i, "platform", &platform));
    flat("stage rate on the other platforms", change(others_after.rate(k), others_before.rate(k)), 0.06);
    falls("backend orders per session on the platform", backend_conversion_change(d, Some(&platform)), -0.03);
}

/// One country's conversion collapses for some hours, then recovers; other countries are
/// unaffected.
fn regional_event(d: &Drill) {
    let s = &d.sessions;
    let country = target_value(d, "country");
    let from = d.generated.truth.start_time;
    let to = d.generated.truth.end_time.expect("an event ends");
    let during = |i: usize| s.ts[i] >= from && s.ts[i] < to;
    let here = |i: usize| is(s, i, "country", country);
    let t_during = s.funnel(|i| during(i) && here(i));
    let t_normal = s.funnel(|i| s.ts[i] < from && in_baseline(d, i) && here(i));
    assert!(t_during.sessions > 1000, "too few {country} sessions in the event: {t_during:?}");
    falls(
        &format!("{country} conversion during the event"),
        change(t_during.conversion(), t_normal.conversion()),
        -0.6,
    );
    let o_during = s.funnel(|i| during(i) && !here(i));
    let o_normal = s.funnel(|i| in_baseline(d, i) && !here(i));
    flat(
        "other countries' conversion during the event",
        change(o_during.conversion(), o_normal.conversion()),
        0.12,
    );
    // Hour by hour: most hours of the event are far below normal.
    let mut hours: HashMap<(NaiveDate, u32), Funnel> = HashMap::new();
    for i in (0..s.len).filter(|&i| during(i) && here(i)) {
        let f = hours.entry((s.date[i], s.ts[i].hour())).or_default();
        f.sessions += 1;
        f.steps[3] += u64::from(s.flags[3][i]);
    }
    let collapsed = hours.values().filter(|f| f.conversion() < t_normal.conversion() * 0.5).count();
    assert!(
        collapsed as f64 >= hours.len() as f64 * 0.6,
        "{collapsed} of {} event hours collapsed",
        hours.len()
    );
    let t_after = s.funnel(|i| s.ts[i] >= to && here(i));
    if t_after.sessions > 3000 {
        flat(
            &format!("{country} conversion after the event"),
            change(t_after.conversion(), t_normal.conversion()),
            0.25,
        );
    }
}

/// A competitor's promotion: new users' checkout rate falls, returning users' does not,
/// and order value does not move (our prices are unchanged).
fn competitor_promo(d: &Drill) {
    let s = &d.sessions;
    let user_type = target_value(d, "user_type");
    let size = d.generated.truth.size;
    let k = Stage::Checkout.index();
    let t_a = s.funnel(|i| after(d, i) && is(s, i, "user_type", user_type));
    let t_b = s.funnel(|i| before(d, i) && is(s, i, "user_type", user_type));
    falls(&format!("{user_type} users' checkout rate"), change(t_a.rate(k), t_b.rate(k)), -size * 0.4);
    flat(&format!("{user_type} users' cart rate"), change(t_a.rate(1), t_b.rate(1)), 0.04);
    let o_a = s.funnel(|i| after(d, i) && !is(s, i, "user_type", user_type));
    let o_b = s.funnel(|i| before(d, i) && !is(s, i, "user_type", user_type));
    flat("other users' checkout rate", change(o_a.rate(k), o_b.rate(k)), 0.04);
    flat("other users' conversion", change(o_a.conversion(), o_b.conversion()), 0.07);
    let a = s.funnel(|i| after(d, i));
    let b = s.funnel(|i| before(d, i));
    flat("average order value", change(a.aov(), b.aov()), 0.04);
}

// ---- none -------------------------------------------------------------------------------

/// Nothing happened: the headline change is not significant, and no platform moved beyond
/// what its volume allows.
fn noise(d: &Drill) {
    let s = &d.sessions;
    let b = s.funnel(|i| in_baseline(d, i));
    let c = s.funnel(|i| in_current(d, i));
    let z = z_two_proportions(b.steps[3], b.sessions, c.steps[3], c.sessions);
    // |z| < 1.96 ⇔ two-sided p > 0.05.
    assert!(z.abs() < 1.96, "headline change is significant: z = {z:.2}");
    for platform in ["ios", "android", "web"] {
        let pb = s.funnel(|i| in_baseline(d, i) && is(s, i, "platform", platform));
        let pc = s.funnel(|i| in_current(d, i) && is(s, i, "platform", platform));
        for k in 0..4 {
            let z = z_two_proportions(pb.steps[k], pb.den(k), pc.steps[k], pc.den(k));
            assert!(z.abs() < 4.0, "{platform} step {k} moved: z = {z:.2}");
        }
    }
    flat("backend orders per session", backend_conversion_change(d, None), 0.08);
}
