//! `send_interactive`: reply buttons, a list, or a call-to-action URL button, checked
//! against Meta's limits before anything is stored, so a model learns which part is
//! wrong instead of getting Meta's generic code 100.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::send::{Outgoing, parse_recipient};
use super::{Messaging, MessagingError, SendResult};
use crate::store::NewOutbound;

/// Meta's limits for interactive messages, in characters unless said otherwise.
pub mod limits {
    pub const BODY: usize = 1024;
    pub const HEADER: usize = 60;
    pub const FOOTER: usize = 60;
    pub const BUTTONS: usize = 3;
    pub const BUTTON_TITLE: usize = 20;
    pub const BUTTON_ID: usize = 256;
    pub const LIST_BUTTON: usize = 20;
    pub const SECTIONS: usize = 10;
    pub const ROWS: usize = 10;
    pub const SECTION_TITLE: usize = 24;
    pub const ROW_ID: usize = 200;
    pub const ROW_TITLE: usize = 24;
    pub const ROW_DESCRIPTION: usize = 72;
    pub const CTA_TEXT: usize = 20;
    pub const CTA_URL: usize = 2000;
}

/// A reply button.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Button {
    pub id: String,
    pub title: String,
}

/// A list: the button that opens it and its sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListInput {
    pub button: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// A call-to-action button that opens `url`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cta {
    pub text: String,
    pub url: String,
}

/// An interactive message to send: exactly one of `buttons`, `list` and `cta`.
#[derive(Debug, Clone, Default)]
pub struct SendInteractiveInput {
    pub to: String,
    pub body: String,
    pub buttons: Option<Vec<Button>>,
    pub list: Option<ListInput>,
    pub cta: Option<Cta>,
    /// Header text.
    pub header: Option<String>,
    pub footer: Option<String>,
    pub reply_to: Option<String>,
    pub phone_number_id: Option<String>,
    pub idempotency_key: Option<String>,
}

fn broken(text: String) -> MessagingError {
    MessagingError::InvalidInput(format!("{text}; nothing was sent"))
}

/// `value` (named `field`) must be 1..=`max` characters.
fn text_within(field: &str, value: &str, max: usize) -> Result<(), MessagingError> {
    let chars = value.trim().chars().count();
    if chars == 0 {
        return Err(broken(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(broken(format!(
            "`{field}` is {} characters; Meta allows at most {max}",
            value.chars().count()
        )));
    }
    Ok(())
}

fn optional_within(field: &str, value: &Option<String>, max: usize) -> Result<(), MessagingError> {
    match value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => text_within(field, v, max),
        None => Ok(()),
    }
}

fn check_buttons(buttons: &[Button]) -> Result<(), MessagingError> {
    if buttons.is_empty() || buttons.len() > limits::BUTTONS {
        return Err(broken(format!(
            "`buttons` must hold 1 to {} buttons; it has {}",
            limits::BUTTONS,
            buttons.len()
        )));
    }
    let (mut ids, mut titles) = (HashSet::new(), HashSet::new());
    for (i, b) in buttons.iter().enumerate() {
        text_within(&format!("buttons[{i}].id"), &b.id, limits::BUTTON_ID)?;
        text_within(
            &format!("buttons[{i}].title"),
            &b.title,
            limits::BUTTON_TITLE,
        )?;
        if !ids.insert(b.id.as_str()) {
            return Err(broken(format!(
                "`buttons[{i}].id` {:?} is used twice; ids must be unique",
                b.id
            )));
        }
        if !titles.insert(b.title.as_str()) {
            return Err(broken(format!(
                "`buttons[{i}].title` {:?} is used twice; titles must be unique",
                b.title
            )));
        }
    }
    Ok(())
}

fn check_list(list: &ListInput, header: &Option<String>) -> Result<(), MessagingError> {
    text_within("list.button", &list.button, limits::LIST_BUTTON)?;
    let sections = list.sections.len();
    if sections == 0 || sections > limits::SECTIONS {
        return Err(broken(format!(
            "`list.sections` must hold 1 to {} sections; it has {sections}",
            limits::SECTIONS
        )));
    }
    let rows: usize = list.sections.iter().map(|s| s.rows.len()).sum();
    if rows > limits::ROWS {
        return Err(broken(format!(
            "a list holds at most {} rows in all its sections; this one has {rows}",
            limits::ROWS
        )));
    }
    let mut ids = HashSet::new();
    for (s, section) in list.sections.iter().enumerate() {
        let field = format!("list.sections[{s}]");
        if sections > 1 && section.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(broken(format!(
                "`{field}.title` is needed when a list has more than one section"
            )));
        }
        optional_within(
            &format!("{field}.title"),
            &section.title,
            limits::SECTION_TITLE,
        )?;
        if section.rows.is_empty() {
            return Err(broken(format!("`{field}.rows` must hold at least one row")));
        }
        for (r, row) in section.rows.iter().enumerate() {
            let field = format!("{field}.rows[{r}]");
            text_within(&format!("{field}.id"), &row.id, limits::ROW_ID)?;
            text_within(&format!("{field}.title"), &row.title, limits::ROW_TITLE)?;
            optional_within(
                &format!("{field}.description"),
                &row.description,
                limits::ROW_DESCRIPTION,
            )?;
            if !ids.insert(row.id.as_str()) {
                return Err(broken(format!(
                    "`{field}.id` {:?} is used twice; row ids must be unique",
                    row.id
                )));
            }
        }
    }
    // A list's header can only be text, which is all `header` can be: nothing more to check.
    let _ = header;
    Ok(())
}

