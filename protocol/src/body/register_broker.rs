//! Broker registration: `DataVersion`, `TopicConfig`, the topic-config wrapper (also the
//! `topics.json` store file and the GET_ALL_TOPIC_CONFIG body) and `RegisterBrokerBody`.
//!
//! REGISTER_BROKER bodies come in three shapes, chosen by the request header ([`RegisterBrokerBody::decode`]):
//! * JSON (the default): `{"filterServerList":[],"topicConfigSerializeWrapper":{...}}`;
//! * zlib-compressed binary when header `compressed=true` (see `register_broker_compressed`);
//! * from brokers older than V3_0_11, a bare `TopicConfigSerializeWrapper`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dialect::from_json_slice;
use super::mq_version::V3_0_11;
use super::perm::PERM_READ_WRITE;
use super::{java_enum, register_broker_compressed, JsonBody};
use crate::error::Result;

/// Version stamp of a broker's topic (or other) config table (Java `DataVersion`).
///
/// JSON `{"counter":7,"stateVersion":0,"timestamp":1700000000000}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    /// Incremented on every change.
    pub counter: i64,
    /// [5.x] Controller/acting-master state version.
    pub state_version: i64,
    /// Milliseconds since the epoch of the last change.
    pub timestamp: i64,
}

impl JsonBody for DataVersion {}

impl DataVersion {
    /// A fresh version stamped `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        DataVersion {
            counter: 0,
            state_version: 0,
            timestamp: now_ms,
        }
    }

    /// Java `nextVersion()`: counter + 1, timestamp `now_ms`, state version 0.
    pub fn next_version(&mut self, now_ms: i64) {
        self.next_version_with_state(now_ms, 0);
    }

    /// Java `nextVersion(stateVersion)`.
    pub fn next_version_with_state(&mut self, now_ms: i64, state_version: i64) {
        self.counter = self.counter.wrapping_add(1);
        self.timestamp = now_ms;
        self.state_version = state_version;
    }

    /// Whether `self` differs from `previous` (counter, state version or timestamp), which is
    /// how the NameServer decides whether a broker's topic configs changed.
    pub fn changed_from(&self, previous: &DataVersion) -> bool {
        self != previous
    }
}

java_enum! {
    /// How a topic's tags are filtered (Java `TopicFilterType`).
    pub enum TopicFilterType default SingleTag {
        /// One tag per message (the default).
        SingleTag = 0 => "SINGLE_TAG",
        /// Several tags per message.
        MultiTag = 1 => "MULTI_TAG",
    }
}

/// Default queue count of a topic created without explicit numbers.
pub const DEFAULT_QUEUE_NUMS: i32 = 16;

/// One topic's configuration on a broker (Java `TopicConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    /// [5.x] Topic attributes (`message.type` etc.).
    pub attributes: BTreeMap<String, String>,
    /// Whether the topic is ordered.
    pub order: bool,
    /// Permission bits ([`perm`](super::perm)).
    pub perm: i32,
    /// Number of readable queues.
    pub read_queue_nums: i32,
    /// Tag filtering mode.
    pub topic_filter_type: TopicFilterType,
    /// The topic name.
    pub topic_name: String,
    /// Topic system flag bits.
    pub topic_sys_flag: i32,
    /// Number of writable queues.
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: PERM_READ_WRITE,
            read_queue_nums: DEFAULT_QUEUE_NUMS,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: DEFAULT_QUEUE_NUMS,
        }
    }
}

impl JsonBody for TopicConfig {}

impl TopicConfig {
    /// A topic with Java's defaults (16/16 queues, read-write, SINGLE_TAG).
    pub fn new(topic_name: impl Into<String>) -> Self {
        TopicConfig {
            topic_name: topic_name.into(),
            ..Default::default()
        }
    }

    /// A topic with explicit queue numbers and permission.
    pub fn with_queues(
        topic_name: impl Into<String>,
        read_queue_nums: i32,
        write_queue_nums: i32,
        perm: i32,
    ) -> Self {
        TopicConfig {
            read_queue_nums,
            write_queue_nums,
            perm,
            ..TopicConfig::new(topic_name)
        }
    }
}

/// A broker's topic configs with their version: `topics.json`, GET_ALL_TOPIC_CONFIG, and the
/// core of REGISTER_BROKER (Java `TopicConfigSerializeWrapper`, and its 5.x subclass
/// `TopicConfigAndMappingSerializeWrapper` whose static-topic fields are passed through).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    /// Version of the topic config table.
    pub data_version: DataVersion,
    /// [5.x] Version of the static-topic mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_data_version: Option<DataVersion>,
    /// Topic name → config.
    #[serde(deserialize_with = "super::null_default")]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// [5.x] Static-topic mapping details, passed through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_detail_map: Option<BTreeMap<String, serde_json::Value>>,
    /// [5.x] Topic → `TopicQueueMappingInfo`, passed through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_info_map: Option<BTreeMap<String, serde_json::Value>>,
}

