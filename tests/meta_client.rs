//! The Graph API client against real local servers (mockito, or a bare TCP listener that
//! never answers): the exact request bodies and headers, the error mapping, the retry
//! rules, and the token kept out of every error.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::json;
use wa_mcp::meta::{
    ApiErrorKind, MetaClient, MetaClientOptions, MetaError, Recipient, SendText, SentMessage,
};

const TOKEN: &str = "EAAGtestTOKENdo-not-leak-0123456789";
const PNID: &str = "106540352242922";
const MESSAGES: &str = "/v26.0/106540352242922/messages";

fn options(base_url: &str) -> MetaClientOptions {
    common::fast_meta_options(base_url, Some(TOKEN))
}

fn client(base_url: &str) -> MetaClient {
    MetaClient::new(options(base_url))
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn text(to: Recipient, body: &str) -> SendText {
    SendText {
        to,
        body: body.to_owned(),
        reply_to: None,
        preview_url: false,
    }
}

/// A plain text send through a client for `base_url`.
fn send_to(base_url: &str) -> Result<SentMessage, MetaError> {
    client(base_url).send_text(PNID, &text(phone(), "x"))
}

fn phone() -> Recipient {
    Recipient::Phone("447700900123".to_owned())
}

/// A messages mock that insists on the bearer token, JSON, and exactly `body`.
fn expect_send(server: &mut ServerGuard, body: serde_json::Value) -> Mock {
    server
        .mock("POST", MESSAGES)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(body))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(fixture("graph_send_success_text.json"))
        .expect(1)
        .create()
}

fn answer(server: &mut ServerGuard, status: usize, body: &str, hits: usize) -> Mock {
    server
        .mock("POST", MESSAGES)
        .with_status(status)
        .with_body(body)
        .expect(hits)
        .create()
}

fn api_error(error: MetaError) -> wa_mcp::meta::ApiError {
    match error {
        MetaError::Api(api) => *api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Sends `req` to a mock that only answers `expected` with the bearer token and JSON.
fn assert_sends_exactly(req: &SendText, expected: serde_json::Value) -> SentMessage {
    let mut server = Server::new();
    let mock = expect_send(&mut server, expected);
    let sent = client(&server.url()).send_text(PNID, req);
    mock.assert();
    sent.expect("sent")
}

#[test]
fn send_text_posts_the_exact_body_with_the_bearer_token() {
    let sent = assert_sends_exactly(
        &text(phone(), "Hello"),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "447700900123", "type": "text",
               "text": {"body": "Hello", "preview_url": false}}),
    );
    let wamid = "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA";
    assert_eq!(sent.wamid, wamid);
    assert_eq!(sent.contact_wa_id.as_deref(), Some("16505551234"));
    assert_eq!(sent.message_status, None);
}

#[test]
fn a_reply_carries_context_message_id() {
    let mut req = text(phone(), "Yes");
    req.reply_to = Some("wamid.ORIGINAL".to_owned());
    assert_sends_exactly(
        &req,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "447700900123", "type": "text",
               "text": {"body": "Yes", "preview_url": false},
               "context": {"message_id": "wamid.ORIGINAL"}}),
    );
}

#[test]
fn preview_url_true_is_sent() {
    let mut req = text(phone(), "See https://example.com");
    req.preview_url = true;
    assert_sends_exactly(
        &req,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "447700900123", "type": "text",
               "text": {"body": "See https://example.com", "preview_url": true}}),
    );
}

#[test]
fn a_bsuid_recipient_is_sent_as_recipient_not_to() {
    let to = Recipient::Bsuid("US.13491208655302741918".to_owned());
    assert_sends_exactly(
        &text(to, "Hi"),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "recipient": "US.13491208655302741918", "type": "text",
               "text": {"body": "Hi", "preview_url": false}}),
    );
}

#[test]
fn send_message_merges_the_message_into_the_envelope() {
    let mut server = Server::new();
    let reaction = json!({"message_id": "wamid.X", "emoji": "👍"});
    let mock = expect_send(
        &mut server,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "447700900123", "type": "reaction", "reaction": reaction}),
    );
    let message = json!({"type": "reaction", "reaction": reaction});
    let sent = client(&server.url()).send_message(PNID, &phone(), message);
    mock.assert();
    assert!(sent.is_ok(), "{sent:?}");
}

#[test]
fn mark_read_posts_the_read_status() {
    let mut server = Server::new();
    let mock = server
        .mock("POST", MESSAGES)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"messaging_product": "whatsapp",
            "status": "read", "message_id": "wamid.INBOUND"})))
        .with_body(fixture("graph_mark_as_read_success.json"))
        .expect(1)
        .create();
    client(&server.url())
        .mark_read(PNID, "wamid.INBOUND")
        .expect("marked read");
    mock.assert();
}

