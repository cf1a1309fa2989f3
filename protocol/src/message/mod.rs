//! Messages: the client-side [`Message`], the stored record and its codecs.
//!
//! | module | what it owns |
//! |---|---|
//! | [`record`] | record constants, [`encode_record`], the owned [`MessageExt`] |
//! | [`record_view`] | [`RecordView`] (allocation-free parse) and [`patch_append_fields`] |
//! | [`properties`] | the properties string: [`Properties`], [`find_property`], key names |
//! | [`sysflag`] | `MessageSysFlag` bits and helpers |
//! | [`batch`] | the SEND_BATCH_MESSAGE body |
//! | [`msg_id`] | offset msgIds and `UNIQ_KEY` generation |
//! | [`tags`] | Java hashCode, tags codes, tag subscription expressions |
//!
//! `MessageQueue` lives in `crate::body`, not here.

pub mod batch;
pub mod msg_id;
pub mod properties;
pub mod record;
pub mod record_view;
pub mod sysflag;
pub mod tags;

use bytes::Bytes;

pub use batch::{decode_batch, encode_batch, encode_batch_item, encode_message_batch, BatchItem};
pub use msg_id::{decode_offset_msg_id, offset_msg_id, uniq_id_time_hint, UniqIdGenerator};
pub use properties::{find_property, keys, Properties};
pub use record::{
    body_crc, decode_records, encode_blank, encode_record, MessageExt, MessageVersion, RecordParts,
    RecordRead, BLANK_MAGIC, MAGIC_V1, MAGIC_V2,
};
pub use record_view::{patch_append_fields, RecordView, ViewRead};
pub use tags::{java_hash_code, parse_sub_expression, tags_code, TagFilter};

/// An outgoing message as a producer builds it: Java's `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Destination topic.
    pub topic: String,
    /// User flag, stored as the record's FLAG.
    pub flag: i32,
    /// Properties (tags, keys, delay level, UNIQ_KEY, user properties).
    pub properties: Properties,
    /// Body bytes.
    pub body: Bytes,
    /// Transaction id, set by transactional producers (not sent as a property).
    pub transaction_id: Option<String>,
}

impl Message {
    /// A message with a topic and body, flag 0, no properties.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            flag: 0,
            properties: Properties::new(),
            body: body.into(),
            transaction_id: None,
        }
    }

    /// Sets the tag (TAGS).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.properties.insert_static(keys::TAGS, tags);
        self
    }

    /// Sets the business keys (KEYS, joined with a space).
    pub fn with_keys<I, S>(mut self, message_keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut joined = String::new();
        for key in message_keys {
            if !joined.is_empty() {
                joined.push_str(keys::KEY_SEPARATOR);
            }
            joined.push_str(key.as_ref());
        }
        self.properties.insert(keys::KEYS, joined);
        self
    }

    /// Sets any property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key, value);
        self
    }

    /// Sets the delay level (DELAY, 1-based; see the broker's `messageDelayLevel`).
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.properties.insert(keys::DELAY, level.to_string());
        self
    }

    /// Sets WAIT: whether the broker answers only after flush/replication.
    pub fn with_wait_store_msg_ok(mut self, wait: bool) -> Self {
        self.properties
            .insert(keys::WAIT, if wait { "true" } else { "false" });
        self
    }

    /// Sets the user flag.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Sets the transaction id.
    pub fn with_transaction_id(mut self, id: impl Into<String>) -> Self {
        self.transaction_id = Some(id.into());
        self
    }

    /// The tag.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS)
    }

    /// The business keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let joined = self.properties.get(keys::KEYS).unwrap_or("");
        joined.split(keys::KEY_SEPARATOR).filter(|k| !k.is_empty())
    }

    /// The delay level; 0 when absent or not a number (as Java).
    pub fn delay_level(&self) -> i32 {
        self.properties
            .get(keys::DELAY)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// WAIT: true unless the property is present and not `true` (Java's default).
    pub fn is_wait_store_msg_ok(&self) -> bool {
        self.properties
            .get(keys::WAIT)
            .is_none_or(crate::ext_fields::parse_java_bool)
    }

    /// The client message id (UNIQ_KEY).
    pub fn uniq_key(&self) -> Option<&str> {
        self.properties.get(keys::UNIQ_KEY)
    }

    /// Sets UNIQ_KEY from `generator` unless already present (Java's `setUniqID`).
    pub fn ensure_uniq_key(&mut self, generator: &UniqIdGenerator, now_ms: i64) -> &str {
        if !self.properties.contains_key(keys::UNIQ_KEY) {
            self.properties
                .insert_static(keys::UNIQ_KEY, generator.next_id(now_ms));
        }
        self.properties.get(keys::UNIQ_KEY).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn builder() {
        let msg = Message::new("TopicTest", "hello")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_delay_level(3)
            .with_wait_store_msg_ok(false)
            .with_property("user", "x")
            .with_flag(5);
        assert_eq!(msg.tags(), Some("TagA"));
        assert_eq!(msg.keys().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(msg.delay_level(), 3);
        assert!(!msg.is_wait_store_msg_ok());
        assert_eq!(msg.flag, 5);
        assert_eq!(
            msg.properties.to_wire_string(),
            "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}DELAY\u{1}3\u{2}WAIT\u{1}false\u{2}user\u{1}x\u{2}"
        );
        let plain = Message::new("t", Bytes::new());
        assert!(plain.is_wait_store_msg_ok());
        assert_eq!(plain.delay_level(), 0);
        assert_eq!(plain.keys().count(), 0);
    }

    #[test]
    fn uniq_key_is_set_once() {
        let gen = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 2);
        let mut msg = Message::new("t", "b");
        let first = msg.ensure_uniq_key(&gen, 1_000).to_owned();
        assert_eq!(first.len(), 32);
        assert_eq!(msg.ensure_uniq_key(&gen, 2_000), first);
        assert_eq!(msg.uniq_key(), Some(first.as_str()));
    }
}
