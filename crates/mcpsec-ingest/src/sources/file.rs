//! Follows a file like `tail -F` and turns each line into an event, losing nothing across
//! rotation or restarts.
//!
//! - Only complete lines are read; a last line still missing its `\n` waits for it.
//! - Each line goes through [`mcpsec_normalize::normalize_line`] with source kind `file`
//!   and the configured path as name. Bytes that are not UTF-8 are replaced (lossy);
//!   blank lines give no event; a line longer than `max_line_bytes` is cut.
//! - Events are submitted in batches, and only after a batch is durable in the log is the
//!   position stored as checkpoint `file:<path>` = `{"dev":…,"ino":…,"offset":…}`. A
//!   restart resumes there, so nothing is read twice or skipped.
//! - **Rotation by rename** (`app.log` → `app.log.1`, new `app.log`): noticed when the
//!   path names another file; the old file is read to its end through the handle still
//!   open (a last line without `\n` is taken as it is, since nothing will complete it),
//!   then the new file is read from its start. If this happened while mcpsec was down,
//!   the old file is looked up by device and inode in the same directory and finished
//!   from the checkpoint first.
//! - **Rotation by copytruncate**: noticed when the file is shorter than the position;
//!   reading starts again at 0.
//! - A missing file (not created yet, or deleted) is waited for quietly.
//!
//! Polling, no inotify: changes are seen within `poll_interval_ms`.
//!
//! Metrics: `mcpsec_file_lines_total`, `mcpsec_file_lines_truncated_total`.

use super::common::{
    WarnLimiter, is_blank, retry_queue_full, shutdown_requested, shutdown_signalled,
};
use crate::{IngestError, Pipeline};
use mcpsec_core::{Event, SourceInfo, TenantId};
use mcpsec_normalize::{Context, normalize_line};
use mcpsec_store::{StateStore, StoreError};
use std::io::{ErrorKind, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Lines submitted together (at most).
const BATCH_LINES: usize = 1000;
/// Bytes read at once.
const READ_CHUNK: usize = 64 * 1024;
/// At most one warning of a kind per this interval.
const WARN_EVERY: Duration = Duration::from_secs(60);

fn default_tenant() -> String {
    TenantId::DEFAULT.to_owned()
}

fn default_poll_interval_ms() -> u64 {
    250
}

fn default_max_line_bytes() -> usize {
    1 << 20
}

/// Where to start reading a file that has no checkpoint yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    /// From its first line (`"beginning"`, the default).
    #[default]
    Beginning,
    /// Only lines written from now on (`"end"`).
    End,
}

/// Configuration of one followed file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The file to follow. It may not exist yet; it is waited for. Its directory is where
    /// a file rotated away while mcpsec was down is looked for.
    pub path: PathBuf,
    /// The tenant the events belong to. Default: `"default"`.
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// Where to start when the file has no checkpoint yet: `"beginning"` (default) or
    /// `"end"`. With a checkpoint, reading always resumes from it, and a file that
    /// appears later is always read from its beginning.
    #[serde(default)]
    pub start_at: StartAt,
    /// How often, in milliseconds, the file is checked for new lines and rotation.
    /// Default: 250.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Longest line in bytes; longer lines are cut to this length. Default: 1048576
    /// (1 MiB).
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
}

impl FileSourceConfig {
    /// A configuration for `path` with every other setting at its default.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSourceConfig {
            path: path.into(),
            tenant: default_tenant(),
            start_at: StartAt::default(),
            poll_interval_ms: default_poll_interval_ms(),
            max_line_bytes: default_max_line_bytes(),
        }
    }
}

/// The stored position: which file (device, inode) and how far, in bytes, its lines are
/// durable in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    dev: u64,
    ino: u64,
    offset: u64,
}

/// A file's identity, surviving renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(m: &std::fs::Metadata) -> Self {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// Where to place a newly opened file's position.
#[derive(Debug, Clone, Copy)]
enum Position {
    Start,
    End,
    /// A checkpointed offset; the start when the file is now shorter (truncated).
    At(u64),
}

