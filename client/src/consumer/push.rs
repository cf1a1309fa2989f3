//! [`PushConsumer`] (Java `DefaultMQPushConsumer`): subscribes topics, gets queues assigned
//! by rebalancing, long-polls each queue without a thread per queue, and hands messages to a
//! listener on a consume thread pool; offsets are committed up to the lowest unacknowledged
//! message.
//!
//! The rebalance shell is in `push_rebalance`, the two consume services in
//! `consume_concurrent` and `consume_orderly`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use protocol::body::{ConsumeType, ConsumerData, MessageModel, MessageQueue};
use protocol::util::clock::now_millis;

use super::allocate::{AllocateStrategy, Averagely};
use super::group::{retry_topic, ConsumeFrom, GroupContext};
use super::listener::{ConcurrentListener, MessageListener, OrderlyListener};
use super::offset_store::{default_local_dir, local_offsets_path, OffsetStore, ReadOffsetType};
use super::process_queue::{FlowLimits, ProcessQueue};
use super::pull_loop::{After, Before, PullOwner, PullRequest};
use crate::api::{PullResponse, PullStatus};
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::instance::{lock, ClientInstance, ConsumerMember, InstanceCore, InstanceSource};
use crate::producer::validate::check_group;
use crate::scheduler::Executor;

/// Push consumer settings (Java `DefaultMQPushConsumer`). Durations in ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConsumerConfig {
    /// Clustering (default) or broadcasting.
    pub message_model: MessageModel,
    /// Where a queue without a stored offset starts. Default [`ConsumeFrom::LastOffset`].
    pub consume_from: ConsumeFrom,
    /// Consume threads. Default 20 (`consumeThreadMin`).
    pub consume_thread_nums: usize,
    /// Messages per listener call. Default 1.
    pub consume_message_batch_max_size: usize,
    /// Messages per pull. Default 32.
    pub pull_batch_size: i32,
    /// Cached messages per queue before pulling pauses. Default 1000.
    pub pull_threshold_for_queue: usize,
    /// Cached body MiB per queue before pulling pauses. Default 100.
    pub pull_threshold_size_for_queue_mib: u64,
    /// Largest offset span of cached messages (concurrent only). Default 2000.
    pub consume_concurrently_max_span: i64,
    /// Deliveries before a message goes to the dead-letter queue; -1 means 16 for concurrent
    /// and unlimited for orderly consumers. Default -1.
    pub max_reconsume_times: i32,
    /// Orderly: suspension after a failed call. Default 1000.
    pub suspend_current_queue_time_ms: u64,
    /// How long the broker may hold a pull (long polling). Default 15 000.
    pub broker_suspend_max_time_ms: u64,
    /// RPC timeout of a held pull. Default 30 000.
    pub consumer_timeout_when_suspend_ms: u64,
    /// Pause after a failed pull. Default 3000.
    pub pull_time_delay_when_exception_ms: u64,
    /// Pause while flow control applies. Default 50.
    pub pull_time_delay_when_flow_control_ms: u64,
    /// Broadcasting: directory of the local offset files. Default `~/.rocketmq_offsets`.
    pub offset_store_dir: PathBuf,
}

impl Default for PushConsumerConfig {
    fn default() -> Self {
        PushConsumerConfig {
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            consume_thread_nums: 20,
            consume_message_batch_max_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue_mib: 100,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: -1,
            suspend_current_queue_time_ms: 1000,
            broker_suspend_max_time_ms: 15_000,
            consumer_timeout_when_suspend_ms: 30_000,
            pull_time_delay_when_exception_ms: 3000,
            pull_time_delay_when_flow_control_ms: 50,
            offset_store_dir: default_local_dir(),
        }
    }
}

