//! Phone numbers in the form the Cloud API wants: E.164 digits without `+`.

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but zeros, spaces and punctuation was given.
    #[error("the phone number is empty or has no digits")]
    NoDigits,
    /// Too short or too long for E.164 once normalised; holds the digit count.
    #[error(
        "the phone number has {0} digits; an international number has 7 to 15 (country code first)"
    )]
    BadLength(usize),
}

/// Normalises a phone number written any way a person writes one: every non-digit is
/// dropped, then leading zeros (the `00` international prefix), and 7 to 15 digits must
/// remain. `+44 7700 900123` and `0044 7700 900123` both give `447700900123`.
pub fn to_meta_format(input: &str) -> Result<String, PhoneError> {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Err(PhoneError::NoDigits);
    }
    match trimmed.len() {
        7..=15 => Ok(trimmed.to_owned()),
        n => Err(PhoneError::BadLength(n)),
    }
}

/// True for a business-scoped user id: a two-letter country code, a dot, then letters,
/// digits and dots (`US.13491208655302741918`, `US.ENT.11815799212886844830`).
pub fn is_bsuid(input: &str) -> bool {
    let b = input.as_bytes();
    b.len() > 3
        && b.len() <= 160
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2] == b'.'
        && b[3..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_any_written_form() {
        assert_eq!(
            to_meta_format("+44 7700 900123").as_deref(),
            Ok("447700900123")
        );
        assert_eq!(
            to_meta_format("0044 7700 900123").as_deref(),
            Ok("447700900123")
        );
        assert_eq!(
            to_meta_format("(650) 555-1234 x").as_deref(),
            Ok("6505551234")
        );
        assert_eq!(to_meta_format("16505551234").as_deref(), Ok("16505551234"));
    }

    #[test]
    fn rejects_empty_short_and_long() {
        assert_eq!(to_meta_format(""), Err(PhoneError::NoDigits));
        assert_eq!(to_meta_format("call me"), Err(PhoneError::NoDigits));
        assert_eq!(to_meta_format("000"), Err(PhoneError::NoDigits));
        assert_eq!(to_meta_format("12345"), Err(PhoneError::BadLength(5)));
        assert_eq!(
            to_meta_format("1234567890123456"),
            Err(PhoneError::BadLength(16))
        );
    }

    #[test]
    fn recognises_bsuids() {
        assert!(is_bsuid("US.13491208655302741918"));
        assert!(is_bsuid("US.ENT.11815799212886844830"));
        assert!(!is_bsuid("16505551234"));
        assert!(!is_bsuid("us.123"));
    }
}