/// The file being read.
struct Tracked {
    file: File,
    id: FileId,
    /// Where it was opened from (for log messages).
    opened_as: PathBuf,
    /// Offset after the last line whose event is durable (and checkpointed).
    committed: u64,
    /// Offset of the next byte to read.
    read_pos: u64,
    /// The line being read (its first `max_line_bytes` bytes).
    line: Vec<u8>,
    /// The line being read is longer than `max_line_bytes`.
    line_cut: bool,
    /// The file's first bytes as read (up to [`HEAD_BYTES`]): when they change under the
    /// same inode, the file was truncated and written again, even if it has already
    /// grown past the position (copytruncate followed by a quick write).
    head: Vec<u8>,
}

/// How many leading bytes identify a file's content for copytruncate detection.
const HEAD_BYTES: usize = 64;

/// Whether the file at `path` no longer starts with `head`.
async fn head_changed(path: &Path, head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let Ok(mut f) = File::open(path).await else {
        return false;
    };
    let mut now = vec![0u8; head.len()];
    let mut got = 0;
    while got < now.len() {
        match f.read(&mut now[got..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got == head.len() && now != head
}

/// The source stopped: shutdown was requested, or the pipeline is gone.
struct Stop;

/// Follows one file into the [`Pipeline`]; see the [module docs](self).
pub struct FileTail {
    cfg: FileSourceConfig,
    source: SourceInfo,
    tenant: TenantId,
    checkpoint_name: String,
    pipeline: Pipeline,
    state: Arc<dyn StateStore>,
    /// The last checkpoint read or stored.
    last: Option<Checkpoint>,
    missing_reported: bool,
    warn: WarnLimiter,
}

/// Starts following `cfg.path` in a task that ends when `shutdown` turns `true` (or its
/// sender is dropped). An invalid configuration is logged as an error and the task ends.
pub fn spawn_file_source(
    cfg: FileSourceConfig,
    pipeline: Pipeline,
    state: Arc<dyn StateStore>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let path = cfg.path.clone();
        match FileTail::new(cfg, pipeline, state) {
            Ok(tail) => tail.run(shutdown).await,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "file source not started")
            }
        }
    })
}

impl FileTail {
    /// Checks the configuration (tenant name, limits).
    pub fn new(
        cfg: FileSourceConfig,
        pipeline: Pipeline,
        state: Arc<dyn StateStore>,
    ) -> Result<FileTail, IngestError> {
        let invalid = |msg: String| IngestError::Store(StoreError::Invalid(msg));
        let tenant = TenantId::new(&cfg.tenant)
            .map_err(|e| invalid(format!("file source {}: {e}", cfg.path.display())))?;
        if cfg.max_line_bytes == 0 || cfg.poll_interval_ms == 0 {
            return Err(invalid(format!(
                "file source {}: `max_line_bytes` and `poll_interval_ms` must be at least 1",
                cfg.path.display()
            )));
        }
        let name = cfg.path.display().to_string();
        Ok(FileTail {
            source: SourceInfo::new("file", name.clone()),
            checkpoint_name: format!("file:{name}"),
            tenant,
            cfg,
            pipeline,
            state,
            last: None,
            missing_reported: false,
            warn: WarnLimiter::new(WARN_EVERY),
        })
    }

