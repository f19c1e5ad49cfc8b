//! The `X-Hub-Signature-256` check that decides whether a POST came from Meta.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::hex::to_hex;

/// Why a delivery's signature was refused. Every variant is answered the same way
/// (404, nothing written); the variant only goes to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carried no `X-Hub-Signature-256` header at all.
    #[error("no X-Hub-Signature-256 header")]
    Missing,
    /// The header is not exactly `sha256=` and 64 hex digits; nothing was computed.
    #[error("X-Hub-Signature-256 is not `sha256=` followed by 64 hex digits")]
    Malformed,
    /// Well formed, but not the HMAC of these bytes under the configured app secret: a
    /// forgery, a body changed on the way, or a different app secret on each side.
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// Checks `header` (the raw `X-Hub-Signature-256` value) against HMAC-SHA256 of the
/// exact bytes received, keyed with the app secret.
///
/// The contract it keeps: the header must be `sha256=` and exactly 64 hex digits (either
/// case, since hex is case-insensitive; no surrounding space, no other algorithm); the
/// digest is computed over the raw body before any parsing, and compared in constant
/// time, so the comparison leaks nothing about how much of a forged signature matched.
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&[u8]>,
) -> Result<(), SignatureError> {
    let mut verifier = SignatureVerifier::new(app_secret, header)?;
    verifier.update(body);
    verifier.verify()
}

/// [`verify_signature`] for a body that arrives in pieces: the header is checked first,
/// so a request without a well-formed one is refused before a byte of its body is read,
/// and the HMAC is then computed as the pieces come, with nothing kept but its state.
///
/// Feeding every piece in order to [`SignatureVerifier::update`] and then calling
/// [`SignatureVerifier::verify`] gives exactly what [`verify_signature`] gives for the
/// whole body.
pub struct SignatureVerifier {
    claimed: [u8; 32],
    mac: Hmac<Sha256>,
}

impl SignatureVerifier {
    /// Starts checking a body against `header`: [`SignatureError::Missing`] or
    /// [`SignatureError::Malformed`] at once when the header cannot name a digest.
    pub fn new(app_secret: &[u8], header: Option<&[u8]>) -> Result<Self, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let claimed = parse_signature_header(header)?;
        Ok(SignatureVerifier {
            claimed,
            mac: keyed(app_secret),
        })
    }

    /// Adds the next piece of the body.
    pub fn update(&mut self, piece: &[u8]) {
        self.mac.update(piece);
    }

    /// Whether the pieces given so far are the body the header signed, compared in
    /// constant time; [`SignatureError::Mismatch`] if not.
    pub fn verify(self) -> Result<(), SignatureError> {
        let expected: [u8; 32] = self.mac.finalize().into_bytes().into();
        if constant_time_eq::constant_time_eq_32(&self.claimed, &expected) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Reads `sha256=<64 hex>` into the 32 digest bytes it names.
pub fn parse_signature_header(header: &[u8]) -> Result<[u8; 32], SignatureError> {
    let hex = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Ok(out)
}

/// HMAC-SHA256 of `body` keyed with `secret`: what Meta puts after `sha256=`.
pub fn sign(secret: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = keyed(secret);
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so construction cannot fail.
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length")
}

/// The full header value Meta would send for `body`: `sha256=` and lowercase hex.
pub fn signature_header(secret: &[u8], body: &[u8]) -> String {
    let mut out = String::with_capacity(71);
    out.push_str("sha256=");
    out.push_str(&to_hex(&sign(secret, body)));
    out
}

fn hex_value(c: u8) -> Result<u8, SignatureError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(SignatureError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-secret";
    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

    fn check(header: &str, body: &[u8]) -> Result<(), SignatureError> {
        verify_signature(SECRET, body, Some(header.as_bytes()))
    }

    #[test]
    fn valid_signature_passes() {
        assert_eq!(check(&signature_header(SECRET, BODY), BODY), Ok(()));
    }

    #[test]
    fn matches_an_independently_known_digest() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let header = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            verify_signature(
                b"Jefe",
                b"what do ya want for nothing?",
                Some(header.as_bytes())
            ),
            Ok(())
        );
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let header = signature_header(SECRET, BODY)
            .replace("sha256=", "")
            .to_uppercase();
        assert_eq!(check(&format!("sha256={header}"), BODY), Ok(()));
    }

    #[test]
    fn tampered_body_is_refused() {
        let mut body = BODY.to_vec();
        body[5] ^= 1;
        assert_eq!(
            check(&signature_header(SECRET, BODY), &body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(
            check(&signature_header(b"other", BODY), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn pieces_fed_in_order_verify_like_the_whole_body() {
        let header = signature_header(SECRET, BODY);
        let mut verifier = SignatureVerifier::new(SECRET, Some(header.as_bytes())).expect("header");
        for piece in BODY.chunks(7) {
            verifier.update(piece);
        }
        assert_eq!(verifier.verify(), Ok(()));
        let mut short = SignatureVerifier::new(SECRET, Some(header.as_bytes())).expect("header");
        short.update(&BODY[..BODY.len() - 1]);
        assert_eq!(short.verify(), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused_before_any_byte() {
        assert!(matches!(
            SignatureVerifier::new(SECRET, None),
            Err(SignatureError::Missing)
        ));
        assert!(matches!(
            SignatureVerifier::new(SECRET, Some(b"sha256=abc")),
            Err(SignatureError::Malformed)
        ));
    }

    #[test]
    fn missing_header_is_refused() {
        assert_eq!(
            verify_signature(SECRET, BODY, None),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let good = signature_header(SECRET, BODY);
        let hex = &good["sha256=".len()..];
        for bad in [
            hex.to_string(),                   // no prefix
            format!("sha1={hex}"),             // other algorithm
            format!("SHA256={hex}"),           // prefix is case-sensitive
            format!("sha256= {hex}"),          // space
            format!("{good} "),                // trailing space
            format!("sha256={}", &hex[..63]),  // short
            format!("sha256={hex}0"),          // long
            format!("sha256={}g", &hex[..63]), // not hex
            String::new(),
        ] {
            assert_eq!(check(&bad, BODY), Err(SignatureError::Malformed), "{bad:?}");
        }
    }
}
