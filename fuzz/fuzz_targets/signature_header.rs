//! Fuzz target `signature_header`: see `wa_mcp_fuzz::signature_header` for what it checks.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wa_mcp_fuzz::signature_header::check(data));
