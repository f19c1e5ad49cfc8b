//! list_templates (Meta's paging, the parameter counts, the short cache) and the check
//! send_template makes with that list before calling Meta.

mod common;

use common::mcp_checks::{error_text, outbound_rows, structured};
use common::mcp_client::{McpClient, wa_mcp_command};
use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;

const WABA: &str = "102290129340398";
const TEMPLATES: &str = "/v26.0/102290129340398/message_templates";

fn start(db: &std::path::Path, meta: &ServerGuard) -> McpClient {
    let mut command = wa_mcp_command(db, &meta.url());
    command.env("WA_BUSINESS_ACCOUNT_ID", WABA);
    let mut client = McpClient::spawn(command, &["mcp", "--no-http"]);
    client.initialize();
    client
}

fn order_update() -> serde_json::Value {
    json!({"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
           "components": [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."},
                          {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track",
                              "url": "https://shop.example/t/{{1}}"}]}]})
}

/// Two pages: the first names a cursor and a `next`, the second has neither.
fn two_pages(meta: &mut ServerGuard, times: usize) -> (mockito::Mock, mockito::Mock) {
    let first = meta
        .mock("GET", TEMPLATES)
        .match_query(Matcher::Regex("^fields=[a-z,]+&limit=100$".into()))
        .with_status(200)
        .with_body(json!({"data": [{"name": "hello_world", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "components": [{"type": "BODY", "text": "Hello World"}]}],
            "paging": {"cursors": {"before": "B1", "after": "QVFI+1="}, "next": "https://graph.facebook.com/next"}})
            .to_string())
        .expect(times)
        .create();
    let second = meta
        .mock("GET", TEMPLATES)
        .match_query(Matcher::UrlEncoded("after".into(), "QVFI+1=".into()))
        .with_status(200)
        .with_body(
            json!({"data": [order_update(),
            {"name": "promo", "language": "en_US", "status": "PENDING", "category": "MARKETING",
             "components": [{"type": "BODY", "text": "Sale"}]}],
            "paging": {"cursors": {"before": "B2", "after": "A2"}}})
            .to_string(),
        )
        .expect(times)
        .create();
    (first, second)
}

#[test]
fn templates_follow_metas_paging_and_count_their_parameters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    let (first, second) = two_pages(&mut meta, 1);
    let mut client = start(&db, &meta);
    let listed = client.call("list_templates", json!({}));
    let templates = structured(&listed)["templates"]
        .as_array()
        .cloned()
        .expect("list");
    let names: Vec<&str> = templates
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["hello_world", "order_update"],
        "approved ones, from both pages"
    );
    assert_eq!(
        templates[1]["parameters"],
        json!({"header": 0, "body": 2, "buttons": 1})
    );
    assert!(
        templates[1]["text"]
            .as_str()
            .expect("text")
            .contains("your order {{2}}")
    );
    let all = client.call("list_templates", json!({"status": "ALL", "name": "promo"}));
    assert_eq!(structured(&all)["templates"][0]["status"], "PENDING");
    first.assert();
    second.assert();
    client.finish();
}

#[test]
fn send_template_refuses_unknown_templates_and_wrong_parameter_counts_before_meta() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    // Fetched once for the first check, and once more for the unknown name.
    let (first, second) = two_pages(&mut meta, 2);
    let send = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .match_body(Matcher::PartialJson(
            json!({"template": {"name": "order_update"}}),
        ))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.TPL"}]}"#)
        .expect(1)
        .create();
    let mut client = start(&db, &meta);
    let body = |n: usize| {
        let parameters: Vec<_> = (0..n)
            .map(|i| json!({"type": "text", "text": format!("p{i}")}))
            .collect();
        json!([{"type": "body", "parameters": parameters},
               {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "7"}]}])
    };
    let call = |name: &str, language: &str, n: usize| json!({"to": "447700900123", "name": name, "language": language, "components": body(n)});
    let text = error_text(&client.call("send_template", call("order_update", "en_US", 1)));
    assert!(
        text.contains("needs 0 header, 2 body and 1 button"),
        "{text}"
    );
    let text = error_text(&client.call("send_template", call("order_update", "pt_BR", 2)));
    assert!(text.contains("it exists in: en_US"), "{text}");
    let text = error_text(&client.call("send_template", call("promo", "en_US", 0)));
    assert!(text.contains("PENDING"), "{text}");
    let ok = client.call("send_template", call("order_update", "en_US", 2));
    assert_eq!(structured(&ok)["wamid"], "wamid.TPL");
    send.assert();
    first.assert();
    second.assert();
    assert_eq!(outbound_rows(&db), 1, "refusals write no row");
    client.finish();
}

