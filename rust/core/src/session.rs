//! A multi-turn chat. The session keeps the conversation and its own KV cache;
//! each turn re-renders the whole conversation with the model's template and
//! prefills only the tokens after the longest prefix already cached. Under
//! memory pressure its cache can be snapshotted and dropped; the next turn
//! restores it from the snapshot, or re-prefills, without losing a message.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use crate::engine::{lock, Engine, Loaded};
use crate::error::{Error, Result};
use crate::generate::{self, CancelToken, Request};
use crate::memory::{snapshot, Actions};
use crate::model::KvCache;
use crate::stats::{FinishReason, Stats};
use crate::template::{ChatMessage, Role};
use crate::GenerationConfig;

#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub finish: FinishReason,
    pub stats: Stats,
}

/// A chat session. `Send + Sync`: it may be called from any thread, and a
/// second `send` while one is running gets [`Error::Busy`].
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    engine: Engine,
    id: u64,
    state: Mutex<State>,
    /// The history as of the last completed call, readable during a generation.
    history: Mutex<Vec<ChatMessage>>,
    /// The running generation's token, so a release can cancel it.
    active: Mutex<Option<CancelToken>>,
    /// Actions a release asked for while the session was generating.
    pending: Mutex<Actions>,
}

#[derive(Default)]
struct State {
    system_prompt: Option<String>,
    history: Vec<ChatMessage>,
    /// Tokens whose keys and values are in `cache` (or in the `parked` snapshot).
    context: Vec<u32>,
    cache: Option<KvCache>,
    /// A snapshot holding the KV cache for `context`, written when the cache was dropped.
    parked: Option<PathBuf>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Session {
    pub(crate) fn new(engine: Engine) -> Self {
        let inner = Arc::new(SessionInner {
            engine,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(State::default()),
            history: Mutex::new(Vec::new()),
            active: Mutex::new(None),
            pending: Mutex::new(Actions::default()),
        });
        inner.engine.register(&inner);
        Session { inner }
    }

    /// A session whose conversation and KV cache come from a snapshot file,
    /// e.g. one written before the app was killed. The cache is read on the
    /// next `send`, so that turn's TTFT includes the restore.
    pub(crate) fn from_snapshot(engine: Engine, path: &Path) -> Result<Self> {
        let (header, _) = snapshot::read(path)?;
        if header.model_fingerprint != engine.fingerprint() {
            return Err(Error::InvalidArgument(format!("snapshot {} belongs to another model", path.display())));
        }
        let s = Session::new(engine);
        {
            let mut st = lock(&s.inner.state);
            st.system_prompt = header.system_prompt;
            st.history = header.history;
            st.context = header.tokens;
            st.parked = Some(path.to_path_buf());
            *lock(&s.inner.history) = st.history.clone();
        }
        Ok(s)
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn set_system_prompt(&self, prompt: Option<String>) -> Result<()> {
        self.idle()?.system_prompt = prompt.filter(|p| !p.is_empty());
        Ok(())
    }

    pub fn history(&self) -> Vec<ChatMessage> {
        lock(&self.inner.history).clone()
    }

    /// Forgets the conversation (the system prompt stays).
    pub fn reset(&self) -> Result<()> {
        let mut st = self.idle()?;
        st.history.clear();
        st.context.clear();
        st.parked = None;
        if let Some(c) = st.cache.as_mut() {
            c.truncate(0);
        }
        lock(&self.inner.history).clear();
        Ok(())
    }

    /// Tokens whose keys and values are cached (or parked in a snapshot).
    pub fn cached_tokens(&self) -> usize {
        self.idle().map(|st| st.context.len()).unwrap_or(0)
    }

    /// Whether the KV cache is in memory (not dropped by a release).
    pub fn has_kv_cache(&self) -> bool {
        self.idle().map(|st| st.cache.is_some()).unwrap_or(true)
    }

    /// Writes the session to `path` now (conversation, tokens, KV cache).
    pub fn save_snapshot(&self, path: &Path) -> Result<()> {
        let mut st = self.idle()?;
        self.inner.write_snapshot(&mut st, path)
    }

    fn idle(&self) -> Result<MutexGuard<'_, State>> {
        self.inner.try_state().ok_or(Error::Busy)
    }

    /// Sends a user message and streams the reply through `on_token`. On
    /// cancellation the partial reply is kept in the history and
    /// `Error::Cancelled` is returned; on any other error the history is unchanged.
    pub fn send(
        &self,
        user_message: &str,
        config: &GenerationConfig,
        cancel: &CancelToken,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        let mut st = self.idle()?;
        *lock(&self.inner.active) = Some(cancel.clone());
        let result = self.inner.send_locked(&mut st, user_message, config, cancel, on_token);
        *lock(&self.inner.active) = None;
        *lock(&self.inner.history) = st.history.clone();
        // A release that arrived mid-reply is carried out now.
        let pending = std::mem::take(&mut *lock(&self.inner.pending));
        if !pending.is_empty() {
            let _ = self.inner.release_locked(&mut st, pending);
        }
        result
    }
}

impl SessionInner {
    fn try_state(&self) -> Option<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(g) => Some(g),
            // A panic mid-update leaves plain data; carrying on beats refusing service.
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    fn send_locked(
        &self,
        st: &mut State,
        user_message: &str,
        config: &GenerationConfig,
        cancel: &CancelToken,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        let loaded = self.engine.loaded()?;
        let tok = &loaded.tokenizer;
        let mut messages = Vec::with_capacity(st.history.len() + 2);
        if let Some(s) = &st.system_prompt {
            messages.push(ChatMessage::new(Role::System, s.clone()));
        }
        messages.extend(st.history.iter().cloned());
        messages.push(ChatMessage::new(Role::User, user_message));
        // Message text is data: special-token texts in it stay plain text.
        let tokens = loaded.template.encode(tok, &messages, true)?;

        self.ensure_cache(st, &loaded);
        let cache = st.cache.as_mut().expect("ensured above");
        // At least one token must be fed to get fresh logits.
        let shared = common_prefix(&st.context, &tokens).min(tokens.len() - 1);
        cache.truncate(shared);
        st.context.truncate(shared);

        let extra_stops = loaded.template.turn_end_markers();
        let req = Request { config, cancel, extra_stops: &extra_stops, cached_prompt_tokens: shared };
        let result =
            generate::generate(loaded.model.as_ref(), tok, cache, &mut st.context, &tokens[shared..], &req, on_token);
        let g = match result {
            Ok(g) => g,
            Err(e) => {
                // The cache may hold part of a prefill; keep only what `context` vouches for.
                cache.truncate(st.context.len());
                return Err(e);
            }
        };
        st.history.push(ChatMessage::new(Role::User, user_message));
        st.history.push(ChatMessage::new(Role::Assistant, g.text.clone()));
        let mut stats = g.stats;
        stats.load_ms = self.engine.load_ms();
        match g.finish {
            Some(finish) => Ok(Reply { text: g.text, finish, stats }),
            None => Err(Error::Cancelled),
        }
    }

