//! Automerge documents in the [`Store`]: a compacted snapshot plus incremental chunks.
//!
//! Per document `<id>`:
//! - `dm/<id>`: bookkeeping — the next chunk sequence number, which chunks the snapshot
//!   covers, and sizes — written in the same batch as every chunk, so it always agrees with
//!   them; [`DocStore::load`] checks that it does.
//! - `ds/<id>`: the last compacted snapshot (`AutoCommit::save`), if any.
//! - `di/<id>/<seq>`: incremental chunks (`AutoCommit::save_incremental`), `seq` as 16 hex
//!   digits so byte order is append order.
//!
//! [`DocStore::load`] returns the snapshot followed by every chunk in order, which
//! `AutoCommit::load` reads as one document (changes it already has are skipped).
//!
//! # Writing
//! The sync driver adds a chunk to its own [`Batch`] with [`DocStore::append_to`] (together
//! with the change attribution and projection updates), applies the batch and flushes before
//! it acknowledges anything. Writes to one document must be serialized by the caller (build,
//! apply, then the next); different documents are independent. Compaction may run beside
//! appends: [`DocStore::load_with_seq`] says which chunks a load contained, and
//! [`DocStore::compact`] deletes only those.

use std::sync::{Arc, PoisonError, RwLock};

use crate::store::{Batch, SCAN_ROWS_MAX, Store, StoreError};

/// The largest document, in bytes: snapshot plus incremental chunks. A change that would
/// take a document past it is refused; a compacted snapshot is usually much smaller.
pub const DOC_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The longest document id, in bytes (a bs58check document id is about 30).
pub const DOC_ID_BYTES_MAX: usize = 64;
/// The most incremental chunks a document may hold between two compactions; the driver
/// compacts long before (it should compact at a few dozen).
pub const INCREMENTALS_MAX: u64 = 4096;

// A compaction deletes every chunk and writes the snapshot and the bookkeeping in one batch.
const _: () = assert!(INCREMENTALS_MAX as usize + 2 <= crate::store::BATCH_OPS_MAX);
const _: () = assert!(INCREMENTALS_MAX as usize <= SCAN_ROWS_MAX);

/// The version byte in front of the bookkeeping value.
const META_VERSION: u8 = 1;
/// Bytes of the bookkeeping value: a version byte and five u64.
const META_BYTES: usize = 1 + 5 * 8;

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The document id is empty, too long, or has characters other than `A-Za-z0-9._-`.
    #[error(
        "document id {id:?} is not 1 to {DOC_ID_BYTES_MAX} characters of A-Z, a-z, 0-9, '.', '_', '-'"
    )]
    BadId {
        /// The id given.
        id: String,
    },
    /// Storing the chunk or snapshot would take the document past [`DOC_BYTES_MAX`].
    #[error("document {id} would be {bytes} bytes, over the limit of {max}")]
    TooLarge {
        /// The document.
        id: String,
        /// Its size with the new bytes.
        bytes: u64,
        /// The limit.
        max: usize,
    },
    /// The document already holds [`INCREMENTALS_MAX`] chunks: compact it first.
    #[error("document {id} holds {max} incremental chunks; compact it before appending")]
    TooManyIncrementals {
        /// The document.
        id: String,
        /// The limit.
        max: u64,
    },
    /// A newer snapshot than the one offered is already stored.
    #[error(
        "document {id}: the snapshot covers chunks before {covers_before}, the stored one already covers chunks before {stored}"
    )]
    StaleCompaction {
        /// The document.
        id: String,
        /// What the offered snapshot covers.
        covers_before: u64,
        /// What the stored snapshot covers.
        stored: u64,
    },
    /// The snapshot claims to cover chunks that were never stored.
    #[error(
        "document {id}: the snapshot claims chunks before {covers_before}, only {next_seq} exist"
    )]
    CompactionAhead {
        /// The document.
        id: String,
        /// What the offered snapshot covers.
        covers_before: u64,
        /// The next sequence number to be used.
        next_seq: u64,
    },
    /// The document's stored parts disagree with its bookkeeping: the store is damaged.
    #[error(
        "document {id} is damaged ({detail}); stop the server and restore from a backup (gendan restore)"
    )]
    Damaged {
        /// The document.
        id: String,
        /// What disagrees.
        detail: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A loaded document and how far its chunks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedDoc {
    /// The snapshot followed by every incremental chunk, for `AutoCommit::load`.
    pub bytes: Vec<u8>,
    /// Every chunk with a sequence number below this one is in `bytes`: pass it to
    /// [`DocStore::compact`] with a snapshot saved from this load.
    pub next_seq: u64,
}

/// Sizes of a stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct DocStats {
    /// Bytes of the compacted snapshot.
    pub snapshot_bytes: u64,
    /// Bytes of incremental chunks.
    pub incremental_bytes: u64,
    /// Number of incremental chunks.
    pub incremental_count: u64,
    /// The sequence number the next chunk will get.
    pub next_seq: u64,
}

