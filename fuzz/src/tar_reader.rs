//! The tar-format reader (`scrub::archive::tar`): any bytes give an archive or an error, never a
//! panic or unbounded memory. An archive whose members all read is written again with
//! `TarWriter` (table data only) and read back: the TOC (but for file names) and every data
//! member must survive.
//!
//! Input: byte 0 is a knob (skip some members unread), the rest is the archive (seeds:
//! fixtures/archives/*.tar).

use std::io::{Cursor, Write};

use super::{READ_LIMIT, check_message, read_capped};
use scrub::archive::tar::{MemberKind, TarReader, TarWriter};
use scrub::archive::toc::TocExtra;
use scrub::archive::{DumpId, Toc};

type Members = Vec<(DumpId, Vec<u8>)>;

/// Reads every member; returns the TOC, the table data members, and whether any large objects
/// were seen. `None` on an error (which must carry a message).
fn read_all(bytes: &[u8], knob: u8) -> Option<(Toc, Members, bool)> {
    let result = (|| -> Result<(Toc, Members, bool), String> {
        let mut reader = TarReader::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        let toc = reader.toc().clone();
        let (mut data, mut blobs, mut n) = (Vec::new(), false, 0u32);
        while let Some(member) = reader.next_member().map_err(|e| e.to_string())? {
            n += 1;
            if knob & 1 != 0 && n % 2 == 0 {
                continue;
            }
            let mut r = reader.member_data().map_err(|e| e.to_string())?;
            let bytes = read_capped(&mut r).map_err(|e| e.to_string())?;
            match member.kind {
                MemberKind::Data { dump_id } => data.push((dump_id, bytes)),
                MemberKind::Blob { .. } | MemberKind::BlobsToc { .. } => blobs = true,
                MemberKind::RestoreScript | MemberKind::Other => {}
            }
        }
        Ok((toc, data, blobs))
    })();
    match result {
        Ok(r) => Some(r),
        Err(msg) => {
            check_message(&msg);
            None
        }
    }
}

fn write_all(toc: &Toc, members: &Members) -> Option<Vec<u8>> {
    let mut writer = TarWriter::new(Vec::new(), toc.clone()).ok()?;
    for (id, data) in members {
        let mut m = writer.begin_data(*id).ok()?;
        m.write_all(data).ok()?;
        m.finish().ok()?;
    }
    writer.finish().ok()
}

fn without_names(toc: &Toc) -> Toc {
    let mut toc = toc.clone();
    for e in &mut toc.entries {
        e.extra = TocExtra::Filename(None);
    }
    toc
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Some((&knob, archive)) = data.split_first() else { return };
    let Some((toc, members, blobs)) = read_all(archive, knob) else { return };
    if knob & 1 != 0 || blobs || members.iter().any(|(_, d)| d.len() as u64 == READ_LIMIT) {
        return;
    }
    let Some(written) = write_all(&toc, &members) else { return };
    let (toc2, members2, _) = read_all(&written, 0).expect("a tar archive scrub wrote must read back");
    assert_eq!(without_names(&toc2), without_names(&toc), "the TOC changed in a write/read round trip");
    assert_eq!(members2, members, "member data changed in a write/read round trip");
}
