//! The leaf table every localiser works on: one row per combination of dimension values,
//! with the metric's actual value and its forecast (expected) value. Dimension values are
//! dictionary-coded so elements (`dim=value` conjunctions) are tested with integer compares.

use std::collections::HashMap;

use polars::prelude::{InitHashMaps, PlHashMap};

use serde::Serialize;

/// A set of `dim=value` terms: the leaves where every term holds. Pairs of (dimension
/// index, value code) into a [`LeafTable`], sorted by dimension.
pub type Element = Vec<(usize, u32)>;

/// Leaves with their actual and expected measure. Additive: the localisers compare sums.
#[derive(Debug, Clone, Default)]
pub struct LeafTable {
    /// Dimension names, in column order.
    pub dims: Vec<String>,
    /// Per dimension, the value of each code.
    pub values: Vec<Vec<String>>,
    /// Per leaf, one code per dimension.
    pub codes: Vec<Vec<u32>>,
    pub actual: Vec<f64>,
    pub expected: Vec<f64>,
    /// For forecasts fitted on a baseline window (ratio metrics): per leaf, the baseline's
    /// actual value and the forecast model's value for the baseline. Empty otherwise. An
    /// element's expected sum is recalibrated by its own baseline fit (see
    /// [`LeafTable::calibration`]), so a forecast model that is off for a whole segment
    /// (a dimension it does not model well) does not make that segment look changed.
    pub base_actual: Vec<f64>,
    pub base_expected: Vec<f64>,
    /// For rate metrics: per leaf, the rate's current denominator (`actual` and `expected`
    /// being numerators). Empty otherwise. With it the localiser weighs binomial evidence
    /// element by element.
    pub denominator: Vec<f64>,
    /// Variance the forecast adds, relative to the actual's own: current over baseline
    /// volume for a forecast fitted on a baseline window, 0 for a noiseless forecast.
    pub forecast_noise: f64,
    /// Per leaf, the evidence weight of the leaf noise model (see [`super::noise`]): its
    /// Poisson-equivalent counts per unit, 1/(φ + κ·expected). Empty: every weight 1 (rate
    /// tables, whose binomial variance the localiser weighs element by element).
    pub weight: Vec<f64>,
}

