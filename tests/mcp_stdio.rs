//! The real binary over real stdio: `wa-mcp mcp --no-http` with a temp database and
//! mockito standing in for Meta.

mod common;

use common::listener;
use common::mcp_client::{McpClient, TOKEN, wa_mcp_command};
use common::seed;
use mockito::{Matcher, Server};
use serde_json::{Value, json};

const PATH: &str = "/v26.0/106540352242922/messages";
const INBOUND_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";

/// A database holding one inbound text message.
fn seeded_db() -> (tempfile::TempDir, std::path::PathBuf) {
    seed::db_with_fixtures(&["inbound_text.json"])
}

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

#[test]
fn initialize_then_list_the_three_tools_with_schemas_and_annotations() {
    let (_dir, db) = seeded_db();
    let (mut client, init) = McpClient::start(&db, "http://127.0.0.1:9");
    assert_eq!(init["result"]["serverInfo"]["name"], "wa-mcp");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    let listed = client.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().expect("tools").clone();
    for name in ["send_message", "get_messages", "mark_read"] {
        let t = tool(&tools, name);
        assert_eq!(t["inputSchema"]["type"], "object", "{name}");
        assert_eq!(t["outputSchema"]["type"], "object", "{name}");
        assert!(
            t["description"].as_str().is_some_and(|d| d.len() > 20),
            "{name}"
        );
    }
    let send = tool(&tools, "send_message");
    assert_eq!(send["inputSchema"]["required"], json!(["to", "body"]));
    assert_eq!(send["inputSchema"]["properties"]["body"]["maxLength"], 4096);
    assert_eq!(send["annotations"]["readOnlyHint"], false);
    assert_eq!(send["annotations"]["destructiveHint"], false);
    assert_eq!(send["annotations"]["idempotentHint"], false);
    assert_eq!(send["annotations"]["openWorldHint"], true);
    let get = tool(&tools, "get_messages");
    assert_eq!(get["annotations"]["readOnlyHint"], true);
    assert_eq!(get["inputSchema"]["properties"]["limit"]["maximum"], 100);
    assert_eq!(
        get["inputSchema"]["properties"]["limit"]["type"], "integer",
        "no null type for optional fields"
    );
    assert_eq!(
        tool(&tools, "mark_read")["inputSchema"]["required"],
        json!(["messageId"])
    );
    client.finish();
}

#[test]
fn every_tool_works_end_to_end_over_stdio() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let send_mock = meta
        .mock("POST", PATH)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_body(Matcher::PartialJson(json!({"to": "16505551234", "type": "text",
            "text": {"body": "Yes, in blue too"}, "context": {"message_id": INBOUND_WAMID}})))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.E2E"}]}"#)
        .expect(1)
        .create();
    let read_mock = meta
        .mock("POST", PATH)
        .match_body(Matcher::Json(
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": INBOUND_WAMID}),
        ))
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());

    let page = client.call("get_messages", json!({"direction": "inbound"}));
    assert_eq!(page["isError"], false);
    let messages = page["structuredContent"]["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "Does it come in another color?");
    assert_eq!(messages[0]["contact"], "16505551234");
    let text_copy: Value =
        serde_json::from_str(page["content"][0]["text"].as_str().expect("text block"))
            .expect("JSON text");
    assert_eq!(
        text_copy, page["structuredContent"],
        "the text block carries the same JSON"
    );

    let sent = client.call(
        "send_message",
        json!({"to": "+1 650-555-1234", "body": "Yes, in blue too", "replyTo": INBOUND_WAMID, "idempotencyKey": "e2e-1"}),
    );
    assert_eq!(sent["isError"], false, "{sent}");
    assert_eq!(sent["structuredContent"]["wamid"], "wamid.E2E");
    assert_eq!(sent["structuredContent"]["status"], "sent");
    let again = client.call(
        "send_message",
        json!({"to": "16505551234", "body": "Yes, in blue too", "replyTo": INBOUND_WAMID, "idempotencyKey": "e2e-1"}),
    );
    assert_eq!(
        again["structuredContent"], sent["structuredContent"],
        "a retried call sends nothing"
    );

    let read = client.call("mark_read", json!({"messageId": messages[0]["id"]}));
    assert_eq!(read["structuredContent"], json!({"success": true}));

    let next = page["structuredContent"]["next"].clone();
    let newer = client.call(
        "get_messages",
        json!({"since": next["since"], "sinceId": next["sinceId"]}),
    );
    let newer = newer["structuredContent"]["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(newer.len(), 1, "only the reply is after the cursor");
    assert_eq!(newer[0]["direction"], "outbound");
    assert_eq!(newer[0]["replyTo"], INBOUND_WAMID);

    let stderr = client.finish();
    send_mock.assert();
    read_mock.assert();
    assert!(!stderr.contains(TOKEN), "the token reached the log");
}

#[test]
fn errors_come_back_as_tool_errors_a_model_can_act_on() {
    let (_dir, db) = seeded_db();
    let mut meta = Server::new();
    let refused = meta
        .mock("POST", PATH)
        .with_status(400)
        .with_body(common::fixture("graph_error_131047.json"))
        .expect(1)
        .create();
    let (mut client, _) = McpClient::start(&db, &meta.url());
    let result = client.call(
        "send_message",
        json!({"to": "16505551234", "body": "hello again"}),
    );
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_lowercase();
    assert!(
        text.contains("24-hour") && text.contains("template"),
        "{text}"
    );
    let bad_since = client.call("get_messages", json!({"since": INBOUND_WAMID}));
    assert_eq!(bad_since["isError"], true);
    let missing = client.call("send_message", json!({"body": "no recipient"}));
    assert_eq!(missing["isError"], true);
    let stderr = client.finish();
    refused.assert();
    assert!(!stderr.contains(TOKEN));

    let code: String = rusqlite::Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT error_code FROM messages WHERE direction = 'outbound'",
            [],
            |r| r.get(0),
        )
        .expect("failed row");
    assert_eq!(code, "131047");
}

