//! The HEART_BEAT body (client → broker): producer groups and consumer groups with their
//! subscriptions.
//!
//! Decoding is deliberately lenient (reference trap 16): the C++ client sends enums as ordinals
//! (`"consumeType":1`), `subVersion` as a string and omits `classFilterMode`, `expressionType`,
//! `heartbeatFingerprint` and `withoutSub`; Go sends `null` for empty sets. None of that may make
//! the broker drop a heartbeat, so every field has a default and enums accept names, ordinals
//! and unknown values (→ default).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::dialect::{lenient_bool, lenient_i64};
use super::{java_enum, java_hash_code, null_default, JsonBody};

java_enum! {
    /// How a consumer group consumes (Java `ConsumeType`).
    pub enum ConsumeType default ConsumePassively {
        /// Pull consumer.
        ConsumeActively = 0 => "CONSUME_ACTIVELY",
        /// Push consumer.
        ConsumePassively = 1 => "CONSUME_PASSIVELY",
        /// [5.x] Pop consumer.
        ConsumePop = 2 => "CONSUME_POP",
    }
}

java_enum! {
    /// Whether each message goes to one member of the group or to all (Java `MessageModel`).
    pub enum MessageModel default Clustering {
        /// Every member receives every message.
        Broadcasting = 0 => "BROADCASTING",
        /// Each message goes to one member (the default).
        Clustering = 1 => "CLUSTERING",
    }
}

java_enum! {
    /// Where a new consumer group starts (Java `ConsumeFromWhere`).
    pub enum ConsumeFromWhere default ConsumeFromLastOffset {
        /// From the end of each queue (the default).
        ConsumeFromLastOffset = 0 => "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = 1 => "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated.
        ConsumeFromMinOffset = 2 => "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated.
        ConsumeFromMaxOffset = 3 => "CONSUME_FROM_MAX_OFFSET",
        /// From the beginning of each queue.
        ConsumeFromFirstOffset = 4 => "CONSUME_FROM_FIRST_OFFSET",
        /// From the first message stored at or after the consumer's `consumeTimestamp`.
        ConsumeFromTimestamp = 5 => "CONSUME_FROM_TIMESTAMP",
    }
}

/// The expression type of tag subscriptions.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";
/// The expression that selects every message.
pub const SUB_ALL: &str = "*";

/// One topic subscription of a consumer group (Java `SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    /// Legacy class-filter mode.
    #[serde(deserialize_with = "lenient_bool")]
    pub class_filter_mode: bool,
    /// Java hash codes of the tags (see [`java_hash_code`]).
    #[serde(deserialize_with = "null_default")]
    pub code_set: BTreeSet<i32>,
    /// `TAG` (default) or `SQL92`.
    #[serde(deserialize_with = "null_default")]
    pub expression_type: String,
    /// The subscription expression as the user wrote it (`*`, `TagA || TagB`, SQL).
    #[serde(deserialize_with = "null_default")]
    pub sub_string: String,
    /// Milliseconds timestamp identifying this version of the subscription.
    #[serde(deserialize_with = "lenient_i64")]
    pub sub_version: i64,
    /// The trimmed tags; empty means all.
    #[serde(deserialize_with = "null_default")]
    pub tags_set: BTreeSet<String>,
    /// The subscribed topic.
    #[serde(deserialize_with = "null_default")]
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        SubscriptionData {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: EXPRESSION_TYPE_TAG.to_owned(),
            sub_string: String::new(),
            sub_version: 0,
            tags_set: BTreeSet::new(),
            topic: String::new(),
        }
    }
}

impl SubscriptionData {
    /// Builds a TAG subscription the way Java's `FilterAPI.buildSubscriptionData` does: the
    /// expression is split on `||`, each tag trimmed (trap 19) and empty ones dropped; `*`
    /// or an empty expression selects everything (`subString` `*`, no tags).
    pub fn from_expression(topic: impl Into<String>, expression: &str, now_ms: i64) -> Self {
        let mut data = SubscriptionData {
            topic: topic.into(),
            sub_version: now_ms,
            ..Default::default()
        };
        let trimmed = java_trim(expression);
        if trimmed.is_empty() || trimmed == SUB_ALL {
            data.sub_string = SUB_ALL.to_owned();
            return data;
        }
        data.sub_string = expression.to_owned();
        for tag in expression
            .split("||")
            .map(java_trim)
            .filter(|t| !t.is_empty())
        {
            data.code_set.insert(java_hash_code(tag));
            data.tags_set.insert(tag.to_owned());
        }
        data
    }

    /// Whether the subscription selects every message of the topic.
    pub fn is_sub_all(&self) -> bool {
        let s = java_trim(&self.sub_string);
        s.is_empty() || s == SUB_ALL || self.tags_set.contains(SUB_ALL)
    }

