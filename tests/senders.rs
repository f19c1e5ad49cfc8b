//! send_location, show_typing, send_interactive, block_contact and the answers to
//! interactive messages, through the real binary over stdio with mockito as Meta.

mod common;

use common::mcp_checks::{error_text, outbound_rows, structured};
use common::mcp_client::{McpClient, TOKEN};
use mockito::{Matcher, Server, ServerGuard};
use serde_json::{Value, json};
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

const PATH: &str = "/v26.0/106540352242922/messages";
/// The wamid Meta gives our list in these tests; the fixture's reply answers it.
const LIST_WAMID: &str = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=";
/// The wamid of the text in `inbound_text.json`, from 16505551234.
const TEXT_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";

fn sent(wamid: &str) -> String {
    json!({"messaging_product": "whatsapp", "messages": [{"id": wamid}]}).to_string()
}

fn expect_send(meta: &mut ServerGuard, body: Value, wamid: &str) -> mockito::Mock {
    meta.mock("POST", PATH)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_body(Matcher::Json(body))
        .with_status(200)
        .with_body(sent(wamid))
        .expect(1)
        .create()
}

/// Any request at all to Meta: a refusal must make none.
fn no_request(meta: &mut ServerGuard) -> mockito::Mock {
    meta.mock("POST", Matcher::Any).expect(0).create()
}

fn start(meta: &ServerGuard) -> (tempfile::TempDir, std::path::PathBuf, McpClient) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (client, _) = McpClient::start(&db, &meta.url());
    (dir, db, client)
}

#[test]
fn a_location_is_sent_as_meta_expects_and_retried_by_key_without_a_second_send() {
    let mut meta = Server::new();
    let mock = expect_send(
        &mut meta,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "447700900123", "type": "location",
               "location": {"latitude": 51.5072, "longitude": -0.1276, "name": "Office",
                            "address": "1 Main St"}}),
        "wamid.LOC",
    );
    let (_dir, db, mut client) = start(&meta);
    let args = json!({"to": "+44 7700 900123", "latitude": 51.5072, "longitude": -0.1276,
                      "name": "Office", "address": "1 Main St", "idempotencyKey": "loc-1"});
    let first = client.call("send_location", args.clone());
    assert_eq!(structured(&first)["status"], "sent");
    assert_eq!(
        client.call("send_location", args)["structuredContent"],
        first["structuredContent"]
    );
    let bad = client.call(
        "send_location",
        json!({"to": "447700900123", "latitude": 91.0, "longitude": 0.0}),
    );
    assert!(error_text(&bad).contains("latitude"));
    mock.assert();
    assert_eq!(outbound_rows(&db), 1);
    let page = client.call("get_messages", json!({"direction": "outbound"}));
    let row = &structured(&page)["messages"][0];
    assert_eq!(row["type"], "location");
    assert_eq!(
        row["body"],
        "Location: Office, 1 Main St, (51.5072, -0.1276)"
    );
    client.finish();
}

#[test]
fn show_typing_marks_read_with_the_typing_indicator() {
    let mut meta = Server::new();
    let (dir, db) = common::seed::db_with_fixtures(&["inbound_text.json"]);
    let typing = meta
        .mock("POST", PATH)
        .match_body(Matcher::PartialJson(
            json!({"status": "read", "typing_indicator": {"type": "text"}}),
        ))
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let page = client.call("get_messages", json!({}));
    let id = structured(&page)["messages"][0]["id"].clone();
    let result = client.call("show_typing", json!({"messageId": id}));
    assert_eq!(structured(&result), &json!({"success": true}));
    typing.assert();
    let again = client.call("get_messages", json!({}));
    assert_eq!(structured(&again)["messages"][0]["status"], "read");
    client.finish();
    drop(dir);
}

#[test]
fn buttons_and_lists_breaking_a_limit_make_no_request_and_no_row() {
    let mut meta = Server::new();
    let none = no_request(&mut meta);
    let (_dir, db, mut client) = start(&meta);
    let button = |i: usize| json!({"id": format!("b{i}"), "title": format!("Option {i}")});
    let rows = |n: usize| {
        (0..n)
            .map(|i| json!({"id": format!("r{i}"), "title": format!("Row {i}")}))
            .collect::<Vec<_>>()
    };
    for (args, names) in [
        (
            json!({"to": "447700900123", "body": "Pick", "buttons": [button(0), button(1), button(2), button(3)]}),
            "buttons",
        ),
        (
            json!({"to": "447700900123", "body": "Pick", "list": {"button": "Menu", "sections": [
            {"title": "A", "rows": rows(6)}, {"title": "B", "rows": rows(5)}]}}),
            "10 rows",
        ),
        (
            json!({"to": "447700900123", "body": "See", "cta": {"text": "Open", "url": "http://example.com"}}),
            "cta.url",
        ),
        (
            json!({"to": "447700900123", "body": "Pick", "buttons": [{"id": "x", "title": "A title that is far too long"}]}),
            "buttons[0].title",
        ),
    ] {
        let text = error_text(&client.call("send_interactive", args.clone()));
        assert!(text.contains(names), "{names}: {text}");
        assert!(text.contains("nothing was sent"), "{text}");
    }
    none.assert();
    assert_eq!(outbound_rows(&db), 0);
    client.finish();
}

