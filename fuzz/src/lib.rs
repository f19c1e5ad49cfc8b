//! The properties wa-mcp's fuzz targets check, one module per target, each with a
//! `check(data)` that takes the raw fuzz input.
//!
//! A `check` must never panic on a correct `wa_mcp`; it panics (through `assert!`) when
//! the code under test panics or a property does not hold. The fuzz targets in
//! `fuzz_targets/` call these, and `tests/fuzz_regressions.rs` includes this file by path
//! and replays its corpus through the very same functions, so a crash the fuzzer found
//! stays fixed under a plain `cargo test`.

pub mod normalise;
pub mod phone;
pub mod redact;
pub mod secrets;
pub mod signature_header;
