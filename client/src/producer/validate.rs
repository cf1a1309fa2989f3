//! Message validation before a send (Java `Validators`), plus the client-side property
//! helpers for delivery time. Pure functions: a rejected message never reaches a broker.
//!
//! Rules: topic names match `^[%|a-zA-Z0-9_-]+$` and are at most 127 bytes, and are neither
//! the auto-create template `TBW102` nor a broker system topic; bodies are non-empty and at
//! most `max_message_bytes` (4 MiB by default); properties set only by the client or broker
//! (transaction, retry, offsets, timer bookkeeping, ...) are refused, as are keys or values
//! containing the property separators 0x01/0x02; the encoded properties fit in 32767 bytes.

use protocol::message::{keys, Message};

use crate::error::{Error, Result};
use crate::route::AUTO_CREATE_TOPIC_KEY;

/// Default largest body (Java `maxMessageSize`, 4 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Longest topic name in bytes.
pub const TOPIC_MAX_BYTES: usize = 127;
/// Longest group name in bytes.
pub const GROUP_MAX_BYTES: usize = 120;
/// Largest encoded properties string (an `i16` length on the wire).
pub const MAX_PROPERTIES_BYTES: usize = i16::MAX as usize;

/// Topics a client may not send to (the broker would answer NO_PERMISSION).
const SYSTEM_TOPICS: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "rmq_sys_wheel_timer",
];

/// System properties a user may set on a message (everything else in
/// [`keys::SYSTEM_KEYS`] is set by the client or the broker only).
const USER_SETTABLE_SYSTEM_KEYS: &[&str] = &[
    keys::KEYS,
    keys::TAGS,
    keys::WAIT,
    keys::DELAY,
    keys::UNIQ_KEY,
    keys::BUYER_ID,
    keys::INSTANCE_ID,
    keys::CORRELATION_ID,
    keys::REPLY_TO_CLIENT,
    keys::TTL,
    keys::MSG_TYPE,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
    keys::TRACE_ON,
];

/// Whether `key` may be set by the application (not reserved for the client or broker).
pub fn is_user_settable(key: &str) -> bool {
    !keys::is_system_key(key) || USER_SETTABLE_SYSTEM_KEYS.contains(&key)
}

fn valid_name_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Checks a topic name for sending.
pub fn check_topic(topic: &str) -> Result<()> {
    let bad = |why: String| Err(Error::InvalidMessage(format!("topic {topic:?}: {why}")));
    if topic.is_empty() {
        return bad("empty".into());
    }
    if topic.len() > TOPIC_MAX_BYTES {
        return bad(format!("longer than {TOPIC_MAX_BYTES} bytes"));
    }
    if !valid_name_chars(topic) {
        return bad("only letters, digits, %, |, _ and - are allowed".into());
    }
    if topic == AUTO_CREATE_TOPIC_KEY {
        return bad("the auto-create template topic cannot be sent to".into());
    }
    if SYSTEM_TOPICS.contains(&topic) {
        return bad("system topic".into());
    }
    Ok(())
}

/// Checks a producer or consumer group name.
pub fn check_group(group: &str) -> Result<()> {
    if group.is_empty() || group.len() > GROUP_MAX_BYTES || !valid_name_chars(group) {
        return Err(Error::Config(format!(
            "group {group:?}: 1 to {GROUP_MAX_BYTES} bytes of letters, digits, %, |, _ or -"
        )));
    }
    Ok(())
}

fn has_separator(s: &str) -> bool {
    s.bytes().any(|b| b == 0x01 || b == 0x02)
}

fn check_numeric(msg: &Message, key: &str) -> Result<()> {
    match msg.properties.get(key) {
        Some(v) if v.parse::<i64>().map_or(true, |n| n < 0) => Err(Error::InvalidMessage(format!(
            "property {key}={v:?} must be a non-negative integer"
        ))),
        _ => Ok(()),
    }
}

/// Checks the properties of a message built by the application.
pub fn check_properties(msg: &Message) -> Result<()> {
    for (k, v) in msg.properties.iter() {
        if k.is_empty() || has_separator(k) || has_separator(v) {
            return Err(Error::InvalidMessage(format!(
                "property {k:?}: keys must be non-empty and neither keys nor values may contain \\x01 or \\x02"
            )));
        }
        if !is_user_settable(k) {
            return Err(Error::InvalidMessage(format!(
                "property {k} is reserved for the client and broker"
            )));
        }
    }
    for key in [
        keys::DELAY,
        keys::TIMER_DELIVER_MS,
        keys::TIMER_DELAY_SEC,
        keys::TIMER_DELAY_MS,
    ] {
        check_numeric(msg, key)?;
    }
    if msg.properties.encoded_len() > MAX_PROPERTIES_BYTES {
        return Err(Error::InvalidMessage(format!(
            "properties take {} bytes, more than {MAX_PROPERTIES_BYTES}",
            msg.properties.encoded_len()
        )));
    }
    Ok(())
}

/// Checks everything about a single message: topic, body size, properties.
pub fn check_message(msg: &Message, max_message_bytes: usize) -> Result<()> {
    check_topic(&msg.topic)?;
    if msg.body.is_empty() {
        return Err(Error::InvalidMessage("the body is empty".into()));
    }
    if msg.body.len() > max_message_bytes {
        return Err(Error::InvalidMessage(format!(
            "the body has {} bytes, more than the maximum {max_message_bytes}",
            msg.body.len()
        )));
    }
    check_properties(msg)
}

