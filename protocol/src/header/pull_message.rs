//! Headers of PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), plus the pull `sysFlag` bits
//! (wire reference §2.2). Both codes share one request header; a lite pull sets
//! [`PullSysFlag::LITE_PULL`].

use super::field::command_header;

command_header! {
    /// Request header of PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).
    pub struct PullMessageRequestHeader {
        /// `consumerGroup`.
        consumer_group: String = "consumerGroup",
        /// `topic`.
        topic: String = "topic",
        /// `queueId`.
        queue_id: i32 = "queueId",
        /// `queueOffset`: the consume-queue index to start at.
        queue_offset: i64 = "queueOffset",
        /// `maxMsgNums`: at most this many messages (Java push default 32).
        max_msg_nums: i32 = "maxMsgNums",
        /// `sysFlag`: [`PullSysFlag`] bits.
        sys_flag: i32 = "sysFlag",
        /// `commitOffset`: the consumer's offset to store, valid with [`PullSysFlag::COMMIT_OFFSET`].
        commit_offset: i64 = "commitOffset",
        /// `suspendTimeoutMillis`: how long the broker may hold the request (long polling).
        suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// `subscription`: the filter expression, used with [`PullSysFlag::SUBSCRIPTION`].
        subscription: Option<String> = "subscription",
        /// `subVersion`: version of the subscription the consumer holds.
        sub_version: i64 = "subVersion",
        /// `expressionType`: `TAG` or `SQL92`.
        expression_type: Option<String> = "expressionType",
        /// `maxMsgBytes`: byte cap of the response body ([5.x]).
        max_msg_bytes: Option<i32> = "maxMsgBytes",
        /// `requestSource`: [5.x] proxy request source.
        request_source: Option<i32> = "requestSource",
        /// `proxyFrowardClientId` (sic, Java's spelling; the correct spelling is also read).
        proxy_forward_client_id: Option<String> = "proxyFrowardClientId" | "proxyForwardClientId",
    }
}

impl PullMessageRequestHeader {
    /// True when the request carries an offset to commit.
    pub fn has_commit_offset(&self) -> bool {
        PullSysFlag::has(self.sys_flag, PullSysFlag::COMMIT_OFFSET)
    }

    /// True when the broker may suspend the request (long polling).
    pub fn has_suspend(&self) -> bool {
        PullSysFlag::has(self.sys_flag, PullSysFlag::SUSPEND)
    }

    /// True when the request's own `subscription` replaces the registered one.
    pub fn has_subscription(&self) -> bool {
        PullSysFlag::has(self.sys_flag, PullSysFlag::SUBSCRIPTION)
    }

    /// True for a lite-pull consumer request.
    pub fn is_lite_pull(&self) -> bool {
        PullSysFlag::has(self.sys_flag, PullSysFlag::LITE_PULL)
    }
}

command_header! {
    /// Response header of PULL_MESSAGE / LITE_PULL_MESSAGE. The remark carries the store status
    /// name (`FOUND`, `OFFSET_OVERFLOW_ONE`, ...).
    pub struct PullMessageResponseHeader {
        /// `suggestWhichBrokerId`: where to pull next (0 = master).
        suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        /// `nextBeginOffset`: the consume-queue index to pull from next.
        next_begin_offset: i64 = "nextBeginOffset",
        /// `minOffset`: the queue's minimum offset.
        min_offset: i64 = "minOffset",
        /// `maxOffset`: the queue's maximum offset.
        max_offset: i64 = "maxOffset",
        /// `offsetDelta`: [5.x] static-topic offset delta.
        offset_delta: Option<i64> = "offsetDelta",
        /// `topicSysFlag`: the topic's sys flag.
        topic_sys_flag: Option<i32> = "topicSysFlag",
        /// `groupSysFlag`: the group's sys flag.
        group_sys_flag: Option<i32> = "groupSysFlag",
        /// `forbiddenType`: [5.x] why consumption is forbidden.
        forbidden_type: Option<i32> = "forbiddenType",
    }
}

/// Bits of the pull request's `sysFlag` (Java `PullSysFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullSysFlag;

impl PullSysFlag {
    /// `commitOffset` is valid; the master stores it.
    pub const COMMIT_OFFSET: i32 = 1;
    /// Long polling allowed.
    pub const SUSPEND: i32 = 1 << 1;
    /// Use this request's subscription instead of the registered one.
    pub const SUBSCRIPTION: i32 = 1 << 2;
    /// Class filter mode (obsolete filter server).
    pub const CLASS_FILTER: i32 = 1 << 3;
    /// Lite-pull consumer.
    pub const LITE_PULL: i32 = 1 << 4;

    /// Builds a flag word from its parts.
    pub fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
        lite_pull: bool,
    ) -> i32 {
        [
            (commit_offset, Self::COMMIT_OFFSET),
            (suspend, Self::SUSPEND),
            (subscription, Self::SUBSCRIPTION),
            (class_filter, Self::CLASS_FILTER),
            (lite_pull, Self::LITE_PULL),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit)
    }

    /// True when `bit` is set in `flag`.
    pub fn has(flag: i32, bit: i32) -> bool {
        flag & bit != 0
    }

    /// `flag` without the commit-offset bit (Java's `clearCommitOffsetFlag`: a slave must not
    /// store the offset).
    pub fn clear_commit_offset(flag: i32) -> i32 {
        flag & !Self::COMMIT_OFFSET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_flag_bits() {
        assert_eq!(PullSysFlag::build(true, true, true, true, true), 31);
        assert_eq!(PullSysFlag::build(false, true, false, false, true), 18);
        assert_eq!(PullSysFlag::clear_commit_offset(7), 6);
        let h = PullMessageRequestHeader {
            sys_flag: PullSysFlag::build(true, false, true, false, false),
            ..Default::default()
        };
        assert!(h.has_commit_offset() && h.has_subscription());
        assert!(!h.has_suspend() && !h.is_lite_pull());
    }
}
