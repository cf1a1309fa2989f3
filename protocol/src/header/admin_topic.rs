//! Admin headers about topics and messages, served by the broker (wire reference §2.6): topic
//! create/delete/config/stats, who consumes a topic, message queries and consume-queue dumps.

use super::field::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17) request.
    pub struct CreateTopicRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `defaultTopic`: template topic, normally `TBW102`.
        default_topic: String = "defaultTopic",
        /// `readQueueNums`.
        read_queue_nums: i32 = "readQueueNums",
        /// `writeQueueNums`.
        write_queue_nums: i32 = "writeQueueNums",
        /// `perm`: permission bits (2 = write, 4 = read, 1 = inherit).
        perm: i32 = "perm",
        /// `topicFilterType`: `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: String = "topicFilterType",
        /// `topicSysFlag`.
        topic_sys_flag: Option<i32> = "topicSysFlag",
        /// `order`: an ordered topic.
        order: bool = "order",
        /// `attributes`: `+k=v,+k2=v2` (`-k` deletes).
        attributes: Option<String> = "attributes",
        /// `force`: [5.x] allow changing immutable attributes.
        force: Option<bool> = "force",
    }
}

/// Default `topicFilterType`.
pub const TOPIC_FILTER_SINGLE_TAG: &str = "SINGLE_TAG";

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215) request.
    pub struct DeleteTopicRequestHeader {
        /// `topic`.
        topic: String = "topic",
    }
}

command_header! {
    /// GET_TOPIC_STATS_INFO (202) request.
    pub struct GetTopicStatsInfoRequestHeader {
        /// `topic`.
        topic: String = "topic",
    }
}

command_header! {
    /// GET_TOPIC_CONFIG (351) request.
    pub struct GetTopicConfigRequestHeader {
        /// `topic`.
        topic: String = "topic",
    }
}

command_header! {
    /// QUERY_TOPIC_CONSUME_BY_WHO (300) request.
    pub struct QueryTopicConsumeByWhoRequestHeader {
        /// `topic`.
        topic: String = "topic",
    }
}

command_header! {
    /// QUERY_TOPICS_BY_CONSUMER (343) request.
    pub struct QueryTopicsByConsumerRequestHeader {
        /// `group`.
        group: String = "group",
    }
}

/// extFields key telling QUERY_MESSAGE that `key` is a UNIQ_KEY (`MixAll.UNIQUE_MSG_QUERY_FLAG`).
pub const UNIQUE_KEY_QUERY_KEY: &str = "_UNIQUE_KEY_QUERY";

command_header! {
    /// QUERY_MESSAGE (12) request: look messages up in the index by key and time range.
    pub struct QueryMessageRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `key`: a message key, or a UNIQ_KEY when `unique_key_query` is true.
        key: String = "key",
        /// `maxNum`: at most this many messages.
        max_num: i32 = "maxNum",
        /// `beginTimestamp`: store-time range start (ms).
        begin_timestamp: i64 = "beginTimestamp",
        /// `endTimestamp`: store-time range end (ms).
        end_timestamp: i64 = "endTimestamp",
        /// `_UNIQUE_KEY_QUERY`: `key` is a UNIQ_KEY (see [`UNIQUE_KEY_QUERY_KEY`]).
        unique_key_query: Option<bool> = "_UNIQUE_KEY_QUERY",
    }
}

impl QueryMessageRequestHeader {
    /// True when `key` is a UNIQ_KEY (absent = false).
    pub fn is_unique_key_query(&self) -> bool {
        self.unique_key_query.unwrap_or(false)
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response; the body is the concatenated stored messages.
    pub struct QueryMessageResponseHeader {
        /// `indexLastUpdateTimestamp`: time of the newest index entry (ms).
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        /// `indexLastUpdatePhyoffset`: commitlog offset of the newest index entry.
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33) request.
    pub struct ViewMessageRequestHeader {
        /// `offset`: commitlog physical offset of the message.
        offset: i64 = "offset",
        /// `topic`.
        topic: Option<String> = "topic",
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE (321) request. Java declares no field required.
    pub struct QueryConsumeQueueRequestHeader {
        /// `topic`.
        topic: Option<String> = "topic",
        /// `queueId`.
        queue_id: Option<i32> = "queueId",
        /// `index`: first consume-queue index to dump.
        index: Option<i64> = "index",
        /// `count`: number of entries.
        count: Option<i32> = "count",
        /// `consumerGroup`: evaluate this group's filter on each entry.
        consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// RESUME_CHECK_HALF_MESSAGE (323) request.
    pub struct ResumeCheckHalfMessageRequestHeader {
        /// `topic`.
        topic: Option<String> = "topic",
        /// `msgId`.
        msg_id: Option<String> = "msgId",
    }
}
