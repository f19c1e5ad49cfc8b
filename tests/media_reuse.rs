//! The reuse of an uploaded file's media id: keyed by the business number and the file,
//! and only within Meta's 30-day media lifetime. Through the messaging layer with a
//! pinned clock, mockito as Meta.

mod common;

use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::json;
use wa_mcp::messaging::{Clock, Messaging, SendMediaInput};
use wa_mcp::meta::MetaClient;
use wa_mcp::store::Store;

const TOKEN: &str = "EAAG-reuse-test-token";
const DAY_MICROS: i64 = 24 * 3600 * 1_000_000;
/// A second business number of the same account.
const OTHER_NUMBER: &str = "200000000000002";

/// An upload to `number`'s media endpoint answered with `media_id`, expected `hits` times.
async fn uploads(meta: &mut ServerGuard, number: &str, media_id: &str, hits: usize) -> Mock {
    meta.mock("POST", format!("/v26.0/{number}/media").as_str())
        .with_status(200)
        .with_body(json!({"id": media_id}).to_string())
        .expect(hits)
        .create_async()
        .await
}

/// Numbers the wamids Meta gives, so each send's is new.
static WAMIDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A send from `number` naming `media_id`, expected `hits` times.
async fn sends(meta: &mut ServerGuard, number: &str, media_id: &str, hits: usize) -> Mock {
    meta.mock("POST", format!("/v26.0/{number}/messages").as_str())
        .match_body(Matcher::PartialJson(json!({"document": {"id": media_id}})))
        .with_status(200)
        .with_body_from_request(|_| {
            let n = WAMIDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.R{n}")}]})
                .to_string()
                .into_bytes()
        })
        .expect(hits)
        .create_async()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_media_id_is_reused_per_business_number_and_only_for_30_days() {
    let mut meta = Server::new_async().await;
    let default_number = common::inbound::PNID;
    // First send and the one 29 days later share an upload; the other number uploads
    // its own; 31 days after the first upload the file goes up again.
    let first = uploads(&mut meta, default_number, "MEDIA-A", 1).await;
    let other = uploads(&mut meta, OTHER_NUMBER, "MEDIA-B", 1).await;
    let sent_a = sends(&mut meta, default_number, "MEDIA-A", 2).await;
    let sent_b = sends(&mut meta, OTHER_NUMBER, "MEDIA-B", 1).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    std::fs::create_dir(&outbox).expect("outbox");
    let file = outbox.join("terms.pdf");
    std::fs::write(&file, b"%PDF-1.7\nterms and conditions").expect("write");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    let config = wa_mcp::config::Config {
        media_send_dirs: Some(vec![outbox]),
        ..common::config(&meta.url(), Some(TOKEN))
    };
    let now = wa_mcp::timefmt::now_micros();
    let clock = Clock::pinned(now);
    let m = Messaging::new(
        store,
        MetaClient::new(common::fast_meta_options(&meta.url(), Some(TOKEN))),
        &config,
    )
    .with_clock(clock.clone());
    let send = |from: Option<&str>| SendMediaInput {
        to: "447700900123".into(),
        path: Some(file.to_string_lossy().into_owned()),
        phone_number_id: from.map(str::to_owned),
        ..SendMediaInput::default()
    };

    let a = m.send_media(send(None)).await.expect("first send");
    assert_eq!(a.media_id.as_deref(), Some("MEDIA-A"));
    let b = m
        .send_media(send(Some(OTHER_NUMBER)))
        .await
        .expect("other number");
    assert_eq!(b.media_id.as_deref(), Some("MEDIA-B"), "not MEDIA-A");
    clock.set(now + 29 * DAY_MICROS);
    let again = m.send_media(send(None)).await.expect("29 days later");
    assert_eq!(again.media_id.as_deref(), Some("MEDIA-A"), "reused");
    first.assert_async().await;
    sent_a.assert_async().await;

    let renewed = uploads(&mut meta, default_number, "MEDIA-C", 1).await;
    let sent_c = sends(&mut meta, default_number, "MEDIA-C", 1).await;
    clock.set(now + 31 * DAY_MICROS);
    let later = m.send_media(send(None)).await.expect("31 days later");
    assert_eq!(later.media_id.as_deref(), Some("MEDIA-C"), "uploaded again");
    renewed.assert_async().await;
    sent_c.assert_async().await;
    other.assert_async().await;
    sent_b.assert_async().await;
}
