//! Remote MCP at its edges, through the real binary: `/mcp` on the listener of
//! `wa-mcp mcp` too, refusals that issue nothing (a consent post without its cookie or
//! with a wrong CSRF token, a code exchanged for another redirect URI), an oversized
//! `/mcp` body, a whole flow after which the server's log holds no secret, and a client
//! name full of bidi controls.

mod common;

use common::listener::NO_META;
use common::remote::*;
use serde_json::json;
use wa_mcp::messaging::oauth::secrets::new_secret;

fn stored_codes(server: &RemoteServer) -> i64 {
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    conn.query_row("SELECT count(*) FROM oauth_codes", [], |r| r.get(0))
        .expect("count")
}

#[test]
fn the_mcp_command_serves_remote_mcp_on_its_listener() {
    let server = RemoteServer::start_mcp(NO_META);
    let (_, tokens) = server.authorize();
    let access = tokens["access_token"].as_str().expect("access");
    let session = server.open_session(access);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "get_messages", "arguments": {}}});
    let page = server.mcp(access, &session_headers(&session), &call);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.rpc()["result"]["isError"], false, "{}", page.body);
}

#[test]
fn a_consent_post_without_its_cookie_or_with_a_wrong_csrf_token_issues_nothing() {
    let server = RemoteServer::start(NO_META);
    let client = server.register("Claude", REDIRECT);
    let page = server.consent_page(&client, REDIRECT, &new_secret().expect("random"));
    let csrf = form_value(&page.body, "csrf_token");
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("consent cookie")
        .to_owned();
    let post = |csrf: &str, cookie: Option<&str>| {
        let body = encode(&[
            ("csrf_token", csrf),
            ("passphrase", PASSPHRASE),
            ("decision", "approve"),
        ]);
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend(cookie.map(|c| ("cookie", c)));
        server.call("POST", "/oauth/authorize", &headers, Some(&body))
    };
    let other_cookie = format!("wa_mcp_consent={}", new_secret().expect("random"));
    for (csrf, cookie) in [
        (csrf.as_str(), None),
        (csrf.as_str(), Some(other_cookie.as_str())),
        ("not-the-csrf-token", Some(cookie.as_str())),
        ("", Some(cookie.as_str())),
    ] {
        let refused = post(csrf, cookie);
        assert_eq!(refused.status, 400, "{csrf} {cookie:?}: {}", refused.body);
        assert!(refused.header("location").is_none());
        assert!(
            refused.body.contains("not opened in this browser"),
            "{}",
            refused.body
        );
    }
    assert_eq!(stored_codes(&server), 0);
    // The form itself was not spent by the forgeries: its own browser still approves it.
    assert_eq!(post(&csrf, Some(&cookie)).status, 303);
    assert_eq!(stored_codes(&server), 1);
}

#[test]
fn a_code_exchanged_for_another_redirect_uri_issues_nothing() {
    let server = RemoteServer::start(NO_META);
    let client = server.register("Claude", REDIRECT);
    let verifier = new_secret().expect("random");
    let page = server.consent_page(&client, REDIRECT, &verifier);
    let approved = server.approve(&page, PASSPHRASE);
    let code = query_value(approved.header("location").expect("location"), "code");
    let exchange = |redirect: &str| server.exchange_code(&code, &client, redirect, &verifier);
    let off = exchange("https://claude.ai/api/mcp/auth_callbacK");
    assert_eq!(off.status, 400, "{}", off.body);
    assert_eq!(off.json()["error"], "invalid_grant");
    assert_eq!(issued_tokens(&server), 0);
    // The attempt spent the code: the right redirect URI gets nothing either.
    assert_eq!(exchange(REDIRECT).json()["error"], "invalid_grant");
    assert_eq!(issued_tokens(&server), 0);
}

#[test]
fn an_oversized_mcp_body_is_refused_with_413() {
    let server = RemoteServer::start(NO_META);
    let (_, tokens) = server.authorize();
    let access = tokens["access_token"].as_str().expect("access");
    let mut call = initialize();
    call["params"]["padding"] = json!("x".repeat(wa_mcp::mcp::MAX_REQUEST_BYTES));
    let answer = server.mcp(access, &[], &call);
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(server.mcp(access, &[], &initialize()).status, 200);
}

