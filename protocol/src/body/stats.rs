//! Admin statistics bodies keyed by `MessageQueue` objects: topic stats, consume stats, offset
//! resets, consume time spans, and the correction-offset table.
//!
//! fastjson writes the `MessageQueue` keys as raw objects:
//! `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":0,...}}}`;
//! [`MqMap`] handles that form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::message_queue::{MessageQueue, MqMap};
use super::{null_default, JsonBody};

/// Offsets of one queue (Java `TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time (ms) of the last message in the queue; 0 when empty.
    pub last_update_timestamp: i64,
    /// The next queue offset to be written.
    pub max_offset: i64,
    /// The lowest queue offset still stored.
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO response body (Java `TopicStatsTable`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    /// Per-queue offsets.
    pub offset_table: MqMap<TopicOffset>,
    /// Messages per second put into the topic.
    pub topic_put_tps: f64,
}

impl JsonBody for TopicStatsTable {}

/// Progress of a consumer group on one queue (Java `OffsetWrapper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset on the broker.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// Store time of the last consumed message (at `consumer_offset - 1`); 0 if none.
    pub last_timestamp: i64,
    /// [5.x] max(committed offset, pull offset).
    pub pull_offset: i64,
}

/// GET_CONSUME_STATS response body (Java `ConsumeStats`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    /// Messages per second consumed by the group.
    pub consume_tps: f64,
    /// Per-queue progress.
    pub offset_table: MqMap<OffsetWrapper>,
}

impl JsonBody for ConsumeStats {}

impl ConsumeStats {
    /// Total lag: Σ (broker offset − consumer offset) (Java `computeTotalDiff`).
    pub fn compute_total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.broker_offset.saturating_sub(o.consumer_offset))
            .fold(0i64, i64::saturating_add)
    }

    /// Messages pulled but not committed: Σ (pull offset − consumer offset), clamped at 0 per
    /// queue (Java `computeInflightTotalDiff`).
    pub fn compute_inflight_total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.pull_offset.saturating_sub(o.consumer_offset).max(0))
            .fold(0i64, i64::saturating_add)
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET response / RESET_CONSUMER_CLIENT_OFFSET request body:
/// `{"offsetTable":{<mq>:offset}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    /// Queue → new offset.
    pub offset_table: MqMap<i64>,
}

impl JsonBody for ResetOffsetBody {}

/// Time span of one queue as seen by a consumer group (Java `QueueTimeSpan`). Java also emits
/// formatted `*Str` getters (local-time dates); they are kept when received and omitted when
/// `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueTimeSpan {
    /// Store time of the message at the consumer offset.
    pub consume_time_stamp: i64,
    /// Java's formatted `consumeTimeStamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_time_stamp_str: Option<String>,
    /// `maxTimeStamp - consumeTimeStamp`.
    pub delay_time: i64,
    /// Store time of the newest message.
    pub max_time_stamp: i64,
    /// Java's formatted `maxTimeStamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_time_stamp_str: Option<String>,
    /// The queue.
    pub message_queue: MessageQueue,
    /// Store time of the oldest message.
    pub min_time_stamp: i64,
    /// Java's formatted `minTimeStamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_time_stamp_str: Option<String>,
}

/// QUERY_CONSUME_TIME_SPAN response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeTimeSpanBody {
    /// One entry per queue (Java `Set`).
    #[serde(deserialize_with = "null_default")]
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

impl JsonBody for QueryConsumeTimeSpanBody {}

/// QUERY_CORRECTION_OFFSET response body: `{"correctionOffsets":{0:123}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryCorrectionOffsetBody {
    /// Queue id → corrected offset.
    #[serde(deserialize_with = "null_default")]
    pub correction_offsets: BTreeMap<i32, i64>,
}

impl JsonBody for QueryCorrectionOffsetBody {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_stats_diffs() {
        let mut stats = ConsumeStats::default();
        let entries = [(0, 10, 4, 6), (1, 7, 7, 7), (2, 5, 6, 5)];
        for (q, broker, consumer, pull) in entries {
            stats.offset_table.insert(
                MessageQueue::new("T", "b", q),
                OffsetWrapper {
                    broker_offset: broker,
                    consumer_offset: consumer,
                    pull_offset: pull,
                    last_timestamp: 0,
                },
            );
        }
        // Lags 6, 0 and -1 (a consumer ahead of a truncated queue counts negative, as in Java).
        assert_eq!(stats.compute_total_diff(), 5);
        assert_eq!(stats.compute_inflight_total_diff(), 2);
    }
}
