//! Remote MCP through the real binary on a loopback port, as a hosted client does it:
//! discovery from the 401, registration, PKCE, consent with the owner's passphrase,
//! tokens, MCP over Streamable HTTP in both protocol generations, refresh, revocation;
//! and every refusal, each with nothing issued.

mod common;

use common::listener::{NO_META, post_text};
use common::mcp_checks::structured;
use common::remote::*;
use serde_json::{Value, json};

fn get_messages_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "get_messages", "arguments": {"limit": 10}}})
}

#[test]
fn a_client_discovers_registers_is_approved_and_uses_mcp_until_revoked() {
    let server = RemoteServer::start(NO_META);
    post_text(server.port, "15551234567", "Ana", "hola from the phone");

    let first = server.call(
        "POST",
        "/mcp",
        &[("content-type", "application/json")],
        Some("{}"),
    );
    assert_eq!(first.status, 401);
    let challenge = first.header("www-authenticate").expect("challenge");
    let metadata_url = server.url("/.well-known/oauth-protected-resource");
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata_url}\"")
    );
    let resource = server
        .call("GET", "/.well-known/oauth-protected-resource", &[], None)
        .json();
    assert_eq!(resource["resource"], server.url("/mcp"));
    assert_eq!(resource["authorization_servers"], json!([server.base]));
    let auth = server
        .call("GET", "/.well-known/oauth-authorization-server", &[], None)
        .json();
    assert_eq!(auth["issuer"], server.base);
    assert_eq!(auth["registration_endpoint"], server.url("/oauth/register"));
    assert_eq!(auth["code_challenge_methods_supported"], json!(["S256"]));

    let (client, tokens) = server.authorize();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().expect("access token");

    // The 2025-11-25 generation: a session.
    let session = server.open_session(access);
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let page = server.mcp(access, &headers, &get_messages_call(2)).rpc();
    let messages = &structured(&page["result"])["messages"];
    assert_eq!(messages[0]["body"], "hola from the phone", "{page}");

    // The 2026-07-28 generation: stateless, discovery first.
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "server/discover"),
    ];
    let discover = json!({"jsonrpc": "2.0", "id": 3, "method": "server/discover",
        "params": {"_meta": meta_2026()}});
    let found = server.mcp(access, &modern, &discover).rpc();
    assert!(
        found["result"]["supportedVersions"]
            .as_array()
            .expect("versions")
            .contains(&json!("2026-07-28")),
        "{found}"
    );
    let mut call = get_messages_call(4);
    call["params"]["_meta"] = meta_2026();
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "get_messages"),
    ];
    let page = server.mcp(access, &modern, &call).rpc();
    assert_eq!(
        structured(&page["result"])["messages"][0]["body"],
        "hola from the phone",
        "{page}"
    );

    // Refresh rotates the pair; the new access token works.
    let refreshed = server.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("rt"),
            ),
            ("client_id", &client),
        ],
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    let new_access = refreshed["access_token"].as_str().expect("access");
    assert_eq!(server.mcp(new_access, &[], &initialize()).status, 200);

    // RFC 7009 revocation of the refresh token ends the grant: 401 from then on.
    let revoked = server.post_form(
        "/oauth/revoke",
        &[
            ("token", refreshed["refresh_token"].as_str().expect("rt")),
            ("client_id", &client),
        ],
    );
    assert_eq!(revoked.status, 200);
    for token in [access, new_access] {
        let after = server.mcp(token, &[], &initialize());
        assert_eq!(after.status, 401);
        assert!(
            after
                .header("www-authenticate")
                .expect("challenge")
                .contains("invalid_token")
        );
    }
}

#[test]
fn auth_revoke_in_another_process_refuses_the_clients_next_request() {
    let server = RemoteServer::start(NO_META);
    let (client, tokens) = server.authorize();
    let access = tokens["access_token"].as_str().expect("access");
    let session = server.open_session(access);
    let listed = run_auth(&server, &["clients"]);
    assert!(
        listed.contains(&client) && listed.contains("Claude") && listed.contains("claude.ai"),
        "{listed}"
    );
    assert!(listed.contains("approved"), "{listed}");

    run_auth(&server, &["revoke", &client]);
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    assert_eq!(
        server.mcp(access, &headers, &get_messages_call(2)).status,
        401
    );
    let refresh = server.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("rt"),
            ),
            ("client_id", &client),
        ],
    );
    assert_eq!(refresh.status, 400);
    assert_eq!(refresh.json()["error"], "invalid_grant");
    assert!(run_auth(&server, &["clients"]).contains("revoked"));
}

