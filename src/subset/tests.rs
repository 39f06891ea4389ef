//! The phases on small in-memory tables: each case states the expected kept rows.

use std::collections::BTreeMap;

use super::graph::{DataTable, Graph};
use super::plan::{Kept, RowSource};
use super::*;
use crate::rules::RuleSet;
use crate::rules::schema::Schema;

/// Tables as lists of rows (tab-separated COPY text).
struct Mem {
    rows: Vec<Vec<String>>,
    scans: BTreeMap<usize, usize>,
}

impl RowSource for Mem {
    fn scan(&mut self, node: usize, each: &mut plan::EachRow<'_>) -> Result<()> {
        *self.scans.entry(node).or_default() += 1;
        for (i, r) in self.rows[node].iter().enumerate() {
            each(i as u64, r.as_bytes()).map_err(crate::error::Error::Usage)?;
        }
        Ok(())
    }
}

struct Case {
    g: Graph,
    mem: Mem,
}

fn case(ddl: &str, rules: &str, tables: &[(&str, &[&str], &[&str])]) -> Case {
    let mut schema = Schema::default();
    for stmt in ddl.split(";\n").filter(|s| !s.trim().is_empty()) {
        match crate::sql::ddl::classify(stmt.as_bytes(), true) {
            crate::sql::ddl::Statement::CreateTable(d) => schema.add_table(d),
            crate::sql::ddl::Statement::Constraint(c) => schema.add_constraint(c),
            crate::sql::ddl::Statement::AttachPartition { parent, child } => schema.add_attach(parent, child),
            other => panic!("{stmt}: {other:?}"),
        }
    }
    let key = crate::transform::SecretKey::new(b"k".to_vec()).unwrap();
    let rules = RuleSet::parse(rules, std::path::Path::new("r.toml"), Some(&key)).unwrap();
    let data: Vec<DataTable> = tables
        .iter()
        .map(|(n, cols, _)| DataTable {
            name: QualifiedName::parse(n).unwrap(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
        })
        .collect();
    let g = Graph::build(&schema, &rules, &data, Some(&key)).unwrap();
    let rows = tables.iter().map(|(_, _, r)| r.iter().map(|s| s.replace(' ', "\t")).collect()).collect();
    Case { g, mem: Mem { rows, scans: BTreeMap::new() } }
}

/// Kept row indexes per table (all rows when the table is not filtered).
fn kept(c: &mut Case, limit: u64) -> Vec<Vec<u64>> {
    let key = crate::transform::SecretKey::new(b"k".to_vec()).unwrap();
    let sel = select(&c.g, &mut c.mem, limit, Some(&key)).unwrap();
    c.g.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let total = c.mem.rows[i].len() as u64;
            match sel.filter(&n.name) {
                None => (0..total).collect(),
                Some(f) => (0..total).filter(|&r| f.keeps(r)).collect(),
            }
        })
        .collect()
}

const STAR: &str = "CREATE TABLE public.c (id integer NOT NULL, country text);\nCREATE TABLE public.p (id integer NOT NULL);\nCREATE TABLE public.o (id integer NOT NULL, c_id integer, p_id integer);\nALTER TABLE ONLY public.c ADD CONSTRAINT c_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.o ADD CONSTRAINT o_c FOREIGN KEY (c_id) REFERENCES public.c(id);\nALTER TABLE ONLY public.o ADD CONSTRAINT o_p FOREIGN KEY (p_id) REFERENCES public.p(id);\n";

fn star(rules: &str) -> Case {
    case(
        STAR,
        rules,
        &[
            ("public.o", &["id", "c_id", "p_id"], &["1 1 1", "2 2 1", "3 \\N 2", "4 1 3"]),
            ("public.c", &["id", "country"], &["1 FR", "2 DE"]),
            ("public.p", &["id"], &["1", "2", "3"]),
        ],
    )
}

#[test]
fn star_filters_children_and_null_references_pass() {
    let mut c = star("[tables.\"public.c\".subset]\nwhere = \"country = 'FR'\"\n");
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0, 2, 3], vec![0], vec![0, 1, 2]]);
    // Every table read once in phase D, nothing to pull.
    assert!(c.mem.scans.values().all(|&n| n == 1), "{:?}", c.mem.scans);
}

