//! Text made safe to print on the owner's terminal.
//!
//! Anything a WhatsApp user (or anyone on the internet) chose can reach the owner's
//! terminal through `wa-mcp messages`, `events` and the like: a name, a message, a
//! request id, a field Meta passed on. Printed raw, an ESC starts a control sequence
//! (which can retitle the window, hide the rest of the line or, on some terminals, write
//! to the clipboard), a CR overwrites what came before it, and a bidi override shows the
//! text in another order than it is stored. Every command that prints such text passes
//! it through [`for_terminal`] (a table column, a line) or [`json_for_terminal`] (a
//! JSON line) first.

use std::borrow::Cow;
use std::fmt::Write;

/// True for a character that must not reach a terminal as itself: the C0 controls
/// (newline and tab included), DEL, the C1 controls (U+0080..U+009F, which some
/// terminals read as ESC sequences), the bidi embeddings, overrides, isolates and marks,
/// and the line and paragraph separators.
pub fn is_unsafe_for_terminal(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` with every character [`is_unsafe_for_terminal`] written out as an escape a
/// reader can see: `\n`, `\r`, `\t`, `\x1b` for the other ASCII controls, `\u{202e}`
/// for the rest. Everything else, any script and emoji included, is left as it is, so
/// the result is one line that shows what was stored. Borrowed when nothing changed.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && is_unsafe_for_terminal(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe_for_terminal(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A line of JSON (as serde_json writes it, which escapes only the C0 controls) with
/// every other character [`is_unsafe_for_terminal`] written as a `\uXXXX` escape. Such
/// characters can only occur inside JSON strings, where the escape means the same
/// character, so the result parses to the same value.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if is_unsafe_for_terminal(c) {
            // Every such character is in the Basic Multilingual Plane: one \u escape.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_not_obeyed() {
        let hostile = "hi\u{1b}]0;pwned\u{7}\r\nok\u{202e}txt.exe\u{9b}2J\u{2066}x\u{7f}";
        let shown = for_terminal(hostile);
        assert_eq!(
            shown,
            "hi\\x1b]0;pwned\\x07\\r\\nok\\u{202e}txt.exe\\u{9b}2J\\u{2066}x\\x7f"
        );
        assert!(!shown.chars().any(is_unsafe_for_terminal));
    }

    #[test]
    fn ordinary_text_of_any_script_is_borrowed_unchanged() {
        for text in ["Olá, tudo bem? 👍", "שלום", "مرحبا", "你好", "a\\nb"] {
            assert!(matches!(for_terminal(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn json_keeps_its_meaning() {
        let value = serde_json::json!({"body": "a\u{202e}b\u{1b}[2J\u{85}c"});
        let line = value.to_string();
        let shown = json_for_terminal(&line);
        assert!(!shown.chars().any(is_unsafe_for_terminal), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
        assert_eq!(back, value);
    }
}
