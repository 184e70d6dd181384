//! `cargo fuzz run write_check`: see `gendan_fuzz::write_check` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gendan_fuzz::write_check::run(data));
