//! [`SledStore`]: the [`Store`] on disk, on sled 0.34.
//!
//! sled 0.34 is the last stable release and calls itself beta (research/BUILD.md, "sled
//! caveats"), so this wrapper trusts it as little as it can:
//! - every value carries its own checksum (see [`crate::store`]);
//! - the store is marked with [`FORMAT`] on creation, and a folder that held a store but
//!   reads back without the mark is refused, never taken for a new store;
//! - **sled recovers a damaged log by cutting it at the damage, silently**: a flipped byte
//!   in the `db` file makes it open with every later write missing (seen on 0.34.7). So the
//!   store counts its writes (`meta/writes`, in the same atomic batch as each write) and,
//!   after each [`Store::flush`], records the flushed count in a small seal file beside the
//!   database (`gendan-seal`, two checksummed slots written in turn, so a torn write of one
//!   leaves the other). On open, a database whose count is below the sealed one has lost
//!   acknowledged writes and is refused with [`StoreError::Damaged`].
//!
//! Writes are serialized by a mutex (the counter must grow in the order writes land); the
//! server's write rate is that of people in the field, far below what this costs.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    Batch, BatchOp, FORMAT, FORMAT_KEY, Row, Store, StoreError, check_key, check_limit,
    check_value, check_writable, prefix_end, scan_start, seal, unseal,
};

/// Bytes of sled's page cache, as sled counts them (the nodes it holds take about three
/// times that on the heap). Documents a server is working on are held by the sync service,
/// not read again from here, so a small cache costs little. With 100,000 records stored, a
/// 10,000-record pull took the same time (3.1–3.4 s) with 4 and 16 MiB, and the server's
/// memory at rest was 117.5–134.4 MB with 4 MiB against 121.1–150.5 MB with 16
/// (BENCHMARKS.md, fix 24; earlier, 64 MiB had cost 270 MB at rest).
pub const CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// The key that counts writes.
const WRITES_KEY: &[u8] = b"meta/writes";
/// The seal file, beside sled's files.
const SEAL_FILE: &str = "gendan-seal";
/// Where the two seal slots start: different disk sectors.
const SEAL_SLOTS: [u64; 2] = [0, 512];
/// Bytes of one slot: the count (u64) and its CRC-32.
const SEAL_SLOT_BYTES: usize = 12;

/// The files sled keeps in a database folder; a folder without them is not a store.
const SLED_FILES: [&str; 2] = ["conf", "db"];

/// How long opening waits for the folder's lock before reporting the store as in use.
///
/// sled's background flusher keeps the database files open for up to one flush period
/// (500 ms) after the last handle in this process is dropped, so a store closed a moment
/// ago by this same process (a test, `gendan restore` right after a backup) reads as
/// locked for that moment. Another process holding the store stays locked past the wait.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A [`Store`] in a sled database folder. One process at a time may hold it open.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    /// The number of writes applied; held while writing so the count grows in order.
    writes: Mutex<u64>,
    /// The seal file and the count last sealed in it.
    seal: Mutex<Seal>,
}

/// The seal file: the count of writes known to be flushed.
#[derive(Debug)]
struct Seal {
    file: File,
    sealed: u64,
}

