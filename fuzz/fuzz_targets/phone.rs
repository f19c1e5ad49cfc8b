//! Fuzz target `phone`: see `wa_mcp_fuzz::phone` for what it checks.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wa_mcp_fuzz::phone::check(data));
