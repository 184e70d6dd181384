//! The bodies of Gendan's fuzz targets, one module per target, each a `run(data: &[u8])`
//! that panics when it finds a bug.
//!
//! The same functions are called by the libFuzzer entry points in `fuzz_targets/` (built
//! by `cargo fuzz` with coverage instrumentation) and by `tests/regressions.rs`, a plain
//! stable `cargo test` that replays every file in `corpus/` and `regressions/`.
//!
//! | target | input | asserts |
//! |---|---|---|
//! | [`frame_decode`] | one WebSocket frame | no panic; a decoded message re-encodes and decodes to itself |
//! | [`document_load`] | saved document bytes | no panic; a loaded record views, saves and reloads with the same heads |
//! | [`write_check`] | structured edits by a random user | no panic; no change outside the user's rights is accepted |
//! | [`hub`] | a device's session with the sync hub | no panic; every frame sent decodes; out-of-rights changes never merge |

pub mod document_load;
pub mod edits;
pub mod frame_decode;
pub mod hub;
pub mod known;
pub mod write_check;

/// A target's body: panics when it finds a bug.
pub type Run = fn(&[u8]);

/// The targets, by name (the directory names under `corpus/` and `regressions/`).
pub const TARGETS: &[(&str, Run)] = &[
    ("frame_decode", frame_decode::run),
    ("document_load", document_load::run),
    ("write_check", write_check::run),
    ("hub", hub::run),
];
