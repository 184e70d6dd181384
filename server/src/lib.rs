//! # gendan-server
//!
//! Gendan's sync server, office REST API and command line. The binary `gendan` is a thin
//! shell around [`cli::run`]; each subcommand drives the pure rules of `gendan-core`.

pub mod accounts;
pub mod admin;
pub mod attribution;
pub mod backup;
pub mod blobs;
pub mod cli;
pub mod data_dir;
pub mod docs;
pub mod projections;
pub mod quarantine;
pub mod store;
