//! Compressed input is recognised by its magic bytes (gzip, zstd, lz4 frame),
//! whatever the file is called; compressed output (`-o x.sql.gz`, `.zst`,
//! `-Z`) decodes to exactly the plain output.
//!
//! Compression and decompression here use the crates scrub itself depends on
//! (flate2, zstd, lz4_flex), so no `gzip`/`zstd` program is needed; where the
//! `gzip` or `zstd` program exists, it also checks the output.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use crate::support::{SECRET, Scrub, assert_same_bytes, fixture, have_program, read, rules, tempdir};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// Decodes every gzip member, as `gzip -d` does (parallel gzip writers emit
/// several members).
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).expect("output is valid gzip");
    out
}

fn zstd_compress(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("zstd")
}

fn zstd_decompress(bytes: &[u8]) -> Vec<u8> {
    zstd::decode_all(bytes).expect("output is valid zstd")
}

fn lz4_compress(bytes: &[u8]) -> Vec<u8> {
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
    enc.write_all(bytes).expect("lz4");
    enc.finish().expect("lz4")
}

fn lz4_decompress(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lz4_flex::frame::FrameDecoder::new(bytes).read_to_end(&mut out).expect("output is a valid lz4 frame");
    out
}

/// Feeds `compressed` to scrub (noop rules) as a file with a misleading name
/// and on stdin; both must give the uncompressed fixture.
fn assert_decompressed_input(name: &str, plain: &[u8], compressed: &[u8]) {
    assert_ne!(plain, compressed);
    let dir = tempdir();
    // No telling extension: detection goes by content.
    let path = dir.path().join("input.sql");
    std::fs::write(&path, compressed).expect("write compressed input");
    let from_file = Scrub::new().rules(&rules("noop.toml")).arg(&path).run().success();
    assert_same_bytes(plain, &from_file, &format!("{name} input from a file"));
    let from_stdin = Scrub::new()
        .rules(&rules("noop.toml"))
        .args(["--chunk-size", "7", "-j", "2"])
        .stdin(compressed.to_vec())
        .run()
        .success();
    assert_same_bytes(plain, &from_stdin, &format!("{name} input on stdin"));
}

#[test]
fn gzip_input_is_detected() {
    let plain = read(&fixture("pii.dump.sql"));
    assert_decompressed_input("gzip", &plain, &gzip(&plain));
}

#[test]
fn multi_member_gzip_input_is_read_to_the_end() {
    let plain = read(&fixture("pii.dump.sql"));
    // Split inside a COPY block, as pigz or `cat a.gz b.gz` would.
    let mid = plain.len() / 2;
    let joined = [gzip(&plain[..mid]), gzip(&plain[mid..])].concat();
    assert_decompressed_input("multi-member gzip", &plain, &joined);
}

#[test]
fn zstd_input_is_detected() {
    let plain = read(&fixture("awkward.dump.sql"));
    assert_decompressed_input("zstd", &plain, &zstd_compress(&plain));
}

#[test]
fn lz4_input_is_detected() {
    let plain = read(&fixture("pii.dump.sql"));
    assert_decompressed_input("lz4", &plain, &lz4_compress(&plain));
}

/// The scrubbed pii dump, uncompressed on stdout: the reference output.
fn scrub_pii_plain() -> Vec<u8> {
    Scrub::new().secret(SECRET).rules(&rules("pii.toml")).arg(fixture("pii.dump.sql")).run().success()
}

fn scrub_pii_to(out: &Path, extra: &[&str]) {
    let stdout = Scrub::new()
        .secret(SECRET)
        .rules(&rules("pii.toml"))
        .arg(fixture("pii.dump.sql"))
        .arg("-o")
        .arg(out)
        .args(extra)
        .run()
        .success();
    assert!(stdout.is_empty(), "-o given, yet {} bytes on stdout", stdout.len());
}

