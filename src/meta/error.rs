//! What can go wrong talking to the Graph API, typed so a tool can tell a model what
//! happened ([`MetaError::title`]), what to do next ([`MetaError::hint`]) and whether a
//! send may have been delivered anyway ([`MetaError::outcome_unknown`]).
//!
//! Every string in here that came from ureq or from Meta has been scrubbed of the access
//! token (`envelope::scrub`) before it was stored, so `Display` and `Debug` are safe to log.

use std::fmt;

/// The Meta error codes the tools treat differently; the docs are in `docs/api/errors.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// 131047: the 24-hour customer-service window is closed; only a template gets through.
    OutOfSessionWindow,
    /// 131026: Meta could not deliver to this recipient (not on WhatsApp, old app, ...).
    Undeliverable,
    /// 131030: the recipient is not on the test number's allowed list.
    RecipientNotAllowed,
    /// 130429 (throughput) and 131056 (too many messages to one person): slow down.
    RateLimited,
    /// 190: the access token is invalid or expired.
    TokenInvalid,
    /// 132000..=132999: the template is missing, not approved, or its parameters do not fit.
    Template,
    /// 100: a parameter of the request was refused.
    InvalidParameter,
    /// Any other code; [`ApiError::code`] and [`ApiError::message`] say which.
    Other,
}

impl ApiErrorKind {
    /// The kind for a Meta error code.
    pub fn from_code(code: i64) -> ApiErrorKind {
        match code {
            131047 => ApiErrorKind::OutOfSessionWindow,
            131026 => ApiErrorKind::Undeliverable,
            131030 => ApiErrorKind::RecipientNotAllowed,
            130429 | 131056 => ApiErrorKind::RateLimited,
            190 => ApiErrorKind::TokenInvalid,
            132000..=132999 => ApiErrorKind::Template,
            100 => ApiErrorKind::InvalidParameter,
            _ => ApiErrorKind::Other,
        }
    }
}

/// Meta's error envelope `{"error":{message,type,code,error_subcode,error_data,fbtrace_id}}`,
/// with the token scrubbed from every string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// What the code means to us.
    pub kind: ApiErrorKind,
    /// Meta's `code`, e.g. 131047.
    pub code: i64,
    /// Meta's `error_subcode`, when given.
    pub subcode: Option<i64>,
    /// Meta's `message` (a short English title such as "Re-engagement message").
    pub message: String,
    /// Meta's `type`, e.g. `OAuthException`.
    pub error_type: Option<String>,
    /// `error_data.details`: Meta's longer explanation, when given.
    pub details: Option<String>,
    /// The id Meta support asks for when a call is reported to them.
    pub fbtrace_id: Option<String>,
    /// The HTTP status the envelope came with.
    pub http_status: u16,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Meta error {}", self.code)?;
        if let Some(subcode) = self.subcode {
            write!(f, " (subcode {subcode})")?;
        }
        write!(f, ": {}", self.message)?;
        match &self.details {
            Some(details) if details != &self.message => write!(f, " ({details})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

/// A failed Graph API call.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// No token is configured; no request was made.
    #[error("no Graph API access token is configured: set WA_ACCESS_TOKEN (or --access-token)")]
    NoToken,
    /// Meta answered with its error envelope (boxed: it is by far the largest variant).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// Meta (or something in between) answered an error status without the envelope.
    #[error("the Graph API answered HTTP {status}: {detail}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the body, scrubbed and cut to about 200 characters.
        detail: String,
    },
    /// A send went out and no answer came back (timeout, reset, unreadable body). It is
    /// never retried, because Meta may have accepted it: the outcome is unknown.
    #[error(
        "no answer from Meta after the request went out ({detail}): the message may or may \
         not have been delivered"
    )]
    NoAnswer {
        /// What went wrong, scrubbed.
        detail: String,
    },
    /// No answer from Meta after every attempt: the connection failed before the request
    /// went out, or (for idempotent calls only) no answer came.
    #[error("could not reach the Graph API after {attempts} attempt(s): {detail}")]
    Unreachable {
        /// How many attempts were made.
        attempts: u32,
        /// The last failure, scrubbed.
        detail: String,
    },
    /// Meta answered success with a body that is not what the Graph API documents.
    #[error("the Graph API answered HTTP {status} with an unexpected body: {detail}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// The call failed inside wa-mcp, e.g. the blocking task running it was interrupted.
    /// Whether a send reached Meta is unknown, so [`MetaError::outcome_unknown`] is true.
    #[error("the Graph API call failed inside wa-mcp: {0}")]
    Internal(String),
    /// The request could not be made at all (a bad base URL or id); nothing was sent.
    #[error("the Graph API request could not be made: {detail}")]
    InvalidRequest {
        /// What was wrong with it.
        detail: String,
    },
}

impl From<ApiError> for MetaError {
    fn from(error: ApiError) -> MetaError {
        MetaError::Api(Box::new(error))
    }
}

