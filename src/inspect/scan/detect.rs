//! Value detectors: does a value look like an e-mail address, a phone number, an IBAN, a card
//! number, an IP address, a national identifier, a secret, and does a longer text contain one?
//!
//! Every detector works on the decoded bytes of one value, allocates nothing, and prefers
//! checksums and exact shapes to loose patterns: a column is judged by the share of its values
//! that match, so a detector must be rare on data that is not what it looks for.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// What one detector recognises. The discriminant indexes the per-column counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Det {
    Email,
    Phone,
    Iban,
    Card,
    Ip,
    Mac,
    /// US social security number `123-45-6789`.
    Ssn,
    /// UK national insurance number `QQ 12 34 56 C`.
    Nino,
    /// French INSEE/NIR (numéro de sécurité sociale), 13 digits and a mod-97 key.
    Nir,
    /// German Steuer-Identifikationsnummer, 11 digits with an ISO 7064 check digit.
    SteuerId,
    /// Dutch burgerservicenummer, 9 digits passing the 11-test.
    Bsn,
    /// A JSON web token `eyJ...`.
    Jwt,
    /// A vendor API key with a known prefix (`sk_live_`, `ghp_`, `AKIA`, ...).
    ApiKey,
    /// A password hash in crypt/PHC form (`$2b$`, `$argon2id$`, `pbkdf2_sha256$`, ...).
    PasswordHash,
    /// A long hexadecimal string (a digest, a token).
    HexToken,
    /// A long high-entropy base64 or base64url string.
    B64Token,
    /// A person's name from the embedded name dictionaries.
    PersonName,
    /// A name from the user's `--names` list.
    ListedName,
}

impl Det {
    pub const ALL: [Det; 18] = [
        Det::Email,
        Det::Phone,
        Det::Iban,
        Det::Card,
        Det::Ip,
        Det::Mac,
        Det::Ssn,
        Det::Nino,
        Det::Nir,
        Det::SteuerId,
        Det::Bsn,
        Det::Jwt,
        Det::ApiKey,
        Det::PasswordHash,
        Det::HexToken,
        Det::B64Token,
        Det::PersonName,
        Det::ListedName,
    ];

    pub fn bit(self) -> u32 {
        1 << self as u32
    }

    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Det::Email => "email",
            Det::Phone => "phone number",
            Det::Iban => "IBAN",
            Det::Card => "card number (Luhn)",
            Det::Ip => "IP address",
            Det::Mac => "MAC address",
            Det::Ssn => "US SSN",
            Det::Nino => "UK NINO",
            Det::Nir => "French NIR/INSEE",
            Det::SteuerId => "German Steuer-ID",
            Det::Bsn => "Dutch BSN",
            Det::Jwt => "JWT",
            Det::ApiKey => "API key",
            Det::PasswordHash => "password hash",
            Det::HexToken => "hex token",
            Det::B64Token => "base64 token",
            Det::PersonName => "person name",
            Det::ListedName => "listed name (--names)",
        }
    }
}

/// Strips ASCII whitespace at both ends.
pub fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

// ---------------------------------------------------------------------------------------------
// e-mail

fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b) || b >= 0x80
}

fn domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b >= 0x80
}

/// Whether `d` is a domain with a top-level domain of letters: `mail.example-corp.de`.
fn plausible_domain(d: &[u8]) -> bool {
    let Some(dot) = memchr::memrchr(b'.', d) else { return false };
    let tld = &d[dot + 1..];
    dot > 0 && (2..=24).contains(&tld.len()) && tld.iter().all(u8::is_ascii_alphabetic) && !d.contains(&b'@')
}

/// The whole value is one e-mail address.
pub fn is_email(v: &[u8]) -> bool {
    let v = trim(v);
    let Some(at) = memchr::memchr(b'@', v) else { return false };
    let (local, domain) = (&v[..at], &v[at + 1..]);
    // Lenient on the local part (real data has spaces and umlauts in it), strict on the domain.
    !local.is_empty()
        && local.len() <= 128
        && local.iter().all(|&b| local_char(b) || b == b' ')
        && domain.iter().all(|&b| domain_char(b))
        && plausible_domain(domain)
}

