//! The phases that decide which rows a subset keeps, over tables read one at a time.
//!
//! Phase D (downward) goes parents first along the filtering edges: a row is in D when its own
//! rule keeps it, every non-null filtering reference finds its parent in D, and it is within its
//! table's limit. Phase K (kept) goes children first along the pulling edges: a row kept anywhere
//! pulls in the rows it references. A table is read in phase D only if it has a rule, filtering
//! references or rows others reference, and in phase K only if something may be pulled into it or
//! it references a `referenced_only` table. Components of the graph that are cycles (a
//! self-reference, or tables referencing each other) are loaded into memory compactly (the keys of
//! each row) and iterated to their fixed point. This module reads rows through [`RowSource`] and
//! never writes any.

use std::collections::HashMap;

use roaring::RoaringTreemap;

use super::graph::{self, Graph, Own};
use super::keys::{Budget, KeySet, KeyValue, key_of};
use crate::copy::{decode_field, split_row};
use crate::error::Result;
use crate::transform::SecretKey;

/// Sees one row: its index in the table and its raw COPY text; an error names the problem.
pub type EachRow<'a> = dyn FnMut(u64, &[u8]) -> Result<(), String> + 'a;

/// Reads the rows of one table.
pub trait RowSource {
    /// Calls `each(index, row)` for every row of table `node` (raw COPY text without its line
    /// ending) in dump order. A `String` error from `each` is a problem with that row; the source
    /// reports it with the table and position.
    fn scan(&mut self, node: usize, each: &mut EachRow<'_>) -> Result<()>;
}

/// Which rows of a table are kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Kept {
    All,
    Rows(RoaringTreemap),
}

impl Kept {
    pub fn contains(&self, row: u64) -> bool {
        match self {
            Kept::All => true,
            Kept::Rows(r) => r.contains(row),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Kept::Rows(r) if r.is_empty())
    }
}

/// What the phases decided for one table.
#[derive(Debug)]
pub struct Decided {
    pub kept: Kept,
    /// Rows in D, when the table was read in phase D.
    pub selected: Option<u64>,
    /// Rows added in phase K.
    pub pulled: u64,
}

/// The result of the phases: per node, and the final key sets (of kept rows).
pub struct Outcome {
    pub tables: Vec<Decided>,
    pub present: Vec<KeySet>,
}

/// A row split into raw fields.
struct RowView<'r> {
    row: &'r [u8],
    spans: &'r [std::ops::Range<usize>],
}

impl RowView<'_> {
    fn key(&self, kind: super::keys::KeyKind, cols: &[usize]) -> KeyValue {
        let mut fields: [&[u8]; 8] = [&[]; 8];
        if cols.len() <= fields.len() {
            for (f, &c) in fields.iter_mut().zip(cols) {
                *f = &self.row[self.spans[c].clone()];
            }
            return key_of(kind, &fields[..cols.len()]);
        }
        let fields: Vec<&[u8]> = cols.iter().map(|&c| &self.row[self.spans[c].clone()]).collect();
        key_of(kind, &fields)
    }
}

struct Planner<'a, S: RowSource> {
    g: &'a Graph,
    src: &'a mut S,
    budget: &'a Budget,
    key: Option<&'a SecretKey>,
    present: Vec<KeySet>,
    required: Vec<Option<KeySet>>,
    d: Vec<Kept>,
    selected: Vec<Option<u64>>,
}

fn io_msg(e: std::io::Error) -> String {
    format!("key set spill file in --temp-dir: {e}")
}

