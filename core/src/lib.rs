//! # gendan-core
//!
//! The record model, the business rules and the sync peer of Gendan (跟单), an offline-first
//! order follow-up system. This crate does no IO: it never touches the network, the disk,
//! the clock or the random number generator by itself. Callers pass `now` and randomness in,
//! and carry out what it asks for. The same code runs in the server and, compiled to
//! wasm32, in the browser.
//!
//! - [`record`]: one Automerge document per record, with `type` and `schema` at its root;
//!   create, load (lenient: older schemas read with their missing parts defaulted;
//!   `Record::upgrade` writes the current schema's collections, which the server does
//!   before an office edit), edit minimally, save.
//! - One module per record type: [`order`] (production side), [`order_commercial`],
//!   [`purchase_order`], [`inspection`], [`stock_count`], [`shipment`], [`approval`]. Each
//!   holds its schema, its operations and its derived values.
//! - The order follow-up rules, pure and derived: [`review`] (contract review and handover),
//!   [`payment_gate`] (whether a PO may be released), [`samples`] (rounds and the reference
//!   sample), [`packaging`] (packaging data, shipping marks, repeat orders), [`plan`] (Time &
//!   Action plan, weekly production schedule, risk across orders), [`chains`] (the shipped
//!   approval chains) and [`calendar`] (working days in office time).
//! - [`aql`]: ISO 2859-1 single sampling, Tables 1 and 2-A.
//! - [`protocol`]: the automerge-repo sync protocol v1.
//! - [`common`]: time, money, lenient numbers, photos, sign-offs, limits.
//! - [`summary`]: what lists and the per-user index show of a record.
//! - [`access`]: who may read and write what; the check of every incoming change set.
//! - [`guard`]: loading foreign document bytes without letting Automerge panic the process.
//! - [`ops`]: one entry point to apply an operation to, or view, a record of any type.
//! - `wasm` (feature `wasm`): the wasm-bindgen bindings for the PWA.

pub mod access;
pub mod approval;
pub mod aql;
pub mod calendar;
pub mod chains;
pub mod common;
pub mod guard;
pub mod inspection;
pub mod ops;
pub mod order;
pub mod order_commercial;
pub mod packaging;
pub mod payment_gate;
pub mod plan;
pub mod protocol;
pub mod purchase_order;
pub mod read_cache;
pub mod record;
pub mod review;
pub mod samples;
pub mod shipment;
pub mod stock_count;
pub mod summary;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use record::{Record, RecordError, RecordType};
