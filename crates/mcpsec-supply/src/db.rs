//! The local vulnerability database: one SQLite file (`<data_dir>/vulndb.sqlite`).
//! Advisories are stored whole (compact JSON) under their id, with an index table of
//! (ecosystem, normalised package name) → advisory id that a scan queries once per
//! component, and an alias table for CVE/GHSA look-ups.

use crate::osv::{Advisory, LoadWarning, load_path};
use crate::version::Ecosystem;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Database errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("vulnerability database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// A stored advisory could not be decoded.
    #[error("vulnerability database: stored advisory {id} is corrupt: {message}")]
    Corrupt {
        /// Advisory id.
        id: String,
        /// Decoder message.
        message: String,
    },
    /// The database has never been imported into.
    #[error("no vulnerability database at {0}: run `mcpsec vulndb import SOURCE...` first")]
    Missing(String),
}

/// The file name inside a data directory.
pub const DB_FILE: &str = "vulndb.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sources (path TEXT PRIMARY KEY, imported_at TEXT NOT NULL, advisories INTEGER NOT NULL, warnings INTEGER NOT NULL, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (id TEXT PRIMARY KEY, source TEXT NOT NULL, modified TEXT, withdrawn INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS affected_pkg ON affected (ecosystem, name, id);
CREATE INDEX IF NOT EXISTS affected_id ON affected (id);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT NOT NULL, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_alias ON aliases (alias);
CREATE INDEX IF NOT EXISTS aliases_id ON aliases (id);
CREATE TABLE IF NOT EXISTS epss (cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL, date TEXT);
CREATE TABLE IF NOT EXISTS kev (cve TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

/// An open vulnerability database.
pub struct VulnDb {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    cache: HashMap<String, Option<Arc<Advisory>>>,
    /// Whether the `epss` and `kev` tables exist (older read-only databases lack them).
    pub(crate) exploit_tables: std::cell::OnceCell<(bool, bool)>,
}

/// The result of importing one source.
#[derive(Debug)]
pub struct ImportResult {
    /// The source path.
    pub source: String,
    /// Advisories stored.
    pub advisories: usize,
    /// Of which withdrawn (stored, never reported).
    pub withdrawn: usize,
    /// Files skipped with a reason.
    pub warnings: Vec<LoadWarning>,
    /// Seconds taken.
    pub seconds: f64,
}

/// One imported source in [`Status`].
#[derive(Debug, serde::Serialize)]
pub struct SourceStatus {
    /// Path as given to import.
    pub path: String,
    /// When (RFC 3339, UTC).
    pub imported_at: String,
    /// Advisories read.
    pub advisories: i64,
    /// Files skipped.
    pub warnings: i64,
    /// Import duration.
    pub seconds: f64,
}

/// What `vulndb status` shows.
#[derive(Debug, serde::Serialize)]
pub struct Status {
    /// The database file.
    pub path: String,
    /// Imported sources.
    pub sources: Vec<SourceStatus>,
    /// Advisories stored.
    pub advisories: i64,
    /// Of which withdrawn.
    pub withdrawn: i64,
    /// Advisories per ecosystem (as written by the advisories).
    pub per_ecosystem: Vec<(String, i64)>,
    /// Newest `modified` date of any advisory.
    pub newest_modified: Option<String>,
    /// Raised by every advisory import ([`VulnDb::generation`]).
    pub generation: u64,
    /// CVEs with an EPSS score.
    pub epss: i64,
    /// CVEs in the KEV catalogue.
    pub kev: i64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// The ecosystem column under which GIT ranges are indexed by repository.
pub const GIT_KEY: &str = "GIT";

/// The index key of an affected package.
pub fn index_key(ecosystem: &str, name: &str) -> (String, String) {
    match Ecosystem::from_osv(ecosystem) {
        Some(e) => (e.osv_name().to_string(), e.normalize_name(name)),
        None => (ecosystem.to_string(), name.to_string()),
    }
}

impl VulnDb {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open_dir(dir: &Path) -> Result<VulnDb, DbError> {
        let path = dir.join(DB_FILE);
        let err = |source| DbError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(err(rusqlite::Error::InvalidPath(PathBuf::from(format!(
                "{}: {e}",
                dir.display()
            )))));
        }
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(VulnDb {
            conn,
            path,
            cache: HashMap::new(),
            exploit_tables: std::cell::OnceCell::new(),
        })
    }

    /// Opens an existing database read-only; [`DbError::Missing`] when there is none.
    pub fn open_existing(dir: &Path) -> Result<VulnDb, DbError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(DbError::Missing(path.display().to_string()));
        }
        let err = |source| DbError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(err)?;
        // memory-mapped reads: a scan is thousands of point look-ups
        conn.execute_batch("PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536;")
            .map_err(err)?;
        Ok(VulnDb {
            conn,
            path,
            cache: HashMap::new(),
            exploit_tables: std::cell::OnceCell::new(),
        })
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Loads a source (file, directory or zip) and stores its advisories, replacing
    /// earlier versions of the same ids.
    pub fn import(&mut self, source: &Path) -> Result<ImportResult, DbError> {
        let t = std::time::Instant::now();
        let report = load_path(source);
        let src = source.display().to_string();
        let path = self.path.display().to_string();
        let e = |source| DbError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        let mut withdrawn = 0;
        {
            let mut del_aff = tx
                .prepare_cached("DELETE FROM affected WHERE id = ?1")
                .map_err(e)?;
            let mut del_al = tx
                .prepare_cached("DELETE FROM aliases WHERE id = ?1")
                .map_err(e)?;
            let mut ins = tx.prepare_cached("INSERT OR REPLACE INTO advisories (id, source, modified, withdrawn, body) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(e)?;
            let mut ins_aff = tx
                .prepare_cached("INSERT INTO affected (ecosystem, name, id) VALUES (?1, ?2, ?3)")
                .map_err(e)?;
            let mut ins_al = tx
                .prepare_cached("INSERT INTO aliases (alias, id) VALUES (?1, ?2)")
                .map_err(e)?;
            for a in &report.advisories {
                let body = serde_json::to_vec(a).map_err(|x| DbError::Corrupt {
                    id: a.id.clone(),
                    message: x.to_string(),
                })?;
                del_aff.execute(params![a.id]).map_err(e)?;
                del_al.execute(params![a.id]).map_err(e)?;
                ins.execute(params![a.id, src, a.modified, a.withdrawn.is_some(), body])
                    .map_err(e)?;
                withdrawn += usize::from(a.withdrawn.is_some());
                let mut keys: Vec<(String, String)> = a
                    .affected
                    .iter()
                    .map(|x| index_key(&x.package.ecosystem, &x.package.name))
                    .collect();
                // GIT ranges are also found by their repository
                keys.extend(a.affected.iter().flat_map(|x| &x.ranges).filter_map(|r| {
                    let repo = r
                        .repo
                        .as_deref()
                        .filter(|_| r.kind == crate::osv::RangeKind::Git)?;
                    Some((GIT_KEY.to_string(), crate::osv::normalize_repo(repo)))
                }));
                keys.sort();
                keys.dedup();
                for (eco, name) in keys {
                    ins_aff.execute(params![eco, name, a.id]).map_err(e)?;
                }
                for al in &a.aliases {
                    ins_al.execute(params![al, a.id]).map_err(e)?;
                }
            }
            // at least the time in milliseconds: a database deleted and imported again
            // never repeats a generation a reader has already seen
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('generation', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = MAX(value + 1, excluded.value)",
                params![chrono::Utc::now().timestamp_millis()],
            )
            .map_err(e)?;
            let seconds = t.elapsed().as_secs_f64();
            tx.execute(
                "INSERT OR REPLACE INTO sources (path, imported_at, advisories, warnings, seconds) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![src, chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true), report.advisories.len() as i64, report.warnings.len() as i64, seconds],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        self.cache.clear();
        Ok(ImportResult {
            source: src,
            advisories: report.advisories.len(),
            withdrawn,
            warnings: report.warnings,
            seconds: t.elapsed().as_secs_f64(),
        })
    }

    /// The advisory generation: a number every [`VulnDb::import`] raises in the same
    /// transaction (to at least the time in milliseconds, so a re-created database never
    /// repeats one), so a reader (a running `serve`) sees that advisories changed. 0 for a
    /// database no import of this version has written to.
    pub fn generation(&self) -> Result<u64, DbError> {
        let has_meta: bool = self
            .conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !has_meta {
            return Ok(0);
        }
        let g: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(g.unwrap_or(0).max(0) as u64)
    }

    /// [`VulnDb::generation`] of the database in `dir`; `None` when there is none.
    pub fn generation_in(dir: &Path) -> Result<Option<u64>, DbError> {
        match VulnDb::open_existing(dir) {
            Ok(db) => db.generation().map(Some),
            Err(DbError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Summary of what is stored.
    pub fn status(&self) -> Result<Status, DbError> {
        let c = &self.conn;
        let mut st = c.prepare("SELECT path, imported_at, advisories, warnings, seconds FROM sources ORDER BY imported_at").map_err(|e| self.err(e))?;
        let sources = st
            .query_map([], |r| {
                Ok(SourceStatus {
                    path: r.get(0)?,
                    imported_at: r.get(1)?,
                    advisories: r.get(2)?,
                    warnings: r.get(3)?,
                    seconds: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let (advisories, withdrawn, newest): (i64, i64, Option<String>) = c
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(withdrawn), 0), MAX(modified) FROM advisories",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| self.err(e))?;
        let mut st = c.prepare("SELECT ecosystem, COUNT(DISTINCT id) FROM affected GROUP BY ecosystem ORDER BY 2 DESC").map_err(|e| self.err(e))?;
        let per_ecosystem = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(Status {
            path: self.path.display().to_string(),
            sources,
            advisories,
            withdrawn,
            per_ecosystem,
            newest_modified: newest,
            generation: self.generation()?,
            epss: self.count_table("epss")?,
            kev: self.count_table("kev")?,
            bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        })
    }

    /// Advisory ids (not withdrawn) that name a package.
    pub fn ids_for(&self, eco: Ecosystem, name: &str) -> Result<Vec<String>, DbError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT a.id FROM affected a JOIN advisories v ON v.id = a.id WHERE a.ecosystem = ?1 AND a.name = ?2 AND v.withdrawn = 0")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![eco.osv_name(), eco.normalize_name(name)], |r| {
                r.get::<_, String>(0)
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The advisories (not withdrawn) that name a package, decoded once and cached.
    pub fn advisories_for(
        &mut self,
        eco: Ecosystem,
        name: &str,
    ) -> Result<Vec<Arc<Advisory>>, DbError> {
        self.advisories_by_key(eco.osv_name(), &eco.normalize_name(name))
    }

    /// The advisories (not withdrawn) with a GIT range in a repository (normalised with
    /// [`crate::osv::normalize_repo`]). Databases imported before GIT ranges were indexed
    /// return none until the source is imported again.
    pub fn advisories_for_repo(&mut self, repo: &str) -> Result<Vec<Arc<Advisory>>, DbError> {
        self.advisories_by_key(GIT_KEY, repo)
    }

    fn advisories_by_key(
        &mut self,
        key_eco: &str,
        key_name: &str,
    ) -> Result<Vec<Arc<Advisory>>, DbError> {
        let path = self.path.display().to_string();
        let e = |source| DbError::Sqlite {
            path: path.clone(),
            source,
        };
        let mut st = self
            .conn
            .prepare_cached("SELECT v.id, v.body FROM affected a JOIN advisories v ON v.id = a.id WHERE a.ecosystem = ?1 AND a.name = ?2 AND v.withdrawn = 0")
            .map_err(e)?;
        let mut rows = st.query(params![key_eco, key_name]).map_err(e)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(e)? {
            let id: String = r.get(0).map_err(e)?;
            if let Some(Some(a)) = self.cache.get(&id) {
                out.push(a.clone());
                continue;
            }
            let body = r
                .get_ref(1)
                .map_err(e)?
                .as_blob()
                .map_err(|x| e(x.into()))?;
            let a = Arc::new(serde_json::from_slice::<Advisory>(body).map_err(|x| {
                DbError::Corrupt {
                    id: id.clone(),
                    message: x.to_string(),
                }
            })?);
            self.cache.insert(id, Some(a.clone()));
            out.push(a);
        }
        Ok(out)
    }

    /// One advisory by id (cached).
    pub fn advisory(&mut self, id: &str) -> Result<Option<Arc<Advisory>>, DbError> {
        if let Some(a) = self.cache.get(id) {
            return Ok(a.clone());
        }
        let body: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT body FROM advisories WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        let adv = match body {
            Some(b) => Some(Arc::new(serde_json::from_slice::<Advisory>(&b).map_err(
                |e| DbError::Corrupt {
                    id: id.to_string(),
                    message: e.to_string(),
                },
            )?)),
            None => None,
        };
        self.cache.insert(id.to_string(), adv.clone());
        Ok(adv)
    }

    /// Advisory ids that carry an alias (e.g. a CVE id), plus the id itself if stored.
    pub fn resolve_alias(&self, alias: &str) -> Result<Vec<String>, DbError> {
        let mut st = self.conn.prepare_cached("SELECT id FROM aliases WHERE alias = ?1 UNION SELECT id FROM advisories WHERE id = ?1").map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![alias], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
