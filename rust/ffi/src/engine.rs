//! A loaded model. Cheap to share: sessions keep it alive, so its memory is
//! released only when the engine and all its sessions are gone.

use std::path::Path;
use std::sync::Arc;

use crate::error::{guard, MoteError};
use crate::records::{LoadOptions, ModelInfo};
use crate::session::ChatSession;

#[derive(uniffi::Object)]
pub struct Engine {
    inner: mote_core::Engine,
}

#[uniffi::export]
impl Engine {
    /// Maps and prepares the model. Blocks for as long as loading takes
    /// (hundreds of milliseconds to seconds): never call it on a UI thread.
    #[uniffi::constructor]
    pub fn load(path: String, options: LoadOptions) -> Result<Arc<Self>, MoteError> {
        crate::logging::init();
        guard(|| {
            let inner = mote_core::Engine::load(Path::new(&path), options.into())?;
            log::info!("loaded model {path}");
            Ok(Arc::new(Engine { inner }))
        })
    }

    pub fn info(&self) -> Result<ModelInfo, MoteError> {
        guard(|| Ok(self.inner.info().clone().into()))
    }

    /// A new conversation with its own history and KV cache. Sessions of one
    /// engine may be used from different threads at the same time.
    pub fn new_session(&self) -> Result<Arc<ChatSession>, MoteError> {
        guard(|| Ok(ChatSession::new(self.inner.new_session())))
    }
}
