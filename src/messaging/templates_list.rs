//! `list_templates`: the business account's message templates with their text and how
//! many parameters each part needs, fetched from Meta page by page and kept for a few
//! minutes; and the check `send_template` makes with that list before calling Meta.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Messaging, MessagingError, blocking};
use crate::meta::MetaError;

/// How long a fetched list is answered from memory.
pub const TEMPLATE_CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// Most pages fetched at once (100 templates each): a bound, not an expected size.
const MAX_PAGES: usize = 50;

/// How many parameters each part of a template needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateParameters {
    pub header: usize,
    pub body: usize,
    pub buttons: usize,
}

/// One template as `list_templates` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    /// Header, body, footer and buttons as a person would read them, placeholders kept.
    pub text: String,
    pub parameters: TemplateParameters,
    /// The lines of `text`, each with the part it belongs to (whose parameters fill its
    /// placeholders when the template is sent).
    pub lines: Vec<(TemplatePart, String)>,
}

/// The part of a template a line of its text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart {
    Header,
    Body,
    Footer,
    Button,
}

/// `list_templates` filters.
#[derive(Debug, Clone, Default)]
pub struct TemplateQuery {
    pub name: Option<String>,
    pub language: Option<String>,
    /// `APPROVED` when omitted; `ALL` for every status.
    pub status: Option<String>,
    pub limit: Option<u32>,
}

/// The list and when it was fetched.
#[derive(Default)]
pub(super) struct TemplateCache {
    fetched: Option<(Instant, Arc<Vec<TemplateInfo>>)>,
}

/// Distinct `{{...}}` placeholders in `text`.
fn placeholders(text: &str) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
        rest = &after[end + 2..];
    }
    seen.len()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// Reads one template of Meta's `message_templates` answer.
pub(super) fn template_info(t: &Value) -> TemplateInfo {
    let mut parameters = TemplateParameters::default();
    let mut lines = Vec::new();
    for c in t["components"].as_array().into_iter().flatten() {
        match str_of(c, "type").to_ascii_uppercase().as_str() {
            "HEADER" => {
                let format = str_of(c, "format").to_ascii_uppercase();
                if format == "TEXT" || format.is_empty() {
                    parameters.header = placeholders(str_of(c, "text"));
                    lines.push((TemplatePart::Header, str_of(c, "text").to_owned()));
                } else {
                    parameters.header = 1;
                    let media = format!("[{} header]", format.to_ascii_lowercase());
                    lines.push((TemplatePart::Header, media));
                }
            }
            "BODY" => {
                parameters.body = placeholders(str_of(c, "text"));
                lines.push((TemplatePart::Body, str_of(c, "text").to_owned()));
            }
            "FOOTER" => lines.push((TemplatePart::Footer, str_of(c, "text").to_owned())),
            "BUTTONS" => {
                for b in c["buttons"].as_array().into_iter().flatten() {
                    let kind = str_of(b, "type").to_ascii_uppercase();
                    parameters.buttons += match kind.as_str() {
                        "URL" => placeholders(str_of(b, "url")).min(1),
                        "COPY_CODE" | "OTP" => 1,
                        _ => 0,
                    };
                    let label = format!("[{}: {}]", kind.to_ascii_lowercase(), str_of(b, "text"));
                    lines.push((TemplatePart::Button, label));
                }
            }
            _ => {}
        }
    }
    TemplateInfo {
        name: str_of(t, "name").to_owned(),
        language: str_of(t, "language").to_owned(),
        category: str_of(t, "category").to_owned(),
        status: str_of(t, "status").to_owned(),
        text: lines
            .iter()
            .map(|(_, l)| l.as_str())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        parameters,
        lines: lines.into_iter().filter(|(_, l)| !l.is_empty()).collect(),
    }
}

/// How many parameters `components` (as `send_template` got them) gives each part.
/// Quick-reply buttons are not counted: their payload is optional.
pub(super) fn given_parameters(components: Option<&Value>) -> TemplateParameters {
    let mut given = TemplateParameters::default();
    for c in components.and_then(Value::as_array).into_iter().flatten() {
        let count = c["parameters"].as_array().map_or(0, Vec::len);
        match str_of(c, "type").to_ascii_lowercase().as_str() {
            "header" => given.header += count,
            "body" => given.body += count,
            "button" if !str_of(c, "sub_type").eq_ignore_ascii_case("quick_reply") => {
                given.buttons += count;
            }
            _ => {}
        }
    }
    given
}

