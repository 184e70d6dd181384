//! The sync service's storage: documents, attribution, quarantine, projections, index
//! membership and index document ids, all in one [`Store`] and written one turn at a time.

use std::collections::BTreeSet;
use std::sync::{Arc, mpsc};

use gendan_core::access::{Principal, Role};
use gendan_core::protocol::DocumentId;
use gendan_core::summary::Summary;

use crate::accounts::Accounts;
use crate::attribution::{Attribution, AttributionLog};
use crate::docs::DocStore;
use crate::projections::{IndexField, Projections, RecordSummary};
use crate::quarantine::{Quarantine, QuarantineEntry, new_id};
use crate::store::{Batch, Store};
use crate::sync::{SyncStorage, Turn};

/// How long the document reader waits with nothing to read before it gives its free
/// memory back to the system (see [`crate::memory`]).
const READER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads documents on a thread of its own, for the sync service.
///
/// Why: the allocator (mimalloc) gives each thread its own pages. Reading a document makes
/// the store (sled) keep pages of its own in its cache, long after the document is
/// unloaded; read on the sync service's thread, those long-lived objects sat on the same
/// allocator pages as the documents, and an unloaded document's memory could not go back
/// to the system while one of them remained. Read here, they sit on this thread's pages.
/// Memory at rest after a 10,000-record pull, on two stores of 100,000 records: 145.6 →
/// 125.5 MB and 198.4 → 127.4 MB (BENCHMARKS.md, fix 23).
#[derive(Debug)]
struct Loader {
    jobs: mpsc::Sender<LoadJob>,
    /// The reader thread (tests look for its releases).
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the tests only"))]
    thread: std::thread::ThreadId,
}

/// One document to read, and where the answer goes.
struct LoadJob {
    docs: DocStore,
    id: String,
    reply: mpsc::SyncSender<Result<Option<Vec<u8>>, String>>,
}

