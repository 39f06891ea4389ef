//! Contact data: `phone`, `address`, `street`, `city`, `postcode`, `country`, `company`,
//! `username`, `url`, `ipv4`, `ipv6` and `mac`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::column::{char_limit, fit_chars, push_token};
use super::encode::push_uint;
use super::fpe::{permute_below, permute_bits};
use super::rng::KeyedStream;
use super::text::push_segment;
use super::words::{
    CITY_DE, CITY_EN, CITY_FR, COMPANY_SUFFIX, COMPANY_TRADES, COMPANY_WORDS, COUNTRIES, FIRST_EN, LAST_EN, LOREM,
    STREET_DE, STREET_DE_SUFFIX, STREET_EN, STREET_EN_SUFFIX, STREET_FR, STREET_FR_PREFIX,
};
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

// ---------------------------------------------------------------------------------------------
// phone

/// Digits of the E.164 country calling code that starts with `d1 d2` (ITU-T E.164 assignments:
/// `1` and `7` are one digit, a fixed set of two-digit codes, every other code three digits).
fn country_code_len(d1: u8, d2: u8) -> usize {
    match (d1, d2) {
        (1 | 7, _) => 1,
        (2, 0 | 7)
        | (3, 0..=4 | 6 | 9)
        | (4, 0 | 1 | 3..=9)
        | (5, 1..=8)
        | (6, 0..=6)
        | (8, 1 | 2 | 4 | 6)
        | (9, 0..=5 | 8) => 2,
        _ => 3,
    }
}

/// Rewrites the digits of a phone number, keeping everything else: the international prefix
/// (`+` or `00`) with the country code, a national trunk `0`, separators, spaces, parentheses and
/// the number of digits.
struct Phone {
    mac: Keyed,
}

impl ValueTransform for Phone {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        // The number of digits, and the first few (all the prefix rules below look at).
        let mut leading = [0u8; 8];
        let mut count = 0;
        for b in value.iter().filter(|b| b.is_ascii_digit()) {
            if let Some(slot) = leading.get_mut(count) {
                *slot = b - b'0';
            }
            count += 1;
        }
        let first = value.iter().position(|b| !b.is_ascii_whitespace() && *b != b'(');
        let plus = first.is_some_and(|i| value[i] == b'+');
        let d = |i: usize| if i < count { leading.get(i).copied().unwrap_or(0) } else { 0 };
        // Leading digits that stay: `+CC`, `00CC`, or a national trunk `0`.
        let mut keep = if plus {
            country_code_len(d(0), d(1))
        } else if count > 2 && d(0) == 0 && d(1) == 0 {
            2 + country_code_len(d(2), d(3))
        } else {
            usize::from(d(0) == 0)
        };
        // `+49 (0)30 ...`: a trunk zero written after the country code stays too.
        if keep > 0 && keep < count && d(keep) == 0 {
            keep += 1;
        }
        let keep = keep.min(count);
        let mut s = KeyedStream::new(&self.mac, value);
        let mut i = 0;
        for &b in value {
            if b.is_ascii_digit() {
                out.push(match i {
                    _ if i < keep => b,
                    // The first rewritten digit is never 0 (that would read as a trunk prefix).
                    _ if i == keep => b'1' + s.below(9) as u8,
                    _ => s.digit(),
                });
                i += 1;
            } else {
                out.push(b);
            }
        }
        Output::Value
    }
}

