//! # gendan-tests
//!
//! End-to-end tests of the sync server: the real `gendan` binary, started as a process on
//! `127.0.0.1` with a fresh data folder, and clients speaking automerge-repo's WebSocket
//! protocol v1 to it. This library is the harness the tests in `tests/` share:
//!
//! * [`server`]: [`Server`], a running `gendan serve` that is killed when dropped (even when
//!   the test panics), with `kill -9` and restart on the same data folder;
//! * [`http`]: a tiny blocking HTTP/1.1 client for the REST API (login, records, health);
//! * [`ws`]: blocking WebSocket clients — [`SyncClient`] runs the device-side protocol
//!   state machine of `gendan-core` ([`gendan_core::protocol::client::ClientPeer`]) over a
//!   real socket, [`RawSocket`] sends whatever bytes a test wants.
//!
//! The JS interop tests (`js/`) and the samod test use their own clients; they share only
//! the demo data set: users `admin`, `merch`, `qc1`, `qc2`, `clerk1`, `factory1`, … with
//! the password [`DEMO_PASSWORD`].

pub mod http;
pub mod server;
pub mod ws;

pub use http::{Login, login};
pub use server::{Server, ServerOptions};
pub use ws::{RawSocket, Recv, SyncClient};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "gendan-demo";

/// How long a test waits for something that should happen within milliseconds on
/// 127.0.0.1, before it fails: generous, because CI machines are slow and debug builds slower.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);
