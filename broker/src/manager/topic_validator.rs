//! Topic and group naming rules (Java `TopicValidator`, `MixAll` and the client `Validators`):
//! the system topic and group names, the retry/DLQ naming scheme and name validation.
//!
//! Pure functions over names; no table state (the broker's own cluster- and broker-name topics
//! are tracked by [`TopicConfigManager`](super::topic_config::TopicConfigManager)).

use crate::error::{Error, Result};

/// The template topic producers use to auto-create topics.
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// Delay-message staging topic (one queue per delay level).
pub const RMQ_SYS_SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Benchmark topic (not created by ferromq).
pub const RMQ_SYS_BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Half (prepared) transactional messages.
pub const RMQ_SYS_TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Default message-trace topic.
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Op records resolving half messages.
pub const RMQ_SYS_TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages discarded after too many checks.
pub const RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Self-test topic.
pub const RMQ_SYS_SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Offset-moved events.
pub const RMQ_SYS_OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// Prefix of [5.x] system topics; every topic starting with it is a system topic.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
/// Suffix of the per-cluster reply topic (`<cluster>_REPLY_TOPIC`).
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";

/// Retry topic prefix (`%RETRY%<group>`).
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Dead-letter topic prefix (`%DLQ%<group>`).
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// Longest ordinary topic name.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest retry or DLQ topic name.
pub const RETRY_DLQ_TOPIC_MAX_LENGTH: usize = 255;
/// Longest consumer or producer group name.
pub const GROUP_MAX_LENGTH: usize = 120;

/// Tools' consumer group.
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// Filter-server consumer group.
pub const FILTERSRV_CONSUMER_GROUP: &str = "FILTERSRV_CONSUMER";
/// Self-test consumer group.
pub const SELF_TEST_CONSUMER_GROUP: &str = "SELF_TEST_C_GROUP";
/// ONS HTTP proxy group.
pub const ONS_HTTP_PROXY_GROUP: &str = "CID_ONS-HTTP-PROXY";
/// ONS API pull group.
pub const CID_ONSAPI_PULL_GROUP: &str = "CID_ONSAPI_PULL";
/// ONS API permission group.
pub const CID_ONSAPI_PERMISSION_GROUP: &str = "CID_ONSAPI_PERMISSION";
/// ONS API owner group.
pub const CID_ONSAPI_OWNER_GROUP: &str = "CID_ONSAPI_OWNER";
/// Transaction system consumer group.
pub const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";
/// Prefix of system consumer groups (always auto-created).
pub const CID_RMQ_SYS_PREFIX: &str = "CID_RMQ_SYS_";
/// Monitor consumer group.
pub const MONITOR_CONSUMER_GROUP: &str = "__MONITOR_CONSUMER";
/// The producer group every client registers for its internal sends (send-back fallback).
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// The groups a broker creates at start (Java `SubscriptionGroupManager.init`).
pub const SYSTEM_GROUPS: [&str; 8] = [
    TOOLS_CONSUMER_GROUP,
    FILTERSRV_CONSUMER_GROUP,
    SELF_TEST_CONSUMER_GROUP,
    ONS_HTTP_PROXY_GROUP,
    CID_ONSAPI_PULL_GROUP,
    CID_ONSAPI_PERMISSION_GROUP,
    CID_ONSAPI_OWNER_GROUP,
    CID_SYS_RMQ_TRANS,
];

