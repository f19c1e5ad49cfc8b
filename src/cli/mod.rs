//! The command line: clap definitions, logging set-up and one function per command.

mod auth;
mod backup;
mod backup_media;
mod doctor;
pub mod events;
mod mcp;
mod prune;
mod remote;
mod restore;
mod restore_media;
mod search;
mod send;
mod serve;
mod simulate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, ConfigArgs};
use crate::store::StoreError;

pub use simulate::{SimulateInboundArgs, simulated_text_delivery};

/// WhatsApp for Claude (or any MCP client) through Meta's official Cloud API.
#[derive(Debug, Parser)]
#[command(name = "wa-mcp", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the webhook HTTP server until SIGINT or SIGTERM
    Serve(serve::ServeArgs),
    /// Run the MCP server on stdio (as Claude Desktop launches it), with the webhook listener
    Mcp(mcp::McpArgs),
    /// Send a WhatsApp text, file, location or buttons (the same paths as the MCP tools)
    Send(Box<send::SendArgs>),
    /// Print messages, oldest first
    Messages(send::MessagesArgs),
    /// Print the messages a full-text search finds, best match first
    Search(search::SearchArgs),
    /// Apply database migrations and exit
    Migrate,
    /// Check the configuration, the database and the port; with --online, the token and
    /// number at Meta; with --webhook URL, the public callback URL
    Doctor(doctor::DoctorArgs),
    /// Send a realistic, signed test delivery to a running server
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Show the webhook delivery log, newest first
    Events(events::EventsArgs),
    /// The owner's side of remote MCP: passphrase, approved clients, revocation
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// A consistent, checked copy of the database and its saved media in DIR (safe while
    /// serve runs); keeps the newest N
    Backup(backup::BackupArgs),
    /// Replace the database with a backup after checking it; refuses while another
    /// process has the database open
    Restore(restore::RestoreArgs),
    /// Remove messages, their status events, delivery-log payloads and saved media stored
    /// before a date (after saying what goes); contacts and who wrote to us stay
    Prune(prune::PruneArgs),
    /// Benchmarks and the crash test (see docs/performance.md)
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// An inbound text message from a WhatsApp user
    Inbound(SimulateInboundArgs),
}

/// A command's failure, as the user reads it on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Bench(#[from] crate::bench::BenchError),
    /// A command that could not do what was asked, said for the user.
    #[error("{0}")]
    Failed(String),
}

/// Logs go to stderr only (stdout belongs to command output and, later, to MCP),
/// filtered by `RUST_LOG` (default `info`, migrations' own chatter at `warn`), coloured only on a terminal.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,refinery_core=warn"))
        // The HTTP client's own debug and trace output carries request headers, the
        // bearer token among them: never let it through, whatever RUST_LOG says.
        .add_directive(quiet("ureq"))
        .add_directive(quiet("ureq_proto"))
        .add_directive(quiet("rustls"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

fn quiet(target: &str) -> tracing_subscriber::filter::Directive {
    format!("{target}=info")
        .parse()
        .unwrap_or_else(|_| tracing_subscriber::filter::LevelFilter::INFO.into())
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let config = Config::from_args(cli.config);
    match cli.command {
        Command::Serve(args) => serve::serve(&config, &args),
        Command::Mcp(args) => mcp::mcp(&config, &args),
        Command::Send(args) => send::send(&config, &args),
        Command::Messages(args) => send::messages(&config, &args),
        Command::Search(args) => search::search(&config, &args),
        Command::Migrate => migrate(&config),
        Command::Doctor(args) => doctor::doctor(&config, &args),
        Command::Simulate(SimulateCommand::Inbound(args)) => simulate::inbound(&config, &args),
        Command::Events(args) => events::events(&config, &args),
        Command::Auth(command) => auth::auth(&config, &command),
        Command::Backup(args) => backup::backup(&config, &args),
        Command::Restore(args) => restore::restore(&config, &args),
        Command::Prune(args) => prune::prune(&config, &args),
        Command::Bench(command) => Ok(crate::bench::run(&config, &command)?),
    }
}

/// The Graph API client as the configuration describes it.
pub fn meta_client(config: &Config) -> crate::meta::MetaClient {
    crate::meta::MetaClient::new(crate::meta::MetaClientOptions {
        base_url: config.graph_base_url.clone(),
        api_version: config.graph_api_version.clone(),
        token: config.access_token.clone(),
        timeout: std::time::Duration::from_secs(30),
        retry: crate::meta::RetryPolicy::default(),
    })
}

fn migrate(config: &Config) -> Result<ExitCode, CliError> {
    let applied = crate::store::Store::migrate_file(&config.db_path)?;
    let version = crate::store::Store::schema_version();
    if applied.is_empty() {
        println!(
            "{}: schema is current (version {version})",
            config.db_path.display()
        );
    } else {
        println!(
            "{}: applied {} (now version {version})",
            config.db_path.display(),
            applied.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
