//! Finds the line of a key in TOML text, so validation errors can point at `file:line`.
//! serde gives us the values without positions; this scan recovers them from the text.

pub struct Locator<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Self { lines: text.lines().collect() }
    }

    /// 1-based line of the header `[name]`, or of the `index`-th `[[name]]`.
    pub fn header(&self, name: &str, index: Option<usize>) -> Option<usize> {
        let table = format!("[{name}]");
        let array = format!("[[{name}]]");
        let mut seen = 0;
        for (i, line) in self.lines.iter().enumerate() {
            let line = strip_comment(line).trim();
            match index {
                None if line == table || line == array => return Some(i + 1),
                Some(n) if line == array => {
                    if seen == n {
                        return Some(i + 1);
                    }
                    seen += 1;
                }
                _ => {}
            }
        }
        None
    }

    /// 1-based line of `key = ...` inside a table (`None` = the top level), falling back to
    /// the table's header when the key is absent (a default was used).
    pub fn key(&self, table: Option<(&str, Option<usize>)>, key: &str) -> Option<usize> {
        let start = match table {
            None => 0,
            Some((name, index)) => self.header(name, index)?,
        };
        for (i, line) in self.lines.iter().enumerate().skip(start) {
            let line = strip_comment(line).trim();
            if line.starts_with('[') {
                // Dotted sub-tables of the same table still belong to it.
                let inside = table.is_some_and(|(name, _)| line.starts_with(&format!("[{name}.")));
                if !inside {
                    break;
                }
                continue;
            }
            if let Some((k, _)) = line.split_once('=')
                && k.trim().trim_matches('"') == key
            {
                return Some(i + 1);
            }
        }
        if start == 0 { None } else { Some(start) }
    }
}

fn strip_comment(line: &str) -> &str {
    // Good enough for scenario files: '#' inside strings is rare and only costs precision.
    match line.find('#') {
        Some(at) if !line[..at].contains('"') => &line[..at],
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_tables_and_arrays_of_tables() {
        let text =
            "name = \"x\"\n[period]\ndays = 3\n[[cause]]\nsize = [1, 2]\n[[cause]]\n# c\nsize = [3, 4]\n";
        let loc = Locator::new(text);
        assert_eq!(loc.key(None, "name"), Some(1));
        assert_eq!(loc.key(Some(("period", None)), "days"), Some(3));
        assert_eq!(loc.key(Some(("cause", Some(1))), "size"), Some(8));
        assert_eq!(loc.key(Some(("cause", Some(0))), "missing"), Some(4));
        assert_eq!(loc.header("cause", Some(1)), Some(6));
    }
}
