//! Storage: one ordered byte keyspace behind a narrow trait ([`Store`]).
//!
//! Everything the server keeps that is not a blob lives in one keyspace: documents, change
//! attribution, quarantine, projections, accounts, sessions and blob metadata. The trait is
//! small on purpose (get, put, delete, bounded prefix scans, an atomic batch, flush) so a
//! second real backend can replace sled without touching the modules above it (DESIGN §4, §7).
//!
//! # Checksums
//! Every value is stored behind a 4-byte CRC-32 (big-endian) computed over the key followed by
//! the value, and checked on every read: a flipped bit, a torn write or a value that landed
//! under the wrong key is reported as [`StoreError::Corrupt`], never returned as data.
//!
//! # Durability
//! [`Store::put`], [`Store::delete`] and [`Store::apply`] are not durable by themselves;
//! [`Store::flush`] returns only when everything written before it is on disk. The server
//! flushes before it acknowledges anything (DESIGN §4, "Nothing acknowledged is lost").
//!
//! # Key layout
//! Each module owns a prefix; all keys are ASCII except where noted.
//!
//! | prefix | owner | value |
//! |---|---|---|
//! | `meta/format` | this module | [`FORMAT`] |
//! | `meta/writes` | [`SledStore`] | the number of writes so far (see [`SledStore`]) |
//! | `dm/<doc>` | [`crate::docs`] | document bookkeeping (sequence numbers, sizes) |
//! | `ds/<doc>` | [`crate::docs`] | compacted snapshot |
//! | `di/<doc>/<seq>` | [`crate::docs`] | incremental chunk, `seq` as 16 hex digits |
//! | `at/<doc>/<hash>` | [`crate::attribution`] | who delivered a change (JSON) |
//! | `qm/<id>`, `qc/<id>` | [`crate::quarantine`] | a rejected change set: facts (JSON) and bytes |
//! | `ps/<doc>`, `px/<field>/<value>/<doc>` | [`crate::projections`] | record summaries and their indexes |
//! | `u/<user>`, `t/<hash>`, `tu/<user>/<hash>` | [`crate::accounts`] | users, sessions |
//! | `b/<sha256>` | [`crate::blobs`] | blob metadata (JSON) |

mod memory;
mod sled_store;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

/// The longest key, in bytes. Keys are made by the modules above from validated ids.
pub const KEY_BYTES_MAX: usize = 1024;
/// The largest value, in bytes (before the checksum). Documents are capped well below it
/// ([`crate::docs::DOC_BYTES_MAX`]); blobs are files, not values.
pub const VALUE_BYTES_MAX: usize = 32 * 1024 * 1024;
/// The most rows one scan may return: larger reads page with `after`.
pub const SCAN_ROWS_MAX: usize = 10_000;
/// The most operations in one atomic batch.
pub const BATCH_OPS_MAX: usize = 20_000;

/// Keys that start with this belong to the store itself: they can be read, but a write to
/// one is refused ([`StoreError::Reserved`]), and backups leave them out.
pub const RESERVED_PREFIX: &[u8] = b"meta/";
/// The key that marks a keyspace as a Gendan store.
pub const FORMAT_KEY: &[u8] = b"meta/format";
/// The value under [`FORMAT_KEY`]: the on-disk format this build reads and writes.
pub const FORMAT: &[u8] = b"gendan-store-1";

/// Bytes of checksum in front of every stored value.
const CHECKSUM_BYTES: usize = 4;