#[test]
fn gzip_output_by_extension_decodes_to_plain_output() {
    let expected = scrub_pii_plain();
    let dir = tempdir();
    for (i, extra) in [&[][..], &["-j", "4", "--chunk-size", "7"][..]].iter().enumerate() {
        let out = dir.path().join(format!("scrubbed{i}.sql.gz"));
        scrub_pii_to(&out, extra);
        let compressed = read(&out);
        assert_eq!(compressed[..2], [0x1f, 0x8b], "{} is not gzip", out.display());
        assert_same_bytes(&expected, &gunzip(&compressed), &format!("-o .sql.gz {extra:?}"));
        if have_program("gzip") {
            let out = Command::new("gzip").arg("-dc").arg(&out).output().expect("run gzip");
            assert!(out.status.success(), "gzip -dc: {}", String::from_utf8_lossy(&out.stderr));
            assert_same_bytes(&expected, &out.stdout, "gzip -dc of -o .sql.gz output");
        }
    }
}

#[test]
fn zstd_output_by_extension_decodes_to_plain_output() {
    let expected = scrub_pii_plain();
    let dir = tempdir();
    for (i, extra) in [&[][..], &["-j", "4", "--chunk-size", "7"][..]].iter().enumerate() {
        let out = dir.path().join(format!("scrubbed{i}.sql.zst"));
        scrub_pii_to(&out, extra);
        let compressed = read(&out);
        assert_eq!(compressed[..4], [0x28, 0xb5, 0x2f, 0xfd], "{} is not zstd", out.display());
        assert_same_bytes(&expected, &zstd_decompress(&compressed), &format!("-o .sql.zst {extra:?}"));
        if have_program("zstd") {
            let out = Command::new("zstd").arg("-dcq").arg(&out).output().expect("run zstd");
            assert!(out.status.success(), "zstd -dc: {}", String::from_utf8_lossy(&out.stderr));
            assert_same_bytes(&expected, &out.stdout, "zstd -dc of -o .sql.zst output");
        }
    }
}

#[test]
fn lz4_output_by_extension_decodes_to_plain_output() {
    let expected = scrub_pii_plain();
    let dir = tempdir();
    let out = dir.path().join("scrubbed.sql.lz4");
    scrub_pii_to(&out, &["-j", "2"]);
    let compressed = read(&out);
    assert_eq!(compressed[..4], [0x04, 0x22, 0x4d, 0x18], "{} is not an lz4 frame", out.display());
    assert_same_bytes(&expected, &lz4_decompress(&compressed), "-o .sql.lz4");
}

#[test]
fn compress_flag_compresses_stdout() {
    let expected = scrub_pii_plain();
    for spec in ["gzip", "gzip:9", "zstd", "zstd:19", "lz4"] {
        let compressed = Scrub::new()
            .secret(SECRET)
            .rules(&rules("pii.toml"))
            .arg(fixture("pii.dump.sql"))
            .args(["-Z", spec])
            .run()
            .success();
        let plain = match spec.split(':').next() {
            Some("gzip") => gunzip(&compressed),
            Some("zstd") => zstd_decompress(&compressed),
            _ => lz4_decompress(&compressed),
        };
        assert_same_bytes(&expected, &plain, &format!("-Z {spec} to stdout"));
    }
}

/// Compressed in, compressed out: the round trip through both codecs keeps
/// every byte.
#[test]
fn compressed_input_to_compressed_output_is_identity_with_noop_rules() {
    let plain = read(&fixture("awkward.dump.sql"));
    let dir = tempdir();
    let input = dir.path().join("awkward.dump.sql.gz");
    std::fs::write(&input, gzip(&plain)).expect("write input");
    let out = dir.path().join("awkward.scrubbed.sql.zst");
    Scrub::new().rules(&rules("noop.toml")).arg(&input).arg("-o").arg(&out).args(["-j", "2"]).run().success();
    assert_same_bytes(&plain, &zstd_decompress(&read(&out)), "gzip in, zstd out");
}
