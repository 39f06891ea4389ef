//! `email`: a keyed pseudonym that is still a valid address.
//!
//! `<token(address)>@<token(domain)>.<tld>`: the local part depends on the whole address, so
//! distinct addresses stay distinct even when the domain is kept; one domain always maps to the
//! same pseudonymous domain, so "same company" groupings survive, as in the talk's
//! `uuid1@uuid2.de`.
//!
//! Parameters: `keep_domain = true` keeps every domain; `keep_domains = ["corp.com", ...]` keeps
//! those domains (compared ignoring ASCII case) and rewrites the others; `domain = "example.com"`
//! puts every rewritten address at that domain.
//!
//! `unique = true` makes the local part a keyed *permutation* of the whole address instead of an
//! 80-bit digest, so distinct inputs give distinct outputs by construction, not by probability:
//!
//! 1. the address bytes `a` are padded as ISO/IEC 7816-4 does: `P = a ‖ 0x80`, then `0x00` up to
//!    2 bytes (only the empty address needs it). The padding is undone by dropping trailing
//!    zeros and then the `0x80`, so `a ↦ P` is injective, and `|P| ≥ 2`;
//! 2. `P` goes through a 10-round keyed Feistel network on byte strings of its length
//!    ([`permute_bytes`]), a bijection of the strings of that length;
//! 3. the result is written in base32 (`a-z`, `2-7`, valid in a local part). Base32 of `n` bytes
//!    has `⌈8n/5⌉` characters, which grows strictly with `n`, so the length of the text gives
//!    back `n` and the text gives back the bytes.
//!
//! Each step is injective, so the local part alone already tells distinct addresses apart,
//! whatever domain is written after it. The price is length: the local part has about 1.6
//! characters per byte of the address (more than RFC 5321's 64 for addresses over 39 bytes,
//! which PostgreSQL stores fine; it is never cut, since cutting would break the guarantee).

use super::encode::push_base32;
use super::fpe::permute_bytes;
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

struct Email {
    local: Keyed,
    domain: Keyed,
    keep_domain: bool,
    /// Lower-cased domains that stay.
    keep_domains: Vec<Vec<u8>>,
    /// The domain every rewritten address gets.
    fixed_domain: Option<Vec<u8>>,
    /// The Feistel key of `unique = true`.
    unique: Option<Keyed>,
}

impl Email {
    fn push_local(&self, value: &[u8], out: &mut Vec<u8>) {
        match &self.unique {
            Some(mac) => {
                let mut padded = Vec::with_capacity(value.len() + 2);
                padded.extend_from_slice(value);
                padded.push(0x80);
                if padded.len() < 2 {
                    padded.push(0);
                }
                permute_bytes(mac, b"email", &mut padded);
                push_base32(&padded, out);
            }
            // 80 bits: collisions stay negligible for billions of addresses.
            None => push_base32(&self.local.digest(value)[..10], out),
        }
    }
}

