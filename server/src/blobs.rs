//! Photos and files as content-addressed blobs (DESIGN §4): a blob's name is the SHA-256 of
//! its bytes, so a record holds the hash and anyone can check what they got.
//!
//! Layout under the blobs folder (`<data>/blobs`):
//! - `ab/cdef…`: a stored blob whose SHA-256 is `abcdef…` (64 lowercase hex digits; the first
//!   two name the folder). A blob appears there only whole and verified: it is written to a
//!   temporary file in the same folder, synced, checked, and renamed into place.
//! - `partial/<sha256>`: a resumable upload in progress ([`BlobStore::append_part`]); moved
//!   into place by [`BlobStore::finish`] once its hash is right.
//!
//! Metadata (size, type, uploader, time) is kept in the [`Store`] under `b/<sha256>`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError};

/// The largest blob, in bytes (a phone photo is 2–8 MiB; a PDF report a few).
pub const BLOB_BYTES_MAX: u64 = 32 * 1024 * 1024;
/// The largest part of a resumable upload, in bytes.
pub const PART_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The most resumable uploads in progress at once.
pub const PARTIAL_UPLOADS_MAX: usize = 256;
/// The longest media type or uploader name, in bytes.
pub const NAME_BYTES_MAX: usize = 128;

/// The folder of uploads in progress, inside the blobs folder.
const PARTIAL_DIR: &str = "partial";
/// The start of temporary file names.
const TEMP_PREFIX: &str = ".tmp-";
/// Hex digits of a SHA-256.
const SHA256_HEX_LEN: usize = 64;
/// Bytes read at a time when hashing a file.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The hash is not 64 lowercase hex digits.
    #[error("{0:?} is not a SHA-256 (64 lowercase hex digits)")]
    BadHash(String),
    /// The blob would be larger than [`BLOB_BYTES_MAX`].
    #[error("a blob of {size} bytes is over the limit of {max}")]
    TooLarge {
        /// Its size (so far, for an upload).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// One part of an upload is larger than [`PART_BYTES_MAX`].
    #[error("an upload part of {size} bytes is over the limit of {max}")]
    PartTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes do not hash to the name they were sent under.
    #[error("the bytes hash to {found}, not {expected}")]
    HashMismatch {
        /// The hash they were sent under.
        expected: String,
        /// Their hash.
        found: String,
    },
    /// A part was sent for the wrong place: uploads go on from where they stopped.
    #[error("the upload continues at byte {expected}, not {offset}")]
    OffsetMismatch {
        /// Where the part was sent for.
        offset: u64,
        /// Where the upload stands.
        expected: u64,
    },
    /// The blob is already stored whole; there is nothing to upload.
    #[error("the blob is already stored")]
    AlreadyStored,
    /// [`BlobStore::finish`] for a hash with no upload in progress.
    #[error("there is no upload in progress for this blob")]
    NoUpload,
    /// There are already [`PARTIAL_UPLOADS_MAX`] uploads in progress.
    #[error("there are already {PARTIAL_UPLOADS_MAX} uploads in progress")]
    TooManyUploads,
    /// A media type or uploader name is empty, too long or not printable ASCII.
    #[error("{what} must be 1 to {NAME_BYTES_MAX} printable ASCII characters")]
    BadName {
        /// Which field.
        what: &'static str,
    },
    /// A stored blob no longer hashes to its name: the disk damaged it.
    #[error("blob {sha256} is damaged on disk; restore it from a backup")]
    Damaged {
        /// The blob.
        sha256: String,
    },
    /// The disk failed.
    #[error("blob storage failed: {0}")]
    Io(String),
    /// The metadata store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is known of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type as the uploader said (`image/jpeg`, …).
    pub mime: String,
    /// Who uploaded it first.
    pub uploader: String,
    /// When it was first stored, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// What the uploader says about a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobUpload {
    /// Media type, printable ASCII.
    pub mime: String,
    /// The uploading user.
    pub uploader: String,
    /// Now, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Blobs in a folder, their metadata in a [`Store`].
#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    store: Arc<dyn Store>,
    /// Held while an upload in progress is changed or finished.
    partials: Mutex<()>,
}

