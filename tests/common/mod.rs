//! Test harness: a real server on 127.0.0.1:0 over a temp database, and helpers to
//! sign, post and look at what was stored.
#![allow(dead_code)]

pub mod inbound;
pub mod listener;
pub mod mcp_checks;
pub mod mcp_client;
pub mod remote;
pub mod seed;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use tempfile::TempDir;
use tokio::sync::oneshot;
use wa_mcp::config::Secret;
use wa_mcp::http::{self, AppState};
use wa_mcp::store::Store;
use wa_mcp::webhook::signature::signature_header;

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";

/// A fixture payload from `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A fixture payload as JSON, to edit before sending.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).expect("fixture is JSON")
}

pub fn sign(body: &[u8]) -> String {
    signature_header(APP_SECRET.as_bytes(), body)
}

/// What a test sees of an HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub request_id: Option<String>,
    pub content_type: Option<String>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub db: PathBuf,
    _dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server with both secrets configured.
    pub fn start() -> TestServer {
        TestServer::start_with(Some(APP_SECRET), Some(VERIFY_TOKEN))
    }

    pub fn start_with(app_secret: Option<&str>, verify_token: Option<&str>) -> TestServer {
        TestServer::start_with_options(
            app_secret,
            verify_token,
            wa_mcp::store::StoreOptions::default(),
        )
    }

    /// A server whose store is opened with `options` (a short busy timeout, say).
    pub fn start_with_options(
        app_secret: Option<&str>,
        verify_token: Option<&str>,
        options: wa_mcp::store::StoreOptions,
    ) -> TestServer {
        TestServer::start_full(app_secret, verify_token, options, Default::default())
    }

    /// A server with both secrets whose listener keeps `limits` (a small connection
    /// cap, a short grace for slow bodies, ...).
    pub fn start_with_limits(limits: http::limits::LimitSettings) -> TestServer {
        TestServer::start_full(
            Some(APP_SECRET),
            Some(VERIFY_TOKEN),
            wa_mcp::store::StoreOptions::default(),
            limits,
        )
    }

    fn start_full(
        app_secret: Option<&str>,
        verify_token: Option<&str>,
        options: wa_mcp::store::StoreOptions,
        limits: http::limits::LimitSettings,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("data").join("wa-mcp.db");
        let app_secret = Secret::from_setting(app_secret.map(str::to_owned));
        let verify_token = Secret::from_setting(verify_token.map(str::to_owned));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let db_for_server = db.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let store = Store::open_with(&db_for_server, options).expect("store opens");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("report addr");
                let state = Arc::new(AppState {
                    store,
                    app_secret,
                    verify_token,
                    metrics: Arc::new(wa_mcp::metrics::Metrics::new()),
                    remote: None,
                    limits: http::limits::Limits::new(limits),
                });
                http::run(listener, state, async {
                    let _ = shutdown_rx.await;
                })
                .await;
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server started");
        TestServer {
            addr,
            db,
            _dir: dir,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    pub fn get(&self, path_and_query: &str) -> Reply {
        let resp = agent()
            .get(&self.url(path_and_query))
            .call()
            .expect("GET answered");
        reply(resp)
    }

    /// POSTs `body` to the webhook with the given headers.
    pub fn post(&self, body: &[u8], headers: &[(&str, &str)]) -> Reply {
        let mut req = agent()
            .post(&self.url("/webhook/meta"))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send(body).expect("POST answered"))
    }

    /// POSTs `body` signed as Meta would.
    pub fn post_signed(&self, body: &[u8]) -> Reply {
        let sig = sign(body);
        self.post(body, &[("x-hub-signature-256", sig.as_str())])
    }

    /// A read connection to the server's database.
    pub fn conn(&self) -> Connection {
        let conn = Connection::open(&self.db).expect("open db");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    pub fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    /// Rows in every table the webhook writes.
    pub fn total_rows(&self) -> i64 {
        [
            "contacts",
            "messages",
            "idempotency",
            "message_status_events",
            "webhook_events",
        ]
        .iter()
        .map(|t| self.count(t))
        .sum()
    }

    pub fn stop(mut self) {
        self.shutdown_and_join();
    }

    fn shutdown_and_join(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown_and_join();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn reply(mut resp: ureq::http::Response<ureq::Body>) -> Reply {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request_id = header("x-request-id");
    let content_type = header("content-type");
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        body,
        request_id,
        content_type,
    }
}

/// Meta client options for tests: `token`, a 1 s attempt timeout and millisecond
/// back-off, so retries are quick to test.
pub fn fast_meta_options(base_url: &str, token: Option<&str>) -> wa_mcp::meta::MetaClientOptions {
    wa_mcp::meta::MetaClientOptions {
        base_url: base_url.to_owned(),
        api_version: "v26.0".to_owned(),
        token: Secret::from_setting(token.map(str::to_owned)),
        timeout: Duration::from_secs(1),
        retry: wa_mcp::meta::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(30),
        },
    }
}

/// A server that reads each request and never answers, counting requests: Meta hung.
pub fn hung_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::BufReader;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            if read_request(&mut reader).is_some() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            held.push(reader); // open and silent
        }
    });
    (url, requests)
}

/// A Graph API that answers every media upload with the media id `UPLOADED1` and never
/// answers anything else: Meta hung after taking the file. Counts (uploads, other
/// requests).
pub fn hung_after_upload_server() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (uploads, others) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (up, other) = (Arc::clone(&uploads), Arc::clone(&others));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            // One request per connection: an answered one closes it.
            match read_request(&mut reader) {
                Some(line) if line.contains("/media ") => {
                    up.fetch_add(1, Ordering::SeqCst);
                    let body = r#"{"id":"UPLOADED1"}"#;
                    let _ = write!(
                        reader.get_mut(),
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Some(_) => {
                    other.fetch_add(1, Ordering::SeqCst);
                    held.push(reader); // open and silent
                }
                None => {}
            }
        }
    });
    (url, uploads, others)
}

/// Reads one request's head and body and returns its request line; `None` if the
/// client went away first.
fn read_request(reader: &mut std::io::BufReader<std::net::TcpStream>) -> Option<String> {
    use std::io::{BufRead, Read};
    let mut length = 0;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if request_line.is_empty() {
            request_line = line.clone();
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(request_line)
}

/// The configuration library-level tests run with: the business number
/// [`inbound::PNID`], Graph API calls to `graph`, and `token` as the access token.
pub fn config(graph: &str, token: Option<&str>) -> wa_mcp::config::Config {
    wa_mcp::config::Config {
        db_path: "unused".into(),
        access_token: Secret::from_setting(token.map(str::to_owned)),
        app_secret: None,
        webhook_verify_token: None,
        default_phone_number_id: Some(inbound::PNID.into()),
        business_account_id: None,
        allowed_recipients: None,
        media_send_dirs: None,
        graph_api_version: "v26.0".into(),
        graph_base_url: graph.into(),
        bind: "127.0.0.1".parse().expect("ip"),
        port: 0,
        payload_retention_days: 30,
        owner: Default::default(),
        public_url_setting: None,
    }
}

/// A loopback port that was free a moment ago, for a child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