/// Some e-mail address occurs inside the text.
pub fn contains_email(v: &[u8]) -> bool {
    for at in memchr::memchr_iter(b'@', v) {
        let left = v[..at].iter().rev().take_while(|&&b| local_char(b)).count();
        let right = v[at + 1..].iter().take_while(|&&b| domain_char(b)).count();
        let domain = v[at + 1..at + 1 + right].strip_suffix(b".").unwrap_or(&v[at + 1..at + 1 + right]);
        if left > 0 && plausible_domain(domain) {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// phone numbers

fn phone_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// `2024-01-31`, `31.01.2024`, `12:30`: digit groups that are dates or times, not phones.
fn date_like(v: &[u8]) -> bool {
    static DATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$").expect("valid regex")
    });
    DATE.is_match(v)
}

/// Judges a run of phone characters (`+`, digits, separators): 7 to 15 digits, written like a
/// phone number (an international prefix, a trunk `0`, or grouped digits), not a date or an
/// IP address.
fn phone_shape(v: &[u8]) -> bool {
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    if !(7..=15).contains(&digits) || v.iter().skip(1).any(|&b| b == b'+') {
        return false;
    }
    if !v.first().is_some_and(|&b| b == b'+' || b == b'(' || b.is_ascii_digit()) {
        return false;
    }
    if date_like(v) || ipv4(v) || is_ssn(v) {
        return false;
    }
    let international = v.starts_with(b"+") || v.starts_with(b"00");
    let seps = v.iter().filter(|&&b| phone_sep(b)).count();
    let groups_ok =
        seps >= 1 && v.windows(2).all(|w| !(phone_sep(w[0]) && phone_sep(w[1])) || w == b") " || w == b" (");
    // A dotted group of four numbers is an IP address or a version, not a phone.
    let dots = v.iter().filter(|&&b| b == b'.').count();
    international && digits >= 8
        || (v[0] == b'0' || v[0] == b'(') && digits >= 9 && groups_ok && dots < 3
        || seps >= 2 && groups_ok && digits >= 9 && dots == 0
}

/// The whole value is one phone number.
pub fn is_phone(v: &[u8]) -> bool {
    let v = trim(v);
    !v.is_empty()
        && v.len() <= 32
        && v.iter().all(|&b| b.is_ascii_digit() || phone_sep(b) || b == b'+')
        && phone_shape(v)
}

/// Some phone number occurs inside the text.
pub fn contains_phone(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        let starts = (b == b'+' || b.is_ascii_digit() || b == b'(')
            && (i == 0 || !(v[i - 1].is_ascii_alphanumeric() || v[i - 1] == b'.' || v[i - 1] == b'-'));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < v.len() && (v[end].is_ascii_digit() || phone_sep(v[end])) && end - i < 40 {
            end += 1;
        }
        let mut run = &v[i..end];
        while let [rest @ .., last] = run
            && (phone_sep(*last) && *last != b')')
        {
            run = rest;
        }
        let next_ok = v.get(i + run.len()).is_none_or(|b| !b.is_ascii_alphanumeric());
        if next_ok && phone_shape(run) {
            return true;
        }
        i = end.max(i + 1);
    }
    false
}

// ---------------------------------------------------------------------------------------------
// IBAN and card numbers

/// IBAN lengths by country (the ISO 13616 registry).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16), (b"BG", 22),
    (b"BH", 22), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22), (b"CY", 28), (b"CZ", 24), (b"DE", 22),
    (b"DK", 18), (b"DO", 28), (b"EE", 20), (b"EG", 29), (b"ES", 24), (b"FI", 18), (b"FO", 18), (b"FR", 27),
    (b"GB", 22), (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"GT", 28), (b"HR", 21), (b"HU", 28),
    (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26), (b"IT", 27), (b"JO", 30), (b"KW", 30), (b"KZ", 20),
    (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20), (b"LU", 20), (b"LV", 21), (b"MC", 27), (b"MD", 24),
    (b"ME", 22), (b"MK", 19), (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NL", 18), (b"NO", 15), (b"PK", 24),
    (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22), (b"SA", 24), (b"SC", 31),
    (b"SE", 24), (b"SI", 19), (b"SK", 24), (b"SM", 27), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24),
    (b"TR", 26), (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20),
];

/// The IBAN length of the country an IBAN starts with.
fn iban_length(alnum: &[u8]) -> Option<usize> {
    let cc = alnum.get(..2)?;
    IBAN_LENGTHS.iter().find(|(c, _)| c[..] == *cc).map(|&(_, n)| n)
}