impl BlobStore {
    /// The blobs in `dir` (created if absent), with metadata in `store`. Removes temporary
    /// files left by a crash.
    pub fn open(dir: &Path, store: Arc<dyn Store>) -> Result<Self, BlobError> {
        fs::create_dir_all(dir.join(PARTIAL_DIR)).map_err(|e| io_error(dir, &e))?;
        let blobs = Self {
            dir: dir.to_path_buf(),
            store,
            partials: Mutex::new(()),
        };
        for entry in blobs.fan_out_dirs()? {
            for file in fs::read_dir(&entry).map_err(|e| io_error(&entry, &e))? {
                let file = file.map_err(|e| io_error(&entry, &e))?;
                if file.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    fs::remove_file(file.path()).map_err(|e| io_error(&file.path(), &e))?;
                }
            }
        }
        Ok(blobs)
    }

    /// The blobs folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `bytes` as blob `sha256` after checking their hash. Idempotent: storing a
    /// blob that is already there changes nothing (the first metadata stays).
    pub fn put(
        &self,
        sha256: &str,
        bytes: &[u8],
        upload: &BlobUpload,
    ) -> Result<BlobMeta, BlobError> {
        check_hash(sha256)?;
        check_upload(upload)?;
        let size = bytes.len() as u64;
        if size > BLOB_BYTES_MAX {
            return Err(BlobError::TooLarge {
                size,
                max: BLOB_BYTES_MAX,
            });
        }
        let found = hex::encode(Sha256::digest(bytes));
        if found != sha256 {
            return Err(BlobError::HashMismatch {
                expected: sha256.to_string(),
                found,
            });
        }
        let path = self.path_of(sha256);
        if !path.is_file() {
            write_new_file(&path, bytes)?;
        }
        self.ensure_meta(sha256, size, upload)
    }

    /// Writes `bytes` at `offset` of the upload in progress for `sha256` and returns its new
    /// length. `offset` must be the current length (see [`BlobStore::partial_len`]): a part
    /// that leaves a gap or rewrites is refused with [`BlobError::OffsetMismatch`]. The part
    /// is on disk when this returns.
    pub fn append_part(&self, sha256: &str, offset: u64, bytes: &[u8]) -> Result<u64, BlobError> {
        check_hash(sha256)?;
        if bytes.len() > PART_BYTES_MAX {
            return Err(BlobError::PartTooLarge {
                size: bytes.len(),
                max: PART_BYTES_MAX,
            });
        }
        let _uploads = self.partials.lock().unwrap_or_else(PoisonError::into_inner);
        if self.path_of(sha256).is_file() {
            return Err(BlobError::AlreadyStored);
        }
        let path = self.partial_path(sha256);
        let current = file_len(&path)?;
        if offset != current.unwrap_or(0) {
            return Err(BlobError::OffsetMismatch {
                offset,
                expected: current.unwrap_or(0),
            });
        }
        let size = offset + bytes.len() as u64;
        if size > BLOB_BYTES_MAX {
            return Err(BlobError::TooLarge {
                size,
                max: BLOB_BYTES_MAX,
            });
        }
        if current.is_none() {
            let partial_dir = self.dir.join(PARTIAL_DIR);
            let in_progress = fs::read_dir(&partial_dir)
                .map_err(|e| io_error(&partial_dir, &e))?
                .take(PARTIAL_UPLOADS_MAX)
                .count();
            if in_progress >= PARTIAL_UPLOADS_MAX {
                return Err(BlobError::TooManyUploads);
            }
        }
        let write = || -> io::Result<()> {
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(bytes)?;
            file.sync_data()?;
            if current.is_none() {
                sync_dir(&self.dir.join(PARTIAL_DIR))?;
            }
            Ok(())
        };
        write().map_err(|e| io_error(&path, &e))?;
        Ok(size)
    }

    /// Bytes received so far of the upload in progress for `sha256` (0 when none).
    pub fn partial_len(&self, sha256: &str) -> Result<u64, BlobError> {
        check_hash(sha256)?;
        Ok(file_len(&self.partial_path(sha256))?.unwrap_or(0))
    }

    /// Checks the upload in progress for `sha256` and moves it into place. A wrong hash
    /// discards the upload ([`BlobError::HashMismatch`]): it has to start again. Finishing a
    /// blob that is already stored returns its metadata.
    pub fn finish(&self, sha256: &str, upload: &BlobUpload) -> Result<BlobMeta, BlobError> {
        check_hash(sha256)?;
        check_upload(upload)?;
        let _uploads = self.partials.lock().unwrap_or_else(PoisonError::into_inner);
        let partial = self.partial_path(sha256);
        let path = self.path_of(sha256);
        if path.is_file() {
            if partial.is_file() {
                fs::remove_file(&partial).map_err(|e| io_error(&partial, &e))?;
            }
            let size = file_len(&path)?.unwrap_or(0);
            return self.ensure_meta(sha256, size, upload);
        }
        let Some(size) = file_len(&partial)? else {
            return Err(BlobError::NoUpload);
        };
        let found = hash_file(&partial)?;
        if found != sha256 {
            fs::remove_file(&partial).map_err(|e| io_error(&partial, &e))?;
            return Err(BlobError::HashMismatch {
                expected: sha256.to_string(),
                found,
            });
        }
        let parent = self.fan_out_dir(sha256);
        let publish = || -> io::Result<()> {
            ensure_dir(&parent)?;
            fs::rename(&partial, &path)?;
            sync_dir(&parent)?;
            sync_dir(&self.dir.join(PARTIAL_DIR))
        };
        publish().map_err(|e| io_error(&path, &e))?;
        self.ensure_meta(sha256, size, upload)
    }

    /// Discards the upload in progress for `sha256`, if any.
    pub fn abort(&self, sha256: &str) -> Result<(), BlobError> {
        check_hash(sha256)?;
        let _uploads = self.partials.lock().unwrap_or_else(PoisonError::into_inner);
        let partial = self.partial_path(sha256);
        match fs::remove_file(&partial) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&partial, &e)),
        }
    }

    /// The stored blob, opened for reading, if it exists. Unchecked: for streaming to a
    /// client, which checks the hash itself; use [`BlobStore::read`] to have it checked here.
    pub fn get(&self, sha256: &str) -> Result<Option<File>, BlobError> {
        check_hash(sha256)?;
        let path = self.path_of(sha256);
        match File::open(&path) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    /// The stored blob's bytes, checked against its hash, if it exists.
    pub fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let Some(mut file) = self.get(sha256)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        (&mut file)
            .take(BLOB_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(&self.path_of(sha256), &e))?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(BlobError::Damaged {
                sha256: sha256.to_string(),
            });
        }
        Ok(Some(bytes))
    }

    /// Checks that the stored blob still hashes to its name.
    pub fn verify(&self, sha256: &str) -> Result<(), BlobError> {
        check_hash(sha256)?;
        if hash_file(&self.path_of(sha256))? == sha256 {
            Ok(())
        } else {
            Err(BlobError::Damaged {
                sha256: sha256.to_string(),
            })
        }
    }

    /// The metadata of a stored blob, if any.
    pub fn meta(&self, sha256: &str) -> Result<Option<BlobMeta>, BlobError> {
        check_hash(sha256)?;
        self.store
            .get(&meta_key(sha256))?
            .map(|value| {
                serde_json::from_slice(&value).map_err(|_| BlobError::Damaged {
                    sha256: sha256.to_string(),
                })
            })
            .transpose()
    }

    /// Whether the blob is stored whole.
    pub fn exists(&self, sha256: &str) -> Result<bool, BlobError> {
        check_hash(sha256)?;
        Ok(self.path_of(sha256).is_file())
    }

    /// The hashes of every stored blob, sorted (uploads in progress are not blobs yet).
    pub fn stored_hashes(&self) -> Result<Vec<String>, BlobError> {
        let mut hashes = Vec::new();
        for dir in self.fan_out_dirs()? {
            let prefix = dir
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            for file in fs::read_dir(&dir).map_err(|e| io_error(&dir, &e))? {
                let file = file.map_err(|e| io_error(&dir, &e))?;
                let sha256 = format!("{prefix}{}", file.file_name().to_string_lossy());
                if check_hash(&sha256).is_ok() {
                    hashes.push(sha256);
                }
            }
        }
        hashes.sort();
        Ok(hashes)
    }

    /// Where blob `sha256` is stored: `ab/cdef…`.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.fan_out_dir(sha256).join(&sha256[2..])
    }

    fn fan_out_dir(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2])
    }

    fn partial_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(PARTIAL_DIR).join(sha256)
    }

    /// The two-hex-digit folders.
    fn fan_out_dirs(&self) -> Result<Vec<PathBuf>, BlobError> {
        let mut dirs = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, &e))? {
            let entry = entry.map_err(|e| io_error(&self.dir, &e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let is_fan_out = name.len() == 2
                && name
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if is_fan_out && entry.path().is_dir() {
                dirs.push(entry.path());
            }
        }
        Ok(dirs)
    }

    /// The blob's metadata, written from `upload` if there is none yet.
    fn ensure_meta(
        &self,
        sha256: &str,
        size: u64,
        upload: &BlobUpload,
    ) -> Result<BlobMeta, BlobError> {
        if let Some(meta) = self.meta(sha256)? {
            return Ok(meta);
        }
        let meta = BlobMeta {
            sha256: sha256.to_string(),
            size,
            mime: upload.mime.clone(),
            uploader: upload.uploader.clone(),
            at_ms: upload.at_ms,
        };
        let value = serde_json::to_vec(&meta).map_err(|e| BlobError::Io(e.to_string()))?;
        self.store.put(&meta_key(sha256), &value)?;
        self.store.flush()?;
        Ok(meta)
    }
}

