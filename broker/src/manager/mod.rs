//! The broker's metadata tables (RocketMQ's `*Manager` classes): pure, file-only state
//! machines that processors and services drive. None of them opens a socket, starts a thread
//! or reads the clock: time comes in as `now_ms` (ms since the epoch), connections as an
//! opaque copyable id `C`. None is thread-safe; the broker wraps each in its own lock.
//!
//! | module | owns | persisted as |
//! |---|---|---|
//! | [`config_file`] | load (with `.bak` fallback) / atomic save of the tables below, dirty tracking | — |
//! | [`topic_config`] | `TopicConfigManager`: topic table, system topics, auto-create rules, data version | `config/topics.json` |
//! | [`topic_validator`] | system topic/group names, `%RETRY%`/`%DLQ%` naming, name validation | — |
//! | [`consumer_offset`] | `ConsumerOffsetManager`: committed offsets per `topic@group` and queue | `config/consumerOffset.json` |
//! | [`subscription_group`] | `SubscriptionGroupManager`: consumer-group settings, system groups | `config/subscriptionGroup.json` |
//! | [`client_channel`] | `ClientChannelInfo`: one client connection's identity and last heartbeat | — |
//! | [`consumer`] | `ConsumerManager<C>`: live members and subscriptions of consumer groups | — (memory) |
//! | [`producer`] | `ProducerManager<C>`: live connections of producer groups | — (memory) |
//! | [`rebalance_lock`] | `RebalanceLockManager`: orderly consumers' queue locks with TTL | — (memory) |
//!
//! File formats are those of Java RocketMQ (reference §6.4), so a Java broker's `config/`
//! directory loads unchanged.

pub mod client_channel;
pub mod config_file;
pub mod consumer;
pub mod consumer_offset;
pub mod producer;
pub mod rebalance_lock;
pub mod subscription_group;
pub mod topic_config;
pub mod topic_validator;

pub use client_channel::ClientChannelInfo;
pub use config_file::ConfigFile;
pub use consumer::{ConsumerGroupInfo, ConsumerManager, ConsumerRegistration, RegisterOutcome};
pub use consumer_offset::ConsumerOffsetManager;
pub use producer::ProducerManager;
pub use rebalance_lock::RebalanceLockManager;
pub use subscription_group::SubscriptionGroupManager;
pub use topic_config::TopicConfigManager;

/// `now_ms` as the `i64` timestamp `DataVersion` stores (saturating).
pub(crate) fn version_stamp(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}
