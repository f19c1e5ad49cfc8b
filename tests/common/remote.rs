//! Remote MCP from outside: the real `wa-mcp serve` with `WA_PUBLIC_URL` on a loopback
//! port and an owner passphrase, and a client that does what claude.ai does: discovery
//! from the 401, registration, PKCE, consent, tokens, then MCP over Streamable HTTP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use tempfile::TempDir;
use wa_mcp::messaging::oauth::secrets::{base64url, new_secret};

use super::listener::{KillOnDrop, wait_for_health};
use super::mcp_client::{BIN, wa_mcp_command};

pub const PASSPHRASE: &str = "correct horse battery staple";
pub const REDIRECT: &str = "https://claude.ai/api/mcp/auth_callback";
/// The server's stderr, in its temp folder.
const LOG_FILE: &str = "server.log";

/// What a test sees of one HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The JSON-RPC message of an MCP answer, plain JSON or one event of a stream.
    pub fn rpc(&self) -> Value {
        if self
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
        {
            let data = self
                .body
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .find(|d| d.contains("\"jsonrpc\""))
                .unwrap_or_else(|| panic!("no message in stream: {}", self.body));
            serde_json::from_str(data).expect("event is JSON")
        } else {
            self.json()
        }
    }
}

/// A running `wa-mcp serve` with remote MCP on.
pub struct RemoteServer {
    pub dir: TempDir,
    pub db: PathBuf,
    pub port: u16,
    pub base: String,
    _child: KillOnDrop,
}

impl RemoteServer {
    /// Starts with the owner passphrase set; Graph API calls go to `graph`.
    pub fn start(graph: &str) -> RemoteServer {
        RemoteServer::start_with(graph, true)
    }

    pub fn start_with(graph: &str, passphrase: bool) -> RemoteServer {
        RemoteServer::launch(graph, passphrase, "serve")
    }

    /// `wa-mcp mcp` holding the port: remote MCP on its listener, stdio kept open.
    pub fn start_mcp(graph: &str) -> RemoteServer {
        RemoteServer::launch(graph, true, "mcp")
    }

