//! Test helpers: relative-tolerance comparison against reference values.

/// Asserts |actual − expected| ≤ rel·|expected| (exact equality when expected is 0).
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, rel: f64) {
    let ok = if expected == 0.0 {
        actual.abs() <= 1e-300
    } else {
        (actual - expected).abs() <= rel * expected.abs()
    };
    assert!(
        ok,
        "actual {actual:e} vs expected {expected:e} (rel. error {:e} > {rel:e})",
        ((actual - expected) / expected).abs()
    );
}

/// Asserts both bounds of an interval.
#[track_caller]
pub fn assert_interval(actual: super::Interval, expected: [f64; 2], rel: f64) {
    assert_close(actual.lower, expected[0], rel);
    assert_close(actual.upper, expected[1], rel);
}

/// Relative tolerance for closed-form results.
pub const CLOSED_FORM: f64 = 1e-9;
