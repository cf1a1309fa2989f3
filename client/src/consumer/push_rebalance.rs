//! The rebalance shell of [`PushConsumer`](super::PushConsumer): applies the pure
//! [`rebalance`](super::rebalance) diff to the process-queue table (start pull loops for new
//! queues, drop and persist removed ones) and keeps orderly queues locked on their brokers
//! (LOCK_BATCH_MQ before consuming, renewed every 20 s, UNLOCK_BATCH_MQ when released).
//! Runs on the scheduler thread (or the caller of `rebalance_now`); may block on remote calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use protocol::body::{LockBatchRequestBody, MessageQueue, UnlockBatchRequestBody};
use protocol::util::clock::now_millis;

use super::process_queue::ProcessQueue;
use super::pull_loop::{self, PullRequest};
use super::push::PushInner;
use super::rebalance::{diff_topic, unsubscribed_queues, OwnedQueue};
use crate::instance::lock;

/// Period of lock renewal for orderly consumers (Java: 20 s).
pub const LOCK_RENEW_INTERVAL_MS: u64 = 20_000;
/// How long a rebalance waits for an orderly queue's batch in flight (Java: 1 s).
pub const CONSUME_LOCK_WAIT_MS: u64 = 1_000;

impl PushInner {
    fn owned_states(&self) -> BTreeMap<MessageQueue, OwnedQueue> {
        let now = now_millis();
        lock(&self.table)
            .iter()
            .map(|(mq, pq)| {
                let pull_expired = pq.lock().is_pull_expired(now);
                (mq.clone(), OwnedQueue { pull_expired })
            })
            .collect()
    }

    /// Recomputes the assignment of every subscribed topic and applies the changes.
    pub(crate) fn rebalance(&self) {
        if self.is_stopped() {
            return;
        }
        let topics: BTreeSet<String> = self.ctx.topics().into_iter().collect();
        for topic in &topics {
            let Some(target) = self.ctx.target_for_topic(topic) else {
                continue;
            };
            let diff = diff_topic(&self.owned_states(), topic, &target);
            if diff.is_empty() {
                continue;
            }
            log::info!(
                "group {} rebalanced {topic}: +{:?} -{:?}",
                self.ctx.group,
                diff.added,
                diff.removed
            );
            for mq in &diff.removed {
                self.remove_queue(mq);
            }
            for mq in &diff.added {
                self.add_queue(mq);
            }
        }
        for mq in unsubscribed_queues(&self.owned_states(), &topics) {
            self.remove_queue(&mq);
        }
    }

    /// Moves the offsets of `topic`'s owned queues (a broker-initiated reset): the queues are
    /// dropped, the new offsets stored and persisted, and a rebalance starts them again from
    /// there. Runs on the scheduler thread.
    pub(crate) fn reset_offset(&self, topic: &str, offsets: &BTreeMap<MessageQueue, i64>) {
        self.set_paused(true);
        for (mq, offset) in offsets.iter().filter(|(mq, _)| mq.topic == topic) {
            if let Some(pq) = lock(&self.table).remove(mq) {
                pq.set_dropped();
            }
            self.ctx.offsets.update(mq, *offset, false);
            if let Err(e) = self.ctx.offsets.persist_sync(mq) {
                log::warn!("persisting the reset offset of {mq} failed: {e}");
            }
        }
        self.set_paused(false);
        self.rebalance();
    }

    /// Stops consuming `mq`: drops its process queue, persists and forgets its offset, and
    /// releases its broker lock. An orderly queue is first given up to
    /// [`CONSUME_LOCK_WAIT_MS`] to finish the batch in its listener, so that batch is
    /// committed and nobody else consumes the queue meanwhile; if it takes longer the queue
    /// is kept and removed at a later rebalance (as Java does).
    fn remove_queue(&self, mq: &MessageQueue) {
        let Some(pq) = lock(&self.table).get(mq).cloned() else {
            return;
        };
        let _consuming = if self.needs_locks() {
            let wait = Duration::from_millis(CONSUME_LOCK_WAIT_MS);
            let Some(guard) = pq.try_consume_lock_for(wait) else {
                log::warn!("{mq} is still being consumed; released at a later rebalance");
                return;
            };
            Some(guard)
        } else {
            None
        };
        // Another rebalance (scheduler thread or `rebalance_now`) may have removed it first.
        if lock(&self.table).remove(mq).is_none() {
            return;
        }
        pq.set_dropped();
        if let Err(e) = self.ctx.offsets.persist(mq) {
            log::warn!("persisting the offset of {mq} failed: {e}");
        }
        self.ctx.offsets.remove(mq);
        if self.needs_locks() {
            self.unlock(std::slice::from_ref(mq), true);
        }
    }

