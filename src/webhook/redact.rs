//! Redaction of secret-looking values before anything is stored.

use serde_json::Value;

/// What replaces a redacted value.
pub const REDACTED: &str = "<redacted>";

/// True for a JSON key whose value must never be stored: any key containing `token`,
/// `secret`, `signature` or `password`, in any case.
pub fn is_secret_key(key: &str) -> bool {
    const NEEDLES: [&str; 4] = ["token", "secret", "signature", "password"];
    let lower = key.to_ascii_lowercase();
    NEEDLES.iter().any(|n| lower.contains(n))
}

/// Replaces the value of every secret-looking key with `"<redacted>"`, at any depth of
/// objects and arrays. A string that itself holds a JSON object or array (as a Flow's
/// `response_json` does) is redacted the same way and written back as JSON, so a
/// `flow_token` inside it is not stored either.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(s) => {
            if let Some(rewritten) = redact_embedded_json(s) {
                *s = rewritten;
            }
        }
        _ => {}
    }
}

/// The redacted form of a string holding JSON, or `None` when it holds no JSON
/// container or nothing in it needed redacting.
fn redact_embedded_json(s: &str) -> Option<String> {
    let trimmed = s.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    let mut inner: Value = serde_json::from_str(s).ok()?;
    let before = inner.clone();
    redact(&mut inner);
    (inner != before).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_nested_objects_and_arrays() {
        let mut v = json!({
            "access_token": "EAAG...",
            "profile": {"name": "Ana", "Password": "hunter2"},
            "items": [{"client_secret": "s"}, {"deep": [{"x_signature_y": 1}]}],
            "tokens": ["a", "b"],
            "body": "my token is here"
        });
        redact(&mut v);
        assert_eq!(
            v,
            json!({
                "access_token": REDACTED,
                "profile": {"name": "Ana", "Password": REDACTED},
                "items": [{"client_secret": REDACTED}, {"deep": [{"x_signature_y": REDACTED}]}],
                "tokens": REDACTED,
                "body": "my token is here"
            })
        );
    }

    #[test]
    fn redacts_json_held_in_a_string() {
        let mut v = json!({"response_json": "{\"flow_token\":\"abc\",\"choice\":\"blue\"}"});
        redact(&mut v);
        let inner: Value =
            serde_json::from_str(v["response_json"].as_str().expect("still a string"))
                .expect("still JSON");
        assert_eq!(inner, json!({"flow_token": REDACTED, "choice": "blue"}));
    }

    #[test]
    fn leaves_clean_values_alone() {
        let original = json!({"text": {"body": "{not json"}, "n": [1, 2, {"a": null}]});
        let mut v = original.clone();
        redact(&mut v);
        assert_eq!(v, original);
    }

    #[test]
    fn key_match_is_case_insensitive_substring() {
        assert!(is_secret_key("WA_APP_SECRET"));
        assert!(is_secret_key("hub.verify_token"));
        assert!(!is_secret_key("wa_id"));
    }
}
