//! Business-level Graph API calls: blocking and unblocking users
//! (`/{phone_number_id}/block_users`) and listing the account's message templates
//! (`GET /{waba_id}/message_templates`, page by page). A child module of `client`, like
//! `account`, so it reuses the call and retry machinery.
//!
//! Blocking is not a send, but it is not repeated blindly either: a request that went
//! out unanswered is reported, not retried (the owner can simply call it again).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, MetaClient};
use crate::meta::error::MetaError;
use crate::meta::transport::Method;

/// One page of `message_templates`: the templates as Meta describes them, and the
/// cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePage {
    pub templates: Vec<Value>,
    pub after: Option<String>,
}

#[derive(Deserialize)]
struct PageAnswer {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    /// Present only when another page follows.
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

/// A user Meta refused to block or unblock, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRefusal {
    pub code: Option<i64>,
    pub message: String,
}

impl MetaClient {
    /// Blocks (`block: true`, a POST) or unblocks (a DELETE) `user` (a phone number in
    /// Meta's format, or a BSUID) for `phone_number_id`. Meta answers per user: a user
    /// it refused comes back as `Ok(Some(refusal))`.
    pub fn block_user(
        &self,
        phone_number_id: &str,
        user: &str,
        block: bool,
    ) -> Result<Option<BlockRefusal>, MetaError> {
        let body = json!({"messaging_product": "whatsapp", "block_users": [{"user": user}]});
        let call = Call {
            method: if block { Method::Post } else { Method::Delete },
            path: self.path(phone_number_id, "/block_users")?,
            query: String::new(),
            body: Some(body.to_string()),
            idempotent: false,
        };
        let answer = self.inner.execute(&call)?;
        let parsed: Value =
            serde_json::from_str(&answer.body).map_err(|e| MetaError::InvalidResponse {
                status: answer.status,
                detail: e.to_string(),
            })?;
        Ok(block_refusal(&parsed))
    }

    /// One page of the account's templates, 100 at a time, after `after` (a cursor from
    /// the previous page). Idempotent.
    pub fn message_templates(
        &self,
        waba_id: &str,
        after: Option<&str>,
    ) -> Result<TemplatePage, MetaError> {
        let mut query = "?fields=name,language,status,category,components&limit=100".to_owned();
        if let Some(cursor) = after {
            query.push_str("&after=");
            query.push_str(&percent_encode(cursor));
        }
        let call = Call {
            method: Method::Get,
            path: self.path(waba_id, "/message_templates")?,
            query,
            body: None,
            idempotent: true,
        };
        let answer = self.inner.execute(&call)?;
        let page: PageAnswer =
            serde_json::from_str(&answer.body).map_err(|e| MetaError::InvalidResponse {
                status: answer.status,
                detail: e.to_string(),
            })?;
        let after = page
            .paging
            .filter(|p| p.next.is_some())
            .and_then(|p| p.cursors)
            .and_then(|c| c.after);
        Ok(TemplatePage {
            templates: page.data,
            after,
        })
    }
}

/// The first refusal in `block_users.failed_users`, if any.
fn block_refusal(answer: &Value) -> Option<BlockRefusal> {
    let failed = answer["block_users"]["failed_users"].as_array()?.first()?;
    let error = failed["errors"].as_array().and_then(|e| e.first());
    Some(BlockRefusal {
        code: error.and_then(|e| e["code"].as_i64()),
        message: error
            .and_then(|e| {
                e["error_data"]["details"]
                    .as_str()
                    .or_else(|| e["message"].as_str())
            })
            .unwrap_or("Meta refused without a reason")
            .to_owned(),
    })
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_user_is_a_refusal() {
        let answer = json!({"messaging_product": "whatsapp", "block_users": {
            "added_users": [],
            "failed_users": [{"input": "447700900123", "errors": [{"message": "Failed to block",
                "code": 139100, "error_data": {"details": "User has not messaged in 24h"}}]}]}});
        assert_eq!(
            block_refusal(&answer),
            Some(BlockRefusal {
                code: Some(139100),
                message: "User has not messaged in 24h".into()
            })
        );
        let ok = json!({"block_users": {"added_users": [{"input": "1", "wa_id": "1"}]}});
        assert_eq!(block_refusal(&ok), None);
    }

    #[test]
    fn cursors_are_percent_encoded() {
        assert_eq!(percent_encode("QVFI+a/b=="), "QVFI%2Ba%2Fb%3D%3D");
    }
}
