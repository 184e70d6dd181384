//! The data folder (`--data`, `./data` by default) and what is in it:
//!
//! - `store/`: the [`SledStore`] (documents, attribution, quarantine, projections, accounts,
//!   blob metadata);
//! - `blobs/`: the blob files ([`BlobStore`]).
//!
//! Both the server and the admin commands open them through here, so they agree on where
//! things are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blobs::{BlobError, BlobStore};
use crate::store::{SledStore, Store, StoreError};

/// The default data folder, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// The store's folder inside the data folder.
pub const STORE_DIR: &str = "store";
/// The blobs' folder inside the data folder.
pub const BLOBS_DIR: &str = "blobs";

/// A data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data folder at `root` (nothing is opened or created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The data folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the store is.
    pub fn store_dir(&self) -> PathBuf {
        self.root.join(STORE_DIR)
    }

    /// Where the blobs are.
    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join(BLOBS_DIR)
    }

    /// Opens (or creates) the store. Only one process may have it open.
    pub fn open_store(&self) -> Result<Arc<SledStore>, StoreError> {
        SledStore::open(&self.store_dir()).map(Arc::new)
    }

    /// Opens (or creates) the blobs, with their metadata in `store`.
    pub fn open_blobs(&self, store: Arc<dyn Store>) -> Result<BlobStore, BlobError> {
        BlobStore::open(&self.blobs_dir(), store)
    }
}
