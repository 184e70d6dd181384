//! # gendan-server
//!
//! Gendan's sync server, office REST API and command line. The binary `gendan` is a thin
//! shell around [`cli::run`]; each subcommand drives the pure rules of `gendan-core`.

pub mod cli;
pub mod store;
