//! `RebalanceLockManager` (Java `RebalanceLockManager`): the per-queue locks orderly consumers
//! take with LOCK_BATCH_MQ so that one queue is consumed by one client of a group at a time.
//!
//! A lock is (group, queue) → (client id, last renewal). It lives `max_live_time_ms` (60 s by
//! default; clients renew every 20 s) after its last renewal; an expired lock is free for
//! anyone. Pure: callers pass `now_ms`. Not thread-safe.
//!
//! Invariant: at any `now_ms`, a queue of a group has at most one live owner.

use std::collections::{BTreeSet, HashMap};

use protocol::body::MessageQueue;

/// Default lock lifetime without renewal, ms (Java `rocketmq.broker.rebalance.lockMaxLiveTime`).
pub const DEFAULT_LOCK_MAX_LIVE_TIME_MS: u64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct LockEntry {
    client_id: String,
    last_update_ms: u64,
}

impl LockEntry {
    fn is_expired(&self, now_ms: u64, max_live_time_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_update_ms) > max_live_time_ms
    }
}

/// Group → queue → lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebalanceLockManager {
    max_live_time_ms: u64,
    table: HashMap<String, HashMap<MessageQueue, LockEntry>>,
}

impl Default for RebalanceLockManager {
    fn default() -> Self {
        RebalanceLockManager::new(DEFAULT_LOCK_MAX_LIVE_TIME_MS)
    }
}

impl RebalanceLockManager {
    /// No locks; each lock lives `max_live_time_ms` after its last renewal.
    pub fn new(max_live_time_ms: u64) -> Self {
        RebalanceLockManager {
            max_live_time_ms,
            table: HashMap::new(),
        }
    }

    /// The configured lock lifetime, ms.
    pub fn max_live_time_ms(&self) -> u64 {
        self.max_live_time_ms
    }

    /// Locks or renews one queue for `client_id`. Succeeds when the queue is free, expired or
    /// already held by `client_id`; fails (and changes nothing) while another client holds it.
    pub fn try_lock(
        &mut self,
        group: &str,
        mq: &MessageQueue,
        client_id: &str,
        now_ms: u64,
    ) -> bool {
        let max_live = self.max_live_time_ms;
        let locks = self.table.entry(group.to_owned()).or_default();
        match locks.get_mut(mq) {
            Some(entry) if entry.client_id == client_id => {
                entry.last_update_ms = now_ms;
                true
            }
            Some(entry) if !entry.is_expired(now_ms, max_live) => {
                log::debug!(
                    "lock of {mq} in group {group} refused to {client_id}: held by {}",
                    entry.client_id
                );
                false
            }
            Some(entry) => {
                log::warn!(
                    "lock of {mq} in group {group} expired (held by {}); given to {client_id}",
                    entry.client_id
                );
                entry.client_id = client_id.to_owned();
                entry.last_update_ms = now_ms;
                true
            }
            None => {
                let entry = LockEntry {
                    client_id: client_id.to_owned(),
                    last_update_ms: now_ms,
                };
                locks.insert(mq.clone(), entry);
                true
            }
        }
    }

