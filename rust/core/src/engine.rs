//! The engine an app holds: one loaded model shared by any number of chat
//! sessions. Weights live behind a lock so they can be released under memory
//! pressure and reloaded transparently on the next call.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::config::{LoadOptions, DEFAULT_MAX_CONTEXT};
use crate::error::{Error, Result};
use crate::generate::{self, CancelToken, Generation, Request};
use crate::gguf::GgufFile;
use crate::info::ModelInfo;
use crate::memory::accounting::{self, MemoryReport};
use crate::memory::guard::{LoadGuard, UnfinishedLoad};
use crate::memory::{Actions, InFlight, MemoryPolicy, PressureLevel, ReleaseReport};
use crate::model::{self, Architecture, ModelConfig};
use crate::session::{Session, SessionInner};
use crate::template::{ChatMessage, ChatTemplate, Role};
use crate::tokenizer::Tokenizer;
use mote_kernels::ThreadPool;
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
    fingerprint: String,
    unfinished_load: Option<UnfinishedLoad>,
    loaded: Mutex<Option<Arc<Loaded>>>,
    load_ms: Mutex<f64>,
    policy: Mutex<MemoryPolicy>,
    /// Persistent inference threads, kept across releases so a reload doesn't respawn them.
    pool: Arc<ThreadPool>,
    sessions: Mutex<Vec<Weak<SessionInner>>>,
    /// `LoadOptions::chat_template`, kept for reloads.
    chat_template: Option<String>,
}

#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// Working memory beyond weights and KV cache: activations, logits, tokenizer.
const OVERHEAD_BYTES: u64 = 48 << 20;

impl Engine {
    pub fn load(path: &Path, options: LoadOptions) -> Result<Engine> {
        let started = Instant::now();
        let gguf = GgufFile::open(path)?;
        let cfg = ModelConfig::from_gguf(&gguf)?;
        let mut context_length = choose_context(&cfg, options.context_length)?;

        let mut unfinished_load = None;
        let guard = match &options.state_dir {
            Some(dir) => {
                let (g, previous) = LoadGuard::arm(dir, path, context_length)?;
                if let Some(p) = &previous {
                    log::warn!("the previous load of {} (context {}) never finished", p.model, p.context_length);
                    if options.reduce_context_after_crash && p.context_length > 0 {
                        context_length = context_length.min((p.context_length / 2).max(256));
                    }
                }
                unfinished_load = previous;
                Some(g)
            }
            None => None,
        };
        let result = Self::load_checked(path, gguf, &cfg, context_length, &options, started, unfinished_load);
        if let Some(g) = guard {
            g.disarm();
        }
        result
    }

