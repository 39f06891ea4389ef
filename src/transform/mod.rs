//! Transforms: what a rule does to one field value.
//!
//! Every transform is a pure function of (secret key, transform and parameters, input value):
//! the same value becomes the same pseudonym in every table, run and thread, so a primary key and
//! its foreign keys stay joined when both get the same transform. The key enters through HMAC-SHA256;
//! transforms do not mix table or column names into it, on purpose.
//!
//! Transforms see decoded values (COPY escapes already removed) and write decoded values; the
//! caller handles NULL and COPY escaping. They must not allocate per value beyond the caller's
//! buffers, and must not panic on any input bytes.

mod key;

pub use key::SecretKey;

use key::Keyed;
use uuid::Uuid;

/// A compiled transform, ready to run on many values from many threads.
#[derive(Clone)]
pub enum Transform {
    /// Write NULL.
    Null,
    /// Write this value (already decoded).
    Constant(Vec<u8>),
    /// Keyed HMAC-SHA256 in lower-case hex, cut to `len` characters.
    Hash { mac: Keyed, len: usize },
    /// Keyed, shaped like a UUID (version 8, RFC 9562 variant).
    Uuid { mac: Keyed },
    /// PostgreSQL's `uuid_generate_v5(namespace, value)`: SHA-1, unkeyed, anyone can recompute it.
    UuidV5 { namespace: Uuid },
    /// A keyed, valid email address: `<token>@<token>.<tld>`, or `<token>@<original domain>`.
    Email {
        local: Keyed,
        domain: Keyed,
        keep_domain: bool,
    },
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a transform produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The value written into the output buffer.
    Value,
    /// NULL; nothing was written.
    Null,
}

/// The names a rule may use in `transform = "..."`, with their parameters.
pub const CATALOGUE: &[(&str, &[&str])] = &[
    ("keep", &[]),
    ("null", &[]),
    ("constant", &["value"]),
    ("hash", &["length"]),
    ("uuid", &[]),
    ("uuid_v5", &["namespace"]),
    ("email", &["keep_domain"]),
];

impl Transform {
    /// The transform's name as written in rules files.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Null => "null",
            Transform::Constant(_) => "constant",
            Transform::Hash { .. } => "hash",
            Transform::Uuid { .. } => "uuid",
            Transform::UuidV5 { .. } => "uuid_v5",
            Transform::Email { .. } => "email",
        }
    }

    /// Rewrites `value` (a non-NULL, decoded field), appending the result to `out`.
    pub fn apply(&self, value: &[u8], out: &mut Vec<u8>) -> Output {
        match self {
            Transform::Null => return Output::Null,
            Transform::Constant(v) => out.extend_from_slice(v),
            Transform::Hash { mac, len } => {
                let digest = mac.digest(value);
                let start = out.len();
                push_hex(&digest, out);
                out.truncate(start + len);
            }
            Transform::Uuid { mac } => {
                let digest = mac.digest(value);
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                bytes[6] = (bytes[6] & 0x0f) | 0x80;
                bytes[8] = (bytes[8] & 0x3f) | 0x80;
                push_uuid(&Uuid::from_bytes(bytes), out);
            }
            Transform::UuidV5 { namespace } => push_uuid(&Uuid::new_v5(namespace, value), out),
            Transform::Email {
                local,
                domain,
                keep_domain,
            } => email(local, domain, *keep_domain, value, out),
        }
        Output::Value
    }
}