pub fn build_phone(spec: &Spec<'_>) -> Result<Built, String> {
    Ok((Box::new(Phone { mac: spec.keyed("phone")? }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// address, street, city, postcode, country, company, username

#[derive(Clone, Copy, PartialEq)]
enum Loc {
    En,
    Fr,
    De,
}

fn loc(spec: &Spec<'_>) -> Result<Loc, String> {
    match spec.str_param("locale")?.unwrap_or("en") {
        "en" => Ok(Loc::En),
        "fr" => Ok(Loc::Fr),
        "de" => Ok(Loc::De),
        other => Err(format!("`locale` must be \"en\", \"fr\" or \"de\", got \"{other}\"")),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Address,
    Street,
    City,
    Postcode,
    Country,
    Company,
    Username,
}

/// The transforms that draw a fresh value from word lists (or, for `postcode`, from the input's
/// shape), keyed by the input value.
struct Generated {
    mac: Keyed,
    kind: Kind,
    loc: Loc,
    limit: Option<usize>,
}

fn push_street(s: &mut KeyedStream<'_>, loc: Loc, out: &mut Vec<u8>) {
    match loc {
        Loc::En => {
            out.extend_from_slice(s.pick(STREET_EN).as_bytes());
            out.push(b' ');
            out.extend_from_slice(s.pick(STREET_EN_SUFFIX).as_bytes());
        }
        Loc::De => {
            out.extend_from_slice(s.pick(STREET_DE).as_bytes());
            out.extend_from_slice(s.pick(STREET_DE_SUFFIX).as_bytes());
        }
        Loc::Fr => {
            out.extend_from_slice(s.pick(STREET_FR_PREFIX).as_bytes());
            out.push(b' ');
            out.extend_from_slice(s.pick(STREET_FR).as_bytes());
        }
    }
}

/// Every ASCII letter and digit replaced by a keyed one of the same class (digits stay digits,
/// upper-case letters upper-case, lower-case lower-case); everything else stays.
fn push_same_shape(s: &mut KeyedStream<'_>, value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        out.push(match b {
            b'0'..=b'9' => s.digit(),
            b'A'..=b'Z' => s.lower().to_ascii_uppercase(),
            b'a'..=b'z' => s.lower(),
            _ => b,
        });
    }
}

impl ValueTransform for Generated {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let start = out.len();
        let mut s = KeyedStream::new(&self.mac, value);
        match self.kind {
            Kind::Address => match self.loc {
                Loc::En => {
                    push_uint(u128::from(1 + s.below(9999)), 1, out);
                    out.push(b' ');
                    push_street(&mut s, self.loc, out);
                }
                Loc::De => {
                    push_street(&mut s, self.loc, out);
                    out.push(b' ');
                    push_uint(u128::from(1 + s.below(199)), 1, out);
                }
                Loc::Fr => {
                    push_uint(u128::from(1 + s.below(199)), 1, out);
                    out.push(b' ');
                    push_street(&mut s, self.loc, out);
                }
            },
            Kind::Street => push_street(&mut s, self.loc, out),
            Kind::City => {
                let list = match self.loc {
                    Loc::En => CITY_EN,
                    Loc::Fr => CITY_FR,
                    Loc::De => CITY_DE,
                };
                out.extend_from_slice(s.pick(list).as_bytes());
            }
            Kind::Postcode => push_same_shape(&mut s, value, out),
            Kind::Country => {
                let (a2, a3, name) = s.pick(COUNTRIES);
                let letters = value.iter().all(u8::is_ascii_alphabetic);
                let code = match value.len() {
                    2 if letters => a2,
                    3 if letters => a3,
                    _ => name,
                };
                if code != name && value.iter().all(u8::is_ascii_lowercase) {
                    out.extend(code.bytes().map(|b| b.to_ascii_lowercase()));
                } else {
                    out.extend_from_slice(code.as_bytes());
                }
            }
            Kind::Company => {
                if s.below(4) == 0 {
                    out.extend_from_slice(s.pick(LAST_EN).as_bytes());
                    out.extend_from_slice(b" & ");
                    out.extend_from_slice(s.pick(LAST_EN).as_bytes());
                } else {
                    out.extend_from_slice(s.pick(COMPANY_WORDS).as_bytes());
                    out.push(b' ');
                    out.extend_from_slice(s.pick(COMPANY_TRADES).as_bytes());
                }
                out.push(b' ');
                out.extend_from_slice(s.pick(COMPANY_SUFFIX).as_bytes());
            }
            Kind::Username => {
                if s.below(2) == 0 {
                    out.extend(s.pick(FIRST_EN).bytes().map(|b| b.to_ascii_lowercase()));
                } else {
                    out.extend_from_slice(s.pick(LOREM).as_bytes());
                }
                let digits = 2 + s.below(3);
                for _ in 0..digits {
                    out.push(s.digit());
                }
            }
        }
        fit_chars(out, start, self.limit);
        Output::Value
    }
}

fn build_generated(spec: &Spec<'_>, kind: Kind, label: &str, localized: bool) -> Result<Built, String> {
    let loc = if localized { loc(spec)? } else { Loc::En };
    let label = match loc {
        Loc::En => label.to_string(),
        Loc::Fr => format!("{label}/fr"),
        Loc::De => format!("{label}/de"),
    };
    let imp = Generated { mac: spec.keyed(&label)?, kind, loc, limit: char_limit(spec.column_type) };
    Ok((Box::new(imp), Uniqueness::MayBreak))
}

pub fn build_address(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::Address, "address", true)
}