impl MetaError {
    /// Meta's error code, when Meta gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            MetaError::Api(api) => Some(api.code),
            _ => None,
        }
    }

    /// True when a send may have been delivered although it failed here: the row ends
    /// `unknown`, and resending could text the person twice.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, MetaError::NoAnswer { .. } | MetaError::Internal(_))
    }

    /// A short title for the `error_title` column and tool errors.
    pub fn title(&self) -> String {
        let title = match self {
            MetaError::NoToken => "No access token configured",
            MetaError::Api(api) => return api_title(api),
            MetaError::Http { status, .. } => return format!("Graph API HTTP {status}"),
            MetaError::NoAnswer { .. } => "No answer from Meta",
            MetaError::Unreachable { .. } => "Graph API unreachable",
            MetaError::InvalidResponse { .. } => "Unexpected answer from Meta",
            MetaError::InvalidRequest { .. } => "Invalid Graph API request",
            MetaError::Internal(_) => "Internal error",
        };
        title.to_owned()
    }

    /// What a model (or its user) should do next, in a sentence or two.
    pub fn hint(&self) -> String {
        match self {
            MetaError::NoToken => "Ask the operator to set WA_ACCESS_TOKEN (a Graph API token \
                with the whatsapp_business_messaging permission) and restart wa-mcp; nothing \
                was sent."
                .to_owned(),
            MetaError::Api(api) => api_hint(api),
            MetaError::Http { status, .. } if *status >= 500 => "Meta had a server problem \
                and retries did not help; try again in a few minutes."
                .to_owned(),
            MetaError::Http { .. } => "The Graph API refused the request without explaining \
                why; check WA_GRAPH_BASE_URL and the phone number id before trying again."
                .to_owned(),
            MetaError::NoAnswer { .. } => "The request reached Meta but no answer came, so \
                the message may or may not have been delivered. Do not resend blindly: look \
                for a status update with get_messages first, or ask the person."
                .to_owned(),
            MetaError::Unreachable { .. } => "The Graph API could not be reached (network, \
                DNS or an outage); nothing was sent. Try again in a few minutes."
                .to_owned(),
            MetaError::InvalidResponse { .. } => "Meta answered with something unexpected; \
                try again, and report it if it keeps happening."
                .to_owned(),
            MetaError::InvalidRequest { .. } => "The request could not be built; check \
                WA_GRAPH_BASE_URL and the phone number id. Nothing was sent."
                .to_owned(),
            MetaError::Internal(_) => "The call was interrupted inside wa-mcp; a message may \
                or may not have been sent. Check with get_messages before sending again."
                .to_owned(),
        }
    }
}

fn api_title(api: &ApiError) -> String {
    let title = match api.kind {
        ApiErrorKind::OutOfSessionWindow => "Outside the 24-hour window",
        ApiErrorKind::Undeliverable => "Message undeliverable",
        ApiErrorKind::RecipientNotAllowed => "Recipient not allowed",
        ApiErrorKind::RateLimited => "Rate limited by Meta",
        ApiErrorKind::TokenInvalid => "Access token invalid or expired",
        ApiErrorKind::Template => "Template error",
        ApiErrorKind::InvalidParameter => "Invalid parameter",
        ApiErrorKind::Other => return format!("Meta error {}", api.code),
    };
    title.to_owned()
}

fn api_hint(api: &ApiError) -> String {
    match api.kind {
        ApiErrorKind::OutOfSessionWindow => "The 24-hour customer-service window is closed: \
            this person has not written in the last 24 hours. Only a template message \
            (send_template) can reach them until they write again."
            .to_owned(),
        ApiErrorKind::Undeliverable => "Meta could not deliver to this recipient: the \
            number may not be on WhatsApp, or their app is outdated. Check the number; \
            sending the same message again will not help."
            .to_owned(),
        ApiErrorKind::RecipientNotAllowed => "This business number is in test mode and the \
            recipient is not on its allowed list: add the number in Meta's App Dashboard \
            (WhatsApp > API Setup) or use a production number."
            .to_owned(),
        ApiErrorKind::RateLimited => "Meta is rate-limiting this number (too many messages \
            overall, or to this person in a short time). Wait at least a minute before \
            sending again; do not retry at once."
            .to_owned(),
        ApiErrorKind::TokenInvalid => "The access token (WA_ACCESS_TOKEN) is invalid or has \
            expired. The operator must issue a new one (a System User token does not \
            expire) and restart wa-mcp; retrying will not help."
            .to_owned(),
        ApiErrorKind::Template => "Meta refused the template: check its name, its language \
            code, that it is approved, and that the parameters match it in number and \
            format. The details say which."
            .to_owned(),
        ApiErrorKind::InvalidParameter => "Meta refused a parameter of the request (see the \
            details): fix the input, e.g. the recipient, the message id or the body, then \
            try again."
            .to_owned(),
        ApiErrorKind::Other => format!(
            "Meta refused the request with code {}: read its message; sending the same \
             request again is unlikely to help.",
            api.code
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::envelope::error_from_answer;

    #[test]
    fn codes_map_to_kinds() {
        use ApiErrorKind::*;
        let cases = [
            (131047, OutOfSessionWindow),
            (131026, Undeliverable),
            (131030, RecipientNotAllowed),
            (130429, RateLimited),
            (131056, RateLimited),
            (190, TokenInvalid),
            (132000, Template),
            (132001, Template),
            (132999, Template),
            (100, InvalidParameter),
            (133000, Other),
            (131000, Other),
        ];
        for (code, kind) in cases {
            assert_eq!(ApiErrorKind::from_code(code), kind, "{code}");
        }
    }

    #[test]
    fn titles_and_hints_are_specific() {
        let err = error_from_answer(400, r#"{"error":{"code":131047,"message":"m"}}"#, "t");
        assert_eq!(err.code(), Some(131047));
        assert_eq!(err.title(), "Outside the 24-hour window");
        assert!(err.hint().contains("template"));
        assert!(!err.outcome_unknown());
        let unknown = MetaError::NoAnswer {
            detail: "timeout".into(),
        };
        assert!(unknown.outcome_unknown());
        assert!(
            unknown
                .to_string()
                .contains("may or may not have been delivered")
        );
        assert!(MetaError::NoToken.to_string().contains("WA_ACCESS_TOKEN"));
    }
}