fn check_cta(cta: &Cta) -> Result<(), MessagingError> {
    text_within("cta.text", &cta.text, limits::CTA_TEXT)?;
    let url = cta.url.trim();
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && url.len() > 8
        && !url.contains(char::is_whitespace);
    if !https || url.chars().count() > limits::CTA_URL {
        return Err(broken(format!(
            "`cta.url` must be an https URL of at most {} characters; got {:?}",
            limits::CTA_URL,
            cta.url
        )));
    }
    Ok(())
}

/// Checks every limit and builds Meta's `interactive` object.
fn build(input: &SendInteractiveInput) -> Result<Value, MessagingError> {
    text_within("body", &input.body, limits::BODY)?;
    optional_within("header", &input.header, limits::HEADER)?;
    optional_within("footer", &input.footer, limits::FOOTER)?;
    let (kind, action) = match (&input.buttons, &input.list, &input.cta) {
        (Some(buttons), None, None) => {
            check_buttons(buttons)?;
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                .collect();
            ("button", json!({"buttons": buttons}))
        }
        (None, Some(list), None) => {
            check_list(list, &input.header)?;
            let sections: Vec<Value> = list.sections.iter().map(section_json).collect();
            ("list", json!({"button": list.button, "sections": sections}))
        }
        (None, None, Some(cta)) => {
            check_cta(cta)?;
            let parameters = json!({"display_text": cta.text, "url": cta.url.trim()});
            (
                "cta_url",
                json!({"name": "cta_url", "parameters": parameters}),
            )
        }
        _ => {
            return Err(broken(
                "give exactly one of `buttons` (1-3 reply buttons), `list` or `cta` (a URL button)"
                    .into(),
            ));
        }
    };
    let mut interactive = json!({"type": kind, "body": {"text": input.body}, "action": action});
    if let Some(h) = input.header.as_deref().filter(|h| !h.is_empty()) {
        interactive["header"] = json!({"type": "text", "text": h});
    }
    if let Some(f) = input.footer.as_deref().filter(|f| !f.is_empty()) {
        interactive["footer"] = json!({"text": f});
    }
    Ok(interactive)
}

fn section_json(section: &Section) -> Value {
    let rows: Vec<Value> = section
        .rows
        .iter()
        .map(|r| {
            let mut row = json!({"id": r.id, "title": r.title});
            if let Some(d) = r.description.as_deref().filter(|d| !d.is_empty()) {
                row["description"] = d.into();
            }
            row
        })
        .collect();
    let mut out = json!({"rows": rows});
    if let Some(t) = section.title.as_deref().filter(|t| !t.is_empty()) {
        out["title"] = t.into();
    }
    out
}

