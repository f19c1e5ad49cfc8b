//! send_template and send_reaction over the real binary, with mockito matching the exact
//! bodies the Cloud API documents; reactions shown on the messages they react to.

mod common;

use common::inbound;
use common::mcp_checks::{error_text, listed_tool, outbound_rows, structured};
use common::mcp_client::McpClient;
use common::seed::db_with;
use mockito::{Matcher, Mock, Server, ServerGuard};
use rusqlite::Connection;
use serde_json::json;

const PATH: &str = "/v26.0/106540352242922/messages";
const BEN: &str = "16505551234";
const T0: i64 = 1_795_428_000;

fn sent(wamid: &str) -> String {
    json!({"messaging_product": "whatsapp", "contacts": [{"input": BEN, "wa_id": BEN}],
           "messages": [{"id": wamid}]})
    .to_string()
}

/// Meta's messages endpoint expecting, exactly once, the documented reaction body:
/// `emoji` on `target`, to Ben; it answers `wamid`.
fn reaction_sent(meta: &mut ServerGuard, target: &str, emoji: &str, wamid: &str) -> Mock {
    meta.mock("POST", PATH)
        .match_body(Matcher::Json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": BEN,
            "type": "reaction", "reaction": {"message_id": target, "emoji": emoji}
        })))
        .with_status(200)
        .with_body(sent(wamid))
        .expect(1)
        .create()
}

/// `(type, body, status, context_wamid, contact)` of the row with this id.
fn stored(
    db: &std::path::Path,
    id: &str,
) -> (String, Option<String>, String, Option<String>, String) {
    Connection::open(db)
        .expect("db")
        .query_row(
            "SELECT type, body, status, context_wamid, contact_wa_id FROM messages WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("row")
}

#[test]
fn send_template_posts_the_documented_body_and_stores_a_template_row() {
    let (_dir, db) = db_with(vec![]);
    let components = json!([{"type": "body", "parameters": [{"type": "text", "text": "Ada"},
                                                            {"type": "text", "text": "#1234"}]}]);
    let mut meta = Server::new();
    let mock = meta
        .mock("POST", PATH)
        .match_body(Matcher::Json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "447700900123",
            "type": "template",
            "template": {"name": "order_update", "language": {"code": "en_US"}, "components": components}
        })))
        .with_status(200)
        .with_body(sent("wamid.TPL1"))
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let args = json!({"to": "+44 7700 900123", "name": "order_update", "language": "en_US",
                      "components": components, "idempotencyKey": "tpl-1"});
    let first = client.call("send_template", args.clone());
    let result = structured(&first).clone();
    assert_eq!(result["wamid"], "wamid.TPL1");
    assert_eq!(result["status"], "sent");
    assert!(result["createdAt"].is_string());
    let again = client.call("send_template", args);
    assert_eq!(structured(&again)["id"], result["id"], "the key replays");
    mock.assert();
    let id = result["id"].as_str().expect("id");
    assert_eq!(
        stored(&db, id),
        (
            "template".into(),
            Some("order_update (en_US)".into()),
            "sent".into(),
            None,
            "447700900123".into()
        )
    );
    client.finish();
}

#[test]
fn a_template_without_components_sends_none_and_meta_template_errors_explain_themselves() {
    let (_dir, db) = db_with(vec![]);
    let mut meta = Server::new();
    let refused = meta
        .mock("POST", PATH)
        .match_body(Matcher::Json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "447700900123",
            "type": "template", "template": {"name": "hello_world", "language": {"code": "xx_XX"}}
        })))
        .with_status(404)
        .with_body(r#"{"error":{"message":"(#132001) Template name does not exist in the translation","type":"OAuthException","code":132001,"error_data":{"messaging_product":"whatsapp","details":"template name (hello_world) does not exist in xx_XX"},"fbtrace_id":"Az"}}"#)
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let result = client.call(
        "send_template",
        json!({"to": "447700900123", "name": "hello_world", "language": "xx_XX"}),
    );
    let text = error_text(&result);
    assert!(text.contains("132001"), "{text}");
    assert!(text.contains("language code"), "{text}");
    let status: String = Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT status FROM messages WHERE type = 'template'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(status, "failed");

    let bad = client.call(
        "send_template",
        json!({"to": "447700900123", "name": "hello_world", "language": "en_US", "components": {"type": "body"}}),
    );
    assert!(error_text(&bad).contains("components"));
    refused.assert();
    assert_eq!(outbound_rows(&db), 1, "a refused input stores nothing");
    client.finish();
}

