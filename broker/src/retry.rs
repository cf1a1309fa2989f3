//! Retry and dead-letter handling (wire reference §9): CONSUMER_SEND_MSG_BACK (36) as
//! [`send_msg_back`], and the DLQ decision of the client fallback path (a normal send to
//! `%RETRY%<group>`) as [`fallback_dead_letter_topic`].
//!
//! Owns no state: the topic and group tables are passed in behind their locks (each is locked
//! briefly, never both at once), the store explicitly. The put of a retried message applies the
//! delay rewrite of [`crate::schedule::delay`], so it reaches `%RETRY%<group>` after the delay
//! of its level.

use std::net::SocketAddr;
use std::sync::Mutex;

use protocol::body::perm::{self, PERM_READ_WRITE};
use protocol::code::ResponseCode;
use protocol::header::consumer::ConsumerSendMsgBackRequestHeader;
use protocol::message::{keys, MessageExt, MessageVersion};

use crate::inner_message::{self as im, mix64};
use crate::manager::topic_validator as tv;
use crate::manager::{SubscriptionGroupManager, TopicConfigManager};
use crate::schedule::delay::{delay_level_of, rewrite_for_delay};
use crate::store::commit_log::lock;
use crate::store::{MessageStore, PutMessageResult};

/// Request `version` from which the header's `maxReconsumeTimes` is honoured (V3_4_9).
pub const MAX_RECONSUME_TIMES_MIN_VERSION: i32 = 121;
/// Queues of a `%DLQ%` topic (Java `DLQ_NUMS_PER_GROUP`).
pub const DLQ_NUMS_PER_GROUP: i32 = 1;
/// Topic sys flag of a retry topic created for a unit-mode consumer
/// (`TopicSysFlag.buildSysFlag(false, true)`).
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x2;

/// What [`send_msg_back`] needs from the broker.
#[derive(Debug, Clone, Copy)]
pub struct SendBackContext<'a> {
    /// The message store (original record read, retry record written).
    pub store: &'a MessageStore,
    /// The topic table (retry and DLQ topics are created on demand).
    pub topics: &'a Mutex<TopicConfigManager>,
    /// The subscription-group table.
    pub groups: &'a Mutex<SubscriptionGroupManager>,
    /// `brokerIP1:listenPort`: STOREHOST of the new record.
    pub store_host: SocketAddr,
    /// `brokerPermission`: without write permission the request is refused (16).
    pub broker_permission: i32,
    /// `autoCreateSubscriptionGroup`: an unknown group is created instead of refused (26).
    pub auto_create_subscription_group: bool,
    /// Number of delay levels (`messageDelayLevel`); higher levels are clamped.
    pub max_delay_level: i32,
}

/// Result of [`send_msg_back`]: the response code and remark, and the put when one happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBackOutcome {
    /// Response code: 0, 1 SYSTEM_ERROR, 16 NO_PERMISSION, 26 SUBSCRIPTION_GROUP_NOT_EXIST, or
    /// 13 MESSAGE_ILLEGAL when the new record cannot be encoded.
    pub code: ResponseCode,
    /// Response remark.
    pub remark: Option<String>,
    /// The put of the new record (in SYNC_FLUSH mode the caller defers the response until
    /// `append.end_offset` is flushed).
    pub put: Option<PutMessageResult>,
    /// Whether the message went to the DLQ.
    pub to_dlq: bool,
}

impl SendBackOutcome {
    fn reply(code: ResponseCode, remark: impl Into<Option<String>>) -> Self {
        SendBackOutcome {
            code,
            remark: remark.into(),
            put: None,
            to_dlq: false,
        }
    }
}

/// The effective maximum reconsume times: the header's value for requests at
/// [`MAX_RECONSUME_TIMES_MIN_VERSION`] or later, else the group's `retryMaxTimes`.
pub fn effective_max_reconsume_times(request_version: i32, header: Option<i32>, group: i32) -> i32 {
    match header {
        Some(v) if request_version >= MAX_RECONSUME_TIMES_MIN_VERSION => v,
        _ => group,
    }
}

/// Where a sent-back message goes (§9 step 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackTarget {
    /// `%DLQ%<group>` queue 0, no delay.
    DeadLetter,
    /// A `%RETRY%<group>` queue after delay level `delay_level`.
    Retry {
        /// The delay level to set (`3 + reconsumeTimes` when the header says 0).
        delay_level: i32,
    },
}

