//! The engine an app holds: one loaded model shared by any number of chat
//! sessions. Weights live behind a lock so they can be released under memory
//! pressure and reloaded transparently on the next call.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{LoadOptions, DEFAULT_MAX_CONTEXT};
use crate::error::{Error, Result};
use crate::generate::{self, CancelToken, Generation, Request};
use crate::gguf::GgufFile;
use crate::info::ModelInfo;
use crate::model::{self, Architecture, ModelConfig};
use crate::session::Session;
use crate::template::{ChatMessage, ChatTemplate, Role};
use crate::tokenizer::Tokenizer;
use crate::GenerationConfig;

/// Everything that a load builds from the file; dropping it unmaps the weights.
pub struct Loaded {
    pub model: Box<dyn Architecture>,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub gguf: GgufFile,
}

struct Shared {
    path: PathBuf,
    context_length: usize,
    info: ModelInfo,
    loaded: Mutex<Option<Arc<Loaded>>>,
    load_ms: Mutex<f64>,
}

#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    pub fn load(path: &Path, options: LoadOptions) -> Result<Engine> {
        let started = Instant::now();
        let gguf = GgufFile::open(path)?;
        let cfg = ModelConfig::from_gguf(&gguf)?;
        let context_length = choose_context(&cfg, options.context_length)?;
        let info = ModelInfo::new(&gguf, &cfg, context_length);
        let loaded = build(gguf, context_length)?;
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        log::info!("loaded {} ({}) in {load_ms:.0} ms, context {context_length}", path.display(), info.architecture);
        Ok(Engine {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                context_length,
                info,
                loaded: Mutex::new(Some(Arc::new(loaded))),
                load_ms: Mutex::new(load_ms),
            }),
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.shared.info
    }

    pub fn context_length(&self) -> usize {
        self.shared.context_length
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Milliseconds the most recent (re)load took.
    pub fn load_ms(&self) -> f64 {
        *lock(&self.shared.load_ms)
    }

    pub fn new_session(&self) -> Session {
        Session::new(self.clone())
    }

    /// The loaded model, reloading it first if it was released.
    pub fn loaded(&self) -> Result<Arc<Loaded>> {
        let mut slot = lock(&self.shared.loaded);
        if let Some(l) = slot.as_ref() {
            return Ok(l.clone());
        }
        let started = Instant::now();
        let l = Arc::new(build(GgufFile::open(&self.shared.path)?, self.shared.context_length)?);
        *lock(&self.shared.load_ms) = started.elapsed().as_secs_f64() * 1e3;
        *slot = Some(l.clone());
        Ok(l)
    }

    /// Drops the engine's hold on the weights. Memory returns once no
    /// generation in flight still uses them; the next call reloads.
    pub fn release_weights(&self) {
        lock(&self.shared.loaded).take();
    }

    pub fn is_loaded(&self) -> bool {
        lock(&self.shared.loaded).is_some()
    }

    pub fn tokenize(&self, text: &str, add_bos: Option<bool>) -> Result<Vec<u32>> {
        let l = self.loaded()?;
        l.tokenizer.encode(text, add_bos.unwrap_or(l.tokenizer.add_bos()), true)
    }

    /// Tokens for a one-shot prompt: the text as is (`raw`, BOS per the
    /// metadata) or as a single user turn in the model's chat template.
    pub fn prompt_tokens(&self, prompt: &str, raw: bool) -> Result<Vec<u32>> {
        let l = self.loaded()?;
        let tok = &l.tokenizer;
        if raw {
            return tok.encode(prompt, tok.add_bos(), false);
        }
        let text = l.template.render(&[ChatMessage::new(Role::User, prompt)], true)?;
        tok.encode(&text, tok.add_bos(), true)
    }

    /// Generates after `tokens` from an empty cache (no session, no history).
    pub fn complete(
        &self,
        tokens: &[u32],
        config: &GenerationConfig,
        cancel: &CancelToken,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let l = self.loaded()?;
        let mut cache = l.model.new_cache(self.shared.context_length);
        let mut context = Vec::new();
        let req = Request { config, cancel, extra_stops: &[], cached_prompt_tokens: 0 };
        let mut g = generate::generate(l.model.as_ref(), &l.tokenizer, &mut cache, &mut context, tokens, &req, on_piece)?;
        g.stats.load_ms = self.load_ms();
        Ok(g)
    }
}

fn build(gguf: GgufFile, context_length: usize) -> Result<Loaded> {
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let template = ChatTemplate::from_gguf(&gguf, &tokenizer)?;
    let model = model::load(&gguf, context_length)?;
    Ok(Loaded { model, tokenizer, template, gguf })
}

fn choose_context(cfg: &ModelConfig, requested: usize) -> Result<usize> {
    match requested {
        0 => Ok(cfg.train_context.min(DEFAULT_MAX_CONTEXT)),
        n if n > cfg.train_context => Err(Error::InvalidArgument(format!(
            "context length {n} exceeds the model's trained context of {}",
            cfg.train_context
        ))),
        n if n < 16 => Err(Error::InvalidArgument(format!("context length {n} is too small"))),
        n => Ok(n),
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain
/// data; the data is still usable, and refusing service would be worse.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
