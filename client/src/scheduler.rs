//! Background threads of a client instance: a [`Scheduler`] (one named thread running delayed
//! and periodic tasks in deadline order) and an [`Executor`] (a fixed pool running jobs from a
//! queue). Both are stopped explicitly, never by dropping a clone, and never join themselves
//! (a task may drop the last handle of a client from one of these threads).
//!
//! The deadline bookkeeping is the pure [`TimerHeap`], tested with explicit times.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

/// Deadline-ordered items; equal deadlines come out in insertion order.
#[derive(Debug)]
pub struct TimerHeap<T> {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    items: HashMap<u64, T>,
    next_seq: u64,
}

impl<T> Default for TimerHeap<T> {
    fn default() -> Self {
        TimerHeap {
            heap: BinaryHeap::new(),
            items: HashMap::new(),
            next_seq: 0,
        }
    }
}

impl<T> TimerHeap<T> {
    /// Adds `item` due at `deadline_ms`.
    pub fn push(&mut self, deadline_ms: u64, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse((deadline_ms, seq)));
        self.items.insert(seq, item);
    }

    /// The earliest deadline, if any.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((d, _))| *d)
    }

    /// Removes and returns the earliest item due at or before `now_ms`.
    pub fn pop_due(&mut self, now_ms: u64) -> Option<T> {
        let Reverse((deadline, seq)) = *self.heap.peek()?;
        if deadline > now_ms {
            return None;
        }
        self.heap.pop();
        self.items.remove(&seq)
    }

    /// Number of items.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

type OnceTask = Box<dyn FnOnce() + Send>;
type PeriodicTask = Arc<dyn Fn() -> bool + Send + Sync>;

enum Task {
    Once(OnceTask),
    Periodic { period_ms: u64, run: PeriodicTask },
}

struct SchedState {
    timers: TimerHeap<Task>,
    stopped: bool,
}

struct SchedShared {
    state: Mutex<SchedState>,
    cond: Condvar,
    base: Instant,
}

impl SchedShared {
    fn lock(&self) -> MutexGuard<'_, SchedState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }
}

/// One named thread running tasks at their deadlines. Tasks may block (they run one at a
/// time); a panicking task is logged and does not stop the thread.
pub struct Scheduler {
    shared: Arc<SchedShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: Option<ThreadId>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").finish_non_exhaustive()
    }
}

impl Scheduler {
    /// Starts the thread `name`.
    pub fn start(name: &str) -> std::io::Result<Scheduler> {
        let shared = Arc::new(SchedShared {
            state: Mutex::new(SchedState {
                timers: TimerHeap::default(),
                stopped: false,
            }),
            cond: Condvar::new(),
            base: Instant::now(),
        });
        let for_thread = shared.clone();
        let handle = thread::Builder::new()
            .name(name.to_string())
            .spawn(move || run_scheduler(&for_thread))?;
        Ok(Scheduler {
            shared,
            thread_id: Some(handle.thread().id()),
            thread: Mutex::new(Some(handle)),
        })
    }

    fn push(&self, delay_ms: u64, task: Task) {
        let mut state = self.shared.lock();
        if state.stopped {
            return;
        }
        let deadline = self.shared.now_ms() + delay_ms;
        state.timers.push(deadline, task);
        drop(state);
        self.shared.cond.notify_one();
    }

    /// Runs `task` once after `delay_ms`. Ignored after [`Scheduler::shutdown`].
    pub fn schedule(&self, delay_ms: u64, task: impl FnOnce() + Send + 'static) {
        self.push(delay_ms, Task::Once(Box::new(task)));
    }

    /// Runs `task` after `initial_delay_ms` and then every `period_ms` (measured from the end
    /// of each run) for as long as it returns true.
    pub fn schedule_periodic(
        &self,
        initial_delay_ms: u64,
        period_ms: u64,
        task: impl Fn() -> bool + Send + Sync + 'static,
    ) {
        self.push(
            initial_delay_ms,
            Task::Periodic {
                period_ms: period_ms.max(1),
                run: Arc::new(task),
            },
        );
    }

