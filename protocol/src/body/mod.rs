//! JSON command bodies in RocketMQ's (fastjson) dialect.
//!
//! This module owns every JSON body that crosses a socket between RocketMQ peers (route data,
//! heartbeats, broker registration, admin and stats bodies) and the JSON config files a broker
//! keeps in its store directory (`topics.json`, `consumerOffset.json`, `delayOffset.json`,
//! `subscriptionGroup.json`). It does not own headers ([`crate::header`]) or message records.
//!
//! ## The dialect
//! Java RocketMQ writes bodies with fastjson, which is not RFC 8259 JSON: map keys that are Java
//! integers are written unquoted (`{"brokerAddrs":{0:"10.0.0.1:10911"}}`) and `MessageQueue` keys
//! are written as raw JSON objects (`{{"brokerName":"b","queueId":0,"topic":"T"}:5}`).
//! [`dialect`] renders and accepts that dialect on top of serde_json; see
//! `shared/docs/rocketmq-wire-reference.md` §4 for the formats.
//!
//! Conventions for every body type here:
//! * fields are declared in alphabetical order of their JSON names, so the output matches
//!   fastjson's alphabetical bean-property order byte for byte;
//! * `null` (Java) fields are `Option`s and are omitted when `None`, like fastjson does;
//! * decoding is lenient: unknown keys are ignored and missing keys take the Java defaults.
//!
//! Encode with [`JsonBody::encode_body`] (fastjson default dialect, unquoted integer keys) and
//! decode with [`JsonBody::decode_body`] (accepts both dialects and Go/C++ variants).

pub mod admin;
pub mod cluster;
pub mod connection;
pub mod dialect;
pub mod heartbeat;
pub mod lock;
pub mod message_queue;
pub mod perm;
mod rectify;
pub mod register_broker;
mod register_broker_compressed;
pub mod route;
pub mod running_info;
pub mod stats;
pub mod store_config;

pub use admin::{
    BrokerStatsData, BrokerStatsItem, CheckClientRequestBody, ConsumeQueueData, ConsumeStatsList,
    GetConsumerStatusBody, QueryConsumeQueueResponseBody, TopicConfigList,
};
pub use cluster::{ClusterInfo, GetConsumerListByGroupResponseBody, GroupList, KvTable, TopicList};
pub use connection::{
    Connection, ConsumerConnection, ProducerConnection, ProducerInfo, ProducerTableInfo,
};
pub use dialect::{from_json_slice, rectify, to_json_string, to_json_vec, IntKeys};
pub use heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};
pub use lock::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
pub use message_queue::{MessageQueue, MqMap};
pub use register_broker::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
pub use route::{BrokerData, QueueData, TopicRouteData};
pub use running_info::{ConsumeStatus, ConsumerRunningInfo, ProcessQueueInfo};
pub use stats::{
    ConsumeStats, OffsetWrapper, QueryConsumeTimeSpanBody, QueryCorrectionOffsetBody,
    QueueTimeSpan, ResetOffsetBody, TopicOffset, TopicStatsTable,
};
pub use store_config::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, SubscriptionGroupConfig,
    SubscriptionGroupWrapper,
};

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde::Serialize;

use crate::error::Result;

/// `MQVersion.Version` ordinals (the `version` header field) at which body formats change.
pub mod mq_version {
    /// Brokers older than this send a bare `TopicConfigSerializeWrapper` as REGISTER_BROKER body.
    pub const V3_0_11: i32 = 37;
    /// Clients at or above this get GET_ROUTEINFO_BY_TOPIC bodies with quoted integer keys.
    pub const V4_9_4: i32 = 401;
    /// Compressed REGISTER_BROKER bodies from brokers at or above this carry the mapping section
    /// and topic attributes.
    pub const V5_0_0: i32 = 413;
    /// The version current Java components (5.3.3) send.
    pub const V5_3_3: i32 = 479;
}

/// A JSON command body: encoded in fastjson's default dialect, decoded leniently.
///
/// Implemented by every body type of this module; the methods are thin wrappers over
/// [`to_json_vec`] and [`from_json_slice`].
pub trait JsonBody: Serialize + DeserializeOwned {
    /// The body bytes as a Java broker/NameServer/client would write them (integer map keys
    /// unquoted, `MessageQueue` keys as raw objects, alphabetical properties).
    fn encode_body(&self) -> Vec<u8> {
        to_json_vec(self, IntKeys::Unquoted)
    }