impl ValueTransform for Email {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        self.push_local(value, out);
        out.push(b'@');
        let domain = memchr::memrchr(b'@', value).map(|at| &value[at + 1..]).filter(|d| !d.is_empty());
        match domain {
            Some(d) if self.keep_domain => out.extend_from_slice(d),
            Some(d) if self.keep_domains.iter().any(|k| k.eq_ignore_ascii_case(d)) => out.extend_from_slice(d),
            _ if self.fixed_domain.is_some() => out.extend_from_slice(self.fixed_domain.as_deref().unwrap_or_default()),
            Some(d) => {
                push_base32(&self.domain.digest(d)[..5], out);
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
        Output::Value
    }
}

/// A plausible domain name: dot-separated labels of letters, digits and hyphens.
fn is_domain(d: &str) -> bool {
    d.contains('.')
        && d.len() <= 253
        && d.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

pub fn build(spec: &Spec<'_>) -> Result<Built, String> {
    let keep_domain = spec.bool_param("keep_domain")?.unwrap_or(false);
    let fixed_domain = spec.str_param("domain")?;
    if let Some(d) = fixed_domain
        && !is_domain(d)
    {
        return Err(format!("`domain` must be a domain name like \"example.com\", got \"{d}\""));
    }
    let keep_domains = match spec.params.get("keep_domains") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                toml::Value::String(s) if is_domain(s) => Ok(s.to_ascii_lowercase().into_bytes()),
                other => Err(format!("`keep_domains` must be a list of domain names, got {other}")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => Err(format!("`keep_domains` must be a list of domain names, got {other}"))?,
    };
    if keep_domain && (fixed_domain.is_some() || !keep_domains.is_empty()) {
        return Err(
            "`keep_domain = true` keeps every domain: it cannot be combined with `domain` or `keep_domains`".into()
        );
    }
    let unique = if spec.bool_param("unique")?.unwrap_or(false) { Some(spec.keyed("email.unique")?) } else { None };
    Ok((
        Box::new(Email {
            local: spec.keyed("email.local")?,
            domain: spec.keyed("email.domain")?,
            keep_domain,
            keep_domains,
            fixed_domain: fixed_domain.map(|d| d.as_bytes().to_vec()),
            unique,
        }),
        // `unique = true`: a guarantee (a keyed permutation); otherwise an 80-bit keyed digest of
        // the whole address, so collisions are negligible but possible.
        Uniqueness::Preserves,
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::Ctx;
    use super::super::testing::*;

    #[test]
    fn keeps_the_shape_of_an_address() {
        let t = build_with("email", "", None).unwrap();
        let e = run(&t, "ilovepgday@conf.de").unwrap();
        assert!(e.ends_with(".de"), "{e}");
        let kept = run(&build_with("email", "keep_domain = true", None).unwrap(), "ilovepgday@conf.de").unwrap();
        assert!(kept.ends_with("@conf.de"), "{kept}");
        assert_eq!(e.split('@').next(), kept.split('@').next());
        assert_eq!(e, "v4kmeg26hrzguph4@bsbwx7jb.de");
    }

    #[test]
    fn odd_inputs_still_give_valid_addresses() {
        let t = build_with("email", "", None).unwrap();
        for v in ["no-at-sign", "a@b", "x@y.c0m", "", "@", "a@b@c.org"] {
            let e = run(&t, v).unwrap();
            let (local, domain) = e.split_once('@').unwrap();
            assert!(!local.is_empty() && domain.contains('.') && !e.contains(' '), "{v} -> {e}");
        }
    }

    /// A simple RFC 5322-ish check: one `@`, a dot-atom local part, a domain of labels.
    fn is_address(e: &str) -> bool {
        let Some((local, domain)) = e.split_once('@') else { return false };
        !local.is_empty()
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && super::is_domain(domain)
    }

    #[test]
    fn domain_parameters() {
        let fixed = build_with("email", "domain = \"example.com\"", None).unwrap();
        let e = run(&fixed, "ilovepgday@conf.de").unwrap();
        assert!(e.ends_with("@example.com") && is_address(&e), "{e}");
        let keep = build_with("email", "keep_domains = [\"Corp.com\", \"conf.de\"]", None).unwrap();
        assert!(run(&keep, "Alice@CORP.COM").unwrap().ends_with("@CORP.COM"));
        assert!(run(&keep, "bob@conf.de").unwrap().ends_with("@conf.de"));
        let other = run(&keep, "carol@gmail.com").unwrap();
        assert!(!other.contains("gmail") && other.ends_with(".com") && is_address(&other), "{other}");
        let both = build_with("email", "keep_domains = [\"corp.com\"]\ndomain = \"example.org\"", None).unwrap();
        assert!(run(&both, "a@corp.com").unwrap().ends_with("@corp.com"));
        assert!(run(&both, "a@b.com").unwrap().ends_with("@example.org"));
        assert!(build_with("email", "domain = \"not a domain\"", None).is_err());
        assert!(build_with("email", "keep_domains = \"corp.com\"", None).is_err());
        assert!(build_with("email", "keep_domain = true\ndomain = \"example.com\"", None).is_err());
    }

    #[test]
    fn unique_addresses_are_valid_and_golden() {
        let t = build_with("email", "unique = true\ndomain = \"example.com\"", None).unwrap();
        assert_eq!(t.uniqueness(), super::super::Uniqueness::Preserves);
        for v in ["", "a", "ab", "ilovepgday@conf.de", "x@y", "Ünïcödé@exämple.de"] {
            let e = run(&t, v).unwrap();
            assert!(is_address(&e), "{v} -> {e}");
        }
        // Pinned: a change here changes every pseudonym users have ever produced.
        let got = [
            run(&t, "ilovepgday@conf.de").unwrap(),
            run(&build_with("email", "unique = true", None).unwrap(), "a").unwrap(),
        ];
        assert_eq!(got, ["ig7el7d7cork75e4pyddypm5d4ttusi@example.com", "arrq@example.invalid"]);
    }

    #[test]
    fn unique_is_injective_on_a_million_addresses() {
        // Short and long, with shared prefixes and suffixes: the cases a digest truncation or a
        // sloppy padding would get wrong.
        let t = build_with("email", "unique = true\ndomain = \"example.com\"", None).unwrap();
        let mut seen = std::collections::HashMap::with_capacity(1_000_000);
        let mut out = Vec::new();
        for i in 0..1_000_000u32 {
            let v: Vec<u8> = match i % 4 {
                0 => format!("user{i}@corp.com").into_bytes(),
                1 => format!("{i}").into_bytes(),
                2 => format!("u{}@x.de", i / 4).into_bytes(),
                // Raw bytes, 0 to 4 of them (repeats included).
                _ => i.to_le_bytes()[..(i as usize / 4) % 5].to_vec(),
            };
            out.clear();
            t.apply(&v, &Ctx::default(), &mut out);
            if let Some(earlier) = seen.insert(out.clone(), v.clone()) {
                assert_eq!(earlier, v, "two inputs give {}", String::from_utf8_lossy(&out));
            }
        }
        assert!(seen.len() > 750_000);
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_deterministic_address(v in proptest::collection::vec(any::<u8>(), 0..80)) {
            for params in ["", "unique = true", "keep_domains = [\"conf.de\"]\ndomain = \"example.com\""] {
                let t = build_with("email", params, None).unwrap();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                t.apply(&v, &Ctx::default(), &mut a);
                t.apply(&v, &Ctx::default(), &mut b);
                prop_assert_eq!(&a, &b);
                prop_assert!(a.contains(&b'@'));
            }
        }
    }
}
