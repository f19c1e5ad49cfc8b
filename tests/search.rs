//! search_messages: every matching rule a person expects, the filters, hostile queries,
//! a message searchable as soon as its delivery was answered 200, and the same search as
//! a tool over stdio and as `wa-mcp search`.

mod common;

use common::TestServer;
use common::inbound::{self, text};
use common::mcp_checks::{error_text, listed_tool, structured};
use common::mcp_client::McpClient;
use serde_json::json;
use wa_mcp::messaging::{Messaging, SearchInput};
use wa_mcp::meta::MetaClient;
use wa_mcp::store::Store;
use wa_mcp::store::search::{SearchFilter, compile_query, search_messages};

const ADA: &str = "447700900123";
const BEN: &str = "16505551234";
/// 2026-11-23T10:00:00Z in Unix seconds.
const T0: i64 = 1_795_428_000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    messaging: Messaging,
}

/// A store holding a small multilingual inbox: (wamid, from, text) in this order.
const INBOX: [(&str, &str, &str); 10] = [
    ("w-invoice", ADA, "The invoice for March is attached"),
    ("w-march", ADA, "March was a long month; no invoice yet"),
    ("w-cafe", BEN, "Meet at the Café Müller at noon?"),
    ("w-phrase", BEN, "the red car is parked outside"),
    ("w-scramble", ADA, "car red the outside is parked"),
    ("w-arabic", BEN, "مرحبا بك في المتجر"),
    ("w-chinese", ADA, "我们明天开会 好吗"),
    ("w-japanese", BEN, "東京に行きます"),
    ("w-emoji", ADA, "party tonight 🎉🎉 bring snacks"),
    ("w-invoices", BEN, "All invoices are paid"),
];

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    let config = common::config("http://127.0.0.1:9", None);
    let meta = MetaClient::new(common::fast_meta_options("http://127.0.0.1:9", None));
    let messaging = Messaging::new(store.clone(), meta, &config);
    for (i, (wamid, from, body)) in INBOX.iter().enumerate() {
        let name = if *from == ADA { "Ada Lovelace" } else { "Ben" };
        store
            .commit_delivery(text(from, name, wamid, T0 + i as i64 * 60, body))
            .await
            .expect("committed");
    }
    Fixture {
        _dir: dir,
        store,
        messaging,
    }
}

fn query(q: &str) -> SearchInput {
    SearchInput {
        query: q.into(),
        ..SearchInput::default()
    }
}

async fn wamids(f: &Fixture, input: SearchInput) -> Vec<String> {
    let results = f
        .messaging
        .search_messages(input)
        .await
        .expect("search runs");
    assert!(results.index.complete, "a new database needs no backfill");
    results
        .hits
        .into_iter()
        .map(|h| h.message.wamid.expect("wamid"))
        .collect()
}

