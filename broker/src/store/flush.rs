//! `FlushService`: makes the commitlog durable (RocketMQ `FlushRealTimeService` +
//! `GroupCommitService`).
//!
//! Owns the `flush-commitlog` thread and the sync-flush waiters. ASYNC_FLUSH: the thread
//! fdatasyncs whatever was written every `flushIntervalCommitLog` ms. SYNC_FLUSH (group
//! commit): a sender appends, then calls [`FlushService::request_flush`] with the append's end
//! offset and a callback; the thread wakes, syncs everything written so far with one
//! fdatasync per touched segment, and fires every callback whose offset is now durable —
//! senders that arrive while a sync is running are released together by the next one. When
//! the previous round released several waiters (concurrent senders), the thread gives the
//! released senders up to [`GROUP_COMMIT_GATHER`] to append again before the next sync, so
//! one fdatasync covers as many of them as possible; a lone sender never waits. A
//! `flush-timeout` thread fires `Timeout` for waiters older than `syncFlushTimeout` even while
//! an fdatasync hangs. A failed fdatasync fires `Failed` for every waiter, blocks all further
//! writes (the kernel may have dropped the dirty pages; only a restart's recovery can tell
//! what is on disk) and is never retried.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::store::checkpoint::StoreCheckpoint;
use crate::store::commit_log::{lock, CommitLog};

/// What happened to a flush request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// Everything up to the requested offset is durable.
    Flushed,
    /// Not durable within `syncFlushTimeout` (the broker answers FLUSH_DISK_TIMEOUT).
    Timeout,
    /// An fdatasync failed, or the store stopped: never treat as success.
    Failed,
}

/// Callback of a flush request; runs on a store thread (or inline when already durable),
/// so it must be quick (e.g. queue a reply and wake the event loop).
pub type FlushWaiter = Box<dyn FnOnce(FlushOutcome) + Send>;

struct Waiter {
    end_offset: u64,
    deadline: Instant,
    callback: FlushWaiter,
}

#[derive(Default)]
struct FlushState {
    waiters: VecDeque<Waiter>,
    stopped: bool,
    failed: bool,
}

/// The commitlog flush service. See the module docs.
pub struct FlushService {
    commit_log: Arc<CommitLog>,
    checkpoint: Arc<StoreCheckpoint>,
    interval: Duration,
    sync_timeout: Duration,
    state: Mutex<FlushState>,
    work_cv: Condvar,
    timer_cv: Condvar,
}

impl std::fmt::Debug for FlushService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushService")
            .field("interval", &self.interval)
            .field("sync_timeout", &self.sync_timeout)
            .finish_non_exhaustive()
    }
}

type Ready = Vec<(FlushWaiter, FlushOutcome)>;

/// Longest a group-commit round waits for concurrent senders to queue up again (see the module
/// docs). About one fdatasync on fast media: it can at most double one sender's latency, and
/// only when other senders are waiting too.
pub const GROUP_COMMIT_GATHER: Duration = Duration::from_micros(200);

fn fire(ready: Ready) {
    for (cb, outcome) in ready {
        cb(outcome);
    }
}

impl FlushService {
    pub(crate) fn new(
        commit_log: Arc<CommitLog>,
        checkpoint: Arc<StoreCheckpoint>,
        interval_ms: u64,
        sync_timeout_ms: u64,
    ) -> Self {
        FlushService {
            commit_log,
            checkpoint,
            interval: Duration::from_millis(interval_ms),
            sync_timeout: Duration::from_millis(sync_timeout_ms),
            state: Mutex::new(FlushState::default()),
            work_cv: Condvar::new(),
            timer_cv: Condvar::new(),
        }
    }

    /// Asks for `[0, end_offset)` of the commitlog to be made durable; `waiter` fires once
    /// with the outcome. Fires inline when the offset is already durable or the store can no
    /// longer flush.
    pub fn request_flush(&self, end_offset: u64, waiter: FlushWaiter) {
        if end_offset <= self.commit_log.flushed_offset() {
            return waiter(FlushOutcome::Flushed);
        }
        if end_offset > self.commit_log.confirm_offset() {
            log::warn!("flush requested for {end_offset}, beyond the written end");
            return waiter(FlushOutcome::Failed);
        }
        let mut st = lock(&self.state);
        if st.failed || st.stopped {
            drop(st);
            return waiter(FlushOutcome::Failed);
        }
        let was_empty = st.waiters.is_empty();
        st.waiters.push_back(Waiter {
            end_offset,
            deadline: Instant::now() + self.sync_timeout,
            callback: waiter,
        });
        drop(st);
        self.work_cv.notify_one();
        if was_empty {
            self.timer_cv.notify_one();
        }
    }

