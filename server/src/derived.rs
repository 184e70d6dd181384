//! What the office's aggregates read from stored records, kept per record and per version
//! of its stored bytes ([`crate::docs::DocStore::version`]), so the dashboard does not load
//! and hydrate every document on every request.
//!
//! An entry is used only while the document's version is the one it was derived from: any
//! change stored since (by sync or REST) makes the next read load the document again, so an
//! answer is never staler than storage. The version is read from storage on every use (one
//! small read), and an entry is stored with the version of the very bytes it was derived
//! from ([`crate::docs::LoadedDoc::next_seq`]). Nothing here is stored on disk; a restart
//! starts empty. At most [`DERIVED_ENTRIES_MAX`] entries are kept.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use gendan_core::record::Record;

use crate::docs::{DocError, DocStore};

/// The most entries kept; past it the cache starts over (each entry is one record's typed
/// value: an order, a PO, an approval request, a few defect totals).
pub const DERIVED_ENTRIES_MAX: usize = 20_000;

/// Why a derived value could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DerivedError {
    /// Storage failed.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// The stored bytes do not load as a document.
    #[error("stored document {id} does not load: {detail}")]
    Load {
        /// The document.
        id: String,
        /// Why.
        detail: String,
    },
    /// The derivation failed.
    #[error("stored document {id}: {detail}")]
    Derive {
        /// The document.
        id: String,
        /// Why.
        detail: String,
    },
}

type Entry = (u64, Arc<dyn Any + Send + Sync>);

/// Values derived from stored records, by record id and value type.
#[derive(Default)]
pub struct DerivedCache {
    entries: Mutex<HashMap<(String, TypeId), Entry>>,
}

impl std::fmt::Debug for DerivedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedCache")
            .field("entries", &self.len())
            .finish()
    }
}

impl DerivedCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `derive` of stored record `id` as it is in storage now: from the cache when the
    /// document has not changed since it was derived, else loaded and derived again.
    /// `Ok(None)` when the document is missing or is not a record; `derive` returning
    /// `Ok(None)` (a record of another type) is cached too.
    pub fn get<T: Any + Send + Sync>(
        &self,
        docs: &DocStore,
        id: &str,
        derive: impl FnOnce(&Record) -> Result<Option<T>, String>,
    ) -> Result<Option<Arc<T>>, DerivedError> {
        let key = (id.to_string(), TypeId::of::<Option<T>>());
        let Some(version) = docs.version(id)? else {
            return Ok(None);
        };
        if let Some((v, value)) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && *v == version
            && let Ok(value) = value.clone().downcast::<Option<Arc<T>>>()
        {
            return Ok((*value).clone());
        }
        let Some(loaded) = docs.load_with_seq(id)? else {
            return Ok(None);
        };
        let doc = gendan_core::guard::load(&loaded.bytes).map_err(|e| DerivedError::Load {
            id: id.to_string(),
            detail: e.to_string(),
        })?;
        let value: Option<Arc<T>> = match Record::from_doc(doc) {
            Ok(record) => derive(&record)
                .map_err(|detail| DerivedError::Derive {
                    id: id.to_string(),
                    detail,
                })?
                .map(Arc::new),
            Err(_) => None,
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= DERIVED_ENTRIES_MAX && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (loaded.next_seq, Arc::new(value.clone())));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use automerge::AutoCommit;
    use gendan_core::common::EditContext;
    use gendan_core::order::{self, NewOrder, Order};
    use gendan_core::record::actor_from_bytes;

    use super::*;
    use crate::store::{Batch, MemoryStore, Store};

    fn store_order(docs: &DocStore, store: &Arc<dyn Store>, id: &str, no: &str) -> Record {
        let mut record = order::create(
            &NewOrder {
                order_no: no.into(),
                ..NewOrder::default()
            },
            actor_from_bytes(&[7; 16]),
            &EditContext::new("merch", 1_700_000_000_000),
        )
        .unwrap();
        let mut batch = Batch::new();
        docs.append_to(&mut batch, id, &record.save()).unwrap();
        store.apply(batch).unwrap();
        record
    }

    fn order_no(cache: &DerivedCache, docs: &DocStore, id: &str, loads: &AtomicUsize) -> String {
        let order = cache
            .get(docs, id, |r| {
                loads.fetch_add(1, Ordering::SeqCst);
                r.read::<Order>().map(Some).map_err(|e| e.to_string())
            })
            .unwrap()
            .unwrap();
        order.order_no.clone()
    }

    #[test]
    fn an_entry_is_used_until_the_document_changes() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let docs = DocStore::new(store.clone());
        let mut record = store_order(&docs, &store, "o1", "SO-1");
        let cache = DerivedCache::new();
        let loads = AtomicUsize::new(0);
        assert_eq!(order_no(&cache, &docs, "o1", &loads), "SO-1");
        assert_eq!(order_no(&cache, &docs, "o1", &loads), "SO-1");
        assert_eq!(loads.load(Ordering::SeqCst), 1, "the second read is cached");

        // A change stored since: derived again, never the stale value.
        let heads = record.heads();
        let mut doc: AutoCommit = record.doc_mut().fork();
        use automerge::transaction::Transactable;
        doc.put(automerge::ROOT, "order_no", "SO-1b").unwrap();
        let chunk = doc.save_after(&heads);
        let mut batch = Batch::new();
        docs.append_to(&mut batch, "o1", &chunk).unwrap();
        store.apply(batch).unwrap();
        assert_eq!(order_no(&cache, &docs, "o1", &loads), "SO-1b");
        assert_eq!(loads.load(Ordering::SeqCst), 2);

        // Missing documents are none.
        assert!(
            cache
                .get(&docs, "nope", |_| Ok(Some(1_u8)))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_cache_starts_over_past_its_limit() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let docs = DocStore::new(store.clone());
        store_order(&docs, &store, "o1", "SO-1");
        let cache = DerivedCache::new();
        // Fill it to the limit with entries of another value type.
        {
            let mut entries = cache.entries.lock().unwrap();
            for i in 0..DERIVED_ENTRIES_MAX {
                entries.insert(
                    (format!("x{i}"), TypeId::of::<u8>()),
                    (0, Arc::new(0_u8) as Arc<dyn Any + Send + Sync>),
                );
            }
        }
        assert_eq!(cache.len(), DERIVED_ENTRIES_MAX);
        let loads = AtomicUsize::new(0);
        assert_eq!(order_no(&cache, &docs, "o1", &loads), "SO-1");
        assert_eq!(cache.len(), 1, "one past the limit starts over");
    }
}
