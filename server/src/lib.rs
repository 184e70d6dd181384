//! # gendan-server
//!
//! Gendan's sync server, office REST API and command line. The binary `gendan` is a thin
//! shell around [`cli::run`]; each subcommand drives the pure rules of `gendan-core`.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod attribution;
pub mod backup;
pub mod blobs;
pub mod cli;
pub mod data_dir;
pub mod demo;
pub mod derived;
pub mod docs;
pub mod excel;
pub mod labels;
pub mod memory;
pub mod persist;
pub mod projections;
pub mod quarantine;
pub mod serve;
pub mod static_files;
pub mod store;
pub mod sync;
pub mod ws;
