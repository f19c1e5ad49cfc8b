//! Media a WhatsApp user sent us, fetched in the two steps the Cloud API asks for:
//! `GET /{version}/{media_id}` answers a short-lived download URL with the file's MIME
//! type, SHA-256 and size ([`MetaClient::media_info`]); a bearer-authenticated `GET` of
//! that URL streams the bytes ([`MetaClient::download_media`]).
//!
//! Both steps are idempotent and retried like every other Graph API read. The download
//! URL is a capability (anyone holding it, with the token, gets the file), so it is never
//! logged beyond its host, and the token is only sent over HTTPS to a Meta host (see
//! [`META_MEDIA_DOMAINS`]) or to the configured Graph API host itself (a test server).

use std::fmt;
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{Call, MetaClient, after_failure};
use super::envelope::{error_from_answer, scrub, truncate_detail};
use super::error::MetaError;
use super::retry;
use super::transport::{self, Method};
use crate::metrics::{MetaAttemptResult, MetaOperation};

/// The longest a download may take from the request to its last byte: enough for the
/// largest document Meta carries (100 MiB) on a slow line.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long a download waits for the answer's headers before the attempt fails.
const DOWNLOAD_HEADERS_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest error body read from the download host.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// What Meta says about one media id.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// The media id, as Meta repeats it.
    pub id: String,
    /// Where to download the bytes (with the bearer token), for about five minutes.
    /// A capability: never log it.
    pub url: String,
    /// The file's MIME type, e.g. `image/jpeg`.
    pub mime_type: Option<String>,
    /// The file's SHA-256 as Meta gives it (hex here; the webhook gives base64).
    pub sha256: Option<String>,
    /// The file's size in bytes (Meta sends it as a string or a number).
    pub file_size: Option<u64>,
}

impl fmt::Debug for MediaInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaInfo")
            .field("id", &self.id)
            .field("url", &"<download url>")
            .field("mime_type", &self.mime_type)
            .field("sha256", &self.sha256)
            .field("file_size", &self.file_size)
            .finish()
    }
}

/// Why a download did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Meta refused, did not answer, or answered an error status.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The file is larger than the caller's cap; reading stopped at the cap.
    #[error("the media is larger than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// Writing the bytes where the caller wanted them failed.
    #[error("writing the media failed: {0}")]
    Write(#[source] io::Error),
}

impl MetaClient {
    /// `GET {base}/{version}/{media_id}`: the download URL and what Meta knows of the
    /// file. Idempotent, so retried. No `phone_number_id` parameter is sent: Meta only
    /// uses it to check media *uploaded* by that number, which received media is not.
    pub fn media_info(&self, media_id: &str) -> Result<MediaInfo, MetaError> {
        let call = Call {
            method: Method::Get,
            path: self.path(media_id, "")?,
            query: "",
            body: None,
            idempotent: true,
        };
        let answer = self.inner.execute(&call)?;
        parse_media_info(&answer.body).map_err(|detail| MetaError::InvalidResponse {
            status: answer.status,
            detail,
        })
    }

