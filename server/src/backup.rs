//! Backup and restore of a whole data folder: every key and value of the store and every
//! blob, in one file.
//!
//! # Format (version 1)
//! All integers are big-endian.
//!
//! ```text
//! header   "GENDANBK" (8 bytes), version u32 = 1
//! records  any number of:
//!          0x01 key/value: key_len u32, key, value_len u32, value
//!                          (the value as the store returns it, without its checksum;
//!                           keys under meta/, the store's own, are left out)
//!          0x02 blob:      sha256 (32 bytes), len u64, bytes
//! end      0xFF, key/value count u64, blob count u64,
//!          SHA-256 (32 bytes) of every byte before it, header included
//! ```
//!
//! A backup is written to a temporary file beside the output and renamed when complete, so
//! a half-written backup never has the output's name. [`restore`] reads the whole file and
//! checks its structure, limits, every blob's hash and the final SHA-256 before it writes
//! anything, and writes into an empty data folder only.
//!
//! The store is read page by page, not as one snapshot: back up a store that is not being
//! written (the `gendan backup` command opens the store itself, so the server is stopped).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::blobs::{self, BLOB_BYTES_MAX, BlobError, BlobStore};
use crate::data_dir::DataDir;
use crate::store::{
    BATCH_OPS_MAX, Batch, KEY_BYTES_MAX, RESERVED_PREFIX, SCAN_ROWS_MAX, Store, StoreError,
    VALUE_BYTES_MAX,
};

/// The first bytes of a backup file.
pub const MAGIC: &[u8; 8] = b"GENDANBK";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

const TAG_KEY_VALUE: u8 = 0x01;
const TAG_BLOB: u8 = 0x02;
const TAG_END: u8 = 0xFF;
/// Bytes of values gathered into one batch when restoring.
const RESTORE_BATCH_BYTES_MAX: usize = 64 * 1024 * 1024;
/// The staging folder inside the data folder while restoring.
const STAGING_DIR: &str = ".restoring";

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The output file exists already; backups are never overwritten.
    #[error("{0} exists already; choose another file name or move it away")]
    OutputExists(String),
    /// The data folder to restore into is not empty.
    #[error("{0} is not empty; restore into a new or empty folder (nothing was written)")]
    NotEmpty(String),
    /// The file is not a Gendan backup, or is damaged or cut short.
    #[error("{path} is not a usable Gendan backup ({detail}); nothing was written")]
    BadFile {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The store failed or is damaged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blob could not be read or written, or is damaged.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The disk failed.
    #[error("{0}")]
    Io(String),
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    /// Keys of the store.
    pub keys: u64,
    /// Blobs.
    pub blobs: u64,
    /// Size of the backup file.
    pub bytes: u64,
    /// The file's final SHA-256, hex.
    pub sha256: String,
}

/// Writes every key and value of `store` and every blob of `blobs` to the new file `out`.
pub fn backup(
    store: &dyn Store,
    blobs: &BlobStore,
    out: &Path,
) -> Result<BackupSummary, BackupError> {
    if out.exists() {
        return Err(BackupError::OutputExists(out.display().to_string()));
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = parent.join(format!(
        ".{}.tmp",
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "backup".into())
    ));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(|e| io_error(&temp, &e))?;
    let result = write_backup(store, blobs, file, &temp);
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
    };
    if out.exists() {
        let _ = fs::remove_file(&temp);
        return Err(BackupError::OutputExists(out.display().to_string()));
    }
    fs::rename(&temp, out).map_err(|e| io_error(out, &e))?;
    blobs::sync_dir(&parent).map_err(|e| io_error(&parent, &e))?;
    Ok(summary)
}

