//! The engine an app holds: one loaded model shared by any number of chat
//! sessions. Weights live behind a lock so they can be released under memory
//! pressure and reloaded transparently on the next call.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

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

/// Everything that a load builds from the file; dropping it unmaps the
/// weights. The tokenizer and template are small and outlive releases, so
/// counting tokens never reloads the weights.
pub struct Loaded {
    pub model: Box<dyn Architecture>,
    pub tokenizer: Arc<Tokenizer>,
    pub template: Arc<ChatTemplate>,
    pub gguf: GgufFile,
}

struct Shared {
    path: PathBuf,
    /// The model's bytes within `path`, when it is embedded (APK asset).
    byte_range: Option<(u64, u64)>,
    context_length: usize,
    kv_type: model::KvType,
    info: ModelInfo,
    /// BLAKE3 of the tensor data, computed on first need (see `memory::model_hash`).
    model_hash: OnceLock<String>,
    unfinished_load: Option<UnfinishedLoad>,
    tokenizer: Arc<Tokenizer>,
    template: Arc<ChatTemplate>,
    /// Held only to read or swap the slot, never across a load, so a release
    /// never waits for a reload.
    loaded: Mutex<Option<Arc<Loaded>>>,
    /// Serialises (re)loads.
    loading: Mutex<()>,
    state_dir: Option<PathBuf>,
    load_ms: Mutex<f64>,
    policy: Mutex<MemoryPolicy>,
    /// Persistent inference threads, kept across releases so a reload doesn't respawn them.
    pool: Arc<ThreadPool>,
    /// Threads the app asked for; a thermal cap may run fewer.
    threads: AtomicUsize,
    thermal_cap: AtomicUsize,
    /// Milliseconds to sleep between generated tokens (thermal pacing).
    pace_ms: AtomicU32,
    sessions: Mutex<Vec<Weak<SessionInner>>>,
}

#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// Working memory beyond weights and KV cache: activations, logits, tokenizer.
const OVERHEAD_BYTES: u64 = 48 << 20;

impl Engine {
    /// The bytes [`Engine::load`] with these options would need, which is
    /// what its pre-load memory check compares with the memory available:
    /// parses the file's header only (no weights are touched). A model
    /// manager uses it to decide what to evict before loading.
    pub fn estimate_load_bytes(path: &Path, options: &LoadOptions) -> Result<u64> {
        let (gguf, cfg, context_length) = Self::open_header(path, options)?;
        Ok(estimate_bytes(&gguf, &cfg, context_length))
    }

    /// The mapped file, its configuration with the requested KV type, and the
    /// context length the options ask for: what both a load and its estimate start from.
    fn open_header(path: &Path, options: &LoadOptions) -> Result<(GgufFile, ModelConfig, usize)> {
        let gguf = GgufFile::open_at(path, options.byte_range)?;
        let mut cfg = ModelConfig::from_gguf(&gguf)?;
        options.kv_type.check(cfg.head_dim)?;
        cfg.kv_type = options.kv_type;
        let context_length = choose_context(&cfg, options.context_length)?;
        Ok((gguf, cfg, context_length))
    }

