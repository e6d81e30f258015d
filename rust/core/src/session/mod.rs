//! A multi-turn chat. The session keeps the conversation and its own KV cache;
//! each turn renders the part of the conversation that fits the context
//! (see [`ContextPolicy`]) and prefills only the tokens after the longest
//! prefix already cached. Under memory pressure its cache can be snapshotted
//! and dropped; the next turn restores it from the snapshot, or re-prefills,
//! without losing a message.
//!
//! Concurrency is decided in one place, the state machine in [`state`]:
//! whoever it admits owns the session's data until it ends its phase, so the
//! data lock is never contended and readers (history, context status, memory
//! reports) read values the owner publishes instead of waiting for it.

mod park;
pub mod state;
mod turn;
pub mod window;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::{lock, Engine};
use crate::error::{Error, Result};
use crate::generate::CancelToken;
use crate::memory::{snapshot, Actions};
use crate::model::kv_cache::KvMeter;
use crate::model::KvCache;
use crate::stats::{FinishReason, Stats};
use crate::template::ChatMessage;
use crate::GenerationConfig;

pub use state::Phase;
pub use window::{ContextPolicy, ContextStatus};

#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub finish: FinishReason,
    pub stats: Stats,
}

/// A chat session. `Send + Sync`: it may be called from any thread. A second
/// `send` while one is generating gets [`Error::Busy`]; a call that meets a
/// cancelled reply winding down, an edit or a memory release waits for it.
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    engine: Engine,
    machine: state::StateCell,
    /// Locked only by the thread the machine admitted.
    data: Mutex<Data>,
    /// What readers see, published by the owner at the end of each phase.
    view: Mutex<View>,
    kv: Arc<KvMeter>,
    #[cfg(test)]
    hook: Mutex<Option<Arc<dyn Fn(Point) + Send + Sync>>>,
}

#[derive(Default)]
struct Data {
    system_prompt: Option<String>,
    history: Vec<ChatMessage>,
    /// The first history message the model sees; older ones were dropped.
    window_start: usize,
    policy: ContextPolicy,
    /// Tokens whose keys and values are in `cache` (or in the `parked` snapshot).
    context: Vec<u32>,
    cache: Option<KvCache>,
    /// A snapshot holding the KV cache for `context`, written when the cache was dropped.
    parked: Option<PathBuf>,
    /// This session's own snapshot file, named at its first release: unique
    /// per session and process, so no two sessions ever share one.
    own_snapshot: Option<PathBuf>,
}

#[derive(Default, Clone)]
struct View {
    history: Vec<ChatMessage>,
    status: ContextStatus,
    cached_tokens: usize,
    has_cache: bool,
    snapshot: Option<PathBuf>,
    policy: ContextPolicy,
}

