//! `wa-mcp mcp`: the MCP server on stdio, as Claude Desktop launches it, with the
//! webhook listener in the same process unless `--no-http` or the port is taken.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::CliError;
use crate::config::Config;
use crate::http::{self, AppState};
use crate::mcp::{self, WhatsAppServer};
use crate::messaging::{ChannelSenders, Messaging};
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Do not start the webhook listener (another process, such as `wa-mcp serve`, runs it)
    #[arg(long)]
    pub no_http: bool,
    /// Also be a Claude Code channel: push inbound messages into the session and relay
    /// permission prompts to WA_OWNER_NUMBERS
    #[arg(long)]
    pub channel: bool,
}

pub fn mcp(config: &Config, args: &McpArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let store = Store::open(&config.db_path)?;
        // One set of metrics for the process: the listener serves what the client and
        // the sends record.
        let metrics = Arc::new(Metrics::new());
        let meta = super::meta_client(config).with_metrics(Arc::clone(&metrics));
        let messaging = Messaging::new(store.clone(), meta, config);
        let retention = store.spawn_payload_retention(config.payload_retention_days);
        if let Err(e) = messaging.settle_abandoned_sends().await {
            tracing::warn!(error = %e, "could not settle interrupted sends");
        }
        let (stop_http, http_stopped) = oneshot::channel::<()>();
        let http_task = if args.no_http {
            None
        } else {
            start_http(config, &messaging, metrics)
                .await
                .map(|(listener, state)| {
                    tokio::spawn(http::run(listener, state, async {
                        let _ = http_stopped.await;
                    }))
                })
        };
        let mut server = WhatsAppServer::new(messaging.clone());
        if args.channel {
            log_channel_settings(&messaging);
            server = server.with_channel();
        }
        let served = mcp::serve(server, rmcp::transport::stdio_pipes()).await;
        let _ = stop_http.send(());
        if let Some(task) = http_task {
            let _ = task.await;
        }
        if let Some(task) = retention {
            task.abort();
            let _ = task.await;
        }
        served?;
        Ok(ExitCode::SUCCESS)
    });
    // The client is gone and every answer it could still read was written. A call to
    // Meta left running on a blocking thread has lost its caller (the transport dropped
    // it): waiting for it, up to Meta's timeout, would only hold the process open. Its
    // row stays `pending` until a start-up settles it as `unknown` (see
    // `Messaging::settle_abandoned_sends`), as after a crash.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    result
}

/// Says on stderr whose messages the channel pushes and whether prompts are relayed.
fn log_channel_settings(messaging: &Messaging) {
    let senders = messaging.channel_senders();
    let owners = messaging.owners();
    tracing::info!(
        senders = %senders.describe(),
        owner_numbers = owners.phones().len(),
        permission_relay = !owners.phones().is_empty(),
        "channel_enabled"
    );
    if matches!(senders, ChannelSenders::Everyone) {
        tracing::warn!(
            "WA_CHANNEL_SENDERS=* pushes every stranger's message into a session that may run \
             commands; list trusted numbers instead"
        );
    } else if !senders.allows_anyone() {
        tracing::warn!(
            "no sender is allowed into the channel: set WA_OWNER_NUMBERS or WA_CHANNEL_SENDERS"
        );
    }
    if !owners.invalid.is_empty() {
        tracing::warn!(positions = ?owners.invalid, "WA_OWNER_NUMBERS entries that are not numbers were ignored");
    }
}

/// How long the runtime waits, at exit, for blocking work still running.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Binds the webhook port, or says on stderr why not and carries on without it.
async fn start_http(
    config: &Config,
    messaging: &Messaging,
    metrics: Arc<Metrics>,
) -> Option<(TcpListener, Arc<AppState>)> {
    let addr = SocketAddr::new(config.bind, config.port);
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            tracing::info!(address = %addr, "webhook listener started");
            let state = Arc::new(AppState {
                store: messaging.store().clone(),
                app_secret: config.app_secret.clone(),
                verify_token: config.webhook_verify_token.clone(),
                metrics,
                remote: super::remote::remote(config, messaging),
                limits: Default::default(),
            });
            Some((listener, state))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(
                address = %addr,
                "webhook port is taken (a `wa-mcp serve` daemon or another copy runs it); continuing stdio-only"
            );
            None
        }
        Err(e) => {
            tracing::warn!(address = %addr, error = %e, "cannot listen for webhooks; continuing stdio-only");
            None
        }
    }
}