impl Loader {
    /// Starts the thread; it ends when the last [`ServerStorage`] clone is dropped.
    fn start() -> Option<Arc<Loader>> {
        let (jobs, rx) = mpsc::channel::<LoadJob>();
        let handle = std::thread::Builder::new()
            .name("gendan-doc-reader".into())
            .spawn(move || {
                // Whether documents were read since this thread last gave its free memory
                // back: it does so once it has had nothing to read for READER_IDLE.
                let mut read_since_release = false;
                loop {
                    match rx.recv_timeout(READER_IDLE) {
                        Ok(job) => {
                            let _ = job
                                .reply
                                .send(job.docs.load(&job.id).map_err(|e| e.to_string()));
                            read_since_release = true;
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            if std::mem::take(&mut read_since_release) {
                                crate::memory::release_now();
                            }
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .ok()?;
        Some(Arc::new(Loader {
            jobs,
            thread: handle.thread().id(),
        }))
    }

    /// Reads `id` on the loader's thread; `None` if the thread is gone.
    fn load(&self, docs: &DocStore, id: String) -> Option<Result<Option<Vec<u8>>, String>> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = LoadJob {
            docs: docs.clone(),
            id,
            reply,
        };
        self.jobs.send(job).ok()?;
        answer.recv().ok()
    }
}

/// A document is compacted (snapshot replaces its chunks) after this many incremental
/// chunks; it keeps loads fast and stays far below [`crate::docs::INCREMENTALS_MAX`].
pub const COMPACT_AFTER_CHUNKS: u64 = 64;

/// Records a new index may start with, at most (per scope field).
pub const SCOPE_CANDIDATES_MAX: usize = 10_000;

/// Everything the server stores, over one store.
#[derive(Debug, Clone)]
pub struct ServerStorage {
    /// The key/value store.
    pub store: Arc<dyn Store>,
    /// Documents.
    pub docs: DocStore,
    /// Who delivered which change.
    pub attribution: AttributionLog,
    /// Refused change sets.
    pub quarantine: Quarantine,
    /// Record summaries for office queries.
    pub projections: Projections,
    /// Users and sessions.
    pub accounts: Accounts,
    /// What the office's aggregates derive from stored records, per document version
    /// (in memory; shared by every clone).
    pub derived: Arc<crate::derived::DerivedCache>,
    /// The thread that reads documents for the sync service (see [`Loader`]); `None` if
    /// it could not be started (documents are then read on the caller's thread).
    loader: Option<Arc<Loader>>,
}

fn members_key(doc: &DocumentId) -> Vec<u8> {
    format!("members/{doc}").into_bytes()
}

fn catalog_pending_key(doc: &DocumentId) -> Vec<u8> {
    format!("catalog_pending/{doc}").into_bytes()
}

fn blob_ref_key(sha256: &str, doc: &DocumentId) -> Vec<u8> {
    format!("blobref/{sha256}/{doc}").into_bytes()
}

/// The most referencing records looked at when deciding who may read a blob.
pub const BLOB_REFS_CHECKED_MAX: usize = 1000;

fn index_key(user: &str) -> Vec<u8> {
    format!("index/{user}").into_bytes()
}

fn index_scope_key(user: &str) -> Vec<u8> {
    format!("index_scope/{user}").into_bytes()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A summary as the projections table stores it.
pub fn to_record_summary(id: &DocumentId, s: &Summary, updated_ms: u64) -> RecordSummary {
    let opt = |v: &str| {
        if v.is_empty() {
            None
        } else {
            Some(v.to_string())
        }
    };
    RecordSummary {
        id: id.to_string(),
        record_type: s.record_type.clone(),
        title: s.title.clone(),
        status: s.status.clone(),
        order_no: opt(&s.order_no),
        style_no: opt(&s.style_no),
        customer: opt(&s.customer),
        factory: opt(&s.factory),
        warehouse: opt(&s.warehouse),
        assignees: s.assignees.clone(),
        due_ms: u64::try_from(s.due_ms).ok().filter(|d| *d > 0),
        updated_ms,
        verdict: opt(&s.verdict),
    }
}

/// The summary fields the index and access rules use, from a stored projection.
pub fn from_record_summary(r: &RecordSummary) -> Summary {
    Summary {
        record_type: r.record_type.clone(),
        title: r.title.clone(),
        status: r.status.clone(),
        verdict: r.verdict.clone().unwrap_or_default(),
        order_no: r.order_no.clone().unwrap_or_default(),
        style_no: r.style_no.clone().unwrap_or_default(),
        customer: r.customer.clone().unwrap_or_default(),
        factory: r.factory.clone().unwrap_or_default(),
        warehouse: r.warehouse.clone().unwrap_or_default(),
        assignees: r.assignees.clone(),
        due_ms: r.due_ms.and_then(|d| i64::try_from(d).ok()).unwrap_or(0),
        ..Summary::default()
    }
}

impl ServerStorage {
    /// Whether `p` may read the blob `sha256`: an office user, its uploader, or anyone who
    /// may read a record that references it (DESIGN.md §4).
    pub fn may_read_blob(
        &self,
        p: &Principal,
        sha256: &str,
        uploader: Option<&str>,
    ) -> Result<bool, String> {
        if p.role.is_office() || uploader == Some(p.user.as_str()) {
            return Ok(true);
        }
        let prefix = format!("blobref/{sha256}/").into_bytes();
        let keys = self
            .store
            .scan_prefix_keys(&prefix, None, BLOB_REFS_CHECKED_MAX)
            .map_err(|e| e.to_string())?;
        for key in keys {
            let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            if let Some(summary) = self.projections.get(&id).map_err(|e| e.to_string())?
                && gendan_core::access::record_access(
                    p,
                    &crate::sync::header_of(&from_record_summary(&summary)),
                ) != gendan_core::access::Access::None
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// All tables over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        ServerStorage {
            docs: DocStore::new(store.clone()),
            attribution: AttributionLog::new(store.clone()),
            quarantine: Quarantine::new(store.clone()),
            projections: Projections::new(store.clone()),
            accounts: Accounts::new(store.clone()),
            derived: Arc::new(crate::derived::DerivedCache::new()),
            loader: Loader::start(),
            store,
        }
    }

    fn write_turn(&self, turn: &Turn) -> Result<(), String> {
        let mut batch = Batch::new();
        for (doc, bytes) in &turn.appends {
            self.docs
                .append_to(&mut batch, &doc.to_string(), bytes)
                .map_err(|e| e.to_string())?;
        }
        for a in &turn.accepted {
            let attribution = Attribution {
                user: a.user.clone(),
                peer: a.peer.as_str().to_string(),
                device: None,
                at_ms: u64::try_from(a.at_ms).unwrap_or(0),
            };
            for h in &a.change_hashes {
                self.attribution
                    .put(&mut batch, &a.doc.to_string(), &h.to_string(), &attribution)
                    .map_err(|e| e.to_string())?;
            }
        }
        let now = now_ms();
        for (doc, user, hashes) in &turn.local {
            let attribution = Attribution {
                user: user.clone(),
                peer: "server (office)".into(),
                device: None,
                at_ms: now,
            };
            for h in hashes {
                self.attribution
                    .put(&mut batch, &doc.to_string(), &h.to_string(), &attribution)
                    .map_err(|e| e.to_string())?;
            }
        }
        for r in &turn.rejected {
            let at_ms = u64::try_from(r.at_ms).unwrap_or(0);
            let reason = r
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let entry = QuarantineEntry {
                id: new_id(at_ms).map_err(|e| e.to_string())?,
                doc_id: r.doc.to_string(),
                user: r.user.clone(),
                peer: r.peer.as_str().to_string(),
                at_ms,
                reason,
                changes: r.changes.clone(),
            };
            self.quarantine
                .put(&mut batch, &entry)
                .map_err(|e| e.to_string())?;
        }
        for (doc, summary) in &turn.summaries {
            self.projections
                .upsert(&mut batch, &to_record_summary(doc, summary, now))
                .map_err(|e| e.to_string())?;
        }
        for (doc, members) in &turn.members {
            let value = serde_json::to_vec(members).map_err(|e| e.to_string())?;
            batch.put(members_key(doc), value);
        }
        for (doc, blobs) in &turn.blob_refs {
            for sha in blobs {
                batch.put(blob_ref_key(sha, doc), Vec::new());
            }
        }
        for doc in &turn.catalog_pending {
            batch.put(catalog_pending_key(doc), Vec::new());
        }
        for doc in &turn.catalog_done {
            batch.delete(catalog_pending_key(doc));
        }
        for (user, doc) in &turn.new_indexes {
            batch.put(index_key(user), doc.to_string().into_bytes());
        }
        for (user, scope) in &turn.index_scopes {
            batch.put(index_scope_key(user), scope.as_bytes().to_vec());
        }
        self.store.apply(batch).map_err(|e| e.to_string())?;
        self.store.flush().map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl SyncStorage for ServerStorage {
    fn load(&self, doc: &DocumentId) -> Result<Option<Vec<u8>>, String> {
        if let Some(loaded) = self
            .loader
            .as_ref()
            .and_then(|l| l.load(&self.docs, doc.to_string()))
        {
            return loaded;
        }
        self.docs.load(&doc.to_string()).map_err(|e| e.to_string())
    }

    fn commit(&self, turn: &Turn) -> Result<(), String> {
        self.write_turn(turn)?;
        // Compaction after the turn is durable: the snapshot covers every chunk written.
        for (doc, snapshot) in &turn.compactions {
            let id = doc.to_string();
            let covers = self
                .docs
                .load_with_seq(&id)
                .map_err(|e| e.to_string())?
                .map(|l| l.next_seq)
                .unwrap_or(0);
            self.docs
                .compact(&id, snapshot, covers)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn needs_compaction(&self, doc: &DocumentId, appending: usize) -> bool {
        self.docs
            .incremental_count(&doc.to_string())
            .map(|n| n + appending as u64 > COMPACT_AFTER_CHUNKS)
            .unwrap_or(false)
    }

    fn index_doc(&self, user: &str) -> Result<Option<DocumentId>, String> {
        match self
            .store
            .get(&index_key(user))
            .map_err(|e| e.to_string())?
        {
            Some(v) => String::from_utf8(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .map(Some)
                .ok_or_else(|| format!("the index id of {user} is damaged")),
            None => Ok(None),
        }
    }

    fn index_scope(&self, user: &str) -> Result<Option<String>, String> {
        match self
            .store
            .get(&index_scope_key(user))
            .map_err(|e| e.to_string())?
        {
            Some(v) => String::from_utf8(v)
                .map(Some)
                .map_err(|_| format!("the index scope of {user} is damaged")),
            None => Ok(None),
        }
    }

    fn field_users(&self) -> Result<Vec<Principal>, String> {
        Ok(self
            .accounts
            .list_users()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|u| !u.disabled && !u.role.is_office())
            .map(|u| u.principal())
            .collect())
    }

    fn all_users(&self) -> Result<Vec<(Principal, bool)>, String> {
        Ok(self
            .accounts
            .list_users()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|u| (u.principal(), u.disabled))
            .collect())
    }

    fn accounts_version(&self) -> u64 {
        self.accounts.version()
    }

    fn principal(&self, user: &str) -> Result<Option<Principal>, String> {
        self.accounts.principal(user).map_err(|e| e.to_string())
    }

    fn catalog_pending(&self) -> Result<Vec<DocumentId>, String> {
        let prefix = b"catalog_pending/";
        let mut docs = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let keys = self
                .store
                .scan_prefix_keys(prefix, after.as_deref(), crate::store::SCAN_ROWS_MAX)
                .map_err(|e| e.to_string())?;
            for key in &keys {
                let id = std::str::from_utf8(&key[prefix.len()..])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("a damaged key: {}", crate::store::printable(key)))?;
                docs.push(id);
            }
            if keys.len() < crate::store::SCAN_ROWS_MAX {
                return Ok(docs);
            }
            after = keys.last().cloned();
        }
    }

    fn index_members(&self, doc: &DocumentId) -> Result<BTreeSet<String>, String> {
        match self
            .store
            .get(&members_key(doc))
            .map_err(|e| e.to_string())?
        {
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| format!("index membership of {doc} is damaged: {e}")),
            None => Ok(BTreeSet::new()),
        }
    }

    fn scope_candidates(&self, p: &Principal) -> Result<Vec<(DocumentId, Summary)>, String> {
        let mut ids = BTreeSet::new();
        let mut by = |field: IndexField, value: &str| -> Result<(), String> {
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .projections
                    .ids_by(field, value, after.as_deref(), 1000)
                    .map_err(|e| e.to_string())?;
                let full = page.len() == 1000;
                after = page.last().cloned();
                ids.extend(page);
                if !full || ids.len() >= SCOPE_CANDIDATES_MAX {
                    return Ok(());
                }
            }
        };
        by(IndexField::Assignee, &p.user)?;
        match p.role {
            Role::Factory => {
                if let Some(f) = p.factory.as_deref().filter(|f| !f.is_empty()) {
                    by(IndexField::Factory, f)?;
                }
            }
            Role::Warehouse => {
                if let Some(w) = p.warehouse.as_deref().filter(|w| !w.is_empty()) {
                    by(IndexField::Warehouse, w)?;
                }
            }
            _ => {}
        }
        let mut out = Vec::new();
        for id in ids {
            let Ok(doc) = id.parse::<DocumentId>() else {
                continue;
            };
            if let Some(r) = self.projections.get(&id).map_err(|e| e.to_string())? {
                out.push((doc, from_record_summary(&r)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn documents_read_on_the_reader_thread_are_the_stored_bytes() {
        let storage = ServerStorage::new(Arc::new(MemoryStore::new()));
        assert!(storage.loader.is_some(), "the reader thread runs");
        let doc = DocumentId::from_bytes([5; 16]);
        let mut batch = Batch::new();
        for chunk in [b"first".as_slice(), b"second".as_slice()] {
            storage
                .docs
                .append_to(&mut batch, &doc.to_string(), chunk)
                .unwrap();
        }
        storage.store.apply(batch).unwrap();
        assert_eq!(
            SyncStorage::load(&storage, &doc).unwrap(),
            Some(b"firstsecond".to_vec())
        );
        let missing = DocumentId::from_bytes([6; 16]);
        assert_eq!(SyncStorage::load(&storage, &missing).unwrap(), None);
        // A clone shares the thread; without it, documents are read on the caller's thread.
        let clone = storage.clone();
        assert_eq!(
            SyncStorage::load(&clone, &doc).unwrap(),
            Some(b"firstsecond".to_vec())
        );
        let inline = ServerStorage {
            loader: None,
            ..storage.clone()
        };
        assert_eq!(
            SyncStorage::load(&inline, &doc).unwrap(),
            Some(b"firstsecond".to_vec())
        );
    }

    #[test]
    fn the_reader_thread_gives_memory_back_once_idle_after_reading() {
        crate::memory::testing::install();
        let storage = ServerStorage::new(Arc::new(MemoryStore::new()));
        let reader = storage.loader.as_ref().expect("the reader thread").thread;
        let released = || crate::memory::testing::releases_on(reader);
        // Idle with nothing read: nothing to give back.
        std::thread::sleep(READER_IDLE * 2 + READER_IDLE / 2);
        assert_eq!(released(), 0);
        // After reading, once idle for READER_IDLE: once, not again while idle.
        let doc = DocumentId::from_bytes([7; 16]);
        assert_eq!(SyncStorage::load(&storage, &doc).unwrap(), None);
        let deadline = std::time::Instant::now() + READER_IDLE * 10;
        while released() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(READER_IDLE / 10);
        }
        assert_eq!(released(), 1);
        std::thread::sleep(READER_IDLE * 2 + READER_IDLE / 2);
        assert_eq!(released(), 1);
    }
}
