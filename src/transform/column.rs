//! What a column's declared type (as pg_dump writes it) means for a transform's output, and
//! small output helpers shared by the transforms in this directory.

/// The integer types, by their value range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    Small,
    Int,
    Big,
}

impl IntKind {
    pub fn min(self) -> i64 {
        match self {
            IntKind::Small => i64::from(i16::MIN),
            IntKind::Int => i64::from(i32::MIN),
            IntKind::Big => i64::MIN,
        }
    }

    pub fn max(self) -> i64 {
        match self {
            IntKind::Small => i64::from(i16::MAX),
            IntKind::Int => i64::from(i32::MAX),
            IntKind::Big => i64::MAX,
        }
    }

    /// Bits of the non-negative half `0..=max` (and of the negative half).
    pub fn bits(self) -> u32 {
        match self {
            IntKind::Small => 15,
            IntKind::Int => 31,
            IntKind::Big => 63,
        }
    }

    /// `smallint`, `int2`, `integer`, `int`, `int4`, `bigint`, `int8` (any case).
    pub fn parse(name: &str) -> Option<IntKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "smallint" | "int2" => Some(IntKind::Small),
            "integer" | "int" | "int4" => Some(IntKind::Int),
            "bigint" | "int8" => Some(IntKind::Big),
            _ => None,
        }
    }
}

/// The base name of a type, lower case, without modifiers or schema: `character varying(20)` →
/// `character varying`, `pg_catalog.int4` → `int4`.
pub fn base_name(column_type: &str) -> String {
    let t = column_type.trim();
    let t = t.split('(').next().unwrap_or(t).trim();
    let t = t.rsplit('.').next().unwrap_or(t);
    t.trim_matches('"').to_ascii_lowercase()
}

/// Whether the type is an array (`text[]`, `_text`).
pub fn is_array(column_type: &str) -> bool {
    column_type.trim_end().ends_with(']')
}

