//! The automerge-repo sync protocol v1.
//!
//! * [`ids`]: the identifiers messages carry ([`DocumentId`], [`PeerId`], [`StorageId`],
//!   [`SessionId`]).
//! * [`generate`]: finding that a peer needs nothing without building a sync message.
//! * [`receive`]: receiving a sync message without walking the document's whole history.
//! * [`wire`]: the codec between one binary WebSocket frame and one [`Message`]
//!   ([`decode`], [`encode`]), with its limits ([`FRAME_BYTES_MAX`] and friends).
//!
//! Like the rest of the core this does no IO: the caller reads frames from its socket and
//! hands them in, and sends the bytes it gets back.

pub mod client;
pub mod generate;
pub mod hub;
pub mod ids;
pub mod receive;
pub mod wire;

pub use ids::{DocumentId, DocumentIdError, PeerId, SessionId, StorageId};
pub use wire::{
    ARRAY_ITEMS_MAX, DEPTH_MAX, FRAME_BYTES_MAX, Message, PROTOCOL_VERSION, PeerMetadata,
    RemoteHeads, TEXT_BYTES_MAX, WireError, decode, decode_with_max, encode,
};
