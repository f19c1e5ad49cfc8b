//! `send_template`: an approved message template, the only kind of message that
//! reaches someone whose 24-hour window is closed. Never refused by a local window
//! check; Meta decides (its 132xxx errors explain template problems).

use serde_json::{Value, json};

use super::send::{Outgoing, parse_recipient};
use super::template_text::rendered_text;
use super::{Messaging, MessagingError, SendResult};
use crate::store::NewOutbound;

/// The longest template name Meta accepts.
const MAX_NAME_CHARS: usize = 512;

/// A template message to send.
#[derive(Debug, Clone, Default)]
pub struct SendTemplateInput {
    /// A phone number in any format, or a BSUID.
    pub to: String,
    /// The template's name as approved, e.g. `order_update`.
    pub name: String,
    /// The template's language code as approved, e.g. `en_US`.
    pub language: String,
    /// The Cloud API `components` array (header, body and button parameters), as is.
    pub components: Option<Value>,
    pub phone_number_id: Option<String>,
    /// A repeated call with the same key returns the first call's result and sends nothing.
    pub idempotency_key: Option<String>,
}

/// The `template` object: name, `language.code` and, when given, `components`.
fn template_object(name: &str, language: &str, components: Option<Value>) -> Value {
    let mut template = json!({"name": name, "language": {"code": language}});
    if let Some(components) = components {
        template["components"] = components;
    }
    template
}

/// Checks the parts a model most often gets wrong, before anything is stored.
fn validate(input: &SendTemplateInput) -> Result<Option<Value>, MessagingError> {
    let name = input.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.contains(char::is_whitespace)
    {
        return Err(MessagingError::InvalidInput(format!(
            "`name` must be the approved template's name (1 to {MAX_NAME_CHARS} characters, no \
             spaces, e.g. order_update); got {:?}",
            input.name
        )));
    }
    let language = input.language.trim();
    if language.is_empty() || language.len() > 16 || language.contains(char::is_whitespace) {
        return Err(MessagingError::InvalidInput(format!(
            "`language` must be the template's language code as approved, e.g. en_US or pt_BR; \
             got {:?}",
            input.language
        )));
    }
    match &input.components {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => {
            Ok(Some(Value::Array(items.clone())))
        }
        Some(_) => Err(MessagingError::InvalidInput(
            "`components` must be an array of objects as the Cloud API defines them, e.g. \
             [{\"type\": \"body\", \"parameters\": [{\"type\": \"text\", \"text\": \"Ada\"}]}]"
                .into(),
        )),
    }
}

impl Messaging {
    /// Sends a template message through the shared send path: same `pending` row,
    /// idempotency and outcomes as a text. The row's type is `template` and its body
    /// reads `name (language)`, followed by `: ` and the text as sent when the template
    /// is known from the templates list (its placeholders filled from `components`).
    pub async fn send_template(
        &self,
        input: SendTemplateInput,
    ) -> Result<SendResult, MessagingError> {
        let components = validate(&input)?;
        let (recipient, seen) = parse_recipient(&input.to)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(input.phone_number_id.clone())?;
        let (name, language) = (input.name.trim(), input.language.trim());
        let approved = self
            .check_template(name, language, components.as_ref())
            .await?;
        let body = match &approved {
            Some(template) => format!(
                "{name} ({language}): {}",
                rendered_text(template, components.as_ref())
            ),
            None => format!("{name} ({language})"),
        };
        let message = json!({
            "type": "template",
            "template": template_object(name, language, components),
        });
        let row = NewOutbound {
            phone_number_id: phone_number_id.clone(),
            recipient: seen,
            kind: "template".into(),
            body: Some(body),
            context_wamid: None,
            idempotency_key: input.idempotency_key.clone(),
            fingerprint: None,
            raw: message.to_string(),
            media: None,
        };
        self.send_cloud_message(Outgoing {
            recipient,
            phone_number_id,
            request: message.clone(),
            message,
            row,
            upload: None,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, language: &str, components: Option<Value>) -> SendTemplateInput {
        SendTemplateInput {
            to: "447700900123".into(),
            name: name.into(),
            language: language.into(),
            components,
            ..SendTemplateInput::default()
        }
    }

    #[test]
    fn components_are_kept_as_given_or_left_out() {
        let c = json!([{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}]);
        let given = validate(&input("order_update", "en_US", Some(c.clone()))).expect("valid");
        assert_eq!(
            template_object("order_update", "en_US", given),
            json!({"name": "order_update", "language": {"code": "en_US"}, "components": c})
        );
        let none = validate(&input("hello_world", "en_US", Some(json!([])))).expect("valid");
        assert_eq!(
            template_object("hello_world", "en_US", none),
            json!({"name": "hello_world", "language": {"code": "en_US"}})
        );
    }

    #[test]
    fn bad_names_languages_and_components_are_refused() {
        assert!(validate(&input("", "en_US", None)).is_err());
        assert!(validate(&input("order update", "en_US", None)).is_err());
        assert!(validate(&input("x", "", None)).is_err());
        assert!(validate(&input("x", "en_US", Some(json!({"type": "body"})))).is_err());
        assert!(validate(&input("x", "en_US", Some(json!(["body"])))).is_err());
    }
}
