//! Giving freed memory back to the system.
//!
//! The `gendan` binary allocates with mimalloc (server/src/main.rs). mimalloc returns the
//! memory of freed objects to the system lazily, from the thread that owns it, on that
//! thread's later allocations; a server that goes quiet after a burst (a device pulled
//! thousands of records, the documents were unloaded) would keep the burst's memory for as
//! long as it stays quiet. So the binary hands this module a `release` function (it calls
//! the allocator; the library itself stays free of unsafe code and of the allocator's
//! API), and each runtime worker calls it when it goes idle, at most once per
//! [`RELEASE_INTERVAL`]. Tests and other embedders set nothing and pay nothing.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The shortest time between two releases on one worker thread: a busy server parks its
/// workers thousands of times a second, and a release walks the thread's heap.
pub const RELEASE_INTERVAL: Duration = Duration::from_secs(1);

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Sets the function that returns the calling thread's free memory to the system (once;
/// later calls are ignored).
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

thread_local! {
    static LAST_RELEASE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs the release function now, when one is set: for threads of our own that go idle
/// (the document reader) and for runtime threads about to exit, whose heap mimalloc would
/// otherwise abandon with its free pages still held.
pub fn release_now() {
    if let Some(release) = RELEASE.get() {
        release();
    }
}

/// Called by a runtime worker as it parks (goes idle): runs the release function when one
/// is set and this thread has not run it within [`RELEASE_INTERVAL`].
pub fn on_worker_idle() {
    let Some(release) = RELEASE.get() else {
        return;
    };
    let now = Instant::now();
    let due = LAST_RELEASE.with(|last| {
        let due = last
            .get()
            .is_none_or(|at| now.duration_since(at) >= RELEASE_INTERVAL);
        if due {
            last.set(Some(now));
        }
        due
    });
    if due {
        release();
    }
}

/// A release function for tests: it notes the thread that ran it.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Mutex;
    use std::thread::ThreadId;

    /// The threads that ran [`note_release`], in order (every test shares the one release
    /// function, so each looks for its own thread).
    pub(crate) static RELEASED_ON: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

    pub(crate) fn note_release() {
        RELEASED_ON
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(std::thread::current().id());
    }

    /// Sets [`note_release`] as the release function.
    pub(crate) fn install() {
        super::set_release(note_release);
    }

    /// How many times `thread` released.
    pub(crate) fn releases_on(thread: ThreadId) -> usize {
        RELEASED_ON
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|t| **t == thread)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{install, releases_on};
    use super::*;

    #[test]
    fn an_idle_worker_releases_at_most_once_per_interval() {
        install();
        // A new thread: its own last-release time.
        std::thread::spawn(|| {
            let me = std::thread::current().id();
            for _ in 0..1000 {
                on_worker_idle();
            }
            assert_eq!(releases_on(me), 1);
            LAST_RELEASE.with(|last| last.set(Some(Instant::now() - RELEASE_INTERVAL)));
            on_worker_idle();
            assert_eq!(releases_on(me), 2);
            release_now();
            assert_eq!(releases_on(me), 3);
        })
        .join()
        .expect("the worker thread");
        // Another thread has a clock of its own.
        std::thread::spawn(|| {
            on_worker_idle();
            assert_eq!(releases_on(std::thread::current().id()), 1);
        })
        .join()
        .expect("the second worker thread");
    }
}
