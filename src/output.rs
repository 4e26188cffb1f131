//! Rendering results for people and for scripts: `--format table|csv|json` from the same
//! serde structs, and numbers printed the way an analyst reads them.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::ValueEnum;
use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, presets::UTF8_HORIZONTAL_ONLY};

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

/// A table with a header row, printed at its natural width: cells are never wrapped (a
/// number split over two lines misreads). Tables that can be wider than a terminal are
/// [`FitTable`]s, which leave out secondary columns instead.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    // Borders and a header rule, but no rule between rows: dense tables read faster.
    let mut style = UTF8_HORIZONTAL_ONLY;
    style.row_separator = comfy_table::LineStyle::none();
    table
        .load_style(style)
        .set_content_arrangement(ContentArrangement::Disabled)
        // Cells carry colour only when `--color` allows it ([`change_cell`]); comfy-table
        // would otherwise drop it whenever stdout is not a terminal (`--color always | less -R`).
        .enforce_styling()
        .set_header(header.iter().map(Cell::new));
    table
}

/// `--wide`: print every column whatever the terminal's width.
static WIDE: AtomicBool = AtomicBool::new(false);

/// Set once from the command line (`--wide`).
pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

/// The width in columns that tables must fit, or `None` for no limit. In order: `--wide`
/// means no limit; a `COLUMNS` environment variable holding a positive whole number is
/// the width (as GNU `ls` reads it, so `COLUMNS=80 dropcase ... | less` fits too);
/// otherwise a terminal on stdout is measured (80 if it cannot be); and output to a pipe
/// or a file has no limit, so scripts see every column.
pub fn table_width() -> Option<usize> {
    width_from(WIDE.load(Ordering::Relaxed), std::env::var("COLUMNS").ok().as_deref(), || {
        std::io::stdout()
            .is_terminal()
            .then(|| Table::new().width().map(usize::from).filter(|w| *w > 0).unwrap_or(DEFAULT_WIDTH))
    })
}

/// The width a terminal is taken to have when it cannot be measured.
pub const DEFAULT_WIDTH: usize = 80;

fn width_from(wide: bool, columns: Option<&str>, terminal: impl FnOnce() -> Option<usize>) -> Option<usize> {
    if wide {
        return None;
    }
    match columns.and_then(|c| c.trim().parse::<usize>().ok()).filter(|c| *c > 0) {
        Some(columns) => Some(columns),
        None => terminal(),
    }
}

/// Columns a line takes on a terminal: its characters, less colour escapes (`ESC [ ... m`).
fn visible_width(line: &str) -> usize {
    let mut width = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the end of the escape sequence: a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// How a column of a [`FitTable`] gives way when the table is wider than the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Always shown in full: the row's labels and the numbers the table is about.
    Keep,
    /// Left out when the table does not fit; rank 1 goes first, then 2, and so on.
    /// Columns of the same rank go together (a pair such as control and treatment).
    Drop(u8),
    /// Prose (a command, a reason): wrapped at spaces once no droppable column is left.
    Wrap,
}

/// A table that fits a width: it leaves out its secondary columns in their stated order
/// (saying which in a line below it) and then wraps its prose columns at spaces, but never
/// wraps a number. What cannot fit even so is printed whole, wider than the terminal.
#[derive(Debug, Clone)]
pub struct FitTable {
    header: Vec<String>,
    fits: Vec<Fit>,
    rows: Vec<Vec<Cell>>,
}

/// A [`FitTable`] laid out for one width: its text and the columns left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub table: String,
    pub left_out: Vec<String>,
}

impl FitTable {
    pub fn new(columns: &[(&str, Fit)]) -> Self {
        Self {
            header: columns.iter().map(|(h, _)| h.to_string()).collect(),
            fits: columns.iter().map(|(_, f)| *f).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub fn add_row<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        let row: Vec<Cell> = cells.into_iter().map(Into::into).collect();
        debug_assert_eq!(row.len(), self.header.len(), "one cell per column");
        self.rows.push(row);
    }

    fn layout(&self, hidden: &[bool], wrap_to: Option<usize>) -> Table {
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        let mut table = table(&header);
        for row in &self.rows {
            table.add_row(row.clone());
        }
        if let Some(width) = wrap_to {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width.min(u16::MAX as usize) as u16);
        }
        let constraints =
            self.fits.iter().zip(hidden).enumerate().map(|(i, (fit, hidden))| match (hidden, fit) {
                (true, _) => ColumnConstraint::Hidden,
                // A prose column is never narrower than its longest word, so no word is split.
                // (The boundary counts the cell's padding, one space each side.)
                (false, Fit::Wrap) => {
                    ColumnConstraint::LowerBoundary(comfy_table::Width::Fixed(self.longest_word(i) + 2))
                }
                (false, _) => ColumnConstraint::ContentWidth,
            });
        table.set_constraints(constraints);
        table
    }

