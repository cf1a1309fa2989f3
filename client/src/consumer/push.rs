//! [`PushConsumer`] (Java `DefaultMQPushConsumer`): subscribes topics, gets queues assigned
//! by rebalancing, long-polls each queue without a thread per queue, and hands messages to a
//! listener on a consume thread pool; offsets are committed up to the lowest unacknowledged
//! message.
//!
//! The rebalance shell is in `push_rebalance`, the two consume services in
//! `consume_concurrent` and `consume_orderly`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use protocol::body::{ConsumeType, ConsumerData, MessageModel, MessageQueue};
use protocol::util::clock::now_millis;

use super::allocate::{AllocateStrategy, Averagely};
use super::group::{retry_topic, GroupContext};
use super::listener::MessageListener;
use super::offset_store::ReadOffsetType;
use super::process_queue::{tracking_copy, ProcessQueue};
use super::pull_loop::{
    after_pull_with, pull_from_broker, After, Before, PullOwner, PullRequest, PullSpec,
};
use super::push_config::{PushConsumerBuilder, PushConsumerConfig};
use crate::api::{PullResponse, PullStatus};
use crate::error::{Error, Result};
use crate::instance::{lock, ClientInstance, ConsumerMember, InstanceCore, InstanceSource};
use crate::producer::validate::{check_group, check_topic};
use crate::scheduler::Executor;

/// Everything a running push consumer shares with its pull loops and consume threads.
pub(crate) struct PushInner {
    pub(crate) me: Weak<PushInner>,
    pub(crate) ctx: GroupContext,
    pub(crate) config: PushConsumerConfig,
    pub(crate) listener: MessageListener,
    pub(crate) pool: Executor,
    pub(crate) table: Mutex<BTreeMap<MessageQueue, Arc<ProcessQueue>>>,
    pub(crate) stopped: AtomicBool,
    paused: AtomicBool,
    /// When the consumer started (ms since the epoch).
    pub(crate) started_ms: u64,
}

impl PushInner {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    pub(crate) fn is_clustering(&self) -> bool {
        self.ctx.model == MessageModel::Clustering
    }

    /// Whether queues are locked on the broker (orderly listener, clustering).
    pub(crate) fn needs_locks(&self) -> bool {
        self.listener.is_orderly() && self.is_clustering()
    }

    /// The effective maximum reconsume times.
    pub(crate) fn max_reconsume_times(&self) -> i32 {
        match (self.config.max_reconsume_times, self.listener.is_orderly()) {
            (n, _) if n >= 0 => n,
            (_, true) => i32::MAX,
            (_, false) => 16,
        }
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
    }

    pub(crate) fn owned_queues(&self) -> BTreeSet<MessageQueue> {
        lock(&self.table).keys().cloned().collect()
    }

    /// Hands pulled messages to the consume service.
    fn submit(
        &self,
        msgs: Vec<protocol::message::MessageExt>,
        pq: Arc<ProcessQueue>,
        mq: MessageQueue,
        dispatch: bool,
    ) {
        let Some(me) = self.me.upgrade() else { return };
        if self.listener.is_orderly() {
            if dispatch {
                me.submit_orderly(pq, mq, 0);
            }
        } else {
            me.submit_concurrent(msgs, pq, mq);
        }
    }

    /// The delay before the next pull of `req` when pulling must wait: consumer paused, flow
    /// control (count, bytes, span), or an orderly queue not locked yet.
    fn pull_blocked(&self, req: &PullRequest) -> Option<u64> {
        let flow = {
            let mut pq = req.pq.lock();
            pq.mark_pulled(now_millis());
            pq.flow_control(&self.config.flow_limits(self.listener.is_orderly()))
        };
        if self.paused.load(Ordering::Acquire) {
            return Some(1000);
        }
        if let Some(reason) = flow {
            log::debug!("{}: flow control {reason:?}", req.mq);
            return Some(self.config.pull_time_delay_when_flow_control_ms);
        }
        if self.needs_locks() && !req.pq.lock().is_locked() {
            return Some(3000);
        }
        None
    }

