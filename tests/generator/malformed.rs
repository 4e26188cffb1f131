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
        &["cause[0].start_day", "[0, 9]", "2025-02-02"],
    );
}

#[test]
fn rollout_start_day_before_the_period() {
    value_case("start_day = -20", "start_day = -40", &["rollout[3].start_day", "-40", "2025-01-06"]);
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
fn four_causes() {
    // Up to three true causes are a case (credit per cause); a fourth is refused.
    let cause = &base()[base().find("[[cause]]").unwrap()..base().find("[[decoy]]").unwrap()];
    let text = base().replacen(cause, &format!("{cause}{cause}{cause}{cause}"), 1);
    let message = error(&text);
    assert_message(&message, line_of(&text, "[[cause]]"), &["cause", "4 [[cause]] tables", "1 to 3"]);
}

#[test]
fn two_causes_parse() {
    let cause = &base()[base().find("[[cause]]").unwrap()..base().find("[[decoy]]").unwrap()];
    let text = base().replacen(cause, &format!("{cause}{cause}"), 1);
    let scenario = dropcase::scenario::Scenario::parse(&text, "two.toml").expect("two causes are a case");
    assert_eq!(scenario.causes.len(), 2);
}

#[test]
fn a_family_defined_in_the_file_is_a_family() {
    // A teacher's own family, as data: a step-rate cut on one country's checkout step.
    let own = "\n[family.customs_delay]\ngroup = \"external\"\nmechanisms = [{ mechanism = \"step_rate\", step = \"checkout\" }]\nlookalike = \"regional_event\"\nsignature = \"import duties shown at checkout\"\nevidence = \"dropcase query compare --by {by} --metric checkout_rate\"\nactions = [\"contact_partner\"]\nstep = \"checkout\"\n";
    let text = format!("{}{own}", mutate("family = \"tracking_loss\"", "family = \"customs_delay\""));
    let scenario = dropcase::scenario::Scenario::parse(&text, "own.toml").expect("own family parses");
    assert_eq!(scenario.causes[0].family.name(), "customs_delay");
    assert_eq!(scenario.causes[0].family.group().name(), "external");
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

// Issue #13: files that passed `check` and then broke `generate` (or `check` itself). Each
// class of value `generate` needs has a stated, finite range.

#[test]
fn trend_that_is_not_finite() {
    // -inf passed `check`, then overflowed the daily volume and left a `.partial` folder.
    value_case(
        "trend_per_week = 0.005",
        "trend_per_week = -inf",
        &["traffic.trend_per_week", "-inf", "[-0.5, 0.5]"],
    );
    value_case("trend_per_week = 0.005", "trend_per_week = nan", &["traffic.trend_per_week", "NaN"]);
}

#[test]
fn trend_that_empties_the_traffic() {
    // -1 makes every day after the first empty: the headline was "NaN%".
    value_case(
        "trend_per_week = 0.005",
        "trend_per_week = -1",
        &["traffic.trend_per_week", "-1", "[-0.5, 0.5]"],
    );
}

#[test]
fn trend_that_compounds_too_far_over_a_long_period() {
    // 0.5 a week is allowed, but not over a year: ×1.5^52 is 10^9 times the first day.
    let text = mutate("trend_per_week = 0.005", "trend_per_week = 0.5")
        .replacen("days = 28 ", "days = 364 ", 1)
        .replacen("start = \"2025-01-06\"", "start = \"2025-03-31\"", 1);
    let message = error(&text);
    assert_message(&message, line_of(&text, "trend_per_week = 0.5"), &["traffic.trend_per_week", "×16"]);
}

#[test]
fn funnel_that_almost_never_converts() {
    // cart = 1e-7 leaves both windows without purchases: "headline change NaN%".
    value_case("cart = 0.21", "cart = 1e-7", &["funnel", "0.0001", "purchases to compare"]);
}

#[test]
fn volume_too_small_for_purchases_in_each_window() {
    value_case(
        "sessions_per_day = 36000",
        "sessions_per_day = 10",
        &["traffic.sessions_per_day", "expected purchases"],
    );
}

#[test]
fn volume_beyond_what_a_drill_holds() {
    value_case(
        "sessions_per_day = 36000",
        "sessions_per_day = 1e12",
        &["traffic.sessions_per_day", "2000000000"],
    );
    value_case("sessions_per_day = 36000", "sessions_per_day = inf", &["traffic.sessions_per_day", "inf"]);
}

#[test]
fn weekly_multipliers_out_of_range() {
    value_case("weekly = [0.96, 0.94", "weekly = [1e300, 0.94", &["traffic.weekly", "(0, 10]"]);
    let text = mutate("noise = 0.03", "noise = 0.03\nweekly_conversion = [3, 1, 1, 1, 1, 1, 1]");
    let message = error(&text);
    assert_message(&message, line_of(&text, "weekly_conversion"), &["traffic.weekly_conversion", "≤ 1"]);
}

#[test]
fn rollout_day_beyond_any_date() {
    // 2147483648 days overflowed the date arithmetic and panicked `check` itself.
    value_case(
        "start_day = 1\nadoption_days = 6",
        "start_day = 2147483648\nadoption_days = 6",
        &["rollout[0].start_day", "2147483648", "-21..6"],
    );
    value_case(
        "start_day = [0, 2]\nsize = [0.4, 0.6]",
        "start_day = [-9223372036854775808, 2]\nsize = [0.4, 0.6]",
        &["cause[0].start_day", "-21..6"],
    );
}

#[test]
fn period_windows_beyond_any_date() {
    // current_days near u32::MAX overflowed both the window sum and the dates.
    let text = mutate("[period]\n", "[period]\ncurrent_days = 4294967295\nbaseline_days = 4294967295\n");
    let message = error(&text);
    assert!(message.contains("period.days") && message.contains("4294967295"), "{message}");
    value_case("days = 28 ", "days = 5000 ", &["period.days", "5000", "at most 366"]);
}

#[test]
fn headline_range_not_finite() {
    value_case("headline = [-0.10, -0.03]", "headline = [-inf, -0.03]", &["headline", "-1 ≤ low < high ≤ 1"]);
}

#[test]
fn order_value_and_page_load_out_of_range() {
    value_case("median = 52.0", "median = 1e300", &["order_value", "(0, 1000000]"]);
    value_case("median_ms = 850", "median_ms = inf", &["page_load", "(0, 600000]"]);
}

#[test]
fn rollout_adoption_out_of_range() {
    value_case("adoption_days = 25", "adoption_days = 1e300", &["rollout[3].adoption_days", "(0, 366]"]);
}

#[test]
fn too_many_values_in_a_dimension() {
    // Values are one-byte codes: 300 countries would wrap into each other.
    let countries: Vec<String> = (0..300).map(|i| format!("C{i} = {}", 1.0 / 300.0)).collect();
    value_case(
        "country = { US = 0.40, GB = 0.14, DE = 0.12, FR = 0.10, IN = 0.14, BR = 0.10 }",
        &format!("country = {{ {} }}", countries.join(", ")),
        &["dimensions.country", "300 values", "at most 100"],
    );
}

#[test]
fn noise_size_range_must_be_ordered() {
    // The seed draws the size from [low, high] even for noise: [0.5, 0.1] panicked the draw.
    let (_, noise) = EMBEDDED.iter().find(|(n, _)| *n == "just_noise").expect("just_noise");
    assert_eq!(noise.matches("size = [0.0, 0.0]").count(), 1);
    let text = noise.replacen("size = [0.0, 0.0]", "size = [0.5, 0.1]", 1);
    let message = error(&text);
    assert_message(&message, line_of(&text, "size = [0.5, 0.1]"), &["cause[0].size", "0 ≤ low ≤ high ≤ 1"]);
}

#[test]
fn many_tables_are_checked_in_linear_time() {
    // 8,000 effects took 9 s and a 10 MB file more than 5 minutes: the key lookup rescanned
    // the file per key. Now a 10 MB file is read, located and refused (too many effects)
    // in well under a second of work.
    let effect = "\n[[effect]]\ntarget = \"country=US\"\nstep = \"cart\"\nmultiplier = 1.01\n";
    let copies = 10_000_000 / effect.len();
    let text = format!("{}{}", base(), effect.repeat(copies));
    let started = std::time::Instant::now();
    let message = error(&text);
    let elapsed = started.elapsed();
    assert!(
        message.contains(&format!("{} [[effect]] tables", copies + 7)),
        "{}",
        &message[..500.min(message.len())]
    );
    assert!(message.contains("at most 500"), "{}", &message[..500.min(message.len())]);
    assert!(elapsed.as_secs_f64() < 15.0, "check took {elapsed:?}");
    // The excess is located at the first effect beyond the limit.
    let first_extra = base().lines().count() + 1 + 5 * (500 - 7) + 1;
    assert_message(&message, first_extra, &["effect"]);
}

#[test]
fn experiment_split_must_give_each_arm_a_share() {
    use dropcase::experiment::scenario::ExperimentScenario;
    let (_, text) = EMBEDDED.iter().find(|(n, _)| *n == "exp_dark_mode").expect("exp_dark_mode");
    assert_eq!(text.matches("weights = [50, 50]").count(), 1);
    for weights in ["[1e-300, 1]", "[1, inf]", "[1, 0]"] {
        let bad = text.replacen("weights = [50, 50]", &format!("weights = {weights}"), 1);
        let message = match ExperimentScenario::parse(&bad, ORIGIN) {
            Ok(_) => panic!("weights {weights} parsed"),
            Err(err) => err.to_string(),
        };
        assert_message(&message, line_of(&bad, "weights = "), &["design.weights", "[1%, 99%]"]);
    }
}

#[test]
fn experiment_grading_names_metrics_of_the_design_and_known_checks() {
    // Issue #17: what `exp decide --primary/--guardrail/--criteria` is graded against.
    use dropcase::experiment::scenario::ExperimentScenario;
    let (_, text) = EMBEDDED.iter().find(|(n, _)| *n == "exp_dark_mode").expect("exp_dark_mode");
    assert!(text.contains("criteria = [\"corrected\"]"));
    let bad = format!("{}\nprimary = \"refund_rate_typo\"\n", text.trim_end());
    let message = ExperimentScenario::parse(&bad, ORIGIN).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("refund_rate_typo"), "{message}");
    let bad = text.replacen("criteria = [\"corrected\"]", "criteria = [\"corrected\", \"vibes\"]", 1);
    let message = ExperimentScenario::parse(&bad, ORIGIN).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("vibes") && message.contains("srm"), "{message}");
    // A metric the design does not hold (heavy-tail's capped revenue is not in dark mode's).
    let bad = format!("{}\nprimary = \"revenue_per_user_capped\"\n", text.trim_end());
    let message = ExperimentScenario::parse(&bad, ORIGIN).map(|_| ()).unwrap_err().to_string();
    assert_message(
        &message,
        line_of(&bad, "primary = \"revenue_per_user_capped\""),
        &["grading.primary", "a metric of the design"],
    );
}
