//! Producers: [`Producer`] (sync, async, one-way, ordered and batch sends) and the
//! transactional [`TransactionProducer`].
//!
//! | module | owns |
//! |---|---|
//! | this file | [`Producer`], [`ProducerBuilder`], [`ProducerConfig`], [`SendResult`], [`SendFuture`] |
//! | `send` | the send engine: preparation, selection, retries, timeouts, async state |
//! | [`selector`] | [`MessageQueueSelector`] and the stock selectors |
//! | [`transaction`] | [`TransactionProducer`], [`TransactionListener`] |
//! | [`validate`] | message checks before sending, extra message builders |

pub mod selector;
mod send;
pub mod transaction;
pub mod validate;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use protocol::body::MessageQueue;
use protocol::message::Message;

pub use crate::api::SendStatus;
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::instance::{
    ClientInstance, InstanceSource, ProducerMember, CLIENT_INNER_PRODUCER_GROUP,
};
use crate::route::AUTO_CREATE_TOPIC_KEY;
pub use selector::{MessageQueueSelector, SelectByHash, SelectQueue};
pub(crate) use send::{Prepared, SendCore};
pub use transaction::{
    LocalTransactionState, TransactionListener, TransactionProducer, TransactionSendResult,
};
pub use validate::{MessageExtBuilder, DEFAULT_MAX_MESSAGE_BYTES};

/// Producer settings (Java `DefaultMQProducer`). Durations in ms, sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// Overall timeout of one send, retries included. Default 3000 (`sendMsgTimeout`).
    pub send_msg_timeout_ms: u64,
    /// Extra attempts of a synchronous send on another broker. Default 2.
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of an asynchronous send. Default 2.
    pub retry_times_when_send_async_failed: u32,
    /// Also retry when a send was stored with a non-OK status (flush/slave timeouts).
    /// Default false.
    pub retry_another_broker_when_not_store_ok: bool,
    /// Bodies larger than this are zlib-compressed. Default 4096 (`compressMsgBodyOverHowmuch`).
    pub compress_msg_body_over_bytes: usize,
    /// zlib level 0..=9. Default 5.
    pub compress_level: u32,
    /// Largest accepted body. Default 4 MiB (`maxMessageSize`).
    pub max_message_bytes: usize,
    /// Queues per broker of an auto-created topic. Default 4 (`defaultTopicQueueNums`).
    pub default_topic_queue_nums: i32,
    /// The template topic for auto-creation. Default `TBW102` (`createTopicKey`).
    pub create_topic_key: String,
    /// Avoid brokers that were slow or failed recently. Default true
    /// (`sendLatencyFaultEnable`).
    pub send_latency_fault_enable: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            send_msg_timeout_ms: 3_000,
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            compress_msg_body_over_bytes: 4 * 1024,
            compress_level: 5,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            default_topic_queue_nums: 4,
            create_topic_key: AUTO_CREATE_TOPIC_KEY.to_string(),
            send_latency_fault_enable: true,
        }
    }
}

impl ProducerConfig {
    /// Checks every field; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        if self.send_msg_timeout_ms == 0 {
            return Err(Error::Config("sendMsgTimeout must be positive".into()));
        }
        if self.compress_level > 9 {
            return Err(Error::Config("compressLevel must be 0..=9".into()));
        }
        if self.max_message_bytes == 0 {
            return Err(Error::Config("maxMessageSize must be positive".into()));
        }
        if self.default_topic_queue_nums <= 0 {
            return Err(Error::Config(
                "defaultTopicQueueNums must be positive".into(),
            ));
        }
        if self.create_topic_key.is_empty() {
            return Err(Error::Config("createTopicKey must not be empty".into()));
        }
        Ok(())
    }
}

/// The outcome of a completed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// Stored OK, or stored with a flush/replication shortfall.
    pub status: SendStatus,
    /// The client message id (UNIQ_KEY); comma-joined for a batch.
    pub msg_id: String,
    /// The broker's offset message id (store host + commit-log offset); comma-joined for a
    /// batch.
    pub offset_msg_id: String,
    /// The queue the message was stored in.
    pub queue: MessageQueue,
    /// The consume-queue offset of the (first) stored message.
    pub queue_offset: i64,
    /// The transaction id of a half message (its UNIQ_KEY).
    pub transaction_id: Option<String>,
    /// The broker's region.
    pub region_id: Option<String>,
    /// The broker's trace switch.
    pub trace_on: bool,
}

