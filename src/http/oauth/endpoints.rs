//! The OAuth endpoints that take requests: registration, the consent page and its
//! post, the token endpoint and revocation. Errors are RFC 6749 JSON
//! (`{"error","error_description"}`), never with a secret in them.

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderValue, LOCATION, RETRY_AFTER};
use hyper::{Request, StatusCode};

use super::form::{Pairs, read_small_body};
use super::{no_store, page};
use crate::http::respond::{json, text};
use crate::http::{HttpResponse, Remote};
use crate::messaging::oauth::{
    AuthorizeParams, ClientRegistration, Decision, OAuthError, Refusal, TokenPair,
};

fn oauth_error(e: &OAuthError) -> HttpResponse {
    let status = match e {
        OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        OAuthError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        OAuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    if matches!(e, OAuthError::Internal(_)) {
        tracing::error!(error = %e, "oauth_failed");
    }
    let mut resp = no_store(json(
        status,
        &serde_json::json!({"error": e.code(), "error_description": e.to_string()}),
    ));
    if matches!(e, OAuthError::Unavailable) {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    resp
}

/// When a refused newcomer may try again (registrations and consent forms give way
/// within minutes).
const RETRY_AFTER_SECS: &str = "60";

fn bad_request(why: &str) -> HttpResponse {
    oauth_error(&OAuthError::InvalidRequest(why.to_owned()))
}

/// `POST /oauth/register` (RFC 7591).
pub async fn register(remote: &Remote, req: Request<Incoming>) -> HttpResponse {
    let Some(body) = read_small_body(req.into_body()).await else {
        return bad_request("the registration body is missing, too large or unreadable");
    };
    let registration: ClientRegistration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let e = OAuthError::InvalidClientMetadata(format!("not valid client metadata: {e}"));
            return oauth_error(&e);
        }
    };
    match remote.authority.register(registration).await {
        Ok(client) => no_store(json(
            StatusCode::CREATED,
            &serde_json::json!({
                "client_id": client.client_id,
                "client_id_issued_at": client.issued_at,
                "client_name": client.client_name,
                "redirect_uris": client.redirect_uris,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }),
        )),
        Err(e) => oauth_error(&e),
    }
}

/// `GET /oauth/authorize`: the consent page, or an error page, or the client's
/// redirect URI with an error once that URI is known to be the client's.
pub async fn authorize_page(remote: &Remote, req: &Request<Incoming>) -> HttpResponse {
    let q = Pairs::parse(req.uri().query().unwrap_or_default());
    let keys = [
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "state",
        "resource",
    ];
    if let Some(k) = keys.iter().find(|k| q.repeated(k)) {
        return page::error(
            StatusCode::BAD_REQUEST,
            &format!("The parameter {k} is repeated."),
        );
    }
    let params = AuthorizeParams {
        response_type: q.owned("response_type"),
        client_id: q.owned("client_id"),
        redirect_uri: q.owned("redirect_uri"),
        code_challenge: q.owned("code_challenge"),
        code_challenge_method: q.owned("code_challenge_method"),
        state: q.owned("state"),
        resource: q.owned("resource"),
    };
    let secure = remote
        .authority
        .public_url()
        .as_str()
        .starts_with("https://");
    match remote.authority.begin_consent(params).await {
        Ok(consent) => page::consent(&consent, secure),
        Err(refusal) => refused(refusal, secure),
    }
}

