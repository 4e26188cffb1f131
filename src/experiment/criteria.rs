//! The ship rule a learner commits to before deciding (`exp decide --criteria`), read from
//! a small grammar: clauses joined by `and` (or `;`), an optional `ship if` in front. Each
//! clause is the primary's bar (`conversion lift > 0 at 95%`), a guardrail's allowance
//! (`no guardrail drops more than 1%`, `aov not significantly worse`) or a validity check
//! (`srm passes`, `planned sample reached`, …). The grader compares the rule with what the
//! case needs; anything the grammar cannot read is refused with the accepted forms.

use serde::{Deserialize, Serialize};

use super::metrics::Metric;

/// A validity condition a ship rule can hold, beyond the metrics' bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The split passes the sample-ratio test.
    Srm,
    /// The planned sample (or duration) was reached.
    FullSample,
    /// The daily lift is stable (no novelty or primacy curve).
    Stable,
    /// The effect holds within each allocation phase (stratified).
    PerPhase,
    /// p-values corrected for the many metrics or segments looked at.
    Corrected,
    /// The arms were balanced before the test (pre-period).
    PrePeriod,
    /// No segment reacts the other way.
    EverySegment,
    /// Robust to a few extreme users (capped or winsorised).
    Robust,
}

impl Check {
    pub const ALL: [Check; 8] = [
        Check::Srm,
        Check::FullSample,
        Check::Stable,
        Check::PerPhase,
        Check::Corrected,
        Check::PrePeriod,
        Check::EverySegment,
        Check::Robust,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Srm => "srm",
            Check::FullSample => "full_sample",
            Check::Stable => "stable",
            Check::PerPhase => "per_phase",
            Check::Corrected => "corrected",
            Check::PrePeriod => "pre_period",
            Check::EverySegment => "every_segment",
            Check::Robust => "robust",
        }
    }

    /// How a rule says it, as the help and the grade's explanations show it.
    pub fn example(self) -> &'static str {
        match self {
            Check::Srm => "srm passes",
            Check::FullSample => "planned sample reached",
            Check::Stable => "stable daily lift",
            Check::PerPhase => "lift > 0 in every phase",
            Check::Corrected => "corrected for multiple metrics",
            Check::PrePeriod => "pre-period balanced",
            Check::EverySegment => "no segment significantly worse",
            Check::Robust => "holds with revenue capped",
        }
    }

    /// Words that make a clause this check (any of them, as a whole word or prefix).
    fn keywords(self) -> &'static [&'static str] {
        match self {
            Check::Srm => &["srm", "sample ratio", "sample-ratio", "split is balanced", "split balanced"],
            Check::FullSample => &[
                "planned sample",
                "full sample",
                "planned duration",
                "full duration",
                "planned users",
                "planned days",
                "sample size reached",
            ],
            Check::Stable => &["stable", "steady", "novelty", "primacy", "daily lift"],
            Check::PerPhase => &["phase", "stratif"],
            Check::Corrected => &["correct", "bonferroni", "holm", "benjamini", "adjusted", "fdr"],
            Check::PrePeriod => {
                &["pre-period", "pre period", "preperiod", "pre-test", "before the test", "a/a"]
            }
            Check::EverySegment => &["segment", "every platform", "each platform", "all platforms"],
            Check::Robust => &["capped", "winsor", "outlier", "trimmed"],
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One clause of a ship rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "clause", rename_all = "snake_case")]
pub enum Clause {
    /// The bar a metric must clear: relative lift above (or below) `threshold`, at a
    /// `confidence` level when one is stated (`at 95%`, `p < 0.05`, `significant`).
    Bar {
        metric: Metric,
        /// Relative lift (0.01 = 1%).
        threshold: f64,
        /// `true` for `>`/`>=`, `false` for `<`/`<=`.
        above: bool,
        /// Stated confidence (0.95), or `None`; `significant` alone reads as 0.95.
        confidence: Option<f64>,
    },
    /// How much worse a guardrail may get: all guardrails (`metric` absent) or one.
    Guardrail {
        metric: Option<Metric>,
        /// The allowed relative worsening (0.01 = 1%), when one is stated.
        tolerance: Option<f64>,
        /// Whether the allowance is judged by significance (`not significantly worse`).
        significance: bool,
    },
    Check {
        check: Check,
    },
}