pub fn build_street(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::Street, "street", true)
}

pub fn build_city(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::City, "city", true)
}

pub fn build_postcode(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::Postcode, "postcode", false)
}

pub fn build_country(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::Country, "country", false)
}

pub fn build_company(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::Company, "company", false)
}

pub fn build_username(spec: &Spec<'_>) -> Result<Built, String> {
    build_generated(spec, Kind::Username, "username", false)
}

// ---------------------------------------------------------------------------------------------
// url

/// `scheme://user@host:port/path?query#fragment`: the scheme and port stay, the host stays (or
/// becomes a keyed token keeping its top-level domain with `keep_host = false`), user info, every
/// path segment, every query value and the fragment become keyed tokens; query keys stay.
struct Url {
    mac: Keyed,
    keep_host: bool,
    limit: Option<usize>,
}

fn is_scheme(s: &[u8]) -> bool {
    !s.is_empty()
        && s[0].is_ascii_alphabetic()
        && s.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

impl Url {
    fn token(&self, part: u8, v: &[u8], out: &mut Vec<u8>) {
        push_token(&super::rng::digest_concat(&self.mac, &[&[part], v]), out);
    }

    fn push_host(&self, host: &[u8], out: &mut Vec<u8>) {
        if self.keep_host || host.is_empty() {
            out.extend_from_slice(host);
            return;
        }
        let lower: Vec<u8> = host.to_ascii_lowercase();
        self.token(b'h', &lower, out);
        out.push(b'.');
        match memchr::memrchr(b'.', &lower).map(|p| &lower[p + 1..]) {
            Some(t) if (2..=24).contains(&t.len()) && t.iter().all(u8::is_ascii_alphabetic) => out.extend_from_slice(t),
            _ => out.extend_from_slice(b"invalid"),
        }
    }
}

impl ValueTransform for Url {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let start = out.len();
        let mut rest = value;
        // Scheme and authority.
        let has_authority = match memchr::memmem::find(rest, b"://") {
            Some(p) if is_scheme(&rest[..p]) => {
                out.extend_from_slice(&rest[..p + 3]);
                rest = &rest[p + 3..];
                true
            }
            _ => !rest.starts_with(b"/"),
        };
        if has_authority {
            let end = rest.iter().position(|b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(rest.len());
            let authority = &rest[..end];
            rest = &rest[end..];
            let hostport = match memchr::memrchr(b'@', authority) {
                Some(at) => {
                    self.token(b'u', &authority[..at], out);
                    out.push(b'@');
                    &authority[at + 1..]
                }
                None => authority,
            };
            let port_at = if hostport.starts_with(b"[") {
                memchr::memchr(b']', hostport).map(|p| p + 1).filter(|&p| hostport.get(p) == Some(&b':'))
            } else {
                memchr::memrchr(b':', hostport).filter(|&p| hostport[p + 1..].iter().all(u8::is_ascii_digit))
            };
            let (host, port) = hostport.split_at(port_at.unwrap_or(hostport.len()));
            self.push_host(host, out);
            out.extend_from_slice(port);
        }
        // Path.
        let path_end = rest.iter().position(|b| matches!(b, b'?' | b'#')).unwrap_or(rest.len());
        for (i, seg) in rest[..path_end].split(|&b| b == b'/').enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            push_segment(&self.mac, seg, out);
        }
        rest = &rest[path_end..];
        // Query: keys stay, values (and bare items) become tokens.
        if let Some(q) = rest.strip_prefix(b"?") {
            out.push(b'?');
            let end = memchr::memchr(b'#', q).unwrap_or(q.len());
            for (i, item) in q[..end].split(|&b| b == b'&').enumerate() {
                if i > 0 {
                    out.push(b'&');
                }
                match memchr::memchr(b'=', item) {
                    Some(eq) => {
                        out.extend_from_slice(&item[..=eq]);
                        if eq + 1 < item.len() {
                            self.token(b'q', &item[eq + 1..], out);
                        }
                    }
                    None if item.is_empty() => {}
                    None => self.token(b'q', item, out),
                }
            }
            rest = &q[end..];
        }
        // Fragment.
        if let Some(f) = rest.strip_prefix(b"#") {
            out.push(b'#');
            if !f.is_empty() {
                self.token(b'f', f, out);
            }
        }
        fit_chars(out, start, self.limit);
        Output::Value
    }
}

