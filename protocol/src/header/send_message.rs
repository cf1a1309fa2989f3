//! Headers of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and their
//! response (wire reference §2.1 and §2.7).
//!
//! The request exists in two namings with identical meaning: long Java field names (V1, what
//! code 10 and the Go client use) and one-letter names `a`..`n` (V2, what Java uses for 310 and
//! 320). Clients mix codes and namings, so decoding never trusts the code: it looks for
//! `producerGroup` (V1) or `a` (V2) and only falls back to the code when neither is present.

use super::field::command_header;
use super::CommandHeader;
use crate::code::RequestCode;
use crate::error::Result;
use crate::ext_fields::ExtFields;

/// The extFields keys of one naming of the send header.
struct SendKeys {
    producer_group: &'static str,
    topic: &'static str,
    default_topic: &'static str,
    default_topic_queue_nums: &'static str,
    queue_id: &'static str,
    sys_flag: &'static str,
    born_timestamp: &'static str,
    flag: &'static str,
    properties: &'static str,
    reconsume_times: &'static str,
    unit_mode: &'static str,
    max_reconsume_times: &'static str,
    batch: &'static str,
    broker_name: &'static str,
}

/// Long (V1) names. The broker name is the 5.x RPC field `bname`.
const V1_KEYS: SendKeys = SendKeys {
    producer_group: "producerGroup",
    topic: "topic",
    default_topic: "defaultTopic",
    default_topic_queue_nums: "defaultTopicQueueNums",
    queue_id: "queueId",
    sys_flag: "sysFlag",
    born_timestamp: "bornTimestamp",
    flag: "flag",
    properties: "properties",
    reconsume_times: "reconsumeTimes",
    unit_mode: "unitMode",
    max_reconsume_times: "maxReconsumeTimes",
    batch: "batch",
    broker_name: "bname",
};

/// Short (V2) names.
const V2_KEYS: SendKeys = SendKeys {
    producer_group: "a",
    topic: "b",
    default_topic: "c",
    default_topic_queue_nums: "d",
    queue_id: "e",
    sys_flag: "f",
    born_timestamp: "g",
    flag: "h",
    properties: "i",
    reconsume_times: "j",
    unit_mode: "k",
    max_reconsume_times: "l",
    batch: "m",
    broker_name: "n",
};

/// A V1 alternative spelling of the broker name accepted on read.
const V1_BROKER_NAME_ALIAS: &str = "brokerName";

/// Request header of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and the
/// reply-message codes 324/325. `Option` fields may be absent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageRequestHeader {
    /// `producerGroup` / `a`.
    pub producer_group: String,
    /// `topic` / `b`.
    pub topic: String,
    /// `defaultTopic` / `c`: the auto-create template topic, normally `TBW102`.
    pub default_topic: String,
    /// `defaultTopicQueueNums` / `d`: queue count for auto-created topics (Java default 4).
    pub default_topic_queue_nums: i32,
    /// `queueId` / `e`: negative means "broker picks a writable queue".
    pub queue_id: i32,
    /// `sysFlag` / `f`: MessageSysFlag bits.
    pub sys_flag: i32,
    /// `bornTimestamp` / `g`: the producer's clock in ms.
    pub born_timestamp: i64,
    /// `flag` / `h`: the user flag, stored as the message FLAG.
    pub flag: i32,
    /// `properties` / `i`: the message property string.
    pub properties: Option<String>,
    /// `reconsumeTimes` / `j`: meaningful for `%RETRY%` topics only.
    pub reconsume_times: Option<i32>,
    /// `unitMode` / `k`.
    pub unit_mode: Option<bool>,
    /// `maxReconsumeTimes` / `l`: honoured only for request version ≥ 121.
    pub max_reconsume_times: Option<i32>,
    /// `batch` / `m`: true for a batch (Java picks the batch path by this flag).
    pub batch: Option<bool>,
    /// `bname` (V1, also read as `brokerName`) / `n`: the target broker name ([5.x]).
    pub broker_name: Option<String>,
}