    /// The longest word in column `i`, header included (at most 40, at least 8).
    fn longest_word(&self, i: usize) -> u16 {
        let cells = self.rows.iter().filter_map(|r| r.get(i)).map(Cell::content);
        let longest = std::iter::once(self.header[i].clone())
            .chain(cells)
            .flat_map(|text| text.split_whitespace().map(|w| w.chars().count()).collect::<Vec<_>>())
            .max()
            .unwrap_or(0);
        longest.clamp(8, 40) as u16
    }

    /// Lays the table out for `width` columns (`None`: every column, unwrapped): prose
    /// columns wrap first, then secondary columns go in rank order until it fits.
    pub fn fit(&self, width: Option<usize>) -> Fitted {
        let mut hidden = vec![false; self.header.len()];
        let widest = |table: &Table| table.lines().map(|line| visible_width(&line)).max().unwrap_or(0);
        let mut table = self.layout(&hidden, None);
        if let Some(width) = width {
            let mut order: Vec<(u8, usize)> = self
                .fits
                .iter()
                .enumerate()
                .filter_map(|(i, fit)| match fit {
                    Fit::Drop(rank) => Some((*rank, i)),
                    _ => None,
                })
                .collect();
            order.sort();
            let mut order = order.into_iter().peekable();
            let wraps = self.fits.contains(&Fit::Wrap);
            loop {
                if widest(&table) <= width {
                    break;
                }
                if wraps {
                    let wrapped = self.layout(&hidden, Some(width));
                    if widest(&wrapped) <= width {
                        table = wrapped;
                        break;
                    }
                }
                match order.next() {
                    Some((rank, i)) => {
                        hidden[i] = true;
                        while let Some((_, j)) = order.next_if(|(r, _)| *r == rank) {
                            hidden[j] = true;
                        }
                        table = self.layout(&hidden, None);
                    }
                    None => {
                        if wraps {
                            table = self.layout(&hidden, Some(width));
                        }
                        break;
                    }
                }
            }
        }
        let left_out = self.header.iter().zip(&hidden).filter(|(_, h)| **h).map(|(n, _)| n.clone()).collect();
        Fitted { table: table.to_string(), left_out }
    }

    /// The table for the terminal ([`table_width`]), with a line naming the columns left out.
    pub fn render(&self) -> String {
        let width = table_width();
        let fitted = self.fit(width);
        match (fitted.left_out.is_empty(), width) {
            (false, Some(width)) => {
                let note = format!(
                    "(left out to fit {width} columns: {}; --wide shows every column)",
                    fitted.left_out.join(", ")
                );
                format!("{}\n{}", fitted.table, wrap_to(&note, width))
            }
            _ => fitted.table,
        }
    }
}

impl std::fmt::Display for FitTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

/// Prose wrapped at spaces to the terminal's width ([`table_width`]); unchanged when there
/// is no limit. Lines that fit, and words longer than the width, are left whole.
pub fn prose(text: &str) -> String {
    match table_width() {
        Some(width) => wrap_to(text, width),
        None => text.to_string(),
    }
}

