//! `first_name`, `last_name`, `full_name`: a keyed pick from embedded name lists
//! ([`super::words`]), per `locale` (`en`, the default, `fr` or `de`).
//!
//! The same input name always gives the same pseudonym, so "all the Jennifers" stay one group.
//! A few hundred names per list means many inputs share an output: `MayBreak`.

use super::column::{char_limit, fit_chars};
use super::rng::KeyedStream;
use super::words::{FIRST_DE, FIRST_EN, FIRST_FR, LAST_DE, LAST_EN, LAST_FR};
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

/// A supported locale: its first and last name lists.
pub(super) struct Locale {
    pub first: &'static [&'static str],
    pub last: &'static [&'static str],
    pub code: &'static str,
}

/// Reads `locale` (`en`, `fr`, `de`; default `en`).
pub(super) fn locale(spec: &Spec<'_>) -> Result<Locale, String> {
    match spec.str_param("locale")?.unwrap_or("en") {
        "en" => Ok(Locale { first: FIRST_EN, last: LAST_EN, code: "en" }),
        "fr" => Ok(Locale { first: FIRST_FR, last: LAST_FR, code: "fr" }),
        "de" => Ok(Locale { first: FIRST_DE, last: LAST_DE, code: "de" }),
        other => Err(format!("`locale` must be \"en\", \"fr\" or \"de\", got \"{other}\"")),
    }
}

#[derive(Clone, Copy)]
enum Part {
    First,
    Last,
    Full,
}

struct Name {
    mac: Keyed,
    first: &'static [&'static str],
    last: &'static [&'static str],
    part: Part,
    limit: Option<usize>,
}

impl ValueTransform for Name {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let start = out.len();
        let mut s = KeyedStream::new(&self.mac, value);
        match self.part {
            Part::First => out.extend_from_slice(s.pick(self.first).as_bytes()),
            Part::Last => out.extend_from_slice(s.pick(self.last).as_bytes()),
            Part::Full => {
                out.extend_from_slice(s.pick(self.first).as_bytes());
                out.push(b' ');
                out.extend_from_slice(s.pick(self.last).as_bytes());
            }
        }
        fit_chars(out, start, self.limit);
        Output::Value
    }
}

fn build(spec: &Spec<'_>, part: Part, label: &str) -> Result<Built, String> {
    let loc = locale(spec)?;
    let mac = spec.keyed(&format!("{label}/{}", loc.code))?;
    let imp = Name { mac, first: loc.first, last: loc.last, part, limit: char_limit(spec.column_type) };
    Ok((Box::new(imp), Uniqueness::MayBreak))
}

pub fn build_first_name(spec: &Spec<'_>) -> Result<Built, String> {
    build(spec, Part::First, "first_name")
}

pub fn build_last_name(spec: &Spec<'_>) -> Result<Built, String> {
    build(spec, Part::Last, "last_name")
}

pub fn build_full_name(spec: &Spec<'_>) -> Result<Built, String> {
    build(spec, Part::Full, "full_name")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::*;
    use super::super::{Ctx, Uniqueness};

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let got: Vec<String> = [
            ("first_name", ""),
            ("first_name", "locale = \"fr\""),
            ("first_name", "locale = \"de\""),
            ("last_name", ""),
            ("last_name", "locale = \"fr\""),
            ("last_name", "locale = \"de\""),
            ("full_name", ""),
            ("full_name", "locale = \"de\""),
        ]
        .iter()
        .map(|(n, p)| run(&build_with(n, p, None).unwrap(), "Alice Martin").unwrap())
        .collect();
        assert_eq!(got, ["Carolyn", "Lou", "Jannik", "Obrien", "Poulain", "Busch", "Isaac Sims", "Björn Kaufmann"]);
    }

    #[test]
    fn names_come_from_the_lists_and_fit_the_column() {
        let t = build_with("full_name", "locale = \"fr\"", None).unwrap();
        assert_eq!(t.uniqueness(), Uniqueness::MayBreak);
        let n = run(&t, "x").unwrap();
        let (f, l) = n.split_once(' ').unwrap();
        assert!(super::FIRST_FR.contains(&f) && super::LAST_FR.contains(&l), "{n}");
        let short = build_with("full_name", "", Some("character varying(4)")).unwrap();
        assert_eq!(run(&short, "Alice Martin").unwrap().chars().count(), 4);
        assert!(build_with("first_name", "locale = \"xx\"", None).unwrap_err().contains("locale"));
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_deterministic_name(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            for name in ["first_name", "last_name", "full_name"] {
                let t = build_with(name, "locale = \"de\"", None).unwrap();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                t.apply(&v, &Ctx::default(), &mut a);
                t.apply(&v, &Ctx::default(), &mut b);
                prop_assert_eq!(&a, &b);
                prop_assert!(!a.is_empty() && std::str::from_utf8(&a).is_ok());
            }
        }
    }
}