/// Refuses anything but 64 lowercase hex digits.
pub fn check_hash(sha256: &str) -> Result<(), BlobError> {
    let ok = sha256.len() == SHA256_HEX_LEN
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(BlobError::BadHash(sha256.to_string()))
    }
}

fn check_upload(upload: &BlobUpload) -> Result<(), BlobError> {
    for (what, value) in [
        ("the media type", &upload.mime),
        ("the uploader", &upload.uploader),
    ] {
        let ok = !value.is_empty()
            && value.len() <= NAME_BYTES_MAX
            && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        if !ok {
            return Err(BlobError::BadName { what });
        }
    }
    Ok(())
}

fn meta_key(sha256: &str) -> Vec<u8> {
    format!("b/{sha256}").into_bytes()
}

fn io_error(path: &Path, error: &io::Error) -> BlobError {
    BlobError::Io(format!("{}: {error}", path.display()))
}

/// The length of the file at `path`, or `None` if there is none.
fn file_len(path: &Path) -> Result<Option<u64>, BlobError> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, &e)),
    }
}

/// The SHA-256 of the file at `path`, read in chunks.
pub(crate) fn hash_file(path: &Path) -> Result<String, BlobError> {
    let hash = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; READ_CHUNK_BYTES];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                return Ok(hex::encode(hasher.finalize()));
            }
            hasher.update(&buffer[..read]);
        }
    };
    hash().map_err(|e| io_error(path, &e))
}