/// The bookkeeping under `dm/<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Meta {
    next_seq: u64,
    /// Chunks with a sequence number below this one are in the snapshot (and deleted).
    covers_before: u64,
    snapshot_bytes: u64,
    incremental_bytes: u64,
    incremental_count: u64,
}

impl Meta {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(META_BYTES);
        bytes.push(META_VERSION);
        for field in [
            self.next_seq,
            self.covers_before,
            self.snapshot_bytes,
            self.incremental_bytes,
            self.incremental_count,
        ] {
            bytes.extend_from_slice(&field.to_be_bytes());
        }
        bytes
    }

    fn decode(id: &str, bytes: &[u8]) -> Result<Self, DocError> {
        let damaged = || DocError::Damaged {
            id: id.to_string(),
            detail: "its bookkeeping record cannot be read".into(),
        };
        if bytes.len() != META_BYTES || bytes[0] != META_VERSION {
            return Err(damaged());
        }
        let mut fields = bytes[1..]
            .chunks_exact(8)
            .map(|chunk| chunk.try_into().map(u64::from_be_bytes));
        let mut next = || fields.next().and_then(Result::ok).ok_or_else(damaged);
        Ok(Self {
            next_seq: next()?,
            covers_before: next()?,
            snapshot_bytes: next()?,
            incremental_bytes: next()?,
            incremental_count: next()?,
        })
    }

    fn total_bytes(&self) -> u64 {
        self.snapshot_bytes + self.incremental_bytes
    }
}

/// Automerge documents by id over a [`Store`]. Cheap to clone; clones share one compaction
/// lock, so use clones of one `DocStore` rather than several over the same store.
#[derive(Debug, Clone)]
pub struct DocStore {
    store: Arc<dyn Store>,
    /// Loads hold it shared, compactions exclusively: a load never sees an old snapshot
    /// together with chunks already deleted by a newer one.
    compaction: Arc<RwLock<()>>,
}