/// Checks a batch: non-empty, every message valid, one topic, no delay, not a retry topic,
/// same WAIT flag; the total of bodies within `max_message_bytes`.
pub fn check_batch(msgs: &[Message], max_message_bytes: usize) -> Result<()> {
    let Some(first) = msgs.first() else {
        return Err(Error::InvalidMessage(
            "a batch needs at least one message".into(),
        ));
    };
    if first.topic.starts_with("%RETRY%") {
        return Err(Error::InvalidMessage(
            "retry topics do not accept batches".into(),
        ));
    }
    let mut total = 0usize;
    for msg in msgs {
        check_message(msg, max_message_bytes)?;
        if msg.topic != first.topic {
            return Err(Error::InvalidMessage(format!(
                "a batch must have one topic: {} and {}",
                first.topic, msg.topic
            )));
        }
        if msg.delay_level() > 0 || msg.properties.contains_key(keys::TIMER_DELIVER_MS) {
            return Err(Error::InvalidMessage(
                "batched messages cannot be delayed".into(),
            ));
        }
        if msg.is_wait_store_msg_ok() != first.is_wait_store_msg_ok() {
            return Err(Error::InvalidMessage(
                "a batch must use one WAIT flag".into(),
            ));
        }
        total += msg.body.len();
    }
    if total > max_message_bytes {
        return Err(Error::InvalidMessage(format!(
            "the batch bodies total {total} bytes, more than the maximum {max_message_bytes}"
        )));
    }
    Ok(())
}

/// Extra builder methods for [`Message`] that the client needs beyond the protocol crate's.
pub trait MessageExtBuilder: Sized {
    /// Delivers the message at `deliver_ms` (ms since the epoch) instead of at once: the
    /// `TIMER_DELIVER_MS` property of RocketMQ 5.x timer messages.
    fn with_deliver_time_ms(self, deliver_ms: u64) -> Self;
    /// Sets a sharding key (`__SHARDINGKEY`), informational for ordered sends.
    fn with_sharding_key(self, key: impl Into<String>) -> Self;
}

impl MessageExtBuilder for Message {
    fn with_deliver_time_ms(self, deliver_ms: u64) -> Self {
        self.with_property(keys::TIMER_DELIVER_MS, deliver_ms.to_string())
    }

    fn with_sharding_key(self, key: impl Into<String>) -> Self {
        self.with_property(keys::SHARDING_KEY, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_msg() -> Message {
        Message::new("TopicTest", "hello")
            .with_tags("A")
            .with_keys(["k"])
    }

    #[test]
    fn topics() {
        for good in ["T", "a-b_c%d|e", &"x".repeat(127), "%RETRY%G"] {
            assert_eq!(check_topic(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a.b",
            "中文",
            &"x".repeat(128),
            "TBW102",
            "SCHEDULE_TOPIC_XXXX",
        ] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn groups() {
        assert!(check_group("PG-1").is_ok());
        assert!(check_group("").is_err());
        assert!(check_group(&"g".repeat(121)).is_err());
        assert!(check_group("a/b").is_err());
    }

    #[test]
    fn bodies_and_sizes() {
        assert_eq!(check_message(&ok_msg(), 100), Ok(()));
        assert!(check_message(&Message::new("T", ""), 100).is_err());
        assert!(check_message(&Message::new("T", vec![1u8; 101]), 100).is_err());
        assert!(check_message(&Message::new("T", vec![1u8; 100]), 100).is_ok());
    }

    #[test]
    fn reserved_and_malformed_properties() {
        let user = ok_msg().with_property("color", "blue").with_delay_level(3);
        assert_eq!(check_message(&user, 100), Ok(()));
        for key in [
            keys::TRAN_MSG,
            keys::PGROUP,
            keys::REAL_TOPIC,
            keys::RETRY_TOPIC,
            keys::MIN_OFFSET,
        ] {
            let m = ok_msg().with_property(key, "x");
            assert!(check_message(&m, 100).is_err(), "{key}");
        }
        let m = ok_msg().with_property("a\u{1}b", "x");
        assert!(check_message(&m, 100).is_err());
        let m = ok_msg().with_property("a", "x\u{2}");
        assert!(check_message(&m, 100).is_err());
        let m = ok_msg().with_property(keys::DELAY, "soon");
        assert!(check_message(&m, 100).is_err());
        let m = ok_msg().with_deliver_time_ms(1_700_000_000_000);
        assert_eq!(check_message(&m, 100), Ok(()));
        let m = ok_msg().with_property("big", "v".repeat(MAX_PROPERTIES_BYTES));
        assert!(check_message(&m, 100).is_err());
    }

    #[test]
    fn batches() {
        let msgs = vec![ok_msg(), ok_msg()];
        assert_eq!(check_batch(&msgs, 100), Ok(()));
        assert!(check_batch(&[], 100).is_err());
        assert!(check_batch(&[ok_msg(), Message::new("Other", "x")], 100).is_err());
        assert!(check_batch(&[ok_msg(), ok_msg().with_delay_level(1)], 100).is_err());
        assert!(check_batch(&[ok_msg(), ok_msg().with_wait_store_msg_ok(false)], 100).is_err());
        assert!(check_batch(&[Message::new("%RETRY%G", "x")], 100).is_err());
        let big = vec![
            Message::new("T", vec![0u8; 60]),
            Message::new("T", vec![0u8; 60]),
        ];
        assert!(check_batch(&big, 100).is_err());
    }
}
