//! The message properties string (wire reference §5.3) and the property key names.
//!
//! Format: `key 0x01 value 0x02` repeated, every pair terminated by `0x02`. [`Properties`] is the
//! owned, ordered map used by clients and by the broker when it rewrites a message;
//! [`find_property`] and [`iter_raw`] read the raw bytes of a stored record without allocating,
//! for the dispatch hot path. Both parsers follow Java's tolerant rule exactly: split on `0x02`,
//! keep a segment only when its first `0x01` is neither its first nor its last byte; duplicate
//! keys: the last one wins.

use std::borrow::Cow;

use bytes::BufMut;

/// Separator between a key and its value.
pub const NAME_VALUE_SEPARATOR: u8 = 0x01;
/// Terminator after every key/value pair.
pub const PROPERTY_SEPARATOR: u8 = 0x02;

/// Property key names, as in Java's `MessageConst`.
pub mod keys {
    /// Business keys, separated by [`KEY_SEPARATOR`]; each is indexed.
    pub const KEYS: &str = "KEYS";
    /// The single tag; the consume-queue tags code is its Java hashCode.
    pub const TAGS: &str = "TAGS";
    /// `"true"`/`"false"`: wait for flush/replication before answering (default true).
    pub const WAIT: &str = "WAIT";
    /// Delay level (decimal, 1-based).
    pub const DELAY: &str = "DELAY";
    /// Original topic of a retried message.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Original topic of a scheduled, half or timer message.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue id of a scheduled, half or timer message.
    pub const REAL_QID: &str = "REAL_QID";
    /// `"true"` on transactional half messages.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// Producer group of a transactional message.
    pub const PGROUP: &str = "PGROUP";
    /// Queue min offset, added client-side after a pull.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Queue max offset, added client-side after a pull.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// Legacy buyer id.
    pub const BUYER_ID: &str = "BUYER_ID";
    /// First msgId in a retry chain.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Legacy transfer flag.
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    /// Legacy correction flag.
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    /// Legacy MQ2 flag.
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    /// Reconsume count carried by a client re-send to `%RETRY%`.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Region id, also a SEND response ext field.
    pub const MSG_REGION: &str = "MSG_REGION";
    /// Message trace switch, also a SEND response ext field.
    pub const TRACE_ON: &str = "TRACE_ON";
    /// The client-generated message id (§5.4); indexed.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// Extended unique info.
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    /// Maximum reconsume count carried by a client re-send to `%RETRY%`.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// Consume start time, set by the consumer.
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    /// Inner-batch message count.
    pub const INNER_NUM: &str = "INNER_NUM";
    /// Inner-batch base offset.
    pub const INNER_BASE: &str = "INNER_BASE";
    /// Duplication info.
    pub const DUP_INFO: &str = "DUP_INFO";
    /// Producer-chosen delay before the first transaction check-back.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// Original half-queue offset on re-appended half records.
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// Transaction id (equal to UNIQ_KEY).
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// Check-back counter on half messages.
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// Instance id (namespaces).
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    /// Request-reply correlation id.
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    /// Request-reply: the requesting client.
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// Request-reply time to live.
    pub const TTL: &str = "TTL";
    /// Request-reply arrive time.
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
    /// Request-reply push time.
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    /// Cluster name, added by the broker.
    pub const CLUSTER: &str = "CLUSTER";
    /// Message type (`reply` for request-reply answers).
    pub const MSG_TYPE: &str = "MSG_TYPE";
    /// POP checkpoint (out of scope).
    pub const POP_CK: &str = "POP_CK";
    /// POP checkpoint offset (out of scope).
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    /// POP first pop time (out of scope).
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    /// Sharding key for ordered messages.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// Forward queue id.
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    /// Redirect marker.
    pub const REDIRECT: &str = "REDIRECT";
    /// LMQ multi-dispatch targets (out of scope).
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    /// LMQ multi-dispatch queue offsets (out of scope).
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    /// Trace context.
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    /// [5.x] Timer delay in seconds.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// [5.x] Timer delay in milliseconds.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// [5.x] Absolute timer delivery time in ms.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// [5.x] Timer enqueue time.
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    /// [5.x] Timer dequeue time.
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    /// [5.x] Timer roll count.
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    /// [5.x] Timer out time.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// [5.x] Timer delete marker.
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    /// [5.x] Timer delay level.
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    /// [5.x] Born host carried as a property.
    pub const BORN_HOST: &str = "__BORNHOST";
    /// [5.x] Born timestamp carried as a property.
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    /// [5.x] Optional per-record CRC property (`enabledAppendPropCRC`).
    pub const CRC32: &str = "__CRC32#";
    /// Prefix of transient properties that are never stored.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    /// Separator between the business keys in [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";