impl DocStore {
    /// Documents in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            compaction: Arc::new(RwLock::new(())),
        }
    }

    /// The document's bytes (snapshot, then chunks), or `None` if it was never stored.
    pub fn load(&self, id: &str) -> Result<Option<Vec<u8>>, DocError> {
        Ok(self.load_with_seq(id)?.map(|loaded| loaded.bytes))
    }

    /// The document's version: the sequence number its next chunk will get, or `None` if
    /// it was never stored. It grows with every chunk appended and a compaction keeps it,
    /// so the document's content is the same whenever its version is (one small read,
    /// for caches of what is derived from a document).
    pub fn version(&self, id: &str) -> Result<Option<u64>, DocError> {
        check_id(id)?;
        Ok(self.meta(id)?.map(|meta| meta.next_seq))
    }

    /// Like [`DocStore::load`], with the sequence number to give [`DocStore::compact`].
    pub fn load_with_seq(&self, id: &str) -> Result<Option<LoadedDoc>, DocError> {
        check_id(id)?;
        let _shared = self
            .compaction
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(meta) = self.meta(id)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(meta.total_bytes()).unwrap_or(0));
        match self.store.get(&snapshot_key(id))? {
            Some(snapshot) => {
                if snapshot.len() as u64 != meta.snapshot_bytes {
                    return Err(damaged(id, "the snapshot's size disagrees"));
                }
                bytes.extend_from_slice(&snapshot);
            }
            None if meta.snapshot_bytes != 0 => return Err(damaged(id, "the snapshot is missing")),
            None => {}
        }
        // Chunks appended after `meta` was read are left for the next load.
        let chunks = self.chunks(id, meta.next_seq)?;
        let count = chunks.len() as u64;
        let chunk_bytes: u64 = chunks.iter().map(|(_, c)| c.len() as u64).sum();
        if count != meta.incremental_count || chunk_bytes != meta.incremental_bytes {
            return Err(damaged(
                id,
                &format!(
                    "{count} chunks of {chunk_bytes} bytes found, {} of {} recorded",
                    meta.incremental_count, meta.incremental_bytes
                ),
            ));
        }
        for (_, chunk) in chunks {
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(LoadedDoc {
            bytes,
            next_seq: meta.next_seq,
        }))
    }

    /// Adds `chunk` (from `AutoCommit::save_incremental`) to `batch` as the document's next
    /// incremental chunk; an empty chunk adds nothing. Creates the document if it is new.
    /// Sees the batch's own earlier additions, so several chunks of one document may go in
    /// one batch. Nothing is stored until the caller applies the batch.
    pub fn append_to(&self, batch: &mut Batch, id: &str, chunk: &[u8]) -> Result<(), DocError> {
        check_id(id)?;
        if chunk.is_empty() {
            return Ok(());
        }
        let meta_key = meta_key(id);
        let mut meta = match batch.pending(&meta_key) {
            Some(Some(pending)) => Meta::decode(id, pending)?,
            Some(None) => Meta::default(),
            None => self.meta(id)?.unwrap_or_default(),
        };
        if meta.incremental_count >= INCREMENTALS_MAX {
            return Err(DocError::TooManyIncrementals {
                id: id.to_string(),
                max: INCREMENTALS_MAX,
            });
        }
        let bytes = meta.total_bytes() + chunk.len() as u64;
        if bytes > DOC_BYTES_MAX as u64 {
            return Err(DocError::TooLarge {
                id: id.to_string(),
                bytes,
                max: DOC_BYTES_MAX,
            });
        }
        batch.put(chunk_key(id, meta.next_seq), chunk);
        meta.next_seq += 1;
        meta.incremental_count += 1;
        meta.incremental_bytes += chunk.len() as u64;
        batch.put(meta_key, meta.encode());
        Ok(())
    }

    /// Replaces the document's snapshot with `snapshot` (from `AutoCommit::save` of a load
    /// whose [`LoadedDoc::next_seq`] was `covers_before`) and deletes the chunks it covers,
    /// in one atomic batch. Chunks appended since that load stay. Also stores a new document
    /// from a whole snapshot (`covers_before` 0). Not flushed: the content does not change,
    /// and after a crash either the old or the new form is there.
    pub fn compact(&self, id: &str, snapshot: &[u8], covers_before: u64) -> Result<(), DocError> {
        check_id(id)?;
        if snapshot.len() > DOC_BYTES_MAX {
            return Err(DocError::TooLarge {
                id: id.to_string(),
                bytes: snapshot.len() as u64,
                max: DOC_BYTES_MAX,
            });
        }
        let _exclusive = self
            .compaction
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut meta = self.meta(id)?.unwrap_or_default();
        if covers_before > meta.next_seq {
            return Err(DocError::CompactionAhead {
                id: id.to_string(),
                covers_before,
                next_seq: meta.next_seq,
            });
        }
        if covers_before < meta.covers_before {
            return Err(DocError::StaleCompaction {
                id: id.to_string(),
                covers_before,
                stored: meta.covers_before,
            });
        }
        let mut batch = Batch::new();
        for (seq, chunk) in self.chunks(id, covers_before)? {
            batch.delete(chunk_key(id, seq));
            meta.incremental_count = meta.incremental_count.saturating_sub(1);
            meta.incremental_bytes = meta.incremental_bytes.saturating_sub(chunk.len() as u64);
        }
        meta.covers_before = covers_before;
        meta.snapshot_bytes = snapshot.len() as u64;
        batch.put(snapshot_key(id), snapshot);
        batch.put(meta_key(id), meta.encode());
        self.store.apply(batch)?;
        Ok(())
    }

    /// The number of incremental chunks stored for the document (0 if it does not exist).
    pub fn incremental_count(&self, id: &str) -> Result<u64, DocError> {
        Ok(self.stats(id)?.map_or(0, |stats| stats.incremental_count))
    }

    /// Sizes of the document, or `None` if it was never stored.
    pub fn stats(&self, id: &str) -> Result<Option<DocStats>, DocError> {
        check_id(id)?;
        Ok(self.meta(id)?.map(|meta| DocStats {
            snapshot_bytes: meta.snapshot_bytes,
            incremental_bytes: meta.incremental_bytes,
            incremental_count: meta.incremental_count,
            next_seq: meta.next_seq,
        }))
    }

    /// Whether the document was ever stored.
    pub fn exists(&self, id: &str) -> Result<bool, DocError> {
        check_id(id)?;
        Ok(self.store.get(&meta_key(id))?.is_some())
    }

    /// At most `limit` (≤ [`SCAN_ROWS_MAX`]) document ids in byte order, after `after` when
    /// given. A page shorter than `limit` is the last.
    pub fn list_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, DocError> {
        let after = after.map(meta_key);
        let keys = self
            .store
            .scan_prefix_keys(META_PREFIX, after.as_deref(), limit)?;
        keys.into_iter()
            .map(|key| {
                let id = key.get(META_PREFIX.len()..).unwrap_or_default();
                String::from_utf8(id.to_vec()).map_err(|_| DocError::Damaged {
                    id: crate::store::printable(id),
                    detail: "its id is not text".into(),
                })
            })
            .collect()
    }

    /// The bookkeeping of `id`, if it exists.
    fn meta(&self, id: &str) -> Result<Option<Meta>, DocError> {
        self.store
            .get(&meta_key(id))?
            .map(|bytes| Meta::decode(id, &bytes))
            .transpose()
    }

    /// The chunks of `id` with sequence numbers below `before`, in order.
    fn chunks(&self, id: &str, before: u64) -> Result<Vec<(u64, Vec<u8>)>, DocError> {
        let prefix = chunk_prefix(id);
        // At most INCREMENTALS_MAX chunks below `next_seq`, plus a few appended meanwhile:
        // page to be safe.
        let mut chunks = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = self
                .store
                .scan_prefix_after(&prefix, after.as_deref(), SCAN_ROWS_MAX)?;
            let full = rows.len() == SCAN_ROWS_MAX;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, chunk) in rows {
                let seq = parse_seq(&key[prefix.len()..])
                    .ok_or_else(|| damaged(id, "a chunk key cannot be read"))?;
                if seq >= before {
                    return Ok(chunks);
                }
                chunks.push((seq, chunk));
            }
            if !full {
                return Ok(chunks);
            }
        }
    }
}

