//! `/mcp`: the gate in front of MCP over Streamable HTTP. In this order: 404 while
//! remote MCP is off; 403 for a `Host` that is neither the public URL's nor loopback,
//! and for an `Origin` other than the public URL's own (the MCP specification's
//! DNS-rebinding rule; hosted clients send none); 401 with `WWW-Authenticate` pointing
//! at the RFC 9728 metadata unless the bearer token is a valid access token of an
//! approved client (checked against the database on every request). Only then is the
//! request handed to the MCP transport, carrying the [`Caller`] it came from and the
//! token's [`AccessGrant`](crate::messaging::oauth::AccessGrant), which binds the
//! sessions and streams it opens to that client and ends them with its access.

use std::convert::Infallible;

use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, HeaderValue, ORIGIN, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};

use super::oauth::{PROTECTED_RESOURCE_PATH, enabled, forbidden_host, host_allowed};
use super::respond::{not_found, text};
use super::{AppState, HttpResponse};
use crate::messaging::Caller;

/// The route.
pub const MCP_PATH: &str = crate::messaging::oauth::MCP_PATH;

/// Any response body: MCP answers may be event streams.
pub type AnyResponse = Response<BoxBody<Bytes, Infallible>>;

/// Answers one `/mcp` request.
pub async fn handle(state: &AppState, mut req: Request<Incoming>) -> AnyResponse {
    let Some(remote) = enabled(state).await else {
        return boxed(not_found());
    };
    if !host_allowed(remote, &req) {
        return boxed(forbidden_host());
    }
    if let Some(origin) = req.headers().get(ORIGIN) {
        let allowed = origin.to_str().ok() == Some(remote.authority.public_url().origin());
        if !allowed {
            tracing::warn!("mcp_request_refused_for_origin");
            return boxed(text(
                StatusCode::FORBIDDEN,
                "forbidden: Origin not allowed\n",
            ));
        }
    }
    let token = bearer(&req);
    let client = match token {
        Some(t) => remote.authority.authenticate(t).await,
        None => Ok(None),
    };
    let grant = match client {
        Ok(Some(g)) => g,
        Ok(None) => return boxed(unauthorized(remote, token.is_some())),
        Err(e) => {
            tracing::error!(error = %e, "mcp_token_check_failed");
            return boxed(text(StatusCode::SERVICE_UNAVAILABLE, "try again shortly\n"));
        }
    };
    // The transport must not see the token.
    req.headers_mut().remove(AUTHORIZATION);
    req.extensions_mut().insert(Caller::Remote(grant.client()));
    req.extensions_mut().insert(grant);
    (remote.mcp)(req).await
}

fn bearer(req: &Request<Incoming>) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorized(remote: &super::Remote, had_token: bool) -> HttpResponse {
    let metadata = remote.authority.public_url().join(PROTECTED_RESOURCE_PATH);
    let error = if had_token {
        ", error=\"invalid_token\""
    } else {
        ""
    };
    let challenge = format!("Bearer resource_metadata=\"{metadata}\"{error}");
    let mut resp = text(
        StatusCode::UNAUTHORIZED,
        "unauthorized: a bearer token is required\n",
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    resp
}

/// A fixed-body answer as any response.
pub fn boxed(resp: HttpResponse) -> AnyResponse {
    resp.map(BodyExt::boxed)
}