/// §9 step 3: DLQ when the message was reconsumed `max_reconsume_times` times already or the
/// consumer asked for it (`delay_level < 0`); else retry with the header's level, or
/// `3 + reconsume_times` when that is 0.
pub fn send_back_target(
    reconsume_times: i32,
    max_reconsume_times: i32,
    header_delay_level: i32,
) -> SendBackTarget {
    if reconsume_times >= max_reconsume_times || header_delay_level < 0 {
        SendBackTarget::DeadLetter
    } else if header_delay_level == 0 {
        SendBackTarget::Retry {
            delay_level: 3i32.saturating_add(reconsume_times),
        }
    } else {
        SendBackTarget::Retry {
            delay_level: header_delay_level,
        }
    }
}

/// Client fallback path (a normal send to `%RETRY%<group>`, Java `handleRetryAndDLQ`): the DLQ
/// topic the message must go to instead — when it was reconsumed more than allowed, or the
/// group holds live ordered-queue locks (an orderly consumer gave up) — else `None`. The send
/// processor then creates the DLQ topic, stores in queue 0 and sets `DELAY=-1`.
pub fn fallback_dead_letter_topic(
    topic: &str,
    reconsume_times: i32,
    max_reconsume_times: i32,
    group_has_live_locks: bool,
) -> Option<String> {
    let group = topic.strip_prefix(tv::RETRY_GROUP_TOPIC_PREFIX)?;
    (reconsume_times > max_reconsume_times || group_has_live_locks).then(|| tv::dlq_topic(group))
}

/// The new record of a send-back (§9 step 4) for `target_topic`/`queue_id`: same body, flag,
/// properties, sysflag and born info as `original`, STOREHOST `store_host`, reconsume times + 1,
/// `RETRY_TOPIC` set when absent, `WAIT=false`, `DELAY` = the target's level (0 for the DLQ)
/// and `ORIGIN_MESSAGE_ID` = the existing one or the original's offset msgId.
pub fn build_send_back_message(
    original: &MessageExt,
    target: SendBackTarget,
    target_topic: &str,
    queue_id: i32,
    store_host: SocketAddr,
) -> MessageExt {
    let mut m = original.clone();
    let p = &mut m.properties;
    if p.get(keys::RETRY_TOPIC).is_none() {
        p.insert(keys::RETRY_TOPIC, original.topic.as_str());
    }
    p.insert(keys::WAIT, "false");
    let level = match target {
        SendBackTarget::DeadLetter => 0,
        SendBackTarget::Retry { delay_level } => delay_level,
    };
    p.insert(keys::DELAY, level.to_string());
    let origin = match p.get(keys::ORIGIN_MESSAGE_ID) {
        Some(id) if !id.trim().is_empty() => id.to_string(),
        _ => im::msg_id_of(original),
    };
    p.insert(keys::ORIGIN_MESSAGE_ID, origin);
    m.topic = target_topic.to_string();
    m.queue_id = queue_id;
    m.store_host = store_host;
    m.reconsume_times = original.reconsume_times.saturating_add(1);
    m.version = MessageVersion::V1;
    m.prepared_transaction_offset = 0;
    m.store_timestamp = 0;
    m
}

struct GroupSettings {
    retry_queue_nums: i32,
    retry_max_times: i32,
}

fn group_settings(ctx: &SendBackContext<'_>, group: &str, now_ms: u64) -> Option<GroupSettings> {
    let mut groups = lock(ctx.groups);
    let g = groups.find_or_auto_create(group, ctx.auto_create_subscription_group, now_ms)?;
    Some(GroupSettings {
        retry_queue_nums: g.retry_queue_nums,
        retry_max_times: g.retry_max_times,
    })
}

/// Creates (if absent) the retry topic, checks it is writable; `Err` is the reply.
fn ensure_retry_topic(
    ctx: &SendBackContext<'_>,
    group: &str,
    queue_nums: i32,
    unit_mode: bool,
    now_ms: u64,
) -> Result<(), SendBackOutcome> {
    let topic = tv::retry_topic(group);
    let mut topics = lock(ctx.topics);
    let config = if unit_mode {
        let order = topics.is_order_topic(&topic);
        let sys_flag = TOPIC_SYS_FLAG_UNIT_SUB;
        (tv::validate_topic(&topic).is_ok()).then(|| {
            topics.create_topic_in_send_message_back_method(
                &topic,
                queue_nums,
                PERM_READ_WRITE,
                order,
                sys_flag,
                now_ms,
            )
        })
    } else {
        topics.create_retry_topic_if_absent(group, queue_nums, now_ms)
    };
    match config {
        None => Err(SendBackOutcome::reply(
            ResponseCode::SYSTEM_ERROR,
            format!("topic[{topic}] not exist"),
        )),
        Some(c) if !perm::is_writeable(c.perm) => Err(SendBackOutcome::reply(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{topic}] sending message is forbidden"),
        )),
        Some(_) => Ok(()),
    }
}

