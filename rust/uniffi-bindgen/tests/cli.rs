//! The pinned generator runs and generates. Also, being an integration
//! test, it makes `cargo test --workspace` build the `uniffi-bindgen`
//! binary with the same features as everything else, so
//! scripts/gen-bindings.sh reuses that build instead of compiling the
//! dependency graph a second time.

use std::process::Command;

#[test]
fn the_generator_offers_generate_for_kotlin_and_swift() {
    let out = Command::new(env!("CARGO_BIN_EXE_uniffi-bindgen")).args(["generate", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    assert!(help.contains("--language") && help.contains("--library"), "{help}");
}