#[test]
fn a_wrong_passphrase_issues_nothing_and_throttles_until_the_owner_resets_it() {
    let server = RemoteServer::start(NO_META);
    let client = server.register("Claude", REDIRECT);
    let verifier = wa_mcp::messaging::oauth::secrets::new_secret().expect("random");
    let page = server.consent_page(&client, REDIRECT, &verifier);
    let wrong = server.approve(&page, "not the passphrase at all");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("location").is_none());
    assert!(wrong.body.contains("Wrong passphrase"), "{}", wrong.body);
    // At once, even the right one is not checked: the delay holds for everyone.
    let throttled = server.approve(&page, PASSPHRASE);
    assert!(throttled.header("location").is_none());
    assert!(
        throttled.body.contains("Too many wrong passphrases"),
        "{}",
        throttled.body
    );
    assert!(run_auth(&server, &["clients"]).contains("throttled"));
    let report = doctor(&server, &server.base);
    assert!(
        line(&report, "consent throttle").starts_with("WARN"),
        "{report}"
    );
    // The owner ends it by setting the passphrase again.
    set_passphrase(&server.db, PASSPHRASE);
    let approved = server.approve(&page, PASSPHRASE);
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(issued_tokens(&server), 0);
}

#[test]
fn pkce_codes_and_redirects_are_refused_exactly_and_issue_nothing() {
    let server = RemoteServer::start(NO_META);
    let client = server.register("Claude", REDIRECT);

    // `plain` PKCE: back to the client with an error, no code.
    let query = encode(&[
        ("response_type", "code"),
        ("client_id", &client),
        ("redirect_uri", REDIRECT),
        (
            "code_challenge",
            "a-plain-challenge-that-is-long-enough-to-pass-43",
        ),
        ("code_challenge_method", "plain"),
    ]);
    let plain = server.call("GET", &format!("/oauth/authorize?{query}"), &[], None);
    let location = plain.header("location").expect("redirect");
    assert!(
        location.starts_with(REDIRECT) && location.contains("error=invalid_request"),
        "{location}"
    );
    assert!(!location.contains("code="));

    // A redirect URI one character off: an error page, no redirect at all.
    let verifier = wa_mcp::messaging::oauth::secrets::new_secret().expect("random");
    let off = server.consent_page(
        &client,
        "https://claude.ai/api/mcp/auth_callbacK",
        &verifier,
    );
    assert_eq!(off.status, 400);
    assert!(off.header("location").is_none());
    assert!(off.body.contains("redirect_uri"), "{}", off.body);

    // A resource other than ours.
    let query = encode(&[
        ("response_type", "code"),
        ("client_id", &client),
        ("redirect_uri", REDIRECT),
        ("code_challenge", &challenge(&verifier)),
        ("code_challenge_method", "S256"),
        ("resource", "https://evil.example/mcp"),
    ]);
    let target = server.call("GET", &format!("/oauth/authorize?{query}"), &[], None);
    assert!(
        target
            .header("location")
            .expect("redirect")
            .contains("error=invalid_target")
    );

    // A wrong verifier burns the code; using it again fails too.
    let page = server.consent_page(&client, REDIRECT, &verifier);
    let approved = server.approve(&page, PASSPHRASE);
    let code = query_value(approved.header("location").expect("location"), "code");
    let exchange = |v: &str| server.exchange_code(&code, &client, REDIRECT, v);
    let wrong = exchange(&wrong_verifier(&verifier));
    assert_eq!(
        (wrong.status, wrong.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    assert_eq!(exchange(&verifier).json()["error"], "invalid_grant");

    // A good code works once only.
    let page = server.consent_page(&client, REDIRECT, &verifier);
    let code = query_value(
        server
            .approve(&page, PASSPHRASE)
            .header("location")
            .expect("location"),
        "code",
    );
    let exchange = || server.exchange_code(&code, &client, REDIRECT, &verifier);
    assert_eq!(exchange().status, 200);
    assert_eq!(issued_tokens(&server), 2);
    assert_eq!(exchange().json()["error"], "invalid_grant");
    assert_eq!(issued_tokens(&server), 2, "the second use issued nothing");
}

fn wrong_verifier(v: &str) -> String {
    let mut s = v.to_owned();
    let last = if s.ends_with('A') { "B" } else { "A" };
    s.pop();
    s + last
}

#[test]
fn a_refresh_token_used_twice_ends_the_whole_grant() {
    let server = RemoteServer::start(NO_META);
    let (client, tokens) = server.authorize();
    let refresh = |t: &str| {
        server.post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t),
                ("client_id", &client),
            ],
        )
    };
    let old = tokens["refresh_token"].as_str().expect("rt");
    let rotated = refresh(old).json();
    let stolen = refresh(old);
    assert_eq!(stolen.json()["error"], "invalid_grant");
    // Everything the client held is gone, the rotated pair included.
    assert_eq!(issued_tokens(&server), 0);
    assert_eq!(
        refresh(rotated["refresh_token"].as_str().expect("rt")).status,
        400
    );
    let access = rotated["access_token"].as_str().expect("at");
    assert_eq!(server.mcp(access, &[], &initialize()).status, 401);
}