    pub fn load(path: &Path, options: LoadOptions) -> Result<Engine> {
        let started = Instant::now();
        let (gguf, cfg, mut context_length) = Self::open_header(path, &options)?;

        let mut unfinished_load = None;
        let guard = match &options.state_dir {
            Some(dir) => {
                let (g, decision) = LoadGuard::arm(dir, path, context_length, options.reduce_context_after_crash)?;
                if let Some(p) = &decision.previous {
                    log::warn!(
                        "the previous load of {} (context {}) never finished ({} in a row); loading with context {}",
                        p.model,
                        p.context_length,
                        decision.consecutive_crashes,
                        decision.context_length
                    );
                }
                context_length = decision.context_length;
                unfinished_load = decision.previous;
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
        let pool = Arc::new(ThreadPool::new(options.threads));
        let tokenizer = Arc::new(Tokenizer::from_gguf(&gguf)?);
        let template = Arc::new(ChatTemplate::from_gguf_or_override(&gguf, &tokenizer, options.chat_template.as_deref())?);
        let model = model::load_kv(&gguf, context_length, pool.clone(), cfg.kv_type)?;
        let loaded = Loaded { model, tokenizer: tokenizer.clone(), template: template.clone(), gguf };
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        log::info!("loaded {} ({}) in {load_ms:.0} ms, context {context_length}", path.display(), info.architecture);
        Ok(Engine {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                byte_range: options.byte_range,
                context_length,
                kv_type: cfg.kv_type,
                info,
                model_hash: OnceLock::new(),
                unfinished_load,
                tokenizer,
                template,
                loaded: Mutex::new(Some(Arc::new(loaded))),
                loading: Mutex::new(()),
                state_dir: options.state_dir.clone(),
                load_ms: Mutex::new(load_ms),
                policy: Mutex::new(MemoryPolicy::default()),
                threads: AtomicUsize::new(pool.threads()),
                thermal_cap: AtomicUsize::new(usize::MAX),
                pace_ms: AtomicU32::new(0),
                pool,
                sessions: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Inference threads in use.
    pub fn threads(&self) -> usize {
        self.shared.pool.threads()
    }

    /// This machine's CPU clusters; `LoadOptions::threads == 0` uses its
    /// `default_threads()`. Needs no loaded model.
    pub fn cpu_topology() -> mote_kernels::CpuTopology {
        mote_kernels::CpuTopology::detect()
    }

    /// Changes the number of inference threads the app wants; a thermal cap
    /// ([`Engine::set_throttle`]) may run fewer until it is lifted.
    pub fn set_threads(&self, n: usize) {
        self.shared.threads.store(n.max(1), Ordering::Relaxed);
        self.apply_threads();
    }

    /// Threads the app asked for (what a thermal cap is measured against).
    pub fn configured_threads(&self) -> usize {
        self.shared.threads.load(Ordering::Relaxed)
    }

    /// Applies a thermal decision: at most `max_threads` inference threads
    /// (the surplus workers sleep), and `pace_ms` of sleep between generated
    /// tokens. `set_throttle(None, 0)` lifts both. Takes effect from the next
    /// matmul and the next token, also mid-reply.
    pub fn set_throttle(&self, max_threads: Option<usize>, pace_ms: u32) {
        self.shared.thermal_cap.store(max_threads.map_or(usize::MAX, |n| n.max(1)), Ordering::Relaxed);
        self.shared.pace_ms.store(pace_ms, Ordering::Relaxed);
        self.apply_threads();
    }

    fn apply_threads(&self) {
        let s = &self.shared;
        s.pool.set_threads(s.threads.load(Ordering::Relaxed).min(s.thermal_cap.load(Ordering::Relaxed)));
    }

    /// The pacing between tokens a thermal decision asked for.
    pub fn pace(&self) -> Duration {
        Duration::from_millis(self.shared.pace_ms.load(Ordering::Relaxed) as u64)
    }

    /// The tokenizer and chat template; kept across releases.
    pub fn text(&self) -> (Arc<Tokenizer>, Arc<ChatTemplate>) {
        (self.shared.tokenizer.clone(), self.shared.template.clone())
    }

    /// Tokens `text` takes as message content (special-token texts count as plain text).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.shared.tokenizer.encode(text, false, false)?.len())
    }

    /// Tokens `messages` take as a prompt, rendered with the chat template
    /// and the assistant's turn opened, as `send` would feed them.
    pub fn count_message_tokens(&self, messages: &[ChatMessage]) -> Result<usize> {
        Ok(self.shared.template.encode(&self.shared.tokenizer, messages, true)?.len())
    }

    pub fn info(&self) -> &ModelInfo {
        &self.shared.info
    }

    pub fn kv_type(&self) -> model::KvType {
        self.shared.kv_type
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

    /// BLAKE3 of the model's tensor data: what identifies it in a snapshot.
    /// Computed once per file (cached beside the snapshots), on first need.
    pub fn model_hash(&self) -> String {
        self.shared
            .model_hash
            .get_or_init(|| {
                let dir = self.memory_policy().snapshot_dir.or_else(|| self.shared.state_dir.clone());
                let hash = |g: &GgufFile| {
                    crate::memory::model_hash::model_hash(g, &self.shared.path, self.shared.byte_range, dir.as_deref())
                };
                match lock(&self.shared.loaded).clone() {
                    Some(l) => hash(&l.gguf),
                    // Released: map the file just to hash it (the weights are not rebuilt).
                    None => GgufFile::open_at(&self.shared.path, self.shared.byte_range).map(|g| hash(&g)).unwrap_or_default(),
                }
            })
            .clone()
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

    /// The loaded model, reloading it first if it was released. The reload
    /// is guarded against crash loops like the first load.
    pub fn loaded(&self) -> Result<Arc<Loaded>> {
        let s = &self.shared;
        if let Some(l) = lock(&s.loaded).clone() {
            return Ok(l);
        }
        let _loading = lock(&s.loading);
        if let Some(l) = lock(&s.loaded).clone() {
            return Ok(l);
        }
        let started = Instant::now();
        let guard = match &s.state_dir {
            // The context is fixed for this engine's caches; a crash here makes
            // the next launch's load step down.
            Some(dir) => Some(LoadGuard::arm(dir, &s.path, s.context_length, false)?.0),
            None => None,
        };
        let built = GgufFile::open_at(&s.path, s.byte_range).and_then(|gguf| {
            let model = model::load_kv(&gguf, s.context_length, s.pool.clone(), s.kv_type)?;
            Ok(Loaded { model, tokenizer: s.tokenizer.clone(), template: s.template.clone(), gguf })
        });
        if let Some(g) = guard {
            g.disarm();
        }
        let l = Arc::new(built?);
        *lock(&s.load_ms) = started.elapsed().as_secs_f64() * 1e3;
        *lock(&s.loaded) = Some(l.clone());
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
        self.complete_constrained(tokens, config, cancel, None, on_piece)
    }

    /// [`Engine::complete`], with the reply restricted by `constraint`
    /// (structured output; see `mote-structured`).
    pub fn complete_constrained(
        &self,
        tokens: &[u32],
        config: &GenerationConfig,
        cancel: &CancelToken,
        constraint: Option<&mut dyn crate::Constraint>,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let l = self.loaded()?;
        let mut cache = l.model.new_cache(self.shared.context_length);
        let mut context = Vec::new();
        let mut req = Request { config, cancel, extra_stops: &[], cached_prompt_tokens: 0, pace: self.pace(), constraint: constraint.map(|c| c as &mut dyn crate::Constraint) };
        let mut g = generate::generate(l.model.as_ref(), &l.tokenizer, &mut cache, &mut context, tokens, &mut req, on_piece)?;
        g.stats.load_ms = self.load_ms();
        Ok(g)
    }
}

/// What a load will need: the weights (mapped, plus any copies the matmul
/// backend makes), a full KV cache for the context, and working memory.
pub fn estimate_bytes(gguf: &GgufFile, cfg: &ModelConfig, context_length: usize) -> u64 {
    let weights: u64 = gguf.tensors.iter().map(|t| t.size as u64).sum();
    let copies: u64 = gguf.tensors.iter().filter(|t| !model::linear::zero_copy(t.dtype)).map(|t| t.size as u64).sum();
    let kv = model::KvCache::bytes_for(cfg.kv_type, cfg.n_layer, cfg.n_kv_head, cfg.head_dim, context_length);
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

impl Drop for Shared {
    /// The engine closed without the process dying: a clean session, which
    /// lets the crash-loop guard step a reduced context back up next launch.
    fn drop(&mut self) {
        if let Some(dir) = &self.state_dir {
            if let Err(e) = crate::memory::guard::record_clean_session(dir, &self.path) {
                log::warn!("{e}");
            }
        }
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain
/// data; the data is still usable, and refusing service would be worse.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
