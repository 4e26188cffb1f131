//! Verified drill state: the sealed answer and the JSON state files (`progress.json`,
//! `decision.json`) carry the drill's identity (`brief::identity`) and a CRC-32, so a
//! damaged file or one copied from another drill is an error that says what to do, never a
//! silent reset. Only a missing state file means a fresh drill.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::schema::files;

/// How to get a drill back into a trustworthy state, for error messages.
fn regenerate(dir: &Path) -> String {
    let seed = crate::brief::seed_of(dir).map(|s| format!(" --seed {s}")).unwrap_or_default();
    format!(
        "generate the drill again with `dropcase drill start{seed} --dir {} --force` (or `dropcase exp start{seed} --dir {} --force`, with the --scenario it was started with)",
        dir.display(),
        dir.display()
    )
}

/// Reads and opens `answer.sealed` of the drill in `dir`, checked against its brief.
pub fn open_sealed(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(files::ANSWER);
    let bytes = std::fs::read(&path).map_err(|err| {
        anyhow::anyhow!(
            "cannot read {} ({err}): the drill's answer is needed here; {}",
            path.display(),
            regenerate(dir)
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("{} cannot be trusted: it is not text; {}", path.display(), regenerate(dir))
    })?;
    let drill = crate::brief::identity_of(dir)?;
    crate::generate::seal::unseal(&text, &drill)
        .map_err(|err| anyhow::anyhow!("{} cannot be trusted: {err}; {}", path.display(), regenerate(dir)))
}

/// The entry appended to a state file's JSON object: `"integrity": {"drill": ID, "crc32":
/// HEX}`, where the CRC-32 is of the file's text without this entry (the object as written,
/// byte for byte, so no number needs to survive a parse to match).
const MARKER: &str = ",\n  \"integrity\": ";

#[derive(Serialize, serde::Deserialize)]
struct Integrity {
    drill: String,
    crc32: String,
}

/// `value` as pretty JSON with an integrity entry binding it to `drill`.
pub fn to_verified_json<T: Serialize>(value: &T, drill: &str) -> anyhow::Result<String> {
    let body = serde_json::to_string_pretty(value)?;
    let open = body
        .strip_suffix("\n}")
        .filter(|_| body.starts_with('{'))
        .ok_or_else(|| anyhow::anyhow!("a state file holds a JSON object with fields"))?;
    let integrity =
        Integrity { drill: drill.to_string(), crc32: format!("{:08x}", crc32fast::hash(body.as_bytes())) };
    Ok(format!("{open}{MARKER}{}\n}}", serde_json::to_string(&integrity)?))
}

/// Parses a state file written by [`to_verified_json`], checking its checksum and drill.
/// `what_to_do` ends every error. A file without the entry (written before it existed) is
/// read unchecked.
pub fn from_verified_json<T: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    drill: &str,
    what_to_do: &str,
) -> anyhow::Result<T> {
    let damaged = |why: String| anyhow::anyhow!("{} is damaged ({why}): {what_to_do}", path.display());
    let text = std::str::from_utf8(bytes).map_err(|e| damaged(format!("not UTF-8 text: {e}")))?;
    let parse = |json: &str| -> anyhow::Result<T> {
        let _: serde_json::Value =
            serde_json::from_str(json).map_err(|e| damaged(format!("not valid JSON: {e}")))?;
        serde_json::from_str(json).map_err(|e| damaged(format!("not a dropcase state file: {e}")))
    };
    let Some(at) = text.rfind(MARKER) else { return parse(text) };
    let entry = text[at + MARKER.len()..]
        .strip_suffix("\n}")
        .ok_or_else(|| damaged("its end is not the integrity entry".into()))?;
    let integrity: Integrity =
        serde_json::from_str(entry).map_err(|_| damaged("its integrity entry does not read".into()))?;
    let body = format!("{}\n}}", &text[..at]);
    if integrity.crc32 != format!("{:08x}", crc32fast::hash(body.as_bytes())) {
        return Err(damaged("its checksum does not match its contents".into()));
    }
    if integrity.drill != drill {
        anyhow::bail!(
            "{} belongs to another drill (written for drill {}, this folder's drill.toml is drill {drill}): {what_to_do}",
            path.display(),
            integrity.drill
        );
    }
    parse(&body)
}