/// `POST /oauth/authorize`: the owner's approval or refusal.
pub async fn authorize_post(remote: &Remote, req: Request<Incoming>) -> HttpResponse {
    let cookie = consent_cookie(&req);
    let Some(body) = read_small_body(req.into_body()).await else {
        return page::error(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let form = Pairs::parse(&String::from_utf8_lossy(&body));
    let csrf = form.get("csrf_token").unwrap_or_default();
    let decision = match form.get("decision") {
        Some("deny") => Decision::Deny,
        _ => Decision::Approve {
            passphrase: form.get("passphrase").unwrap_or_default().to_owned(),
        },
    };
    let secure = remote
        .authority
        .public_url()
        .as_str()
        .starts_with("https://");
    match remote
        .authority
        .decide(csrf, cookie.as_deref(), decision)
        .await
    {
        Ok(location) => redirect(&location),
        Err(refusal) => refused(refusal, secure),
    }
}

fn refused(refusal: Refusal, secure: bool) -> HttpResponse {
    match refusal {
        Refusal::Page(message) => page::error(StatusCode::BAD_REQUEST, &message),
        Refusal::Redirect(location) => redirect(&location),
        Refusal::Again(consent) => page::consent(&consent, secure),
        Refusal::Busy(message) => {
            let mut resp = page::error(StatusCode::SERVICE_UNAVAILABLE, &message);
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
            resp
        }
        Refusal::Failed(e) => {
            tracing::error!(error = %e, "oauth_authorize_failed");
            page::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server could not complete this; try again shortly.",
            )
        }
    }
}

fn redirect(location: &str) -> HttpResponse {
    let mut resp = text(StatusCode::SEE_OTHER, "");
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
            resp.headers_mut().remove(CONTENT_TYPE);
            no_store(resp)
        }
        Err(_) => page::error(StatusCode::BAD_REQUEST, "The redirect URI cannot be used."),
    }
}

fn consent_cookie(req: &Request<Incoming>) -> Option<String> {
    let prefix = format!("{}=", page::CONSENT_COOKIE);
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
}

/// `POST /oauth/token`.
pub async fn token(remote: &Remote, req: Request<Incoming>) -> HttpResponse {
    let Some(body) = read_small_body(req.into_body()).await else {
        return bad_request("the token request body is missing, too large or unreadable");
    };
    let form = Pairs::parse(&String::from_utf8_lossy(&body));
    let need = |k: &str| {
        form.get(k)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("{k} is required")))
    };
    if let Some(given) = form.get("resource")
        && given.trim_end_matches('/') != remote.authority.resource()
    {
        let e = serde_json::json!({"error": "invalid_target", "error_description": "resource must be this server's /mcp URL"});
        return no_store(json(StatusCode::BAD_REQUEST, &e));
    }
    let issued = match form.get("grant_type") {
        Some("authorization_code") => match (
            need("code"),
            need("client_id"),
            need("redirect_uri"),
            need("code_verifier"),
        ) {
            (Ok(code), Ok(client), Ok(redirect), Ok(verifier)) => {
                remote
                    .authority
                    .exchange_code(code, client, redirect, verifier)
                    .await
            }
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => Err(e),
        },
        Some("refresh_token") => match (need("refresh_token"), need("client_id")) {
            (Ok(token), Ok(client)) => remote.authority.refresh(token, client).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        _ => Err(OAuthError::UnsupportedGrantType),
    };
    match issued {
        Ok(pair) => tokens(&pair),
        Err(e) => oauth_error(&e),
    }
}

fn tokens(pair: &TokenPair) -> HttpResponse {
    let mut resp = no_store(json(
        StatusCode::OK,
        &serde_json::json!({
            "access_token": pair.access_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
        }),
    ));
    resp.headers_mut()
        .insert("pragma", HeaderValue::from_static("no-cache"));
    resp
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(remote: &Remote, req: Request<Incoming>) -> HttpResponse {
    let Some(body) = read_small_body(req.into_body()).await else {
        return bad_request("the revocation body is missing, too large or unreadable");
    };
    let form = Pairs::parse(&String::from_utf8_lossy(&body));
    let Some(token) = form.get("token") else {
        return bad_request("token is required");
    };
    match remote
        .authority
        .revoke_token(token, form.get("client_id"))
        .await
    {
        Ok(()) => no_store(text(StatusCode::OK, "")),
        Err(e) => oauth_error(&e),
    }
}
