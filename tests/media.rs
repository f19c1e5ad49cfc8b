//! get_media: the media of an inbound message fetched from Meta (mockito here), verified,
//! saved beside the database and served from there on later calls; through the
//! messaging layer and over the real binary's stdio.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::mcp_checks::listed_tool;
use common::mcp_client::{self, McpClient};
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{Value, json};
use wa_mcp::config::Config;
use wa_mcp::messaging::{MediaFile, Messaging, MessagingError};
use wa_mcp::meta::MetaClient;
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

const TOKEN: &str = "EAAG-media-test-token";
const MEDIA_ID: &str = "1003383421387256";
const INFO_PATH: &str = "/v26.0/1003383421387256";
const DOWNLOAD_PATH: &str = "/whatsapp_business/attachments/";
/// The secret part of the download URL, which must never reach a log.
const URL_HASH: &str = "ATs3cr3tCapability";
const IMAGE_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
/// SHA-256 of [`image_bytes`], as the media info (hex) and the webhook (base64) give it.
const IMAGE_SHA256_HEX: &str = "fb5a5e7439fbb98b3dc324a722e08e9e89c21f0fd07307980e831cf7f97cc82b";
const IMAGE_SHA256_B64: &str = "+1pedDn7uYs9wySnIuCOnonCHw/QcweYDoMc9/l8yCs=";

fn image_bytes() -> Vec<u8> {
    (0..3000u32).map(|i| ((i * 7) % 251) as u8).collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    messaging: Messaging,
}

impl Fixture {
    fn new(graph: &str, token: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("data").join("wa.db");
        let store = Store::open(&db).expect("store");
        // Called from the tests' multi-threaded runtime; seeding blocks on the writer.
        tokio::task::block_in_place(|| seed(&store));
        let config = Config {
            db_path: db.clone(),
            ..common::config(graph, token)
        };
        let meta = MetaClient::new(common::fast_meta_options(graph, token));
        let messaging = Messaging::new(store.clone(), meta, &config);
        Fixture {
            _dir: dir,
            db,
            messaging,
        }
    }

    fn media_dir(&self) -> PathBuf {
        self.db.parent().expect("db folder").join("media")
    }

    /// Every name in the media folder (temp files included).
    fn media_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.media_dir()) else {
            return Vec::new();
        };
        entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Asks for the seeded inbound image, [`IMAGE_WAMID`].
    async fn get_image(&self) -> Result<MediaFile, MessagingError> {
        self.messaging.get_media(IMAGE_WAMID).await
    }

    /// Asserts the media folder holds nothing: no saved file and no temp file.
    fn assert_nothing_left(&self) {
        let files = self.media_files();
        assert!(files.is_empty(), "left behind: {files:?}");
    }

    fn saved_rows(&self) -> i64 {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        conn.query_row("SELECT count(*) FROM media_files", [], |r| r.get(0))
            .expect("count")
    }
}