    fn on_pull_response(&self, req: &mut PullRequest, resp: PullResponse) -> After {
        req.broker_id = resp.suggest_which_broker_id;
        let next = resp.next_begin_offset;
        match resp.status {
            PullStatus::Found => {
                let msgs = match self.ctx.process_pull(&req.mq, &resp) {
                    Ok(m) => m,
                    Err(e) => {
                        log::warn!("{}: bad pull result: {e}", req.mq);
                        return After::Delay(self.config.pull_time_delay_when_exception_ms);
                    }
                };
                req.next_offset = next;
                if !msgs.is_empty() {
                    // Concurrent consumption needs only offsets and sizes in the process
                    // queue; orderly consumption takes the messages from it.
                    let tracked = if self.listener.is_orderly() {
                        msgs.clone()
                    } else {
                        msgs.iter().map(tracking_copy).collect()
                    };
                    let dispatch = req.pq.lock().put_messages(tracked);
                    self.submit(msgs, req.pq.clone(), req.mq.clone(), dispatch);
                }
            }
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                req.next_offset = next;
                if req.pq.lock().cached_count() == 0 {
                    self.ctx.offsets.update(&req.mq, next, true);
                }
            }
            PullStatus::OffsetIllegal => {
                log::warn!(
                    "{}: offset {} illegal, moving to {next}",
                    req.mq,
                    req.next_offset
                );
                req.next_offset = next;
                req.pq.lock().clear();
                self.ctx.offsets.update(&req.mq, next, false);
            }
        }
        After::Now
    }
}

impl PullOwner for PushInner {
    fn core(&self) -> &Arc<InstanceCore> {
        &self.ctx.core
    }

    fn before_pull(&self, req: &PullRequest) -> Before {
        if req.pq.is_dropped() || self.is_stopped() {
            return Before::Stop;
        }
        if let Some(delay_ms) = self.pull_blocked(req) {
            return Before::Delay(delay_ms);
        }
        let commit = if self.is_clustering() {
            self.ctx
                .offsets
                .read(&req.mq, ReadOffsetType::Memory)
                .ok()
                .flatten()
        } else {
            None
        };
        let spec = PullSpec {
            batch: self.config.pull_batch_size,
            commit_offset: commit,
            suspend_ms: self.config.broker_suspend_max_time_ms,
            timeout_ms: self.config.consumer_timeout_when_suspend_ms,
            lite: false,
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

/// The registry entry of a push consumer.
struct PushMember(Arc<PushInner>);

impl ConsumerMember for PushMember {
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

    fn running_info(&self) -> Option<protocol::body::running_info::ConsumerRunningInfo> {
        Some(self.0.running_info())
    }

    fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        let inner = self.0.clone();
        let topic = topic.to_string();
        self.0
            .ctx
            .core
            .scheduler
            .schedule(0, move || inner.reset_offset(&topic, &offsets));
    }

    fn persist_offsets(&self) {
        let owned = self.0.owned_queues();
        if let Err(e) = self.0.ctx.offsets.persist_all(&owned) {
            log::warn!("group {}: persisting offsets failed: {e}", self.0.ctx.group);
        }
    }
}

/// A push consumer of one consumer group. Dropping it (or [`PushConsumer::close`]) stops
/// pulling, persists offsets, releases queue locks and unregisters from the brokers.
///
/// # Examples
/// ```no_run
/// use client::consumer::{ConcurrentContext, ConsumeConcurrentlyStatus, PushConsumer};
/// let consumer = PushConsumer::builder("CG")
///     .name_server("127.0.0.1:9876")
///     .subscribe("TopicTest", "TagA || TagB")
///     .listener_concurrently(|msgs: &[client::MessageExt], _ctx: &mut ConcurrentContext| {
///         for m in msgs {
///             println!("{} {:?}", m.queue_offset, m.body);
///         }
///         ConsumeConcurrentlyStatus::ConsumeSuccess
///     })
///     .start()?;
/// # drop(consumer);
/// # Ok::<(), client::Error>(())
/// ```
pub struct PushConsumer {
    inner: Arc<PushInner>,
    instance: Arc<ClientInstance>,
    closed: AtomicBool,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.ctx.group)
            .finish_non_exhaustive()
    }
}

