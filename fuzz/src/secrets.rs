//! The one property every JSON-handling target shares: no secret survives redaction.

use serde_json::Value;
use wa_mcp::redact::{REDACTED, carries_json, is_secret_key, redact_carried_json, redact_text};

/// Panics when an object key matching `is_secret_key`, at any depth of `value`, holds
/// anything but `"<redacted>"`. The string of a JSON-carrying field (a Flow's
/// `response_json`) is read and checked the same way, and so, inside it, is every
/// string that holds JSON; text there that only looks like JSON (serde_json refuses it)
/// must be left with nothing for `redact_carried_json` to redact. Other strings are a
/// person's text and are not looked into.
pub fn assert_no_secret_values(value: &Value) {
    check(value, false);
}

fn check(value: &Value, deep: bool) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if is_secret_key(key) {
                    assert!(
                        v.as_str() == Some(REDACTED),
                        "secret-looking key {key:?} kept the value {v}"
                    );
                } else if let (false, true, Value::String(s)) = (deep, carries_json(key), v) {
                    check_carried(s);
                } else {
                    check(v, deep);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check(v, deep)),
        Value::String(s) if deep => check_carried(s),
        _ => {}
    }
}

/// The text of a JSON-carrying field, or a string inside one.
fn check_carried(s: &str) {
    match embedded_json(s) {
        Some(inner) => check(&inner, true),
        None => {
            let again = redact_carried_json(s);
            assert!(again == s, "carried JSON kept a secret: {s:?} -> {again:?}");
        }
    }
}

/// Panics when lexical redaction would still change `text`, that is when a
/// secret-looking `"key": value` or `key=value` in it holds anything but the
/// redaction mark.
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
