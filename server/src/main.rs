//! The `gendan` command: see [`gendan_server::cli`].

/// mimalloc rather than the system's malloc: documents unloaded after going idle give their
/// memory back to the system (glibc's malloc kept the peak), and password hashing on
/// blocking threads leaves no arena per thread behind.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option number for the delay before freed memory is returned to the system
/// (`mi_option_purge_delay` in mimalloc.h; libmimalloc-sys names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once instead of after mimalloc's default 10 ms,
/// which it only checks on a later allocation of the same thread: a server gone quiet
/// after a burst would keep the burst's memory (BENCHMARKS.md, memory at rest).
#[allow(unsafe_code, reason = "a call into the allocator's C API")]
fn tune_allocator() {
    // SAFETY: sets a plain integer option; mimalloc allows it at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// Returns the calling thread's free memory to the system (see `gendan_server::memory`).
#[allow(unsafe_code, reason = "a call into the allocator's C API")]
fn release_free_memory() {
    // SAFETY: collects the calling thread's own heap; no pointer is passed or returned.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    gendan_server::memory::set_release(release_free_memory);
    gendan_server::cli::run()
}