fn write_backup(
    store: &dyn Store,
    blobs: &BlobStore,
    file: File,
    path: &Path,
) -> Result<BackupSummary, BackupError> {
    let io = |e: io::Error| io_error(path, &e);
    let mut out = HashingWriter {
        inner: BufWriter::new(file),
        hasher: Sha256::new(),
        written: 0,
    };
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(&VERSION.to_be_bytes()).map_err(io)?;

    let mut keys = 0u64;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let rows = store.scan_prefix_after(b"", after.as_deref(), SCAN_ROWS_MAX)?;
        let full = rows.len() == SCAN_ROWS_MAX;
        after = rows.last().map(|(key, _)| key.clone());
        for (key, value) in rows {
            if key.starts_with(RESERVED_PREFIX) {
                continue;
            }
            out.write_all(&[TAG_KEY_VALUE]).map_err(io)?;
            write_bytes(&mut out, &key).map_err(io)?;
            write_bytes(&mut out, &value).map_err(io)?;
            keys += 1;
        }
        if !full {
            break;
        }
    }

    let mut blob_count = 0u64;
    for sha256 in blobs.stored_hashes()? {
        let blob_path = blobs.path_of(&sha256);
        let mut blob = File::open(&blob_path).map_err(|e| io_error(&blob_path, &e))?;
        let len = blob.metadata().map_err(|e| io_error(&blob_path, &e))?.len();
        let raw = hex::decode(&sha256).map_err(|_| BlobError::BadHash(sha256.clone()))?;
        out.write_all(&[TAG_BLOB]).map_err(io)?;
        out.write_all(&raw).map_err(io)?;
        out.write_all(&len.to_be_bytes()).map_err(io)?;
        // Copy while hashing: a blob damaged on disk stops the backup.
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut copied = 0u64;
        loop {
            let read = blob
                .read(&mut buffer)
                .map_err(|e| io_error(&blob_path, &e))?;
            if read == 0 {
                break;
            }
            copied += read as u64;
            if copied > len {
                break;
            }
            hasher.update(&buffer[..read]);
            out.write_all(&buffer[..read]).map_err(io)?;
        }
        if copied != len || hex::encode(hasher.finalize()) != sha256 {
            return Err(BlobError::Damaged { sha256 }.into());
        }
        blob_count += 1;
    }

    out.write_all(&[TAG_END]).map_err(io)?;
    out.write_all(&keys.to_be_bytes()).map_err(io)?;
    out.write_all(&blob_count.to_be_bytes()).map_err(io)?;
    let digest = out.hasher.clone().finalize();
    out.inner.write_all(&digest).map_err(io)?;
    let file = out.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(BackupSummary {
        keys,
        blobs: blob_count,
        bytes: out.written + digest.len() as u64,
        sha256: hex::encode(digest),
    })
}

/// What a restore wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RestoreSummary {
    /// Keys of the store.
    pub keys: u64,
    /// Blobs.
    pub blobs: u64,
}

/// Recreates the store and blobs of the backup `file` in the data folder `data`, which must
/// be absent or empty. The whole file is checked before anything is written; the data is
/// assembled in `data/.restoring` and moved into place at the end.
pub fn restore(file: &Path, data: &DataDir) -> Result<RestoreSummary, BackupError> {
    let root = data.root();
    match fs::read_dir(root) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(root.display().to_string()));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(root, &e)),
    }
    // Pass 1: check everything, write nothing.
    let counts = read_backup(file, &mut |_, _| Ok(()), &mut |_, _| Ok(()))?;

    // Pass 2: write into a staging folder, then move into place.
    let staging = DataDir::new(root.join(STAGING_DIR));
    let result = write_restore(file, &staging);
    let result = result.and_then(|written| {
        if written != counts {
            return Err(bad_file(file, "the file changed while it was restored"));
        }
        for (from, to) in [
            (staging.store_dir(), data.store_dir()),
            (staging.blobs_dir(), data.blobs_dir()),
        ] {
            fs::rename(&from, &to).map_err(|e| io_error(&to, &e))?;
        }
        fs::remove_dir(staging.root()).map_err(|e| io_error(staging.root(), &e))?;
        blobs::sync_dir(root).map_err(|e| io_error(root, &e))?;
        Ok(written)
    });
    if result.is_err() {
        // Leave the folder as empty as it was found.
        let _ = fs::remove_dir_all(staging.root());
        let _ = fs::remove_dir_all(data.store_dir());
        let _ = fs::remove_dir_all(data.blobs_dir());
    }
    result
}

