//! Redaction of secret-looking values before anything is stored, inbound (a webhook
//! delivery) or outbound (a request we sent Meta).
//!
//! The rule: the value of every key containing `token`, `secret`, `signature` or
//! `password` (any case, any depth) becomes `"<redacted>"`. A string is text as someone
//! wrote it and is never rewritten, however much it looks like JSON, with one exception:
//! a field Meta defines as carrying JSON ([`JSON_FIELDS`], a Flow reply's
//! `response_json`) is read as the JSON it holds and redacted by the same rule, deeply
//! (JSON held in its strings too). Text that is not valid JSON at all is scrubbed
//! lexically by [`redact_text`]. Everything here is pure and idempotent: redacting
//! twice gives what redacting once gave.

use std::borrow::Cow;

use serde_json::Value;

/// What replaces a redacted value.
pub const REDACTED: &str = "<redacted>";

/// Keys whose string value Meta defines as JSON text: a Flow reply's
/// `interactive.nfm_reply.response_json`, which holds the Flow's `flow_token` and what
/// the person filled in.
pub const JSON_FIELDS: &[&str] = &["response_json"];

/// True for a JSON key whose value must never be stored: any key containing `token`,
/// `secret`, `signature` or `password`, in any case.
pub fn is_secret_key(key: &str) -> bool {
    const NEEDLES: [&str; 4] = ["token", "secret", "signature", "password"];
    let lower = key.to_ascii_lowercase();
    NEEDLES.iter().any(|n| lower.contains(n))
}

/// True for a key whose string value is JSON text by Meta's definition ([`JSON_FIELDS`]).
pub fn carries_json(key: &str) -> bool {
    JSON_FIELDS.contains(&key)
}

/// Replaces the value of every secret-looking key with `"<redacted>"`, at any depth of
/// objects and arrays. Strings are left exactly as they are, except the value of a
/// [`JSON_FIELDS`] key, which is redacted as the JSON it carries
/// ([`redact_carried_json`]).
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    *v = Value::String(REDACTED.to_owned());
                } else if let (true, Value::String(s)) = (carries_json(key), &mut *v) {
                    if let Cow::Owned(rewritten) = redact_carried_json(s) {
                        *s = rewritten;
                    }
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The stored form of a document given as JSON text (the body of a request to Meta):
/// [`redact`] on what it parses to, written back compactly; [`redact_text`] when it
/// does not parse.
pub fn redact_serialized(json: &str) -> String {
    match serde_json::from_str::<Value>(json) {
        Ok(mut value) => {
            redact(&mut value);
            value.to_string()
        }
        Err(_) => redact_text(json),
    }
}

/// The stored form of text a [`JSON_FIELDS`] key carries. Secret-looking keys lose their
/// values at any depth, and so do those of JSON held in its strings, at any depth: the
/// whole value is machine-made. Written back as JSON when anything changed, lexically
/// (as [`redact_text`] does, without the `key=value` pass) when serde_json refuses it;
/// borrowed unchanged when it holds no JSON container or nothing needed redacting.
pub fn redact_carried_json(text: &str) -> Cow<'_, str> {
    if !looks_like_json(text) {
        return Cow::Borrowed(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut inner) => {
            let before = inner.clone();
            redact_deep(&mut inner);
            if inner == before {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(inner.to_string())
            }
        }
        Err(_) => {
            let redacted = redact_quoted_pairs(text, true);
            if redacted == text {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(redacted)
            }
        }
    }
}

/// [`redact`] for the inside of a JSON-carrying field: every string that holds JSON is
/// redacted as carried JSON too.
fn redact_deep(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_deep(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_deep),
        Value::String(s) => {
            if let Cow::Owned(rewritten) = redact_carried_json(s) {
                *s = rewritten;
            }
        }
        _ => {}
    }
}

