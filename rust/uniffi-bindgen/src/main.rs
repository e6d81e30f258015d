//! Built from the workspace rather than installed globally so the bindings
//! generator always matches the `uniffi` version compiled into `mote-ffi`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