impl SendMessageRequestHeader {
    /// Writes the short V2 names `a`..`n` (codes 310 and 320). [`CommandHeader::write_to`]
    /// writes the long V1 names.
    pub fn write_v2_to(&self, ext: &mut ExtFields) {
        self.write_with(ext, &V2_KEYS);
    }

    /// Decodes a send header for request `code`: the naming is detected from the keys
    /// (`producerGroup` → V1, `a` → V2); when neither is present the code decides (310/320 →
    /// V2, otherwise V1), so the missing-field error names the key the sender should have used.
    pub fn read_for_code(code: i32, ext: &ExtFields) -> Result<Self> {
        if ext.get(V1_KEYS.producer_group).is_some() {
            Self::read_with(ext, &V1_KEYS)
        } else if ext.get(V2_KEYS.producer_group).is_some() || uses_v2_names(code) {
            Self::read_with(ext, &V2_KEYS)
        } else {
            Self::read_with(ext, &V1_KEYS)
        }
    }

    /// True when the request is a batch: `code` is SEND_BATCH_MESSAGE (320) or the `batch` flag
    /// is true. The flag is parsed like Java's `parseBoolean`, so the C++ client's `m="1"` is
    /// *not* a batch by flag.
    pub fn is_batch(&self, code: i32) -> bool {
        code == RequestCode::SEND_BATCH_MESSAGE.code() || self.batch == Some(true)
    }

    fn write_with(&self, ext: &mut ExtFields, k: &SendKeys) {
        ext.insert(k.producer_group, self.producer_group.as_str());
        ext.insert(k.topic, self.topic.as_str());
        ext.insert(k.default_topic, self.default_topic.as_str());
        ext.insert(
            k.default_topic_queue_nums,
            self.default_topic_queue_nums.to_string(),
        );
        ext.insert(k.queue_id, self.queue_id.to_string());
        ext.insert(k.sys_flag, self.sys_flag.to_string());
        ext.insert(k.born_timestamp, self.born_timestamp.to_string());
        ext.insert(k.flag, self.flag.to_string());
        ext.insert_opt(k.properties, self.properties.as_deref());
        ext.insert_opt(k.reconsume_times, self.reconsume_times);
        ext.insert_opt(k.unit_mode, self.unit_mode);
        ext.insert_opt(k.max_reconsume_times, self.max_reconsume_times);
        ext.insert_opt(k.batch, self.batch);
        ext.insert_opt(k.broker_name, self.broker_name.as_deref());
    }

    fn read_with(ext: &ExtFields, k: &SendKeys) -> Result<Self> {
        Ok(SendMessageRequestHeader {
            producer_group: ext.string_required(k.producer_group)?,
            topic: ext.string_required(k.topic)?,
            default_topic: ext.string_required(k.default_topic)?,
            default_topic_queue_nums: ext.i32_required(k.default_topic_queue_nums)?,
            queue_id: ext.i32_required(k.queue_id)?,
            sys_flag: ext.i32_required(k.sys_flag)?,
            born_timestamp: ext.i64_required(k.born_timestamp)?,
            flag: ext.i32_required(k.flag)?,
            properties: ext.string_opt(k.properties),
            reconsume_times: ext.i32_opt(k.reconsume_times)?,
            unit_mode: ext.bool_opt(k.unit_mode),
            max_reconsume_times: ext.i32_opt(k.max_reconsume_times)?,
            batch: ext.bool_opt(k.batch),
            broker_name: ext
                .string_opt(k.broker_name)
                .or_else(|| alias_broker_name(ext, k)),
        })
    }
}

/// True for the codes whose Java senders use the short names.
fn uses_v2_names(code: i32) -> bool {
    code == RequestCode::SEND_MESSAGE_V2.code()
        || code == RequestCode::SEND_BATCH_MESSAGE.code()
        || code == RequestCode::SEND_REPLY_MESSAGE_V2.code()
}

fn alias_broker_name(ext: &ExtFields, k: &SendKeys) -> Option<String> {
    if k.broker_name == V1_KEYS.broker_name {
        ext.string_opt(V1_BROKER_NAME_ALIAS)
    } else {
        None
    }
}