/// A parsed ship rule, with the text it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipRule {
    pub text: String,
    pub clauses: Vec<Clause>,
}

impl ShipRule {
    pub fn bars(&self) -> impl Iterator<Item = (Metric, f64, bool, Option<f64>)> + '_ {
        self.clauses.iter().filter_map(|c| match c {
            Clause::Bar { metric, threshold, above, confidence } => {
                Some((*metric, *threshold, *above, *confidence))
            }
            _ => None,
        })
    }

    pub fn guardrails(&self) -> impl Iterator<Item = (Option<Metric>, Option<f64>, bool)> + '_ {
        self.clauses.iter().filter_map(|c| match c {
            Clause::Guardrail { metric, tolerance, significance } => {
                Some((*metric, *tolerance, *significance))
            }
            _ => None,
        })
    }

    pub fn has_check(&self, check: Check) -> bool {
        self.clauses.contains(&Clause::Check { check })
    }
}

/// Why a rule could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("--criteria: cannot read {clause:?}: {problem}.\n{}", accepted_forms())]
pub struct CriteriaError {
    pub clause: String,
    pub problem: String,
}

/// The grammar, with examples, for errors and `--help`.
pub fn accepted_forms() -> String {
    format!(
        "Write the ship rule as clauses joined by 'and' (an optional 'ship if' in front), e.g.\n  \
         --criteria \"ship if conversion lift > 0 at 95% and no guardrail drops more than 1%\"\n  \
         --criteria \"ship if srm passes and server_conversion lift > 0 with p < 0.05 and aov not significantly worse\"\n\
         Each clause is one of:\n  \
         METRIC [lift] > X% [at C% | with p < A | significant]    the bar a metric must clear\n  \
         no guardrail drops more than X%  |  METRIC drops at most X%  |  METRIC not significantly worse\n  \
         a check: {}\n\
         Metrics: {}",
        Check::ALL.iter().map(|c| c.example()).collect::<Vec<_>>().join(" | "),
        Metric::names().join(", ")
    )
}

const WORSE_WORDS: [&str; 10] =
    ["drop", "worse", "regress", "fall", "falls", "decline", "degrade", "hurt", "loses", "rises"];

fn error(clause: &str, problem: impl Into<String>) -> CriteriaError {
    CriteriaError { clause: clause.to_string(), problem: problem.into() }
}

/// Metric names in `text`, longest first so `server_conversion` is not read as `conversion`.
fn metrics_in(text: &str) -> Vec<Metric> {
    let words: Vec<&str> =
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let mut found = Vec::new();
    for w in words {
        if let Some(m) = Metric::parse(w)
            && !found.contains(&m)
        {
            found.push(m);
        }
    }
    found
}

