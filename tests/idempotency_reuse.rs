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

/// A key names the whole request: reusing it with any other field (a template's
/// components, the message replied to) is refused, although the stored copy of the
/// request is the same or redacted.
#[test]
fn a_key_reused_with_any_other_field_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    let mut mock = |kind: &str, wamid: &str| {
        meta.mock("POST", PATH)
            .match_body(mockito::Matcher::PartialJson(json!({"type": kind})))
            .with_status(200)
            .with_body(
                json!({"messaging_product": "whatsapp", "messages": [{"id": wamid}]}).to_string(),
            )
            .expect(1)
            .create()
    };
    let templates = mock("template", "wamid.T");
    let texts = mock("text", "wamid.X");
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let components =
        |name: &str| json!([{"type": "body", "parameters": [{"type": "text", "text": name}]}]);
    let template = |name: &str| {
        json!({"to": "447700900123", "name": "order_update", "language": "en_US",
               "components": components(name), "idempotencyKey": "t1"})
    };
    let first = client.call("send_template", template("Ada"));
    assert_eq!(first["isError"], false, "{first}");
    assert_eq!(
        client.call("send_template", template("Ada"))["structuredContent"],
        first["structuredContent"],
        "the same request is a retry"
    );
    let text = error_text(&client.call("send_template", template("Grace")));
    assert!(text.contains("different message"), "{text}");

    let reply = |to: &str| json!({"to": "447700900123", "body": "Yes", "replyTo": to, "idempotencyKey": "r1"});
    let replied = client.call("send_message", reply("wamid.A"));
    assert_eq!(replied["isError"], false, "{replied}");
    let text = error_text(&client.call("send_message", reply("wamid.B")));
    assert!(text.contains("nothing was sent"), "{text}");
    templates.assert();
    texts.assert();
    assert_eq!(outbound_rows(&db), 2);
    client.finish();
}

/// A server that answers one send only when `release` fires, after saying on `arrived`
/// that the request came in; counts requests.
fn gated_meta() -> (
    String,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Sender<()>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (arrived_tx, arrived) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = arrived_tx.send(());
            let _ = release_rx.recv();
            let reply = r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.GATED"}]}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
                reply.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (url, arrived, release, count)
}

/// A second call with the key of a send still waiting for Meta waits for that send's
/// outcome (and sends nothing) instead of answering `pending`.
#[tokio::test(flavor = "multi_thread")]
async fn a_repeat_while_the_first_is_in_flight_waits_for_its_outcome() {
    use wa_mcp::messaging::{Messaging, SendMessageInput};
    let (url, arrived, release, requests) = gated_meta();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = wa_mcp::store::Store::open(&dir.path().join("wa.db")).expect("store");
    let token = Some(common::mcp_client::TOKEN);
    let meta = wa_mcp::meta::MetaClient::new(common::fast_meta_options(&url, token));
    let mut options = common::fast_meta_options(&url, token);
    options.timeout = std::time::Duration::from_secs(30);
    let meta = wa_mcp::meta::MetaClient::new(options).with_metrics(meta.metrics().clone());
    let messaging = Messaging::new(store, meta, &common::config(&url, token));
    let input = SendMessageInput {
        to: "447700900123".into(),
        body: "On my way".into(),
        idempotency_key: Some("k-flight".into()),
        ..SendMessageInput::default()
    };
    let (m1, i1) = (messaging.clone(), input.clone());
    let first = tokio::spawn(async move { m1.send_message(i1).await });
    tokio::task::spawn_blocking(move || arrived.recv())
        .await
        .expect("join")
        .expect("the first send reached Meta");
    let (m2, i2) = (messaging.clone(), input.clone());
    let mut second = tokio::spawn(async move { m2.send_message(i2).await });
    let early = tokio::select! {
        done = &mut second => Some(done),
        () = tokio::time::sleep(std::time::Duration::from_millis(500)) => None,
    };
    if let Some(done) = early {
        let answered = done.expect("join").expect("answered");
        panic!("the repeat answered while the first send was in flight: {answered:?}");
    }
    release.send(()).expect("release");
    let first = first.await.expect("join").expect("sent");
    let second = second
        .await
        .expect("join")
        .expect("the first send's outcome");
    assert_eq!(first.status, "sent");
    assert_eq!(second, first, "the repeat answers the first call's outcome");
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
}
