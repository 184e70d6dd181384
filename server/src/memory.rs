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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static RELEASES: AtomicUsize = AtomicUsize::new(0);

    fn count_release() {
        RELEASES.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn an_idle_worker_releases_at_most_once_per_interval() {
        set_release(count_release);
        // A new thread: its own last-release time.
        std::thread::spawn(|| {
            let before = RELEASES.load(Ordering::SeqCst);
            for _ in 0..1000 {
                on_worker_idle();
            }
            assert_eq!(RELEASES.load(Ordering::SeqCst) - before, 1);
            LAST_RELEASE.with(|last| last.set(Some(Instant::now() - RELEASE_INTERVAL)));
            on_worker_idle();
            assert_eq!(RELEASES.load(Ordering::SeqCst) - before, 2);
        })
        .join()
        .expect("the worker thread");
        // Another thread has a clock of its own.
        std::thread::spawn(|| {
            let before = RELEASES.load(Ordering::SeqCst);
            on_worker_idle();
            assert_eq!(RELEASES.load(Ordering::SeqCst) - before, 1);
        })
        .join()
        .expect("the second worker thread");
    }
}
