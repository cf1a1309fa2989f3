//! Delay-level arithmetic and message rewrites (wire reference §7), pure: no store, no clock.
//!
//! * put side: [`rewrite_for_delay`] moves a message with `DELAY=L` to queue `L−1` of
//!   `SCHEDULE_TOPIC_XXXX`, keeping the real destination in `REAL_TOPIC`/`REAL_QID`;
//! * delivery side: [`due`] decides whether a schedule unit is due from its tags code (the
//!   delivery time written by the dispatcher), [`build_real_message`] turns the stored schedule
//!   record back into the message for the real topic.

use protocol::message::{keys, sysflag, MessageExt, MessageVersion, Properties};

use crate::error::{Error, Result};
use crate::manager::topic_validator::{RMQ_SYS_SCHEDULE_TOPIC, RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC};

/// The schedule topic: one queue per delay level.
pub const SCHEDULE_TOPIC: &str = RMQ_SYS_SCHEDULE_TOPIC;
/// Poll period of a drained level (Java `DELAY_FOR_A_WHILE`).
pub const DELAY_FOR_A_WHILE_MS: u64 = 100;
/// Back-off after a failed re-put (Java `DELAY_FOR_A_PERIOD`).
pub const DELAY_FOR_A_PERIOD_MS: u64 = 10_000;
/// Prefix of the [5.x] timer-wheel properties, dropped on delivery.
pub const TIMER_KEY_PREFIX: &str = "TIMER_";

/// Schedule queue id of delay level `level` (1-based).
pub fn level_to_queue_id(level: i32) -> i32 {
    level - 1
}

/// Delay level served by schedule queue `queue_id`.
pub fn queue_id_to_level(queue_id: i32) -> i32 {
    queue_id + 1
}

