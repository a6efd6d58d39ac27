//! [`TantivyIndex`]: the embedded search backend.

use super::schema::{self, Fields};
use super::{IndexItem, MAX_LIMIT, SearchIndex, SearchRequest, SearchResult, SortOrder};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use mcpsec_core::{Event, TenantId};
use serde_json::Value;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, EnableScoring, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::query_grammar::{UserInputAst, UserInputLeaf};
use tantivy::schema::{IndexRecordOption, OwnedValue, Value as _};
use tantivy::{
    DateTime as TDateTime, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument,
    Term,
};

/// Tuning of the tantivy index.
#[derive(Debug, Clone, Copy)]
pub struct TantivyOptions {
    /// Indexing threads.
    pub threads: usize,
    /// Memory budget of the writer, in bytes (split between threads).
    pub writer_memory: usize,
}

impl Default for TantivyOptions {
    fn default() -> Self {
        TantivyOptions {
            threads: 1,
            writer_memory: 128 * 1024 * 1024,
        }
    }
}

/// The embedded event index: one tantivy index in a directory, one writer.
pub struct TantivyIndex {
    dir: PathBuf,
    index: Index,
    f: Fields,
    /// `None` when opened read-only (next to a running writer in another process).
    writer: Mutex<Option<IndexWriter<TantivyDocument>>>,
    reader: IndexReader,
    /// Highest log seq added (guarded by the writer lock for updates).
    added_seq: AtomicU64,
    /// Highest log seq durably committed.
    indexed_seq: AtomicU64,
}

fn tdate(t: &DateTime<Utc>) -> TDateTime {
    TDateTime::from_timestamp_micros(t.timestamp_micros())
}