    /// Follows the file until `shutdown` turns `true` (or its sender is dropped). Lines
    /// already read are submitted first; a last line without `\n` is left for next time.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.cfg.poll_interval_ms);
        let mut current = self.resume().await;
        loop {
            // Truncation and rotation are checked before reading, so bytes written after
            // a copytruncate are never read from the old position.
            if let Err(Stop) = self.check_path(&mut current, &shutdown).await {
                return;
            }
            if let Some(t) = current.as_mut()
                && self.drain(t, &shutdown).await.is_err()
            {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = shutdown_signalled(&mut shutdown) => return,
            }
        }
    }

    /// Opens the file to read first: from the checkpoint when there is one (possibly a
    /// file rotated away meanwhile), else as `start_at` says.
    async fn resume(&mut self) -> Option<Tracked> {
        let path = self.cfg.path.clone();
        let at_path = tokio::fs::metadata(&path)
            .await
            .ok()
            .map(|m| FileId::of(&m));
        match self.load_checkpoint().await {
            Some(cp) => {
                let id = FileId {
                    dev: cp.dev,
                    ino: cp.ino,
                };
                if at_path == Some(id) {
                    return self.open(&path, Position::At(cp.offset)).await;
                }
                if let Some(old) = find_by_id(&path, id).await {
                    tracing::info!(file = %old.display(), offset = cp.offset,
                        "finishing a file rotated away while mcpsec was down");
                    if let Some(t) = self.open(&old, Position::At(cp.offset)).await {
                        return Some(t);
                    }
                }
                if at_path.is_some() {
                    tracing::warn!(path = %path.display(),
                        "the checkpointed file is gone (deleted or compressed?); lines written to it after the checkpoint may be lost. Reading the current file from its start");
                    let t = self.open(&path, Position::Start).await?;
                    self.store(&t).await;
                    return Some(t);
                }
                None
            }
            None if at_path.is_some() => {
                let pos = match self.cfg.start_at {
                    StartAt::Beginning => Position::Start,
                    StartAt::End => Position::End,
                };
                let t = self.open(&path, pos).await?;
                self.store(&t).await;
                Some(t)
            }
            None => None,
        }
    }

    /// After reading to the end: is the path still the file being read? Handles rename
    /// rotation, truncation and a file appearing. `Ok(true)` when another file was opened.
    async fn check_path(
        &mut self,
        current: &mut Option<Tracked>,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<bool, Stop> {
        let path = self.cfg.path.clone();
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !self.missing_reported {
                    self.missing_reported = true;
                    tracing::info!(path = %path.display(), "waiting for the file to appear");
                }
                return Ok(false);
            }
            Err(e) => {
                self.warn_limited(&path, &e, "cannot stat the file");
                return Ok(false);
            }
        };
        self.missing_reported = false;
        let id = FileId::of(&meta);
        if let Some(t) = current.as_mut() {
            if t.id == id {
                if meta.len() < t.read_pos || head_changed(&path, &t.head).await {
                    tracing::info!(path = %path.display(), "file truncated (copytruncate?); reading it from the start");
                    if t.file.seek(SeekFrom::Start(0)).await.is_err() {
                        *current = None;
                        return Ok(false);
                    }
                    t.committed = 0;
                    t.read_pos = 0;
                    t.line.clear();
                    t.line_cut = false;
                    t.head.clear();
                    self.store(t).await;
                    return Ok(true);
                }
                return Ok(false);
            }
            // Rotated: what was written to the old file up to now is read first.
            tracing::info!(old = %t.opened_as.display(), path = %path.display(), "file rotated");
            self.drain(t, shutdown).await?;
            self.finish_rotated(t, shutdown).await?;
        }
        // A file seen for the first time is read from its start; the checkpointed one
        // (when opening it failed before) from its checkpoint.
        let pos = match self.last {
            Some(cp)
                if (FileId {
                    dev: cp.dev,
                    ino: cp.ino,
                }) == id =>
            {
                Position::At(cp.offset)
            }
            _ => Position::Start,
        };
        *current = self.open(&path, pos).await;
        match current.as_ref() {
            Some(t) => {
                self.store(t).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Opens `path` and places the position. `None` (with a rate-limited warning) when
    /// it cannot be opened, to be tried again at the next poll.
    async fn open(&mut self, path: &Path, pos: Position) -> Option<Tracked> {
        let opened = async {
            let mut file = File::open(path).await?;
            let meta = file.metadata().await?;
            let offset = match pos {
                Position::Start => 0,
                Position::End => meta.len(),
                Position::At(o) if o <= meta.len() => o,
                Position::At(_) => {
                    tracing::info!(path = %path.display(), "file shorter than its checkpoint (truncated); reading it from the start");
                    0
                }
            };
            file.seek(SeekFrom::Start(offset)).await?;
            Ok::<_, std::io::Error>(Tracked {
                file,
                id: FileId::of(&meta),
                opened_as: path.to_owned(),
                committed: offset,
                read_pos: offset,
                line: Vec::new(),
                line_cut: false,
                head: Vec::new(),
            })
        };
        match opened.await {
            Ok(t) => Some(t),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => {
                self.warn_limited(path, &e, "cannot open the file");
                None
            }
        }
    }

    /// Reads `t` to its end, submitting complete lines in batches.
    async fn drain(
        &mut self,
        t: &mut Tracked,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut batch: Vec<Event> = Vec::new();
        let mut batch_end = t.committed;
        let max = self.cfg.max_line_bytes;
        while !shutdown_requested(shutdown) {
            let n = match t.file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let shown = t.opened_as.clone();
                    self.warn_limited(&shown, &e, "cannot read the file");
                    break;
                }
            };
            let chunk_start = t.read_pos;
            if chunk_start < HEAD_BYTES as u64 && t.head.len() as u64 == chunk_start {
                let take = (HEAD_BYTES - t.head.len()).min(n);
                t.head.extend_from_slice(&buf[..take]);
            }
            t.read_pos += n as u64;
            let ctx = Context::new(self.tenant.clone(), self.source.clone());
            let mut from = 0;
            for nl in memchr::memchr_iter(b'\n', &buf[..n]) {
                t.extend_line(&buf[from..nl], max);
                from = nl + 1;
                batch_end = chunk_start + from as u64;
                push_line(&mut batch, t, &ctx);
                if batch.len() >= BATCH_LINES {
                    self.commit(t, &mut batch, batch_end, shutdown).await?;
                }
            }
            t.extend_line(&buf[from..n], max);
        }
        self.commit(t, &mut batch, batch_end, shutdown).await?;
        if shutdown_requested(shutdown) {
            return Err(Stop);
        }
        Ok(())
    }

    /// A rotated-away file is complete: its last line, even without `\n`, is taken.
    async fn finish_rotated(
        &mut self,
        t: &mut Tracked,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        if t.line.is_empty() && !t.line_cut {
            return Ok(());
        }
        let ctx = Context::new(self.tenant.clone(), self.source.clone());
        let mut batch = Vec::new();
        push_line(&mut batch, t, &ctx);
        let end = t.read_pos;
        self.commit(t, &mut batch, end, shutdown).await
    }

    /// Submits `batch`, then stores `end` as the checkpoint of `t`. Retries while the
    /// queue is full or the log fails, until shutdown (the lines are then read again
    /// after the restart).
    async fn commit(
        &mut self,
        t: &mut Tracked,
        batch: &mut Vec<Event>,
        end: u64,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        if !batch.is_empty() {
            loop {
                let (p, evs) = (&self.pipeline, &batch[..]);
                let res =
                    retry_queue_full(move || p.submit(evs), |_| shutdown_requested(shutdown)).await;
                match res {
                    Ok(_) => break,
                    Err(IngestError::ShuttingDown | IngestError::QueueFull { .. }) => {
                        return Err(Stop);
                    }
                    Err(e) => {
                        let path = self.cfg.path.clone();
                        self.warn_limited(&path, &e, "cannot store lines; retrying");
                        tokio::time::sleep(Duration::from_millis(self.cfg.poll_interval_ms)).await;
                        if shutdown_requested(shutdown) {
                            return Err(Stop);
                        }
                    }
                }
            }
            metrics::counter!("mcpsec_file_lines_total").increment(batch.len() as u64);
            batch.clear();
        }
        if end != t.committed {
            t.committed = end;
            self.store(t).await;
        }
        Ok(())
    }

    async fn load_checkpoint(&mut self) -> Option<Checkpoint> {
        let (state, name) = (Arc::clone(&self.state), self.checkpoint_name.clone());
        let value = match tokio::task::spawn_blocking(move || state.checkpoint(&name)).await {
            Ok(Ok(v)) => v?,
            Ok(Err(e)) => {
                tracing::error!(checkpoint = %self.checkpoint_name, error = %e, "cannot read the checkpoint; starting without it");
                return None;
            }
            Err(e) => {
                tracing::error!(checkpoint = %self.checkpoint_name, error = %e, "cannot read the checkpoint; starting without it");
                return None;
            }
        };
        match serde_json::from_str(&value) {
            Ok(cp) => {
                self.last = Some(cp);
                Some(cp)
            }
            Err(e) => {
                tracing::warn!(checkpoint = %self.checkpoint_name, error = %e, "ignoring an unreadable checkpoint");
                None
            }
        }
    }

    /// Stores `t`'s committed position. A failure only means lines may be read twice
    /// after a restart, so it is logged and reading goes on.
    async fn store(&mut self, t: &Tracked) {
        let cp = Checkpoint {
            dev: t.id.dev,
            ino: t.id.ino,
            offset: t.committed,
        };
        self.last = Some(cp);
        let value = match serde_json::to_string(&cp) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a checkpoint");
                return;
            }
        };
        let (state, name) = (Arc::clone(&self.state), self.checkpoint_name.clone());
        let res = tokio::task::spawn_blocking(move || state.set_checkpoint(&name, &value)).await;
        let err = match res {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        let path = self.cfg.path.clone();
        self.warn_limited(&path, &err, "cannot store the checkpoint");
    }

    fn warn_limited(&mut self, path: &Path, error: &dyn std::fmt::Display, what: &str) {
        if let Some(suppressed) = self.warn.allow() {
            tracing::warn!(path = %path.display(), error = %error, similar_warnings_suppressed = suppressed, "{what}");
        }
    }
}

