//! Structured values: `array`, `composite` and `json`. Each parses the type's own text output
//! (what `::text` shows, COPY escapes already removed), runs a nested transform on some of the
//! parts and writes the type's text form again. Parts no rule touches are copied byte for byte;
//! rewritten parts are quoted the way the type's output function would quote them.
//!
//! Nested rules (`element`, `fields.*`, `paths.*`) take the same forms as a column rule and are
//! built with [`Spec::nested`](super::Spec::nested).
//!
//! A value that does not parse as the type's output (it cannot come from PostgreSQL, so the rule
//! is on the wrong column or the dump is damaged) is replaced by a fixed value that reveals
//! nothing: `{}` for arrays, a record of NULL fields for composites, `null` for json. Failing open
//! (copying it) could leak exactly what the rule was written to remove.
//!
//! All three are [`Uniqueness::MayBreak`](super::Uniqueness::MayBreak): the nested transforms
//! may merge values, and json paths may delete the parts that made two documents different.

mod array;
mod composite;
mod json;
#[cfg(test)]
mod tests;

use std::cell::RefCell;

pub use array::build as build_array;
pub use composite::build as build_composite;
pub use json::build as build_json;

thread_local! {
    /// Reusable byte buffers: a value's rewrite borrows what it needs and gives it back, so the
    /// steady state allocates nothing. A stack, not a single buffer, because nested transforms
    /// (an array of composites, a json string holding json) borrow again while one is out.
    static SCRATCH: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Buffers larger than this are dropped instead of pooled, so one huge value does not pin memory.
const KEEP_CAPACITY: usize = 1 << 20;

/// Runs `f` with an empty scratch buffer from the thread's pool.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut buf = SCRATCH.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    buf.clear();
    let r = f(&mut buf);
    if buf.capacity() <= KEEP_CAPACITY {
        SCRATCH.with(|p| p.borrow_mut().push(buf));
    }
    r
}

/// Whitespace as C's `isspace` in the C locale: what `array_out` and `record_out` quote.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Wraps `out[start..]` in double quotes, escaping `"` and `\` in place: with a backslash
/// (`array_out`) or by doubling them (`record_out`).
fn quote_in_place(out: &mut Vec<u8>, start: usize, double: bool) {
    let special = |b: u8| b == b'"' || b == b'\\';
    let extra = out[start..].iter().filter(|&&b| special(b)).count();
    let old = out.len();
    out.resize(old + extra + 2, 0);
    let mut w = out.len() - 1;
    out[w] = b'"';
    let mut r = old;
    while r > start {
        r -= 1;
        let b = out[r];
        w -= 1;
        out[w] = b;
        if special(b) {
            w -= 1;
            out[w] = if double { b } else { b'\\' };
        }
    }
    debug_assert_eq!(w, start + 1);
    out[start] = b'"';
}
