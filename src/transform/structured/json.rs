//! `json`: nested transforms on parts of a `json` or `jsonb` document, picked by path.
//!
//! ```toml
//! columns.profile = { transform = "json", paths = { "$.bio" = "lorem", "$.ssn" = "delete", "$.contacts[*].email" = "email", "$.tags[0]" = "keep" } }
//! ```
//!
//! Paths: `$` (the whole document), `.key`, `["key"]` (JSON string syntax) or `['key']`, `[3]`
//! (an array index, counted in the original document), and `.*` or `[*]` (any member or
//! element). Recursive descent (`..`) and negative indexes are not supported.
//!
//! Actions: a rule (`"email"`, `{ transform = "hash", length = 8 }`, `"null"`), `"keep"`, or
//! `"delete"` (the member or array element is removed, with its comma).
//!
//! Which rule applies to a node: the most specific path matching the node itself (at the first
//! segment where two matching paths differ, a key or index beats `*`); without one, the rule of
//! the nearest ancestor that has one. So `"$.tags" = "lorem"` rewrites every string in `tags`,
//! and `"$.tags[0]" = "keep"` then exempts the first; a deleted node takes its subtree with it.
//!
//! What a rule does to a node:
//! * a string: its JSON escapes are decoded, the transform sees the value, and the result is
//!   written as a JSON string (escaped as PostgreSQL's `escape_json` does);
//! * a number or `true`/`false`: the transform sees the token's text; the result is written as is
//!   when it is still a valid JSON number (for a number) or `true`/`false` (for a boolean), else as
//!   a JSON string;
//! * `null` stays `null`; a transform returning NULL writes `null`;
//! * an object or array: the rule is inherited by everything inside it (above), so a string
//!   transform on a container rewrites every string and number below it. Leaving the container
//!   untouched would fail open.
//!
//! Everything no rule touches is copied byte for byte, whitespace and key order included: the
//! document is scanned, never re-serialized. A value that is not valid JSON becomes `null`.

use std::cell::RefCell;

use super::super::column::base_name;
use super::super::{Built, Ctx, Output, Spec, Transform, Uniqueness, ValueTransform};
use super::with_scratch;

/// At most this many paths per column: the set of paths still matching is a `u128`.
const MAX_PATHS: usize = 128;

/// Deeper documents are treated as invalid (PostgreSQL's own limit is its stack depth, which
/// allows a few thousand levels with the default `max_stack_depth`).
const MAX_DEPTH: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(Vec<u8>),
    Index(usize),
    Any,
}

enum Action {
    Keep,
    Delete,
    Apply(Transform),
}

struct Pattern {
    segs: Vec<Seg>,
    action: Action,
    /// Lower wins among paths of the same length matching the same node.
    rank: usize,
}

pub(super) struct JsonT {
    patterns: Vec<Pattern>,
    /// The pattern `$`, when there is one.
    root: Option<usize>,
    /// Patterns with at least one segment.
    below_root: u128,
    /// `jsonb` cannot hold `\u0000`: a NUL in a transform's result is dropped.
    jsonb: bool,
    /// For `jsonb` columns, whose documents are valid JSON and print keys without needless
    /// escapes: the quoted keys one of which a document must contain for any path to match it.
    /// Documents without any (most events, say, when the paths name the rare personal members)
    /// are copied as they are, without being parsed.
    required_keys: Option<aho_corasick::AhoCorasick>,
}

