//! `signature_header` target: the `X-Hub-Signature-256` parser and verifier.

use wa_mcp::hex::to_hex;
use wa_mcp::webhook::SignatureError;
use wa_mcp::webhook::signature::{
    parse_signature_header, sign, signature_header, verify_signature,
};

/// The app secret the verifier is keyed with.
const SECRET: &[u8] = b"secret";

/// Parses all of `data` as a header, then splits it (the first byte is the header's
/// length, the rest is the body) and checks `verify_signature` on the pair, and that a
/// header made by `signature_header` always verifies.
pub fn check(data: &[u8]) {
    check_parse(data);
    let (header, body) = split(data);
    check_verify(header, body);
    check_round_trip(header, body);
}

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.split_first() {
        Some((&len, rest)) => rest.split_at(usize::from(len).min(rest.len())),
        None => (&[], &[]),
    }
}

/// A header is accepted only as `sha256=` and 64 hex digits, and then names exactly
/// the bytes those digits spell; anything else is `Malformed`.
fn check_parse(header: &[u8]) {
    match parse_signature_header(header) {
        Ok(digest) => {
            let hex = header.strip_prefix(b"sha256=");
            assert!(hex.is_some(), "accepted a header without sha256=");
            let hex = hex.unwrap_or_default().to_ascii_lowercase();
            assert_eq!(
                to_hex(&digest).as_bytes(),
                hex,
                "digest does not round-trip"
            );
        }
        Err(e) => assert_eq!(e, SignatureError::Malformed),
    }
}

/// `verify_signature` says `Ok` exactly when the header parses and names the HMAC of
/// the body, `Mismatch` when it parses but names another digest, and `Missing` for no
/// header at all.
fn check_verify(header: &[u8], body: &[u8]) {
    let expected = match parse_signature_header(header) {
        Err(e) => Err(e),
        Ok(claimed) if claimed == sign(SECRET, body) => Ok(()),
        Ok(_) => Err(SignatureError::Mismatch),
    };
    assert_eq!(verify_signature(SECRET, body, Some(header)), expected);
    assert_eq!(
        verify_signature(SECRET, body, None),
        Err(SignatureError::Missing)
    );
}

/// What Meta would send verifies, in lower or upper case and under any secret (here
/// also the header bytes as one); the same header over another body does not.
fn check_round_trip(header: &[u8], body: &[u8]) {
    for secret in [SECRET, header] {
        let good = signature_header(secret, body);
        assert_eq!(good.len(), 71, "{good:?}");
        assert_eq!(
            verify_signature(secret, body, Some(good.as_bytes())),
            Ok(())
        );
        let upper = format!("sha256={}", good["sha256=".len()..].to_ascii_uppercase());
        assert_eq!(
            verify_signature(secret, body, Some(upper.as_bytes())),
            Ok(())
        );
        let other_body = [body, b"\0"].concat();
        assert_eq!(
            verify_signature(secret, &other_body, Some(good.as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }
}
