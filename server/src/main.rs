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

/// Transparent huge pages off for this process. mimalloc asks the kernel for huge pages
/// for its arenas (`madvise`), and the kernel then backs sparsely used memory with whole
/// 2 MiB pages that purging does not give back: with 100,000 records stored, the server
/// used 90 MB right after start and 175–195 MB at rest after a 10,000-record pull with huge
/// pages, 58 and 142–145 MB without (BENCHMARKS.md, fix 12). The flag covers the whole
/// process, including what mimalloc reserved before `main`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code, reason = "a system call with integer arguments")]
fn no_transparent_huge_pages() {
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes integers and touches no memory of ours; a
    // kernel that refuses it leaves things as they were.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    tune_allocator();
    gendan_server::memory::set_release(release_free_memory);
    gendan_server::cli::run()
}
