//! The custom-format reader (`scrub::archive::custom`): any bytes give an archive or an error,
//! never a panic or unbounded memory. An archive read in full is written again with
//! `CustomWriter` (same TOC, same data, the same compression) and read back: the TOC (but for
//! data offsets) and every block's decompressed data must survive. A knob byte chooses whether
//! blocks are read, skipped, or copied raw.
//!
//! Input: byte 0 is the knob, the rest is the archive (seeds: fixtures/archives/*.custom.*).

use std::io::{Cursor, Write};

use super::{check_message, read_capped};
use scrub::archive::custom::{BlockKind, CustomReader, CustomWriter};
use scrub::archive::toc::TocExtra;
use scrub::archive::{DumpId, Toc};

#[derive(Debug, PartialEq)]
enum Block {
    Data(DumpId, Vec<u8>),
    Blobs(DumpId, Vec<(u32, Vec<u8>)>),
}

/// Reads every block; `None` if anything fails (the error must carry a message).
fn read_all(bytes: &[u8], knob: u8) -> Option<(Toc, Vec<Block>)> {
    let result = (|| -> Result<(Toc, Vec<Block>), String> {
        let mut reader = CustomReader::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        let toc = reader.toc().clone();
        let mut blocks = Vec::new();
        let mut n = 0u32;
        while let Some(block) = reader.next_block().map_err(|e| e.to_string())? {
            n += 1;
            // Every so often leave a block unread: next_block must skip it.
            if knob & 1 != 0 && n.is_multiple_of(3) {
                continue;
            }
            match block.kind {
                BlockKind::Data => {
                    let mut data = reader.data().map_err(|e| e.to_string())?;
                    blocks.push(Block::Data(block.dump_id, read_capped(&mut data).map_err(|e| e.to_string())?));
                }
                BlockKind::Blobs => {
                    let mut blobs = Vec::new();
                    while let Some(oid) = reader.next_blob().map_err(|e| e.to_string())? {
                        let mut data = reader.data().map_err(|e| e.to_string())?;
                        blobs.push((oid, read_capped(&mut data).map_err(|e| e.to_string())?));
                    }
                    blocks.push(Block::Blobs(block.dump_id, blobs));
                }
            }
        }
        Ok((toc, blocks))
    })();
    match result {
        Ok(r) => Some(r),
        Err(msg) => {
            check_message(&msg);
            None
        }
    }
}

/// Copies every block raw (no decompression) into a new archive; errors are fine.
fn copy_raw(bytes: &[u8]) {
    let Ok(mut reader) = CustomReader::new(Cursor::new(bytes)) else { return };
    let Ok(mut writer) = CustomWriter::new(Vec::new(), reader.toc().clone()) else { return };
    while let Ok(Some(_)) = reader.next_block() {
        if let Err(e) = reader.copy_raw_block(&mut writer) {
            check_message(&e.to_string());
            return;
        }
    }
    let _ = writer.finish();
}

fn write_all(toc: &Toc, blocks: &[Block]) -> Option<Vec<u8>> {
    let mut writer = CustomWriter::new(Vec::new(), toc.clone()).ok()?;
    for block in blocks {
        match block {
            Block::Data(id, data) => {
                let mut w = writer.begin_data_block(*id).ok()?;
                w.write_all(data).ok()?;
                w.finish().ok()?;
            }
            Block::Blobs(id, blobs) => {
                let mut w = writer.begin_blobs_block(*id).ok()?;
                for (oid, data) in blobs {
                    let mut b = w.begin_blob(*oid).ok()?;
                    b.write_all(data).ok()?;
                    b.finish().ok()?;
                }
                w.finish().ok()?;
            }
        }
    }
    writer.finish().ok()
}

fn without_offsets(toc: &Toc) -> Toc {
    let mut toc = toc.clone();
    for e in &mut toc.entries {
        e.extra = TocExtra::Filename(None);
    }
    toc
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Some((&knob, archive)) = data.split_first() else { return };
    if knob & 2 != 0 {
        copy_raw(archive);
    }
    let Some((toc, blocks)) = read_all(archive, knob) else { return };
    if knob & 1 != 0 || blocks.iter().any(|b| matches!(b, Block::Data(_, d) if d.len() as u64 == super::READ_LIMIT)) {
        return;
    }
    // The writer refuses what pg_restore would (blocks out of TOC order, entries without a
    // block); anything it accepts must read back the same.
    let Some(written) = write_all(&toc, &blocks) else { return };
    let (toc2, blocks2) = read_all(&written, 0).expect("an archive scrub wrote must read back");
    assert_eq!(without_offsets(&toc2), without_offsets(&toc), "the TOC changed in a write/read round trip");
    assert_eq!(blocks2, blocks, "block data changed in a write/read round trip");
}