#[test]
fn origin_and_every_unauthenticated_method_are_refused() {
    let server = RemoteServer::start(NO_META);
    let (_, tokens) = server.authorize();
    let access = tokens["access_token"].as_str().expect("access");
    let evil = server.mcp(access, &[("origin", "https://evil.example")], &initialize());
    assert_eq!(evil.status, 403);
    let own = server.mcp(access, &[("origin", &server.base)], &initialize());
    assert_eq!(own.status, 200);
    let evil_host = server.mcp(access, &[("host", "evil.example")], &initialize());
    assert_eq!(evil_host.status, 403);
    for method in ["POST", "GET", "DELETE"] {
        for auth in [None, Some("Bearer not-a-token"), Some("Basic dXNlcjpwYXNz")] {
            let mut headers = vec![("accept", "application/json, text/event-stream")];
            if let Some(a) = auth {
                headers.push(("authorization", a));
            }
            let answer = server.call(method, "/mcp", &headers, Some(&initialize().to_string()));
            assert_eq!(answer.status, 401, "{method} {auth:?}");
            assert!(
                answer
                    .header("www-authenticate")
                    .expect("challenge")
                    .contains("resource_metadata=")
            );
        }
    }
    // Every JSON-RPC method, the 2026-07-28 ones included, meets the same 401 without a
    // token: nothing is parsed, dispatched or answered before the bearer is checked.
    let rpc = |method: &str, params: serde_json::Value| {
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
    };
    let bodies = [
        rpc("server/discover", json!({})),
        rpc("tools/list", json!({})),
        rpc(
            "tools/call",
            json!({"name": "send_message", "arguments": {"to": "15551234567", "text": "hi"}}),
        ),
        rpc("resources/list", json!({})),
        rpc(
            "resources/read",
            json!({"uri": "whatsapp://conversations/15551234567"}),
        ),
        rpc("subscriptions/listen", json!({})),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        "not json at all".to_owned(),
    ];
    for body in bodies {
        let headers = [
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
            ("mcp-session-id", "any-session"),
        ];
        let answer = server.call("POST", "/mcp", &headers, Some(&body));
        assert_eq!(answer.status, 401, "{body}");
        assert!(!answer.body.contains("jsonrpc"), "{body}: {}", answer.body);
    }
}

