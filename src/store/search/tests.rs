//! The index kept in step with the rows, the backfill of an older database, and the
//! query compiler against the real FTS5 table.

use rusqlite::params;

use super::*;
use crate::store::{Store, StoreOptions};

const SEARCH_VERSION: i32 = 8;

fn options(backfill: bool) -> StoreOptions {
    StoreOptions {
        search_backfill: backfill,
        background_checkpoints: false,
        ..StoreOptions::default()
    }
}

/// Inserts a bare inbound text row straight into `messages` (columns of every schema).
fn insert_text(conn: &Connection, id: &str, contact: &str, body: &str, at: &str) {
    conn.execute(
        "INSERT OR IGNORE INTO contacts (wa_id, first_seen_at, updated_at) VALUES (?1, ?2, ?2)",
        params![contact, at],
    )
    .expect("contact");
    conn.execute(
        "INSERT INTO messages (id, direction, contact_wa_id, type, body, status, created_at,
             updated_at, raw)
         VALUES (?1, 'inbound', ?2, 'text', ?3, 'received', ?4, ?4, '{}')",
        params![id, contact, body, at],
    )
    .expect("message");
}

fn found(store: &Store, q: &str) -> Vec<String> {
    let query = compile_query(q).expect("query compiles");
    store
        .read_blocking(|c| search_messages(c, &query, &SearchFilter::default(), 50))
        .expect("search runs")
        .into_iter()
        .map(|h| h.message.id)
        .collect()
}

fn integrity_ok(store: &Store) {
    store
        .write_blocking(|ctx| {
            ctx.exec(
                "INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)",
                [],
            )?;
            Ok(())
        })
        .expect("the index matches the rows");
}

#[test]
fn a_database_of_the_previous_schema_is_indexed_by_the_backfill_in_batches() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        let mut conn = Connection::open(&path).expect("open");
        crate::store::open::migrate_to(&mut conn, SEARCH_VERSION - 1).expect("old schema");
        for i in 0..25 {
            let at = format!("2026-11-01T10:00:{i:02}.000000Z");
            insert_text(
                &conn,
                &format!("old-{i}"),
                "447700900001",
                &format!("invoice number {i}"),
                &at,
            );
        }
    }
    let store = Store::open_with(&path, options(false)).expect("migrates");
    let before = store.read_blocking(index_progress).expect("progress");
    assert!(!before.complete);
    assert_eq!(before.percent(), 0);
    assert!(
        found(&store, "invoice").is_empty(),
        "nothing is indexed before the backfill"
    );

    // Rows written and changed during the backfill keep the index exact.
    store
        .write_blocking(|ctx| {
            ctx.exec(
                "UPDATE messages SET body = 'receipt number 3' WHERE id = 'old-3'",
                [],
            )?;
            ctx.exec("DELETE FROM messages WHERE id = 'old-20'", [])?;
            ctx.exec(
                "INSERT INTO messages (id, direction, contact_wa_id, type, body, status,
                     created_at, updated_at)
                 VALUES ('new-1', 'inbound', '447700900001', 'text', 'invoice arrived',
                     'received', '2026-11-02T00:00:00.000000Z', '2026-11-02T00:00:00.000000Z')",
                [],
            )?;
            Ok(())
        })
        .expect("writes");
    assert_eq!(found(&store, "invoice"), vec!["new-1".to_owned()]);

    let mut batches = 0;
    loop {
        let p = store
            .write_blocking(|ctx| backfill_batch(ctx, 10))
            .expect("batch");
        batches += 1;
        if p.complete {
            break;
        }
        assert!(p.percent() < 100);
    }
    assert_eq!(batches, 3, "25 rows in batches of 10");
    let hits = found(&store, "invoice");
    assert_eq!(
        hits.len(),
        24,
        "24 old rows still say invoice (one edited, one pruned) + new"
    );
    assert!(!hits.contains(&"old-3".to_owned()) && !hits.contains(&"old-20".to_owned()));
    assert_eq!(found(&store, "receipt"), vec!["old-3".to_owned()]);
    assert!(
        store
            .read_blocking(index_progress)
            .expect("progress")
            .complete
    );
    integrity_ok(&store);
}

