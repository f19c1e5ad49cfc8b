//! `WA_CONFIRM_SENDS` over the real binary: a client that declared elicitation is asked
//! before a send to a stranger (2025-11-25: an `elicitation/create` request; 2026-07-28:
//! an `input_required` result and the call made again), never for someone who wrote;
//! a yes sends, a no stores and sends nothing; a client that cannot be asked keeps
//! today's rules, unless the owner asked for `always`.

mod common;

use std::time::Duration;

use common::inbound;
use common::mcp_client::{McpClient, wa_mcp_command};
use mockito::{Matcher, Mock, Server, ServerGuard};
use rusqlite::Connection;
use serde_json::{Value, json};

const KNOWN: &str = "447700900005";
const STRANGER: &str = "447700900777";
const OTHER_STRANGER: &str = "447700900778";

/// A database where [`KNOWN`] has written to us.
fn known_db() -> (tempfile::TempDir, std::path::PathBuf) {
    common::seed::db_with(vec![inbound::text(
        KNOWN,
        "Known Person",
        "wamid.KNOWN1",
        1_764_662_400,
        "hi",
    )])
}

/// Meta accepting sends to `to`, `times` times.
fn meta_send(meta: &mut ServerGuard, to: &str, times: usize) -> Mock {
    meta.mock("POST", "/v26.0/106540352242922/messages")
        .match_body(Matcher::PartialJson(json!({"to": to})))
        .with_status(200)
        .with_body(format!(
            r#"{{"messaging_product":"whatsapp","messages":[{{"id":"wamid.OUT{to}"}}]}}"#
        ))
        .expect(times)
        .create()
}

/// `mcp --no-http` with `env`, after `initialize` declaring `capabilities`.
fn client(
    db: &std::path::Path,
    graph: &str,
    env: &[(&str, &str)],
    capabilities: Value,
) -> McpClient {
    let mut cmd = wa_mcp_command(db, graph);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut client = McpClient::spawn(cmd, &["mcp", "--no-http"]);
    client.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": capabilities,
               "clientInfo": {"name": "wa-mcp-tests", "version": "1.0"}}),
    );
    client.notify("notifications/initialized", json!({}));
    client
}

fn rows_to(db: &std::path::Path, to: &str) -> i64 {
    Connection::open(db)
        .expect("db")
        .query_row(
            "SELECT count(*) FROM messages WHERE direction = 'outbound' AND contact_wa_id = ?1",
            [to],
            |r| r.get(0),
        )
        .expect("count")
}

fn is_elicitation(v: &Value) -> bool {
    v["method"] == "elicitation/create"
}

/// Calls `send_message` to `to`, answers the question with `answer` (an
/// `elicitation/create` result), and returns the question and the call's result.
fn send_answering(client: &mut McpClient, to: &str, body: &str, answer: Value) -> (Value, Value) {
    let asked_before: Vec<Value> = client
        .stdout_lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(is_elicitation)
        .map(|q| q["id"].clone())
        .collect();
    let id = client.send_request(
        "tools/call",
        json!({"name": "send_message", "arguments": {"to": to, "body": body}}),
    );
    let question = client
        .find_message(Duration::from_secs(30), |v| {
            is_elicitation(v) && !asked_before.contains(&v["id"])
        })
        .expect("the user is asked");
    client.reply(&question["id"], answer);
    let result = client.response_to(id)["result"].clone();
    (question, result)
}

#[test]
fn a_client_that_can_ask_confirms_sends_to_strangers_only() {
    let (_dir, db) = known_db();
    let mut meta = Server::new();
    let known = meta_send(&mut meta, KNOWN, 1);
    let accepted = meta_send(&mut meta, STRANGER, 1);
    let declined = meta_send(&mut meta, OTHER_STRANGER, 0);
    let mut client = client(&db, &meta.url(), &[], json!({"elicitation": {"form": {}}}));

    let result = client.call("send_message", json!({"to": KNOWN, "body": "hello again"}));
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        !client
            .stdout_lines
            .iter()
            .any(|l| l.contains("elicitation/create")),
        "someone who wrote is not asked about"
    );

    let (question, result) = send_answering(
        &mut client,
        STRANGER,
        "Hello, stranger",
        json!({"action": "accept", "content": {"send": true}}),
    );
    let message = question["params"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("+447700900777"), "{message}");
    assert!(message.contains("never written"), "{message}");
    assert!(message.contains("Hello, stranger"), "{message}");
    assert_eq!(question["params"]["mode"], "form");
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["status"], "sent");

    let (_, result) = send_answering(
        &mut client,
        OTHER_STRANGER,
        "Hello?",
        json!({"action": "decline"}),
    );
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("declined"), "{text}");
    assert_eq!(
        rows_to(&db, OTHER_STRANGER),
        0,
        "no row for a declined send"
    );
    client.finish();
    known.assert();
    accepted.assert();
    declined.assert();
}

