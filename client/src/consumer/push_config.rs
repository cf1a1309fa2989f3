//! [`PushConsumerConfig`] and [`PushConsumerBuilder`]: the settings of a push consumer with
//! Java's defaults, and the builder that starts one.

use std::path::PathBuf;
use std::sync::Arc;

use protocol::body::MessageModel;

use super::allocate::AllocateStrategy;
use super::group::ConsumeFrom;
use super::listener::{ConcurrentListener, MessageListener, OrderlyListener};
use super::offset_store::default_local_dir;
use super::process_queue::FlowLimits;
use super::push::PushConsumer;
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::instance::{ClientInstance, InstanceSource};

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
            (
                "consumeMessageBatchMaxSize",
                self.consume_message_batch_max_size as u64,
            ),
            ("pullBatchSize", self.pull_batch_size.max(0) as u64),
            (
                "pullThresholdForQueue",
                self.pull_threshold_for_queue as u64,
            ),
            (
                "pullThresholdSizeForQueue",
                self.pull_threshold_size_for_queue_mib,
            ),
            (
                "consumerTimeoutMillisWhenSuspend",
                self.consumer_timeout_when_suspend_ms,
            ),
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
    pub(super) group: String,
    pub(super) config: PushConsumerConfig,
    pub(super) source: InstanceSource,
    pub(super) subscriptions: Vec<(String, String)>,
    pub(super) strategy: Arc<dyn AllocateStrategy>,
    pub(super) listener: Option<MessageListener>,
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
        self.source = InstanceSource::Config(Box::new(config));
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

    /// The queue allocation strategy (default [`Averagely`](super::Averagely)).
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
