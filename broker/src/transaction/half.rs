//! Half and op records (wire reference §8), pure: the put-side conversion of a transactional
//! message into a half message, the op record resolving a half message, the message a commit
//! writes, renewed half copies, discarded copies and the CHECK_TRANSACTION_STATE body.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use protocol::message::{keys, sysflag, MessageExt, MessageVersion, Properties};

use crate::error::{Error, Result};
use crate::manager::topic_validator::{
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
};

/// Topic of half messages.
pub const HALF_TOPIC: &str = RMQ_SYS_TRANS_HALF_TOPIC;
/// Topic of op records.
pub const OP_TOPIC: &str = RMQ_SYS_TRANS_OP_HALF_TOPIC;
/// Topic of half messages discarded after too many checks.
pub const CHECK_MAX_TIME_TOPIC: &str = RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC;
/// Queues of [`CHECK_MAX_TIME_TOPIC`] (Java `TCMT_QUEUE_NUMS`).
pub const CHECK_MAX_TIME_QUEUE_NUMS: i32 = 1;
/// Tag of op records that remove a half message (Java `REMOVETAG`).
pub const REMOVE_TAG: &str = "d";
/// Separator after each half offset in an op body.
pub const OFFSET_SEPARATOR: char = ',';

/// Where a transactional message is stored instead of its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HalfTarget {
    /// Always [`HALF_TOPIC`].
    pub topic: &'static str,
    /// Always 0.
    pub queue_id: i32,
    /// The sysflag with the transaction bits reset to NOT_TYPE (so it is dispatched).
    pub sys_flag: i32,
    /// Properties plus `REAL_TOPIC`, `REAL_QID` and `__transactionId__` (= UNIQ_KEY).
    pub properties: Properties,
}

/// §8 step 2 (Java `parseHalfMessageInner`): the half message for a prepared message bound for
/// `topic`/`queue_id`.
pub fn to_half_message(
    topic: &str,
    queue_id: i32,
    sys_flag: i32,
    properties: &Properties,
) -> HalfTarget {
    let mut properties = properties.clone();
    properties.insert(keys::REAL_TOPIC, topic);
    properties.insert(keys::REAL_QID, queue_id.to_string());
    if let Some(uniq) = properties.get(keys::UNIQ_KEY).map(str::to_owned) {
        properties.insert(keys::TRANSACTION_ID, uniq);
    }
    HalfTarget {
        topic: HALF_TOPIC,
        queue_id: 0,
        sys_flag: sysflag::reset_transaction_value(sys_flag, sysflag::TRANSACTION_NOT_TYPE),
        properties,
    }
}

/// Whether a send is a transactional prepare (`TRAN_MSG` is Java-true) and not a legacy retry
/// of one (`reconsumeTimes > 0 && DELAY > 0`, clients before 4.6.1 kept `TRAN_MSG`).
pub fn is_transaction_prepare(properties: &Properties, reconsume_times: i32) -> bool {
    let flagged = properties
        .get(keys::TRAN_MSG)
        .is_some_and(protocol::ext_fields::parse_java_bool);
    let delay = crate::schedule::delay::delay_level_of(properties);
    flagged && !(reconsume_times > 0 && delay > 0)
}

/// `REAL_TOPIC`/`REAL_QID` of a half message.
pub fn real_destination(half: &MessageExt) -> Result<(String, i32)> {
    let bad = |why: &str| {
        Error::corrupt(
            HALF_TOPIC,
            u64::try_from(half.commit_log_offset).unwrap_or(0),
            why,
        )
    };
    let topic = half
        .properties
        .get(keys::REAL_TOPIC)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("half message without REAL_TOPIC"))?;
    let queue_id = half
        .properties
        .get(keys::REAL_QID)
        .and_then(|q| q.trim().parse::<i32>().ok())
        .filter(|q| *q >= 0)
        .ok_or_else(|| bad("half message without a valid REAL_QID"))?;
    Ok((topic.to_string(), queue_id))
}

fn reset_placement(m: &mut MessageExt) {
    m.version = MessageVersion::V1;
    m.queue_offset = 0;
    m.commit_log_offset = 0;
    m.store_timestamp = 0;
    m.update_body_crc();
}