impl Tracked {
    /// Adds bytes to the current line, keeping at most `max`.
    fn extend_line(&mut self, bytes: &[u8], max: usize) {
        let room = max.saturating_sub(self.line.len());
        if bytes.len() > room {
            self.line.extend_from_slice(&bytes[..room]);
            self.line_cut = true;
        } else {
            self.line.extend_from_slice(bytes);
        }
    }
}

/// Turns the current line of `t` into an event (unless blank) and starts a new line.
fn push_line(batch: &mut Vec<Event>, t: &mut Tracked, ctx: &Context) {
    let line = t.line.strip_suffix(b"\r").unwrap_or(&t.line);
    if !is_blank(line) {
        if t.line_cut {
            metrics::counter!("mcpsec_file_lines_truncated_total").increment(1);
        }
        batch.push(normalize_line(&String::from_utf8_lossy(line), ctx));
    }
    t.line.clear();
    t.line_cut = false;
}

/// A file in the directory of `path` with identity `id` (a rotated-away file).
async fn find_by_id(path: &Path, id: FileId) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut entries = tokio::fs::read_dir(&dir).await.ok()?;
    while let Ok(Some(entry)) = entries.next_entry().await {
        if let Ok(m) = entry.metadata().await
            && m.is_file()
            && FileId::of(&m) == id
        {
            return Some(entry.path());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{
        TestLog, events, messages, test_log, wait_for_events,
    };
    use super::*;
    use mcpsec_store::SqliteState;
    use std::io::Write;

    const WAIT: Duration = Duration::from_secs(10);

    struct Fixture {
        t: TestLog,
        dir: tempfile::TempDir,
        state: Arc<dyn StateStore>,
    }

    fn fixture() -> Fixture {
        Fixture {
            t: test_log(),
            dir: tempfile::tempdir().expect("tempdir"),
            state: Arc::new(SqliteState::in_memory().expect("state")),
        }
    }

    impl Fixture {
        fn path(&self) -> PathBuf {
            self.dir.path().join("app.log")
        }

        fn cfg(&self) -> FileSourceConfig {
            FileSourceConfig {
                poll_interval_ms: 20,
                ..FileSourceConfig::new(self.path())
            }
        }

        fn start(&self, cfg: FileSourceConfig) -> Running {
            let (stop, rx) = watch::channel(false);
            let task = spawn_file_source(cfg, self.t.pipeline.clone(), Arc::clone(&self.state), rx);
            Running { stop, task }
        }

        fn checkpoint(&self) -> Option<Checkpoint> {
            let name = format!("file:{}", self.path().display());
            let v = self.state.checkpoint(&name).expect("checkpoint")?;
            Some(serde_json::from_str(&v).expect("checkpoint JSON"))
        }

        async fn wait_for(&self, n: usize) -> Vec<String> {
            messages(&wait_for_events(&self.t.log, n).await)
        }

        fn all(&self) -> Vec<String> {
            messages(&events(&self.t.log))
        }
    }

    struct Running {
        stop: watch::Sender<bool>,
        task: JoinHandle<()>,
    }

    impl Running {
        async fn stop(self) {
            self.stop.send(true).expect("signal");
            tokio::time::timeout(WAIT, self.task)
                .await
                .expect("stops")
                .expect("join");
        }
    }

    fn append(path: &Path, data: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open for append");
        f.write_all(data).expect("append");
    }

    /// Lets a few polls pass (to show nothing more arrives).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    #[test]
    fn config_defaults() {
        let cfg: FileSourceConfig =
            serde_json::from_str(r#"{"path": "/var/log/x.log"}"#).expect("config");
        assert_eq!(cfg.tenant, "default");
        assert_eq!(cfg.start_at, StartAt::Beginning);
        assert_eq!(cfg.poll_interval_ms, 250);
        assert_eq!(cfg.max_line_bytes, 1 << 20);
        let cfg: FileSourceConfig =
            serde_json::from_str(r#"{"path": "x", "start_at": "end"}"#).expect("config");
        assert_eq!(cfg.start_at, StartAt::End);
        assert!(serde_json::from_str::<FileSourceConfig>(r#"{"path": "x", "paht": 1}"#).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn follows_appended_lines_and_waits_for_partial_ones() {
        let f = fixture();
        let run = f.start(FileSourceConfig {
            max_line_bytes: 16,
            ..f.cfg()
        });
        settle().await; // the file does not exist yet
        append(&f.path(), b"a1\na2\n");
        assert_eq!(f.wait_for(2).await, ["a1", "a2"]);
        append(&f.path(), b"a3\r\npart");
        assert_eq!(f.wait_for(3).await, ["a1", "a2", "a3"]);
        settle().await;
        assert_eq!(f.all().len(), 3, "a partial line waits for its newline");
        append(&f.path(), b"ial\n\n   \n");
        append(&f.path(), format!("{}\n", "x".repeat(40)).as_bytes());
        append(&f.path(), b"caf\xe9 au lait\n");
        let got = f.wait_for(6).await;
        assert_eq!(
            got,
            [
                "a1",
                "a2",
                "a3",
                "partial",
                &"x".repeat(16),
                "caf\u{fffd} au lait"
            ]
        );
        let evs = events(&f.t.log);
        assert!(evs.iter().all(|e| e.source.kind == "file" && e.source.name == f.path().display().to_string()));
        run.stop().await;
        let len = std::fs::metadata(f.path()).expect("stat").len();
        assert_eq!(f.checkpoint().map(|c| c.offset), Some(len));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rename_rotation_loses_nothing() {
        let f = fixture();
        append(&f.path(), b"old1\n");
        let run = f.start(f.cfg());
        assert_eq!(f.wait_for(1).await, ["old1"]);
        // The writer keeps its handle: lines right before and right after the rename go
        // to the old file, then the new file is created.
        let mut writer = std::fs::OpenOptions::new()
            .append(true)
            .open(f.path())
            .expect("open");
        writer.write_all(b"old2\nold3\n").expect("write");
        std::fs::rename(f.path(), f.dir.path().join("app.log.1")).expect("rename");
        writer
            .write_all(b"old4\nold5 without newline")
            .expect("write");
        drop(writer);
        append(&f.path(), b"new1\nnew2\n");
        let want = [
            "old1",
            "old2",
            "old3",
            "old4",
            "old5 without newline",
            "new1",
            "new2",
        ];
        assert_eq!(f.wait_for(want.len()).await, want);
        settle().await;
        run.stop().await;
        assert_eq!(f.all(), want, "every line exactly once, in order");
        let new_id = FileId::of(&std::fs::metadata(f.path()).expect("stat"));
        let cp = f.checkpoint().expect("checkpoint");
        assert_eq!((cp.dev, cp.ino, cp.offset), (new_id.dev, new_id.ino, 10));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copytruncate_starts_over() {
        let f = fixture();
        append(&f.path(), b"c1\nc2\n");
        let run = f.start(f.cfg());
        assert_eq!(f.wait_for(2).await, ["c1", "c2"]);
        std::fs::copy(f.path(), f.dir.path().join("app.log.1")).expect("copy");
        std::fs::OpenOptions::new()
            .write(true)
            .open(f.path())
            .expect("open")
            .set_len(0)
            .expect("truncate");
        // Written at once, before any poll can see the file shorter: the changed first
        // bytes still tell the file was truncated.
        append(&f.path(), b"after truncate, a longer line\n");
        assert_eq!(
            f.wait_for(3).await,
            ["c1", "c2", "after truncate, a longer line"]
        );
        settle().await;
        run.stop().await;
        assert_eq!(f.all().len(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restart_resumes_from_the_checkpoint() {
        let f = fixture();
        append(&f.path(), b"r1\nr2\n");
        let run = f.start(f.cfg());
        assert_eq!(f.wait_for(2).await, ["r1", "r2"]);
        append(&f.path(), b"r3\npartial");
        assert_eq!(f.wait_for(3).await.len(), 3);
        run.stop().await;
        assert_eq!(
            f.checkpoint().map(|c| c.offset),
            Some(9),
            "the partial line is not consumed"
        );
        append(&f.path(), b" line\nr5\n");
        let run = f.start(f.cfg());
        assert_eq!(
            f.wait_for(5).await,
            ["r1", "r2", "r3", "partial line", "r5"]
        );
        settle().await;
        run.stop().await;
        assert_eq!(f.all().len(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rotation_while_down_finishes_the_old_file_first() {
        let f = fixture();
        append(&f.path(), b"d1\n");
        let run = f.start(f.cfg());
        assert_eq!(f.wait_for(1).await, ["d1"]);
        run.stop().await;
        append(&f.path(), b"d2\nd3\n");
        std::fs::rename(f.path(), f.dir.path().join("app.log.1")).expect("rename");
        append(&f.path(), b"e1\ne2\n");
        let run = f.start(f.cfg());
        assert_eq!(f.wait_for(5).await, ["d1", "d2", "d3", "e1", "e2"]);
        settle().await;
        run.stop().await;
        assert_eq!(f.all().len(), 5);
        let id = FileId::of(&std::fs::metadata(f.path()).expect("stat"));
        assert_eq!(f.checkpoint().map(|c| (c.ino, c.offset)), Some((id.ino, 6)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn start_at_end_skips_what_is_there() {
        let f = fixture();
        append(&f.path(), b"old\n");
        let run = f.start(FileSourceConfig {
            start_at: StartAt::End,
            ..f.cfg()
        });
        let deadline = tokio::time::Instant::now() + WAIT;
        while f.checkpoint().is_none() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        append(&f.path(), b"new\n");
        assert_eq!(f.wait_for(1).await, ["new"]);
        settle().await;
        run.stop().await;
        assert_eq!(f.all(), ["new"]);
    }
}
