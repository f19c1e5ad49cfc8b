//! One HTTP exchange with the Graph API over ureq, and the one question its failures
//! must answer for the retry loop: did the request leave this machine?
//!
//! ureq reports which phase a timeout hit ([`ureq::Timeout`]). A whole attempt gets the
//! per-attempt timeout; resolving and connecting get a third of it each, so a timeout
//! in those phases always fires (and is reported as such) before the attempt's own
//! deadline, and can be retried safely; every later timeout means the request may
//! have reached Meta.

use std::io;
use std::time::Duration;

use ureq::http::HeaderValue;
use ureq::{Error, Timeout};

use super::envelope::{scrub, truncate_detail};

/// The largest answer body read; Graph API answers are a few hundred bytes.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// The HTTP method of a Graph API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    /// A DELETE with a JSON body (Meta's unblock takes one).
    Delete,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// An answer from the Graph API, whatever its status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    /// The body; for an error status whose body could not be read, a note saying so.
    pub body: String,
    /// `Retry-After` in seconds, when given.
    pub retry_after: Option<Duration>,
}

/// Why an attempt got no answer. Every detail is scrubbed of the token.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing reached Meta and another attempt may work (DNS, refused, connect timeout).
    NotSent(String),
    /// Nothing reached Meta and another attempt will not help (a bad URL or header).
    Unsendable(String),
    /// The request, or part of it, went out and no answer came back.
    NoAnswer(String),
}

/// The agent every call of one client shares (its connection pool included).
pub(crate) fn build_agent(timeout: Duration) -> ureq::Agent {
    // Resolve and connect together end before the attempt's deadline.
    let reach = Some(timeout / 3);
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("wa-mcp/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(timeout))
        .timeout_resolve(reach)
        .timeout_connect(reach)
        .build();
    ureq::Agent::new_with_config(config)
}

/// Makes one request and reads the whole answer.
pub(crate) fn exchange(
    agent: &ureq::Agent,
    method: Method,
    url: &str,
    body: Option<&str>,
    token: &str,
) -> Result<Answer, Failure> {
    let bearer = bearer_header(token)?;
    let sent = match (method, body) {
        (Method::Post, body) => agent
            .post(url)
            .header("Authorization", &bearer)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or("{}")),
        (Method::Get, _) => agent.get(url).header("Authorization", &bearer).call(),
        (Method::Delete, body) => agent
            .delete(url)
            .header("Authorization", &bearer)
            .header("Content-Type", "application/json")
            .force_send_body()
            .send(body.unwrap_or("{}")),
    };
    let mut response = sent.map_err(|e| classify(e, token))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(super::retry::parse_retry_after);
    let read = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .lossy_utf8(true)
        .read_to_string();
    let body = match read {
        Ok(body) => body,
        // Success without its body: Meta may have acted and we cannot know on what.
        Err(e) if (200..300).contains(&status) => {
            return Err(Failure::NoAnswer(describe(&e, token)));
        }
        Err(e) => format!("(the body could not be read: {})", describe(&e, token)),
    };
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// `Bearer <token>`, marked sensitive so nothing that honours the mark prints it.
pub(crate) fn bearer_header(token: &str) -> Result<HeaderValue, Failure> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Failure::Unsendable("the access token has characters a header cannot carry".to_owned())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sorts a ureq error by whether the request may have gone out.
pub(crate) fn classify(error: Error, token: &str) -> Failure {
    let detail = describe(&error, token);
    match &error {
        Error::HostNotFound
        | Error::ConnectionFailed
        | Error::ConnectProxyFailed(_)
        | Error::Timeout(Timeout::Resolve | Timeout::Connect) => Failure::NotSent(detail),
        Error::Io(e) if failed_to_connect(e) => Failure::NotSent(detail),
        Error::BadUri(_)
        | Error::Http(_)
        | Error::RequireHttpsOnly(_)
        | Error::InvalidProxyUrl
        | Error::TlsRequired => Failure::Unsendable(detail),
        // Timeouts after connecting, resets, protocol errors, TLS errors (which ureq's
        // rustls transport reports as I/O): the request may have gone out.
        _ => Failure::NoAnswer(detail),
    }
}

/// I/O errors that only a connect can produce: the peer was never talked to.
fn failed_to_connect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
    )
}

/// An error's text, scrubbed and cut to size.
fn describe(error: &Error, token: &str) -> String {
    truncate_detail(&scrub(&error.to_string(), token))
}
