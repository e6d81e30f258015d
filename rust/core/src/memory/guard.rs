//! The crash-loop guard. A marker is written before a load and removed after
//! it ends (in success or failure). If the OS kills the process mid-load, the
//! marker survives, and the next load knows: it can say so and fall back to a
//! smaller context instead of being killed again.
//!
//! Stepping down must survive the load that succeeds at the smaller context,
//! or the app crashes on every other launch (4096 killed, 2048 fine, 4096
//! killed, …). So the stepped-down limit lives in a small state file next to
//! the markers, keyed by model path:
//!
//! - every load that never finished halves the context that crashed (the
//!   marker records the context actually attempted), down to
//!   [`MIN_STEPPED_CONTEXT`], never above what the app requests;
//! - a load that finishes keeps the limit;
//! - [`record_clean_session`] steps back up one level (doubles the context
//!   the last load used), and drops the limit once it reaches the requested
//!   context.
//!
//! Loads without stepping down (`step_down: false`, e.g. the engine reloading
//! after a release at the context it already has) are guarded and count
//! crashes, but leave the limit and its bookkeeping alone: a reload at a
//! stepped-down context must not pass for what the app asked for.
//!
//! Each model has its own marker, so two engines loading different models
//! from the same directory at once don't take each other's marker for a
//! crash. Two engines loading the *same* model from the same directory at the
//! same time still share one marker.

use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Stepping down after crashes stops here (unless the app asks for less).
pub const MIN_STEPPED_CONTEXT: usize = 256;

/// The state file: stepped-down limits and crash counts, keyed by model path.
const STATE: &str = "mote-load-state.json";
/// Where earlier versions kept one marker for every model. Still honoured,
/// so an upgrade in the middle of a crash loop doesn't forget the crash.
const LEGACY_MARKER: &str = "mote-load.marker";

/// Serialises this process's read-modify-write of state files.
static STATE_LOCK: Mutex<()> = Mutex::new(());

/// A load that started and never finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnfinishedLoad {
    pub model: String,
    pub context_length: usize,
    pub started_unix_ms: u64,
}

/// What a guarded load should do.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadDecision {
    /// The context to load with: the requested one, or a stepped-down one after crashes.
    pub context_length: usize,
    /// The load that never finished, if the previous one crashed. Its
    /// `context_length` is 0 when what crashed is unknown: the marker or the
    /// state file could not be read, which counts as a crash all the same.
    pub previous: Option<UnfinishedLoad>,
    /// Crashes in a row at this model without a clean session between them.
    pub consecutive_crashes: u32,
}

/// A load in progress. [`disarm`](LoadGuard::disarm) it (or drop it) when the
/// load ends either way; only a process that dies mid-load leaves its marker.
#[derive(Debug)]
pub struct LoadGuard {
    marker: PathBuf,
}

/// What the state file remembers about one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct ModelState {
    /// The stepped-down context; `None`: load with what is requested.
    limit: Option<usize>,
    consecutive_crashes: u32,
    /// The requested context of the last load that could step down; stepping up stops there.
    requested: usize,
    /// The context that load used; a clean session steps up from it.
    attempted: usize,
}