/// Migration V14 makes the index again with a prefix index: every row of a database
/// indexed before it is indexed again by the backfill, and prefixes of two, three and
/// more characters find what they found before.
#[test]
fn a_database_indexed_before_the_prefix_index_is_indexed_again_by_the_backfill() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v13.db");
    {
        let mut conn = Connection::open(&path).expect("open");
        crate::store::open::migrate_to(&mut conn, 13).expect("v13");
    }
    // A database as V13 left it, with rows indexed as they were written.
    {
        let conn = Connection::open(&path).expect("open");
        for (i, body) in [
            "invoice for March",
            "invoices attached",
            "Café Müller",
            "in time",
        ]
        .iter()
        .enumerate()
        {
            insert_text(
                &conn,
                &format!("m{i}"),
                "447700900001",
                body,
                &format!("2026-11-01T10:00:0{i}.000000Z"),
            );
        }
        crate::store::search::index_pending(&conn, crate::store::search::Contacts::All)
            .expect("indexed as V13 does");
    }
    let store = Store::open_with(&path, options(false)).expect("migrates");
    let value = |sql: &str| -> rusqlite::types::Value {
        store
            .read_blocking(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .expect(sql)
    };
    let schema = value("SELECT sql FROM sqlite_schema WHERE name = 'message_search'");
    assert!(
        matches!(&schema, rusqlite::types::Value::Text(t) if t.contains("prefix = '3'")),
        "{schema:?}"
    );
    assert_eq!(
        value("SELECT v FROM message_search_config WHERE k = 'automerge'"),
        rusqlite::types::Value::Integer(8)
    );
    assert!(
        !store
            .read_blocking(index_progress)
            .expect("progress")
            .complete
    );
    assert!(
        found(&store, "invoi*").is_empty(),
        "the new index starts empty"
    );

    loop {
        let p = store
            .write_blocking(|ctx| backfill_batch(ctx, 3))
            .expect("batch");
        if p.complete {
            break;
        }
    }
    let sorted = |q: &str| {
        let mut ids = found(&store, q);
        ids.sort();
        ids
    };
    assert_eq!(sorted("invoi*"), ["m0", "m1"]);
    assert_eq!(sorted("inv*"), ["m0", "m1"]);
    assert_eq!(sorted("in*"), ["m0", "m1", "m3"]);
    assert_eq!(sorted("caf*"), ["m2"]);
    assert_eq!(sorted("MÜL*"), ["m2"]);
    assert_eq!(sorted("mull*"), ["m2"]);
    integrity_ok(&store);
}

#[test]
fn the_background_backfill_finishes_on_its_own_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        let mut conn = Connection::open(&path).expect("open");
        crate::store::open::migrate_to(&mut conn, SEARCH_VERSION - 1).expect("old schema");
        let tx = conn.transaction().expect("tx");
        for i in 0..(BACKFILL_BATCH * 2 + 7) {
            insert_text(
                &tx,
                &format!("m{i:06}"),
                "447700900001",
                "café au lait",
                &format!("2026-11-01T10:00:00.{i:06}Z"),
            );
        }
        tx.commit().expect("commit");
    }
    // One batch by hand, then a restart: the thread resumes from the committed point.
    {
        let store = Store::open_with(&path, options(false)).expect("open");
        let p = store
            .write_blocking(|ctx| backfill_batch(ctx, BACKFILL_BATCH))
            .expect("batch");
        assert!(!p.complete);
    }
    let store = Store::open_with(&path, options(true)).expect("open");
    for _ in 0..600 {
        if store
            .read_blocking(index_progress)
            .expect("progress")
            .complete
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        store
            .read_blocking(index_progress)
            .expect("progress")
            .complete
    );
    assert_eq!(found(&store, "cafe").len(), 50);
    let count: i64 = store
        .read_blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM message_search WHERE message_search MATCH '\"cafe\"'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("count");
    assert_eq!(count, (BACKFILL_BATCH * 2 + 7) as i64, "every row once");
    integrity_ok(&store);
}

#[test]
fn edits_and_deletes_keep_the_index_exact() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    store
        .write_blocking(|ctx| {
            insert_text(
                ctx.conn(),
                "a",
                "447700900001",
                "the blue bicycle",
                "2026-11-01T10:00:00.000000Z",
            );
            insert_text(
                ctx.conn(),
                "b",
                "447700900002",
                "a red bicycle",
                "2026-11-01T10:00:01.000000Z",
            );
            Ok(())
        })
        .expect("rows");
    assert_eq!(found(&store, "bicycle").len(), 2);
    store
        .write_blocking(|ctx| {
            ctx.exec(
                "UPDATE messages SET body = 'the green scooter' WHERE id = 'a'",
                [],
            )?;
            ctx.exec("UPDATE messages SET status = 'read' WHERE id = 'b'", [])?;
            ctx.exec("DELETE FROM messages WHERE id = 'b'", [])?;
            Ok(())
        })
        .expect("changes");
    assert!(found(&store, "bicycle").is_empty());
    assert_eq!(found(&store, "scooter"), vec!["a".to_owned()]);
    integrity_ok(&store);
}

