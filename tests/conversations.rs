//! list_conversations: one entry per contact, newest activity first, unread counts that
//! follow mark_read ("read up to here"), and the 24-hour window against a pinned clock.

mod common;

use common::inbound;
use common::mcp_checks::listed_tool;
use common::mcp_client::McpClient;
use mockito::{Matcher, Server, ServerGuard};
use serde_json::{Value, json};
use wa_mcp::messaging::{Clock, Conversation, ConversationQuery, Messaging, SendMessageInput};
use wa_mcp::meta::MetaClient;
use wa_mcp::store::Store;
use wa_mcp::store::conversations::explain_conversations;
use wa_mcp::timefmt::parse_rfc3339;
use wa_mcp::webhook::prepare_delivery;

const TOKEN: &str = "EAAG-conversations-test-token";
const PATH: &str = "/v26.0/106540352242922/messages";
const ADA: &str = "447700900123";
const BEN: &str = "16505551234";
/// 2026-11-23T10:00:00Z in Unix seconds.
const T0: i64 = 1_795_428_000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    messaging: Messaging,
    clock: Clock,
}

fn fixture(graph: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    let config = common::config(graph, Some(TOKEN));
    let meta = MetaClient::new(common::fast_meta_options(graph, Some(TOKEN)));
    let clock = Clock::pinned(T0 * 1_000_000);
    let messaging = Messaging::new(store.clone(), meta, &config).with_clock(clock.clone());
    Fixture {
        _dir: dir,
        store,
        messaging,
        clock,
    }
}

async fn seed(f: &Fixture, delivery: wa_mcp::model::PreparedDelivery) {
    f.store.commit_delivery(delivery).await.expect("committed");
}

async fn list(f: &Fixture, unread_only: bool) -> Vec<Conversation> {
    f.messaging
        .list_conversations(ConversationQuery {
            limit: None,
            unread_only,
        })
        .await
        .expect("listed")
}

fn contacts(list: &[Conversation]) -> Vec<&str> {
    list.iter().map(|c| c.contact.as_str()).collect()
}

async fn mock_read_receipts(server: &mut ServerGuard, expect: usize) -> mockito::Mock {
    server
        .mock("POST", PATH)
        .match_body(Matcher::PartialJson(json!({"status": "read"})))
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(expect)
        .create_async()
        .await
}