#[test]
fn the_consent_page_escapes_a_hostile_client_name() {
    let server = RemoteServer::start(NO_META);
    let name = "<script>alert('x')</script><img src=x onerror=\"steal()\">";
    let client = server.register(name, REDIRECT);
    let page = server.consent_page(&client, REDIRECT, &"v".repeat(43));
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("<script>") && !page.body.contains("<img"),
        "{}",
        page.body
    );
    assert!(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=&quot;steal()&quot;&gt;"));
    assert!(
        page.header("content-security-policy")
            .expect("csp")
            .contains("default-src 'none'")
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
}

#[test]
fn registration_takes_only_https_or_loopback_redirects() {
    let server = RemoteServer::start(NO_META);
    for bad in [
        "http://claude.ai/cb",
        "javascript:alert(1)",
        "https://claude.ai/cb#x",
    ] {
        let answer = server.post_registration(&json!({"client_name": "x", "redirect_uris": [bad]}));
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(answer.json()["error"], "invalid_redirect_uri");
    }
    server.register("CLI", "http://127.0.0.1:33418/callback");
}

#[test]
fn a_registration_flood_gets_503_and_the_first_registration_keeps_its_consent_page() {
    let server = RemoteServer::start(NO_META);
    let first = server.register("Claude", REDIRECT);
    for i in 1..50 {
        server.register(&format!("flood {i}"), REDIRECT);
    }
    let refused =
        server.post_registration(&json!({"client_name": "flood 50", "redirect_uris": [REDIRECT]}));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    assert_eq!(refused.header("retry-after"), Some("60"));
    let page = server.consent_page(&first, REDIRECT, &"v".repeat(43));
    assert_eq!(page.status, 200, "{}", page.body);
}

#[test]
fn remote_routes_are_404_until_a_passphrase_exists() {
    let server = RemoteServer::start_with(NO_META, false);
    for (method, path) in [
        ("GET", "/.well-known/oauth-protected-resource"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("POST", "/oauth/register"),
        ("GET", "/oauth/authorize"),
        ("POST", "/oauth/token"),
        ("POST", "/oauth/revoke"),
        ("POST", "/mcp"),
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
    ] {
        assert_eq!(
            server.call(method, path, &[], Some("{}")).status,
            404,
            "{method} {path}"
        );
    }
    set_passphrase(&server.db, PASSPHRASE);
    assert_eq!(
        server
            .call("GET", "/.well-known/oauth-protected-resource", &[], None)
            .status,
        200
    );
}

fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    for chunk in s.trim_end_matches('=').as_bytes().chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | (u32::from(value(*c)) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn a_remote_client_gets_media_content_not_a_path_and_its_sends_carry_its_client_id() {
    use sha2::Digest;
    let bytes: Vec<u8> = (0..3000u32).map(|i| ((i * 7) % 251) as u8).collect();
    let digest = sha2::Sha256::digest(&bytes);
    let mut graph = mockito::Server::new();
    let info = json!({"url": format!("{}/whatsapp_business/attachments/?mid=1&hash=h", graph.url()),
        "mime_type": "image/jpeg", "sha256": wa_mcp::hex::to_hex(&digest), "file_size": "3000",
        "id": "1003383421387256", "messaging_product": "whatsapp"});
    let _info = graph
        .mock("GET", "/v26.0/1003383421387256")
        .with_body(info.to_string())
        .create();
    let _file = graph
        .mock("GET", "/whatsapp_business/attachments/")
        .match_query(mockito::Matcher::Any)
        .with_header("content-type", "image/jpeg")
        .with_body(&bytes)
        .create();
    let send = graph
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_header("content-type", "application/json")
        .with_body(common::fixture("graph_send_success_text.json"))
        .expect(1)
        .create();
    let server = RemoteServer::start(&graph.url());
    let mut image = common::fixture_json("inbound_image.json");
    let message = &mut image["entry"][0]["changes"][0]["value"]["messages"][0];
    message["image"]["sha256"] = json!(standard_base64(&digest));
    let wamid = message["id"].as_str().expect("wamid").to_owned();
    common::listener::post_signed(server.port, image.to_string().as_bytes());

    let (client, tokens) = server.authorize();
    let access = tokens["access_token"].as_str().expect("access");
    let session = server.open_session(access);
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "get_media", "arguments": {"messageId": wamid}}});
    // A file where the media folder belongs: the disk error names no local path.
    let folder = server.dir.path().join("media");
    std::fs::write(&folder, b"in the way").expect("written");
    let failed = server.mcp(access, &headers, &call).rpc()["result"].clone();
    assert_eq!(failed["isError"], true, "{failed}");
    let said = failed.to_string();
    assert!(said.contains("owner's machine"), "{said}");
    assert!(
        !said.contains(&server.dir.path().display().to_string()),
        "a local path leaked: {said}"
    );
    std::fs::remove_file(&folder).expect("removed");
    let result = server.mcp(access, &headers, &call).rpc()["result"].clone();
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        result["structuredContent"].get("path").is_none(),
        "{result}"
    );
    assert_eq!(result["structuredContent"]["size"], 3000);
    let resource = &result["content"][1]["resource"];
    assert_eq!(result["content"][1]["type"], "resource");
    assert_eq!(resource["mimeType"], "image/jpeg");
    assert_eq!(
        decode_base64(resource["blob"].as_str().expect("blob")),
        bytes
    );
    assert!(
        !result
            .to_string()
            .contains(&server.dir.path().display().to_string()),
        "a local path leaked"
    );

    let call = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "send_message", "arguments": {"to": "+1 555 123 4567", "body": "sent from the web"}}});
    let sent = server.mcp(access, &headers, &call).rpc();
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    send.assert();
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    let owner: String = conn
        .query_row(
            "SELECT client_id FROM messages WHERE direction = 'outbound'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(owner, client);
}

