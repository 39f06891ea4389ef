//! Transforms: what a rule does to one field value.
//!
//! Every transform is a pure function of (secret key, transform and parameters, input value):
//! the same value becomes the same pseudonym in every table, run and thread, so a primary key and
//! its foreign keys stay joined when both get the same transform. The key enters through
//! HMAC-SHA256 ([`key`]); transforms do not mix table or column names into it, on purpose.
//!
//! Transforms see decoded values (COPY escapes already removed) and write decoded values; the
//! caller handles NULL and COPY escaping. They must not allocate per value beyond the caller's
//! buffers, and must not panic on any input bytes.
//!
//! Adding a transform: implement [`ValueTransform`], write a `build` function that validates its
//! parameters from a [`Spec`], and add an [`Entry`] to [`CATALOGUE`].

mod basic;
mod column;
mod contact;
mod email;
pub mod encode;
#[cfg(test)]
mod examples;
mod fpe;
mod ident;
pub mod key;
mod person;
mod rng;
mod structured;
mod text;
mod time;
mod words;

pub use key::{Keyed, SecretKey};

use serde::Serialize;

/// What a transform produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The value was written into the output buffer.
    Value,
    /// NULL; nothing was written.
    Null,
}

/// Whether distinct inputs stay distinct: decides whether a transform may sit on a primary key or
/// unique column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Uniqueness {
    /// Distinct inputs give distinct outputs (a permutation, or a collision-free keyed token).
    Preserves,
    /// Distinct inputs may give equal outputs.
    MayBreak,
    /// Every input gives the same output (or NULL).
    Breaks,
}

/// Per-value context beyond the value itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx<'a> {
    /// The original value of the rule's `by` column, for transforms that keep one entity
    /// consistent across rows (a date shift per patient).
    pub seed: Option<&'a [u8]>,
}

/// The behaviour of one compiled transform.
pub trait ValueTransform: Send + Sync {
    /// Rewrites `value` (a non-NULL, decoded field), appending the result to `out`.
    fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output;
}

/// A compiled transform with its catalogue facts.
pub struct Transform {
    name: &'static str,
    uniqueness: Uniqueness,
    imp: Box<dyn ValueTransform>,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Transform {
    /// The transform's name as written in rules files.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether distinct inputs stay distinct with the parameters given.
    pub fn uniqueness(&self) -> Uniqueness {
        self.uniqueness
    }

    /// Rewrites `value` (non-NULL, decoded), appending the result to `out`.
    pub fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        self.imp.apply(value, ctx, out)
    }
}

/// A rule's parameters: name → TOML value.
pub type Params = toml::Table;

/// What the dump says about types, for transforms that must produce valid values of a type.
pub trait TypeInfo {
    /// The fields (name, type) of a composite type, by its name as written in a column type.
    fn composite_fields(&self, type_name: &str) -> Option<Vec<(String, String)>>;
}

/// No type information (rules checked before the dump is read).
pub struct NoTypes;

impl TypeInfo for NoTypes {
    fn composite_fields(&self, _: &str) -> Option<Vec<(String, String)>> {
        None
    }
}

/// Everything a transform's `build` function may look at.
pub struct Spec<'a> {
    pub name: &'a str,
    pub params: &'a Params,
    /// The column's type as declared in the dump (`integer`, `character varying(20)`, `text[]`),
    /// when known.
    pub column_type: Option<&'a str>,
    pub key: Option<&'a SecretKey>,
    pub types: &'a dyn TypeInfo,
}

impl<'a> Spec<'a> {
    /// A keyed MAC state for this transform, separated from others by `domain`.
    pub fn keyed(&self, domain: &str) -> Result<Keyed, String> {
        let key = self.key.ok_or_else(|| {
            format!("transform `{}` needs the secret key: set SCRUB_SECRET or pass --secret-file", self.name)
        })?;
        Ok(key.keyed(domain))
    }