impl Messaging {
    /// The account's templates matching `q`, from a list at most
    /// five minutes old.
    pub async fn list_templates(
        &self,
        q: TemplateQuery,
    ) -> Result<Vec<TemplateInfo>, MessagingError> {
        let limit = q.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(MessagingError::InvalidInput(format!(
                "`limit` must be 1 to 100; got {limit}"
            )));
        }
        let all = self
            .templates(false)
            .await
            .map_err(|error| MessagingError::Meta {
                error,
                message_id: None,
            })?;
        let status = q
            .status
            .as_deref()
            .unwrap_or("APPROVED")
            .to_ascii_uppercase();
        Ok(all
            .iter()
            .filter(|t| q.name.as_deref().is_none_or(|n| t.name == n.trim()))
            .filter(|t| q.language.as_deref().is_none_or(|l| t.language == l.trim()))
            .filter(|t| status == "ALL" || t.status.eq_ignore_ascii_case(&status))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    /// The whole list: from memory when fresh and `refresh` is false, else from Meta.
    pub(super) async fn templates(
        &self,
        refresh: bool,
    ) -> Result<Arc<Vec<TemplateInfo>>, MetaError> {
        let waba = self
            .business_account_id
            .clone()
            .ok_or_else(|| MetaError::InvalidRequest {
                detail: "WA_BUSINESS_ACCOUNT_ID is not set: the templates belong to the WhatsApp \
                     Business Account, whose id wa-mcp needs (WhatsApp Manager > Account tools)"
                    .into(),
            })?;
        let mut cache = self.template_cache.lock().await;
        if let Some((at, list)) = &cache.fetched
            && !refresh
            && at.elapsed() < TEMPLATE_CACHE_TTL
        {
            return Ok(Arc::clone(list));
        }
        let meta = self.meta.clone();
        let list = blocking(move || {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let page = meta.message_templates(&waba, after.as_deref())?;
                all.extend(page.templates.iter().map(template_info));
                match page.after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            Ok(all)
        })
        .await?;
        let list = Arc::new(list);
        cache.fetched = Some((Instant::now(), Arc::clone(&list)));
        Ok(list)
    }

    /// Refuses, before anything is stored, a template the account does not have (after
    /// fetching the list once more) or parameters that do not fit it, and otherwise
    /// returns the template. When the list cannot be fetched, the first time or the
    /// second, or no business account is configured, returns `None`: Meta will judge.
    pub(super) async fn check_template(
        &self,
        name: &str,
        language: &str,
        components: Option<&Value>,
    ) -> Result<Option<TemplateInfo>, MessagingError> {
        if self.business_account_id.is_none() {
            return Ok(None);
        }
        let find = |list: &[TemplateInfo]| {
            list.iter()
                .find(|t| t.name == name && t.language == language)
                .cloned()
        };
        let unchecked = |error: MetaError| {
            tracing::warn!(error = %error, "template_list_unavailable_sending_unchecked");
        };
        let listed = match self.templates(false).await {
            Ok(list) => find(&list),
            Err(error) => {
                unchecked(error);
                return Ok(None);
            }
        };
        // Not in the list kept: it may have been approved since, so ask Meta once more.
        let found = match listed {
            Some(t) => Some(t),
            None => match self.templates(true).await {
                Ok(list) => find(&list),
                Err(error) => {
                    unchecked(error);
                    return Ok(None);
                }
            },
        };
        let Some(template) = found else {
            let list = self.templates(false).await.ok();
            let languages: Vec<String> = list
                .iter()
                .flat_map(|l| l.iter())
                .filter(|t| t.name == name)
                .map(|t| t.language.clone())
                .collect();
            let known = if languages.is_empty() {
                "no template has that name".to_owned()
            } else {
                format!("it exists in: {}", languages.join(", "))
            };
            return Err(MessagingError::InvalidInput(format!(
                "this business account has no template {name:?} in language {language:?} \
                 ({known}); nothing was sent. Call list_templates to see the approved ones."
            )));
        };
        if !template.status.eq_ignore_ascii_case("APPROVED") {
            return Err(MessagingError::InvalidInput(format!(
                "template {name:?} ({language}) is {}, not approved, so Meta would refuse it; \
                 nothing was sent",
                template.status
            )));
        }
        let given = given_parameters(components);
        let need = template.parameters;
        if given != need {
            return Err(MessagingError::InvalidInput(format!(
                "template {name:?} ({language}) needs {} header, {} body and {} button \
                 parameter(s); `components` gives {}, {} and {}. Nothing was sent. Its text: {}",
                need.header,
                need.body,
                need.buttons,
                given.header,
                given.body,
                given.buttons,
                template.text
            )));
        }
        Ok(Some(template))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_are_counted_per_part() {
        let t = json!({"name": "order_update", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "components": [
                {"type": "HEADER", "format": "IMAGE"},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships {{2}}"},
                {"type": "FOOTER", "text": "Reply STOP"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Track", "url": "https://x.example/t/{{1}}"},
                    {"type": "QUICK_REPLY", "text": "Stop"}]}]});
        let info = template_info(&t);
        assert_eq!(
            info.parameters,
            TemplateParameters {
                header: 1,
                body: 2,
                buttons: 1
            }
        );
        assert!(info.text.contains("Hi {{1}}"), "{}", info.text);
        let given = given_parameters(Some(&json!([
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "7"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "7"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "s"}]}
        ])));
        assert_eq!(given, info.parameters);
        assert_eq!(placeholders("{{first_name}} and {{ first_name }} {{2}}"), 2);
    }
}
