//! Replays every input under `tests/fuzz_regressions/<target>/` through the same check
//! the fuzz target of that name runs (`fuzz/src/`, included here by path), so a crash the
//! fuzzer once found stays fixed and the hand-picked nasty inputs (10k-deep nesting, huge
//! numbers, lone surrogates, multibyte `sha256=` headers, 10k-digit phone numbers...)
//! stay harmless. How to fuzz and what each target checks: docs/reliability.md.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
mod fuzz_checks;

/// The files directly under `tests/fuzz_regressions/<target>/`, sorted.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input of `target`'s corpus and fails, naming each input, if any
/// of them panicked (in the code under test or in a property assertion).
fn replay(target: &str, check: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        !files.is_empty(),
        "no inputs under tests/fuzz_regressions/{target}/"
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&data)));
            outcome
                .err()
                .map(|panic| format!("{}: {}", path.display(), panic_message(&*panic)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {target} inputs panicked:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "(panic without a message)".to_owned(),
    }
}

#[test]
fn signature_header_inputs_never_panic_and_verify_as_specified() {
    replay("signature_header", fuzz_checks::signature_header::check);
}

#[test]
fn normalise_inputs_never_panic_and_keep_their_rows_and_redaction() {
    replay("normalise", fuzz_checks::normalise::check);
}

#[test]
fn redact_inputs_leave_no_secret_and_are_idempotent() {
    replay("redact", fuzz_checks::redact::check);
}

#[test]
fn phone_inputs_never_panic_and_normalise_to_a_fixed_point() {
    replay("phone", fuzz_checks::phone::check);
}

/// The secret value the `normalise` inputs named `secret_in_*` carry.
const LEAK_MARKER: &str = "LEAKED-IF-STORED";

/// Guards the fix for JSON that serde_json refuses (a lone surrogate escape, a number
/// out of range), as a whole signed body or as a Flow's `response_json`: it used to be
/// stored verbatim, secrets included.
#[test]
fn secrets_in_json_serde_json_refuses_are_not_stored() {
    let inputs: Vec<(PathBuf, Vec<u8>)> = corpus("normalise")
        .into_iter()
        .map(|path| {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, data)
        })
        .filter(|(_, data)| String::from_utf8_lossy(data).contains(LEAK_MARKER))
        .collect();
    assert!(inputs.len() >= 3, "the secret_in_* inputs are missing");
    for (path, body) in inputs {
        assert_secret_not_stored(&path, &body);
    }
}

/// Fails when the delivery log would keep [`LEAK_MARKER`] from `body`.
fn assert_secret_not_stored(path: &Path, body: &[u8]) {
    let prepared = wa_mcp::webhook::prepare_delivery(body, "fuzz".into(), 0);
    assert!(
        !prepared.payload.contains(LEAK_MARKER),
        "{} stored its secret: {}",
        path.display(),
        prepared.payload
    );
}

/// Guards the fix of a defect found by fuzzing `normalise`: JSON held in a string inside
/// a `response_json` that serde_json refuses was not redacted, because `redact_text`
/// treated string literals as opaque. Its inputs were kept in `<target>/open/` with this
/// test ignored until the fix.
#[test]
fn secrets_in_json_strings_inside_refused_json_are_not_stored() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for name in [
        "secret_in_json_string_inside_refused_response_json",
        "fuzz_found_secret_in_json_string_inside_refused_response_json",
        "fuzz_found_secret_in_nested_json_of_refused_flow_response",
    ] {
        let path = dir.join("normalise").join(name);
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        fuzz_checks::normalise::check(&body);
        assert_secret_not_stored(&path, &body);
    }
    let path = dir.join("redact/secret_in_json_string_inside_refused_json_string");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fuzz_checks::redact::check(&data);
    let mut value: serde_json::Value = serde_json::from_slice(&data).expect("JSON");
    wa_mcp::redact::redact(&mut value);
    assert!(!value.to_string().contains(LEAK_MARKER), "{value}");
}
