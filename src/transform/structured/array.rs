//! `array`: a nested transform on every element of a PostgreSQL array.
//!
//! ```toml
//! columns.aliases = { transform = "array", element = { transform = "email" } }
//! ```
//!
//! The input is `array_out`'s text: `{a,"b c",NULL,"NULL","",{nested}}`, possibly after a
//! dimension decoration (`[0:1]={...}`, written when a lower bound is not 1). Elements are
//! separated by the element type's delimiter (`;` for `box`, `,` for every other built-in type)
//! and quoted when they are empty, equal `NULL` in any case, or contain `{`, `}`, `"`, `\`, the
//! delimiter or whitespace; inside quotes `\` escapes the next byte.
//!
//! NULL elements stay NULL and a nested transform that returns NULL writes NULL. Dimensions and
//! nesting stay; only rewritten elements are re-quoted (as `array_out` would), everything else is
//! copied byte for byte. A value that is not an array's text becomes `{}`.

use super::super::column::base_name;
use super::super::{Built, Ctx, Output, Spec, Transform, Uniqueness, ValueTransform};
use super::{is_space, quote_in_place, with_scratch};

pub(super) struct ArrayT {
    element: Option<Transform>,
    delim: u8,
}

/// The element type of an array type as pg_dump writes it: `character varying(20)[]` →
/// `character varying(20)`; `None` when the type is not written as an array.
pub(super) fn element_type(column_type: &str) -> Option<&str> {
    let mut t = column_type.trim_end();
    let mut stripped = false;
    while let Some(rest) = t.strip_suffix(']') {
        let open = rest.rfind('[')?;
        if !rest[open + 1..].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t = rest[..open].trim_end();
        stripped = true;
    }
    (stripped && !t.is_empty()).then_some(t)
}

/// The element delimiter of a type (`typdelim`): `;` for `box`, `,` for the others.
pub(super) fn delimiter(element_type: Option<&str>) -> u8 {
    if element_type.is_some_and(|t| base_name(t) == "box") { b';' } else { b',' }
}

pub fn build(spec: &Spec<'_>) -> Result<Built, String> {
    let rule = spec.params.get("element").ok_or(
        "transform `array` needs `element`, the rule for each element (`element = \"email\"` or `element = { transform = \"hash\", length = 8 }`)",
    )?;
    let element_type = spec.column_type.and_then(element_type);
    let element = spec.nested(rule, element_type).map_err(|e| format!("`element`: {e}"))?;
    let imp = ArrayT { element, delim: delimiter(element_type) };
    Ok((Box::new(imp), Uniqueness::MayBreak))
}

impl ValueTransform for ArrayT {
    fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let Some(element) = &self.element else {
            out.extend_from_slice(value);
            return Output::Value;
        };
        let start = out.len();
        if rewrite(value, self.delim, &mut |raw, out| rewrite_element(element, raw, ctx, out), out).is_none() {
            out.truncate(start);
            out.extend_from_slice(b"{}");
        }
        Output::Value
    }
}

/// Writes one element's new value (unquoted) and says whether it is NULL.
type ElementFn<'f> = dyn FnMut(Element<'_>, &mut Vec<u8>) -> Output + 'f;

/// One non-NULL element as it appears in the array text.
#[derive(Debug, Clone, Copy)]
struct Element<'a> {
    /// The element's bytes between the quotes (or the whole unquoted element).
    inner: &'a [u8],
    /// Whether `inner` contains backslash escapes.
    escaped: bool,
}

impl Element<'_> {
    /// Appends the element's value (escapes removed).
    fn decode_into(&self, out: &mut Vec<u8>) {
        let mut bytes = self.inner.iter();
        while let Some(&b) = bytes.next() {
            if b == b'\\' {
                if let Some(&next) = bytes.next() {
                    out.push(next);
                }
            } else {
                out.push(b);
            }
        }
    }
}

/// Runs `t` on one element's value, appending its output (unquoted).
fn rewrite_element(t: &Transform, raw: Element<'_>, ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
    if raw.escaped {
        with_scratch(|value| {
            raw.decode_into(value);
            t.apply(value, ctx, out)
        })
    } else {
        t.apply(raw.inner, ctx, out)
    }
}