impl ModelState {
    /// Nothing worth a line in the state file.
    fn is_blank(&self) -> bool {
        self.limit.is_none() && self.consecutive_crashes == 0
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    models: BTreeMap<String, ModelState>,
}

impl LoadGuard {
    /// Reads the persisted state for `model` in `dir` and decides the context.
    /// With `step_down`, each unfinished load halves the context that crashed
    /// (floor [`MIN_STEPPED_CONTEXT`]) and the stepped-down limit applies,
    /// never above `requested`; without, the crash is reported and counted
    /// but the load uses `requested`. Then writes this model's marker with the
    /// context actually attempted, on disk before the risky part starts.
    ///
    /// An unreadable marker or state file counts as a crash. Failing to write
    /// either is an [`Error::Storage`].
    pub fn arm(dir: &Path, model: &Path, requested: usize, step_down: bool) -> Result<(LoadGuard, LoadDecision)> {
        let key = model_key(model);
        fs::create_dir_all(dir).map_err(storage(dir))?;
        let _lock = lock_state();

        let marker = marker_path(dir, &key);
        let mut unfinished = read_marker(&marker);
        let legacy = dir.join(LEGACY_MARKER);
        let mut legacy_is_ours = false;
        match read_marker(&legacy) {
            None => {}
            Some(Some(theirs)) if theirs.model != key => {
                // Another model's crash: leave it where that model's next load looks.
                let target = marker_path(dir, &theirs.model);
                if target.exists() {
                    remove_if_present(&legacy)?;
                } else {
                    fs::rename(&legacy, &target).map_err(storage(&legacy))?;
                }
            }
            Some(found) => {
                legacy_is_ours = true;
                unfinished = unfinished.or(Some(found));
            }
        }

        let (mut state, state_readable) = match read_state(dir) {
            Ok(Some(state)) => (state, true),
            Ok(None) | Err(_) => {
                log::warn!("crash-loop state in {} is unreadable; counting it as a crash", dir.display());
                (State::default(), false)
            }
        };
        let unknown = || UnfinishedLoad { model: key.clone(), context_length: 0, started_unix_ms: 0 };
        let previous = match unfinished {
            Some(found) => Some(found.unwrap_or_else(unknown)),
            None if !state_readable => Some(unknown()),
            None => None,
        };

        let before = state.models.get(&key).cloned();
        let mut entry = before.clone().unwrap_or_default();
        if let Some(p) = &previous {
            entry.consecutive_crashes = entry.consecutive_crashes.saturating_add(1);
            if step_down {
                let crashed_at = match p.context_length {
                    0 => limited(entry.limit, requested),
                    c => c,
                };
                let stepped = (crashed_at / 2).max(MIN_STEPPED_CONTEXT);
                entry.limit = Some(entry.limit.map_or(stepped, |l| l.min(stepped)));
            }
        }
        let context_length = if step_down { limited(entry.limit, requested) } else { requested };
        if step_down {
            entry.requested = requested;
            entry.attempted = context_length;
        }
        let after = (!entry.is_blank()).then_some(entry);
        if after != before || !state_readable {
            match after {
                Some(entry) => state.models.insert(key.clone(), entry),
                None => state.models.remove(&key),
            };
            write_state(dir, &state)?;
        }
        let consecutive_crashes = state.models.get(&key).map_or(0, |e| e.consecutive_crashes);
        if legacy_is_ours {
            // Counted in the state now; this model's own marker takes over.
            remove_if_present(&legacy)?;
        }

        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let record = UnfinishedLoad { model: key, context_length, started_unix_ms: now };
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::Storage(format!("crash-loop marker: {e}")))?;
        let mut f = fs::File::create(&marker).map_err(storage(&marker))?;
        f.write_all(&bytes).map_err(storage(&marker))?;
        // The marker must be on disk before the risky part starts.
        f.sync_all().map_err(storage(&marker))?;
        Ok((LoadGuard { marker }, LoadDecision { context_length, previous, consecutive_crashes }))
    }

    /// The load ended (either way) without killing the process: remove the
    /// marker. The stepped-down limit persists. Dropping the guard does the same.
    pub fn disarm(self) {
        drop(self);
    }
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.marker) {
            if e.kind() != ErrorKind::NotFound {
                log::warn!("cannot remove crash-loop marker {}: {e}", self.marker.display());
            }
        }
    }
}

/// The app closed the engine cleanly (or a session completed) at the
/// stepped-down context: step back up one level (double, capped at the
/// requested context) for the next load, and reset `consecutive_crashes`.
/// One level per load: the step goes from the context the last stepping-down
/// [`LoadGuard::arm`] used, so more calls before the next load change nothing.
/// No-op when not stepped down, apart from resetting a crash count left by
/// loads without stepping down.
pub fn record_clean_session(dir: &Path, model: &Path) -> Result<()> {
    let key = model_key(model);
    let _lock = lock_state();
    let Some(mut state) = read_state(dir).map_err(storage(dir))? else {
        // Unreadable: the next load counts it as a crash; nothing to step up from.
        return Ok(());
    };
    let Some(entry) = state.models.get_mut(&key) else { return Ok(()) };
    let before = entry.clone();
    entry.consecutive_crashes = 0;
    if entry.limit.is_some() && entry.attempted < entry.requested {
        let up = entry.attempted.saturating_mul(2);
        entry.limit = (up < entry.requested).then_some(up);
    }
    if *entry == before {
        return Ok(());
    }
    if entry.is_blank() {
        state.models.remove(&key);
    }
    write_state(dir, &state)
}

fn limited(limit: Option<usize>, requested: usize) -> usize {
    limit.map_or(requested, |l| l.min(requested))
}