    /// Streams the file at `url` (from [`MetaClient::media_info`]) into `sink`, with the
    /// bearer token, and returns how many bytes were written. At most `max_bytes` are
    /// read: a longer body ends in [`DownloadError::TooLarge`] with `sink` holding a
    /// partial file the caller must discard. Attempts that fail before the first byte
    /// arrives are retried by the client's policy; a failure mid-body is returned.
    pub fn download_media(
        &self,
        url: &str,
        sink: &mut dyn Write,
        max_bytes: u64,
    ) -> Result<u64, DownloadError> {
        let token = self
            .inner
            .token
            .as_ref()
            .ok_or(MetaError::NoToken)?
            .expose();
        self.check_download_url(url)?;
        let host = url_host(url);
        let mut response = self.open_download(url, token, host)?;
        let announced = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|length| length > max_bytes) {
            return Err(DownloadError::TooLarge { limit: max_bytes });
        }
        // One byte past the cap is enough to know the file is too large.
        let mut body = response
            .body_mut()
            .as_reader()
            .take(max_bytes.saturating_add(1));
        let copied = io::copy(&mut body, &mut MarkedSink(sink)).map_err(|e| {
            if e.get_ref().is_some_and(|inner| inner.is::<SinkError>()) {
                return DownloadError::Write(e);
            }
            DownloadError::Meta(MetaError::Unreachable {
                attempts: 1,
                detail: format!(
                    "the download from {host} broke off: {}",
                    truncate_detail(&scrub(&e.to_string(), token))
                ),
            })
        })?;
        if copied > max_bytes {
            return Err(DownloadError::TooLarge { limit: max_bytes });
        }
        Ok(copied)
    }

    /// The token goes only over HTTPS to a Meta host, or to the configured Graph API
    /// host (tests).
    fn check_download_url(&self, url: &str) -> Result<(), MetaError> {
        let base = &self.inner.base_url;
        let same_host = url
            .strip_prefix(base.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if is_meta_https_url(url) || same_host {
            return Ok(());
        }
        Err(MetaError::InvalidResponse {
            status: 200,
            detail: format!(
                "the media download URL (host {}) is neither a Meta HTTPS host nor the Graph \
                 API host; the token was not sent",
                url_host(url)
            ),
        })
    }

    /// Sends the download request until it is answered 2xx or the policy gives up.
    fn open_download(
        &self,
        url: &str,
        token: &str,
        host: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, MetaError> {
        let bearer = transport::bearer_header(token).map_err(|_| MetaError::InvalidRequest {
            detail: "the access token has characters a header cannot carry".to_owned(),
        })?;
        let mut retry = 0;
        loop {
            let attempt = retry + 1;
            let sent = self.download_attempt(url, &bearer, host, attempt);
            let status = sent.as_ref().ok().map(|r| r.status().as_u16());
            let (error, retry_after) = match judge_download(sent, token, host, attempt) {
                ControlFlow::Break(done) => return done,
                ControlFlow::Continue(retryable) => retryable,
            };
            tracing::warn!(host, ?status, attempt, "media download failed: {error}");
            let unit = retry::jitter_unit();
            let Some(delay) =
                retry::delay_before_retry(&self.inner.retry, retry, retry_after, unit)
            else {
                return Err(error);
            };
            thread::sleep(delay);
            retry += 1;
        }
    }

    /// One download request, counted in the metrics and logged without its URL.
    fn download_attempt(
        &self,
        url: &str,
        bearer: &ureq::http::HeaderValue,
        host: &str,
        attempt: u32,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let started = Instant::now();
        let sent = self
            .inner
            .agent
            .get(url)
            .header("Authorization", bearer.clone())
            .config()
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .timeout_recv_response(Some(DOWNLOAD_HEADERS_TIMEOUT))
            .build()
            .call();
        let elapsed = started.elapsed();
        let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let status = sent.as_ref().ok().map(|r| r.status().as_u16());
        let result = match (&sent, status) {
            (_, Some(s)) if (200..300).contains(&s) => MetaAttemptResult::Success,
            (_, Some(_)) => MetaAttemptResult::HttpError,
            (Err(ureq::Error::Timeout(_)), None) => MetaAttemptResult::NoAnswer,
            _ => MetaAttemptResult::NotSent,
        };
        self.inner
            .metrics
            .observe_meta_attempt(MetaOperation::MediaDownload, result, elapsed);
        tracing::debug!(host, ?status, attempt, latency_ms, "media download attempt");
        sent
    }
}

/// What one download attempt settles: the response or a final error (`Break`), or an
/// error worth another attempt, with Meta's `Retry-After` when it gave one.
fn judge_download(
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    token: &str,
    host: &str,
    attempt: u32,
) -> ControlFlow<Result<ureq::http::Response<ureq::Body>, MetaError>, (MetaError, Option<Duration>)>
{
    match sent {
        Ok(response) if response.status().is_success() => ControlFlow::Break(Ok(response)),
        Ok(response) => match refusal(response, token) {
            (error, _, false) => ControlFlow::Break(Err(error)),
            (error, retry_after, true) => ControlFlow::Continue((error, retry_after)),
        },
        // Their texts repeat the URL, which must not reach a log or an error.
        Err(ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_)) => {
            ControlFlow::Break(Err(MetaError::InvalidResponse {
                status: 200,
                detail: format!("the media download URL (host {host}) is not usable"),
            }))
        }
        Err(e) => match after_failure(transport::classify(e, token), true, attempt) {
            ControlFlow::Continue(error) => ControlFlow::Continue((error, None)),
            ControlFlow::Break(error) => ControlFlow::Break(Err(error)),
        },
    }
}

/// The domains (and their subdomains) Meta serves media downloads from; the bearer
/// token is sent to no other HTTPS host. Meta's download URLs are on
/// `lookaside.fbsbx.com`; the others are Meta's own CDN and API domains.
pub const META_MEDIA_DOMAINS: &[&str] = &[
    "fbsbx.com",
    "facebook.com",
    "fbcdn.net",
    "whatsapp.net",
    "whatsapp.com",
];

