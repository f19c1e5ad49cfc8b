//! `wa-mcp prune --before DATE [--dry-run]`: says what is older than DATE, then removes
//! it (messages, their status events, delivery-log payloads and saved media) a bounded
//! batch per write, so a `serve` running meanwhile keeps committing deliveries between
//! batches. Contacts, and so who has written to us, stay.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::CliError;
use super::backup::human_bytes;
use super::backup_media::is_plain_name;
use crate::config::Config;
use crate::store::Store;
use crate::store::prune::{
    PrunePlan, plan_prune, prune_message_batch, prune_orphan_status_batch, prune_payload_batch,
};
use crate::timefmt::{format_micros, now_micros, parse_rfc3339};

/// Rows per write job: a few milliseconds of the writer's time.
const BATCH: usize = 500;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove what was stored before this UTC date (2026-06-01) or time (2026-06-01T12:00:00Z)
    #[arg(long, value_name = "DATE")]
    pub before: String,
    /// Only say what would be removed
    #[arg(long)]
    pub dry_run: bool,
}

/// What a prune removed.
#[derive(Debug, Default)]
struct Removed {
    messages: usize,
    status_events: usize,
    payloads: usize,
    media_files: usize,
    media_errors: Vec<String>,
}

pub fn prune(config: &Config, args: &PruneArgs) -> Result<ExitCode, CliError> {
    let cutoff = parse_cutoff(&args.before)?;
    if !config.db_path.is_file() {
        return Err(CliError::Failed(format!(
            "no database at {} (WA_DB_PATH): nothing to prune",
            config.db_path.display()
        )));
    }
    let store = Store::open(&config.db_path)?;
    let at = cutoff.clone();
    let plan = store.read_blocking(move |c| plan_prune(c, &at))?;
    print_plan(&cutoff, &plan);
    if args.dry_run {
        println!("dry run: nothing was removed");
        return Ok(ExitCode::SUCCESS);
    }
    let removed = remove_all(&store, &cutoff)?;
    println!(
        "removed {} messages, {} status events, {} delivery-log payloads and {} saved media files",
        removed.messages, removed.status_events, removed.payloads, removed.media_files
    );
    if removed.messages + removed.payloads > 0 {
        println!(
            "  the freed space is reused by new rows; the file itself does not shrink \
             (`wa-mcp backup` writes a compact copy)"
        );
    }
    for failure in &removed.media_errors {
        eprintln!("warning: could not delete media file {failure}");
    }
    Ok(if removed.media_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A stored timestamp from `2026-06-01` (midnight UTC) or an RFC 3339 time; refuses a
/// time still to come.
fn parse_cutoff(input: &str) -> Result<String, CliError> {
    let text = input.trim();
    let full = match text.len() {
        10 => format!("{text}T00:00:00Z"),
        _ => text.to_owned(),
    };
    let micros = parse_rfc3339(&full).map_err(|_| {
        CliError::Usage(format!(
            "--before {input:?}: expected a UTC date like 2026-06-01 or a time like 2026-06-01T12:00:00Z"
        ))
    })?;
    if micros > now_micros() {
        return Err(CliError::Usage(format!(
            "--before {input}: that is in the future, which would remove everything; give a past date"
        )));
    }
    Ok(format_micros(micros))
}

fn print_plan(cutoff: &str, plan: &PrunePlan) {
    println!("prune: what was stored before {cutoff}");
    println!(
        "  {} of {} messages, with {} status events",
        plan.messages, plan.messages_in_all, plan.status_events
    );
    println!(
        "  {} delivery-log payloads ({}; the log rows stay)",
        plan.payloads,
        human_bytes(u64::try_from(plan.payload_bytes).unwrap_or(0))
    );
    println!(
        "  {} saved media files ({})",
        plan.media_files,
        human_bytes(u64::try_from(plan.media_bytes).unwrap_or(0))
    );
    println!(
        "  every contact stays, with who has written to us ({} keep no messages)",
        plan.contacts_emptied
    );
}

/// Runs the batches until nothing old is left: messages (deleting their media files
/// after each commit), orphan status events, then payloads.
fn remove_all(store: &Store, cutoff: &str) -> Result<Removed, CliError> {
    let mut removed = Removed::default();
    let media = crate::messaging::media_dir(store.path());
    loop {
        let at = cutoff.to_owned();
        let batch = store.write_blocking(move |ctx| prune_message_batch(ctx, &at, BATCH))?;
        if batch.messages == 0 {
            break;
        }
        removed.messages += batch.messages;
        removed.status_events += batch.status_events;
        for name in batch.media_files {
            match delete_media_file(&media, &name) {
                Ok(()) => removed.media_files += 1,
                Err(e) => removed.media_errors.push(format!("{name}: {e}")),
            }
        }
    }
    removed.status_events += repeat(store, cutoff, prune_orphan_status_batch)?;
    removed.payloads += repeat(store, cutoff, prune_payload_batch)?;
    Ok(removed)
}

type Batch =
    fn(&mut crate::store::WriteCtx<'_>, &str, usize) -> Result<usize, crate::store::StoreError>;

/// Runs `batch` as one write job after another until one removes nothing.
fn repeat(store: &Store, cutoff: &str, batch: Batch) -> Result<usize, CliError> {
    let mut total = 0;
    loop {
        let at = cutoff.to_owned();
        let n = store.write_blocking(move |ctx| batch(ctx, &at, BATCH))?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// Deletes a media file no row names any more; one already gone is fine.
fn delete_media_file(dir: &Path, name: &str) -> std::io::Result<()> {
    if !is_plain_name(name) {
        return Err(std::io::Error::other("not a plain file name"));
    }
    match std::fs::remove_file(dir.join(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_midnight_utc_and_the_future_is_refused() {
        assert_eq!(
            parse_cutoff("2026-06-01").expect("date"),
            "2026-06-01T00:00:00.000000Z"
        );
        assert_eq!(
            parse_cutoff("2026-06-01T12:30:00+02:00").expect("time"),
            "2026-06-01T10:30:00.000000Z"
        );
        for bad in ["yesterday", "2026-13-01", "", "9999-01-01"] {
            assert!(parse_cutoff(bad).is_err(), "{bad}");
        }
    }
}