#[test]
fn referenced_only_keeps_what_is_referenced_and_spilling_changes_nothing() {
    let rules = "[tables.\"public.o\".subset]\nwhere = \"id <= 2\"\n[tables.\"public.p\"]\nreferenced_only = true\n";
    let mut c = star(rules);
    let expected = vec![vec![0, 1], vec![0, 1], vec![0]];
    assert_eq!(kept(&mut c, u64::MAX), expected);
    let mut c = star(rules);
    assert_eq!(kept(&mut c, 0), expected);
}

#[test]
fn pulled_rows_override_filters_but_bring_no_children() {
    // Orders 1..2 kept; their customers must come too although the filter drops customer 2;
    // order 4 (customer 1) is filtered by its own rule.
    let mut c = star(
        "[tables.\"public.o\".subset]\nwhere = \"id <= 2\"\n[tables.\"public.c\".subset]\nwhere = \"country = 'DE'\"\n",
    );
    // D: c = {DE}=row 1; o: rows with id<=2 and c in D: row 1 (c 2). K pulls nothing more.
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![1], vec![1], vec![0, 1, 2]]);
    let mut c = star("[tables.\"public.o\".subset]\nlimit = 1\n[tables.\"public.c\"]\nreferenced_only = true\n");
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0], vec![0], vec![0, 1, 2]]);
}

const CHAIN: &str = "CREATE TABLE public.a (id integer NOT NULL);\nCREATE TABLE public.b (id integer NOT NULL, a_id integer NOT NULL);\nCREATE TABLE public.c (id integer NOT NULL, b_id integer NOT NULL);\nALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.b ADD CONSTRAINT b_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a(id);\nALTER TABLE ONLY public.c ADD CONSTRAINT c_b FOREIGN KEY (b_id) REFERENCES public.b(id);\n";

#[test]
fn chains_filter_down_and_pull_up() {
    let tables: &[(&str, &[&str], &[&str])] = &[
        ("public.c", &["id", "b_id"], &["1 10", "2 20", "3 30"]),
        ("public.b", &["id", "a_id"], &["10 1", "20 2", "30 1"]),
        ("public.a", &["id"], &["1", "2"]),
    ];
    let mut c = case(CHAIN, "[tables.\"public.a\".subset]\nwhere = \"id = 1\"\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0, 2], vec![0, 2], vec![0]]);
    // A limit at the bottom pulls the chain above it.
    let mut c = case(
        CHAIN,
        "[tables.\"public.c\".subset]\nwhere = \"id = 2\"\n[tables.\"public.b\"]\nreferenced_only = true\n[tables.\"public.a\"]\nreferenced_only = true\n",
        tables,
    );
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![1], vec![1], vec![1]]);
}

const SELF: &str = "CREATE TABLE public.e (id integer NOT NULL, boss integer, team text);\nALTER TABLE ONLY public.e ADD CONSTRAINT e_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.e ADD CONSTRAINT e_boss FOREIGN KEY (boss) REFERENCES public.e(id);\n";

#[test]
fn self_references_reach_their_fixed_point() {
    let rows: &[&str] = &["1 \\N x", "2 1 y", "3 2 x", "4 3 x", "5 \\N y"];
    let tables: &[(&str, &[&str], &[&str])] = &[("public.e", &["id", "boss", "team"], rows)];
    // D: team x = {1, 3, 4}; 3's boss 2 is not in D, so 3 goes, then 4 (boss 3) goes.
    let mut c = case(SELF, "[tables.\"public.e\".subset]\nwhere = \"team = 'x'\"\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0]]);
    // With on_missing_parent = null nothing filters: 3 keeps its row, its boss is nulled.
    let mut c = case(
        SELF,
        "[tables.\"public.e\".subset]\nwhere = \"team = 'x'\"\n[tables.\"public.e\".foreign_keys.e_boss]\non_missing_parent = \"null\"\n",
        tables,
    );
    let key = crate::transform::SecretKey::new(b"k".to_vec()).unwrap();
    let sel = select(&c.g, &mut c.mem, u64::MAX, Some(&key)).unwrap();
    let f = sel.filter(&QualifiedName::new("public", "e")).unwrap();
    assert_eq!((0..5).filter(|&r| f.keeps(r)).collect::<Vec<_>>(), vec![0, 2, 3]);
    let mut cols = Vec::new();
    let row3 = ["3", "2", "x"];
    f.columns_to_null(|i| row3[i].as_bytes(), &mut cols).unwrap();
    assert_eq!(cols, vec![1]);
    let row4 = ["4", "3", "x"];
    f.columns_to_null(|i| row4[i].as_bytes(), &mut cols).unwrap();
    assert!(cols.is_empty());
    // Limit on a cycle: first 2 rows passing own(r), then the fixed point: rows 0 and 1.
    let mut c = case(SELF, "[tables.\"public.e\".subset]\nlimit = 2\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0, 1]]);
    // A filter on the only row of a chain drops it: its boss is not selected.
    let mut c = case(SELF, "[tables.\"public.e\".subset]\nwhere = \"id = 4\"\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![Vec::<u64>::new()]);
    // A kept row elsewhere pulls a whole chain of bosses (a cycle in phase K).
    let ddl = format!(
        "{SELF}CREATE TABLE public.t (id integer NOT NULL, owner integer);\nALTER TABLE ONLY public.t ADD CONSTRAINT t_owner FOREIGN KEY (owner) REFERENCES public.e(id);\n"
    );
    let with_tasks: &[(&str, &[&str], &[&str])] =
        &[("public.e", &["id", "boss", "team"], rows), ("public.t", &["id", "owner"], &["1 4", "2 5"])];
    let mut c = case(
        &ddl,
        "[tables.\"public.t\".subset]\nwhere = \"id = 1\"\n[tables.\"public.e\"]\nreferenced_only = true\n",
        with_tasks,
    );
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0, 1, 2, 3], vec![0]]);
}

