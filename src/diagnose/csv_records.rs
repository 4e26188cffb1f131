//! A small RFC 4180 CSV reader for the files `diagnose` reads whole and small: leaf tables,
//! event logs and a drill's context logs. Polars' CSV reader costs more in start-up than a
//! B0 case takes to localise, and the `csv` crate changes the feature set polars is built
//! with (a 25-minute rebuild), so this reads quoted fields (`""` escapes, separators and
//! line breaks inside quotes), CRLF and a BOM, and says where a file is malformed.

/// One record and the line it starts on (the header is line 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Splits CSV text into records. A blank line is skipped; a quote left open is an error
/// naming the line it opened on.
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let (mut line, mut record_line, mut quote_line) = (1usize, 1usize, 0usize);
    let (mut in_quotes, mut was_quoted) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                in_quotes = true;
                was_quoted = true;
                quote_line = line;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                if !(fields.len() == 1 && fields[0].is_empty() && !was_quoted) {
                    records.push(Record { line: record_line, fields: std::mem::take(&mut fields) });
                }
                fields.clear();
                was_quoted = false;
                line += 1;
                record_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {quote_line}: a quoted field is never closed"));
    }
    if !field.is_empty() || !fields.is_empty() || was_quoted {
        fields.push(field);
        records.push(Record { line: record_line, fields });
    }
    Ok(records)
}

/// The records of CSV text that holds no quote character, as [`parse`] reads them (a BOM,
/// CRLF and blank lines alike) but with every field a slice of the text, all in one vector:
/// a leaf table of 20,000 rows is split without 140,000 small copies or a vector per row.
/// `None` when the text has a quote (read it with [`parse`]).
pub fn split_plain(text: &str) -> Option<PlainRecords<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('"') {
        return None;
    }
    let mut records = PlainRecords { lines: Vec::new(), ends: Vec::new(), fields: Vec::new() };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line = line.strip_suffix("\r\n").or_else(|| line.strip_suffix('\n')).unwrap_or(line);
        if !line.is_empty() {
            records.fields.extend(line.split(','));
            records.lines.push(i + 1);
            records.ends.push(records.fields.len());
        }
    }
    Some(records)
}

/// Records split by [`split_plain`]: record `i` starts on line `lines[i]` and holds
/// `fields[ends[i - 1]..ends[i]]`.
pub struct PlainRecords<'t> {
    lines: Vec<usize>,
    ends: Vec<usize>,
    fields: Vec<&'t str>,
}

impl<'t> PlainRecords<'t> {
    /// Each record's line and fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[&'t str])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.lines
            .iter()
            .zip(starts.zip(&self.ends))
            .map(|(&line, (from, &to))| (line, &self.fields[from..to]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(records: &[Record]) -> Vec<Vec<&str>> {
        records.iter().map(|r| r.fields.iter().map(String::as_str).collect()).collect()
    }

    #[test]
    fn reads_plain_and_quoted_fields() {
        let records = parse("a,b,c\n1,\"x, \"\"y\"\"\",\n\n\"multi\nline\",2,3\r\nlast,,z").expect("parses");
        assert_eq!(
            fields(&records),
            [
                vec!["a", "b", "c"],
                vec!["1", "x, \"y\"", ""],
                vec!["multi\nline", "2", "3"],
                vec!["last", "", "z"]
            ]
        );
        assert_eq!(records.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 4, 6]);
    }

    #[test]
    fn text_without_quotes_splits_as_the_full_reader_reads_it() {
        for text in [
            "",
            "a,b\n1,2\n",
            "\u{feff}a,b\r\n1,2\r\n\r\n\n3,\n",
            "a,b\n1,2",
            "x\ry,z\n,\n,,\n",
            "last\r",
            "\n\n\na\n",
        ] {
            let full: Vec<(usize, Vec<String>)> =
                parse(text).expect("parses").into_iter().map(|r| (r.line, r.fields)).collect();
            let plain: Vec<(usize, Vec<String>)> = split_plain(text)
                .expect("no quotes")
                .iter()
                .map(|(line, fields)| (line, fields.iter().map(|f| f.to_string()).collect()))
                .collect();
            assert_eq!(plain, full, "{text:?}");
        }
        assert!(split_plain("a,\"b\"\n").is_none());
    }

    #[test]
    fn a_bom_is_dropped_and_an_open_quote_is_an_error() {
        assert_eq!(fields(&parse("\u{feff}a,b\n").expect("parses")), [vec!["a", "b"]]);
        assert_eq!(
            parse("a\n\"open,\n2\n").expect_err("open quote"),
            "line 2: a quoted field is never closed"
        );
    }
}
