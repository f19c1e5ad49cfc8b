//! `wa-mcp serve`: the webhook listener as a long-running service.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use tokio::net::TcpListener;

use super::CliError;
use crate::config::Config;
use crate::http::{self, AppState};
use crate::messaging::Messaging;
use crate::metrics::Metrics;
use crate::store::{Store, StoreOptions};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Most deliveries committed together in one transaction (1 = one commit per
    /// request, the baseline the benchmarks compare against)
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_batch: u32,
    /// Deliveries that may wait for the writer; beyond it requests get 503 + Retry-After
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub queue: u32,
}

pub fn serve(config: &Config, args: &ServeArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let options = StoreOptions {
            max_batch: args.max_batch as usize,
            queue_capacity: args.queue as usize,
            ..StoreOptions::default()
        };
        let store = Store::open_with(&config.db_path, options)?;
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            CliError::Usage(format!(
                "cannot listen on {addr}: {e} (is another wa-mcp running? set APP_HTTP_PORT or --port)"
            ))
        })?;
        warn_on_missing_secrets(config);
        tracing::info!(
            address = %listener.local_addr()?,
            database = %config.db_path.display(),
            "listening"
        );
        let metrics = Arc::new(Metrics::new());
        let meta = super::meta_client(config).with_metrics(Arc::clone(&metrics));
        let messaging = Messaging::new(store.clone(), meta, config);
        let state = Arc::new(AppState {
            store,
            app_secret: config.app_secret.clone(),
            verify_token: config.webhook_verify_token.clone(),
            metrics,
            remote: super::remote::remote(config, &messaging),
            limits: Default::default(),
        });
        let retention = state.store.spawn_payload_retention(config.payload_retention_days);
        http::run(listener, state, shutdown_signal()).await;
        if let Some(task) = retention {
            task.abort();
            let _ = task.await;
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

fn warn_on_missing_secrets(config: &Config) {
    if config.app_secret.is_none() {
        tracing::warn!("WA_APP_SECRET is not set: every webhook POST will be refused with 404");
    }
    if config.webhook_verify_token.is_none() {
        tracing::warn!(
            "WA_WEBHOOK_VERIFY_TOKEN is not set: Meta's verification handshake will be refused"
        );
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown_requested"),
        () = term => tracing::info!(signal = "SIGTERM", "shutdown_requested"),
    }
}
