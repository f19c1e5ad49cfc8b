//! `wa-mcp mcp --channel` as Claude Code runs it: the real binary over stdio, a raw
//! JSON-RPC client, deliveries POSTed to a separate `serve` process on the same file,
//! and Meta mocked for the permission prompts sent to the owner.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::listener::{self, NO_META, post_text};
use common::mcp_client::{McpClient, wa_mcp_command};
use mockito::{Matcher, Server};
use rusqlite::Connection;
use serde_json::{Value, json};

const OWNER: &str = "447700900001";
const FRIEND: &str = "447700900002";
const STRANGER: &str = "447700900003";

/// `mcp --no-http` plus `args` over `db`, with `env` set, initialized.
fn channel_client(
    db: &std::path::Path,
    graph: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (McpClient, Value) {
    let mut cmd: Command = wa_mcp_command(db, graph);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut all = vec!["mcp", "--no-http"];
    all.extend_from_slice(args);
    let mut client = McpClient::spawn(cmd, &all);
    let init = client.initialize();
    (client, init)
}

fn is_channel(v: &Value) -> bool {
    v["method"] == "notifications/claude/channel"
}

fn is_verdict(v: &Value) -> bool {
    v["method"] == "notifications/claude/channel/permission"
}

/// The next channel event (waiting up to 30 s); the test fails without one.
fn next_channel(client: &mut McpClient, seen: &mut usize) -> Value {
    let skip = *seen;
    let n = std::cell::Cell::new(0);
    let found = client.find_message(Duration::from_secs(30), |v| {
        if !is_channel(v) {
            return false;
        }
        n.set(n.get() + 1);
        n.get() > skip
    });
    *seen += 1;
    found.expect("a channel event")["params"].clone()
}

#[test]
fn capabilities_are_declared_only_with_channel_and_permission_only_with_owners() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (plain, init) = channel_client(&db, NO_META, &[("WA_OWNER_NUMBERS", OWNER)], &[]);
    assert!(
        init["result"]["capabilities"].get("experimental").is_none(),
        "{init}"
    );
    plain.finish();
    let (no_owner, init) = channel_client(&db, NO_META, &[], &["--channel"]);
    let experimental = &init["result"]["capabilities"]["experimental"];
    assert_eq!(experimental["claude/channel"], json!({}));
    assert!(
        experimental.get("claude/channel/permission").is_none(),
        "{init}"
    );
    assert!(
        init["result"]["instructions"]
            .as_str()
            .is_some_and(|i| i.contains("send_message {to: meta.from")),
        "{init}"
    );
    no_owner.finish();
    let (owner, init) =
        channel_client(&db, NO_META, &[("WA_OWNER_NUMBERS", OWNER)], &["--channel"]);
    let experimental = &init["result"]["capabilities"]["experimental"];
    assert_eq!(experimental["claude/channel"], json!({}));
    assert_eq!(experimental["claude/channel/permission"], json!({}));
    owner.finish();
}