/// Reads a verified state file of the drill in `dir`: `None` only when it does not exist.
pub fn load<T: DeserializeOwned>(dir: &Path, name: &str, what_to_do: &str) -> anyhow::Result<Option<T>> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => anyhow::bail!("cannot read {} ({err}): {what_to_do}", path.display()),
    };
    let drill = crate::brief::identity_of(dir)?;
    from_verified_json(&path, &bytes, &drill, what_to_do).map(Some)
}

/// Writes a verified state file of the drill in `dir`, atomically.
pub fn save<T: Serialize>(dir: &Path, name: &str, value: &T) -> anyhow::Result<()> {
    let drill = crate::brief::identity_of(dir)?;
    super::workspace::write_atomic(&dir.join(name), to_verified_json(value, &drill)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct State {
        hints: u32,
        note: Option<String>,
        score: f64,
    }

    const TODO: &str = "delete it to restart";

    fn state() -> State {
        State { hints: 2, note: Some("ios only".into()), score: 72.5 }
    }

    #[test]
    fn round_trips_and_refuses_every_damage() {
        let path = Path::new("progress.json");
        let text = to_verified_json(&state(), "0a1b2c3d").unwrap();
        let back: State = from_verified_json(path, text.as_bytes(), "0a1b2c3d", TODO).unwrap();
        assert_eq!(back, state());

        // Another drill's file.
        let err =
            from_verified_json::<State>(path, text.as_bytes(), "ffffffff", TODO).unwrap_err().to_string();
        assert!(err.contains("belongs to another drill") && err.ends_with(TODO), "{err}");
        // A changed value keeps the JSON valid but not the checksum.
        let edited = text.replace("\"hints\": 2", "\"hints\": 0");
        let err =
            from_verified_json::<State>(path, edited.as_bytes(), "0a1b2c3d", TODO).unwrap_err().to_string();
        assert!(err.contains("checksum does not match"), "{err}");
        // Not UTF-8, not JSON.
        let mut bytes = text.clone().into_bytes();
        bytes[3] = 0xFF;
        let err = from_verified_json::<State>(path, &bytes, "0a1b2c3d", TODO).unwrap_err().to_string();
        assert!(err.contains("progress.json is damaged (not UTF-8"), "{err}");
        let err =
            from_verified_json::<State>(path, b"{\"hints\": ", "0a1b2c3d", TODO).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
    }

    /// Any single changed byte is refused or decodes to the same state (a byte of white
    /// space, or of a key's letter case that JSON cannot tell, is harmless).
    #[test]
    fn no_single_byte_change_goes_unnoticed() {
        let path = Path::new("progress.json");
        let text = to_verified_json(&state(), "0a1b2c3d").unwrap();
        for at in 0..text.len() {
            for replacement in [b'0', b'9', b' ', b'x', b'"', 0xC3] {
                let mut bytes = text.clone().into_bytes();
                if bytes[at] == replacement {
                    continue;
                }
                bytes[at] = replacement;
                if let Ok(parsed) = from_verified_json::<State>(path, &bytes, "0a1b2c3d", TODO) {
                    assert_eq!(parsed, state(), "byte {at} set to {replacement} changed the state unnoticed");
                }
            }
        }
    }

    #[test]
    fn files_from_before_the_check_still_read() {
        let old = serde_json::to_string_pretty(&state()).unwrap();
        let back: State = from_verified_json(Path::new("p.json"), old.as_bytes(), "0a1b2c3d", TODO).unwrap();
        assert_eq!(back, state());
    }
}
