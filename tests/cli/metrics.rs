//! `dropcase metrics`.

use crate::support::{Sandbox, json_of};

#[test]
fn lists_every_metric_with_its_definition() {
    let sandbox = Sandbox::new();
    let json = json_of(&mut sandbox.cmd(&["metrics", "--format", "json"]));
    let names: Vec<&str> = json.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "sessions",
            "users",
            "orders",
            "conversion",
            "view_rate",
            "cart_rate",
            "checkout_rate",
            "purchase_rate",
            "aov",
            "revenue",
            "revenue_per_session",
            "backend_conversion",
            "sessions_per_user",
            "page_load_p50",
            "page_load_p75"
        ]
    );
    assert_eq!(json[3]["numerator"], "purchased");
    assert_eq!(json[3]["denominator"], "sessions");
    assert_eq!(json[3]["kind"], "rate");
    let table = sandbox.cmd(&["metrics"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("reached_checkout / added_to_cart"), "{text}");
}
