//! Admin headers about groups, connections, offsets and broker statistics, served by the
//! broker (wire reference §2.6).

use super::consumer::ResetOffsetRequestHeader;
use super::field::command_header;

command_header! {
    /// GET_CONSUME_STATS (208) request.
    pub struct GetConsumeStatsRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
        /// `topic`: absent or empty = every topic of the group, retry topic included.
        topic: Option<String> = "topic",
        /// `topicList`: [5.x] a comma-separated topic list.
        topic_list: Option<String> = "topicList",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) request.
    pub struct GetConsumerConnectionListRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) request.
    pub struct GetProducerConnectionListRequestHeader {
        /// `producerGroup`.
        producer_group: String = "producerGroup",
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207) request.
    pub struct DeleteSubscriptionGroupRequestHeader {
        /// `groupName`.
        group_name: String = "groupName",
        /// `cleanOffset`: also delete the group's consumer offsets.
        clean_offset: Option<bool> = "cleanOffset",
    }
}

command_header! {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (352) request.
    pub struct GetSubscriptionGroupConfigRequestHeader {
        /// `group`.
        group: String = "group",
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222) request: `topic`, `group`, `queueId` (-1 = all),
/// `offset`, `timestamp`, `isForce`. Java uses the same class as RESET_CONSUMER_CLIENT_OFFSET.
pub type InvokeBrokerToResetOffsetRequestHeader = ResetOffsetRequestHeader;

command_header! {
    /// QUERY_CONSUME_TIME_SPAN (303) request.
    pub struct QueryConsumeTimeSpanRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `group`.
        group: String = "group",
    }
}

command_header! {
    /// CLONE_GROUP_OFFSET (314) request.
    pub struct CloneGroupOffsetRequestHeader {
        /// `srcGroup`.
        src_group: String = "srcGroup",
        /// `destGroup`.
        dest_group: String = "destGroup",
        /// `topic`: only this topic (absent = every topic of the source group).
        topic: Option<String> = "topic",
        /// `offline`: the source group is offline.
        offline: Option<bool> = "offline",
    }
}

command_header! {
    /// GET_BROKER_CONSUME_STATS (317) request.
    pub struct GetBrokerConsumeStatsRequestHeader {
        /// `isOrder`: only ordered groups.
        is_order: bool = "isOrder",
    }
}

command_header! {
    /// QUERY_CORRECTION_OFFSET (308) request.
    pub struct QueryCorrectionOffsetRequestHeader {
        /// `filterGroups`: comma-separated groups to leave out.
        filter_groups: Option<String> = "filterGroups",
        /// `compareGroup`.
        compare_group: String = "compareGroup",
        /// `topic`.
        topic: String = "topic",
    }
}

command_header! {
    /// VIEW_BROKER_STATS_DATA (315) request.
    pub struct ViewBrokerStatsDataRequestHeader {
        /// `statsName`: e.g. `TOPIC_PUT_NUMS`.
        stats_name: String = "statsName",
        /// `statsKey`: e.g. the topic.
        stats_key: String = "statsKey",
    }
}

command_header! {
    /// GET_BROKER_CONFIG (26) response; the body is the properties text.
    pub struct GetBrokerConfigResponseHeader {
        /// `version`: the broker config's DataVersion as JSON.
        version: String = "version",
    }
}