    /// Keys reserved for the system: Java's `MessageConst.STRING_HASH_SET`, which
    /// `Message.putUserProperty` refuses.
    pub const SYSTEM_KEYS: &[&str] = &[
        TRACE_ON,
        MSG_REGION,
        KEYS,
        TAGS,
        WAIT,
        DELAY,
        RETRY_TOPIC,
        REAL_TOPIC,
        REAL_QID,
        TRAN_MSG,
        PGROUP,
        MIN_OFFSET,
        MAX_OFFSET,
        BUYER_ID,
        ORIGIN_MESSAGE_ID,
        TRANSFER_FLAG,
        CORRECTION_FLAG,
        MQ2_FLAG,
        RECONSUME_TIME,
        UNIQ_KEY,
        MAX_RECONSUME_TIMES,
        CONSUME_START_TIME,
        POP_CK,
        POP_CK_OFFSET,
        FIRST_POP_TIME,
        TRAN_PREPARED_QUEUE_OFFSET,
        DUP_INFO,
        EXTEND_UNIQ_INFO,
        INSTANCE_ID,
        CORRELATION_ID,
        REPLY_TO_CLIENT,
        TTL,
        ARRIVE_TIME,
        PUSH_REPLY_TIME,
        CLUSTER,
        MSG_TYPE,
        INNER_MULTI_QUEUE_OFFSET,
        TIMER_DELAY_SEC,
        TIMER_DELIVER_MS,
        TIMER_ENQUEUE_MS,
        TIMER_DEQUEUE_MS,
        TIMER_ROLL_TIMES,
        TIMER_OUT_MS,
        TIMER_DEL_UNIQKEY,
        TIMER_DELAY_LEVEL,
        BORN_HOST,
        BORN_TIMESTAMP,
    ];

    /// Whether `key` is reserved for the system (see [`SYSTEM_KEYS`]).
    pub fn is_system_key(key: &str) -> bool {
        SYSTEM_KEYS.contains(&key)
    }
}

/// Iterates the key/value pairs of a raw properties string without allocating, in order,
/// duplicates included. Segments that Java's parser would drop are skipped.
pub fn iter_raw(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    raw.split(|&b| b == PROPERTY_SEPARATOR)
        .filter_map(|segment| {
            let sep = segment.iter().position(|&b| b == NAME_VALUE_SEPARATOR)?;
            // Java keeps a segment only if its first 0x01 is neither first nor last (so both key
            // and value are non-empty); this also implies the segment is at least 3 bytes long.
            if sep == 0 || sep + 1 >= segment.len() {
                return None;
            }
            Some((&segment[..sep], &segment[sep + 1..]))
        })
}

/// The value of `key` in a raw properties string, without allocating; the last occurrence
/// wins, as in Java's parser.
pub fn find_property<'a>(raw: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let key = key.as_bytes();
    iter_raw(raw)
        .filter(|(k, _)| *k == key)
        .last()
        .map(|(_, v)| v)
}

