//! [`LitePullConsumer`] (Java `DefaultLitePullConsumer`): the application polls. Queues are
//! either assigned explicitly ([`LitePullConsumer::assign`]) or by rebalancing
//! ([`LitePullConsumer::subscribe`]); each assigned queue runs the shared asynchronous pull
//! loop into one bounded buffer that [`LitePullConsumer::poll`] drains. The consumed offset of
//! a queue advances as its messages are polled; it reaches the broker by auto-commit (every
//! `auto_commit_interval_ms`) or [`LitePullConsumer::commit`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use protocol::body::{ConsumeType, MessageModel, MessageQueue};
use protocol::message::MessageExt;
use protocol::util::clock::now_millis;

use super::allocate::{AllocateStrategy, Averagely};
use super::group::{ConsumeFrom, GroupContext};
use super::offset_store::{default_local_dir, ReadOffsetType};
use super::pull_inner::{LiteInner, LiteMember, Mode};
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::instance::{lock, ClientInstance, InstanceSource};
use crate::producer::validate::check_group;

/// Lite pull consumer settings. Durations in ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LitePullConsumerConfig {
    /// Clustering (default) or broadcasting (subscribe mode).
    pub message_model: MessageModel,
    /// Where a queue without a stored offset starts.
    pub consume_from: ConsumeFrom,
    /// Messages per pull. Default 10.
    pub pull_batch_size: i32,
    /// Buffered messages per queue before its pulling pauses. Default 1000.
    pub pull_threshold_for_queue: usize,
    /// Buffered messages in total before all pulling pauses. Default 10 000.
    pub pull_threshold_for_all: usize,
    /// Commit consumed offsets automatically. Default true.
    pub auto_commit: bool,
    /// Auto-commit period. Default 5000.
    pub auto_commit_interval_ms: u64,
    /// How long the broker may hold a pull. Default 20 000.
    pub broker_suspend_max_time_ms: u64,
    /// RPC timeout of a held pull. Default 30 000.
    pub consumer_timeout_when_suspend_ms: u64,
    /// Pause after a failed pull. Default 1000.
    pub pull_time_delay_when_exception_ms: u64,
    /// Broadcasting: directory of the local offset files.
    pub offset_store_dir: PathBuf,
}

impl Default for LitePullConsumerConfig {
    fn default() -> Self {
        LitePullConsumerConfig {
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            pull_batch_size: 10,
            pull_threshold_for_queue: 1000,
            pull_threshold_for_all: 10_000,
            auto_commit: true,
            auto_commit_interval_ms: 5000,
            broker_suspend_max_time_ms: 20_000,
            consumer_timeout_when_suspend_ms: 30_000,
            pull_time_delay_when_exception_ms: 1000,
            offset_store_dir: default_local_dir(),
        }
    }
}

/// Builds a [`LitePullConsumer`].
pub struct LitePullConsumerBuilder {
    group: String,
    config: LitePullConsumerConfig,
    source: InstanceSource,
    subscriptions: Vec<(String, String)>,
    strategy: Arc<dyn AllocateStrategy>,
}

impl std::fmt::Debug for LitePullConsumerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePullConsumerBuilder")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl LitePullConsumerBuilder {
    /// Uses a private client instance for the NameServers `addrs`.
    pub fn name_server(mut self, addrs: &str) -> Self {
        self.source.set_namesrv(addrs);
        self
    }

    /// Uses a private client instance with this configuration.
    pub fn client_config(mut self, config: ClientConfig) -> Self {
        self.source = InstanceSource::Config(Box::new(config));
        self
    }

    /// Shares an existing client instance.
    pub fn instance(mut self, instance: Arc<ClientInstance>) -> Self {
        self.source = InstanceSource::Shared(instance);
        self
    }

    /// Replaces all settings.
    pub fn config(mut self, config: LitePullConsumerConfig) -> Self {
        self.config = config;
        self
    }

    /// Subscribes `topic` (queues assigned by rebalancing).
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions.push((topic.into(), expression.into()));
        self
    }

    /// Where queues without a stored offset start.
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.config.consume_from = from;
        self
    }

    /// Commit automatically (default) or only on [`LitePullConsumer::commit`].
    pub fn auto_commit(mut self, enabled: bool) -> Self {
        self.config.auto_commit = enabled;
        self
    }

    /// Messages per pull (default 10).
    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.config.pull_batch_size = n;
        self
    }

    /// The allocation strategy in subscribe mode.
    pub fn allocate_strategy(mut self, strategy: impl AllocateStrategy + 'static) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Starts the consumer (it pulls once queues are assigned or subscribed).
    pub fn start(self) -> Result<LitePullConsumer> {
        LitePullConsumer::start(self)
    }
}

