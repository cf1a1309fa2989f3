//! `MessageQueue` (topic, broker name, queue id) and maps keyed by it.
//!
//! fastjson writes a `Map<MessageQueue, V>` with the queue objects themselves as keys:
//! `{{"brokerName":"b","queueId":0,"topic":"T"}:{"maxOffset":9}}`. [`MqMap`] renders that form
//! through [`to_json_vec`](super::to_json_vec) and reads it back after
//! [`rectify`](super::rectify) has turned each object key into a string key.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::{self, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dialect::RAW_KEY_MARK;

/// One queue of a topic on one broker (Java `MessageQueue`).
///
/// JSON: `{"brokerName":"b","queueId":0,"topic":"T"}`. Ordered like Java's `compareTo`: by
/// topic, then broker name, then queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    /// The broker group (`brokerName`) hosting the queue.
    pub broker_name: String,
    /// The queue's index within the topic on that broker.
    pub queue_id: i32,
    /// The topic.
    pub topic: String,
}

impl MessageQueue {
    /// Builds a queue.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }

    /// Parses a map key produced by the rectifier (the queue's JSON text, optionally marked).
    fn from_key(key: &str) -> serde_json::Result<Self> {
        serde_json::from_str(key.strip_prefix(RAW_KEY_MARK).unwrap_or(key))
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.topic
            .cmp(&other.topic)
            .then_with(|| self.broker_name.cmp(&other.broker_name))
            .then_with(|| self.queue_id.cmp(&other.queue_id))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}

/// A map keyed by [`MessageQueue`] that (de)serializes in fastjson's object-key form.
///
/// Serialize it only through the [`dialect`](super::dialect) functions: plain serde_json would
/// write each key as a string starting with U+0000. Deserialization accepts the rectified form
/// (a string key holding the queue's JSON text), which is also what a peer writing standard
/// JSON with stringified keys sends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MqMap<V>(pub BTreeMap<MessageQueue, V>);

impl<V> MqMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        MqMap(BTreeMap::new())
    }
}

impl<V> Deref for MqMap<V> {
    type Target = BTreeMap<MessageQueue, V>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<V> DerefMut for MqMap<V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<V> From<BTreeMap<MessageQueue, V>> for MqMap<V> {
    fn from(map: BTreeMap<MessageQueue, V>) -> Self {
        MqMap(map)
    }
}

impl<V> FromIterator<(MessageQueue, V)> for MqMap<V> {
    fn from_iter<I: IntoIterator<Item = (MessageQueue, V)>>(iter: I) -> Self {
        MqMap(iter.into_iter().collect())
    }
}

impl<V> IntoIterator for MqMap<V> {
    type Item = (MessageQueue, V);
    type IntoIter = std::collections::btree_map::IntoIter<MessageQueue, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<V: Serialize> Serialize for MqMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (mq, value) in &self.0 {
            let json = serde_json::to_string(mq).map_err(ser::Error::custom)?;
            let mut key = String::with_capacity(json.len() + 1);
            key.push(RAW_KEY_MARK);
            key.push_str(&json);
            map.serialize_entry(&key, value)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for MqMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MqMapVisitor(std::marker::PhantomData))
    }
}

struct MqMapVisitor<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for MqMapVisitor<V> {
    type Value = MqMap<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map keyed by MessageQueue objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(MqMap::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = BTreeMap::new();
        while let Some((key, value)) = access.next_entry::<String, V>()? {
            let mq = MessageQueue::from_key(&key).map_err(|e| {
                de::Error::custom(format_args!("bad MessageQueue key {key:?}: {e}"))
            })?;
            map.insert(mq, value);
        }
        Ok(MqMap(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{from_json_slice, to_json_string, IntKeys};

    fn sample() -> MqMap<i64> {
        [
            (MessageQueue::new("T", "b", 1), 7),
            (MessageQueue::new("T", "a", 0), 5),
            (MessageQueue::new("A\"q", "a", 3), -1),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn message_queue_json_is_alphabetical() {
        let mq = MessageQueue::new("T", "b", 0);
        assert_eq!(
            to_json_string(&mq, IntKeys::Unquoted),
            r#"{"brokerName":"b","queueId":0,"topic":"T"}"#
        );
    }

    #[test]
    fn ordering_follows_java_compare_to() {
        let mut v = [
            MessageQueue::new("B", "a", 0),
            MessageQueue::new("A", "z", 0),
            MessageQueue::new("A", "a", 2),
            MessageQueue::new("A", "a", 1),
        ];
        v.sort();
        let order: Vec<String> = v
            .iter()
            .map(|m| format!("{}/{}/{}", m.topic, m.broker_name, m.queue_id))
            .collect();
        assert_eq!(order, ["A/a/1", "A/a/2", "A/z/0", "B/a/0"]);
    }

    #[test]
    fn keys_are_written_as_raw_objects_in_both_modes() {
        let expected = concat!(
            r#"{{"brokerName":"a","queueId":3,"topic":"A\"q"}:-1,"#,
            r#"{"brokerName":"a","queueId":0,"topic":"T"}:5,"#,
            r#"{"brokerName":"b","queueId":1,"topic":"T"}:7}"#
        );
        assert_eq!(to_json_string(&sample(), IntKeys::Unquoted), expected);
        assert_eq!(to_json_string(&sample(), IntKeys::Quoted), expected);
    }

    #[test]
    fn round_trips_and_accepts_stringified_keys() {
        let text = to_json_string(&sample(), IntKeys::Unquoted);
        let back: MqMap<i64> = from_json_slice(text.as_bytes()).expect("round trip");
        assert_eq!(back, sample());
        let stringified = r#"{"{\"brokerName\":\"a\",\"queueId\":0,\"topic\":\"T\"}":5}"#;
        let m: MqMap<i64> = from_json_slice(stringified.as_bytes()).expect("string keys");
        assert_eq!(m.get(&MessageQueue::new("T", "a", 0)), Some(&5));
    }

    #[test]
    fn bad_keys_are_errors() {
        for bad in [r#"{"T":1}"#, r#"{[1]:1}"#, r#"{{"queueId":"x"}:1}"#] {
            assert!(
                from_json_slice::<MqMap<i64>>(bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
        let empty: MqMap<i64> = from_json_slice(b"null").expect("null is empty");
        assert!(empty.is_empty());
    }
}