pub fn build(spec: &Spec<'_>) -> Result<Built, String> {
    let table = match spec.params.get("paths") {
        Some(toml::Value::Table(t)) if !t.is_empty() => t,
        Some(toml::Value::Table(_)) | None => {
            return Err(
                "transform `json` needs `paths`: a table of path = rule (`paths = { \"$.email\" = \"email\", \"$.ssn\" = \"delete\" }`)"
                    .into(),
            );
        }
        Some(other) => return Err(format!("`paths` must be a table of path = rule, got {other}")),
    };
    if table.len() > MAX_PATHS {
        return Err(format!("transform `json` takes at most {MAX_PATHS} paths, got {}", table.len()));
    }
    let mut patterns: Vec<Pattern> = Vec::with_capacity(table.len());
    for (path, rule) in table {
        let segs = parse_path(path).map_err(|e| format!("path `{path}`: {e}"))?;
        let is_delete = match rule {
            toml::Value::String(s) => s == "delete",
            toml::Value::Table(t) => t.get("transform").and_then(|v| v.as_str()) == Some("delete"),
            _ => false,
        };
        let action = if is_delete {
            if let toml::Value::Table(t) = rule
                && t.len() > 1
            {
                return Err(format!("path `{path}`: `delete` takes no parameters"));
            }
            if segs.is_empty() {
                return Err(
                    "path `$`: the whole document cannot be deleted (use `transform = \"null\"` or a `constant` on the column)"
                        .into(),
                );
            }
            Action::Delete
        } else {
            match spec.nested(rule, None).map_err(|e| format!("path `{path}`: {e}"))? {
                None => Action::Keep,
                Some(t) => Action::Apply(t),
            }
        };
        if let Some(same) = patterns.iter().find(|p| p.segs == segs) {
            return Err(format!("path `{path}` names the same nodes as another path ({})", describe(&same.segs)));
        }
        patterns.push(Pattern { segs, action, rank: 0 });
    }
    // Specificity: compare the wildcard flags segment by segment, a concrete segment first.
    let mut order: Vec<usize> = (0..patterns.len()).collect();
    order.sort_by_key(|&i| patterns[i].segs.iter().map(|s| *s == Seg::Any).collect::<Vec<bool>>());
    for (rank, &i) in order.iter().enumerate() {
        patterns[i].rank = rank;
    }
    let root = patterns.iter().position(|p| p.segs.is_empty());
    let below_root = patterns.iter().enumerate().filter(|(_, p)| !p.segs.is_empty()).fold(0, |m, (i, _)| m | 1 << i);
    let jsonb = spec.column_type.is_some_and(|t| base_name(t) == "jsonb");
    let required_keys = if jsonb { required_keys(&patterns) } else { None };
    Ok((Box::new(JsonT { patterns, root, below_root, jsonb, required_keys }), Uniqueness::MayBreak))
}

/// The last key of every path, quoted, if every path has a key that prints without escapes.
fn required_keys(patterns: &[Pattern]) -> Option<aho_corasick::AhoCorasick> {
    let mut needles = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let key = pattern.segs.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k),
            _ => None,
        })?;
        if key.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f) {
            return None;
        }
        needles.push([&b"\""[..], key, b"\""].concat());
    }
    aho_corasick::AhoCorasick::new(needles).ok()
}

/// A path in its canonical form, for messages.
fn describe(segs: &[Seg]) -> String {
    let mut s = String::from("$");
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                s.push_str(&format!("[{}]", serde_json::to_string(&String::from_utf8_lossy(k)).unwrap_or_default()))
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Any => s.push_str("[*]"),
        }
    }
    s
}

