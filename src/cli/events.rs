//! `wa-mcp events`: the webhook delivery log, and `wa-mcp events reprocess ID` to
//! recover a delivery from it.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::CliError;
use crate::config::Config;
use crate::model::Outcome;
use crate::store::{ReprocessReport, Store, read};
use crate::terminal::for_terminal;
use crate::timefmt::now_micros;
use crate::webhook::prepare_delivery;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: Option<EventsCommand>,
    /// Only deliveries that could not be processed
    #[arg(long)]
    pub failed: bool,
    /// How many to show
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Write a logged delivery's rows again from its stored payload (recovers a failed one)
    ///
    /// The payload is normalised by this version's code and its rows are written under
    /// the same delivery-log row, which then says processed (or failed, with the new
    /// error). Idempotent: run twice, or on a processed delivery, it adds nothing.
    Reprocess(ReprocessArgs),
}

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// The delivery's id, as `wa-mcp events` shows it
    pub id: i64,
}

pub fn events(config: &Config, args: &EventsArgs) -> Result<ExitCode, CliError> {
    if let Some(EventsCommand::Reprocess(reprocess)) = &args.command {
        return reprocess_event(config, reprocess.id);
    }
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
            for_terminal(e.request_id.as_deref().unwrap_or_default()),
            for_terminal(e.error.as_deref().unwrap_or_default())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn reprocess_event(config: &Config, id: i64) -> Result<ExitCode, CliError> {
    let store = Store::open(&config.db_path)?;
    let report = reprocess_delivery(&store, id)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no delivery {id} in the delivery log (`wa-mcp events` lists their ids)"
        ))
    })?;
    print_reprocessed(&report);
    // A delivery that still fails is not recovered: scripts see it in the exit status.
    Ok(if report.outcome == Outcome::Failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_reprocessed(r: &ReprocessReport) {
    println!(
        "delivery {}: {} -> {}",
        r.event_id,
        r.outcome_before,
        r.outcome.as_str()
    );
    println!(
        "  added: {} messages, {} statuses; already stored by this delivery: {}; stored by another: {}",
        r.new_messages, r.new_statuses, r.already_stored, r.duplicates
    );
    if let Some(error) = &r.error {
        println!("  still failing: {}", for_terminal(error));
    }
}

/// Recovers delivery `event_id` from the delivery log: its stored (redacted) payload
/// is normalised again by today's webhook code and its rows written under the same
/// `webhook_events` row, idempotently; `None` when the log has no such delivery. This
/// is how a delivery kept as `failed` (an unknown shape, a bug since fixed) is
/// recovered after an upgrade. Blocks the calling thread.
pub fn reprocess_delivery(
    store: &Store,
    event_id: i64,
) -> Result<Option<ReprocessReport>, crate::store::StoreError> {
    crate::store::reprocess::reprocess_delivery(store, event_id, |stored| {
        let request_id = stored.request_id.clone().unwrap_or_default();
        // The payload was redacted before it was kept; redacting it again changes nothing.
        prepare_delivery(stored.payload.as_bytes(), request_id, now_micros()).parsed
    })
}
