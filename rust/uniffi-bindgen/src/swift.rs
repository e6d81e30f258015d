//! `uniffi-bindgen-swift` has the XCFramework-oriented options (`--headers`,
//! `--modulemap`, `--xcframework`) that the generic `generate` command lacks.

fn main() {
    uniffi::uniffi_bindgen_swift()
}