#[test]
fn when_the_list_cannot_be_fetched_the_template_is_sent_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    let down = meta
        .mock("GET", TEMPLATES)
        .match_query(Matcher::Any)
        .with_status(400)
        .with_body(r#"{"error":{"message":"Unsupported get request","code":100}}"#)
        .expect_at_least(1)
        .create();
    let send = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.T2"}]}"#)
        .expect(1)
        .create();
    let mut client = start(&db, &meta);
    let ok = client.call(
        "send_template",
        json!({"to": "447700900123", "name": "hello_world", "language": "en_US"}),
    );
    assert_eq!(structured(&ok)["status"], "sent");
    down.assert();
    send.assert();
    client.finish();
}

#[test]
fn a_template_missing_from_the_list_is_sent_unchecked_when_the_refetch_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    // The first fetch works and lacks the template; the second, asked for it, fails.
    let (first, second) = two_pages(&mut meta, 1);
    let down = meta
        .mock("GET", TEMPLATES)
        .match_query(Matcher::Any)
        .with_status(400)
        .with_body(r#"{"error":{"message":"Unsupported get request","code":100}}"#)
        .expect(1)
        .create();
    let send = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .match_body(Matcher::PartialJson(
            json!({"template": {"name": "approved_a_minute_ago"}}),
        ))
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.T3"}]}"#)
        .expect(1)
        .create();
    let mut client = start(&db, &meta);
    let sent = client.call(
        "send_template",
        json!({"to": "447700900123", "name": "approved_a_minute_ago", "language": "en_US"}),
    );
    assert_eq!(structured(&sent)["status"], "sent");
    first.assert();
    second.assert();
    down.assert();
    send.assert();
    client.finish();
}

#[test]
fn a_template_is_stored_and_found_by_its_text_as_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let mut meta = Server::new();
    let (_first, _second) = two_pages(&mut meta, 1);
    let send = meta
        .mock("POST", "/v26.0/106540352242922/messages")
        .with_status(200)
        .with_body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.TPL"}]}"#)
        .expect(1)
        .create();
    let mut client = start(&db, &meta);
    let sent = client.call(
        "send_template",
        json!({"to": "447700900123", "name": "order_update", "language": "en_US",
               "components": [
                   {"type": "body", "parameters": [{"type": "text", "text": "Ada"},
                                                   {"type": "text", "text": "#4471"}]},
                   {"type": "button", "sub_type": "url", "index": "0",
                    "parameters": [{"type": "text", "text": "4471"}]}]}),
    );
    assert_eq!(structured(&sent)["status"], "sent", "{sent}");
    send.assert();
    let page = client.call("get_messages", json!({"direction": "outbound"}));
    assert_eq!(
        structured(&page)["messages"][0]["body"],
        "order_update (en_US): Hi Ada, your order #4471 has shipped.\n[url: Track]"
    );
    // Found by the template's own words, not only by its name and parameters.
    let found = client.call("search_messages", json!({"query": "order shipped"}));
    let messages = structured(&found)["messages"].clone();
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(messages[0]["wamid"], "wamid.TPL");
    client.finish();
}
