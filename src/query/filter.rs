//! `--where dim=v,dim2!=w,dim3=a|b`: parsing segment filters, with errors that point at the
//! bad part of what was typed.

/// One `dim=value` (or `dim!=a|b`) condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub dimension: String,
    /// `!=`: keep rows whose value is none of `values` (rows where it is missing included).
    pub negated: bool,
    pub values: Vec<String>,
    /// Byte range of this condition in the text, for pointing at it.
    span: (usize, usize),
}

/// All conditions of `--where`, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub conditions: Vec<Condition>,
    text: String,
}

const SYNTAX: &str = "write dim=value, dim!=value or dim=a|b, joined by commas";

impl Filter {
    /// Parses the text of one or more `--where` flags (joined by commas).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut conditions = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let mut start = 0;
        for part in text.split(',') {
            let span = (start, start + part.len());
            start += part.len() + 1;
            let fail = |what: &str| -> anyhow::Error {
                anyhow::anyhow!("malformed --where: {what}; {SYNTAX}\n{}", point(text, span))
            };
            let trimmed = part.trim();
            if trimmed.is_empty() {
                return Err(fail("an empty condition"));
            }
            let (dimension, negated, values) = if let Some((d, v)) = trimmed.split_once("!=") {
                (d, true, v)
            } else if let Some((d, v)) = trimmed.split_once('=') {
                (d, false, v)
            } else {
                return Err(fail(&format!("'{trimmed}' has no = or !=")));
            };
            let dimension = dimension.trim();
            if dimension.is_empty() {
                return Err(fail(&format!("'{trimmed}' names no dimension before the operator")));
            }
            if !dimension.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-') {
                return Err(fail(&format!("'{dimension}' is not a column name")));
            }
            let values: Vec<String> = values.split('|').map(|v| v.trim().to_string()).collect();
            if values.iter().any(|v| v.is_empty() || v.starts_with('=')) {
                return Err(fail(&format!("'{trimmed}' has an empty or malformed value")));
            }
            conditions.push(Condition { dimension: dimension.to_string(), negated, values, span });
        }
        Ok(Self { conditions, text: text.to_string() })
    }

    /// Parses several `--where` flags as one filter.
    pub fn parse_all(parts: &[String]) -> anyhow::Result<Self> {
        Self::parse(&parts.join(","))
    }

    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The `--where` text with a caret line under `condition`, for error messages.
    pub fn point_at(&self, condition: &Condition) -> String {
        point(&self.text, condition.span)
    }

    /// The dimensions this filter reads.
    pub fn dimensions(&self) -> impl Iterator<Item = &str> {
        self.conditions.iter().map(|c| c.dimension.as_str())
    }
}

fn point(text: &str, (from, to): (usize, usize)) -> String {
    let lead = text[..from].chars().count();
    let width = text[from..to].chars().count().max(1);
    format!("  --where {text}\n          {}{}", " ".repeat(lead), "^".repeat(width))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_equal_not_equal_and_alternatives() {
        let f = Filter::parse("platform=android,app_version!=5.2.0,country=US|DE").unwrap();
        let c = &f.conditions;
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].dimension.as_str(), c[0].negated), ("platform", false));
        assert_eq!(c[1].values, ["5.2.0"]);
        assert!(c[1].negated);
        assert_eq!(c[2].values, ["US", "DE"]);
        assert!(Filter::parse("").unwrap().is_empty());
    }

    #[test]
    fn points_at_the_bad_part() {
        let err = Filter::parse("platform=android,app_version").unwrap_err().to_string();
        assert!(err.contains("'app_version' has no = or !="), "{err}");
        assert!(err.ends_with("\n                           ^^^^^^^^^^^"), "{err}");
        for bad in ["a=", "=b", "a=x||y", "a=b,,c=d", "a==b", "pla tform=x"] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }
}