/// Runs both phases.
pub fn run<S: RowSource>(g: &Graph, src: &mut S, budget: &Budget, key: Option<&SecretKey>) -> Result<Outcome> {
    let present = g.keysets.iter().map(|k| KeySet::new(k.kind)).collect();
    let required = (0..g.keysets.len())
        .map(|k| g.edges.iter().any(|e| e.keyset == k && e.pulls).then(|| KeySet::new(g.keysets[k].kind)))
        .collect();
    let mut p = Planner { g, src, budget, key, present, required, d: Vec::new(), selected: vec![None; g.nodes.len()] };
    p.d = vec![Kept::All; g.nodes.len()];
    let down = g.adjacency(|e| e.filtering);
    for scc in graph::components(&down) {
        if graph::is_cyclic(&scc, &down) {
            p.down_cycle(&scc)?;
        } else {
            p.down_one(scc[0])?;
        }
    }
    let pull = g.adjacency(|e| e.pulls);
    let mut tables: Vec<Decided> =
        p.d.iter().zip(&p.selected).map(|(d, s)| Decided { kept: d.clone(), selected: *s, pulled: 0 }).collect();
    for scc in graph::components(&pull).into_iter().rev() {
        if graph::is_cyclic(&scc, &pull) {
            p.pull_cycle(&scc, &mut tables)?;
        } else {
            p.pull_one(scc[0], &mut tables[scc[0]])?;
        }
    }
    Ok(Outcome { tables, present: p.present })
}

/// Evaluates `own(r)` for the rows of one table.
struct OwnEval<'a> {
    own: &'a Own,
    columns: Vec<usize>,
    decoded: Vec<u8>,
    at: Vec<Option<std::ops::Range<usize>>>,
    digest: Option<crate::transform::Keyed>,
    buf: Vec<u8>,
}

impl<'a> OwnEval<'a> {
    fn new(node: &'a graph::Node, key: Option<&SecretKey>) -> Self {
        let (columns, digest) = match &node.own {
            Own::Rule { filter, sample } => {
                let prefix = format!("scrub subset\0{}.{}\0", node.name.schema, node.name.name);
                (
                    filter.as_ref().map(|f| f.column_indices()).unwrap_or_default(),
                    sample.as_ref().and(key).map(|k| k.keyed_exact(prefix.as_bytes())),
                )
            }
            _ => (Vec::new(), None),
        };
        OwnEval {
            own: &node.own,
            columns,
            decoded: Vec::new(),
            at: vec![None; node.columns.len()],
            digest,
            buf: Vec::new(),
        }
    }