/// Parses `$.a["b c"][0][*].*`.
fn parse_path(path: &str) -> Result<Vec<Seg>, String> {
    let b = path.as_bytes();
    if b.first() != Some(&b'$') {
        return Err("a path starts with `$` (the document), as in `$.user.email`".into());
    }
    let mut segs = Vec::new();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                match b.get(i) {
                    Some(b'*') => {
                        segs.push(Seg::Any);
                        i += 1;
                    }
                    Some(b'.') => {
                        return Err("recursive descent `..` is not supported: name each level or use `*`".into());
                    }
                    _ => {
                        let len = path[i..]
                            .find(|c: char| matches!(c, '.' | '[' | ']' | '"' | '\'' | '*') || c.is_whitespace())
                            .unwrap_or(path.len() - i);
                        if len == 0 {
                            return Err(format!(
                                "expected a key after `.` at byte {i} (quote unusual keys: `[\"key with space\"]`)"
                            ));
                        }
                        segs.push(Seg::Key(b[i..i + len].to_vec()));
                        i += len;
                    }
                }
            }
            b'[' => {
                i += 1;
                let seg = match b.get(i) {
                    Some(b'*') => {
                        i += 1;
                        Seg::Any
                    }
                    Some(b'0'..=b'9') => {
                        let len = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                        let n = path[i..i + len]
                            .parse()
                            .map_err(|_| format!("index `{}` is too large", &path[i..i + len]))?;
                        i += len;
                        Seg::Index(n)
                    }
                    Some(b'-') => return Err("negative indexes are not supported".into()),
                    Some(b'"') => {
                        let mut j = i + 1;
                        while j < b.len() && b[j] != b'"' {
                            j += if b[j] == b'\\' { 2 } else { 1 };
                        }
                        if j >= b.len() {
                            return Err("unclosed `\"` in a key".into());
                        }
                        let key: String = serde_json::from_str(&path[i..=j])
                            .map_err(|e| format!("`{}` is not a JSON string: {e}", &path[i..=j]))?;
                        i = j + 1;
                        Seg::Key(key.into_bytes())
                    }
                    Some(b'\'') => {
                        let mut key = Vec::new();
                        let mut j = i + 1;
                        loop {
                            match b.get(j) {
                                None => return Err("unclosed `'` in a key".into()),
                                Some(b'\'') => break,
                                Some(b'\\') if matches!(b.get(j + 1), Some(b'\'' | b'\\')) => {
                                    key.push(b[j + 1]);
                                    j += 2;
                                }
                                Some(&c) => {
                                    key.push(c);
                                    j += 1;
                                }
                            }
                        }
                        i = j + 1;
                        Seg::Key(key)
                    }
                    _ => return Err(format!("expected `*`, an index or a quoted key after `[` at byte {}", i - 1)),
                };
                if b.get(i) != Some(&b']') {
                    return Err(format!("expected `]` at byte {i}"));
                }
                i += 1;
                segs.push(seg);
            }
            _ => {
                let c = path[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected `{c}` at byte {i}: segments are `.key`, `[\"key\"]`, `[0]` or `[*]`"));
            }
        }
    }
    Ok(segs)
}

/// An open object or array.
struct Frame {
    obj: bool,
    /// Where the opening bracket is.
    open: usize,
    /// Where the first member starts (once seen).
    first: usize,
    /// Members (or elements) seen so far.
    members: usize,
    /// Whether a member has been kept (written) so far.
    kept_any: bool,
    /// Patterns that matched the path down to this container and go deeper.
    active: u128,
    /// The pattern whose transform members without a rule of their own inherit.
    inherit: Option<usize>,
    /// Inside a deleted subtree: nothing is written or rewritten.
    frozen: bool,
    /// The current member is being deleted.
    deleting: bool,
    /// Where the previous member's value ended.
    prev_end: usize,
}

thread_local! {
    static FRAMES: RefCell<Vec<Vec<Frame>>> = const { RefCell::new(Vec::new()) };
}

fn with_frames<R>(f: impl FnOnce(&mut Vec<Frame>) -> R) -> R {
    let mut stack = FRAMES.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    stack.clear();
    let r = f(&mut stack);
    if stack.capacity() <= 4096 {
        FRAMES.with(|p| p.borrow_mut().push(stack));
    }
    r
}

