//! Rejected change sets, kept for an admin and never merged (DESIGN §3, "Writes are checked").
//!
//! Each entry is two keys: `qm/<id>` holds the facts as JSON ([`QuarantineInfo`]: small,
//! readable, listed without touching the bytes) and `qc/<id>` the rejected changes as raw
//! bytes (JSON would quadruple them). Ids made by [`new_id`] start with the time in hex, so
//! listing in key order lists oldest first.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::docs;
use crate::store::{Batch, Store, StoreError};

/// The largest rejected change set kept, in bytes.
pub const CHANGES_BYTES_MAX: usize = docs::DOC_BYTES_MAX;
/// The longest reason kept, in bytes; a longer one is cut at a character boundary and ends
/// with "…".
pub const REASON_BYTES_MAX: usize = 4096;
/// The longest id, user or peer name, in bytes.
pub const NAME_BYTES_MAX: usize = 256;

/// Why a quarantine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    /// An id is empty, too long or has characters other than `A-Za-z0-9._-`.
    #[error("quarantine id or document id {0:?} is not valid")]
    BadId(String),
    /// A user or peer name is longer than [`NAME_BYTES_MAX`].
    #[error("a name of {len} bytes is over the limit of {max}")]
    NameTooLong {
        /// The name's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The change set is larger than [`CHANGES_BYTES_MAX`].
    #[error("a change set of {len} bytes is over the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The operating system gave no random bytes for an id.
    #[error("no random bytes for a quarantine id: {0}")]
    Random(String),
    /// A stored entry cannot be read: the store is damaged.
    #[error("quarantine entry {id} is damaged; restore from a backup")]
    Damaged {
        /// The entry.
        id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rejected change set and why it was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// The entry's id (see [`new_id`]).
    pub id: String,
    /// The document the changes were for.
    pub doc_id: String,
    /// The authenticated user who sent them.
    pub user: String,
    /// The peer that sent them.
    pub peer: String,
    /// When they were rejected, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Why, in words for an admin.
    pub reason: String,
    /// The rejected changes, as received.
    pub changes: Vec<u8>,
}

/// The facts of an entry without its bytes, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineInfo {
    /// The entry's id.
    pub id: String,
    /// The document the changes were for.
    pub doc_id: String,
    /// The authenticated user who sent them.
    pub user: String,
    /// The peer that sent them.
    pub peer: String,
    /// When they were rejected, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Why.
    pub reason: String,
    /// Size of the rejected changes.
    pub changes_bytes: u64,
}

/// A new entry id: the time as 16 hex digits, a dash and 16 random hex digits.
pub fn new_id(at_ms: u64) -> Result<String, QuarantineError> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| QuarantineError::Random(e.to_string()))?;
    Ok(format!("{at_ms:016x}-{}", hex::encode(random)))
}

/// The quarantine, over a [`Store`].
#[derive(Debug, Clone)]
pub struct Quarantine {
    store: Arc<dyn Store>,
}

impl Quarantine {
    /// The quarantine in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Adds `entry` to `batch` (an entry with the same id is replaced).
    pub fn put(&self, batch: &mut Batch, entry: &QuarantineEntry) -> Result<(), QuarantineError> {
        check_id(&entry.id)?;
        check_id(&entry.doc_id)?;
        for name in [&entry.user, &entry.peer] {
            if name.len() > NAME_BYTES_MAX {
                return Err(QuarantineError::NameTooLong {
                    len: name.len(),
                    max: NAME_BYTES_MAX,
                });
            }
        }
        if entry.changes.len() > CHANGES_BYTES_MAX {
            return Err(QuarantineError::TooLarge {
                len: entry.changes.len(),
                max: CHANGES_BYTES_MAX,
            });
        }
        let info = QuarantineInfo {
            id: entry.id.clone(),
            doc_id: entry.doc_id.clone(),
            user: entry.user.clone(),
            peer: entry.peer.clone(),
            at_ms: entry.at_ms,
            reason: shorten(&entry.reason, REASON_BYTES_MAX),
            changes_bytes: entry.changes.len() as u64,
        };
        let value = serde_json::to_vec(&info).map_err(|_| QuarantineError::Damaged {
            id: entry.id.clone(),
        })?;
        batch.put(info_key(&entry.id), value);
        batch.put(changes_key(&entry.id), entry.changes.clone());
        Ok(())
    }