impl SledStore {
    /// Opens the store in `dir`, creating it when `dir` is absent or empty.
    ///
    /// Refuses, with a message that says what to do: a folder that holds something else
    /// ([`StoreError::NotAStore`]), a store of another format ([`StoreError::WrongFormat`]),
    /// a store held by another process ([`StoreError::Locked`]), and a store that sled cannot
    /// read, that lost its format mark, or that holds fewer writes than were flushed
    /// ([`StoreError::Damaged`]).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let shown = dir.display().to_string();
        let fresh = match fs::read_dir(dir) {
            Ok(mut entries) => entries.next().is_none(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => true,
            Err(error) if error.kind() == io::ErrorKind::NotADirectory => {
                return Err(StoreError::NotAStore {
                    path: shown,
                    detail: "it is a file, not a folder".into(),
                });
            }
            Err(error) => return Err(io_error(dir, &error)),
        };
        if !fresh {
            let missing: Vec<&str> = SLED_FILES
                .into_iter()
                .filter(|name| !dir.join(name).is_file())
                .collect();
            if !missing.is_empty() {
                return Err(StoreError::NotAStore {
                    path: shown,
                    detail: format!(
                        "the folder is not empty and has no database files ({})",
                        missing.join(", ")
                    ),
                });
            }
        }
        fs::create_dir_all(dir).map_err(|error| io_error(dir, &error))?;

        let db = open_waiting_for_lock(dir)?;
        let damaged = |detail: String| StoreError::Damaged {
            path: shown.clone(),
            detail,
        };
        let sled_error = |error| sled_error(dir, error);

        if fresh {
            if !db.is_empty() {
                return Err(damaged("a new database is not empty".into()));
            }
            let mut batch = sled::Batch::default();
            batch.insert(FORMAT_KEY, seal(FORMAT_KEY, FORMAT));
            batch.insert(WRITES_KEY, seal(WRITES_KEY, &0u64.to_be_bytes()));
            db.apply_batch(batch).map_err(sled_error)?;
            db.flush().map_err(sled_error)?;
            let seal = Seal::create(dir)?;
            return Ok(Self {
                db,
                path: dir.to_path_buf(),
                writes: Mutex::new(0),
                seal: Mutex::new(seal),
            });
        }

        match db.get(FORMAT_KEY).map_err(sled_error)? {
            Some(stored) => {
                let found = unseal(FORMAT_KEY, &stored)?;
                if found != FORMAT {
                    return Err(StoreError::WrongFormat {
                        path: shown,
                        found: String::from_utf8_lossy(&found).into_owned(),
                        expected: String::from_utf8_lossy(FORMAT).into_owned(),
                    });
                }
            }
            None if db.is_empty() => {
                return Err(damaged(
                    "the database files are there but read as empty".into(),
                ));
            }
            None => return Err(damaged("the format mark meta/format is missing".into())),
        }
        let writes = match db.get(WRITES_KEY).map_err(sled_error)? {
            Some(stored) => decode_count(&unseal(WRITES_KEY, &stored)?)
                .ok_or_else(|| damaged("the write count cannot be read".into()))?,
            None => return Err(damaged("the write count meta/writes is missing".into())),
        };
        let seal = Seal::open(dir)?;
        if writes < seal.sealed {
            return Err(damaged(format!(
                "the database holds {writes} writes but {} were flushed: sled lost data when it recovered its log",
                seal.sealed
            )));
        }
        Ok(Self {
            db,
            path: dir.to_path_buf(),
            writes: Mutex::new(writes),
            seal: Mutex::new(seal),
        })
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `batch` (already checked) with the next write count, in order.
    fn write(&self, mut batch: sled::Batch) -> Result<(), StoreError> {
        let mut writes = lock(&self.writes);
        let next = *writes + 1;
        batch.insert(WRITES_KEY, seal(WRITES_KEY, &next.to_be_bytes()));
        self.db
            .apply_batch(batch)
            .map_err(|e| sled_error(&self.path, e))?;
        *writes = next;
        Ok(())
    }

    /// Stored rows under `prefix` after `after`, sealed.
    fn range(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(sled::IVec, sled::IVec)>, StoreError> {
        let (start, inclusive) = scan_start(prefix, after);
        let start = if inclusive {
            Bound::Included(start.to_vec())
        } else {
            Bound::Excluded(start.to_vec())
        };
        let end = prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded);
        self.db
            .range::<Vec<u8>, _>((start, end))
            .take(limit)
            .map(|row| row.map_err(|e| sled_error(&self.path, e)))
            .collect()
    }
}

impl Seal {
    /// A new seal file in `dir` with count 0 in both slots.
    fn create(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(SEAL_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(&path, &e))?;
        let mut seal = Self { file, sealed: 0 };
        for slot in SEAL_SLOTS {
            seal.write_slot(slot, 0).map_err(|e| io_error(&path, &e))?;
        }
        // The file's name must be durable too.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(dir, &e))?;
        Ok(seal)
    }

    /// The seal file of an existing store: the higher valid slot.
    fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(SEAL_FILE);
        let damaged = |detail: &str| StoreError::Damaged {
            path: dir.display().to_string(),
            detail: detail.to_string(),
        };
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(damaged("the seal file gendan-seal is missing"));
            }
            Err(e) => return Err(io_error(&path, &e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_error(&path, &e))?;
        let sealed = SEAL_SLOTS
            .iter()
            .filter_map(|&at| {
                let at = usize::try_from(at).ok()?;
                let slot = bytes.get(at..at + SEAL_SLOT_BYTES)?;
                let (count, sum) = slot.split_at(8);
                (crc32fast::hash(count).to_be_bytes() == sum).then(|| decode_count(count))?
            })
            .max()
            .ok_or_else(|| damaged("the seal file gendan-seal cannot be read"))?;
        Ok(Self { file, sealed })
    }