async fn found(f: &Fixture, q: &str) -> Vec<String> {
    let mut ids = wamids(f, query(q)).await;
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn all_words_must_match_in_any_order() {
    let f = fixture().await;
    assert_eq!(
        found(&f, "invoice march").await,
        sorted(&["w-invoice", "w-march"])
    );
    assert_eq!(
        found(&f, "march invoice attached").await,
        sorted(&["w-invoice"])
    );
    assert_eq!(found(&f, "invoice dinosaur").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_quoted_phrase_needs_its_words_together_and_in_order() {
    let f = fixture().await;
    assert_eq!(
        found(&f, "red car").await,
        sorted(&["w-phrase", "w-scramble"])
    );
    assert_eq!(found(&f, "\"red car\"").await, sorted(&["w-phrase"]));
    assert_eq!(
        found(&f, "\"car red\" outside").await,
        sorted(&["w-scramble"])
    );
}

#[tokio::test]
async fn a_trailing_star_matches_any_ending() {
    let f = fixture().await;
    assert_eq!(
        found(&f, "invoi*").await,
        sorted(&["w-invoice", "w-march", "w-invoices"])
    );
    assert_eq!(
        found(&f, "invoice").await,
        sorted(&["w-invoice", "w-march"])
    );
    // Three characters are one lookup in the prefix index, fewer merge its entries;
    // either way the same rule.
    assert_eq!(
        found(&f, "inv*").await,
        sorted(&["w-invoice", "w-march", "w-invoices"])
    );
    assert_eq!(found(&f, "MÜL*").await, sorted(&["w-cafe"]));
    assert_eq!(found(&f, "mu*").await, sorted(&["w-cafe"]));
}

#[tokio::test]
async fn case_and_accents_do_not_matter() {
    let f = fixture().await;
    assert_eq!(found(&f, "cafe muller").await, sorted(&["w-cafe"]));
    assert_eq!(found(&f, "CAFÉ MÜLLER").await, sorted(&["w-cafe"]));
    assert_eq!(found(&f, "Cafe").await, sorted(&["w-cafe"]));
}

#[tokio::test]
async fn arabic_is_found_by_word_and_chinese_and_japanese_by_the_run_as_written() {
    let f = fixture().await;
    assert_eq!(found(&f, "المتجر").await, sorted(&["w-arabic"]));
    // The same word written with its short vowels.
    assert_eq!(found(&f, "مَرْحَبًا").await, sorted(&["w-arabic"]));
    assert_eq!(found(&f, "我们明天开会").await, sorted(&["w-chinese"]));
    assert_eq!(found(&f, "東京に行きます").await, sorted(&["w-japanese"]));
    assert_eq!(found(&f, "東京*").await, sorted(&["w-japanese"]));
}

#[tokio::test]
async fn emoji_never_break_a_query() {
    let f = fixture().await;
    assert_eq!(found(&f, "party 🎉").await, sorted(&["w-emoji"]));
    assert_eq!(found(&f, "🎉 snacks 👍🏽").await, sorted(&["w-emoji"]));
    assert_eq!(found(&f, "tonight🎉bring").await, sorted(&["w-emoji"]));
    assert!(
        found(&f, "🎉").await.is_empty(),
        "emoji alone: no words, no error"
    );
}

#[tokio::test]
async fn hostile_queries_are_safe_queries_or_clear_errors_never_database_errors() {
    let f = fixture().await;
    let hostile = [
        "\"",
        "*",
        "NEAR(",
        "NEAR(invoice march)",
        "OR",
        "AND",
        "NOT invoice",
        "-",
        "-invoice",
        "text:invoice",
        "message_search:invoice",
        "{text}: march",
        "invoice\"",
        "\"unbalanced",
        "((((",
        "))",
        "^invoice",
        "invoice +march",
        "'; DROP TABLE messages; --",
        "\0",
        "* * *",
        "\"\"",
        "rank",
        "a OR OR b",
        "🎉",
        "\u{301}",
        "%_%",
    ];
    for q in hostile {
        match f.messaging.search_messages(query(q)).await {
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                assert!(text.starts_with("the search query"), "{q:?}: {text}");
            }
        }
    }
    let e = f
        .messaging
        .search_messages(query("  "))
        .await
        .expect_err("empty");
    assert!(e.to_string().contains("empty"), "{e}");
    // Column filters and operators are plain words: the text is searched for them.
    assert_eq!(found(&f, "NEAR(invoice march)").await, Vec::<String>::new());
    assert_eq!(
        found(&f, "-invoice").await,
        sorted(&["w-invoice", "w-march"])
    );
}

#[tokio::test]
async fn best_match_first_then_newest() {
    let f = fixture().await;
    let ids = wamids(&f, query("red car outside parked")).await;
    assert_eq!(ids.len(), 2);
    // The two rows hold the same words: a tie in rank, so the newer comes first.
    assert_eq!(ids, vec!["w-scramble".to_owned(), "w-phrase".to_owned()]);
    let ids = wamids(&f, query("invoice")).await;
    // "invoice" is a larger part of the shorter message.
    assert_eq!(ids[0], "w-invoice");
}

#[tokio::test]
async fn filters_narrow_by_contact_in_any_format_direction_and_time() {
    let f = fixture().await;
    let by = |contact: &str| SearchInput {
        query: "invoi* OR car".into(),
        contact: Some(contact.into()),
        ..SearchInput::default()
    };
    let ada = sorted(&["w-invoice", "w-march", "w-scramble"]);
    for written in ["+44 7700 900123", "447700900123", "0044 7700 900123"] {
        let mut ids = wamids(&f, by(written)).await;
        ids.sort();
        assert_eq!(ids, ada, "{written}");
    }
    let outbound = SearchInput {
        direction: Some("outbound".into()),
        ..query("invoice")
    };
    assert!(wamids(&f, outbound).await.is_empty());
    let all = wamids(&f, query("invoi*")).await;
    assert_eq!(all.len(), 3);
    // since/until bound the stored time: the first and second deliveries only.
    let first_two = f
        .messaging
        .search_messages(query("invoice"))
        .await
        .expect("search");
    let mut times: Vec<String> = first_two
        .hits
        .iter()
        .map(|h| h.message.created_at.clone())
        .collect();
    times.sort();
    let window = SearchInput {
        since: Some(times[1].clone()),
        ..query("invoi*")
    };
    let mut ids = wamids(&f, window).await;
    ids.sort();
    assert_eq!(ids, sorted(&["w-march", "w-invoices"]));
    let before = SearchInput {
        until: Some(times[1].clone()),
        ..query("invoi*")
    };
    assert_eq!(wamids(&f, before).await, vec!["w-invoice".to_owned()]);
    let bad = SearchInput {
        since: Some("wamid.HBgL".into()),
        ..query("invoice")
    };
    let e = f
        .messaging
        .search_messages(bad)
        .await
        .expect_err("bad since");
    assert!(e.to_string().contains("ISO-8601"), "{e}");
}

#[tokio::test]
async fn hits_carry_the_row_its_profile_name_and_a_marked_snippet() {
    let f = fixture().await;
    let results = f
        .messaging
        .search_messages(query("cafe"))
        .await
        .expect("search");
    let hit = &results.hits[0];
    assert_eq!(hit.snippet, "Meet at the **Café** Müller at noon?");
    assert_eq!(hit.message.profile_name.as_deref(), Some("Ben"));
    assert_eq!(hit.message.contact.as_deref(), Some(BEN));
    assert_eq!(hit.message.kind, "text");
}

#[tokio::test]
async fn captions_document_names_and_replies_are_found() {
    let f = fixture().await;
    let doc = inbound::inbound(
        ADA,
        "Ada Lovelace",
        "w-doc",
        T0 + 3600,
        json!({"type": "document", "document": {"id": "m1", "mime_type": "application/pdf",
            "filename": "Quarterly-Statement.pdf", "caption": "as promised"}}),
    );
    let button = inbound::inbound(
        BEN,
        "Ben",
        "w-button",
        T0 + 3660,
        json!({"type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": "yes", "title": "Confirm booking"}}}),
    );
    let place = inbound::inbound(
        BEN,
        "Ben",
        "w-place",
        T0 + 3720,
        json!({"type": "location", "location": {"latitude": 51.5, "longitude": -0.1,
            "name": "Borough Market", "address": "8 Southwark St"}}),
    );
    for d in [doc, button, place] {
        f.store.commit_delivery(d).await.expect("committed");
    }
    assert_eq!(found(&f, "quarterly statement").await, sorted(&["w-doc"]));
    assert_eq!(found(&f, "promised").await, sorted(&["w-doc"]));
    assert_eq!(found(&f, "confirm booking").await, sorted(&["w-button"]));
    assert_eq!(found(&f, "borough southwark").await, sorted(&["w-place"]));
}

