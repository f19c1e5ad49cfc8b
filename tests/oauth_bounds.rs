//! The bounds of the authorization server, on a pinned clock and without HTTP: at most
//! 50 registrations that are not revoked (revoking one frees its place), never-used
//! ones give way oldest first, and neither a flood of registrations nor one of consent
//! forms takes a young one: the newcomer is refused instead.

use wa_mcp::config::PublicUrl;
use wa_mcp::messaging::Clock;
use wa_mcp::messaging::oauth::clients::{FRESH_SECS, MAX_CLIENTS, revoke_client};
use wa_mcp::messaging::oauth::consent::{MAX_PENDING, PENDING_FRESH_SECS};
use wa_mcp::messaging::oauth::secrets::base64url;
use wa_mcp::messaging::oauth::{
    self, Authority, AuthorizeParams, ClientRegistration, ConsentPage, Decision, OAuthError,
    Refusal,
};
use wa_mcp::store::Store;

const REDIRECT: &str = "https://claude.ai/api/mcp/auth_callback";
const PASSPHRASE: &str = "a passphrase of the owner";
const START: i64 = 1_800_000_000_000_000;
const SECOND: i64 = 1_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    authority: Authority,
    clock: Clock,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    oauth::set_passphrase(&store, PASSPHRASE.into())
        .await
        .expect("set");
    let clock = Clock::pinned(START);
    let public = PublicUrl::parse("https://wa.example.com").expect("url");
    let authority = Authority::new(store.clone(), public).with_clock(clock.clone());
    Fixture {
        _dir: dir,
        store,
        authority,
        clock,
    }
}

async fn register(f: &Fixture, name: &str) -> Result<String, OAuthError> {
    let registration = ClientRegistration {
        redirect_uris: vec![REDIRECT.into()],
        client_name: Some(name.into()),
        ..ClientRegistration::default()
    };
    Ok(f.authority.register(registration).await?.client_id)
}

async fn consent_page(f: &Fixture, client: &str) -> Result<ConsentPage, Refusal> {
    f.authority
        .begin_consent(AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(client.into()),
            redirect_uri: Some(REDIRECT.into()),
            code_challenge: Some(base64url(&[7u8; 32])),
            code_challenge_method: Some("S256".into()),
            state: None,
            resource: None,
        })
        .await
}

/// The owner approves `page`: the code's redirect.
async fn approve(f: &Fixture, page: &ConsentPage) -> String {
    let decision = Decision::Approve {
        passphrase: PASSPHRASE.into(),
    };
    f.authority
        .decide(&page.csrf, page.cookie.as_deref(), decision)
        .await
        .expect("approved")
}

fn exists(f: &Fixture, client: &str) -> bool {
    oauth::clients::list_clients(&f.store)
        .expect("listed")
        .iter()
        .any(|c| c.client_id == client)
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_a_client_frees_its_registration_place() {
    let f = fixture().await;
    let mut approved = Vec::new();
    for i in 0..MAX_CLIENTS {
        let client = register(&f, &format!("device {i}")).await.expect("room");
        let page = consent_page(&f, &client).await.expect("form");
        approve(&f, &page).await;
        approved.push(client);
    }
    let full = register(&f, "one too many").await.expect_err("full");
    assert_eq!(full.code(), "invalid_client_metadata");
    assert!(full.to_string().contains("wa-mcp auth revoke"), "{full}");

    let revoked = tokio::task::block_in_place(|| revoke_client(&f.store, &approved[0]));
    assert!(revoked.expect("revoked"));
    let next = register(&f, "after a revoke")
        .await
        .expect("a place is free");
    assert!(exists(&f, &approved[0]), "a revoked client stays listed");
    let page = consent_page(&f, &next).await.expect("form");
    approve(&f, &page).await;
    assert_eq!(
        register(&f, "and no more").await.expect_err("full").code(),
        "invalid_client_metadata"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registration_flood_is_refused_and_evicts_only_old_never_used_ones() {
    let f = fixture().await;
    let owners = register(&f, "the owner's client").await.expect("room");
    f.clock.set(START + SECOND);
    let mut flood = Vec::new();
    for i in 1..MAX_CLIENTS {
        flood.push(register(&f, &format!("flood {i}")).await.expect("room"));
    }
    let refused = register(&f, "flood 50").await.expect_err("busy");
    assert_eq!(refused.code(), "temporarily_unavailable");
    assert!(exists(&f, &owners), "a fresh registration is never evicted");
    let page = consent_page(&f, &owners).await.expect("the owner's form");
    approve(&f, &page).await;

    // Once they are old enough, the oldest never-used registration gives way.
    f.clock.set(START + FRESH_SECS * SECOND + 2 * SECOND);
    let late = register(&f, "later").await.expect("an old one gave way");
    assert!(exists(&f, &late));
    assert!(exists(&f, &owners), "an approved client is never evicted");
    assert!(!exists(&f, &flood[0]), "the oldest never-used one went");
    assert!(flood[1..].iter().all(|c| exists(&f, c)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_consent_forms_never_takes_an_open_one() {
    let f = fixture().await;
    let owners = register(&f, "the owner's client").await.expect("room");
    let attackers = register(&f, "someone else").await.expect("room");
    let open = consent_page(&f, &owners).await.expect("the owner's form");
    for _ in 1..MAX_PENDING {
        consent_page(&f, &attackers).await.expect("room");
    }
    match consent_page(&f, &attackers).await {
        Err(Refusal::Busy(message)) => assert!(message.contains("Try again"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let location = approve(&f, &open).await;
    assert!(location.contains("code="), "{location}");

    // Full again, of forms old enough to give way: a newcomer takes the oldest's place.
    consent_page(&f, &attackers)
        .await
        .expect("the approved form left room");
    assert!(consent_page(&f, &attackers).await.is_err(), "full again");
    f.clock.set(START + PENDING_FRESH_SECS * SECOND);
    consent_page(&f, &attackers)
        .await
        .expect("an old form gave way");
}