/// What to tell an operator whose store is damaged.
const RESTORE_ADVICE: &str =
    "stop the server and restore the data folder from a backup (gendan restore)";

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A stored value does not match its checksum: the store is damaged.
    #[error("the value under key {key} is damaged (checksum mismatch); {RESTORE_ADVICE}")]
    Corrupt {
        /// The key whose value is damaged, printable.
        key: String,
    },
    /// The store's files could not be read back as a database.
    #[error("the store at {path} is damaged and cannot be opened ({detail}); {RESTORE_ADVICE}")]
    Damaged {
        /// The store's folder.
        path: String,
        /// What was found.
        detail: String,
    },
    /// The folder holds something other than a Gendan store.
    #[error(
        "{path} is not a Gendan store ({detail}); point --data at the right folder or at an empty one"
    )]
    NotAStore {
        /// The folder that was opened.
        path: String,
        /// What was found.
        detail: String,
    },
    /// The folder holds a Gendan store of a format this build cannot read.
    #[error(
        "the store at {path} has format {found:?}, this gendan reads {expected:?}; use the gendan version that wrote it, or restore a backup"
    )]
    WrongFormat {
        /// The store's folder.
        path: String,
        /// The format found.
        found: String,
        /// The format this build reads.
        expected: String,
    },
    /// Another process holds the store open.
    #[error(
        "the data folder {path} is in use by a running gendan server; stop it or use the REST API"
    )]
    Locked {
        /// The store's folder.
        path: String,
    },
    /// A key is empty or longer than [`KEY_BYTES_MAX`].
    #[error("a key of {len} bytes is outside 1..={max}")]
    KeySize {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A write to a key under [`RESERVED_PREFIX`], which only the store writes.
    #[error("key {key} belongs to the store itself and cannot be written")]
    Reserved {
        /// The key, printable.
        key: String,
    },
    /// A value is longer than [`VALUE_BYTES_MAX`].
    #[error("a value of {len} bytes is over the limit of {max}")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A scan asked for more than [`SCAN_ROWS_MAX`] rows.
    #[error("a scan of {limit} rows is over the limit of {max}; page with `after`")]
    ScanTooLarge {
        /// The rows asked for.
        limit: usize,
        /// The limit.
        max: usize,
    },
    /// A batch holds more than [`BATCH_OPS_MAX`] operations.
    #[error("a batch of {len} operations is over the limit of {max}")]
    BatchTooLarge {
        /// The batch's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The disk or the database engine failed.
    #[error("storage failed: {0}")]
    Io(String),
}

/// One operation of a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value (without checksum: the store adds it).
        value: Vec<u8>,
    },
    /// Remove `key` (nothing happens if it is absent).
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

/// Puts and deletes applied together by [`Store::apply`]: after a crash either all of them are
/// there or none. When one key is written twice, the later operation wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put {
            key: key.into(),
            value: value.into(),
        });
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete { key: key.into() });
    }

    /// Appends every operation of `other`, after this batch's own.
    pub fn extend(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// What this batch will leave under `key`, if it touches it: `Some(Some(value))` for a
    /// put, `Some(None)` for a delete, `None` when the batch does not touch the key. Lets a
    /// module that adds to a batch see its own earlier additions.
    pub fn pending(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.ops.iter().rev().find_map(|op| match op {
            BatchOp::Put { key: k, value } if k == key => Some(Some(value.as_slice())),
            BatchOp::Delete { key: k } if k == key => Some(None),
            _ => None,
        })
    }

    /// Checks every key and value against the limits, before anything is written.
    fn check(&self) -> Result<(), StoreError> {
        if self.ops.len() > BATCH_OPS_MAX {
            return Err(StoreError::BatchTooLarge {
                len: self.ops.len(),
                max: BATCH_OPS_MAX,
            });
        }
        for op in &self.ops {
            match op {
                BatchOp::Put { key, value } => {
                    check_writable(key)?;
                    check_value(value)?;
                }
                BatchOp::Delete { key } => check_writable(key)?,
            }
        }
        Ok(())
    }
}

/// How much [`Store::verify`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Keys read, each with a good checksum.
    pub keys: u64,
    /// Bytes of values read (without checksums).
    pub value_bytes: u64,
}

/// A key/value pair returned by a scan.
pub type Row = (Vec<u8>, Vec<u8>);

/// One ordered byte keyspace. Implementations add and check the per-value checksum and the
/// limits; callers see plain values.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The value under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets `key` to `value` (not durable until [`Store::flush`]).
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;

    /// Removes `key`; removing an absent key is not an error.
    fn delete(&self, key: &[u8]) -> Result<(), StoreError>;

    /// At most `limit` (≤ [`SCAN_ROWS_MAX`]) rows whose keys start with `prefix`, in byte
    /// order, starting strictly after `after` when given. A page shorter than `limit` is the
    /// last one; otherwise call again with `after` = the last key returned.
    fn scan_prefix_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError>;

    /// Like [`Store::scan_prefix_after`], but only the keys (values are neither copied nor
    /// checked).
    fn scan_prefix_keys(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Applies every operation of `batch` atomically (not durable until [`Store::flush`]).
    /// Nothing is written when any key or value is over a limit.
    fn apply(&self, batch: Batch) -> Result<(), StoreError>;

    /// Returns when everything written before the call is durable on disk.
    fn flush(&self) -> Result<(), StoreError>;

    /// The first `limit` rows under `prefix`: [`Store::scan_prefix_after`] from the start.
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Vec<Row>, StoreError> {
        self.scan_prefix_after(prefix, None, limit)
    }

    /// Reads every key and checks every checksum; the first damaged key is the error.
    fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport {
            keys: 0,
            value_bytes: 0,
        };
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = self.scan_prefix_after(b"", after.as_deref(), SCAN_ROWS_MAX)?;
            for (_, value) in &rows {
                report.keys += 1;
                report.value_bytes += value.len() as u64;
            }
            let full = rows.len() == SCAN_ROWS_MAX;
            match rows.into_iter().next_back() {
                Some((key, _)) if full => after = Some(key),
                _ => return Ok(report),
            }
        }
    }
}

