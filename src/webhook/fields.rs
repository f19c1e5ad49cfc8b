//! Reading fields out of Meta's JSON the same lenient way everywhere: missing or
//! mistyped fields are absent, never an error.

use serde_json::{Map, Value};

/// The elements of `obj[key]` when it is an array; nothing otherwise.
pub(super) fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a Value> {
    obj.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// `obj[key]` as text: strings as given (empty ones dropped), numbers written out.
pub(super) fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
