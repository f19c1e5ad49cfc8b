//! Request ids and the client address, from headers a proxy may set.

use std::net::SocketAddr;

use hyper::HeaderMap;
use uuid::Uuid;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The incoming `X-Request-Id` when it is sane (1 to 128 characters of letters, digits,
/// `-`, `_`, `.`, `:`), else a new UUID.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The address to log for the client. One proxy hop is trusted: the last
/// `X-Forwarded-For` entry when present and well-formed, else the peer address.
pub fn client_addr(headers: &HeaderMap, peer: SocketAddr) -> String {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .map(str::trim)
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        .map_or_else(|| peer.ip().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn keeps_a_sane_request_id_and_replaces_others() {
        assert_eq!(
            from_headers(&headers(&[("x-request-id", "abc-123")])),
            "abc-123"
        );
        let replaced = from_headers(&headers(&[("x-request-id", "bad id<script>")]));
        assert!(Uuid::parse_str(&replaced).is_ok());
    }

    #[test]
    fn trusts_one_proxy_hop() {
        let peer: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(client_addr(&h, peer), "203.0.113.7");
        assert_eq!(
            client_addr(&headers(&[("x-forwarded-for", "junk")]), peer),
            "127.0.0.1"
        );
        assert_eq!(client_addr(&HeaderMap::new(), peer), "127.0.0.1");
    }
}
