//! [`FileLog`]: the embedded event log, a directory of segment files.
//!
//! Written here rather than taken from a crate because the log needs three things at
//! once that the WAL crates we looked at do not combine: group commit (one fsync for
//! many HTTP batches), readers that never see an un-fsynced record, and segment-level
//! retention gated by consumer offsets. The format is deliberately tiny (see `record`).

use super::record::{self, HEADER_LEN, MAX_RECORD_LEN};
use super::{EventLog, LogBounds, LogCursor, LogRecord, Removed, RetainPolicy};
use crate::{Result, StoreError};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Tuning of a [`FileLog`].
#[derive(Debug, Clone, Copy)]
pub struct FileLogOptions {
    /// A new segment starts once the active one would grow beyond this many bytes.
    pub segment_bytes: u64,
}

impl Default for FileLogOptions {
    fn default() -> Self {
        FileLogOptions {
            segment_bytes: 128 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
struct Segment {
    first_seq: u64,
    /// Sequence number after the last durable record of this segment.
    end_seq: u64,
    path: PathBuf,
    /// Bytes that are durable and readable.
    len: u64,
}

struct State {
    segments: Vec<Segment>,
    active: File,
    buf: Vec<u8>,
}

/// A segmented append-only log in one directory. One writer per directory: the caller
/// (the `serve` process or a one-shot command) holds the data directory's lock.
pub struct FileLog {
    dir: PathBuf,
    opts: FileLogOptions,
    state: Arc<Mutex<State>>,
    tx: watch::Sender<u64>,
}

fn seg_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(format!("fsync directory {}", dir.display()), e))
}

/// Lists `*.seg` files of a directory as (first_seq, path), sorted.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let rd = fs::read_dir(dir).map_err(|e| StoreError::io(format!("list {}", dir.display()), e))?;
    for entry in rd {
        let entry = entry.map_err(|e| StoreError::io(format!("list {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".seg")
            && let Ok(seq) = stem.parse::<u64>()
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

impl FileLog {
    /// Opens (or creates) the log in `dir`, cutting off a torn tail left by a crash.
    pub fn open(dir: &Path, opts: FileLogOptions) -> Result<Self> {
        fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(format!("create {}", dir.display()), e))?;
        let found = list_segments(dir)?;
        let mut segments = Vec::with_capacity(found.len().max(1));
        for (i, (first, path)) in found.iter().enumerate() {
            let is_last = i + 1 == found.len();
            if is_last {
                let s = record::scan(path, *first, |_, _| {})?;
                let on_disk = fs::metadata(path)
                    .map_err(|e| StoreError::io(format!("stat {}", path.display()), e))?
                    .len();
                if on_disk != s.valid_len {
                    tracing::warn!(
                        segment = %path.display(),
                        kept = s.valid_len,
                        dropped = on_disk - s.valid_len,
                        "event log: cutting off a torn tail (unacknowledged writes)"
                    );
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| StoreError::io(format!("open {}", path.display()), e))?;
                    f.set_len(s.valid_len)
                        .and_then(|_| f.sync_all())
                        .map_err(|e| StoreError::io(format!("truncate {}", path.display()), e))?;
                }
                segments.push(Segment {
                    first_seq: *first,
                    end_seq: first + s.records,
                    path: path.clone(),
                    len: s.valid_len,
                });
            } else {
                let next_first = found[i + 1].0;
                let len = fs::metadata(path)
                    .map_err(|e| StoreError::io(format!("stat {}", path.display()), e))?
                    .len();
                segments.push(Segment {
                    first_seq: *first,
                    end_seq: next_first.max(*first),
                    path: path.clone(),
                    len,
                });
            }
        }
        if segments.is_empty() {
            let path = dir.join(seg_name(1));
            File::create(&path)
                .map_err(|e| StoreError::io(format!("create {}", path.display()), e))?;
            sync_dir(dir)?;
            segments.push(Segment {
                first_seq: 1,
                end_seq: 1,
                path,
                len: 0,
            });
        }
        let last = segments.last().map(|s| s.path.clone()).unwrap_or_default();
        let active = OpenOptions::new()
            .append(true)
            .open(&last)
            .map_err(|e| StoreError::io(format!("open {}", last.display()), e))?;
        let next = segments.last().map(|s| s.end_seq).unwrap_or(1);
        let (tx, _) = watch::channel(next - 1);
        Ok(FileLog {
            dir: dir.to_owned(),
            opts,
            state: Arc::new(Mutex::new(State {
                segments,
                active,
                buf: Vec::with_capacity(1 << 20),
            })),
            tx,
        })
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn roll(&self, st: &mut State, first_seq: u64) -> Result<()> {
        let path = self.dir.join(seg_name(first_seq));
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(format!("create {}", path.display()), e))?;
        sync_dir(&self.dir)?;
        st.active = f;
        st.segments.push(Segment {
            first_seq,
            end_seq: first_seq,
            path,
            len: 0,
        });
        Ok(())
    }
}

impl EventLog for FileLog {
    fn append(&self, payloads: &[&[u8]]) -> Result<u64> {
        if let Some(p) = payloads.iter().find(|p| p.len() > MAX_RECORD_LEN) {
            return Err(StoreError::Invalid(format!(
                "record of {} bytes exceeds the {} byte limit",
                p.len(),
                MAX_RECORD_LEN
            )));
        }
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let Some(active) = st.segments.last() else {
            return Err(StoreError::Corrupt("no active segment".into()));
        };
        let first = active.end_seq;
        if payloads.is_empty() {
            return Ok(first);
        }
        let batch: u64 = payloads.iter().map(|p| (p.len() + HEADER_LEN) as u64).sum();
        if active.len > 0 && active.len + batch > self.opts.segment_bytes {
            self.roll(st, first)?;
        }
        st.buf.clear();
        for (i, p) in payloads.iter().enumerate() {
            record::encode(&mut st.buf, first + i as u64, p);
        }
        let before = st.segments.last().map(|s| s.len).unwrap_or(0);
        let written = st
            .active
            .write_all(&st.buf)
            .and_then(|_| st.active.sync_data());
        if let Err(e) = written {
            // Leave no half batch behind for readers or the next open.
            let _ = st.active.set_len(before);
            return Err(StoreError::io("append to event log", e));
        }
        let n = payloads.len() as u64;
        if let Some(seg) = st.segments.last_mut() {
            seg.len += st.buf.len() as u64;
            seg.end_seq += n;
        }
        if st.buf.capacity() > 64 << 20 {
            st.buf = Vec::with_capacity(1 << 20);
        }
        drop(guard);
        self.tx.send_replace(first + n - 1);
        Ok(first)
    }

    fn cursor(&self, from_seq: u64) -> Result<Box<dyn LogCursor>> {
        let bounds = self.bounds();
        let from = from_seq.max(bounds.first_seq).max(1);
        Ok(Box::new(FileCursor {
            state: Arc::clone(&self.state),
            next_seq: from,
            open: None,
        }))
    }

    fn bounds(&self) -> LogBounds {
        let st = lock(&self.state);
        let first = st
            .segments
            .iter()
            .find(|s| s.end_seq > s.first_seq)
            .map(|s| s.first_seq);
        let next = st.segments.last().map(|s| s.end_seq).unwrap_or(1);
        LogBounds {
            first_seq: first.unwrap_or(next),
            last_seq: next - 1,
        }
    }

    fn watch(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    fn retain(&self, policy: RetainPolicy) -> Result<Removed> {
        let mut st = lock(&self.state);
        let mut total: u64 = st.segments.iter().map(|s| s.len).sum();
        let mut removed = Removed::default();
        while st.segments.len() > 1 {
            let seg = &st.segments[0];
            if seg.end_seq > policy.keep_from_seq {
                break;
            }
            let too_old = match policy.older_than {
                Some(cutoff) => fs::metadata(&seg.path)
                    .and_then(|m| m.modified())
                    .map(|t| t < cutoff)
                    .unwrap_or(false),
                None => false,
            };
            let too_big = policy.max_bytes.is_some_and(|max| total > max);
            if !(too_old || too_big) {
                break;
            }
            fs::remove_file(&seg.path)
                .map_err(|e| StoreError::io(format!("remove {}", seg.path.display()), e))?;
            total -= seg.len;
            removed.segments += 1;
            removed.bytes += seg.len;
            st.segments.remove(0);
        }
        if removed.segments > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    fn size_bytes(&self) -> u64 {
        lock(&self.state).segments.iter().map(|s| s.len).sum()
    }
}

struct OpenSegment {
    first_seq: u64,
    reader: BufReader<File>,
    offset: u64,
    path: PathBuf,
}

struct FileCursor {
    state: Arc<Mutex<State>>,
    next_seq: u64,
    open: Option<OpenSegment>,
}

impl FileCursor {
    /// The segment holding `next_seq` and its durable length, or `None` when caught up.
    fn locate(&self) -> Option<(u64, PathBuf, u64, u64)> {
        let st = lock(&self.state);
        let seg = st.segments.iter().find(|s| s.end_seq > self.next_seq)?;
        Some((seg.first_seq, seg.path.clone(), seg.len, seg.end_seq))
    }

    fn open_at(&mut self, first_seq: u64, path: PathBuf) -> Result<()> {
        let f =
            File::open(&path).map_err(|e| StoreError::io(format!("open {}", path.display()), e))?;
        let mut reader = BufReader::with_capacity(1 << 20, f);
        let mut offset = 0u64;
        let mut seq = first_seq;
        // Skip to next_seq by walking headers (only on the first read of a segment).
        if self.next_seq < first_seq {
            self.next_seq = first_seq;
        }
        while seq < self.next_seq {
            let mut hb = [0u8; HEADER_LEN];
            if !record::read_full(&mut reader, &mut hb, &path)? {
                return Err(StoreError::Corrupt(format!(
                    "{} ends before seq {}",
                    path.display(),
                    self.next_seq
                )));
            }
            let h = record::decode_header(&hb);
            reader
                .seek_relative(h.len as i64)
                .map_err(|e| StoreError::io(format!("seek {}", path.display()), e))?;
            offset += (HEADER_LEN + h.len) as u64;
            seq += 1;
        }
        self.open = Some(OpenSegment {
            first_seq,
            reader,
            offset,
            path,
        });
        Ok(())
    }
}

impl LogCursor for FileCursor {
    fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<LogRecord>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while out.len() < max_records && bytes < max_bytes {
            let Some((first, path, durable_len, end_seq)) = self.locate() else {
                break;
            };
            if first > self.next_seq {
                tracing::warn!(
                    from = self.next_seq,
                    to = first,
                    "event log gap: records were removed"
                );
                self.next_seq = first;
            }
            let reopen = self.open.as_ref().is_none_or(|o| o.first_seq != first);
            if reopen {
                self.open_at(first, path)?;
            }
            let Some(open) = self.open.as_mut() else {
                break;
            };
            if open.offset >= durable_len || self.next_seq >= end_seq {
                break;
            }
            let mut hb = [0u8; HEADER_LEN];
            if !record::read_full(&mut open.reader, &mut hb, &open.path)? {
                break;
            }
            let h = record::decode_header(&hb);
            if h.len > MAX_RECORD_LEN || h.seq != self.next_seq {
                return Err(StoreError::Corrupt(format!(
                    "{} at offset {}: expected seq {}, found a bad frame",
                    open.path.display(),
                    open.offset,
                    self.next_seq
                )));
            }
            let mut payload = vec![0u8; h.len];
            if !record::read_full(&mut open.reader, &mut payload, &open.path)?
                || !record::checksum_ok(&h, &payload)
            {
                return Err(StoreError::Corrupt(format!(
                    "{}: checksum mismatch at seq {}",
                    open.path.display(),
                    h.seq
                )));
            }
            open.offset += (HEADER_LEN + h.len) as u64;
            bytes += h.len;
            self.next_seq += 1;
            out.push(LogRecord {
                seq: h.seq,
                payload,
            });
        }
        Ok(out)
    }

    fn position(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(n: usize, tag: &str) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"{tag}\":{i}}}").into_bytes())
            .collect()
    }

    fn append_all(log: &FileLog, p: &[Vec<u8>]) -> u64 {
        let refs: Vec<&[u8]> = p.iter().map(Vec::as_slice).collect();
        log.append(&refs).expect("append")
    }

    fn read_all(log: &FileLog, from: u64) -> Vec<LogRecord> {
        let mut c = log.cursor(from).expect("cursor");
        let mut out = Vec::new();
        loop {
            let b = c.next_batch(7, 1 << 20).expect("read");
            if b.is_empty() {
                return out;
            }
            out.extend(b);
        }
    }

    #[test]
    fn sequence_numbers_are_consecutive_across_segments_and_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let opts = FileLogOptions { segment_bytes: 200 };
        {
            let log = FileLog::open(dir.path(), opts).expect("open");
            assert_eq!(
                log.bounds(),
                LogBounds {
                    first_seq: 1,
                    last_seq: 0
                }
            );
            assert_eq!(append_all(&log, &payloads(10, "a")), 1);
            assert_eq!(append_all(&log, &payloads(10, "b")), 11);
        }
        let log = FileLog::open(dir.path(), opts).expect("reopen");
        assert!(list_segments(dir.path()).expect("list").len() > 1);
        assert_eq!(append_all(&log, &payloads(5, "c")), 21);
        let all = read_all(&log, 1);
        assert_eq!(all.len(), 25);
        assert!(all.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1));
        assert_eq!(all[10].payload, b"{\"b\":0}");
        let tail = read_all(&log, 18);
        assert_eq!(tail.first().map(|r| r.seq), Some(18));
        assert_eq!(tail.len(), 8);
    }