#[test]
fn an_answer_to_a_list_shows_the_row_chosen_and_the_list_it_answers() {
    let mut meta = Server::new();
    let list = expect_send(
        &mut meta,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "interactive", "interactive": {"type": "list", "body": {"text": "How fast?"},
               "action": {"button": "Shipping", "sections": [{"title": "Options", "rows": [
                   {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
                   {"id": "ground", "title": "Ground"}]}]}}}),
        LIST_WAMID,
    );
    let (_dir, db, mut client) = start(&meta);
    let args = json!({"to": "16505551234", "body": "How fast?", "list": {"button": "Shipping",
        "sections": [{"title": "Options", "rows": [
            {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
            {"id": "ground", "title": "Ground"}]}]}});
    assert_eq!(
        structured(&client.call("send_interactive", args))["wamid"],
        LIST_WAMID
    );
    list.assert();
    // The answer arrives through another process sharing the file (the webhook).
    let store = Store::open(&db).expect("store");
    let reply = prepare_delivery(
        &common::fixture("inbound_interactive_list_reply.json"),
        "r".into(),
        0,
    );
    store.commit_delivery_blocking(reply).expect("stored");
    let page = client.call("get_messages", json!({"direction": "inbound"}));
    let answer = &structured(&page)["messages"][0];
    assert_eq!(
        answer["interactiveReply"],
        json!({"id": "priority_express", "title": "Priority Mail Express"})
    );
    assert_eq!(answer["replyTo"], LIST_WAMID);
    client.finish();
}

/// The wamid of the business message the button in `inbound_interactive_button_reply.json`
/// belongs to.
const BUTTONS_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA";

#[test]
fn a_tapped_reply_button_and_a_template_button_show_the_answer_in_every_read_tool() {
    let meta = Server::new();
    let (dir, db) = common::seed::db_with_fixtures(&[
        "inbound_interactive_button_reply.json",
        "inbound_button_template_quick_reply.json",
    ]);
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let button = json!({"id": "cancel-button", "title": "Cancel"});
    let template = json!({"id": "Unsubscribe", "title": "Unsubscribe"});
    let check = |rows: &Value, tool: &str| {
        let by_answer = |id: &str| {
            rows.as_array()
                .and_then(|r| r.iter().find(|m| m["interactiveReply"]["id"] == id))
                .cloned()
                .unwrap_or_else(|| panic!("{tool}: no answer {id} in {rows}"))
        };
        let tapped = by_answer("cancel-button");
        assert_eq!(tapped["interactiveReply"], button, "{tool}");
        assert_eq!(tapped["replyTo"], BUTTONS_WAMID, "{tool}");
        let quick = by_answer("Unsubscribe");
        assert_eq!(quick["interactiveReply"], template, "{tool}");
        assert_eq!(quick["replyTo"], LIST_WAMID, "{tool}");
    };
    let page = client.call("get_messages", json!({}));
    check(&structured(&page)["messages"], "get_messages");
    let waited = client.call(
        "wait_for_messages",
        json!({"since": "2000-01-01T00:00:00Z", "timeoutSeconds": 1}),
    );
    check(&structured(&waited)["messages"], "wait_for_messages");
    let first = structured(&page)["messages"][0]["id"].clone();
    let around = client.call("get_message_context", json!({"messageId": first}));
    check(&structured(&around)["messages"], "get_message_context");
    for word in ["Cancel", "Unsubscribe"] {
        let found = client.call("search_messages", json!({"query": word}));
        let hit = &structured(&found)["messages"][0];
        assert_eq!(hit["interactiveReply"]["title"], word, "search_messages");
        assert!(hit["replyTo"].is_string(), "search_messages: {hit}");
    }
    client.finish();
    drop(dir);
}

