//! find_contacts (by name, by a number written three ways, by BSUID, everyone newest
//! first) and get_message_context (at the start, the middle and the end of a
//! conversation), in process and over stdio.

mod common;

use common::inbound::text;
use common::mcp_checks::{error_text, listed_tool, structured};
use common::mcp_client::McpClient;
use serde_json::json;
use wa_mcp::messaging::{Clock, ContactCard, Messaging};
use wa_mcp::meta::MetaClient;
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

const ADA: &str = "447700900123";
const BEN: &str = "16505551234";
/// 2026-11-23T10:00:00Z in Unix seconds.
const T0: i64 = 1_795_428_000;

struct Fixture {
    _dir: tempfile::TempDir,
    messaging: Messaging,
}

/// Ada writes five messages, then Ben two, then Maya (known by BSUID and phone) one.
async fn fixture() -> Fixture {
    fixture_with_meta("http://127.0.0.1:9", None).await
}

/// [`fixture`] with Graph API calls to `graph`, authorised by `token`.
async fn fixture_with_meta(graph: &str, token: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    let config = common::config(graph, token);
    let meta = MetaClient::new(common::fast_meta_options(graph, token));
    // An hour after Ada's last message: her window is open.
    let clock = Clock::pinned((T0 + 3600) * 1_000_000);
    let messaging = Messaging::new(store.clone(), meta, &config).with_clock(clock);
    for i in 0..5 {
        let d = text(
            ADA,
            "Ada Lovelace",
            &format!("w-ada-{i}"),
            T0 + i,
            &format!("ada says {i}"),
        );
        store.commit_delivery(d).await.expect("committed");
    }
    for i in 0..2 {
        let d = text(
            BEN,
            "Ben Müller",
            &format!("w-ben-{i}"),
            T0 - 90_000 + i,
            "hello",
        );
        store.commit_delivery(d).await.expect("committed");
    }
    let maya = prepare_delivery(
        &common::fixture("inbound_text_bsuid_with_phone.json"),
        "maya".into(),
        0,
    );
    store.commit_delivery(maya).await.expect("committed");
    Fixture {
        _dir: dir,
        messaging,
    }
}

async fn contacts(f: &Fixture, q: Option<&str>) -> Vec<ContactCard> {
    f.messaging
        .find_contacts(q.map(str::to_owned), None)
        .await
        .expect("found")
}

fn keys(cards: &[ContactCard]) -> Vec<&str> {
    cards.iter().map(|c| c.entry.contact.as_str()).collect()
}

#[tokio::test]
async fn a_number_is_found_however_it_is_written() {
    let f = fixture().await;
    for written in [
        "+44 7700 900123",
        "0044 7700 900123",
        "07700 900123",
        "447700900123",
        "900123",
    ] {
        assert_eq!(
            keys(&contacts(&f, Some(written)).await),
            vec![ADA],
            "{written}"
        );
    }
    assert_eq!(
        keys(&contacts(&f, Some("+1 (650) 555-1234")).await),
        vec![BEN]
    );
}

#[tokio::test]
async fn a_bsuid_and_a_name_find_their_contact() {
    let f = fixture().await;
    let maya = contacts(&f, Some("US.20581937466401827395")).await;
    assert_eq!(keys(&maya), vec!["16505550147"]);
    assert_eq!(
        maya[0].entry.bsuid.as_deref(),
        Some("US.20581937466401827395")
    );
    assert_eq!(maya[0].entry.phone.as_deref(), Some("16505550147"));
    assert_eq!(
        keys(&contacts(&f, Some("US.2058")).await),
        vec!["16505550147"]
    );
    assert_eq!(keys(&contacts(&f, Some("lovelace")).await), vec![ADA]);
    assert_eq!(keys(&contacts(&f, Some("ADA")).await), vec![ADA]);
    assert_eq!(
        keys(&contacts(&f, Some("maya.okafor")).await),
        vec!["16505550147"]
    );
    assert!(contacts(&f, Some("nobody")).await.is_empty());
    assert!(
        contacts(&f, Some("%")).await.is_empty(),
        "LIKE wildcards are literal"
    );
}

#[tokio::test]
async fn a_contact_known_only_by_a_bsuid_is_found_by_it_and_by_name() {
    let f = fixture().await;
    let sheena = prepare_delivery(
        &common::fixture("inbound_text_bsuid_parent_no_phone_meta_example.json"),
        "sheena".into(),
        0,
    );
    f.messaging
        .store()
        .commit_delivery(sheena)
        .await
        .expect("committed");
    const BSUID: &str = "US.13491208655302741918";
    for query in [BSUID, "US.1349", "US.ENT.1181", "sheena", "realsheena"] {
        let found = contacts(&f, Some(query)).await;
        assert_eq!(keys(&found), vec![BSUID], "{query}");
        let entry = &found[0].entry;
        assert_eq!(entry.bsuid.as_deref(), Some(BSUID));
        assert_eq!(entry.phone, None, "no number is known");
        assert_eq!(entry.messages, 1);
    }
}

#[tokio::test]
async fn everyone_most_recent_first_with_counts_and_window() {
    let f = fixture().await;
    let all = contacts(&f, None).await;
    assert_eq!(keys(&all), vec!["16505550147", BEN, ADA]);
    let ada = &all[2].entry;
    assert_eq!(ada.messages, 5);
    assert_eq!(ada.unread, 5);
    assert_eq!(ada.profile_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        ada.last_inbound_at.as_deref(),
        Some("2026-11-23T10:00:04.000000Z")
    );
    assert!(all[2].window.open);
    assert!(!all[1].window.open, "Ben wrote more than a day before");
    assert!(!ada.blocked);
    let one = f
        .messaging
        .find_contacts(None, Some(1))
        .await
        .expect("found");
    assert_eq!(keys(&one), vec!["16505550147"]);
    assert!(f.messaging.find_contacts(None, Some(0)).await.is_err());
}