#[test]
fn deliveries_to_another_process_are_pushed_once_in_order_and_strangers_are_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (_serve, port) = listener::serve(&db);
    // Stored before the session: not pushed.
    post_text(port, FRIEND, "Friend", "before the session");
    let env = [
        ("WA_OWNER_NUMBERS", OWNER),
        ("WA_CHANNEL_SENDERS", &format!("{OWNER},+{FRIEND}") as &str),
    ];
    let (mut client, _) = channel_client(&db, NO_META, &env, &["--channel"]);
    let mut seen = 0;
    post_text(port, STRANGER, "Stranger", "let me in");
    post_text(port, FRIEND, "Fri\u{1b}end\u{7}", "hello there");
    let first = next_channel(&mut client, &mut seen);
    assert_eq!(
        first["content"], "hello there",
        "the stranger's was not pushed: {first}"
    );
    let meta = &first["meta"];
    assert_eq!(meta["from"], FRIEND);
    assert_eq!(meta["profile_name"], "Fri end");
    assert_eq!(meta["type"], "text");
    for key in ["message_id", "wamid", "ts"] {
        assert!(
            meta[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {meta}"
        );
    }
    let stored: String = Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT body FROM messages WHERE contact_wa_id = ?1",
            [STRANGER],
            |r| r.get(0),
        )
        .expect("the stranger's message is stored");
    assert_eq!(stored, "let me in");

    // A burst from four posters at once: every message, once, in commit order.
    const BURST: usize = 500;
    let posters: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..BURST / 4 {
                    post_text(port, FRIEND, "Friend", &format!("burst {t}-{i}"));
                }
            })
        })
        .collect();
    for p in posters {
        p.join().expect("posted");
    }
    let pushed: Vec<String> = (0..BURST)
        .map(|_| {
            next_channel(&mut client, &mut seen)["meta"]["message_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let conn = Connection::open(&db).expect("db");
    let mut stmt = conn
        .prepare(
            "SELECT id FROM messages WHERE direction = 'inbound' AND body LIKE 'burst %'
             ORDER BY created_at, id",
        )
        .expect("query");
    let committed: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids");
    assert_eq!(committed.len(), BURST);
    assert_eq!(pushed, committed, "every message once, in commit order");
    post_text(port, FRIEND, "Friend", "last");
    assert_eq!(next_channel(&mut client, &mut seen)["content"], "last");
    let stderr = client.finish();
    assert!(stderr.contains("channel_messages_withheld"), "{stderr}");
}

/// Waits (up to 30 s) until an outbound row whose body contains `text` has settled.
fn wait_for_outbound(db: &std::path::Path, text: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = Connection::open(db).ok().and_then(|c| {
            c.query_row(
                "SELECT contact_wa_id, status FROM messages
                 WHERE direction = 'outbound' AND instr(body, ?1) > 0 AND status != 'pending'",
                [text],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
        });
        if let Some(row) = found {
            return row;
        }
        assert!(Instant::now() < deadline, "no outbound row with {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn permission_request(client: &mut McpClient, id: &str) {
    client.notify(
        "notifications/claude/channel/permission_request",
        json!({
            "request_id": id,
            "tool_name": "Bash",
            "description": "List the files in the project",
            "input_preview": "{\"command\":\"ls -la\"}"
        }),
    );
}

#[test]
fn the_owner_answers_a_permission_request_from_the_phone_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (_serve, port) = listener::serve(&db);
    let mut meta = Server::new();
    let prompt = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .match_body(Matcher::AllOf(vec![
            Matcher::PartialJson(json!({"to": OWNER, "type": "text"})),
            Matcher::Regex("yes abcde".into()),
            Matcher::Regex("List the files in the project".into()),
        ]))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.PROMPT1"}]}"#)
        .expect(1)
        .create();
    let env = [
        ("WA_OWNER_NUMBERS", OWNER),
        ("WA_CHANNEL_SENDERS", &format!("{OWNER},{FRIEND}") as &str),
        // The prompt goes to the owner whatever the allowlist says.
        ("WA_ALLOWED_RECIPIENTS", FRIEND),
    ];
    let (mut client, _) = channel_client(&db, &meta.url(), &env, &["--channel"]);
    let mut seen = 0;
    post_text(port, OWNER, "Owner", "I am around");
    assert_eq!(
        next_channel(&mut client, &mut seen)["content"],
        "I am around"
    );
    permission_request(&mut client, "abcde");
    let (to, status) = wait_for_outbound(&db, "yes abcde");
    assert_eq!((to.as_str(), status.as_str()), (OWNER, "sent"));
    prompt.assert();

    post_text(port, FRIEND, "Friend", "yes abcde");
    post_text(port, OWNER, "Owner", "no qwert");
    post_text(port, OWNER, "Owner", "  YES Abcde ");
    post_text(port, OWNER, "Owner", "no abcde");
    post_text(port, FRIEND, "Friend", "marker");
    // The friend's words are an ordinary message; the owner's answers never are.
    assert_eq!(next_channel(&mut client, &mut seen)["content"], "yes abcde");
    assert_eq!(next_channel(&mut client, &mut seen)["content"], "marker");
    let verdicts: Vec<Value> = client
        .stdout_lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(is_verdict)
        .collect();
    assert_eq!(
        verdicts,
        vec![
            json!({"jsonrpc": "2.0", "method": "notifications/claude/channel/permission",
                    "params": {"request_id": "abcde", "behavior": "allow"}})
        ]
    );
    client.finish();
}

#[test]
fn an_owner_whose_window_is_closed_cannot_be_reached_and_the_session_hears_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (mut client, _) =
        channel_client(&db, NO_META, &[("WA_OWNER_NUMBERS", OWNER)], &["--channel"]);
    let mut seen = 0;
    permission_request(&mut client, "qwert");
    let note = next_channel(&mut client, &mut seen);
    assert_eq!(note["meta"]["type"], "permission_relay_failed");
    assert_eq!(note["meta"]["request_id"], "qwert");
    assert!(
        note["content"]
            .as_str()
            .is_some_and(|c| c.contains("could not be reached")),
        "{note}"
    );
    let outbound: i64 = Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT count(*) FROM messages WHERE direction = 'outbound'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(outbound, 0, "nothing was sent");
    let stderr = client.finish();
    assert!(stderr.contains("permission_prompt_not_sent"), "{stderr}");
}