/// A consumer the application polls (Java `DefaultLitePullConsumer`). Thread-safe; usually
/// one thread polls. Dropping it (or [`LitePullConsumer::close`]) commits (when
/// auto-committing) and unregisters from the brokers.
///
/// # Examples
/// ```no_run
/// use std::time::Duration;
/// use client::consumer::LitePullConsumer;
/// let consumer = LitePullConsumer::builder("LPG")
///     .name_server("127.0.0.1:9876")
///     .subscribe("TopicTest", "*")
///     .start()?;
/// for msg in consumer.poll(Duration::from_secs(1))? {
///     println!("{} {}", msg.queue_id, msg.queue_offset);
/// }
/// # Ok::<(), client::Error>(())
/// ```
pub struct LitePullConsumer {
    inner: Arc<LiteInner>,
    instance: Arc<ClientInstance>,
    closed: AtomicBool,
}

impl std::fmt::Debug for LitePullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePullConsumer")
            .field("group", &self.inner.ctx.group)
            .finish_non_exhaustive()
    }
}

impl LitePullConsumer {
    /// A builder for consumer group `group`.
    pub fn builder(group: impl Into<String>) -> LitePullConsumerBuilder {
        LitePullConsumerBuilder {
            group: group.into(),
            config: LitePullConsumerConfig::default(),
            source: InstanceSource::Unset,
            subscriptions: Vec::new(),
            strategy: Arc::new(Averagely),
        }
    }

    fn start(b: LitePullConsumerBuilder) -> Result<LitePullConsumer> {
        check_group(&b.group)?;
        if b.config.pull_batch_size <= 0 || b.config.auto_commit_interval_ms == 0 {
            return Err(Error::Config(
                "pullBatchSize and autoCommitIntervalMillis must be positive".into(),
            ));
        }
        let instance = b.source.resolve()?;
        let core = instance.core().clone();
        let ctx = GroupContext::new(
            core.clone(),
            b.group,
            b.config.message_model,
            ConsumeType::ConsumeActively,
            b.config.consume_from,
            b.strategy,
            &b.config.offset_store_dir,
        )?;
        let inner = Arc::new_cyclic(|me| LiteInner {
            me: me.clone(),
            ctx,
            config: b.config,
            mode: Mutex::new(Mode::Unset),
            assigned: Mutex::new(BTreeMap::new()),
            buffer: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            stopped: AtomicBool::new(false),
            last_commit_ms: AtomicU64::new(now_millis()),
        });
        core.register_consumer(Arc::new(LiteMember(inner.clone())))?;
        let consumer = LitePullConsumer {
            inner,
            instance,
            closed: AtomicBool::new(false),
        };
        for (topic, expression) in &b.subscriptions {
            consumer.subscribe(topic, expression)?;
        }
        log::info!(
            "lite pull consumer {} started on {}",
            consumer.group(),
            core.client_id
        );
        Ok(consumer)
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.inner.ctx.group
    }

