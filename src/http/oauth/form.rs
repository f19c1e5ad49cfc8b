//! Reading what the OAuth routes receive: a bounded body within the body timeout, and
//! `application/x-www-form-urlencoded` pairs (query strings and form posts).

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};

use crate::http::BODY_TIMEOUT;

/// The largest form or registration body read: far above any real one.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The whole body, or `None` when it is larger than [`MAX_FORM_BYTES`], unreadable or
/// too slow (nothing past the limit is read).
pub async fn read_small_body(body: Incoming) -> Option<Bytes> {
    let limited = Limited::new(body, MAX_FORM_BYTES);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => Some(collected.to_bytes()),
        _ => None,
    }
}

/// The pairs of a urlencoded string, decoded (`+` is a space; bad escapes stay as
/// written). A key given twice keeps its first value, per [`Pairs::get`].
#[derive(Debug, Default)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub fn parse(input: &str) -> Pairs {
        Pairs(
            input
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`, if given and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Whether `key` appears more than once (OAuth parameters must not repeat).
    pub fn repeated(&self, key: &str) -> bool {
        self.0.iter().filter(|(k, _)| k == key).count() > 1
    }

    pub fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(hex_pair) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |c: u8| char::from(c).to_digit(16);
    u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_plus_and_escapes() {
        let p = Pairs::parse("a=1&b=x+y%20z&c=%E2%9C%93&d=%zz&a=2&e=");
        assert_eq!(p.get("a"), Some("1"));
        assert!(p.repeated("a"));
        assert_eq!(p.get("b"), Some("x y z"));
        assert_eq!(p.get("c"), Some("\u{2713}"));
        assert_eq!(p.get("d"), Some("%zz"));
        assert_eq!(p.get("e"), None);
        assert_eq!(p.get("missing"), None);
    }
}
