//! A confidence (or credible) interval, serialised as `[lower, upper]`.

use serde::{Serialize, Serializer};

/// A two-sided interval. `lower <= upper` always; bounds may be infinite only where a
/// method says so (and then serialise as JSON `null`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    pub fn new(lower: f64, upper: f64) -> Self {
        Self { lower, upper }
    }

    /// `center ± half_width`.
    pub fn around(center: f64, half_width: f64) -> Self {
        Self::new(center - half_width, center + half_width)
    }

    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }

    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }

    /// Clamps both bounds into `[lo, hi]` (a rate's interval into [0, 1]).
    pub fn clamp(self, lo: f64, hi: f64) -> Self {
        Self::new(self.lower.clamp(lo, hi), self.upper.clamp(lo, hi))
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.lower, self.upper].serialize(serializer)
    }
}
