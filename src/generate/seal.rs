//! The sealed answer: the truth of a drill, stored so that no file in the folder shows the
//! cause in plain text (a learner browsing the folder must not read it by accident). This
//! is obfuscation, not cryptography: the key is in the binary. Version 2 files carry the
//! drill's identity (`brief::identity`) and a CRC-32 of everything above it, so a damaged
//! file or another drill's file is refused instead of grading against a wrong truth.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const MAGIC_V1: &str = "dropcase-sealed-v1";
const MAGIC: &str = "dropcase-sealed-v2";
const KEY: u64 = 0x5EA1_ED0D_C0FF_EE42;

/// Why a sealed answer cannot be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("it is not a dropcase sealed answer")]
    NotSealed,
    #[error("it is damaged ({0})")]
    Damaged(&'static str),
    #[error(
        "it belongs to another drill (sealed for drill {sealed_for}, this folder's drill.toml is drill {this})"
    )]
    Foreign { sealed_for: String, this: String },
}

fn keystream(salt: u64, len: usize) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(KEY ^ salt);
    let mut bytes = vec![0; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn mask(bytes: &[u8], salt: u64) -> Vec<u8> {
    bytes.iter().zip(keystream(salt, bytes.len())).map(|(b, k)| b ^ k).collect()
}

/// Seals `plain` for the drill `drill` (its identity) as a text file body: the magic line,
/// the salt, the drill, the masked bytes in hex, and a CRC-32 of the lines before it.
pub fn seal(plain: &[u8], salt: u64, drill: &str) -> String {
    let masked: String = mask(plain, salt).iter().map(|b| format!("{b:02x}")).collect();
    let body = format!("{MAGIC}\n{salt:016x}\n{drill}\n{masked}\n");
    format!("{body}{:08x}\n", crc32fast::hash(body.as_bytes()))
}

fn unhex(body: &str) -> Result<Vec<u8>, SealError> {
    if !body.len().is_multiple_of(2) || !body.is_ascii() {
        return Err(SealError::Damaged("the masked answer is truncated"));
    }
    (0..body.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&body[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| SealError::Damaged("the masked answer is not hexadecimal"))
}

/// Opens a sealed answer of the drill `drill`. Version 1 files (no identity, no checksum)
/// still open, unchecked.
pub fn unseal(text: &str, drill: &str) -> Result<Vec<u8>, SealError> {
    let mut lines = text.lines();
    let magic = lines.next();
    if magic == Some(MAGIC_V1) {
        let salt = lines.next().and_then(|l| u64::from_str_radix(l, 16).ok());
        let salt = salt.ok_or(SealError::Damaged("no salt line"))?;
        return Ok(mask(&unhex(lines.next().unwrap_or_default())?, salt));
    }
    if magic != Some(MAGIC) {
        return Err(SealError::NotSealed);
    }
    let (Some(salt), Some(sealed_for), Some(masked), Some(crc), None) =
        (lines.next(), lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return Err(SealError::Damaged("lines are missing or extra"));
    };
    let body = format!("{MAGIC}\n{salt}\n{sealed_for}\n{masked}\n");
    if crc != format!("{:08x}", crc32fast::hash(body.as_bytes())) {
        return Err(SealError::Damaged("its checksum does not match"));
    }
    if sealed_for != drill {
        return Err(SealError::Foreign { sealed_for: sealed_for.to_string(), this: drill.to_string() });
    }
    let salt =
        u64::from_str_radix(salt, 16).map_err(|_| SealError::Damaged("the salt is not hexadecimal"))?;
    Ok(mask(&unhex(masked)?, salt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_text() {
        let plain = br#"{"family":"release_bug"}"#;
        let sealed = seal(plain, 42, "0a1b2c3d");
        assert!(!sealed.contains("release_bug"));
        assert_eq!(unseal(&sealed, "0a1b2c3d").unwrap(), plain);
        assert_eq!(unseal("garbage", "0a1b2c3d"), Err(SealError::NotSealed));
    }

    /// Every single flipped bit anywhere in the file is refused, never decoded.
    #[test]
    fn any_flipped_bit_is_refused() {
        let sealed = seal(br#"{"family":"release_bug","segment":[["platform","ios"]]}"#, 7, "0a1b2c3d");
        let bytes = sealed.as_bytes();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.to_vec();
                flipped[at] ^= 1 << bit;
                let Ok(text) = String::from_utf8(flipped) else { continue };
                assert!(unseal(&text, "0a1b2c3d").is_err(), "flip of bit {bit} at byte {at} was accepted");
            }
        }
    }

    #[test]
    fn another_drills_answer_is_refused() {
        let sealed = seal(b"{}", 7, "0a1b2c3d");
        let err = unseal(&sealed, "ffffffff").unwrap_err();
        assert_eq!(err, SealError::Foreign { sealed_for: "0a1b2c3d".into(), this: "ffffffff".into() });
    }

    #[test]
    fn version_1_files_still_open() {
        let plain = b"{\"family\":\"noise\"}";
        let masked: String = mask(plain, 9).iter().map(|b| format!("{b:02x}")).collect();
        let v1 = format!("{MAGIC_V1}\n{:016x}\n{masked}\n", 9);
        assert_eq!(unseal(&v1, "whatever").unwrap(), plain);
    }
}
