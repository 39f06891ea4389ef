//! `email`: a keyed pseudonym that is still a valid address.
//!
//! `<token(address)>@<token(domain)>.<tld>`: the local part depends on the whole address, so
//! distinct addresses stay distinct even when the domain is kept; one domain always maps to the
//! same pseudonymous domain, so "same company" groupings survive, as in the talk's
//! `uuid1@uuid2.de`.

use super::encode::push_base32;
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

struct Email {
    local: Keyed,
    domain: Keyed,
    keep_domain: bool,
}

impl ValueTransform for Email {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        // 80 bits: collisions stay negligible for billions of addresses.
        push_base32(&self.local.digest(value)[..10], out);
        out.push(b'@');
        let domain = memchr::memrchr(b'@', value).map(|at| &value[at + 1..]).filter(|d| !d.is_empty());
        match domain {
            Some(d) if self.keep_domain => out.extend_from_slice(d),
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

pub fn build(spec: &Spec<'_>) -> Result<Built, String> {
    Ok((
        Box::new(Email {
            local: spec.keyed("email.local")?,
            domain: spec.keyed("email.domain")?,
            keep_domain: spec.bool_param("keep_domain")?.unwrap_or(false),
        }),
        Uniqueness::Preserves,
    ))
}

#[cfg(test)]
mod tests {
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
}