    /// Parses a body written by Java (fastjson dialect), Go (quoted keys) or C++ clients.
    fn decode_body(body: &[u8]) -> Result<Self> {
        from_json_slice(body)
    }
}

/// Java's `String.hashCode()`; the one implementation lives in [`crate::message::tags`].
pub use crate::message::tags::java_hash_code;

/// Deserializes `null` as the type's default (Go and C++ clients send `null` for empty sets).
pub(crate) fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Declares a Java enum carried in JSON bodies: serialized by name, deserialized from the name
/// (any case), the ordinal (number or numeric string) or `null`; anything unknown becomes the
/// declared default, because a peer must never be rejected over an informational enum (trap 16).
macro_rules! java_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident default $default:ident {
            $($(#[$vmeta:meta])* $variant:ident = $ordinal:literal => $java:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl $name {
            /// Every variant, in Java declaration (ordinal) order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The Java constant name, as fastjson writes it.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $java,)*
                }
            }

            /// The Java `ordinal()`, as the C++ client writes it.
            pub fn ordinal(self) -> i64 {
                match self {
                    $($name::$variant => $ordinal,)*
                }
            }

            /// Looks a Java constant name up, ignoring ASCII case.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(name))
            }

            /// Looks a Java ordinal up.
            pub fn from_ordinal(ordinal: i64) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.ordinal() == ordinal)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let v = crate::body::dialect::LenientScalar::deserialize(d)?;
                Ok(v.as_enum(Self::from_name, Self::from_ordinal).unwrap_or_default())
            }
        }
    };
}
pub(crate) use java_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_code_matches_java_for_ascii() {
        // Values computed by Java's String.hashCode().
        assert_eq!(java_hash_code(""), 0);
        assert_eq!(java_hash_code("a"), 97);
        assert_eq!(java_hash_code("TagA"), 2_598_919);
        assert_eq!(java_hash_code("TagB"), 2_598_920);
        assert_eq!(java_hash_code("hello"), 99_162_322);
        assert_eq!(java_hash_code("Hello, World!"), 1_498_789_909);
        // Wraps around like Java's int arithmetic.
        assert_eq!(java_hash_code("polygenelubricants"), i32::MIN);
        assert_eq!(
            java_hash_code("The quick brown fox jumps over the lazy dog"),
            -609_428_141
        );
    }

    #[test]
    fn java_hash_code_uses_utf16_code_units() {
        // U+00E9 is one code unit (0xE9), not its two UTF-8 bytes.
        assert_eq!(java_hash_code("\u{e9}"), 0xE9);
        assert_eq!(java_hash_code("caf\u{e9}"), 3_045_921);
        // U+4E2D U+6587 ("中文"): 0x4E2D * 31 + 0x6587.
        assert_eq!(java_hash_code("中文"), 0x4E2D * 31 + 0x6587);
        // U+1F600 is the surrogate pair D83D DE00 in UTF-16.
        assert_eq!(java_hash_code("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        assert_eq!(java_hash_code("\u{1F600}"), 1_772_899);
    }

    #[test]
    fn java_hash_code_equals_reference_formula_for_many_strings() {
        fn reference(s: &str) -> i32 {
            let mut h: i64 = 0;
            for unit in s.encode_utf16() {
                h = (h * 31 + i64::from(unit)) & 0xFFFF_FFFF;
            }
            h as u32 as i32
        }
        let samples = [
            "T",
            "%RETRY%G",
            "TagA||TagB",
            "ß",
            "日本語タグ",
            "\u{10FFFF}",
            "a\u{0}b",
            "🚀🚀🚀",
        ];
        for s in samples {
            assert_eq!(java_hash_code(s), reference(s), "{s:?}");
        }
        for len in 0..64 {
            let s: String = (0..len)
                .map(|i| char::from(b'A' + (i % 26) as u8))
                .collect();
            assert_eq!(java_hash_code(&s), reference(&s));
        }
    }
}
