//! Reads input files in batches: JSON arrays, streams of JSON objects (NDJSON or
//! pretty-printed one after another), or text lines; gzip and zstd by magic bytes.

use crate::cli::InputFormat;
use anyhow::{Context as _, Result, bail};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The largest JSON array file read in one piece.
const MAX_ARRAY_BYTES: u64 = 1 << 30;

/// One input record.
pub enum Record {
    /// A JSON value and where it was (line number or item index).
    Json(serde_json::Value, String),
    /// A text line.
    Text(String),
}

/// A batch of records and what was rejected while reading it.
pub struct Batch {
    /// Records in input order.
    pub records: Vec<Record>,
    /// (where, why) of unreadable records.
    pub rejected: Vec<(String, String)>,
    /// Input bytes this batch covers (compressed size for compressed files, roughly).
    pub bytes: u64,
}

impl Batch {
    fn new(capacity: usize) -> Self {
        Batch {
            records: Vec::with_capacity(capacity),
            rejected: Vec::new(),
            bytes: 0,
        }
    }

    /// Hands the batch over once it holds `batch` records, and starts a new one.
    fn flush_if_full(
        &mut self,
        batch: usize,
        on_batch: &mut dyn FnMut(Batch) -> Result<()>,
    ) -> Result<()> {
        if self.records.len() >= batch {
            on_batch(std::mem::replace(self, Batch::new(batch)))?;
        }
        Ok(())
    }
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let head = r
        .fill_buf()?
        .get(..4)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(r)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(BufReader::new(zstd::stream::read::Decoder::with_buffer(r)?))
    } else {
        Box::new(r)
    })
}

fn first_byte(r: &mut dyn BufRead) -> Result<Option<u8>> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF)
        {
            Some(i) => return Ok(Some(buf[i])),
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

/// Reads `path` and hands batches of up to `batch` records to `on_batch`.
pub fn read_file(
    path: &Path,
    format: InputFormat,
    batch: usize,
    on_batch: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut r = open(path)?;
    let first = first_byte(r.as_mut())?;
    let Some(first) = first else { return Ok(()) };
    let mode = match format {
        InputFormat::Text => InputFormat::Text,
        InputFormat::Json => InputFormat::Json,
        InputFormat::Auto if first == b'[' || first == b'{' => InputFormat::Json,
        InputFormat::Auto => InputFormat::Text,
    };
    match (mode, first) {
        (InputFormat::Json, b'[') => read_array(r, batch, on_batch),
        (InputFormat::Json, _) => read_objects(r, batch, on_batch),
        _ => read_lines(r, batch, on_batch),
    }
}

fn read_array(
    r: Box<dyn BufRead>,
    batch: usize,
    on_batch: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    let n = r.take(MAX_ARRAY_BYTES + 1).read_to_end(&mut buf)?;
    if n as u64 > MAX_ARRAY_BYTES {
        bail!("JSON array larger than 1 GiB: write it as NDJSON instead");
    }
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(&buf).context("not a valid JSON array")?;
    let per = (n as u64) / (items.len().max(1) as u64);
    let mut out = Batch::new(batch);
    for (i, v) in items.into_iter().enumerate() {
        out.records.push(Record::Json(v, format!("item {}", i + 1)));
        out.bytes += per;
        out.flush_if_full(batch, on_batch)?;
    }
    on_batch(out)
}

/// NDJSON is read line by line so that one bad line costs only itself; when a line is
/// not a whole JSON value (pretty-printed objects), the rest is read as a stream of
/// values, which stops at the first syntax error.
fn read_objects(
    mut r: Box<dyn BufRead>,
    batch: usize,
    on_batch: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut out = Batch::new(batch);
    let mut line = Vec::new();
    let mut lineno = 0usize;
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        lineno += 1;
        out.bytes += n as u64;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(trimmed) {
            Ok(v) => out.records.push(Record::Json(v, format!("line {lineno}"))),
            Err(e) if e.is_eof() && lineno == 1 => {
                // Pretty-printed JSON: stream values from here on.
                let rest = std::io::Cursor::new(std::mem::take(&mut line)).chain(r);
                return read_stream(rest, out, batch, on_batch);
            }
            Err(e) => out
                .rejected
                .push((format!("line {lineno}"), format!("invalid JSON: {e}"))),
        }
        out.flush_if_full(batch, on_batch)?;
    }
    on_batch(out)
}

fn read_stream(
    r: impl Read,
    mut out: Batch,
    batch: usize,
    on_batch: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut stream = serde_json::Deserializer::from_reader(r).into_iter::<serde_json::Value>();
    let mut item = 0usize;
    loop {
        match stream.next() {
            None => break,
            Some(Ok(v)) => {
                item += 1;
                out.records.push(Record::Json(v, format!("object {item}")));
            }
            Some(Err(e)) => {
                out.rejected.push((
                    format!("object {}", item + 1),
                    format!("invalid JSON, rest of file skipped: {e}"),
                ));
                break;
            }
        }
        out.flush_if_full(batch, on_batch)?;
    }
    on_batch(out)
}

fn read_lines(
    mut r: Box<dyn BufRead>,
    batch: usize,
    on_batch: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut out = Batch::new(batch);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        out.bytes += n as u64;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if !text.trim().is_empty() {
            out.records.push(Record::Text(text.to_owned()));
        }
        out.flush_if_full(batch, on_batch)?;
    }
    on_batch(out)
}