fn model_key(model: &Path) -> String {
    model.display().to_string()
}

/// This model's marker: a stable hash of its path (FNV-1a, the same across
/// Rust versions, unlike `DefaultHasher`).
fn marker_path(dir: &Path, key: &str) -> PathBuf {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    dir.join(format!("mote-load-{hash:016x}.marker"))
}

/// `None`: no marker. `Some(None)`: a marker that cannot be read or parsed.
fn read_marker(path: &Path) -> Option<Option<UnfinishedLoad>> {
    match fs::read(path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(_) => Some(None),
    }
}

/// `Ok(None)`: the file is there but corrupt. A missing file is an empty state.
fn read_state(dir: &Path) -> std::io::Result<Option<State>> {
    match fs::read(dir.join(STATE)) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Some(State::default())),
        Err(e) => Err(e),
    }
}

/// Writes the state atomically: a synced temporary file renamed over the old one.
fn write_state(dir: &Path, state: &State) -> Result<()> {
    let path = dir.join(STATE);
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| Error::Storage(format!("crash-loop state: {e}")))?;
    let tmp = dir.join(format!(".{STATE}.{}.tmp", std::process::id()));
    if let Err(e) = write_synced(&tmp, &bytes).and_then(|()| fs::rename(&tmp, &path)) {
        let _ = fs::remove_file(&tmp);
        return Err(storage(&path)(e));
    }
    // Make the rename itself durable where the platform allows it.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(storage(path)(e)),
        _ => Ok(()),
    }
}

fn storage(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Storage(format!("crash-loop guard, {}: {e}", path.display()))
}

