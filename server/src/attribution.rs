//! Who delivered each accepted change (DESIGN §3, "Every change is attributed").
//!
//! Key `at/<doc>/<change hash hex>`, value JSON [`Attribution`]. JSON because the values are
//! small, read rarely (the office's history view), readable in a backup, and tolerant of
//! fields added later (`#[serde(default)]`); the bytes saved by a binary encoding would not
//! matter beside the documents themselves.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::docs;
use crate::store::{Batch, SCAN_ROWS_MAX, Store, StoreError};

/// The most entries [`AttributionLog::history`] returns for one document; page with
/// [`AttributionLog::history_page`] beyond it.
pub const HISTORY_ENTRIES_MAX: usize = 100_000;
/// The longest user, peer or device name recorded, in bytes.
pub const NAME_BYTES_MAX: usize = 256;
/// Hex digits of an Automerge change hash (SHA-256).
const HASH_HEX_LEN: usize = 64;

/// Why an attribution could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum AttributionError {
    /// The document id cannot be part of a key.
    #[error("document id {0:?} is not valid")]
    BadDocId(String),
    /// The change hash is not 64 lowercase hex digits.
    #[error("change hash {0:?} is not 64 lowercase hex digits")]
    BadHash(String),
    /// A user, peer or device name is longer than [`NAME_BYTES_MAX`].
    #[error("a name of {len} bytes is over the limit of {max}")]
    NameTooLong {
        /// The name's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A document has more than [`HISTORY_ENTRIES_MAX`] attributed changes.
    #[error("the document has more than {max} attributed changes; read them in pages")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// A stored attribution cannot be read: the store is damaged.
    #[error("the attribution of change {hash} cannot be read; restore from a backup")]
    Damaged {
        /// The change hash.
        hash: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who delivered a change to the server, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// The authenticated user (from the session token, never from the peer id).
    pub user: String,
    /// The automerge-repo peer id that sent it.
    pub peer: String,
    /// The device the session was issued to, if known.
    #[serde(default)]
    pub device: Option<String>,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// The change attribution of every document, over a [`Store`].
#[derive(Debug, Clone)]
pub struct AttributionLog {
    store: Arc<dyn Store>,
}

impl AttributionLog {
    /// Attributions in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Adds to `batch` that `attribution` delivered change `change_hash_hex` of `doc_id`. The
    /// first delivery is kept: a change relayed again later keeps its first attribution.
    pub fn put(
        &self,
        batch: &mut Batch,
        doc_id: &str,
        change_hash_hex: &str,
        attribution: &Attribution,
    ) -> Result<(), AttributionError> {
        let key = key(doc_id, change_hash_hex)?;
        for name in [&attribution.user, &attribution.peer]
            .into_iter()
            .chain(attribution.device.as_ref())
        {
            if name.len() > NAME_BYTES_MAX {
                return Err(AttributionError::NameTooLong {
                    len: name.len(),
                    max: NAME_BYTES_MAX,
                });
            }
        }
        let known = match batch.pending(&key) {
            Some(pending) => pending.is_some(),
            None => self.store.get(&key)?.is_some(),
        };
        if !known {
            let value = serde_json::to_vec(attribution).map_err(|_| AttributionError::Damaged {
                hash: change_hash_hex.to_string(),
            })?;
            batch.put(key, value);
        }
        Ok(())
    }

    /// Who delivered change `change_hash_hex` of `doc_id`, if it was attributed.
    pub fn get(
        &self,
        doc_id: &str,
        change_hash_hex: &str,
    ) -> Result<Option<Attribution>, AttributionError> {
        let key = key(doc_id, change_hash_hex)?;
        self.store
            .get(&key)?
            .map(|value| decode(change_hash_hex, &value))
            .transpose()
    }

    /// Every attributed change of `doc_id` as `(hash, attribution)`, oldest first (ties by
    /// hash). At most [`HISTORY_ENTRIES_MAX`]; more is [`AttributionError::TooMany`].
    pub fn history(&self, doc_id: &str) -> Result<Vec<(String, Attribution)>, AttributionError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.history_page(doc_id, after.as_deref(), SCAN_ROWS_MAX)?;
            let full = page.len() == SCAN_ROWS_MAX;
            after = page.last().map(|(hash, _)| hash.clone());
            all.extend(page);
            if all.len() > HISTORY_ENTRIES_MAX {
                return Err(AttributionError::TooMany {
                    max: HISTORY_ENTRIES_MAX,
                });
            }
            if !full {
                break;
            }
        }
        all.sort_by(|(a_hash, a), (b_hash, b)| a.at_ms.cmp(&b.at_ms).then(a_hash.cmp(b_hash)));
        Ok(all)
    }

    /// At most `limit` (≤ [`SCAN_ROWS_MAX`]) attributed changes of `doc_id` in hash order,
    /// after hash `after` when given.
    pub fn history_page(
        &self,
        doc_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Attribution)>, AttributionError> {
        let prefix = prefix(doc_id)?;
        let after = after.map(|hash| [prefix.as_slice(), hash.as_bytes()].concat());
        let rows = self
            .store
            .scan_prefix_after(&prefix, after.as_deref(), limit)?;
        rows.into_iter()
            .map(|(key, value)| {
                let hash = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                let attribution = decode(&hash, &value)?;
                Ok((hash, attribution))
            })
            .collect()
    }
}

