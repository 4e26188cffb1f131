//! Rendering results for people and for scripts: `--format table|csv|json` from the same
//! serde structs, and numbers printed the way an analyst reads them.

use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_HORIZONTAL_ONLY};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour stdout: `auto` colours only a terminal and honours NO_COLOR.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
        }
    }
}

/// A signed percentage: 0.0532 → "+5.32%".
pub fn signed_pct(x: f64) -> String {
    if x.is_finite() { format!("{:+.2}%", x * 100.0) } else { "–".into() }
}

/// A percentage: 0.0532 → "5.32%".
pub fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:.2}%", x * 100.0) } else { "–".into() }
}

/// A p-value: 3 significant figures, scientific below 0.001 (3.2e-05).
pub fn p_value(p: Option<f64>) -> String {
    match p {
        None => "–".into(),
        Some(p) if !p.is_finite() => "–".into(),
        Some(0.0) => "<1e-300".into(),
        Some(p) if p < 1e-3 => {
            // Rust prints 3.2e-5; analysts (and R, scipy) write 3.2e-05.
            let text = format!("{p:.1e}");
            let (mantissa, exponent) = text.split_once('e').expect("{:e} has an exponent");
            let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
            format!("{mantissa}e-{:02}", exponent.abs())
        }
        Some(p) => format!("{p:.3}"),
    }
}

/// An integer with thousands separators: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A plain number with sensible precision for its size.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x.abs() >= 1000.0 {
        let rounded = x.round();
        let sign = if rounded < 0.0 { "-" } else { "" };
        format!("{sign}{}", thousands(rounded.abs() as u64))
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

/// A table that fits the terminal, with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    // Borders and a header rule, but no rule between rows: dense tables read faster.
    let mut style = UTF8_HORIZONTAL_ONLY;
    style.row_separator = comfy_table::LineStyle::none();
    table
        .load_style(style)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    table
}

/// A cell for a change: red when it falls, green when it rises (only if colour is on).
pub fn change_cell(text: String, change: f64, color: bool) -> Cell {
    let cell = Cell::new(text);
    if !color || !change.is_finite() || change == 0.0 {
        return cell;
    }
    cell.fg(if change < 0.0 { Color::Red } else { Color::Green })
}

/// Writes rows as CSV (RFC 4180 quoting) with a header.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    fn quote(field: &str) -> String {
        if field.contains([',', '"', '\n']) {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_string()
        }
    }
    let mut out = String::new();
    out.push_str(&header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(","));
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(|f| quote(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Pretty JSON of any result struct.
pub fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("result structs always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_for_analysts() {
        assert_eq!(signed_pct(-0.0532), "-5.32%");
        assert_eq!(signed_pct(0.1), "+10.00%");
        assert_eq!(p_value(Some(3.2e-5)), "3.2e-05");
        assert_eq!(p_value(Some(4.4e-120)), "4.4e-120");
        assert_eq!(p_value(Some(0.0172)), "0.017");
        assert_eq!(p_value(None), "–");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(number(-12345.4), "-12,345");
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        let out = csv(&["a", "b"], &[vec!["x,y".into(), "say \"hi\"".into()]]);
        assert_eq!(out, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }
}
