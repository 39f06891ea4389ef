//! The simple transforms: `null`, `constant`, `hash`, `uuid` and `uuid_v5`.

use uuid::Uuid;

use super::encode::{push_hex, push_uuid};
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

struct Null;

impl ValueTransform for Null {
    fn apply(&self, _: &[u8], _: &Ctx<'_>, _: &mut Vec<u8>) -> Output {
        Output::Null
    }
}

pub fn build_null(_: &Spec<'_>) -> Result<Built, String> {
    Ok((Box::new(Null), Uniqueness::Breaks))
}

struct Constant(Vec<u8>);

impl ValueTransform for Constant {
    fn apply(&self, _: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        out.extend_from_slice(&self.0);
        Output::Value
    }
}

pub fn build_constant(spec: &Spec<'_>) -> Result<Built, String> {
    let value = spec.str_param("value")?.ok_or("transform `constant` needs `value`")?;
    Ok((Box::new(Constant(value.as_bytes().to_vec())), Uniqueness::Breaks))
}

/// Keyed HMAC-SHA256 in lower-case hex, cut to `len` characters.
struct Hash {
    mac: Keyed,
    len: usize,
}

impl ValueTransform for Hash {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let digest = self.mac.digest(value);
        push_hex(&digest[..self.len.div_ceil(2)], out);
        if self.len % 2 == 1 {
            out.pop();
        }
        Output::Value
    }
}

/// Below this many hex characters (96 bits) collisions among many millions of values stop being
/// negligible, so a shorter hash no longer counts as uniqueness-preserving.
const COLLISION_SAFE_HEX: usize = 24;

pub fn build_hash(spec: &Spec<'_>) -> Result<Built, String> {
    let len = spec.int_param("length", 1..=64)?.unwrap_or(64) as usize;
    let uniqueness = if len >= COLLISION_SAFE_HEX { Uniqueness::Preserves } else { Uniqueness::MayBreak };
    Ok((Box::new(Hash { mac: spec.keyed("hash")?, len }), uniqueness))
}

/// Keyed, shaped like a UUID (version 8, RFC 9562 variant): 122 keyed bits.
struct KeyedUuid {
    mac: Keyed,
}

impl ValueTransform for KeyedUuid {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let digest = self.mac.digest(value);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        push_uuid(&Uuid::from_bytes(bytes), out);
        Output::Value
    }
}

pub fn build_uuid(spec: &Spec<'_>) -> Result<Built, String> {
    Ok((Box::new(KeyedUuid { mac: spec.keyed("uuid")? }), Uniqueness::Preserves))
}

/// PostgreSQL's `uuid_generate_v5(namespace, value)`: SHA-1, unkeyed, anyone can recompute it.
struct UuidV5 {
    namespace: Uuid,
}

impl ValueTransform for UuidV5 {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        push_uuid(&Uuid::new_v5(&self.namespace, value), out);
        Output::Value
    }
}

pub fn build_uuid_v5(spec: &Spec<'_>) -> Result<Built, String> {
    let ns =
        spec.str_param("namespace")?.ok_or("transform `uuid_v5` needs `namespace` (a UUID, or dns, url, oid, x500)")?;
    let namespace = match ns.to_ascii_lowercase().as_str() {
        "dns" => Uuid::NAMESPACE_DNS,
        "url" => Uuid::NAMESPACE_URL,
        "oid" => Uuid::NAMESPACE_OID,
        "x500" => Uuid::NAMESPACE_X500,
        _ => Uuid::parse_str(ns).map_err(|e| format!("`namespace` is not a UUID: {e}"))?,
    };
    Ok((Box::new(UuidV5 { namespace }), Uniqueness::Preserves))
}

#[cfg(test)]
mod tests {
    use super::super::Uniqueness;
    use super::super::testing::*;

    #[test]
    fn uuid_v5_matches_the_rfc_example() {
        // RFC 9562 appendix A.4: uuid v5 of "www.example.com" in the DNS namespace.
        let t = build_with("uuid_v5", "namespace = \"dns\"", None).unwrap();
        assert_eq!(run(&t, "www.example.com").unwrap(), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    }

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let full = run(&build_with("hash", "", None).unwrap(), "alice").unwrap();
        assert_eq!(full, "3ef6e148f5335002d7325595f8c528cb4474a18f46907de12dc4ba80cf2f8c70");
        assert_eq!(run(&build_with("hash", "length = 7", None).unwrap(), "alice").unwrap(), &full[..7]);
        assert_eq!(run(&build_with("uuid", "", None).unwrap(), "42").unwrap(), "bcc73f99-35d8-8e5e-b43c-b89975de0a3d");
    }

    #[test]
    fn uniqueness_classes() {
        assert_eq!(build_with("hash", "", None).unwrap().uniqueness(), Uniqueness::Preserves);
        assert_eq!(build_with("hash", "length = 8", None).unwrap().uniqueness(), Uniqueness::MayBreak);
        assert_eq!(build_with("null", "", None).unwrap().uniqueness(), Uniqueness::Breaks);
        assert_eq!(run(&build_with("null", "", None).unwrap(), "x"), None);
    }
}