/// The context of the next value.
#[derive(Clone, Copy)]
struct Node {
    /// The pattern whose transform applies (its own, or inherited).
    apply: Option<usize>,
    /// Patterns that may match below it.
    active: u128,
    frozen: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scalar {
    String,
    Number,
    Bool,
}

enum State {
    Value,
    /// In an object, before a key (or the closing brace when `first`).
    Key {
        first: bool,
    },
    /// In an array, before an element (or the closing bracket when `first`).
    Element {
        first: bool,
    },
    /// A value just ended at `i`.
    After,
}

impl ValueTransform for JsonT {
    fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        if let Some(keys) = &self.required_keys
            && !keys.is_match(value)
        {
            out.extend_from_slice(value);
            return Output::Value;
        }
        let start = out.len();
        if with_frames(|stack| self.rewrite(value, ctx, out, stack)).is_none() {
            out.truncate(start);
            out.extend_from_slice(b"null");
        }
        Output::Value
    }
}

/// Copies `s[*copied..to]` to `out`.
fn flush(s: &[u8], copied: &mut usize, to: usize, out: &mut Vec<u8>) {
    if to > *copied {
        out.extend_from_slice(&s[*copied..to]);
        *copied = to;
    }
}

impl JsonT {
    /// Scans `s`, copying it to `out` with the rules' edits spliced in. `None` when `s` is not
    /// JSON; `out` then holds partial output.
    fn rewrite(&self, s: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>, stack: &mut Vec<Frame>) -> Option<()> {
        let mut copied = 0;
        let mut i = skip_ws(s, 0);
        let root_apply = self.root.filter(|&p| matches!(self.patterns[p].action, Action::Apply(_)));
        let mut node = Node { apply: root_apply, active: self.below_root, frozen: false };
        let mut state = State::Value;
        loop {
            match state {
                State::Value => {
                    let c = *s.get(i)?;
                    let (end, kind) = match c {
                        b'{' | b'[' => {
                            if stack.len() >= MAX_DEPTH {
                                return None;
                            }
                            let obj = c == b'{';
                            stack.push(Frame {
                                obj,
                                open: i,
                                first: 0,
                                members: 0,
                                kept_any: false,
                                active: node.active,
                                inherit: node.apply,
                                frozen: node.frozen,
                                deleting: false,
                                prev_end: 0,
                            });
                            i += 1;
                            state = if obj { State::Key { first: true } } else { State::Element { first: true } };
                            continue;
                        }
                        b'"' => (scan_string(s, i)?, Some(Scalar::String)),
                        b'-' | b'0'..=b'9' => (scan_number(s, i)?, Some(Scalar::Number)),
                        b't' if s[i..].starts_with(b"true") => (i + 4, Some(Scalar::Bool)),
                        b'f' if s[i..].starts_with(b"false") => (i + 5, Some(Scalar::Bool)),
                        b'n' if s[i..].starts_with(b"null") => (i + 4, None),
                        _ => return None,
                    };
                    if let (Some(kind), Some(p), false) = (kind, node.apply, node.frozen) {
                        flush(s, &mut copied, i, out);
                        let raw = if kind == Scalar::String { &s[i + 1..end - 1] } else { &s[i..end] };
                        self.replace(p, kind, raw, ctx, out);
                        copied = end;
                    }
                    i = end;
                    state = State::After;
                }
                State::Key { first } => {
                    i = skip_ws(s, i);
                    match s.get(i) {
                        Some(b'}') if first => {
                            stack.pop();
                            i += 1;
                            state = State::After;
                            continue;
                        }
                        Some(b'"') => {}
                        _ => return None,
                    }
                    let key_end = scan_string(s, i)?;
                    let key = &s[i + 1..key_end - 1];
                    let depth = stack.len() - 1;
                    let active = stack.last()?.active;
                    let (own, active) = if active == 0 {
                        (None, 0)
                    } else if key.contains(&b'\\') {
                        with_scratch(|decoded| {
                            decode_string(key, decoded);
                            self.resolve(active, depth, Some(decoded), 0)
                        })
                    } else {
                        self.resolve(active, depth, Some(key), 0)
                    };
                    let top = stack.last_mut()?;
                    node = self.begin_member(top, i, own, active, s, &mut copied, out);
                    i = skip_ws(s, key_end);
                    if s.get(i) != Some(&b':') {
                        return None;
                    }
                    i = skip_ws(s, i + 1);
                    state = State::Value;
                }
                State::Element { first } => {
                    i = skip_ws(s, i);
                    let depth = stack.len() - 1;
                    let top = stack.last_mut()?;
                    if first && s.get(i) == Some(&b']') {
                        stack.pop();
                        i += 1;
                        state = State::After;
                        continue;
                    }
                    let (own, active) =
                        if top.active == 0 { (None, 0) } else { self.resolve(top.active, depth, None, top.members) };
                    node = self.begin_member(top, i, own, active, s, &mut copied, out);
                    state = State::Value;
                }
                State::After => {
                    let end = i;
                    let Some(top) = stack.last_mut() else {
                        if skip_ws(s, i) != s.len() {
                            return None;
                        }
                        flush(s, &mut copied, s.len(), out);
                        return Some(());
                    };
                    if top.deleting {
                        copied = end;
                        top.deleting = false;
                    }
                    top.prev_end = end;
                    top.members += 1;
                    i = skip_ws(s, i);
                    match s.get(i) {
                        Some(b',') => {
                            i += 1;
                            state = if top.obj { State::Key { first: false } } else { State::Element { first: false } };
                        }
                        Some(b'}') if top.obj => {
                            stack.pop();
                            i += 1;
                        }
                        Some(b']') if !top.obj => {
                            stack.pop();
                            i += 1;
                        }
                        _ => return None,
                    }
                }
            }
        }
    }