    fn load_checked(
        path: &Path,
        gguf: GgufFile,
        cfg: &ModelConfig,
        context_length: usize,
        options: &LoadOptions,
        started: Instant,
        unfinished_load: Option<UnfinishedLoad>,
    ) -> Result<Engine> {
        if !options.skip_memory_check {
            let available = options.available_memory_bytes.or_else(accounting::available_memory_bytes);
            if let Some(available) = available {
                let needed = estimate_bytes(&gguf, cfg, context_length);
                if needed > available {
                    return Err(Error::InsufficientMemory { needed, available });
                }
            }
        }
        let info = ModelInfo::new(&gguf, cfg, context_length);
        let fingerprint = format!(
            "{}:{}:{}:{}:{}:{}",
            cfg.architecture, info.name, cfg.n_layer, cfg.n_kv_head, cfg.head_dim, info.file_size
        );
        let pool = Arc::new(ThreadPool::new(options.threads));
        let loaded = build(gguf, context_length, &pool, options.chat_template.as_deref())?;
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        log::info!("loaded {} ({}) in {load_ms:.0} ms, context {context_length}", path.display(), info.architecture);
        Ok(Engine {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                context_length,
                info,
                fingerprint,
                unfinished_load,
                loaded: Mutex::new(Some(Arc::new(loaded))),
                load_ms: Mutex::new(load_ms),
                policy: Mutex::new(MemoryPolicy::default()),
                pool,
                sessions: Mutex::new(Vec::new()),
                chat_template: options.chat_template.clone(),
            }),
        })
    }

    /// Inference threads in use.
    pub fn threads(&self) -> usize {
        self.shared.pool.threads()
    }

    /// Changes the number of inference threads (e.g. the thermal policy lowering them).
    pub fn set_threads(&self, n: usize) {
        self.shared.pool.set_threads(n);
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

    /// Set when the previous load (with the same state directory) never finished.
    pub fn unfinished_load(&self) -> Option<&UnfinishedLoad> {
        self.shared.unfinished_load.as_ref()
    }

    /// Milliseconds the most recent (re)load took.
    pub fn load_ms(&self) -> f64 {
        *lock(&self.shared.load_ms)
    }

    pub(crate) fn fingerprint(&self) -> String {
        self.shared.fingerprint.clone()
    }

    pub fn new_session(&self) -> Session {
        Session::new(self.clone())
    }

    /// A session continued from a snapshot file (see [`Session::save_snapshot`]).
    pub fn restore_session(&self, snapshot: &Path) -> Result<Session> {
        Session::from_snapshot(self.clone(), snapshot)
    }

    pub(crate) fn register(&self, s: &Arc<SessionInner>) {
        let mut v = lock(&self.shared.sessions);
        v.retain(|w| w.strong_count() > 0);
        v.push(Arc::downgrade(s));
    }

    pub fn memory_policy(&self) -> MemoryPolicy {
        lock(&self.shared.policy).clone()
    }

    pub fn set_memory_policy(&self, policy: MemoryPolicy) {
        *lock(&self.shared.policy) = policy;
    }

    /// The loaded model, reloading it first if it was released.
    pub fn loaded(&self) -> Result<Arc<Loaded>> {
        let mut slot = lock(&self.shared.loaded);
        if let Some(l) = slot.as_ref() {
            return Ok(l.clone());
        }
        let started = Instant::now();
        let (gguf, template) = (GgufFile::open(&self.shared.path)?, self.shared.chat_template.as_deref());
        let l = Arc::new(build(gguf, self.shared.context_length, &self.shared.pool, template)?);
        *lock(&self.shared.load_ms) = started.elapsed().as_secs_f64() * 1e3;
        *slot = Some(l.clone());
        Ok(l)
    }

    pub fn is_loaded(&self) -> bool {
        lock(&self.shared.loaded).is_some()
    }

    /// Applies the policy's actions for a platform signal.
    pub fn on_memory_pressure(&self, level: PressureLevel) -> ReleaseReport {
        let actions = self.memory_policy().actions_for(level);
        let mut r = self.release(actions);
        r.level = Some(level);
        r
    }

    /// Frees what `actions` name, in every session and in the engine. Never
    /// blocks on a generation: busy sessions are released when their reply
    /// ends (cancelled first if the policy says so). Memory held by a reply in
    /// flight returns when it finishes.
    pub fn release(&self, actions: Actions) -> ReleaseReport {
        let before = self.memory_report();
        let cancel = self.memory_policy().in_flight == InFlight::Cancel;
        let sessions: Vec<_> = lock(&self.shared.sessions).iter().filter_map(Weak::upgrade).collect();
        let mut r = ReleaseReport {
            level: None,
            actions,
            sessions_released: 0,
            sessions_deferred: 0,
            snapshots_written: 0,
            snapshot_errors: Vec::new(),
            before,
            after: MemoryReport::default(),
        };
        for s in sessions {
            match s.release(actions, cancel) {
                Some(Ok(wrote)) => {
                    r.sessions_released += 1;
                    r.snapshots_written += u32::from(wrote);
                }
                Some(Err(e)) => {
                    r.sessions_released += 1;
                    r.snapshot_errors.push(e.to_string());
                }
                None => r.sessions_deferred += 1,
            }
        }
        if actions.unmap_weights {
            lock(&self.shared.loaded).take();
        }
        if actions.trim_scratch || actions.drop_kv_cache || actions.unmap_weights {
            accounting::return_freed_memory();
        }
        r.after = self.memory_report();
        r
    }

    pub fn memory_report(&self) -> MemoryReport {
        let (mut kv, mut kv_used) = (0, 0);
        for s in lock(&self.shared.sessions).iter().filter_map(Weak::upgrade) {
            let (a, u) = s.kv_bytes();
            kv += a;
            kv_used += u;
        }
        let (weights, resident) = match lock(&self.shared.loaded).as_ref() {
            Some(l) => {
                let bytes: u64 = l.gguf.tensors.iter().map(|t| t.size as u64).sum();
                let map = l.gguf.backing();
                let mapped_resident = accounting::resident_bytes(map.as_ptr(), map.len());
                (bytes, (mapped_resident + l.model.heap_weight_bytes()).min(2 * bytes))
            }
            None => (0, 0),
        };
        MemoryReport {
            weights_bytes: weights,
            weights_resident_bytes: resident,
            kv_cache_bytes: kv,
            kv_cache_used_bytes: kv_used,
            scratch_bytes: kv - kv_used,
            process_footprint_bytes: accounting::process_footprint_bytes(),
        }
    }

    /// The ids of `text` with special-token texts parsed (a developer tool,
    /// like `llama-tokenize`): `tokenize("hi<|im_end|>")` ends with the
    /// `<|im_end|>` id. Chat messages are not tokenized this way.
    pub fn tokenize(&self, text: &str, add_bos: Option<bool>) -> Result<Vec<u32>> {
        let l = self.loaded()?;
        l.tokenizer.encode(text, add_bos.unwrap_or(l.tokenizer.add_bos()), true)
    }

    /// Tokens for a one-shot prompt: the text as is (`raw`, BOS per the
    /// metadata) or as a single user turn in the model's chat template.
    /// A raw prompt is the developer's own markup, so special-token texts in
    /// it become special tokens (as in llama.cpp's completion tools and
    /// [`Engine::tokenize`]); never pass untrusted text raw. In a chat turn
    /// they are plain text ([`crate::ChatTemplate::encode`]).
    pub fn prompt_tokens(&self, prompt: &str, raw: bool) -> Result<Vec<u32>> {
        let l = self.loaded()?;
        let tok = &l.tokenizer;
        if raw {
            return tok.encode(prompt, tok.add_bos(), true);
        }
        l.template.encode(tok, &[ChatMessage::new(Role::User, prompt)], true)
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

fn build(gguf: GgufFile, context_length: usize, pool: &Arc<ThreadPool>, chat_template: Option<&str>) -> Result<Loaded> {
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let template = ChatTemplate::from_gguf_or_override(&gguf, &tokenizer, chat_template)?;
    let model = model::load(&gguf, context_length, pool.clone())?;
    Ok(Loaded { model, tokenizer, template, gguf })
}

/// What a load will need: the weights (mapped, plus any copies the matmul
/// backend makes), a full KV cache for the context, and working memory.
pub fn estimate_bytes(gguf: &GgufFile, cfg: &ModelConfig, context_length: usize) -> u64 {
    let weights: u64 = gguf.tensors.iter().map(|t| t.size as u64).sum();
    let copies: u64 = gguf.tensors.iter().filter(|t| !model::linear::zero_copy(t.dtype)).map(|t| t.size as u64).sum();
    let kv = (2 * cfg.n_layer * cfg.n_kv_head * cfg.head_dim * 4 * context_length) as u64;
    weights + copies + kv + OVERHEAD_BYTES
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
