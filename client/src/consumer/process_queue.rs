//! The process queue of one message queue: messages pulled but not yet acknowledged, ordered by
//! queue offset (Java `ProcessQueue`).
//!
//! It owns the two numbers everything else depends on:
//! * the **commit watermark**: the offset that may be committed is the lowest offset still in
//!   flight (or one past the highest pulled offset when nothing is in flight), so a message is
//!   never skipped by a commit even when later messages finish first;
//! * the **flow-control state**: cached count, bytes and offset span, which pause pulling.
//!
//! [`ProcessQueueState`] is the pure core (no locks, explicit `now_ms`); [`ProcessQueue`] wraps
//! it in a mutex plus a lock-free `dropped` flag for the pull loop and consume threads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use protocol::body::running_info::ProcessQueueInfo;
use protocol::message::MessageExt;

/// A pull loop that has not pulled for this long is considered stuck (Java
/// `pullMaxIdleTime`, 120 s).
pub const PULL_MAX_IDLE_MS: u64 = 120_000;
/// A broker lock not renewed for this long is no longer trusted (Java
/// `REBALANCE_LOCK_MAX_LIVE_TIME`, 30 s).
pub const LOCK_MAX_LIVE_MS: u64 = 30_000;

/// Limits that pause pulling for one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// At most this many cached messages (Java `pullThresholdForQueue`, 1000).
    pub max_count: usize,
    /// At most this many cached body bytes (Java `pullThresholdSizeForQueue`, 100 MiB).
    pub max_bytes: u64,
    /// At most this offset span between the first and last cached message, for concurrent
    /// consumption only (Java `consumeConcurrentlyMaxSpan`, 2000); `None` disables it.
    pub max_span: Option<i64>,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_count: 1000,
            max_bytes: 100 * 1024 * 1024,
            max_span: Some(2000),
        }
    }
}

/// Why pulling is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowControl {
    /// Too many cached messages.
    Count {
        /// Cached messages.
        cached: usize,
    },
    /// Too many cached bytes.
    Bytes {
        /// Cached body bytes.
        cached_bytes: u64,
    },
    /// The offset span of cached messages is too wide (one slow message holds the commit
    /// watermark back).
    Span {
        /// Last minus first cached offset.
        span: i64,
    },
}

/// A copy of `m` for bookkeeping in a process queue of a concurrent consumer: every fixed
/// field and the body (shared, not copied), but no topic and no properties, which only the
/// consume tasks read. Avoids a deep clone per pulled message.
pub fn tracking_copy(m: &MessageExt) -> MessageExt {
    MessageExt {
        store_size: m.store_size,
        version: m.version,
        body_crc: m.body_crc,
        queue_id: m.queue_id,
        flag: m.flag,
        queue_offset: m.queue_offset,
        commit_log_offset: m.commit_log_offset,
        sys_flag: m.sys_flag,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        store_timestamp: m.store_timestamp,
        store_host: m.store_host,
        reconsume_times: m.reconsume_times,
        prepared_transaction_offset: m.prepared_transaction_offset,
        body: m.body.clone(),
        topic: String::new(),
        properties: Default::default(),
    }
}

/// The pure state of a process queue.
#[derive(Debug, Clone, Default)]
pub struct ProcessQueueState {
    /// Pulled and not yet acknowledged (concurrent) or not yet taken (orderly).
    msgs: BTreeMap<i64, MessageExt>,
    /// Orderly only: taken by the consume thread and not yet committed.
    consuming: BTreeMap<i64, MessageExt>,
    msg_bytes: u64,
    /// Highest queue offset ever put (-1 when none).
    queue_offset_max: i64,
    /// Orderly only: a consume task is scheduled or running for this queue.
    consuming_flag: bool,
    /// Orderly only: the broker lock is held.
    locked: bool,
    last_lock_ms: u64,
    last_pull_ms: u64,
    /// When a consume batch last finished (0 = never).
    last_consume_ms: u64,
}

impl ProcessQueueState {
    /// An empty queue; `now_ms` counts as its last pull and lock time.
    pub fn new(now_ms: u64) -> Self {
        ProcessQueueState {
            queue_offset_max: -1,
            last_pull_ms: now_ms,
            last_lock_ms: now_ms,
            ..Default::default()
        }
    }