    /// The rule of a child at segment `depth` (a member named `key`, or else the element at
    /// `index`): the best pattern ending there, and the patterns that go deeper.
    fn resolve(&self, active: u128, depth: usize, key: Option<&[u8]>, index: usize) -> (Option<usize>, u128) {
        let mut own: Option<usize> = None;
        let mut deeper = 0u128;
        let mut bits = active;
        while bits != 0 {
            let p = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let pattern = &self.patterns[p];
            let hit = match (&pattern.segs[depth], key) {
                (Seg::Any, _) => true,
                (Seg::Key(want), Some(key)) => want.as_slice() == key,
                (Seg::Index(want), None) => *want == index,
                _ => false,
            };
            if !hit {
                continue;
            }
            if pattern.segs.len() == depth + 1 {
                if own.is_none_or(|o| pattern.rank < self.patterns[o].rank) {
                    own = Some(p);
                }
            } else {
                deeper |= 1 << p;
            }
        }
        (own, deeper)
    }

    /// Starts a member (or element) at `at`: decides whether it is deleted, and repairs the
    /// separator when it is the first one written after deleted ones.
    #[allow(clippy::too_many_arguments)]
    fn begin_member(
        &self,
        top: &mut Frame,
        at: usize,
        own: Option<usize>,
        active: u128,
        s: &[u8],
        copied: &mut usize,
        out: &mut Vec<u8>,
    ) -> Node {
        if top.members == 0 {
            top.first = at;
        }
        let (apply, delete) = match own.map(|p| (p, &self.patterns[p].action)) {
            Some((_, Action::Delete)) => (None, true),
            Some((_, Action::Keep)) => (None, false),
            Some((p, Action::Apply(_))) => (Some(p), false),
            None => (top.inherit, false),
        };
        let node = Node { apply, active, frozen: top.frozen || delete };
        if top.frozen {
            return node;
        }
        let lead = if top.members == 0 { top.open + 1 } else { top.prev_end };
        if delete {
            // Drop the separator before it and the member; `After` skips to its end.
            flush(s, copied, lead, out);
            top.deleting = true;
        } else {
            if !top.kept_any && top.members > 0 {
                // Everything before was deleted: no comma, and the whitespace the first member had.
                flush(s, copied, lead, out);
                out.extend_from_slice(&s[top.open + 1..top.first]);
                *copied = at;
            }
            top.kept_any = true;
        }
        node
    }