/// `<token(address)>@<token(domain)>.<tld>`: the local part depends on the whole address, so
/// distinct addresses stay distinct even when the domain is kept; one domain always maps to the
/// same pseudonymous domain, so "same company" groupings survive, as in the talk's `uuid1@uuid2.de`.
fn email(local: &Keyed, domain_mac: &Keyed, keep_domain: bool, value: &[u8], out: &mut Vec<u8>) {
    push_base32(&local.digest(value)[..10], out);
    out.push(b'@');
    let domain = memchr::memrchr(b'@', value).map(|at| &value[at + 1..]).filter(|d| !d.is_empty());
    match domain {
        Some(d) if keep_domain => out.extend_from_slice(d),
        Some(d) => {
            push_base32(&domain_mac.digest(d)[..5], out);
            out.push(b'.');
            let tld = memchr::memrchr(b'.', d).map(|dot| &d[dot + 1..]);
            match tld {
                Some(t) if (2..=24).contains(&t.len()) && t.iter().all(u8::is_ascii_alphabetic) => {
                    out.extend(t.iter().map(u8::to_ascii_lowercase));
                }
                _ => out.extend_from_slice(b"invalid"),
            }
        }
        None => out.extend_from_slice(b"example.invalid"),
    }
}

fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// RFC 4648 base32 in lower case, without padding: letters and digits 2-7, valid in any
/// email local part or host name.
fn push_base32(bytes: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize]);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize]);
    }
}

fn push_uuid(u: &Uuid, out: &mut Vec<u8>) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.extend_from_slice(u.hyphenated().encode_lower(&mut buf).as_bytes());
}

/// Builds transforms from rule parameters. Keyed transforms need the key; asking for one without
/// a key is reported by [`Builder::missing_key`] so the caller can fail before any output.
pub struct Builder<'a> {
    key: Option<&'a SecretKey>,
}

/// A rule's parameters: name → TOML value.
pub type Params = toml::Table;

impl<'a> Builder<'a> {
    pub fn new(key: Option<&'a SecretKey>) -> Self {
        Builder { key }
    }

    /// Whether the named transform needs the secret key.
    pub fn needs_key(name: &str) -> bool {
        matches!(name, "hash" | "uuid" | "email")
    }

    /// Builds the transform `name` with `params`; `None` means `keep`.
    pub fn build(&self, name: &str, params: &Params) -> Result<Option<Transform>, String> {
        let Some((_, allowed)) = CATALOGUE.iter().find(|(n, _)| *n == name) else {
            let names: Vec<_> = CATALOGUE.iter().map(|(n, _)| *n).collect();
            return Err(format!("unknown transform `{name}` (known: {})", names.join(", ")));
        };
        if let Some(extra) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(if allowed.is_empty() {
                format!("transform `{name}` takes no parameters, got `{extra}`")
            } else {
                format!("transform `{name}` has no parameter `{extra}` (it takes: {})", allowed.join(", "))
            });
        }
        let keyed = |domain: &str| -> Result<Keyed, String> {
            let key = self
                .key
                .ok_or_else(|| format!("transform `{name}` needs the secret key: set SCRUB_SECRET or pass --secret-file"))?;
            Ok(key.keyed(domain))
        };
        Ok(Some(match name {
            "keep" => return Ok(None),
            "null" => Transform::Null,
            "constant" => Transform::Constant(
                str_param(params, "value")?
                    .ok_or("transform `constant` needs `value`")?
                    .as_bytes()
                    .to_vec(),
            ),
            "hash" => {
                let len = match params.get("length") {
                    None => 64,
                    Some(toml::Value::Integer(n)) if (1..=64).contains(n) => *n as usize,
                    Some(other) => return Err(format!("`length` must be an integer from 1 to 64, got {other}")),
                };
                Transform::Hash {
                    mac: keyed("hash")?,
                    len,
                }
            }
            "uuid" => Transform::Uuid { mac: keyed("uuid")? },
            "uuid_v5" => {
                let ns = str_param(params, "namespace")?.ok_or("transform `uuid_v5` needs `namespace` (a UUID, or dns, url, oid, x500)")?;
                let namespace = match ns.to_ascii_lowercase().as_str() {
                    "dns" => Uuid::NAMESPACE_DNS,
                    "url" => Uuid::NAMESPACE_URL,
                    "oid" => Uuid::NAMESPACE_OID,
                    "x500" => Uuid::NAMESPACE_X500,
                    _ => Uuid::parse_str(ns).map_err(|e| format!("`namespace` is not a UUID: {e}"))?,
                };
                Transform::UuidV5 { namespace }
            }
            "email" => Transform::Email {
                local: keyed("email.local")?,
                domain: keyed("email.domain")?,
                keep_domain: bool_param(params, "keep_domain")?.unwrap_or(false),
            },
            _ => unreachable!("every catalogue name is handled"),
        }))
    }
}

