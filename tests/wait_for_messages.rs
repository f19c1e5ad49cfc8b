//! `wait_for_messages` over the real binary's stdio: it answers as soon as an inbound
//! message lands (from this process's listener or another process writing the file),
//! times out with the cursor unchanged, and ignores outbound rows.

mod common;

use std::time::{Duration, Instant};

use common::listener::{self, NO_META};
use common::mcp_checks::{listed_tool, outbound_rows};
use common::mcp_client::{McpClient, wa_mcp_command};
use common::seed;
use serde_json::{Value, json};
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

/// The bound the issue names: from the webhook's 200 to the tool result.
const WAKE_BOUND: Duration = Duration::from_secs(1);
/// The profile name of every delivery these tests post.
const NAME: &str = "Waiter";

/// A database holding one inbound text message.
fn seeded_db() -> (tempfile::TempDir, std::path::PathBuf) {
    seed::db_with_fixtures(&["inbound_text.json"])
}

/// The `next` cursor after every message now stored.
fn cursor_now(client: &mut McpClient) -> Value {
    let page = client.call("get_messages", json!({"limit": 100}));
    assert_eq!(page["structuredContent"]["hasMore"], false);
    page["structuredContent"]["next"].clone()
}

fn wait_args(next: &Value, timeout: u32) -> Value {
    json!({"since": next["since"], "sinceId": next["sinceId"], "timeoutSeconds": timeout})
}

/// Starts a wait, lets it settle into sleeping, posts a delivery, and returns the
/// wait's result and the time from the delivery's 200 to it.
fn wait_across_a_delivery(
    client: &mut McpClient,
    port: u16,
    next: &Value,
    text: &str,
) -> (Value, Duration) {
    let id = client.send_request(
        "tools/call",
        json!({"name": "wait_for_messages", "arguments": wait_args(next, 30)}),
    );
    std::thread::sleep(Duration::from_millis(300));
    listener::post_text(port, "447700900555", NAME, text);
    let delivered = Instant::now();
    let response = client.response_to(id);
    (response["result"].clone(), delivered.elapsed())
}

fn only_message(result: &Value) -> Value {
    assert_eq!(result["isError"], false, "{result}");
    let messages = result["structuredContent"]["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(messages.len(), 1, "{result}");
    messages[0].clone()
}

#[test]
fn wakes_within_a_second_of_a_delivery_to_its_own_listener() {
    let (_dir, db) = seeded_db();
    let (mut client, port) = listener::mcp_with_listener(&db);
    client.initialize();
    let next = cursor_now(&mut client);

    let (result, took) = wait_across_a_delivery(&mut client, port, &next, "are you there?");
    let message = only_message(&result);
    assert_eq!(message["body"], "are you there?");
    assert_eq!(message["direction"], "inbound");
    assert_eq!(message["contact"], "447700900555");
    assert_eq!(
        result["structuredContent"]["next"]["sinceId"], message["id"],
        "next continues after the message returned"
    );
    assert!(took < WAKE_BOUND, "woke {took:?} after the delivery");
    client.finish();
}

#[test]
fn wakes_within_a_second_of_a_delivery_written_by_a_serve_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("shared.db");
    let (_serve, port) = listener::serve(&db);
    listener::post_text(port, "447700900111", NAME, "before the wait");
    let (mut client, _) = McpClient::start(&db, NO_META);
    let next = cursor_now(&mut client);
    assert!(next["since"].is_string(), "the seed is visible: {next}");

    let (result, took) = wait_across_a_delivery(&mut client, port, &next, "from the daemon");
    assert_eq!(only_message(&result)["body"], "from the daemon");
    assert!(took < WAKE_BOUND, "woke {took:?} after the delivery");
    client.finish();
}

#[test]
fn times_out_with_no_messages_and_the_cursor_it_was_given() {
    let (_dir, db) = seeded_db();
    let (mut client, _) = McpClient::start(&db, NO_META);
    let next = cursor_now(&mut client);
    let result = client.call("wait_for_messages", wait_args(&next, 1));
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(
        result["structuredContent"],
        json!({"messages": [], "next": next, "hasMore": false})
    );
    client.finish();
}

#[test]
fn times_out_with_the_cursor_exactly_as_written_by_the_caller() {
    let (_dir, db) = seeded_db();
    let (mut client, _) = McpClient::start(&db, NO_META);
    // A valid ISO-8601 time in a shorter form than the one the server writes.
    let given = json!({"since": "2099-01-01T00:00:00Z", "sinceId": "x"});
    let result = client.call("wait_for_messages", wait_args(&given, 1));
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(
        result["structuredContent"]["next"], given,
        "the cursor given, not a rewritten form of it"
    );
    client.finish();
}