/// Lock boundaries of a turn and a release, where tests inject the other.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    BeforeTurn,
    TurnAdmitted,
    CacheReady,
    Token,
    Generated,
    TurnEnding,
    TurnEnded,
    ReleaseAdmitted,
    ReleaseApplied,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Session {
    pub(crate) fn new(engine: Engine) -> Self {
        let inner = Arc::new(SessionInner {
            engine,
            machine: state::StateCell::default(),
            data: Mutex::new(Data::default()),
            view: Mutex::new(View::default()),
            kv: Arc::default(),
            #[cfg(test)]
            hook: Mutex::new(None),
        });
        inner.engine.register(&inner);
        inner.publish(&lock(&inner.data));
        Session { inner }
    }

    /// A session whose conversation comes from a snapshot file, e.g. one
    /// written before the app was killed. A file whose header is damaged or
    /// not a snapshot is refused with [`Error::InvalidSnapshot`]. The KV cache
    /// is read and verified on the next `send`; if it is damaged or belongs to
    /// another model, that turn re-prefills the conversation instead.
    pub(crate) fn from_snapshot(engine: Engine, path: &Path) -> Result<Self> {
        let header = snapshot::read_header(path)?;
        let s = Session::new(engine);
        {
            let mut d = lock(&s.inner.data);
            d.system_prompt = header.system_prompt;
            d.window_start = header.window_start.min(header.history.len());
            d.history = header.history;
            d.context = header.tokens;
            d.parked = Some(path.to_path_buf());
            s.inner.publish(&d);
        }
        Ok(s)
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// What the session is doing now (idle, parked, generating, …).
    pub fn phase(&self) -> Phase {
        self.inner.machine.phase()
    }

    pub fn set_system_prompt(&self, prompt: Option<String>) -> Result<()> {
        self.inner.edit(|d| {
            d.system_prompt = prompt.filter(|p| !p.is_empty());
            Ok(())
        })
    }

    /// The conversation without the system prompt, as of the last completed
    /// call; during a reply, the history from before that turn. Never blocks.
    pub fn history(&self) -> Vec<ChatMessage> {
        lock(&self.inner.view).history.clone()
    }

    /// How much of the context the conversation takes, as of the last completed call.
    pub fn context_status(&self) -> ContextStatus {
        lock(&self.inner.view).status
    }

    pub fn context_policy(&self) -> ContextPolicy {
        lock(&self.inner.view).policy
    }

    pub fn set_context_policy(&self, policy: ContextPolicy) -> Result<()> {
        self.inner.edit(|d| {
            d.policy = policy;
            Ok(())
        })
    }

    /// Removes history message `index` (0 is the first after the system prompt).
    pub fn remove_message(&self, index: usize) -> Result<()> {
        self.inner.edit(|d| {
            check_index(index, d.history.len())?;
            d.history.remove(index);
            if index < d.window_start {
                d.window_start -= 1;
            }
            Ok(())
        })
    }

    /// Replaces history message `index`.
    pub fn replace_message(&self, index: usize, message: ChatMessage) -> Result<()> {
        self.inner.edit(|d| {
            check_index(index, d.history.len())?;
            d.history[index] = message;
            Ok(())
        })
    }

    /// Keeps the first `len` history messages (e.g. to regenerate a reply).
    pub fn truncate_history(&self, len: usize) -> Result<()> {
        self.inner.edit(|d| {
            d.history.truncate(len);
            d.window_start = d.window_start.min(len);
            Ok(())
        })
    }

    /// Forgets the conversation (the system prompt and context policy stay)
    /// and deletes the session's own snapshot file.
    pub fn reset(&self) -> Result<()> {
        self.inner.edit(|d| {
            d.history.clear();
            d.window_start = 0;
            d.context.clear();
            if let Some(c) = d.cache.as_mut() {
                c.truncate(0);
            }
            self.inner.forget_parked(d);
            Ok(())
        })
    }

    /// Tokens whose keys and values are cached (or parked in a snapshot).
    pub fn cached_tokens(&self) -> usize {
        lock(&self.inner.view).cached_tokens
    }

    /// Whether the KV cache is in memory (not dropped by a release).
    pub fn has_kv_cache(&self) -> bool {
        lock(&self.inner.view).has_cache
    }

    /// The snapshot file a release wrote for this session, if any. It is
    /// deleted when the session is reset or dropped; an app that wants to
    /// keep a conversation across launches saves it with `save_snapshot`.
    pub fn snapshot_path(&self) -> Option<PathBuf> {
        lock(&self.inner.view).snapshot.clone()
    }

    /// Writes the session to `path` now (conversation, tokens, KV cache). The
    /// file is the app's: the session never deletes it.
    pub fn save_snapshot(&self, path: &Path) -> Result<()> {
        self.inner.edit(|d| self.inner.write_snapshot(d, path))
    }

    /// Sends a user message and streams the reply through `on_token`. On
    /// cancellation the partial reply is kept in the history and
    /// `Error::Cancelled` is returned; on any other error the history is
    /// unchanged. When this returns, the session is no longer generating.
    pub fn send(
        &self,
        user_message: &str,
        config: &GenerationConfig,
        cancel: &CancelToken,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        self.begin_send(cancel)?.run(user_message, config, on_token)
    }

    /// Claims the session for a turn now, on the calling thread, without
    /// blocking: `Busy` at once if another reply is generating, so of two
    /// racing sends the first caller wins. The returned ticket runs the turn
    /// later, typically on a worker thread; if the session was winding down
    /// from a cancel or being released, the ticket waits for that there.
    pub fn begin_send(&self, cancel: &CancelToken) -> Result<TurnTicket> {
        self.inner.checkpoint(Point::BeforeTurn);
        let me = std::thread::current().id();
        let admitted = match self.inner.machine.lock().begin_turn(cancel, me) {
            state::Admit::Go => true,
            state::Admit::Wait => false,
            state::Admit::Busy => return Err(Error::Busy),
        };
        Ok(TurnTicket { inner: Some(self.inner.clone()), cancel: cancel.clone(), admitted })
    }
}

/// A turn claimed by [`Session::begin_send`]. Dropping it unrun gives the
/// session back.
pub struct TurnTicket {
    inner: Option<Arc<SessionInner>>,
    cancel: CancelToken,
    admitted: bool,
}

impl TurnTicket {
    /// Runs the turn on the calling thread; see [`Session::send`].
    pub fn run(mut self, user_message: &str, config: &GenerationConfig, on_token: &mut dyn FnMut(&str)) -> Result<Reply> {
        let inner = self.inner.take().expect("a ticket runs once");
        let cancel = self.cancel.clone();
        if self.admitted {
            inner.machine.lock().rebind_owner(std::thread::current().id());
        } else {
            inner.machine.acquire(|m, me| m.begin_turn(&cancel, me))?;
        }
        let owner = Owner(&inner);
        inner.checkpoint(Point::TurnAdmitted);
        let result = {
            let mut d = lock(&inner.data);
            let r = inner.turn(&mut d, user_message, config, &cancel, on_token);
            inner.publish(&d);
            r
        };
        inner.checkpoint(Point::TurnEnding);
        owner.finish();
        inner.checkpoint(Point::TurnEnded);
        result
    }
}

impl Drop for TurnTicket {
    fn drop(&mut self) {
        if let (Some(inner), true) = (self.inner.take(), self.admitted) {
            inner.end_phase();
        }
    }
}

fn check_index(index: usize, len: usize) -> Result<()> {
    if index >= len {
        return Err(Error::InvalidArgument(format!("message {index} does not exist; the history has {len}")));
    }
    Ok(())
}

/// A name no other session, in this process or any other, uses.
pub(super) fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("session-{nanos:x}-{:x}-{n}-{:08x}.motesnap", std::process::id(), rand::random::<u32>())
}

