//! A bounded pool of OS threads for password work, off the HTTP workers (costs and limits: docs/security.md).
//!
//! PBKDF2 at the default cost takes hundreds of milliseconds of CPU. Running it on the HTTP
//! workers would stall every other request behind a burst of logins; queueing it without a
//! bound would turn a burst into unbounded latency. The pool runs at most `threads` jobs at
//! once and keeps at most `queue_limit` more waiting for a thread; beyond that
//! [`HashPool::try_spawn`] answers [`PoolBusy`] at once (the server turns it into a prompt
//! 503), never blocking the caller.
//!
//! Results come back on a [`futures_channel::oneshot::Receiver`], which any executor can await;
//! the pool itself depends on no async runtime. A job that panics is caught: its thread keeps
//! serving and its receiver sees [`futures_channel::oneshot::Canceled`].
//!
//! Dropping the pool stops it: jobs still waiting are discarded (their receivers see
//! `Canceled`), jobs already running finish, and the drop waits for the threads to exit.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use futures_channel::oneshot;

/// The pool's queue is full: the caller should shed the request (HTTP 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password hashing pool is busy")]
pub struct PoolBusy;

impl From<PoolBusy> for gatehouse_domain::credentials::CredentialError {
    fn from(_: PoolBusy) -> Self {
        Self::Busy
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

struct State {
    jobs: VecDeque<Job>,
    running: usize,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    threads: usize,
    queue_limit: usize,
    completed: AtomicU64,
    panicked: AtomicU64,
    rejected: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and are wrapped in catch_unwind, so the lock is never held
        // across user code; a poisoned lock still holds a consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A fixed set of threads with a bounded queue. See the module documentation.
pub struct HashPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.threads())
            .field("queue_limit", &self.queue_limit())
            .field("queued", &self.queued())
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

impl HashPool {
    /// Starts `threads` worker threads (at least one) with room for `queue_limit` waiting jobs.
    ///
    /// # Panics
    /// If the operating system refuses to start a thread at start-up; use
    /// [`HashPool::try_new`] to handle that.
    pub fn new(threads: usize, queue_limit: usize) -> Self {
        match Self::try_new(threads, queue_limit) {
            Ok(pool) => pool,
            Err(e) => panic!("cannot start the password hashing threads: {e}"),
        }
    }

    /// Like [`HashPool::new`], returning the error if a thread cannot be started.
    ///
    /// # Errors
    /// The [`std::io::Error`] from [`std::thread::Builder::spawn`].
    pub fn try_new(threads: usize, queue_limit: usize) -> std::io::Result<Self> {
        Self::try_with_nice(threads, queue_limit, 0)
    }

    /// Like [`HashPool::try_new`], with the pool's threads at scheduling niceness `nice`
    /// (Linux; ignored elsewhere). A positive value lets every other thread of the process
    /// (HTTP workers, the database writer) go first when the cores are busy, so a flood of
    /// password checks does not slow the endpoints that hash nothing, while idle cores still
    /// run the hashes at full speed.
    ///
    /// # Errors
    /// The [`std::io::Error`] from [`std::thread::Builder::spawn`].
    pub fn try_with_nice(threads: usize, queue_limit: usize, nice: i32) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::with_capacity(queue_limit.min(4096)),
                running: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
            threads,
            queue_limit,
            completed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        });
        let mut pool = Self {
            shared,
            workers: Vec::with_capacity(threads),
        };
        for index in 0..threads {
            let shared = Arc::clone(&pool.shared);
            // On error, dropping `pool` stops the threads already started.
            let handle = std::thread::Builder::new()
                .name(format!("gatehouse-hash-{index}"))
                .spawn(move || {
                    if nice != 0 {
                        set_current_thread_nice(nice);
                    }
                    worker(&shared)
                })?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    /// Queues `job` and returns the receiver of its result, or [`PoolBusy`] at once when
    /// `queue_limit` jobs are already waiting for a thread. Never blocks on the pool.
    ///
    /// A job is "waiting" when no idle thread is there to take it: with `t` threads of which
    /// `r` are running, the queue accepts up to `(t - r) + queue_limit` entries. So
    /// `queue_limit = 0` means "run now or refuse".
    ///
    /// # Errors
    /// [`PoolBusy`] when the queue is full (or the pool is shutting down).
    pub fn try_spawn<R, F>(&self, job: F) -> Result<oneshot::Receiver<R>, PoolBusy>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let mut state = self.shared.lock();
        let idle = self.shared.threads.saturating_sub(state.running);
        let capacity = idle.saturating_add(self.shared.queue_limit);
        if state.shutdown || state.jobs.len() >= capacity {
            drop(state);
            self.shared.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(PoolBusy);
        }
        let (sender, receiver) = oneshot::channel();
        state.jobs.push_back(Box::new(move || {
            // The receiver may be gone (the request was abandoned); the work is done anyway.
            let _ = sender.send(job());
        }));
        drop(state);
        self.shared.work.notify_one();
        Ok(receiver)
    }

