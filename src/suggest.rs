//! "Did you mean ...?" for typos in names: the closest candidate by edit distance.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub fn nearest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input = input.to_lowercase();
    candidates
        .iter()
        .map(|c| (levenshtein(&input, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(3) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["release_bug", "browser_bug", "tracking_loss"];
        assert_eq!(nearest("relase_bug", &names), Some("release_bug"));
        assert_eq!(nearest("TRACKING_LOSS", &names), Some("tracking_loss"));
        assert_eq!(nearest("zzzzzzzz", &names), None);
    }
}