    pub fn str_param(&self, name: &str) -> Result<Option<&'a str>, String> {
        match self.params.get(name) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("`{name}` must be a string, got {other}")),
        }
    }

    pub fn bool_param(&self, name: &str) -> Result<Option<bool>, String> {
        match self.params.get(name) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(format!("`{name}` must be true or false, got {other}")),
        }
    }

    pub fn int_param(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, String> {
        match self.params.get(name) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if range.contains(n) => Ok(Some(*n)),
            Some(other) => {
                Err(format!("`{name}` must be an integer from {} to {}, got {other}", range.start(), range.end()))
            }
        }
    }

    /// A nested transform (`element`, `fields.*`, `paths.*`): same forms as a column rule.
    pub fn nested(&self, rule: &toml::Value, column_type: Option<&str>) -> Result<Option<Transform>, String> {
        let (name, params) = split_rule(rule)?;
        build(&Spec { name: &name, params: &params, column_type, key: self.key, types: self.types })
    }
}

/// Splits a rule (`"name"` or `{ transform = "name", ... }`) into its name and parameters.
pub fn split_rule(rule: &toml::Value) -> Result<(String, Params), String> {
    match rule {
        toml::Value::String(name) => Ok((name.clone(), Params::new())),
        toml::Value::Table(t) => {
            let mut params = t.clone();
            match params.remove("transform") {
                Some(toml::Value::String(s)) => Ok((s, params)),
                Some(other) => Err(format!("`transform` must be a string, got {other}")),
                None => Err("a rule table needs `transform = \"...\"`".into()),
            }
        }
        other => Err(format!(
            "a rule is a transform name (\"keep\", \"null\", ...) or a table {{ transform = \"...\", ... }}, got {other}"
        )),
    }
}

/// A built transform's behaviour and the uniqueness class its parameters give it.
pub type Built = (Box<dyn ValueTransform>, Uniqueness);

/// One catalogue entry.
pub struct Entry {
    pub name: &'static str,
    /// Parameters the transform accepts (beyond the rule-level ones in [`RULE_PARAMS`]).
    pub params: &'static [&'static str],
    pub build: fn(&Spec<'_>) -> Result<Built, String>,
}

/// Parameters any column rule accepts; they are read by the rules layer, not by transforms.
pub const RULE_PARAMS: &[&str] = &["allow_duplicates"];

/// Every transform a rule can name, besides `keep`.
pub const CATALOGUE: &[Entry] = &[
    Entry { name: "null", params: &[], build: basic::build_null },
    Entry { name: "constant", params: &["value"], build: basic::build_constant },
    Entry { name: "hash", params: &["length"], build: basic::build_hash },
    Entry { name: "uuid", params: &[], build: basic::build_uuid },
    Entry { name: "uuid_v5", params: &["namespace"], build: basic::build_uuid_v5 },
    Entry { name: "email", params: &["keep_domain", "keep_domains", "domain", "unique"], build: email::build },
    Entry { name: "first_name", params: &["locale"], build: person::build_first_name },
    Entry { name: "last_name", params: &["locale"], build: person::build_last_name },
    Entry { name: "full_name", params: &["locale"], build: person::build_full_name },
    Entry { name: "phone", params: &[], build: contact::build_phone },
    Entry { name: "address", params: &["locale"], build: contact::build_address },
    Entry { name: "street", params: &["locale"], build: contact::build_street },
    Entry { name: "city", params: &["locale"], build: contact::build_city },
    Entry { name: "postcode", params: &[], build: contact::build_postcode },
    Entry { name: "country", params: &[], build: contact::build_country },
    Entry { name: "company", params: &[], build: contact::build_company },
    Entry { name: "username", params: &[], build: contact::build_username },
    Entry { name: "url", params: &["keep_host"], build: contact::build_url },
    Entry { name: "ipv4", params: &["keep_prefix"], build: contact::build_ipv4 },
    Entry { name: "ipv6", params: &["keep_prefix"], build: contact::build_ipv6 },
    Entry { name: "mac", params: &["keep_oui"], build: contact::build_mac },
    Entry { name: "credit_card", params: &["keep_prefix"], build: ident::build_credit_card },
    Entry { name: "iban", params: &[], build: ident::build_iban },
    Entry { name: "pattern", params: &["unique"], build: ident::build_pattern },
    Entry { name: "int", params: &["type"], build: ident::build_int },
    Entry { name: "mask", params: &["keep_first", "keep_last", "char"], build: text::build_mask },
    Entry { name: "regex_replace", params: &["pattern", "replacement"], build: text::build_regex_replace },
    Entry { name: "lorem", params: &[], build: text::build_lorem },
    Entry { name: "path", params: &[], build: text::build_path },
    Entry { name: "noise", params: &["relative", "absolute", "by"], build: time::build_noise },
    Entry { name: "date_shift", params: &["max_days", "interval", "by"], build: time::build_date_shift },
    Entry { name: "date_truncate", params: &["to"], build: time::build_date_truncate },
    Entry { name: "array", params: &["element"], build: structured::build_array },
    Entry { name: "composite", params: &["fields"], build: structured::build_composite },
    Entry { name: "json", params: &["paths"], build: structured::build_json },
];