/// ISO 13616 check: the IBAN (letters and digits only, upper case) has its country's length
/// and modulo 97 is 1.
pub fn iban_checksum(alnum: &[u8]) -> bool {
    if iban_length(alnum) != Some(alnum.len())
        || !alnum[..2].iter().all(u8::is_ascii_uppercase)
        || !alnum[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in alnum[4..].iter().chain(&alnum[..4]) {
        let d = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if d >= 10 { (rem * 100 + d) % 97 } else { (rem * 10 + d) % 97 };
    }
    rem == 1
}

/// Collects the letters and digits of `v` (upper-cased) into `buf`, skipping single spaces;
/// false when anything else occurs or it is longer than `max`.
fn compact(v: &[u8], max: usize, buf: &mut [u8; 40]) -> Option<usize> {
    let mut n = 0;
    for &b in v {
        if b == b' ' || b == b'-' {
            continue;
        }
        if !b.is_ascii_alphanumeric() || n >= max.min(buf.len()) {
            return None;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    Some(n)
}

pub fn is_iban(v: &[u8]) -> bool {
    let mut buf = [0u8; 40];
    compact(trim(v), 34, &mut buf).is_some_and(|n| iban_checksum(&buf[..n]))
}

/// Some IBAN occurs inside the text (written compact or in groups of four).
pub fn contains_iban(v: &[u8]) -> bool {
    for i in 0..v.len().saturating_sub(14) {
        if !(v[i].is_ascii_uppercase()
            && v[i + 1].is_ascii_uppercase()
            && v[i + 2].is_ascii_digit()
            && v[i + 3].is_ascii_digit()
            && (i == 0 || !v[i - 1].is_ascii_alphanumeric()))
        {
            continue;
        }
        let mut buf = [0u8; 40];
        let mut n = 0;
        let mut j = i;
        let mut end = i;
        while j < v.len() && n < 34 {
            match v[j] {
                b if b.is_ascii_uppercase() || b.is_ascii_digit() => {
                    buf[n] = b;
                    n += 1;
                    end = j + 1;
                }
                b' ' if v.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) => {}
                _ => break,
            }
            j += 1;
        }
        let next = v.get(end).copied();
        if let Some(len) = iban_length(&buf[..n])
            && len == n
            && next.is_none_or(|b| !b.is_ascii_alphanumeric())
            && iban_checksum(&buf[..len])
        {
            return true;
        }
    }
    false
}

/// The Luhn check over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &b) in digits.iter().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if k % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// A card number: 13 to 19 digits with a card network's leading digits, passing Luhn.
fn card_digits(d: &[u8]) -> bool {
    if !(13..=19).contains(&d.len()) || !luhn(d) || d.iter().all(|&b| b == d[0]) {
        return false;
    }
    let two = u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0');
    let four = two * 100 + u32::from(d[2] - b'0') * 10 + u32::from(d[3] - b'0');
    match d[0] {
        b'4' => true,
        b'5' => (51..=55).contains(&two),
        b'2' => (2221..=2720).contains(&four),
        b'3' => matches!(two, 34 | 37 | 35 | 36 | 38 | 30 | 39),
        b'6' => four == 6011 || two == 65 || (644..=649).contains(&(four / 10)) || two == 62,
        _ => false,
    }
}

pub fn is_card(v: &[u8]) -> bool {
    let v = trim(v);
    let mut buf = [0u8; 40];
    let mut n = 0;
    for &b in v {
        match b {
            b'0'..=b'9' if n < 19 => {
                buf[n] = b;
                n += 1;
            }
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    card_digits(&buf[..n])
}

/// Some card number occurs inside the text (digits with single spaces or dashes between).
pub fn contains_card(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        if !v[i].is_ascii_digit() || (i > 0 && v[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let mut buf = [0u8; 40];
        let mut n = 0;
        let mut j = i;
        while j < v.len() && n < 19 {
            match v[j] {
                b @ b'0'..=b'9' => {
                    buf[n] = b;
                    n += 1;
                }
                b' ' | b'-' if v.get(j + 1).is_some_and(u8::is_ascii_digit) => {}
                _ => break,
            }
            j += 1;
        }
        // The whole run of digits is the number (a card number is not a part of a longer one).
        let next_ok = v.get(j).is_none_or(|b| !b.is_ascii_alphanumeric());
        if next_ok && card_digits(&buf[..n]) {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

// ---------------------------------------------------------------------------------------------
// network addresses

fn ipv4(v: &[u8]) -> bool {
    let v = v.split(|&b| b == b'/').next().unwrap_or(v);
    let mut parts = 0;
    for p in v.split(|&b| b == b'.') {
        parts += 1;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let n: u32 = p.iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0'));
        if n > 255 {
            return false;
        }
    }
    parts == 4
}

/// The whole value is an IPv4 or IPv6 address (optionally with a `/prefix`).
pub fn is_ip(v: &[u8]) -> bool {
    let v = trim(v);
    if ipv4(v) {
        return true;
    }
    if v.len() > 50 || !v.contains(&b':') {
        return false;
    }
    let addr = v.split(|&b| b == b'/').next().unwrap_or(v);
    std::str::from_utf8(addr).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Whether a value is an IPv6 address (for choosing between the families).
pub fn is_ipv6(v: &[u8]) -> bool {
    is_ip(v) && !ipv4(trim(v))
}

pub fn is_mac(v: &[u8]) -> bool {
    let v = trim(v);
    let groups: Vec<&[u8]> = v.split(|&b| b == b':' || b == b'-').collect();
    (groups.len() == 6 || groups.len() == 8)
        && groups.iter().all(|g| g.len() == 2 && g.iter().all(u8::is_ascii_hexdigit))
}

// ---------------------------------------------------------------------------------------------
// national identifiers

fn digits_of<'a>(v: &[u8], buf: &'a mut [u8; 40], max: usize) -> Option<&'a [u8]> {
    let mut n = 0;
    for &b in v {
        match b {
            b'0'..=b'9' if n < max => {
                buf[n] = b - b'0';
                n += 1;
            }
            b' ' | b'-' | b'.' => {}
            _ => return None,
        }
    }
    Some(&buf[..n])
}

/// US SSN, written `123-45-6789` (area not 000, 666 or 9xx; group and serial not zero).
pub fn is_ssn(v: &[u8]) -> bool {
    let v = trim(v);
    v.len() == 11 && v[3] == b'-' && v[6] == b'-' && ssn_at(v)
}

fn ssn_at(v: &[u8]) -> bool {
    let d = |r: std::ops::Range<usize>| -> Option<u32> {
        v[r].iter().try_fold(0u32, |a, &b| b.is_ascii_digit().then(|| a * 10 + u32::from(b - b'0')))
    };
    match (d(0..3), d(4..6), d(7..11)) {
        (Some(area), Some(group), Some(serial)) => area != 0 && area != 666 && area < 900 && group != 0 && serial != 0,
        _ => false,
    }
}

fn contains_ssn(v: &[u8]) -> bool {
    v.windows(11).enumerate().any(|(i, w)| {
        w[3] == b'-'
            && w[6] == b'-'
            && ssn_at(w)
            && (i == 0 || !v[i - 1].is_ascii_alphanumeric())
            && v.get(i + 11).is_none_or(|b| !b.is_ascii_alphanumeric())
    })
}

/// UK National Insurance number: two prefix letters (not D, F, I, Q, U, V; second not O; not
/// BG, GB, KN, NK, NT, TN, ZZ), six digits and a suffix A to D, spaces allowed.
pub fn is_nino(v: &[u8]) -> bool {
    let mut buf = [0u8; 40];
    let Some(n) = compact(trim(v), 9, &mut buf) else { return false };
    let s = &buf[..n];
    n == 9
        && s[0].is_ascii_uppercase()
        && s[1].is_ascii_uppercase()
        && !b"DFIQUV".contains(&s[0])
        && !b"DFIQUVO".contains(&s[1])
        && ![&b"BG"[..], b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"].contains(&&s[..2])
        && s[2..8].iter().all(u8::is_ascii_digit)
        && (b'A'..=b'D').contains(&s[8])
        && v.iter().all(|&b| b.is_ascii_alphanumeric() || b == b' ')
}

/// French NIR: sex (1, 2, 7, 8), year, month (01-12, 20-42, 50-99), department (digits, 2A,
/// 2B), commune, order, then the key 97 − (number mod 97).
pub fn is_nir(v: &[u8]) -> bool {
    let v = trim(v);
    let mut s = [0u8; 16];
    let mut n = 0;
    for &b in v {
        match b {
            b' ' | b'.' | b'-' => {}
            _ if n < 15 && (b.is_ascii_digit() || (n == 6 && matches!(b, b'A' | b'B' | b'a' | b'b'))) => {
                s[n] = b.to_ascii_uppercase();
                n += 1;
            }
            _ => return false,
        }
    }
    if n != 15 || !matches!(s[0], b'1' | b'2' | b'7' | b'8') {
        return false;
    }
    let month = (s[3] - b'0') * 10 + (s[4].wrapping_sub(b'0'));
    if !(s[3].is_ascii_digit() && s[4].is_ascii_digit() && matches!(month, 1..=12 | 20..=42 | 50..=99)) {
        return false;
    }
    // Corsica: 2A counts as 19, 2B as 18 in the key.
    let mut number: u64 = 0;
    for (k, &b) in s[..13].iter().enumerate() {
        let d = match b {
            b'A' if k == 6 => 0,
            b'B' if k == 6 => 0,
            b'0'..=b'9' => u64::from(b - b'0'),
            _ => return false,
        };
        number = number * 10 + d;
    }
    match s[6] {
        b'A' => number -= 1_000_000,
        b'B' => number -= 2_000_000,
        _ => {}
    }
    let key = u64::from(s[13].wrapping_sub(b'0')) * 10 + u64::from(s[14].wrapping_sub(b'0'));
    s[13].is_ascii_digit() && s[14].is_ascii_digit() && key == 97 - number % 97
}

/// German tax identification number: 11 digits, the first not 0, one digit of the first ten
/// appearing two or three times and the check digit of ISO/IEC 7064 MOD 11,10.
pub fn is_steuer_id(v: &[u8]) -> bool {
    let mut buf = [0u8; 40];
    let Some(d) = digits_of(trim(v), &mut buf, 11) else { return false };
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let repeated = counts.iter().filter(|&&c| c >= 2).count();
    if repeated != 1 || counts.iter().any(|&c| c > 3) {
        return false;
    }
    let mut product = 10u32;
    for &x in &d[..10] {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == u32::from(d[10])
}

/// Dutch BSN: 9 digits (8 with a leading zero dropped), 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11).
pub fn is_bsn(v: &[u8]) -> bool {
    let mut buf = [0u8; 40];
    let Some(d) = digits_of(trim(v), &mut buf, 9) else { return false };
    if !(8..=9).contains(&d.len()) || trim(v).iter().any(|&b| !b.is_ascii_digit()) {
        return false;
    }
    let mut full = [0u8; 9];
    full[9 - d.len()..].copy_from_slice(d);
    if full.iter().all(|&x| x == 0) {
        return false;
    }
    let sum: i32 =
        full[..8].iter().enumerate().map(|(k, &x)| (9 - k as i32) * i32::from(x)).sum::<i32>() - i32::from(full[8]);
    sum % 11 == 0
}

// ---------------------------------------------------------------------------------------------
// secrets

static API_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{10,}
        | gh[pousr]_[0-9A-Za-z]{30,}
        | github_pat_[0-9A-Za-z_]{30,}
        | (?:AKIA|ASIA)[0-9A-Z]{16}
        | xox[abposr]-[0-9A-Za-z-]{10,}
        | AIza[0-9A-Za-z_-]{35}
        | glpat-[0-9A-Za-z_-]{20,}
        | npm_[0-9A-Za-z]{36}
        | SG\.[0-9A-Za-z_-]{16,}\.[0-9A-Za-z_-]{16,}
        | eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]*",
    )
    .expect("valid regex")
});

static PASSWORD_HASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:\$(?:2[abxy]?|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?|[156]|5|y|gy|7|sha1|md5)\$[./0-9A-Za-z$=,+-]{8,}|(?:pbkdf2_sha\d+|bcrypt(?:_sha256)?|argon2|sha1|md5)\$[./0-9A-Za-z$=+-]{8,}|\{(?:SSHA|SHA|SSHA256|SSHA512|CRYPT|BCRYPT)\}[./0-9A-Za-z$=+]{8,})$",
    )
    .expect("valid regex")
});

/// Shannon entropy in bits per byte.
fn entropy(v: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in v {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| -(f64::from(c) / n) * (f64::from(c) / n).log2()).sum()
}

/// Which kind of secret the whole value is, if any.
pub fn secret(v: &[u8]) -> Option<Det> {
    let v = trim(v);
    if v.len() < 16 || v.len() > 4096 || v.contains(&b' ') {
        return None;
    }
    if v.starts_with(b"eyJ") && v.iter().filter(|&&b| b == b'.').count() == 2 {
        return Some(Det::Jwt);
    }
    if PASSWORD_HASH.is_match(v) {
        return Some(Det::PasswordHash);
    }
    if API_KEY.find(v).is_some_and(|m| m.start() == 0 && m.len() + 4 >= v.len()) {
        return Some(Det::ApiKey);
    }
    if v.len() >= 24 && v.iter().all(u8::is_ascii_hexdigit) && v.iter().any(|b| b.is_ascii_digit()) {
        let letters = v.iter().filter(|b| b.is_ascii_alphabetic()).count();
        let upper = v.iter().any(u8::is_ascii_uppercase);
        let lower = v.iter().any(u8::is_ascii_lowercase);
        if letters > 0 && !(upper && lower) {
            return Some(Det::HexToken);
        }
    }
    let b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=');
    if v.len() >= 24 && v.iter().all(b64) {
        let body = v.strip_suffix(b"==").or_else(|| v.strip_suffix(b"=")).unwrap_or(v);
        let upper = body.iter().filter(|b| b.is_ascii_uppercase()).count();
        let lower = body.iter().filter(|b| b.is_ascii_lowercase()).count();
        let digit = body.iter().filter(|b| b.is_ascii_digit()).count();
        if upper >= 2 && lower >= 2 && digit >= 2 && !body.contains(&b'=') && entropy(body) >= 4.0 {
            return Some(Det::B64Token);
        }
    }
    None
}

/// Some token with a known shape (JWT, vendor API key) occurs inside the text.
pub fn contains_secret(v: &[u8]) -> bool {
    API_KEY.is_match(v)
}

// ---------------------------------------------------------------------------------------------
// everything at once

/// Detectors that matched a value: as the whole value, and somewhere inside it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    pub whole: u32,
    pub inside: u32,
}