/// The topic and queue of a send-back to `target` (creating the DLQ topic when needed).
fn destination(
    ctx: &SendBackContext<'_>,
    group: &str,
    target: SendBackTarget,
    retry_queue_nums: i32,
    seed: u64,
    now_ms: u64,
) -> Result<(String, i32), SendBackOutcome> {
    match target {
        SendBackTarget::DeadLetter => {
            if lock(ctx.topics)
                .create_dlq_topic_if_absent(group, now_ms)
                .is_none()
            {
                return Err(SendBackOutcome::reply(
                    ResponseCode::SYSTEM_ERROR,
                    format!("topic[{}] not exist", tv::dlq_topic(group)),
                ));
            }
            Ok((tv::dlq_topic(group), 0))
        }
        SendBackTarget::Retry { .. } => {
            let n = u64::try_from(retry_queue_nums.max(1)).unwrap_or(1);
            Ok((tv::retry_topic(group), (mix64(seed) % n) as i32))
        }
    }
}

/// CONSUMER_SEND_MSG_BACK (36), §9: re-stores the message at commitlog offset `header.offset`
/// in `%RETRY%<group>` (delayed by level `3 + reconsumeTimes` unless the header names one) or,
/// once `maxReconsumeTimes` is reached or `delayLevel < 0`, in `%DLQ%<group>` queue 0.
/// `request_version` is the request's `version` (the header's `maxReconsumeTimes` counts from
/// 121). Never fails: store errors become SYSTEM_ERROR with a remark.
pub fn send_msg_back(
    ctx: &SendBackContext<'_>,
    header: &ConsumerSendMsgBackRequestHeader,
    request_version: i32,
    now_ms: u64,
) -> SendBackOutcome {
    let group = header.group.as_str();
    let Some(settings) = group_settings(ctx, group, now_ms) else {
        return SendBackOutcome::reply(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {group}"),
        );
    };
    if !perm::is_writeable(ctx.broker_permission) {
        return SendBackOutcome::reply(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                ctx.store_host.ip()
            ),
        );
    }
    if settings.retry_queue_nums <= 0 {
        return SendBackOutcome::reply(ResponseCode::SUCCESS, None);
    }
    let unit_mode = header.unit_mode.unwrap_or(false);
    if let Err(reply) = ensure_retry_topic(ctx, group, settings.retry_queue_nums, unit_mode, now_ms)
    {
        return reply;
    }
    let original = match im::load_message(ctx.store, header.offset) {
        Ok(Some(m)) => m,
        other => {
            if let Err(e) = other {
                log::warn!("send back of offset {}: {e}", header.offset);
            }
            return SendBackOutcome::reply(
                ResponseCode::SYSTEM_ERROR,
                format!("look message by offset failed, {}", header.offset),
            );
        }
    };
    let max = effective_max_reconsume_times(
        request_version,
        header.max_reconsume_times,
        settings.retry_max_times,
    );
    let target = send_back_target(original.reconsume_times, max, header.delay_level);
    let seed = now_ms ^ (header.offset as u64).rotate_left(32);
    let (topic, queue_id) =
        match destination(ctx, group, target, settings.retry_queue_nums, seed, now_ms) {
            Ok(d) => d,
            Err(reply) => return reply,
        };
    let msg = build_send_back_message(&original, target, &topic, queue_id, ctx.store_host);
    let mut outcome = put_send_back(ctx, msg);
    outcome.to_dlq = target == SendBackTarget::DeadLetter;
    outcome
}

