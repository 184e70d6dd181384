//! # gendan-core
//!
//! The record model, the business rules and the sync peer of Gendan (跟单), an offline-first
//! order follow-up system. This crate does no IO: it never touches the network, the disk,
//! the clock or the random number generator by itself. Callers pass `now` and randomness in,
//! and carry out what it asks for. The same code runs in the server and, compiled to
//! wasm32, in the browser.

pub mod aql;
pub mod common;
pub mod protocol;
