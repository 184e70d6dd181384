//! The `gendan` command: see [`gendan_server::cli`].

fn main() -> std::process::ExitCode {
    gendan_server::cli::run()
}
