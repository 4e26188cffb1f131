//! Errors of the statistics functions. Every variant names the argument it rejects, so the
//! command line can point the user at the flag to fix.

use thiserror::Error;

/// An input a statistics function cannot work with.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    #[error("{arg}: {successes} conversions exceed {trials} users; write conversions/users")]
    CountExceedsTotal { arg: &'static str, successes: u64, trials: u64 },
    #[error("{arg}: the number of users is 0; a rate needs at least one user")]
    ZeroTotal { arg: &'static str },
    #[error("{arg}: needs at least {min} observations, got {got}")]
    TooFewObservations { arg: &'static str, min: u64, got: u64 },
    #[error("{arg} must be between 0 and 1 (exclusive), got {value}")]
    ProbabilityOutOfRange { arg: &'static str, value: f64 },
    #[error("{arg} must be a finite number, got {value}")]
    NotFinite { arg: &'static str, value: f64 },
    #[error("{arg} must not be negative, got {value}")]
    Negative { arg: &'static str, value: f64 },
    #[error("{arg} must be positive, got {value}")]
    NotPositive { arg: &'static str, value: f64 },
    #[error("{arg}: {message}")]
    Invalid { arg: &'static str, message: String },
    #[error("{arg} must be {allowed}, got {value}")]
    OutOfRange { arg: &'static str, value: String, allowed: String },
    #[error("weights: {weights} weights given for {arms} arms; give one weight per arm")]
    WeightsMismatch { weights: usize, arms: usize },
}

pub type Result<T> = std::result::Result<T, StatsError>;

/// The most units (users, sessions) one arm or count may hold: more than any experiment has,
/// small enough that sums of arms never overflow and every count is exact as an `f64`.
pub const MAX_COUNT: u64 = 1_000_000_000_000;
/// The largest magnitude of a typed-in number (a mean, an sd, a sum of squares): products
/// of four such numbers still fit an `f64`, so no formula overflows to ∞ or NaN.
pub const MAX_ABS: f64 = 1e30;
/// The smallest significance level: below it, critical values and interval tails are
/// beyond what double precision resolves (a level of 1e-10 is a z of 6.5).
pub const MIN_ALPHA: f64 = 1e-10;

/// A number as a message shows it: scientific when very large or very small.
pub(crate) fn show(value: f64) -> String {
    if value != 0.0 && !(1e-6..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// A count of at most [`MAX_COUNT`].
pub(crate) fn count(arg: &'static str, value: u64) -> Result<u64> {
    if value <= MAX_COUNT {
        Ok(value)
    } else {
        Err(StatsError::OutOfRange {
            arg,
            value: value.to_string(),
            allowed: format!("a whole number of at most {MAX_COUNT} (10^12)"),
        })
    }
}

/// A finite number of magnitude at most [`MAX_ABS`].
pub(crate) fn bounded(arg: &'static str, value: f64) -> Result<f64> {
    finite(arg, value)?;
    if value.abs() <= MAX_ABS {
        Ok(value)
    } else {
        Err(StatsError::OutOfRange {
            arg,
            value: show(value),
            allowed: format!("at most {MAX_ABS:e} in absolute value"),
        })
    }
}

/// A significance level (or 1 − a confidence level) in [[`MIN_ALPHA`], 1).
pub(crate) fn level(arg: &'static str, value: f64) -> Result<f64> {
    finite(arg, value)?;
    if (MIN_ALPHA..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(StatsError::OutOfRange {
            arg,
            value: show(value),
            allowed: format!("a level between {MIN_ALPHA:e} and 1 (exclusive), e.g. 0.05"),
        })
    }
}

/// Rejects NaN and infinities.
pub(crate) fn finite(arg: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() { Ok(value) } else { Err(StatsError::NotFinite { arg, value }) }
}

/// A probability strictly inside (0, 1): alpha, power, a baseline rate.
pub(crate) fn open_unit(arg: &'static str, value: f64) -> Result<f64> {
    finite(arg, value)?;
    if value > 0.0 && value < 1.0 { Ok(value) } else { Err(StatsError::ProbabilityOutOfRange { arg, value }) }
}

/// A finite, non-negative number (a standard deviation, a weight).
pub(crate) fn non_negative(arg: &'static str, value: f64) -> Result<f64> {
    finite(arg, value)?;
    if value >= 0.0 { Ok(value) } else { Err(StatsError::Negative { arg, value }) }
}

/// A finite, strictly positive number.
pub(crate) fn positive(arg: &'static str, value: f64) -> Result<f64> {
    finite(arg, value)?;
    if value > 0.0 { Ok(value) } else { Err(StatsError::NotPositive { arg, value }) }
}
