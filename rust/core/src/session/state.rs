//! The session's one state machine. Every call that touches a session's
//! conversation or KV cache first asks it for a phase, and this is the only
//! place that decides `Busy`, waiting, cancellation and deferred releases.
//!
//! ```text
//!            begin_turn                end_turn (nothing deferred)
//!   Idle ───────────────▶ Generating ─────────────────────────────▶ Idle
//!    ▲  ▲                   │  end_turn (release deferred)
//!    │  │ end_edit          ▼
//!    │  └── Editing     Releasing ── end_release (cache dropped) ──▶ Parked
//!    │                      ▲                                        │
//!    └──────── end_release ─┴──────────── begin_release ◀────────────┘
//! ```
//!
//! Rules, each tested below:
//! - A turn or edit in `Generating` gets `Busy`, unless that generation was
//!   cancelled: then it waits (cancellation is structured; the next `send`
//!   after a cancel never sees `Busy`).
//! - A turn or edit in `Editing` or `Releasing` waits: a release never makes a
//!   user call fail.
//! - A release in `Generating` or `Releasing` is deferred and merged; the
//!   owner runs it when it ends, so no release is ever lost. It cancels the
//!   generation when the policy asks, using the token stored atomically with
//!   the phase change that started it.
//! - The owner thread never waits for itself (a listener calling back into
//!   its own session gets `Busy`, not a deadlock).

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use crate::error::{Error, Result};
use crate::generate::CancelToken;
use crate::memory::Actions;

/// What a session is doing. `Idle` and `Parked` are resting phases (nobody
/// owns the session); the others belong to one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Resting with its KV cache in memory (or an empty conversation).
    Idle,
    /// Resting with its KV cache dropped by a release: in a snapshot, or to
    /// be re-prefilled on the next turn.
    Parked,
    /// A reply is being generated.
    Generating,
    /// A history or settings change is being applied.
    Editing,
    /// A memory release is dropping or snapshotting the cache.
    Releasing,
}

/// The answer to a request for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    Go,
    Wait,
    Busy,
}

/// The answer to a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleaseAdmit {
    /// The caller owns the session and releases now.
    Go,
    /// Queued for the current owner, who runs it when it finishes.
    Deferred,
}

#[derive(Debug)]
pub(crate) struct Machine {
    phase: Phase,
    owner: Option<ThreadId>,
    cancel: Option<CancelToken>,
    deferred: Actions,
}

impl Default for Machine {
    fn default() -> Self {
        Machine { phase: Phase::Idle, owner: None, cancel: None, deferred: Actions::default() }
    }
}

impl Machine {
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    fn resting(&self) -> bool {
        matches!(self.phase, Phase::Idle | Phase::Parked)
    }

    fn admit_user(&self, me: ThreadId) -> Admit {
        match self.phase {
            Phase::Idle | Phase::Parked => Admit::Go,
            _ if self.owner == Some(me) => Admit::Busy,
            Phase::Generating if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) => Admit::Wait,
            Phase::Generating => Admit::Busy,
            Phase::Editing | Phase::Releasing => Admit::Wait,
        }
    }

    /// A `send`: on `Go` the session is `Generating` and `cancel` is stored
    /// in the same step, so a release can always reach it.
    pub(crate) fn begin_turn(&mut self, cancel: &CancelToken, me: ThreadId) -> Admit {
        let a = self.admit_user(me);
        if a == Admit::Go {
            self.phase = Phase::Generating;
            self.owner = Some(me);
            self.cancel = Some(cancel.clone());
        }
        a
    }

    /// A turn admitted on the caller's thread runs on a worker: the worker
    /// becomes the owner (what the self-wait check compares against).
    pub(crate) fn rebind_owner(&mut self, me: ThreadId) {
        debug_assert_eq!(self.phase, Phase::Generating);
        self.owner = Some(me);
    }

    pub(crate) fn begin_edit(&mut self, me: ThreadId) -> Admit {
        let a = self.admit_user(me);
        if a == Admit::Go {
            self.phase = Phase::Editing;
            self.owner = Some(me);
        }
        a
    }

    pub(crate) fn begin_release(&mut self, actions: Actions, cancel_in_flight: bool, me: ThreadId) -> ReleaseAdmit {
        if self.resting() {
            self.phase = Phase::Releasing;
            self.owner = Some(me);
            return ReleaseAdmit::Go;
        }
        self.deferred = self.deferred.union(actions);
        if cancel_in_flight && self.phase == Phase::Generating {
            if let Some(c) = &self.cancel {
                c.cancel();
            }
        }
        ReleaseAdmit::Deferred
    }

    /// The owner is done. Returns the deferred release it must now run (the
    /// session is then `Releasing`, still owned by the caller), or rests it.
    pub(crate) fn end(&mut self, parked: bool) -> Option<Actions> {
        debug_assert!(!self.resting(), "end without a begin");
        self.cancel = None;
        if !self.deferred.is_empty() {
            self.phase = Phase::Releasing;
            return Some(std::mem::take(&mut self.deferred));
        }
        self.phase = if parked { Phase::Parked } else { Phase::Idle };
        self.owner = None;
        None
    }
}

/// The machine behind a lock, with a condvar for the callers that wait.
#[derive(Default)]
pub(crate) struct StateCell {
    m: Mutex<Machine>,
    changed: Condvar,
}

