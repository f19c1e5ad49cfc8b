//! Load, paging, memory, crash and upload benchmarks that anyone can rerun: `wa-mcp bench ...`.
//! They drive the real binary over real sockets and verify what they measured: through
//! the database that every acknowledged delivery is stored exactly once, through a
//! stand-in for Meta that an uploaded file arrived whole.

mod attackers;
mod corpus;
mod corpus_words;
mod crash;
mod load;
mod pages;
mod payload;
mod remote;
mod replays;
mod search;
mod search_queries;
mod server;
mod slow_bodies;
mod stats;
mod upload;
mod upload_sink;

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::store::StoreError;

pub use crash::CrashArgs;
pub use load::WebhookArgs;
pub use pages::PagesArgs;
pub use remote::RemoteArgs;
pub use replays::ReplaysArgs;
pub use search::SearchArgs;
pub use slow_bodies::SlowBodiesArgs;
pub use upload::UploadArgs;

/// Why a benchmark could not run or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run could not start, or what it measured did not verify.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signed, realistic deliveries against a server; throughput, latency, then verification
    Webhook(WebhookArgs),
    /// get_messages pages on a 1,000,000-row database, in the store and over stdio
    Pages(PagesArgs),
    /// A get_messages tool call over /mcp on loopback (OAuth bearer checked) against stdio
    Remote(RemoteArgs),
    /// SIGKILL the server under load, restart, and check nothing acknowledged was lost
    Crash(CrashArgs),
    /// One large delivery replayed many times: how much the database file grows
    Replays(ReplaysArgs),
    /// search_messages and find_contacts on 1,000,000 messages and 50,000 contacts
    Search(SearchArgs),
    /// send_media of a large local file to a local stand-in for Meta: the memory it takes
    Upload(UploadArgs),
    /// Hostile connections trickling large bodies (unsigned or wrongly signed) while
    /// signed deliveries keep coming: the server's memory and their latency
    SlowBodies(SlowBodiesArgs),
}

pub fn run(config: &Config, command: &BenchCommand) -> Result<ExitCode, BenchError> {
    match command {
        BenchCommand::Webhook(args) => load::run(config, args),
        BenchCommand::Pages(args) => pages::run(args),
        BenchCommand::Crash(args) => crash::run(args),
        BenchCommand::Replays(args) => replays::run(args),
        BenchCommand::Remote(args) => remote::run(args),
        BenchCommand::Search(args) => search::run(config, args),
        BenchCommand::Upload(args) => upload::run(args),
        BenchCommand::SlowBodies(args) => slow_bodies::run(args),
    }
}