fn status_of(f: &Fixture, wamid: &str) -> String {
    let wamid = wamid.to_owned();
    f.store
        .read_blocking(move |c| {
            Ok(c.query_row(
                "SELECT status FROM messages WHERE wamid = ?1",
                [&wamid],
                |r| r.get(0),
            )?)
        })
        .expect("row")
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_counts_follow_mark_read_which_reads_everything_up_to_the_message() {
    let mut server = Server::new_async().await;
    let receipts = mock_read_receipts(&mut server, 3).await;
    let f = fixture(&server.url());
    for (i, body) in ["one", "two", "three"].iter().enumerate() {
        let wamid = format!("wamid.ADA{i}");
        seed(&f, inbound::text(ADA, "Ada", &wamid, T0 + i as i64, body)).await;
    }
    assert_eq!(list(&f, false).await[0].unread, 3);

    f.messaging.mark_read("wamid.ADA1").await.expect("read");
    let after = list(&f, false).await;
    assert_eq!(after[0].unread, 1, "the second message reads the first too");
    assert_eq!(status_of(&f, "wamid.ADA0"), "read");
    assert_eq!(status_of(&f, "wamid.ADA2"), "received");

    f.messaging.mark_read("wamid.ADA0").await.expect("read");
    assert_eq!(
        list(&f, false).await[0].unread,
        1,
        "an older mark never moves back"
    );

    f.messaging.mark_read("wamid.ADA2").await.expect("read");
    assert_eq!(list(&f, false).await[0].unread, 0);
    receipts.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_is_open_until_exactly_24_hours_after_the_last_inbound_message() {
    let f = fixture("http://127.0.0.1:9");
    seed(
        &f,
        inbound::text(ADA, "Ada", "wamid.W1", T0 - 3600, "earlier"),
    )
    .await;
    seed(&f, inbound::text(ADA, "Ada", "wamid.W2", T0, "latest")).await;
    let expiry = (T0 + 24 * 3600) * 1_000_000;

    f.clock.set(expiry - 1);
    let open = &list(&f, false).await[0].window;
    assert!(open.open, "one microsecond before the boundary");
    assert_eq!(
        open.expires_at.as_deref(),
        Some("2026-11-24T10:00:00.000000Z")
    );
    assert_eq!(
        parse_rfc3339(open.expires_at.as_deref().unwrap_or_default()),
        Ok(expiry)
    );

    f.clock.set(expiry);
    let closed = &list(&f, false).await[0].window;
    assert!(!closed.open, "closed at the boundary");
    assert_eq!(closed.expires_at, open.expires_at);

    seed(
        &f,
        inbound::text(ADA, "Ada", "wamid.W3", T0 + 7200, "back again"),
    )
    .await;
    assert!(
        list(&f, false).await[0].window.open,
        "a new message reopens it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn conversations_are_newest_activity_first_one_per_contact() {
    let mut server = Server::new_async().await;
    let mut sends = Vec::new();
    for (to, wamid) in [(ADA, "wamid.OUT1"), ("33612345678", "wamid.OUT2")] {
        let mock = server
            .mock("POST", PATH)
            .match_body(Matcher::PartialJson(json!({"to": to})))
            .with_status(200)
            .with_body(
                json!({"messaging_product": "whatsapp", "messages": [{"id": wamid}]}).to_string(),
            )
            .expect(1)
            .create_async()
            .await;
        sends.push(mock);
    }
    let f = fixture(&server.url());
    seed(&f, inbound::text(ADA, "Ada", "wamid.A1", T0, "hi from Ada")).await;
    seed(
        &f,
        inbound::text(BEN, "Ben", "wamid.B1", T0 + 1, "hi from Ben"),
    )
    .await;
    assert_eq!(contacts(&list(&f, false).await), [BEN, ADA]);

    let reply = SendMessageInput {
        to: "+44 7700 900123".into(),
        body: "hello Ada".into(),
        ..SendMessageInput::default()
    };
    f.messaging.send_message(reply).await.expect("sent");
    let stranger = SendMessageInput {
        to: "+33 6 12 34 56 78".into(),
        body: "first contact".into(),
        ..SendMessageInput::default()
    };
    f.messaging.send_message(stranger).await.expect("sent");
    for mock in &sends {
        mock.assert_async().await;
    }

    let listed = list(&f, false).await;
    assert_eq!(contacts(&listed), ["33612345678", ADA, BEN]);
    let ada = &listed[1];
    assert_eq!(ada.profile_name.as_deref(), Some("Ada"));
    assert_eq!(ada.last_message.direction, "outbound");
    assert_eq!(ada.last_message.kind, "text");
    assert_eq!(ada.last_message.body.as_deref(), Some("hello Ada"));
    assert_eq!(ada.unread, 1, "our reply does not read their message");
    let never_wrote = &listed[0];
    assert_eq!(never_wrote.unread, 0);
    assert!(!never_wrote.window.open);
    assert_eq!(never_wrote.window.expires_at, None);

    let first = f
        .messaging
        .list_conversations(ConversationQuery {
            limit: Some(1),
            unread_only: false,
        })
        .await
        .expect("listed");
    assert_eq!(contacts(&first), ["33612345678"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_only_lists_the_conversations_waiting_for_a_reply() {
    let mut server = Server::new_async().await;
    let receipts = mock_read_receipts(&mut server, 1).await;
    let f = fixture(&server.url());
    seed(&f, inbound::text(ADA, "Ada", "wamid.A1", T0, "from Ada")).await;
    seed(
        &f,
        inbound::text(BEN, "Ben", "wamid.B1", T0 + 1, "from Ben"),
    )
    .await;
    f.messaging.mark_read("wamid.B1").await.expect("read");
    receipts.assert_async().await;
    assert_eq!(contacts(&list(&f, true).await), [ADA]);
    assert_eq!(contacts(&list(&f, false).await), [BEN, ADA]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bsuid_contact_merged_into_its_phone_contact_keeps_its_read_mark() {
    let mut server = Server::new_async().await;
    let receipt = server
        .mock("POST", Matcher::Any)
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(1)
        .create_async()
        .await;
    let f = fixture(&server.url());
    let phone = "16505550147";
    seed(&f, inbound::text(phone, "Maya", "wamid.P1", T0, "by phone")).await;
    let by_bsuid = common::fixture("inbound_text_bsuid_username_no_phone.json");
    seed(&f, prepare_delivery(&by_bsuid, "bsuid".into(), 0)).await;
    assert_eq!(
        list(&f, false).await.len(),
        2,
        "two contacts until Meta links them"
    );
    f.messaging
        .mark_read("wamid.HBgLMTAwMDAwMDAwMDAVAgASGBQzQTdDMjFGMDlCNEU1RDZBOEMxMgA=")
        .await
        .expect("read");
    receipt.assert_async().await;

    let both = common::fixture("inbound_text_bsuid_with_phone.json");
    seed(&f, prepare_delivery(&both, "both".into(), 0)).await;
    let merged = list(&f, false).await;
    assert_eq!(contacts(&merged), [phone]);
    assert_eq!(merged[0].unread, 1, "only the message after the read mark");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_outside_1_to_100_is_refused_with_the_range() {
    let f = fixture("http://127.0.0.1:9");
    for limit in [0, 101] {
        let err = f
            .messaging
            .list_conversations(ConversationQuery {
                limit: Some(limit),
                unread_only: false,
            })
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("1 to 100"), "{err}");
    }
}

#[test]
fn the_page_is_read_through_indexes_without_sorting_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    for unread_only in [false, true] {
        let plan = store
            .read_blocking(move |c| explain_conversations(c, unread_only))
            .expect("plan");
        assert!(plan.contains("contacts_by_last_message"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        for line in plan.lines() {
            assert!(
                !(line.contains("SCAN") && line.contains("messages")),
                "{plan}"
            );
        }
    }
}

fn call_list(client: &mut McpClient, args: Value) -> Vec<Value> {
    let result = client.call("list_conversations", args);
    assert_eq!(result["isError"], false, "{result}");
    result["structuredContent"]["conversations"]
        .as_array()
        .expect("conversations")
        .clone()
}

#[test]
fn over_stdio_list_conversations_shows_unread_and_windows_and_follows_mark_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    {
        let store = Store::open(&db).expect("store");
        let now = wa_mcp::timefmt::now_micros() / 1_000_000;
        store
            .commit_delivery_blocking(inbound::text(
                ADA,
                "Ada",
                "wamid.OLD",
                T0 - 86_400 * 30,
                "old",
            ))
            .expect("seeded");
        store
            .commit_delivery_blocking(inbound::text(BEN, "Ben", "wamid.NEW", now, "recent"))
            .expect("seeded");
    }
    let mut meta = Server::new();
    let receipt = meta
        .mock("POST", PATH)
        .match_body(Matcher::Json(
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.NEW"}),
        ))
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let tool = listed_tool(&mut client, "list_conversations");
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    assert_eq!(tool["inputSchema"]["properties"]["limit"]["maximum"], 100);

    let all = call_list(&mut client, json!({}));
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["contact"], BEN);
    assert_eq!(all[0]["profileName"], "Ben");
    assert_eq!(all[0]["unread"], 1);
    assert_eq!(all[0]["window"]["open"], true);
    assert_eq!(
        all[0]["lastMessage"],
        json!({"direction": "inbound", "type": "text", "body": "recent",
               "createdAt": all[0]["lastMessage"]["createdAt"]})
    );
    assert_eq!(all[1]["contact"], ADA);
    assert_eq!(all[1]["window"]["open"], false);
    assert!(all[1]["window"]["expiresAt"].is_string());

    let read = client.call("mark_read", json!({"messageId": "wamid.NEW"}));
    assert_eq!(read["isError"], false, "{read}");
    let waiting = call_list(&mut client, json!({"unreadOnly": true}));
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["contact"], ADA);

    let bad = client.call("list_conversations", json!({"limit": 0}));
    assert_eq!(bad["isError"], true);
    receipt.assert();
    client.finish();
}
