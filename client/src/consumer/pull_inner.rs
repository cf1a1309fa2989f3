//! The shared state of a [`LitePullConsumer`](super::LitePullConsumer): assigned queues,
//! the buffer of pulled batches `poll` drains, the pull-loop callbacks and the registry entry
//! (rebalance in subscribe mode, auto-commit).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use protocol::body::{ConsumerData, MessageQueue};
use protocol::message::MessageExt;
use protocol::util::clock::now_millis;

use super::group::GroupContext;
use super::process_queue::ProcessQueue;
use super::pull::LitePullConsumerConfig;
use super::pull_loop::{
    self, after_pull_with, pull_from_broker, After, Before, PullOwner, PullRequest, PullSpec,
};
use super::rebalance::{diff_topic, OwnedQueue};
use crate::api::{PullResponse, PullStatus};
use crate::error::Result;
use crate::instance::{lock, ConsumerMember, InstanceCore};

/// A batch of pulled messages waiting for `poll`.
pub(super) struct Batch {
    pub(super) mq: MessageQueue,
    pub(super) pq: Arc<ProcessQueue>,
    pub(super) msgs: Vec<MessageExt>,
}

pub(super) struct Assigned {
    pub(super) pq: Arc<ProcessQueue>,
    pub(super) paused: bool,
    /// Next offset to consume (advanced by `poll`, set by `seek`).
    pub(super) consumed: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Unset,
    Subscribe,
    Assign,
}

pub(super) struct LiteInner {
    pub(super) me: Weak<LiteInner>,
    pub(super) ctx: GroupContext,
    pub(super) config: LitePullConsumerConfig,
    pub(super) mode: Mutex<Mode>,
    pub(super) assigned: Mutex<BTreeMap<MessageQueue, Assigned>>,
    pub(super) buffer: Mutex<VecDeque<Batch>>,
    pub(super) ready: Condvar,
    pub(super) stopped: AtomicBool,
    pub(super) last_commit_ms: AtomicU64,
}

impl LiteInner {
    pub(super) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Starts consuming `mq` from `offset` with a fresh process queue.
    pub(super) fn start_queue(&self, mq: &MessageQueue, offset: i64, consumed: Option<i64>) {
        let pq = Arc::new(ProcessQueue::new(now_millis()));
        let old = lock(&self.assigned).insert(
            mq.clone(),
            Assigned {
                pq: pq.clone(),
                paused: false,
                consumed,
            },
        );
        if let Some(old) = old {
            old.pq.set_dropped();
        }
        lock(&self.buffer).retain(|b| &b.mq != mq);
        if let Some(me) = self.me.upgrade() {
            pull_loop::execute(me, PullRequest::new(mq.clone(), pq, offset));
        }
    }

    pub(super) fn add_queue(&self, mq: &MessageQueue) {
        match self.ctx.compute_pull_from_where(mq) {
            Ok(offset) if offset >= 0 => self.start_queue(mq, offset, None),
            Ok(_) => log::warn!("{mq}: no start offset"),
            Err(e) => log::warn!("{mq}: cannot compute the start offset: {e}"),
        }
    }

    pub(super) fn remove_queue(&self, mq: &MessageQueue) {
        let Some(a) = lock(&self.assigned).remove(mq) else {
            return;
        };
        a.pq.set_dropped();
        lock(&self.buffer).retain(|b| &b.mq != mq);
        if self.config.auto_commit {
            if let Some(o) = a.consumed {
                self.ctx.offsets.update(mq, o, false);
            }
            if let Err(e) = self.ctx.offsets.persist(mq) {
                log::warn!("persisting the offset of {mq} failed: {e}");
            }
        }
        self.ctx.offsets.remove(mq);
    }

    pub(super) fn rebalance(&self) {
        if self.is_stopped() || *lock(&self.mode) != Mode::Subscribe {
            return;
        }
        for topic in self.ctx.topics() {
            let Some(target) = self.ctx.target_for_topic(&topic) else {
                continue;
            };
            let owned: BTreeMap<MessageQueue, OwnedQueue> = lock(&self.assigned)
                .keys()
                .map(|mq| (mq.clone(), OwnedQueue::default()))
                .collect();
            let diff = diff_topic(&owned, &topic, &target);
            for mq in &diff.removed {
                self.remove_queue(mq);
            }
            for mq in &diff.added {
                self.add_queue(mq);
            }
        }
    }