impl StateCell {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Machine> {
        self.m.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn phase(&self) -> Phase {
        self.lock().phase()
    }

    /// Waits while the machine says `Wait`; `Busy` becomes the error.
    pub(crate) fn acquire(&self, mut step: impl FnMut(&mut Machine, ThreadId) -> Admit) -> Result<()> {
        let me = std::thread::current().id();
        let mut m = self.lock();
        loop {
            match step(&mut m, me) {
                Admit::Go => return Ok(()),
                Admit::Busy => return Err(Error::Busy),
                Admit::Wait => m = self.changed.wait(m).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    /// Ends ownership; see [`Machine::end`].
    pub(crate) fn end(&self, parked: bool) -> Option<Actions> {
        let more = self.lock().end(parked);
        if more.is_none() {
            self.changed.notify_all();
        }
        more
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> ThreadId {
        std::thread::current().id()
    }

    fn other() -> ThreadId {
        std::thread::spawn(|| std::thread::current().id()).join().unwrap()
    }

    fn drop_cache() -> Actions {
        Actions { drop_kv_cache: true, ..Actions::default() }
    }

    #[test]
    fn a_second_turn_is_busy_but_waits_once_the_first_is_cancelled() {
        let mut m = Machine::default();
        let c = CancelToken::new();
        assert_eq!(m.begin_turn(&c, other()), Admit::Go);
        assert_eq!(m.phase(), Phase::Generating);
        assert_eq!(m.begin_turn(&CancelToken::new(), me()), Admit::Busy);
        assert_eq!(m.begin_edit(me()), Admit::Busy);
        c.cancel();
        assert_eq!(m.begin_turn(&CancelToken::new(), me()), Admit::Wait);
        assert_eq!(m.begin_edit(me()), Admit::Wait);
        assert_eq!(m.end(false), None);
        assert_eq!(m.phase(), Phase::Idle);
        assert_eq!(m.begin_turn(&CancelToken::new(), me()), Admit::Go);
    }

    #[test]
    fn the_owner_never_waits_for_itself() {
        let mut m = Machine::default();
        let c = CancelToken::new();
        assert_eq!(m.begin_turn(&c, me()), Admit::Go);
        c.cancel();
        assert_eq!(m.begin_edit(me()), Admit::Busy);
    }

    #[test]
    fn user_calls_wait_for_edits_and_releases_never_fail() {
        let mut m = Machine::default();
        assert_eq!(m.begin_release(drop_cache(), false, other()), ReleaseAdmit::Go);
        assert_eq!(m.phase(), Phase::Releasing);
        assert_eq!(m.begin_turn(&CancelToken::new(), me()), Admit::Wait);
        assert_eq!(m.begin_edit(me()), Admit::Wait);
        assert_eq!(m.end(true), None);
        assert_eq!(m.phase(), Phase::Parked);
        assert_eq!(m.begin_edit(me()), Admit::Go);
        assert_eq!(m.phase(), Phase::Editing);
        assert_eq!(m.begin_turn(&CancelToken::new(), other()), Admit::Wait);
        assert_eq!(m.end(true), None);
        assert_eq!(m.phase(), Phase::Parked);
    }

    #[test]
    fn a_release_during_a_turn_is_deferred_merged_and_handed_to_the_owner() {
        let mut m = Machine::default();
        let c = CancelToken::new();
        assert_eq!(m.begin_turn(&c, me()), Admit::Go);
        let snap = Actions { snapshot_sessions: true, ..Actions::default() };
        assert_eq!(m.begin_release(snap, false, other()), ReleaseAdmit::Deferred);
        assert!(!c.is_cancelled(), "a release that doesn't ask to cancel lets the reply finish");
        assert_eq!(m.begin_release(drop_cache(), true, other()), ReleaseAdmit::Deferred);
        assert!(c.is_cancelled(), "the policy's cancel reaches the running turn");
        assert_eq!(m.end(false), Some(snap.union(drop_cache())));
        assert_eq!(m.phase(), Phase::Releasing);
        // A release arriving while the owner runs the deferred one is not lost either.
        assert_eq!(m.begin_release(drop_cache(), false, other()), ReleaseAdmit::Deferred);
        assert_eq!(m.end(true), Some(drop_cache()));
        assert_eq!(m.end(true), None);
        assert_eq!(m.phase(), Phase::Parked);
    }

    #[test]
    fn a_release_during_an_edit_is_deferred_too() {
        let mut m = Machine::default();
        assert_eq!(m.begin_edit(me()), Admit::Go);
        assert_eq!(m.begin_release(drop_cache(), true, other()), ReleaseAdmit::Deferred);
        assert_eq!(m.end(false), Some(drop_cache()));
        assert_eq!(m.end(true), None);
    }

    #[test]
    fn a_waiter_proceeds_when_the_owner_ends() {
        let cell = std::sync::Arc::new(StateCell::default());
        let c = CancelToken::new();
        cell.acquire(|m, me| m.begin_turn(&c, me)).unwrap();
        c.cancel();
        let waiter = {
            let cell = cell.clone();
            std::thread::spawn(move || cell.acquire(|m, me| m.begin_turn(&CancelToken::new(), me)))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "the next turn waits for the cancelled one");
        assert_eq!(cell.end(false), None);
        waiter.join().unwrap().unwrap();
        assert_eq!(cell.phase(), Phase::Generating);
    }
}