    /// Brings the KV cache back after a release: from the parked snapshot when
    /// it matches, else empty (the turn then re-prefills the conversation).
    fn ensure_cache(&self, st: &mut State, loaded: &Loaded) {
        if st.cache.is_some() {
            return;
        }
        let mut cache = loaded.model.new_cache(self.engine.context_length());
        let restored = st.parked.take().and_then(|p| match snapshot::read(&p) {
            Ok((h, kv)) if h.tokens == st.context && h.model_fingerprint == self.engine.fingerprint() => {
                cache.import(h.kv_len, &kv).ok()
            }
            Ok(_) => None,
            Err(e) => {
                log::warn!("session snapshot unusable, re-prefilling: {e}");
                None
            }
        });
        if restored.is_none() {
            st.context.clear();
        }
        st.cache = Some(cache);
    }

    fn write_snapshot(&self, st: &mut State, path: &Path) -> Result<()> {
        let kv = match &st.cache {
            Some(c) => c.export()?,
            // Already parked: the snapshot on disk is current.
            None => match &st.parked {
                Some(p) if p == path => return Ok(()),
                Some(p) => snapshot::read(p)?.1,
                None if st.context.is_empty() => Vec::new(),
                None => return Err(Error::InvalidArgument("nothing cached to snapshot".into())),
            },
        };
        let header = snapshot::SnapshotHeader {
            model_fingerprint: self.engine.fingerprint(),
            system_prompt: st.system_prompt.clone(),
            history: st.history.clone(),
            tokens: st.context.clone(),
            kv_len: st.context.len(),
            kv_floats: kv.len(),
        };
        snapshot::write(path, &header, &kv)
    }

    /// Called by the engine. Returns None if the session is busy (the actions
    /// are then queued, and the generation cancelled if `cancel` is set).
    pub(crate) fn release(&self, actions: Actions, cancel: bool) -> Option<Result<bool>> {
        match self.try_state() {
            Some(mut st) => Some(self.release_locked(&mut st, actions)),
            None => {
                let mut p = lock(&self.pending);
                *p = p.union(actions);
                if cancel {
                    if let Some(t) = lock(&self.active).as_ref() {
                        t.cancel();
                    }
                }
                None
            }
        }
    }

    /// Applies `actions`; returns whether a snapshot was written. The session
    /// stays usable whatever fails: a failed snapshot means the cache is kept.
    fn release_locked(&self, st: &mut State, actions: Actions) -> Result<bool> {
        if actions.trim_kv_cache || actions.trim_scratch {
            if let Some(c) = st.cache.as_mut() {
                c.shrink_to_fit();
            }
        }
        let mut wrote = false;
        let mut snapshot_err = None;
        let snapshot_dir = self.engine.memory_policy().snapshot_dir;
        if actions.snapshot_sessions && st.cache.is_some() && !st.context.is_empty() {
            if let Some(dir) = snapshot_dir {
                let path = dir.join(format!("session-{}.motesnap", self.id));
                match self.write_snapshot(st, &path) {
                    Ok(()) => {
                        wrote = true;
                        st.parked = Some(path);
                    }
                    Err(e) => snapshot_err = Some(e),
                }
            }
        }
        if actions.drop_kv_cache {
            // Without a fresh snapshot the conversation is re-prefilled next turn.
            // A session already parked by an earlier release has no cache to
            // lose: its snapshot is still current and must survive this one.
            if !wrote && st.cache.is_some() {
                st.context.clear();
                st.parked = None;
            }
            st.cache = None;
        }
        match snapshot_err {
            Some(e) => Err(e),
            None => Ok(wrote),
        }
    }

    pub(crate) fn kv_bytes(&self) -> (u64, u64) {
        match self.try_state() {
            Some(st) => st.cache.as_ref().map_or((0, 0), |c| (c.allocated_bytes() as u64, c.used_bytes() as u64)),
            None => (0, 0),
        }
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
