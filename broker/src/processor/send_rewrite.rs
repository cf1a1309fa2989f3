//! The pure part of the send path: where a message is really stored and which properties the
//! broker adds (wire reference §7 delay, §8 transaction half messages, §9 retry/DLQ), and how
//! store outcomes map to response codes (§2.1).
//!
//! Nothing here touches the store, sockets or clocks; [`super::send_message`] calls these on
//! the loop thread and encodes the record once with the result.

use protocol::message::{keys, sysflag, Properties};
use protocol::ResponseCode;

use crate::store::{FlushOutcome, PutMessageStatus};

use crate::manager::topic_validator::RETRY_GROUP_TOPIC_PREFIX;
pub use crate::manager::topic_validator::{
    RMQ_SYS_SCHEDULE_TOPIC as SCHEDULE_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC as TRANS_HALF_TOPIC,
};
/// Request `version` from which `maxReconsumeTimes` in a send header is honoured (V3_4_9).
pub const MAX_RECONSUME_TIMES_MIN_VERSION: i32 = 121;

/// Where (and with which sysflag) a message is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreTarget {
    /// Topic of the stored record.
    pub topic: String,
    /// Queue of the stored record.
    pub queue_id: i32,
    /// SYSFLAG of the stored record (host bits are set by the encoder).
    pub sys_flag: i32,
}

/// The consumer group of a retry topic (`%RETRY%G` → `G`).
pub fn retry_group(topic: &str) -> Option<&str> {
    topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX)
}

/// Whether a message sent to a retry topic goes to the group's DLQ instead: more reconsumes
/// than allowed, or the group holds live ordered-queue locks (an orderly consumer gave up).
pub fn goes_to_dlq(
    reconsume_times: i32,
    max_reconsume_times: i32,
    group_has_live_locks: bool,
) -> bool {
    reconsume_times > max_reconsume_times || group_has_live_locks
}

/// The effective maximum reconsume times of a retry send: the header's value when present and
/// the request is recent enough, else the group's `retryMaxTimes`.
pub fn max_reconsume_times(
    request_version: i32,
    header_value: Option<i32>,
    group_retry_max_times: i32,
) -> i32 {
    match header_value {
        Some(v) if request_version >= MAX_RECONSUME_TIMES_MIN_VERSION => v,
        _ => group_retry_max_times,
    }
}

/// Marks a retry message as dead-lettered: `DELAY=-1` (never scheduled), as Java does.
pub fn mark_dead_letter(props: &mut Properties) {
    props.insert(keys::DELAY, "-1");
}