    /// Adds pulled messages (duplicates by offset are ignored). Returns true when an orderly
    /// consume task should be scheduled: there are messages and none is scheduled yet (the
    /// flag is then set).
    pub fn put_messages(&mut self, msgs: Vec<MessageExt>) -> bool {
        for msg in msgs {
            let offset = msg.queue_offset;
            if self.msgs.contains_key(&offset) || self.consuming.contains_key(&offset) {
                continue;
            }
            self.msg_bytes += msg.body.len() as u64;
            self.queue_offset_max = self.queue_offset_max.max(offset);
            self.msgs.insert(offset, msg);
        }
        if !self.msgs.is_empty() && !self.consuming_flag {
            self.consuming_flag = true;
            return true;
        }
        false
    }

    /// Records that a consume batch finished at `now_ms`.
    pub fn mark_consumed(&mut self, now_ms: u64) {
        self.last_consume_ms = now_ms;
    }

    /// The GET_CONSUMER_RUNNING_INFO view of this queue (Java `ProcessQueueInfo`).
    pub fn info(&self, commit_offset: i64, dropped: bool) -> ProcessQueueInfo {
        let bounds = |m: &BTreeMap<i64, MessageExt>| {
            let first = m.keys().next().copied().unwrap_or(0);
            (first, m.keys().next_back().copied().unwrap_or(0))
        };
        let (cached_min, cached_max) = bounds(&self.msgs);
        let (tx_min, tx_max) = bounds(&self.consuming);
        let ms = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
        ProcessQueueInfo {
            cached_msg_count: i32::try_from(self.msgs.len()).unwrap_or(i32::MAX),
            cached_msg_min_offset: cached_min,
            cached_msg_max_offset: cached_max,
            cached_msg_size_in_mib: i32::try_from(self.msg_bytes >> 20).unwrap_or(i32::MAX),
            commit_offset,
            dropped,
            last_consume_timestamp: ms(self.last_consume_ms),
            last_lock_timestamp: ms(self.last_lock_ms),
            last_pull_timestamp: ms(self.last_pull_ms),
            locked: self.locked,
            transaction_msg_count: i32::try_from(self.consuming.len()).unwrap_or(i32::MAX),
            transaction_msg_min_offset: tx_min,
            transaction_msg_max_offset: tx_max,
            try_unlock_times: 0, // this client never retries an unlock
        }
    }

    /// Acknowledges messages (concurrent consumption). Returns the new commit watermark: the
    /// lowest offset still cached, or one past the highest pulled offset when none is left;
    /// `None` when the queue was already empty (nothing to commit).
    pub fn remove_messages(&mut self, offsets: &[i64]) -> Option<i64> {
        if self.msgs.is_empty() {
            return None;
        }
        for offset in offsets {
            if let Some(msg) = self.msgs.remove(offset) {
                self.msg_bytes -= msg.body.len() as u64;
            }
        }
        Some(self.watermark())
    }

    /// The offset that may be committed now: lowest cached offset, else max + 1.
    pub fn watermark(&self) -> i64 {
        self.msgs
            .keys()
            .next()
            .copied()
            .unwrap_or(self.queue_offset_max + 1)
    }

    /// Orderly: moves up to `batch` of the lowest cached messages to the consuming set and
    /// returns them. When none is left the consuming flag is cleared (the task ends).
    pub fn take_messages(&mut self, batch: usize) -> Vec<MessageExt> {
        let mut out = Vec::new();
        while out.len() < batch {
            let Some((offset, msg)) = self.msgs.pop_first() else {
                break;
            };
            self.consuming.insert(offset, msg.clone());
            out.push(msg);
        }
        if out.is_empty() {
            self.consuming_flag = false;
        }
        out
    }

    /// Orderly: acknowledges the consuming set. Returns the offset to commit (one past the
    /// last consumed message), `None` if nothing was being consumed.
    pub fn commit(&mut self) -> Option<i64> {
        let last = self.consuming.keys().next_back().copied()?;
        let bytes: u64 = self.consuming.values().map(|m| m.body.len() as u64).sum();
        self.msg_bytes -= bytes;
        self.consuming.clear();
        Some(last + 1)
    }