#[tokio::test]
async fn an_edit_is_found_by_its_new_text_and_the_original_by_its_own() {
    let f = fixture().await;
    const ORIGINAL: &str = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=";
    const EDIT: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
    let original = inbound::inbound(
        BEN,
        "Ben",
        ORIGINAL,
        T0 + 3600,
        json!({"type": "image", "image": {"id": "m0", "mime_type": "image/jpeg",
            "caption": "First draft of the poster"}}),
    );
    f.store.commit_delivery(original).await.expect("committed");
    let edit = wa_mcp::webhook::prepare_delivery(
        &common::fixture("inbound_edit_image.json"),
        "edit".into(),
        0,
    );
    f.store.commit_delivery(edit).await.expect("committed");
    assert_eq!(found(&f, "updated caption").await, sorted(&[EDIT]));
    assert_eq!(found(&f, "draft poster").await, sorted(&[ORIGINAL]));
    assert_eq!(found(&f, "image caption").await, sorted(&[EDIT]));
}

#[test]
fn a_message_is_searchable_as_soon_as_its_delivery_was_answered_200() {
    let server = TestServer::start();
    let delivery = String::from_utf8(common::fixture("inbound_text.json")).expect("utf-8");
    let body: serde_json::Value = serde_json::from_str(&delivery).expect("json");
    let said = body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"]
        .as_str()
        .expect("text body")
        .to_owned();
    let word = said
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.len() > 3)
        .expect("a word")
        .to_owned();
    assert_eq!(server.post_signed(delivery.as_bytes()).status, 200);
    let conn = server.conn();
    let q = compile_query(&word).expect("query");
    let hits = search_messages(&conn, &q, &SearchFilter::default(), 5).expect("search");
    assert_eq!(hits.len(), 1, "{word:?} in {said:?}");
    assert_eq!(hits[0].message.body.as_deref(), Some(said.as_str()));
    drop(conn);
    server.stop();
}