impl PushConsumerConfig {
    /// Checks every field; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("consumeThreadMin", self.consume_thread_nums as u64),
            ("consumeMessageBatchMaxSize", self.consume_message_batch_max_size as u64),
            ("pullBatchSize", self.pull_batch_size.max(0) as u64),
            ("pullThresholdForQueue", self.pull_threshold_for_queue as u64),
            ("pullThresholdSizeForQueue", self.pull_threshold_size_for_queue_mib),
            ("consumerTimeoutMillisWhenSuspend", self.consumer_timeout_when_suspend_ms),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(Error::Config(format!("{key} must be positive")));
            }
        }
        if self.consumer_timeout_when_suspend_ms <= self.broker_suspend_max_time_ms {
            return Err(Error::Config(
                "consumerTimeoutMillisWhenSuspend must exceed brokerSuspendMaxTimeMillis".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn flow_limits(&self, orderly: bool) -> FlowLimits {
        FlowLimits {
            max_count: self.pull_threshold_for_queue,
            max_bytes: self.pull_threshold_size_for_queue_mib * 1024 * 1024,
            max_span: (!orderly).then_some(self.consume_concurrently_max_span),
        }
    }
}

/// Builds a [`PushConsumer`].
pub struct PushConsumerBuilder {
    group: String,
    config: PushConsumerConfig,
    source: InstanceSource,
    subscriptions: Vec<(String, String)>,
    strategy: Arc<dyn AllocateStrategy>,
    listener: Option<MessageListener>,
}

impl std::fmt::Debug for PushConsumerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumerBuilder")
            .field("group", &self.group)
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl PushConsumerBuilder {
    /// Uses a private client instance for the NameServers `addrs`.
    pub fn name_server(mut self, addrs: &str) -> Self {
        self.source.set_namesrv(addrs);
        self
    }

    /// Uses a private client instance with this configuration.
    pub fn client_config(mut self, config: ClientConfig) -> Self {
        self.source = InstanceSource::Config(config);
        self
    }

    /// Shares an existing client instance.
    pub fn instance(mut self, instance: Arc<ClientInstance>) -> Self {
        self.source = InstanceSource::Shared(instance);
        self
    }

    /// Replaces all consumer settings.
    pub fn config(mut self, config: PushConsumerConfig) -> Self {
        self.config = config;
        self
    }

    /// Subscribes `topic` with a tag expression (`*`, `TagA || TagB`).
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions.push((topic.into(), expression.into()));
        self
    }

    /// Clustering (default) or broadcasting.
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.config.message_model = model;
        self
    }

    /// Where queues without a stored offset start.
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.config.consume_from = from;
        self
    }

    /// The queue allocation strategy (default [`Averagely`]).
    pub fn allocate_strategy(mut self, strategy: impl AllocateStrategy + 'static) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Consume threads (default 20).
    pub fn consume_threads(mut self, n: usize) -> Self {
        self.config.consume_thread_nums = n;
        self
    }

    /// Messages per listener call (default 1).
    pub fn consume_batch_size(mut self, n: usize) -> Self {
        self.config.consume_message_batch_max_size = n;
        self
    }

    /// Deliveries before the dead-letter queue (-1: 16 concurrent, unlimited orderly).
    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.config.max_reconsume_times = n;
        self
    }

    /// Broadcasting: where local offset files are kept.
    pub fn offset_store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.offset_store_dir = dir.into();
        self
    }

    /// Consumes concurrently with `listener`.
    pub fn listener_concurrently(mut self, listener: impl ConcurrentListener) -> Self {
        self.listener = Some(MessageListener::Concurrently(Arc::new(listener)));
        self
    }

    /// Consumes each queue in order with `listener`.
    pub fn listener_orderly(mut self, listener: impl OrderlyListener) -> Self {
        self.listener = Some(MessageListener::Orderly(Arc::new(listener)));
        self
    }

    /// Starts consuming.
    pub fn start(self) -> Result<PushConsumer> {
        PushConsumer::start(self)
    }
}

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

    pub(crate) fn owned_queues(&self) -> BTreeSet<MessageQueue> {
        lock(&self.table).keys().cloned().collect()
    }

    /// Hands pulled messages to the consume service.
    fn submit(&self, msgs: Vec<protocol::message::MessageExt>, pq: Arc<ProcessQueue>, mq: MessageQueue, dispatch: bool) {
        let Some(me) = self.me.upgrade() else { return };
        if self.listener.is_orderly() {
            if dispatch {
                me.submit_orderly(pq, mq, 0);
            }
        } else {
            me.submit_concurrent(msgs, pq, mq);
        }
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
                    let dispatch = req.pq.lock().put_messages(msgs.clone());
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
                log::warn!("{}: offset {} illegal, moving to {next}", req.mq, req.next_offset);
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
        let now = now_millis();
        let flow = {
            let mut pq = req.pq.lock();
            pq.mark_pulled(now);
            pq.flow_control(&self.config.flow_limits(self.listener.is_orderly()))
        };
        if self.paused.load(Ordering::Acquire) {
            return Before::Delay(1000);
        }
        if let Some(reason) = flow {
            log::debug!("{}: flow control {reason:?}", req.mq);
            return Before::Delay(self.config.pull_time_delay_when_flow_control_ms);
        }
        if self.needs_locks() && !req.pq.lock().is_locked() {
            return Before::Delay(3000);
        }
        let commit = if self.is_clustering() {
            self.ctx.offsets.read(&req.mq, ReadOffsetType::Memory).ok().flatten()
        } else {
            None
        };
        let delay = Before::Delay(self.config.pull_time_delay_when_exception_ms);
        let Some(header) = self.ctx.pull_header(
            &req.mq,
            req.next_offset,
            self.config.pull_batch_size,
            commit,
            self.config.broker_suspend_max_time_ms,
            false,
        ) else {
            return delay;
        };
        let Some(addr) = self.ctx.core.find_broker_addr(&req.mq.broker_name, req.broker_id) else {
            return delay;
        };
        Before::Pull {
            addr,
            header,
            timeout_ms: self.config.consumer_timeout_when_suspend_ms,
        }
    }

    fn after_pull(&self, req: &mut PullRequest, result: Result<PullResponse>) -> After {
        if req.pq.is_dropped() || self.is_stopped() {
            return After::Stop;
        }
        match result {
            Ok(resp) => self.on_pull_response(req, resp),
            Err(e) => {
                log::warn!("pull of {} failed: {e}", req.mq);
                After::Delay(self.config.pull_time_delay_when_exception_ms)
            }
        }
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

    fn start(b: PushConsumerBuilder) -> Result<PushConsumer> {
        check_group(&b.group)?;
        b.config.validate()?;
        let listener = b
            .listener
            .ok_or_else(|| Error::Config("no message listener registered".into()))?;
        if b.subscriptions.is_empty() {
            return Err(Error::Config("no topic subscribed".into()));
        }
        let instance = b.source.resolve()?;
        let core = instance.core().clone();
        let offsets = match b.config.message_model {
            MessageModel::Clustering => OffsetStore::remote(core.clone(), &b.group),
            MessageModel::Broadcasting => {
                let path = local_offsets_path(&b.config.offset_store_dir, &core.client_id, &b.group);
                let store = OffsetStore::local(path, &b.group);
                store.load()?;
                store
            }
        };
        let ctx = GroupContext::new(
            core.clone(),
            b.group.clone(),
            b.config.message_model,
            ConsumeType::ConsumePassively,
            b.config.consume_from,
            b.strategy,
            offsets,
        );
        for (topic, expression) in &b.subscriptions {
            crate::producer::validate::check_topic(topic).map_err(|e| Error::Config(e.to_string()))?;
            ctx.subscribe(topic, expression);
        }
        if b.config.message_model == MessageModel::Clustering {
            ctx.subscribe(&retry_topic(&b.group), "*");
        }
        let pool = Executor::start(&format!("client-consume-{}", b.group), b.config.consume_thread_nums)
            .map_err(|e| Error::Config(format!("cannot start consume threads: {e}")))?;
        let inner = Arc::new_cyclic(|me| PushInner {
            me: me.clone(),
            ctx,
            config: b.config,
            listener,
            pool,
            table: Mutex::new(BTreeMap::new()),
            stopped: AtomicBool::new(false),
            paused: AtomicBool::new(false),
        });
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
        log::info!("push consumer {} started on {}", inner.ctx.group, core.client_id);
        Ok(PushConsumer {
            inner,
            instance,
            closed: AtomicBool::new(false),
        })
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
        self.inner.paused.store(true, Ordering::Release);
    }

    /// Resumes pulling.
    pub fn resume(&self) {
        self.inner.paused.store(false, Ordering::Release);
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
            log::warn!("group {}: persisting offsets at close failed: {e}", inner.ctx.group);
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
