//! The `gendan` command: see [`gendan_server::cli`].

/// mimalloc rather than the system's malloc: documents unloaded after going idle give their
/// memory back to the system (glibc's malloc kept the peak), and password hashing on
/// blocking threads leaves no arena per thread behind.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gendan_server::cli::run()
}