    pub(super) fn buffered_msgs(&self) -> usize {
        lock(&self.buffer).iter().map(|b| b.msgs.len()).sum()
    }

    /// Moves polled offsets into the offset store (and on to the broker when `sync`).
    pub(super) fn commit_consumed(&self, sync: bool) -> Result<()> {
        let consumed: Vec<(MessageQueue, i64)> = lock(&self.assigned)
            .iter()
            .filter_map(|(mq, a)| a.consumed.map(|o| (mq.clone(), o)))
            .collect();
        for (mq, offset) in &consumed {
            self.ctx.offsets.update(mq, *offset, false);
        }
        if sync {
            for (mq, _) in &consumed {
                self.ctx.offsets.persist_sync(mq)?;
            }
        } else {
            let set: BTreeSet<MessageQueue> = consumed.into_iter().map(|(mq, _)| mq).collect();
            self.ctx.offsets.persist_all(&set)?;
        }
        self.last_commit_ms.store(now_millis(), Ordering::Release);
        Ok(())
    }

    fn on_pull_response(&self, req: &mut PullRequest, resp: PullResponse) -> After {
        req.broker_id = resp.suggest_which_broker_id;
        match resp.status {
            PullStatus::Found => {
                let msgs = match self.ctx.process_pull(&req.mq, &resp) {
                    Ok(m) => m,
                    Err(e) => {
                        log::warn!("{}: bad pull result: {e}", req.mq);
                        return After::Delay(self.config.pull_time_delay_when_exception_ms);
                    }
                };
                req.next_offset = resp.next_begin_offset;
                if !msgs.is_empty() {
                    req.pq.lock().put_messages(msgs.clone());
                    lock(&self.buffer).push_back(Batch {
                        mq: req.mq.clone(),
                        pq: req.pq.clone(),
                        msgs,
                    });
                    self.ready.notify_all();
                }
            }
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                req.next_offset = resp.next_begin_offset
            }
            PullStatus::OffsetIllegal => {
                log::warn!(
                    "{}: offset {} illegal, moving to {}",
                    req.mq,
                    req.next_offset,
                    resp.next_begin_offset
                );
                req.next_offset = resp.next_begin_offset;
            }
        }
        After::Now
    }
}

impl PullOwner for LiteInner {
    fn core(&self) -> &Arc<InstanceCore> {
        &self.ctx.core
    }

    fn before_pull(&self, req: &PullRequest) -> Before {
        if req.pq.is_dropped() || self.is_stopped() {
            return Before::Stop;
        }
        let paused = lock(&self.assigned).get(&req.mq).is_none_or(|a| a.paused);
        if paused {
            return Before::Delay(1000);
        }
        let queue_full = req.pq.lock().cached_count() > self.config.pull_threshold_for_queue;
        if queue_full || self.buffered_msgs() > self.config.pull_threshold_for_all {
            return Before::Delay(50);
        }
        req.pq.lock().mark_pulled(now_millis());
        let spec = PullSpec {
            batch: self.config.pull_batch_size,
            commit_offset: None,
            suspend_ms: self.config.broker_suspend_max_time_ms,
            timeout_ms: self.config.consumer_timeout_when_suspend_ms,
            lite: true,
            retry_delay_ms: self.config.pull_time_delay_when_exception_ms,
        };
        pull_from_broker(&self.ctx, req, spec)
    }

    fn after_pull(&self, req: &mut PullRequest, result: Result<PullResponse>) -> After {
        let delay_ms = self.config.pull_time_delay_when_exception_ms;
        after_pull_with(req, self.is_stopped(), result, delay_ms, |req, resp| {
            self.on_pull_response(req, resp)
        })
    }
}

pub(super) struct LiteMember(pub(super) Arc<LiteInner>);

impl ConsumerMember for LiteMember {
    fn group(&self) -> &str {
        &self.0.ctx.group
    }

    fn consumer_data(&self) -> ConsumerData {
        self.0.ctx.consumer_data()
    }

    fn topics(&self) -> Vec<String> {
        self.0.ctx.topics()
    }

    fn update_subscribe_info(&self, topic: &str, queues: BTreeSet<MessageQueue>) {
        self.0.ctx.set_subscribe_info(topic, queues);
    }

    fn rebalance(&self) {
        self.0.rebalance();
    }

    fn persist_offsets(&self) {
        if self.0.config.auto_commit {
            if let Err(e) = self.0.commit_consumed(false) {
                log::warn!("group {}: auto-commit failed: {e}", self.0.ctx.group);
            }
        }
    }
}