#[test]
fn rows_changed_or_deleted_in_the_transaction_that_wrote_them_are_indexed_as_they_end() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    store
        .write_blocking(|ctx| {
            let at = "2026-11-01T10:00:00.000000Z";
            insert_text(ctx.conn(), "kept", "447700900001", "an old kettle", at);
            ctx.exec(
                "UPDATE messages SET body = 'a new toaster' WHERE id = 'kept'",
                [],
            )?;
            insert_text(ctx.conn(), "gone", "447700900002", "a lost kettle", at);
            ctx.exec("DELETE FROM messages WHERE id = 'gone'", [])?;
            Ok(())
        })
        .expect("rows");
    // A job that fails is rolled back with whatever it noted for the index.
    let failed = store.write_blocking(|ctx| {
        insert_text(
            ctx.conn(),
            "rolled-back",
            "447700900003",
            "a kettle never stored",
            "2026-11-01T10:00:01.000000Z",
        );
        Err::<(), _>(StoreError::Internal("on purpose".into()))
    });
    assert!(failed.is_err());
    assert!(found(&store, "kettle").is_empty());
    assert_eq!(found(&store, "toaster"), vec!["kept".to_owned()]);
    integrity_ok(&store);
}

#[test]
fn rows_written_around_the_writer_are_indexed_when_a_store_opens() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("wa.db");
    drop(Store::open_with(&path, options(false)).expect("create"));
    let conn = Connection::open(&path).expect("open");
    insert_text(
        &conn,
        "direct",
        "447700900004",
        "written by another tool",
        "2026-11-01T10:00:00.000000Z",
    );
    drop(conn);
    let store = Store::open_with(&path, options(false)).expect("reopen");
    assert_eq!(found(&store, "another tool"), vec!["direct".to_owned()]);
    integrity_ok(&store);
}

/// V8's definition of the indexed text, which V11's view must give byte for byte.
const V8_TEXT: &str = "replace(replace(replace(replace(replace(replace(replace(replace(replace(\
    replace(replace(replace(replace(replace(replace(replace(replace(body, char(1611), ''), \
    char(1612), ''), char(1613), ''), char(1614), ''), char(1615), ''), char(1616), ''), \
    char(1617), ''), char(1618), ''), char(1600), ''), char(1648), ''), char(65038), ''), \
    char(65039), ''), char(127995), ''), char(127996), ''), char(127997), ''), char(127998), \
    ''), char(127999), '')";

