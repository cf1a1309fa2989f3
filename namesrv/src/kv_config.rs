//! Namespaced key/value configuration (RocketMQ `KVConfigManager`), e.g. the namespace
//! `ORDER_TOPIC_CONFIG` used for ordered-topic routes.
//!
//! The table is a pure value; the NameServer persists it after each change through the
//! [`Persister`](crate::persist::Persister) thread, as `{"configTable":{"ns":{"k":"v"}}}`
//! (RocketMQ's `KVConfigSerializeWrapper`), so the event loop never touches the disk.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Namespace whose entries give the `orderTopicConf` of a topic's route.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// The KV table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KvConfig {
    #[serde(default)]
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvConfig {
    /// Parses the persisted file.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Renders the persisted file.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing string maps cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Sets a value; returns true if the table changed.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> bool {
        let ns = self.config_table.entry(namespace.to_string()).or_default();
        ns.insert(key.to_string(), value.to_string()).as_deref() != Some(value)
    }

    /// Reads a value.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.config_table
            .get(namespace)?
            .get(key)
            .map(String::as_str)
    }

    /// Removes a value; returns true if it existed. An emptied namespace is dropped.
    pub fn delete(&mut self, namespace: &str, key: &str) -> bool {
        let Some(ns) = self.config_table.get_mut(namespace) else {
            return false;
        };
        let removed = ns.remove(key).is_some();
        if ns.is_empty() {
            self.config_table.remove(namespace);
        }
        removed
    }

    /// All entries of a namespace.
    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.config_table.get(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_and_file_round_trip() {
        let mut kv = KvConfig::default();
        assert!(kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4"));
        assert!(!kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4"));
        assert_eq!(
            kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, "T"),
            Some("broker-a:4")
        );
        let back = KvConfig::from_json(&kv.to_json()).unwrap();
        assert_eq!(back, kv);
        assert!(kv.delete(NAMESPACE_ORDER_TOPIC_CONFIG, "T"));
        assert!(!kv.delete(NAMESPACE_ORDER_TOPIC_CONFIG, "T"));
        assert_eq!(kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG), None);
    }

    #[test]
    fn reads_rocketmq_file_format() {
        let text = br#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:8;broker-b:8"}}}"#;
        let kv = KvConfig::from_json(text).unwrap();
        assert_eq!(
            kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, "T"),
            Some("broker-a:8;broker-b:8")
        );
    }
}
