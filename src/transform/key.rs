//! The secret key and the keyed MAC states derived from it.
//!
//! The key never leaves this module: it is not `Debug`, not `Display`, and only a fingerprint
//! (a MAC of a fixed label, safe to publish) can be printed. Each transform gets its own MAC
//! state with a domain label already absorbed, so `hash` and `uuid` of the same value are unrelated
//! and the per-value cost is one clone plus the value's bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The user's secret, from `SCRUB_SECRET` or `--secret-file`.
pub struct SecretKey {
    bytes: Vec<u8>,
}

impl SecretKey {
    /// Wraps the secret. An empty secret is refused.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("the secret key is empty".into());
        }
        Ok(SecretKey { bytes })
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.bytes).expect("HMAC takes keys of any length")
    }

    /// A MAC state for one transform, separated from all others by `domain`.
    pub fn keyed(&self, domain: &str) -> Keyed {
        let mut mac = self.mac();
        mac.update(b"scrub/v1/");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        Keyed { mac }
    }

    /// A MAC state that has absorbed exactly `prefix` (no scrub label): for digests whose input is
    /// specified byte for byte elsewhere (the subset sample, which tests recompute).
    pub fn keyed_exact(&self, prefix: &[u8]) -> Keyed {
        let mut mac = self.mac();
        mac.update(prefix);
        Keyed { mac }
    }

    /// A short public fingerprint: tells two keys apart without revealing either.
    pub fn fingerprint(&self) -> String {
        let digest = self.keyed("fingerprint").digest(b"");
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A prepared keyed MAC: `digest(value)` is HMAC-SHA256(key, label ‖ value).
#[derive(Clone)]
pub struct Keyed {
    mac: HmacSha256,
}

impl Keyed {
    /// The 32-byte keyed digest of `value`.
    pub fn digest(&self, value: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}
