//! Two writers on one database file (as a `serve` daemon and an `mcp` process are),
//! and a reader paging by `(created_at, id)` while they write.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wa_mcp::cli::simulated_text_delivery;
use wa_mcp::model::{Outcome, PageCursor};
use wa_mcp::store::{Store, StoreOptions, read};
use wa_mcp::webhook::prepare_delivery;

const PER_WRITER: usize = 150;

fn write_many(path: &Path, writer: usize, options: StoreOptions) {
    let store = Store::open_with(path, options).expect("store opens");
    for i in 0..PER_WRITER {
        let from = format!("4477009{writer:02}{i:03}");
        let body = simulated_text_delivery(
            &from,
            "W",
            &format!("w{writer} m{i}"),
            "1",
            "2",
            1_749_416_383,
        );
        let prepared = prepare_delivery(body.to_string().as_bytes(), format!("w{writer}-{i}"), 0);
        let report = store
            .commit_delivery_blocking(prepared)
            .expect("committed, never `database is locked`");
        assert_eq!(report.new_messages, 1);
    }
}

#[test]
fn two_writers_keep_created_at_strictly_increasing_and_a_pager_never_skips() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    // Created first so both writers and the reader open an existing schema.
    let reader = Store::open(&path).expect("reader store");

    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = [(0usize, 64usize), (1, 1)]
        .into_iter()
        .map(|(w, max_batch)| {
            let path = path.clone();
            std::thread::spawn(move || {
                write_many(
                    &path,
                    w,
                    StoreOptions {
                        max_batch,
                        ..StoreOptions::default()
                    },
                )
            })
        })
        .collect();

    let pager = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut cursor: Option<PageCursor> = None;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let after = cursor.clone();
                let page = reader
                    .read_blocking(move |c| {
                        read::page_messages(c, after.as_ref(), &Default::default(), 7)
                    })
                    .expect("page");
                if let Some(last) = page.last() {
                    cursor = Some(PageCursor {
                        created_at: last.created_at.clone(),
                        id: last.id.clone(),
                    });
                }
                let empty = page.is_empty();
                seen.extend(page.into_iter().map(|m| m.id));
                if empty && finished {
                    return seen;
                }
            }
        })
    };
    for w in writers {
        w.join().expect("writer finished");
    }
    done.store(true, Ordering::SeqCst);
    let seen = pager.join().expect("pager finished");

    let conn = rusqlite::Connection::open(&path).expect("open");
    let by_commit: Vec<(String, String)> = conn
        .prepare("SELECT id, created_at FROM messages ORDER BY rowid")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(by_commit.len(), 2 * PER_WRITER);
    for pair in by_commit.windows(2) {
        assert!(
            pair[0].1 < pair[1].1,
            "created_at not strictly increasing: {pair:?}"
        );
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "the pager saw a row twice");
    let all: Vec<String> = by_commit.into_iter().map(|(id, _)| id).collect();
    assert_eq!(seen, all, "the pager skipped or reordered rows");
}

#[test]
fn a_failing_job_does_not_roll_back_its_batch_neighbours() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("w.db")).expect("store");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let results = rt.block_on(async {
        let ok = |n: i64| {
            let store = store.clone();
            async move {
                store
                    .write(move |ctx| {
                        if n == 1 {
                            // Holds the writer so the next two jobs queue up and
                            // commit together in one batch.
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        }
                        let at = ctx.next_created_at();
                        ctx.conn().execute(
                            "INSERT INTO pull_cursors (client_id, last_pulled_at, updated_at) VALUES (?1, ?2, ?2)",
                            rusqlite::params![format!("c{n}"), at],
                        )?;
                        Ok(n)
                    })
                    .await
            }
        };
        let bad = {
            let store = store.clone();
            async move {
                store
                    .write(|ctx| {
                        ctx.conn().execute(
                            "INSERT INTO pull_cursors (client_id, last_pulled_at, updated_at) VALUES ('bad', 'x', 'x')",
                            [],
                        )?;
                        ctx.conn().execute("INSERT INTO no_such_table VALUES (1)", [])?;
                        Ok(0)
                    })
                    .await
            }
        };
        tokio::join!(ok(1), bad, ok(2))
    });
    assert_eq!(results.0.expect("first committed"), 1);
    assert!(results.1.is_err(), "the failing job reports its error");
    assert_eq!(results.2.expect("third committed"), 2);
    let clients: Vec<String> = store
        .read_blocking(|c| {
            Ok(
                c.prepare("SELECT client_id FROM pull_cursors ORDER BY client_id")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            )
        })
        .expect("read");
    assert_eq!(
        clients,
        ["c1", "c2"],
        "the failed job's partial write is rolled back alone"
    );
}