/// The committed message (Java `endMessageTransaction`): topic/queue from `REAL_*`, same body,
/// flag, born info, store host and reconsume times, transaction bits COMMIT, PREPARED_TX_OFFSET
/// = the half's commitlog offset. The properties are the half's unchanged (Java builds the
/// properties string before clearing `REAL_TOPIC`/`REAL_QID`, so committed records keep them).
/// The store assigns a new store time, as Java's store does unless `duplicationEnable`.
pub fn commit_message(half: &MessageExt) -> Result<MessageExt> {
    let (topic, queue_id) = real_destination(half)?;
    let mut m = half.clone();
    m.topic = topic;
    m.queue_id = queue_id;
    m.sys_flag = sysflag::reset_transaction_value(half.sys_flag, sysflag::TRANSACTION_COMMIT_TYPE);
    m.prepared_transaction_offset = half.commit_log_offset;
    reset_placement(&mut m);
    Ok(m)
}

/// The op record removing the half message at `half_queue_offset` of half queue
/// `half_queue_id`: topic [`OP_TOPIC`], same queue id, tag [`REMOVE_TAG`], body
/// `"<offset>,"`, sysflag 0, born now at `store_host`, `WAIT=false`.
pub fn op_message(
    half_queue_id: i32,
    half_queue_offset: i64,
    store_host: SocketAddr,
    now_ms: i64,
) -> MessageExt {
    let body = format!("{half_queue_offset}{OFFSET_SEPARATOR}");
    let mut m = MessageExt::new(OP_TOPIC, Bytes::from(body.into_bytes()));
    m.queue_id = half_queue_id;
    m.born_timestamp = now_ms;
    m.born_host = store_host;
    m.store_host = store_host;
    m.properties.insert(keys::TAGS, REMOVE_TAG);
    m.properties.insert(keys::WAIT, "false");
    m.update_body_crc();
    m
}

/// The half offsets named by an op body: decimal numbers separated by `,` (4.x writes one
/// number without a separator, 5.x a list each followed by `,`). Garbage tokens are ignored.
pub fn parse_op_body(body: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(body)
        .split(OFFSET_SEPARATOR)
        .filter_map(|t| t.trim().parse::<i64>().ok())
        .filter(|o| *o >= 0)
        .collect()
}

/// A copy of `half` to re-append to the half queue (Java `renewHalfMessageInner`): same topic,
/// queue, body, flag, sysflag, born info, store host and properties, `WAIT=false`, then
/// `TRANSACTION_CHECK_TIMES` and `TRAN_PREPARED_QUEUE_OFFSET` set when given.
pub fn renew_half_message(
    half: &MessageExt,
    check_times: Option<i32>,
    prepared_queue_offset: Option<i64>,
) -> MessageExt {
    let mut m = half.clone();
    m.properties.insert(keys::WAIT, "false");
    if let Some(n) = check_times {
        m.properties
            .insert(keys::TRANSACTION_CHECK_TIMES, n.to_string());
    }
    if let Some(o) = prepared_queue_offset {
        m.properties
            .insert(keys::TRAN_PREPARED_QUEUE_OFFSET, o.to_string());
    }
    reset_placement(&mut m);
    m
}

/// A copy of a discarded half message for [`CHECK_MAX_TIME_TOPIC`] queue 0 (5.x
/// `DefaultTransactionalMessageCheckListener.toMessageExtBrokerInner`).
pub fn discard_message(half: &MessageExt) -> MessageExt {
    let mut m = half.clone();
    m.topic = CHECK_MAX_TIME_TOPIC.to_string();
    m.queue_id = 0;
    m.properties.insert(keys::WAIT, "false");
    reset_placement(&mut m);
    m
}

/// The CHECK_TRANSACTION_STATE body for a stored half copy `half` (its real offsets set): the
/// message in stored format with topic `REAL_TOPIC`, queue `REAL_QID` and the size recomputed.
pub fn check_body(half: &MessageExt) -> Result<Bytes> {
    let (topic, queue_id) = real_destination(half)?;
    let mut m = half.clone();
    m.topic = topic;
    m.queue_id = queue_id;
    m.version = MessageVersion::V1;
    let mut out = BytesMut::with_capacity(m.encoded_len());
    m.encode(&mut out)?;
    Ok(out.freeze())
}