    /// Writes pattern `p`'s transform of a scalar (`raw`: a string's text between the quotes, or
    /// the token).
    fn replace(&self, p: usize, kind: Scalar, raw: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) {
        let Action::Apply(t) = &self.patterns[p].action else {
            out.extend_from_slice(raw);
            return;
        };
        with_scratch(|result| {
            let r = if kind == Scalar::String && raw.contains(&b'\\') {
                with_scratch(|value| {
                    decode_string(raw, value);
                    t.apply(value, ctx, result)
                })
            } else {
                t.apply(raw, ctx, result)
            };
            let as_is = match kind {
                Scalar::String => false,
                Scalar::Number => is_number(result),
                Scalar::Bool => result.as_slice() == b"true" || result.as_slice() == b"false",
            };
            match r {
                Output::Null => out.extend_from_slice(b"null"),
                Output::Value if as_is => out.extend_from_slice(result),
                Output::Value => push_string(result, self.jsonb, out),
            }
        });
    }
}

/// JSON whitespace.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

fn hex4(s: &[u8], at: usize) -> Option<u32> {
    let h = s.get(at..at + 4)?;
    h.iter().try_fold(0u32, |acc, &c| Some(acc * 16 + (c as char).to_digit(16)?))
}

/// The end of the string starting at `s[i] == '"'`, after validating it as PostgreSQL does:
/// no raw control characters, known escapes only, surrogates in pairs. Bytes ≥ 0x80 pass
/// unchecked (the dump may be in any server encoding).
fn scan_string(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *s.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => match *s.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    let cp = hex4(s, j + 2)?;
                    j += 6;
                    if (0xd800..0xdc00).contains(&cp) {
                        if s.get(j..j + 2) != Some(b"\\u") || !(0xdc00..0xe000).contains(&hex4(s, j + 2)?) {
                            return None;
                        }
                        j += 6;
                    } else if (0xdc00..0xe000).contains(&cp) {
                        return None;
                    }
                }
                _ => return None,
            },
            0..=0x1f => return None,
            _ => j += 1,
        }
    }
}

/// The end of the number starting at `s[i]` (RFC 8259 grammar).
fn scan_number(s: &[u8], mut i: usize) -> Option<usize> {
    let digits = |i: usize| s[i.min(s.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
    if s.get(i) == Some(&b'-') {
        i += 1;
    }
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return None,
    }
    if s.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

/// Whether `v` is exactly one JSON number.
fn is_number(v: &[u8]) -> bool {
    !v.is_empty() && scan_number(v, 0) == Some(v.len())
}

/// Appends the value of a validated JSON string's inner text.
fn decode_string(inner: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = inner.get(i + 1) else { return };
        i += 2;
        let simple = match e {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut cp = hex4(inner, i).unwrap_or(0xfffd);
                i += 4;
                if (0xd800..0xdc00).contains(&cp)
                    && inner.get(i..i + 2) == Some(b"\\u")
                    && let Some(lo) = hex4(inner, i + 2).filter(|lo| (0xdc00..0xe000).contains(lo))
                {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
                let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            other => other,
        };
        out.push(simple);
    }
}

/// Appends `v` as a JSON string, escaped as PostgreSQL's `escape_json`: `"`, `\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, other control characters as `\u00xx`; other bytes as they are.
fn push_string(v: &[u8], jsonb: bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in v {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0 if jsonb => {}
            0..=0x1f => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
pub(super) mod testing {
    //! Internals for the structured tests.
    pub fn path_error(path: &str) -> Option<String> {
        super::parse_path(path).err()
    }

    pub fn is_number(v: &[u8]) -> bool {
        super::is_number(v)
    }
}
