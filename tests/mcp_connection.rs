//! One MCP connection over an in-memory pipe: the updates its subscriptions bring, and
//! its end (the client closes its input, as Claude Desktop does when it quits): a wait
//! still running is answered at once instead of being dropped, and nothing the
//! connection started (the resource feed, the forwarding of updates) outlives it
//! holding the database open.

mod common;

use std::time::Duration;

use common::inbound;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use wa_mcp::mcp::{WhatsAppServer, serve};
use wa_mcp::messaging::Messaging;
use wa_mcp::meta::MetaClient;
use wa_mcp::model::PreparedDelivery;
use wa_mcp::store::Store;

const GRAPH: &str = "http://127.0.0.1:9";
/// Longer than anything here takes when it works: a bound on a hang, not a timing.
const SILENCE: Duration = Duration::from_secs(20);

/// The client's side of an in-memory MCP connection.
struct Client {
    lines: tokio::io::Lines<BufReader<ReadHalf<DuplexStream>>>,
    input: WriteHalf<DuplexStream>,
}

impl Client {
    async fn send(&mut self, message: Value) {
        let line = format!("{message}\n");
        self.input
            .write_all(line.as_bytes())
            .await
            .expect("written");
    }

    /// The next line the server wrote, or `None` once it closed its output. A server
    /// silent for [`SILENCE`] fails the test instead of hanging it.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(SILENCE, self.lines.next_line())
            .await
            .expect("the server wrote nothing for 20 s")
            .expect("readable")?;
        Some(serde_json::from_str(&line).expect("JSON-RPC"))
    }

    /// Reads until the response to `id`, or `None` if the output ends first.
    async fn response_to(&mut self, id: u64) -> Option<Value> {
        while let Some(message) = self.next().await {
            if message["id"] == id {
                return Some(message);
            }
        }
        None
    }

    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.response_to(id).await.expect("answered")
    }

    async fn initialize(&mut self) {
        let init = self
            .request(
                1,
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "session-end-tests", "version": "1.0"}
                }),
            )
            .await;
        assert!(init.get("result").is_some(), "{init}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    /// Sends `method` (`resources/subscribe` or `resources/unsubscribe`) for `uri` as
    /// request `id` and asserts it succeeded.
    async fn resource_request(&mut self, id: u64, method: &str, uri: &str) {
        let answer = self.request(id, method, json!({"uri": uri})).await;
        assert!(answer.get("result").is_some(), "{answer}");
    }

    /// Opens a 2026-generation `subscriptions/listen` stream (request 5, client
    /// `client_name`) on Ada's conversation and asserts it is acknowledged first.
    async fn listen_to_ada(&mut self, client_name: &str) {
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": client_name, "version": "2.0"}
        });
        self.send(json!({"jsonrpc": "2.0", "id": 5, "method": "subscriptions/listen", "params": {
            "_meta": meta,
            "notifications": {"resourceSubscriptions": ["whatsapp://conversations/447700900123"]}}}))
            .await;
        let ack = self.next().await.expect("acknowledged");
        assert_eq!(
            ack["method"], "notifications/subscriptions/acknowledged",
            "{ack}"
        );
    }

    /// Closes the client's input to the server: end of file on the server's reader.
    async fn close_input(&mut self) {
        self.input.shutdown().await.expect("closed");
    }
}

/// A store on a new temp database; keep the folder alive for the test.
fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    (dir, store)
}

/// Commits `delivery` as the webhook would, failing the test if it is not stored.
async fn commit(store: &Store, delivery: PreparedDelivery) {
    store.commit_delivery(delivery).await.expect("committed");
}