    /// LOCK_BATCH_MQ: tries every queue of `mqs` (see [`try_lock`](Self::try_lock)) and
    /// returns the ones now held by `client_id` (the `lockOKMQSet`).
    pub fn try_lock_batch<'a>(
        &mut self,
        group: &str,
        mqs: impl IntoIterator<Item = &'a MessageQueue>,
        client_id: &str,
        now_ms: u64,
    ) -> BTreeSet<MessageQueue> {
        mqs.into_iter()
            .filter(|mq| self.try_lock(group, mq, client_id, now_ms))
            .cloned()
            .collect()
    }

    /// UNLOCK_BATCH_MQ: releases the queues of `mqs` that `client_id` holds (even if expired);
    /// locks of other clients are left alone. Returns how many were released.
    pub fn unlock_batch<'a>(
        &mut self,
        group: &str,
        mqs: impl IntoIterator<Item = &'a MessageQueue>,
        client_id: &str,
    ) -> usize {
        let Some(locks) = self.table.get_mut(group) else {
            return 0;
        };
        let mut released = 0;
        for mq in mqs {
            match locks.get(mq) {
                Some(entry) if entry.client_id == client_id => {
                    locks.remove(mq);
                    released += 1;
                }
                Some(entry) => log::warn!(
                    "unlock of {mq} in group {group} by {client_id} ignored: held by {}",
                    entry.client_id
                ),
                None => {}
            }
        }
        if locks.is_empty() {
            self.table.remove(group);
        }
        released
    }

    /// Whether `client_id` holds a live lock on `mq` in `group` at `now_ms`.
    pub fn is_locked(&self, group: &str, mq: &MessageQueue, client_id: &str, now_ms: u64) -> bool {
        self.lock_owner(group, mq, now_ms) == Some(client_id)
    }

    /// The client holding a live lock on `mq` in `group` at `now_ms`.
    pub fn lock_owner(&self, group: &str, mq: &MessageQueue, now_ms: u64) -> Option<&str> {
        self.table
            .get(group)?
            .get(mq)
            .filter(|e| !e.is_expired(now_ms, self.max_live_time_ms))
            .map(|e| e.client_id.as_str())
    }

    /// Whether any queue of `group` is locked at `now_ms` (an orderly group is consuming: its
    /// failed messages go to the DLQ rather than being retried out of order).
    pub fn has_live_locks(&self, group: &str, now_ms: u64) -> bool {
        self.table.get(group).is_some_and(|locks| {
            locks
                .values()
                .any(|e| !e.is_expired(now_ms, self.max_live_time_ms))
        })
    }

    /// Forgets expired locks (housekeeping); returns how many were dropped.
    pub fn remove_expired(&mut self, now_ms: u64) -> usize {
        let max_live = self.max_live_time_ms;
        let mut dropped = 0;
        self.table.retain(|_, locks| {
            let before = locks.len();
            locks.retain(|_, e| !e.is_expired(now_ms, max_live));
            dropped += before - locks.len();
            !locks.is_empty()
        });
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", q)
    }

    #[test]
    fn lock_conflict_renewal_and_expiry() {
        let mut m = RebalanceLockManager::default();
        assert_eq!(m.max_live_time_ms(), 60_000);
        let all = [mq(0), mq(1), mq(2)];
        let got = m.try_lock_batch("G", &all[..2], "c1", 1_000);
        assert_eq!(got, BTreeSet::from([mq(0), mq(1)]));
        // c2 gets only the free queue.
        let got = m.try_lock_batch("G", &all, "c2", 2_000);
        assert_eq!(got, BTreeSet::from([mq(2)]));
        assert!(m.is_locked("G", &mq(0), "c1", 2_000));
        assert!(!m.is_locked("G", &mq(0), "c2", 2_000));
        assert_eq!(m.lock_owner("G", &mq(2), 2_000), Some("c2"));
        // Another group is independent.
        assert_eq!(m.try_lock_batch("H", &all[..1], "c2", 2_000).len(), 1);

        // c1 renews mq0 at 50 s; mq1 is left to expire.
        assert!(m.try_lock("G", &mq(0), "c1", 50_000));
        assert!(
            m.is_locked("G", &mq(1), "c1", 61_000),
            "exactly at the TTL still live"
        );
        assert!(!m.is_locked("G", &mq(1), "c1", 61_001));
        assert_eq!(m.lock_owner("G", &mq(1), 61_001), None);
        let got = m.try_lock_batch("G", &all, "c2", 61_001);
        assert_eq!(
            got,
            BTreeSet::from([mq(1), mq(2)]),
            "expired mq1 taken over, mq0 renewed by c1"
        );
        assert_eq!(m.lock_owner("G", &mq(0), 61_001), Some("c1"));
    }

    #[test]
    fn unlock_only_releases_own_locks() {
        let mut m = RebalanceLockManager::new(1_000);
        m.try_lock_batch("G", &[mq(0), mq(1)], "c1", 0);
        assert_eq!(m.unlock_batch("G", &[mq(0)], "c2"), 0);
        assert!(m.is_locked("G", &mq(0), "c1", 10));
        assert_eq!(m.unlock_batch("G", &[mq(0), mq(5)], "c1"), 1);
        assert!(m.try_lock("G", &mq(0), "c2", 10));
        // Own expired locks can still be released.
        assert_eq!(m.unlock_batch("G", &[mq(1)], "c1"), 1);
        assert_eq!(m.unlock_batch("nope", &[mq(1)], "c1"), 0);
        assert_eq!(m.unlock_batch("G", &[mq(0)], "c2"), 1);
        assert!(!m.has_live_locks("G", 10));
    }

    #[test]
    fn live_locks_and_housekeeping() {
        let mut m = RebalanceLockManager::new(1_000);
        assert!(!m.has_live_locks("G", 0));
        m.try_lock("G", &mq(0), "c1", 0);
        m.try_lock("G", &mq(1), "c1", 500);
        assert!(m.has_live_locks("G", 1_000));
        assert!(m.has_live_locks("G", 1_500), "mq1 still live");
        assert!(!m.has_live_locks("G", 1_501));
        assert!(!m.has_live_locks("H", 0));
        assert_eq!(m.remove_expired(1_200), 1);
        assert_eq!(m.remove_expired(1_600), 1);
        assert_eq!(m.remove_expired(1_600), 0);
        assert!(m.try_lock("G", &mq(0), "c2", 1_600));
    }
}