    fn eval(&mut self, r: &RowView<'_>) -> Result<bool, String> {
        let (filter, sample) = match self.own {
            Own::All => return Ok(true),
            Own::None => return Ok(false),
            Own::Rule { filter, sample } => (filter, sample),
        };
        if let Some(filter) = filter {
            self.decoded.clear();
            for &c in &self.columns {
                let raw = &r.row[r.spans[c].clone()];
                self.at[c] = if raw == crate::copy::NULL_FIELD {
                    None
                } else {
                    let start = self.decoded.len();
                    decode_field(raw, &mut self.decoded)
                        .map_err(|_| "escape sequence produces a NUL byte".to_string())?;
                    Some(start..self.decoded.len())
                };
            }
            let (decoded, at) = (&self.decoded, &self.at);
            if !filter.matches(|i| at[i].clone().map(|range| &decoded[range])) {
                return Ok(false);
            }
        }
        if let (Some(sample), Some(digest)) = (sample, &self.digest) {
            self.buf.clear();
            if sample.key_columns.is_empty() {
                self.buf.extend_from_slice(r.row);
            }
            for (i, &c) in sample.key_columns.iter().enumerate() {
                if i > 0 {
                    self.buf.push(0);
                }
                self.buf.extend_from_slice(&r.row[r.spans[c].clone()]);
            }
            let d = digest.digest(&self.buf);
            let top = u64::from_be_bytes(d[..8].try_into().unwrap_or_default());
            if u128::from(top) >= sample.threshold {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Splits a row and checks its field count.
fn split(row: &[u8], ncols: usize, spans: &mut Vec<std::ops::Range<usize>>) -> Result<(), String> {
    split_row(row, spans).map_err(|e| e.msg)?;
    if spans.len() != ncols {
        return Err(format!("row has {} field(s), the COPY header names {ncols} column(s)", spans.len()));
    }
    Ok(())
}

impl<S: RowSource> Planner<'_, S> {
    fn down_one(&mut self, n: usize) -> Result<()> {
        let g = self.g;
        let node = &g.nodes[n];
        if matches!(node.own, Own::None) {
            self.d[n] = Kept::Rows(RoaringTreemap::new());
            self.selected[n] = Some(0);
            return Ok(());
        }
        let out: Vec<&graph::Edge> = g.edges.iter().filter(|e| e.child == n && e.filtering).collect();
        if matches!(node.own, Own::All) && node.limit.is_none() && out.is_empty() && node.memberships.is_empty() {
            return Ok(()); // every row, and nobody looks at its keys
        }
        let mut own = OwnEval::new(node, self.key);
        let mut kept = RoaringTreemap::new();
        let mut spans = Vec::new();
        let (present, budget) = (&mut self.present, self.budget);
        let mut count = 0u64;
        let mut rows = 0u64;
        self.src.scan(n, &mut |i, row| {
            rows += 1;
            split(row, node.columns.len(), &mut spans)?;
            let r = RowView { row, spans: &spans };
            if node.limit.is_some_and(|l| count >= l) || !own.eval(&r)? {
                return Ok(());
            }
            for e in &out {
                let v = r.key(g.keysets[e.keyset].kind, &e.child_columns);
                if v != KeyValue::Null && !present[e.keyset].holds(v).map_err(io_msg)? {
                    return Ok(());
                }
            }
            count += 1;
            kept.insert(i);
            for (ks, cols) in &node.memberships {
                if let KeyValue::Key(k) = r.key(g.keysets[*ks].kind, cols) {
                    present[*ks].insert(k, budget).map_err(io_msg)?;
                }
            }
            Ok(())
        })?;
        self.selected[n] = Some(count);
        self.d[n] = if count == rows && node.limit.is_none() { Kept::All } else { Kept::Rows(kept) };
        Ok(())
    }

    /// A cycle of filtering references: candidates are the rows passing their own rule, the
    /// references leaving the cycle and the limit; then rows whose reference inside the cycle
    /// finds no candidate are removed until none is.
    fn down_cycle(&mut self, scc: &[usize]) -> Result<()> {
        let g = self.g;
        let inside = |ks: usize| g.keysets[ks].members.iter().any(|m| scc.contains(m));
        struct Cand {
            node: usize,
            row: u64,
            fks: Vec<(usize, KeyValue)>,
            keys: Vec<(usize, KeyValue)>,
        }
        let mut cands: Vec<Cand> = Vec::new();
        for &n in scc {
            let node = &g.nodes[n];
            if matches!(node.own, Own::None) {
                self.d[n] = Kept::Rows(RoaringTreemap::new());
                self.selected[n] = Some(0);
                continue;
            }
            let out: Vec<(usize, &graph::Edge)> =
                g.edges.iter().enumerate().filter(|(_, e)| e.child == n && e.filtering).collect();
            let mut own = OwnEval::new(node, self.key);
            let mut spans = Vec::new();
            let present = &self.present;
            let mut count = 0u64;
            self.src.scan(n, &mut |i, row| {
                split(row, node.columns.len(), &mut spans)?;
                let r = RowView { row, spans: &spans };
                if node.limit.is_some_and(|l| count >= l) || !own.eval(&r)? {
                    return Ok(());
                }
                let mut fks = Vec::new();
                for (k, e) in &out {
                    let v = r.key(g.keysets[e.keyset].kind, &e.child_columns);
                    if inside(e.keyset) {
                        fks.push((*k, v));
                    } else if v != KeyValue::Null && !present[e.keyset].holds(v).map_err(io_msg)? {
                        return Ok(());
                    }
                }
                count += 1;
                let keys = node.memberships.iter().map(|(ks, cols)| (*ks, r.key(g.keysets[*ks].kind, cols))).collect();
                cands.push(Cand { node: n, row: i, fks, keys });
                Ok(())
            })?;
        }
        let mut counts: HashMap<(usize, u128), u32> = HashMap::new();
        let mut refs: HashMap<(usize, u128), Vec<usize>> = HashMap::new();
        for (c, cand) in cands.iter().enumerate() {
            for (ks, v) in &cand.keys {
                if let KeyValue::Key(k) = v {
                    *counts.entry((*ks, *k)).or_default() += 1;
                }
            }
            for (e, v) in &cand.fks {
                if let KeyValue::Key(k) = v {
                    refs.entry((g.edges[*e].keyset, *k)).or_default().push(c);
                }
            }
        }
        let mut alive = vec![true; cands.len()];
        let mut work: Vec<usize> = (0..cands.len()).collect();
        while let Some(c) = work.pop() {
            if !alive[c] {
                continue;
            }
            let mut ok = true;
            for (e, v) in &cands[c].fks {
                let ks = g.edges[*e].keyset;
                ok &= match v {
                    KeyValue::Null => true,
                    KeyValue::Never => false,
                    KeyValue::Key(k) => {
                        counts.get(&(ks, *k)).is_some_and(|n| *n > 0)
                            || self.present[ks].contains(*k).map_err(|e| crate::error::Error::io("a key set", e))?
                    }
                };
            }
            if ok {
                continue;
            }
            alive[c] = false;
            for (ks, v) in &cands[c].keys {
                if let KeyValue::Key(k) = v
                    && let Some(n) = counts.get_mut(&(*ks, *k))
                {
                    *n -= 1;
                    if *n == 0
                        && let Some(rs) = refs.get(&(*ks, *k))
                    {
                        work.extend(rs.iter().copied().filter(|&r| alive[r]));
                    }
                }
            }
        }
        for &n in scc {
            if !matches!(g.nodes[n].own, Own::None) {
                self.d[n] = Kept::Rows(RoaringTreemap::new());
                self.selected[n] = Some(0);
            }
        }
        for (c, cand) in cands.iter().enumerate().filter(|(c, _)| alive[*c]) {
            let _ = c;
            if let Kept::Rows(r) = &mut self.d[cand.node] {
                r.insert(cand.row);
            }
            if let Some(s) = &mut self.selected[cand.node] {
                *s += 1;
            }
            for (ks, v) in &cand.keys {
                if let KeyValue::Key(k) = v {
                    self.present[*ks].insert(*k, self.budget).map_err(|e| crate::error::Error::io("a key set", e))?;
                }
            }
        }
        Ok(())
    }

    fn pull_one(&mut self, n: usize, decided: &mut Decided) -> Result<()> {
        let g = self.g;
        let node = &g.nodes[n];
        let wanted: Vec<(usize, &Vec<usize>)> = node
            .memberships
            .iter()
            .filter(|(ks, _)| self.required[*ks].as_ref().is_some_and(|r| !r.is_empty()))
            .map(|(ks, cols)| (*ks, cols))
            .collect();
        let out: Vec<&graph::Edge> = g.edges.iter().filter(|e| e.child == n && e.pulls).collect();
        let d = &self.d[n];
        let emits = out.iter().any(|e| !e.filtering) && !d.is_empty();
        let can_pull = !wanted.is_empty() && *d != Kept::All;
        if node.dropped || (!can_pull && !emits) {
            return Ok(());
        }
        let mut spans = Vec::new();
        let (present, required, budget) = (&mut self.present, &mut self.required, self.budget);
        let mut pulled = RoaringTreemap::new();
        self.src.scan(n, &mut |i, row| {
            let in_d = d.contains(i);
            split(row, node.columns.len(), &mut spans)?;
            let r = RowView { row, spans: &spans };
            let mut pull = false;
            if !in_d {
                for (ks, cols) in &wanted {
                    let v = r.key(g.keysets[*ks].kind, cols);
                    if required[*ks].as_ref().is_some_and(|s| s.holds(v).unwrap_or(false)) {
                        pull = true;
                        break;
                    }
                }
                if !pull {
                    return Ok(());
                }
            }
            for e in &out {
                if (pull || !e.filtering)
                    && let KeyValue::Key(k) = r.key(g.keysets[e.keyset].kind, &e.child_columns)
                    && !present[e.keyset].contains(k).map_err(io_msg)?
                    && let Some(req) = required[e.keyset].as_mut()
                {
                    req.insert(k, budget).map_err(io_msg)?;
                }
            }
            if pull {
                pulled.insert(i);
                for (ks, cols) in &node.memberships {
                    if let KeyValue::Key(k) = r.key(g.keysets[*ks].kind, cols) {
                        present[*ks].insert(k, budget).map_err(io_msg)?;
                    }
                }
            }
            Ok(())
        })?;
        decided.pulled = pulled.len();
        if let Kept::Rows(r) = &mut decided.kept {
            *r |= pulled;
        }
        Ok(())
    }

    /// A cycle of pulling references: every row's keys are loaded, then kept rows pull in what
    /// they reference until nothing more is pulled.
    fn pull_cycle(&mut self, scc: &[usize], tables: &mut [Decided]) -> Result<()> {
        let g = self.g;
        let active = scc.iter().any(|&n| {
            let node = &g.nodes[n];
            node.memberships.iter().any(|(ks, _)| self.required[*ks].as_ref().is_some_and(|r| !r.is_empty()))
                || g.edges.iter().any(|e| {
                    e.child == n
                        && e.pulls
                        && (!e.filtering || g.keysets[e.keyset].members.iter().any(|m| scc.contains(m)))
                })
        });
        if !active {
            return Ok(());
        }
        struct Info {
            node: usize,
            row: u64,
            kept: bool,
            pulled: bool,
            fks: Vec<(usize, KeyValue)>,
            keys: Vec<(usize, KeyValue)>,
        }
        let mut rows: Vec<Info> = Vec::new();
        for &n in scc {
            let node = &g.nodes[n];
            if node.dropped {
                continue;
            }
            let out: Vec<(usize, &graph::Edge)> =
                g.edges.iter().enumerate().filter(|(_, e)| e.child == n && e.pulls).collect();
            let d = &self.d[n];
            let mut spans = Vec::new();
            self.src.scan(n, &mut |i, row| {
                split(row, node.columns.len(), &mut spans)?;
                let r = RowView { row, spans: &spans };
                let fks = out.iter().map(|(k, e)| (*k, r.key(g.keysets[e.keyset].kind, &e.child_columns))).collect();
                let keys = node.memberships.iter().map(|(ks, cols)| (*ks, r.key(g.keysets[*ks].kind, cols))).collect();
                rows.push(Info { node: n, row: i, kept: d.contains(i), pulled: false, fks, keys });
                Ok(())
            })?;
        }
        let mut index: HashMap<(usize, u128), Vec<usize>> = HashMap::new();
        for (i, info) in rows.iter().enumerate() {
            for (ks, v) in &info.keys {
                if let KeyValue::Key(k) = v {
                    index.entry((*ks, *k)).or_default().push(i);
                }
            }
        }
        let mut work = Vec::new();
        for (i, info) in rows.iter_mut().enumerate() {
            if !info.kept {
                for (ks, v) in &info.keys {
                    if self.required[*ks].as_ref().is_some_and(|r| r.holds(*v).unwrap_or(false)) {
                        info.kept = true;
                        info.pulled = true;
                    }
                }
            }
            if info.kept {
                work.push(i);
            }
        }
        while let Some(i) = work.pop() {
            let pulled = rows[i].pulled;
            for f in 0..rows[i].fks.len() {
                let (e, v) = rows[i].fks[f];
                let edge = &g.edges[e];
                let KeyValue::Key(k) = v else { continue };
                if !pulled && edge.filtering {
                    continue;
                }
                match index.get(&(edge.keyset, k)) {
                    Some(targets) => {
                        for &t in targets {
                            if !rows[t].kept {
                                rows[t].kept = true;
                                rows[t].pulled = true;
                                work.push(t);
                            }
                        }
                    }
                    None => {
                        if !self.present[edge.keyset]
                            .contains(k)
                            .map_err(|e| crate::error::Error::io("a key set", e))?
                            && let Some(req) = self.required[edge.keyset].as_mut()
                        {
                            req.insert(k, self.budget).map_err(|e| crate::error::Error::io("a key set", e))?;
                        }
                    }
                }
            }
        }
        for info in rows.iter().filter(|r| r.pulled) {
            let t = &mut tables[info.node];
            t.pulled += 1;
            if let Kept::Rows(r) = &mut t.kept {
                r.insert(info.row);
            }
            for (ks, v) in &info.keys {
                if let KeyValue::Key(k) = v {
                    self.present[*ks].insert(*k, self.budget).map_err(|e| crate::error::Error::io("a key set", e))?;
                }
            }
        }
        Ok(())
    }
}
