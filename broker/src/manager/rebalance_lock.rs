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
