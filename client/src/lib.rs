//! # client: the ferromq client SDK
//!
//! Producers and consumers that speak Apache RocketMQ's remoting protocol, so they work
//! against ferromq brokers and against RocketMQ's own NameServers and brokers.
//!
//! Every example below needs a running NameServer and broker (`no_run`); runnable programs
//! are in `client/examples/` and take the NameServer address from the first argument or the
//! `NAMESRV_ADDR` environment variable.
//!
//! ## Sending messages
//!
//! A [`Producer`] belongs to a producer group. [`Producer::send`] waits for the broker and
//! retries on another broker (twice by default) within a 3 s budget; slow or failing brokers
//! are avoided for a while.
//!
//! ```no_run
//! use client::{Message, Producer, SendStatus};
//!
//! let producer = Producer::builder("example-producers")
//!     .name_server("127.0.0.1:9876")
//!     .start()?;
//! let msg = Message::new("TopicTest", "hello")
//!     .with_tags("TagA")
//!     .with_keys(["order-17"])
//!     .with_property("region", "eu");
//! let result = producer.send(msg)?;
//! assert_eq!(result.status, SendStatus::SendOk);
//! println!("stored as {} in {} at offset {}", result.msg_id, result.queue, result.queue_offset);
//! # Ok::<(), client::Error>(())
//! ```
//!
//! The other ways to send:
//!
//! ```no_run
//! # use client::{Message, Producer};
//! # let producer = Producer::builder("p").name_server("127.0.0.1:9876").start()?;
//! // Asynchronous: a future, or a callback on a client callback thread. No thread per send.
//! let pending = producer.send_async(Message::new("TopicTest", "async"));
//! producer.send_with_callback(Message::new("TopicTest", "cb"), |result| {
//!     if let Err(e) = result {
//!         eprintln!("send failed: {e}");
//!     }
//! });
//! let result = pending.wait()?;
//!
//! // One-way: no answer at all.
//! producer.send_oneway(Message::new("TopicTest", "fire and forget"))?;
//!
//! // Ordered: the same sharding key always lands on the same queue.
//! producer.send_ordered(Message::new("Orders", "created"), "order-17")?;
//! producer.send_ordered(Message::new("Orders", "paid"), "order-17")?;
//!
//! // Batch: one request, consecutive offsets in one queue.
//! let batch = (0..10).map(|i| Message::new("TopicTest", format!("item {i}"))).collect();
//! producer.send_batch(batch)?;
//!
//! // Delayed delivery (broker delay level 3 = 10 s).
//! producer.send(Message::new("TopicTest", "later").with_delay_level(3))?;
//! # Ok::<(), client::Error>(())
//! ```
//!
//! Sending to a topic that does not exist yet goes through the `TBW102` template, so brokers
//! with `autoCreateTopicEnable` create it. Bodies over 4 KiB are zlib-compressed; bodies over
//! 4 MiB are refused before sending.
//!
//! ## Consuming with a listener
//!
//! A [`PushConsumer`] joins a consumer group; in clustering mode (the default) the group's
//! queues are divided among its members, in broadcasting mode every member gets everything.
//! Listeners are closures (or types implementing the listener traits).
//!
//! ```no_run
//! use client::{ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, MessageExt, PushConsumer};
//!
//! let consumer = PushConsumer::builder("example-consumers")
//!     .name_server("127.0.0.1:9876")
//!     .subscribe("TopicTest", "TagA || TagB")
//!     .consume_from(ConsumeFrom::FirstOffset)
//!     .listener_concurrently(|msgs: &[MessageExt], _ctx: &mut ConcurrentContext| {
//!         for m in msgs {
//!             println!("{} {}", m.queue_offset, String::from_utf8_lossy(&m.body));
//!         }
//!         ConsumeConcurrentlyStatus::ConsumeSuccess
//!     })
//!     .start()?;
//! // ... consumer runs on its own threads; dropping it shuts it down cleanly.
//! # drop(consumer);
//! # Ok::<(), client::Error>(())
//! ```
//!
//! Returning [`ConsumeConcurrentlyStatus::ReconsumeLater`] sends the message back to the
//! broker, which redelivers it after a growing delay (10 s, 30 s, 1 min, …) and moves it to
//! the dead-letter queue after 16 attempts. Offsets are committed only up to the lowest
//! message still being consumed, so nothing is skipped if the process dies.
//!
//! For per-queue order use [`PushConsumerBuilder::listener_orderly`](consumer::PushConsumerBuilder::listener_orderly):
//! each queue is locked on its broker and consumed by one thread at a time.
//!
//! ```no_run
//! use client::{ConsumeOrderlyStatus, MessageExt, OrderlyContext, PushConsumer};
//! let consumer = PushConsumer::builder("order-processors")
//!     .name_server("127.0.0.1:9876")
//!     .subscribe("Orders", "*")
//!     .listener_orderly(|msgs: &[MessageExt], ctx: &mut OrderlyContext| {
//!         println!("{} messages from {}", msgs.len(), ctx.queue);
//!         ConsumeOrderlyStatus::Success
//!     })
//!     .start()?;
//! # drop(consumer);
//! # Ok::<(), client::Error>(())
//! ```
//!
//! ## Polling
//!
//! A [`LitePullConsumer`] is driven by the application: subscribe (queues by rebalancing) or
//! assign queues, then poll. Offsets are committed automatically or by
//! [`LitePullConsumer::commit`].
//!
//! ```no_run
//! use std::time::Duration;
//! use client::LitePullConsumer;
//! let consumer = LitePullConsumer::builder("pollers")
//!     .name_server("127.0.0.1:9876")
//!     .auto_commit(false)
//!     .start()?;
//! let queues = consumer.fetch_message_queues("TopicTest")?;
//! consumer.assign(queues.clone())?;
//! consumer.seek(&queues[0], 0)?;
//! loop {
//!     let msgs = consumer.poll(Duration::from_secs(1))?;
//!     if msgs.is_empty() {
//!         break;
//!     }
//!     consumer.commit()?;
//! }
//! # Ok::<(), client::Error>(())
//! ```
//!
//! ## Transactions
//!
//! A [`TransactionProducer`] sends a half message, runs the local transaction and commits or
//! rolls back; if the outcome is lost, the broker asks [`TransactionListener::check_local`].
//!
//! ```no_run
//! use client::{LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer};
//! struct Payments;
//! impl TransactionListener for Payments {
//!     fn execute_local(&self, msg: &Message) -> LocalTransactionState {
//!         // write to the database here
//!         LocalTransactionState::CommitMessage
//!     }
//!     fn check_local(&self, msg: &MessageExt) -> LocalTransactionState {
//!         // look the transaction id up in the database here
//!         LocalTransactionState::CommitMessage
//!     }
//! }
//! let producer = TransactionProducer::builder("payments", Payments)
//!     .name_server("127.0.0.1:9876")
//!     .start()?;
//! producer.send_in_transaction(Message::new("Payments", "debit 10"))?;
//! # Ok::<(), client::Error>(())
//! ```
//!
//! ## Sharing a client instance
//!
//! Each builder given only `.name_server(...)` creates a private [`ClientInstance`] (one event
//! loop thread, a scheduler, a timer and callback threads). To share one between the
//! producers and consumers of a process, create it once:
//!
//! ```no_run
//! use client::{ClientConfig, ClientInstance, Producer, PushConsumer};
//! let instance = ClientInstance::new(ClientConfig::new("10.0.0.1:9876;10.0.0.2:9876"))?;
//! let producer = Producer::builder("p").instance(instance.clone()).start()?;
//! # Ok::<(), client::Error>(())
//! ```
//!
//! An instance refreshes routes and sends heartbeats every 30 s, persists offsets every 5 s,
//! rebalances every 20 s and when a broker reports a group change, and fails over between
//! NameServers. It stops when its last producer or consumer is dropped.
//!
//! ## Errors
//!
//! Every fallible call returns [`Result`]; [`Error::response_code`] gives the broker's
//! RocketMQ response code when there was one. Completed sends with a flush or replication
//! shortfall are not errors: see [`SendStatus`].
//!
//! ## Layout
//! | module | owns |
//! |---|---|
//! | [`producer`] | [`Producer`], selectors, [`TransactionProducer`], validation |
//! | [`consumer`] | [`PushConsumer`], [`LitePullConsumer`], listeners, allocation, rebalance, offsets |
//! | [`instance`] | [`ClientInstance`]: connections, routes, heartbeats, background tasks |
//! | [`api`] | typed RPCs over the remoting handle |
//! | [`route`] | publish info, queue selection, broker fault avoidance (pure) |
//! | [`config`] | [`ClientConfig`] |
//! | [`error`] | [`Error`], [`Result`] |
//! | [`md5`] | MD5 for consistent hashing |
//! | `scheduler` | the scheduler and executor threads |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
mod compress;
pub mod config;
pub mod consumer;
pub mod error;
mod inbound;
pub mod instance;
pub mod md5;
pub mod producer;
pub mod route;
mod scheduler;

pub use config::ClientConfig;
pub use consumer::{
    ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeOrderlyStatus,
    LitePullConsumer, MessageModel, OrderlyContext, PushConsumer,
};
pub use error::{Error, Result};
pub use instance::ClientInstance;
pub use producer::{
    LocalTransactionState, MessageExtBuilder, MessageQueueSelector, Producer, ProducerConfig,
    SendFuture, SendResult, SendStatus, TransactionListener, TransactionProducer,
    TransactionSendResult,
};
pub use protocol::body::MessageQueue;
pub use protocol::message::{Message, MessageExt};