impl PushConsumer {
    /// A builder for consumer group `group`.
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder {
            group: group.into(),
            config: PushConsumerConfig::default(),
            source: InstanceSource::Unset,
            subscriptions: Vec::new(),
            strategy: Arc::new(Averagely),
            listener: None,
        }
    }

    pub(super) fn start(b: PushConsumerBuilder) -> Result<PushConsumer> {
        check_group(&b.group)?;
        b.config.validate()?;
        if b.subscriptions.is_empty() {
            return Err(Error::Config("no topic subscribed".into()));
        }
        let instance = b.source.resolve()?;
        let inner = Self::build_inner(
            instance.core(),
            b.group,
            b.config,
            b.subscriptions,
            b.strategy,
            b.listener,
        )?;
        let core = instance.core();
        if let Err(e) = core.register_consumer(Arc::new(PushMember(inner.clone()))) {
            inner.pool.shutdown();
            return Err(e);
        }
        inner.ctx.load_subscribe_info();
        core.send_heartbeat_to_all();
        if inner.needs_locks() {
            inner.schedule_lock_renewal();
        }
        core.request_rebalance();
        log::info!(
            "push consumer {} started on {}",
            inner.ctx.group,
            core.client_id
        );
        Ok(PushConsumer {
            inner,
            instance,
            closed: AtomicBool::new(false),
        })
    }

    fn build_inner(
        core: &Arc<InstanceCore>,
        group: String,
        config: PushConsumerConfig,
        subscriptions: Vec<(String, String)>,
        strategy: Arc<dyn AllocateStrategy>,
        listener: Option<MessageListener>,
    ) -> Result<Arc<PushInner>> {
        let listener =
            listener.ok_or_else(|| Error::Config("no message listener registered".into()))?;
        let model = config.message_model;
        let ctx = GroupContext::new(
            core.clone(),
            group.clone(),
            model,
            ConsumeType::ConsumePassively,
            config.consume_from,
            strategy,
            &config.offset_store_dir,
        )?;
        for (topic, expression) in &subscriptions {
            check_topic(topic).map_err(|e| Error::Config(e.to_string()))?;
            ctx.subscribe(topic, expression);
        }
        if model == MessageModel::Clustering {
            ctx.subscribe(&retry_topic(&group), "*");
        }
        let pool = Executor::start(
            &format!("client-consume-{group}"),
            config.consume_thread_nums,
        )
        .map_err(|e| Error::Config(format!("cannot start consume threads: {e}")))?;
        Ok(Arc::new_cyclic(|me| PushInner {
            me: me.clone(),
            ctx,
            config,
            listener,
            pool,
            table: Mutex::new(BTreeMap::new()),
            stopped: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            started_ms: protocol::util::clock::now_millis(),
        }))
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.inner.ctx.group
    }

    /// The client instance this consumer runs on.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    /// The queues currently assigned to this consumer.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        self.inner.owned_queues().into_iter().collect()
    }

    /// The offsets this consumer would commit now (next offset to consume per queue).
    pub fn offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.inner.ctx.offsets.snapshot()
    }

    /// Pauses pulling (cached messages are still consumed).
    pub fn suspend(&self) {
        self.inner.set_paused(true);
    }

    /// Resumes pulling.
    pub fn resume(&self) {
        self.inner.set_paused(false);
    }

    /// Rebalances now (normally every 20 s and when the group changes).
    pub fn rebalance_now(&self) {
        self.inner.rebalance();
    }

    /// Stops consuming; see the type docs.
    pub fn close(self) {
        drop(self);
    }

    fn close_inner(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = &self.inner;
        inner.stopped.store(true, Ordering::Release);
        inner.pool.shutdown();
        let owned = inner.owned_queues();
        if let Err(e) = inner.ctx.offsets.persist_all(&owned) {
            log::warn!(
                "group {}: persisting offsets at close failed: {e}",
                inner.ctx.group
            );
        }
        if inner.needs_locks() {
            inner.unlock_all();
        }
        for pq in lock(&inner.table).values() {
            pq.set_dropped();
        }
        inner.ctx.core.unregister(None, Some(&inner.ctx.group));
        log::info!("push consumer {} closed", inner.ctx.group);
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        self.close_inner();
    }
}
