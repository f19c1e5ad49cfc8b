//! Reading Meta's answers to failed calls, and keeping the access token out of every
//! string that goes into an error: ureq's error texts and Meta's bodies may both repeat
//! it (Meta echoes a malformed token back in code 190's message).

use serde::Deserialize;

use super::error::{ApiError, ApiErrorKind, MetaError};

/// How many characters of a non-JSON error body an error keeps.
const DETAIL_MAX_CHARS: usize = 200;

/// `text` with every occurrence of the token replaced by `<redacted>`.
pub(crate) fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_owned();
    }
    text.replace(token, "<redacted>")
}

/// `text` cut to [`DETAIL_MAX_CHARS`] characters, with `…` when something was cut.
/// Scrub first: cutting first could leave half a token behind.
pub(crate) fn truncate_detail(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(DETAIL_MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    code: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    error_subcode: Option<i64>,
    /// An object `{messaging_product, details}` in the Cloud API; a string in some older
    /// Graph errors, so it is read loosely.
    #[serde(default)]
    error_data: Option<serde_json::Value>,
    #[serde(default)]
    fbtrace_id: Option<String>,
}

/// The error for a non-success answer: Meta's envelope becomes [`MetaError::Api`],
/// anything else [`MetaError::Http`]. Every string is scrubbed of `token`.
pub(crate) fn error_from_answer(status: u16, body: &str, token: &str) -> MetaError {
    let Ok(Envelope { error }) = serde_json::from_str::<Envelope>(body) else {
        return MetaError::Http {
            status,
            detail: truncate_detail(&scrub(body, token)),
        };
    };
    let clean = |s: Option<String>| s.map(|s| scrub(&s, token));
    let details = error
        .error_data
        .as_ref()
        .and_then(|data| data.get("details"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    MetaError::from(ApiError {
        kind: ApiErrorKind::from_code(error.code),
        code: error.code,
        subcode: error.error_subcode,
        message: clean(error.message).unwrap_or_default(),
        error_type: clean(error.error_type),
        details: clean(details),
        fbtrace_id: clean(error.fbtrace_id),
        http_status: status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keeps_every_field() {
        let body = r#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException",
            "code":131047,"error_subcode":2494010,"error_data":{"messaging_product":"whatsapp",
            "details":"Message failed to send because more than 24 hours have passed"},
            "fbtrace_id":"AbCd"}}"#;
        let MetaError::Api(api) = error_from_answer(400, body, "tok") else {
            panic!("not an API error");
        };
        assert_eq!(api.kind, ApiErrorKind::OutOfSessionWindow);
        assert_eq!(api.subcode, Some(2494010));
        assert_eq!(api.error_type.as_deref(), Some("OAuthException"));
        assert!(
            api.details
                .as_deref()
                .is_some_and(|d| d.contains("24 hours"))
        );
        assert_eq!(api.fbtrace_id.as_deref(), Some("AbCd"));
        assert_eq!(api.http_status, 400);
    }

    #[test]
    fn a_body_without_the_envelope_is_an_http_error_cut_short() {
        let body = "x".repeat(1000);
        let MetaError::Http { status, detail } = error_from_answer(502, &body, "tok") else {
            panic!("not an HTTP error");
        };
        assert_eq!(status, 502);
        assert_eq!(detail.chars().count(), DETAIL_MAX_CHARS + 1);
    }

    #[test]
    fn scrubbing_happens_before_cutting() {
        let token = "EAAG".repeat(20);
        let body = format!("{}{token}", "y".repeat(190));
        let MetaError::Http { detail, .. } = error_from_answer(400, &body, &token) else {
            panic!("not an HTTP error");
        };
        assert!(!detail.contains("EAAGEAAG"), "{detail}");
        assert!(detail.contains("<redacted"), "{detail}");
    }
}
