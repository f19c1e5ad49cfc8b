//! The random values the authorization server hands out and how they are kept: codes
//! and tokens are 256 bits from the operating system's generator, written in base64url,
//! and stored only as the SHA-256 of that text. PKCE S256 is checked here too.

use sha2::{Digest, Sha256};

/// Bytes of randomness in every code, token, CSRF token and consent cookie.
pub const SECRET_BYTES: usize = 32;

/// Why no random value could be made (the operating system's generator failed).
#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed: {0}")]
pub struct RandomError(String);

/// A new secret: [`SECRET_BYTES`] random bytes in base64url without padding (43 chars).
pub fn new_secret() -> Result<String, RandomError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(base64url(&bytes))
}

/// A new public identifier (a client id): 128 random bits in hex.
pub fn new_identifier() -> Result<String, RandomError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(crate::hex::to_hex(&bytes))
}

/// How a secret is stored and looked up: the SHA-256 of its text, lowercase hex.
pub fn secret_hash(secret: &str) -> String {
    crate::hex::to_hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `verifier` is a valid PKCE code verifier (RFC 7636 §4.1: 43 to 128 of the
/// unreserved characters) whose S256 transform is `challenge`. Compared in constant time.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = base64url(&Sha256::digest(verifier.as_bytes()));
    // Both sides are always compared so timing says nothing about which check failed.
    constant_time_eq::constant_time_eq(computed.as_bytes(), challenge.as_bytes()) && well_formed
}

/// Whether `challenge` can be an S256 challenge: 43 base64url characters (a SHA-256).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Base64url without padding (RFC 4648 §5), as PKCE and the tokens use it.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example_and_nothing_else() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(challenge, challenge), "plain is refused");
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            challenge
        ));
        assert!(!pkce_s256_matches(
            "short",
            &base64url(&Sha256::digest(b"short"))
        ));
    }

    #[test]
    fn secrets_are_256_bit_base64url_and_differ() {
        let a = new_secret().expect("random");
        let b = new_secret().expect("random");
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), a);
    }
}