#[test]
fn a_delivery_whose_rows_fail_in_a_batch_is_logged_failed_and_its_neighbours_are_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("w.db");
    let store = Store::open(&path).expect("store");
    // Rows that cannot be written: SQLite refuses this one message, as it would a row
    // breaking a constraint, halfway through its delivery (its contact is already in).
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON messages WHEN NEW.body = 'refused'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .expect("trigger");
    let delivery = |from: &str, text: &str| {
        let body = simulated_text_delivery(from, "A", text, "1", "2", 1_749_416_383);
        prepare_delivery(body.to_string().as_bytes(), format!("r-{text}"), 0)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let reports = rt.block_on(async {
        let hold = {
            let store = store.clone();
            async move {
                store
                    .write(|_| {
                        // Holds the writer so the three deliveries queue up and are
                        // committed in one batch.
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Ok(())
                    })
                    .await
            }
        };
        let commit = |from: &'static str, text: &'static str| {
            let store = store.clone();
            let d = delivery(from, text);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                store.commit_delivery(d).await
            }
        };
        let (held, first, refused, last) = tokio::join!(
            hold,
            commit("447700900001", "first"),
            commit("447700900002", "refused"),
            commit("447700900003", "last")
        );
        held.expect("held");
        [first, refused, last].map(|r| r.expect("every delivery is answered as kept"))
    });
    assert_eq!(
        reports.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [Outcome::Processed, Outcome::Failed, Outcome::Processed]
    );
    let (bodies, contacts, failed): (Vec<String>, i64, String) = store
        .read_blocking(|c| {
            let bodies = c
                .prepare("SELECT body FROM messages ORDER BY created_at")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let contacts = c.query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))?;
            let failed = c.query_row(
                "SELECT payload FROM webhook_events WHERE outcome = 'failed'",
                [],
                |r| r.get(0),
            )?;
            Ok((bodies, contacts, failed))
        })
        .expect("read");
    assert_eq!(bodies, ["first", "last"]);
    assert_eq!(
        contacts, 2,
        "the refused delivery's contact was rolled back with it"
    );
    assert!(failed.contains("refused"), "its payload is kept: {failed}");
}

#[test]
fn created_at_stays_increasing_when_another_process_clock_is_ahead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("clock.db");
    let store = Store::open(&path).expect("store");
    // Another process on this file, with a clock an hour ahead, committed last.
    let ahead = wa_mcp::timefmt::now_micros() + 3_600_000_000;
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute("UPDATE write_clock SET last_us = ?1", [ahead])
        .expect("set clock");
    let body = simulated_text_delivery("447700900123", "A", "after", "1", "2", 1_749_416_383);
    let prepared = prepare_delivery(body.to_string().as_bytes(), "r".into(), 0);
    store.commit_delivery_blocking(prepared).expect("committed");
    let created_at: String = store
        .read_blocking(|c| Ok(c.query_row("SELECT created_at FROM messages", [], |r| r.get(0))?))
        .expect("row");
    assert!(
        created_at > wa_mcp::timefmt::format_micros(ahead),
        "{created_at} is not after the last value handed out"
    );
}

