//! The authorization server's time rules without HTTP, on a pinned clock: a code is
//! refused after 60 s and issues nothing, an access token after an hour, and the
//! throttle of wrong passphrases locks consent for a while, never for good.

use wa_mcp::config::PublicUrl;
use wa_mcp::messaging::Clock;
use wa_mcp::messaging::oauth::secrets::{base64url, new_secret};
use wa_mcp::messaging::oauth::{self, Authority, AuthorizeParams, ClientRegistration, Decision};
use wa_mcp::store::Store;

const REDIRECT: &str = "https://claude.ai/api/mcp/auth_callback";
const PASSPHRASE: &str = "a passphrase of the owner";
const START: i64 = 1_800_000_000_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    authority: Authority,
    clock: Clock,
    client: String,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    oauth::set_passphrase(&store, PASSPHRASE.into())
        .await
        .expect("set");
    let clock = Clock::pinned(START);
    let public = PublicUrl::parse("https://wa.example.com").expect("url");
    let authority = Authority::new(store, public).with_clock(clock.clone());
    let client = authority
        .register(ClientRegistration {
            redirect_uris: vec![REDIRECT.into()],
            client_name: Some("Claude".into()),
            ..ClientRegistration::default()
        })
        .await
        .expect("registered")
        .client_id;
    Fixture {
        _dir: dir,
        authority,
        clock,
        client,
    }
}

/// Consent approved: the code and its verifier.
async fn code(f: &Fixture) -> (String, String) {
    use sha2::Digest;
    let verifier = new_secret().expect("random");
    let page = f
        .authority
        .begin_consent(AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(f.client.clone()),
            redirect_uri: Some(REDIRECT.into()),
            code_challenge: Some(base64url(&sha2::Sha256::digest(verifier.as_bytes()))),
            code_challenge_method: Some("S256".into()),
            state: None,
            resource: Some("https://wa.example.com/mcp".into()),
        })
        .await
        .expect("consent page");
    let location = f
        .authority
        .decide(
            &page.csrf,
            page.cookie.as_deref(),
            Decision::Approve {
                passphrase: PASSPHRASE.into(),
            },
        )
        .await
        .expect("approved");
    assert!(
        location.contains("iss=https%3A%2F%2Fwa.example.com"),
        "{location}"
    );
    let code = location
        .split("code=")
        .nth(1)
        .expect("code")
        .split('&')
        .next()
        .expect("code");
    (code.to_owned(), verifier)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_is_refused_after_sixty_seconds() {
    let f = fixture().await;
    let (code, verifier) = code(&f).await;
    f.clock.set(START + 61_000_000);
    let late = f
        .authority
        .exchange_code(&code, &f.client, REDIRECT, &verifier)
        .await;
    assert_eq!(
        late.map_err(|e| e.code()).expect_err("too late"),
        "invalid_grant"
    );

    let (code, verifier) = code_at(&f, START + 100_000_000).await;
    f.clock.set(START + 159_000_000);
    assert!(
        f.authority
            .exchange_code(&code, &f.client, REDIRECT, &verifier)
            .await
            .is_ok()
    );
}

async fn code_at(f: &Fixture, at: i64) -> (String, String) {
    f.clock.set(at);
    code(f).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_token_expires_after_an_hour_and_the_refresh_token_still_works() {
    let f = fixture().await;
    let (code, verifier) = code(&f).await;
    let pair = f
        .authority
        .exchange_code(&code, &f.client, REDIRECT, &verifier)
        .await
        .expect("pair");
    let grant = f
        .authority
        .authenticate(&pair.access_token)
        .await
        .expect("read")
        .expect("valid");
    assert_eq!(grant.client_id, f.client);
    let lapsed = || f.authority.lapsed(vec![grant.token_hash.clone()]);
    assert!(lapsed().await.expect("read").is_empty(), "still valid");
    f.clock.set(START + 3_601_000_000);
    assert!(
        f.authority
            .authenticate(&pair.access_token)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(
        lapsed().await.expect("read"),
        vec![grant.token_hash.clone()],
        "the sessions and streams it opened must end"
    );
    let next = f
        .authority
        .refresh(&pair.refresh_token, &f.client)
        .await
        .expect("rotated");
    assert!(
        f.authority
            .authenticate(&next.access_token)
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        f.authority
            .authenticate(&pair.refresh_token)
            .await
            .expect("read")
            .is_none(),
        "a refresh token is no access token"
    );
}

/// Opens a consent form and answers it with `passphrase`: the redirect when approved,
/// else the error the form shows again.
async fn attempt(f: &Fixture, passphrase: &str) -> Result<String, String> {
    let page = f
        .authority
        .begin_consent(AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(f.client.clone()),
            redirect_uri: Some(REDIRECT.into()),
            code_challenge: Some(base64url(&[7u8; 32])),
            code_challenge_method: Some("S256".into()),
            state: None,
            resource: None,
        })
        .await
        .expect("consent page");
    let decision = Decision::Approve {
        passphrase: passphrase.into(),
    };
    match f
        .authority
        .decide(&page.csrf, page.cookie.as_deref(), decision)
        .await
    {
        Ok(location) => Ok(location),
        Err(oauth::Refusal::Again(page)) => Err(page.error.unwrap_or_default()),
        Err(other) => panic!("unexpected refusal {other:?}"),
    }
}

/// The delay a wrong passphrase earned, in seconds, from the form's message.
fn delay_of(message: &str) -> i64 {
    message
        .strip_prefix("Wrong passphrase. The next attempt is checked after ")
        .and_then(|rest| rest.strip_suffix(" s."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a counted wrong passphrase: {message}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lockout_ends_by_itself_and_the_count_starts_again_after_it() {
    let f = fixture().await;
    let mut now = START;
    let mut delays = Vec::new();
    for _ in 0..oauth::passphrase::LOCKOUT_AFTER {
        let delay = delay_of(&attempt(&f, "a wrong guess at it").await.expect_err("wrong"));
        delays.push(delay);
        now += delay * 1_000_000;
        f.clock.set(now);
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60, 900]);

    // Locked: a minute before the end even the right passphrase is not checked.
    f.clock.set(now - 60_000_000);
    let locked = attempt(&f, PASSPHRASE).await.expect_err("locked");
    assert!(locked.starts_with("Too many wrong passphrases"), "{locked}");

    // Once it ran out, a wrong guess starts a new sequence rather than another lockout.
    f.clock.set(now);
    assert_eq!(
        delay_of(&attempt(&f, "another wrong guess").await.expect_err("wrong")),
        1
    );
    f.clock.set(now + 1_000_000);
    let approved = attempt(&f, PASSPHRASE).await.expect("the owner gets in");
    assert!(approved.starts_with(REDIRECT), "{approved}");

    // The right passphrase cleared the count; and an old count is forgotten too.
    f.clock.set(now + 2_000_000);
    assert_eq!(
        delay_of(&attempt(&f, "a typo by the owner").await.expect_err("wrong")),
        1
    );
    f.clock.set(now + 3_000_000);
    assert_eq!(
        delay_of(&attempt(&f, "a second typo").await.expect_err("wrong")),
        2
    );
    f.clock.set(now + 3_000_000 + 15 * 60_000_000);
    assert_eq!(
        delay_of(&attempt(&f, "much later").await.expect_err("wrong")),
        1
    );
}
