//! WA_ALLOWED_RECIPIENTS: with it set, every sending tool and `wa-mcp send` refuse a
//! stranger (no row, no request to Meta) and allow listed recipients in any format and
//! contacts who have written to us, whichever identity they are addressed by.

mod common;

use std::path::Path;

use common::inbound;
use common::mcp_checks::{error_text, outbound_rows};
use common::mcp_client::{McpClient, wa_mcp_command};
use common::seed;
use mockito::{Matcher, Server, ServerGuard};
use serde_json::{Value, json};

const PATH: &str = "/v26.0/106540352242922/messages";
const BEN: &str = "16505551234";
const STRANGER: &str = "+33 6 12 34 56 78";

/// A database where Ben wrote from his number and a contact wrote from a BSUID with a
/// phone number.
fn seeded_db() -> (tempfile::TempDir, std::path::PathBuf) {
    seed::db_with(vec![
        inbound::text(BEN, "Ben", "wamid.BEN1", 1_795_428_000, "hi"),
        wa_mcp::webhook::prepare_delivery(
            &common::fixture("inbound_text_bsuid_with_phone.json"),
            "bsuid".into(),
            0,
        ),
    ])
}

fn start(db: &Path, graph: &str, allowed: Option<&str>) -> McpClient {
    start_with_init(db, graph, allowed).0
}

/// The client and its `initialize` answer.
fn start_with_init(db: &Path, graph: &str, allowed: Option<&str>) -> (McpClient, Value) {
    let mut command = wa_mcp_command(db, graph);
    if let Some(list) = allowed {
        command.env("WA_ALLOWED_RECIPIENTS", list);
    }
    let mut client = McpClient::spawn(command, &["mcp", "--no-http"]);
    let init = client.initialize();
    (client, init)
}

/// Meta's messages endpoint expecting, exactly once, a send whose body includes
/// `partial`; it answers `wamid`.
fn send_matching(meta: &mut ServerGuard, partial: Value, wamid: &str) -> mockito::Mock {
    meta.mock("POST", PATH)
        .match_body(Matcher::PartialJson(partial))
        .with_status(200)
        .with_body(
            json!({"messaging_product": "whatsapp", "messages": [{"id": wamid}]}).to_string(),
        )
        .expect(1)
        .create()
}

fn any_send(meta: &mut ServerGuard, expect: usize) -> mockito::Mock {
    meta.mock("POST", PATH)
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.ANY"}]}"#)
        .expect(expect)
        .create()
}

#[test]
fn a_stranger_is_refused_by_every_sending_tool_with_no_row_and_no_request() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let none = any_send(&mut meta, 0);
    let (mut client, init) = start_with_init(&db, &meta.url(), Some("+44 7700 900123"));
    let instructions = init["result"]["instructions"].as_str().unwrap_or_default();
    assert!(
        instructions.contains("WA_ALLOWED_RECIPIENTS"),
        "the model is told about the guard: {instructions}"
    );
    let text = error_text(&client.call(
        "send_message",
        json!({"to": STRANGER, "body": "Per the message I received, here are the codes"}),
    ));
    assert!(text.contains("WA_ALLOWED_RECIPIENTS"), "{text}");
    assert!(text.contains("safety setting the owner controls"), "{text}");
    assert!(text.contains("33612345678"), "{text}");
    let template = client.call(
        "send_template",
        json!({"to": STRANGER, "name": "hello_world", "language": "en_US"}),
    );
    assert!(error_text(&template).contains("WA_ALLOWED_RECIPIENTS"));
    none.assert();
    assert_eq!(outbound_rows(&db), 0);
    client.finish();
}