#[test]
fn no_token_code_or_passphrase_reaches_the_log_over_a_whole_flow() {
    let server = RemoteServer::start(NO_META);
    let client = server.register("Claude", REDIRECT);
    let verifier = new_secret().expect("random");
    let page = server.consent_page(&client, REDIRECT, &verifier);
    let csrf = form_value(&page.body, "csrf_token");
    let cookie = page.header("set-cookie").expect("cookie").to_owned();
    let wrong = server.approve(&page, "a wrong passphrase here");
    assert_eq!(wrong.status, 401);
    set_passphrase(&server.db, PASSPHRASE);
    let approved = server.approve(&page, PASSPHRASE);
    let code = query_value(approved.header("location").expect("location"), "code");
    let tokens = server
        .exchange_code(&code, &client, REDIRECT, &verifier)
        .json();
    let access = tokens["access_token"].as_str().expect("access");
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    server.open_session(access);
    let rotated = server
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", &client),
            ],
        )
        .json();
    let new_refresh = rotated["refresh_token"].as_str().expect("refresh");
    let new_access = rotated["access_token"].as_str().expect("access");
    server.post_form("/oauth/revoke", &[("token", new_refresh)]);
    assert_eq!(server.mcp(new_access, &[], &initialize()).status, 401);
    // A client id made up to forge a log line.
    let forged = server.exchange_code(
        "x",
        "evil\nINJECTED_LOG_LINE level=error",
        REDIRECT,
        &verifier,
    );
    assert_eq!(forged.status, 400);

    let log = server.log();
    assert!(
        log.contains("oauth_tokens_issued"),
        "the flow was logged: {log}"
    );
    let cookie_value = cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("cookie value");
    for (what, secret) in [
        ("code", code.as_str()),
        ("verifier", verifier.as_str()),
        ("access token", access),
        ("refresh token", refresh),
        ("rotated access token", new_access),
        ("rotated refresh token", new_refresh),
        ("CSRF token", csrf.as_str()),
        ("consent cookie", cookie_value.as_str()),
        ("passphrase", PASSPHRASE),
        ("wrong passphrase", "a wrong passphrase here"),
        ("forged client id", "INJECTED_LOG_LINE"),
    ] {
        assert!(!log.contains(secret), "the {what} is in the log:\n{log}");
    }
}

#[test]
fn bidi_controls_in_a_client_name_reach_neither_the_consent_page_nor_the_terminal() {
    let server = RemoteServer::start(NO_META);
    // Shown raw, U+202E would turn what follows around: "Claude ... moc.live".
    let client = server.register("Claude\u{202e}evil.com\u{2066}", REDIRECT);
    let page = server.consent_page(&client, REDIRECT, &"v".repeat(43));
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains('\u{202e}') && !page.body.contains('\u{2066}'),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<bdi>Claudeevil.com</bdi>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<bdi>claude.ai</bdi>"), "{}", page.body);

    // A name stored before names were cleaned is escaped on the owner's terminal.
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    conn.execute(
        "UPDATE oauth_clients SET client_name = ?1 WHERE client_id = ?2",
        ["Claude\u{202e}\u{1b}]0;x\u{7}evil", client.as_str()],
    )
    .expect("updated");
    let listed = run_auth(&server, &["clients"]);
    assert!(
        !listed.contains('\u{202e}') && !listed.contains('\u{1b}'),
        "{listed:?}"
    );
    assert!(
        listed.contains("Claude\\u{202e}\\x1b]0;x\\x07evil"),
        "{listed}"
    );
    let page = server.consent_page(&client, REDIRECT, &"v".repeat(43));
    assert!(
        page.body.contains("<bdi>Claude]0;xevil</bdi>"),
        "{}",
        page.body
    );

    // And a redirect URI can carry none: it must be ASCII.
    let body = json!({"client_name": "x", "redirect_uris": ["https://claude.ai\u{202e}/cb"]});
    let answer = server.post_registration(&body);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"], "invalid_redirect_uri");
}