#[test]
fn the_indexed_text_is_v8s_byte_for_byte_whatever_the_script() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    let bodies = [
        "plain ascii, nothing to drop",
        "caf\u{e9} M\u{fc}ller \u{2019}quoted\u{2019}",
        "\u{643}\u{64e}\u{62a}\u{64e}\u{628}\u{64e} \u{627}\u{644}\u{640}\u{640}\u{639}\u{631}\u{628}\u{64a}\u{629} \u{670}",
        "thumbs \u{1f44d}\u{1f3fd} heart \u{2764}\u{fe0f} text \u{263a}\u{fe0e}",
        "\u{1f3c0} basketball \u{1f3fb}\u{1f3ff} \u{fe0f}\u{64b}mixed\u{6f0}\u{660}",
        "\u{4e2d}\u{6587}\u{65e5}\u{672c}\u{8a9e} \u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
        "",
    ];
    store
        .write_blocking(move |ctx| {
            for (i, body) in bodies.iter().enumerate() {
                let at = format!("2026-11-01T10:00:0{i}.000000Z");
                insert_text(ctx.conn(), &format!("m{i}"), "447700900001", body, &at);
            }
            Ok(())
        })
        .expect("rows");
    let differing: Vec<(String, String, String)> = store
        .read_blocking(|c| {
            let sql = format!(
                "SELECT m.body, t.text, {V8_TEXT} FROM messages m
                 JOIN message_search_text t ON t.message_rowid = m.rowid
                 WHERE t.text IS NOT {V8_TEXT}"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .expect("compared");
    assert!(differing.is_empty(), "{differing:?}");
    assert_eq!(
        found(&store, "\u{643}\u{62a}\u{628}"),
        vec!["m2".to_owned()]
    );
    integrity_ok(&store);
}

/// A small deterministic generator (xorshift): the same hostile inputs every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn no_query_whatever_it_holds_yields_a_database_error_or_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    store
        .write_blocking(|ctx| {
            insert_text(
                ctx.conn(),
                "a",
                "447700900001",
                "NEAR the OR and \"quoted\" text: col*",
                "2026-11-01T10:00:00.000000Z",
            );
            Ok(())
        })
        .expect("row");
    let pieces = [
        "\"",
        "*",
        "NEAR(",
        "NEAR",
        ")",
        "(",
        "OR",
        "AND",
        "NOT",
        "-",
        "+",
        "^",
        ":",
        "text:",
        "message_search:",
        "{text}",
        "rank",
        "'",
        "\\",
        "\0",
        "\n",
        "\u{301}",
        "\u{64e}",
        "🙂",
        "👍🏽",
        "😀😀",
        "中文",
        "東京に",
        "مرحبا",
        "é",
        "invoi",
        "col",
        ",",
        ";",
        "--",
        "/*",
        " ",
        "  ",
        "\"\"",
        "**",
        "a",
        "the",
        "\u{200d}",
        "\u{fe0f}",
        "\u{feff}",
        "𝔘",
        "%",
        "_",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inputs: Vec<String> = pieces.iter().map(|p| (*p).to_owned()).collect();
    for _ in 0..3000 {
        let n = 1 + (rng.next() % 12) as usize;
        inputs.push(
            (0..n)
                .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
                .collect(),
        );
    }
    for input in &inputs {
        let Ok(query) = compile_query(input) else {
            continue;
        };
        let result =
            store.read_blocking(|c| search_messages(c, &query, &SearchFilter::default(), 5));
        assert!(
            result.is_ok(),
            "{input:?} compiled to {:?} failed: {result:?}",
            query.expression()
        );
    }
}

#[test]
fn outbound_rows_are_found_by_the_words_of_the_request_sent() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    let template = r#"{"messaging_product":"whatsapp","to":"447700900001","type":"template",
        "template":{"name":"order_update","language":{"code":"en_US"},"components":[
        {"type":"body","parameters":[{"type":"text","text":"Ada"},{"type":"text","text":"parcel 42"}]}]}}"#;
    let interactive = r#"{"type":"interactive","interactive":{"type":"button",
        "header":{"type":"text","text":"Delivery slot"},"body":{"text":"Pick a time"},
        "footer":{"text":"Reply by noon"},"action":{"buttons":[
        {"type":"reply","reply":{"id":"am","title":"Morning"}},
        {"type":"reply","reply":{"id":"pm","title":"Afternoon"}}]}}}"#;
    let location = r#"{"type":"location","location":{"latitude":51.5,"longitude":-0.1,
        "name":"Borough Market","address":"8 Southwark St"}}"#;
    store
        .write_blocking(move |ctx| {
            let c = ctx.conn();
            insert_text(
                c,
                "seed",
                "447700900001",
                "hello",
                "2026-11-01T10:00:00.000000Z",
            );
            for (id, kind, body, raw) in [
                ("t", "template", "order_update (en_US)", template),
                ("i", "interactive", "Pick a time", interactive),
                ("l", "location", "Location: Borough Market", location),
                (
                    "x",
                    "text",
                    "plain words",
                    r#"{"type":"text","text":{"body":"plain words"}}"#,
                ),
            ] {
                c.execute(
                    "INSERT INTO messages (id, direction, contact_wa_id, type, body, status,
                         created_at, updated_at, raw)
                     VALUES (?1, 'outbound', '447700900001', ?2, ?3, 'sent',
                         '2026-11-01T11:00:00.000000Z', '2026-11-01T11:00:00.000000Z', ?4)",
                    params![id, kind, body, raw],
                )?;
            }
            Ok(())
        })
        .expect("rows");
    assert_eq!(found(&store, "Ada parcel"), vec!["t".to_owned()]);
    assert_eq!(found(&store, "order_update"), vec!["t".to_owned()]);
    assert_eq!(found(&store, "afternoon noon slot"), vec!["i".to_owned()]);
    assert_eq!(found(&store, "southwark"), vec!["l".to_owned()]);
    let words: Option<String> = store
        .read_blocking(|c| {
            Ok(c.query_row(
                "SELECT search_words FROM messages WHERE id = 'x'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("words");
    assert_eq!(words, None, "a text's body is not indexed twice");
    integrity_ok(&store);
    store
        .write_blocking(|ctx| {
            ctx.exec(
                "INSERT INTO message_search (message_search) VALUES ('rebuild')",
                [],
            )?;
            Ok(())
        })
        .expect("the documented rebuild works");
    assert_eq!(found(&store, "Ada"), vec!["t".to_owned()]);
    integrity_ok(&store);
}

#[test]
fn a_vacuum_into_copy_keeps_rowids_so_its_index_still_matches_its_rows() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    store
        .write_blocking(|ctx| {
            for i in 0..30 {
                let at = format!("2026-11-01T10:00:{i:02}.000000Z");
                insert_text(
                    ctx.conn(),
                    &format!("m{i:02}"),
                    "447700900001",
                    &format!("word{i} shared"),
                    &at,
                );
            }
            // Gaps in the rowids, as a prune leaves them.
            ctx.exec(
                "DELETE FROM messages WHERE id IN ('m00', 'm03', 'm10', 'm11')",
                [],
            )?;
            Ok(())
        })
        .expect("rows");
    let copy = dir.path().join("copy.db");
    drop(store);
    Connection::open(dir.path().join("wa.db"))
        .and_then(|c| c.execute("VACUUM INTO ?1", [copy.to_string_lossy()]))
        .expect("vacuum into");
    let copy = Store::open_with(&copy, options(false)).expect("copy opens");
    assert_eq!(found(&copy, "word12"), vec!["m12".to_owned()]);
    assert_eq!(found(&copy, "shared").len(), 26);
    integrity_ok(&copy);
}

/// `n` inbound rows from `contact`, stored one second apart from `start` (seconds after
/// 2026-11-01T00:00:00Z), each saying `body`.
fn insert_many(store: &Store, contact: &str, start: usize, n: usize, body: &str) {
    let (contact, body) = (contact.to_owned(), body.to_owned());
    store
        .write_blocking(move |ctx| {
            for i in start..start + n {
                let at = format!(
                    "2026-11-{:02}T{:02}:{:02}:{:02}.000000Z",
                    1 + i / 86_400,
                    i / 3600 % 24,
                    i / 60 % 60,
                    i % 60
                );
                insert_text(ctx.conn(), &format!("m{i:06}"), &contact, &body, &at);
            }
            Ok(())
        })
        .expect("rows");
}

fn search(store: &Store, q: &str, filter: SearchFilter) -> Vec<String> {
    let query = compile_query(q).expect("query compiles");
    store
        .read_blocking(move |c| search_messages(c, &query, &filter, 20))
        .expect("search runs")
        .into_iter()
        .map(|h| h.message.id)
        .collect()
}

#[test]
fn a_word_with_more_matches_than_the_bound_is_ranked_among_its_newest() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    // The oldest rows match best (the word is all they say); the newest
    // RANKED_CANDIDATES rows match worse, but are newer.
    insert_many(&store, "447700900001", 0, 30, "apple apple apple");
    insert_many(
        &store,
        "447700900001",
        30,
        RANKED_CANDIDATES,
        "an apple among many other words of a longer message",
    );
    let hits = search(&store, "apple", SearchFilter::default());
    assert_eq!(hits.len(), 20);
    assert!(
        hits.iter().all(|id| id.as_str() >= "m000030"),
        "only the newest {RANKED_CANDIDATES} matches are ranked: {hits:?}"
    );
    assert_eq!(
        hits[0],
        format!("m{:06}", 30 + RANKED_CANDIDATES - 1),
        "ties: newest first"
    );
    // With fewer matches than the bound, every match is ranked: the best come first.
    insert_many(&store, "447700900001", 5_000, 3, "pear pear");
    insert_many(
        &store,
        "447700900001",
        5_003,
        5,
        "a pear in a longer message",
    );
    let hits = search(&store, "pear", SearchFilter::default());
    assert_eq!(&hits[..3], ["m005002", "m005001", "m005000"]);
}

#[test]
fn filters_apply_before_the_bound_so_an_old_match_in_range_is_found() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    insert_many(&store, "447700900002", 0, 1, "the apple from Ben");
    store
        .write_blocking(|ctx| {
            ctx.exec(
                "INSERT INTO contacts (wa_id, first_seen_at, updated_at)
                 VALUES ('447700900001', '2026-11-01T00:00:00.000000Z',
                     '2026-11-01T00:00:00.000000Z')",
                [],
            )?;
            ctx.exec(
                "INSERT INTO messages (id, direction, contact_wa_id, type, body, status,
                     created_at, updated_at, raw)
                 VALUES ('sent-1', 'outbound', '447700900001', 'text', 'our apple', 'sent',
                     '2026-11-01T00:00:01.500000Z', '2026-11-01T00:00:01.500000Z', '{}')",
                [],
            )?;
            Ok(())
        })
        .expect("outbound row");
    insert_many(&store, "447700900001", 10, RANKED_CANDIDATES + 5, "apple");
    let by = |filter: SearchFilter| search(&store, "apple", filter);
    assert_eq!(
        by(SearchFilter {
            contact: Some("447700900002".into()),
            ..SearchFilter::default()
        }),
        ["m000000"]
    );
    assert_eq!(
        by(SearchFilter {
            direction: Some("outbound"),
            ..SearchFilter::default()
        }),
        ["sent-1"]
    );
    assert_eq!(
        by(SearchFilter {
            until: Some("2026-11-01T00:00:02.000000Z".into()),
            ..SearchFilter::default()
        }),
        ["sent-1", "m000000"]
    );
    let newest = by(SearchFilter {
        since: Some("2026-11-01T00:00:10.000000Z".into()),
        contact: Some("447700900001".into()),
        direction: Some("inbound"),
        ..SearchFilter::default()
    });
    assert_eq!(newest.len(), 20);
    assert!(!newest.contains(&"m000000".to_owned()));
}