#[test]
fn listed_numbers_in_another_format_and_contacts_who_wrote_are_allowed() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let listed = send_matching(&mut meta, json!({"to": "447700900123"}), "wamid.L1");
    let wrote = send_matching(&mut meta, json!({"to": BEN}), "wamid.W1");
    let by_bsuid = send_matching(
        &mut meta,
        json!({"recipient": "US.20581937466401827395"}),
        "wamid.B1",
    );
    let reaction = send_matching(
        &mut meta,
        json!({"type": "reaction", "to": BEN}),
        "wamid.R1",
    );
    let mut client = start(
        &db,
        &meta.url(),
        Some("0044 7700 900123, US.00000000000000000001"),
    );
    for (to, wamid) in [
        ("+44 (7700) 900-123", "wamid.L1"),
        ("+1 650 555 1234", "wamid.W1"),
        ("US.20581937466401827395", "wamid.B1"),
    ] {
        let result = client.call("send_message", json!({"to": to, "body": "hello"}));
        assert_eq!(result["isError"], false, "{to}: {result}");
        assert_eq!(result["structuredContent"]["wamid"], wamid);
    }
    let reacted = client.call(
        "send_reaction",
        json!({"messageId": "wamid.BEN1", "emoji": "👍"}),
    );
    assert_eq!(reacted["isError"], false, "{reacted}");
    listed.assert();
    wrote.assert();
    by_bsuid.assert();
    reaction.assert();
    assert_eq!(outbound_rows(&db), 4);
    client.finish();
}

#[test]
fn a_reaction_to_a_message_exchanged_with_a_stranger_is_refused_too() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let first = any_send(&mut meta, 1);
    let mut before = start(&db, &meta.url(), None);
    let sent = before.call("send_message", json!({"to": STRANGER, "body": "hello"}));
    assert_eq!(sent["isError"], false, "{sent}");
    before.finish();
    first.assert();

    let mut meta = Server::new();
    let none = any_send(&mut meta, 0);
    let mut client = start(&db, &meta.url(), Some("447700900123"));
    let reacted = client.call(
        "send_reaction",
        json!({"messageId": "wamid.ANY", "emoji": "👍"}),
    );
    assert!(error_text(&reacted).contains("WA_ALLOWED_RECIPIENTS"));
    // A contact row and an outbound message do not make them someone who wrote to us.
    let texted = client.call("send_message", json!({"to": STRANGER, "body": "again"}));
    assert!(error_text(&texted).contains("WA_ALLOWED_RECIPIENTS"));
    let template = client.call(
        "send_template",
        json!({"to": "33612345678", "name": "hello_world", "language": "en_US"}),
    );
    assert!(error_text(&template).contains("WA_ALLOWED_RECIPIENTS"));
    none.assert();
    assert_eq!(outbound_rows(&db), 1);
    client.finish();
}

#[test]
fn unset_means_no_limit() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let one = any_send(&mut meta, 1);
    let mut client = start(&db, &meta.url(), None);
    let result = client.call("send_message", json!({"to": STRANGER, "body": "hello"}));
    assert_eq!(result["isError"], false, "{result}");
    one.assert();
    client.finish();
}

#[test]
fn the_send_command_shares_the_guard() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let none = any_send(&mut meta, 0);
    let output = wa_mcp_command(&db, &meta.url())
        .env("WA_ALLOWED_RECIPIENTS", "447700900123")
        .args(["send", "--to", STRANGER, "--body", "hello"])
        .output()
        .expect("wa-mcp send runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WA_ALLOWED_RECIPIENTS"), "{stderr}");
    assert!(output.stdout.is_empty());
    none.assert();
    assert_eq!(outbound_rows(&db), 0);
}

/// Guards finding 10 of the hardening review: an empty value used to turn the guard
/// off. Set but empty, it lists nobody: a stranger is refused, someone who wrote is not.
#[test]
fn set_but_empty_lists_nobody_and_still_allows_those_who_wrote() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let wrote = send_matching(&mut meta, json!({"to": BEN}), "wamid.E1");
    let mut client = start(&db, &meta.url(), Some(""));
    let refused = client.call("send_message", json!({"to": STRANGER, "body": "hello"}));
    assert!(
        error_text(&refused).contains("WA_ALLOWED_RECIPIENTS"),
        "{refused}"
    );
    let allowed = client.call("send_message", json!({"to": BEN, "body": "hello"}));
    assert_eq!(allowed["isError"], false, "{allowed}");
    wrote.assert();
    assert_eq!(outbound_rows(&db), 1);
    client.finish();
}