/// The completion handle of [`Producer::send_async`]: wait for it, poll it, or drop it (the
/// send still completes).
#[derive(Debug)]
pub struct SendFuture {
    rx: Receiver<Result<SendResult>>,
}

impl SendFuture {
    fn channel() -> (SendFuture, send::SendCallback) {
        let (tx, rx) = mpsc::sync_channel(1);
        let callback: send::SendCallback = Box::new(move |r| {
            let _ = tx.send(r);
        });
        (SendFuture { rx }, callback)
    }

    /// Blocks until the send completes.
    pub fn wait(self) -> Result<SendResult> {
        self.rx.recv().unwrap_or(Err(Error::Shutdown))
    }

    /// Waits at most `timeout`; `None` if the send is still running.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<SendResult>> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => Some(r),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(Error::Shutdown)),
        }
    }

    /// The result if the send has completed.
    pub fn try_result(&self) -> Option<Result<SendResult>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(Error::Shutdown)),
        }
    }
}

/// Builds a [`Producer`].
#[derive(Debug)]
pub struct ProducerBuilder {
    group: String,
    config: ProducerConfig,
    source: InstanceSource,
}

impl ProducerBuilder {
    /// Uses a private client instance for the NameServers `addrs` (`;`-separated).
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

    /// Replaces all producer settings.
    pub fn config(mut self, config: ProducerConfig) -> Self {
        self.config = config;
        self
    }

    /// Overall send timeout, retries included (default 3000 ms).
    pub fn send_timeout_ms(mut self, ms: u64) -> Self {
        self.config.send_msg_timeout_ms = ms;
        self
    }

    /// Extra attempts of synchronous sends (default 2).
    pub fn retry_times(mut self, n: u32) -> Self {
        self.config.retry_times_when_send_failed = n;
        self
    }

    /// Extra attempts of asynchronous sends (default 2).
    pub fn retry_times_async(mut self, n: u32) -> Self {
        self.config.retry_times_when_send_async_failed = n;
        self
    }

    /// Compress bodies above this size (default 4096 bytes).
    pub fn compress_over_bytes(mut self, bytes: usize) -> Self {
        self.config.compress_msg_body_over_bytes = bytes;
        self
    }

    /// Largest accepted body (default 4 MiB).
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.config.max_message_bytes = bytes;
        self
    }

    /// Broker fault avoidance by latency (default on).
    pub fn latency_fault(mut self, enabled: bool) -> Self {
        self.config.send_latency_fault_enable = enabled;
        self
    }

    /// Starts the producer: registers the group in the client instance.
    pub fn start(self) -> Result<Producer> {
        Producer::start_with(self.group, self.config, self.source, |send| {
            Arc::new(PlainProducer {
                group: send.group.clone(),
            })
        })
    }

    pub(crate) fn into_parts(self) -> (String, ProducerConfig, InstanceSource) {
        (self.group, self.config, self.source)
    }
}

/// The registry entry of a non-transactional producer.
struct PlainProducer {
    group: String,
}

impl ProducerMember for PlainProducer {
    fn group(&self) -> &str {
        &self.group
    }
}

/// A message producer of one producer group (Java `DefaultMQProducer`). Thread-safe: share
/// it with `Arc` or references. Dropping it (or [`Producer::close`]) unregisters the group
/// from the brokers.
///
/// # Examples
/// ```no_run
/// use client::{Message, Producer};
/// let producer = Producer::builder("PG").name_server("127.0.0.1:9876").start()?;
/// let result = producer.send(Message::new("TopicTest", "hello").with_tags("TagA"))?;
/// println!("{:?} {} {}", result.status, result.msg_id, result.queue);
/// # Ok::<(), client::Error>(())
/// ```
#[derive(Debug)]
pub struct Producer {
    send: Arc<SendCore>,
    instance: Arc<ClientInstance>,
    closed: AtomicBool,
}

