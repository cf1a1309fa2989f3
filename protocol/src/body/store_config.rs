//! Broker metadata tables that are both store files (§6.4 of the reference) and slave-sync
//! bodies: consumer offsets (`consumerOffset.json`, GET_ALL_CONSUMER_OFFSET), delay offsets
//! (`delayOffset.json`, GET_ALL_DELAY_OFFSET) and subscription groups
//! (`subscriptionGroup.json`, GET_ALL_SUBSCRIPTIONGROUP_CONFIG). Java writes them all with
//! unquoted integer keys (`{"offsetTable":{"T@G":{0:15,1:7}}}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::register_broker::DataVersion;
use super::{null_default, JsonBody};

/// Separator between topic and group in consumer-offset keys (`topic@group`).
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// Committed consumer offsets (Java `ConsumerOffsetSerializeWrapper`, and the shape of
/// `consumerOffset.json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetSerializeWrapper {
    /// [5.x] Version of the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    /// `topic@group` → queue id → committed offset.
    #[serde(deserialize_with = "null_default")]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl JsonBody for ConsumerOffsetSerializeWrapper {}

impl ConsumerOffsetSerializeWrapper {
    /// The `topic@group` key of the offset table.
    pub fn key(topic: &str, group: &str) -> String {
        format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
    }

    /// Splits a `topic@group` key (at the first `@`; topic names cannot contain one).
    pub fn split_key(key: &str) -> Option<(&str, &str)> {
        key.split_once(TOPIC_GROUP_SEPARATOR)
    }
}

/// Schedule consume-queue progress per delay level (Java `DelayOffsetSerializeWrapper`, the
/// shape of `delayOffset.json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DelayOffsetSerializeWrapper {
    /// [5.x] Version of the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    /// Delay level → offset in that level's schedule queue.
    #[serde(deserialize_with = "null_default")]
    pub offset_table: BTreeMap<i32, i64>,
}

impl JsonBody for DelayOffsetSerializeWrapper {}

/// A consumer group's broker-side configuration (Java `SubscriptionGroupConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    /// [5.x] Group attributes.
    #[serde(deserialize_with = "null_default")]
    pub attributes: BTreeMap<String, String>,
    /// Broker id consumers pull from (0 = master).
    pub broker_id: i64,
    /// Whether broadcasting consumption is allowed.
    pub consume_broadcast_enable: bool,
    /// Whether the group may consume at all.
    pub consume_enable: bool,
    /// Whether a new group may start from the minimum offset.
    pub consume_from_min_enable: bool,
    /// Whether the group consumes orderly.
    pub consume_message_orderly: bool,
    /// [5.x] Push-consumer timeout in minutes.
    pub consume_timeout_minute: i32,
    /// The consumer group.
    pub group_name: String,
    /// [5.x] Retry policy, passed through unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<serde_json::Value>,
    /// Group system flag bits.
    pub group_sys_flag: i32,
    /// Whether members are told when membership changes.
    pub notify_consumer_ids_changed_enable: bool,
    /// Deliveries before a message goes to the DLQ.
    pub retry_max_times: i32,
    /// Queue count of the group's `%RETRY%` topic.
    pub retry_queue_nums: i32,
    /// [5.x] Simple subscriptions, passed through unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<serde_json::Value>,
    /// Broker id to read from when consumption is slow (a slave).
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: None,
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl JsonBody for SubscriptionGroupConfig {}

impl SubscriptionGroupConfig {
    /// A group with Java's defaults.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            ..Default::default()
        }
    }
}

/// All subscription groups of a broker (Java `SubscriptionGroupWrapper`, the shape of
/// `subscriptionGroup.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    /// Version of the table.
    pub data_version: DataVersion,
    /// Group name → config.
    #[serde(deserialize_with = "null_default")]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl JsonBody for SubscriptionGroupWrapper {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::from_json_slice;

    #[test]
    fn topic_group_keys() {
        let key = ConsumerOffsetSerializeWrapper::key("T", "G");
        assert_eq!(key, "T@G");
        assert_eq!(
            ConsumerOffsetSerializeWrapper::split_key(&key),
            Some(("T", "G"))
        );
        assert_eq!(ConsumerOffsetSerializeWrapper::split_key("x"), None);
    }

    #[test]
    fn group_defaults_match_java() {
        let g: SubscriptionGroupConfig = from_json_slice(br#"{"groupName":"G"}"#).expect("lenient");
        assert_eq!(g, SubscriptionGroupConfig::new("G"));
        assert!(g.consume_enable && g.consume_from_min_enable && g.consume_broadcast_enable);
        assert!(!g.consume_message_orderly && g.notify_consumer_ids_changed_enable);
        assert_eq!(
            (g.retry_queue_nums, g.retry_max_times, g.broker_id),
            (1, 16, 0)
        );
        assert_eq!(
            (g.which_broker_when_consume_slowly, g.group_sys_flag),
            (1, 0)
        );
        assert_eq!(g.consume_timeout_minute, 15);
    }
}
