//! The one property every JSON-handling target shares: no secret survives redaction.

use serde_json::Value;
use wa_mcp::webhook::redact::{REDACTED, is_secret_key, redact_text};

/// Panics when an object key matching `is_secret_key`, at any depth of `value`, holds
/// anything but `"<redacted>"`. Strings that hold a JSON object or array are read and
/// checked the same way, since `redact` promises to redact those too (a Flow's
/// `response_json`); a string that only looks like JSON (serde_json refuses it) must be
/// left with nothing for `redact_text` to redact.
pub fn assert_no_secret_values(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if is_secret_key(key) {
                    assert!(
                        v.as_str() == Some(REDACTED),
                        "secret-looking key {key:?} kept the value {v}"
                    );
                } else {
                    assert_no_secret_values(v);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_secret_values),
        Value::String(s) => match embedded_json(s) {
            Some(inner) => assert_no_secret_values(&inner),
            None if looks_like_json(s) => assert_nothing_left_to_redact(s),
            None => {}
        },
        _ => {}
    }
}

/// Panics when lexical redaction would still change `text`, that is when a
/// secret-looking `"key": value` in it holds anything but `"<redacted>"`.
pub fn assert_nothing_left_to_redact(text: &str) {
    let again = redact_text(text);
    assert!(again == text, "text kept a secret: {text:?} -> {again:?}");
}

/// The JSON object or array a string holds, if it holds one.
pub fn embedded_json(s: &str) -> Option<Value> {
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// What `redact` treats as JSON held in a string: text starting with `{` or `[`.
fn looks_like_json(s: &str) -> bool {
    let trimmed = s.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}
