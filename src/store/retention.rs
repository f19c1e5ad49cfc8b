//! How long delivery-log payloads are kept (`WA_PAYLOAD_RETENTION_DAYS`): the task that
//! drops old ones, in small batches, while `serve` or `mcp` runs.
//!
//! Only the payload goes; the row (when, outcome, hash, size, counts) stays. The payload
//! of a `failed` delivery is never dropped by age: it is the only copy of something Meta
//! will not send again, kept until it is reprocessed (then it ages like any other) or
//! pruned.

use std::time::Duration;

use rusqlite::params;

use super::writer::WriteCtx;
use super::{Store, StoreError};
use crate::timefmt::{format_micros, now_micros};

/// `payload_dropped` of a row whose payload the retention task dropped.
pub const PAYLOAD_EXPIRED: &str = "expired";

/// Most rows one write job clears, so the writer is never held for long.
pub const EXPIRE_BATCH: usize = 500;

/// How often the task looks for payloads to drop.
pub const EXPIRE_EVERY: Duration = Duration::from_secs(60 * 60);

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// Drops the payloads of at most `limit` deliveries received before `cutoff` (a
/// timestamp as `received_at` stores it), oldest first, except those of `failed`
/// deliveries; returns how many it dropped.
pub fn drop_expired_payloads(
    ctx: &mut WriteCtx<'_>,
    cutoff: &str,
    limit: usize,
) -> Result<usize, StoreError> {
    let dropped = ctx.exec(
        "UPDATE webhook_events SET payload = NULL, payload_dropped = ?3
         WHERE id IN (SELECT id FROM webhook_events
                      WHERE payload IS NOT NULL AND received_at < ?1 AND outcome <> 'failed'
                      ORDER BY received_at LIMIT ?2)",
        params![cutoff, limit as i64, PAYLOAD_EXPIRED],
    )?;
    Ok(dropped)
}

impl Store {
    /// Drops every delivery-log payload received more than `days` days before now
    /// (`failed` ones excepted), in write jobs of [`EXPIRE_BATCH`] rows; returns how many
    /// it dropped. The freed pages are reused by later writes (the file does not shrink).
    pub async fn expire_payloads(&self, days: u32) -> Result<usize, StoreError> {
        let cutoff = format_micros(now_micros() - i64::from(days) * MICROS_PER_DAY);
        let mut total = 0;
        loop {
            let cutoff = cutoff.clone();
            let dropped = self
                .write(move |ctx| drop_expired_payloads(ctx, &cutoff, EXPIRE_BATCH))
                .await?;
            total += dropped;
            if dropped < EXPIRE_BATCH {
                return Ok(total);
            }
        }
    }

    /// Starts the retention task: [`Store::expire_payloads`] now and every
    /// [`EXPIRE_EVERY`], logging what it dropped and any failure (it tries again at the
    /// next round). `None` when `days` is 0 (keep every payload). The task holds a
    /// handle on the store: abort it before the store is meant to close.
    pub fn spawn_payload_retention(&self, days: u32) -> Option<tokio::task::JoinHandle<()>> {
        if days == 0 {
            tracing::info!("payload_retention_off: delivery-log payloads are kept forever");
            return None;
        }
        let store = self.clone();
        Some(tokio::spawn(async move {
            let mut every = tokio::time::interval(EXPIRE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                match store.expire_payloads(days).await {
                    Ok(0) => {}
                    Ok(dropped) => tracing::info!(dropped, days, "payloads_expired"),
                    Err(e) => tracing::warn!(error = %e, "payload_expiry_failed"),
                }
            }
        }))
    }
}
