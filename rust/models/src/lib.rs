//! Mote's model manager: a catalogue of models, resumable and verified
//! downloads, installed versions with validation and rollback, and a set of
//! loaded engines under one memory budget.
//!
//! Kept out of mote-core so that an app that bundles its model pays for no
//! HTTP or TLS code (docs/adr/0008-model-manager.md). Everything here is
//! blocking: the bindings run it on worker threads, never on the app's main
//! thread or async runtime.

#[cfg(feature = "http")]
pub mod archive;
pub mod catalogue;
pub mod disk;
#[cfg(feature = "http")]
pub mod download;
pub mod error;
pub mod hash;
#[cfg(feature = "http")]
pub mod http;
pub mod loaded;
pub mod manager;
#[cfg(feature = "http")]
pub mod pull;
pub mod store;

pub use catalogue::{Catalogue, Entry, Part};
#[cfg(feature = "http")]
pub use download::{Outcome, Progress, RetryPolicy};
pub use error::{ModelError, Result};
pub use loaded::{EngineSet, Resident};
pub use manager::{validate_model, Manager};
#[cfg(feature = "http")]
pub use pull::Pulled;
pub use store::{Listing, Model, Status, Store, Version};

/// The directory `mote chat` and the samples use when none is given:
/// `$MOTE_MODELS_DIR`, else `~/.cache/mote/models`.
pub fn default_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("MOTE_MODELS_DIR") {
        return d.into();
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_else(|| ".".into());
    home.join(".cache/mote/models")
}
