//! `redact` target: `wa_mcp::redact::redact` on any JSON value.

use serde_json::{Number, Value};
use wa_mcp::redact::{carries_json, is_secret_key, redact, redact_carried_json};

use super::secrets::{assert_no_secret_values, embedded_json};

/// Redacts `data` read as JSON (other input is skipped) and checks that no secret is
/// left at any depth, that only values changed (same keys, same array lengths, same
/// scalars, a person's strings untouched) and that redacting again changes nothing.
pub fn check(data: &[u8]) {
    let Ok(original) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut once = original.clone();
    redact(&mut once);
    assert_no_secret_values(&once);
    assert_same_shape(&original, &once, false, false);
    let mut twice = once.clone();
    redact(&mut twice);
    assert_eq!(twice, once, "redacting twice differs from redacting once");
}

/// Panics unless `after` is `before` with only secret values replaced and the strings
/// of JSON-carrying fields (`deep`: inside one) rewritten: into JSON of the same shape
/// when they hold JSON, else by nothing but `redact_carried_json` (the lexical
/// redaction of JSON serde_json refuses). Every other string is a person's text and
/// must not change at all. Inside a rewritten string (`reparsed`) a number need only
/// agree to within 2 ulps: the rewrite writes it back through an f64, and serde_json's
/// default parser, which is fast rather than exact, may read the 17-digit text it wrote
/// an ulp away (found by this target; see docs/reliability.md).
fn assert_same_shape(before: &Value, after: &Value, deep: bool, reparsed: bool) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            assert!(b.keys().eq(a.keys()), "redaction changed an object's keys");
            for ((key, bv), (_, av)) in b.iter().zip(a) {
                if is_secret_key(key) {
                    continue;
                }
                match (bv, av) {
                    (Value::String(bs), Value::String(as_)) if !deep && carries_json(key) => {
                        assert_carried(bs, as_);
                    }
                    _ => assert_same_shape(bv, av, deep, reparsed),
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            assert_eq!(b.len(), a.len(), "redaction changed an array's length");
            for (bv, av) in b.iter().zip(a) {
                assert_same_shape(bv, av, deep, reparsed);
            }
        }
        (Value::String(b), Value::String(a)) if deep => assert_carried(b, a),
        (Value::Number(b), Value::Number(a)) if reparsed => {
            assert!(within_2_ulps(b, a), "embedded number {b} became {a}");
        }
        (b, a) => assert_eq!(b, a, "redaction changed a value that is not secret"),
    }
}

/// `after` is the text of a JSON-carrying field `before` as redaction may leave it.
fn assert_carried(before: &str, after: &str) {
    if before == after {
        return;
    }
    match embedded_json(before) {
        Some(bj) => {
            let aj = embedded_json(after).expect("a JSON-holding string is rewritten as JSON");
            assert_same_shape(&bj, &aj, true, true);
        }
        None => assert_eq!(
            after,
            redact_carried_json(before),
            "a carried string serde_json refuses changed otherwise"
        ),
    }
}

fn within_2_ulps(b: &Number, a: &Number) -> bool {
    match (b.as_f64(), a.as_f64()) {
        (Some(b), Some(a)) if b == a => true,
        (Some(b), Some(a)) => {
            b.is_sign_negative() == a.is_sign_negative() && b.to_bits().abs_diff(a.to_bits()) <= 2
        }
        _ => false,
    }
}