    #[test]
    fn torn_tail_is_cut_and_appends_continue() {
        let dir = tempfile::tempdir().expect("tmp");
        let opts = FileLogOptions::default();
        {
            let log = FileLog::open(dir.path(), opts).expect("open");
            append_all(&log, &payloads(3, "x"));
        }
        let seg = dir.path().join(seg_name(1));
        let mut f = OpenOptions::new()
            .append(true)
            .open(&seg)
            .expect("open seg");
        // Half a header and some garbage, as a crash mid-write leaves.
        f.write_all(&[9, 0, 0, 0, 1, 2]).expect("write");
        drop(f);
        let log = FileLog::open(dir.path(), opts).expect("reopen");
        assert_eq!(log.bounds().last_seq, 3);
        assert_eq!(append_all(&log, &payloads(1, "y")), 4);
        assert_eq!(read_all(&log, 1).len(), 4);
    }

    #[test]
    fn corrupted_checksum_cuts_from_that_record() {
        let dir = tempfile::tempdir().expect("tmp");
        let opts = FileLogOptions::default();
        {
            let log = FileLog::open(dir.path(), opts).expect("open");
            append_all(&log, &payloads(3, "x"));
        }
        let seg = dir.path().join(seg_name(1));
        let mut bytes = fs::read(&seg).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&seg, bytes).expect("write");
        let log = FileLog::open(dir.path(), opts).expect("reopen");
        assert_eq!(log.bounds().last_seq, 2);
    }

    #[test]
    fn retention_removes_only_consumed_segments() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = FileLog::open(dir.path(), FileLogOptions { segment_bytes: 100 }).expect("open");
        for _ in 0..10 {
            append_all(&log, &payloads(3, "r"));
        }
        let before = list_segments(dir.path()).expect("list").len();
        let removed = log
            .retain(RetainPolicy {
                keep_from_seq: 10,
                older_than: None,
                max_bytes: Some(0),
            })
            .expect("retain");
        assert!(removed.segments > 0);
        assert!(log.bounds().first_seq <= 10, "consumer still needs seq 10");
        let after = list_segments(dir.path()).expect("list").len();
        assert_eq!(before - removed.segments, after);
        let rest = read_all(&log, 1);
        assert_eq!(rest.first().map(|r| r.seq), Some(log.bounds().first_seq));
        assert_eq!(rest.last().map(|r| r.seq), Some(30));
    }

    #[test]
    fn oversized_record_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = FileLog::open(dir.path(), FileLogOptions::default()).expect("open");
        let big = vec![b'x'; MAX_RECORD_LEN + 1];
        assert!(log.append(&[&big]).is_err());
        assert_eq!(log.bounds().last_seq, 0);
    }

    #[test]
    fn cursor_follows_appends() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = FileLog::open(dir.path(), FileLogOptions { segment_bytes: 64 }).expect("open");
        let mut c = log.cursor(1).expect("cursor");
        assert!(c.next_batch(10, 1 << 20).expect("read").is_empty());
        append_all(&log, &payloads(4, "f"));
        assert_eq!(c.next_batch(10, 1 << 20).expect("read").len(), 4);
        append_all(&log, &payloads(4, "g"));
        let b = c.next_batch(10, 1 << 20).expect("read");
        assert_eq!(
            b.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![5, 6, 7, 8]
        );
        assert_eq!(c.position(), 9);
    }
}