#[test]
fn a_wait_for_a_bsuid_contact_wakes_when_the_contact_is_rekeyed_to_its_phone_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    let bsuid_only = common::fixture("inbound_text_bsuid_username_no_phone.json");
    store
        .commit_delivery_blocking(prepare_delivery(&bsuid_only, "bsuid".into(), 0))
        .expect("seeded");
    let (mut client, _) = McpClient::start(&db, NO_META);
    // From a cursor, not "now": a slow start of the wait cannot put the message before it.
    let next = cursor_now(&mut client);
    let id = client.send_request(
        "tools/call",
        json!({"name": "wait_for_messages", "arguments": {
            "since": next["since"], "sinceId": next["sinceId"],
            "contact": "US.20581937466401827395", "timeoutSeconds": 20}}),
    );
    std::thread::sleep(Duration::from_millis(300));
    // The same user writes again, now with their phone number: the conversation's key
    // becomes the number, and the new message is filed under it.
    let with_phone = common::fixture("inbound_text_bsuid_with_phone.json");
    store
        .commit_delivery_blocking(prepare_delivery(&with_phone, "phone".into(), 0))
        .expect("committed");
    let response = client.response_to(id);
    let message = only_message(&response["result"]);
    assert_eq!(message["contact"], "16505550147", "{message}");
    client.finish();
}

#[test]
fn without_since_it_waits_from_now_and_its_cursor_continues_without_a_gap() {
    let (_dir, db) = seeded_db();
    let (mut client, port) = listener::mcp_with_listener(&db);
    client.initialize();
    let seeded_at = cursor_now(&mut client)["since"].clone();

    let first = client.call("wait_for_messages", json!({"timeoutSeconds": 1}));
    let first = &first["structuredContent"];
    assert_eq!(
        first["messages"],
        json!([]),
        "the message stored before the call is not returned"
    );
    let now = first["next"].clone();
    assert!(now["since"].as_str() >= seeded_at.as_str(), "{now}");
    assert_eq!(now["sinceId"], Value::Null);

    listener::post_text(port, "447700900222", NAME, "between two waits");
    let second = client.call("wait_for_messages", wait_args(&now, 5));
    assert_eq!(only_message(&second)["body"], "between two waits");
    client.finish();
}

#[test]
fn an_outbound_row_does_not_wake_it_with_a_result() {
    let (_dir, db) = seeded_db();
    let mut meta = mockito::Server::new();
    let sent = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.OUT1"}]}"#)
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let next = cursor_now(&mut client);
    let id = client.send_request(
        "tools/call",
        json!({"name": "wait_for_messages", "arguments": wait_args(&next, 2)}),
    );
    let out = wa_mcp_command(&db, &meta.url())
        .args(["send", "--to", "16505551234", "--body", "an answer"])
        .output()
        .expect("send runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = client.response_to(id)["result"].clone();
    assert_eq!(
        result["structuredContent"],
        json!({"messages": [], "next": next, "hasMore": false}),
        "the outbound row is not a message received"
    );
    sent.assert();
    assert_eq!(outbound_rows(&db), 1, "the send was stored during the wait");
    client.finish();
}

#[test]
fn bad_arguments_are_tool_errors_a_model_can_act_on() {
    let (_dir, db) = seeded_db();
    let (mut client, _) = McpClient::start(&db, NO_META);
    for (args, hint) in [
        (json!({"timeoutSeconds": 0}), "timeoutSeconds"),
        (json!({"timeoutSeconds": 61}), "timeoutSeconds"),
        (json!({"since": "wamid.HBgL"}), "ISO-8601"),
        (json!({"sinceId": "abc"}), "`sinceId` needs `since`"),
        (json!({"contact": "not a number"}), "contact"),
    ] {
        let result = client.call("wait_for_messages", args.clone());
        assert_eq!(result["isError"], true, "{args}");
        let text = result["content"][0]["text"].as_str().expect("text");
        assert!(text.contains(hint), "{args}: {text}");
    }
    let tool = listed_tool(&mut client, "wait_for_messages");
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    assert_eq!(
        tool["inputSchema"]["properties"]["timeoutSeconds"]["maximum"],
        60
    );
    assert_eq!(tool["outputSchema"]["type"], "object");
    client.finish();
}

#[test]
fn a_cancelled_wait_ends_at_once() {
    let (_dir, db) = seeded_db();
    let (mut client, _) = McpClient::start(&db, NO_META);
    let next = cursor_now(&mut client);
    let id = client.send_request(
        "tools/call",
        json!({"name": "wait_for_messages", "arguments": wait_args(&next, 60)}),
    );
    std::thread::sleep(Duration::from_millis(200));
    client.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "user stopped waiting"}),
    );
    // Well inside the 60 s the wait would otherwise take.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client
        .stderr_so_far()
        .contains("wait_for_messages_cancelled")
    {
        assert!(
            Instant::now() < deadline,
            "the wait ignored its cancellation"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ping = client.request("ping", json!({}));
    assert!(ping.get("error").is_none(), "{ping}");
    client.finish();
}

#[test]
fn its_rows_carry_the_profile_name_like_every_read_tool() {
    let (_dir, db) = seeded_db();
    let (mut client, _) = McpClient::start(&db, NO_META);
    // A cursor before the stored message: the wait answers with it at once.
    let given = json!({"since": "2000-01-01T00:00:00Z", "sinceId": ""});
    let result = client.call("wait_for_messages", wait_args(&given, 5));
    let message = only_message(&result);
    assert_eq!(message["body"], "Does it come in another color?");
    assert_eq!(message["profileName"], "Sheena Nelson");
    client.finish();
}
