//! wa-mcp: WhatsApp for Claude and any MCP client, through Meta's official Cloud API.
//!
//! Four layers, each using only those below it (`docs/architecture/overview.md`, kept
//! by `tests/layers.rs`): shared values and helpers ([`model`], [`hex`], [`timefmt`],
//! [`phone`], [`config`], [`metrics`], and [`terminal`] for printing what others
//! wrote); the boundaries ([`store`], the SQLite file and its one writer; [`webhook`],
//! signature, redaction and normalisation; [`meta`], the Graph API client); what an
//! owner does ([`messaging`]); and the transports and tools ([`http`], [`mcp`],
//! [`cli`], [`doctor`], [`bench`](mod@bench)).

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
pub mod redact;
pub mod store;
pub mod terminal;
pub mod timefmt;
pub mod webhook;