/// Drops `store`, the test's last handle, and asserts the store then closes (its commit
/// signal ends): nothing else still holds it. `holder` says what would have.
async fn assert_closes_when_dropped(store: Store, holder: &str) {
    let mut commits = store.subscribe_commits();
    commits.borrow_and_update();
    drop(store);
    let mut polls = 0;
    while commits.has_changed().is_ok() {
        polls += 1;
        assert!(polls < 100, "{holder} still holds the database open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server on a temp database, served over an in-memory pipe on a task of its own.
fn start(store: &Store) -> (Client, tokio::task::JoinHandle<Result<(), std::io::Error>>) {
    let config = common::config(GRAPH, Some("EAAG-session-end-token"));
    let meta = MetaClient::new(common::fast_meta_options(GRAPH, None));
    let server = WhatsAppServer::new(Messaging::new(store.clone(), meta, &config));
    let (client_end, server_end) = tokio::io::duplex(1 << 16);
    let served = tokio::spawn(serve(server, tokio::io::split(server_end)));
    let (output, input) = tokio::io::split(client_end);
    let client = Client {
        lines: BufReader::new(output).lines(),
        input,
    };
    (client, served)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_in_flight_is_answered_when_the_client_closes_its_input() {
    let (_dir, store) = temp_store();
    let (mut client, served) = start(&store);
    client.initialize().await;
    client
        .send(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "wait_for_messages", "arguments": {"timeoutSeconds": 60}}}),
        )
        .await;
    client.close_input().await;

    // Before, the wait went on after end of file until the transport gave up on it, and
    // its answer was dropped: the client never heard back.
    let answer = client
        .response_to(7)
        .await
        .expect("the wait is answered before the server closes its output");
    let result = &answer["result"];
    assert_eq!(result["isError"], false, "{answer}");
    assert_eq!(
        result["structuredContent"]["messages"],
        json!([]),
        "{answer}"
    );
    assert!(
        result["structuredContent"]["next"]["since"].is_string(),
        "the cursor to continue from: {answer}"
    );
    served.await.expect("joined").expect("a clean end");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_session_leaves_nothing_holding_the_database() {
    let (_dir, store) = temp_store();
    let (mut client, served) = start(&store);
    client.initialize().await;
    let ada = "whatsapp://conversations/447700900123";
    client.resource_request(2, "resources/subscribe", ada).await;
    commit(
        &store,
        inbound::text("447700900123", "Ada", "wamid.S1", 1, "hi"),
    )
    .await;
    let update = client.next().await.expect("notified");
    assert_eq!(update["method"], "notifications/resources/updated");
    assert_eq!(update["params"]["uri"], ada);

    client.close_input().await;
    while client.next().await.is_some() {}
    served.await.expect("joined").expect("a clean end");

    // The session's tasks held clones of the store; when they are gone with the
    // session, dropping the last handle here closes the store, which ends its signal.
    assert_closes_when_dropped(store, "a task of the finished session").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_name_the_uri_as_subscribed_and_stop_after_unsubscribe() {
    let (_dir, store) = temp_store();
    let (mut client, _served) = start(&store);
    client.initialize().await;
    // The same conversation as whatsapp://conversations/447700900123, written with the
    // number's plus: the client knows the resource by the URI it used.
    let ada = "whatsapp://conversations/+447700900123";
    let later = "whatsapp://conversations/447700900999";
    for (id, uri) in [(2, ada), (3, later)] {
        client
            .resource_request(id, "resources/subscribe", uri)
            .await;
    }
    commit(
        &store,
        inbound::text("447700900123", "Ada", "wamid.U1", 1, "hi"),
    )
    .await;
    let update = client.next().await.expect("notified");
    assert_eq!(update["method"], "notifications/resources/updated");
    assert_eq!(update["params"]["uri"], ada, "{update}");

    client
        .resource_request(4, "resources/unsubscribe", ada)
        .await;
    commit(
        &store,
        inbound::text("447700900123", "Ada", "wamid.U2", 2, "again"),
    )
    .await;
    commit(
        &store,
        inbound::text("447700900999", "Later", "wamid.U3", 3, "me"),
    )
    .await;
    // Updates go out in the order of the conversations' URIs: Ada's would come first.
    let update = client.next().await.expect("notified");
    assert_eq!(
        update["params"]["uri"], later,
        "only the conversation still subscribed: {update}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listen_stream_open_at_the_end_is_answered_and_leaves_nothing_behind() {
    let (_dir, store) = temp_store();
    let (mut client, served) = start(&store);
    client.listen_to_ada("session-end-tests").await;
    commit(
        &store,
        inbound::text("447700900123", "Ada", "wamid.L1", 1, "hi"),
    )
    .await;
    let update = client.next().await.expect("notified");
    assert_eq!(update["method"], "notifications/resources/updated");

    client.close_input().await;
    // Like a wait, the stream ends with the input and is answered, rather than held
    // until the transport gives up on it and drops it unanswered.
    let closed = client
        .response_to(5)
        .await
        .expect("the stream is answered before the server closes its output");
    assert!(closed.get("error").is_none(), "{closed}");
    while client.next().await.is_some() {}
    served.await.expect("joined").expect("a clean end");
    assert_closes_when_dropped(store, "the listen stream of the finished session").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_committed_right_after_the_listen_is_acknowledged_is_notified() {
    // The acknowledgement goes out before the stream's own code runs: a message stored
    // in between was behind the stream's starting point and never notified.
    for round in 0..20 {
        let (_dir, store) = temp_store();
        let (mut client, _served) = start(&store);
        client.listen_to_ada("listen-tests").await;
        let wamid = format!("wamid.R{round}");
        commit(
            &store,
            inbound::text("447700900123", "Ada", &wamid, 1, "hi"),
        )
        .await;
        let update = client.next().await.expect("notified");
        assert_eq!(
            update["method"], "notifications/resources/updated",
            "round {round}: {update}"
        );
    }
}
