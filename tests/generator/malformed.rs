//! Malformed scenario files: each is a valid catalogue file with one defect, and the error
//! must name the file and line, the key, and (where it is a value problem) what is allowed.

use dropcase::scenario::Scenario;
use dropcase::scenario::catalogue::EMBEDDED;

const ORIGIN: &str = "scenarios/bad.toml";

/// The catalogue file every case starts from.
pub fn base() -> &'static str {
    EMBEDDED
        .iter()
        .find(|(name, _)| *name == "app_tracking_loss")
        .expect("app_tracking_loss in the catalogue")
        .1
}

/// `base()` with its one occurrence of `from` replaced by `to`.
pub fn mutate(from: &str, to: &str) -> String {
    let text = base();
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once in the base file");
    text.replacen(from, to, 1)
}

/// 1-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not in the text")) + 1
}

/// The error message for `text`; panics if it parses.
pub fn error(text: &str) -> String {
    match Scenario::parse(text, ORIGIN) {
        Ok(s) => panic!("scenario {} parsed, expected an error", s.name),
        Err(err) => err.to_string(),
    }
}

/// Asserts the message points at `file:line` and mentions every fragment.
fn assert_message(message: &str, line: usize, fragments: &[&str]) {
    let place = format!("{ORIGIN}:{line}");
    assert!(message.contains(&place), "message should point at {place}:\n{message}");
    for f in fragments {
        assert!(message.contains(f), "message should mention `{f}`:\n{message}");
    }
}

/// A value problem: the defect replaces `from` with `to` on one line.
fn value_case(from: &str, to: &str, fragments: &[&str]) -> String {
    let text = mutate(from, to);
    let message = error(&text);
    assert_message(&message, line_of(&text, to.lines().next().unwrap()), fragments);
    message
}

#[test]
fn the_base_file_is_valid() {
    Scenario::parse(base(), ORIGIN).expect("base parses");
}

#[test]
fn unknown_family() {
    value_case(
        "family = \"tracking_loss\"",
        "family = \"tracking_lost\"",
        &["family", "tracking_lost", "release_bug"],
    );
}

#[test]
fn unknown_dimension_value_in_a_target() {
    value_case(
        "\"platform=android,app_version=5.2.0\",",
        "\"platform=android,app_version=9.9.9\",",
        &["cause[0].target", "app_version=9.9.9", "5.2.0"],
    );
}

#[test]
fn unknown_dimension_in_a_target() {
    value_case(
        "target = \"browser=firefox\"",
        "target = \"planet=mars\"",
        &["decoy[0].target", "planet", "traffic_source"],
    );
}

#[test]
fn probability_above_one() {
    value_case("purchase = 0.45", "purchase = 1.45", &["funnel.purchase", "1.45", "(0, 1]"]);
}

#[test]
fn negative_probability() {
    value_case("view = 0.62", "view = -0.62", &["funnel.view", "-0.62", "(0, 1]"]);
}

#[test]
fn shares_not_summing_to_one() {
    value_case(
        "country = { US = 0.40,",
        "country = { US = 0.50,",
        &["dimensions.country", "1.1", "sum to 1"],
    );
}

#[test]
fn a_platform_without_a_payment_method() {
    // Shares sum to 1, but the web offers neither wallet: no web session could pay.
    value_case(
        "payment_method = { card = 0.56, paypal = 0.22, apple_pay = 0.13, google_pay = 0.09 }",
        "payment_method = { apple_pay = 0.6, google_pay = 0.4 }",
        &["dimensions.payment_method", "web", "apple_pay is offered on iOS only"],
    );
}

#[test]
fn cause_start_day_outside_the_period() {
    value_case(
        "start_day = [0, 2]\nsize = [0.4, 0.6]",
        "start_day = [0, 9]\nsize = [0.4, 0.6]",
        &["cause[0].start_day", "[0, 9]", "2026-03-29"],
    );
}

#[test]
fn rollout_start_day_before_the_period() {
    value_case("start_day = -20", "start_day = -40", &["rollout[3].start_day", "-40", "2026-03-02"]);
}

#[test]
fn period_too_short_for_its_windows() {
    value_case("days = 28 ", "days = 10 ", &["period.days", "10", "baseline_days + current_days"]);
}

#[test]
fn wrong_platform_set() {
    value_case(
        "platform = { ios = 0.34, android = 0.38, web = 0.28 }",
        "platform = { ios = 0.34, android = 0.38, windows = 0.28 }",
        &["dimensions.platform", "windows", "ios, android and web"],
    );
}

#[test]
fn size_out_of_range() {
    value_case("size = [0.4, 0.6]", "size = [0.4, 1.6]", &["cause[0].size", "1.6", "≤ 1"]);
}

#[test]
fn unknown_stage() {
    value_case("stage = \"purchase\"", "stage = \"payment\"", &["stage", "payment", "checkout"]);
}

#[test]
fn bad_rollout_dimension() {
    let text = mutate(
        "dimension = \"os_version\"\nplatform = \"android\"",
        "dimension = \"kernel\"\nplatform = \"android\"",
    );
    let message = error(&text);
    assert_message(
        &message,
        line_of(&text, "\"kernel\""),
        &["rollout[3].dimension", "kernel", "\"os_version\""],
    );
    // Android is then left without an OS rollout, which is reported too.
    assert!(message.contains("0 os_version rollouts for android"), "{message}");
}

#[test]
fn missing_cause() {
    let start = base().find("[[cause]]").unwrap();
    let end = base().find("[[decoy]]").unwrap();
    let text = format!("{}{}", &base()[..start], &base()[end..]);
    let message = error(&text);
    // No line holds a missing table: the message names the file and the key.
    assert!(message.contains(ORIGIN) && message.contains("cause"), "{message}");
}

#[test]
fn two_causes() {
    let cause = &base()[base().find("[[cause]]").unwrap()..base().find("[[decoy]]").unwrap()];
    let text = base().replacen(cause, &format!("{cause}{cause}"), 1);
    let message = error(&text);
    assert_message(&message, line_of(&text, "[[cause]]"), &["cause", "2 [[cause]] tables", "exactly one"]);
}

#[test]
fn bad_toml_syntax() {
    let text = mutate("checkout = 0.56", "checkout = 0.56.1");
    let message = error(&text);
    assert_message(&message, line_of(&text, "0.56.1"), &["checkout"]);
}

#[test]
fn unknown_key() {
    let text = mutate("[page_load]\n", "[page_load]\ncolour = \"red\"\n");
    let message = error(&text);
    assert_message(&message, line_of(&text, "colour"), &["colour", "median_ms"]);
}

#[test]
fn every_problem_is_reported() {
    let text = base().replacen("purchase = 0.45", "purchase = 1.45", 1).replacen(
        "size = [0.4, 0.6]",
        "size = [0.4, 1.6]",
        1,
    );
    let message = error(&text);
    assert!(message.contains("2 problem(s)"), "{message}");
    assert_message(&message, line_of(&text, "purchase = 1.45"), &["funnel.purchase"]);
    assert_message(&message, line_of(&text, "size = [0.4, 1.6]"), &["cause[0].size"]);
}
