//! Every new sender ends like send_message: Meta's 131047 is a failed row and an error
//! about the 24-hour window; a Meta that never answers gets one request, an `unknown`
//! row and an error saying the message may have gone out. An upload is not a send: one
//! that gets no answer is retried and ends the row `failed`.

mod common;

use std::sync::atomic::Ordering;

use mockito::Server;
use wa_mcp::messaging::{
    Button, Messaging, MessagingError, SendInteractiveInput, SendLocationInput, SendMediaInput,
};
use wa_mcp::meta::MetaClient;
use wa_mcp::store::Store;

const TOKEN: &str = "EAAG-outcomes-test-token";

/// Messaging over a new database in a temp folder, whose `outbox/` folder is the one
/// `WA_MEDIA_SEND_DIRS` lists.
fn messaging(graph: &str) -> (tempfile::TempDir, std::path::PathBuf, Messaging) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let outbox = dir.path().join("outbox");
    std::fs::create_dir(&outbox).expect("outbox");
    let store = Store::open(&db).expect("store");
    let meta = MetaClient::new(common::fast_meta_options(graph, Some(TOKEN)));
    let config = wa_mcp::config::Config {
        media_send_dirs: Some(vec![outbox]),
        ..common::config(graph, Some(TOKEN))
    };
    let m = Messaging::new(store, meta, &config);
    (dir, db, m)
}

/// A small PDF in the outbox of [`messaging`]'s folder, sent to 447700900123.
fn local_pdf(dir: &tempfile::TempDir) -> SendMediaInput {
    let path = dir.path().join("outbox").join("report.pdf");
    std::fs::write(&path, b"%PDF-1.7\nreport").expect("write");
    SendMediaInput {
        to: "447700900123".into(),
        path: Some(path.to_string_lossy().into_owned()),
        ..SendMediaInput::default()
    }
}

/// Sends the n-th kind of new message to `to`.
async fn send(m: &Messaging, kind: usize, to: &str) -> Result<String, MessagingError> {
    let to = to.to_owned();
    match kind {
        0 => m
            .send_location(SendLocationInput {
                to,
                latitude: 1.0,
                longitude: 2.0,
                ..SendLocationInput::default()
            })
            .await
            .map(|r| r.status),
        1 => m
            .send_interactive(SendInteractiveInput {
                to,
                body: "Pick".into(),
                buttons: Some(vec![Button {
                    id: "a".into(),
                    title: "A".into(),
                }]),
                ..SendInteractiveInput::default()
            })
            .await
            .map(|r| r.status),
        _ => m
            .send_media(SendMediaInput {
                to,
                url: Some("https://cdn.example.com/a.pdf".into()),
                kind: Some("document".into()),
                ..SendMediaInput::default()
            })
            .await
            .map(|r| r.sent.status),
    }
}

fn statuses(db: &std::path::Path) -> Vec<(String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).expect("db");
    let mut stmt = conn
        .prepare("SELECT status, error_code FROM messages ORDER BY created_at")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread")]
async fn error_131047_fails_the_row_and_names_the_window_for_every_sender() {
    let mut meta = Server::new_async().await;
    let refused = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_status(400)
        .with_body(common::fixture("graph_error_131047.json"))
        .expect(3)
        .create_async()
        .await;
    let (_dir, db, m) = messaging(&meta.url());
    for kind in 0..3 {
        let err = send(&m, kind, "447700900123").await.expect_err("refused");
        assert!(err.to_string().contains("24-hour"), "{kind}: {err}");
    }
    refused.assert_async().await;
    let rows = statuses(&db);
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|(s, c)| s == "failed" && c.as_deref() == Some("131047")),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_meta_gets_one_request_per_send_and_unknown_rows() {
    let (url, requests) = common::hung_server();
    let (_dir, db, m) = messaging(&url);
    for kind in 0..3 {
        let err = send(&m, kind, "447700900123").await.expect_err("no answer");
        assert!(err.to_string().contains("may or may not"), "{kind}: {err}");
        assert_eq!(requests.load(Ordering::SeqCst), kind + 1, "never retried");
    }
    assert!(statuses(&db).iter().all(|(s, _)| s == "unknown"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_gets_no_answer_is_retried_and_fails_the_row_with_nothing_sent() {
    let (url, requests) = common::hung_server();
    let (dir, db, m) = messaging(&url);
    let err = m.send_media(local_pdf(&dir)).await.expect_err("no answer");
    // The first attempt and the policy's three retries, each unanswered; no send.
    assert_eq!(requests.load(Ordering::SeqCst), 4, "the upload is retried");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert!(!err.to_string().contains("may or may not"), "{err}");
    assert_eq!(statuses(&db).len(), 1);
    assert_eq!(
        statuses(&db)[0].0,
        "failed",
        "nothing reached the recipient"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_that_hangs_after_its_upload_is_not_retried_and_ends_unknown() {
    let (url, uploads, sends) = common::hung_after_upload_server();
    let (dir, db, m) = messaging(&url);
    let err = m.send_media(local_pdf(&dir)).await.expect_err("no answer");
    assert!(err.to_string().contains("may or may not"), "{err}");
    assert_eq!(uploads.load(Ordering::SeqCst), 1);
    assert_eq!(sends.load(Ordering::SeqCst), 1, "the send is never retried");
    assert_eq!(statuses(&db)[0].0, "unknown");
}