fn lock_state() -> MutexGuard<'static, ()> {
    STATE_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "/models/a.gguf";
    const B: &str = "/models/b.gguf";

    fn arm(dir: &Path, model: &str, requested: usize) -> (LoadGuard, LoadDecision) {
        LoadGuard::arm(dir, Path::new(model), requested, true).unwrap()
    }

    /// Arms a load that the OS kills: the guard is never disarmed nor dropped.
    fn crash(dir: &Path, model: &str, requested: usize) -> LoadDecision {
        let (g, d) = arm(dir, model, requested);
        std::mem::forget(g);
        d
    }

    /// Arms a load that finishes.
    fn load(dir: &Path, model: &str, requested: usize) -> LoadDecision {
        let (g, d) = arm(dir, model, requested);
        g.disarm();
        d
    }

    fn clean(dir: &Path, model: &str) {
        record_clean_session(dir, Path::new(model)).unwrap();
    }

    #[test]
    fn a_load_that_never_finished_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = crash(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.previous, d.consecutive_crashes), (4096, None, 0));
        let (g, d) = arm(dir.path(), A, 4096);
        let prev = d.previous.expect("the unfinished load is reported");
        assert_eq!((prev.model.as_str(), prev.context_length), (A, 4096));
        assert!(prev.started_unix_ms > 0);
        g.disarm();
        let d = load(dir.path(), A, 4096);
        assert_eq!(d.previous, None);
    }

    #[test]
    fn every_repeated_crash_steps_down_until_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(crash(dir.path(), A, 4096).context_length, 4096);
        let mut crashed_at = 4096;
        for (n, expected) in [2048, 1024, 512, 256, 256, 256].into_iter().enumerate() {
            let d = crash(dir.path(), A, 4096);
            assert_eq!(d.context_length, expected, "after {} crashes", n + 1);
            assert_eq!(d.consecutive_crashes, n as u32 + 1);
            // The marker holds the context that was attempted, not the requested one.
            assert_eq!(d.previous.expect("crash reported").context_length, crashed_at);
            crashed_at = expected;
        }
    }

    #[test]
    fn a_finished_load_at_the_stepped_down_context_keeps_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        crash(dir.path(), A, 4096);
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (2048, 1));
        // The next launch: no crash to report, but no going back to 4096 either.
        for _ in 0..3 {
            let d = load(dir.path(), A, 4096);
            assert_eq!((d.context_length, d.previous, d.consecutive_crashes), (2048, None, 1));
        }
        // A crash later on, still without a clean session, steps further down.
        crash(dir.path(), A, 4096);
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (1024, 2));
    }

    #[test]
    fn clean_sessions_step_back_up_one_level_per_load() {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..3 {
            crash(dir.path(), A, 4096);
        }
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (512, 3));
        clean(dir.path(), A);
        // Counted once per load: a second clean session before the next load changes nothing.
        clean(dir.path(), A);
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.previous, d.consecutive_crashes), (1024, None, 0));
        clean(dir.path(), A);
        assert_eq!(load(dir.path(), A, 4096).context_length, 2048);
        clean(dir.path(), A);
        assert_eq!(load(dir.path(), A, 4096).context_length, 4096);
        clean(dir.path(), A);
        assert_eq!(load(dir.path(), A, 4096).context_length, 4096, "never above the requested context");
        // Back to normal: nothing left in the state file for this model.
        let state = read_state(dir.path()).unwrap().unwrap();
        assert!(state.models.is_empty(), "{state:?}");
    }

    #[test]
    fn a_crash_after_stepping_up_steps_down_again() {
        let dir = tempfile::tempdir().unwrap();
        crash(dir.path(), A, 4096);
        crash(dir.path(), A, 4096);
        assert_eq!(load(dir.path(), A, 4096).context_length, 1024);
        clean(dir.path(), A);
        let d = crash(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (2048, 0));
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (1024, 1));
    }

    #[test]
    fn reloads_without_stepping_down_keep_the_limit_and_its_bookkeeping() {
        let dir = tempfile::tempdir().unwrap();
        crash(dir.path(), A, 4096);
        assert_eq!(load(dir.path(), A, 4096).context_length, 2048);
        // The engine reloads after a release, at the context it has.
        let reload = |ctx| LoadGuard::arm(dir.path(), Path::new(A), ctx, false).unwrap();
        let (g, d) = reload(2048);
        assert_eq!((d.context_length, d.previous, d.consecutive_crashes), (2048, None, 1));
        g.disarm();
        // That reload does not make 2048 look like the requested context: a clean session still steps up.
        clean(dir.path(), A);
        assert_eq!(load(dir.path(), A, 4096).context_length, 4096);
        // A reload the OS kills steps the next launch down from the reload's context.
        crash(dir.path(), A, 4096);
        assert_eq!(load(dir.path(), A, 4096).context_length, 2048);
        std::mem::forget(reload(2048).0);
        let d = load(dir.path(), A, 4096);
        assert_eq!(d.previous.map(|p| p.context_length), Some(2048));
        assert_eq!((d.context_length, d.consecutive_crashes), (1024, 2));
    }

    #[test]
    fn a_clean_session_without_stepping_down_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        clean(dir.path(), A);
        load(dir.path(), A, 4096);
        clean(dir.path(), A);
        assert!(!dir.path().join(STATE).exists());
        assert_eq!(load(dir.path(), A, 4096).context_length, 4096);
    }

    #[test]
    fn the_stepped_down_context_is_never_above_the_requested_one() {
        let dir = tempfile::tempdir().unwrap();
        crash(dir.path(), A, 4096);
        assert_eq!(load(dir.path(), A, 1024).context_length, 1024);
        assert_eq!(load(dir.path(), A, 8192).context_length, 2048);
        // Below the floor, a crash leaves what the app asked for.
        let dir = tempfile::tempdir().unwrap();
        crash(dir.path(), A, 128);
        let d = load(dir.path(), A, 128);
        assert_eq!((d.context_length, d.consecutive_crashes), (128, 1));
    }

    #[test]
    fn without_step_down_crashes_are_reported_and_the_requested_context_kept() {
        let dir = tempfile::tempdir().unwrap();
        let step_down = false;
        for n in 0..3 {
            let (g, d) = LoadGuard::arm(dir.path(), Path::new(A), 4096, step_down).unwrap();
            assert_eq!((d.context_length, d.consecutive_crashes), (4096, n));
            assert_eq!(d.previous.map(|p| p.context_length), (n > 0).then_some(4096));
            std::mem::forget(g);
        }
        let (g, d) = LoadGuard::arm(dir.path(), Path::new(A), 4096, step_down).unwrap();
        assert_eq!((d.context_length, d.consecutive_crashes), (4096, 3));
        g.disarm();
        clean(dir.path(), A);
        let (_g, d) = LoadGuard::arm(dir.path(), Path::new(A), 4096, step_down).unwrap();
        assert_eq!((d.context_length, d.previous, d.consecutive_crashes), (4096, None, 0));
    }

    #[test]
    fn a_corrupt_marker_counts_as_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(marker_path(dir.path(), A), b"{not json").unwrap();
        let d = load(dir.path(), A, 4096);
        let prev = d.previous.expect("a corrupt marker is still a load that died");
        assert_eq!((prev.model.as_str(), prev.context_length), (A, 0));
        assert_eq!((d.context_length, d.consecutive_crashes), (2048, 1));
        // An empty marker (killed between create and write) too, from the limit.
        fs::write(marker_path(dir.path(), A), b"").unwrap();
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (1024, 2));
        assert_eq!(load(dir.path(), A, 4096).previous, None);
    }

    #[test]
    fn a_corrupt_state_file_counts_as_a_crash_and_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE), b"\x00\xffgarbage").unwrap();
        let d = load(dir.path(), A, 4096);
        assert_eq!(d.previous.map(|p| p.context_length), Some(0));
        assert_eq!((d.context_length, d.consecutive_crashes), (2048, 1));
        assert!(read_state(dir.path()).unwrap().is_some(), "the state file is readable again");
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.previous), (2048, None));
        // A clean session leaves a corrupt file alone, and does not fail.
        fs::write(dir.path().join(STATE), b"[1,2").unwrap();
        clean(dir.path(), A);
    }

    #[test]
    fn io_errors_are_storage_errors() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the state file should be: reading and replacing it fail.
        fs::create_dir(dir.path().join(STATE)).unwrap();
        assert!(matches!(LoadGuard::arm(dir.path(), Path::new(A), 4096, true), Err(Error::Storage(_))));
        assert!(matches!(record_clean_session(dir.path(), Path::new(A)), Err(Error::Storage(_))));
        // A file where the directory should be.
        let file = dir.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(matches!(LoadGuard::arm(&file, Path::new(A), 4096, true), Err(Error::Storage(_))));
    }

    #[test]
    fn two_models_do_not_interfere() {
        let dir = tempfile::tempdir().unwrap();
        crash(dir.path(), A, 4096);
        let d = load(dir.path(), B, 4096);
        assert_eq!((d.context_length, d.previous, d.consecutive_crashes), (4096, None, 0));
        crash(dir.path(), B, 8192);
        let d = load(dir.path(), A, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (2048, 1));
        assert_eq!(d.previous.unwrap().model, A);
        let d = load(dir.path(), B, 8192);
        assert_eq!((d.context_length, d.consecutive_crashes), (4096, 1));
        assert_eq!(d.previous.unwrap().model, B);
        clean(dir.path(), B);
        assert_eq!(load(dir.path(), A, 4096).context_length, 2048);
        assert_eq!(load(dir.path(), B, 8192).context_length, 8192);
        // Loads of both at once: neither takes the other's marker for a crash.
        let (a, _) = arm(dir.path(), A, 4096);
        let (b, d) = arm(dir.path(), B, 8192);
        assert_eq!(d.previous, None);
        b.disarm();
        a.disarm();
        assert_eq!(load(dir.path(), A, 4096).previous, None);
        assert_eq!(load(dir.path(), B, 8192).previous, None);
    }

    #[test]
    fn dropping_the_guard_ends_the_load() {
        let dir = tempfile::tempdir().unwrap();
        drop(arm(dir.path(), A, 4096));
        assert_eq!(load(dir.path(), A, 4096).previous, None);
    }

    #[test]
    fn a_marker_from_an_earlier_version_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join(LEGACY_MARKER);
        // The old format: one marker for all models, holding the requested context.
        fs::write(&legacy, format!(r#"{{"model":"{A}","context_length":4096,"started_unix_ms":5}}"#)).unwrap();
        // Another model's load leaves it for that model.
        assert_eq!(load(dir.path(), B, 4096).previous, None);
        assert!(!legacy.exists());
        let d = load(dir.path(), A, 4096);
        assert_eq!(d.previous.map(|p| (p.context_length, p.started_unix_ms)), Some((4096, 5)));
        assert_eq!(d.context_length, 2048);
        // This model's own legacy marker is counted once, then gone.
        fs::write(&legacy, format!(r#"{{"model":"{A}","context_length":2048,"started_unix_ms":5}}"#)).unwrap();
        assert_eq!(load(dir.path(), A, 4096).context_length, 1024);
        assert!(!legacy.exists());
        assert_eq!(load(dir.path(), A, 4096).previous, None);
        // An unreadable one can't say whose it was: it counts against the load that finds it.
        fs::write(&legacy, b"garbage").unwrap();
        let d = load(dir.path(), B, 4096);
        assert_eq!((d.context_length, d.consecutive_crashes), (2048, 1));
    }
}