/// Fixed-name system topics (Java `TopicValidator.SYSTEM_TOPIC_SET`).
pub const SYSTEM_TOPICS: [&str; 9] = [
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_BENCHMARK_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRACE_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// Topics clients may never send to directly (answered with NO_PERMISSION).
pub const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// `%RETRY%<group>`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// Whether `topic` is a retry topic.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}

/// Whether `topic` is a dead-letter topic.
pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// The group a retry or DLQ topic belongs to.
pub fn group_of_retry_or_dlq_topic(topic: &str) -> Option<&str> {
    topic
        .strip_prefix(RETRY_GROUP_TOPIC_PREFIX)
        .or_else(|| topic.strip_prefix(DLQ_GROUP_TOPIC_PREFIX))
}

/// `<cluster>_REPLY_TOPIC`.
pub fn reply_topic(cluster_name: &str) -> String {
    format!("{cluster_name}_{REPLY_TOPIC_POSTFIX}")
}

/// Whether `topic` is a fixed-name system topic or carries the `rmq_sys_` prefix. (The
/// broker's cluster-, broker-name and reply topics are system topics too; ask the
/// [`TopicConfigManager`](super::topic_config::TopicConfigManager) for those.)
pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// Whether clients are forbidden to send to `topic` directly.
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

/// Whether `group` is a system consumer group (`CID_RMQ_SYS_*`; always auto-created).
pub fn is_sys_consumer_group(group: &str) -> bool {
    group.starts_with(CID_RMQ_SYS_PREFIX)
}

/// Whether `name` contains only `%`, `|`, ASCII letters, digits, `_` and `-`
/// (`^[%|a-zA-Z0-9_-]+$`); the empty name is illegal.
pub fn is_topic_or_group_legal(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Java `TopicValidator.validateTopic`: not blank, legal characters, at most 127 characters
/// (255 for retry and DLQ topics). The error reason is the remark RocketMQ sends.
pub fn validate_topic(topic: &str) -> Result<()> {
    if topic.trim().is_empty() {
        return Err(Error::invalid_name(
            "topic",
            topic,
            "The specified topic is blank.",
        ));
    }
    if !is_topic_or_group_legal(topic) {
        return Err(Error::invalid_name(
            "topic",
            topic,
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$",
        ));
    }
    let max = if is_retry_topic(topic) || is_dlq_topic(topic) {
        RETRY_DLQ_TOPIC_MAX_LENGTH
    } else {
        TOPIC_MAX_LENGTH
    };
    if topic.len() > max {
        return Err(Error::invalid_name(
            "topic",
            topic,
            format!("The specified topic is longer than topic max length {max}."),
        ));
    }
    Ok(())
}

/// [`validate_topic`] plus the rules for a client send: not the auto-create template topic
/// and not one of [`NOT_ALLOWED_SEND_TOPICS`].
pub fn validate_send_topic(topic: &str) -> Result<()> {
    validate_topic(topic)?;
    if topic == AUTO_CREATE_TOPIC_KEY_TOPIC {
        return Err(Error::invalid_name(
            "topic",
            topic,
            "The topic[TBW102] is conflict with AUTO_CREATE_TOPIC_KEY_TOPIC.",
        ));
    }
    if is_not_allowed_send_topic(topic) {
        return Err(Error::invalid_name(
            "topic",
            topic,
            format!("Sending message to topic[{topic}] is forbidden."),
        ));
    }
    Ok(())
}

/// Group name rules: not blank, legal characters, at most 120 characters.
pub fn validate_group(group: &str) -> Result<()> {
    if group.trim().is_empty() {
        return Err(Error::invalid_name(
            "group",
            group,
            "The specified group is blank.",
        ));
    }
    if !is_topic_or_group_legal(group) {
        return Err(Error::invalid_name(
            "group",
            group,
            "the specified group contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$",
        ));
    }
    if group.len() > GROUP_MAX_LENGTH {
        return Err(Error::invalid_name(
            "group",
            group,
            format!("the specified group is longer than group max length {GROUP_MAX_LENGTH}."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_and_dlq_names() {
        assert_eq!(retry_topic("G"), "%RETRY%G");
        assert_eq!(dlq_topic("G"), "%DLQ%G");
        assert!(is_retry_topic("%RETRY%G") && !is_retry_topic("%DLQ%G"));
        assert!(is_dlq_topic("%DLQ%G") && !is_dlq_topic("G"));
        assert_eq!(group_of_retry_or_dlq_topic("%RETRY%G1"), Some("G1"));
        assert_eq!(group_of_retry_or_dlq_topic("%DLQ%G2"), Some("G2"));
        assert_eq!(group_of_retry_or_dlq_topic("T"), None);
        assert_eq!(reply_topic("DefaultCluster"), "DefaultCluster_REPLY_TOPIC");
    }

    #[test]
    fn system_topics_and_groups() {
        for t in SYSTEM_TOPICS {
            assert!(is_system_topic(t), "{t}");
        }
        assert!(is_system_topic("rmq_sys_wheel_timer"));
        assert!(!is_system_topic("TopicTest") && !is_system_topic("%RETRY%G"));
        for t in NOT_ALLOWED_SEND_TOPICS {
            assert!(is_not_allowed_send_topic(t) && is_system_topic(t), "{t}");
        }
        assert!(!is_not_allowed_send_topic(AUTO_CREATE_TOPIC_KEY_TOPIC));
        assert!(!is_not_allowed_send_topic(RMQ_SYS_TRACE_TOPIC));
        assert!(is_sys_consumer_group(CID_SYS_RMQ_TRANS) && is_sys_consumer_group("CID_RMQ_SYS_X"));
        assert!(!is_sys_consumer_group(TOOLS_CONSUMER_GROUP));
    }

    #[test]
    fn charset() {
        for ok in ["T", "a-b_c", "%RETRY%G", "a|b", "0123", "ABCxyz"] {
            assert!(is_topic_or_group_legal(ok), "{ok}");
        }
        for bad in [
            "", "a b", "a.b", "a@b", "a/b", "tópico", "a\nb", "a:b", "a*",
        ] {
            assert!(!is_topic_or_group_legal(bad), "{bad:?}");
        }
    }

    fn reason(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidName { reason, .. }) => reason,
            other => panic!("expected InvalidName, got {other:?}"),
        }
    }

    #[test]
    fn topic_validation_edges() {
        assert!(validate_topic(&"t".repeat(127)).is_ok());
        assert!(reason(validate_topic(&"t".repeat(128))).contains("max length 127"));
        let retry = format!("%RETRY%{}", "g".repeat(248));
        assert_eq!(retry.len(), 255);
        assert!(validate_topic(&retry).is_ok());
        assert!(validate_topic(&format!("{retry}x")).is_err());
        assert!(validate_topic(&format!("%DLQ%{}", "g".repeat(200))).is_ok());
        assert_eq!(
            reason(validate_topic("  ")),
            "The specified topic is blank."
        );
        assert!(reason(validate_topic("a.b")).contains("illegal characters"));
    }

    #[test]
    fn send_topic_validation() {
        assert!(validate_send_topic("TopicTest").is_ok());
        assert!(validate_send_topic("%RETRY%G").is_ok());
        assert!(reason(validate_send_topic("TBW102")).contains("AUTO_CREATE_TOPIC_KEY_TOPIC"));
        for t in NOT_ALLOWED_SEND_TOPICS {
            assert!(reason(validate_send_topic(t)).contains("forbidden"), "{t}");
        }
        assert!(validate_send_topic("bad topic").is_err());
    }

    #[test]
    fn group_validation_edges() {
        assert!(validate_group(&"g".repeat(120)).is_ok());
        assert!(reason(validate_group(&"g".repeat(121))).contains("120"));
        assert!(validate_group("").is_err());
        assert!(validate_group("a b").is_err());
        for g in SYSTEM_GROUPS {
            assert!(validate_group(g).is_ok(), "{g}");
        }
    }
}