#[test]
fn the_best_matches_come_in_bm25_order_each_with_its_snippet() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    // Scores that rise and fall with the rowid, so the best rows are met at every point
    // of the newest-first pass, not only at its start.
    for i in 0..300usize {
        let kiwis = vec!["kiwi"; 1 + (i * 7) % 5].join(" ");
        let filler = vec!["and"; (i * 13) % 11].join(" ");
        insert_many(
            &store,
            "447700900001",
            i,
            1,
            &format!("{kiwis} {filler} end"),
        );
    }
    let query = compile_query("kiwi").expect("compiles");
    let hits = store
        .read_blocking(move |c| search_messages(c, &query, &SearchFilter::default(), 20))
        .expect("search runs");
    let expected: Vec<String> = store
        .read_blocking(|c| {
            Ok(c.prepare(
                "SELECT m.id FROM message_search s JOIN messages m ON m.rowid = s.rowid
                 WHERE message_search MATCH 'kiwi'
                 ORDER BY bm25(message_search), s.rowid DESC LIMIT 20",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
        })
        .expect("ranked by SQLite alone");
    assert_eq!(
        hits.iter()
            .map(|h| h.message.id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    for hit in &hits {
        assert!(
            hit.snippet.starts_with("**kiwi**") && hit.snippet.ends_with("end"),
            "{}: {}",
            hit.message.id,
            hit.snippet
        );
    }
}

#[test]
fn the_search_reads_its_matches_newest_first_without_sorting_them() {
    // wa_top builds a snippet for every row among the best so far in the order rows are
    // read; only FTS5's own newest-first order, with no sort after it, bounds that read to
    // the newest RANKED_CANDIDATES matches.
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_with(&dir.path().join("wa.db"), options(false)).expect("open");
    let filters = [
        SearchFilter::default(),
        SearchFilter {
            direction: Some("inbound"),
            since: Some("2026-01-01T00:00:00.000000Z".into()),
            until: Some("2027-01-01T00:00:00.000000Z".into()),
            ..SearchFilter::default()
        },
        SearchFilter {
            contact: Some("447700900001".into()),
            ..SearchFilter::default()
        },
        SearchFilter {
            contact: Some("447700900001".into()),
            direction: Some("outbound"),
            ..SearchFilter::default()
        },
    ];
    for (q, filter) in ["invoice", "invoi*", "\"red car\" march"]
        .iter()
        .flat_map(|q| filters.iter().map(move |f| (*q, f.clone())))
    {
        let query = compile_query(q).expect("compiles");
        let f = filter.clone();
        let plan = store
            .read_blocking(move |c| explain_search(c, &query, &f))
            .expect("plan");
        assert!(
            plan.contains("SCAN s VIRTUAL TABLE"),
            "{q} {filter:?}: {plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{q} {filter:?}: {plan}");
    }
}