/// Refuses an empty key or one over [`KEY_BYTES_MAX`].
fn check_key(key: &[u8]) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > KEY_BYTES_MAX {
        return Err(StoreError::KeySize {
            len: key.len(),
            max: KEY_BYTES_MAX,
        });
    }
    Ok(())
}

/// Refuses a key [`check_key`] refuses, and a key under [`RESERVED_PREFIX`].
fn check_writable(key: &[u8]) -> Result<(), StoreError> {
    check_key(key)?;
    if key.starts_with(RESERVED_PREFIX) {
        return Err(StoreError::Reserved {
            key: printable(key),
        });
    }
    Ok(())
}

/// Refuses a value over [`VALUE_BYTES_MAX`].
fn check_value(value: &[u8]) -> Result<(), StoreError> {
    if value.len() > VALUE_BYTES_MAX {
        return Err(StoreError::ValueTooLarge {
            len: value.len(),
            max: VALUE_BYTES_MAX,
        });
    }
    Ok(())
}

/// Refuses a scan over [`SCAN_ROWS_MAX`].
fn check_limit(limit: usize) -> Result<(), StoreError> {
    if limit > SCAN_ROWS_MAX {
        return Err(StoreError::ScanTooLarge {
            limit,
            max: SCAN_ROWS_MAX,
        });
    }
    Ok(())
}

/// The checksum of `value` stored under `key`.
fn checksum(key: &[u8], value: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key);
    hasher.update(value);
    hasher.finalize()
}

/// `value` with its checksum in front, as stored.
fn seal(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(CHECKSUM_BYTES + value.len());
    sealed.extend_from_slice(&checksum(key, value).to_be_bytes());
    sealed.extend_from_slice(value);
    sealed
}

/// The value inside `stored`, after checking its checksum.
fn unseal(key: &[u8], stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    let corrupt = || StoreError::Corrupt {
        key: printable(key),
    };
    let (sum, value) = stored
        .split_first_chunk::<CHECKSUM_BYTES>()
        .ok_or_else(corrupt)?;
    if u32::from_be_bytes(*sum) != checksum(key, value) {
        return Err(corrupt());
    }
    Ok(value.to_vec())
}

/// A key as text for messages: ASCII as is, other bytes escaped.
pub fn printable(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

/// Where a scan of `prefix` strictly after `after` starts: `(key, inclusive)`.
fn scan_start<'a>(prefix: &'a [u8], after: Option<&'a [u8]>) -> (&'a [u8], bool) {
    match after {
        Some(after) if after >= prefix => (after, false),
        _ => (prefix, true),
    }
}