    /// Records `count` as flushed, in the slot that does not hold the last count.
    fn record(&mut self, count: u64) -> io::Result<()> {
        if count <= self.sealed {
            return Ok(());
        }
        let slot = SEAL_SLOTS[usize::from(count % 2 == 1)];
        self.write_slot(slot, count)?;
        self.sealed = count;
        Ok(())
    }

    fn write_slot(&mut self, at: u64, count: u64) -> io::Result<()> {
        let mut slot = [0u8; SEAL_SLOT_BYTES];
        slot[..8].copy_from_slice(&count.to_be_bytes());
        slot[8..].copy_from_slice(&crc32fast::hash(&count.to_be_bytes()).to_be_bytes());
        self.file.seek(SeekFrom::Start(at))?;
        self.file.write_all(&slot)?;
        self.file.sync_data()
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Best effort: every caller that acknowledges anything has already flushed.
        let _ = self.flush();
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.db
            .get(key)
            .map_err(|e| sled_error(&self.path, e))?
            .map(|stored| unseal(key, &stored))
            .transpose()
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_writable(key)?;
        check_value(value)?;
        let mut batch = sled::Batch::default();
        batch.insert(key, seal(key, value));
        self.write(batch)
    }

    fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        check_writable(key)?;
        let mut batch = sled::Batch::default();
        batch.remove(key);
        self.write(batch)
    }

    fn scan_prefix_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        check_limit(limit)?;
        self.range(prefix, after, limit)?
            .into_iter()
            .map(|(key, stored)| {
                let value = unseal(&key, &stored)?;
                Ok((key.to_vec(), value))
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
        Ok(self
            .range(prefix, after, limit)?
            .into_iter()
            .map(|(key, _)| key.to_vec())
            .collect())
    }

    fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        batch.check()?;
        let mut sled_batch = sled::Batch::default();
        for op in batch.ops {
            match op {
                BatchOp::Put { key, value } => {
                    let sealed = seal(&key, &value);
                    sled_batch.insert(key, sealed);
                }
                BatchOp::Delete { key } => sled_batch.remove(key),
            }
        }
        self.write(sled_batch)
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every write counted up to here is durable once sled's flush returns.
        let count = *lock(&self.writes);
        self.db.flush().map_err(|e| sled_error(&self.path, e))?;
        lock(&self.seal)
            .record(count)
            .map_err(|e| io_error(&self.path.join(SEAL_FILE), &e))
    }
}

/// Locks `mutex`; the values behind these mutexes are plain counts and a file handle, which
/// a panic elsewhere cannot leave half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn decode_count(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

/// An IO failure on `path` as a [`StoreError`].
fn io_error(path: &Path, error: &io::Error) -> StoreError {
    StoreError::Io(format!("{}: {error}", path.display()))
}

/// A sled failure on the store in `dir` as a [`StoreError`].
fn sled_error(dir: &Path, error: sled::Error) -> StoreError {
    match error {
        sled::Error::Corruption { .. } => StoreError::Damaged {
            path: dir.display().to_string(),
            detail: "sled found a damaged page".into(),
        },
        other => StoreError::Io(format!("{}: {other}", dir.display())),
    }
}

