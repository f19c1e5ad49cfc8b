//! Fuzz target `normalise`: see `wa_mcp_fuzz::normalise` for what it checks.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wa_mcp_fuzz::normalise::check(data));