#[test]
fn phone_number_info_asks_for_the_three_fields() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", "/v26.0/106540352242922")
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_query(Matcher::UrlEncoded(
            "fields".into(),
            "display_phone_number,verified_name,quality_rating".into(),
        ))
        .with_body(
            r#"{"display_phone_number":"+1 555-010-0000","verified_name":"Acme",
            "quality_rating":"GREEN","id":"106540352242922"}"#,
        )
        .expect(1)
        .create();
    let info = client(&server.url()).phone_number_info(PNID).expect("info");
    mock.assert();
    assert_eq!(info.id, PNID);
    assert_eq!(info.verified_name.as_deref(), Some("Acme"));
    assert_eq!(info.quality_rating.as_deref(), Some("GREEN"));
}

#[test]
fn error_131047_is_out_of_session_window_and_not_retried() {
    let mut server = Server::new();
    let mock = answer(&mut server, 400, &fixture("graph_error_131047.json"), 1);
    let error = send_to(&server.url()).expect_err("the call should fail");
    mock.assert();
    assert_eq!(error.code(), Some(131047));
    assert!(!error.outcome_unknown());
    assert!(error.hint().contains("24-hour"), "{}", error.hint());
    assert!(error.hint().contains("template"), "{}", error.hint());
    assert!(error.to_string().contains("131047"), "{error}");
    let api = api_error(error);
    assert_eq!(api.kind, ApiErrorKind::OutOfSessionWindow);
    assert_eq!(api.http_status, 400);
    assert_eq!(api.message, "(#131047) Re-engagement message");
    assert!(
        api.details
            .as_deref()
            .is_some_and(|d| d.contains("24 hours"))
    );
    assert_eq!(
        api.fbtrace_id.as_deref(),
        Some("CONSTRUCTED-NOT-A-REAL-FBTRACE")
    );
}

#[test]
fn an_unknown_code_keeps_its_code_and_message() {
    let mut server = Server::new();
    let body = r#"{"error":{"message":"(#131999) Something new","type":"OAuthException",
        "code":131999,"error_subcode":42,"fbtrace_id":"T1"}}"#;
    let _mock = answer(&mut server, 400, body, 1);
    let error = send_to(&server.url()).expect_err("the call should fail");
    assert_eq!(error.code(), Some(131999));
    assert_eq!(error.title(), "Meta error 131999");
    let shown = error.to_string();
    assert!(
        shown.contains("131999") && shown.contains("Something new"),
        "{shown}"
    );
    let api = api_error(error);
    assert_eq!(api.kind, ApiErrorKind::Other);
    assert_eq!(api.subcode, Some(42));
}

#[test]
fn error_190_is_token_invalid() {
    let mut server = Server::new();
    let _mock = answer(&mut server, 401, &fixture("graph_error_190.json"), 1);
    let error = client(&server.url())
        .mark_read(PNID, "wamid.X")
        .expect_err("the call should fail");
    assert_eq!(api_error(error).kind, ApiErrorKind::TokenInvalid);
}

#[test]
fn a_non_json_error_body_is_an_http_error() {
    let mut server = Server::new();
    let _mock = answer(&mut server, 404, "<html>Not Found</html>", 1);
    let error = send_to(&server.url()).expect_err("the call should fail");
    assert!(
        matches!(&error, MetaError::Http { status: 404, detail } if detail.contains("Not Found")),
        "{error:?}"
    );
}

