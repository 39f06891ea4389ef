//! Identifiers: `credit_card`, `iban`, `pattern` and `int`.

use super::column::{IntKind, base_name, char_limit, is_array, modifiers};
use super::fpe::{permute_bits, permute_digits};
use super::rng::KeyedStream;
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

// ---------------------------------------------------------------------------------------------
// credit_card

/// The Luhn check digit for `body` (the digits before the check digit, as values 0-9).
fn luhn_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = 2 * d;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A Luhn-valid number with as many digits as the input, the separators where they were, the
/// first `keep_prefix` digits kept (default 1: the major industry identifier, so a Visa number
/// still starts with 4 and card-type checks keep working).
struct CreditCard {
    mac: Keyed,
    keep: usize,
}

impl ValueTransform for CreditCard {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let n = value.iter().filter(|b| b.is_ascii_digit()).count();
        let mut s = KeyedStream::new(&self.mac, value);
        let mut body = Vec::with_capacity(n);
        let mut i = 0;
        for &b in value {
            if !b.is_ascii_digit() {
                out.push(b);
                continue;
            }
            let d = if i < self.keep.min(n.saturating_sub(1)) {
                b - b'0'
            } else if i + 1 == n && n >= 2 {
                luhn_check_digit(&body)
            } else {
                s.below(10) as u8
            };
            body.push(d);
            out.push(b'0' + d);
            i += 1;
        }
        Output::Value
    }
}

