//! Loading bytes that did not come from this process's own Automerge, without letting a
//! malformed document take the process down.
//!
//! Automerge 0.12 panics — instead of returning an error — on some corrupt documents: an
//! assertion in its op collector, a bounds check in its column library, and an `unwrap` on
//! a missing dependency in `get_changes` after an otherwise successful load (found by our
//! fuzzing, `fuzz/README.md`). A sync message may carry a whole document (or a bundle of
//! changes) rather than single changes, so a peer could trigger these. We cannot fix the
//! library here, so everything that loads foreign document bytes goes through this module,
//! which runs the load inside [`std::panic::catch_unwind`] and turns a panic into an error.
//!
//! On wasm32 the release build aborts on panic, so there the guard only helps the native
//! server; the browser loads only what it stored itself or the server sent.
//!
//! What this does not bound: Automerge can also take gigabytes of memory refusing a small
//! corrupt document. A memory limit would need a separate process.

use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::AutoCommit;

/// Bytes of a storage chunk's header up to its type: the magic bytes and the checksum.
const CHUNK_TYPE_OFFSET: usize = 8;
/// The magic bytes every Automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of a single (uncompressed) change.
const CHUNK_CHANGE: u8 = 1;

/// Why foreign document bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Automerge returned an error.
    #[error("the document could not be loaded: {0}")]
    Invalid(String),
    /// Automerge panicked on it: the bytes are malformed in a way the library does not
    /// check for.
    #[error("the document is malformed (the Automerge library failed on it: {0})")]
    Malformed(String),
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic".into())
}

/// Loads a saved document, turning a library panic into [`GuardError::Malformed`].
pub fn load(bytes: &[u8]) -> Result<AutoCommit, GuardError> {
    match catch_unwind(AssertUnwindSafe(|| AutoCommit::load(bytes))) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(GuardError::Invalid(e.to_string())),
        Err(payload) => Err(GuardError::Malformed(panic_text(payload.as_ref()))),
    }
}

/// Loads a saved document and walks its change graph, turning a library panic in either
/// into [`GuardError::Malformed`]. Some corrupt documents load and then panic the first
/// time their changes are listed (which syncing and saving do): the walk finds those here.
pub fn load_walked(bytes: &[u8]) -> Result<AutoCommit, GuardError> {
    let walked = catch_unwind(AssertUnwindSafe(|| {
        AutoCommit::load(bytes).map(|mut doc| {
            let _ = doc.get_changes(&[]).len();
            doc
        })
    }));
    match walked {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(GuardError::Invalid(e.to_string())),
        Err(payload) => Err(GuardError::Malformed(panic_text(payload.as_ref()))),
    }
}

/// Whether `chunk` is exactly one plain change chunk: these are parsed change by change
/// and never reach the document reconstruction that panics.
fn is_one_change(chunk: &[u8]) -> bool {
    if chunk.len() <= CHUNK_TYPE_OFFSET + 1
        || chunk[..4] != MAGIC
        || chunk[CHUNK_TYPE_OFFSET] != CHUNK_CHANGE
    {
        return false;
    }
    // The body length, LEB128, after the type byte.
    let mut len: u64 = 0;
    for (i, byte) in chunk[CHUNK_TYPE_OFFSET + 1..].iter().take(10).enumerate() {
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let header = CHUNK_TYPE_OFFSET + 1 + i + 1;
            return usize::try_from(len).is_ok_and(|n| header.checked_add(n) == Some(chunk.len()));
        }
    }
    false
}

/// Checks the chunks of an incoming sync message before they are merged into a real
/// document: any chunk that is not one plain change (a whole document, a bundle, a
/// compressed change, several chunks run together) is first loaded into a scratch document
/// under the guard, and its change graph walked, so that a malformed one is refused with an
/// error instead of panicking inside the document it was meant for.
pub fn check_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<(), GuardError> {
    check_chunks_keep(chunks).map(|_| ())
}

/// [`check_chunks`], which also hands back the scratch document when the chunks were one
/// chunk loaded to check it: that document is what loading the chunk into an empty
/// document gives, so a new record sent whole need not be loaded twice.
pub fn check_chunks_keep<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<AutoCommit>, GuardError> {
    let mut kept = None;
    for (i, chunk) in chunks.into_iter().enumerate() {
        kept = None;
        if is_one_change(chunk) {
            continue;
        }
        let tried = catch_unwind(AssertUnwindSafe(|| {
            let mut scratch = AutoCommit::new();
            scratch
                .load_incremental(chunk)
                .map(|_| (scratch.get_changes(&[]).len(), scratch))
        }));
        match tried {
            Ok(Ok((_, scratch))) => kept = (i == 0).then_some(scratch),
            Ok(Err(e)) => return Err(GuardError::Invalid(e.to_string())),
            Err(payload) => return Err(GuardError::Malformed(panic_text(payload.as_ref()))),
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn doc() -> AutoCommit {
        let mut d = AutoCommit::new();
        d.put(automerge::ROOT, "type", "inspection").unwrap();
        d.commit();
        d.put(automerge::ROOT, "lot_size", 500).unwrap();
        d
    }

    #[test]
    fn good_bytes_load() {
        let mut d = doc();
        let saved = d.save();
        assert_eq!(load(&saved).unwrap().get_heads(), d.get_heads());
        assert_eq!(load_walked(&saved).unwrap().get_heads(), d.get_heads());
        assert_eq!(check_chunks([saved.as_slice()]), Ok(()));
        let changes: Vec<Vec<u8>> = d
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        assert!(changes.iter().all(|c| is_one_change(c)));
        assert_eq!(check_chunks(changes.iter().map(Vec::as_slice)), Ok(()));
        // Two changes run together are not "one change": they are checked by loading.
        let joined = changes.concat();
        assert!(!is_one_change(&joined));
        assert_eq!(check_chunks([joined.as_slice()]), Ok(()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            load(b"not a document"),
            Err(GuardError::Invalid(_))
        ));
        assert!(check_chunks([b"not a document".as_slice()]).is_err());
        let mut saved = doc().save();
        let last = saved.len() - 1;
        saved[last] ^= 0xff;
        assert!(load(&saved).is_err());
        assert!(load_walked(&saved).is_err());
        assert!(check_chunks([saved.as_slice()]).is_err());
    }
}
