//! `FlushService`: makes the commitlog durable (RocketMQ `FlushRealTimeService` +
//! `GroupCommitService`).
//!
//! Owns the `flush-commitlog` thread and the sync-flush waiters. ASYNC_FLUSH: the thread
//! fdatasyncs whatever was written every `flushIntervalCommitLog` ms. SYNC_FLUSH (group
//! commit): a sender appends, then calls [`FlushService::request_flush`] with the append's end
//! offset and a callback; the thread wakes, syncs everything written so far with one
//! fdatasync per touched segment, and fires every callback whose offset is now durable —
//! senders that arrive while a sync is running are released together by the next one, which
//! starts as soon as the previous one ends (no gathering delay: measured, a gather window
//! woke this thread once per arriving sender and cost more than it grouped). Waking many
//! senders costs the waking thread a few µs each, so a round that releases more than
//! [`INLINE_RELEASE_MAX`] hands its callbacks to the `flush-notify` thread (helped by the
//! released blocking callers, see [`FlushService::help_notify`]) and goes straight back to
//! syncing: the wake-ups overlap the next fdatasync instead of delaying
//! it. A `flush-timeout` thread fires `Timeout` for waiters older than `syncFlushTimeout` even while
//! an fdatasync hangs. A failed fdatasync fires `Failed` for every waiter, blocks all further
//! writes (the kernel may have dropped the dirty pages; only a restart's recovery can tell
//! what is on disk) and is never retried.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Released callbacks waiting for the `flush-notify` thread.
    notify: Mutex<NotifyQueue>,
    notify_cv: Condvar,
    /// Set while the `flush-notify` thread runs; otherwise callbacks fire inline.
    notifier_running: AtomicBool,
}

#[derive(Default)]
struct NotifyQueue {
    ready: Ready,
    stopped: bool,
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

/// A round releasing at most this many waiters fires their callbacks itself (a lone sender's
/// reply should not take a thread hop); larger rounds go through the `flush-notify` thread.
pub const INLINE_RELEASE_MAX: usize = 2;

/// Callbacks fired per turn by a notifying thread: small enough that the notifier and helping
/// threads share a round's wake-ups, large enough to keep lock traffic low.
const NOTIFY_CHUNK: usize = 4;

fn take_chunk(ready: &mut Ready) -> Option<Ready> {
    if ready.is_empty() {
        return None;
    }
    let at = ready.len().saturating_sub(NOTIFY_CHUNK);
    Some(ready.split_off(at))
}

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
            notify: Mutex::new(NotifyQueue::default()),
            notify_cv: Condvar::new(),
            notifier_running: AtomicBool::new(false),
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
            self.flush_round();
            last_flush = Instant::now();
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
        self.release(ready);
        released
    }

    /// Fires released callbacks: inline for small rounds or when no notifier runs, else
    /// through the `flush-notify` thread.
    fn release(&self, ready: Ready) {
        if ready.len() <= INLINE_RELEASE_MAX || !self.notifier_running.load(Ordering::Acquire) {
            return fire(ready);
        }
        let mut q = lock(&self.notify);
        if q.stopped {
            drop(q);
            return fire(ready);
        }
        let was_empty = q.ready.is_empty();
        q.ready.extend(ready);
        drop(q);
        if was_empty {
            self.notify_cv.notify_one();
        }
    }

    /// Body of the `flush-notify` thread: fires the callbacks handed over by [`Self::release`];
    /// at stop it delivers what is queued, then exits.
    pub(crate) fn run_notify(&self) {
        self.notifier_running.store(true, Ordering::Release);
        let mut q = lock(&self.notify);
        loop {
            if let Some(batch) = take_chunk(&mut q.ready) {
                drop(q);
                fire(batch);
                q = lock(&self.notify);
            } else if q.stopped {
                self.notifier_running.store(false, Ordering::Release);
                return;
            } else {
                q = self.notify_cv.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    /// Called by a thread that was just released (the blocking [`MessageStore::wait_for_flush`]
    /// path): fires queued callbacks alongside the notifier, so a round's wake-ups spread over
    /// every core instead of queueing behind one thread.
    ///
    /// [`MessageStore::wait_for_flush`]: crate::store::MessageStore::wait_for_flush
    pub fn help_notify(&self) {
        loop {
            let Some(batch) = take_chunk(&mut lock(&self.notify).ready) else {
                return;
            };
            fire(batch);
        }
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
        lock(&self.notify).stopped = true;
        self.notify_cv.notify_all();
        fire(ready);
    }
}
