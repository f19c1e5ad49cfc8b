//! The webhook over real HTTP: a server on 127.0.0.1:0 with a temp database.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{APP_SECRET, TestServer, VERIFY_TOKEN, fixture, fixture_json, sign};
use rusqlite::params;
use serde_json::json;

#[test]
fn handshake_with_the_right_token_returns_the_challenge() {
    let server = TestServer::start();
    let reply = server.get(&format!(
        "/webhook/meta?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "1158201444");
    assert!(
        reply
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/plain"))
    );
}

#[test]
fn handshake_with_a_wrong_token_or_missing_params_is_404() {
    let server = TestServer::start();
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1",
        "hub.verify_token=test-verify-token&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=test-verify-token",
        "",
    ] {
        let reply = server.get(&format!("/webhook/meta?{query}"));
        assert_eq!(reply.status, 404, "{query}");
        assert!(!reply.body.contains('1'), "challenge echoed for {query}");
    }
}

#[test]
fn handshake_without_a_configured_token_is_404() {
    let server = TestServer::start_with(Some(APP_SECRET), None);
    let reply = server.get("/webhook/meta?hub.mode=subscribe&hub.verify_token=&hub.challenge=5");
    assert_eq!(reply.status, 404);
}

#[test]
fn a_signed_text_delivery_becomes_a_message_contact_and_log_row() {
    let server = TestServer::start();
    let reply = server.post_signed(&fixture("inbound_text.json"));
    assert_eq!(reply.status, 200);

    let conn = server.conn();
    let (direction, kind, body, status, contact, wamid, pnid, ts, client): (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    ) = conn
        .query_row(
            "SELECT direction, type, body, status, contact_wa_id, wamid, phone_number_id, ts, client_id
             FROM messages",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )
        .expect("one message row");
    assert_eq!(
        (
            direction.as_str(),
            kind.as_str(),
            body.as_str(),
            status.as_str()
        ),
        (
            "inbound",
            "text",
            "Does it come in another color?",
            "received"
        )
    );
    assert_eq!(contact, "16505551234");
    assert_eq!(
        wamid,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    );
    assert_eq!(pnid, "106540352242922");
    assert_eq!(ts, "2025-06-08T20:59:43.000000Z");
    assert_eq!(client, "local-owner");

    let (name, last_inbound): (String, String) = conn
        .query_row(
            "SELECT profile_name, last_inbound_at FROM contacts WHERE wa_id = '16505551234'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("contact row");
    assert_eq!(name, "Sheena Nelson");
    assert_eq!(last_inbound, ts);

    let (outcome, request_id, messages): (String, String, i64) = conn
        .query_row(
            "SELECT outcome, request_id, messages FROM webhook_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("delivery log row");
    assert_eq!((outcome.as_str(), messages), ("processed", 1));
    assert_eq!(Some(request_id), reply.request_id);
    assert_eq!(server.count("idempotency"), 1);
}

#[test]
fn the_same_delivery_twice_stores_one_message() {
    let server = TestServer::start();
    let body = fixture("inbound_text.json");
    assert_eq!(server.post_signed(&body).status, 200);
    assert_eq!(server.post_signed(&body).status, 200);
    assert_eq!(server.count("messages"), 1);
    assert_eq!(server.count("contacts"), 1);
    assert_eq!(server.count("idempotency"), 1);
    let outcomes: Vec<String> = server
        .conn()
        .prepare("SELECT outcome FROM webhook_events ORDER BY id")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(outcomes, ["processed", "duplicate"]);
}

#[test]
fn one_flipped_byte_is_404_and_writes_nothing() {
    let server = TestServer::start();
    let body = fixture("inbound_text.json");
    let signature = sign(&body);
    let mut tampered = body.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    let reply = server.post(&tampered, &[("x-hub-signature-256", signature.as_str())]);
    assert_eq!(reply.status, 404);
    assert_eq!(server.total_rows(), 0);
}

#[test]
fn missing_or_malformed_signatures_are_404_and_write_nothing() {
    let server = TestServer::start();
    let body = fixture("inbound_text.json");
    let good = sign(&body);
    let hex = good.trim_start_matches("sha256=");
    assert_eq!(server.post(&body, &[]).status, 404);
    for bad in [
        hex.to_owned(),
        format!("sha1={hex}"),
        format!("sha256={}", &hex[..60]),
        "sha256=".into(),
    ] {
        assert_eq!(
            server
                .post(&body, &[("x-hub-signature-256", bad.as_str())])
                .status,
            404,
            "{bad}"
        );
    }
    assert_eq!(server.total_rows(), 0);
}

#[test]
fn uppercase_hex_signature_is_accepted() {
    let server = TestServer::start();
    let body = fixture("inbound_text.json");
    let upper = format!(
        "sha256={}",
        sign(&body).trim_start_matches("sha256=").to_uppercase()
    );
    assert_eq!(
        server
            .post(&body, &[("x-hub-signature-256", upper.as_str())])
            .status,
        200
    );
    assert_eq!(server.count("messages"), 1);
}

#[test]
fn without_an_app_secret_every_post_is_404() {
    let server = TestServer::start_with(None, Some(VERIFY_TOKEN));
    let body = fixture("inbound_text.json");
    assert_eq!(server.post_signed(&body).status, 404);
    assert_eq!(server.total_rows(), 0);
}

/// Sends raw bytes and reads the whole response.
fn raw_exchange(server: &TestServer, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("write head");
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn a_declared_6_mib_body_is_413_before_it_is_read() {
    let server = TestServer::start();
    let head = format!(
        "POST /webhook/meta HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-hub-signature-256: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        sign(b"{}"),
        6 * 1024 * 1024
    );
    // Only the head is sent: the answer must come without the body being read.
    let response = raw_exchange(&server, &head, b"");
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert_eq!(server.total_rows(), 0);
}

#[test]
fn a_chunked_body_over_5_mib_is_413_while_reading() {
    let server = TestServer::start();
    let size = 5 * 1024 * 1024 + 1;
    let head = format!(
        "POST /webhook/meta HTTP/1.1\r\nhost: x\r\nx-hub-signature-256: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{size:x}\r\n",
        sign(b"{}")
    );
    let response = raw_exchange(&server, &head, &vec![b' '; size]);
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        &response[..response.len().min(200)]
    );
    assert_eq!(server.total_rows(), 0);
}

#[test]
fn a_body_of_exactly_5_mib_is_read_and_verified() {
    let server = TestServer::start();
    let mut body = br#"{"object":"whatsapp_business_account","entry":[],"pad":""#.to_vec();
    body.resize(5 * 1024 * 1024 - 2, b'x');
    body.extend_from_slice(b"\"}");
    assert_eq!(server.post_signed(&body).status, 200);
    assert_eq!(server.count("webhook_events"), 1);
}

#[test]
fn signed_non_json_is_200_and_logged_as_failed() {
    let server = TestServer::start();
    let reply = server.post_signed(b"this is not json");
    assert_eq!(reply.status, 200, "a non-200 makes Meta retry for 7 days");
    let (outcome, error, payload): (String, String, String) = server
        .conn()
        .query_row(
            "SELECT outcome, error, payload FROM webhook_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("failed delivery row");
    assert_eq!(outcome, "failed");
    assert!(error.contains("not JSON"), "{error}");
    assert_eq!(payload, "this is not json", "kept for reprocessing");
    assert_eq!(server.count("messages"), 0);
}

#[test]
fn signed_json_that_is_not_a_delivery_is_200_and_logged_as_failed() {
    let server = TestServer::start();
    for body in [
        &b"[1,2,3]"[..],
        b"{\"object\":\"whatsapp_business_account\"}",
        b"42",
    ] {
        assert_eq!(server.post_signed(body).status, 200);
    }
    let failed: i64 = server
        .conn()
        .query_row(
            "SELECT count(*) FROM webhook_events WHERE outcome = 'failed'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(failed, 3);
}

#[test]
fn other_fields_are_200_and_logged_as_ignored() {
    let server = TestServer::start();
    for name in [
        "message_template_status_update_approved.json",
        "account_update_account_violation.json",
        "calls_connect_user_initiated.json",
        "errors_value_level_130429.json",
    ] {
        assert_eq!(server.post_signed(&fixture(name)).status, 200, "{name}");
    }
    let ignored: i64 = server
        .conn()
        .query_row(
            "SELECT count(*) FROM webhook_events WHERE outcome = 'ignored'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(ignored, 4);
    assert_eq!(server.count("messages"), 0);
}

/// An outbound row as a send would leave it, so statuses have something to move.
fn seed_outbound(server: &TestServer, wamid: &str) {
    server
        .conn()
        .execute(
            "INSERT INTO messages (id, direction, wamid, type, body, status, created_at, updated_at)
             VALUES (?1, 'outbound', ?2, 'text', 'hi', 'sent', '2026-01-01T00:00:00.000000Z',
                     '2026-01-01T00:00:00.000000Z')",
            params![format!("seed-{wamid}"), wamid],
        )
        .expect("seed outbound row");
}

fn status_delivery(wamid: &str, status: &str, ts: u64) -> Vec<u8> {
    let mut status_obj = json!({
        "id": wamid,
        "status": status,
        "timestamp": ts.to_string(),
        "recipient_id": "16505551234"
    });
    if status == "failed" {
        status_obj["errors"] = json!([{"code": 131047, "title": "Re-engagement message"}]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": [status_obj]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

fn message_status(server: &TestServer, wamid: &str) -> (String, Option<String>) {
    server
        .conn()
        .query_row(
            "SELECT status, error_code FROM messages WHERE wamid = ?1",
            [wamid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("message row")
}

#[test]
fn delivered_read_delivered_leaves_read() {
    let server = TestServer::start();
    seed_outbound(&server, "wamid.OUT1");
    for (status, ts) in [("delivered", 100), ("read", 101), ("delivered", 102)] {
        assert_eq!(
            server
                .post_signed(&status_delivery("wamid.OUT1", status, ts))
                .status,
            200
        );
    }
    assert_eq!(message_status(&server, "wamid.OUT1").0, "read");
    assert_eq!(
        server.count("message_status_events"),
        3,
        "every status is audited"
    );
}

#[test]
fn failed_is_recorded_with_its_error_unless_already_read() {
    let server = TestServer::start();
    seed_outbound(&server, "wamid.F1");
    seed_outbound(&server, "wamid.F2");
    server.post_signed(&status_delivery("wamid.F1", "failed", 100));
    server.post_signed(&status_delivery("wamid.F2", "read", 100));
    server.post_signed(&status_delivery("wamid.F2", "failed", 101));
    assert_eq!(
        message_status(&server, "wamid.F1"),
        ("failed".into(), Some("131047".into()))
    );
    assert_eq!(message_status(&server, "wamid.F2"), ("read".into(), None));
}

#[test]
fn a_status_for_an_unknown_wamid_is_audited_only() {
    let server = TestServer::start();
    assert_eq!(
        server
            .post_signed(&status_delivery("wamid.NOBODY", "delivered", 5))
            .status,
        200
    );
    assert_eq!(server.count("messages"), 0);
    let (wamid, status): (String, String) = server
        .conn()
        .query_row("SELECT wamid, status FROM message_status_events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("audit row");
    assert_eq!(
        (wamid.as_str(), status.as_str()),
        ("wamid.NOBODY", "delivered")
    );
}

#[test]
fn the_same_status_twice_is_audited_once() {
    let server = TestServer::start();
    seed_outbound(&server, "wamid.D1");
    let body = status_delivery("wamid.D1", "delivered", 7);
    server.post_signed(&body);
    server.post_signed(&body);
    assert_eq!(server.count("message_status_events"), 1);
}

#[test]
fn a_batched_delivery_stores_every_message_and_status() {
    let server = TestServer::start();
    let payload = fixture_json("inbound_batch_large.json");
    let mut expected_messages = 0;
    let mut expected_statuses = 0;
    for entry in payload["entry"].as_array().expect("entries") {
        for change in entry["changes"].as_array().expect("changes") {
            if change["field"] == "messages" {
                expected_messages += change["value"]["messages"].as_array().map_or(0, Vec::len);
                expected_statuses += change["value"]["statuses"].as_array().map_or(0, Vec::len);
            }
        }
    }
    assert!(
        expected_messages >= 4 && expected_statuses >= 3,
        "fixture is a real batch"
    );
    assert_eq!(
        server
            .post_signed(&fixture("inbound_batch_large.json"))
            .status,
        200
    );
    assert_eq!(server.count("messages"), expected_messages as i64);
    assert_eq!(
        server.count("message_status_events"),
        expected_statuses as i64
    );
    let (messages, statuses): (i64, i64) = server
        .conn()
        .query_row("SELECT messages, statuses FROM webhook_events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("log row");
    assert_eq!(
        (messages, statuses),
        (expected_messages as i64, expected_statuses as i64)
    );
}

#[test]
fn a_delivery_of_many_messages_is_not_cut_at_the_first() {
    let server = TestServer::start();
    let messages: Vec<_> = (0..1000)
        .map(|i| {
            json!({"from": "16505551234", "id": format!("wamid.BULK{i}"), "timestamp": "1749416383",
                        "type": "text", "text": {"body": format!("message {i}")}})
        })
        .collect();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "2"},
                  "contacts": [{"wa_id": "16505551234", "profile": {"name": "Bulk"}}],
                  "messages": messages}}]}]});
    assert_eq!(server.post_signed(body.to_string().as_bytes()).status, 200);
    assert_eq!(server.count("messages"), 1000);
}

#[test]
fn a_bsuid_only_sender_is_threaded_and_rekeyed_when_the_phone_appears() {
    let server = TestServer::start();
    let no_phone = fixture_json("inbound_text_bsuid_username_no_phone.json");
    let bsuid = no_phone["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"]
        .as_str()
        .expect("fixture has a BSUID")
        .to_owned();
    assert_eq!(
        server
            .post_signed(&fixture("inbound_text_bsuid_username_no_phone.json"))
            .status,
        200
    );
    let (key, user_id, username): (String, String, Option<String>) = server
        .conn()
        .query_row("SELECT wa_id, user_id, username FROM contacts", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("contact keyed by BSUID");
    assert_eq!(
        (key.as_str(), user_id.as_str()),
        (bsuid.as_str(), bsuid.as_str())
    );
    assert!(username.is_some(), "username kept");
    let thread: String = server
        .conn()
        .query_row("SELECT contact_wa_id FROM messages", [], |r| r.get(0))
        .expect("message");
    assert_eq!(thread, bsuid);

    // The same user, now with a phone number: one contact, keyed by the number, both messages on it.
    let mut with_phone = no_phone.clone();
    let value = &mut with_phone["entry"][0]["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!("16505550199");
    value["messages"][0]["from"] = json!("16505550199");
    value["messages"][0]["id"] = json!("wamid.SECOND");
    assert_eq!(
        server.post_signed(with_phone.to_string().as_bytes()).status,
        200
    );
    assert_eq!(server.count("contacts"), 1);
    let (key, user_id): (String, String) = server
        .conn()
        .query_row("SELECT wa_id, user_id FROM contacts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("one contact");
    assert_eq!(
        (key.as_str(), user_id.as_str()),
        ("16505550199", bsuid.as_str())
    );
    let on_thread: i64 = server
        .conn()
        .query_row(
            "SELECT count(*) FROM messages WHERE contact_wa_id = '16505550199'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(on_thread, 2);
}

#[test]
fn a_phone_contact_and_a_bsuid_contact_merge_when_shown_to_be_one_user() {
    let server = TestServer::start();
    let text = |from: serde_json::Value, user: serde_json::Value, wamid: &str| {
        let mut contact = json!({"profile": {"name": "Ana"}});
        let mut msg = json!({"id": wamid, "timestamp": "1749416383", "type": "text", "text": {"body": wamid}});
        if !from.is_null() {
            contact["wa_id"] = from.clone();
            msg["from"] = from;
        }
        if !user.is_null() {
            contact["user_id"] = user.clone();
            msg["from_user_id"] = user;
        }
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"metadata": {"phone_number_id": "2"}, "contacts": [contact], "messages": [msg]}}]}]})
        .to_string()
    };
    server.post_signed(text(json!("447700900123"), json!(null), "wamid.P").as_bytes());
    server.post_signed(text(json!(null), json!("GB.998877"), "wamid.B").as_bytes());
    assert_eq!(
        server.count("contacts"),
        2,
        "nothing yet says they are one user"
    );
    server.post_signed(text(json!("447700900123"), json!("GB.998877"), "wamid.BOTH").as_bytes());
    assert_eq!(server.count("contacts"), 1);
    let threads: i64 = server
        .conn()
        .query_row(
            "SELECT count(DISTINCT contact_wa_id) FROM messages",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(threads, 1);
}

#[test]
fn secrets_in_a_delivery_are_redacted_before_storage() {
    let server = TestServer::start();
    let mut payload = fixture_json("inbound_text.json");
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["access_token"] =
        json!("EAAG-SECRET-1");
    payload["entry"][0]["debug"] = json!({"nested": [{"client_secret": "SECRET-2"}]});
    assert_eq!(
        server.post_signed(payload.to_string().as_bytes()).status,
        200
    );
    let conn = server.conn();
    let (raw, stored_payload): (String, String) = conn
        .query_row(
            "SELECT m.raw, e.payload FROM messages m, webhook_events e",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("rows");
    for text in [&raw, &stored_payload] {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}

#[test]
fn every_response_carries_a_request_id_and_a_sane_one_is_echoed() {
    let server = TestServer::start();
    let reply = server.post(
        &fixture("inbound_text.json"),
        &[("x-request-id", "meta-abc.123")],
    );
    assert_eq!(reply.request_id.as_deref(), Some("meta-abc.123"));
    let reply = server.post(b"{}", &[("x-request-id", "not ok/<script>")]);
    let replaced = reply.request_id.expect("a request id");
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    assert!(server.get("/nope").request_id.is_some());
}

#[test]
fn health_answers_ok_when_the_database_does() {
    let server = TestServer::start();
    let reply = server.get("/health");
    assert_eq!(reply.status, 200);
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(body["status"], "ok");
}

/// `GET /health` by hand with `host`: the status code and the JSON body.
fn health_with_host(server: &TestServer, host: &str) -> (u16, serde_json::Value) {
    let head = format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let response = raw_exchange(server, &head, b"");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).expect("JSON"))
}

#[test]
fn health_shows_the_writer_to_loopback_and_only_the_status_to_others() {
    let server = TestServer::start();
    let (status, local) = health_with_host(&server, &format!("127.0.0.1:{}", server.addr.port()));
    assert_eq!(status, 200);
    assert_eq!(local["status"], "ok");
    assert_eq!(local["writer"]["status"], "ok");
    assert_eq!(local["writer"]["queue_depth"], 0);
    assert!(
        local["writer"]["queue_capacity"]
            .as_u64()
            .is_some_and(|c| c > 0)
    );
    // Through the tunnel (any other Host): nothing but the status.
    let (status, public) = health_with_host(&server, "wa.owner-tunnel.example");
    assert_eq!(status, 200);
    assert_eq!(public, serde_json::json!({"status": "ok"}));
}

#[test]
fn health_is_503_while_the_writer_cannot_commit_and_200_once_it_can() {
    let options = wa_mcp::store::StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..wa_mcp::store::StoreOptions::default()
    };
    let server = TestServer::start_with_options(Some(APP_SECRET), None, options);
    assert_eq!(server.get("/health").status, 200);
    // Another process holds the write lock past the writer's busy timeout.
    let locker = server.conn();
    locker.execute_batch("BEGIN IMMEDIATE").expect("lock taken");
    let body = fixture("inbound_text.json");
    assert_eq!(server.post_signed(&body).status, 503);
    let reply = server.get("/health");
    assert_eq!(reply.status, 503, "{}", reply.body);
    let health: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(health["status"], "unavailable");
    assert_eq!(health["writer"]["status"], "cannot_commit");
    assert!(health["writer"]["last_error"].is_string(), "{health}");
    locker.execute_batch("ROLLBACK").expect("lock released");
    assert_eq!(server.post_signed(&body).status, 200);
    assert_eq!(server.get("/health").status, 200);
}

#[test]
fn unknown_routes_and_methods_are_404() {
    let server = TestServer::start();
    assert_eq!(server.get("/").status, 404);
    assert_eq!(server.get("/webhook/meta/extra").status, 404);
}

#[test]
fn the_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start();
    server.post_signed(&fixture("inbound_text.json"));
    let mode = std::fs::metadata(&server.db)
        .expect("db file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(server.db.parent().expect("dir"))
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
}