/// The longest text kept in the catch-all field per value.
const MAX_TEXT_VALUE: usize = 32 * 1024;

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            let cut = floor_char_boundary(s, MAX_TEXT_VALUE);
            out.push_str(&s[..cut]);
            out.push('\n');
        }
        Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Value::Bool(_) | Value::Null => {}
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect_text(i, out)),
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl TantivyIndex {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path, opts: TantivyOptions) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(format!("create {}", dir.display()), e))?;
        let (schema, f) = schema::build();
        let mmap = MmapDirectory::open(dir).map_err(|e| StoreError::Index(e.to_string()))?;
        let index = Index::open_or_create(mmap, schema)?;
        let threads = opts.threads.max(1);
        let memory = opts.writer_memory.max(threads * 16 * 1024 * 1024);
        let writer = index.writer_with_num_threads(threads, memory)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Self::assemble(dir, index, f, Some(writer), reader)
    }

    /// Opens an existing index for searching only, while another process may be writing
    /// it; new commits become visible shortly after they land.
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let (schema, f) = schema::build();
        if !dir.join("meta.json").exists() {
            return Err(StoreError::NotFound(format!(
                "no index in {}",
                dir.display()
            )));
        }
        let mmap = MmapDirectory::open(dir).map_err(|e| StoreError::Index(e.to_string()))?;
        let index = Index::open(mmap)?;
        if index.schema() != schema {
            return Err(StoreError::Index(
                "index schema differs from this version's".into(),
            ));
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Self::assemble(dir, index, f, None, reader)
    }

    fn assemble(
        dir: &Path,
        index: Index,
        f: Fields,
        writer: Option<IndexWriter<TantivyDocument>>,
        reader: IndexReader,
    ) -> Result<Self> {
        let seq = index
            .load_metas()?
            .payload
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(TantivyIndex {
            dir: dir.to_owned(),
            index,
            f,
            writer: Mutex::new(writer),
            reader,
            added_seq: AtomicU64::new(seq),
            indexed_seq: AtomicU64::new(seq),
        })
    }

    fn writer(&self) -> Result<WriterGuard<'_>> {
        let guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return Err(StoreError::Invalid("the index is open read-only".into()));
        }
        Ok(WriterGuard(guard))
    }

    fn document(&self, item: &IndexItem<'_>) -> TantivyDocument {
        let ev = item.event;
        let f = &self.f;
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, ev.id.to_string());
        doc.add_u64(f.seq, ev.seq);
        doc.add_text(f.tenant, ev.tenant.as_str());
        doc.add_date(f.time, tdate(&ev.time));
        doc.add_date(f.received, tdate(&ev.received_at));
        doc.add_text(f.source, &ev.source.kind);
        doc.add_text(f.format, ev.format.as_str());
        let mut text = String::with_capacity(256);
        if !ev.source.name.is_empty() {
            text.push_str(&ev.source.name);
            text.push('\n');
        }
        ev.fields.values().for_each(|v| collect_text(v, &mut text));
        doc.add_text(f.text, text);
        let obj = ev
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), OwnedValue::from(v.clone())))
            .collect();
        doc.add_object(f.fields, obj);
        doc.add_bytes(f.doc, item.raw);
        doc
    }

    fn parse_user_query(&self, q: &str) -> Result<Box<dyn Query>> {
        let q = q.trim();
        if q.is_empty() || q == "*" {
            return Ok(Box::new(AllQuery));
        }
        let ast = tantivy::query_grammar::parse_query(q).map_err(|_| {
            StoreError::InvalidQuery(format!(
                "cannot parse {q:?}: check quotes, brackets and operators"
            ))
        })?;
        let ast = route_fields(ast, &self.index.schema())?;
        let mut parser = QueryParser::for_index(&self.index, vec![self.f.text, self.f.fields]);
        parser.set_conjunction_by_default();
        parser
            .build_query_from_user_input_ast(ast)
            .map_err(|e| StoreError::InvalidQuery(e.to_string()))
    }

    fn tenant_query(&self, tenant: &TenantId, user: Box<dyn Query>) -> BooleanQuery {
        let t = TermQuery::new(
            Term::from_field_text(self.f.tenant, tenant.as_str()),
            IndexRecordOption::Basic,
        );
        BooleanQuery::new(vec![(Occur::Must, Box::new(t)), (Occur::Must, user)])
    }

    /// A user query within one tenant and an optional time range `[from, to)`.
    fn filtered_query(
        &self,
        tenant: &TenantId,
        query: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<BooleanQuery> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(self.tenant_query(tenant, self.parse_user_query(query)?)),
        )];
        if from.is_some() || to.is_some() {
            let lo = from
                .map(|t| Bound::Included(Term::from_field_date(self.f.time, tdate(&t))))
                .unwrap_or(Bound::Unbounded);
            let hi = to
                .map(|t| Bound::Excluded(Term::from_field_date(self.f.time, tdate(&t))))
                .unwrap_or(Bound::Unbounded);
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        Ok(BooleanQuery::new(clauses))
    }

    fn decode(&self, doc: &TantivyDocument) -> Result<Event> {
        let raw = doc
            .get_first(self.f.doc)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| StoreError::Index("stored event missing".into()))?;
        let mut ev: Event = serde_json::from_slice(raw)?;
        if let Some(seq) = doc.get_first(self.f.seq).and_then(|v| v.as_u64()) {
            ev.seq = seq;
        }
        Ok(ev)
    }
}

impl SearchIndex for TantivyIndex {
    fn add(&self, items: &[IndexItem<'_>], through_seq: u64) -> Result<()> {
        let docs: Vec<TantivyDocument> = crate::par::par_map(items, |i| self.document(i));
        let writer = self.writer()?;
        for doc in docs {
            writer.add_document(doc)?;
        }
        self.added_seq.fetch_max(through_seq, Ordering::AcqRel);
        Ok(())
    }

    fn commit(&self) -> Result<u64> {
        let seq = {
            let mut writer = self.writer()?;
            let seq = self.added_seq.load(Ordering::Acquire);
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&seq.to_string());
            prepared.commit()?;
            seq
        };
        self.indexed_seq.store(seq, Ordering::Release);
        self.reader.reload()?;
        Ok(seq)
    }