pub fn build_url(spec: &Spec<'_>) -> Result<Built, String> {
    let limit = char_limit(spec.column_type);
    let imp = Url { mac: spec.keyed("url")?, keep_host: spec.bool_param("keep_host")?.unwrap_or(true), limit };
    // Every part either stays or becomes an 80-bit keyed token of itself, delimiters stay: distinct
    // URLs stay distinct with overwhelming probability, unless the column's length limit cuts them.
    let uniqueness = if limit.is_some() { Uniqueness::MayBreak } else { Uniqueness::Preserves };
    Ok((Box::new(imp), uniqueness))
}

// ---------------------------------------------------------------------------------------------
// ipv4, ipv6

fn shl(x: u128, n: u32) -> u128 {
    if n >= 128 { 0 } else { x << n }
}

fn shr(x: u128, n: u32) -> u128 {
    if n >= 128 { 0 } else { x >> n }
}

fn low_mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1 << bits) - 1 }
}

/// A keyed permutation of the addresses of one family with one netmask length that keeps the
/// first `keep` bits, and keeps "host part all zero" (so a `cidr` value stays valid):
///
/// - network bits after the kept prefix: [`permute_bits`], tweaked by family, `keep`, `masklen`
///   and the kept prefix;
/// - host bits (after the netmask and the kept prefix): zero stays zero, a non-zero host part
///   goes through a permutation of `1..2^h` ([`permute_below`], cycle walking), tweaked also by
///   the original network bits.
///
/// Each part is permuted bijectively given the parts before it, which stay as they are or are
/// themselves permuted, so the whole map is injective.
fn permute_addr(mac: &Keyed, width: u32, keep: u32, masklen: u32, addr: u128) -> u128 {
    let keep = keep.min(width);
    let net_end = keep.max(masklen.min(width));
    let net_bits = net_end - keep;
    let host_bits = width - net_end;
    let kept = shr(addr, width - keep);
    let net = shr(addr, host_bits) & low_mask(net_bits);
    let host = addr & low_mask(host_bits);
    let mut tweak = [0u8; 36];
    tweak[0] = width as u8;
    tweak[1] = keep as u8;
    tweak[2] = masklen as u8;
    tweak[4..20].copy_from_slice(&kept.to_le_bytes());
    let net2 = permute_bits(mac, &tweak[..20], net_bits, net);
    let host2 = if host == 0 {
        0
    } else {
        tweak[3] = b'h';
        tweak[20..36].copy_from_slice(&net.to_le_bytes());
        1 + permute_below(mac, &tweak, low_mask(host_bits), host - 1)
    };
    shl(kept, width - keep) | shl(net2, host_bits) | host2
}

struct Ip {
    mac: Keyed,
    v6: bool,
    keep: u32,
}

impl ValueTransform for Ip {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let text = std::str::from_utf8(value).unwrap_or("").trim();
        let (addr, mask) = match text.split_once('/') {
            Some((a, m)) => (a, m.parse::<u32>().ok()),
            None => (text, None),
        };
        let parsed_mask_ok = !text.contains('/') || mask.is_some();
        if let (Ok(a), true) = (addr.parse::<Ipv4Addr>(), parsed_mask_ok && mask.is_none_or(|m| m <= 32)) {
            let x = permute_addr(&self.mac, 32, self.keep, mask.unwrap_or(32), u128::from(u32::from(a)));
            out.extend_from_slice(Ipv4Addr::from(x as u32).to_string().as_bytes());
        } else if let (Ok(a), true) = (addr.parse::<Ipv6Addr>(), parsed_mask_ok && mask.is_none_or(|m| m <= 128)) {
            let x = permute_addr(&self.mac, 128, self.keep, mask.unwrap_or(128), u128::from(a));
            out.extend_from_slice(Ipv6Addr::from(x).to_string().as_bytes());
        } else {
            // Not an address (only possible in a text column): a keyed one of the transform's family.
            let d = self.mac.digest(value);
            if self.v6 {
                let a: [u8; 16] = d[..16].try_into().expect("16 bytes");
                out.extend_from_slice(Ipv6Addr::from(a).to_string().as_bytes());
            } else {
                out.extend_from_slice(Ipv4Addr::new(d[0], d[1], d[2], d[3]).to_string().as_bytes());
            }
            return Output::Value;
        }
        if let Some(m) = mask {
            out.push(b'/');
            push_uint(u128::from(m), 1, out);
        }
        Output::Value
    }
}