#[test]
fn a_confirmed_retry_keeps_its_idempotency_key() {
    let (_dir, db) = known_db();
    let mut meta = Server::new();
    let once = meta_send(&mut meta, STRANGER, 1);
    let mut client = client(&db, &meta.url(), &[], json!({"elicitation": {}}));
    let args = json!({"to": STRANGER, "body": "once", "idempotencyKey": "k-1"});
    let id = client.send_request(
        "tools/call",
        json!({"name": "send_message", "arguments": args}),
    );
    let question = client
        .find_message(Duration::from_secs(30), is_elicitation)
        .expect("asked");
    client.reply(
        &question["id"],
        json!({"action": "accept", "content": {"send": true}}),
    );
    let first = client.response_to(id)["result"].clone();
    let again = client.call("send_message", args);
    assert_eq!(
        again["structuredContent"]["id"],
        first["structuredContent"]["id"]
    );
    let questions = client
        .stdout_lines
        .iter()
        .filter(|l| l.contains("elicitation/create"))
        .count();
    assert_eq!(questions, 1, "the replay asks nothing and sends nothing");
    client.finish();
    once.assert();
}

#[test]
fn a_client_that_cannot_ask_keeps_todays_rules_unless_always_is_set() {
    let (_dir, db) = known_db();
    let mut meta = Server::new();
    let sent = meta_send(&mut meta, STRANGER, 1);
    let mut plain = client(&db, &meta.url(), &[], json!({}));
    let result = plain.call("send_message", json!({"to": STRANGER, "body": "hi"}));
    assert_eq!(result["isError"], false, "{result}");
    plain.finish();
    sent.assert();

    let refused = meta_send(&mut meta, OTHER_STRANGER, 0);
    let mut strict = client(
        &db,
        &meta.url(),
        &[("WA_CONFIRM_SENDS", "always")],
        json!({}),
    );
    let result = strict.call("send_message", json!({"to": OTHER_STRANGER, "body": "hi"}));
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("WA_CONFIRM_SENDS=always"), "{text}");
    assert_eq!(rows_to(&db, OTHER_STRANGER), 0);
    strict.finish();
    refused.assert();
}

/// Per-request metadata of a 2026-07-28 client that can answer elicitations.
fn stateless_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "wa-mcp-tests", "version": "2.0"}
    })
}

#[test]
fn the_2026_generation_confirms_in_two_rounds_and_a_yes_fits_one_call_only() {
    let (_dir, db) = known_db();
    let mut meta = Server::new();
    let sent = meta_send(&mut meta, STRANGER, 1);
    let never = meta_send(&mut meta, OTHER_STRANGER, 0);
    let mut client = McpClient::spawn(wa_mcp_command(&db, &meta.url()), &["mcp", "--no-http"]);
    let call = |to: &str, extra: Value| {
        let mut params = json!({"name": "send_message", "arguments": {"to": to, "body": "two rounds"},
                                "_meta": stateless_meta()});
        if let (Some(p), Value::Object(e)) = (params.as_object_mut(), extra) {
            p.extend(e);
        }
        params
    };
    let first = client.request("tools/call", call(STRANGER, json!({})))["result"].clone();
    assert_eq!(first["resultType"], "input_required", "{first}");
    let question = &first["inputRequests"]["confirm_send"];
    assert_eq!(question["method"], "elicitation/create");
    assert!(
        question["params"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("+447700900777"))
    );
    let state = first["requestState"].clone();
    assert_eq!(
        rows_to(&db, STRANGER),
        0,
        "nothing stored before the answer"
    );
    let yes = json!({"confirm_send": {"action": "accept", "content": {"send": true}}});

    // The yes for this call does not carry over to another recipient.
    let moved = client.request(
        "tools/call",
        call(
            OTHER_STRANGER,
            json!({"requestState": state, "inputResponses": yes}),
        ),
    )["result"]
        .clone();
    assert_eq!(
        moved["resultType"], "input_required",
        "asked again: {moved}"
    );
    assert_eq!(rows_to(&db, OTHER_STRANGER), 0);

    let done = client.request(
        "tools/call",
        call(
            STRANGER,
            json!({"requestState": state, "inputResponses": yes}),
        ),
    )["result"]
        .clone();
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(done["structuredContent"]["status"], "sent");

    let replayed = client.request(
        "tools/call",
        call(
            STRANGER,
            json!({"requestState": state, "inputResponses": yes}),
        ),
    )["result"]
        .clone();
    assert_eq!(
        replayed["resultType"], "input_required",
        "a spent yes asks again: {replayed}"
    );
    assert_eq!(rows_to(&db, STRANGER), 1);
    client.finish();
    sent.assert();
    never.assert();
}