    /// Jobs waiting for a thread (including those an idle thread is about to take).
    pub fn queued(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.shared.lock().running
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.shared.threads
    }

    /// The configured queue limit.
    pub fn queue_limit(&self) -> usize {
        self.shared.queue_limit
    }

    /// Jobs finished, including those that panicked.
    pub fn completed(&self) -> u64 {
        self.shared.completed.load(Ordering::Relaxed)
    }

    /// Jobs that panicked.
    pub fn panicked(&self) -> u64 {
        self.shared.panicked.load(Ordering::Relaxed)
    }

    /// Calls to [`HashPool::try_spawn`] refused with [`PoolBusy`].
    pub fn rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::Relaxed)
    }
}

fn worker(shared: &Shared) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if state.shutdown {
                    return;
                }
                if let Some(job) = state.jobs.pop_front() {
                    state.running += 1;
                    break job;
                }
                state = shared.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A panic drops the job's sender, so its receiver sees Canceled.
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            shared.panicked.fetch_add(1, Ordering::Relaxed);
            tracing::error!("a password hashing job panicked");
        }
        shared.completed.fetch_add(1, Ordering::Relaxed);
        shared.lock().running -= 1;
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        let discarded = {
            let mut state = self.shared.lock();
            state.shutdown = true;
            std::mem::take(&mut state.jobs)
        };
        // Dropped outside the lock: dropping a job drops its sender, waking its receiver.
        drop(discarded);
        self.shared.work.notify_all();
        for handle in self.workers.drain(..) {
            // A worker never panics (jobs are caught), and a join error here has nobody to
            // report to.
            let _ = handle.join();
        }
    }
}

