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
    #[error("weights: {weights} weights given for {arms} arms; give one weight per arm")]
    WeightsMismatch { weights: usize, arms: usize },
}

pub type Result<T> = std::result::Result<T, StatsError>;

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