/// The numbers in a type's modifier: `numeric(10,2)` → `[10, 2]`.
pub fn modifiers(column_type: &str) -> Vec<u64> {
    let Some(open) = column_type.find('(') else { return Vec::new() };
    let Some(close) = column_type[open..].find(')') else { return Vec::new() };
    column_type[open + 1..open + close].split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

/// The most characters a value of this type may have: `character varying(20)`, `varchar(20)`,
/// `character(3)`, `char(3)`, `bpchar(3)`. `None` when unbounded or unknown.
pub fn char_limit(column_type: Option<&str>) -> Option<usize> {
    let t = column_type?;
    if is_array(t) {
        return None;
    }
    match base_name(t).as_str() {
        "character varying" | "varchar" | "character" | "char" | "bpchar" => {
            modifiers(t).first().map(|&n| n as usize).filter(|&n| n > 0)
        }
        _ => None,
    }
}

/// Cuts `out[start..]` to at most `limit` characters (UTF-8 characters; each byte of an invalid
/// sequence counts as one character).
pub fn fit_chars(out: &mut Vec<u8>, start: usize, limit: Option<usize>) {
    let Some(limit) = limit else { return };
    if out.len() - start <= limit {
        return;
    }
    let mut chars = 0;
    let mut cut = start;
    for chunk in out[start..].utf8_chunks() {
        for c in chunk.valid().chars() {
            if chars == limit {
                out.truncate(cut);
                return;
            }
            chars += 1;
            cut += c.len_utf8();
        }
        for _ in chunk.invalid() {
            if chars == limit {
                out.truncate(cut);
                return;
            }
            chars += 1;
            cut += 1;
        }
    }
}

/// Counts characters like [`fit_chars`].
pub fn char_count(value: &[u8]) -> usize {
    value.utf8_chunks().map(|c| c.valid().chars().count() + c.invalid().len()).sum()
}

/// Appends a keyed token: the first 10 bytes (80 bits, as `email`'s local part) of `digest` as 16
/// base32 characters (`a-z`, `2-7`), so collisions among billions of distinct inputs stay
/// negligible.
pub fn push_token(digest: &[u8; 32], out: &mut Vec<u8>) {
    super::encode::push_base32(&digest[..10], out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_kinds() {
        assert_eq!(char_limit(Some("character varying(20)")), Some(20));
        assert_eq!(char_limit(Some("varchar(5)")), Some(5));
        assert_eq!(char_limit(Some("character(3)")), Some(3));
        assert_eq!(char_limit(Some("character varying")), None);
        assert_eq!(char_limit(Some("character varying(20)[]")), None);
        assert_eq!(char_limit(Some("text")), None);
        assert_eq!(char_limit(None), None);
        assert_eq!(modifiers("numeric(10, 2)"), vec![10, 2]);
        assert_eq!(IntKind::parse("INTEGER"), Some(IntKind::Int));
        assert_eq!(base_name("pg_catalog.int4"), "int4");
    }

    #[test]
    fn fit_counts_characters() {
        let mut v = "xxäöü€".as_bytes().to_vec();
        fit_chars(&mut v, 2, Some(3));
        assert_eq!(v, "xxäöü".as_bytes());
        let mut v = vec![b'a', 0xff, 0xfe, b'b'];
        fit_chars(&mut v, 0, Some(2));
        assert_eq!(v, [b'a', 0xff]);
        assert_eq!(char_count("äb\u{20ac}".as_bytes()), 3);
    }
}

/// What kind of values a column type holds, as far as transforms must care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    Text,
    Integer,
    Numeric,
    Boolean,
    Uuid,
    DateTime,
    Bytea,
    Json,
    Network,
    Mac,
    Array,
    /// Enums, domains, composite and other types: scrub cannot tell, so it does not object.
    Other,
}

impl TypeClass {
    pub fn of(column_type: &str) -> TypeClass {
        if is_array(column_type) {
            return TypeClass::Array;
        }
        match base_name(column_type).as_str() {
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "citext" | "name" => {
                TypeClass::Text
            }
            "smallint" | "integer" | "bigint" | "int" | "int2" | "int4" | "int8" => TypeClass::Integer,
            "numeric" | "decimal" | "real" | "double precision" | "float4" | "float8" | "money" => TypeClass::Numeric,
            "boolean" | "bool" => TypeClass::Boolean,
            "uuid" => TypeClass::Uuid,
            "date" | "timestamp without time zone" | "timestamp with time zone" | "timestamp" | "timestamptz" => {
                TypeClass::DateTime
            }
            "bytea" => TypeClass::Bytea,
            "json" | "jsonb" => TypeClass::Json,
            "inet" | "cidr" => TypeClass::Network,
            "macaddr" | "macaddr8" => TypeClass::Mac,
            _ => TypeClass::Other,
        }
    }
}

/// Refuses a transform whose output a column of `column_type` cannot hold, so a restore does not
/// fail on the first rewritten row. Transforms that adapt to the type, or whose output depends on
/// the input (`constant`, `regex_replace`, `mask`, `pattern`), are not judged here.
pub fn check_output_type(transform: &str, column_type: Option<&str>) -> Result<(), String> {
    use TypeClass::*;
    let Some(ty) = column_type else { return Ok(()) };
    let class = TypeClass::of(ty);
    let fits: &[TypeClass] = match transform {
        "hash" | "email" | "first_name" | "last_name" | "full_name" | "phone" | "address" | "street" | "city"
        | "postcode" | "country" | "company" | "username" | "url" | "lorem" | "path" | "credit_card" | "iban" => {
            &[Text]
        }
        "uuid" | "uuid_v5" => &[Text, Uuid],
        "int" => &[Text, Integer],
        "noise" => &[Text, Integer, Numeric],
        "date_shift" | "date_truncate" => &[Text, DateTime],
        "ipv4" | "ipv6" => &[Text, Network],
        "mac" => &[Text, Mac],
        "json" => &[Text, Json],
        "array" => &[Array],
        _ => return Ok(()),
    };
    if class == Other || fits.contains(&class) {
        return Ok(());
    }
    Err(format!("transform `{transform}` cannot write values of the column's type `{ty}`"))
}

#[cfg(test)]
mod type_tests {
    use super::*;

    #[test]
    fn outputs_must_fit_the_column_type() {
        assert!(check_output_type("hash", Some("integer")).unwrap_err().contains("`integer`"));
        assert!(check_output_type("hash", Some("character varying(40)")).is_ok());
        assert!(check_output_type("uuid", Some("uuid")).is_ok());
        assert!(check_output_type("email", Some("uuid")).is_err());
        assert!(check_output_type("hash", Some("public.my_domain")).is_ok(), "unknown types are not judged");
        assert!(check_output_type("constant", Some("integer")).is_ok());
        assert!(check_output_type("date_shift", Some("timestamp with time zone")).is_ok());
    }
}
