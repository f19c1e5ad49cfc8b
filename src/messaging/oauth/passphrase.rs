//! The owner's passphrase: kept only as an argon2id hash, checked in constant time
//! (argon2's own comparison of the derived keys), and throttled globally. Every consent
//! comes through the tunnel from the same address, so the throttle counts wrong
//! passphrases from anyone: each one makes the next check wait longer (up to
//! [`MAX_DELAY_SECS`]), and [`LOCKOUT_AFTER`] of them in a row lock consent for
//! [`LOCKOUT_SECS`]. The lockout ends by itself, and the count starts again after it
//! (or after [`LOCKOUT_SECS`] without a wrong passphrase): an attacker gets at most
//! [`LOCKOUT_AFTER`] guesses per lockout and can slow the owner down, never lock them
//! out for good. Setting the passphrase again (`wa-mcp auth passphrase`) ends any delay
//! at once.
//!
//! While a delay runs nothing is checked, the right passphrase included: answering a
//! right one then would let anyone guess at full speed (each guess is either refused
//! for the delay or found right), so the delay would slow no one.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// The shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// The longest passphrase accepted, in bytes (argon2 takes any, but a bound keeps a
/// hostile form post from costing more than a real one).
pub const MAX_PASSPHRASE_BYTES: usize = 1024;
/// The longest wait between two checks before the lockout.
pub const MAX_DELAY_SECS: i64 = 60;
/// Wrong passphrases in a row that lock consent.
pub const LOCKOUT_AFTER: u32 = 10;
/// How long the lockout lasts.
pub const LOCKOUT_SECS: i64 = 15 * 60;

/// Why a passphrase cannot be set.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error("the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters long")]
    TooShort,
    #[error("the passphrase must be at most {MAX_PASSPHRASE_BYTES} bytes long")]
    TooLong,
    #[error("the passphrase could not be hashed: {0}")]
    Hash(String),
}

/// The argon2id hash (PHC string, own random salt, the crate's recommended cost) of a
/// passphrase that meets the length rules.
pub fn hash_passphrase(passphrase: &str) -> Result<String, PassphraseError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(PassphraseError::TooShort);
    }
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(PassphraseError::TooLong);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PassphraseError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password_with_salt(passphrase.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PassphraseError::Hash(e.to_string()))
}

/// Whether `passphrase` is the one `hash` was made from. A malformed hash matches
/// nothing; an over-long passphrase is refused before any work.
pub fn passphrase_matches(passphrase: &str, hash: &str) -> bool {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return false;
    }
    Argon2::default()
        .verify_password(passphrase.as_bytes(), hash)
        .is_ok()
}

/// How long, in seconds, no passphrase is checked after the `failures`-th wrong one in
/// a row: 1, 2, 4 … up to [`MAX_DELAY_SECS`], then [`LOCKOUT_SECS`] from the
/// [`LOCKOUT_AFTER`]-th on.
pub fn delay_after_failures(failures: u32) -> i64 {
    if failures == 0 {
        0
    } else if failures >= LOCKOUT_AFTER {
        LOCKOUT_SECS
    } else {
        (1i64 << (failures - 1).min(16)).min(MAX_DELAY_SECS)
    }
}

/// How many wrong passphrases in a row there are once one more comes at `now_micros`,
/// after `previous` of them, the last at `last_micros`: the sequence starts again at 1
/// when a lockout ran out since (nothing is checked during one, so a count at
/// [`LOCKOUT_AFTER`] means it did) or when the last one is [`LOCKOUT_SECS`] old.
pub fn failures_in_a_row(previous: u32, last_micros: Option<i64>, now_micros: i64) -> u32 {
    let forgotten = last_micros.is_none_or(|last| now_micros - last >= LOCKOUT_SECS * 1_000_000);
    if previous >= LOCKOUT_AFTER || forgotten {
        1
    } else {
        previous + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_its_passphrase_only_and_stores_no_plain_text() {
        let hash = hash_passphrase("correct horse battery").expect("hashed");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct"));
        assert!(passphrase_matches("correct horse battery", &hash));
        assert!(!passphrase_matches("correct horse batterY", &hash));
        assert!(!passphrase_matches("correct horse battery", "not a hash"));
    }

    #[test]
    fn short_passphrases_are_refused() {
        assert!(matches!(
            hash_passphrase("elevenchars"),
            Err(PassphraseError::TooShort)
        ));
        assert!(hash_passphrase("twelve chars").is_ok());
    }

    #[test]
    fn the_delay_grows_to_a_cap_then_locks_for_a_while_and_never_forever() {
        let delays: Vec<i64> = (0..=11).map(delay_after_failures).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 900, 900]);
        assert_eq!(delay_after_failures(u32::MAX), LOCKOUT_SECS);
    }

    #[test]
    fn the_count_starts_again_after_a_lockout_or_a_quiet_quarter_hour() {
        let minute = 60_000_000;
        assert_eq!(failures_in_a_row(0, None, 0), 1);
        assert_eq!(failures_in_a_row(3, Some(0), minute), 4);
        assert_eq!(failures_in_a_row(LOCKOUT_AFTER, Some(0), 15 * minute), 1);
        assert_eq!(failures_in_a_row(5, Some(0), 15 * minute), 1);
        assert_eq!(failures_in_a_row(5, Some(0), 15 * minute - 1), 6);
    }
}
