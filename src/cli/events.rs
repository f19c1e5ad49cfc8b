//! `wa-mcp events`: the webhook delivery log.

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::store::{Store, read};

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only deliveries that could not be processed
    #[arg(long)]
    pub failed: bool,
    /// How many to show
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

pub fn events(config: &Config, args: &EventsArgs) -> Result<ExitCode, CliError> {
    let store = Store::open(&config.db_path)?;
    let (failed, limit) = (args.failed, usize::from(args.limit));
    let rows = store.read_blocking(move |c| read::recent_events(c, failed, limit))?;
    if rows.is_empty() {
        println!("no {}deliveries yet", if failed { "failed " } else { "" });
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<27}  {:<9}  {:>4}  {:>4}  {:<36}  error",
        "id", "received", "outcome", "msgs", "sts", "request id"
    );
    for e in rows {
        println!(
            "{:>6}  {:<27}  {:<9}  {:>4}  {:>4}  {:<36}  {}",
            e.id,
            e.received_at,
            e.outcome,
            e.messages,
            e.statuses,
            e.request_id.unwrap_or_default(),
            e.error.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