fn build_ip(spec: &Spec<'_>, v6: bool) -> Result<Built, String> {
    let keep = spec.int_param("keep_prefix", 0..=if v6 { 128 } else { 32 })?.unwrap_or(0) as u32;
    // A keyed permutation of each (family, netmask, kept prefix) class: distinct addresses stay
    // distinct (for values that are addresses, as in `inet` and `cidr` columns).
    Ok((Box::new(Ip { mac: spec.keyed("ip")?, v6, keep }), Uniqueness::Preserves))
}

pub fn build_ipv4(spec: &Spec<'_>) -> Result<Built, String> {
    build_ip(spec, false)
}

pub fn build_ipv6(spec: &Spec<'_>) -> Result<Built, String> {
    build_ip(spec, true)
}

// ---------------------------------------------------------------------------------------------
// mac

/// Rewrites the hex digits of a MAC address (any layout: `08:00:2b:01:02:03`, `08-00-2b-...`,
/// `0800.2b01.0203`, `08002b010203`, EUI-64), keeping every other character and the letter case,
/// through a keyed permutation of the address bits; `keep_oui` keeps the first 3 bytes.
struct Mac {
    mac: Keyed,
    keep_oui: bool,
}

impl ValueTransform for Mac {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let nibbles = value.iter().filter(|b| b.is_ascii_hexdigit()).count();
        let upper = value.iter().any(u8::is_ascii_uppercase);
        let hex: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let keep = if self.keep_oui { 6.min(nibbles) } else { 0 };
        if nibbles <= 32 {
            let x = value.iter().filter_map(|b| (*b as char).to_digit(16)).fold(0u128, |x, d| (x << 4) | u128::from(d));
            let width = 4 * nibbles as u32;
            let y = permute_addr(&self.mac, width, 4 * keep as u32, width, x);
            let mut i = 0;
            for &b in value {
                if b.is_ascii_hexdigit() {
                    i += 1;
                    out.push(hex[(shr(y, 4 * (nibbles - i) as u32) & 15) as usize]);
                } else {
                    out.push(b);
                }
            }
        } else {
            let mut s = KeyedStream::new(&self.mac, value);
            let mut i = 0;
            for &b in value {
                if b.is_ascii_hexdigit() && i >= keep {
                    out.push(hex[s.below(16) as usize]);
                } else {
                    out.push(b);
                }
                i += usize::from(b.is_ascii_hexdigit());
            }
        }
        Output::Value
    }
}

