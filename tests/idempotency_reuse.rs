//! An idempotency key names one message. Passing it again with the same message is a
//! retry (answered with the first result, nothing sent); passing it with a different
//! recipient, text or kind of message is a mistake that must not be answered "sent" for
//! a message that never went out.

mod common;

use common::mcp_checks::{error_text, outbound_rows};
use common::mcp_client::McpClient;
use mockito::Server;
use serde_json::json;

const PATH: &str = "/v26.0/106540352242922/messages";

#[test]
fn a_key_reused_for_another_message_is_refused_not_answered_as_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    let once = meta
        .mock("POST", PATH)
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.FIRST"}]}"#)
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let first = client.call(
        "send_message",
        json!({"to": "+44 7700 900123", "body": "See you at 5", "idempotencyKey": "k1"}),
    );
    assert_eq!(first["isError"], false, "{first}");

    // The same message again, the number written another way: a retry.
    let retry = client.call(
        "send_message",
        json!({"to": "447700900123", "body": "See you at 5", "idempotencyKey": "k1"}),
    );
    assert_eq!(retry["structuredContent"], first["structuredContent"]);

    for (tool, args) in [
        (
            "send_message",
            json!({"to": "+1 650 555 1234", "body": "See you at 5", "idempotencyKey": "k1"}),
        ),
        (
            "send_message",
            json!({"to": "447700900123", "body": "Running late", "idempotencyKey": "k1"}),
        ),
        (
            "send_template",
            json!({"to": "447700900123", "name": "hello_world", "language": "en_US",
                   "idempotencyKey": "k1"}),
        ),
    ] {
        let text = error_text(&client.call(tool, args.clone()));
        assert!(text.contains("idempotencyKey"), "{args}: {text}");
        assert!(text.contains("nothing was sent"), "{args}: {text}");
        assert!(text.contains("new key"), "{args}: {text}");
    }
    once.assert();
    assert_eq!(outbound_rows(&db), 1);
    client.finish();
}
