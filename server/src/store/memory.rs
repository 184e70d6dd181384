//! [`MemoryStore`]: the [`Store`] of tests, a `BTreeMap` behind a mutex.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    Batch, BatchOp, Row, Store, StoreError, check_key, check_limit, check_value, check_writable,
    prefix_end, scan_start, seal, unseal,
};

/// A [`Store`] in memory: same checksums and limits as the real one, nothing on disk, and
/// [`Store::flush`] does nothing.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The map; a panic in another thread cannot leave it half-written (every change is one
    /// `insert` or `remove`, or a batch applied after all checks), so poisoning is ignored.
    fn map(&self) -> MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Flips one bit of the stored value under `key`, for tests of damage detection.
    #[cfg(test)]
    pub(crate) fn damage(&self, key: &[u8]) {
        let mut map = self.map();
        let stored = map.get_mut(key).expect("the key to damage exists");
        let last = stored.len() - 1;
        stored[last] ^= 0x10;
    }

    /// Rows under `prefix` after `after`, as stored (sealed).
    fn range(
        map: &BTreeMap<Vec<u8>, Vec<u8>>,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let (start, inclusive) = scan_start(prefix, after);
        let start = if inclusive {
            Bound::Included(start.to_vec())
        } else {
            Bound::Excluded(start.to_vec())
        };
        let end = prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded);
        map.range((start, end))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.map()
            .get(key)
            .map(|stored| unseal(key, stored))
            .transpose()
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_writable(key)?;
        check_value(value)?;
        self.map().insert(key.to_vec(), seal(key, value));
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        check_writable(key)?;
        self.map().remove(key);
        Ok(())
    }

    fn scan_prefix_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        check_limit(limit)?;
        let rows = Self::range(&self.map(), prefix, after, limit);
        rows.into_iter()
            .map(|(key, stored)| {
                let value = unseal(&key, &stored)?;
                Ok((key, value))
            })
            .collect()
    }

    fn scan_prefix_keys(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        check_limit(limit)?;
        let rows = Self::range(&self.map(), prefix, after, limit);
        Ok(rows.into_iter().map(|(key, _)| key).collect())
    }

    fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        batch.check()?;
        let mut map = self.map();
        for op in batch.ops {
            match op {
                BatchOp::Put { key, value } => {
                    let sealed = seal(&key, &value);
                    map.insert(key, sealed);
                }
                BatchOp::Delete { key } => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{contract, limits};

    #[test]
    fn keeps_the_store_contract() {
        contract(&MemoryStore::new());
    }

    #[test]
    fn keeps_the_limits() {
        limits(&MemoryStore::new());
    }

    #[test]
    fn a_damaged_value_is_an_error_not_data() {
        let store = MemoryStore::new();
        store.put(b"doc/1", b"hello").unwrap();
        store.put(b"doc/2", b"world").unwrap();
        store.damage(b"doc/2");
        let error = store.get(b"doc/2").unwrap_err();
        assert!(matches!(&error, StoreError::Corrupt { key } if key == "doc/2"));
        assert!(store.scan_prefix(b"doc/", 10).is_err());
        // Keys alone are still listed, so an admin can see what is there.
        assert_eq!(store.scan_prefix_keys(b"doc/", None, 10).unwrap().len(), 2);
        let error = store.verify().unwrap_err();
        assert!(error.to_string().contains("doc/2"), "{error}");
    }
}
