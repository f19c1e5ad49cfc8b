//! `phone` target: `wa_mcp::phone::to_meta_format` and `is_bsuid` on any text.

use wa_mcp::phone::{PhoneError, is_bsuid, to_meta_format};

/// Reads `data` as (lossy) UTF-8 and checks both functions against what their docs
/// promise.
pub fn check(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    check_to_meta_format(&input);
    check_is_bsuid(&input);
}

/// Every non-digit is dropped, then leading zeros; 7 to 15 digits must remain. An
/// accepted number is a fixed point and never reads as a BSUID (the send path asks
/// `is_bsuid` first).
fn check_to_meta_format(input: &str) {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0');
    match to_meta_format(input) {
        Ok(number) => {
            assert!(
                (7..=15).contains(&number.len()),
                "{number:?} has a bad length"
            );
            assert!(number.bytes().all(|b| b.is_ascii_digit()), "{number:?}");
            assert!(!number.starts_with('0'), "{number:?} has a leading zero");
            assert_eq!(number, significant, "digits lost or invented");
            assert_eq!(to_meta_format(&number).as_deref(), Ok(number.as_str()));
            assert!(!is_bsuid(&number), "{number:?} also reads as a BSUID");
        }
        Err(PhoneError::NoDigits) => {
            assert!(significant.is_empty(), "NoDigits for {significant:?}");
        }
        Err(PhoneError::BadLength(n)) => {
            assert_eq!(n, significant.len(), "BadLength miscounted");
            assert!(!(7..=15).contains(&n), "BadLength({n}) is a good length");
        }
    }
}

/// Two uppercase ASCII letters, a dot, then ASCII letters, digits and dots; 4 to 160
/// bytes in all.
fn check_is_bsuid(input: &str) {
    let b = input.as_bytes();
    let expected = (4..=160).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2] == b'.'
        && b[3..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.');
    assert_eq!(is_bsuid(input), expected, "is_bsuid({input:?})");
}