fn write_restore(file: &Path, staging: &DataDir) -> Result<RestoreSummary, BackupError> {
    let store = staging.open_store()?;
    let blobs_dir = staging.blobs_dir();
    fs::create_dir_all(&blobs_dir).map_err(|e| io_error(&blobs_dir, &e))?;
    let blobs = BlobStore::open(&blobs_dir, store.clone())?;
    let mut batch = Batch::new();
    let mut batch_bytes = 0usize;
    let counts = read_backup(
        file,
        &mut |key, value| {
            batch_bytes += key.len() + value.len();
            batch.put(key, value);
            if batch.len() >= BATCH_OPS_MAX || batch_bytes >= RESTORE_BATCH_BYTES_MAX {
                store.apply(std::mem::take(&mut batch))?;
                batch_bytes = 0;
            }
            Ok(())
        },
        &mut |sha256, bytes| {
            blobs::write_new_file(&blobs.path_of(&sha256), &bytes)?;
            Ok(())
        },
    )?;
    store.apply(batch)?;
    store.flush()?;
    // Closes the database before its folder is moved.
    drop(blobs);
    match Arc::try_unwrap(store) {
        Ok(store) => drop(store),
        Err(_) => return Err(BackupError::Io("the restored store is still in use".into())),
    }
    Ok(counts)
}

/// A callback for each key/value of a backup.
type OnKeyValue<'a> = dyn FnMut(Vec<u8>, Vec<u8>) -> Result<(), BackupError> + 'a;
/// A callback for each blob of a backup, with its hash in hex.
type OnBlob<'a> = dyn FnMut(String, Vec<u8>) -> Result<(), BackupError> + 'a;

/// Reads and checks the backup `path`, calling back for each record, and returns the counts.
fn read_backup(
    path: &Path,
    on_key_value: &mut OnKeyValue<'_>,
    on_blob: &mut OnBlob<'_>,
) -> Result<RestoreSummary, BackupError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => bad_file(path, "there is no such file"),
        _ => io_error(path, &e),
    })?;
    let mut input = HashingReader {
        inner: BufReader::new(file),
        hasher: Sha256::new(),
    };
    let short = |_| bad_file(path, "it ends too early");
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic).map_err(short)?;
    if &magic != MAGIC {
        return Err(bad_file(path, "it does not start with GENDANBK"));
    }
    let version = read_u32(&mut input).map_err(short)?;
    if version != VERSION {
        return Err(bad_file(
            path,
            &format!("it is format version {version}; this gendan reads version {VERSION}"),
        ));
    }
    let mut counts = RestoreSummary { keys: 0, blobs: 0 };
    loop {
        let mut tag = [0u8; 1];
        input.read_exact(&mut tag).map_err(short)?;
        match tag[0] {
            TAG_KEY_VALUE => {
                let key = read_bytes(&mut input, KEY_BYTES_MAX).map_err(|e| bad(path, e))?;
                let value = read_bytes(&mut input, VALUE_BYTES_MAX).map_err(|e| bad(path, e))?;
                if key.is_empty() || key.starts_with(RESERVED_PREFIX) {
                    return Err(bad_file(path, "it holds a key the store reserves"));
                }
                counts.keys += 1;
                on_key_value(key, value)?;
            }
            TAG_BLOB => {
                let mut raw = [0u8; 32];
                input.read_exact(&mut raw).map_err(short)?;
                let len = read_u64(&mut input).map_err(short)?;
                if len > BLOB_BYTES_MAX {
                    return Err(bad_file(path, "it holds a blob over the size limit"));
                }
                let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
                input.read_exact(&mut bytes).map_err(short)?;
                let sha256 = hex::encode(raw);
                if hex::encode(Sha256::digest(&bytes)) != sha256 {
                    return Err(bad_file(path, &format!("blob {sha256} is damaged")));
                }
                counts.blobs += 1;
                on_blob(sha256, bytes)?;
            }
            TAG_END => {
                let keys = read_u64(&mut input).map_err(short)?;
                let blobs = read_u64(&mut input).map_err(short)?;
                let expected = input.hasher.clone().finalize();
                let mut digest = [0u8; 32];
                input.inner.read_exact(&mut digest).map_err(short)?;
                if digest[..] != expected[..] {
                    return Err(bad_file(path, "its SHA-256 does not match: it is damaged"));
                }
                if keys != counts.keys || blobs != counts.blobs {
                    return Err(bad_file(path, "its record counts do not match"));
                }
                let mut rest = [0u8; 1];
                if input
                    .inner
                    .read(&mut rest)
                    .map_err(|e| io_error(path, &e))?
                    != 0
                {
                    return Err(bad_file(path, "there are bytes after its end"));
                }
                return Ok(counts);
            }
            other => {
                return Err(bad_file(path, &format!("unknown record type {other:#04x}")));
            }
        }
    }
}

