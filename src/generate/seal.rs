//! The sealed answer: the truth of a drill, stored so that no file in the folder shows the
//! cause in plain text (a learner browsing the folder must not read it by accident). This
//! is obfuscation, not cryptography: the key is in the binary.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const MAGIC: &str = "dropcase-sealed-v1";
const KEY: u64 = 0x5EA1_ED0D_C0FF_EE42;

fn keystream(salt: u64, len: usize) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(KEY ^ salt);
    let mut bytes = vec![0; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// Seals `plain` as a text file body: a magic line, the salt, and the masked bytes in hex.
pub fn seal(plain: &[u8], salt: u64) -> String {
    let masked: String =
        plain.iter().zip(keystream(salt, plain.len())).map(|(b, k)| format!("{:02x}", b ^ k)).collect();
    format!("{MAGIC}\n{salt:016x}\n{masked}\n")
}

pub fn unseal(text: &str) -> anyhow::Result<Vec<u8>> {
    let mut lines = text.lines();
    anyhow::ensure!(lines.next() == Some(MAGIC), "the sealed answer is not in dropcase's format");
    let salt = lines.next().and_then(|l| u64::from_str_radix(l, 16).ok());
    let body = lines.next().unwrap_or_default();
    let salt = salt.ok_or_else(|| anyhow::anyhow!("the sealed answer has no salt line"))?;
    anyhow::ensure!(body.len().is_multiple_of(2), "the sealed answer is truncated");
    let masked = (0..body.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&body[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| anyhow::anyhow!("the sealed answer is corrupted"))?;
    Ok(masked.iter().zip(keystream(salt, masked.len())).map(|(b, k)| b ^ k).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_text() {
        let plain = br#"{"family":"release_bug"}"#;
        let sealed = seal(plain, 42);
        assert!(!sealed.contains("release_bug"));
        assert_eq!(unseal(&sealed).unwrap(), plain);
        assert!(unseal("garbage").is_err());
    }
}
