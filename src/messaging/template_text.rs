//! A template's text as its recipient reads it: the approved text from the templates list
//! with each `{{1}}` or `{{name}}` placeholder filled from the parameters `send_template`
//! was given, so the outbound row says what was sent and search finds it by those words.

use serde_json::Value;

use super::templates_list::{TemplateInfo, TemplatePart};

/// `template`'s lines (header, body, footer, buttons) with the placeholders of the header
/// and the body filled from `components`; a placeholder with no text parameter for it
/// (an image header, a parameter left out) stays as written.
pub(super) fn rendered_text(template: &TemplateInfo, components: Option<&Value>) -> String {
    template
        .lines
        .iter()
        .map(|(part, line)| match part {
            TemplatePart::Header => fill(line, &parameters(components, "header")),
            TemplatePart::Body => fill(line, &parameters(components, "body")),
            TemplatePart::Footer | TemplatePart::Button => line.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The parameters given for the component of type `kind` (`header`, `body`).
fn parameters<'a>(components: Option<&'a Value>, kind: &str) -> Vec<&'a Value> {
    components
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
        .filter_map(|c| c["parameters"].as_array())
        .flatten()
        .collect()
}

/// `line` with each `{{key}}` replaced by the text of the parameter it names: by position
/// (`{{1}}` is the first) or by `parameter_name`.
fn fill(line: &str, given: &[&Value]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        let key = after[..end].trim();
        let named = |p: &&&Value| p["parameter_name"].as_str() == Some(key);
        let parameter = match key.parse::<usize>() {
            Ok(n) if n >= 1 => given.get(n - 1).copied(),
            _ => given.iter().find(named).copied(),
        };
        match parameter.and_then(parameter_text) {
            Some(text) => out.push_str(text),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// What a parameter shows: its text, or the fallback of a currency or a date.
fn parameter_text(p: &Value) -> Option<&str> {
    match p["type"].as_str()? {
        "text" => p["text"].as_str(),
        "currency" => p["currency"]["fallback_value"].as_str(),
        "date_time" => p["date_time"]["fallback_value"].as_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messaging::templates_list::template_info;

    #[test]
    fn placeholders_are_filled_per_part_by_position_or_name() {
        let template = template_info(&json!({"name": "order_update", "language": "en_US",
            "status": "APPROVED", "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
                {"type": "BODY", "text": "Hi {{1}}, {{2}} is due on {{3}}. {{ note }} {{4}}"},
                {"type": "FOOTER", "text": "Reply STOP"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]}]}));
        let components = json!([
            {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "Ada"},
                {"type": "currency", "currency": {"fallback_value": "$12.50", "code": "USD",
                                                  "amount_1000": 12500}},
                {"type": "date_time", "date_time": {"fallback_value": "1 March"}},
                {"type": "text", "parameter_name": "note", "text": "Thanks!"}]}]);
        assert_eq!(
            rendered_text(&template, Some(&components)),
            "Order #42\nHi Ada, $12.50 is due on 1 March. Thanks! Thanks!\nReply STOP\n\
             [quick_reply: Stop]"
        );
        // Nothing given: the text as approved, placeholders kept.
        assert_eq!(
            rendered_text(&template, None),
            "Order {{1}}\nHi {{1}}, {{2}} is due on {{3}}. {{ note }} {{4}}\nReply STOP\n\
             [quick_reply: Stop]"
        );
    }
}