    /// Orderly: puts `msgs` (taken earlier) back so they are consumed again, in order.
    pub fn make_messages_to_consume_again(&mut self, msgs: &[MessageExt]) {
        for msg in msgs {
            if let Some(m) = self.consuming.remove(&msg.queue_offset) {
                self.msgs.insert(m.queue_offset, msg.clone());
            }
        }
    }

    /// Orderly: puts everything being consumed back (used when a queue is taken away).
    pub fn rollback(&mut self) {
        let consuming = std::mem::take(&mut self.consuming);
        self.msgs.extend(consuming);
    }

    /// Whether a limit is exceeded, checked in the order count, bytes, span.
    pub fn flow_control(&self, limits: &FlowLimits) -> Option<FlowControl> {
        let cached = self.cached_count();
        if cached > limits.max_count {
            return Some(FlowControl::Count { cached });
        }
        if self.msg_bytes > limits.max_bytes {
            return Some(FlowControl::Bytes {
                cached_bytes: self.msg_bytes,
            });
        }
        if let Some(max_span) = limits.max_span {
            let span = self.max_span();
            if span > max_span {
                return Some(FlowControl::Span { span });
            }
        }
        None
    }

    /// Cached messages (waiting plus being consumed).
    pub fn cached_count(&self) -> usize {
        self.msgs.len() + self.consuming.len()
    }

    /// Cached body bytes.
    pub fn cached_bytes(&self) -> u64 {
        self.msg_bytes
    }

    /// Last minus first waiting offset (0 when fewer than two).
    pub fn max_span(&self) -> i64 {
        match (self.msgs.keys().next(), self.msgs.keys().next_back()) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// Highest offset ever put (-1 when none).
    pub fn queue_offset_max(&self) -> i64 {
        self.queue_offset_max
    }

    /// Records a pull at `now_ms`.
    pub fn mark_pulled(&mut self, now_ms: u64) {
        self.last_pull_ms = now_ms;
    }

    /// True when no pull happened for [`PULL_MAX_IDLE_MS`].
    pub fn is_pull_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_pull_ms) > PULL_MAX_IDLE_MS
    }

    /// Records the outcome of a lock attempt at `now_ms`.
    pub fn set_locked(&mut self, locked: bool, now_ms: u64) {
        self.locked = locked;
        if locked {
            self.last_lock_ms = now_ms;
        }
    }

    /// Whether the broker lock is held.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// True when the lock was not renewed for [`LOCK_MAX_LIVE_MS`].
    pub fn is_lock_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_lock_ms) > LOCK_MAX_LIVE_MS
    }

    /// Whether an orderly consume task is scheduled or running.
    pub fn is_consuming(&self) -> bool {
        self.consuming_flag
    }

    /// Whether messages are being consumed right now (orderly).
    pub fn has_consuming(&self) -> bool {
        !self.consuming.is_empty()
    }

    /// Removes every cached message (a seek or a reset drops what was pulled).
    pub fn clear(&mut self) {
        self.msgs.clear();
        self.consuming.clear();
        self.msg_bytes = 0;
        self.consuming_flag = false;
    }
}

/// A shared process queue: the state behind a mutex plus the `dropped` flag that tells the
/// pull loop and the consume threads that the queue was taken away (checked lock-free), and
/// the consume lock an orderly consumer holds around each listener call (Java
/// `consumeLock`), so a rebalance can wait for the batch in flight before handing the queue
/// to another member.
#[derive(Debug)]
pub struct ProcessQueue {
    state: Mutex<ProcessQueueState>,
    dropped: AtomicBool,
    consume_lock: Mutex<()>,
}

impl ProcessQueue {
    /// A fresh queue.
    pub fn new(now_ms: u64) -> Self {
        ProcessQueue {
            state: Mutex::new(ProcessQueueState::new(now_ms)),
            dropped: AtomicBool::new(false),
            consume_lock: Mutex::new(()),
        }
    }

