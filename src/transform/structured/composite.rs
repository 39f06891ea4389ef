//! `composite`: nested transforms on named fields of a composite-type value.
//!
//! ```toml
//! columns.avatar = { transform = "composite", fields.file_path = "path", fields.bucket = { transform = "hash", length = 8 } }
//! ```
//!
//! The input is `record_out`'s text: `(f1,"f 2",,"")`. An empty field is NULL, `""` is the empty
//! string; inside quotes `""` is one `"`, and `\` escapes the next byte anywhere. The field names
//! and types come from the dump's `CREATE TYPE ... AS (...)`. Named fields get their transform
//! (a NULL field stays NULL; a NULL result writes an empty field), the others are copied byte for
//! byte; rewritten fields are quoted as `record_out` would (when empty or containing `(`, `)`,
//! `,`, `"`, `\` or whitespace).
//!
//! A value that does not parse, or has a different number of fields than the type, becomes a
//! record of NULL fields.

use super::super::{Built, Ctx, Output, Spec, Transform, Uniqueness, ValueTransform};
use super::{is_space, quote_in_place, with_scratch};

pub(super) struct CompositeT {
    /// One entry per field of the type, `None` = copied.
    fields: Vec<Option<Transform>>,
    /// The column's type was unknown at build time (see [`build`]): `fields` is empty.
    unresolved: bool,
}

/// Builds `composite`. With the column's type known, every named field must exist in the type
/// the dump declares. Without a type (the rules file is checked before any dump is read, or the
/// dump has no DDL for the table) the nested rules are only validated, and every value becomes a
/// record of NULL fields (unless every rule is `keep`): without field names there is no telling
/// which field is which, and copying would fail open.
pub fn build(spec: &Spec<'_>) -> Result<Built, String> {
    let rules = match spec.params.get("fields") {
        Some(toml::Value::Table(t)) if !t.is_empty() => t,
        Some(toml::Value::Table(_)) | None => {
            return Err(
                "transform `composite` needs `fields`: a rule per field to rewrite (`fields.file_path = \"path\"`)"
                    .into(),
            );
        }
        Some(other) => return Err(format!("`fields` must be a table of field = rule, got {other}")),
    };
    let Some(column_type) = spec.column_type else {
        let mut rewrites = false;
        for (name, rule) in rules {
            rewrites |= spec.nested(rule, None).map_err(|e| format!("`fields.{name}`: {e}"))?.is_some();
        }
        // Only `keep` rules: nothing to hide, so the value can be copied after all.
        let imp = CompositeT { fields: Vec::new(), unresolved: rewrites };
        return Ok((Box::new(imp), Uniqueness::MayBreak));
    };
    let declared = spec.types.composite_fields(column_type).ok_or_else(|| {
        let hint = if super::array::element_type(column_type).is_some() {
            " (for an array of composites use `{ transform = \"array\", element = { transform = \"composite\", ... } }`)"
        } else {
            ""
        };
        format!("`{column_type}` is not a composite type declared in the dump (`CREATE TYPE ... AS (...)`){hint}")
    })?;
    let mut fields: Vec<Option<Transform>> = declared.iter().map(|_| None).collect();
    for (name, rule) in rules {
        let Some(at) = declared.iter().position(|(field, _)| field == name) else {
            let names: Vec<&str> = declared.iter().map(|(f, _)| f.as_str()).collect();
            return Err(format!(
                "composite type `{column_type}` has no field `{name}` (its fields: {})",
                names.join(", ")
            ));
        };
        fields[at] = spec.nested(rule, Some(&declared[at].1)).map_err(|e| format!("`fields.{name}`: {e}"))?;
    }
    Ok((Box::new(CompositeT { fields, unresolved: false }), Uniqueness::MayBreak))
}

impl ValueTransform for CompositeT {
    fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let start = out.len();
        if self.unresolved {
            // Type unknown: NULL fields, as many as the value has (or `()` when it does not parse).
            let count = walk(value, &mut |_, _| {}).unwrap_or(0);
            push_nulls(count, out);
            return Output::Value;
        }
        if self.fields.iter().all(Option::is_none) {
            out.extend_from_slice(value);
            return Output::Value;
        }
        let mut copied = 0;
        let mut fields = self.fields.iter();
        let count = walk(value, &mut |field: Field<'_>, _| {
            let Some(Some(t)) = fields.next() else { return };
            if field.raw.is_empty() {
                return; // NULL stays NULL
            }
            out.extend_from_slice(&value[copied..field.at]);
            copied = field.at + field.raw.len();
            let at = out.len();
            let result = if field.raw.iter().any(|&b| b == b'"' || b == b'\\') {
                with_scratch(|decoded| {
                    field.decode_into(decoded);
                    t.apply(decoded, ctx, out)
                })
            } else {
                t.apply(field.raw, ctx, out)
            };
            match result {
                Output::Null => out.truncate(at),
                Output::Value => {
                    if needs_quotes(&out[at..]) {
                        quote_in_place(out, at, true);
                    }
                }
            }
        });
        if count == Some(self.fields.len()) {
            out.extend_from_slice(&value[copied..]);
        } else {
            out.truncate(start);
            push_nulls(self.fields.len(), out);
        }
        Output::Value
    }
}

/// `(,,)`: a record of `count` NULL fields (`()` for none).
fn push_nulls(count: usize, out: &mut Vec<u8>) {
    out.push(b'(');
    out.extend(std::iter::repeat_n(b',', count.saturating_sub(1)));
    out.push(b')');
}

/// One field as it appears in the record text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field<'a> {
    /// Where `raw` starts in the value.
    pub at: usize,
    /// The field's text, quotes and escapes included; empty for NULL.
    pub raw: &'a [u8],
}

impl Field<'_> {
    /// Appends the field's value as `record_in` reads it: quotes removed, `""` inside quotes is
    /// `"`, `\` takes the next byte.
    pub fn decode_into(&self, out: &mut Vec<u8>) {
        let raw = self.raw;
        let mut in_quotes = false;
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'\\' => {
                    if let Some(&b) = raw.get(i + 1) {
                        out.push(b);
                    }
                    i += 2;
                    continue;
                }
                b'"' if in_quotes && raw.get(i + 1) == Some(&b'"') => {
                    out.push(b'"');
                    i += 2;
                    continue;
                }
                b'"' => in_quotes = !in_quotes,
                b => out.push(b),
            }
            i += 1;
        }
    }
}

/// Walks `value` as record text, calling `f` for each field in order. Returns the number of
/// fields, or `None` when the value is not a record's text.
pub(super) fn walk(value: &[u8], f: &mut dyn FnMut(Field<'_>, usize)) -> Option<usize> {
    if value.first() != Some(&b'(') {
        return None;
    }
    let mut i = 1;
    let mut count = 0;
    loop {
        let at = i;
        let mut in_quotes = false;
        loop {
            match *value.get(i)? {
                b'\\' => {
                    value.get(i + 1)?;
                    i += 2;
                    continue;
                }
                b'"' if in_quotes && value.get(i + 1) == Some(&b'"') => i += 1,
                b'"' => in_quotes = !in_quotes,
                b',' | b')' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        f(Field { at, raw: &value[at..i] }, count);
        count += 1;
        let end = value[i] == b')';
        i += 1;
        if end {
            break;
        }
    }
    (i == value.len()).then_some(count)
}

/// Whether `record_out` quotes this field value.
fn needs_quotes(field: &[u8]) -> bool {
    field.is_empty() || field.iter().any(|&b| matches!(b, b'(' | b')' | b',' | b'"' | b'\\') || is_space(b))
}