/// Runs the shape detectors (everything but names) on one value.
pub fn shapes(v: &[u8]) -> Hits {
    let mut h = Hits::default();
    let t = trim(v);
    if t.is_empty() {
        return h;
    }
    let first = t[0];
    let has_at = memchr::memchr(b'@', t).is_some();
    if has_at && is_email(t) {
        h.whole |= Det::Email.bit();
    }
    let digitish = t.iter().all(|&b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b'+'));
    if digitish {
        if is_phone(t) {
            h.whole |= Det::Phone.bit();
        }
        if is_card(t) {
            h.whole |= Det::Card.bit();
        }
        if is_ssn(t) {
            h.whole |= Det::Ssn.bit();
        }
        if is_nir(t) {
            h.whole |= Det::Nir.bit();
        }
        if is_steuer_id(t) {
            h.whole |= Det::SteuerId.bit();
        }
        if is_bsn(t) {
            h.whole |= Det::Bsn.bit();
        }
        if ipv4(t) {
            h.whole |= Det::Ip.bit();
        }
    } else {
        if first.is_ascii_alphabetic() && t.len() >= 15 && is_iban(t) {
            h.whole |= Det::Iban.bit();
        }
        if first.is_ascii_alphabetic() && t.len() <= 13 && is_nino(t) {
            h.whole |= Det::Nino.bit();
        }
        if first.is_ascii_digit() && t.len() <= 21 && is_nir(t) {
            h.whole |= Det::Nir.bit();
        }
        if t.contains(&b':') && (is_ip(t) || is_mac(t)) {
            h.whole |= if is_mac(t) { Det::Mac.bit() } else { Det::Ip.bit() };
        } else if t.len() == 17 && is_mac(t) {
            h.whole |= Det::Mac.bit();
        }
        if let Some(d) = secret(t) {
            h.whole |= d.bit();
        }
    }
    // Inside longer text: only what was not the whole value.
    if h.whole == 0 && t.len() >= 10 {
        if has_at && contains_email(t) {
            h.inside |= Det::Email.bit();
        }
        if contains_phone(t) {
            h.inside |= Det::Phone.bit();
        }
        if contains_iban(t) {
            h.inside |= Det::Iban.bit();
        }
        if contains_card(t) {
            h.inside |= Det::Card.bit();
        }
        if contains_ssn(t) {
            h.inside |= Det::Ssn.bit();
        }
        if contains_secret(t) {
            h.inside |= Det::ApiKey.bit();
        }
    }
    h
}