    /// Takes the consume lock (held from taking an orderly batch until it is committed).
    pub fn consume_lock(&self) -> MutexGuard<'_, ()> {
        self.consume_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the consume lock if it becomes free within `timeout`; `None` while a listener
    /// call is still running.
    pub fn try_consume_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, ()>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.consume_lock.try_lock() {
                Ok(guard) => return Some(guard),
                Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() >= deadline => return None,
                Err(TryLockError::WouldBlock) => {
                    std::thread::park_timeout(Duration::from_millis(1))
                }
            }
        }
    }

    /// Locks the state. A poisoned lock (a panic while held) still yields the state: every
    /// method leaves it consistent between statements that can panic.
    pub fn lock(&self) -> MutexGuard<'_, ProcessQueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the queue was dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    /// Marks the queue dropped: its pull loop stops and results of in-flight consumption are
    /// no longer committed.
    pub fn set_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(offset: i64, body_len: usize) -> MessageExt {
        let mut m = MessageExt::new("T", vec![0u8; body_len]);
        m.queue_offset = offset;
        m
    }

    #[test]
    fn running_info_reflects_cached_and_consuming_messages() {
        let mut pq = ProcessQueueState::new(100);
        pq.put_messages(vec![msg(5, 10), msg(7, 20), msg(9, 30)]);
        let taken = pq.take_messages(1);
        assert_eq!(taken[0].queue_offset, 5);
        pq.mark_consumed(150);
        pq.set_locked(true, 120);
        let info = pq.info(5, false);
        assert_eq!(
            (
                info.cached_msg_count,
                info.cached_msg_min_offset,
                info.cached_msg_max_offset
            ),
            (2, 7, 9)
        );
        assert_eq!(
            (info.transaction_msg_count, info.transaction_msg_min_offset),
            (1, 5)
        );
        assert_eq!(
            (info.commit_offset, info.dropped, info.locked),
            (5, false, true)
        );
        assert_eq!(
            (
                info.last_pull_timestamp,
                info.last_lock_timestamp,
                info.last_consume_timestamp
            ),
            (100, 120, 150)
        );
        assert_eq!(ProcessQueueState::new(0).info(-1, true).cached_msg_count, 0);
    }

    #[test]
    fn watermark_is_lowest_unacknowledged() {
        let mut pq = ProcessQueueState::new(0);
        assert_eq!(
            pq.remove_messages(&[1]),
            None,
            "empty queue commits nothing"
        );
        pq.put_messages((10..15).map(|o| msg(o, 1)).collect());
        assert_eq!(pq.watermark(), 10);
        // 11 and 13 finish first: 10 still holds the watermark.
        assert_eq!(pq.remove_messages(&[11, 13]), Some(10));
        assert_eq!(pq.remove_messages(&[10]), Some(12));
        assert_eq!(pq.remove_messages(&[12, 14]), Some(15));
        assert_eq!(pq.cached_count(), 0);
        assert_eq!(pq.cached_bytes(), 0);
        assert_eq!(pq.remove_messages(&[14]), None);
    }

    #[test]
    fn duplicates_are_ignored_and_bytes_tracked() {
        let mut pq = ProcessQueueState::new(0);
        pq.put_messages(vec![msg(1, 10), msg(2, 20)]);
        pq.put_messages(vec![msg(2, 20), msg(3, 5)]);
        assert_eq!((pq.cached_count(), pq.cached_bytes()), (3, 35));
        assert_eq!(pq.queue_offset_max(), 3);
        assert_eq!(pq.max_span(), 2);
    }

    #[test]
    fn flow_control_by_count_bytes_and_span() {
        let limits = FlowLimits {
            max_count: 3,
            max_bytes: 100,
            max_span: Some(50),
        };
        let mut pq = ProcessQueueState::new(0);
        pq.put_messages(vec![msg(0, 10), msg(1, 10), msg(2, 10)]);
        assert_eq!(pq.flow_control(&limits), None);
        pq.put_messages(vec![msg(3, 10)]);
        assert_eq!(
            pq.flow_control(&limits),
            Some(FlowControl::Count { cached: 4 })
        );
        let mut pq = ProcessQueueState::new(0);
        pq.put_messages(vec![msg(0, 101)]);
        assert_eq!(
            pq.flow_control(&limits),
            Some(FlowControl::Bytes { cached_bytes: 101 })
        );
        let mut pq = ProcessQueueState::new(0);
        pq.put_messages(vec![msg(0, 1), msg(51, 1)]);
        assert_eq!(
            pq.flow_control(&limits),
            Some(FlowControl::Span { span: 51 })
        );
        let no_span = FlowLimits {
            max_span: None,
            ..limits
        };
        assert_eq!(pq.flow_control(&no_span), None);
    }

    #[test]
    fn orderly_take_commit_and_retry() {
        let mut pq = ProcessQueueState::new(0);
        assert!(pq.put_messages((0..5).map(|o| msg(o, 2)).collect()));
        assert!(!pq.put_messages(vec![msg(5, 2)]), "already scheduled");
        let first = pq.take_messages(2);
        assert_eq!(
            first.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(pq.cached_count(), 6, "consuming messages still count");
        // Failure: the two go back and come out first again.
        pq.make_messages_to_consume_again(&first);
        let again = pq.take_messages(2);
        assert_eq!(again, first);
        assert_eq!(pq.commit(), Some(2));
        assert_eq!(pq.commit(), None);
        assert_eq!((pq.cached_count(), pq.cached_bytes()), (4, 8));
        let rest = pq.take_messages(10);
        assert_eq!(rest.len(), 4);
        pq.rollback();
        assert_eq!(pq.take_messages(10).len(), 4);
        assert_eq!(pq.commit(), Some(6));
        assert!(pq.is_consuming());
        assert!(pq.take_messages(1).is_empty());
        assert!(!pq.is_consuming(), "an empty take ends the task");
        assert!(pq.put_messages(vec![msg(6, 1)]), "a new task is needed");
    }

    #[test]
    fn expiry_times() {
        let mut pq = ProcessQueueState::new(1_000);
        assert!(!pq.is_pull_expired(1_000 + PULL_MAX_IDLE_MS));
        assert!(pq.is_pull_expired(1_001 + PULL_MAX_IDLE_MS));
        pq.mark_pulled(500_000);
        assert!(!pq.is_pull_expired(500_001));
        assert!(!pq.is_locked());
        pq.set_locked(true, 10_000);
        assert!(pq.is_locked() && !pq.is_lock_expired(10_000 + LOCK_MAX_LIVE_MS));
        assert!(pq.is_lock_expired(10_001 + LOCK_MAX_LIVE_MS));
        pq.set_locked(false, 99_999);
        assert!(!pq.is_locked());
    }

    proptest::proptest! {
        /// Against a model: the watermark is always the lowest offset put and not yet
        /// removed, or one past the highest offset ever put.
        #[test]
        fn watermark_matches_a_model(ops in proptest::collection::vec((proptest::bool::ANY, 0i64..40), 1..200)) {
            let mut pq = ProcessQueueState::new(0);
            let mut live = std::collections::BTreeSet::new();
            let mut max = -1i64;
            for (put, offset) in ops {
                if put {
                    pq.put_messages(vec![msg(offset, 3)]);
                    live.insert(offset);
                    max = max.max(offset);
                } else {
                    let was_empty = live.is_empty();
                    let got = pq.remove_messages(&[offset]);
                    live.remove(&offset);
                    let expected = live.iter().next().copied().unwrap_or(max + 1);
                    proptest::prop_assert_eq!(got, (!was_empty).then_some(expected));
                }
                proptest::prop_assert_eq!(pq.cached_count(), live.len());
                proptest::prop_assert_eq!(pq.cached_bytes(), 3 * live.len() as u64);
            }
        }
    }

    #[test]
    fn shared_wrapper_drops() {
        let pq = ProcessQueue::new(0);
        assert!(!pq.is_dropped());
        pq.lock().put_messages(vec![msg(0, 1)]);
        pq.set_dropped();
        assert!(pq.is_dropped());
        assert_eq!(pq.lock().cached_count(), 1);
    }

    #[test]
    fn consume_lock_times_out_while_held() {
        let pq = ProcessQueue::new(0);
        let held = pq.consume_lock();
        assert!(pq.try_consume_lock_for(Duration::from_millis(5)).is_none());
        drop(held);
        assert!(pq.try_consume_lock_for(Duration::ZERO).is_some());
    }
}
