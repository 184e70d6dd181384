//! `cargo fuzz run hub`: see `gendan_fuzz::hub` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gendan_fuzz::hub::run(data));
