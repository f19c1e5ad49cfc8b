//! Databases seeded before the binary starts: a temp folder holding `wa.db` with
//! deliveries already committed, as if the webhook had stored them.

use std::path::PathBuf;

use wa_mcp::model::PreparedDelivery;
use wa_mcp::store::Store;
use wa_mcp::webhook::prepare_delivery;

/// A temp folder holding `wa.db` with `deliveries` committed in order; the test fails
/// if one is not stored. Keep the folder alive for the test.
pub fn db_with(deliveries: Vec<PreparedDelivery>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    let store = Store::open(&db).expect("store");
    for d in deliveries {
        store.commit_delivery_blocking(d).expect("seeded");
    }
    (dir, db)
}

/// Like [`db_with`], with each named fixture of `tests/fixtures/` delivered in order
/// (request ids `seed-0`, `seed-1`, ...).
pub fn db_with_fixtures(fixtures: &[&str]) -> (tempfile::TempDir, PathBuf) {
    db_with(
        fixtures
            .iter()
            .enumerate()
            .map(|(i, name)| prepare_delivery(&super::fixture(name), format!("seed-{i}"), 0))
            .collect(),
    )
}