    /// Whether a message with `tags` passes this TAG subscription.
    pub fn matches_tag(&self, tags: Option<&str>) -> bool {
        if self.is_sub_all() {
            return true;
        }
        tags.is_some_and(|t| self.tags_set.contains(t))
    }
}

/// Java's `String.trim()`: strips characters ≤ U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// One producer group of a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    /// The producer group.
    #[serde(deserialize_with = "null_default")]
    pub group_name: String,
}

/// One consumer group of a client (Java `ConsumerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    /// Where the group starts when it has no offset.
    pub consume_from_where: ConsumeFromWhere,
    /// Push, pull or pop.
    pub consume_type: ConsumeType,
    /// The consumer group.
    #[serde(deserialize_with = "null_default")]
    pub group_name: String,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// The group's subscriptions (Java `Set`, kept in arrival order).
    #[serde(deserialize_with = "null_default")]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode (legacy).
    #[serde(deserialize_with = "lenient_bool")]
    pub unit_mode: bool,
}

/// The HEART_BEAT request body (Java `HeartbeatData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// `clientIP@instanceName[@unitName]`.
    #[serde(rename = "clientID", deserialize_with = "null_default")]
    pub client_id: String,
    /// The client's consumer groups.
    #[serde(deserialize_with = "null_default")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// [5.x] Fingerprint of the subscriptions for heartbeat v2 (0 = v1).
    #[serde(deserialize_with = "lenient_i64")]
    pub heartbeat_fingerprint: i64,
    /// The client's producer groups.
    #[serde(deserialize_with = "null_default")]
    pub producer_data_set: Vec<ProducerData>,
    /// [5.x] Subscriptions omitted because the fingerprint is unchanged.
    #[serde(deserialize_with = "lenient_bool")]
    pub without_sub: bool,
}

impl JsonBody for HeartbeatData {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_expression_splits_and_trims() {
        let s = SubscriptionData::from_expression("T", " TagA ||TagB|| TagA ||  ", 42);
        assert_eq!(s.sub_string, " TagA ||TagB|| TagA ||  ");
        assert_eq!(
            s.tags_set,
            BTreeSet::from(["TagA".to_owned(), "TagB".to_owned()])
        );
        assert_eq!(s.code_set, BTreeSet::from([2_598_919, 2_598_920]));
        assert_eq!((s.sub_version, s.expression_type.as_str()), (42, "TAG"));
        let same = SubscriptionData::from_expression("T", "TagA||TagB", 42);
        assert_eq!(same.tags_set, s.tags_set);
        assert_eq!(same.code_set, s.code_set);
    }

    #[test]
    fn star_and_empty_select_everything() {
        for expr in ["*", "", "  * ", "\t"] {
            let s = SubscriptionData::from_expression("T", expr, 1);
            assert_eq!(s.sub_string, "*", "{expr:?}");
            assert!(s.tags_set.is_empty() && s.code_set.is_empty());
            assert!(s.is_sub_all() && s.matches_tag(None) && s.matches_tag(Some("x")));
        }
    }

    #[test]
    fn matches_tag() {
        let s = SubscriptionData::from_expression("T", "A || B", 1);
        assert!(s.matches_tag(Some("A")) && s.matches_tag(Some("B")));
        assert!(!s.matches_tag(Some("C")) && !s.matches_tag(None));
        assert!(!s.is_sub_all());
    }

    #[test]
    fn enums_accept_names_ordinals_and_garbage() {
        use crate::body::from_json_slice;
        let t: ConsumeType = from_json_slice(b"0").expect("ordinal");
        assert_eq!(t, ConsumeType::ConsumeActively);
        let t: ConsumeType = from_json_slice(b"\"CONSUME_POP\"").expect("name");
        assert_eq!(t, ConsumeType::ConsumePop);
        let m: MessageModel = from_json_slice(b"\"0\"").expect("numeric string");
        assert_eq!(m, MessageModel::Broadcasting);
        let w: ConsumeFromWhere = from_json_slice(b"5").expect("ordinal");
        assert_eq!(w, ConsumeFromWhere::ConsumeFromTimestamp);
        let w: ConsumeFromWhere = from_json_slice(b"99").expect("unknown ordinal");
        assert_eq!(w, ConsumeFromWhere::ConsumeFromLastOffset);
        let w: ConsumeFromWhere = from_json_slice(b"null").expect("null");
        assert_eq!(w, ConsumeFromWhere::default());
        for v in ConsumeFromWhere::ALL {
            assert_eq!(ConsumeFromWhere::from_ordinal(v.ordinal()), Some(*v));
            assert_eq!(ConsumeFromWhere::from_name(v.name()), Some(*v));
        }
    }
}