/// Text starting (after white space) with `{` or `[`.
fn looks_like_json(s: &str) -> bool {
    let trimmed = s.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

/// Scrubs text that is not valid JSON (it is still kept, so a delivery can be
/// reprocessed after a fix, which is why it is not rewritten more than this). Two
/// passes:
/// - every `"key": value` whose key is secret-looking gets `"<redacted>"` as its value,
///   whether the value is a string, a bare token, or a nested object or array, and the
///   string value of a [`JSON_FIELDS`] key is redacted as [`redact_carried_json`] would;
///   keys are compared after undoing `\uXXXX` escapes, so an escaped key is caught too;
/// - then every `key=value` (form-encoded, a query string, a log line; spaces around
///   `=` allowed, `%XX` in the key decoded) whose key is secret-looking gets
///   `<redacted>` as its value, which runs to the next `&`, `;`, `,`, quote, backslash,
///   closing bracket or white space. This pass looks inside string literals too: in a
///   body that is not JSON nothing tells a person's text from a secret.
pub fn redact_text(text: &str) -> String {
    let quoted = redact_quoted_pairs(text, false);
    match redact_key_values(&quoted) {
        Cow::Borrowed(_) => quoted,
        Cow::Owned(scrubbed) => scrubbed,
    }
}

/// The `"key": value` pass of [`redact_text`]. With `deep` (inside a JSON-carrying
/// field) every string literal that is a value and holds JSON is redacted as carried
/// JSON; without it only those of [`JSON_FIELDS`] keys are.
fn redact_quoted_pairs(text: &str, deep: bool) -> String {
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
        let colon = skip_space(b, end);
        if colon >= b.len() || b[colon] != b':' {
            // Not a key: a value, or an array element.
            if let Some(rewritten) = deep.then(|| redact_literal(&text[i..end])).flatten() {
                out.push_str(&text[copied..i]);
                out.push_str(&rewritten);
                copied = end;
            }
            i = end;
            continue;
        }
        let key = unescape_lossy(&text[i + 1..key_end]);
        let value = skip_space(b, colon + 1);
        if is_secret_key(&key) {
            out.push_str(&text[copied..value]);
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
            i = value_end(b, value);
            copied = i;
        } else if !deep && carries_json(&key) && b.get(value) == Some(&b'"') {
            let value_end = string_end(b, value);
            if let Some(rewritten) = redact_literal(&text[value..value_end]) {
                out.push_str(&text[copied..value]);
                out.push_str(&rewritten);
                copied = value_end;
            }
            i = value_end;
        } else {
            i = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A JSON string literal (quotes included) whose text holds JSON with something to
/// redact, written back as a literal of the redacted text; `None` when there is nothing
/// to redact. A literal that does not decode (a lone surrogate, no closing quote) is
/// replaced whole when its text names a secret at all.
fn redact_literal(literal: &str) -> Option<String> {
    match serde_json::from_str::<String>(literal) {
        Ok(inner) => match redact_carried_json(&inner) {
            Cow::Borrowed(_) => None,
            Cow::Owned(redacted) => serde_json::to_string(&redacted).ok(),
        },
        Err(_) => {
            let text = unescape_lossy(literal.get(1..).unwrap_or_default());
            (looks_like_json(&text) && is_secret_key(&text)).then(|| format!("\"{REDACTED}\""))
        }
    }
}

/// The `key=value` pass of [`redact_text`].
fn redact_key_values(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'=' {
            i += 1;
            continue;
        }
        let key_end = skip_space_back(b, i);
        let mut key_start = key_end;
        while key_start > 0 && is_form_key_byte(b[key_start - 1]) {
            key_start -= 1;
        }
        let start = skip_inline_space(b, i + 1);
        let mut end = start;
        while end < b.len() && !ends_form_value(b[end]) {
            end += 1;
        }
        let key = percent_decode_lossy(&text[key_start..key_end]);
        if key_start < key_end
            && end > start
            && is_secret_key(&key)
            && &text[start..end] != REDACTED
        {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
            i = end;
        } else {
            // The next `=` may start a pair of its own (`a=b=token=x`).
            i += 1;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn is_form_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'%' | b'[' | b']')
}

fn ends_form_value(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'&' | b';' | b',' | b'"' | b'\'' | b'\\' | b'}' | b']' | b')'
        )
}

/// `%XX` escapes undone (bytes that are not UTF-8 become U+FFFD), `+` left as is.
fn percent_decode_lossy(key: &str) -> String {
    let b = key.as_bytes();
    let mut bytes = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (c, _) => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn skip_space_back(b: &[u8], mut j: usize) -> usize {
    while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    j
}

fn skip_inline_space(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && matches!(b[j], b' ' | b'\t') {
        j += 1;
    }
    j
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

    /// Guards finding 5 of the hardening review: a person's text that happens to be
    /// JSON used to be re-sorted and redacted.
    #[test]
    fn a_persons_text_that_is_json_is_kept_exactly_as_written() {
        let text = r#"{"zeta": 1, "my_password_hint": "blue"}"#;
        let mut v = json!({"text": {"body": text}, "caption": "[1,{\"token\":2}]"});
        let original = v.clone();
        redact(&mut v);
        assert_eq!(v, original);
        assert_eq!(v["text"]["body"], text);
    }

    /// Guards the open defect of the fuzz findings: JSON held in a string inside a
    /// `response_json` that serde_json refuses was not looked at.
    #[test]
    fn json_in_a_string_inside_a_refused_response_json_is_redacted() {
        let carried = r#"{"x":1e999,"nested":"{\"client_secret\":\"S3\"}","n":"[\"keep\"]"}"#;
        let mut v = json!({"response_json": carried});
        redact(&mut v);
        let stored = v["response_json"].as_str().expect("a string");
        assert!(!stored.contains("S3"), "{stored}");
        assert!(stored.contains(r#""n":"[\"keep\"]""#), "{stored}");
        assert!(stored.starts_with(r#"{"x":1e999,"nested":"#), "{stored}");
        let mut again = v.clone();
        redact(&mut again);
        assert_eq!(again, v, "idempotent");
    }

    /// Guards finding 4 of the hardening review: a signed body that is not JSON was kept
    /// with `access_token=...` in it.
    #[test]
    fn key_value_secrets_in_text_that_is_not_json_are_scrubbed() {
        let body = "access_token=EAAG1&x=1&Client_Secret = s2;a=b=token=t3 \
                    access%5Ftoken=t4&page=2&\"password\": hunter2, tokenless=ok";
        let out = redact_text(body);
        for leaked in ["EAAG1", "s2", "t3", "t4", "hunter2"] {
            assert!(!out.contains(leaked), "{leaked} kept in {out}");
        }
        for kept in ["x=1", "page=2", "a=b="] {
            assert!(out.contains(kept), "{kept} lost from {out}");
        }
        assert!(out.contains("tokenless=<redacted>"), "{out}");
        assert_eq!(redact_text(&out), out, "idempotent");
    }

    #[test]
    fn outbound_json_text_is_redacted_like_inbound() {
        let sent = json!({"type": "template", "template": {"components": [{"type": "button",
            "sub_type": "flow", "parameters": [{"type": "action",
            "action": {"flow_token": "FT-1", "flow_action_data": {"a": 1}}}]}]}});
        let stored = redact_serialized(&sent.to_string());
        assert!(!stored.contains("FT-1"), "{stored}");
        let mut expected = sent;
        redact(&mut expected);
        assert_eq!(stored, expected.to_string());
    }

    #[test]
    fn key_match_is_case_insensitive_substring() {
        assert!(is_secret_key("WA_APP_SECRET"));
        assert!(is_secret_key("hub.verify_token"));
        assert!(!is_secret_key("wa_id"));
    }
}
