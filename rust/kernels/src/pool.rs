//! Persistent worker pool for the matmul kernels.
//!
//! Decode issues a few hundred small parallel loops per token, so waking a
//! thread must cost far less than a syscall: workers spin on a generation
//! counter for a short while after each job and only then park on a condvar.
//! The caller thread also takes tasks, so `threads() == n` means n − 1 workers.
//!
//! When `set_threads` lowers the count (the thermal policy does, to cool the
//! device), the surplus workers must cost nothing: they leave the spin/park
//! cycle altogether and block on a condvar of their own (`standby`) until the
//! count is raised again, so jobs neither wake them nor pay a notify for them.

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before parking; covers the gap between the
/// matmuls of one decode step without burning a core between tokens.
const SPIN: Duration = Duration::from_micros(300);
/// `gate` bit meaning "job closed: do not enter"; the low bits count workers inside the job.
const CLOSED: usize = 1 << (usize::BITS - 1);
/// `set_threads` caps the count at this many threads per available CPU: more
/// only oversubscribes, and a huge request must not exhaust the process.
const MAX_THREADS_PER_CPU: usize = 4;

type Job = *const (dyn Fn(usize) + Sync + 'static);

struct Shared {
    generation: AtomicUsize,
    gate: AtomicUsize,
    next_task: AtomicUsize,
    n_tasks: AtomicUsize,
    /// Workers a job started now may use (`threads() − 1`); the rest stand by.
    active: AtomicUsize,
    /// Workers the current job may use: `active` when it started.
    n_workers: AtomicUsize,
    job: UnsafeCell<Option<Job>>,
    panicked: AtomicBool,
    shutdown: AtomicBool,
    /// Active workers parked on `wake`; jobs notify only if there are any.
    sleepers: AtomicUsize,
    sleep_lock: Mutex<()>,
    /// Parked active workers wait here for the next job.
    wake: Condvar,
    /// Surplus workers (`idx >= active`) wait here for `set_threads` or Drop.
    standby: Condvar,
}

// SAFETY: `job` is written only by the thread holding `ThreadPool::call` while
// the gate is closed and empty, and read only by workers that entered the gate.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    call: Mutex<()>,
}

thread_local! {
    static IN_POOL: Cell<bool> = const { Cell::new(false) };
}

impl ThreadPool {
    /// `threads` including the calling thread; 0 = the default from
    /// [`crate::CpuTopology`] (performance cores, little ones left out).
    pub fn new(threads: usize) -> Self {
        let threads = if threads == 0 { performance_cores() } else { threads };
        let pool = ThreadPool {
            shared: Arc::new(Shared {
                generation: AtomicUsize::new(0),
                gate: AtomicUsize::new(CLOSED),
                next_task: AtomicUsize::new(0),
                n_tasks: AtomicUsize::new(0),
                active: AtomicUsize::new(0),
                n_workers: AtomicUsize::new(0),
                job: UnsafeCell::new(None),
                panicked: AtomicBool::new(false),
                shutdown: AtomicBool::new(false),
                sleepers: AtomicUsize::new(0),
                sleep_lock: Mutex::new(()),
                wake: Condvar::new(),
                standby: Condvar::new(),
            }),
            workers: Mutex::new(Vec::new()),
            call: Mutex::new(()),
        };
        pool.set_threads(threads);
        pool
    }

    pub fn threads(&self) -> usize {
        self.shared.active.load(Relaxed) + 1
    }

    /// Changes how many threads later `parallel_for` calls use (min 1, max
    /// `MAX_THREADS_PER_CPU` × available parallelism); spawns workers if needed.
    /// Surplus workers go to standby (blocked, no CPU) and return when the count
    /// is raised again. A job already running keeps the workers it started with.
    /// If the OS refuses a thread, the pool runs with the workers it has
    /// (`threads()` says how many) and a later call tries again.
    pub fn set_threads(&self, n: usize) {
        let n = n.clamp(1, MAX_THREADS_PER_CPU * crate::topology::available_parallelism());
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        while workers.len() < n - 1 {
            let idx = workers.len();
            let shared = Arc::clone(&self.shared);
            // Read here, not in the new thread: a thread that starts late must
            // still see every later generation bump (including Drop's) as new.
            let seen = shared.generation.load(SeqCst);
            match std::thread::Builder::new()
                .name(format!("mote-kernels-{idx}"))
                .spawn(move || worker(shared, idx, seen))
            {
                Ok(h) => workers.push(h),
                // Out of threads or memory: not worth a panic in the caller.
                Err(_) => break,
            }
        }
        let s = &*self.shared;
        s.active.store((n - 1).min(workers.len()), SeqCst);
        // Workers test `active` under `sleep_lock` before every wait, so
        // notifying under it cannot be missed: raised workers leave standby in
        // time for the next job, and lowered ones parked on `wake` move to
        // standby now instead of being counted in `sleepers` (and woken) by it.
        let _l = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
        s.standby.notify_all();
        s.wake.notify_all();
    }