/// The `DELAY` property as a level: 0 when absent or not a decimal number.
pub fn delay_level_of(properties: &Properties) -> i32 {
    properties
        .get(keys::DELAY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Java `correctDeliverTimestamp`: a delivery time further than `now + level delay` in the
/// future (a clock jump back, or a level whose delay was shortened) counts as now.
pub fn correct_deliver_timestamp(now_ms: i64, deliver_ms: i64, level_delay_ms: i64) -> i64 {
    if deliver_ms > now_ms.saturating_add(level_delay_ms) {
        now_ms
    } else {
        deliver_ms
    }
}

/// Whether the schedule unit with `tags_code` (its delivery time) is due at `now_ms`:
/// `None` = deliver now, `Some(wait_ms)` = not yet, check again in `wait_ms` (≥ 1).
pub fn due(now_ms: i64, tags_code: i64, level_delay_ms: i64) -> Option<u64> {
    let deliver = correct_deliver_timestamp(now_ms, tags_code, level_delay_ms);
    let wait = deliver.saturating_sub(now_ms);
    (wait > 0).then_some(wait as u64)
}

/// Where a delayed message is stored instead of its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayRewrite {
    /// Always [`SCHEDULE_TOPIC`].
    pub topic: &'static str,
    /// `level − 1` (after clamping).
    pub queue_id: i32,
    /// The properties with `REAL_TOPIC`, `REAL_QID` and the clamped `DELAY`.
    pub properties: Properties,
}

/// The put-side delay rewrite (Java `CommitLog.putMessage` / 5.x `HookUtils`): for a normal or
/// committed-transaction message (`sys_flag`) with `DELAY > 0`, clamps the level to
/// `max_level`, records `REAL_TOPIC`/`REAL_QID` and redirects it to queue `level − 1` of
/// [`SCHEDULE_TOPIC`]. `None` when the message is not delayed (no level, level ≤ 0, prepared
/// or rollback transaction type, or no levels configured).
pub fn rewrite_for_delay(
    topic: &str,
    queue_id: i32,
    sys_flag: i32,
    properties: &Properties,
    max_level: i32,
) -> Option<DelayRewrite> {
    let tx = sysflag::transaction_value(sys_flag);
    if tx != sysflag::TRANSACTION_NOT_TYPE && tx != sysflag::TRANSACTION_COMMIT_TYPE {
        return None;
    }
    let mut level = delay_level_of(properties);
    if level <= 0 || max_level <= 0 {
        return None;
    }
    let mut properties = properties.clone();
    if level > max_level {
        level = max_level;
        properties.insert(keys::DELAY, level.to_string());
    }
    properties.insert(keys::REAL_TOPIC, topic);
    properties.insert(keys::REAL_QID, queue_id.to_string());
    Some(DelayRewrite {
        topic: SCHEDULE_TOPIC,
        queue_id: level_to_queue_id(level),
        properties,
    })
}

fn corrupt(stored: &MessageExt, reason: &str) -> Error {
    Error::corrupt(
        SCHEDULE_TOPIC,
        u64::try_from(stored.commit_log_offset).unwrap_or(0),
        reason,
    )
}

/// The real message for a due schedule record (Java `messageTimeup`): topic `REAL_TOPIC`,
/// queue `REAL_QID`, properties without `DELAY` and `TIMER_*` and with `WAIT=false` (Java keeps
/// `REAL_TOPIC`/`REAL_QID`, so do we), the same body, flag, sysflag, born time/host, store host
/// and reconsume times. Offsets and store time are left for the store to assign; the consume
/// queue's tags code is recomputed from `TAGS` by the dispatcher. `Err(Corrupt)` when
/// `REAL_TOPIC`/`REAL_QID` are missing or not valid.
pub fn build_real_message(stored: &MessageExt) -> Result<MessageExt> {
    let topic = stored
        .properties
        .get(keys::REAL_TOPIC)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| corrupt(stored, "schedule record without REAL_TOPIC"))?;
    let queue_id: i32 = stored
        .properties
        .get(keys::REAL_QID)
        .and_then(|q| q.trim().parse().ok())
        .filter(|q| *q >= 0)
        .ok_or_else(|| corrupt(stored, "schedule record without a valid REAL_QID"))?;
    let mut properties: Properties = stored
        .properties
        .iter()
        .filter(|(k, _)| *k != keys::DELAY && !k.starts_with(TIMER_KEY_PREFIX))
        .collect();
    properties.insert(keys::WAIT, "false");
    let mut m = stored.clone();
    m.topic = topic.to_string();
    m.queue_id = queue_id;
    m.properties = properties;
    m.version = MessageVersion::V1;
    m.queue_offset = 0;
    m.commit_log_offset = 0;
    m.store_timestamp = 0;
    m.prepared_transaction_offset = 0;
    m.update_body_crc();
    Ok(m)
}