#[test]
fn a_full_writer_queue_refuses_new_deliveries_instead_of_growing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = StoreOptions {
        queue_capacity: 1,
        max_batch: 1,
        ..StoreOptions::default()
    };
    let store = Store::open_with(&dir.path().join("q.db"), options).expect("store");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        // The writer is held by a job that waits for the test's say-so.
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let slow = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |_| {
                        let _ = started_tx.send(());
                        let _ = release_rx.recv();
                        Ok(())
                    })
                    .await
            })
        };
        started_rx.await.expect("writer busy");
        let body = simulated_text_delivery("447700900123", "A", "shed", "1", "2", 1_749_416_383);
        let delivery = |rid: &str| prepare_delivery(body.to_string().as_bytes(), rid.into(), 0);
        // Polled once, the first delivery takes the queue's one place and waits there.
        let mut queued = Box::pin(store.commit_delivery(delivery("queued")));
        tokio::select! {
            biased;
            _ = &mut queued => panic!("committed while the writer was held"),
            () = std::future::ready(()) => {}
        }
        let refused = store.commit_delivery(delivery("refused")).await;
        assert!(
            matches!(refused, Err(wa_mcp::store::StoreError::Saturated)),
            "{refused:?}"
        );
        release_tx.send(()).expect("release the writer");
        slow.await.expect("join").expect("slow job");
        assert_eq!(
            queued
                .await
                .expect("queued delivery committed")
                .new_messages,
            1
        );
        let next = simulated_text_delivery("447700900124", "B", "after", "1", "2", 1_749_416_383);
        let accepted = store
            .commit_delivery(prepare_delivery(
                next.to_string().as_bytes(),
                "r2".into(),
                0,
            ))
            .await
            .expect("accepted once the queue drained");
        assert_eq!(accepted.new_messages, 1);
    });
}

#[test]
fn every_page_query_reads_an_index_in_order_without_sorting() {
    use wa_mcp::store::MessageFilter;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plan.db");
    drop(Store::open(&path).expect("store"));
    let conn = rusqlite::Connection::open(&path).expect("db");
    let cursor = PageCursor {
        created_at: "2026-11-24T00:00:00.000000Z".into(),
        id: "x".into(),
    };
    let filters = [
        MessageFilter::default(),
        MessageFilter {
            direction: Some("inbound"),
            ..Default::default()
        },
        MessageFilter {
            contact: Some("447700900123".into()),
            ..Default::default()
        },
        MessageFilter {
            direction: Some("outbound"),
            contact: Some("447700900123".into()),
        },
    ];
    for filter in &filters {
        for after in [None, Some(&cursor)] {
            let plan = wa_mcp::store::read::explain_page(&conn, after, filter).expect("plan");
            assert!(
                plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                "{filter:?}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{filter:?} sorts: {plan}");
            if filter.contact.is_some() {
                assert!(
                    plan.contains("contact_wa_id=?"),
                    "{filter:?} filters contact row by row: {plan}"
                );
            }
            if filter.direction.is_some() {
                assert!(
                    plan.contains("direction=?"),
                    "{filter:?} filters direction row by row: {plan}"
                );
            }
            if after.is_some() {
                assert!(
                    plan.contains("(created_at,id)>(?,?)") || plan.contains("created_at>?"),
                    "{filter:?} scans from the start: {plan}"
                );
            }
        }
    }
}

#[test]
fn a_job_that_fails_or_panics_leaves_its_conversation_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("t.db")).expect("store");
    let body = simulated_text_delivery("447700900123", "Ada", "first", "1", "2", 1_749_416_383);
    store
        .commit_delivery_blocking(prepare_delivery(body.to_string().as_bytes(), "r".into(), 0))
        .expect("seeded");
    let conversation = |store: &Store| {
        store
            .read_blocking(|c| {
                Ok(c.query_row(
                    "SELECT last_message_at, (SELECT count(*) FROM messages) FROM contacts",
                    [],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                )?)
            })
            .expect("read")
    };
    let before = conversation(&store);
    // The insert moves the contact's last_message_at through the V4 trigger; the job
    // then fails, by an error or a panic, and its savepoint takes the trigger's write too.
    for panics in [false, true] {
        let result = store.write_blocking(move |ctx| {
            let at = ctx.next_created_at();
            ctx.exec(
                "INSERT INTO messages (id, direction, contact_wa_id, type, status, created_at,
                     updated_at)
                 VALUES (?1, 'outbound', '447700900123', 'text', 'pending', ?2, ?2)",
                rusqlite::params![format!("job-{panics}"), at],
            )?;
            assert!(!panics, "a bug in a job");
            Err::<(), _>(wa_mcp::store::StoreError::Internal("refused".into()))
        });
        assert!(result.is_err(), "the job reports its failure");
        assert_eq!(conversation(&store), before, "panics: {panics}");
    }
}
