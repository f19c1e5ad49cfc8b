//! `wa-mcp bench remote`: a `tools/call get_messages` through `/mcp` on loopback, bearer
//! check included, against the same call over stdio in the same run (compare the ratio:
//! both share the machine's noise). The server is this binary's `serve` with remote MCP
//! on; its client is approved in-process through the real authorization server.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::BenchError;
use super::server::ServerProcess;
use super::stats::Summary;
use crate::config::PublicUrl;
use crate::messaging::oauth::{self, Authority, AuthorizeParams, ClientRegistration, Decision};
use crate::store::Store;
use crate::store::synthetic::{self, SyntheticMessage};
use crate::timefmt::format_micros;

#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Messages in the database
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Tool calls timed on each transport
    #[arg(long, default_value_t = 1_000)]
    pub calls: usize,
}

const BASE_US: i64 = 1_764_000_000_000_000;
/// The latency a `/mcp` tool call should stay under on loopback (issue 15).
const TARGET_P99: Duration = Duration::from_millis(5);
const REDIRECT: &str = "http://127.0.0.1:1/callback";
const PASSPHRASE: &str = "bench passphrase, long enough";

pub fn run(args: &RemoteArgs) -> Result<ExitCode, BenchError> {
    let dir = super::load::tempfile_dir()?;
    let db = dir.join("remote.db");
    fill(&db, args.rows)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let token = approved_token(&db, &base)?;
    let server = ServerProcess::start_with_env(&db, Some(port), &[], &[("WA_PUBLIC_URL", &base)])?;
    let mut http = time_http_calls(&base, &token, args.calls)?;
    server.stop();
    let since = format_micros(BASE_US + (args.rows / 2) as i64);
    let middle = format!("{:012}", args.rows / 2);
    let mut stdio = super::pages::time_tool_calls(&db, &since, &middle, args.calls)?;
    let (Some(h), Some(s)) = (Summary::of(&mut http), Summary::of(&mut stdio)) else {
        return Err(BenchError::Failed("no calls were timed".into()));
    };
    println!("get_messages tool call over /mcp (loopback, bearer checked): {h}");
    println!("get_messages tool call over stdio:                            {s}");
    println!(
        "p50 ratio /mcp : stdio = {:.2}",
        h.p50.as_secs_f64() / s.p50.as_secs_f64().max(1e-9)
    );
    let met = if h.p99 < TARGET_P99 { "met" } else { "missed" };
    println!(
        "target: p99 < {} ms over /mcp on loopback: {met}",
        TARGET_P99.as_millis()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

fn fill(db: &Path, rows: usize) -> Result<(), BenchError> {
    let contact = |i: usize| format!("4477009{:05}", i % 100);
    let messages = (0..rows).map(|i| SyntheticMessage {
        id: format!("{i:012}"),
        inbound: i % 2 == 0,
        wamid: format!("wamid.R{i}"),
        contact: contact(i),
        body: format!("message number {i}"),
        at: format_micros(BASE_US + i as i64),
        raw: None,
    });
    synthetic::fill(db, (0..100).map(contact), &format_micros(BASE_US), messages)?;
    Ok(())
}

/// Sets a passphrase, registers a client and approves it through the authorization
/// server on `db`: an access token for `<base>/mcp`.
fn approved_token(db: &Path, base: &str) -> Result<String, BenchError> {
    let failed =
        |e: &dyn std::fmt::Display| BenchError::Failed(format!("approving the bench client: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(db)?;
        oauth::set_passphrase(&store, PASSPHRASE.into())
            .await
            .map_err(|e| failed(&e))?;
        let public = PublicUrl::parse(base).map_err(|e| failed(&e))?;
        let authority = Authority::new(store, public);
        let registration = ClientRegistration {
            redirect_uris: vec![REDIRECT.into()],
            client_name: Some("bench".into()),
            ..ClientRegistration::default()
        };
        let client = authority
            .register(registration)
            .await
            .map_err(|e| failed(&e))?
            .client_id;
        let verifier = oauth::secrets::new_secret().map_err(|e| failed(&e))?;
        let challenge = {
            use sha2::Digest;
            oauth::secrets::base64url(&sha2::Sha256::digest(verifier.as_bytes()))
        };
        let page = authority
            .begin_consent(AuthorizeParams {
                response_type: Some("code".into()),
                client_id: Some(client.clone()),
                redirect_uri: Some(REDIRECT.into()),
                code_challenge: Some(challenge),
                code_challenge_method: Some("S256".into()),
                ..AuthorizeParams::default()
            })
            .await
            .map_err(|e| failed(&format!("{e:?}")))?;
        let approve = Decision::Approve {
            passphrase: PASSPHRASE.into(),
        };
        let location = authority
            .decide(&page.csrf, page.cookie.as_deref(), approve)
            .await
            .map_err(|e| failed(&format!("{e:?}")))?;
        let code = location
            .split_once("code=")
            .and_then(|(_, rest)| rest.split('&').next())
            .ok_or_else(|| failed(&"no code in the redirect"))?;
        let pair = authority
            .exchange_code(code, &client, REDIRECT, &verifier)
            .await
            .map_err(|e| failed(&e))?;
        Ok(pair.access_token)
    })
}

/// `initialize`, then `calls` round trips of `tools/call get_messages` on one session.
fn time_http_calls(base: &str, token: &str, calls: usize) -> Result<Vec<Duration>, BenchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}/mcp");
    let auth = format!("Bearer {token}");
    let post = |session: Option<&str>,
                body: serde_json::Value|
     -> Result<(u16, Option<String>, String), BenchError> {
        let mut req = agent
            .post(&url)
            .header("authorization", &auth)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        if let Some(s) = session {
            req = req
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-11-25");
        }
        let mut resp = req
            .send(body.to_string())
            .map_err(|e| BenchError::Failed(format!("/mcp did not answer: {e}")))?;
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((resp.status().as_u16(), session, text))
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}});
    let (status, session, body) = post(None, init)?;
    let session = session.filter(|_| status == 200).ok_or_else(|| {
        BenchError::Failed(format!("initialize over /mcp answered {status}: {body}"))
    })?;
    post(
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )?;
    let mut samples = Vec::with_capacity(calls);
    for i in 1..=calls {
        let call = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "get_messages", "arguments": {"limit": 20}}});
        let t = Instant::now();
        let (status, _, body) = post(Some(&session), call)?;
        samples.push(t.elapsed());
        if status != 200 || !body.contains("\"messages\"") {
            return Err(BenchError::Failed(format!(
                "tools/call over /mcp answered {status}: {body}"
            )));
        }
    }
    Ok(samples)
}
