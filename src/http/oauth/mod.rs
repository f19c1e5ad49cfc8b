//! The OAuth 2.1 routes of remote MCP: RFC 9728 and RFC 8414 metadata, RFC 7591
//! registration, the consent page, the token and revocation endpoints. They parse and
//! answer; the rules are in `messaging::oauth`. Every route answers 404 while remote
//! MCP is off (no `WA_PUBLIC_URL`, or no owner passphrase), and 403 to a `Host` that is
//! neither the public URL's nor loopback.

mod endpoints;
mod form;
pub mod page;

use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};

use super::respond::{json, not_found, text};
use super::{AppState, HttpResponse, Remote};

pub use form::Pairs;

/// RFC 9728 metadata of the `/mcp` resource.
pub const PROTECTED_RESOURCE_PATH: &str = "/.well-known/oauth-protected-resource";
/// RFC 8414 metadata of this authorization server.
pub const AUTHORIZATION_SERVER_PATH: &str = "/.well-known/oauth-authorization-server";

/// Whether `path` is one of these routes.
pub fn is_oauth_path(path: &str) -> bool {
    path.starts_with("/oauth/")
        || path == PROTECTED_RESOURCE_PATH
        || path == "/.well-known/oauth-protected-resource/mcp"
        || path == AUTHORIZATION_SERVER_PATH
}

/// Answers one OAuth route.
pub async fn route(state: &AppState, req: Request<Incoming>) -> HttpResponse {
    let Some(remote) = enabled(state).await else {
        return not_found();
    };
    if !host_allowed(remote, &req) {
        return forbidden_host();
    }
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::GET, PROTECTED_RESOURCE_PATH | "/.well-known/oauth-protected-resource/mcp") => {
            protected_resource(remote)
        }
        (&Method::GET, AUTHORIZATION_SERVER_PATH) => authorization_server(remote),
        (&Method::POST, "/oauth/register") => endpoints::register(remote, req).await,
        (&Method::GET, page::AUTHORIZE_PATH) => endpoints::authorize_page(remote, &req).await,
        (&Method::POST, page::AUTHORIZE_PATH) => endpoints::authorize_post(remote, req).await,
        (&Method::POST, "/oauth/token") => endpoints::token(remote, req).await,
        (&Method::POST, "/oauth/revoke") => endpoints::revoke(remote, req).await,
        _ => not_found(),
    }
}

/// The remote state when remote MCP is on; `None` answers 404.
pub async fn enabled(state: &AppState) -> Option<&Remote> {
    let remote = state.remote.as_ref()?;
    match remote.authority.is_enabled().await {
        Ok(true) => Some(remote),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "remote_state_unreadable");
            None
        }
    }
}

/// Whether the request's `Host` names the public URL or this machine (a tunnel
/// forwards the public host; local clients and tests use loopback).
pub fn host_allowed(remote: &Remote, req: &Request<Incoming>) -> bool {
    let Some(host) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    remote.authority.public_url().matches_host_header(host) || super::local::is_loopback_host(host)
}

pub fn forbidden_host() -> HttpResponse {
    tracing::warn!("remote_request_refused_for_host");
    text(
        StatusCode::FORBIDDEN,
        "forbidden: this Host is not served\n",
    )
}

fn protected_resource(remote: &Remote) -> HttpResponse {
    let public = remote.authority.public_url();
    no_store(json(
        StatusCode::OK,
        &serde_json::json!({
            "resource": remote.authority.resource(),
            "authorization_servers": [public.as_str()],
            "bearer_methods_supported": ["header"],
            "resource_name": "wa-mcp",
        }),
    ))
}

fn authorization_server(remote: &Remote) -> HttpResponse {
    let public = remote.authority.public_url();
    no_store(json(
        StatusCode::OK,
        &serde_json::json!({
            "issuer": public.as_str(),
            "authorization_endpoint": public.join(page::AUTHORIZE_PATH),
            "token_endpoint": public.join("/oauth/token"),
            "registration_endpoint": public.join("/oauth/register"),
            "revocation_endpoint": public.join("/oauth/revoke"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
        }),
    ))
}

/// Marks an answer not to be cached (tokens, metadata that follows the settings).
pub fn no_store(mut resp: HttpResponse) -> HttpResponse {
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
