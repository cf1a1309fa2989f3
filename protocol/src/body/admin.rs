//! Admin bodies served by the broker that the other modules do not cover: topic config lists,
//! the client-config check, consumer status, broker-wide consume stats, stats items and the
//! consume-queue dump (wire reference §2.6).
//!
//! Property order is alphabetical (fastjson's order); `null` Java fields are `Option`s omitted
//! when `None`; decoding is lenient like every body of [`crate::body`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::heartbeat::SubscriptionData;
use super::message_queue::MqMap;
use super::register_broker::TopicConfig;
use super::stats::ConsumeStats;
use super::{null_default, JsonBody};

/// UPDATE_AND_CREATE_TOPIC_LIST request body and GET_TOPIC_CONFIG_LIST response body:
/// `{"topicConfigList":[TopicConfig..]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigList {
    /// The topics.
    #[serde(deserialize_with = "null_default")]
    pub topic_config_list: Vec<TopicConfig>,
}

impl JsonBody for TopicConfigList {}

/// CHECK_CLIENT_CONFIG request body (Java `CheckClientRequestBody`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    /// The client id.
    #[serde(deserialize_with = "null_default")]
    pub client_id: String,
    /// The consumer group.
    #[serde(deserialize_with = "null_default")]
    pub group: String,
    /// The subscription to check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

impl JsonBody for CheckClientRequestBody {}

/// GET_CONSUMER_STATUS_FROM_CLIENT response (one client: `messageQueueTable`) and
/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS response (all clients: `consumerTable`) body
/// (Java `GetConsumerStatusBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetConsumerStatusBody {
    /// Client id → the client's queue offsets.
    #[serde(deserialize_with = "null_default")]
    pub consumer_table: BTreeMap<String, MqMap<i64>>,
    /// One client's queue → consume offset.
    #[serde(deserialize_with = "null_default")]
    pub message_queue_table: MqMap<i64>,
}

impl JsonBody for GetConsumerStatusBody {}

/// GET_BROKER_CONSUME_STATS response body (Java `ConsumeStatsList`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStatsList {
    /// The answering broker's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    /// One map per subscription group: group → stats of each topic it consumes.
    #[serde(deserialize_with = "null_default")]
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    /// Σ lag over every group and topic.
    pub total_diff: i64,
    /// [5.x] Σ in-flight messages.
    pub total_inflight_diff: i64,
}

impl JsonBody for ConsumeStatsList {}

/// One window of a stats item (Java `BrokerStatsItem`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsItem {
    /// Average per recorded event (e.g. bytes per put).
    pub avgpt: f64,
    /// Increase within the window.
    pub sum: i64,
    /// Increase per second.
    pub tps: f64,
}

/// VIEW_BROKER_STATS_DATA response body (Java `BrokerStatsData`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    /// The last day.
    pub stats_day: BrokerStatsItem,
    /// The last hour.
    pub stats_hour: BrokerStatsItem,
    /// The last minute.
    pub stats_minute: BrokerStatsItem,
}

impl JsonBody for BrokerStatsData {}

/// One consume-queue unit as dumped by QUERY_CONSUME_QUEUE (Java `ConsumeQueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeQueueData {
    /// Filter bit map of the CQ-ext unit, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_map: Option<String>,
    /// Whether the requested group's filter accepts the unit.
    pub eval: bool,
    /// The CQ-ext unit as JSON, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_data_json: Option<String>,
    /// A note about the unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Commitlog offset of the record.
    pub physic_offset: i64,
    /// Record size.
    pub physic_size: i32,
    /// Tags code.
    pub tags_code: i64,
}

/// QUERY_CONSUME_QUEUE response body (Java `QueryConsumeQueueResponseBody`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeQueueResponseBody {
    /// Description of the requested group's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_data: Option<String>,
    /// The queue's max offset.
    pub max_queue_index: i64,
    /// The queue's min offset.
    pub min_queue_index: i64,
    /// The units dumped.
    #[serde(deserialize_with = "null_default")]
    pub queue_data: Vec<ConsumeQueueData>,
    /// The requested group's subscription to the topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

impl JsonBody for QueryConsumeQueueResponseBody {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::MessageQueue;

    #[test]
    fn consumer_status_uses_object_keys() {
        let mut body = GetConsumerStatusBody::default();
        let mut offsets = MqMap::new();
        offsets.insert(MessageQueue::new("T", "b", 0), 7);
        body.consumer_table.insert("c1".into(), offsets);
        let text = String::from_utf8(body.encode_body()).expect("utf8");
        assert_eq!(
            text,
            r#"{"consumerTable":{"c1":{{"brokerName":"b","queueId":0,"topic":"T"}:7}},"messageQueueTable":{}}"#
        );
        assert_eq!(
            GetConsumerStatusBody::decode_body(text.as_bytes()).expect("decode"),
            body
        );
    }

    #[test]
    fn stats_data_field_names() {
        let data = BrokerStatsData {
            stats_minute: BrokerStatsItem {
                avgpt: 1.5,
                sum: 3,
                tps: 0.25,
            },
            ..Default::default()
        };
        let text = String::from_utf8(data.encode_body()).expect("utf8");
        assert!(
            text.starts_with(r#"{"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},"#),
            "{text}"
        );
        assert!(text.ends_with(r#""statsMinute":{"avgpt":1.5,"sum":3,"tps":0.25}}"#));
    }
}
