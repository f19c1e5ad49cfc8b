//! Which requests count as local: a request straight from this machine, naming this
//! machine. Routes that must never be reachable through the owner's tunnel, or from a web
//! page by DNS rebinding, ask [`is_direct_loopback`] before answering.
//!
//! Two checks, because each alone is beaten by one attacker:
//! - a tunnel (cloudflared, ngrok) connects from loopback too, but adds a proxy header and
//!   sends the public host name;
//! - a page that rebinds its own name to 127.0.0.1 connects from loopback with no proxy
//!   header, but its `Host` is still that name, never `localhost` or a loopback address.

use std::net::{IpAddr, SocketAddr};

use hyper::Request;
use hyper::header::{HOST, HeaderMap};

/// The connection's peer, put on every request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Headers a proxy or tunnel adds (cloudflared and ngrok send `X-Forwarded-For`).
pub const PROXY_HEADERS: [&str; 4] = [
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "cf-connecting-ip",
];

/// True only for a request whose peer is a loopback address, that carries none of the
/// [`PROXY_HEADERS`], and whose `Host` (header, or the authority of an absolute URI) is
/// a loopback name: `localhost`, a `*.localhost` name, or a loopback IP literal, with
/// any port. A request without a `Host`, or without a [`PeerAddr`], is not local.
pub fn is_direct_loopback<B>(req: &Request<B>) -> bool {
    let peer_ok = req
        .extensions()
        .get::<PeerAddr>()
        .is_some_and(|p| p.0.ip().to_canonical().is_loopback());
    peer_ok && !came_through_proxy(req.headers()) && has_loopback_host(req)
}

/// True when any of the [`PROXY_HEADERS`] is present.
pub fn came_through_proxy(headers: &HeaderMap) -> bool {
    PROXY_HEADERS.iter().any(|h| headers.contains_key(*h))
}

/// True when every host the request names is a loopback name, and it names one.
fn has_loopback_host<B>(req: &Request<B>) -> bool {
    let header = req.headers().get(HOST).map(|v| v.to_str().ok());
    let uri_host = req.uri().authority().map(|a| a.as_str());
    match (header, uri_host) {
        (None, None) | (Some(None), _) => false,
        (Some(Some(h)), None) => is_loopback_host(h),
        (None, Some(u)) => is_loopback_host(u),
        (Some(Some(h)), Some(u)) => is_loopback_host(h) && is_loopback_host(u),
    }
}

/// True for `localhost`, `*.localhost` (RFC 6761: always loopback), `127.0.0.0/8` and
/// `[::1]` (or an IPv4-mapped loopback), each with an optional `:port`; case-insensitive,
/// a trailing dot allowed.
pub fn is_loopback_host(host: &str) -> bool {
    let name = strip_port(host.trim());
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return inner
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback());
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || (name.ends_with(".localhost") && name.len() > ".localhost".len())
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`; a bare IPv6 or name is returned as is.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::get("/metrics");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut req = builder.body(()).expect("request");
        req.extensions_mut()
            .insert(PeerAddr(peer.parse().expect("peer")));
        req
    }

    #[test]
    fn loopback_names_are_told_from_others() {
        for local in [
            "localhost",
            "LOCALHOST:3000",
            "localhost.",
            "metrics.localhost:9",
            "127.0.0.1",
            "127.8.9.1:3000",
            "[::1]:3000",
            "[::1]",
            "::1",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback_host(local), "{local}");
        }
        for other in [
            "",
            "example.com",
            "localhost.example.com",
            "127.0.0.1.nip.io",
            "evil-localhost",
            ".localhost",
            "10.0.0.1:3000",
            "0.0.0.0",
            "[::2]",
            "192.168.1.5",
            "localhost:3000:1",
        ] {
            assert!(!is_loopback_host(other), "{other}");
        }
    }

    #[test]
    fn only_a_direct_loopback_request_naming_loopback_is_local() {
        assert!(is_direct_loopback(&request(
            "127.0.0.1:5000",
            &[("host", "127.0.0.1:3000")]
        )));
        assert!(is_direct_loopback(&request(
            "[::1]:5000",
            &[("host", "localhost:3000")]
        )));
        // DNS rebinding: loopback peer, no proxy header, the attacker's name as Host.
        assert!(!is_direct_loopback(&request(
            "127.0.0.1:5000",
            &[("host", "rebind.example:3000")]
        )));
        // A tunnel: loopback peer and Host rewritten, but a proxy header.
        assert!(!is_direct_loopback(&request(
            "127.0.0.1:5000",
            &[
                ("host", "localhost:3000"),
                ("x-forwarded-for", "203.0.113.7")
            ]
        )));
        assert!(!is_direct_loopback(&request(
            "192.168.1.20:5000",
            &[("host", "localhost:3000")]
        )));
        assert!(!is_direct_loopback(&request("127.0.0.1:5000", &[])));
        let no_peer = Request::get("/").header("host", "localhost").body(());
        assert!(!is_direct_loopback(&no_peer.expect("request")));
    }
}