#[test]
fn the_token_never_reaches_the_logs_of_the_send_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut meta = Server::new();
    let echo = format!(
        r#"{{"error":{{"message":"Invalid OAuth access token - {TOKEN}","type":"OAuthException","code":190,"fbtrace_id":"A1"}}}}"#
    );
    let _mock = meta
        .mock("POST", PATH)
        .with_status(401)
        .with_body(echo)
        .create();
    let out = wa_mcp_command(&dir.path().join("wa.db"), &meta.url())
        .env("RUST_LOG", "trace")
        .args(["send", "--to", "447700900123", "--body", "hi"])
        .output()
        .expect("send runs");
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("190"), "{all}");
    assert!(!all.contains(TOKEN), "token leaked: {all}");
    let stored: String = rusqlite::Connection::open(dir.path().join("wa.db"))
        .expect("db")
        .query_row(
            "SELECT coalesce(error_title, '') || coalesce(raw, '') FROM messages",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert!(!stored.contains(TOKEN), "token stored: {stored}");
}

#[test]
fn the_stateless_2026_generation_discovers_and_calls_without_initialize() {
    let (_dir, db) = seeded_db();
    let mut client = McpClient::spawn(
        wa_mcp_command(&db, "http://127.0.0.1:9"),
        &["mcp", "--no-http"],
    );
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "wa-mcp-tests", "version": "2.0"}
    });
    let discovered = client.request("server/discover", json!({"_meta": meta}));
    let versions = discovered["result"]["supportedVersions"]
        .as_array()
        .expect("versions")
        .clone();
    assert!(versions.contains(&json!("2026-07-28")) && versions.contains(&json!("2025-11-25")));
    let listed = client.request("tools/list", json!({"_meta": meta}));
    let tools = listed["result"]["tools"].as_array().expect("tools").clone();
    for name in [
        "send_message",
        "get_messages",
        "mark_read",
        "list_conversations",
        "send_template",
        "send_reaction",
        "get_media",
        "wait_for_messages",
    ] {
        tool(&tools, name);
    }
    let page = client.request(
        "tools/call",
        json!({"name": "get_messages", "arguments": {}, "_meta": meta}),
    );
    assert_eq!(
        page["result"]["structuredContent"]["messages"][0]["type"],
        "text"
    );
    client.finish();
}

#[test]
fn mcp_runs_the_webhook_listener_and_a_delivery_shows_up_in_get_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let (mut client, port) = listener::mcp_with_listener(&db);
    client.initialize();
    listener::post_signed(port, &common::fixture("inbound_text.json"));
    let page = client.call("get_messages", json!({}));
    assert_eq!(
        page["structuredContent"]["messages"][0]["body"],
        "Does it come in another color?"
    );
    client.finish();
}

#[test]
fn mcp_goes_stdio_only_when_the_webhook_port_is_taken() {
    let (_dir, db) = seeded_db();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut cmd = wa_mcp_command(&db, "http://127.0.0.1:9");
    cmd.env("APP_HTTP_PORT", port.to_string());
    let mut client = McpClient::spawn(cmd, &["mcp"]);
    client.initialize();
    let page = client.call("get_messages", json!({}));
    assert_eq!(
        page["isError"], false,
        "the tools work without the listener"
    );
    let stderr = client.finish();
    assert!(stderr.contains("port is taken"), "{stderr}");
}
