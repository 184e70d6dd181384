//! # gendan-server
//!
//! Gendan's sync server, office REST API and command line. The binary `gendan` is a thin
//! shell around [`cli::run`]; each subcommand drives the pure rules of `gendan-core`.

pub mod attribution;
pub mod cli;
pub mod docs;
pub mod projections;
pub mod quarantine;
pub mod store;
