//! Checks on what the binary answers over MCP and what it stored: a tool result's
//! error text or structured content, a listed tool, and the outbound rows.

use std::path::Path;

use serde_json::{Value, json};

use super::mcp_client::McpClient;

/// The text of a tool error; fails the test unless `result` is one (`isError: true`).
pub fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

/// The structured content of a tool success; fails the test if `result` is an error.
pub fn structured(result: &Value) -> &Value {
    assert_eq!(result["isError"], false, "{result}");
    &result["structuredContent"]
}

/// The entry for tool `name` in the server's `tools/list`; fails the test if it is not
/// listed.
pub fn listed_tool(client: &mut McpClient, name: &str) -> Value {
    let listed = client.request("tools/list", json!({}));
    listed["result"]["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == name).cloned())
        .unwrap_or_else(|| panic!("{name} not listed: {listed}"))
}

/// How many outbound messages the database at `db` holds.
pub fn outbound_rows(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .expect("db")
        .query_row(
            "SELECT count(*) FROM messages WHERE direction = 'outbound'",
            [],
            |r| r.get(0),
        )
        .expect("count")
}