/// Stores the image fixture (its webhook sha256 set to the test bytes' hash), a text
/// message and an outbound image.
fn seed(store: &Store) {
    let mut image = common::fixture_json("inbound_image.json");
    image["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["sha256"] =
        json!(IMAGE_SHA256_B64);
    let d = prepare_delivery(image.to_string().as_bytes(), "seed-image".into(), 0);
    store.commit_delivery_blocking(d).expect("image stored");
    let mut text = common::fixture_json("inbound_text.json");
    text["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = json!("wamid.TEXT");
    let d = prepare_delivery(text.to_string().as_bytes(), "seed-text".into(), 0);
    store.commit_delivery_blocking(d).expect("text stored");
    store
        .write_blocking(|ctx| {
            ctx.exec(
                "INSERT INTO messages (id, direction, wamid, type, media_id, status, created_at, updated_at)
                 VALUES ('out-1', 'outbound', 'wamid.OUT', 'image', '555', 'sent', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
                [],
            )?;
            Ok(())
        })
        .expect("outbound stored");
}

fn info_body(server: &ServerGuard, sha256: &str, file_size: Value) -> String {
    json!({
        "messaging_product": "whatsapp",
        "url": format!("{}{DOWNLOAD_PATH}?mid={MEDIA_ID}&ext=1700000000&hash={URL_HASH}", server.url()),
        "mime_type": "image/jpeg",
        "sha256": sha256,
        "file_size": file_size,
        "id": MEDIA_ID,
    })
    .to_string()
}

/// Media info that names only the download `url`, the image type and [`MEDIA_ID`]:
/// no hash and no size.
fn unhashed_info_body(url: &str) -> String {
    json!({"url": url, "mime_type": "image/jpeg", "id": MEDIA_ID}).to_string()
}

/// The metadata endpoint, requiring the bearer token.
async fn mock_info(server: &mut ServerGuard, body: String, hits: usize) -> Mock {
    server
        .mock("GET", INFO_PATH)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(hits)
        .create_async()
        .await
}

/// The download URL, requiring the bearer token and the URL's query.
async fn mock_download(server: &mut ServerGuard, bytes: Vec<u8>, hits: usize) -> Mock {
    server
        .mock("GET", DOWNLOAD_PATH)
        .match_query(Matcher::UrlEncoded("hash".into(), URL_HASH.into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_status(200)
        .with_header("content-type", "image/jpeg")
        .with_body(bytes)
        .expect(hits)
        .create_async()
        .await
}

/// A Graph API (mockito) that answers the image's info, giving `sha256` and `file_size`,
/// and its download (the test bytes), each expected exactly `hits` times; and a fixture
/// with [`TOKEN`] pointed at it. Keep the server alive for the whole test.
async fn image_at_meta(
    sha256: &str,
    file_size: Value,
    hits: usize,
) -> (ServerGuard, Mock, Mock, Fixture) {
    let mut server = Server::new_async().await;
    let body = info_body(&server, sha256, file_size);
    let info = mock_info(&mut server, body, hits).await;
    let download = mock_download(&mut server, image_bytes(), hits).await;
    let f = Fixture::new(&server.url(), Some(TOKEN));
    (server, info, download, f)
}

fn assert_saved_image(f: &Fixture, file: &MediaFile) {
    assert_eq!(file.path, f.media_dir().join(format!("{MEDIA_ID}.jpg")));
    assert_eq!(
        std::fs::read(&file.path).expect("saved file"),
        image_bytes()
    );
    assert_eq!(file.mime_type, "image/jpeg");
    assert_eq!(file.size, 3000);
    assert_eq!(file.sha256, IMAGE_SHA256_HEX);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_media_is_saved_beside_the_database_and_then_served_without_a_request() {
    let (_server, info, download, f) = image_at_meta(IMAGE_SHA256_HEX, json!("3000"), 1).await;

    let first = f.get_image().await.expect("downloaded");
    assert_saved_image(&f, &first);
    let dir_mode = std::fs::metadata(f.media_dir())
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let file_mode = std::fs::metadata(&first.path)
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(file_mode & 0o777, 0o600);
    assert_eq!(
        f.media_files(),
        [format!("{MEDIA_ID}.jpg")],
        "no temp file left"
    );

    // By our id this time: the same file, and Meta is not asked again.
    let id: String = rusqlite::Connection::open(&f.db)
        .expect("db")
        .query_row(
            "SELECT id FROM messages WHERE wamid = ?1",
            [IMAGE_WAMID],
            |r| r.get(0),
        )
        .expect("row id");
    let second = f.messaging.get_media(&id).await.expect("cached");
    assert_eq!(second, first);
    info.assert_async().await;
    download.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_or_altered_cache_file_is_downloaded_again() {
    let (_server, info, download, f) = image_at_meta(IMAGE_SHA256_HEX, json!(3000), 3).await;

    let first = f.get_image().await.expect("downloaded");
    std::fs::remove_file(&first.path).expect("deleted");
    let again = f.get_image().await.expect("downloaded again");
    assert_saved_image(&f, &again);
    std::fs::write(&again.path, b"tampered").expect("altered");
    let third = f.get_image().await.expect("downloaded a third time");
    assert_saved_image(&f, &third);
    info.assert_async().await;
    download.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_symlink_in_place_of_the_saved_file_is_never_followed() {
    let (_server, info, download, f) = image_at_meta(IMAGE_SHA256_HEX, json!(3000), 2).await;
    let first = f.get_image().await.expect("downloaded");
    // Someone swaps the saved file for a link to a file elsewhere with the same bytes.
    let outside = f._dir.path().join("elsewhere.jpg");
    std::fs::write(&outside, image_bytes()).expect("outside file");
    std::fs::remove_file(&first.path).expect("removed");
    std::os::unix::fs::symlink(&outside, &first.path).expect("linked");

    let again = f.get_image().await.expect("downloaded again");
    assert_saved_image(&f, &again);
    let kind = std::fs::symlink_metadata(&again.path)
        .expect("meta")
        .file_type();
    assert!(
        kind.is_file() && !kind.is_symlink(),
        "a regular file replaced the link"
    );
    assert_eq!(std::fs::read(&outside).expect("outside"), image_bytes());
    info.assert_async().await;
    download.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_calls_for_one_message_all_get_the_one_whole_file() {
    let mut server = Server::new_async().await;
    let body = info_body(&server, IMAGE_SHA256_HEX, json!(3000));
    let info = server
        .mock("GET", INFO_PATH)
        .with_status(200)
        .with_body(body)
        .expect_at_least(1)
        .expect_at_most(4)
        .create_async()
        .await;
    let download = server
        .mock("GET", DOWNLOAD_PATH)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(image_bytes())
        .expect_at_least(1)
        .expect_at_most(4)
        .create_async()
        .await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let calls = (0..4).map(|_| {
        let messaging = f.messaging.clone();
        async move { messaging.get_media(IMAGE_WAMID).await }
    });
    for result in futures_join_all(calls).await {
        assert_saved_image(&f, &result.expect("every call gets the file"));
    }
    assert_eq!(
        f.media_files(),
        vec![format!("{MEDIA_ID}.jpg")],
        "no temp file left"
    );
    assert_eq!(f.saved_rows(), 1);
    info.assert_async().await;
    download.assert_async().await;
}

/// Runs the futures at once on the test's runtime and returns their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_whose_sha256_differs_from_meta_is_refused_and_not_kept() {
    let wrong = "0".repeat(64);
    let (_server, _info, _download, f) = image_at_meta(&wrong, json!(3000), 1).await;

    let err = f.get_image().await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("SHA-256"), "{text}");
    assert!(
        text.contains(&wrong) && text.contains(IMAGE_SHA256_HEX),
        "{text}"
    );
    assert!(text.contains("discarded"), "{text}");
    assert!(!f.media_dir().join(format!("{MEDIA_ID}.jpg")).exists());
    f.assert_nothing_left();
    assert_eq!(f.saved_rows(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bytes_that_differ_from_the_webhook_sha256_are_refused_too() {
    let mut server = Server::new_async().await;
    // Meta's media info gives no hash; the webhook's (base64) still has to match.
    let body = unhashed_info_body(&format!("{}{DOWNLOAD_PATH}?hash={URL_HASH}", server.url()));
    let _info = mock_info(&mut server, body, 1).await;
    let _download = mock_download(&mut server, b"not the image".to_vec(), 1).await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let err = f.get_image().await.expect_err("refused");
    assert!(err.to_string().contains(IMAGE_SHA256_B64), "{err}");
    f.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_media_asks_for_it_to_be_sent_again() {
    let mut server = Server::new_async().await;
    let expired = json!({"error": {
        "message": "Unsupported get request. Object with ID '1003383421387256' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
        "type": "GraphMethodException", "code": 100, "error_subcode": 33, "fbtrace_id": "AbC"}});
    let info = server
        .mock("GET", INFO_PATH)
        .with_status(400)
        .with_body(expired.to_string())
        .expect(1)
        .create_async()
        .await;
    let download = mock_download(&mut server, image_bytes(), 0).await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let err = f.get_image().await.expect_err("gone");
    assert!(matches!(err, MessagingError::NotFound(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no longer available at Meta"), "{text}");
    assert!(text.contains("ask the sender to send it again"), "{text}");
    info.assert_async().await;
    download.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn media_over_the_cap_is_refused_before_downloading() {
    let mut server = Server::new_async().await;
    let huge = json!((200u64 << 20).to_string());
    let body = info_body(&server, IMAGE_SHA256_HEX, huge);
    let _info = mock_info(&mut server, body, 1).await;
    let download = mock_download(&mut server, image_bytes(), 0).await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let err = f.get_image().await.expect_err("too large");
    let text = err.to_string();
    assert!(text.contains("209715200 bytes"), "{text}");
    assert!(text.contains("104857600-byte limit"), "{text}");
    download.assert_async().await;
    f.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_longer_than_announced_stops_at_the_cap() {
    let mut server = Server::new_async().await;
    // Meta announces nothing, and the body comes chunked without a length.
    let body = unhashed_info_body(&format!("{}{DOWNLOAD_PATH}?hash={URL_HASH}", server.url()));
    let _info = mock_info(&mut server, body, 1).await;
    let _download = server
        .mock("GET", DOWNLOAD_PATH)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_chunked_body(|w| w.write_all(&image_bytes()))
        .create_async()
        .await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let err = f
        .messaging
        .get_media_capped(IMAGE_WAMID, 1000)
        .await
        .expect_err("over the cap");
    assert!(err.to_string().contains("more than 1000 bytes"), "{err}");
    f.assert_nothing_left();
    assert_eq!(f.saved_rows(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_without_inbound_media_get_a_clear_error_and_no_request() {
    let mut server = Server::new_async().await;
    let any = server
        .mock("GET", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let text = f.messaging.get_media("wamid.TEXT").await.expect_err("text");
    assert!(
        text.to_string()
            .contains("is a text message and carries no media"),
        "{text}"
    );
    let outbound = f.messaging.get_media("out-1").await.expect_err("outbound");
    assert!(outbound.to_string().contains("is outbound"), "{outbound}");
    let unknown = f
        .messaging
        .get_media("wamid.NOPE")
        .await
        .expect_err("unknown");
    assert!(
        matches!(unknown, MessagingError::NotFound(_)),
        "{unknown:?}"
    );
    any.assert_async().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_the_error_names_the_variable() {
    let server = Server::new_async().await;
    let f = Fixture::new(&server.url(), None);
    let err = f.get_image().await.expect_err("no token");
    assert!(err.to_string().contains("WA_ACCESS_TOKEN"), "{err}");
}

/// The image fixture, with the test bytes' hash, in a fresh database for the binary.
fn seeded_db(dir: &Path) -> PathBuf {
    let db = dir.join("wa.db");
    let store = Store::open(&db).expect("store");
    seed(&store);
    db
}

#[test]
fn get_media_works_over_stdio_and_keeps_the_token_and_url_out_of_the_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = seeded_db(dir.path());
    let mut server = Server::new();
    let info = server
        .mock("GET", INFO_PATH)
        .match_header(
            "authorization",
            format!("Bearer {}", mcp_client::TOKEN).as_str(),
        )
        .with_status(200)
        .with_body(info_body(&server, IMAGE_SHA256_HEX, json!("3000")))
        .expect(1)
        .create();
    let download = server
        .mock("GET", DOWNLOAD_PATH)
        .match_query(Matcher::UrlEncoded("hash".into(), URL_HASH.into()))
        .match_header(
            "authorization",
            format!("Bearer {}", mcp_client::TOKEN).as_str(),
        )
        .with_status(200)
        .with_body(image_bytes())
        .expect(1)
        .create();
    let (mut client, _init) = McpClient::start(&db, &server.url());

    let tool = listed_tool(&mut client, "get_media");
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    assert_eq!(tool["inputSchema"]["required"], json!(["messageId"]));
    assert_eq!(tool["outputSchema"]["type"], "object");

    let first = client.call("get_media", json!({"messageId": IMAGE_WAMID}));
    assert_eq!(first["isError"], false, "{first}");
    let result = &first["structuredContent"];
    let path = PathBuf::from(result["path"].as_str().expect("path"));
    assert_eq!(
        path,
        dir.path().join("media").join(format!("{MEDIA_ID}.jpg"))
    );
    assert_eq!(std::fs::read(&path).expect("saved"), image_bytes());
    assert_eq!(result["mimeType"], "image/jpeg");
    assert_eq!(result["size"], 3000);
    assert_eq!(result["sha256"], IMAGE_SHA256_HEX);
    let second = client.call("get_media", json!({"messageId": IMAGE_WAMID}));
    assert_eq!(second["structuredContent"], first["structuredContent"]);

    let text = client.call("get_media", json!({"messageId": "wamid.TEXT"}));
    assert_eq!(text["isError"], true, "{text}");
    assert!(
        text["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("carries no media"))
    );

    let stderr = client.finish();
    info.assert();
    download.assert();
    assert!(!stderr.contains(mcp_client::TOKEN), "token in the log");
    assert!(!stderr.contains(URL_HASH), "download URL in the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_not_sent_to_a_plain_http_host_other_than_the_graph_api() {
    let mut server = Server::new_async().await;
    let body = unhashed_info_body(&format!(
        "http://example.invalid{DOWNLOAD_PATH}?hash={URL_HASH}"
    ));
    let _info = mock_info(&mut server, body, 1).await;
    let f = Fixture::new(&server.url(), Some(TOKEN));

    let err = f.get_image().await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("the token was not sent"), "{text}");
    assert!(
        text.contains("example.invalid") && !text.contains(URL_HASH),
        "{text}"
    );
    f.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_not_sent_to_an_https_host_that_is_not_meta() {
    let mut server = Server::new_async().await;
    for url in [
        format!("https://attacker.example{DOWNLOAD_PATH}?hash={URL_HASH}"),
        format!("https://lookaside.fbsbx.com.attacker.example{DOWNLOAD_PATH}?hash={URL_HASH}"),
        format!("https://lookaside.fbsbx.com@attacker.example{DOWNLOAD_PATH}?hash={URL_HASH}"),
    ] {
        let body = unhashed_info_body(&url);
        let info = mock_info(&mut server, body, 1).await;
        let f = Fixture::new(&server.url(), Some(TOKEN));

        let err = f.get_image().await.expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("the token was not sent"), "{url}: {text}");
        assert!(!text.contains(URL_HASH), "{text}");
        f.assert_nothing_left();
        info.remove_async().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_answered_503_is_retried() {
    let mut server = Server::new_async().await;
    let body = info_body(&server, IMAGE_SHA256_HEX, json!(3000));
    let _info = mock_info(&mut server, body, 1).await;
    let busy = server
        .mock("GET", DOWNLOAD_PATH)
        .match_query(Matcher::Any)
        .with_status(503)
        .expect(1)
        .create_async()
        .await;
    let f = Fixture::new(&server.url(), Some(TOKEN));
    // mockito serves the 503 (created first) until its one expected hit, then this one.
    let ok = mock_download(&mut server, image_bytes(), 1).await;

    let file = f.get_image().await.expect("retried");
    assert_saved_image(&f, &file);
    busy.assert_async().await;
    ok.assert_async().await;
}