    /// Stops the thread: pending tasks are dropped, a running task finishes. Joins the thread
    /// unless called from it.
    pub fn shutdown(&self) {
        self.shared.lock().stopped = true;
        self.shared.cond.notify_all();
        if thread::current().id() == self.thread_id.unwrap_or_else(|| thread::current().id()) {
            return;
        }
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

fn run_scheduler(shared: &SchedShared) {
    let mut state = shared.lock();
    loop {
        if state.stopped {
            // Drop pending tasks outside the lock: their captures may run arbitrary drops.
            let pending = std::mem::take(&mut state.timers);
            drop(state);
            drop(pending);
            return;
        }
        let now = shared.now_ms();
        match state.timers.pop_due(now) {
            Some(task) => {
                drop(state);
                let again = run_task(task);
                state = shared.lock();
                if let Some((period_ms, run)) = again {
                    let deadline = shared.now_ms() + period_ms;
                    state
                        .timers
                        .push(deadline, Task::Periodic { period_ms, run });
                }
            }
            None => {
                let wait = state
                    .timers
                    .next_deadline_ms()
                    .map_or(Duration::from_secs(3600), |d| {
                        Duration::from_millis(d.saturating_sub(now))
                    });
                state = shared
                    .cond
                    .wait_timeout(state, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
    }
}

/// Runs one task; returns the periodic task to reschedule.
fn run_task(task: Task) -> Option<(u64, PeriodicTask)> {
    match task {
        Task::Once(f) => {
            if catch_unwind(AssertUnwindSafe(f)).is_err() {
                log::error!("a scheduled client task panicked");
            }
            None
        }
        Task::Periodic { period_ms, run } => match catch_unwind(AssertUnwindSafe(|| run())) {
            Ok(true) => Some((period_ms, run)),
            Ok(false) => None,
            Err(_) => {
                log::error!("a periodic client task panicked");
                Some((period_ms, run))
            }
        },
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The job queue of an [`Executor`], guarded by its mutex.
struct PoolState {
    jobs: VecDeque<Job>,
    /// Workers waiting on the condition variable.
    idle: usize,
    /// Wake-ups sent that no worker has taken yet: a burst of jobs wakes one idle worker
    /// once (it drains the queue) instead of making a futex call per job.
    wakes_in_flight: usize,
    /// False after shutdown: no new jobs; workers exit once the queue is empty.
    open: bool,
    /// A worker is yielding for new jobs before it sleeps (it counts as busy, not idle).
    spinning: bool,
}

/// The queue plus the condition variable idle workers wait on.
struct PoolShared {
    state: Mutex<PoolState>,
    cond: Condvar,
}

impl PoolShared {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A fixed pool of named threads running jobs in submission order (each job on one thread).
/// A submission wakes a worker only when one is idle and not already being woken, so a busy
/// pool takes jobs without any wake-up and a burst costs one wake-up per idle worker at most.
pub struct Executor {
    shared: Arc<PoolShared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    worker_ids: Vec<ThreadId>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("threads", &self.worker_ids.len())
            .finish()
    }
}

impl Executor {
    /// Starts `threads` threads named `<name>-<i>`.
    pub fn start(name: &str, threads: usize) -> std::io::Result<Executor> {
        Self::start_spinning(name, threads, Duration::ZERO)
    }

    /// Like [`Executor::start`], but a worker that empties the queue first yields the CPU for
    /// up to `spin` waiting for more before it sleeps (one worker at a time). For pools fed at a
    /// high rate with short jobs (send completion callbacks): jobs arriving meanwhile cost the
    /// submitter no futex wake and the worker no sleep and wake-up.
    pub fn start_spinning(name: &str, threads: usize, spin: Duration) -> std::io::Result<Executor> {
        let shared = Arc::new(PoolShared {
            state: Mutex::new(PoolState {
                jobs: VecDeque::new(),
                idle: 0,
                wakes_in_flight: 0,
                open: true,
                spinning: false,
            }),
            cond: Condvar::new(),
        });
        let mut workers = Vec::new();
        for i in 0..threads.max(1) {
            let pool = shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run_worker(&pool, spin));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    shared.lock().open = false;
                    shared.cond.notify_all();
                    return Err(e);
                }
            }
        }
        Ok(Executor {
            shared,
            worker_ids: workers.iter().map(|h| h.thread().id()).collect(),
            workers: Mutex::new(workers),
        })
    }

    /// Queues `job`; gives it back after [`Executor::shutdown`].
    fn submit(&self, job: Job) -> Option<Job> {
        let mut state = self.shared.lock();
        if !state.open {
            return Some(job);
        }
        state.jobs.push_back(job);
        let wake = state.idle > state.wakes_in_flight;
        if wake {
            state.wakes_in_flight += 1;
        }
        drop(state);
        if wake {
            self.shared.cond.notify_one();
        }
        None
    }

    /// Queues `job`. Returns false (and drops the job) after [`Executor::shutdown`].
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) -> bool {
        self.submit(Box::new(job)).is_none()
    }

    /// Queues `job`, or runs it on the calling thread when the pool is shut down (so that a
    /// completion callback is never lost).
    pub fn execute_or_run(&self, job: impl FnOnce() + Send + 'static) {
        if let Some(job) = self.submit(Box::new(job)) {
            job();
        }
    }

    /// Whether the current thread is one of the pool's.
    pub fn is_worker_thread(&self) -> bool {
        self.worker_ids.contains(&thread::current().id())
    }

    /// Stops accepting jobs; queued jobs still run. Joins the threads unless called from one
    /// of them.
    pub fn shutdown(&self) {
        self.shared.lock().open = false;
        self.shared.cond.notify_all();
        if self.is_worker_thread() {
            return;
        }
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for w in workers {
            let _ = w.join();
        }
    }
}

fn run_worker(pool: &PoolShared, spin: Duration) {
    let mut state = pool.lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            if catch_unwind(AssertUnwindSafe(job)).is_err() {
                log::error!("a client job panicked");
            }
            state = pool.lock();
            continue;
        }
        if !state.open {
            return;
        }
        if !spin.is_zero() && !state.spinning {
            state.spinning = true;
            state = spin_for_jobs(pool, state, spin);
            state.spinning = false;
            if !state.jobs.is_empty() || !state.open {
                continue;
            }
        }
        state.idle += 1;
        state = pool.cond.wait(state).unwrap_or_else(|p| p.into_inner());
        state.idle -= 1;
        // A spurious wake-up may take a wake-up meant for another worker; that worker then
        // stays asleep while this one drains the queue, so no job waits.
        state.wakes_in_flight = state.wakes_in_flight.saturating_sub(1);
    }
}

/// Yields the CPU (lock released) until a job arrives, the pool closes, or `spin` passes.
/// At most one worker spins at a time.
fn spin_for_jobs<'a>(
    pool: &'a PoolShared,
    mut state: MutexGuard<'a, PoolState>,
    spin: Duration,
) -> MutexGuard<'a, PoolState> {
    let until = Instant::now() + spin;
    while state.jobs.is_empty() && state.open && Instant::now() < until {
        drop(state);
        thread::yield_now();
        state = pool.lock();
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn wait_until(deadline_ms: u64, mut cond: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + Duration::from_millis(deadline_ms);
        while Instant::now() < end {
            if cond() {
                return true;
            }
            thread::yield_now();
            thread::sleep(Duration::from_millis(1));
        }
        cond()
    }

    #[test]
    fn timer_heap_orders_by_deadline_then_insertion() {
        let mut h = TimerHeap::default();
        h.push(30, "c");
        h.push(10, "a");
        h.push(10, "b");
        assert_eq!(h.next_deadline_ms(), Some(10));
        assert_eq!(h.pop_due(9), None);
        assert_eq!(h.pop_due(10), Some("a"));
        assert_eq!(h.pop_due(10), Some("b"));
        assert_eq!(h.pop_due(29), None);
        assert_eq!(h.len(), 1);
        assert_eq!(h.pop_due(100), Some("c"));
        assert!(h.is_empty() && h.next_deadline_ms().is_none());
    }

    #[test]
    fn scheduler_runs_once_and_periodic_tasks_and_stops() {
        let s = Scheduler::start("test-sched").unwrap();
        let once = Arc::new(AtomicUsize::new(0));
        let periodic = Arc::new(AtomicUsize::new(0));
        let o = once.clone();
        s.schedule(5, move || {
            o.fetch_add(1, Ordering::SeqCst);
        });
        let p = periodic.clone();
        s.schedule_periodic(0, 1, move || {
            p.fetch_add(1, Ordering::SeqCst);
            true
        });
        let limited = Arc::new(AtomicUsize::new(0));
        let l = limited.clone();
        s.schedule_periodic(0, 1, move || l.fetch_add(1, Ordering::SeqCst) < 2);
        s.schedule(0, || panic!("a task panics; the thread survives"));
        assert!(wait_until(5_000, || once.load(Ordering::SeqCst) == 1
            && periodic.load(Ordering::SeqCst) >= 6));
        assert_eq!(
            limited.load(Ordering::SeqCst),
            3,
            "stops after returning false"
        );
        s.shutdown();
        let after = periodic.load(Ordering::SeqCst);
        // The thread is joined: nothing runs any more.
        s.schedule(0, || unreachable!("scheduled after shutdown"));
        assert_eq!(periodic.load(Ordering::SeqCst), after);
    }

    #[test]
    fn executor_runs_jobs_and_rejects_after_shutdown() {
        let e = Executor::start("test-exec", 3).unwrap();
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let n = n.clone();
            assert!(e.execute(move || {
                n.fetch_add(1, Ordering::SeqCst);
            }));
        }
        assert!(e.execute(|| panic!("survived")));
        assert!(!e.is_worker_thread());
        e.shutdown();
        assert_eq!(
            n.load(Ordering::SeqCst),
            100,
            "queued jobs run before shutdown returns"
        );
        assert!(!e.execute(|| {}));
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        e.execute_or_run(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1, "runs inline after shutdown");
    }

    #[test]
    fn executor_takes_jobs_from_many_submitters_without_losing_any() {
        let e = Arc::new(Executor::start("test-exec-many", 2).unwrap());
        let n = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..4)
            .map(|_| {
                let (e, n) = (e.clone(), n.clone());
                thread::spawn(move || {
                    for _ in 0..2_000 {
                        let n = n.clone();
                        assert!(e.execute(move || {
                            n.fetch_add(1, Ordering::SeqCst);
                        }));
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        assert!(wait_until(10_000, || n.load(Ordering::SeqCst) == 8_000));
        e.shutdown();
        assert_eq!(n.load(Ordering::SeqCst), 8_000);
    }
}
