//! Consumer-side headers other than pull: group membership, consumer offsets, queue offset
//! lookups, send-back of failed messages, and the broker→client calls (wire reference §2.1,
//! §2.2). Where the reference leaves required-ness open, Java's `@CFNotNull` decides.

use super::field::command_header;

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) request.
    pub struct GetConsumerListByGroupRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) request.
    pub struct QueryConsumerOffsetRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
        /// `setZeroIfNotFound`: answer offset 0 instead of QUERY_NOT_FOUND.
        set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) response.
    pub struct QueryConsumerOffsetResponseHeader {
        /// `offset`: the committed consumer offset.
        offset: i64 = "offset",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request (often one-way).
    pub struct UpdateConsumerOffsetRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
        /// `commitOffset`: the offset to store.
        commit_offset: i64 = "commitOffset",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30) request.
    pub struct GetMaxOffsetRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
        /// `committed`: [5.x] only count committed data; absent means true.
        committed: Option<bool> = "committed",
    }
}

impl GetMaxOffsetRequestHeader {
    /// The effective `committed` flag (absent = true).
    pub fn is_committed(&self) -> bool {
        self.committed.unwrap_or(true)
    }
}

command_header! {
    /// GET_MAX_OFFSET (30) response.
    pub struct GetMaxOffsetResponseHeader {
        /// `offset`: the next consume-queue index to be written.
        offset: i64 = "offset",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) request.
    pub struct GetMinOffsetRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) response.
    pub struct GetMinOffsetResponseHeader {
        /// `offset`: the smallest consume-queue index still stored.
        offset: i64 = "offset",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request.
    pub struct SearchOffsetRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
        /// `timestamp`: store time in ms to search for.
        timestamp: i64 = "timestamp",
        /// `boundaryType`: [5.x] `lower` or `upper`.
        boundary_type: Option<String> = "boundaryType",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) response.
    pub struct SearchOffsetResponseHeader {
        /// `offset`: the consume-queue index found.
        offset: i64 = "offset",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) request.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// `timestamp`: store time in ms of the queue's first message.
        timestamp: i64 = "timestamp",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35) request.
    pub struct UnregisterClientRequestHeader {
        /// `clientID` (capital ID, as Java spells it).
        client_id: String = "clientID",
        /// `producerGroup`.
        producer_group: Option<String> = "producerGroup",
        /// `consumerGroup`.
        consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request: a consumer returns a message it failed to consume.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// `offset`: commitlog physical offset of the failed message.
        offset: i64 = "offset",
        /// `group`: the consumer group.
        group: String = "group",
        /// `delayLevel`: requested delay level (0 = broker decides, < 0 = straight to DLQ).
        delay_level: i32 = "delayLevel",
        /// `originMsgId`.
        origin_msg_id: Option<String> = "originMsgId",
        /// `originTopic`.
        origin_topic: Option<String> = "originTopic",
        /// `unitMode`.
        unit_mode: Option<bool> = "unitMode",
        /// `maxReconsumeTimes`: honoured for request version ≥ 121.
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40) one-way broker→client request.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// RESET_CONSUMER_CLIENT_OFFSET (220, broker→client) and INVOKE_BROKER_TO_RESET_OFFSET
    /// (222, admin→broker) request; Java uses one class for both.
    pub struct ResetOffsetRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `group`.
        group: String = "group",
        /// `queueId`: one queue, or -1 / absent for all queues.
        queue_id: Option<i32> = "queueId",
        /// `offset`: reset to this offset instead of searching by timestamp.
        offset: Option<i64> = "offset",
        /// `timestamp`: reset to the first message stored at or after this time (ms).
        timestamp: i64 = "timestamp",
        /// `isForce`: also move offsets forward.
        is_force: bool = "isForce",
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307) request (admin→broker, forwarded broker→client).
    pub struct GetConsumerRunningInfoRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
        /// `clientId`.
        client_id: String = "clientId",
        /// `jstackEnable`: include a thread dump.
        jstack_enable: Option<bool> = "jstackEnable",
    }
}

command_header! {
    /// GET_CONSUMER_STATUS_FROM_CLIENT (221, broker→client) and
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, admin→broker) request.
    pub struct GetConsumerStatusRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `group`.
        group: String = "group",
        /// `clientAddr`: limit to one client.
        client_addr: Option<String> = "clientAddr",
    }
}