/// Numbers in a clause: `(value, is_percent)`.
fn numbers_in(text: &str) -> Vec<(f64, bool, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        let starts = c.is_ascii_digit()
            || (c == '.' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()))
            || (c == '-' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit() || *b == b'.'));
        // Digits inside a word (a metric name, "a/a") are not numbers.
        let inside_word = i > 0 && (bytes[i - 1].is_ascii_alphabetic() || bytes[i - 1] == b'_');
        if starts && !inside_word {
            let begin = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if let Ok(v) = text[begin..i].parse::<f64>() {
                let mut j = i;
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                let percent = bytes.get(j) == Some(&b'%');
                out.push((v, percent, begin));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn has_word(text: &str, word: &str) -> bool {
    text.contains(word)
}

/// The confidence a clause states: `at 95%`, `95% confidence`, `p < 0.05`, `alpha 0.05`,
/// `significant(ly)` (0.95).
fn confidence_in(clause: &str, numbers: &[(f64, bool, usize)]) -> Result<Option<f64>, CriteriaError> {
    for key in ["p <", "p<", "p-value <", "alpha"] {
        if let Some(at) = clause.find(key)
            && let Some((v, percent, _)) = numbers.iter().find(|(_, _, pos)| *pos > at)
        {
            let alpha = if *percent { v / 100.0 } else { *v };
            if !(alpha > 0.0 && alpha < 0.5) {
                return Err(error(
                    clause,
                    format!("a significance level is in (0, 0.5), e.g. p < 0.05, not {v}"),
                ));
            }
            return Ok(Some(1.0 - alpha));
        }
    }
    for key in ["at ", "with "] {
        for (at, _) in clause.match_indices(key) {
            if let Some((v, true, pos)) = numbers.iter().find(|(_, _, pos)| *pos >= at + key.len()).copied()
                && clause[at + key.len()..pos].trim().is_empty()
            {
                if !(50.0..100.0).contains(&v) {
                    return Err(error(
                        clause,
                        format!("a confidence level is in [50%, 100%), e.g. at 95%, not {v}%"),
                    ));
                }
                return Ok(Some(v / 100.0));
            }
        }
    }
    if (clause.contains("% confidence") || clause.contains("% confident"))
        && let Some((v, true, _)) = numbers.iter().rev().find(|(_, p, _)| *p).copied()
    {
        return Ok(Some(v / 100.0));
    }
    if has_word(clause, "significant") || has_word(clause, "stat sig") || has_word(clause, "statsig") {
        return Ok(Some(0.95));
    }
    Ok(None)
}

/// The relative size a clause compares against: its first number that is not the
/// confidence (`X%`, or a fraction ≤ 1), 0 for `positive`/`up`.
fn threshold_in(clause: &str, numbers: &[(f64, bool, usize)]) -> Result<Option<f64>, CriteriaError> {
    // The number right after a comparison or an allowance word.
    let comparison = [
        ">=",
        "<=",
        ">",
        "<",
        "more than",
        "at most",
        "at least",
        "less than",
        "above",
        "below",
        "by ",
        "beyond",
        "over ",
    ];
    let start = comparison.iter().filter_map(|k| clause.find(k).map(|i| i + k.len())).min();
    let Some(start) = start else {
        if ["positive", " up", "improves", "better", "wins"].iter().any(|w| clause.contains(w)) {
            return Ok(Some(0.0));
        }
        return Ok(None);
    };
    let Some((v, percent, _)) = numbers.iter().find(|(_, _, pos)| *pos >= start).copied() else {
        if clause[start..].trim_start().starts_with("zero") {
            return Ok(Some(0.0));
        }
        return Err(error(clause, "a comparison needs a number after it, e.g. > 0 or > 2%"));
    };
    if percent {
        return Ok(Some(v / 100.0));
    }
    if v.abs() > 1.0 {
        return Err(error(
            clause,
            format!("{v} reads as a relative change of {:.0}%; write a percentage, e.g. {v}%", v * 100.0),
        ));
    }
    Ok(Some(v))
}

fn parse_clause(raw: &str) -> Result<Vec<Clause>, CriteriaError> {
    let clause = raw.trim().to_ascii_lowercase();
    let numbers = numbers_in(&clause);
    let metrics = metrics_in(&clause);
    let mut out = Vec::new();
    let checks: Vec<Check> =
        Check::ALL.iter().copied().filter(|c| c.keywords().iter().any(|k| clause.contains(k))).collect();
    let worse = WORSE_WORDS.iter().any(|w| clause.contains(w));
    if clause.contains("guardrail") || (worse && !checks.contains(&Check::EverySegment)) {
        let metric = if clause.contains("guardrail") { None } else { metrics.first().copied() };
        if !clause.contains("guardrail") && metric.is_none() {
            return Err(error(raw, "a guardrail clause names a metric or says 'no guardrail'"));
        }
        let significance = clause.contains("significant");
        let tolerance = threshold_in(&clause, &numbers)?.map(f64::abs);
        if tolerance.is_none() && !significance {
            return Err(error(
                raw,
                "say how much worse is allowed (drops more than 1%) or that it is judged by significance (not significantly worse)",
            ));
        }
        out.push(Clause::Guardrail { metric, tolerance, significance });
    } else if let Some(&metric) = metrics.first() {
        // `p < 0.05` alone is the confidence, not the bar: the bar is then "any lift".
        let confidence = confidence_in(&clause, &numbers)?;
        let bar_clause =
            match clause.find("p <").or_else(|| clause.find("p<")).or_else(|| clause.find("alpha")) {
                Some(at) => clause[..at].to_string(),
                None => clause.clone(),
            };
        let above =
            !(bar_clause.contains('<') || bar_clause.contains("below") || bar_clause.contains("less than"));
        let bar_numbers: Vec<(f64, bool, usize)> = numbers_in(&bar_clause);
        let threshold = match threshold_in(&bar_clause, &bar_numbers)? {
            Some(t) => t,
            None if confidence.is_some() => 0.0,
            None => {
                return Err(error(
                    raw,
                    format!("say the bar {metric} must clear, e.g. {metric} lift > 0 at 95%"),
                ));
            }
        };
        out.push(Clause::Bar { metric, threshold, above, confidence });
    }
    for check in checks {
        out.push(Clause::Check { check });
    }
    if out.is_empty() {
        return Err(error(raw, "it is neither a metric's bar, a guardrail's allowance nor a check"));
    }
    Ok(out)
}

/// Reads a ship rule.
pub fn parse(text: &str) -> Result<ShipRule, CriteriaError> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let mut body = lower.as_str();
    for prefix in ["ship only if", "ship only when", "ship if", "ship when", "if"] {
        if let Some(rest) = body.strip_prefix(prefix) {
            body = rest;
            break;
        }
    }
    let body = body.trim().trim_end_matches('.');
    if body.is_empty() {
        return Err(error(text, "the rule is empty"));
    }
    let mut clauses = Vec::new();
    for part in body.split([';', ',']).flat_map(|p| p.split(" and ")).map(str::trim).filter(|p| !p.is_empty())
    {
        clauses.extend(parse_clause(part)?);
    }
    Ok(ShipRule { text: trimmed.to_string(), clauses })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(metric: Metric, threshold: f64, confidence: Option<f64>) -> Clause {
        Clause::Bar { metric, threshold, above: true, confidence }
    }

    #[test]
    fn the_issues_example_reads_as_a_bar_and_an_allowance() {
        let rule = parse("ship if conversion lift > 0 at 95% and no guardrail drops more than 1%").unwrap();
        assert_eq!(
            rule.clauses,
            vec![
                bar(Metric::Conversion, 0.0, Some(0.95)),
                Clause::Guardrail { metric: None, tolerance: Some(0.01), significance: false },
            ]
        );
    }

    #[test]
    fn confidence_reads_from_p_alpha_or_significant() {
        let clauses = |t: &str| parse(t).unwrap().clauses;
        assert_eq!(
            clauses("server_conversion lift > 0 with p < 0.05"),
            vec![bar(Metric::ServerConversion, 0.0, Some(0.95))]
        );
        assert_eq!(clauses("conversion > 2% at 90%"), vec![bar(Metric::Conversion, 0.02, Some(0.9))]);
        assert_eq!(
            clauses("conversion significantly positive"),
            vec![bar(Metric::Conversion, 0.0, Some(0.95))]
        );
        assert_eq!(clauses("conversion lift > 0"), vec![bar(Metric::Conversion, 0.0, None)]);
        assert_eq!(
            clauses("conversion lift < 0 with p < 0.05"),
            vec![Clause::Bar {
                metric: Metric::Conversion,
                threshold: 0.0,
                above: false,
                confidence: Some(0.95)
            }]
        );
        assert_eq!(
            clauses("aov not significantly worse"),
            vec![Clause::Guardrail { metric: Some(Metric::Aov), tolerance: None, significance: true }]
        );
    }

    #[test]
    fn checks_are_read_alone_or_beside_a_bar() {
        let rule = parse("ship if srm passes; conversion lift > 0 at 95% after the planned sample and refund_rate rises at most 0.5%").unwrap();
        assert!(rule.has_check(Check::Srm));
        assert!(rule.has_check(Check::FullSample));
        assert_eq!(rule.bars().count(), 1);
        assert_eq!(
            rule.guardrails().collect::<Vec<_>>(),
            vec![(Some(Metric::RefundRate), Some(0.005), false)]
        );
        for check in Check::ALL {
            assert!(parse(check.example()).unwrap().has_check(check), "{check}: {}", check.example());
        }
    }

    #[test]
    fn unreadable_rules_are_refused_with_the_accepted_forms() {
        let e = parse("ship when it looks good").unwrap_err();
        assert!(e.to_string().contains("neither a metric's bar"), "{e}");
        assert!(e.to_string().contains("no guardrail drops more than 1%"), "{e}");
        assert!(parse("conversion lift > 2").unwrap_err().problem.contains("write a percentage"));
        assert!(parse("").is_err());
        assert!(parse("aov drops").unwrap_err().problem.contains("how much worse"));
        assert!(parse("conversion lift > 0 at 30%").unwrap_err().problem.contains("confidence level"));
    }
}