/// Opens sled in `dir`, retrying while the folder is locked, for at most [`LOCK_WAIT`].
fn open_waiting_for_lock(dir: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|error| open_error(dir, error));
        match opened {
            Err(StoreError::Locked { .. }) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Why sled could not open `dir`, in words an operator can act on.
fn open_error(dir: &Path, error: sled::Error) -> StoreError {
    let path = dir.display().to_string();
    match error {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked { path }
        }
        sled::Error::Unsupported(detail) | sled::Error::ReportableBug(detail) => {
            StoreError::Damaged { path, detail }
        }
        other => sled_error(dir, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SCAN_ROWS_MAX;
    use crate::store::tests::{contract, limits};

    #[test]
    fn keeps_the_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        contract(&SledStore::open(&dir.path().join("store")).unwrap());
    }

    #[test]
    fn keeps_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        limits(&SledStore::open(dir.path()).unwrap());
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.put(b"doc/1", b"hello").unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"doc/1").unwrap(), Some(b"hello".to_vec()));
        // doc/1, meta/format and meta/writes.
        assert_eq!(store.verify().unwrap().keys, 3);
    }

    #[test]
    fn a_second_opener_is_told_the_folder_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledStore::open(dir.path()).unwrap();
        let started = std::time::Instant::now();
        let error = SledStore::open(dir.path()).unwrap_err();
        // It waited for the lock (LOCK_WAIT) before giving up, no longer.
        assert!(started.elapsed() >= LOCK_WAIT, "{:?}", started.elapsed());
        assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("in use by a running gendan server"),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_folder_that_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::NotAStore { .. }), "{error:?}");
        assert!(error.to_string().contains("not a Gendan store"), "{error}");

        let file = dir.path().join("notes.txt");
        let error = SledStore::open(&file).unwrap_err();
        assert!(matches!(error, StoreError::NotAStore { .. }), "{error:?}");
    }

    #[test]
    fn refuses_a_sled_database_that_is_not_gendan_s() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.insert(b"someone", b"else").unwrap();
            db.flush().unwrap();
        }
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::Damaged { .. }), "{error:?}");
        assert!(error.to_string().contains("meta/format"), "{error}");
    }

    #[test]
    fn refuses_another_format_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            let other = seal(FORMAT_KEY, b"gendan-store-2");
            store.db.insert(FORMAT_KEY, other).unwrap();
            store.flush().unwrap();
        }
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::WrongFormat { .. }), "{error:?}");
        assert!(error.to_string().contains("gendan-store-2"), "{error}");
    }

    #[test]
    fn refuses_a_store_whose_database_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.db.remove(FORMAT_KEY).unwrap();
            store.flush().unwrap();
        }
        // Opening right after the drop waits for sled's flusher to let go of the lock
        // (LOCK_WAIT) instead of reporting the folder as in use.
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::Damaged { .. }), "{error:?}");
        assert!(error.to_string().contains("restore"), "{error}");
    }

    #[test]
    fn a_damaged_checksum_is_reported_by_key() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.put(b"doc/1", b"hello").unwrap();
            // Write a value whose checksum does not match, as a flipped bit on disk would.
            let mut sealed = seal(b"doc/2", b"world");
            sealed[4] ^= 1;
            store.db.insert(b"doc/2", sealed).unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"doc/1").unwrap(), Some(b"hello".to_vec()));
        let error = store.get(b"doc/2").unwrap_err();
        assert!(matches!(&error, StoreError::Corrupt { key } if key == "doc/2"));
        let error = store.verify().unwrap_err();
        assert!(error.to_string().contains("doc/2"), "{error}");
        assert!(error.to_string().contains("restore"), "{error}");
    }

    /// A store with `count` documents, flushed and closed.
    fn filled(dir: &Path, count: u32) {
        let store = SledStore::open(dir).unwrap();
        for i in 0..count {
            let value = vec![b'a' + (i % 26) as u8; 300];
            store.put(format!("doc/{i:04}").as_bytes(), &value).unwrap();
        }
        store.flush().unwrap();
    }

    #[test]
    fn damaged_database_bytes_are_refused_not_opened_as_less_data() {
        // sled 0.34 reads a log with damaged bytes as a shorter log: without the seal, the
        // store would open with the writes after the damage silently gone.
        for fraction in [0.05, 0.25, 0.5, 0.75, 0.95] {
            let dir = tempfile::tempdir().unwrap();
            filled(dir.path(), 200);
            let db = dir.path().join("db");
            let mut bytes = fs::read(&db).unwrap();
            let at = (bytes.len() as f64 * fraction) as usize;
            for byte in &mut bytes[at..at + 64] {
                *byte ^= 0x5a;
            }
            fs::write(&db, &bytes).unwrap();

            let error = SledStore::open(dir.path()).unwrap_err();
            assert!(
                matches!(error, StoreError::Damaged { .. }),
                "damage at {fraction}: {error:?}"
            );
            let message = error.to_string();
            assert!(message.contains("restore"), "{message}");
            assert!(message.contains("damaged"), "{message}");
        }
    }

    #[test]
    fn a_database_behind_its_seal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        filled(dir.path(), 3);
        {
            // As if more writes had been flushed than the database now holds.
            let mut seal = Seal::open(dir.path()).unwrap();
            assert_eq!(seal.sealed, 3);
            seal.record(10).unwrap();
        }
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("holds 3 writes but 10"),
            "{error}"
        );
    }

    #[test]
    fn a_torn_seal_slot_falls_back_to_the_other() {
        let dir = tempfile::tempdir().unwrap();
        filled(dir.path(), 3);
        let path = dir.path().join(SEAL_FILE);
        let mut bytes = fs::read(&path).unwrap();
        // Count 3 went to the odd slot; tear it: the even slot (count 2) is used.
        bytes[SEAL_SLOTS[1] as usize + 3] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"doc/0002").unwrap().map(|v| v.len()), Some(300));
        drop(store);

        let mut bytes = fs::read(&path).unwrap();
        bytes[SEAL_SLOTS[0] as usize] ^= 1;
        bytes[SEAL_SLOTS[1] as usize] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("gendan-seal"), "{error}");

        fs::remove_file(&path).unwrap();
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
    }

    #[test]
    fn writes_are_counted_and_sealed_on_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.put(b"a", b"1").unwrap();
        let mut batch = Batch::new();
        batch.put(b"b".to_vec(), b"2".to_vec());
        batch.delete(b"a".to_vec());
        store.apply(batch).unwrap();
        store.delete(b"zz").unwrap();
        assert_eq!(*lock(&store.writes), 3);
        assert_eq!(lock(&store.seal).sealed, 0);
        store.flush().unwrap();
        assert_eq!(lock(&store.seal).sealed, 3);
        // A refused write is not counted.
        assert!(store.put(b"", b"x").is_err());
        assert_eq!(*lock(&store.writes), 3);
    }

    /// Set for the child process of [`acknowledged_writes_survive_kill_9`]: its store folder.
    const KILL_CHILD_DIR: &str = "GENDAN_KILL_9_CHILD_DIR";

    /// The child of [`acknowledged_writes_survive_kill_9`]: writes and flushes until killed,
    /// printing `ack N` once write N is flushed. Does nothing when run on its own.
    #[test]
    #[ignore = "run as a child process by acknowledged_writes_survive_kill_9"]
    fn kill_9_child_writer() {
        let Some(dir) = std::env::var_os(KILL_CHILD_DIR) else {
            return;
        };
        let store = SledStore::open(Path::new(&dir)).unwrap();
        let first = store
            .scan_prefix_keys(b"k/", None, SCAN_ROWS_MAX)
            .unwrap()
            .len() as u64;
        let mut out = io::stdout().lock();
        for i in first..first + 1_000_000 {
            store
                .put(format!("k/{i:08}").as_bytes(), &i.to_be_bytes().repeat(64))
                .unwrap();
            if i % 3 == 2 {
                store.flush().unwrap();
                writeln!(out, "\nack {i}").unwrap();
                out.flush().unwrap();
            }
        }
    }

    #[test]
    fn acknowledged_writes_survive_kill_9() {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        /// Kills the child however the test ends.
        struct Child(std::process::Child);
        impl Drop for Child {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let mut acknowledged: Option<u64> = None;
        for round in 1..=3u64 {
            let mut child = Child(
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "store::sled_store::tests::kill_9_child_writer",
                        "--ignored",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(KILL_CHILD_DIR, dir.path())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            let stdout = child.0.stdout.take().unwrap();
            let mut acks_this_round = 0;
            for line in io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if let Some(n) = line.strip_prefix("ack ") {
                    acknowledged = Some(n.trim().parse().unwrap());
                    acks_this_round += 1;
                    if acks_this_round == 40 * round {
                        break;
                    }
                }
            }
            // SIGKILL: no destructor, no last flush.
            child.0.kill().unwrap();
            child.0.wait().unwrap();
            drop(child);

            let last = acknowledged.expect("the child acknowledged writes");
            let store = SledStore::open(dir.path()).unwrap();
            for i in 0..=last {
                let value = store.get(format!("k/{i:08}").as_bytes()).unwrap();
                assert_eq!(
                    value,
                    Some(i.to_be_bytes().repeat(64)),
                    "round {round}: acknowledged write {i} of {last} is lost"
                );
            }
            store.verify().unwrap();
        }
    }
}