impl LeafTable {
    pub fn new(dims: Vec<String>) -> Self {
        let n = dims.len();
        LeafTable { dims, values: vec![Vec::new(); n], ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.actual.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actual.is_empty()
    }

    /// Adds a leaf; values are coded on the fly (`lookup` keeps the dictionaries).
    pub fn push(&mut self, lookup: &mut Dictionary, values: &[&str], actual: f64, expected: f64) {
        let codes = values.iter().enumerate().map(|(d, v)| lookup.code(self, d, v)).collect();
        self.codes.push(codes);
        self.actual.push(actual);
        self.expected.push(expected);
    }

    pub fn contains(&self, leaf: usize, element: &[(usize, u32)]) -> bool {
        element.iter().all(|&(d, v)| self.codes[leaf][d] == v)
    }

    /// `dim=value` terms of an element, readable.
    pub fn terms(&self, element: &[(usize, u32)]) -> Vec<(String, String)> {
        element.iter().map(|&(d, v)| (self.dims[d].clone(), self.values[d][v as usize].clone())).collect()
    }

    /// Terms every leaf of the element shares but the element does not name (for example
    /// `platform=android` under `app_version=5.2.0`): they add nothing, so they are not part
    /// of the cause, but readers like to see them.
    pub fn implied_terms(&self, element: &[(usize, u32)]) -> Vec<(String, String)> {
        let leaves: Vec<usize> = (0..self.len())
            .filter(|&i| self.contains(i, element) && (self.actual[i] > 0.0 || self.expected[i] > 0.0))
            .collect();
        let Some(&first) = leaves.first() else { return Vec::new() };
        (0..self.dims.len())
            .filter(|d| !element.iter().any(|(e, _)| e == d))
            .filter(|&d| leaves.iter().all(|&i| self.codes[i][d] == self.codes[first][d]))
            .map(|d| (self.dims[d].clone(), self.values[d][self.codes[first][d] as usize].clone()))
            .filter(|(_, v)| !is_null_value(v))
            .collect()
    }

    /// Codes an element given as readable terms; `None` if a dimension or value is unknown.
    pub fn element(&self, terms: &[(&str, &str)]) -> Option<Element> {
        let mut out = Vec::new();
        for (dim, value) in terms {
            let d = self.dims.iter().position(|n| n == dim)?;
            let v = self.values[d].iter().position(|x| x == value)?;
            out.push((d, v as u32));
        }
        out.sort_unstable();
        Some(out)
    }

    pub fn total(&self) -> (f64, f64) {
        (self.actual.iter().sum(), self.expected.iter().sum())
    }

    /// Leaf `i`'s evidence weight (1 without a noise model).
    pub fn weight(&self, i: usize) -> f64 {
        self.weight.get(i).copied().unwrap_or(1.0)
    }

    pub fn has_baseline(&self) -> bool {
        !self.base_actual.is_empty()
    }

    pub fn has_denominator(&self) -> bool {
        !self.denominator.is_empty()
    }

    /// The factor an element's expected sum is multiplied by, from its baseline sums: what
    /// the element really did in the baseline over what the forecast model said it would,
    /// with a prior worth [`CALIBRATION_PRIOR`] units so that elements with little baseline
    /// (a value new in the current window) keep the model's forecast.
    pub fn calibration(base_actual: f64, base_expected: f64) -> f64 {
        if base_expected <= 0.0 {
            return 1.0;
        }
        (base_actual + CALIBRATION_PRIOR) / (base_expected + CALIBRATION_PRIOR)
    }
}

/// Prior strength of an element's baseline calibration, in the metric's units.
pub const CALIBRATION_PRIOR: f64 = 10.0;

/// How a missing dimension value is spelled (browser in an app, payment before checkout).
pub const NULL_VALUE: &str = "(none)";

pub fn is_null_value(v: &str) -> bool {
    v == NULL_VALUE
}

/// Value → code dictionaries while a table is being filled.
#[derive(Debug, Default)]
pub struct Dictionary {
    maps: Vec<PlHashMap<String, u32>>,
}

impl Dictionary {
    fn code(&mut self, table: &mut LeafTable, d: usize, value: &str) -> u32 {
        if self.maps.len() <= d {
            self.maps.resize_with(d + 1, PlHashMap::new);
        }
        if let Some(&c) = self.maps[d].get(value) {
            return c;
        }
        let c = table.values[d].len() as u32;
        table.values[d].push(value.to_string());
        self.maps[d].insert(value.to_string(), c);
        c
    }
}

/// Baseline and current counts of a ratio metric per leaf (numerator and denominator kept
/// apart, as the issue asks), before a forecast turns them into a [`LeafTable`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct RatioLeaves {
    pub dims: Vec<String>,
    pub values: Vec<Vec<String>>,
    pub codes: Vec<Vec<u32>>,
    pub num_base: Vec<f64>,
    pub den_base: Vec<f64>,
    pub num_cur: Vec<f64>,
    pub den_cur: Vec<f64>,
}

