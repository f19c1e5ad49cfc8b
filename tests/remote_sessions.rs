//! Remote MCP sessions and streams belong to the client that opened them and end with
//! its access: another client's token cannot use or delete a session, and revoking the
//! client (in another process) or presenting its refresh token twice ends the event
//! streams it holds open, in both protocol generations, instead of letting them carry
//! notifications on.

mod common;

use common::http_stream::HttpStream;
use common::listener::{NO_META, post_text};
use common::remote::*;
use serde_json::{Value, json};

const ANA: &str = "15551234567";
const ANA_URI: &str = "whatsapp://conversations/15551234567";

fn get_messages_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "get_messages", "arguments": {"limit": 10}}})
}

#[test]
fn a_session_answers_only_the_client_that_opened_it() {
    let server = RemoteServer::start(NO_META);
    let (_, owner_tokens) = server.authorize();
    let (_, other_tokens) = server.authorize();
    let owner = owner_tokens["access_token"].as_str().expect("access");
    let other = other_tokens["access_token"].as_str().expect("access");
    let session = server.open_session(owner);
    let headers = session_headers(&session);

    let used = server.mcp(other, &headers, &get_messages_call(2));
    assert_eq!(used.status, 404, "{}", used.body);
    let auth = format!("Bearer {other}");
    let mut with_other = headers.to_vec();
    with_other.push(("authorization", auth.as_str()));
    with_other.push(("accept", "text/event-stream"));
    assert_eq!(server.call("GET", "/mcp", &with_other, None).status, 404);
    assert_eq!(server.call("DELETE", "/mcp", &with_other, None).status, 404);

    let mine = server.mcp(owner, &headers, &get_messages_call(3));
    assert_eq!(
        mine.status, 200,
        "the owner's session survived: {}",
        mine.body
    );
    assert!(mine.rpc()["result"].is_object(), "{}", mine.body);
}

/// The streams one client holds open: the session's `GET /mcp` stream carrying the
/// updates of a `resources/subscribe`, and a 2026-07-28 `subscriptions/listen`.
struct OpenStreams {
    session: HttpStream,
    listen: HttpStream,
}

fn open_streams(server: &RemoteServer, token: &str) -> OpenStreams {
    let session = server.open_session(token);
    let headers = session_headers(&session);
    let subscribe = json!({"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
        "params": {"uri": ANA_URI}});
    assert_eq!(server.mcp(token, &headers, &subscribe).status, 200);
    let auth = format!("Bearer {token}");
    let mut get = headers.to_vec();
    get.extend([
        ("authorization", auth.as_str()),
        ("accept", "text/event-stream"),
    ]);
    let mut session = HttpStream::open(server.port, "GET", "/mcp", &get, "");
    assert_eq!(session.status(), 200, "{}", session.seen);

    let listen = json!({"jsonrpc": "2.0", "id": 3, "method": "subscriptions/listen",
        "params": {"_meta": meta_2026(), "notifications": {"resourceSubscriptions": [ANA_URI]}}});
    let post = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
    ];
    let mut listen = HttpStream::open(server.port, "POST", "/mcp", &post, &listen.to_string());
    listen.read_until("notifications/subscriptions/acknowledged");

    // Both deliver before the client's access ends.
    post_text(server.port, ANA, "Ana", "first");
    session.read_until("notifications/resources/updated");
    listen.read_until("notifications/resources/updated");
    OpenStreams { session, listen }
}

/// Both streams end, and a message arriving afterwards is not announced on them.
fn assert_ended(server: &RemoteServer, mut streams: OpenStreams) {
    streams.session.read_to_end();
    streams.listen.read_to_end();
    post_text(server.port, ANA, "Ana", "after the end");
    for seen in [&streams.session.seen, &streams.listen.seen] {
        assert_eq!(
            seen.matches("notifications/resources/updated").count(),
            1,
            "{seen}"
        );
    }
}

#[test]
fn revoking_a_client_in_another_process_ends_its_open_streams() {
    let server = RemoteServer::start(NO_META);
    let (client, tokens) = server.authorize();
    let streams = open_streams(&server, tokens["access_token"].as_str().expect("access"));
    run_auth(&server, &["revoke", &client]);
    assert_ended(&server, streams);
}

#[test]
fn a_reused_refresh_token_ends_the_clients_open_streams() {
    let server = RemoteServer::start(NO_META);
    let (client, tokens) = server.authorize();
    let streams = open_streams(&server, tokens["access_token"].as_str().expect("access"));
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    for expected in [200, 400] {
        let answer = server.post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", &client),
            ],
        );
        assert_eq!(answer.status, expected, "{}", answer.body);
    }
    assert_ended(&server, streams);
}
