//! `cargo fuzz run document_load`: see `gendan_fuzz::document_load` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gendan_fuzz::document_load::run(data));
