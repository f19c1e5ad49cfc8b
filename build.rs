//! Rebuilds when a migration is added or changed: refinery embeds `migrations/` at
//! compile time, and cargo would not otherwise know the folder matters.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
