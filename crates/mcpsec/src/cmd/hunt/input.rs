//! Reading event files: NDJSON line by line, JSON arrays, streams of JSON values,
//! Windows `.evtx` logs (through the `evtx` crate); gzip/zstd by extension.

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// One event read from a file, not yet parsed when it came from a line.
pub struct RawRecord {
    /// 1-based position of the event in its file.
    pub index: u64,
    /// 1-based line for line-oriented files.
    pub line: Option<u64>,
    raw: Raw,
}

enum Raw {
    Text(String),
    Value(Value),
    /// Read but unusable (the reason).
    Bad(String),
}

/// A parsed event.
pub struct Record {
    /// 1-based position of the event in its file.
    pub index: u64,
    /// 1-based line for line-oriented files.
    pub line: Option<u64>,
    /// The event.
    pub fields: Map<String, Value>,
}

impl RawRecord {
    /// Parses the record (JSON object expected).
    pub fn parse(self) -> std::result::Result<Record, String> {
        let v = match self.raw {
            Raw::Value(v) => v,
            Raw::Text(t) => parse_text(&t, self.line)?,
            Raw::Bad(e) => return Err(e),
        };
        object(v, self.index, self.line)
    }

    /// The text of a record read from a line (not yet parsed).
    pub fn text(&self) -> Option<&str> {
        match &self.raw {
            Raw::Text(t) => Some(t),
            Raw::Value(_) | Raw::Bad(_) => None,
        }
    }

    /// Parses the record, keeping it (for benchmarks that parse the same input again).
    pub fn parse_ref(&self) -> std::result::Result<Record, String> {
        let v = match &self.raw {
            Raw::Value(v) => v.clone(),
            Raw::Text(t) => parse_text(t, self.line)?,
            Raw::Bad(e) => return Err(e.clone()),
        };
        object(v, self.index, self.line)
    }
}

fn parse_text(t: &str, line: Option<u64>) -> std::result::Result<Value, String> {
    serde_json::from_str(t).map_err(|e| match line {
        Some(l) => format!("line {l}: {e}"),
        None => e.to_string(),
    })
}

fn object(v: Value, index: u64, line: Option<u64>) -> std::result::Result<Record, String> {
    match v {
        Value::Object(fields) => Ok(Record {
            index,
            line,
            fields,
        }),
        _ => Err(format!("event {index} is not a JSON object")),
    }
}

type Reader = Box<dyn BufRead + Send>;

/// JSON values kept as their text: parsed later on the matcher threads, selectively
/// (like lines), instead of whole on the reader thread.
type RawText = Box<serde_json::value::RawValue>;

enum Inner {
    Lines(Reader, u64),
    /// Values back to back (pretty-printed objects, say).
    Stream(serde_json::StreamDeserializer<'static, serde_json::de::IoRead<Reader>, RawText>),
    /// The elements of an array, one at a time.
    Elements(super::array::ArrayElements<Reader>),
    /// EVTX records, decoded by a thread of their own (see [`read_evtx`]).
    Evtx(std::sync::mpsc::Receiver<Value>),
    /// The file broke after the events already handed out: reported next.
    Failed(String),
    Done,
}

/// Events of one file, in batches.
pub struct EventSource {
    inner: Inner,
    index: u64,
}

/// Events per batch.
const BATCH: usize = 2048;

fn decompress(path: &Path) -> Result<Reader> {
    let f = std::fs::File::open(path)?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let r: Box<dyn Read + Send> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)))
    } else if name.ends_with(".zst") {
        Box::new(zstd::stream::read::Decoder::new(f)?)
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, r)))
}

fn first_byte(r: &mut Reader) -> Result<Option<u8>> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let skip = buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || matches!(b, 0xEF | 0xBB | 0xBF))
            .count();
        if skip < buf.len() {
            let b = buf[skip];
            r.consume(skip);
            return Ok(Some(b));
        }
        let n = buf.len();
        r.consume(n);
    }
}