/// Whether a real message must not be delivered (Java skips the transaction check-max topic).
pub fn is_undeliverable_topic(topic: &str) -> bool {
    topic == RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::net::SocketAddr;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().copied().collect()
    }

    #[test]
    fn due_and_wait() {
        assert_eq!(due(1_000, 1_000, 5_000), None, "exactly due");
        assert_eq!(due(1_000, 400, 5_000), None, "overdue");
        assert_eq!(due(1_000, 1_250, 5_000), Some(250));
        assert_eq!(due(1_000, 6_000, 5_000), Some(5_000), "at the limit");
        assert_eq!(
            due(1_000, 6_001, 5_000),
            None,
            "further than a level delay: now"
        );
        assert_eq!(due(i64::MAX - 1, i64::MAX, 5_000), Some(1), "no overflow");
    }

    #[test]
    fn rewrite_clamps_and_keeps_the_destination() {
        let p = props(&[("DELAY", "3"), ("TAGS", "a")]);
        let r = rewrite_for_delay("T", 2, 0, &p, 18).expect("delayed");
        assert_eq!((r.topic, r.queue_id), (SCHEDULE_TOPIC, 2));
        assert_eq!(r.properties.get(keys::REAL_TOPIC), Some("T"));
        assert_eq!(r.properties.get(keys::REAL_QID), Some("2"));
        assert_eq!(r.properties.get(keys::DELAY), Some("3"));
        let p = props(&[("DELAY", "40")]);
        let r = rewrite_for_delay("T", 0, 0, &p, 18).expect("delayed");
        assert_eq!(r.queue_id, 17);
        assert_eq!(r.properties.get(keys::DELAY), Some("18"));
    }

    #[test]
    fn no_rewrite_without_a_positive_level_or_for_prepared() {
        for v in ["0", "-1", "x", ""] {
            assert_eq!(
                rewrite_for_delay("T", 0, 0, &props(&[("DELAY", v)]), 18),
                None
            );
        }
        assert_eq!(rewrite_for_delay("T", 0, 0, &props(&[]), 18), None);
        let p = props(&[("DELAY", "2")]);
        assert_eq!(rewrite_for_delay("T", 0, 0, &p, 0), None, "no levels");
        let prepared = sysflag::TRANSACTION_PREPARED_TYPE;
        assert_eq!(rewrite_for_delay("T", 0, prepared, &p, 18), None);
        let rollback = sysflag::TRANSACTION_ROLLBACK_TYPE;
        assert_eq!(rewrite_for_delay("T", 0, rollback, &p, 18), None);
        let commit = sysflag::TRANSACTION_COMMIT_TYPE;
        assert!(rewrite_for_delay("T", 0, commit, &p, 18).is_some());
    }

    fn stored(pairs: &[(&str, &str)]) -> MessageExt {
        let mut m = MessageExt::new(SCHEDULE_TOPIC, Bytes::from_static(b"body"));
        m.queue_id = 2;
        m.flag = 7;
        m.sys_flag = sysflag::COMPRESSED;
        m.born_timestamp = 11;
        m.born_host = "10.0.0.9:5000".parse::<SocketAddr>().unwrap();
        m.store_host = "10.0.0.1:10911".parse::<SocketAddr>().unwrap();
        m.store_timestamp = 99;
        m.reconsume_times = 4;
        m.queue_offset = 5;
        m.commit_log_offset = 1234;
        m.properties = props(pairs);
        m
    }

    #[test]
    fn real_message_restores_topic_queue_and_drops_delay() {
        let s = stored(&[
            ("TAGS", "t"),
            ("DELAY", "3"),
            ("REAL_TOPIC", "Orders"),
            ("REAL_QID", "1"),
            ("TIMER_DELAY_MS", "5"),
            ("WAIT", "true"),
            ("KEYS", "k1"),
        ]);
        let m = build_real_message(&s).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), ("Orders", 1));
        assert_eq!(m.properties.get(keys::DELAY), None);
        assert_eq!(m.properties.get("TIMER_DELAY_MS"), None);
        assert_eq!(m.properties.get(keys::WAIT), Some("false"));
        assert_eq!(m.properties.get(keys::TAGS), Some("t"));
        assert_eq!(m.properties.get(keys::KEYS), Some("k1"));
        assert_eq!(m.properties.get(keys::REAL_TOPIC), Some("Orders"));
        assert_eq!(
            (m.flag, m.sys_flag, m.reconsume_times),
            (7, sysflag::COMPRESSED, 4)
        );
        assert_eq!((m.born_timestamp, m.born_host), (11, s.born_host));
        assert_eq!(m.store_host, s.store_host);
        assert_eq!(m.body, s.body);
        assert_eq!((m.queue_offset, m.commit_log_offset), (0, 0));
    }

    #[test]
    fn real_message_needs_real_topic_and_queue() {
        let no_topic = stored(&[("REAL_QID", "1")]);
        assert!(matches!(
            build_real_message(&no_topic),
            Err(Error::Corrupt { offset: 1234, .. })
        ));
        let bad_qid = stored(&[("REAL_TOPIC", "T"), ("REAL_QID", "x")]);
        assert!(build_real_message(&bad_qid).is_err());
        let negative = stored(&[("REAL_TOPIC", "T"), ("REAL_QID", "-1")]);
        assert!(build_real_message(&negative).is_err());
    }

    #[test]
    fn level_queue_mapping() {
        assert_eq!(level_to_queue_id(1), 0);
        assert_eq!(queue_id_to_level(17), 18);
        assert_eq!(delay_level_of(&props(&[("DELAY", " 4 ")])), 4);
        assert!(is_undeliverable_topic("TRANS_CHECK_MAX_TIME_TOPIC"));
    }
}
