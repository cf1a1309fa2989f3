//! GET_CONSUMER_RUNNING_INFO body (client → broker → admin): a consumer's properties,
//! subscriptions and per-queue processing state (Java `ConsumerRunningInfo`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::heartbeat::SubscriptionData;
use super::message_queue::MqMap;
use super::{null_default, JsonBody};

/// Property key: the consumer's NameServer addresses.
pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
/// Property key: consume thread pool core size.
pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
/// Property key: whether the consumer is orderly (Java spells it `PROP_CONSUMEORDERLY`).
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
/// Property key: the consume type name.
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
/// Property key: the client version.
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
/// Property key: the consumer's start time (ms).
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

/// Processing state of one queue in a push consumer (Java `ProcessQueueInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    /// Messages buffered locally.
    pub cached_msg_count: i32,
    /// Highest buffered queue offset.
    pub cached_msg_max_offset: i64,
    /// Lowest buffered queue offset.
    pub cached_msg_min_offset: i64,
    /// Buffered size in MiB (Java getter `getCachedMsgSizeInMiB`).
    #[serde(rename = "cachedMsgSizeInMiB")]
    pub cached_msg_size_in_mib: i32,
    /// The offset the consumer will commit.
    pub commit_offset: i64,
    /// Whether the queue was dropped by rebalance.
    pub dropped: bool,
    /// Last consume time (ms).
    pub last_consume_timestamp: i64,
    /// Last successful broker lock (ms), orderly consumers.
    pub last_lock_timestamp: i64,
    /// Last pull time (ms).
    pub last_pull_timestamp: i64,
    /// Whether the queue is locked on the broker (orderly consumers).
    pub locked: bool,
    /// Messages taken for an orderly transaction.
    pub transaction_msg_count: i32,
    /// Highest such offset.
    pub transaction_msg_max_offset: i64,
    /// Lowest such offset.
    pub transaction_msg_min_offset: i64,
    /// Failed unlock attempts.
    pub try_unlock_times: i64,
}

/// Consume rates of one topic (Java `ConsumeStatus`; property names follow Java's getters).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    /// Failed consumptions in the last hour.
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
    /// Failed consumptions per second.
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    /// Successful consumptions per second.
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    /// Average consume time (ms).
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    /// Average pull time (ms).
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    /// Pulled messages per second.
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
}

/// GET_CONSUMER_RUNNING_INFO response body (Java `ConsumerRunningInfo`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerRunningInfo {
    /// A thread dump, when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    /// [5.x] Pop-consumer queue state, passed through unchanged.
    #[serde(deserialize_with = "null_default")]
    pub mq_pop_table: MqMap<serde_json::Value>,
    /// Per-queue processing state.
    #[serde(deserialize_with = "null_default")]
    pub mq_table: MqMap<ProcessQueueInfo>,
    /// Java `Properties`: values are strings, numbers or enum names.
    #[serde(deserialize_with = "null_default")]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Topic → rates.
    #[serde(deserialize_with = "null_default")]
    pub status_table: BTreeMap<String, ConsumeStatus>,
    /// The consumer's subscriptions (Java `TreeSet`).
    #[serde(deserialize_with = "null_default")]
    pub subscription_set: Vec<SubscriptionData>,
    /// [5.x] User-supplied info.
    #[serde(deserialize_with = "null_default")]
    pub user_consumer_info: BTreeMap<String, String>,
}

impl JsonBody for ConsumerRunningInfo {}

impl ConsumerRunningInfo {
    /// A property rendered as text (strings as-is, other JSON values as their JSON text).
    pub fn property(&self, key: &str) -> Option<String> {
        self.properties.get(key).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::from_json_slice;

    #[test]
    fn properties_keep_non_string_values() {
        let info: ConsumerRunningInfo = from_json_slice(
            br#"{"properties":{"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY","PROP_CONSUMER_START_TIMESTAMP":1700000000000}}"#,
        )
        .expect("running info");
        assert_eq!(
            info.property(PROP_CONSUME_TYPE).as_deref(),
            Some("CONSUME_PASSIVELY")
        );
        assert_eq!(
            info.property(PROP_CONSUMER_START_TIMESTAMP).as_deref(),
            Some("1700000000000")
        );
        assert_eq!(info.property("missing"), None);
    }
}
