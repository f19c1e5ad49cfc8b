//! send_message, get_messages and mark_read through the messaging layer, against a
//! temp database and mockito standing in for Meta.

mod common;

use std::time::{Duration, Instant};

use mockito::{Matcher, Server, ServerGuard};
use rusqlite::params;
use serde_json::json;
use wa_mcp::config::Config;
use wa_mcp::messaging::{MessageQuery, Messaging, MessagingError, SendMessageInput};
use wa_mcp::meta::{MetaClient, MetaClientOptions};
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

const TOKEN: &str = "EAAG-messaging-test-token";
const PNID: &str = "106540352242922";
const PATH: &str = "/v26.0/106540352242922/messages";

struct Fixture {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    store: Store,
    messaging: Messaging,
}

fn config(graph: &str, token: Option<&str>) -> Config {
    common::config(graph, token)
}

fn fixture_with(graph: &str, token: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    let config = config(graph, token);
    let meta = MetaClient::new(common::fast_meta_options(graph, token));
    let messaging = Messaging::new(store.clone(), meta, &config);
    Fixture {
        _dir: dir,
        db,
        store,
        messaging,
    }
}

fn fixture(graph: &str) -> Fixture {
    fixture_with(graph, Some(TOKEN))
}

fn text(to: &str, body: &str) -> SendMessageInput {
    SendMessageInput {
        to: to.into(),
        body: body.into(),
        ..SendMessageInput::default()
    }
}

fn sent_reply(wamid: &str) -> String {
    json!({"messaging_product": "whatsapp", "contacts": [{"input": "447700900123", "wa_id": "447700900123"}],
           "messages": [{"id": wamid}]})
    .to_string()
}

async fn mock_send(
    server: &mut ServerGuard,
    body: serde_json::Value,
    status: usize,
    reply: &str,
) -> mockito::Mock {
    server
        .mock("POST", PATH)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("content-type", Matcher::Regex("application/json".into()))
        .match_body(Matcher::Json(body))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(reply)
        .expect(1)
        .create_async()
        .await
}