/// Refuses an id that cannot be part of a key.
fn check_id(id: &str) -> Result<(), DocError> {
    let ok = !id.is_empty()
        && id.len() <= DOC_ID_BYTES_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(DocError::BadId { id: id.to_string() })
    }
}

/// Whether `id` is a valid document id (1 to [`DOC_ID_BYTES_MAX`] of `A-Za-z0-9._-`).
pub fn is_valid_id(id: &str) -> bool {
    check_id(id).is_ok()
}

fn damaged(id: &str, detail: &str) -> DocError {
    DocError::Damaged {
        id: id.to_string(),
        detail: detail.to_string(),
    }
}

const META_PREFIX: &[u8] = b"dm/";

fn meta_key(id: &str) -> Vec<u8> {
    [META_PREFIX, id.as_bytes()].concat()
}

fn snapshot_key(id: &str) -> Vec<u8> {
    format!("ds/{id}").into_bytes()
}

fn chunk_prefix(id: &str) -> Vec<u8> {
    format!("di/{id}/").into_bytes()
}

fn chunk_key(id: &str, seq: u64) -> Vec<u8> {
    format!("di/{id}/{seq:016x}").into_bytes()
}

fn parse_seq(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    if text.len() != 16 {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc};

    fn docs() -> (Arc<MemoryStore>, DocStore) {
        let store = Arc::new(MemoryStore::new());
        (store.clone(), DocStore::new(store))
    }

    fn append(docs: &DocStore, id: &str, chunk: &[u8]) {
        let mut batch = Batch::new();
        docs.append_to(&mut batch, id, chunk).unwrap();
        docs.store.apply(batch).unwrap();
    }

    fn text(doc: &AutoCommit, key: &str) -> Option<String> {
        doc.get(automerge::ROOT, key)
            .unwrap()
            .and_then(|(value, _)| value.as_str().map(str::to_string))
    }

    #[test]
    fn snapshot_and_chunks_load_as_the_same_automerge_document() {
        let (_, docs) = docs();
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "type", "inspection").unwrap();
        let snapshot = doc.save();
        docs.compact("doc1", &snapshot, 0).unwrap();

        doc.put(automerge::ROOT, "status", "draft").unwrap();
        let first = doc.save_incremental();
        doc.put(automerge::ROOT, "status", "submitted").unwrap();
        doc.put(automerge::ROOT, "lot", 5000).unwrap();
        let second = doc.save_incremental();
        assert!(!first.is_empty() && !second.is_empty());
        // Two chunks of one document in one batch keep their order.
        let mut batch = Batch::new();
        docs.append_to(&mut batch, "doc1", &first).unwrap();
        docs.append_to(&mut batch, "doc1", &second).unwrap();
        docs.append_to(&mut batch, "doc1", &[]).unwrap();
        docs.store.apply(batch).unwrap();
        assert_eq!(docs.incremental_count("doc1").unwrap(), 2);

        let loaded = docs.load_with_seq("doc1").unwrap().unwrap();
        assert_eq!(loaded.next_seq, 2);
        let mut back = AutoCommit::load(&loaded.bytes).unwrap();
        assert_eq!(back.get_heads(), doc.get_heads());
        assert_eq!(text(&back, "status").as_deref(), Some("submitted"));

        // Compact from that load: same heads, no chunks left.
        docs.compact("doc1", &back.save(), loaded.next_seq).unwrap();
        assert_eq!(docs.incremental_count("doc1").unwrap(), 0);
        let mut again = AutoCommit::load(&docs.load("doc1").unwrap().unwrap()).unwrap();
        assert_eq!(again.get_heads(), doc.get_heads());
        let stats = docs.stats("doc1").unwrap().unwrap();
        assert_eq!(stats.incremental_bytes, 0);
        assert_eq!(stats.next_seq, 2);
    }

    #[test]
    fn a_document_of_chunks_only_loads() {
        let (_, docs) = docs();
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).unwrap();
        append(&docs, "new", &doc.save_incremental());
        doc.put(automerge::ROOT, "b", 2).unwrap();
        append(&docs, "new", &doc.save_incremental());
        let mut back = AutoCommit::load(&docs.load("new").unwrap().unwrap()).unwrap();
        assert_eq!(back.get_heads(), doc.get_heads());
        assert_eq!(docs.load("missing").unwrap(), None);
        assert!(!docs.exists("missing").unwrap());
        assert!(docs.exists("new").unwrap());
    }

    #[test]
    fn compaction_keeps_chunks_appended_after_the_load_it_was_made_from() {
        let (_, docs) = docs();
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).unwrap();
        append(&docs, "d", &doc.save_incremental());
        let loaded = docs.load_with_seq("d").unwrap().unwrap();
        let mut snapshot_doc = AutoCommit::load(&loaded.bytes).unwrap();

        // Meanwhile another change arrives.
        doc.put(automerge::ROOT, "b", 2).unwrap();
        append(&docs, "d", &doc.save_incremental());

        docs.compact("d", &snapshot_doc.save(), loaded.next_seq)
            .unwrap();
        assert_eq!(docs.incremental_count("d").unwrap(), 1);
        let mut back = AutoCommit::load(&docs.load("d").unwrap().unwrap()).unwrap();
        assert_eq!(back.get_heads(), doc.get_heads());

        // An older snapshot cannot replace a newer one; a snapshot cannot claim the future.
        assert!(matches!(
            docs.compact("d", &snapshot_doc.save(), 0),
            Err(DocError::StaleCompaction { .. })
        ));
        assert!(matches!(
            docs.compact("d", &snapshot_doc.save(), 3),
            Err(DocError::CompactionAhead { .. })
        ));
        // And appends go on after a compaction with fresh sequence numbers.
        doc.put(automerge::ROOT, "c", 3).unwrap();
        append(&docs, "d", &doc.save_incremental());
        assert_eq!(docs.stats("d").unwrap().unwrap().next_seq, 3);
        let mut back = AutoCommit::load(&docs.load("d").unwrap().unwrap()).unwrap();
        assert_eq!(back.get_heads(), doc.get_heads());
    }

    #[test]
    fn ids_are_checked_and_listed_in_pages() {
        let (_, docs) = docs();
        for id in ["", "a/b", "with space", &"x".repeat(DOC_ID_BYTES_MAX + 1)] {
            assert!(
                matches!(docs.load(id), Err(DocError::BadId { .. })),
                "{id:?}"
            );
        }
        append(&docs, &"x".repeat(DOC_ID_BYTES_MAX), b"chunk");
        for id in ["b", "a", "c-1", "c.2"] {
            append(&docs, id, b"chunk");
        }
        // "a" must not list chunks of "ab" and the like.
        append(&docs, "ab", b"chunk");
        assert_eq!(docs.incremental_count("a").unwrap(), 1);
        let first = docs.list_ids(None, 3).unwrap();
        assert_eq!(first, ["a", "ab", "b"]);
        let rest = docs.list_ids(Some("b"), 10).unwrap();
        assert_eq!(rest, ["c-1", "c.2", "x".repeat(DOC_ID_BYTES_MAX).as_str()]);
    }

    #[test]
    fn a_document_cannot_grow_past_doc_bytes_max() {
        let (_, docs) = docs();
        let half = vec![1u8; DOC_BYTES_MAX / 2];
        append(&docs, "big", &half);
        append(&docs, "big", &half);
        assert_eq!(
            docs.stats("big").unwrap().unwrap().incremental_bytes,
            DOC_BYTES_MAX as u64
        );
        let mut batch = Batch::new();
        assert!(matches!(
            docs.append_to(&mut batch, "big", b"x"),
            Err(DocError::TooLarge { .. })
        ));
        let too_big = vec![1u8; DOC_BYTES_MAX + 1];
        assert!(matches!(
            docs.compact("other", &too_big, 0),
            Err(DocError::TooLarge { .. })
        ));
        docs.compact("other", &too_big[1..], 0).unwrap();
    }

    #[test]
    fn a_document_holds_at_most_incrementals_max_chunks() {
        let (_, docs) = docs();
        let mut batch = Batch::new();
        for _ in 0..INCREMENTALS_MAX {
            docs.append_to(&mut batch, "busy", b"c").unwrap();
        }
        assert!(matches!(
            docs.append_to(&mut batch, "busy", b"c"),
            Err(DocError::TooManyIncrementals { .. })
        ));
        docs.store.apply(batch).unwrap();
        let loaded = docs.load_with_seq("busy").unwrap().unwrap();
        assert_eq!(loaded.bytes.len() as u64, INCREMENTALS_MAX);
        // Compaction makes room again, in one batch.
        docs.compact("busy", b"snapshot", loaded.next_seq).unwrap();
        append(&docs, "busy", b"c");
        assert_eq!(docs.incremental_count("busy").unwrap(), 1);
    }

    #[test]
    fn a_missing_chunk_is_reported_not_skipped() {
        let (store, docs) = docs();
        append(&docs, "d", b"one");
        append(&docs, "d", b"two");
        store.delete(&chunk_key("d", 0)).unwrap();
        let error = docs.load("d").unwrap_err();
        assert!(matches!(error, DocError::Damaged { .. }), "{error:?}");
        assert!(error.to_string().contains("restore"), "{error}");

        append(&docs, "e", b"one");
        store.damage(&chunk_key("e", 0));
        assert!(matches!(
            docs.load("e"),
            Err(DocError::Store(StoreError::Corrupt { .. }))
        ));
    }
}