/// Makes `path` hold `bytes`, all or nothing: a synced temporary file in the same folder,
/// renamed into place, and the folder synced.
pub(crate) fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let write = || -> io::Result<()> {
        ensure_dir(parent)?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(io::Error::other)?;
        let temp = parent.join(format!("{TEMP_PREFIX}{}", hex::encode(random)));
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)?;
            sync_dir(parent)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    };
    write().map_err(|e| io_error(path, &e))
}

/// Creates `dir` if it is missing, durably (its name synced in its parent).
fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    match dir.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Makes the names in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn upload() -> BlobUpload {
        BlobUpload {
            mime: "image/jpeg".into(),
            uploader: "li".into(),
            at_ms: 1_000,
        }
    }

    fn blobs() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let blobs =
            BlobStore::open(&dir.path().join("blobs"), Arc::new(MemoryStore::new())).unwrap();
        (dir, blobs)
    }

    #[test]
    fn a_blob_is_stored_once_under_its_hash() {
        let (_dir, blobs) = blobs();
        let bytes = b"a photo of a carton".to_vec();
        let hash = sha(&bytes);
        let meta = blobs.put(&hash, &bytes, &upload()).unwrap();
        assert_eq!(meta.size, bytes.len() as u64);
        assert_eq!(meta.mime, "image/jpeg");
        let path = blobs.path_of(&hash);
        assert!(path.ends_with(format!("{}/{}", &hash[..2], &hash[2..])));
        assert_eq!(fs::read(&path).unwrap(), bytes);

        // Again, by someone else: nothing changes.
        let other = BlobUpload {
            uploader: "wang".into(),
            ..upload()
        };
        assert_eq!(blobs.put(&hash, &bytes, &other).unwrap(), meta);
        assert_eq!(blobs.read(&hash).unwrap(), Some(bytes.clone()));
        assert!(blobs.get(&hash).unwrap().is_some());
        assert_eq!(blobs.meta(&hash).unwrap(), Some(meta));
        assert_eq!(blobs.stored_hashes().unwrap(), std::slice::from_ref(&hash));

        // Wrong bytes for the name: refused, nothing stored.
        let wrong = sha(b"something else");
        assert!(matches!(
            blobs.put(&wrong, &bytes, &upload()),
            Err(BlobError::HashMismatch { .. })
        ));
        assert!(!blobs.exists(&wrong).unwrap());
        assert_eq!(blobs.get(&wrong).unwrap().map(|_| ()), None);
        assert!(matches!(
            blobs.put("ABC", &bytes, &upload()),
            Err(BlobError::BadHash(_))
        ));
        assert!(matches!(
            blobs.put(&hash.to_uppercase(), &bytes, &upload()),
            Err(BlobError::BadHash(_))
        ));
    }

    #[test]
    fn a_resumable_upload_goes_on_from_where_it_stopped() {
        let (_dir, blobs) = blobs();
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let hash = sha(&bytes);
        assert_eq!(blobs.partial_len(&hash).unwrap(), 0);
        assert!(matches!(
            blobs.finish(&hash, &upload()),
            Err(BlobError::NoUpload)
        ));
        assert_eq!(
            blobs.append_part(&hash, 0, &bytes[..40_000]).unwrap(),
            40_000
        );
        // A gap and a rewrite are both refused.
        assert!(matches!(
            blobs.append_part(&hash, 50_000, &bytes[50_000..]),
            Err(BlobError::OffsetMismatch {
                expected: 40_000,
                ..
            })
        ));
        assert!(matches!(
            blobs.append_part(&hash, 0, &bytes[..10]),
            Err(BlobError::OffsetMismatch { .. })
        ));
        // The "connection drops" here; the client asks where to go on.
        assert_eq!(blobs.partial_len(&hash).unwrap(), 40_000);
        assert_eq!(
            blobs.append_part(&hash, 40_000, &bytes[40_000..]).unwrap(),
            100_000
        );
        assert!(!blobs.exists(&hash).unwrap(), "not visible before finish");
        let meta = blobs.finish(&hash, &upload()).unwrap();
        assert_eq!(meta.size, 100_000);
        assert_eq!(blobs.read(&hash).unwrap(), Some(bytes.clone()));
        assert_eq!(blobs.partial_len(&hash).unwrap(), 0);
        assert!(matches!(
            blobs.append_part(&hash, 0, b"x"),
            Err(BlobError::AlreadyStored)
        ));
        assert_eq!(blobs.finish(&hash, &upload()).unwrap(), meta);
    }

    #[test]
    fn an_upload_with_the_wrong_bytes_is_discarded() {
        let (_dir, blobs) = blobs();
        let hash = sha(b"expected");
        blobs.append_part(&hash, 0, b"received").unwrap();
        assert!(matches!(
            blobs.finish(&hash, &upload()),
            Err(BlobError::HashMismatch { .. })
        ));
        assert_eq!(blobs.partial_len(&hash).unwrap(), 0);
        assert!(!blobs.exists(&hash).unwrap());

        blobs.append_part(&hash, 0, b"exp").unwrap();
        blobs.abort(&hash).unwrap();
        assert_eq!(blobs.partial_len(&hash).unwrap(), 0);
    }

    #[test]
    fn blob_bytes_max_is_kept() {
        let (_dir, blobs) = blobs();
        let max = usize::try_from(BLOB_BYTES_MAX).unwrap();
        let mut bytes = vec![7u8; max + 1];
        let hash = sha(&bytes);
        assert!(matches!(
            blobs.put(&hash, &bytes, &upload()),
            Err(BlobError::TooLarge { .. })
        ));
        bytes.pop();
        let hash = sha(&bytes);
        blobs.put(&hash, &bytes, &upload()).unwrap();

        // By parts: up to the limit, and not a byte more.
        let target = sha(b"some other large blob");
        let part = vec![1u8; PART_BYTES_MAX];
        let mut offset = 0;
        while offset < BLOB_BYTES_MAX {
            offset = blobs.append_part(&target, offset, &part).unwrap();
        }
        assert_eq!(offset, BLOB_BYTES_MAX);
        assert!(matches!(
            blobs.append_part(&target, offset, b"x"),
            Err(BlobError::TooLarge { .. })
        ));
        assert!(matches!(
            blobs.append_part(&target, offset, &vec![0u8; PART_BYTES_MAX + 1]),
            Err(BlobError::PartTooLarge { .. })
        ));
    }

    #[test]
    fn partial_uploads_max_is_kept() {
        let (_dir, blobs) = blobs();
        for i in 0..PARTIAL_UPLOADS_MAX {
            blobs
                .append_part(&sha(&i.to_be_bytes()), 0, b"part")
                .unwrap();
        }
        let one_more = sha(b"one more");
        assert!(matches!(
            blobs.append_part(&one_more, 0, b"part"),
            Err(BlobError::TooManyUploads)
        ));
        // Going on with one in progress is still fine; finishing one makes room.
        let first = sha(&0usize.to_be_bytes());
        blobs.append_part(&first, 4, b"more").unwrap();
        blobs.abort(&first).unwrap();
        blobs.append_part(&one_more, 0, b"part").unwrap();
    }

    #[test]
    fn damage_on_disk_is_found_and_temporary_files_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::new());
        let blobs = BlobStore::open(&dir.path().join("blobs"), store.clone()).unwrap();
        let bytes = b"inspection report".to_vec();
        let hash = sha(&bytes);
        blobs.put(&hash, &bytes, &upload()).unwrap();
        fs::write(blobs.path_of(&hash), b"inspection rep0rt").unwrap();
        assert!(matches!(blobs.read(&hash), Err(BlobError::Damaged { .. })));
        assert!(matches!(
            blobs.verify(&hash),
            Err(BlobError::Damaged { .. })
        ));

        let temp = blobs.fan_out_dir(&hash).join(".tmp-leftover");
        fs::write(&temp, b"half").unwrap();
        drop(blobs);
        let blobs = BlobStore::open(&dir.path().join("blobs"), store).unwrap();
        assert!(!temp.exists());
        assert_eq!(blobs.stored_hashes().unwrap(), [hash]);
    }

    #[test]
    fn metadata_names_are_checked() {
        let (_dir, blobs) = blobs();
        let hash = sha(b"x");
        for mime in ["", "image/\njpeg", &"m".repeat(NAME_BYTES_MAX + 1)] {
            let bad = BlobUpload {
                mime: mime.into(),
                ..upload()
            };
            assert!(matches!(
                blobs.put(&hash, b"x", &bad),
                Err(BlobError::BadName { .. })
            ));
        }
        let at_limit = BlobUpload {
            mime: "m".repeat(NAME_BYTES_MAX),
            ..upload()
        };
        blobs.put(&hash, b"x", &at_limit).unwrap();
    }
}