    /// The client instance this consumer runs on.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    fn set_mode(&self, mode: Mode) -> Result<()> {
        let mut current = lock(&self.inner.mode);
        if *current != Mode::Unset && *current != mode {
            return Err(Error::IllegalState(
                "subscribe and assign cannot be mixed".into(),
            ));
        }
        *current = mode;
        Ok(())
    }

    /// Subscribes `topic`; queues come from rebalancing within the group.
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<()> {
        crate::producer::validate::check_topic(topic).map_err(|e| Error::Config(e.to_string()))?;
        self.set_mode(Mode::Subscribe)?;
        let ctx = &self.inner.ctx;
        ctx.subscribe(topic, expression);
        ctx.set_subscribe_info(topic, ctx.core.subscribe_queues(topic)?);
        ctx.core.send_heartbeat_to_all();
        self.inner.rebalance();
        Ok(())
    }

    /// Drops the subscription of `topic` and its queues.
    pub fn unsubscribe(&self, topic: &str) {
        self.inner.ctx.unsubscribe(topic);
        let queues: Vec<MessageQueue> = lock(&self.inner.assigned)
            .keys()
            .filter(|mq| mq.topic == topic)
            .cloned()
            .collect();
        for mq in &queues {
            self.inner.remove_queue(mq);
        }
    }

    /// Consumes exactly `queues` (no rebalancing); replaces any earlier assignment.
    pub fn assign(&self, queues: Vec<MessageQueue>) -> Result<()> {
        self.set_mode(Mode::Assign)?;
        let target: BTreeSet<MessageQueue> = queues.into_iter().collect();
        for topic in target
            .iter()
            .map(|mq| mq.topic.clone())
            .collect::<BTreeSet<_>>()
        {
            if self.inner.ctx.subscription(&topic).is_none() {
                self.inner.ctx.subscribe(&topic, "*");
            }
        }
        let current: Vec<MessageQueue> = lock(&self.inner.assigned).keys().cloned().collect();
        for mq in current.iter().filter(|mq| !target.contains(*mq)) {
            self.inner.remove_queue(mq);
        }
        for mq in target.iter().filter(|mq| !current.contains(*mq)) {
            let offset = self.inner.ctx.compute_pull_from_where(mq)?;
            self.inner.start_queue(mq, offset, None);
        }
        Ok(())
    }

    /// The readable queues of `topic`.
    pub fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        Ok(self
            .inner
            .ctx
            .core
            .subscribe_queues(topic)?
            .into_iter()
            .collect())
    }

    /// The queues currently assigned.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        lock(&self.inner.assigned).keys().cloned().collect()
    }

    /// Waits up to `timeout` for messages and returns the next batch (possibly empty). The
    /// polled messages count as consumed.
    pub fn poll(&self, timeout: Duration) -> Result<Vec<MessageExt>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        self.maybe_auto_commit();
        let deadline = Instant::now() + timeout;
        let batch = loop {
            // Batches of paused queues stay buffered (a pull may have been in flight when
            // the queue was paused); they are delivered after `resume`.
            let paused: BTreeSet<MessageQueue> = lock(&self.inner.assigned)
                .iter()
                .filter(|(_, a)| a.paused)
                .map(|(mq, _)| mq.clone())
                .collect();
            let mut buffer = lock(&self.inner.buffer);
            buffer.retain(|b| !b.pq.is_dropped());
            if let Some(pos) = buffer.iter().position(|b| !paused.contains(&b.mq)) {
                if let Some(b) = buffer.remove(pos) {
                    break b;
                }
            }
            let now = Instant::now();
            if now >= deadline || self.inner.is_stopped() {
                return Ok(Vec::new());
            }
            // Woken by new batches; a resume is noticed at the latest after 100 ms.
            let wait = (deadline - now).min(Duration::from_millis(100));
            drop(self.inner.ready.wait_timeout(buffer, wait));
        };
        let offsets: Vec<i64> = batch.msgs.iter().map(|m| m.queue_offset).collect();
        let watermark = batch.pq.lock().remove_messages(&offsets);
        if let Some(offset) = watermark {
            if let Some(a) = lock(&self.inner.assigned)
                .get_mut(&batch.mq)
                .filter(|a| Arc::ptr_eq(&a.pq, &batch.pq))
            {
                a.consumed = Some(offset);
            }
        }
        Ok(batch.msgs)
    }

    fn maybe_auto_commit(&self) {
        let inner = &self.inner;
        let due = now_millis().saturating_sub(inner.last_commit_ms.load(Ordering::Acquire))
            >= inner.config.auto_commit_interval_ms;
        if inner.config.auto_commit && due {
            if let Err(e) = inner.commit_consumed(false) {
                log::warn!("auto-commit of group {} failed: {e}", inner.ctx.group);
            }
        }
    }

    /// Commits the consumed offset of every assigned queue and waits for the brokers.
    pub fn commit(&self) -> Result<()> {
        self.inner.commit_consumed(true)
    }

    /// The committed offset of `mq` as the broker (or local file) has it.
    pub fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        self.inner.ctx.offsets.read(mq, ReadOffsetType::Store)
    }

    fn queue_bounds(&self, mq: &MessageQueue) -> Result<(i64, i64)> {
        let core = &self.inner.ctx.core;
        let addr = core.find_broker_master_or_refresh(&mq.broker_name, &mq.topic)?;
        let timeout = core.config.rpc_timeout_ms;
        Ok((
            core.api.get_min_offset(&addr, mq, timeout)?,
            core.api.get_max_offset(&addr, mq, timeout)?,
        ))
    }

    /// Continues `mq` at `offset` (which must lie within the queue's min and max offsets);
    /// messages of `mq` pulled but not yet polled are discarded.
    pub fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        if !lock(&self.inner.assigned).contains_key(mq) {
            return Err(Error::IllegalState(format!("{mq} is not assigned")));
        }
        let (min, max) = self.queue_bounds(mq)?;
        if offset < min || offset > max {
            return Err(Error::IllegalState(format!(
                "offset {offset} of {mq} is outside [{min}, {max}]"
            )));
        }
        self.inner.start_queue(mq, offset, Some(offset));
        Ok(())
    }

    /// Continues `mq` at its first stored message.
    pub fn seek_to_begin(&self, mq: &MessageQueue) -> Result<()> {
        let (min, _) = self.queue_bounds(mq)?;
        self.seek(mq, min)
    }

    /// Continues `mq` after its last stored message.
    pub fn seek_to_end(&self, mq: &MessageQueue) -> Result<()> {
        let (_, max) = self.queue_bounds(mq)?;
        self.seek(mq, max)
    }

    /// Stops pulling `queues` until [`LitePullConsumer::resume`].
    pub fn pause(&self, queues: &[MessageQueue]) {
        self.set_paused(queues, true);
    }

    /// Resumes pulling `queues`.
    pub fn resume(&self, queues: &[MessageQueue]) {
        self.set_paused(queues, false);
    }

    fn set_paused(&self, queues: &[MessageQueue], paused: bool) {
        let mut assigned = lock(&self.inner.assigned);
        for mq in queues {
            if let Some(a) = assigned.get_mut(mq) {
                a.paused = paused;
            }
        }
    }

    /// Commits (when auto-committing), stops pulling and unregisters.
    pub fn close(self) {
        drop(self);
    }

    fn close_inner(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = &self.inner;
        inner.stopped.store(true, Ordering::Release);
        inner.ready.notify_all();
        if inner.config.auto_commit {
            if let Err(e) = inner.commit_consumed(false) {
                log::warn!("final commit of group {} failed: {e}", inner.ctx.group);
            }
        }
        for a in lock(&inner.assigned).values() {
            a.pq.set_dropped();
        }
        inner.ctx.core.unregister(None, Some(&inner.ctx.group));
        log::info!("lite pull consumer {} closed", inner.ctx.group);
    }
}

impl Drop for LitePullConsumer {
    fn drop(&mut self) {
        self.close_inner();
    }
}