impl Messaging {
    /// Sends buttons, a list or a URL button through the shared send path. The row's
    /// type is `interactive` and its body the message's body text.
    pub async fn send_interactive(
        &self,
        input: SendInteractiveInput,
    ) -> Result<SendResult, MessagingError> {
        let interactive = build(&input)?;
        let (recipient, seen) = parse_recipient(&input.to)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(input.phone_number_id.clone())?;
        let reply_to = input.reply_to.clone().filter(|r| !r.trim().is_empty());
        let mut message = json!({"type": "interactive", "interactive": interactive});
        if let Some(wamid) = &reply_to {
            message["context"] = json!({"message_id": wamid});
        }
        let row = NewOutbound {
            phone_number_id: phone_number_id.clone(),
            recipient: seen,
            kind: "interactive".into(),
            body: Some(input.body.clone()),
            context_wamid: reply_to,
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

    fn buttons(n: usize) -> SendInteractiveInput {
        SendInteractiveInput {
            body: "Pick one".into(),
            buttons: Some(
                (0..n)
                    .map(|i| Button {
                        id: format!("b{i}"),
                        title: format!("Option {i}"),
                    })
                    .collect(),
            ),
            ..SendInteractiveInput::default()
        }
    }

    fn list(rows_per_section: &[usize]) -> SendInteractiveInput {
        let sections = rows_per_section
            .iter()
            .enumerate()
            .map(|(s, n)| Section {
                title: Some(format!("S{s}")),
                rows: (0..*n)
                    .map(|r| ListRow {
                        id: format!("r{s}-{r}"),
                        title: format!("Row {r}"),
                        description: None,
                    })
                    .collect(),
            })
            .collect();
        SendInteractiveInput {
            body: "Choose".into(),
            list: Some(ListInput {
                button: "Menu".into(),
                sections,
            }),
            ..SendInteractiveInput::default()
        }
    }

    fn error(input: &SendInteractiveInput) -> String {
        build(input).expect_err("refused").to_string()
    }

    #[test]
    fn each_broken_limit_is_named() {
        assert!(build(&buttons(3)).is_ok());
        assert!(error(&buttons(4)).contains("`buttons` must hold 1 to 3"));
        let mut long = buttons(1);
        long.buttons.as_mut().expect("buttons")[0].title = "x".repeat(21);
        assert!(error(&long).contains("buttons[0].title"));
        assert!(build(&list(&[5, 5])).is_ok());
        assert!(error(&list(&[6, 5])).contains("at most 10 rows"));
        let mut untitled = list(&[1, 1]);
        untitled.list.as_mut().expect("list").sections[1].title = None;
        assert!(error(&untitled).contains("list.sections[1].title"));
        let cta = |url: &str| SendInteractiveInput {
            body: "See".into(),
            cta: Some(Cta {
                text: "Open".into(),
                url: url.into(),
            }),
            ..SendInteractiveInput::default()
        };
        assert!(build(&cta("https://example.com")).is_ok());
        assert!(error(&cta("http://example.com")).contains("cta.url"));
        let mut two = buttons(1);
        two.cta = Some(Cta {
            text: "a".into(),
            url: "https://x.y".into(),
        });
        assert!(error(&two).contains("exactly one"));
        let mut dup = buttons(2);
        dup.buttons.as_mut().expect("buttons")[1].id = "b0".into();
        assert!(error(&dup).contains("used twice"));
    }

    #[test]
    fn the_interactive_object_is_metas_shape() {
        let mut input = buttons(1);
        input.header = Some("Hi".into());
        input.footer = Some("Bye".into());
        assert_eq!(
            build(&input).expect("valid"),
            json!({"type": "button", "body": {"text": "Pick one"},
                   "header": {"type": "text", "text": "Hi"}, "footer": {"text": "Bye"},
                   "action": {"buttons": [{"type": "reply", "reply": {"id": "b0", "title": "Option 0"}}]}})
        );
    }
}
