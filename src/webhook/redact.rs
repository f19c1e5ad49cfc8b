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
    let Ok(mut inner) = serde_json::from_str::<Value>(s) else {
        // JSON serde_json refuses (a lone surrogate, a huge number) is redacted as text.
        let redacted = redact_text(s);
        return (redacted != s).then_some(redacted);
    };
    let before = inner.clone();
    redact(&mut inner);
    (inner != before).then(|| inner.to_string())
}

/// Redacts text that looks like JSON but is not valid JSON (it is still kept, so a
/// delivery can be reprocessed after a fix): every `"key": value` whose key is
/// secret-looking gets `"<redacted>"` as its value, whether the value is a string, a
/// bare token, or a nested object or array. Keys are compared after undoing `\uXXXX`
/// escapes, so an escaped key is caught too.
pub fn redact_text(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let end = string_end(b, i);
        // Without its closing quote (the text ends inside the string) the key runs to
        // the end; with it, the quote is dropped. Either way the cut is at a char boundary.
        let key_end = if end > i + 1 && b[end - 1] == b'"' {
            end - 1
        } else {
            end
        };
        let key = unescape_lossy(&text[i + 1..key_end]);
        let colon = skip_space(b, end);
        if colon < b.len() && b[colon] == b':' && is_secret_key(&key) {
            let value = skip_space(b, colon + 1);
            out.push_str(&text[copied..value]);
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
            i = value_end(b, value);
            copied = i;
        } else {
            i = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The index just past the string literal opening at `start` (or the end of the text).
fn string_end(b: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

fn skip_space(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && b[j].is_ascii_whitespace() {
        j += 1;
    }
    j
}

/// The index just past the value starting at `start`: a string, a balanced object or
/// array, or a bare token ending at `,`, `}`, `]` or space.
fn value_end(b: &[u8], start: usize) -> usize {
    match b.get(start) {
        None => b.len(),
        Some(b'"') => string_end(b, start),
        Some(b'{' | b'[') => {
            let (mut depth, mut j) = (0usize, start);
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        Some(_) => {
            let mut j = start;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            j
        }
    }
}

/// A key's text with `\uXXXX` escapes undone (invalid ones dropped) and other escapes
/// reduced to their character: enough to match it against the secret needles.
fn unescape_lossy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
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
    fn text_that_serde_json_refuses_is_redacted_lexically() {
        let text = r#"{"a":"\ud800","access_token":"EAAG-1","n":1e999,"acc\u0065ss_Token" : x,
                       "secret":{"deep":["}",1]},"keep":"token-looking value","password"#;
        assert!(serde_json::from_str::<Value>(text).is_err());
        let out = redact_text(text);
        for leaked in ["EAAG-1", ": x", "deep"] {
            assert!(!out.contains(leaked), "{leaked} kept in {out}");
        }
        assert!(out.contains(r#""keep":"token-looking value""#), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        assert!(
            out.starts_with(r#"{"a":"\ud800","access_token":"<redacted>","n":1e999"#),
            "{out}"
        );
    }

    #[test]
    fn an_unterminated_string_ending_in_a_multibyte_char_does_not_panic() {
        // Found by the `normalise` fuzz target.
        let text = "=11112FFFF\\\"FFFFFFFFFFFFFFFFF\u{fffd}";
        assert_eq!(redact_text(text), text);
        assert_eq!(redact_text("{\"token\u{e9}"), "{\"token\u{e9}");
        assert_eq!(redact_text("\""), "\"");
    }

    #[test]
    fn a_refused_embedded_json_string_is_redacted_too() {
        let mut v = json!({"response_json": "{\"flow_token\":\"abc\",\"x\":\"\\ud800\"}"});
        redact(&mut v);
        let stored = v["response_json"].as_str().expect("string");
        assert!(!stored.contains("abc"), "{stored}");
    }

    #[test]
    fn key_match_is_case_insensitive_substring() {
        assert!(is_secret_key("WA_APP_SECRET"));
        assert!(is_secret_key("hub.verify_token"));
        assert!(!is_secret_key("wa_id"));
    }
}
