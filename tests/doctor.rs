//! `wa-mcp doctor` as a user runs it: the real binary with an explicit environment (the
//! machine's own is cleared), a temp database, mockito standing in for Meta and a real
//! `wa-mcp serve` child behind the webhook URL.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mockito::{Matcher, Server};

const BIN: &str = env!("CARGO_BIN_EXE_wa-mcp");
const TOKEN: &str = "EAAG-doctor-token-value";
const APP_SECRET: &str = "doctor-app-secret-value";
const VERIFY_TOKEN: &str = "doctor-verify-token-value";
const PHONE_NUMBER_ID: &str = "106540352242922";
const WABA_ID: &str = "102290129340398";
const APP_ID: &str = "670843887433847";

/// A temp home with a database path inside it, and a free port of its own.
struct Setup {
    dir: tempfile::TempDir,
    port: u16,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            port: common::free_port(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("data").join("wa.db")
    }

    /// The binary with every required variable set; tests remove or change some.
    fn wa_mcp(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("WA_DB_PATH", self.db())
            .env("WA_ACCESS_TOKEN", TOKEN)
            .env("WA_APP_SECRET", APP_SECRET)
            .env("WA_WEBHOOK_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("WA_DEFAULT_PHONE_NUMBER_ID", PHONE_NUMBER_ID)
            .env("WA_BUSINESS_ACCOUNT_ID", WABA_ID)
            .env("APP_HTTP_PORT", self.port.to_string());
        cmd
    }

    /// A new setup whose database `wa-mcp migrate` has created; fails the test if
    /// migrating fails.
    fn migrated() -> Setup {
        let setup = Setup::new();
        let out = setup
            .wa_mcp()
            .arg("migrate")
            .output()
            .expect("migrate runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        setup
    }

    /// `wa-mcp doctor --online` with the Graph API at `graph`: its output and stdout.
    fn doctor_online(&self, graph: &str) -> (Output, String) {
        report(
            self.wa_mcp()
                .env("WA_GRAPH_BASE_URL", graph)
                .args(["doctor", "--online"]),
        )
    }

    /// `wa-mcp doctor --webhook` at this setup's port: its output and stdout.
    fn doctor_webhook(&self) -> (Output, String) {
        let url = format!("http://127.0.0.1:{}/webhook/meta", self.port);
        report(self.wa_mcp().args(["doctor", "--webhook", &url]))
    }
}

/// Runs a doctor command to the end: its output and its stdout as text.
fn report(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("doctor runs");
    let stdout = text(&out.stdout);
    (out, stdout)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The report's line for the check `name` (`OUTCOME  name: ...`).
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| {
            l.get(6..)
                .is_some_and(|rest| rest.starts_with(&format!("{name}:")))
        })
        .unwrap_or_else(|| panic!("no line for {name} in:\n{stdout}"))
}

fn assert_no_secret(out: &Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for secret in [TOKEN, APP_SECRET, VERIFY_TOKEN] {
        assert!(!all.contains(secret), "a secret value was printed:\n{all}");
    }
}

#[test]
fn a_missing_secret_fails_naming_it_and_no_set_secret_is_printed() {
    let setup = Setup::migrated();
    let (out, stdout) = report(setup.wa_mcp().env_remove("WA_APP_SECRET").arg("doctor"));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let missing = line(&stdout, "WA_APP_SECRET");
    assert!(missing.starts_with("FAIL"), "{missing}");
    assert!(missing.contains("App settings > Basic"), "{missing}");
    assert!(line(&stdout, "WA_ACCESS_TOKEN").starts_with("PASS  WA_ACCESS_TOKEN: set"));
    assert!(line(&stdout, "WA_WEBHOOK_VERIFY_TOKEN").ends_with(": set"));
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert_no_secret(&out);
}

#[test]
fn a_complete_configuration_and_a_migrated_database_pass_offline() {
    let setup = Setup::migrated();
    let (out, stdout) = report(setup.wa_mcp().arg("doctor"));
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        line(&stdout, "journal mode").starts_with("PASS"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "schema version").contains("(current)"),
        "{stdout}"
    );
    assert!(line(&stdout, "database mode").contains("0600"), "{stdout}");
    let port = format!("127.0.0.1:{}", setup.port);
    assert!(line(&stdout, &port).contains("free"), "{stdout}");
    assert!(line(&stdout, "Meta").starts_with("SKIP"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    assert_no_secret(&out);
}

/// A Meta double answering `/app`, the phone number and the subscribed apps.
fn meta(server: &mut Server, subscribed_app_id: &str) -> Vec<mockito::Mock> {
    let auth = format!("Bearer {TOKEN}");
    vec![
        server
            .mock("GET", "/v26.0/app")
            .match_query(Matcher::Any)
            .match_header("authorization", auth.as_str())
            .with_body(format!(r#"{{"id":"{APP_ID}","name":"Jaspers Market"}}"#))
            .expect(1)
            .create(),
        server
            .mock("GET", format!("/v26.0/{PHONE_NUMBER_ID}").as_str())
            .match_query(Matcher::UrlEncoded(
                "fields".into(),
                "display_phone_number,verified_name,quality_rating".into(),
            ))
            .match_header("authorization", auth.as_str())
            .with_body(format!(
                r#"{{"id":"{PHONE_NUMBER_ID}","display_phone_number":"+1 555-010-0000","verified_name":"Jaspers Market","quality_rating":"GREEN"}}"#
            ))
            .expect(1)
            .create(),
        server
            .mock("GET", format!("/v26.0/{WABA_ID}/subscribed_apps").as_str())
            .match_header("authorization", auth.as_str())
            .with_body(format!(
                r#"{{"data":[{{"whatsapp_business_api_data":{{"id":"{subscribed_app_id}","link":"https://www.facebook.com/games/?app_id={subscribed_app_id}","name":"Some App"}}}}]}}"#
            ))
            .expect(1)
            .create(),
    ]
}

#[test]
fn online_checks_pass_when_the_number_answers_and_the_app_is_subscribed() {
    let setup = Setup::migrated();
    let mut server = Server::new();
    let mocks = meta(&mut server, APP_ID);
    let (out, stdout) = setup.doctor_online(&server.url());
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    mocks.iter().for_each(|m| m.assert());
    assert!(line(&stdout, "access token").contains(APP_ID), "{stdout}");
    let number = line(&stdout, "phone number");
    assert!(number.starts_with("PASS"), "{number}");
    for shown in ["+1 555-010-0000", "Jaspers Market", "GREEN"] {
        assert!(number.contains(shown), "{number}");
    }
    assert!(
        line(&stdout, "webhook subscription").starts_with("PASS"),
        "{stdout}"
    );
    assert_no_secret(&out);
}

#[test]
fn online_an_expired_token_fails_with_its_remedy_and_stops_asking() {
    let setup = Setup::migrated();
    let mut server = Server::new();
    let app = server
        .mock("GET", "/v26.0/app")
        .match_query(Matcher::Any)
        .with_status(401)
        .with_body(include_str!("fixtures/graph_error_190.json"))
        .expect(1)
        .create();
    let others = server
        .mock(
            "GET",
            Matcher::Regex(format!("^/v26.0/({PHONE_NUMBER_ID}|{WABA_ID})")),
        )
        .expect(0)
        .create();
    let (out, stdout) = setup.doctor_online(&server.url());
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    app.assert();
    others.assert();
    let token = line(&stdout, "access token");
    assert!(token.starts_with("FAIL"), "{token}");
    assert!(
        token.contains("190") && token.contains("expired"),
        "{token}"
    );
    assert!(token.contains("System User"), "{token}");
    assert!(
        line(&stdout, "phone number").starts_with("SKIP"),
        "{stdout}"
    );
    assert_no_secret(&out);
}

#[test]
fn online_an_unsubscribed_app_fails_and_prints_the_call_that_fixes_it() {
    let setup = Setup::migrated();
    let mut server = Server::new();
    let mocks = meta(&mut server, "999999999999999");
    let (out, stdout) = setup.doctor_online(&server.url());
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    mocks.iter().for_each(|m| m.assert());
    let subscription = line(&stdout, "webhook subscription");
    assert!(subscription.starts_with("FAIL"), "{subscription}");
    let fix = format!(
        "curl -X POST '{}/v26.0/{WABA_ID}/subscribed_apps' -H \"Authorization: Bearer $WA_ACCESS_TOKEN\"",
        server.url()
    );
    assert!(
        subscription.ends_with(&fix),
        "{subscription}\nexpected: {fix}"
    );
    assert_no_secret(&out);
}

#[test]
fn online_a_meta_outage_is_not_reported_as_a_wrong_id() {
    let setup = Setup::migrated();
    let mut server = Server::new();
    let app = server
        .mock("GET", "/v26.0/app")
        .match_query(Matcher::Any)
        .with_body(format!(r#"{{"id":"{APP_ID}","name":"Jaspers Market"}}"#))
        .create();
    // Meta's own envelope on a 503, then a bare 502 from something in between.
    let number = server
        .mock("GET", format!("/v26.0/{PHONE_NUMBER_ID}").as_str())
        .match_query(Matcher::Any)
        .with_status(503)
        .with_body(r#"{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"fbtrace_id":"A1"}}"#)
        .expect(2)
        .create();
    let apps = server
        .mock("GET", format!("/v26.0/{WABA_ID}/subscribed_apps").as_str())
        .with_status(502)
        .with_body("<html>Bad Gateway</html>")
        .expect(2)
        .create();
    let (out, stdout) = setup.doctor_online(&server.url());
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    app.assert();
    number.assert();
    apps.assert();
    for name in ["phone number", "webhook subscription"] {
        let check = line(&stdout, name);
        assert!(check.starts_with("FAIL"), "{check}");
        assert!(check.contains("try again"), "{check}");
        for wrong in ["does not know", "check WA_BUSINESS_ACCOUNT_ID"] {
            assert!(
                !check.contains(wrong),
                "an outage blamed on the id: {check}"
            );
        }
    }
    assert_no_secret(&out);
}

/// `wa-mcp serve` on the setup's port with `app_secret`, once `/health` answers.
fn serve(setup: &Setup, app_secret: &str) -> Child {
    let mut child = setup
        .wa_mcp()
        .env("WA_APP_SECRET", app_secret)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://127.0.0.1:{}/health", setup.port);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("serve exited early: {status}");
        }
        if ureq::get(&url).call().is_ok_and(|r| r.status() == 200) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(child);
    panic!("serve never became healthy");
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("db");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[test]
fn webhook_probes_pass_against_a_running_server_whose_port_is_reported_as_wa_mcp() {
    let setup = Setup::new();
    let server = serve(&setup, APP_SECRET);
    let (out, stdout) = setup.doctor_webhook();
    stop(server);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let port = line(&stdout, &format!("127.0.0.1:{}", setup.port));
    assert!(
        port.starts_with("PASS") && port.contains("running wa-mcp"),
        "{port}"
    );
    for probe in ["handshake", "signed delivery", "forged delivery"] {
        assert!(line(&stdout, probe).starts_with("PASS"), "{stdout}");
    }
    assert!(
        line(&stdout, "callback URL").starts_with("WARN"),
        "http is not for Meta"
    );
    // The signed test delivery leaves one ignored entry in the delivery log, nothing else.
    let db = setup.db();
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_events"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM webhook_events WHERE outcome = 'ignored'"
        ),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM messages"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM contacts"), 0);
    assert_no_secret(&out);
}

#[test]
fn webhook_probe_names_the_app_secret_when_the_server_uses_another() {
    let setup = Setup::new();
    let server = serve(&setup, "the-servers-other-secret");
    let (out, stdout) = setup.doctor_webhook();
    stop(server);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "handshake").starts_with("PASS"), "{stdout}");
    let signed = line(&stdout, "signed delivery");
    assert!(
        signed.starts_with("FAIL") && signed.contains("WA_APP_SECRET"),
        "{signed}"
    );
    assert!(
        line(&stdout, "forged delivery").starts_with("PASS"),
        "{stdout}"
    );
    assert_eq!(
        count(&setup.db(), "SELECT count(*) FROM webhook_events"),
        0,
        "a refused delivery writes nothing"
    );
    assert!(!stdout.contains("the-servers-other-secret"));
    assert_no_secret(&out);
}

/// Guards finding 10 of the hardening review: doctor says which of the three modes of
/// `WA_ALLOWED_RECIPIENTS` is in force, and an empty value is not "no limit".
#[test]
fn doctor_names_the_allowed_recipients_mode() {
    let setup = Setup::migrated();
    let modes = [
        (None, "no limit"),
        (Some(""), "nobody is listed"),
        (Some("447700900123"), "1 entry"),
    ];
    for (value, expected) in modes {
        let mut cmd = setup.wa_mcp();
        if let Some(value) = value {
            cmd.env("WA_ALLOWED_RECIPIENTS", value);
        }
        let (_, stdout) = report(cmd.arg("doctor"));
        let found = line(&stdout, "WA_ALLOWED_RECIPIENTS");
        assert!(found.contains(expected), "{value:?}: {found}");
    }
}
