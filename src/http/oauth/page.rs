//! The consent page and the error page: small HTML written by hand, every value from a
//! request or a client HTML-escaped (and the client's name and host isolated in
//! `<bdi>`, so no direction it carries reorders the sentence around it), served with a
//! strict Content-Security-Policy, no framing and no caching.

use hyper::StatusCode;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};

use crate::http::HttpResponse;
use crate::messaging::oauth::ConsentPage;

/// The path the consent form posts to.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// The cookie that ties a consent form to the browser that opened it.
pub const CONSENT_COOKIE: &str = "wa_mcp_consent";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;\
padding:0 1rem;line-height:1.45}code{background:#eee;padding:0 .2rem}.error{color:#a00}\
input[type=password]{width:100%;padding:.4rem;font-size:1rem}button{padding:.4rem 1rem;\
font-size:1rem;margin-right:.5rem}";

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The consent form. `secure` marks the cookie `Secure` (an https public URL).
pub fn consent(page: &ConsentPage, secure: bool) -> HttpResponse {
    let error = page
        .error
        .as_deref()
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>Approve a client - wa-mcp</title>\
<style>{STYLE}</style></head><body><h1>Connect a client to your WhatsApp</h1>{error}\
<p><strong><bdi>{name}</bdi></strong> (client <code>{id}</code>) asks to use this wa-mcp. \
Approving sends you back to <strong><bdi>{host}</bdi></strong>.</p>\
<p>If you approve, that client can, until you revoke it with <code>wa-mcp auth revoke</code>:</p>\
<ul><li>read every message, contact and conversation stored here, and the media people sent;</li>\
<li>send WhatsApp messages, reactions and media from your business number, within \
<code>WA_ALLOWED_RECIPIENTS</code> when it is set;</li><li>mark messages read.</li></ul>\
<p>Approve only if you started this from a client you use yourself.</p>\
<form method=\"post\" action=\"{AUTHORIZE_PATH}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<p><label for=\"p\">Owner passphrase (set with <code>wa-mcp auth passphrase</code>)</label><br>\
<input id=\"p\" type=\"password\" name=\"passphrase\" autocomplete=\"current-password\" autofocus></p>\
<p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form></body></html>",
        name = escape(&page.client_name),
        id = escape(&page.client_id),
        host = escape(&page.redirect_host),
        csrf = escape(&page.csrf),
    );
    let status = if page.error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut resp = html(status, body);
    if let Some(cookie) = &page.cookie {
        let secure = if secure { "; Secure" } else { "" };
        let value = format!(
            "{CONSENT_COOKIE}={cookie}; Path={AUTHORIZE_PATH}; HttpOnly; SameSite=Strict; Max-Age=600{secure}"
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(hyper::header::SET_COOKIE, v);
        }
    }
    resp
}

/// An error page: nothing is redirected.
pub fn error(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Cannot authorize - wa-mcp</title><style>{STYLE}</style></head><body>\
<h1>This request cannot be authorized</h1><p>{}</p></body></html>",
        escape(message)
    );
    html(status, body)
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut resp = crate::http::respond::text(status, body);
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }
}