    fn launch(graph: &str, passphrase: bool, command: &str) -> RemoteServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("wa.db");
        if passphrase {
            set_passphrase(&db, PASSPHRASE);
        }
        let port = super::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join(LOG_FILE)).expect("log file");
        let child = wa_mcp_command(&db, graph)
            .env("APP_HTTP_PORT", port.to_string())
            .env("WA_PUBLIC_URL", &base)
            // A folder local clients may send from: a remote client still may not.
            .env("WA_MEDIA_SEND_DIRS", dir.path())
            .arg(command)
            // `mcp` serves stdio until its input ends: the pipe stays open with the child.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the server starts");
        let child = KillOnDrop(child);
        wait_for_health(port);
        RemoteServer {
            dir,
            db,
            port,
            base,
            _child: child,
        }
    }

    /// Everything the server logged so far (its stderr, at `RUST_LOG=debug`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(LOG_FILE)).expect("log read")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request; redirects are not followed and every status is an answer.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        request(method, &self.url(path), headers, body)
    }

    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body = encode(form);
        self.call(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(&body),
        )
    }

    /// Posts `body` to the registration endpoint, as JSON.
    pub fn post_registration(&self, body: &Value) -> Answer {
        self.call(
            "POST",
            "/oauth/register",
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        )
    }

    /// Registers a client with `redirect` (and `name`); returns its client id.
    pub fn register(&self, name: &str, redirect: &str) -> String {
        let body = json!({"client_name": name, "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]});
        let answer = self.post_registration(&body);
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.json()["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned()
    }

    /// The consent page for `client` (S256 challenge of `verifier`).
    pub fn consent_page(&self, client: &str, redirect: &str, verifier: &str) -> Answer {
        let query = encode(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
            ("state", "st-1"),
            ("resource", &self.url("/mcp")),
        ]);
        self.call("GET", &format!("/oauth/authorize?{query}"), &[], None)
    }

    /// Posts the consent form of `page` with `passphrase`.
    pub fn approve(&self, page: &Answer, passphrase: &str) -> Answer {
        let csrf = form_value(&page.body, "csrf_token");
        let cookie = page
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("consent cookie")
            .to_owned();
        let body = encode(&[
            ("csrf_token", &csrf),
            ("passphrase", passphrase),
            ("decision", "approve"),
        ]);
        self.call(
            "POST",
            "/oauth/authorize",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &cookie),
            ],
            Some(&body),
        )
    }

    /// `POST /oauth/token` exchanging an authorization `code`, as a client does.
    pub fn exchange_code(
        &self,
        code: &str,
        client: &str,
        redirect: &str,
        verifier: &str,
    ) -> Answer {
        self.post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ],
        )
    }

    /// Registration, consent and code exchange: the token answer.
    pub fn authorize(&self) -> (String, Value) {
        let client = self.register("Claude", REDIRECT);
        let verifier = new_secret().expect("random");
        let page = self.consent_page(&client, REDIRECT, &verifier);
        assert_eq!(page.status, 200, "{}", page.body);
        let approved = self.approve(&page, PASSPHRASE);
        assert_eq!(approved.status, 303, "{}", approved.body);
        let code = query_value(approved.header("location").expect("location"), "code");
        let tokens = self.exchange_code(&code, &client, REDIRECT, &verifier);
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        (client, tokens.json())
    }

    /// `initialize` + `notifications/initialized` on a new session; its id.
    pub fn open_session(&self, token: &str) -> String {
        let init = self.mcp(token, &[], &initialize());
        assert_eq!(init.status, 200, "{}", init.body);
        assert_eq!(init.rpc()["result"]["serverInfo"]["name"], "wa-mcp");
        let session = init
            .header("mcp-session-id")
            .expect("session id")
            .to_owned();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            self.mcp(token, &session_headers(&session), &note).status,
            202
        );
        session
    }

    /// A JSON-RPC request to `/mcp` with `token` (and `extra` headers).
    pub fn mcp(&self, token: &str, extra: &[(&str, &str)], message: &Value) -> Answer {
        let auth = format!("Bearer {token}");
        let mut headers = vec![
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        headers.extend_from_slice(extra);
        self.call("POST", "/mcp", &headers, Some(&message.to_string()))
    }
}

/// Runs `wa-mcp auth ARGS` on the server's database in another process; its stdout.
pub fn run_auth(server: &RemoteServer, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("WA_DB_PATH", &server.db)
        .arg("auth")
        .args(args)
        .output()
        .expect("auth runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many tokens are stored.
pub fn issued_tokens(server: &RemoteServer) -> i64 {
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    conn.query_row("SELECT count(*) FROM oauth_tokens", [], |r| r.get(0))
        .expect("count")
}

/// Sets the owner passphrase of `db` through `wa-mcp auth passphrase` on stdin.
pub fn set_passphrase(db: &Path, passphrase: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .env("WA_DB_PATH", db)
        .args(["auth", "passphrase"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("auth passphrase starts");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{passphrase}").expect("written");
    drop(stdin);
    assert!(
        child.wait().expect("ran").success(),
        "auth passphrase failed"
    );
}

pub fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    base64url(&sha2::Sha256::digest(verifier.as_bytes()))
}

pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(body.unwrap_or_default().to_owned())
        .expect("request");
    let mut resp = agent.run(req).expect("server answered");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                wa_mcp::messaging::oauth::consent::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the hidden input `name` in an HTML form.
pub fn form_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The decoded value of `key` in the query of `url`.
pub fn query_value(url: &str, key: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    wa_mcp::http::oauth::Pairs::parse(query)
        .owned(key)
        .unwrap_or_else(|| panic!("no {key} in {url}"))
}

/// The `initialize` request of the 2025-11-25 generation.
pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "remote-test", "version": "1"}}})
}

/// The headers of a request on `session` (2025-11-25).
pub fn session_headers(session: &str) -> [(&str, &str); 2] {
    [
        ("mcp-session-id", session),
        ("mcp-protocol-version", "2025-11-25"),
    ]
}

/// `_meta` of a 2026-07-28 request.
pub fn meta_2026() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "remote-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}})
}
