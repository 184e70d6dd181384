//! `cargo fuzz run frame_decode`: see `gendan_fuzz::frame_decode` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gendan_fuzz::frame_decode::run(data));