impl EventSource {
    /// Opens a file: `.jsonl`/`.ndjson` line by line, else a JSON array or a stream of
    /// JSON values (pretty-printed objects back to back are fine).
    pub fn open(path: &Path) -> Result<EventSource> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        {
            return Ok(EventSource {
                inner: Inner::Evtx(read_evtx(path)?),
                index: 0,
            });
        }
        let mut r = decompress(path)?;
        let name = path.to_string_lossy().to_ascii_lowercase();
        let base = name
            .trim_end_matches(".gz")
            .trim_end_matches(".zst")
            .to_owned();
        let inner = if base.ends_with(".jsonl") || base.ends_with(".ndjson") {
            Inner::Lines(r, 0)
        } else {
            match first_byte(&mut r)? {
                None => Inner::Done,
                Some(b'[') => {
                    r.consume(1);
                    Inner::Elements(super::array::ArrayElements::new(r))
                }
                Some(_) => Inner::Stream(serde_json::Deserializer::from_reader(r).into_iter()),
            }
        };
        Ok(EventSource { inner, index: 0 })
    }

    /// The next batch, `None` at the end. A JSON syntax error in a stream or an array
    /// ends the file: the events before it are handed out, then the error.
    pub fn next_batch(&mut self) -> Result<Option<Vec<RawRecord>>> {
        let mut out = Vec::with_capacity(BATCH);
        while out.len() < BATCH {
            let raw = match &mut self.inner {
                Inner::Done => break,
                Inner::Lines(r, line) => {
                    let mut s = String::new();
                    if r.read_line(&mut s)? == 0 {
                        self.inner = Inner::Done;
                        break;
                    }
                    *line += 1;
                    if s.trim().is_empty() {
                        continue;
                    }
                    (Some(*line), Raw::Text(s))
                }
                Inner::Stream(it) => match it.next() {
                    None => {
                        self.inner = Inner::Done;
                        break;
                    }
                    Some(Ok(v)) => (None, Raw::Text(Box::<str>::from(v).into_string())),
                    Some(Err(e)) => {
                        // The events before the error are handed out first.
                        self.inner = Inner::Failed(format!("invalid JSON: {e}"));
                        if out.is_empty() {
                            continue;
                        }
                        break;
                    }
                },
                Inner::Elements(elements) => match elements.next_element() {
                    Ok(None) => {
                        self.inner = Inner::Done;
                        break;
                    }
                    Ok(Some(bytes)) => match String::from_utf8(bytes) {
                        Ok(text) => (None, Raw::Text(text)),
                        Err(_) => (
                            None,
                            Raw::Bad(format!("event {} is not UTF-8", self.index + 1)),
                        ),
                    },
                    Err(e) => {
                        // The events before the error are handed out first.
                        self.inner = Inner::Failed(format!("invalid JSON: {e}"));
                        if out.is_empty() {
                            continue;
                        }
                        break;
                    }
                },
                Inner::Failed(e) => {
                    let e = std::mem::take(e);
                    self.inner = Inner::Done;
                    bail!(e);
                }
                Inner::Evtx(records) => match records.recv() {
                    Err(_) => {
                        self.inner = Inner::Done;
                        break;
                    }
                    Ok(v) => (None, Raw::Value(v)),
                },
            };
            self.index += 1;
            out.push(RawRecord {
                index: self.index,
                line: raw.0,
                raw: raw.1,
            });
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

/// Size of an EVTX file header and of each chunk after it (bytes).
const EVTX_HEADER: u64 = 4096;
const EVTX_CHUNK: u64 = 65536;

/// The records of a Windows event log file as JSON (`{"Event": {...}}`, the shape
/// EVTX-to-JSON tools write), decoded on a thread of their own and handed over a few
/// thousand at a time, so a file of any size takes bounded memory (the `evtx` crate
/// decodes its chunks on all cores meanwhile). Broken records are skipped with a
/// warning; a file that is not EVTX at all is an error here.
fn read_evtx(path: &Path) -> Result<std::sync::mpsc::Receiver<Value>> {
    // The caller names the file.
    let parser = evtx::EvtxParser::from_path(path).context("not a readable EVTX file")?;
    let (tx, rx) = std::sync::mpsc::sync_channel(BATCH);
    let name = path.display().to_string();
    // A file is a 4 KiB header and whole 64 KiB chunks; the decoder stops quietly at a
    // partial one (a file cut short), so say so.
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > EVTX_HEADER && !(len - EVTX_HEADER).is_multiple_of(EVTX_CHUNK) {
        eprintln!(
            "{name}: ends inside a chunk (cut short?): the records of its last {} bytes were not read",
            (len - EVTX_HEADER) % EVTX_CHUNK
        );
    }
    std::thread::Builder::new()
        .name("evtx".into())
        .spawn(move || {
            let mut parser = parser;
            let mut bad = 0usize;
            for r in parser.records_json_value() {
                match r {
                    Ok(rec) => {
                        if tx.send(rec.data).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        bad += 1;
                        if bad <= 5 {
                            eprintln!("{name}: skipped a broken record: {e}");
                        }
                    }
                }
            }
        })
        .context("start the EVTX reader")?;
    Ok(rx)
}
