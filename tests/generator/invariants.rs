//! Invariants every generated drill must satisfy whatever its cause: checked on each
//! catalogue drill and, as properties, on small drills with random seeds.

use std::collections::HashMap;

use chrono::NaiveDate;
use dropcase::scenario::{Family, Scenario};

use super::support::{Orders, Sessions};

/// Row-level consistency of `sessions` and `orders`.
pub fn check_rows(s: &Sessions, o: &Orders) {
    assert!(s.len > 0, "no sessions");
    for i in 0..s.len {
        let f = |k: usize| s.flags[k][i];
        // Funnel monotone: purchased ⇒ reached_checkout ⇒ added_to_cart ⇒ viewed_product.
        for k in 1..4 {
            assert!(!f(k) || f(k - 1), "session {} reaches step {k} without step {}", s.session_id[i], k - 1);
        }
        assert_eq!(
            s.revenue[i] > 0.0,
            f(3),
            "session {}: revenue {} but purchased = {}",
            s.session_id[i],
            s.revenue[i],
            f(3)
        );
        assert!(s.revenue[i] >= 0.0 && s.revenue[i].is_finite());
        let payment = s.dim("payment_method").name(i);
        assert_eq!(
            payment.is_some(),
            f(2),
            "session {}: payment_method {payment:?} but reached_checkout = {}",
            s.session_id[i],
            f(2)
        );
        let platform = s.dim("platform").name(i).expect("platform is never null");
        let web = platform == "web";
        assert_eq!(
            s.dim("browser").codes[i].is_some(),
            web,
            "browser set iff web (session {})",
            s.session_id[i]
        );
        assert_eq!(s.dim("app_version").codes[i].is_some(), !web, "app_version set iff app");
        assert_eq!(s.dim("os_version").codes[i].is_some(), !web, "os_version set iff app");
        for dim in ["device", "country", "traffic_source", "user_type"] {
            assert!(s.dim(dim).codes[i].is_some(), "{dim} is null in session {}", s.session_id[i]);
        }
        if !web {
            assert_ne!(s.dim("device").name(i), Some("desktop"), "an app session on a desktop");
        }
        match payment {
            Some("apple_pay") => assert_eq!(platform, "ios", "apple_pay outside iOS"),
            Some("google_pay") => assert_eq!(platform, "android", "google_pay outside Android"),
            _ => {}
        }
        assert!(
            s.page_load_ms[i] > 0.0 && s.page_load_ms[i].is_finite(),
            "page_load_ms {}",
            s.page_load_ms[i]
        );
        assert_eq!(s.ts[i].date(), s.date[i], "session {} ts outside its date", s.session_id[i]);
        assert!(s.user_id[i] > 0);
    }
    // Ids are 1..=n in file order.
    assert!(s.session_id.iter().enumerate().all(|(i, &id)| id == i as u64 + 1), "session ids not 1..=n");
    assert!(o.order_id.iter().enumerate().all(|(i, &id)| id == i as u64 + 1), "order ids not 1..=n");
    for i in 0..o.len {
        assert!(o.amount[i] > 0.0 && o.amount[i].is_finite());
        assert!(["completed", "refunded"].contains(&o.status[i].as_str()), "status {}", o.status[i]);
        // An order lands up to 30 minutes after its session starts.
        let lag = (o.ts[i] - o.date[i].and_hms_opt(0, 0, 0).unwrap()).num_minutes();
        assert!(
            (0..24 * 60 + 31).contains(&lag),
            "order {} ts {} vs date {}",
            o.order_id[i],
            o.ts[i],
            o.date[i]
        );
        assert!(o.payment_method.codes[i].is_some(), "order {} without payment method", o.order_id[i]);
    }
    let refunded = o.status.iter().filter(|s| *s == "refunded").count() as f64 / o.len.max(1) as f64;
    assert!(refunded < 0.05, "refund share {refunded}");
}

/// Client purchases and backend orders per (date, platform).
pub fn purchases_and_orders(s: &Sessions, o: &Orders) -> HashMap<(NaiveDate, String), (u64, u64)> {
    let mut out: HashMap<(NaiveDate, String), (u64, u64)> = HashMap::new();
    for i in 0..s.len {
        if s.flags[3][i] {
            let p = s.dim("platform").name(i).unwrap().to_string();
            out.entry((s.date[i], p)).or_default().0 += 1;
        }
    }
    for i in 0..o.len {
        let p = o.platform.name(i).unwrap().to_string();
        out.entry((o.date[i], p)).or_default().1 += 1;
    }
    out
}

/// Backend orders agree with client purchases except where a measurement cause says they
/// must not: every order was a purchased session unless its event was lost or late.
pub fn check_orders_match_purchases(families: &[Family], s: &Sessions, o: &Orders) {
    let loses_events = families.iter().any(|f| {
        f.uses(dropcase::scenario::Mechanism::LoggingLoss, None)
            || f.uses(dropcase::scenario::Mechanism::LateData, None)
    });
    for ((date, platform), (purchases, orders)) in purchases_and_orders(s, o) {
        if loses_events {
            assert!(purchases <= orders, "{date} {platform}: {purchases} client purchases > {orders} orders");
        } else {
            assert_eq!(purchases, orders, "{date} {platform}: client purchases vs backend orders");
        }
    }
    if !loses_events {
        let revenue: f64 = s.revenue.iter().sum();
        let amount: f64 = o.amount.iter().sum();
        assert!(
            (revenue - amount).abs() < 1e-6 * amount.max(1.0),
            "revenue {revenue} vs order amounts {amount}"
        );
    }
}

/// Observed shares of platform and country before the current window (no cause has begun
/// there) lie within `tolerance` of the declared shares.
pub fn check_shares(scenario: &Scenario, s: &Sessions, before: NaiveDate, tolerance: f64) {
    for (dim, declared) in
        [("platform", &scenario.dimensions.platform), ("country", &scenario.dimensions.country)]
    {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        let mut total = 0u64;
        for i in 0..s.len {
            if s.date[i] < before {
                *counts.entry(s.dim(dim).name(i).unwrap()).or_default() += 1;
                total += 1;
            }
        }
        assert!(total > 1000, "too few sessions before {before} to judge shares");
        for (value, share) in declared {
            let observed = counts.get(value.as_str()).copied().unwrap_or(0) as f64 / total as f64;
            assert!(
                (observed - share).abs() < tolerance,
                "{dim}={value}: observed share {observed:.4}, declared {share} (± {tolerance})"
            );
        }
        assert_eq!(counts.len(), declared.len(), "{dim}: values {:?}", counts.keys());
    }
}