    fn indexed_seq(&self) -> u64 {
        self.indexed_seq.load(Ordering::Acquire)
    }

    fn search(&self, tenant: &TenantId, req: &SearchRequest) -> Result<SearchResult> {
        let query = self.filtered_query(tenant, &req.query, req.from, req.to)?;
        let searcher = self.reader.searcher();
        let limit = req.limit.clamp(1, MAX_LIMIT);
        let top = TopDocs::with_limit(limit).and_offset(req.offset);
        let (total, addrs): (usize, Vec<tantivy::DocAddress>) = match req.order {
            SortOrder::Desc | SortOrder::Asc => {
                let order = if req.order == SortOrder::Desc {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (n, hits) = searcher.search(
                    &query,
                    &(Count, top.order_by_fast_field::<TDateTime>("_time", order)),
                )?;
                (n, hits.into_iter().map(|(_, a)| a).collect())
            }
            SortOrder::SeqAsc => {
                let (n, hits) = searcher.search(
                    &query,
                    &(Count, top.order_by_fast_field::<u64>("_seq", Order::Asc)),
                )?;
                (n, hits.into_iter().map(|(_, a)| a).collect())
            }
        };
        let mut events = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            events.push(self.decode(&doc)?);
        }
        Ok(SearchResult {
            total: total as u64,
            events,
        })
    }

    /// Calls `visit` with every event of `tenant` matching `query` in `[from, to)`, in no
    /// particular order, and returns how many it visited. Memory stays bounded whatever
    /// the number of matches: documents are read one at a time, segment by segment, so
    /// reports and exports can walk millions of events. Stops at the first error, from
    /// the index or from `visit`.
    fn for_each_event(
        &self,
        tenant: &TenantId,
        query: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        visit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<u64> {
        let query = self.filtered_query(tenant, query, from, to)?;
        let searcher = self.reader.searcher();
        let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher))?;
        let mut visited = 0u64;
        for segment in searcher.segment_readers() {
            let store = segment
                .get_store_reader(8)
                .map_err(|e| StoreError::Index(e.to_string()))?;
            let alive = segment.alive_bitset();
            let mut failure: Option<StoreError> = None;
            weight.for_each_no_score(segment, &mut |docs| {
                for &doc in docs {
                    if failure.is_some() {
                        return;
                    }
                    if alive.is_some_and(|a| a.is_deleted(doc)) {
                        continue;
                    }
                    let step = store
                        .get::<TantivyDocument>(doc)
                        .map_err(StoreError::from)
                        .and_then(|d| self.decode(&d))
                        .and_then(&mut *visit);
                    match step {
                        Ok(()) => visited += 1,
                        Err(e) => failure = Some(e),
                    }
                }
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(visited)
    }

    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Event>> {
        let idq = TermQuery::new(
            Term::from_field_text(self.f.id, id),
            IndexRecordOption::Basic,
        );
        let query = self.tenant_query(tenant, Box::new(idq));
        let searcher = self.reader.searcher();
        let hits = searcher.search(&query, &TopDocs::with_limit(1))?;
        match hits.first() {
            None => Ok(None),
            Some((_, addr)) => {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                Ok(Some(self.decode(&doc)?))
            }
        }
    }

    fn delete_before(&self, cutoff: DateTime<Utc>) -> Result<()> {
        let q = RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_date(self.f.time, tdate(&cutoff))),
        );
        self.writer()?.delete_query(Box::new(q))?;
        Ok(())
    }

    fn delete_from_seq(&self, seq: u64) -> Result<()> {
        let q = RangeQuery::new(
            Bound::Included(Term::from_field_u64(self.f.seq, seq)),
            Bound::Unbounded,
        );
        let writer = self.writer()?;
        writer.delete_query(Box::new(q))?;
        self.added_seq
            .store(seq.saturating_sub(1), Ordering::Release);
        Ok(())
    }