fn decode(hash: &str, value: &[u8]) -> Result<Attribution, AttributionError> {
    serde_json::from_slice(value).map_err(|_| AttributionError::Damaged {
        hash: hash.to_string(),
    })
}

fn prefix(doc_id: &str) -> Result<Vec<u8>, AttributionError> {
    if !docs::is_valid_id(doc_id) {
        return Err(AttributionError::BadDocId(doc_id.to_string()));
    }
    Ok(format!("at/{doc_id}/").into_bytes())
}

fn key(doc_id: &str, hash: &str) -> Result<Vec<u8>, AttributionError> {
    let valid = hash.len() == HASH_HEX_LEN
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !valid {
        return Err(AttributionError::BadHash(hash.to_string()));
    }
    Ok([prefix(doc_id)?, hash.as_bytes().to_vec()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn hash(n: u8) -> String {
        hex::encode([n; 32])
    }

    fn by(user: &str, at_ms: u64) -> Attribution {
        Attribution {
            user: user.into(),
            peer: format!("peer-{user}"),
            device: Some("tablet-3".into()),
            at_ms,
        }
    }

    #[test]
    fn history_lists_every_change_oldest_first_and_keeps_the_first_delivery() {
        let store = Arc::new(MemoryStore::new());
        let log = AttributionLog::new(store.clone());
        let mut batch = Batch::new();
        log.put(&mut batch, "doc1", &hash(2), &by("li", 200))
            .unwrap();
        log.put(&mut batch, "doc1", &hash(1), &by("wang", 300))
            .unwrap();
        // The same change relayed again, in the same batch and later: first one stays.
        log.put(&mut batch, "doc1", &hash(2), &by("zhao", 400))
            .unwrap();
        log.put(&mut batch, "doc10", &hash(3), &by("li", 100))
            .unwrap();
        store.apply(batch).unwrap();
        let mut batch = Batch::new();
        log.put(&mut batch, "doc1", &hash(1), &by("zhao", 500))
            .unwrap();
        assert!(batch.is_empty());

        let history = log.history("doc1").unwrap();
        assert_eq!(
            history,
            [(hash(2), by("li", 200)), (hash(1), by("wang", 300))]
        );
        assert_eq!(log.get("doc1", &hash(1)).unwrap(), Some(by("wang", 300)));
        assert_eq!(log.get("doc1", &hash(3)).unwrap(), None);
        assert_eq!(
            log.history_page("doc1", Some(&hash(1)), 10).unwrap().len(),
            1
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let log = AttributionLog::new(Arc::new(MemoryStore::new()));
        let mut batch = Batch::new();
        assert!(matches!(
            log.put(&mut batch, "doc1", "ABC", &by("li", 1)),
            Err(AttributionError::BadHash(_))
        ));
        assert!(matches!(
            log.put(&mut batch, "doc1", &hash(0xab).to_uppercase(), &by("li", 1)),
            Err(AttributionError::BadHash(_))
        ));
        assert!(matches!(
            log.put(&mut batch, "a/b", &hash(1), &by("li", 1)),
            Err(AttributionError::BadDocId(_))
        ));
        let long = "x".repeat(NAME_BYTES_MAX + 1);
        assert!(matches!(
            log.put(&mut batch, "doc1", &hash(1), &by(&long, 1)),
            Err(AttributionError::NameTooLong { .. })
        ));
        // "peer-" + name: both exactly at the limit.
        let at_limit = "x".repeat(NAME_BYTES_MAX - "peer-".len());
        log.put(&mut batch, "doc1", &hash(1), &by(&at_limit, 1))
            .unwrap();
    }

    #[test]
    fn history_is_capped_at_history_entries_max() {
        let store = Arc::new(MemoryStore::new());
        let log = AttributionLog::new(store.clone());
        let value = serde_json::to_vec(&by("li", 1)).unwrap();
        let mut batch = Batch::new();
        for n in 0..HISTORY_ENTRIES_MAX as u64 {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&n.to_be_bytes());
            batch.put(key("doc1", &hex::encode(bytes)).unwrap(), value.clone());
            if batch.len() == crate::store::BATCH_OPS_MAX {
                store.apply(std::mem::take(&mut batch)).unwrap();
            }
        }
        store.apply(std::mem::take(&mut batch)).unwrap();
        assert_eq!(log.history("doc1").unwrap().len(), HISTORY_ENTRIES_MAX);
        log.put(&mut batch, "doc1", &hash(0xff), &by("li", 2))
            .unwrap();
        store.apply(batch).unwrap();
        assert!(matches!(
            log.history("doc1"),
            Err(AttributionError::TooMany { .. })
        ));
    }
}