/// Wraps every line of `text` longer than `width` at spaces.
pub fn wrap_to(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width.max(1));
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        // Continuation lines keep the line's own indent.
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let mut used = 0;
        for (j, word) in line.split(' ').filter(|w| !w.is_empty()).enumerate() {
            let len = word.chars().count();
            if j == 0 {
                out.push_str(&indent);
                used = indent.len();
            } else if used + 1 + len > width {
                out.push('\n');
                out.push_str(&indent);
                used = indent.len();
            } else {
                out.push(' ');
                used += 1;
            }
            out.push_str(word);
            used += len;
        }
    }
    out
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
    fn the_width_comes_from_wide_then_columns_then_the_terminal() {
        let terminal = || Some(120);
        assert_eq!(width_from(true, Some("80"), terminal), None, "--wide beats COLUMNS");
        assert_eq!(width_from(false, Some("80"), terminal), Some(80));
        assert_eq!(width_from(false, Some(" 100 "), || None), Some(100), "COLUMNS applies to a pipe too");
        assert_eq!(width_from(false, Some("wide"), terminal), Some(120), "a bad COLUMNS is ignored");
        assert_eq!(width_from(false, Some("0"), terminal), Some(120));
        assert_eq!(width_from(false, None, terminal), Some(120));
        assert_eq!(width_from(false, None, || None), None, "a pipe gets every column");
    }

    fn sample() -> FitTable {
        let mut t = FitTable::new(&[
            ("segment", Fit::Keep),
            ("value", Fit::Keep),
            ("detail one", Fit::Drop(2)),
            ("detail two", Fit::Drop(1)),
        ]);
        t.add_row(["android", "12,345,678", "1,234 → 5,678", "40.00% → 50.00%"]);
        t.add_row(["ios", "-0.50pp", "6 → 5", "30.00% → 25.00%"]);
        t
    }

    fn widest(text: &str) -> usize {
        text.lines().map(|l| l.chars().count()).max().unwrap()
    }

    #[test]
    fn a_fit_table_drops_columns_in_rank_order_and_never_splits_a_number() {
        let t = sample();
        let full = t.fit(None);
        assert!(full.left_out.is_empty());
        let all = widest(&full.table);
        // One column too narrow: rank 1 ("detail two") goes first, and only it.
        let one = t.fit(Some(all - 1));
        assert_eq!(one.left_out, ["detail two"]);
        assert!(widest(&one.table) < all && one.table.contains("1,234 → 5,678"), "{}", one.table);
        // Very narrow: both details go, the kept columns are printed whole.
        let tight = t.fit(Some(10));
        assert_eq!(tight.left_out, ["detail one", "detail two"], "named in header order");
        assert!(tight.table.contains("12,345,678") && tight.table.contains("-0.50pp"), "{}", tight.table);
        assert!(tight.table.lines().any(|l| l.contains("android") && l.contains("12,345,678")));
    }

    #[test]
    fn columns_of_one_rank_go_together_and_prose_keeps_its_words() {
        let mut t = FitTable::new(&[
            ("metric", Fit::Keep),
            ("control", Fit::Drop(1)),
            ("treatment", Fit::Drop(1)),
            ("lift", Fit::Keep),
        ]);
        t.add_row(["conversion", "18.07%", "18.76%", "+3.82% (-0.52% to +8.16%)"]);
        let all = widest(&t.fit(None).table);
        assert_eq!(t.fit(Some(all - 1)).left_out, ["control", "treatment"]);
        // A prose column is as wide as its longest word: app_version=7.4.0 stays whole.
        let mut t = FitTable::new(&[("#", Fit::Keep), ("root cause", Fit::Wrap), ("explains", Fit::Keep)]);
        t.add_row(["1", "app_version=7.4.0 (platform=ios)", "148.60%"]);
        let fitted = t.fit(Some(30));
        assert!(fitted.table.contains("app_version=7.4.0"), "{}", fitted.table);
    }

    #[test]
    fn a_fit_table_wraps_prose_at_spaces_before_dropping() {
        let mut t = FitTable::new(&[("#", Fit::Keep), ("time", Fit::Drop(1)), ("command", Fit::Wrap)]);
        t.add_row([
            "12",
            "2026-03-01 10:00:00",
            "dropcase query compare --by platform,app_version --metric conversion",
        ]);
        // Room for the time and a wrapped command: nothing is left out.
        let wrapped = t.fit(Some(60));
        assert!(wrapped.left_out.is_empty(), "{wrapped:?}");
        assert!(widest(&wrapped.table) <= 60, "{}", wrapped.table);
        assert!(
            wrapped.table.contains("2026-03-01 10:00:00") && wrapped.table.contains("platform,app_version")
        );
        // No room: the time goes, the command wraps, no word is split.
        let narrow = t.fit(Some(32));
        assert_eq!(narrow.left_out, ["time"]);
        assert!(widest(&narrow.table) <= 32, "{}", narrow.table);
        assert!(narrow.table.contains("platform,app_version"), "{}", narrow.table);
    }

    #[test]
    fn colour_escapes_take_no_columns() {
        assert_eq!(visible_width("\u{1b}[38;5;9m -6.28% \u{1b}[39m"), 8);
        let mut styled = table(&["a"]);
        styled.add_row(vec![change_cell("-6.28%".into(), -0.06, true)]);
        assert!(styled.to_string().contains('\u{1b}'), "colour is kept off a terminal");
        // A coloured table is measured as it shows: it fits the width a plain one fits.
        let mut plain = FitTable::new(&[("a", Fit::Keep), ("b", Fit::Drop(1))]);
        let mut coloured = plain.clone();
        plain.add_row(vec![Cell::new("-6.28%"), Cell::new("x")]);
        coloured.add_row(vec![change_cell("-6.28%".into(), -0.06, true), Cell::new("x")]);
        let width = plain.fit(None).table.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(plain.fit(Some(width)).left_out.is_empty());
        assert!(coloured.fit(Some(width)).left_out.is_empty(), "{:?}", coloured.fit(Some(width)));
    }

    #[test]
    fn prose_wraps_at_spaces_and_keeps_the_indent() {
        assert_eq!(wrap_to("short", 10), "short");
        assert_eq!(wrap_to("aaa bbb ccc ddd", 8), "aaa bbb\nccc ddd");
        assert_eq!(wrap_to("   [ok] one two three", 12), "   [ok] one\n   two three");
        assert_eq!(wrap_to("unbreakable-word x", 5), "unbreakable-word\nx");
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        let out = csv(&["a", "b"], &[vec!["x,y".into(), "say \"hi\"".into()]]);
        assert_eq!(out, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }
}
