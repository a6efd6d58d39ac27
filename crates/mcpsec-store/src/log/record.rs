//! The on-disk record frame: `len: u32 LE | crc32: u32 LE | seq: u64 LE | payload`.
//!
//! The CRC covers the sequence number and the payload, so a torn or misplaced write is
//! detected when the log is opened, and the tail after it is cut off.

use crate::{Result, StoreError};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// Bytes before each payload.
pub const HEADER_LEN: usize = 16;
/// The largest payload the log accepts (a single event).
pub const MAX_RECORD_LEN: usize = 64 * 1024 * 1024;

/// Appends one framed record to `buf`.
pub(crate) fn encode(buf: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&h.finalize().to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// A decoded header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub len: usize,
    pub crc: u32,
    pub seq: u64,
}

pub(crate) fn decode_header(b: &[u8; HEADER_LEN]) -> Header {
    let mut len = [0u8; 4];
    let mut crc = [0u8; 4];
    let mut seq = [0u8; 8];
    len.copy_from_slice(&b[0..4]);
    crc.copy_from_slice(&b[4..8]);
    seq.copy_from_slice(&b[8..16]);
    Header {
        len: u32::from_le_bytes(len) as usize,
        crc: u32::from_le_bytes(crc),
        seq: u64::from_le_bytes(seq),
    }
}

pub(crate) fn checksum_ok(h: &Header, payload: &[u8]) -> bool {
    let mut c = crc32fast::Hasher::new();
    c.update(&h.seq.to_le_bytes());
    c.update(payload);
    c.finalize() == h.crc
}

/// Result of scanning a segment file from its start.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scan {
    /// Length of the valid prefix.
    pub valid_len: u64,
    /// Number of valid records.
    pub records: u64,
    /// Sequence number of the last valid record.
    pub last_seq: Option<u64>,
}

/// Reads records from the start of a segment until the end or the first invalid frame.
/// `expect_first` is the sequence number the first record must carry; records must be
/// consecutive. `on_record` sees each valid record's seq and offset.
pub(crate) fn scan(
    path: &Path,
    expect_first: u64,
    mut on_record: impl FnMut(u64, u64),
) -> Result<Scan> {
    let f = File::open(path).map_err(|e| StoreError::io(format!("open {}", path.display()), e))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut out = Scan::default();
    let mut payload = Vec::new();
    let mut want = expect_first;
    loop {
        let mut hb = [0u8; HEADER_LEN];
        if !read_full(&mut r, &mut hb, path)? {
            break;
        }
        let h = decode_header(&hb);
        if h.len > MAX_RECORD_LEN || h.seq != want {
            break;
        }
        payload.resize(h.len, 0);
        if !read_full(&mut r, &mut payload, path)? || !checksum_ok(&h, &payload) {
            break;
        }
        on_record(h.seq, out.valid_len);
        out.valid_len += (HEADER_LEN + h.len) as u64;
        out.records += 1;
        out.last_seq = Some(h.seq);
        want += 1;
    }
    Ok(out)
}

/// Fills `buf` completely; `Ok(false)` at a clean or torn end of file.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StoreError::io(format!("read {}", path.display()), e)),
        }
    }
    Ok(true)
}

/// Copies the valid prefix of a segment (as a concurrent writer may be appending) to
/// `dest` and returns the number of records copied. Used by backups of a live data dir.
pub(crate) fn copy_valid_prefix(src: &Path, dest: &Path, expect_first: u64) -> Result<u64> {
    let s = scan(src, expect_first, |_, _| {})?;
    let mut f =
        File::open(src).map_err(|e| StoreError::io(format!("open {}", src.display()), e))?;
    let mut out =
        File::create(dest).map_err(|e| StoreError::io(format!("create {}", dest.display()), e))?;
    let copied = std::io::copy(&mut (&mut f).take(s.valid_len), &mut out)
        .map_err(|e| StoreError::io(format!("copy {}", src.display()), e))?;
    if copied != s.valid_len {
        return Err(StoreError::Corrupt(format!(
            "{} shrank while copying",
            src.display()
        )));
    }
    out.flush()
        .and_then(|_| out.sync_all())
        .map_err(|e| StoreError::io(format!("sync {}", dest.display()), e))?;
    Ok(s.records)
}