/// True for an `https` URL, without user-info, whose host is one of
/// [`META_MEDIA_DOMAINS`] or a subdomain of one. The URL is parsed as the HTTP client
/// parses it, so the host checked is the host connected to.
fn is_meta_https_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<ureq::http::Uri>() else {
        return false;
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    if uri.scheme_str() != Some("https") || authority.as_str().contains('@') {
        return false;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    META_MEDIA_DOMAINS.iter().any(|domain| {
        host == *domain
            || host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.ends_with('.'))
    })
}

/// What a non-2xx download answer means: the error, Meta's `Retry-After`, and whether
/// another attempt may help.
fn refusal(
    mut response: ureq::http::Response<ureq::Body>,
    token: &str,
) -> (MetaError, Option<Duration>, bool) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(retry::parse_retry_after);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_ERROR_BODY_BYTES)
        .lossy_utf8(true)
        .read_to_string()
        .unwrap_or_default();
    let error = error_from_answer(status, &body, token);
    (error, retry_after, retry::is_retryable_status(status))
}

/// A write error from the sink, marked so it is not mistaken for a network failure.
#[derive(Debug)]
struct SinkError(io::ErrorKind);

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "writing the media failed: {}", self.0)
    }
}

impl std::error::Error for SinkError {}

/// Wraps the caller's sink so its errors can be told apart from the body reader's.
struct MarkedSink<'a>(&'a mut dyn Write);

impl Write for MarkedSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .write(buf)
            .map_err(|e| io::Error::new(e.kind(), SinkError(e.kind())))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .flush()
            .map_err(|e| io::Error::new(e.kind(), SinkError(e.kind())))
    }
}

/// The host of `url`, for logs and errors: never the path or query, which carry the
/// download capability.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // Drop any user-info: it would be a credential.
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// Reads the media metadata answer; `url` is the one field that must be there.
fn parse_media_info(body: &str) -> Result<MediaInfo, String> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("media info is not JSON: {e}"))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let url = text("url")
        .filter(|u| !u.is_empty())
        .ok_or("media info has no download url")?;
    let file_size = match value.get("file_size") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(MediaInfo {
        id: text("id").unwrap_or_default(),
        url,
        mime_type: text("mime_type"),
        sha256: text("sha256"),
        file_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_info_reads_sizes_given_as_strings_or_numbers() {
        let info = parse_media_info(
            r#"{"messaging_product":"whatsapp","url":"https://x/y?hash=1","mime_type":"image/jpeg",
               "sha256":"ab","file_size":"303833","id":"123"}"#,
        )
        .expect("parses");
        assert_eq!(info.file_size, Some(303833));
        assert_eq!(info.mime_type.as_deref(), Some("image/jpeg"));
        let info = parse_media_info(r#"{"url":"https://x","file_size":12}"#).expect("parses");
        assert_eq!(info.file_size, Some(12));
        assert!(parse_media_info(r#"{"id":"1"}"#).is_err());
    }

    #[test]
    fn debug_never_shows_the_download_url() {
        let info = parse_media_info(r#"{"url":"https://host/secret-capability"}"#).expect("ok");
        assert!(!format!("{info:?}").contains("secret-capability"));
    }

    #[test]
    fn the_token_goes_only_to_meta_hosts_over_https() {
        for url in [
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&hash=2",
            "https://LOOKASIDE.FBSBX.COM./x",
            "https://scontent.xx.fbcdn.net:443/v/t61",
            "https://fbsbx.com/x",
        ] {
            assert!(is_meta_https_url(url), "{url}");
        }
        for url in [
            "http://lookaside.fbsbx.com/x",
            "https://attacker.example/x",
            "https://lookaside.fbsbx.com.attacker.example/x",
            "https://evilfbsbx.com/x",
            "https://lookaside.fbsbx.com@attacker.example/x",
            "https://user:pw@lookaside.fbsbx.com/x",
            "https://lookaside.fbsbx.com\\@attacker.example/x",
            "lookaside.fbsbx.com/x",
            "",
        ] {
            assert!(!is_meta_https_url(url), "{url}");
        }
    }

    #[test]
    fn host_is_all_a_log_sees_of_a_url() {
        assert_eq!(
            url_host("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&hash=2"),
            "lookaside.fbsbx.com"
        );
        assert_eq!(url_host("http://127.0.0.1:1234?x"), "127.0.0.1:1234");
        assert_eq!(url_host("https://user:pw@host/p"), "host");
    }
}