impl Producer {
    /// A builder for producer group `group`.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            group: group.into(),
            config: ProducerConfig::default(),
            source: InstanceSource::Unset,
        }
    }

    pub(crate) fn start_with(
        group: String,
        config: ProducerConfig,
        source: InstanceSource,
        member: impl FnOnce(&Arc<SendCore>) -> Arc<dyn ProducerMember>,
    ) -> Result<Producer> {
        validate::check_group(&group)?;
        if group == CLIENT_INNER_PRODUCER_GROUP {
            return Err(Error::Config(format!("producer group {group} is reserved")));
        }
        config.validate()?;
        let instance = source.resolve()?;
        let send = Arc::new(SendCore::new(instance.core().clone(), group, config));
        instance.core().register_producer(member(&send))?;
        instance.core().schedule_heartbeat();
        log::info!(
            "producer {} started on {}",
            send.group,
            instance.client_id()
        );
        Ok(Producer {
            send,
            instance,
            closed: AtomicBool::new(false),
        })
    }

    /// The producer group.
    pub fn group(&self) -> &str {
        &self.send.group
    }

    /// The client instance this producer runs on.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    /// The settings in effect.
    pub fn config(&self) -> &ProducerConfig {
        &self.send.config
    }

    pub(crate) fn send_core(&self) -> &Arc<SendCore> {
        &self.send
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        Ok(())
    }

    fn prepare(&self, msg: Message) -> Result<Prepared> {
        self.check_open()?;
        validate::check_message(&msg, self.send.config.max_message_bytes)?;
        self.send.prepare(msg)
    }

    /// Sends `msg` and waits for the broker: round-robin over the topic's queues, up to
    /// `retry_times_when_send_failed` more attempts on other brokers, within the send timeout.
    pub fn send(&self, msg: Message) -> Result<SendResult> {
        let p = self.prepare(msg)?;
        self.send.send_sync(&p)
    }

    /// Sends `msg` to `queue` (no retries).
    pub fn send_to_queue(&self, msg: Message, queue: &MessageQueue) -> Result<SendResult> {
        if queue.topic != msg.topic {
            return Err(Error::InvalidMessage(format!(
                "queue {queue} is not of topic {}",
                msg.topic
            )));
        }
        let p = self.prepare(msg)?;
        self.send
            .send_kernel(&p, queue, self.send.config.send_msg_timeout_ms)
    }

    /// Sends `msg` to the queue `selector` picks among the topic's writable queues (ordered
    /// messages: the same key always picks the same queue while the queue count is stable).
    pub fn send_with_selector(
        &self,
        msg: Message,
        selector: &dyn MessageQueueSelector,
    ) -> Result<SendResult> {
        self.check_open()?;
        let queues = self.send.publish_queues(&msg.topic)?;
        let queue = selector::select_from(selector, &queues, &msg)?;
        self.send_to_queue(msg, &queue)
    }

    /// Ordered send: messages with the same `sharding_key` go to the same queue (Java's
    /// `SelectMessageQueueByHash`).
    pub fn send_ordered(&self, msg: Message, sharding_key: &str) -> Result<SendResult> {
        self.send_with_selector(msg, &SelectByHash::new(sharding_key))
    }

    /// Sends `msg` without waiting; the returned future completes when the broker answers
    /// (retries included). No thread is used per send.
    pub fn send_async(&self, msg: Message) -> SendFuture {
        let (future, callback) = SendFuture::channel();
        self.send_with_callback_boxed(msg, callback);
        future
    }

    /// Sends `msg` without waiting; `callback` runs once on a client callback thread (or on
    /// the caller's thread if the message is rejected before sending). It must not block for
    /// long: callbacks share a small pool.
    pub fn send_with_callback(
        &self,
        msg: Message,
        callback: impl FnOnce(Result<SendResult>) + Send + 'static,
    ) {
        self.send_with_callback_boxed(msg, Box::new(callback));
    }

    fn send_with_callback_boxed(&self, msg: Message, callback: send::SendCallback) {
        match self.prepare(msg) {
            Ok(p) => self.send.send_async(p, None, callback),
            Err(e) => callback(Err(e)),
        }
    }

    /// Sends `msg` without any answer from the broker (fastest, may lose messages).
    pub fn send_oneway(&self, msg: Message) -> Result<()> {
        let p = self.prepare(msg)?;
        self.send.send_oneway(&p, None)
    }

    /// Sends several messages of one topic in one request; they are stored as consecutive
    /// messages of one queue. The result's ids are comma-joined.
    pub fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult> {
        self.check_open()?;
        validate::check_batch(&msgs, self.send.config.max_message_bytes)?;
        let p = self.send.prepare_batch(msgs)?;
        self.send.send_sync(&p)
    }

    /// The writable queues of `topic` (what selectors choose from).
    pub fn fetch_publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        self.send.publish_queues(topic)
    }

    /// Unregisters the group from every broker and stops accepting sends.
    pub fn close(self) {
        drop(self);
    }

    pub(crate) fn close_inner(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.instance
            .core()
            .unregister(Some(&self.send.group), None);
        log::info!("producer {} closed", self.send.group);
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.close_inner();
    }
}