    /// Starts consuming `mq` (after locking it for an orderly consumer).
    fn add_queue(&self, mq: &MessageQueue) {
        if self.needs_locks() && !self.lock_queue(mq) {
            log::info!("{mq} is locked by another consumer; not taken this time");
            return;
        }
        self.ctx.offsets.remove(mq);
        let offset = match self.ctx.compute_pull_from_where(mq) {
            Ok(o) if o >= 0 => o,
            Ok(o) => {
                log::warn!("{mq}: no start offset ({o}); retried at the next rebalance");
                return;
            }
            Err(e) => {
                log::warn!("{mq}: cannot compute the start offset: {e}");
                return;
            }
        };
        let pq = Arc::new(ProcessQueue::new(now_millis()));
        if self.needs_locks() {
            pq.lock().set_locked(true, now_millis());
        }
        lock(&self.table).insert(mq.clone(), pq.clone());
        log::info!("group {} takes {mq} from offset {offset}", self.ctx.group);
        if let Some(me) = self.me.upgrade() {
            pull_loop::execute(me, PullRequest::new(mq.clone(), pq, offset));
        }
    }

    /// LOCK_BATCH_MQ for one queue; marks its process queue locked on success.
    pub(crate) fn lock_queue(&self, mq: &MessageQueue) -> bool {
        let locked = self.lock_on_broker(&mq.broker_name, BTreeSet::from([mq.clone()]));
        let ok = locked.contains(mq);
        if let Some(pq) = lock(&self.table).get(mq) {
            pq.lock().set_locked(ok, now_millis());
        }
        ok
    }

    fn lock_on_broker(
        &self,
        broker_name: &str,
        mqs: BTreeSet<MessageQueue>,
    ) -> BTreeSet<MessageQueue> {
        let core = &self.ctx.core;
        let Some(addr) = core.find_broker_master(broker_name) else {
            return BTreeSet::new();
        };
        let body = LockBatchRequestBody {
            client_id: core.client_id.clone(),
            consumer_group: self.ctx.group.clone(),
            mq_set: mqs,
            only_this_broker: false,
        };
        match core
            .api
            .lock_batch_mq(&addr, &body, core.config.rpc_timeout_ms)
        {
            Ok(locked) => locked,
            Err(e) => {
                log::warn!("LOCK_BATCH_MQ to {addr} failed: {e}");
                BTreeSet::new()
            }
        }
    }

    /// Renews the locks of every owned queue, broker by broker.
    pub(crate) fn lock_all(&self) {
        let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for mq in self.owned_queues() {
            by_broker
                .entry(mq.broker_name.clone())
                .or_default()
                .insert(mq);
        }
        let now = now_millis();
        for (broker, mqs) in by_broker {
            let locked = self.lock_on_broker(&broker, mqs.clone());
            let table = lock(&self.table);
            for mq in &mqs {
                if let Some(pq) = table.get(mq) {
                    pq.lock().set_locked(locked.contains(mq), now);
                }
            }
        }
    }

    fn unlock(&self, mqs: &[MessageQueue], oneway: bool) {
        let core = &self.ctx.core;
        let mut by_broker: BTreeMap<&str, BTreeSet<MessageQueue>> = BTreeMap::new();
        for mq in mqs {
            by_broker
                .entry(mq.broker_name.as_str())
                .or_default()
                .insert(mq.clone());
        }
        for (broker, mq_set) in by_broker {
            let Some(addr) = core.find_broker_master(broker) else {
                continue;
            };
            let body = UnlockBatchRequestBody {
                client_id: core.client_id.clone(),
                consumer_group: self.ctx.group.clone(),
                mq_set,
                only_this_broker: false,
            };
            if let Err(e) =
                core.api
                    .unlock_batch_mq(&addr, &body, core.config.rpc_timeout_ms, oneway)
            {
                log::warn!("UNLOCK_BATCH_MQ to {addr} failed: {e}");
            }
        }
    }

    /// Releases every owned queue's lock and waits for the brokers (at close).
    pub(crate) fn unlock_all(&self) {
        let owned: Vec<MessageQueue> = self.owned_queues().into_iter().collect();
        self.unlock(&owned, false);
    }

    /// Renews locks every [`LOCK_RENEW_INTERVAL_MS`] on the scheduler thread.
    pub(crate) fn schedule_lock_renewal(&self) {
        let me = self.me.clone();
        let renew = move || match me.upgrade().filter(|i| !i.is_stopped()) {
            Some(inner) => {
                inner.lock_all();
                true
            }
            None => false,
        };
        self.ctx
            .core
            .scheduler
            .schedule_periodic(1000, LOCK_RENEW_INTERVAL_MS, renew);
    }
}