/// The smallest key greater than every key that starts with `prefix`, if there is one.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract every implementation keeps, run against each.
    pub(crate) fn contract(store: &dyn Store) {
        assert_eq!(store.get(b"a").unwrap(), None);
        let meta = |store: &dyn Store| {
            let rows = store.scan_prefix(RESERVED_PREFIX, 10).unwrap();
            let bytes: usize = rows.iter().map(|(_, v)| v.len()).sum();
            (rows.len() as u64, bytes as u64)
        };
        store.put(b"a", b"1").unwrap();
        store.put(b"b/1", b"x").unwrap();
        store.put(b"b/2", b"").unwrap();
        store.put(b"b/3", b"z").unwrap();
        store.put(b"c", b"3").unwrap();
        assert_eq!(store.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.get(b"b/2").unwrap(), Some(Vec::new()));

        let rows = store.scan_prefix(b"b/", 10).unwrap();
        let keys: Vec<&[u8]> = rows.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(keys, [b"b/1", b"b/2", b"b/3"]);
        assert_eq!(rows[0].1, b"x");
        assert_eq!(store.scan_prefix(b"b/", 2).unwrap().len(), 2);
        let page = store.scan_prefix_after(b"b/", Some(b"b/1"), 10).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].0, b"b/2");
        assert_eq!(
            store.scan_prefix_keys(b"b/", Some(b"b/2"), 10).unwrap(),
            [b"b/3".to_vec()]
        );
        assert_eq!(
            store.scan_prefix(b"", 100).unwrap().len() as u64,
            5 + meta(store).0
        );

        let mut batch = Batch::new();
        batch.put(b"b/4".to_vec(), b"new".to_vec());
        batch.delete(b"b/1".to_vec());
        batch.put(b"a".to_vec(), b"first".to_vec());
        batch.put(b"a".to_vec(), b"second".to_vec());
        assert_eq!(batch.pending(b"a"), Some(Some(&b"second"[..])));
        assert_eq!(batch.pending(b"b/1"), Some(None));
        assert_eq!(batch.pending(b"zz"), None);
        store.apply(batch).unwrap();
        assert_eq!(store.get(b"a").unwrap(), Some(b"second".to_vec()));
        assert_eq!(store.get(b"b/1").unwrap(), None);
        assert_eq!(store.get(b"b/4").unwrap(), Some(b"new".to_vec()));

        store.delete(b"c").unwrap();
        store.delete(b"never").unwrap();
        assert_eq!(store.get(b"c").unwrap(), None);
        store.flush().unwrap();
        let report = store.verify().unwrap();
        let (meta_keys, meta_bytes) = meta(store);
        assert_eq!(report.keys, 4 + meta_keys); // a, b/2, b/3, b/4
        assert_eq!(report.value_bytes, 6 + 1 + 3 + meta_bytes);
    }

    /// Limits: each crossed by one.
    pub(crate) fn limits(store: &dyn Store) {
        let key = vec![b'k'; KEY_BYTES_MAX];
        store.put(&key, b"v").unwrap();
        let long_key = vec![b'k'; KEY_BYTES_MAX + 1];
        assert!(matches!(
            store.put(&long_key, b"v"),
            Err(StoreError::KeySize { .. })
        ));
        assert!(matches!(
            store.put(b"", b"v"),
            Err(StoreError::KeySize { .. })
        ));
        assert!(matches!(
            store.put(FORMAT_KEY, b"v"),
            Err(StoreError::Reserved { .. })
        ));
        assert!(matches!(
            store.delete(b"meta/x"),
            Err(StoreError::Reserved { .. })
        ));
        let value = vec![7u8; VALUE_BYTES_MAX];
        store.put(b"big", &value).unwrap();
        assert_eq!(
            store.get(b"big").unwrap().map(|v| v.len()),
            Some(VALUE_BYTES_MAX)
        );
        store.delete(b"big").unwrap();
        let too_big = vec![7u8; VALUE_BYTES_MAX + 1];
        assert!(matches!(
            store.put(b"big", &too_big),
            Err(StoreError::ValueTooLarge { .. })
        ));
        store.scan_prefix(b"", SCAN_ROWS_MAX).unwrap();
        assert!(matches!(
            store.scan_prefix(b"", SCAN_ROWS_MAX + 1),
            Err(StoreError::ScanTooLarge { .. })
        ));
        assert!(matches!(
            store.scan_prefix_keys(b"", None, SCAN_ROWS_MAX + 1),
            Err(StoreError::ScanTooLarge { .. })
        ));

        let mut batch = Batch::new();
        for i in 0..BATCH_OPS_MAX {
            batch.put(format!("n/{i:08}"), Vec::new());
        }
        store.apply(batch.clone()).unwrap();
        batch.delete(b"n/00000000".to_vec());
        assert!(matches!(
            store.apply(batch),
            Err(StoreError::BatchTooLarge { .. })
        ));
        // A batch with one bad value writes nothing.
        let mut batch = Batch::new();
        batch.put(b"ok".to_vec(), b"v".to_vec());
        batch.put(b"bad".to_vec(), too_big);
        assert!(store.apply(batch).is_err());
        assert_eq!(store.get(b"ok").unwrap(), None);

        // Paging over more than one scan's worth of rows finds every key.
        let mut after: Option<Vec<u8>> = None;
        let mut seen = 0;
        loop {
            let keys = store
                .scan_prefix_keys(b"n/", after.as_deref(), SCAN_ROWS_MAX / 3)
                .unwrap();
            seen += keys.len();
            if keys.len() < SCAN_ROWS_MAX / 3 {
                break;
            }
            after = keys.last().cloned();
        }
        assert_eq!(seen, BATCH_OPS_MAX);
        let report = store.verify().unwrap();
        assert!(report.keys >= BATCH_OPS_MAX as u64);
    }

    #[test]
    fn checksums_cover_key_and_value() {
        let sealed = seal(b"k", b"value");
        assert_eq!(unseal(b"k", &sealed).unwrap(), b"value");
        assert!(matches!(
            unseal(b"other", &sealed),
            Err(StoreError::Corrupt { .. })
        ));
        let mut flipped = sealed.clone();
        flipped[5] ^= 1;
        assert!(matches!(
            unseal(b"k", &flipped),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            unseal(b"k", &sealed[..3]),
            Err(StoreError::Corrupt { .. })
        ));
        let message = unseal(b"d\x01k", &flipped[..]).unwrap_err().to_string();
        assert!(message.contains("d\\x01k"), "{message}");
        assert!(message.contains("restore"), "{message}");
    }

    #[test]
    fn prefix_end_is_the_next_key() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