/// The immunity time of a half message: `transactionTimeOut`, or
/// `CHECK_IMMUNITY_TIME_IN_SECONDS` when that is larger. Second value: whether the property was
/// present (and a number).
pub fn immunity_time_ms(half: &MessageExt, transaction_timeout_ms: i64) -> (i64, bool) {
    match half
        .properties
        .get(keys::CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        Some(secs) if secs >= 0 => (secs.saturating_mul(1000).max(transaction_timeout_ms), true),
        _ => (transaction_timeout_ms, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::message::RecordRead;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().copied().collect()
    }

    fn half() -> MessageExt {
        let t = to_half_message(
            "Orders",
            3,
            sysflag::TRANSACTION_PREPARED_TYPE | sysflag::MULTI_TAGS,
            &props(&[
                ("TRAN_MSG", "true"),
                ("PGROUP", "PG"),
                ("UNIQ_KEY", "U1"),
                ("TAGS", "a"),
            ]),
        );
        let mut m = MessageExt::new(t.topic, Bytes::from_static(b"payload"));
        m.sys_flag = t.sys_flag;
        m.properties = t.properties;
        m.store_host = "10.0.0.1:10911".parse().unwrap();
        m.born_host = "10.0.0.7:40000".parse().unwrap();
        m.commit_log_offset = 500;
        m.queue_offset = 4;
        m.store_timestamp = 77;
        m
    }

    #[test]
    fn half_conversion() {
        let h = half();
        assert_eq!((h.topic.as_str(), h.queue_id), (HALF_TOPIC, 0));
        assert_eq!(h.sys_flag, sysflag::MULTI_TAGS, "tx bits reset to NOT_TYPE");
        assert_eq!(h.properties.get(keys::REAL_TOPIC), Some("Orders"));
        assert_eq!(h.properties.get(keys::REAL_QID), Some("3"));
        assert_eq!(h.properties.get(keys::TRANSACTION_ID), Some("U1"));
        assert!(is_transaction_prepare(&h.properties, 0));
        assert!(!is_transaction_prepare(
            &props(&[("TRAN_MSG", "true"), ("DELAY", "2")]),
            1
        ));
        assert!(!is_transaction_prepare(&props(&[("TRAN_MSG", "yes")]), 0));
    }

    #[test]
    fn commit_restores_the_destination() {
        let c = commit_message(&half()).unwrap();
        assert_eq!((c.topic.as_str(), c.queue_id), ("Orders", 3));
        assert_eq!(
            c.sys_flag,
            sysflag::MULTI_TAGS | sysflag::TRANSACTION_COMMIT_TYPE
        );
        assert_eq!(c.prepared_transaction_offset, 500);
        assert_eq!(c.body, Bytes::from_static(b"payload"));
        assert_eq!(c.properties.get(keys::PGROUP), Some("PG"));
        let mut bad = half();
        bad.properties.remove(keys::REAL_QID);
        assert!(commit_message(&bad).is_err());
    }

    #[test]
    fn op_records() {
        let host = "10.0.0.1:10911".parse().unwrap();
        let op = op_message(0, 17, host, 5);
        assert_eq!(op.topic, OP_TOPIC);
        assert_eq!(op.body, Bytes::from_static(b"17,"));
        assert_eq!(op.properties.get(keys::TAGS), Some("d"));
        assert_eq!(parse_op_body(b"17,"), vec![17]);
        assert_eq!(parse_op_body(b"17"), vec![17], "4.x: no separator");
        assert_eq!(parse_op_body(b"17,18,x,,-3,"), vec![17, 18]);
        assert!(parse_op_body(b"\xff\xfe").is_empty());
    }

    #[test]
    fn renewed_and_discarded_copies() {
        let r = renew_half_message(&half(), Some(2), None);
        assert_eq!(r.topic, HALF_TOPIC);
        assert_eq!(r.properties.get(keys::TRANSACTION_CHECK_TIMES), Some("2"));
        assert_eq!(r.properties.get(keys::WAIT), Some("false"));
        assert_eq!((r.queue_offset, r.commit_log_offset), (0, 0));
        let i = renew_half_message(&half(), None, Some(4));
        assert_eq!(
            i.properties.get(keys::TRAN_PREPARED_QUEUE_OFFSET),
            Some("4")
        );
        let d = discard_message(&half());
        assert_eq!((d.topic.as_str(), d.queue_id), (CHECK_MAX_TIME_TOPIC, 0));
    }

    #[test]
    fn check_body_is_the_real_message_in_stored_format() {
        let body = check_body(&half()).unwrap();
        let RecordRead::Message(m, len) = MessageExt::decode(&body).unwrap() else {
            panic!("not a record")
        };
        assert_eq!(len, body.len());
        assert_eq!((m.topic.as_str(), m.queue_id), ("Orders", 3));
        assert_eq!((m.commit_log_offset, m.queue_offset), (500, 4));
        assert_eq!(m.store_size as usize, body.len());
    }

    #[test]
    fn immunity() {
        let mut h = half();
        assert_eq!(immunity_time_ms(&h, 6000), (6000, false));
        h.properties
            .insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, "60");
        assert_eq!(immunity_time_ms(&h, 6000), (60_000, true));
        h.properties
            .insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, "1");
        assert_eq!(
            immunity_time_ms(&h, 6000),
            (6000, true),
            "never below the timeout"
        );
        h.properties
            .insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, "x");
        assert_eq!(immunity_time_ms(&h, 6000), (6000, false));
    }
}