/// Sets the calling thread's niceness (on Linux, niceness is per thread). Best effort: a
/// refusal (no permission to lower it, say) leaves the thread as it was.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "the one audited FFI call: setpriority on this thread"
)]
fn set_current_thread_nice(nice: i32) {
    // SAFETY: gettid and setpriority take plain integers, touch no memory of ours and cannot
    // violate Rust's invariants; `who` is this thread's own id.
    let result = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if result != 0 {
        tracing::warn!(nice, "could not change the hash thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_current_thread_nice(_nice: i32) {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_channel::oneshot::Canceled;
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    /// Blocks on a receiver without an async runtime.
    fn wait<R>(mut receiver: oneshot::Receiver<R>) -> Result<R, Canceled> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match receiver.try_recv() {
                Ok(Some(value)) => return Ok(value),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(None) => panic!("job did not finish in time"),
                Err(canceled) => return Err(canceled),
            }
        }
    }

    fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn runs_jobs_and_returns_results() {
        let pool = HashPool::new(2, 8);
        assert_eq!(pool.threads(), 2);
        assert_eq!(pool.queue_limit(), 8);
        let receivers: Vec<_> = (0..8u64)
            .map(|i| match pool.try_spawn(move || i * i) {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            })
            .collect();
        let results: Vec<u64> = receivers
            .into_iter()
            .map(|r| wait(r).unwrap_or(u64::MAX))
            .collect();
        assert_eq!(results, vec![0, 1, 4, 9, 16, 25, 36, 49]);
        wait_until("completion count", || pool.completed() == 8);
        assert_eq!(pool.queued(), 0);
        wait_until("idle", || pool.running() == 0);
    }

    #[test]
    fn jobs_run_on_pool_threads() {
        let pool = HashPool::new(1, 1);
        let name = pool.try_spawn(|| std::thread::current().name().map(str::to_owned));
        let name = name.map(wait);
        assert_eq!(name, Ok(Ok(Some("gatehouse-hash-0".to_owned()))));
    }

    #[test]
    fn busy_past_the_queue_limit() {
        let threads = 2;
        let queue_limit = 3;
        let pool = HashPool::new(threads, queue_limit);
        // Both workers block on the barrier (with the test thread as the last party).
        let gate = Arc::new(Barrier::new(threads + 1));
        let blockers: Vec<_> = (0..threads)
            .map(|_| {
                let gate = Arc::clone(&gate);
                pool.try_spawn(move || {
                    gate.wait();
                    "blocker"
                })
            })
            .collect();
        assert!(blockers.iter().all(Result::is_ok));
        wait_until("both workers running", || pool.running() == threads);
        assert_eq!(pool.queued(), 0);

        // Fill the queue exactly.
        let mut queued = Vec::new();
        for i in 0..queue_limit {
            match pool.try_spawn(move || i) {
                Ok(r) => queued.push(r),
                Err(e) => panic!("job {i} refused below the limit: {e}"),
            }
        }
        assert_eq!(pool.queued(), queue_limit);
        assert_eq!(pool.running(), threads);

        // The next one is refused, at once.
        let start = Instant::now();
        let refused = pool.try_spawn(|| 99);
        assert_eq!(refused.err(), Some(PoolBusy));
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(pool.try_spawn(|| 100).err(), Some(PoolBusy));
        assert_eq!(pool.rejected(), 2);

        // Release the workers: everything queued runs.
        gate.wait();
        for blocker in blockers {
            assert_eq!(blocker.map(wait), Ok(Ok("blocker")));
        }
        let results: Vec<_> = queued.into_iter().map(wait).collect();
        assert_eq!(results, vec![Ok(0), Ok(1), Ok(2)]);
        wait_until("drained", || pool.running() == 0 && pool.queued() == 0);
        assert!(pool.try_spawn(|| 1).is_ok());
    }

    #[test]
    fn queue_limit_zero_means_run_now_or_refuse() {
        let pool = HashPool::new(1, 0);
        let gate = Arc::new(Barrier::new(2));
        let blocker = {
            let gate = Arc::clone(&gate);
            pool.try_spawn(move || gate.wait().is_leader())
        };
        assert!(blocker.is_ok());
        wait_until("worker running", || pool.running() == 1);
        assert_eq!(pool.try_spawn(|| ()).err(), Some(PoolBusy));
        gate.wait();
        assert!(blocker.map(wait).is_ok_and(|r| r.is_ok()));
    }

    #[test]
    fn survives_a_panicking_job() {
        let pool = HashPool::new(1, 4);
        let panicking = pool.try_spawn(|| -> u32 { panic!("job failure on purpose") });
        assert_eq!(panicking.map(wait), Ok(Err(Canceled)));
        // The only thread still serves.
        let after = pool.try_spawn(|| 7u32);
        assert_eq!(after.map(wait), Ok(Ok(7)));
        wait_until("counters", || pool.completed() == 2);
        assert_eq!(pool.panicked(), 1);
        wait_until("idle", || pool.running() == 0);
    }

    #[test]
    fn drop_stops_threads_and_cancels_waiting_jobs() {
        let pool = HashPool::new(1, 4);
        let gate = Arc::new(Barrier::new(2));
        let running = {
            let gate = Arc::clone(&gate);
            pool.try_spawn(move || {
                gate.wait();
                1
            })
        };
        wait_until("worker running", || pool.running() == 1);
        let waiting = pool.try_spawn(|| 2);
        assert!(waiting.is_ok());
        // Release the running job from another thread once the drop has started.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            gate.wait();
        });
        drop(pool); // joins the worker
        assert!(releaser.join().is_ok());
        assert_eq!(running.map(wait), Ok(Ok(1)), "the running job finishes");
        assert_eq!(
            waiting.map(wait),
            Ok(Err(Canceled)),
            "waiting jobs are discarded"
        );
    }

    #[test]
    fn zero_threads_means_one() {
        let pool = HashPool::new(0, 1);
        assert_eq!(pool.threads(), 1);
        assert_eq!(pool.try_spawn(|| 5).map(wait), Ok(Ok(5)));
        let shown = format!("{pool:?}");
        assert!(shown.starts_with("HashPool {") && shown.ends_with(".. }"));
    }

    #[test]
    fn hashes_passwords_off_the_caller_thread() {
        use gatehouse_domain::credentials::{PasswordHasher, Verification};
        use gatehouse_domain::rng::SeededRng;
        let pool = HashPool::new(2, 4);
        let hasher = match PasswordHasher::new(1000) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        };
        let worker_hasher = hasher.clone();
        let stored = pool.try_spawn(move || worker_hasher.hash("pw", &SeededRng::new(1)));
        let Ok(Ok(stored)) = stored.map(wait) else {
            panic!("hash job failed");
        };
        let worker_hasher = hasher.clone();
        let verified = pool.try_spawn(move || worker_hasher.verify(&stored, "pw"));
        assert_eq!(verified.map(wait), Ok(Ok(Ok(Verification::Valid))));
        assert_eq!(hasher.hash_invocations(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn threads_run_at_the_requested_niceness() {
        let pool = HashPool::try_with_nice(1, 1, 7).expect("pool");
        let nice = pool
            .try_spawn(|| {
                // Field 19 of /proc/thread-self/stat is the thread's nice value.
                let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
                let after_comm = &stat[stat.rfind(')').expect("comm") + 2..];
                after_comm
                    .split(' ')
                    .nth(16)
                    .and_then(|v| v.parse::<i32>().ok())
            })
            .expect("spawned");
        let nice = wait_for(nice);
        assert_eq!(nice, Some(Some(7)));
    }

    fn wait_for<T>(rx: oneshot::Receiver<T>) -> Option<T> {
        // The receiver completes once the job ran; poll it by spinning on try_recv.
        let mut rx = rx;
        for _ in 0..2_000 {
            match rx.try_recv() {
                Ok(Some(v)) => return Some(v),
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
                Err(_) => return None,
            }
        }
        None
    }
}