#[tokio::test]
async fn a_contact_blocked_through_block_contact_reads_blocked_until_unblocked() {
    let mut meta = mockito::Server::new_async().await;
    let path = "/v26.0/106540352242922/block_users";
    let answer = |verb: &str| {
        format!(
            r#"{{"messaging_product":"whatsapp","block_users":{{"{verb}":[{{"input":"{BEN}","wa_id":"{BEN}"}}]}}}}"#
        )
    };
    let block = meta
        .mock("POST", path)
        .with_body(answer("added_users"))
        .expect(1)
        .create_async()
        .await;
    let unblock = meta
        .mock("DELETE", path)
        .with_body(answer("removed_users"))
        .expect(1)
        .create_async()
        .await;
    let f = fixture_with_meta(&meta.url(), Some("EAAG-test-token")).await;
    let blocked = |cards: &[ContactCard]| -> Vec<(String, bool)> {
        cards
            .iter()
            .map(|c| (c.entry.contact.clone(), c.entry.blocked))
            .collect()
    };
    f.messaging
        .block_contact("+1 650 555 1234")
        .await
        .expect("blocked");
    assert_eq!(
        blocked(&contacts(&f, Some("Müller")).await),
        vec![(BEN.to_owned(), true)]
    );
    assert_eq!(
        blocked(&contacts(&f, None).await),
        vec![
            ("16505550147".to_owned(), false),
            (BEN.to_owned(), true),
            (ADA.to_owned(), false)
        ]
    );
    f.messaging.unblock_contact(BEN).await.expect("unblocked");
    assert!(!contacts(&f, Some(BEN)).await[0].entry.blocked);
    block.assert_async().await;
    unblock.assert_async().await;
}

async fn context(f: &Fixture, id: &str, before: u32, after: u32) -> (Vec<String>, String) {
    let c = f
        .messaging
        .get_message_context(id, Some(before), Some(after))
        .await
        .expect("context");
    let wamids = c
        .messages
        .into_iter()
        .map(|m| m.wamid.expect("wamid"))
        .collect();
    (wamids, c.target_id)
}

#[tokio::test]
async fn context_at_the_start_the_middle_and_the_end_of_a_conversation() {
    let f = fixture().await;
    let (start, _) = context(&f, "w-ada-0", 3, 2).await;
    assert_eq!(start, vec!["w-ada-0", "w-ada-1", "w-ada-2"]);
    let (middle, target) = context(&f, "w-ada-2", 1, 1).await;
    assert_eq!(middle, vec!["w-ada-1", "w-ada-2", "w-ada-3"]);
    let (end, _) = context(&f, "w-ada-4", 2, 5).await;
    assert_eq!(end, vec!["w-ada-2", "w-ada-3", "w-ada-4"]);
    let (alone, _) = context(&f, "w-ada-4", 0, 0).await;
    assert_eq!(alone, vec!["w-ada-4"]);
    // The target is named by its id, and other conversations never appear.
    let by_id = f
        .messaging
        .get_message_context(&target, None, None)
        .await
        .expect("by id");
    assert_eq!(by_id.target_id, target);
    assert_eq!(by_id.messages.len(), 5);
    assert!(
        by_id
            .messages
            .iter()
            .all(|m| m.contact.as_deref() == Some(ADA))
    );
    let missing = f
        .messaging
        .get_message_context("wamid.nope", None, None)
        .await;
    assert!(
        missing
            .expect_err("missing")
            .to_string()
            .contains("search_messages")
    );
    assert!(
        f.messaging
            .get_message_context("w-ada-0", Some(51), None)
            .await
            .is_err()
    );
}

#[test]
fn both_tools_over_stdio_are_read_only_and_answer_the_contract_shapes() {
    let (_dir, db) = common::seed::db_with(vec![
        text(ADA, "Ada Lovelace", "w-1", T0, "the invoice for March"),
        text(ADA, "Ada Lovelace", "w-2", T0 + 1, "and the receipt"),
        text(BEN, "Ben", "w-3", T0 + 2, "lunch?"),
    ]);
    let (mut client, _) = McpClient::start(&db, "http://127.0.0.1:9");
    for name in ["find_contacts", "get_message_context"] {
        let tool = listed_tool(&mut client, name);
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{name}");
    }
    let result = client.call("find_contacts", json!({"query": "+44 7700 900123"}));
    let found = &structured(&result)["contacts"];
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let ada = &found[0];
    assert_eq!(ada["contact"], ADA);
    assert_eq!(ada["phone"], ADA);
    assert_eq!(ada["bsuid"], serde_json::Value::Null);
    assert_eq!(ada["profileName"], "Ada Lovelace");
    assert_eq!(ada["messages"], 2);
    assert_eq!(ada["unread"], 2);
    assert_eq!(ada["blocked"], false);
    for key in ["firstSeenAt", "lastInboundAt", "lastMessageAt"] {
        assert!(ada[key].is_string(), "{key}: {ada}");
    }
    assert!(ada["window"]["open"].is_boolean() && ada["window"]["expiresAt"].is_string());

    let result = client.call(
        "get_message_context",
        json!({"messageId": "w-2", "before": 5, "after": 5}),
    );
    let content = structured(&result);
    let messages = content["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["wamid"], "w-1");
    assert_eq!(messages[1]["wamid"], "w-2");
    assert_eq!(content["targetId"], messages[1]["id"]);
    assert_eq!(messages[0]["profileName"], "Ada Lovelace");
    let result = client.call("get_message_context", json!({"messageId": "nope"}));
    assert!(error_text(&result).contains("no message"));
    client.finish();
}