/// The admitted phase's owner. Ending runs any release deferred meanwhile;
/// dropping without `finish` (a panic) still rests the session, so it never
/// stays stuck in `Busy`.
struct Owner<'a>(&'a SessionInner);

impl Owner<'_> {
    fn finish(self) {
        self.0.end_phase();
        std::mem::forget(self);
    }
}

impl Drop for Owner<'_> {
    fn drop(&mut self) {
        self.0.end_phase();
    }
}

impl SessionInner {
    /// Runs an edit as the session's owner; waits out releases, `Busy` while generating.
    fn edit<T>(&self, f: impl FnOnce(&mut Data) -> Result<T>) -> Result<T> {
        self.machine.acquire(|m, me| m.begin_edit(me))?;
        let owner = Owner(self);
        let r = {
            let mut d = lock(&self.data);
            let r = f(&mut d);
            self.publish(&d);
            r
        };
        owner.finish();
        r
    }

    /// Ends ownership, first running every release deferred while we owned it.
    fn end_phase(&self) {
        loop {
            let parked = lock(&self.data).cache.is_none();
            match self.machine.end(parked) {
                None => return,
                Some(actions) => {
                    let mut d = lock(&self.data);
                    if let Err(e) = self.release_locked(&mut d, actions) {
                        log::warn!("deferred release: {e}");
                    }
                    self.publish(&d);
                }
            }
        }
    }

    /// Called by the engine. Returns None when the session's owner will run
    /// the release (the generation is cancelled first if `cancel` is set).
    pub(crate) fn release(&self, actions: Actions, cancel: bool) -> Option<Result<bool>> {
        let me = std::thread::current().id();
        if self.machine.lock().begin_release(actions, cancel, me) == state::ReleaseAdmit::Deferred {
            return None;
        }
        let owner = Owner(self);
        self.checkpoint(Point::ReleaseAdmitted);
        let r = {
            let mut d = lock(&self.data);
            let r = self.release_locked(&mut d, actions);
            self.publish(&d);
            r
        };
        self.checkpoint(Point::ReleaseApplied);
        owner.finish();
        Some(r)
    }

    /// Makes what readers see match `d`.
    fn publish(&self, d: &Data) {
        let status = self.status(d);
        let mut v = lock(&self.view);
        v.history.clone_from(&d.history);
        v.status = status;
        v.cached_tokens = d.context.len();
        v.has_cache = d.cache.is_some();
        v.snapshot = d.own_snapshot.clone().filter(|p| p.exists());
        v.policy = d.policy;
    }

    fn status(&self, d: &Data) -> ContextStatus {
        let limit = self.engine.context_length();
        let (tok, template) = self.engine.text();
        let text = window::Text { tok: &tok, template: &template };
        let start = d.window_start.min(d.history.len());
        let used = match text.encode(d.system_prompt.as_deref(), &d.history[start..], None) {
            Ok(t) => t.len(),
            // A template that cannot render this history fails the next turn with
            // the real error; meanwhile the cached tokens are the best estimate.
            Err(_) => d.context.len(),
        };
        ContextStatus { used, limit, remaining: limit.saturating_sub(used), dropped_messages: start }
    }

    pub(crate) fn kv_bytes(&self) -> (u64, u64) {
        self.kv.read()
    }

    #[cfg(test)]
    pub(crate) fn set_hook(&self, hook: Option<Arc<dyn Fn(Point) + Send + Sync>>) {
        *lock(&self.hook) = hook;
    }

    /// A lock boundary; tests run the other party of an interleaving here.
    fn checkpoint(&self, _point: Point) {
        #[cfg(test)]
        {
            let hook = lock(&self.hook).clone();
            if let Some(h) = hook {
                h(_point);
            }
        }
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        // The session's own snapshot goes with it; the app's saved ones stay.
        let d = self.data.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = &d.own_snapshot {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests;