#[test]
fn a_server_error_then_success_makes_exactly_two_requests() {
    let mut server = Server::new();
    let failing = answer(&mut server, 500, r#"{"error":{"code":1,"message":"x"}}"#, 1);
    let ok = answer(
        &mut server,
        200,
        &fixture("graph_send_success_text.json"),
        1,
    );
    let sent = send_to(&server.url());
    assert!(sent.is_ok(), "{sent:?}");
    failing.assert();
    ok.assert();
}

#[test]
fn retry_after_is_waited_for() {
    let mut server = Server::new();
    let limited = server
        .mock("POST", MESSAGES)
        .with_status(429)
        .with_header("retry-after", "1")
        .with_body(fixture("graph_error_130429.json"))
        .expect(1)
        .create();
    let ok = answer(
        &mut server,
        200,
        &fixture("graph_send_success_text.json"),
        1,
    );
    let started = Instant::now();
    let sent = send_to(&server.url());
    assert!(sent.is_ok(), "{sent:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    limited.assert();
    ok.assert();
}

#[test]
fn retry_after_above_the_cap_returns_the_rate_limit_at_once() {
    let mut server = Server::new();
    let limited = server
        .mock("POST", MESSAGES)
        .with_status(429)
        .with_header("retry-after", "120")
        .with_body(fixture("graph_error_130429.json"))
        .expect(1)
        .create();
    let started = Instant::now();
    let error = send_to(&server.url()).expect_err("the call should fail");
    assert!(started.elapsed() < Duration::from_secs(5));
    limited.assert();
    assert_eq!(error.title(), "Rate limited by Meta");
    assert_eq!(api_error(error).kind, ApiErrorKind::RateLimited);
}

#[test]
fn four_503s_give_up_after_exactly_four_requests() {
    let mut server = Server::new();
    let mock = answer(&mut server, 503, "Service Unavailable", 4);
    let error = send_to(&server.url()).expect_err("the call should fail");
    mock.assert();
    assert!(
        matches!(error, MetaError::Http { status: 503, .. }),
        "{error:?}"
    );
    assert!(!error.outcome_unknown());
}

#[test]
fn a_send_without_an_answer_is_not_retried_and_its_outcome_is_unknown() {
    let (url, requests) = common::hung_server();
    let started = Instant::now();
    let error = send_to(&url).expect_err("the call should fail");
    assert!(matches!(error, MetaError::NoAnswer { .. }), "{error:?}");
    assert!(error.outcome_unknown());
    assert!(
        error
            .to_string()
            .contains("may or may not have been delivered"),
        "{error}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn mark_read_without_an_answer_is_retried() {
    let (url, requests) = common::hung_server();
    let mut opts = options(&url);
    opts.timeout = Duration::from_millis(500);
    let error = MetaClient::new(opts)
        .mark_read(PNID, "wamid.X")
        .expect_err("the call should fail");
    assert!(
        matches!(error, MetaError::Unreachable { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 4);
}

#[test]
fn connection_refused_is_retried_then_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let error = send_to(&url).expect_err("the call should fail");
    assert!(
        matches!(error, MetaError::Unreachable { attempts: 4, .. }),
        "{error:?}"
    );
    assert!(!error.outcome_unknown());
}

#[test]
fn without_a_token_nothing_is_sent() {
    let mut server = Server::new();
    let mock = server.mock("POST", Matcher::Any).expect(0).create();
    let mut opts = options(&server.url());
    opts.token = None;
    let meta = MetaClient::new(opts);
    let error = meta
        .send_text(PNID, &text(phone(), "x"))
        .expect_err("the call should fail");
    assert!(matches!(error, MetaError::NoToken));
    assert!(error.to_string().contains("WA_ACCESS_TOKEN"));
    assert!(matches!(
        meta.mark_read(PNID, "wamid.X"),
        Err(MetaError::NoToken)
    ));
    assert!(matches!(
        meta.phone_number_info(PNID),
        Err(MetaError::NoToken)
    ));
    mock.assert();
}

#[test]
fn a_success_without_a_message_id_is_an_unknown_outcome() {
    let mut server = Server::new();
    let _mock = answer(&mut server, 200, r#"{"messaging_product":"whatsapp"}"#, 1);
    let error = send_to(&server.url()).expect_err("the call should fail");
    assert!(error.outcome_unknown(), "{error:?}");
}

#[test]
fn a_phone_number_id_cannot_change_the_path() {
    let error = client("http://127.0.0.1:9")
        .send_text("1/../../me", &text(phone(), "x"))
        .expect_err("the call should fail");
    assert!(
        matches!(error, MetaError::InvalidRequest { .. }),
        "{error:?}"
    );
}

fn assert_no_token(error: &MetaError) {
    for shown in [
        error.to_string(),
        format!("{error:?}"),
        error.hint(),
        error.title(),
    ] {
        assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    }
}

#[test]
fn the_token_never_appears_in_errors_even_when_meta_echoes_it() {
    let mut server = Server::new();
    let echo = format!(
        r#"{{"error":{{"message":"Invalid OAuth access token - Cannot parse access token: {TOKEN}",
        "type":"OAuthException","code":190,"error_data":{{"details":"token {TOKEN}"}},
        "fbtrace_id":"{TOKEN}"}}}}"#
    );
    let _m = answer(&mut server, 401, &echo, 1);
    let error = send_to(&server.url()).expect_err("the call should fail");
    assert!(error.to_string().contains("<redacted>"), "{error}");
    assert_no_token(&error);

    let mut server = Server::new();
    let _m = answer(&mut server, 400, &format!("bad token {TOKEN} here"), 1);
    let error = send_to(&server.url()).expect_err("the call should fail");
    assert!(matches!(&error, MetaError::Http { detail, .. } if detail.contains("<redacted>")));
    assert_no_token(&error);

    let mut server = Server::new();
    let _m = answer(&mut server, 502, &format!("upstream said {TOKEN}"), 4);
    let error = client(&server.url())
        .mark_read(PNID, "wamid.X")
        .expect_err("the call should fail");
    assert_no_token(&error);

    let (url, _) = common::hung_server();
    let error = send_to(&url).expect_err("the call should fail");
    assert_no_token(&error);

    let meta = client("http://127.0.0.1:9");
    assert!(!format!("{meta:?}").contains(TOKEN));
    assert!(!format!("{:?}", options("http://127.0.0.1:9")).contains(TOKEN));
}