#[test]
fn a_remote_client_cannot_send_a_local_file_and_its_other_sends_carry_its_client_id() {
    let mut graph = mockito::Server::new();
    let upload = graph
        .mock("POST", "/v26.0/106540352242922/media")
        .expect(0)
        .create();
    let send = graph
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_header("content-type", "application/json")
        .with_body(common::fixture("graph_send_success_text.json"))
        .expect(1)
        .create();
    let server = RemoteServer::start(&graph.url());
    // A real PNG inside WA_MEDIA_SEND_DIRS: a local client could send it.
    let png = server.dir.path().join("photo.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(512, 0);
    std::fs::write(&png, &bytes).expect("png written");

    let (client, tokens) = server.authorize();
    let access = tokens["access_token"].as_str().expect("access");
    let session = server.open_session(access);
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    // Its tool list offers `send_media` by url only.
    let list = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"});
    let tools = server.mcp(access, &headers, &list).rpc()["result"]["tools"].clone();
    let send_media = tools
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "send_media")
        .expect("send_media listed");
    let properties = &send_media["inputSchema"]["properties"];
    assert!(properties.get("path").is_none(), "{send_media}");
    assert!(properties.get("url").is_some(), "{send_media}");
    let description = send_media["description"].as_str().expect("description");
    assert!(!description.contains("WA_MEDIA_SEND_DIRS"), "{description}");

    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "send_media", "arguments": {"to": "+1 555 123 4567",
            "path": png.display().to_string(), "type": "image"}}});
    let refused = server.mcp(access, &headers, &call).rpc();
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(refused.to_string().contains("remote"), "{refused}");
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    let outbound = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM messages WHERE direction = 'outbound'",
            [],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(outbound(&conn), 0, "a refused send writes no row");

    let call = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "send_location", "arguments": {"to": "+1 555 123 4567",
            "latitude": 51.5, "longitude": -0.12}}});
    let sent = server.mcp(access, &headers, &call).rpc();
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    upload.assert();
    send.assert();
    let owner: String = conn
        .query_row(
            "SELECT client_id FROM messages WHERE direction = 'outbound'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(owner, client);
}

fn standard_base64(bytes: &[u8]) -> String {
    let url = wa_mcp::messaging::oauth::secrets::base64url(bytes)
        .replace('-', "+")
        .replace('_', "/");
    let pad = (4 - url.len() % 4) % 4;
    url + &"=".repeat(pad)
}

fn doctor(server: &RemoteServer, public_url: &str) -> String {
    let out = std::process::Command::new(common::mcp_client::BIN)
        .env_clear()
        .env("WA_DB_PATH", &server.db)
        .env("WA_PUBLIC_URL", public_url)
        .env("APP_HTTP_PORT", common::free_port().to_string())
        .arg("doctor")
        .output()
        .expect("doctor runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .map(str::trim_start)
        .find(|l| {
            l.get(6..)
                .is_some_and(|rest| rest.starts_with(&format!("{name}:")))
        })
        .unwrap_or_else(|| panic!("no {name} line in {report}"))
}

#[test]
fn doctor_reports_remote_mcp_and_reaches_the_metadata_through_the_public_url() {
    let server = RemoteServer::start(NO_META);
    let report = doctor(&server, &server.base);
    assert!(
        line(&report, "WA_PUBLIC_URL").starts_with("PASS"),
        "{report}"
    );
    assert!(
        line(&report, "owner passphrase").starts_with("PASS"),
        "{report}"
    );
    assert!(
        line(&report, "consent throttle").starts_with("PASS"),
        "{report}"
    );
    assert!(
        line(&report, "remote metadata").starts_with("PASS"),
        "{report}"
    );

    let other = format!("http://127.0.0.1:{}", common::free_port());
    assert!(line(&doctor(&server, &other), "remote metadata").starts_with("FAIL"));
    let insecure = doctor(&server, "http://wa.example.com");
    assert!(
        line(&insecure, "WA_PUBLIC_URL").starts_with("FAIL"),
        "{insecure}"
    );
}