    /// Body of the `flush-commitlog` thread.
    pub(crate) fn run(&self) {
        let mut last_flush = Instant::now();
        let mut last_released = 0usize;
        loop {
            let mut st = lock(&self.state);
            loop {
                if st.stopped {
                    return;
                }
                let elapsed = last_flush.elapsed();
                if !st.waiters.is_empty() || elapsed >= self.interval {
                    break;
                }
                st = self
                    .work_cv
                    .wait_timeout(st, self.interval - elapsed)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            drop(st);
            self.gather(last_released);
            last_released = self.flush_round();
            last_flush = Instant::now();
        }
    }

    /// Group-commit gathering: after a round that released `last_released` > 1 waiters, wait
    /// (at most [`GROUP_COMMIT_GATHER`]) until as many are queued again.
    fn gather(&self, last_released: usize) {
        if last_released <= 1 {
            return;
        }
        let deadline = Instant::now() + GROUP_COMMIT_GATHER;
        let mut st = lock(&self.state);
        while !st.stopped && st.waiters.len() < last_released {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .work_cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Body of the `flush-timeout` thread: fires `Timeout` for expired waiters.
    pub(crate) fn run_timeouts(&self) {
        let mut st = lock(&self.state);
        loop {
            if st.stopped {
                return;
            }
            let now = Instant::now();
            let mut ready: Ready = Vec::new();
            while st.waiters.front().is_some_and(|w| w.deadline <= now) {
                if let Some(w) = st.waiters.pop_front() {
                    ready.push((w.callback, FlushOutcome::Timeout));
                }
            }
            if !ready.is_empty() {
                drop(st);
                log::warn!("{} sync-flush waiters timed out", ready.len());
                fire(ready);
                st = lock(&self.state);
                continue;
            }
            let wait = st
                .waiters
                .front()
                .map_or(Duration::from_secs(3600), |w| w.deadline - now);
            st = self
                .timer_cv
                .wait_timeout(st, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// One flush: fdatasync what was written, advance the checkpoint's physic timestamp,
    /// release the waiters that are now durable (or all of them as `Failed` on error).
    /// Returns how many waiters were released as durable.
    pub(crate) fn flush_round(&self) -> usize {
        if lock(&self.state).failed {
            return 0;
        }
        let result = self.commit_log.flush();
        let mut ready: Ready = Vec::new();
        {
            let mut st = lock(&self.state);
            match &result {
                Ok((flushed, ts)) => {
                    if *ts > 0 {
                        self.checkpoint.set_physic_msg_timestamp(*ts);
                    }
                    let pending = std::mem::take(&mut st.waiters);
                    for w in pending {
                        if w.end_offset <= *flushed {
                            ready.push((w.callback, FlushOutcome::Flushed));
                        } else {
                            st.waiters.push_back(w);
                        }
                    }
                }
                Err(e) => {
                    log::error!("commitlog fdatasync failed, refusing further writes: {e}");
                    st.failed = true;
                    self.commit_log.set_flush_failed();
                    ready.extend(
                        st.waiters
                            .drain(..)
                            .map(|w| (w.callback, FlushOutcome::Failed)),
                    );
                }
            }
        }
        let released = ready.len();
        fire(ready);
        released
    }

    /// True once an fdatasync failed.
    pub fn has_failed(&self) -> bool {
        lock(&self.state).failed
    }

    /// Stops both threads; pending waiters fire `Failed`.
    pub(crate) fn stop(&self) {
        let ready: Ready = {
            let mut st = lock(&self.state);
            st.stopped = true;
            st.waiters
                .drain(..)
                .map(|w| (w.callback, FlushOutcome::Failed))
                .collect()
        };
        self.work_cv.notify_all();
        self.timer_cv.notify_all();
        fire(ready);
    }
}