    /// Runs `f(i)` for every `i < n_tasks`, each exactly once, spread over the
    /// pool and the calling thread; returns when all have finished. Nested
    /// calls from inside a task run serially. Panics in tasks are re-raised here.
    pub fn parallel_for(&self, n_tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        let threads = self.threads();
        if n_tasks == 0 {
            return;
        }
        if threads <= 1 || n_tasks == 1 || IN_POOL.with(|c| c.get()) {
            (0..n_tasks).for_each(f);
            return;
        }
        let _guard = self.call.lock().unwrap_or_else(|e| e.into_inner());
        let s = &*self.shared;
        // SAFETY: only the lifetime is erased; we do not return before the gate
        // is closed and every worker that entered has left, so no use outlives `f`.
        let job: Job = unsafe { core::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        unsafe { *s.job.get() = Some(job) };
        s.n_tasks.store(n_tasks, Relaxed);
        s.next_task.store(0, Relaxed);
        s.n_workers.store(threads - 1, Relaxed);
        s.panicked.store(false, Relaxed);
        s.gate.store(0, Release);
        s.generation.fetch_add(1, SeqCst);
        if s.sleepers.load(SeqCst) > 0 {
            let _l = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.wake.notify_all();
        }

        IN_POOL.with(|c| c.set(true));
        let mine = catch_unwind(AssertUnwindSafe(|| run_tasks(s, f)));
        IN_POOL.with(|c| c.set(false));

        s.gate.fetch_or(CLOSED, AcqRel);
        let mut spins = 0u32;
        while s.gate.load(Acquire) != CLOSED {
            spins += 1;
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        unsafe { *s.job.get() = None };
        if let Err(p) = mine {
            std::panic::resume_unwind(p);
        }
        if s.panicked.load(Acquire) {
            panic!("a parallel_for task panicked on a worker thread");
        }
    }
}

fn run_tasks(s: &Shared, f: &(dyn Fn(usize) + Sync)) {
    let n = s.n_tasks.load(Relaxed);
    loop {
        let i = s.next_task.fetch_add(1, Relaxed);
        if i >= n {
            break;
        }
        f(i);
    }
}

fn worker(s: Arc<Shared>, idx: usize, mut seen: usize) {
    IN_POOL.with(|c| c.set(true));
    loop {
        if idx >= s.active.load(SeqCst) {
            let mut g = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            while idx >= s.active.load(SeqCst) && !s.shutdown.load(SeqCst) {
                g = s.standby.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            // `seen` is deliberately left stale: a job that started after the
            // raise but before we got here then still reads as new, and we join it.
        }
        if !wait_for_job(&s, idx, seen) {
            if s.shutdown.load(Acquire) {
                return;
            }
            continue; // made surplus: to standby, `seen` unchanged
        }
        seen = s.generation.load(Acquire);
        if s.shutdown.load(Acquire) {
            return;
        }
        if !enter(&s.gate) {
            continue;
        }
        // A job that started before a lowering may still count us; one that
        // started after it does not, whatever we saw of `active` above.
        if idx < s.n_workers.load(Relaxed) {
            // SAFETY: we are inside the open gate, so the job is live.
            if let Some(job) = unsafe { *s.job.get() } {
                let f = unsafe { &*job };
                if catch_unwind(AssertUnwindSafe(|| run_tasks(&s, f))).is_err() {
                    s.panicked.store(true, Release);
                }
            }
        }
        s.gate.fetch_sub(1, Release);
    }
}

/// Spins for up to `SPIN`, then parks on `wake`, until a generation newer than
/// `seen` (true), or until this worker is made surplus or the pool shuts down
/// (false). A worker lowered mid-spin notices within 256 spins and stops.
fn wait_for_job(s: &Shared, idx: usize, seen: usize) -> bool {
    let start = Instant::now();
    let mut k = 0u32;
    while s.generation.load(Acquire) == seen {
        std::hint::spin_loop();
        k = k.wrapping_add(1);
        if k % 256 == 0 && (start.elapsed() > SPIN || idx >= s.active.load(Relaxed)) {
            let mut g = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.sleepers.fetch_add(1, SeqCst);
            while s.generation.load(SeqCst) == seen && !s.shutdown.load(SeqCst) && idx < s.active.load(SeqCst) {
                g = s.wake.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            s.sleepers.fetch_sub(1, SeqCst);
            break;
        }
    }
    idx < s.active.load(SeqCst) && !s.shutdown.load(SeqCst)
}

/// Joins the current job unless the caller has already closed it.
fn enter(gate: &AtomicUsize) -> bool {
    let mut g = gate.load(Relaxed);
    loop {
        if g & CLOSED != 0 {
            return false;
        }
        match gate.compare_exchange_weak(g, g + 1, Acquire, Relaxed) {
            Ok(_) => return true,
            Err(now) => g = now,
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        let s = &*self.shared;
        s.shutdown.store(true, SeqCst);
        s.generation.fetch_add(1, SeqCst);
        {
            let _l = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.wake.notify_all();
            s.standby.notify_all();
        }
        for h in self.workers.get_mut().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = h.join();
        }
    }
}

/// The default thread count: see [`crate::CpuTopology::default_threads`].
pub(crate) fn performance_cores() -> usize {
    crate::topology::CpuTopology::detect().default_threads()
}