/// The delay level of a message: `DELAY` parsed as a decimal, 0 when absent or not a number.
pub fn delay_level(props: &Properties) -> i32 {
    props
        .get(keys::DELAY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the message asks to be a transactional half message (`TRAN_MSG` parsed as a Java
/// boolean) and is not a legacy retry of one (`reconsume_times > 0 && delay > 0`, clients before
/// 4.6.1 kept `TRAN_MSG` on retries).
pub fn is_transaction_prepare(props: &Properties, reconsume_times: i32) -> bool {
    let flagged = props
        .get(keys::TRAN_MSG)
        .is_some_and(protocol::ext_fields::parse_java_bool);
    flagged && !(reconsume_times > 0 && delay_level(props) > 0)
}

/// Converts a message into a half message: the real topic and queue go into `REAL_TOPIC` /
/// `REAL_QID`, `__transactionId__` is the UNIQ_KEY, the transaction bits become NOT_TYPE (so it
/// is dispatched like a normal message) and it is stored in queue 0 of [`TRANS_HALF_TOPIC`].
pub fn to_half_message(props: &mut Properties, target: &StoreTarget) -> StoreTarget {
    props.insert(keys::REAL_TOPIC, target.topic.as_str());
    props.insert(keys::REAL_QID, target.queue_id.to_string());
    if let Some(uniq) = props.get(keys::UNIQ_KEY).map(str::to_owned) {
        props.insert(keys::TRANSACTION_ID, uniq);
    }
    StoreTarget {
        topic: TRANS_HALF_TOPIC.to_owned(),
        queue_id: 0,
        sys_flag: sysflag::reset_transaction_value(target.sys_flag, sysflag::TRANSACTION_NOT_TYPE),
    }
}

/// Applies a delay level (Java `CommitLog` at put time): for a normal or committed message with
/// `DELAY > 0`, clamps the level to `max_level` (writing the clamped value back), records the
/// real topic/queue and redirects it to queue `level - 1` of [`SCHEDULE_TOPIC`]. Returns `None`
/// when the message is not delayed.
pub fn apply_delay(
    props: &mut Properties,
    target: &StoreTarget,
    max_level: i32,
) -> Option<StoreTarget> {
    let tx = sysflag::transaction_value(target.sys_flag);
    if tx != sysflag::TRANSACTION_NOT_TYPE && tx != sysflag::TRANSACTION_COMMIT_TYPE {
        return None;
    }
    let mut level = delay_level(props);
    if level <= 0 || max_level <= 0 {
        return None;
    }
    if level > max_level {
        level = max_level;
        props.insert(keys::DELAY, level.to_string());
    }
    props.insert(keys::REAL_TOPIC, target.topic.as_str());
    props.insert(keys::REAL_QID, target.queue_id.to_string());
    Some(StoreTarget {
        topic: SCHEDULE_TOPIC.to_owned(),
        queue_id: level - 1,
        sys_flag: target.sys_flag,
    })
}

/// Fills properties from a batch request's header into one batch item: every header key the
/// item does not carry itself (4.x appends the header's properties; an item's own UNIQ_KEY must
/// never be replaced by a 5.x batch-level one).
pub fn merge_batch_header_properties(item: &mut Properties, header: &Properties) {
    for (k, v) in header.iter() {
        if k != keys::UNIQ_KEY && !item.contains_key(k) {
            item.insert(k, v);
        }
    }
}

/// Response code for a put status: `Ok` when the message was stored (the reply carries the
/// send header; FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE are completed
/// sends for clients), `Err((code, remark))` when it was not.
pub fn put_response_code(
    status: PutMessageStatus,
) -> Result<ResponseCode, (ResponseCode, &'static str)> {
    use PutMessageStatus as S;
    use ResponseCode as R;
    match status {
        S::PUT_OK => Ok(R::SUCCESS),
        S::FLUSH_DISK_TIMEOUT => Ok(R::FLUSH_DISK_TIMEOUT),
        S::FLUSH_SLAVE_TIMEOUT => Ok(R::FLUSH_SLAVE_TIMEOUT),
        S::SLAVE_NOT_AVAILABLE => Ok(R::SLAVE_NOT_AVAILABLE),
        S::SERVICE_NOT_AVAILABLE => Err((
            R::SERVICE_NOT_AVAILABLE,
            "service not available now. It may be caused by one of the following reasons: \
             the broker's disk is full, messages are put to the slave, message store has been \
             shut down, etc.",
        )),
        S::OS_PAGE_CACHE_BUSY => Err((
            R::SYSTEM_BUSY,
            "[REJECTREQUEST]system busy, start flow control for a while",
        )),
        S::MESSAGE_ILLEGAL | S::PROPERTIES_SIZE_EXCEEDED => Err((
            R::MESSAGE_ILLEGAL,
            "the message is illegal, maybe msg body or properties length not matched. \
             msg properties length limit 32KB.",
        )),
        S::CREATE_MAPPED_FILE_FAILED => Err((
            R::SYSTEM_ERROR,
            "create mapped file failed, server is busy or broken.",
        )),
        S::UNKNOWN_ERROR => Err((R::SYSTEM_ERROR, "UNKNOWN_ERROR")),
    }
}

/// Response code of a deferred SYNC_FLUSH reply: a failed fdatasync is SYSTEM_ERROR, never
/// success.
pub fn flush_response_code(outcome: FlushOutcome) -> ResponseCode {
    match outcome {
        FlushOutcome::Flushed => ResponseCode::SUCCESS,
        FlushOutcome::Timeout => ResponseCode::FLUSH_DISK_TIMEOUT,
        FlushOutcome::Failed => ResponseCode::SYSTEM_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(topic: &str, queue_id: i32, sys_flag: i32) -> StoreTarget {
        StoreTarget {
            topic: topic.into(),
            queue_id,
            sys_flag,
        }
    }

    #[test]
    fn delay_rewrites_to_the_schedule_queue_and_clamps() {
        let mut p = Properties::new();
        p.insert(keys::DELAY, "3");
        let t = apply_delay(&mut p, &target("T", 2, 0), 18).expect("delayed");
        assert_eq!(t, target(SCHEDULE_TOPIC, 2, 0));
        assert_eq!(p.get(keys::REAL_TOPIC), Some("T"));
        assert_eq!(p.get(keys::REAL_QID), Some("2"));
        let mut p = Properties::new();
        p.insert(keys::DELAY, "40");
        let t = apply_delay(&mut p, &target("T", 0, 0), 18).expect("delayed");
        assert_eq!(t.queue_id, 17);
        assert_eq!(p.get(keys::DELAY), Some("18"));
    }

    #[test]
    fn no_delay_for_zero_negative_garbage_or_prepared() {
        for v in ["0", "-1", "x"] {
            let mut p = Properties::new();
            p.insert(keys::DELAY, v);
            assert_eq!(apply_delay(&mut p, &target("T", 0, 0), 18), None, "{v}");
            assert!(!p.contains_key(keys::REAL_TOPIC));
        }
        let mut p = Properties::new();
        p.insert(keys::DELAY, "2");
        let prepared = sysflag::TRANSACTION_PREPARED_TYPE;
        assert_eq!(apply_delay(&mut p, &target("T", 0, prepared), 18), None);
        let commit = sysflag::TRANSACTION_COMMIT_TYPE;
        assert!(apply_delay(&mut p, &target("T", 0, commit), 18).is_some());
    }

    #[test]
    fn half_message_keeps_the_real_destination() {
        let mut p = Properties::new();
        p.insert(keys::TRAN_MSG, "true");
        p.insert(keys::UNIQ_KEY, "ABC");
        assert!(is_transaction_prepare(&p, 0));
        let flag = sysflag::TRANSACTION_PREPARED_TYPE | sysflag::MULTI_TAGS;
        let half = to_half_message(&mut p, &target("Orders", 3, flag));
        assert_eq!(half, target(TRANS_HALF_TOPIC, 0, sysflag::MULTI_TAGS));
        assert_eq!(p.get(keys::REAL_TOPIC), Some("Orders"));
        assert_eq!(p.get(keys::REAL_QID), Some("3"));
        assert_eq!(p.get(keys::TRANSACTION_ID), Some("ABC"));
    }

    #[test]
    fn transaction_flag_rules() {
        let mut p = Properties::new();
        p.insert(keys::TRAN_MSG, "TRUE");
        assert!(is_transaction_prepare(&p, 0));
        p.insert(keys::DELAY, "3");
        assert!(
            !is_transaction_prepare(&p, 1),
            "legacy retry of a tx message"
        );
        p.insert(keys::TRAN_MSG, "1");
        assert!(
            !is_transaction_prepare(&p, 0),
            "parseBoolean(\"1\") is false"
        );
    }

    #[test]
    fn retry_rules() {
        assert_eq!(retry_group("%RETRY%G1"), Some("G1"));
        assert_eq!(retry_group("T"), None);
        assert_eq!(max_reconsume_times(479, Some(3), 16), 3);
        assert_eq!(max_reconsume_times(100, Some(3), 16), 16);
        assert_eq!(max_reconsume_times(479, None, 16), 16);
        assert!(!goes_to_dlq(16, 16, false));
        assert!(goes_to_dlq(17, 16, false));
        assert!(goes_to_dlq(0, 16, true));
        let mut p = Properties::new();
        p.insert(keys::DELAY, "5");
        mark_dead_letter(&mut p);
        assert_eq!(delay_level(&p), -1);
    }

    #[test]
    fn batch_header_fills_missing_keys_only() {
        let mut item = Properties::new();
        item.insert(keys::UNIQ_KEY, "ITEM");
        item.insert(keys::TAGS, "a");
        let mut header = Properties::new();
        header.insert(keys::UNIQ_KEY, "BATCH");
        header.insert(keys::WAIT, "false");
        header.insert(keys::TAGS, "b");
        merge_batch_header_properties(&mut item, &header);
        assert_eq!(item.get(keys::UNIQ_KEY), Some("ITEM"));
        assert_eq!(item.get(keys::TAGS), Some("a"));
        assert_eq!(item.get(keys::WAIT), Some("false"));
    }

    #[test]
    fn store_outcomes_map_to_response_codes() {
        use PutMessageStatus as S;
        use ResponseCode as R;
        assert_eq!(put_response_code(S::PUT_OK), Ok(R::SUCCESS));
        assert_eq!(
            put_response_code(S::FLUSH_DISK_TIMEOUT),
            Ok(R::FLUSH_DISK_TIMEOUT)
        );
        assert_eq!(
            put_response_code(S::SLAVE_NOT_AVAILABLE),
            Ok(R::SLAVE_NOT_AVAILABLE)
        );
        let code = |s| put_response_code(s).unwrap_err().0;
        assert_eq!(code(S::SERVICE_NOT_AVAILABLE), R::SERVICE_NOT_AVAILABLE);
        assert_eq!(code(S::MESSAGE_ILLEGAL), R::MESSAGE_ILLEGAL);
        assert_eq!(code(S::PROPERTIES_SIZE_EXCEEDED), R::MESSAGE_ILLEGAL);
        assert_eq!(code(S::CREATE_MAPPED_FILE_FAILED), R::SYSTEM_ERROR);
        assert_eq!(code(S::UNKNOWN_ERROR), R::SYSTEM_ERROR);
        let (busy, remark) = put_response_code(S::OS_PAGE_CACHE_BUSY).unwrap_err();
        assert_eq!(busy, R::SYSTEM_BUSY);
        assert!(remark.starts_with("[REJECTREQUEST]system busy"));
        assert_eq!(flush_response_code(FlushOutcome::Flushed), R::SUCCESS);
        assert_eq!(
            flush_response_code(FlushOutcome::Timeout),
            R::FLUSH_DISK_TIMEOUT
        );
        assert_eq!(flush_response_code(FlushOutcome::Failed), R::SYSTEM_ERROR);
    }
}