#[test]
fn cycles_between_tables() {
    let ddl = "CREATE TABLE public.a (id integer NOT NULL, b_id integer);\nCREATE TABLE public.b (id integer NOT NULL, a_id integer);\nALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.b ADD CONSTRAINT b_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES public.b(id);\nALTER TABLE ONLY public.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a(id);\n";
    let tables: &[(&str, &[&str], &[&str])] = &[
        ("public.a", &["id", "b_id"], &["1 10", "2 20", "3 \\N"]),
        ("public.b", &["id", "a_id"], &["10 1", "20 3", "30 2"]),
    ];
    // a: id <> 3 drops a3; b20 -> a3 goes; a2 -> b20 goes; b30 -> a2 goes.
    let mut c = case(ddl, "[tables.\"public.a\".subset]\nwhere = \"id <> 3\"\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0], vec![0]]);
    // b referenced only: a's rows pull the b rows they reference, which pull their a rows.
    let mut c = case(
        ddl,
        "[tables.\"public.a\".subset]\nwhere = \"id = 2\"\n[tables.\"public.b\"]\nreferenced_only = true\n",
        tables,
    );
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![1, 2], vec![1]]);
}

#[test]
fn composite_keys_and_partitions() {
    let ddl = "CREATE TABLE public.p (region text NOT NULL, id integer NOT NULL) PARTITION BY LIST (region);\nCREATE TABLE public.p_eu (region text NOT NULL, id integer NOT NULL);\nCREATE TABLE public.p_us (region text NOT NULL, id integer NOT NULL);\nALTER TABLE ONLY public.p ATTACH PARTITION public.p_eu FOR VALUES IN ('eu');\nALTER TABLE ONLY public.p ATTACH PARTITION public.p_us FOR VALUES IN ('us');\nCREATE TABLE public.x (id integer NOT NULL, region text, p_id integer);\nALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (region, id);\nALTER TABLE public.x ADD CONSTRAINT x_p FOREIGN KEY (region, p_id) REFERENCES public.p(region, id);\n";
    let tables: &[(&str, &[&str], &[&str])] = &[
        ("public.x", &["id", "region", "p_id"], &["1 eu 1", "2 us 1", "3 eu 2", "4 us \\N"]),
        ("public.p_eu", &["region", "id"], &["eu 1", "eu 2"]),
        ("public.p_us", &["region", "id"], &["us 1", "us 2"]),
    ];
    // The rule on the partitioned table applies to each partition.
    let mut c = case(ddl, "[tables.\"public.p\".subset]\nwhere = \"id = 1\"\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0, 1, 3], vec![0], vec![0]]);
    // Limit per partition; x referenced nothing dropped: x3 (eu 2) goes.
    let mut c = case(ddl, "[tables.\"public.p\".subset]\nlimit = 1\n", tables);
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![0, 1, 3], vec![0], vec![0]]);
    // Children pull from the right partition.
    let mut c = case(
        ddl,
        "[tables.\"public.x\".subset]\nwhere = \"id = 3\"\n[tables.\"public.p\"]\nreferenced_only = true\n",
        tables,
    );
    assert_eq!(kept(&mut c, u64::MAX), vec![vec![2], vec![1], vec![]]);
}