    /// At most `limit` entries, oldest first, after id `after` when given.
    pub fn list(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantineInfo>, QuarantineError> {
        let after = after.map(info_key);
        self.store
            .scan_prefix_after(INFO_PREFIX, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| decode(&String::from_utf8_lossy(&key), &value))
            .collect()
    }

    /// The entry with its changes, if it exists.
    pub fn get(&self, id: &str) -> Result<Option<QuarantineEntry>, QuarantineError> {
        check_id(id)?;
        let Some(info) = self.store.get(&info_key(id))? else {
            return Ok(None);
        };
        let info = decode(id, &info)?;
        let changes = self
            .store
            .get(&changes_key(id))?
            .ok_or_else(|| QuarantineError::Damaged { id: id.to_string() })?;
        if changes.len() as u64 != info.changes_bytes {
            return Err(QuarantineError::Damaged { id: id.to_string() });
        }
        Ok(Some(QuarantineEntry {
            id: info.id,
            doc_id: info.doc_id,
            user: info.user,
            peer: info.peer,
            at_ms: info.at_ms,
            reason: info.reason,
            changes,
        }))
    }

    /// Adds the removal of entry `id` to `batch` (an admin dismissed it).
    pub fn remove(&self, batch: &mut Batch, id: &str) -> Result<(), QuarantineError> {
        check_id(id)?;
        batch.delete(info_key(id));
        batch.delete(changes_key(id));
        Ok(())
    }
}

const INFO_PREFIX: &[u8] = b"qm/";

fn info_key(id: &str) -> Vec<u8> {
    [INFO_PREFIX, id.as_bytes()].concat()
}

fn changes_key(id: &str) -> Vec<u8> {
    format!("qc/{id}").into_bytes()
}

fn check_id(id: &str) -> Result<(), QuarantineError> {
    if docs::is_valid_id(id) {
        Ok(())
    } else {
        Err(QuarantineError::BadId(id.to_string()))
    }
}

fn decode(id: &str, value: &[u8]) -> Result<QuarantineInfo, QuarantineError> {
    serde_json::from_slice(value).map_err(|_| QuarantineError::Damaged { id: id.to_string() })
}

/// `text` cut to at most `max` bytes at a character boundary, marked with "…" when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mark = "…";
    let mut end = max - mark.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{mark}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn entry(id: String, at_ms: u64) -> QuarantineEntry {
        QuarantineEntry {
            id,
            doc_id: "doc1".into(),
            user: "factory-7".into(),
            peer: "peer-1".into(),
            at_ms,
            reason: "factory users may not change the verdict".into(),
            changes: vec![0x85, 0x6f, 0x4a, 0x83, 0, 1, 2],
        }
    }

    #[test]
    fn entries_are_kept_listed_oldest_first_and_removed() {
        let store = Arc::new(MemoryStore::new());
        let quarantine = Quarantine::new(store.clone());
        let later = entry(new_id(2_000).unwrap(), 2_000);
        let earlier = entry(new_id(1_000).unwrap(), 1_000);
        let mut batch = Batch::new();
        quarantine.put(&mut batch, &later).unwrap();
        quarantine.put(&mut batch, &earlier).unwrap();
        store.apply(batch).unwrap();

        let listed = quarantine.list(None, 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, earlier.id);
        assert_eq!(listed[0].changes_bytes, 7);
        assert_eq!(
            quarantine.list(Some(&earlier.id), 10).unwrap()[0].id,
            later.id
        );
        assert_eq!(quarantine.get(&later.id).unwrap(), Some(later.clone()));
        assert_eq!(quarantine.get("nothing").unwrap(), None);

        let mut batch = Batch::new();
        quarantine.remove(&mut batch, &earlier.id).unwrap();
        store.apply(batch).unwrap();
        assert_eq!(quarantine.list(None, 10).unwrap().len(), 1);
    }

    #[test]
    fn limits_are_kept() {
        let quarantine = Quarantine::new(Arc::new(MemoryStore::new()));
        let mut batch = Batch::new();
        let mut big = entry("q1".into(), 1);
        big.changes = vec![0; CHANGES_BYTES_MAX + 1];
        assert!(matches!(
            quarantine.put(&mut batch, &big),
            Err(QuarantineError::TooLarge { .. })
        ));
        big.changes.pop();
        quarantine.put(&mut batch, &big).unwrap();

        let mut named = entry("q2".into(), 1);
        named.user = "u".repeat(NAME_BYTES_MAX + 1);
        assert!(matches!(
            quarantine.put(&mut batch, &named),
            Err(QuarantineError::NameTooLong { .. })
        ));
        assert!(matches!(
            quarantine.put(&mut batch, &entry("a/b".into(), 1)),
            Err(QuarantineError::BadId(_))
        ));
    }

    #[test]
    fn a_long_reason_is_cut_at_a_character_boundary() {
        let store = Arc::new(MemoryStore::new());
        let quarantine = Quarantine::new(store.clone());
        let mut long = entry("q1".into(), 1);
        long.reason = "验".repeat(REASON_BYTES_MAX); // 3 bytes each
        let mut batch = Batch::new();
        quarantine.put(&mut batch, &long).unwrap();
        store.apply(batch).unwrap();
        let kept = quarantine.get("q1").unwrap().unwrap().reason;
        assert!(kept.len() <= REASON_BYTES_MAX);
        assert!(kept.ends_with('…'));
        assert_eq!(shorten("short", REASON_BYTES_MAX), "short");
        let exact = "x".repeat(REASON_BYTES_MAX);
        assert_eq!(shorten(&exact, REASON_BYTES_MAX), exact);
    }
}
