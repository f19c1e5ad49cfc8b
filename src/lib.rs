//! wa-mcp: WhatsApp for Claude and any MCP client, through Meta's official Cloud API.
//!
//! The layout follows the boundaries: [`http`] (the hyper transport and routes),
//! [`webhook`] (signature, redaction, normalisation), [`store`] (the SQLite file and its
//! one writer), [`cli`] (the commands), with [`config`], [`model`], [`phone`] and
//! [`timefmt`] shared by all, and [`terminal`] for printing what others wrote.

pub mod bench;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod hex;
pub mod http;
pub mod mcp;
pub mod messaging;
pub mod meta;
pub mod metrics;
pub mod model;
pub mod phone;
pub mod store;
pub mod terminal;
pub mod timefmt;
pub mod webhook;