#[test]
fn percent_samples_by_primary_key_deterministically() {
    let ddl = "CREATE TABLE public.t (id integer NOT NULL, v text);\nALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n";
    let rows: Vec<String> = (0..2000).map(|i| format!("{i} v{}", i % 7)).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let tables: &[(&str, &[&str], &[&str])] = &[("public.t", &["id", "v"], &rows)];
    let mut c = case(ddl, "[tables.\"public.t\".subset]\npercent = 10\n", tables);
    let first = kept(&mut c, u64::MAX);
    let n = first[0].len();
    assert!((150..250).contains(&n), "{n}");
    assert_eq!(kept(&mut c, u64::MAX), first);
    // The sample is computed as the README and the spec say.
    let key = crate::transform::SecretKey::new(b"k".to_vec()).unwrap();
    let mac = key.keyed_exact(b"scrub subset\0public.t\0");
    let expected: Vec<u64> = (0..2000u64)
        .filter(|i| {
            let d = mac.digest(i.to_string().as_bytes());
            (u128::from(u64::from_be_bytes(d[..8].try_into().unwrap()))) < (0.1 * 18_446_744_073_709_551_616.0) as u128
        })
        .collect();
    assert_eq!(first[0], expected);
    assert!(matches!(Kept::All, Kept::All));
}

/// The whole plain path: prescan with spans into a spool, phases, and the output pass, for any
/// chunk size and number of workers.
#[test]
fn plain_output_pass_writes_kept_rows_and_nulls_missing_parents() {
    use crate::pipeline::{Context, Options, prescan_plain_spans, run_plain};
    use source::{PlainBytes, PlainSource, Spool, Tee};
    let dump = "CREATE TABLE public.e (id integer NOT NULL, boss integer, team text);\nCOPY public.e (id, boss, team) FROM stdin;\n1\t\\N\tx\n2\t1\ty\n3\t2\tx\n4\t3\tx\n5\t\\N\ty\n\\.\nCOPY public.n (id) FROM stdin;\n7\n\\.\nALTER TABLE ONLY public.e ADD CONSTRAINT e_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.e ADD CONSTRAINT e_boss FOREIGN KEY (boss) REFERENCES public.e(id);\n";
    let key = crate::transform::SecretKey::new(b"k".to_vec()).unwrap();
    let rules = RuleSet::parse(
        "[settings]\nunlisted_columns = \"keep\"\n[tables.\"public.e\".subset]\nwhere = \"team = 'x'\"\n[tables.\"public.e\".foreign_keys.e_boss]\non_missing_parent = \"null\"\n",
        std::path::Path::new("r.toml"),
        Some(&key),
    )
    .unwrap();
    let progress = crate::progress::Progress::hidden();
    for (chunk_size, jobs) in [(1, 1), (3, 2), (1 << 20, 2)] {
        let opts = Options { jobs, chunk_size, ..Options::default() };
        let mut spool = Spool::new().unwrap();
        let (schema, spans) = prescan_plain_spans(Tee { inner: dump.as_bytes(), spool: &mut spool }, &opts).unwrap();
        spool.finish().unwrap();
        let tables: Vec<DataTable> =
            spans.iter().map(|s| DataTable { name: s.copy.table.clone(), columns: s.copy.columns.clone() }).collect();
        let g = Graph::build(&schema, &rules, &tables, Some(&key)).unwrap();
        let mut src = PlainSource { bytes: PlainBytes::Spool(&spool), spans, max_row_bytes: 1 << 20 };
        let sel = select(&g, &mut src, 1 << 20, Some(&key)).unwrap();
        let mut out = Vec::new();
        let ctx = Context {
            rules: &rules,
            key: Some(&key),
            opts: &opts,
            progress: &progress,
            manifest_header: None,
            selection: Some(&sel),
        };
        let report = run_plain(spool.range(0, spool.len()), &mut out, schema, &ctx).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("FROM stdin;\n1\t\\N\tx\n3\t\\N\tx\n4\t3\tx\n\\.\n"), "{chunk_size}: {text}");
        assert!(text.contains("COPY public.n (id) FROM stdin;\n7\n\\.\n"), "{text}");
        assert_eq!((report.tables[0].rows_in, report.tables[0].rows_out), (5, 3));
        assert_eq!(report.tables[0].subset.as_ref().map(|s| s.selected), Some(Some(3)));
    }
}