impl JsonBody for TopicConfigSerializeWrapper {}

/// The REGISTER_BROKER request body (Java `RegisterBrokerBody`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    /// Addresses of the broker's filter servers (legacy; normally empty).
    #[serde(deserialize_with = "super::null_default")]
    pub filter_server_list: Vec<String>,
    /// The broker's topic configs.
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl JsonBody for RegisterBrokerBody {}

impl RegisterBrokerBody {
    /// Encodes the body: JSON, or the zlib-compressed layout when `compressed` (the request
    /// header's `compressed` flag must then be true). `broker_version` is the `version` the
    /// request carries; it decides whether the compressed layout includes topic attributes and
    /// the [5.x] mapping section, mirroring [`RegisterBrokerBody::decode`].
    pub fn encode(&self, compressed: bool, broker_version: i32) -> Result<Vec<u8>> {
        if compressed {
            register_broker_compressed::encode(self, broker_version)
        } else {
            Ok(self.encode_body())
        }
    }

    /// Decodes a REGISTER_BROKER body given the request's `compressed` header flag and
    /// `version` (the broker's `MQVersion` ordinal):
    /// * an empty body is a registration without topics (all-zero data version);
    /// * `broker_version` < V3_0_11: a bare `TopicConfigSerializeWrapper`;
    /// * `compressed`: the zlib layout (mapping section only from V5_0_0 on);
    /// * otherwise JSON in either dialect.
    pub fn decode(body: &[u8], compressed: bool, broker_version: i32) -> Result<Self> {
        if body.is_empty() {
            return Ok(RegisterBrokerBody::default());
        }
        if broker_version < V3_0_11 {
            let wrapper: TopicConfigSerializeWrapper = from_json_slice(body)?;
            return Ok(RegisterBrokerBody {
                filter_server_list: Vec::new(),
                topic_config_serialize_wrapper: wrapper,
            });
        }
        if compressed {
            return register_broker_compressed::decode(body, broker_version);
        }
        from_json_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_version_changes() {
        let mut v = DataVersion::new(1_000);
        let before = v;
        assert!(!v.changed_from(&before));
        v.next_version(2_000);
        assert_eq!((v.counter, v.timestamp, v.state_version), (1, 2_000, 0));
        assert!(v.changed_from(&before));
        let mut w = before;
        w.next_version_with_state(1_000, 5);
        assert_eq!((w.counter, w.state_version), (1, 5));
        let only_state = DataVersion {
            state_version: 1,
            ..before
        };
        assert!(only_state.changed_from(&before));
    }

    #[test]
    fn topic_config_defaults_match_java() {
        let t = TopicConfig::new("T");
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (16, 16, 6));
        assert_eq!(t.topic_filter_type, TopicFilterType::SingleTag);
        let parsed: TopicConfig = from_json_slice(br#"{"topicName":"T"}"#).expect("lenient");
        assert_eq!(parsed, t);
        let t = TopicConfig::with_queues("T", 4, 8, 2);
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 8, 2));
    }

    #[test]
    fn filter_type_accepts_names_and_ordinals() {
        for (json, expected) in [
            (r#""MULTI_TAG""#, TopicFilterType::MultiTag),
            ("1", TopicFilterType::MultiTag),
            (r#""single_tag""#, TopicFilterType::SingleTag),
            (r#""NOPE""#, TopicFilterType::SingleTag),
        ] {
            let v: TopicFilterType = from_json_slice(json.as_bytes()).expect("lenient enum");
            assert_eq!(v, expected, "{json}");
        }
    }

    #[test]
    fn decode_dispatches_on_version_and_flag() {
        let wrapper = br#"{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":9},"topicConfigTable":{"T":{"topicName":"T"}}}"#;
        let old = RegisterBrokerBody::decode(wrapper, false, 36).expect("bare wrapper");
        assert_eq!(old.topic_config_serialize_wrapper.data_version.counter, 3);
        assert!(old
            .topic_config_serialize_wrapper
            .topic_config_table
            .contains_key("T"));
        let empty = RegisterBrokerBody::decode(b"", true, 479).expect("empty body");
        assert_eq!(empty, RegisterBrokerBody::default());
        let body = RegisterBrokerBody::decode(
            br#"{"filterServerList":["f:1"],"topicConfigSerializeWrapper":{}}"#,
            false,
            479,
        )
        .expect("JSON body");
        assert_eq!(body.filter_server_list, ["f:1"]);
        assert!(RegisterBrokerBody::decode(b"{not json", false, 479).is_err());
    }
}