/// Writes a u32 length and the bytes.
fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

/// Reads a u32 length (at most `max`) and that many bytes.
fn read_bytes(input: &mut impl Read, max: usize) -> Result<Vec<u8>, String> {
    let len = read_u32(input).map_err(|_| "it ends too early".to_string())?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > max {
        return Err(format!(
            "it holds a key or value of {len} bytes, over the limit"
        ));
    }
    let mut bytes = vec![0u8; len];
    input
        .read_exact(&mut bytes)
        .map_err(|_| "it ends too early".to_string())?;
    Ok(bytes)
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    let mut bytes = [0u8; 4];
    input.read_exact(&mut bytes)?;
    Ok(u32::from_be_bytes(bytes))
}

fn read_u64(input: &mut impl Read) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    input.read_exact(&mut bytes)?;
    Ok(u64::from_be_bytes(bytes))
}

fn bad(path: &Path, detail: String) -> BackupError {
    bad_file(path, &detail)
}

fn bad_file(path: &Path, detail: &str) -> BackupError {
    BackupError::BadFile {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

fn io_error(path: &Path, error: &io::Error) -> BackupError {
    BackupError::Io(format!("{}: {error}", path.display()))
}

/// A writer that hashes and counts what passes through.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through.
struct HashingReader<R: Read> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::BlobUpload;
    use crate::docs::DocStore;
    use automerge::AutoCommit;
    use automerge::transaction::Transactable;

    /// Every key and value of a store, the store's own keys left out.
    fn contents(store: &dyn Store) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = store
                .scan_prefix_after(b"", after.as_deref(), SCAN_ROWS_MAX)
                .unwrap();
            let full = rows.len() == SCAN_ROWS_MAX;
            after = rows.last().map(|(k, _)| k.clone());
            all.extend(
                rows.into_iter()
                    .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX)),
            );
            if !full {
                return all;
            }
        }
    }

    /// A data folder with documents, other keys and blobs.
    fn filled(data: &DataDir) -> (Vec<u8>, Vec<String>) {
        let store = data.open_store().unwrap();
        let docs = DocStore::new(store.clone());
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "type", "inspection").unwrap();
        docs.compact("doc1", &doc.save(), 0).unwrap();
        doc.put(automerge::ROOT, "status", "submitted").unwrap();
        let mut batch = Batch::new();
        docs.append_to(&mut batch, "doc1", &doc.save_incremental())
            .unwrap();
        for i in 0..(SCAN_ROWS_MAX + 10) {
            batch.put(format!("x/{i:06}"), vec![(i % 256) as u8; i % 50]);
        }
        store.apply(batch).unwrap();
        store.flush().unwrap();
        let blobs = data.open_blobs(store.clone()).unwrap();
        let mut hashes = Vec::new();
        for n in 0..5u8 {
            let bytes = vec![n; 1000 * usize::from(n)];
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let upload = BlobUpload {
                mime: "image/jpeg".into(),
                uploader: "li".into(),
                at_ms: 1,
            };
            blobs.put(&sha256, &bytes, &upload).unwrap();
            hashes.push(sha256);
        }
        hashes.sort();
        (docs.load("doc1").unwrap().unwrap(), hashes)
    }

    #[test]
    fn a_backup_restores_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        let (docs_before, hashes) = filled(&data);
        let out = dir.path().join("gendan.backup");
        let (before, summary) = {
            let store = data.open_store().unwrap();
            let blobs = data.open_blobs(store.clone()).unwrap();
            let summary = backup(store.as_ref(), &blobs, &out).unwrap();
            (contents(store.as_ref()), summary)
        };
        assert_eq!(summary.blobs, 5);
        assert_eq!(summary.keys, before.len() as u64);
        assert_eq!(summary.bytes, fs::metadata(&out).unwrap().len());
        assert!(matches!(
            backup(
                data.open_store().unwrap().as_ref(),
                &data
                    .open_blobs(Arc::new(crate::store::MemoryStore::new()))
                    .unwrap(),
                &out
            ),
            Err(BackupError::OutputExists(_))
        ));

        let restored = DataDir::new(dir.path().join("restored"));
        let counts = restore(&out, &restored).unwrap();
        assert_eq!(counts.keys, summary.keys);
        assert_eq!(counts.blobs, 5);
        assert!(!restored.root().join(STAGING_DIR).exists());
        let store = restored.open_store().unwrap();
        assert_eq!(contents(store.as_ref()), before);
        let docs = DocStore::new(store.clone());
        assert_eq!(docs.load("doc1").unwrap().unwrap(), docs_before);
        let blobs = restored.open_blobs(store.clone()).unwrap();
        assert_eq!(blobs.stored_hashes().unwrap(), hashes);
        for sha256 in &hashes {
            assert_eq!(
                fs::read(blobs.path_of(sha256)).unwrap(),
                fs::read(data.blobs_dir().join(&sha256[..2]).join(&sha256[2..])).unwrap()
            );
            assert!(blobs.meta(sha256).unwrap().is_some());
        }
        // And the restored store keeps working.
        store.put(b"after", b"restore").unwrap();
        store.flush().unwrap();
    }

    #[test]
    fn restore_refuses_a_folder_that_is_not_empty_and_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        filled(&data);
        let out = dir.path().join("b");
        {
            let store = data.open_store().unwrap();
            let blobs = data.open_blobs(store.clone()).unwrap();
            backup(store.as_ref(), &blobs, &out).unwrap();
        }
        assert!(matches!(
            restore(&out, &data),
            Err(BackupError::NotEmpty(_))
        ));

        let bytes = fs::read(&out).unwrap();
        let target = DataDir::new(dir.path().join("target"));
        for (what, damaged) in [
            ("a flipped byte", {
                let mut b = bytes.clone();
                let middle = b.len() / 2;
                b[middle] ^= 1;
                b
            }),
            ("cut short", bytes[..bytes.len() - 40].to_vec()),
            ("one byte more", [bytes.as_slice(), b"x"].concat()),
            ("not a backup", b"hello world, not a backup at all".to_vec()),
            ("another version", {
                let mut b = bytes.clone();
                b[11] = 2;
                b
            }),
        ] {
            let file = dir.path().join("damaged");
            fs::write(&file, &damaged).unwrap();
            let error = restore(&file, &target).unwrap_err();
            assert!(
                matches!(error, BackupError::BadFile { .. }),
                "{what}: {error:?}"
            );
            assert!(error.to_string().contains("nothing was written"), "{error}");
            assert!(!target.root().exists(), "{what}: nothing written");
        }
        let error = restore(&dir.path().join("missing"), &target).unwrap_err();
        assert!(error.to_string().contains("no such file"), "{error}");
    }

    #[test]
    fn a_damaged_blob_stops_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        let (_, hashes) = filled(&data);
        let blob = data.blobs_dir().join(&hashes[1][..2]).join(&hashes[1][2..]);
        let mut bytes = fs::read(&blob).unwrap();
        bytes[0] ^= 1;
        fs::write(&blob, bytes).unwrap();
        let store = data.open_store().unwrap();
        let blobs = data.open_blobs(store.clone()).unwrap();
        let out = dir.path().join("b");
        assert!(matches!(
            backup(store.as_ref(), &blobs, &out),
            Err(BackupError::Blob(BlobError::Damaged { .. }))
        ));
        assert!(!out.exists());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