/// A calendar date at the start of a value: `YYYY-MM-DD` (what PostgreSQL writes for `date`
/// and timestamps in the ISO style).
pub fn date_prefix(v: &[u8]) -> Option<(u16, u8, u8)> {
    let v = trim(v);
    if v.len() < 10 || v[4] != b'-' || v[7] != b'-' || v.get(10).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u16> {
        v[r].iter().try_fold(0u16, |a, &b| b.is_ascii_digit().then(|| a * 10 + u16::from(b - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m as u8, d as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "anna.mueller3@example-corp.de",
            "Juergen.Martin7@Example-Corp.de",
            "a_b@mail.example.co.uk",
            "chloé.de vries29@web.de",
        ] {
            assert!(is_email(ok.as_bytes()), "{ok}");
        }
        for bad in ["@anna_mueller", "anna@localhost", "a@b.c", "user@host.123", "not an email", "x@y@z.de"] {
            assert!(!is_email(bad.as_bytes()), "{bad}");
        }
        assert!(contains_email(b"Please write to anna.mueller@example.org."));
        assert!(contains_email(b"<support5@corp-example.io>"));
        assert!(!contains_email(b"twitter: @anna_mueller, tags"));
    }

    #[test]
    fn phones() {
        for ok in [
            "+49 30 1234567",
            "+49 (0)30 1234-5678",
            "0049 30 12345678",
            "030 1234567",
            "(555) 123-4567",
            "555-123-4567",
            "+447505186490",
            "06-12345678",
        ] {
            assert!(is_phone(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "626-29-9842",
            "2024-01-31",
            "31.01.2024",
            "12345",
            "1234567",
            "10.20.30.40",
            "1.2.3",
            "42",
            "+",
            "INV-2025-00001",
            "1234567890",
        ] {
            assert!(!is_phone(bad.as_bytes()), "{bad}");
        }
        assert!(contains_phone(b"Backup phone: +49 170 0000012"));
        assert!(contains_phone(b"Phone: +49 231 823243\nThey said"));
        assert!(contains_phone(b"ruf an: 030 1234567 bitte"));
        assert!(!contains_phone(b"Called on 2024-01-03: order 123456 shipped"));
        assert!(!contains_phone(b"Firefox/112.0 on 10.1.7.13"));
    }

    #[test]
    fn ibans_and_cards() {
        assert!(is_iban(b"DE89 3704 0044 0532 0130 00"));
        assert!(is_iban(b"DE89370400440532013000"));
        assert!(is_iban(b"GB82WEST12345698765432"));
        assert!(is_iban(b"NL91ABNA0417164300"));
        assert!(is_iban(b"FR1420041010050500013M02606"));
        assert!(!is_iban(b"DE89370400440532013001"), "check digits");
        assert!(!is_iban(b"DEUTSCHLANDDEUTSCHLAND"));
        assert!(!is_iban(b"DE8937040044053201300"), "DE IBANs have 22 characters");
        assert!(!contains_iban(b"FF4B22429B9C3BB6DB") && !contains_iban(b"ref DE89370400440532013000X"));
        assert!(contains_iban(b"Bitte auf DE89 3704 0044 0532 0130 00 ueberweisen"));
        assert!(!contains_iban(b"Bitte auf DE89 3704 0044 0532 0130 01 ueberweisen"));
        assert!(is_card(b"4111 1111 1111 1111"));
        assert!(is_card(b"5500-0000-0000-0004"));
        assert!(is_card(b"378282246310005"));
        assert!(!is_card(b"4111 1111 1111 1112"), "Luhn");
        assert!(!is_card(b"1234567812345670"), "no card network starts with 1");
        assert!(!is_card(b"0000000000000000"));
        assert!(contains_card(b"paid with 4111-1111-1111-1111 yesterday"));
        assert!(!contains_card(b"order 4111111111111112"));
    }

    #[test]
    fn network() {
        assert!(is_ip(b"10.1.7.13") && is_ip(b"192.168.0.0/16") && is_ip(b"2001:db8::1") && is_ip(b"::1"));
        assert!(is_ipv6(b"2001:db8:ad95::5922") && !is_ipv6(b"10.0.0.1"));
        assert!(!is_ip(b"256.1.1.1") && !is_ip(b"1.2.3") && !is_ip(b"12:30") && !is_ip(b"v1.2.3.4"));
        assert!(is_mac(b"08:00:2b:01:02:03") && is_mac(b"08-00-2B-01-02-03") && !is_mac(b"08:00:2b"));
    }

    #[test]
    fn national_ids() {
        assert!(is_ssn(b"123-45-6789") && is_ssn(b"626-29-9842"));
        assert!(
            !is_ssn(b"000-12-3456") && !is_ssn(b"666-12-3456") && !is_ssn(b"900-12-3456") && !is_ssn(b"123-00-4567")
        );
        assert!(contains_ssn(b"SSN 123-45-6789 on file") && !contains_ssn(b"tel 0123-45-67891"));
        assert!(is_nino(b"AB123456C") && is_nino(b"AB 12 34 56 C") && is_nino(b"JG103759A"));
        assert!(!is_nino(b"GB123456A") && !is_nino(b"DA123456C") && !is_nino(b"AB123456E"));
        // 1 84 12 76 451 089 46: a documented example NIR.
        assert!(is_nir(b"184127645108946") && is_nir(b"1 84 12 76 451 089 46"));
        assert!(!is_nir(b"184127645108947") && !is_nir(b"384127645108946"));
        // Corsica: department 2A.
        let base = 2_690_419_012_345u64;
        let key = 97 - base % 97;
        assert!(is_nir(format!("269042A012345{key:02}").as_bytes()));
        assert!(is_steuer_id(b"65929970489") && is_steuer_id(b"86095742719") && is_steuer_id(b"47036892816"));
        assert!(!is_steuer_id(b"65929970488") && !is_steuer_id(b"01234567890") && !is_steuer_id(b"12345678901"));
        assert!(is_bsn(b"111222333") && is_bsn(b"123456782"));
        assert!(!is_bsn(b"123456789") && !is_bsn(b"000000000") && !is_bsn(b"1234-5678"));
    }

    #[test]
    fn secrets() {
        let jwt = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_eq!(secret(jwt), Some(Det::Jwt));
        assert_eq!(secret(b"sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2e1a3b"), Some(Det::ApiKey));
        assert_eq!(secret(b"ghp_16C7e42F292c6912E7710c838347Ae178B4a"), Some(Det::ApiKey));
        assert_eq!(secret(b"AKIAIOSFODNN7EXAMPLE"), Some(Det::ApiKey));
        assert_eq!(
            secret(b"$argon2id$v=19$m=65536,t=3,p=4$c2NydWJzYWx0$ZGlzYWJsZWRkaXNhYmxlZGRpc2FibGVk"),
            Some(Det::PasswordHash)
        );
        assert_eq!(secret(b"$2b$12$5ba8660c4549ae4f5c930f73a54815fbe27f0e2f27572a19e104d"), Some(Det::PasswordHash));
        assert_eq!(secret(b"pbkdf2_sha256$260000$abcdefgh$ijklmnop"), Some(Det::PasswordHash));
        assert_eq!(secret(b"d41d8cd98f00b204e9800998ecf8427e"), Some(Det::HexToken));
        assert_eq!(secret(b"dGhpcyBpcyBhIHNlY3JldCB0b2tlbjEyMzQ1Njc4OTA"), Some(Det::B64Token));
        assert_eq!(secret(b"Mozilla/5.0 (X11; Linux x86_64)"), None);
        assert_eq!(secret(b"ext-410fc9af6b32f5c85d6c8487"), None);
        assert_eq!(secret(b"INV-2025-00001"), None);
        assert_eq!(secret(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(secret(b"https://cdn.example.com/avatars/c9af6b32f5c85d6c8487.jpg"), None);
        assert!(contains_secret(b"token=sk_live_4eC39HqLyjWDarjtT1zdp7dc in the log"));
        assert!(!contains_secret(b"nothing to see here"));
    }

    #[test]
    fn everything_at_once() {
        assert_eq!(shapes(b"anna@example.org").whole, Det::Email.bit());
        assert_eq!(shapes(b"DE89 3704 0044 0532 0130 00").whole, Det::Iban.bit());
        assert_eq!(shapes(b"10.1.7.13").whole, Det::Ip.bit());
        let h = shapes(b"Called on 2024-01-03:\n\t\"Please update\", said Anna.\nBackup phone: +49 170 0000012");
        assert_eq!((h.whole, h.inside), (0, Det::Phone.bit()));
        assert_eq!(shapes(b"new"), Hits::default());
        assert_eq!(shapes(b"2024-01-03"), Hits::default());
        assert_eq!(date_prefix(b"1987-05-12"), Some((1987, 5, 12)));
        assert_eq!(date_prefix(b"2023-01-01 03:17:00+00"), Some((2023, 1, 1)));
        assert_eq!(date_prefix(b"12345-01-01"), None);
    }
}