#[test]
fn a_blocked_contact_is_refused_locally_by_every_sender_until_unblocked() {
    let mut meta = Server::new();
    let (dir, db) = common::seed::db_with_fixtures(&["inbound_text.json"]);
    let block = meta
        .mock("POST", "/v26.0/106540352242922/block_users")
        .match_body(Matcher::Json(json!({"messaging_product": "whatsapp", "block_users": [{"user": "16505551234"}]})))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","block_users":{"added_users":[{"input":"16505551234","wa_id":"16505551234"}]}}"#)
        .expect(1)
        .create();
    let unblock = meta
        .mock("DELETE", "/v26.0/106540352242922/block_users")
        .match_body(Matcher::PartialJson(json!({"block_users": [{"user": "16505551234"}]})))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","block_users":{"removed_users":[{"input":"16505551234","wa_id":"16505551234"}]}}"#)
        .expect(1)
        .create();
    let sends = meta.mock("POST", PATH).expect(0).create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let blocked = client.call("block_contact", json!({"contact": "+1 650 555 1234"}));
    assert_eq!(
        structured(&blocked),
        &json!({"success": true, "contact": "16505551234"})
    );
    let listed = client.call("list_conversations", json!({}));
    assert_eq!(structured(&listed)["conversations"][0]["blocked"], true);
    for (tool, args) in [
        ("send_message", json!({"to": "16505551234", "body": "hi"})),
        (
            "send_location",
            json!({"to": "16505551234", "latitude": 1.0, "longitude": 2.0}),
        ),
        (
            "send_interactive",
            json!({"to": "16505551234", "body": "b", "buttons": [{"id": "a", "title": "A"}]}),
        ),
        (
            "send_template",
            json!({"to": "16505551234", "name": "hello_world", "language": "en_US"}),
        ),
        (
            "send_media",
            json!({"to": "16505551234", "url": "https://example.com/a.jpg", "type": "image"}),
        ),
        (
            "send_reaction",
            json!({"messageId": TEXT_WAMID, "emoji": "\u{1F44D}"}),
        ),
    ] {
        let text = error_text(&client.call(tool, args));
        assert!(text.contains("blocked"), "{tool}: {text}");
        assert!(!text.contains("  "), "{tool}: runs of spaces in {text:?}");
    }
    // The owner's shell goes through the same check.
    let shell = common::mcp_client::wa_mcp_command(&db, &meta.url())
        .args(["send", "--to", "+1 650 555 1234", "--body", "hi"])
        .output()
        .expect("wa-mcp send runs");
    let stderr = String::from_utf8_lossy(&shell.stderr);
    assert!(!shell.status.success(), "{stderr}");
    assert!(stderr.contains("blocked this contact"), "{stderr}");
    sends.assert();
    assert_eq!(outbound_rows(&db), 0);
    let unblocked = client.call("unblock_contact", json!({"contact": "16505551234"}));
    assert_eq!(structured(&unblocked)["success"], true);
    let listed = client.call("list_conversations", json!({}));
    assert_eq!(structured(&listed)["conversations"][0]["blocked"], false);
    block.assert();
    unblock.assert();
    client.finish();
    drop(dir);
}

#[test]
fn metas_refusal_to_block_explains_the_24_hour_rule() {
    let mut meta = Server::new();
    let refused = meta
        .mock("POST", "/v26.0/106540352242922/block_users")
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","block_users":{"added_users":[],"failed_users":[{"input":"447700900123","errors":[{"message":"Failed to block user","code":139100,"error_data":{"details":"The user has not messaged the business in the last 24 hours"}}]}]}}"#)
        .expect(1)
        .create();
    let (_dir, _db, mut client) = start(&meta);
    let text = error_text(&client.call("block_contact", json!({"contact": "447700900123"})));
    assert!(text.contains("24 hours"), "{text}");
    assert!(text.contains("139100"), "{text}");
    let listed = client.call("list_conversations", json!({}));
    assert_eq!(
        structured(&listed)["conversations"],
        json!([]),
        "nothing changed here"
    );
    refused.assert();
    client.finish();
}

#[test]
fn the_new_tools_are_listed_with_their_annotations() {
    let meta = Server::new();
    let (_dir, _db, mut client) = start(&meta);
    for (name, read_only, destructive) in [
        ("send_media", false, false),
        ("send_interactive", false, false),
        ("send_location", false, false),
        ("show_typing", false, false),
        ("list_templates", true, false),
        ("block_contact", false, true),
        ("unblock_contact", false, false),
    ] {
        let tool = common::mcp_checks::listed_tool(&mut client, name);
        assert_eq!(tool["annotations"]["readOnlyHint"], read_only, "{name}");
        assert_eq!(
            tool["annotations"]["destructiveHint"], destructive,
            "{name}"
        );
    }
    client.finish();
}