#[test]
fn send_reaction_reacts_by_wamid_or_id_and_an_empty_emoji_removes_it() {
    let target = "wamid.BEN1";
    let (_dir, db) = db_with(vec![inbound::text(
        BEN,
        "Ben",
        target,
        T0,
        "Got the parcel!",
    )]);
    let mut meta = Server::new();
    let put = reaction_sent(&mut meta, target, "👍", "wamid.REACT1");
    let removed = reaction_sent(&mut meta, target, "", "wamid.REACT2");
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let tool = listed_tool(&mut client, "send_reaction");
    assert_eq!(
        tool["inputSchema"]["required"],
        json!(["messageId", "emoji"])
    );
    assert_eq!(tool["annotations"]["openWorldHint"], true);

    let reacted = client.call("send_reaction", json!({"messageId": target, "emoji": "👍"}));
    let r = structured(&reacted).clone();
    assert_eq!(r["wamid"], "wamid.REACT1");
    assert_eq!(r["status"], "sent");
    assert_eq!(
        stored(&db, r["id"].as_str().expect("id")),
        (
            "reaction".into(),
            Some("👍".into()),
            "sent".into(),
            Some(target.into()),
            BEN.into()
        )
    );

    let page = client.call("get_messages", json!({"direction": "inbound"}));
    let our_id = structured(&page)["messages"][0]["id"].clone();
    assert_eq!(
        structured(&page)["messages"][0]["reactions"][0]["direction"],
        "outbound"
    );
    let gone = client.call("send_reaction", json!({"messageId": our_id, "emoji": ""}));
    assert_eq!(structured(&gone)["wamid"], "wamid.REACT2");
    let page = client.call("get_messages", json!({"direction": "inbound"}));
    assert!(
        structured(&page)["messages"][0].get("reactions").is_none(),
        "{page}"
    );

    let unknown = client.call(
        "send_reaction",
        json!({"messageId": "wamid.NOPE", "emoji": "👍"}),
    );
    assert_eq!(unknown["isError"], true);
    let wordy = client.call(
        "send_reaction",
        json!({"messageId": target, "emoji": "thumbs up"}),
    );
    assert_eq!(wordy["isError"], true);
    put.assert();
    removed.assert();
    assert_eq!(outbound_rows(&db), 2);
    client.finish();
}

#[test]
fn get_messages_shows_an_inbound_reaction_on_its_target_and_keeps_the_reaction_row() {
    let target = "wamid.BEN1";
    let (_dir, db) = db_with(vec![
        inbound::text(BEN, "Ben", target, T0, "Got the parcel!"),
        inbound::text(BEN, "Ben", "wamid.BEN2", T0 + 1, "Thanks"),
        inbound::reaction(BEN, "wamid.R1", T0 + 2, target, "❤️"),
        inbound::reaction(BEN, "wamid.R2", T0 + 3, "wamid.BEN2", "🙏"),
        inbound::reaction(BEN, "wamid.R3", T0 + 4, "wamid.BEN2", ""),
    ]);
    let (mut client, _) = McpClient::start(&db, "http://127.0.0.1:9");
    let page = client.call("get_messages", json!({}));
    let messages = structured(&page)["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(messages.len(), 5, "reaction rows stay in the list");
    let reactions = &messages[0]["reactions"];
    assert_eq!(reactions.as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(reactions[0]["emoji"], "❤️");
    assert_eq!(reactions[0]["from"], BEN);
    assert_eq!(reactions[0]["direction"], "inbound");
    assert!(reactions[0]["createdAt"].is_string());
    assert!(
        messages[1].get("reactions").is_none(),
        "a removed reaction is gone"
    );
    assert_eq!(messages[2]["type"], "reaction");
    assert_eq!(messages[2]["replyTo"], target);

    let limited = client.call("get_messages", json!({"limit": 1}));
    assert_eq!(
        structured(&limited)["messages"][0]["reactions"][0]["emoji"],
        "❤️"
    );
    client.finish();
}

/// Guards finding 3 of the hardening review: the stored copy of a sent template kept
/// its components as given, Flow button `flow_token` included. Meta still gets the
/// token; `messages.raw` keeps it redacted, exactly as an inbound payload would be.
#[test]
fn a_sent_templates_flow_token_reaches_meta_but_is_not_stored() {
    let (_dir, db) = db_with(vec![]);
    let components = json!([{"type": "button", "sub_type": "flow", "index": "0",
        "parameters": [{"type": "action", "action": {"flow_token": "FLOW-TOKEN-SECRET",
                                                      "flow_action_data": {"step": "one"}}}]}]);
    let mut meta = Server::new();
    let mock = meta
        .mock("POST", PATH)
        .match_body(Matcher::PartialJson(
            json!({"template": {"components": components}}),
        ))
        .with_status(200)
        .with_body(sent("wamid.FLOW1"))
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let args = json!({"to": BEN, "name": "book_table", "language": "en_US",
                      "components": components});
    let result = structured(&client.call("send_template", args)).clone();
    assert_eq!(result["status"], "sent", "{result}");
    mock.assert();
    let raw: String = Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT raw FROM messages WHERE id = ?1",
            [result["id"].as_str().expect("id")],
            |r| r.get(0),
        )
        .expect("row");
    assert!(!raw.contains("FLOW-TOKEN-SECRET"), "{raw}");
    let raw: serde_json::Value = serde_json::from_str(&raw).expect("JSON");
    let action = &raw["template"]["components"][0]["parameters"][0]["action"];
    assert_eq!(action["flow_token"], "<redacted>");
    assert_eq!(action["flow_action_data"], json!({"step": "one"}));
    client.finish();
}