/// An ordered property map. Insertion order is kept so that encoding is deterministic;
/// [`Properties::insert`] on an existing key replaces the value in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// Keys are static strings for the well-known names (no allocation), else owned.
    pairs: Vec<(Cow<'static, str>, String)>,
}

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a properties string with Java's tolerant rule. Never fails: malformed segments
    /// are dropped and invalid UTF-8 is replaced (U+FFFD), as Java's decoder does.
    pub fn decode(raw: &[u8]) -> Properties {
        // One allocation for the pairs: at most one pair per separator-delimited segment.
        let segments = raw.iter().filter(|&&b| b == PROPERTY_SEPARATOR).count() + 1;
        let mut props = Properties {
            pairs: Vec::with_capacity(segments),
        };
        for (k, v) in iter_raw(raw) {
            let key = match std::str::from_utf8(k).ok().and_then(static_key) {
                Some(known) => Cow::Borrowed(known),
                None => Cow::Owned(lossy(k)),
            };
            props.put(key, lossy(v));
        }
        props
    }

    /// Makes room for `additional` more pairs without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        self.pairs.reserve(additional);
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, replacing an existing value in place. Returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.put(Cow::Owned(key.into()), value.into())
    }

    /// [`Properties::insert`] for a static key (such as the [`keys`] constants): the key is not
    /// copied.
    pub fn insert_static(&mut self, key: &'static str, value: impl Into<String>) -> Option<String> {
        self.put(Cow::Borrowed(key), value.into())
    }

    fn put(&mut self, key: Cow<'static, str>, value: String) -> Option<String> {
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.pairs.push((key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(pos).1)
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// Bytes [`Properties::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }

    /// Appends the wire form to `out`: every pair as `key 0x01 value 0x02`, as Java writes it.
    /// Keys and values must not contain `0x01`/`0x02` (Java does not check either; such a pair
    /// would not survive a round trip).
    pub fn encode(&self, out: &mut impl BufMut) {
        for (k, v) in &self.pairs {
            out.put_slice(k.as_bytes());
            out.put_u8(NAME_VALUE_SEPARATOR);
            out.put_slice(v.as_bytes());
            out.put_u8(PROPERTY_SEPARATOR);
        }
    }

    /// The wire form as a new byte vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The wire form as a string, for the `properties` field of SEND_MESSAGE headers.
    pub fn to_wire_string(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        for (k, v) in &self.pairs {
            out.push_str(k);
            out.push(char::from(NAME_VALUE_SEPARATOR));
            out.push_str(v);
            out.push(char::from(PROPERTY_SEPARATOR));
        }
        out
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Properties::new();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

/// The static spelling of a frequent property key, so decoding needs no allocation for it.
fn static_key(key: &str) -> Option<&'static str> {
    use keys::*;
    Some(match key {
        "UNIQ_KEY" => UNIQ_KEY,
        "WAIT" => WAIT,
        "TAGS" => TAGS,
        "KEYS" => KEYS,
        "MIN_OFFSET" => MIN_OFFSET,
        "MAX_OFFSET" => MAX_OFFSET,
        "CONSUME_START_TIME" => CONSUME_START_TIME,
        "RETRY_TOPIC" => RETRY_TOPIC,
        "REAL_TOPIC" => REAL_TOPIC,
        "REAL_QID" => REAL_QID,
        "DELAY" => DELAY,
        "TRAN_MSG" => TRAN_MSG,
        "PGROUP" => PGROUP,
        "ORIGIN_MESSAGE_ID" => ORIGIN_MESSAGE_ID,
        "RECONSUME_TIME" => RECONSUME_TIME,
        "MAX_RECONSUME_TIMES" => MAX_RECONSUME_TIMES,
        "CLUSTER" => CLUSTER,
        _ => return None,
    })
}

fn lossy(bytes: &[u8]) -> String {
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_java_output() {
        let raw = b"TAGS\x01TagA\x02KEYS\x01k1 k2\x02WAIT\x01true\x02";
        let props = Properties::decode(raw);
        assert_eq!(props.get(keys::TAGS), Some("TagA"));
        assert_eq!(props.get(keys::KEYS), Some("k1 k2"));
        assert_eq!(props.get(keys::WAIT), Some("true"));
        assert_eq!(props.len(), 3);
        assert_eq!(props.to_bytes(), raw.to_vec());
        assert_eq!(props.to_wire_string().as_bytes(), raw);
    }

    #[test]
    fn tolerant_rule() {
        // no trailing 0x02, empty key, empty value, no 0x01, short segments, value with 0x01
        let raw = b"\x01v\x02k\x01\x02ab\x02\x02x\x01y\x02a\x01b\x01c";
        let props = Properties::decode(raw);
        let pairs: Vec<_> = props.iter().collect();
        assert_eq!(pairs, vec![("x", "y"), ("a", "b\u{1}c")]);
        assert_eq!(find_property(raw, "a"), Some(&b"b\x01c"[..]));
        assert_eq!(find_property(raw, "k"), None);
        // a segment whose *first* 0x01 is leading is dropped even if another 0x01 follows
        assert!(Properties::decode(b"\x01k\x01v\x02").is_empty());
    }

    #[test]
    fn last_duplicate_wins() {
        let raw = b"k\x01one\x02j\x01x\x02k\x01two\x02";
        let props = Properties::decode(raw);
        assert_eq!(props.get("k"), Some("two"));
        assert_eq!(props.iter().next(), Some(("k", "two")));
        assert_eq!(find_property(raw, "k"), Some(&b"two"[..]));
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let props = Properties::decode(b"k\x01\xff\xfe\x02");
        assert_eq!(props.get("k"), Some("\u{fffd}\u{fffd}"));
    }

    #[test]
    fn insert_remove() {
        let mut props: Properties = [("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(props.insert("a", "3"), Some("1".to_owned()));
        assert_eq!(props.iter().next(), Some(("a", "3")));
        assert_eq!(props.remove("a"), Some("3".to_owned()));
        assert_eq!(props.remove("a"), None);
        assert!(props.contains_key("b"));
        assert_eq!(props.encoded_len(), props.to_bytes().len());
        assert!(keys::is_system_key(keys::UNIQ_KEY));
        assert!(!keys::is_system_key("my-key"));
    }
}