impl RatioLeaves {
    /// Expected current numerator per leaf: the current denominator times the leaf's
    /// baseline rate. Leaves are small (a few sessions each), so the baseline rate is shrunk
    /// towards what the leaf's single-dimension rates predict (a main-effects model, each
    /// effect itself shrunk to the overall rate); a value new in the current window (a new
    /// app version) gets that prediction alone. Mix within an element therefore cancels:
    /// only rate changes show up as actual ≠ expected. The model's baseline values are kept
    /// too, so each element's forecast is corrected by the model's own error on it in the
    /// baseline ([`LeafTable::calibration`]): a main-effects model double-counts dependent
    /// dimensions (`platform=web` and every `browser`), and without the correction a whole
    /// platform looked changed.
    pub fn to_rate_table(&self) -> LeafTable {
        let n_dims = self.dims.len();
        let (x0, n0): (f64, f64) = (self.num_base.iter().sum(), self.den_base.iter().sum());
        let global = if n0 > 0.0 { x0 / n0 } else { 0.0 };
        // Prior strength in denominator units: worth about 5 expected successes.
        let prior = |rate: f64| if rate > 0.0 { (5.0 / rate).clamp(5.0, 5000.0) } else { 50.0 };
        let mut effects: Vec<Vec<f64>> = Vec::with_capacity(n_dims);
        for d in 0..n_dims {
            let k = self.values[d].len();
            let (mut x, mut n) = (vec![0.0; k], vec![0.0; k]);
            for (i, codes) in self.codes.iter().enumerate() {
                x[codes[d] as usize] += self.num_base[i];
                n[codes[d] as usize] += self.den_base[i];
            }
            let m = prior(global);
            effects.push(
                (0..k)
                    .map(|v| if global > 0.0 { (x[v] + m * global) / (n[v] + m) / global } else { 1.0 })
                    .collect(),
            );
        }
        let mut table = LeafTable {
            dims: self.dims.clone(),
            values: self.values.clone(),
            codes: self.codes.clone(),
            actual: self.num_cur.clone(),
            expected: Vec::with_capacity(self.codes.len()),
            base_actual: self.num_base.clone(),
            base_expected: Vec::with_capacity(self.codes.len()),
            denominator: self.den_cur.clone(),
            forecast_noise: if n0 > 0.0 { (self.den_cur.iter().sum::<f64>() / n0).min(10.0) } else { 0.0 },
            weight: Vec::new(),
        };
        for (i, codes) in self.codes.iter().enumerate() {
            let predicted = (global
                * codes.iter().enumerate().map(|(d, &v)| effects[d][v as usize]).product::<f64>())
            .clamp(0.0, 1.0);
            let m = prior(predicted.max(global));
            let rate = (self.num_base[i] + m * predicted) / (self.den_base[i] + m);
            table.expected.push(self.den_cur[i] * rate);
            table.base_expected.push(self.den_base[i] * rate);
        }
        table
    }

    /// Drops dimensions (by name) from the leaves, merging leaves that become equal.
    pub fn without(&self, drop: &[&str]) -> RatioLeaves {
        let keep: Vec<usize> =
            (0..self.dims.len()).filter(|&d| !drop.contains(&self.dims[d].as_str())).collect();
        let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut out = RatioLeaves {
            dims: keep.iter().map(|&d| self.dims[d].clone()).collect(),
            values: keep.iter().map(|&d| self.values[d].clone()).collect(),
            ..Default::default()
        };
        for (i, codes) in self.codes.iter().enumerate() {
            let key: Vec<u32> = keep.iter().map(|&d| codes[d]).collect();
            let row = *index.entry(key.clone()).or_insert_with(|| {
                out.codes.push(key);
                out.num_base.push(0.0);
                out.den_base.push(0.0);
                out.num_cur.push(0.0);
                out.den_cur.push(0.0);
                out.codes.len() - 1
            });
            out.num_base[row] += self.num_base[i];
            out.den_base[row] += self.den_base[i];
            out.num_cur[row] += self.num_cur[i];
            out.den_cur[row] += self.den_cur[i];
        }
        out
    }

    pub fn totals(&self) -> [f64; 4] {
        [
            self.num_base.iter().sum(),
            self.den_base.iter().sum(),
            self.num_cur.iter().sum(),
            self.den_cur.iter().sum(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_forecast_ignores_mix_and_sees_rate_changes() {
        // Two leaves with different rates; the current window shifts traffic to the low one.
        let leaves = RatioLeaves {
            dims: vec!["source".into()],
            values: vec![vec!["a".into(), "b".into()]],
            codes: vec![vec![0], vec![1]],
            num_base: vec![1000.0, 100.0],
            den_base: vec![10_000.0, 10_000.0],
            num_cur: vec![500.0, 200.0],
            den_cur: vec![5_000.0, 20_000.0],
        };
        let table = leaves.to_rate_table();
        assert!((table.expected[0] - 500.0).abs() < 5.0, "{:?}", table.expected);
        assert!((table.expected[1] - 200.0).abs() < 5.0, "{:?}", table.expected);
    }

    #[test]
    fn dropping_a_dimension_merges_leaves() {
        let leaves = RatioLeaves {
            dims: vec!["a".into(), "b".into()],
            values: vec![vec!["x".into()], vec!["p".into(), "q".into()]],
            codes: vec![vec![0, 0], vec![0, 1]],
            num_base: vec![1.0, 2.0],
            den_base: vec![10.0, 20.0],
            num_cur: vec![3.0, 4.0],
            den_cur: vec![30.0, 40.0],
        };
        let merged = leaves.without(&["b"]);
        assert_eq!(merged.codes.len(), 1);
        assert_eq!(merged.totals(), [3.0, 30.0, 7.0, 70.0]);
    }
}