    fn oldest_time(&self) -> Result<Option<DateTime<Utc>>> {
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(1).order_by_fast_field::<TDateTime>("_time", Order::Asc);
        let hits = searcher.search(&AllQuery, &top)?;
        Ok(hits
            .first()
            .and_then(|(t, _)| DateTime::<Utc>::from_timestamp_micros(t.into_timestamp_micros())))
    }

    fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn size_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }
}

/// The locked writer of a writable index.
struct WriterGuard<'a>(MutexGuard<'a, Option<IndexWriter<TantivyDocument>>>);

impl std::ops::Deref for WriterGuard<'_> {
    type Target = IndexWriter<TantivyDocument>;
    fn deref(&self) -> &Self::Target {
        // Checked non-empty when the guard was made.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("writer checked at lock time"))
    }
}

impl std::ops::DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0
            .as_mut()
            .unwrap_or_else(|| unreachable!("writer checked at lock time"))
    }
}

/// Sends field names that are not schema fields to the JSON field `_fields`, so that
/// `Event.System.EventID:(4624 4625)` works like `host.name:web-1` (tantivy falls back
/// to the default JSON field for terms but not for sets). Ranges over event fields
/// would need every JSON path as a fast column, which costs ingest speed; they are
/// refused with a clear message until that trade-off is made deliberately.
fn route_fields(ast: UserInputAst, schema: &tantivy::schema::Schema) -> Result<UserInputAst> {
    let route = |name: Option<String>| {
        name.map(|n| {
            if schema.get_field(&n).is_ok() || n.starts_with("_fields.") {
                n
            } else {
                format!("_fields.{n}")
            }
        })
    };
    Ok(match ast {
        UserInputAst::Clause(items) => {
            let mut items = items
                .into_iter()
                .map(|(occur, a)| Ok((occur, route_fields(a, schema)?)))
                .collect::<Result<Vec<_>>>()?;
            // `a AND NOT b` parses as (+a +(-b)); a clause of only exclusions matches
            // nothing in tantivy, so give it "everything" to exclude from, as Lucene
            // users expect.
            if !items.is_empty()
                && items
                    .iter()
                    .all(|(o, _)| *o == Some(tantivy::query::Occur::MustNot))
            {
                items.push((
                    Some(tantivy::query::Occur::Must),
                    UserInputAst::Leaf(Box::new(UserInputLeaf::All)),
                ));
            }
            UserInputAst::Clause(items)
        }
        UserInputAst::Boost(inner, b) => {
            UserInputAst::Boost(Box::new(route_fields(*inner, schema)?), b)
        }
        UserInputAst::Leaf(leaf) => UserInputAst::Leaf(Box::new(match *leaf {
            UserInputLeaf::Literal(mut lit) => {
                lit.field_name = route(lit.field_name);
                UserInputLeaf::Literal(lit)
            }
            UserInputLeaf::Range {
                field,
                lower,
                upper,
            } => {
                let field = route(field);
                if let Some(f) = field.as_deref().and_then(|f| f.strip_prefix("_fields.")) {
                    return Err(StoreError::InvalidQuery(format!(
                        "range queries work on _time and _seq, not on event fields such as {f:?}; list the values instead: {f}:(a b c)"
                    )));
                }
                UserInputLeaf::Range {
                    field,
                    lower,
                    upper,
                }
            }
            UserInputLeaf::Set { field, elements } => UserInputLeaf::Set {
                field: route(field),
                elements,
            },
            UserInputLeaf::Exists { field } => UserInputLeaf::Exists {
                field: route(Some(field)).unwrap_or_default(),
            },
            UserInputLeaf::All => UserInputLeaf::All,
        })),
    })
}

