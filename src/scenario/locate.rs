//! Finds the line of a key in TOML text, so validation errors can point at `file:line`.
//! serde gives us the values without positions; this scan recovers them from the text.
//! The text is indexed once (headers and the keys of each table), so locating every key of
//! a file with thousands of tables stays linear in its size (issue #13: a rescan per key
//! made `scenarios check` quadratic, over five minutes for a 10 MB file).

use std::collections::HashMap;

pub struct Locator {
    /// 1-based line of the first `[name]` or `[[name]]` per table name.
    first: HashMap<String, usize>,
    /// 1-based lines of every `[[name]]`, in order.
    arrays: HashMap<String, Vec<usize>>,
    /// Per table (keyed by its header's line; 0 = the top level), the first line of each key.
    keys: HashMap<usize, HashMap<String, usize>>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        let mut first = HashMap::new();
        let mut arrays: HashMap<String, Vec<usize>> = HashMap::new();
        let mut keys: HashMap<usize, HashMap<String, usize>> = HashMap::new();
        // Tables a key line belongs to: the latest header and the tables it is a dotted
        // sub-table of (`[dimensions.extra]` still belongs to `[dimensions]`), as
        // (name, header line). The top level is open until the first header.
        let mut open: Vec<(String, usize)> = vec![(String::new(), 0)];
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let line = strip_comment(line).trim();
            if line.starts_with('[') {
                let (name, is_array) = match line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
                    Some(name) => (name.trim(), true),
                    None => (line.trim_start_matches('[').trim_end_matches(']').trim(), false),
                };
                first.entry(name.to_string()).or_insert(number);
                if is_array {
                    arrays.entry(name.to_string()).or_default().push(number);
                }
                open.retain(|(open_name, at)| *at != 0 && line.starts_with(&format!("[{open_name}.")));
                open.push((name.to_string(), number));
                continue;
            }
            if let Some((k, _)) = line.split_once('=') {
                let k = k.trim().trim_matches('"');
                for (_, at) in &open {
                    keys.entry(*at).or_default().entry(k.to_string()).or_insert(number);
                }
            }
        }
        Self { first, arrays, keys }
    }

    /// 1-based line of the header `[name]`, or of the `index`-th `[[name]]`.
    pub fn header(&self, name: &str, index: Option<usize>) -> Option<usize> {
        match index {
            None => self.first.get(name).copied(),
            Some(n) => self.arrays.get(name).and_then(|lines| lines.get(n)).copied(),
        }
    }

    /// 1-based line of `key = ...` inside a table (`None` = the top level), falling back to
    /// the table's header when the key is absent (a default was used).
    pub fn key(&self, table: Option<(&str, Option<usize>)>, key: &str) -> Option<usize> {
        let start = match table {
            None => 0,
            Some((name, index)) => self.header(name, index)?,
        };
        let found = self.keys.get(&start).and_then(|keys| keys.get(key)).copied();
        match found {
            Some(line) => Some(line),
            None if start == 0 => None,
            None => Some(start),
        }
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
        assert_eq!(loc.header("cause", Some(2)), None);
        assert_eq!(loc.key(None, "days"), None, "a table's key is not a top-level key");
    }

    #[test]
    fn dotted_sub_tables_belong_to_their_table() {
        let text = "[traffic]\nnoise = 1\n[traffic.extra]\nuser_pool = 2\n[funnel]\nview = 3\n";
        let loc = Locator::new(text);
        assert_eq!(loc.key(Some(("traffic", None)), "user_pool"), Some(4));
        assert_eq!(loc.key(Some(("traffic", None)), "view"), Some(1), "a later table's key is not ours");
        assert_eq!(loc.key(Some(("funnel", None)), "view"), Some(6));
    }

    #[test]
    fn indexes_many_tables_in_linear_time() {
        // 200,000 [[effect]] tables: a rescan per lookup took minutes; the index is instant.
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!("[[effect]]\ntarget = \"country=US\"\nmultiplier = {i}\n"));
        }
        let started = std::time::Instant::now();
        let loc = Locator::new(&text);
        for i in (0..200_000).step_by(997) {
            assert_eq!(loc.key(Some(("effect", Some(i))), "multiplier"), Some(3 * i + 3));
        }
        assert!(started.elapsed().as_secs_f64() < 10.0, "{:?}", started.elapsed());
    }
}