#[test]
fn messages_sent_through_every_sender_are_found_by_the_words_they_carried() {
    let mut meta = mockito::Server::new();
    // Meta accepts each kind of send once, each with a wamid of its own.
    let mocks: Vec<mockito::Mock> = ["text", "template", "interactive", "location", "document"]
        .iter()
        .map(|kind| {
            meta.mock("POST", "/v26.0/106540352242922/messages")
                .match_body(mockito::Matcher::PartialJson(json!({"type": kind})))
                .with_body(
                    json!({"messaging_product": "whatsapp",
                           "messages": [{"id": format!("wamid.SENT-{kind}")}]})
                    .to_string(),
                )
                .expect(1)
                .create()
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let to = "+44 7700 900123";
    for (tool, args) in [
        (
            "send_message",
            json!({"to": to, "body": "Your parcel leaves tomorrow"}),
        ),
        (
            "send_template",
            json!({"to": to, "name": "order_update", "language": "en_US",
                   "components": [{"type": "body", "parameters": [
                       {"type": "text", "text": "Ada"}, {"type": "text", "text": "Zanzibar"}]}]}),
        ),
        (
            "send_interactive",
            json!({"to": to, "body": "Pick a slot", "footer": "Reply by noon",
                   "buttons": [{"id": "am", "title": "Morning"}, {"id": "pm", "title": "Evening"}]}),
        ),
        (
            "send_location",
            json!({"to": to, "latitude": 51.5055, "longitude": -0.0910,
                   "name": "Borough Market", "address": "8 Southwark St"}),
        ),
        (
            "send_media",
            json!({"to": to, "url": "https://cdn.example.com/q3.pdf", "type": "document",
                   "caption": "The quarterly figures", "filename": "Results-Q3.pdf"}),
        ),
    ] {
        let result = client.call(tool, args);
        assert_eq!(structured(&result)["status"], "sent", "{tool}: {result}");
    }
    for (words, kind, wamid) in [
        ("parcel leaves", "text", "wamid.SENT-text"),
        ("zanzibar", "template", "wamid.SENT-template"),
        ("evening noon", "interactive", "wamid.SENT-interactive"),
        ("southwark", "location", "wamid.SENT-location"),
        ("quarterly", "document", "wamid.SENT-document"),
        ("results q3", "document", "wamid.SENT-document"),
    ] {
        let result = client.call("search_messages", json!({"query": words}));
        let messages = structured(&result)["messages"]
            .as_array()
            .expect("messages")
            .clone();
        assert_eq!(messages.len(), 1, "{words}: {result}");
        assert_eq!(messages[0]["wamid"], wamid, "{words}");
        assert_eq!(messages[0]["type"], kind, "{words}");
        assert_eq!(messages[0]["direction"], "outbound", "{words}");
    }
    for mock in mocks {
        mock.assert();
    }
    client.finish();
}

#[test]
fn search_messages_over_stdio_is_listed_read_only_and_returns_rows_with_snippets() {
    let (_dir, db) = common::seed::db_with(vec![
        text(ADA, "Ada Lovelace", "w-1", T0, "the invoice for March"),
        text(BEN, "Ben", "w-2", T0 + 60, "lunch tomorrow?"),
    ]);
    let (mut client, init) = McpClient::start(&db, "http://127.0.0.1:9");
    let instructions = init["result"]["instructions"]
        .as_str()
        .expect("instructions");
    assert!(instructions.contains("search_messages"), "{instructions}");
    let tool = listed_tool(&mut client, "search_messages");
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    assert!(tool["inputSchema"]["properties"]["query"].is_object());
    let result = client.call(
        "search_messages",
        json!({"query": "invoi*", "contact": "+44 7700 900123"}),
    );
    let content = structured(&result);
    let messages = content["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["wamid"], "w-1");
    assert_eq!(messages[0]["profileName"], "Ada Lovelace");
    assert_eq!(messages[0]["snippet"], "the **invoice** for March");
    assert_eq!(messages[0]["direction"], "inbound");
    assert!(content.get("indexing").is_none());
    let result = client.call("search_messages", json!({"query": "\"", "limit": 5}));
    let text = error_text(&result);
    assert!(
        text.contains("empty") && !text.to_lowercase().contains("sql"),
        "{text}"
    );
    let result = client.call("get_messages", json!({}));
    assert_eq!(structured(&result)["messages"][1]["profileName"], "Ben");
    client.finish();
}

#[test]
fn wa_mcp_search_prints_what_the_tool_finds() {
    let (_dir, db) = common::seed::db_with(vec![
        text(ADA, "Ada Lovelace", "w-1", T0, "the invoice for March"),
        text(BEN, "Ben", "w-2", T0 + 60, "an invoice from Ben"),
    ]);
    let out = common::mcp_client::wa_mcp_command(&db, "http://127.0.0.1:9")
        .args(["search", "invoice", "--contact", "+1 650 555 1234"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].contains(BEN) && lines[0].contains("an **invoice** from Ben"),
        "{stdout}"
    );
    let out = common::mcp_client::wa_mcp_command(&db, "http://127.0.0.1:9")
        .args(["search", "--json", "invoice", "march"])
        .output()
        .expect("runs");
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON row");
    assert_eq!(row["wamid"], "w-1");
    assert_eq!(row["snippet"], "the **invoice** for **March**");
}

/// A database whose messages were stored before the search index existed and are not
/// indexed yet, as an upgrade leaves it for the background backfill (V8 with its
/// `message_search_backfill` range covering every row).
fn db_awaiting_backfill() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, db) = common::seed::db_with(vec![
        text(ADA, "Ada Lovelace", "w-old-1", T0, "the invoice for March"),
        text(BEN, "Ben", "w-old-2", T0 + 60, "an invoice from Ben"),
    ]);
    rusqlite::Connection::open(&db)
        .expect("opens")
        .execute_batch(
            "INSERT INTO message_search (message_search, rowid, text)
                 SELECT 'delete', message_rowid, text FROM message_search_text
                 WHERE text IS NOT NULL;
             UPDATE message_search_backfill
                 SET done_rowid = 0, last_rowid = (SELECT max(rowid) FROM messages);",
        )
        .expect("back to before the index");
    (dir, db)
}

#[test]
fn a_search_during_the_backfill_says_older_messages_may_be_missing_until_it_ends() {
    let (_dir, db) = db_awaiting_backfill();
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(search_during_the_backfill(&db));
}

/// What `search_messages` answers a client for `q`, as JSON.
async fn tool_result(messaging: &Messaging, q: &str) -> serde_json::Value {
    let results = messaging.search_messages(query(q)).await.expect("search");
    serde_json::to_value(wa_mcp::mcp::SearchMessagesResult::from(results)).expect("json")
}

async fn search_during_the_backfill(db: &std::path::Path) {
    // The tool's result, from a store whose backfill has not run yet.
    let options = wa_mcp::store::StoreOptions {
        search_backfill: false,
        ..wa_mcp::store::StoreOptions::default()
    };
    let store = Store::open_with(db, options).expect("store");
    let config = common::config("http://127.0.0.1:9", None);
    let meta = MetaClient::new(common::fast_meta_options("http://127.0.0.1:9", None));
    let messaging = Messaging::new(store.clone(), meta, &config);
    let result = tool_result(&messaging, "invoice").await;
    assert_eq!(result["messages"], json!([]), "{result}");
    assert_eq!(result["indexing"]["complete"], false, "{result}");
    assert_eq!(result["indexing"]["percent"], 0, "{result}");
    let note = result["indexing"]["note"].as_str().unwrap_or_default();
    assert!(note.contains("older messages may be missing"), "{result}");
    // One batch later the index is complete: the old messages are found, the note gone.
    store
        .write(|ctx| wa_mcp::store::search::backfill_batch(ctx, 100))
        .await
        .expect("batch");
    let result = tool_result(&messaging, "invoice").await;
    assert!(result.get("indexing").is_none(), "{result}");
    assert_eq!(
        result["messages"].as_array().map(Vec::len),
        Some(2),
        "{result}"
    );
}

#[test]
fn wa_mcp_search_notes_on_stderr_that_the_index_is_still_being_built() {
    let (_dir, db) = db_awaiting_backfill();
    // Another writer holds the file, so the command's own backfill cannot run first.
    let holder = rusqlite::Connection::open(&db).expect("opens");
    holder.execute_batch("BEGIN IMMEDIATE").expect("write lock");
    let mut cli = common::mcp_client::wa_mcp_command(&db, "http://127.0.0.1:9")
        .args(["search", "invoice"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let stderr = cli.stderr.take().expect("stderr");
    let note = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|line| line.starts_with("note:"))
        .unwrap_or_default();
    // Released, the command's backfill gets the lock and the command ends.
    holder.execute_batch("ROLLBACK").expect("released");
    assert!(cli.wait().expect("the command ends").success());
    assert_eq!(
        note,
        "note: the search index is still being built (0% of older messages indexed); \
         older messages may be missing"
    );
}