fn str_param<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, String> {
    match params.get(name) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{name}` must be a string, got {other}")),
    }
}

fn bool_param(params: &Params, name: &str) -> Result<Option<bool>, String> {
    match params.get(name) {
        None => Ok(None),
        Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("`{name}` must be true or false, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &Transform, v: &str) -> String {
        let mut out = Vec::new();
        assert_eq!(t.apply(v.as_bytes(), &mut out), Output::Value);
        String::from_utf8(out).unwrap()
    }

    fn build(key: &SecretKey, name: &str, params: &str) -> Transform {
        let params: Params = toml::from_str(params).unwrap();
        Builder::new(Some(key)).build(name, &params).unwrap().unwrap()
    }

    #[test]
    fn uuid_v5_matches_the_rfc_example() {
        // RFC 9562 appendix A.4: uuid v5 of "www.example.com" in the DNS namespace.
        let t = Builder::new(None).build("uuid_v5", &toml::from_str("namespace = \"dns\"").unwrap()).unwrap().unwrap();
        assert_eq!(run(&t, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    }

    #[test]
    fn keyed_transforms_are_deterministic_and_key_dependent() {
        let k1 = SecretKey::new(b"key one".to_vec()).unwrap();
        let k2 = SecretKey::new(b"key two".to_vec()).unwrap();
        for (name, params) in [("hash", ""), ("uuid", ""), ("email", "")] {
            let a = build(&k1, name, params);
            let b = build(&k2, name, params);
            assert_eq!(run(&a, "ilovepgday@conf.de"), run(&a, "ilovepgday@conf.de"));
            assert_ne!(run(&a, "ilovepgday@conf.de"), run(&b, "ilovepgday@conf.de"));
        }
    }

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let k = SecretKey::new(b"golden key".to_vec()).unwrap();
        assert_eq!(run(&build(&k, "hash", "length = 16"), "alice"), run(&build(&k, "hash", ""), "alice")[..16]);
        let email = run(&build(&k, "email", ""), "ilovepgday@conf.de");
        assert!(email.ends_with(".de"), "{email}");
        let kept = run(&build(&k, "email", "keep_domain = true"), "ilovepgday@conf.de");
        assert!(kept.ends_with("@conf.de"), "{kept}");
        assert_eq!(email.split('@').next(), kept.split('@').next());
        let u = run(&build(&k, "uuid", ""), "42");
        assert_eq!(Uuid::parse_str(&u).unwrap().get_version_num(), 8);
    }

    #[test]
    fn emails_stay_valid_for_odd_inputs() {
        let k = SecretKey::new(b"k".to_vec()).unwrap();
        let t = build(&k, "email", "");
        for v in ["no-at-sign", "a@b", "x@y.c0m", "", "@", "a@b@c.org"] {
            let e = run(&t, v);
            let (local, domain) = e.split_once('@').unwrap();
            assert!(!local.is_empty() && domain.contains('.') && !e.contains(' '), "{v} -> {e}");
        }
    }

    #[test]
    fn parameter_errors() {
        let b = Builder::new(None);
        let p = |s: &str| -> Params { toml::from_str(s).unwrap() };
        assert!(b.build("hash", &p("")).unwrap_err().contains("SCRUB_SECRET"));
        assert!(b.build("bogus", &p("")).unwrap_err().contains("unknown transform"));
        assert!(b.build("uuid_v5", &p("namespace = 1")).unwrap_err().contains("must be a string"));
        assert!(b.build("null", &p("x = 1")).unwrap_err().contains("no parameters"));
        let k = SecretKey::new(b"k".to_vec()).unwrap();
        assert!(Builder::new(Some(&k)).build("hash", &p("length = 65")).unwrap_err().contains("1 to 64"));
    }
}