/// Walks `value` as `array_out` text, copying it to `out` and letting `f` write each non-NULL
/// element (unquoted; the walker quotes what `f` wrote when `array_out` would). `None` when the
/// value is not an array's text; `out` then holds partial output for the caller to discard.
fn rewrite(value: &[u8], delim: u8, f: &mut ElementFn<'_>, out: &mut Vec<u8>) -> Option<()> {
    let n = value.len();
    let mut i = 0;
    // Dimension decoration: `[lo:hi]` once per dimension, then `=`.
    if value.first() == Some(&b'[') {
        while value.get(i) == Some(&b'[') {
            i += 1;
            let bound = |i: &mut usize| -> Option<()> {
                if value.get(*i) == Some(&b'-') || value.get(*i) == Some(&b'+') {
                    *i += 1;
                }
                let digits = value[*i..].iter().take_while(|b| b.is_ascii_digit()).count();
                (digits > 0).then(|| *i += digits)
            };
            bound(&mut i)?;
            if value.get(i) == Some(&b':') {
                i += 1;
                bound(&mut i)?;
            }
            (value.get(i) == Some(&b']')).then_some(())?;
            i += 1;
        }
        (value.get(i) == Some(&b'=')).then_some(())?;
        i += 1;
    }
    (value.get(i) == Some(&b'{')).then_some(())?;
    i += 1;
    let mut depth = 1usize;
    // After `{` or a delimiter an item must follow (or `}` right after `{`); after an item, a
    // delimiter or `}`.
    let mut want_item = true;
    let mut after_open = true;
    let mut copied = 0;
    while depth > 0 {
        let c = *value.get(i)?;
        if !want_item {
            if c == delim {
                want_item = true;
                after_open = false;
            } else if c == b'}' {
                depth -= 1;
            } else {
                return None;
            }
            i += 1;
            continue;
        }
        match c {
            b'{' => {
                depth += 1;
                i += 1;
                after_open = true;
                continue;
            }
            b'}' if after_open => {
                // `{}`: an empty array (only valid at the top, but harmless to accept).
                depth -= 1;
                i += 1;
                want_item = false;
                continue;
            }
            b'"' => {
                let mut j = i + 1;
                let mut escaped = false;
                loop {
                    match *value.get(j)? {
                        b'"' => break,
                        b'\\' => {
                            escaped = true;
                            j += 2;
                        }
                        _ => j += 1,
                    }
                }
                out.extend_from_slice(&value[copied..i]);
                emit(Element { inner: &value[i + 1..j], escaped }, delim, f, out);
                i = j + 1;
                copied = i;
            }
            _ => {
                let len = value[i..]
                    .iter()
                    .take_while(|&&b| b != delim && !matches!(b, b'{' | b'}' | b'"' | b'\\') && !is_space(b))
                    .count();
                if len == 0 {
                    return None;
                }
                let inner = &value[i..i + len];
                if !inner.eq_ignore_ascii_case(b"NULL") {
                    out.extend_from_slice(&value[copied..i]);
                    emit(Element { inner, escaped: false }, delim, f, out);
                    copied = i + len;
                }
                i += len;
            }
        }
        want_item = false;
    }
    if i != n {
        return None;
    }
    out.extend_from_slice(&value[copied..]);
    Some(())
}

/// Lets `f` write one element, then quotes it as `array_out` would; a NULL result is a bare
/// `NULL`.
fn emit(raw: Element<'_>, delim: u8, f: &mut ElementFn<'_>, out: &mut Vec<u8>) {
    let at = out.len();
    match f(raw, out) {
        Output::Null => {
            out.truncate(at);
            out.extend_from_slice(b"NULL");
        }
        Output::Value => {
            if needs_quotes(&out[at..], delim) {
                quote_in_place(out, at, false);
            }
        }
    }
}

/// Whether `array_out` quotes this element.
fn needs_quotes(element: &[u8], delim: u8) -> bool {
    element.is_empty()
        || element.eq_ignore_ascii_case(b"NULL")
        || element.iter().any(|&b| b == delim || matches!(b, b'{' | b'}' | b'"' | b'\\') || is_space(b))
}
