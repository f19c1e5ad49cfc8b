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
use crate::messaging::Messaging;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Do not start the webhook listener (another process, such as `wa-mcp serve`, runs it)
    #[arg(long)]
    pub no_http: bool,
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
        let served = mcp::serve(
            WhatsAppServer::new(messaging),
            rmcp::transport::stdio_pipes(),
        )
        .await;
        let _ = stop_http.send(());
        if let Some(task) = http_task {
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