pub fn build_mac(spec: &Spec<'_>) -> Result<Built, String> {
    let keep_oui = spec.bool_param("keep_oui")?.unwrap_or(false);
    // A keyed permutation of the address bits (for addresses of up to 128 bits).
    Ok((Box::new(Mac { mac: spec.keyed("mac")?, keep_oui }), Uniqueness::Preserves))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::super::testing::*;
    use super::super::{Ctx, Uniqueness};

    fn shape(s: &str) -> String {
        s.chars().map(|c| if c.is_ascii_digit() { '9' } else { c }).collect()
    }

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let cases = [
            ("phone", "", "+49 (0)30 1234-5678"),
            ("address", "", "742 Evergreen Terrace"),
            ("address", "locale = \"de\"", "Lindenstraße 12"),
            ("address", "locale = \"fr\"", "12 rue des Lilas"),
            ("street", "", "Evergreen Terrace"),
            ("city", "locale = \"de\"", "Köln"),
            ("postcode", "", "SW1A 1AA"),
            ("country", "", "DE"),
            ("country", "", "Germany"),
            ("company", "", "ACME Corp."),
            ("username", "", "alice"),
            ("url", "", "https://conf.de/ilove/pgday.html?user=alice&x=1#top"),
            ("url", "keep_host = false", "https://conf.de/ilove/pgday.html"),
            ("ipv4", "", "192.168.1.17"),
            ("ipv4", "keep_prefix = 16", "10.1.2.0/24"),
            ("ipv6", "", "2001:db8::1"),
            ("mac", "", "08:00:2b:01:02:03"),
            ("mac", "keep_oui = true", "08-00-2B-01-02-03"),
        ];
        let got: Vec<String> =
            cases.iter().map(|(n, p, v)| run(&build_with(n, p, None).unwrap(), v).unwrap()).collect();
        assert_eq!(
            got,
            [
                "+49 (0)12 0963-6392",
                "7286 Poplar Place",
                "Gartensteig 160",
                "9 avenue Georges Clemenceau",
                "Adams Court",
                "Moers",
                "GR9A 0PQ",
                "MT",
                "Poland",
                "Alpen Consulting Corp.",
                "pellentesque986",
                "https://conf.de/e222zee3q25acgsl/sbo7stoupotnlvtj.html?user=aj3ac5y4sx5juw67&x=bbrchzjs3t6mid6d#dwb5yg7wu45sbbyy",
                "https://ij7zpt46hghjq723.de/e222zee3q25acgsl/sbo7stoupotnlvtj.html",
                "236.119.1.142",
                "10.1.163.0/24",
                "a4e8:d4e0:1c39:e245:113a:fa19:59ef:ceb9",
                "99:f3:0e:4b:4c:11",
                "08-00-2B-A0-1A-9C",
            ]
        );
    }

    #[test]
    fn phones_keep_their_layout() {
        let t = build_with("phone", "", None).unwrap();
        for (v, kept) in [
            ("+49 (0)30 1234-5678", "+49 (0)"),
            ("+1 (555) 123-4567", "+1 ("),
            ("0049 30 12345678", "0049 "),
            ("030/1234567", "0"),
            ("+33 6 12 34 56 78", "+33 "),
            ("+353 1 234 5678", "+353 "),
            ("555-0100 ext. 12", ""),
        ] {
            let p = run(&t, v).unwrap();
            assert_eq!(shape(&p), shape(v), "{v} -> {p}");
            assert!(p.starts_with(kept), "{v} -> {p}");
            assert_ne!(p, v);
            assert_ne!(p.as_bytes()[kept.len()], b'0', "{v} -> {p}");
        }
        assert_eq!(run(&t, "").unwrap(), "");
        assert_eq!(run(&t, "n/a").unwrap(), "n/a");
    }

    #[test]
    fn generated_values_look_right() {
        let pc = build_with("postcode", "", None).unwrap();
        for v in ["10115", "SW1A 1AA", "1012 AB", "75008"] {
            let p = run(&pc, v).unwrap();
            assert_eq!(p.len(), v.len());
            for (a, b) in p.bytes().zip(v.bytes()) {
                assert!(
                    (a.is_ascii_digit() && b.is_ascii_digit())
                        || (a.is_ascii_uppercase() && b.is_ascii_uppercase())
                        || a == b,
                    "{v} -> {p}"
                );
            }
        }
        let c = build_with("country", "", None).unwrap();
        assert_eq!(run(&c, "DE").unwrap().len(), 2);
        assert_eq!(run(&c, "deu").unwrap().len(), 3);
        assert!(run(&c, "deu").unwrap().bytes().all(|b| b.is_ascii_lowercase()));
        let u = build_with("username", "", Some("varchar(8)")).unwrap();
        for v in ["alice", "bob", "carol", "x"] {
            let n = run(&u, v).unwrap();
            assert!(n.len() <= 8 && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{n}");
        }
        assert!(build_with("city", "locale = \"it\"", None).is_err());
    }

    #[test]
    fn urls_keep_their_structure() {
        let t = build_with("url", "", None).unwrap();
        assert_eq!(t.uniqueness(), Uniqueness::Preserves);
        let u = run(&t, "https://bob:secret@conf.de:8443/ilove/pgday.html?user=alice&empty=&x=1#top").unwrap();
        assert!(u.starts_with("https://") && u.contains("@conf.de:8443/"), "{u}");
        assert!(!u.contains("bob") && !u.contains("secret") && !u.contains("alice") && !u.contains("top"), "{u}");
        assert!(u.contains(".html?user=") && u.contains("&empty=&x="), "{u}");
        let hidden = run(&build_with("url", "keep_host = false", None).unwrap(), "http://www.conf.de/").unwrap();
        assert!(hidden.starts_with("http://") && hidden.ends_with(".de/") && !hidden.contains("conf"), "{hidden}");
        assert_eq!(run(&t, "/a/b").unwrap().matches('/').count(), 2);
        assert!(run(&t, "http://[::1]:8080/x").unwrap().starts_with("http://[::1]:8080/"));
    }

    #[test]
    fn ip_addresses_stay_valid_and_keep_prefixes() {
        let t = build_with("ipv4", "keep_prefix = 16", None).unwrap();
        assert_eq!(t.uniqueness(), Uniqueness::Preserves);
        let a: std::net::Ipv4Addr = run(&t, "192.168.7.9").unwrap().parse().unwrap();
        assert_eq!(a.octets()[..2], [192, 168]);
        // cidr: the host part stays zero; the netmask stays.
        let c = run(&t, "10.1.0.0/16").unwrap();
        assert!(c.starts_with("10.1.") && c.ends_with(".0.0/16") || c == "10.1.0.0/16", "{c}");
        let n = run(&build_with("ipv4", "", None).unwrap(), "10.20.0.0/16").unwrap();
        let (net, len) = n.split_once('/').unwrap();
        assert_eq!(len, "16");
        assert_eq!(u32::from(net.parse::<std::net::Ipv4Addr>().unwrap()) & 0xffff, 0, "{n}");
        let v6 = run(&build_with("ipv6", "keep_prefix = 32", None).unwrap(), "2001:db8::1").unwrap();
        assert!(v6.parse::<std::net::Ipv6Addr>().unwrap().segments()[..2] == [0x2001, 0xdb8], "{v6}");
        assert!(run(&build_with("ipv6", "", None).unwrap(), "garbage").unwrap().parse::<std::net::Ipv6Addr>().is_ok());
        assert!(build_with("ipv4", "keep_prefix = 33", None).is_err());
    }

    #[test]
    fn ipv4_is_injective_on_a_slash_16() {
        let t = build_with("ipv4", "keep_prefix = 8", None).unwrap();
        let mut seen = HashSet::new();
        for i in 0..65536u32 {
            let a = std::net::Ipv4Addr::from(0x0a00_0000 | i);
            assert!(seen.insert(run(&t, &a.to_string()).unwrap()));
        }
    }

    #[test]
    fn macs_keep_layout() {
        let t = build_with("mac", "keep_oui = true", None).unwrap();
        for v in ["08:00:2b:01:02:03", "08-00-2B-01-02-03", "0800.2b01.0203", "08002b010203", "08:00:2b:01:02:03:04:05"]
        {
            let m = run(&t, v).unwrap();
            assert_eq!(m.len(), v.len());
            assert!(m.to_ascii_lowercase().replace(['-', '.', ':'], "").starts_with("08002b"), "{v} -> {m}");
            assert_ne!(m, v);
        }
        let mut seen = HashSet::new();
        let all = build_with("mac", "", None).unwrap();
        for i in 0..20000u32 {
            assert!(seen.insert(run(&all, &format!("00:00:00:00:{:02x}:{:02x}", i >> 8, i & 255)).unwrap()));
        }
    }

    proptest! {
        #[test]
        fn any_bytes_are_handled_deterministically(v in proptest::collection::vec(any::<u8>(), 0..80)) {
            for (name, params) in [
                ("phone", ""), ("address", "locale = \"fr\""), ("street", ""), ("city", ""), ("postcode", ""),
                ("country", ""), ("company", ""), ("username", ""), ("url", "keep_host = false"), ("ipv4", ""),
                ("ipv6", "keep_prefix = 64"), ("mac", "keep_oui = true"),
            ] {
                let t = build_with(name, params, None).unwrap();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                t.apply(&v, &Ctx::default(), &mut a);
                t.apply(&v, &Ctx::default(), &mut b);
                prop_assert_eq!(&a, &b);
            }
        }

        #[test]
        fn ip_text_round_trips(a in any::<u32>(), m in 0u32..=32, b in any::<u128>()) {
            let t = build_with("ipv4", "", None).unwrap();
            let text = format!("{}/{m}", std::net::Ipv4Addr::from(a & !(u32::MAX.checked_shr(m).unwrap_or(0))));
            let out = run(&t, &text).unwrap();
            let (net, len) = out.split_once('/').unwrap();
            prop_assert_eq!(len.parse::<u32>().unwrap(), m);
            let net = u32::from(net.parse::<std::net::Ipv4Addr>().unwrap());
            prop_assert_eq!(net & u32::MAX.checked_shr(m).unwrap_or(0), 0, "cidr host bits stay zero: {}", out);
            let v6 = run(&build_with("ipv6", "", None).unwrap(), &std::net::Ipv6Addr::from(b).to_string()).unwrap();
            prop_assert!(v6.parse::<std::net::Ipv6Addr>().is_ok());
        }
    }
}