fn row(f: &Fixture, id: &str) -> (String, Option<String>, Option<String>, Option<String>) {
    rusqlite::Connection::open(&f.db)
        .expect("db")
        .query_row(
            "SELECT status, wamid, error_code, contact_wa_id FROM messages WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("row")
}

fn only_row_id(f: &Fixture) -> String {
    rusqlite::Connection::open(&f.db)
        .expect("db")
        .query_row("SELECT id FROM messages", [], |r| r.get(0))
        .expect("exactly one row")
}

#[tokio::test(flavor = "multi_thread")]
async fn send_happy_path_sends_exactly_what_meta_expects_and_ends_sent() {
    let mut server = Server::new_async().await;
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "447700900123", "type": "text", "text": {"body": "Hello from wa-mcp", "preview_url": false}});
    let mock = mock_send(&mut server, expected, 200, &sent_reply("wamid.SENT1")).await;
    let f = fixture(&server.url());
    let result = f
        .messaging
        .send_message(text("+44 7700 900123", "Hello from wa-mcp"))
        .await
        .expect("sent");
    mock.assert_async().await;
    assert_eq!(result.status, "sent");
    assert_eq!(result.wamid.as_deref(), Some("wamid.SENT1"));
    assert_eq!(
        row(&f, &result.id),
        (
            "sent".into(),
            Some("wamid.SENT1".into()),
            None,
            Some("447700900123".into())
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_with_preview_carries_context_and_preview_url() {
    let mut server = Server::new_async().await;
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "16505551234", "type": "text", "context": {"message_id": "wamid.ORIGINAL"},
        "text": {"body": "see https://example.com", "preview_url": true}});
    let mock = mock_send(&mut server, expected, 200, &sent_reply("wamid.R")).await;
    let f = fixture(&server.url());
    let input = SendMessageInput {
        reply_to: Some("wamid.ORIGINAL".into()),
        preview_url: true,
        ..text("16505551234", "see https://example.com")
    };
    f.messaging.send_message(input).await.expect("sent");
    mock.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn error_131047_is_a_tool_error_about_the_window_and_the_row_fails() {
    let mut server = Server::new_async().await;
    let reply = common::fixture("graph_error_131047.json");
    let mock = server
        .mock("POST", PATH)
        .with_status(400)
        .with_body(reply)
        .expect(1)
        .create_async()
        .await;
    let f = fixture(&server.url());
    let err = f
        .messaging
        .send_message(text("447700900123", "late"))
        .await
        .expect_err("refused");
    mock.assert_async().await;
    let text = err.to_string();
    assert!(text.contains("24"), "{text}");
    assert!(text.to_lowercase().contains("template"), "{text}");
    let (status, wamid, code, _) = row(&f, &only_row_id(&f));
    assert_eq!(
        (status.as_str(), wamid, code.as_deref()),
        ("failed", None, Some("131047"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_then_success_is_one_sent_row_and_two_requests() {
    let mut server = Server::new_async().await;
    let failing = server
        .mock("POST", PATH)
        .with_status(500)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("POST", PATH)
        .with_status(200)
        .with_body(sent_reply("wamid.AFTER500"))
        .expect(1)
        .create_async()
        .await;
    let f = fixture(&server.url());
    let result = f
        .messaging
        .send_message(text("447700900123", "x"))
        .await
        .expect("sent");
    failing.assert_async().await;
    ok.assert_async().await;
    assert_eq!(result.wamid.as_deref(), Some("wamid.AFTER500"));
    assert_eq!(
        f.store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))?))
            .await
            .expect("count"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_is_waited_out() {
    let mut server = Server::new_async().await;
    let limited = server
        .mock("POST", PATH)
        .with_status(429)
        .with_header("retry-after", "1")
        .with_body(common::fixture("graph_error_130429.json"))
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("POST", PATH)
        .with_status(200)
        .with_body(sent_reply("wamid.LATER"))
        .expect(1)
        .create_async()
        .await;
    let f = fixture(&server.url());
    let started = Instant::now();
    let result = f
        .messaging
        .send_message(text("447700900123", "x"))
        .await
        .expect("sent");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After ignored"
    );
    limited.assert_async().await;
    ok.assert_async().await;
    assert_eq!(result.status, "sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_meta_gets_one_request_a_timeout_error_and_an_unknown_row() {
    let (url, requests) = common::hung_server();
    let f = fixture(&url);
    let err = f
        .messaging
        .send_message(text("447700900123", "x"))
        .await
        .expect_err("no answer");
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a send that went out is never retried"
    );
    assert!(err.to_string().contains("may or may not"), "{err}");
    assert_eq!(row(&f, &only_row_id(&f)).0, "unknown");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_that_arrives_before_the_send_returns_is_applied() {
    let mut server = Server::new_async().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let webhook_store = Store::open(&db).expect("second store on the same file");
    let mock = server
        .mock("POST", PATH)
        .with_status(200)
        .with_body_from_request(move |_| {
            // Meta's `delivered` webhook lands (through another connection, as the
            // `serve` daemon would write it) before our send call gets its answer.
            let store = webhook_store.clone();
            std::thread::spawn(move || {
                let status = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
                    "field": "messages", "value": {"metadata": {"phone_number_id": PNID},
                    "statuses": [{"id": "wamid.RACE", "status": "delivered", "timestamp": "1749416390",
                                  "recipient_id": "447700900123"}]}}]}]});
                let d = prepare_delivery(status.to_string().as_bytes(), "race".into(), 0);
                store.commit_delivery_blocking(d).expect("status stored");
            })
            .join()
            .expect("webhook thread");
            sent_reply("wamid.RACE").into_bytes()
        })
        .expect(1)
        .create_async()
        .await;
    let store = Store::open(&db).expect("store");
    let config = config(&server.url(), Some(TOKEN));
    let meta = MetaClient::new(MetaClientOptions {
        base_url: server.url(),
        ..MetaClientOptions::new(config.access_token.clone())
    });
    let messaging = Messaging::new(store, meta, &config);
    let result = messaging
        .send_message(text("447700900123", "race"))
        .await
        .expect("sent");
    mock.assert_async().await;
    let status: String = rusqlite::Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT status FROM messages WHERE id = ?1",
            [&result.id],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(
        status, "delivered",
        "the early status was applied when the wamid was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_idempotency_key_sends_once_and_returns_the_first_result() {
    let mut server = Server::new_async().await;
    let mock = server
        .mock("POST", PATH)
        .with_status(200)
        .with_body(sent_reply("wamid.ONCE"))
        .expect(1)
        .create_async()
        .await;
    let f = fixture(&server.url());
    let input = SendMessageInput {
        idempotency_key: Some("k-123".into()),
        ..text("447700900123", "once")
    };
    let first = f
        .messaging
        .send_message(input.clone())
        .await
        .expect("first");
    let second = f.messaging.send_message(input).await.expect("second");
    mock.assert_async().await;
    assert_eq!(first, second);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_the_error_names_the_variable_and_nothing_is_stored() {
    let mut server = Server::new_async().await;
    let mock = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let f = fixture_with(&server.url(), None);
    let err = f
        .messaging
        .send_message(text("447700900123", "x"))
        .await
        .expect_err("refused");
    assert!(matches!(err, MessagingError::NotConfigured(_)));
    assert!(err.to_string().contains("WA_ACCESS_TOKEN"));
    mock.assert_async().await;
    assert_eq!(
        f.store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))?))
            .await
            .expect("count"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_anything_happens() {
    let f = fixture("http://127.0.0.1:9");
    for (to, body) in [
        ("", "x"),
        ("call me", "x"),
        ("12345", "x"),
        ("447700900123", ""),
    ] {
        let err = f
            .messaging
            .send_message(text(to, body))
            .await
            .expect_err("refused");
        assert!(
            matches!(err, MessagingError::InvalidInput(_)),
            "{to:?} {body:?}: {err}"
        );
    }
    let long = "x".repeat(4097);
    assert!(
        f.messaging
            .send_message(text("447700900123", &long))
            .await
            .is_err()
    );
}

/// Inserts `n` inbound rows with controlled created_at values (two of them equal).
fn seed_messages(f: &Fixture, n: usize) {
    let conn = rusqlite::Connection::open(&f.db).expect("db");
    for (i, contact) in ["447700900123", "16505551234"].iter().enumerate() {
        conn.execute(
            "INSERT INTO contacts (wa_id, first_seen_at, updated_at) VALUES (?1, ?2, ?2)",
            params![contact, format!("2026-01-0{}T00:00:00.000000Z", i + 1)],
        )
        .expect("contact");
    }
    for i in 0..n {
        // Rows 10 and 11 share a created_at: the id breaks the tie.
        let second = if i == 11 { 10 } else { i };
        let created = format!("2026-11-24T10:00:{second:02}.000000Z");
        let (direction, contact) = if i % 3 == 0 {
            ("outbound", "16505551234")
        } else {
            ("inbound", "447700900123")
        };
        conn.execute(
            "INSERT INTO messages (id, direction, wamid, contact_wa_id, type, body, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'text', ?5, ?6, ?7, ?7)",
            params![
                format!("m{i:03}"),
                direction,
                format!("wamid.M{i}"),
                contact,
                format!("body {i}"),
                if direction == "inbound" { "received" } else { "sent" },
                created
            ],
        )
        .expect("message");
    }
}

fn ids(page: &wa_mcp::messaging::MessagePage) -> Vec<String> {
    page.messages.iter().map(|m| m.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_of_get_messages_have_no_overlap_and_no_gap() {
    let f = fixture("http://127.0.0.1:9");
    seed_messages(&f, 50);
    let all: Vec<String> = (0..50).map(|i| format!("m{i:03}")).collect();
    let first = f
        .messaging
        .get_messages(MessageQuery {
            limit: Some(20),
            ..Default::default()
        })
        .await
        .expect("page 1");
    assert_eq!(ids(&first), all[..20]);
    assert!(first.has_more);
    let mut seen = ids(&first);
    let mut next = first.next.clone();
    loop {
        let page = f
            .messaging
            .get_messages(MessageQuery {
                since: next.since.clone(),
                since_id: next.since_id.clone(),
                limit: Some(20),
                ..Default::default()
            })
            .await
            .expect("next page");
        seen.extend(ids(&page));
        if !page.has_more {
            assert_eq!(
                page.next.since.as_deref(),
                Some("2026-11-24T10:00:49.000000Z")
            );
            break;
        }
        next = page.next;
    }
    assert_eq!(seen, all, "every row exactly once, in order");
}

#[tokio::test(flavor = "multi_thread")]
async fn equal_created_at_is_resolved_by_since_id() {
    let f = fixture("http://127.0.0.1:9");
    seed_messages(&f, 50);
    let tie = "2026-11-24T10:00:10.000000Z";
    let page = f
        .messaging
        .get_messages(MessageQuery {
            since: Some(tie.into()),
            since_id: Some("m010".into()),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .expect("page");
    assert_eq!(ids(&page), ["m011", "m012"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_page_returns_the_given_cursor() {
    let f = fixture("http://127.0.0.1:9");
    seed_messages(&f, 5);
    let since = "2030-01-01T00:00:00.000000Z";
    let page = f
        .messaging
        .get_messages(MessageQuery {
            since: Some(since.into()),
            since_id: Some("zzz".into()),
            ..Default::default()
        })
        .await
        .expect("page");
    assert!(page.messages.is_empty() && !page.has_more);
    assert_eq!(
        (page.next.since.as_deref(), page.next.since_id.as_deref()),
        (Some(since), Some("zzz"))
    );

    // Exactly as written, also in a form the store would have normalised.
    for since in ["2030-01-01T00:00:00Z", "2030-01-01T01:00:00+01:00"] {
        let page = f
            .messaging
            .get_messages(MessageQuery {
                since: Some(since.into()),
                ..Default::default()
            })
            .await
            .expect("page");
        assert!(page.messages.is_empty());
        assert_eq!(page.next.since.as_deref(), Some(since));
        assert_eq!(page.next.since_id, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wamid_as_since_is_rejected() {
    let f = fixture("http://127.0.0.1:9");
    let err = f
        .messaging
        .get_messages(MessageQuery {
            since: Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgAS".into()),
            ..Default::default()
        })
        .await
        .expect_err("rejected");
    assert!(err.to_string().contains("ISO-8601"), "{err}");
    for bad in [Some(0), Some(101)] {
        assert!(
            f.messaging
                .get_messages(MessageQuery {
                    limit: bad,
                    ..Default::default()
                })
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn direction_and_contact_filters_select_their_rows() {
    let f = fixture("http://127.0.0.1:9");
    seed_messages(&f, 30);
    let q = |direction: Option<&str>, contact: Option<&str>| MessageQuery {
        direction: direction.map(str::to_owned),
        contact: contact.map(str::to_owned),
        limit: Some(100),
        ..Default::default()
    };
    let outbound = f
        .messaging
        .get_messages(q(Some("outbound"), None))
        .await
        .expect("outbound");
    assert_eq!(outbound.messages.len(), 10);
    assert!(outbound.messages.iter().all(|m| m.direction == "outbound"));
    let inbound = f
        .messaging
        .get_messages(q(Some("inbound"), None))
        .await
        .expect("inbound");
    assert_eq!(inbound.messages.len(), 20);
    let by_contact = f
        .messaging
        .get_messages(q(
            None,
            Some("+44 (0) 7700-900123".replace("(0) ", "").as_str()),
        ))
        .await
        .expect("contact");
    assert_eq!(by_contact.messages.len(), 20);
    assert!(
        by_contact
            .messages
            .iter()
            .all(|m| m.contact.as_deref() == Some("447700900123"))
    );
    let both = f
        .messaging
        .get_messages(q(Some("outbound"), Some("0016505551234")))
        .await
        .expect("both");
    assert_eq!(both.messages.len(), 10);
    assert!(
        f.messaging
            .get_messages(q(Some("sideways"), None))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_messages_records_the_pull() {
    let f = fixture("http://127.0.0.1:9");
    f.messaging
        .get_messages(MessageQuery::default())
        .await
        .expect("page");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = f
            .store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM pull_cursors WHERE client_id = 'local-owner'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .expect("count");
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "pull_cursors never updated");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mark_read_calls_meta_with_the_rows_number_and_sets_read() {
    let mut server = Server::new_async().await;
    let f = fixture(&server.url());
    let body = common::fixture("inbound_text.json");
    let d = prepare_delivery(&body, "r".into(), 0);
    f.store.commit_delivery(d).await.expect("stored");
    let wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
    let mock = server
        .mock("POST", PATH)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_body(Matcher::Json(
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid}),
        ))
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(2)
        .create_async()
        .await;
    let id = only_row_id(&f);
    f.messaging.mark_read(&id).await.expect("marked by id");
    assert_eq!(row(&f, &id).0, "read");
    f.messaging.mark_read(wamid).await.expect("marked by wamid");
    mock.assert_async().await;
    let missing = f
        .messaging
        .mark_read("no-such-message")
        .await
        .expect_err("unknown id");
    assert!(matches!(missing, MessagingError::NotFound(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_left_pending_by_a_crash_becomes_unknown_not_resent() {
    let f = fixture("http://127.0.0.1:9");
    let conn = rusqlite::Connection::open(&f.db).expect("db");
    for (id, updated) in [
        ("old", "2020-01-01T00:00:00.000000Z"),
        ("fresh", "2999-01-01T00:00:00.000000Z"),
    ] {
        conn.execute(
            "INSERT INTO messages (id, direction, type, body, status, created_at, updated_at)
             VALUES (?1, 'outbound', 'text', 'x', 'pending', ?2, ?2)",
            params![id, updated],
        )
        .expect("seed");
    }
    assert_eq!(
        f.messaging.settle_abandoned_sends().await.expect("settled"),
        1
    );
    assert_eq!(row(&f, "old").0, "unknown");
    assert_eq!(
        row(&f, "fresh").0,
        "pending",
        "a send still in flight elsewhere is left alone"
    );
}