/// Applies the delay rewrite and stores the record.
fn put_send_back(ctx: &SendBackContext<'_>, mut msg: MessageExt) -> SendBackOutcome {
    if delay_level_of(&msg.properties) > 0 {
        if let Some(d) = rewrite_for_delay(
            &msg.topic,
            msg.queue_id,
            msg.sys_flag,
            &msg.properties,
            ctx.max_delay_level,
        ) {
            msg.topic = d.topic.to_string();
            msg.queue_id = d.queue_id;
            msg.properties = d.properties;
        }
    }
    let put = im::put_message_ext(ctx.store, &msg);
    let code = if im::is_stored(&put) {
        ResponseCode::SUCCESS
    } else if im::is_transient_failure(put.status) {
        ResponseCode::SYSTEM_ERROR
    } else {
        ResponseCode::MESSAGE_ILLEGAL
    };
    let remark = (code != ResponseCode::SUCCESS).then(|| format!("{:?}", put.status));
    SendBackOutcome {
        code,
        remark,
        put: Some(put),
        to_dlq: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn target_rules() {
        assert_eq!(
            send_back_target(0, 16, 0),
            SendBackTarget::Retry { delay_level: 3 }
        );
        assert_eq!(
            send_back_target(5, 16, 0),
            SendBackTarget::Retry { delay_level: 8 }
        );
        assert_eq!(
            send_back_target(5, 16, 2),
            SendBackTarget::Retry { delay_level: 2 }
        );
        assert_eq!(send_back_target(16, 16, 0), SendBackTarget::DeadLetter);
        assert_eq!(send_back_target(0, 16, -1), SendBackTarget::DeadLetter);
        assert_eq!(send_back_target(0, 0, 0), SendBackTarget::DeadLetter);
    }

    #[test]
    fn max_reconsume_times_by_version() {
        assert_eq!(effective_max_reconsume_times(479, Some(3), 16), 3);
        assert_eq!(effective_max_reconsume_times(121, Some(3), 16), 3);
        assert_eq!(effective_max_reconsume_times(120, Some(3), 16), 16);
        assert_eq!(effective_max_reconsume_times(479, None, 16), 16);
    }

    #[test]
    fn fallback_dlq_rules() {
        assert_eq!(
            fallback_dead_letter_topic("%RETRY%G", 17, 16, false),
            Some("%DLQ%G".into())
        );
        assert_eq!(fallback_dead_letter_topic("%RETRY%G", 16, 16, false), None);
        assert_eq!(
            fallback_dead_letter_topic("%RETRY%G", 0, 16, true),
            Some("%DLQ%G".into())
        );
        assert_eq!(
            fallback_dead_letter_topic("T", 99, 16, true),
            None,
            "not a retry topic"
        );
    }

    #[test]
    fn send_back_record_fields() {
        let mut o = MessageExt::new("Orders", Bytes::from_static(b"b"));
        o.store_host = "10.0.0.1:10911".parse().unwrap();
        o.commit_log_offset = 0x1234;
        o.reconsume_times = 2;
        o.flag = 3;
        o.properties.insert("TAGS", "a");
        let host: SocketAddr = "10.0.0.2:10911".parse().unwrap();
        let r = build_send_back_message(
            &o,
            SendBackTarget::Retry { delay_level: 5 },
            "%RETRY%G",
            0,
            host,
        );
        assert_eq!(
            (r.topic.as_str(), r.reconsume_times, r.flag),
            ("%RETRY%G", 3, 3)
        );
        assert_eq!(r.store_host, host);
        assert_eq!(r.properties.get(keys::RETRY_TOPIC), Some("Orders"));
        assert_eq!(r.properties.get(keys::DELAY), Some("5"));
        assert_eq!(r.properties.get(keys::WAIT), Some("false"));
        assert_eq!(
            r.properties.get(keys::ORIGIN_MESSAGE_ID),
            Some("0A00000100002A9F0000000000001234")
        );
        assert_eq!(r.properties.get(keys::TAGS), Some("a"));
        // A second hop keeps RETRY_TOPIC and ORIGIN_MESSAGE_ID.
        let mut again = r.clone();
        again.commit_log_offset = 0x9999;
        let r2 = build_send_back_message(&again, SendBackTarget::DeadLetter, "%DLQ%G", 0, host);
        assert_eq!(r2.properties.get(keys::RETRY_TOPIC), Some("Orders"));
        assert_eq!(
            r2.properties.get(keys::ORIGIN_MESSAGE_ID),
            Some("0A00000100002A9F0000000000001234")
        );
        assert_eq!(r2.properties.get(keys::DELAY), Some("0"));
        assert_eq!(r2.reconsume_times, 4);
    }
}