/// Total size of the files directly in a directory.
pub(crate) fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::SortOrder;
    use chrono::TimeZone;
    use mcpsec_core::{EventFormat, SourceInfo};
    use serde_json::json;

    fn event(tenant: &str, seq: u64, minute: u32, fields: Value) -> (Event, Vec<u8>) {
        let Value::Object(map) = fields else {
            panic!("object")
        };
        let mut ev = Event::new(
            TenantId::new(tenant).expect("tenant"),
            SourceInfo::new("test", ""),
            EventFormat::Json,
            map,
        );
        ev.time = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, minute, 0)
            .single()
            .expect("time");
        let raw = serde_json::to_vec(&ev).expect("encode");
        ev.seq = seq;
        (ev, raw)
    }

    fn add(idx: &TantivyIndex, evs: &[(Event, Vec<u8>)]) {
        let items: Vec<IndexItem<'_>> = evs
            .iter()
            .map(|(e, r)| IndexItem { event: e, raw: r })
            .collect();
        let last = evs.iter().map(|(e, _)| e.seq).max().unwrap_or(0);
        idx.add(&items, last).expect("add");
    }

    fn req(q: &str) -> SearchRequest {
        SearchRequest {
            query: q.into(),
            limit: 100,
            ..Default::default()
        }
    }

    fn sample() -> Vec<(Event, Vec<u8>)> {
        vec![
            event(
                "a",
                1,
                1,
                json!({"message": "failed login for root", "host": {"name": "web-1"}, "Event": {"System": {"EventID": 4625}}}),
            ),
            event(
                "a",
                2,
                2,
                json!({"message": "accepted login", "host.name": "web-2", "Event": {"System": {"EventID": 4624}}}),
            ),
            event(
                "a",
                3,
                3,
                json!({"message": "disk full", "host": {"name": "db-1"}}),
            ),
            event(
                "b",
                4,
                4,
                json!({"message": "failed login for admin", "host": {"name": "web-1"}}),
            ),
        ]
    }

    #[test]
    fn for_each_event_visits_one_tenants_live_matches() {
        let dir = tempfile::tempdir().expect("tmp");
        let idx = TantivyIndex::open(dir.path(), TantivyOptions::default()).expect("open");
        add(&idx, &sample());
        idx.commit().expect("commit");
        let a = TenantId::new("a").expect("t");
        let mut seen = Vec::new();
        let n = idx
            .for_each_event(&a, "*", None, None, &mut |ev| {
                seen.push(ev.tenant.clone());
                Ok(())
            })
            .expect("scan");
        assert_eq!((n, seen.len()), (3, 3));
        assert!(seen.iter().all(|t| t == &a), "only tenant a: {seen:?}");
        let login = idx
            .for_each_event(&a, "login", None, None, &mut |_| Ok(()))
            .expect("scan");
        assert_eq!(login, 2);
        idx.delete_from_seq(2).expect("delete");
        idx.commit().expect("commit");
        let left = idx
            .for_each_event(&a, "*", None, None, &mut |_| Ok(()))
            .expect("scan");
        assert_eq!(left, 1, "deleted documents are skipped");
        let err = idx
            .for_each_event(&a, "*", None, None, &mut |_| {
                Err(StoreError::Invalid("stop".into()))
            })
            .expect_err("the visitor's error stops the walk");
        assert!(err.to_string().contains("stop"), "{err}");
    }

    #[test]
    fn search_is_scoped_by_tenant_and_understands_fields() {
        let dir = tempfile::tempdir().expect("tmp");
        let idx = TantivyIndex::open(dir.path(), TantivyOptions::default()).expect("open");
        add(&idx, &sample());
        assert_eq!(idx.commit().expect("commit"), 4);
        let a = TenantId::new("a").expect("t");
        let b = TenantId::new("b").expect("t");
        assert_eq!(idx.search(&a, &req("login")).expect("q").total, 2);
        assert_eq!(idx.search(&b, &req("login")).expect("q").total, 1);
        assert_eq!(idx.search(&a, &req("*")).expect("q").total, 3);
        assert_eq!(idx.search(&a, &req("")).expect("q").total, 3);
        assert_eq!(idx.search(&a, &req("host.name:web-1")).expect("q").total, 1);
        assert_eq!(
            idx.search(&a, &req("host.name:web-2")).expect("q").total,
            1,
            "flat dotted keys"
        );
        assert_eq!(
            idx.search(&a, &req("Event.System.EventID:4624"))
                .expect("q")
                .total,
            1
        );
        assert_eq!(
            idx.search(&a, &req("Event.System.EventID: IN [4624 4625]"))
                .expect("q")
                .total,
            2
        );
        assert!(matches!(
            idx.search(&a, &req("Event.System.EventID:[4620 TO 4630]")),
            Err(StoreError::InvalidQuery(_))
        ));
        assert_eq!(
            idx.search(&a, &req("login AND NOT root")).expect("q").total,
            1
        );
        assert_eq!(
            idx.search(&a, &req("\"failed login\"")).expect("q").total,
            1
        );
        assert_eq!(idx.search(&a, &req("_format:json")).expect("q").total, 3);
        assert_eq!(
            idx.search(&b, &req("_tenant:a")).expect("q").total,
            0,
            "no escape from the tenant"
        );
        assert!(matches!(
            idx.search(&a, &req("(unbalanced")),
            Err(StoreError::InvalidQuery(_))
        ));
    }

    #[test]
    fn time_range_order_and_paging() {
        let dir = tempfile::tempdir().expect("tmp");
        let idx = TantivyIndex::open(dir.path(), TantivyOptions::default()).expect("open");
        add(&idx, &sample());
        assert_eq!(idx.commit().expect("commit"), 4);
        let a = TenantId::new("a").expect("t");
        let mut r = req("*");
        r.from = Utc.with_ymd_and_hms(2024, 1, 1, 0, 2, 0).single();
        r.to = Utc.with_ymd_and_hms(2024, 1, 1, 0, 3, 0).single();
        let res = idx.search(&a, &r).expect("q");
        assert_eq!(res.total, 1);
        assert_eq!(res.events[0].seq, 2);
        let mut r = req("*");
        r.limit = 2;
        let page1 = idx.search(&a, &r).expect("q");
        assert_eq!(
            page1.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![3, 2]
        );
        r.offset = 2;
        let page2 = idx.search(&a, &r).expect("q");
        assert_eq!(
            page2.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(page2.total, 3);
        let mut r = req("*");
        r.order = SortOrder::Asc;
        assert_eq!(idx.search(&a, &r).expect("q").events[0].seq, 1);
    }

    #[test]
    fn committed_offset_survives_reopen_and_deletes_apply() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = TenantId::new("a").expect("t");
        {
            let idx = TantivyIndex::open(dir.path(), TantivyOptions::default()).expect("open");
            add(&idx, &sample());
            assert_eq!(idx.commit().expect("commit"), 4);
        }
        let idx = TantivyIndex::open(dir.path(), TantivyOptions::default()).expect("reopen");
        assert_eq!(idx.indexed_seq(), 4);
        let first = idx.search(&a, &req("*")).expect("q").events;
        let got = idx.get(&a, &first[0].id.to_string()).expect("get");
        assert_eq!(got.as_ref(), Some(&first[0]));
        assert!(
            idx.get(&TenantId::new("b").expect("t"), &first[0].id.to_string())
                .expect("get")
                .is_none()
        );
        idx.delete_from_seq(3).expect("delete");
        idx.delete_before(
            Utc.with_ymd_and_hms(2024, 1, 1, 0, 2, 0)
                .single()
                .expect("t"),
        )
        .expect("delete");
        assert_eq!(
            idx.commit().expect("commit"),
            2,
            "replay restarts after seq 2"
        );
        let left = idx.search(&a, &req("*")).expect("q").events;
        assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2]);
        assert_eq!(
            idx.oldest_time()
                .expect("oldest")
                .map(|t| t.timestamp() % 3600 / 60),
            Some(2)
        );
    }
}