impl CommandHeader for SendMessageRequestHeader {
    /// Writes the long V1 names (code 10); see [`SendMessageRequestHeader::write_v2_to`].
    fn write_to(&self, ext: &mut ExtFields) {
        self.write_with(ext, &V1_KEYS);
    }

    /// Reads either naming: V2 when `a` is present and `producerGroup` is not, else V1.
    fn read_from(ext: &ExtFields) -> Result<Self> {
        Self::read_for_code(RequestCode::SEND_MESSAGE.code(), ext)
    }
}

/// extFields key of the broker's region in a send response.
pub const MSG_REGION_KEY: &str = "MSG_REGION";
/// extFields key of the broker's trace switch in a send response.
pub const TRACE_ON_KEY: &str = "TRACE_ON";
/// The region a broker reports when none is configured.
pub const DEFAULT_MSG_REGION: &str = "DefaultRegion";

command_header! {
    /// Response header of the send codes (10/310/320). Java brokers always add `MSG_REGION`
    /// and `TRACE_ON` and the Java client reads both, so a sender should fill them (see
    /// [`SendMessageResponseHeader::with_broker_defaults`]); decoding tolerates their absence.
    pub struct SendMessageResponseHeader {
        /// `msgId`: the offset message id (comma-joined list for a batch).
        msg_id: String = "msgId",
        /// `queueId`: the queue the message was stored in.
        queue_id: i32 = "queueId",
        /// `queueOffset`: the consume-queue offset of the (first) stored message.
        queue_offset: i64 = "queueOffset",
        /// `transactionId`: the UNIQ_KEY of a transactional half message.
        transaction_id: Option<String> = "transactionId",
        /// `batchUniqId`: [5.x] inner-batch id.
        batch_uniq_id: Option<String> = "batchUniqId",
        /// `MSG_REGION`: the broker's region.
        msg_region: Option<String> = "MSG_REGION",
        /// `TRACE_ON`: `"true"` / `"false"`, the broker's trace switch.
        trace_on: Option<String> = "TRACE_ON",
    }
}

impl SendMessageResponseHeader {
    /// Fills `MSG_REGION` with [`DEFAULT_MSG_REGION`] (when unset) and `TRACE_ON` from
    /// `trace_on`, as a Java broker with default settings does.
    pub fn with_broker_defaults(mut self, trace_on: bool) -> Self {
        self.msg_region
            .get_or_insert_with(|| DEFAULT_MSG_REGION.to_owned());
        self.trace_on = Some(trace_on.to_string());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 1,
            born_timestamp: 5,
            batch: Some(false),
            ..Default::default()
        }
    }

    #[test]
    fn either_naming_decodes_under_any_code() {
        let h = sample();
        let (mut v1, mut v2) = (ExtFields::new(), ExtFields::new());
        h.write_to(&mut v1);
        h.write_v2_to(&mut v2);
        for code in [10, 310, 320] {
            assert_eq!(
                SendMessageRequestHeader::read_for_code(code, &v1),
                Ok(h.clone())
            );
            assert_eq!(
                SendMessageRequestHeader::read_for_code(code, &v2),
                Ok(h.clone())
            );
        }
    }

    #[test]
    fn missing_group_is_reported_in_the_codes_naming() {
        let empty = ExtFields::new();
        let err = |code| SendMessageRequestHeader::read_for_code(code, &empty);
        assert_eq!(err(10), Err(crate::Error::MissingField("producerGroup")));
        assert_eq!(err(310), Err(crate::Error::MissingField("a")));
    }

    #[test]
    fn batch_detection_follows_code_or_parse_boolean() {
        let mut h = sample();
        assert!(!h.is_batch(310));
        assert!(h.is_batch(320));
        h.batch = Some(true);
        assert!(h.is_batch(10));
        let ext: ExtFields = [("m", "1")].into_iter().collect();
        assert_eq!(ext.bool_opt("m"), Some(false), "C++ m=1 is not true");
    }

    #[test]
    fn response_defaults() {
        let r = SendMessageResponseHeader::default().with_broker_defaults(false);
        assert_eq!(r.msg_region.as_deref(), Some("DefaultRegion"));
        assert_eq!(r.trace_on.as_deref(), Some("false"));
    }
}