pub fn build_credit_card(spec: &Spec<'_>) -> Result<Built, String> {
    let keep = spec.int_param("keep_prefix", 0..=18)?.unwrap_or(1) as usize;
    Ok((Box::new(CreditCard { mac: spec.keyed("credit_card")?, keep }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// iban

/// `97 + 1 - (digits mod 97)`-style IBAN check digits for country `cc` and `bban` (ISO 13616:
/// move the country code and `00` to the end, letters count A=10 … Z=35, check = 98 - mod 97).
fn iban_check(cc: [u8; 2], bban: impl Iterator<Item = u8>) -> u8 {
    let mut m = 0u32;
    let mut feed = |b: u8| {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b.to_ascii_uppercase() - b'A') + 10 };
        m = if v >= 10 { (m * 100 + v) % 97 } else { (m * 10 + v) % 97 };
    };
    for b in bban.chain(cc).chain(*b"00") {
        feed(b);
    }
    (98 - m) as u8
}

/// An IBAN with the same country code, layout and length: BBAN digits stay digits and letters stay
/// letters (keyed), and the check digits are recomputed so mod-97 validation passes.
struct Iban {
    mac: Keyed,
}

impl ValueTransform for Iban {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let mut s = KeyedStream::new(&self.mac, value);
        let start = out.len();
        // Positions (in `value`) of the first five alphanumeric characters.
        let mut alnum = [0usize; 5];
        let mut found = 0;
        for (i, b) in value.iter().enumerate() {
            if b.is_ascii_alphanumeric() {
                alnum[found] = i;
                found += 1;
                if found == alnum.len() {
                    break;
                }
            }
        }
        let is_iban = found == 5
            && value[alnum[0]].is_ascii_alphabetic()
            && value[alnum[1]].is_ascii_alphabetic()
            && value[alnum[2]].is_ascii_digit()
            && value[alnum[3]].is_ascii_digit();
        for (i, &b) in value.iter().enumerate() {
            let keep = is_iban && (i == alnum[0] || i == alnum[1]);
            out.push(match b {
                _ if keep => b,
                b'0'..=b'9' => s.digit(),
                b'A'..=b'Z' => s.lower().to_ascii_uppercase(),
                b'a'..=b'z' => s.lower(),
                _ => b,
            });
        }
        if is_iban {
            // The BBAN: every alphanumeric character after the check digits (they keep their class).
            let bban = out[start + alnum[4]..].iter().copied().filter(u8::is_ascii_alphanumeric);
            let check = iban_check([value[alnum[0]], value[alnum[1]]], bban);
            out[start + alnum[2]] = b'0' + check / 10;
            out[start + alnum[3]] = b'0' + check % 10;
        }
        Output::Value
    }
}

pub fn build_iban(spec: &Spec<'_>) -> Result<Built, String> {
    Ok((Box::new(Iban { mac: spec.keyed("iban")? }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// pattern

/// Every ASCII letter and digit becomes a keyed one of its class (`A-Z`, `a-z`, `0-9`) at the
/// same position; everything else stays. With `unique = true` the letters and digits of a value
/// go through a keyed permutation ([`permute_digits`]) of all strings with the same shape (the
/// same classes at the same positions, the same other characters): a format-preserving cipher,
/// so distinct inputs always give distinct outputs.
struct Pattern {
    mac: Keyed,
    unique: bool,
}

fn class_of(b: u8) -> Option<(u8, u8)> {
    match b {
        b'0'..=b'9' => Some((b'0', 10)),
        b'A'..=b'Z' => Some((b'A', 26)),
        b'a'..=b'z' => Some((b'a', 26)),
        _ => None,
    }
}

impl ValueTransform for Pattern {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        if !self.unique {
            let mut s = KeyedStream::new(&self.mac, value);
            for &b in value {
                out.push(match class_of(b) {
                    Some((base, radix)) => base + s.below(u64::from(radix)) as u8,
                    None => b,
                });
            }
            return Output::Value;
        }
        // The shape: the value with each letter or digit replaced by its class marker. It tweaks
        // the permutation, so each shape has its own; the output has the same shape, so values
        // of different shapes cannot collide either.
        let shape: Vec<u8> = value
            .iter()
            .map(|&b| match class_of(b) {
                Some((b'0', _)) => 0,
                Some((b'A', _)) => 1,
                Some(_) => 2,
                None => b,
            })
            .collect();
        let tweak = self.mac.digest(&shape);
        let mut radices = Vec::with_capacity(value.len());
        let mut digits = Vec::with_capacity(value.len());
        for &b in value {
            if let Some((base, radix)) = class_of(b) {
                radices.push(radix);
                digits.push(b - base);
            }
        }
        permute_digits(&self.mac, &tweak, &radices, &mut digits);
        let mut next = digits.iter();
        for &b in value {
            out.push(match class_of(b) {
                Some((base, _)) => base + next.next().copied().unwrap_or(0),
                None => b,
            });
        }
        Output::Value
    }
}

pub fn build_pattern(spec: &Spec<'_>) -> Result<Built, String> {
    let unique = spec.bool_param("unique")?.unwrap_or(false);
    let mac = spec.keyed(if unique { "pattern/unique" } else { "pattern" })?;
    Ok((Box::new(Pattern { mac, unique }), if unique { Uniqueness::Preserves } else { Uniqueness::MayBreak }))
}

// ---------------------------------------------------------------------------------------------
// int

/// A keyed permutation of the integers of a type: `0..=max` onto itself and `min..=-1` onto
/// itself, each a Feistel network on 15, 31 or 63 bits ([`permute_bits`]; both halves have a
/// power-of-two size, so no cycle walking is needed). Signs stay, the range stays, and distinct
/// integers stay distinct: a primary key stays a primary key, and a foreign key with the same
/// rule still joins.
struct Int {
    mac: Keyed,
    kind: IntKind,
}

/// The permutation of `kind`'s integers (shared with tests).
fn permute_int(mac: &Keyed, kind: IntKind, v: i64) -> i64 {
    let bits = kind.bits();
    if v >= 0 {
        permute_bits(mac, b"+", bits, v as u128) as i64
    } else {
        // -1 ↦ 0, min ↦ max: a bijection of the negatives onto 0..2^bits.
        let x = (-(v + 1)) as u128;
        -(permute_bits(mac, b"-", bits, x) as i64) - 1
    }
}

impl ValueTransform for Int {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let parsed = std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|v| (self.kind.min()..=self.kind.max()).contains(v));
        let y = match parsed {
            Some(v) => permute_int(&self.mac, self.kind, v),
            // Not an integer of the type (only possible in a text column): a keyed one in range.
            None => {
                let d = self.mac.digest(value);
                let r = i64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
                r.rem_euclid(self.kind.max())
            }
        };
        out.extend_from_slice(y.to_string().as_bytes());
        Output::Value
    }
}

pub fn build_int(spec: &Spec<'_>) -> Result<Built, String> {
    let kind = match spec.str_param("type")? {
        Some(t) => {
            IntKind::parse(t).ok_or_else(|| format!("`type` must be smallint, integer or bigint, got \"{t}\""))?
        }
        None => match spec.column_type {
            None => IntKind::Big,
            Some(t) => IntKind::parse(&base_name(t))
                .or_else(|| {
                    // Text and unbounded numeric columns can hold any bigint.
                    let text = matches!(base_name(t).as_str(), "text" | "character varying" | "varchar")
                        && char_limit(Some(t)).is_none_or(|n| n >= 20);
                    let numeric = base_name(t) == "numeric" && modifiers(t).first().is_none_or(|&p| p >= 19);
                    ((text || numeric) && !is_array(t)).then_some(IntKind::Big)
                })
                .ok_or_else(|| format!("transform `int` needs an integer column, got `{t}`"))?,
        },
    };
    let label = match kind {
        IntKind::Small => "int/smallint",
        IntKind::Int => "int/integer",
        IntKind::Big => "int/bigint",
    };
    Ok((Box::new(Int { mac: spec.keyed(label)?, kind }), Uniqueness::Preserves))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::super::testing::*;
    use super::super::{Ctx, Uniqueness};
    use super::*;

    fn luhn_ok(digits: &str) -> bool {
        let d: Vec<u8> = digits.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
        let (body, check) = d.split_at(d.len() - 1);
        luhn_check_digit(body) == check[0]
    }

    fn iban_ok(iban: &str) -> bool {
        let a: Vec<u8> = iban.bytes().filter(u8::is_ascii_alphanumeric).collect();
        let moved: Vec<u8> = a[4..].iter().chain(&a[..4]).copied().collect();
        let mut m = 0u32;
        for b in moved {
            let v =
                if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b.to_ascii_uppercase() - b'A') + 10 };
            m = if v >= 10 { (m * 100 + v) % 97 } else { (m * 10 + v) % 97 };
        }
        m == 1
    }

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let cases = [
            ("credit_card", "", "4111 1111 1111 1111"),
            ("credit_card", "keep_prefix = 6", "5500-0000-0000-0004"),
            ("iban", "", "DE89 3704 0044 0532 0130 00"),
            ("iban", "", "GB82WEST12345698765432"),
            ("pattern", "", "AB-1234-cd"),
            ("pattern", "unique = true", "AB-1234-cd"),
            ("int", "", "42"),
            ("int", "", "-42"),
        ];
        let got: Vec<String> =
            cases.iter().map(|(n, p, v)| run(&build_with(n, p, None).unwrap(), v).unwrap()).collect();
        assert_eq!(
            got,
            [
                "4130 1967 1085 6627",
                "5500-0076-3049-2337",
                "DE94 9424 7111 3264 2595 09",
                "GB88WGFQ05491410841247",
                "WZ-5635-vc",
                "EP-1907-jl",
                "6431140506595468384",
                "-2813213639312536892",
            ]
        );
        let small = build_with("int", "", Some("smallint")).unwrap();
        assert_eq!(run(&small, "42").unwrap(), "8397");
    }

    #[test]
    fn luhn_matches_known_numbers() {
        assert!(luhn_ok("4111111111111111") && luhn_ok("79927398713") && !luhn_ok("4111111111111112"));
    }

    #[test]
    fn credit_cards_are_luhn_valid_and_keep_layout() {
        let t = build_with("credit_card", "keep_prefix = 6", None).unwrap();
        for i in 0..2000u64 {
            let v = format!("4000 12{:02} {:04} {:04}", i % 100, i, i * 7 % 10000);
            let c = run(&t, &v).unwrap();
            assert!(luhn_ok(&c), "{v} -> {c}");
            assert!(c.starts_with("4000 12") && c.len() == v.len() && c.as_bytes()[4] == b' ', "{c}");
        }
        let amex = run(&build_with("credit_card", "", None).unwrap(), "3782-822463-10005").unwrap();
        assert!(luhn_ok(&amex) && amex.starts_with('3') && amex.len() == 17, "{amex}");
        assert_eq!(run(&build_with("credit_card", "", None).unwrap(), "n/a").unwrap(), "n/a");
    }

    #[test]
    fn ibans_pass_mod_97() {
        let t = build_with("iban", "", None).unwrap();
        for v in [
            "DE89 3704 0044 0532 0130 00",
            "GB82WEST12345698765432",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
        ] {
            for salt in 0..200 {
                let input = format!("{}{}", &v[..v.len() - 1], salt % 10);
                let out = run(&t, &input).unwrap();
                assert!(iban_ok(&out), "{v} -> {out}");
                assert_eq!(&out[..2], &v[..2]);
                for (a, b) in out.bytes().zip(input.bytes()) {
                    assert_eq!(a.is_ascii_digit(), b.is_ascii_digit(), "{v} -> {out}");
                    assert_eq!(a.is_ascii_uppercase(), b.is_ascii_uppercase(), "{v} -> {out}");
                }
            }
        }
    }

    #[test]
    fn pattern_keeps_classes() {
        let t = build_with("pattern", "", None).unwrap();
        assert_eq!(t.uniqueness(), Uniqueness::MayBreak);
        let p = run(&t, "AB-1234-cd/ä").unwrap();
        assert_eq!(p.len(), "AB-1234-cd/ä".len());
        assert!(p[..2].bytes().all(|b| b.is_ascii_uppercase()) && p[3..7].bytes().all(|b| b.is_ascii_digit()), "{p}");
        assert!(p[8..10].bytes().all(|b| b.is_ascii_lowercase()) && p.ends_with("/ä"), "{p}");
        assert_eq!(build_with("pattern", "unique = true", None).unwrap().uniqueness(), Uniqueness::Preserves);
    }

    #[test]
    fn pattern_unique_is_injective_on_a_million_values() {
        // 26 · 26 · 10^4 = 6,760,000 values of shape `AA-9999`; the first 1,000,000 of them.
        let t = build_with("pattern", "unique = true", None).unwrap();
        let mut seen = HashSet::with_capacity(1_000_000);
        let mut out = Vec::new();
        for i in 0..1_000_000u32 {
            let v = format!(
                "{}{}-{:04}",
                (b'A' + (i / 260_000) as u8) as char,
                (b'A' + (i / 10_000 % 26) as u8) as char,
                i % 10_000
            );
            out.clear();
            t.apply(v.as_bytes(), &Ctx::default(), &mut out);
            assert!(
                seen.insert(u64::from_le_bytes({
                    let mut b = [0u8; 8];
                    b[..7].copy_from_slice(&out);
                    b
                })),
                "collision at {v}"
            );
        }
    }

    #[test]
    fn int_is_a_permutation_of_smallint() {
        let t = build_with("int", "", Some("smallint")).unwrap();
        let mut seen = HashSet::new();
        for v in i16::MIN..=i16::MAX {
            let y: i16 = run(&t, &v.to_string()).unwrap().parse().expect("in smallint range");
            assert_eq!(y < 0, v < 0, "{v} -> {y}");
            assert!(seen.insert(y));
        }
        assert_eq!(seen.len(), 65536);
    }

    #[test]
    fn int_is_injective_on_a_million_values() {
        let kind = IntKind::Int;
        let mac = key().keyed("int/integer");
        let mut seen = HashSet::with_capacity(1_000_000);
        for v in -500_000..500_000i64 {
            let y = permute_int(&mac, kind, v);
            assert!((kind.min()..=kind.max()).contains(&y) && (y < 0) == (v < 0));
            assert!(seen.insert(y), "collision at {v}");
        }
        let t = build_with("int", "", Some("integer")).unwrap();
        assert_eq!(run(&t, "123").unwrap(), permute_int(&mac, kind, 123).to_string());
    }

    #[test]
    fn int_checks_the_type_and_stays_in_range() {
        assert!(build_with("int", "", Some("date")).unwrap_err().contains("integer column"));
        assert!(build_with("int", "", Some("character varying(5)")).is_err());
        assert!(build_with("int", "type = \"tinyint\"", None).is_err());
        let t = build_with("int", "type = \"bigint\"", Some("text")).unwrap();
        for v in [i64::MIN, -1, 0, 1, i64::MAX] {
            let y: i64 = run(&t, &v.to_string()).unwrap().parse().unwrap();
            assert_eq!(y < 0, v < 0);
        }
        let y: i64 = run(&t, "not a number").unwrap().parse().unwrap();
        assert!(y >= 0);
    }

    proptest! {
        #[test]
        fn any_bytes_are_handled_deterministically(v in proptest::collection::vec(any::<u8>(), 0..80)) {
            for (name, params) in [
                ("credit_card", "keep_prefix = 4"), ("iban", ""), ("pattern", ""), ("pattern", "unique = true"),
                ("int", ""),
            ] {
                let t = build_with(name, params, None).unwrap();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                t.apply(&v, &Ctx::default(), &mut a);
                t.apply(&v, &Ctx::default(), &mut b);
                prop_assert_eq!(&a, &b);
            }
        }

        #[test]
        fn int_stays_in_range_and_sign(v in any::<i32>()) {
            let t = build_with("int", "", Some("integer")).unwrap();
            let y: i32 = run(&t, &v.to_string()).unwrap().parse().unwrap();
            prop_assert_eq!(y < 0, v < 0);
        }
    }
}