/// Builds the transform a spec names; `Ok(None)` is `keep`.
pub fn build(spec: &Spec<'_>) -> Result<Option<Transform>, String> {
    if spec.name == "keep" {
        if let Some(extra) = spec.params.keys().find(|k| !RULE_PARAMS.contains(&k.as_str())) {
            return Err(format!("transform `keep` takes no parameters, got `{extra}`"));
        }
        return Ok(None);
    }
    let Some(entry) = CATALOGUE.iter().find(|e| e.name == spec.name) else {
        let names: Vec<_> = std::iter::once("keep").chain(CATALOGUE.iter().map(|e| e.name)).collect();
        return Err(format!("unknown transform `{}` (known: {})", spec.name, names.join(", ")));
    };
    if let Some(extra) =
        spec.params.keys().find(|k| !entry.params.contains(&k.as_str()) && !RULE_PARAMS.contains(&k.as_str()))
    {
        return Err(if entry.params.is_empty() {
            format!("transform `{}` takes no parameters, got `{extra}`", entry.name)
        } else {
            format!("transform `{}` has no parameter `{extra}` (it takes: {})", entry.name, entry.params.join(", "))
        });
    }
    let (imp, uniqueness) = (entry.build)(spec)?;
    column::check_output_type(entry.name, spec.column_type)?;
    Ok(Some(Transform { name: entry.name, uniqueness, imp }))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for transform tests.
    use super::*;

    pub fn key() -> SecretKey {
        SecretKey::new(b"test key".to_vec()).unwrap()
    }

    /// Builds `name` with TOML `params` under the test key.
    pub fn build_with(name: &str, params: &str, column_type: Option<&str>) -> Result<Transform, String> {
        let key = key();
        let params: Params = toml::from_str(params).unwrap();
        build(&Spec { name, params: &params, column_type, key: Some(&key), types: &NoTypes })
            .map(|t| t.expect("not keep"))
    }

    /// Applies a transform to a UTF-8 value and returns the UTF-8 output (`None` for NULL).
    pub fn run(t: &Transform, value: &str) -> Option<String> {
        let mut out = Vec::new();
        match t.apply(value.as_bytes(), &Ctx::default(), &mut out) {
            Output::Value => Some(String::from_utf8(out).expect("utf-8 output")),
            Output::Null => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn parameter_errors() {
        let p = |s: &str| -> Params { toml::from_str(s).unwrap() };
        let spec = |name: &'static str, params: &'static Params| Spec {
            name,
            params,
            column_type: None,
            key: None,
            types: &NoTypes,
        };
        let empty: &'static Params = Box::leak(Box::new(p("")));
        assert!(build(&spec("hash", empty)).unwrap_err().contains("SCRUB_SECRET"));
        assert!(build(&spec("bogus", empty)).unwrap_err().contains("unknown transform"));
        let bad_ns: &'static Params = Box::leak(Box::new(p("namespace = 1")));
        assert!(build(&spec("uuid_v5", bad_ns)).unwrap_err().contains("must be a string"));
        let extra: &'static Params = Box::leak(Box::new(p("x = 1")));
        assert!(build(&spec("null", extra)).unwrap_err().contains("no parameters"));
        assert!(build_with("hash", "length = 65", None).unwrap_err().contains("1 to 64"));
    }

    #[test]
    fn keyed_transforms_are_deterministic_and_key_dependent() {
        let other = SecretKey::new(b"another key".to_vec()).unwrap();
        for name in ["hash", "uuid", "email"] {
            let a = build_with(name, "", None).unwrap();
            let params = Params::new();
            let b = build(&Spec { name, params: &params, column_type: None, key: Some(&other), types: &NoTypes })
                .unwrap()
                .unwrap();
            assert_eq!(run(&a, "ilovepgday@conf.de"), run(&a, "ilovepgday@conf.de"));
            assert_ne!(run(&a, "ilovepgday@conf.de"), run(&b, "ilovepgday@conf.de"));
        }
    }
}
