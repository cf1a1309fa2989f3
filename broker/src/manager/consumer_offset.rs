//! `ConsumerOffsetManager` (Java `ConsumerOffsetManager`): committed consumer offsets,
//! `topic@group` → queue id → offset, persisted as `consumerOffset.json`
//! (`{"offsetTable":{"T@G":{0:15,1:7}}}`, integer keys unquoted as fastjson writes them).
//!
//! Owns the table and its dirty flag (the periodic persist writes only after a change). Does
//! not own the pull-offset bookkeeping or the consume queues. Not thread-safe.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::store_config::TOPIC_GROUP_SEPARATOR;
use protocol::body::{ConsumerOffsetSerializeWrapper, JsonBody};

use super::config_file::{decode_body, ConfigFile, CONSUMER_OFFSET_JSON};
use crate::error::Result;

/// Queue id → committed offset (the next message to consume).
pub type QueueOffsets = BTreeMap<i32, i64>;

/// The committed-offset table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerOffsetManager {
    /// `topic@group` → queue id → offset.
    offset_table: BTreeMap<String, QueueOffsets>,
    dirty: bool,
}

fn key(topic: &str, group: &str) -> String {
    ConsumerOffsetSerializeWrapper::key(topic, group)
}

fn split(key: &str) -> Option<(&str, &str)> {
    key.split_once(TOPIC_GROUP_SEPARATOR)
}

impl ConsumerOffsetManager {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `offset` for (group, topic, queue). Moving an offset backwards is allowed (reset)
    /// and logged.
    pub fn commit_offset(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let queues = self.offset_table.entry(key(topic, group)).or_default();
        if let Some(previous) = queues.insert(queue_id, offset) {
            if offset < previous {
                log::warn!(
                    "commit offset moves back: group {group} topic {topic} queue {queue_id} \
                     {previous} -> {offset}"
                );
            }
        }
        self.dirty = true;
    }

    /// The committed offset of one queue; `None` if the group never committed one there
    /// (QUERY_CONSUMER_OFFSET then answers QUERY_NOT_FOUND).
    pub fn query_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.offset_table
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// All committed offsets of (group, topic); empty if none.
    pub fn query_offsets(&self, group: &str, topic: &str) -> QueueOffsets {
        self.offset_table
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the offsets of (group, topic) with `offsets` (admin offset reset). An empty
    /// map removes the entry.
    pub fn reset_offsets(&mut self, group: &str, topic: &str, offsets: QueueOffsets) {
        if offsets.is_empty() {
            self.offset_table.remove(&key(topic, group));
        } else {
            self.offset_table.insert(key(topic, group), offsets);
        }
        self.dirty = true;
    }

    fn retain_keys(&mut self, keep: impl Fn(&str, &str) -> bool) -> usize {
        let before = self.offset_table.len();
        self.offset_table
            .retain(|k, _| split(k).is_none_or(|(topic, group)| keep(topic, group)));
        let removed = before - self.offset_table.len();
        if removed > 0 {
            self.dirty = true;
        }
        removed
    }

    /// Removes every offset of `group` (DELETE_SUBSCRIPTIONGROUP with cleanOffset); returns the
    /// number of topics removed.
    pub fn remove_offset_by_group(&mut self, group: &str) -> usize {
        self.retain_keys(|_, g| g != group)
    }

    /// Removes every group's offsets on `topic` (DELETE_TOPIC_IN_BROKER); returns the number of
    /// groups removed.
    pub fn remove_offset_by_topic(&mut self, topic: &str) -> usize {
        self.retain_keys(|t, _| t != topic)
    }

    /// Removes the offsets of one (group, topic); returns whether there were any.
    pub fn remove_offset(&mut self, group: &str, topic: &str) -> bool {
        let removed = self.offset_table.remove(&key(topic, group)).is_some();
        self.dirty |= removed;
        removed
    }

    /// Copies `src_group`'s offsets on `topic` to `dest_group` (CLONE_GROUP_OFFSET). Nothing
    /// happens when the source has none. Returns whether it copied.
    pub fn clone_offset(&mut self, src_group: &str, dest_group: &str, topic: &str) -> bool {
        let Some(offsets) = self.offset_table.get(&key(topic, src_group)).cloned() else {
            return false;
        };
        self.offset_table.insert(key(topic, dest_group), offsets);
        self.dirty = true;
        true
    }

    /// The topics `group` has offsets for.
    pub fn which_topics_by_consumer(&self, group: &str) -> BTreeSet<String> {
        self.offset_table
            .keys()
            .filter_map(|k| split(k))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_owned())
            .collect()
    }

    /// The groups with offsets on `topic`.
    pub fn which_groups_by_topic(&self, topic: &str) -> BTreeSet<String> {
        self.offset_table
            .keys()
            .filter_map(|k| split(k))
            .filter(|(t, _)| *t == topic)
            .map(|(_, g)| g.to_owned())
            .collect()
    }

    /// The whole table (`topic@group` keys).
    pub fn offset_table(&self) -> &BTreeMap<String, QueueOffsets> {
        &self.offset_table
    }

    /// Replaces the whole table (a slave adopting its master's offsets). Marks it dirty.
    pub fn replace_table(&mut self, offset_table: BTreeMap<String, QueueOffsets>) {
        self.offset_table = offset_table;
        self.dirty = true;
    }

    /// The GET_ALL_CONSUMER_OFFSET body / `consumerOffset.json` shape.
    pub fn to_wrapper(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper {
            data_version: None,
            offset_table: self.offset_table.clone(),
        }
    }
}

impl ConfigFile for ConsumerOffsetManager {
    const FILE_NAME: &'static str = CONSUMER_OFFSET_JSON;

    /// `{"offsetTable":{"T@G":{0:15,1:7}}}`.
    fn encode_json(&self) -> Vec<u8> {
        self.to_wrapper().encode_body()
    }

    /// Replaces the table with the file's (quoted or unquoted integer keys accepted).
    fn decode_json(&mut self, bytes: &[u8]) -> Result<()> {
        let wrapper: ConsumerOffsetSerializeWrapper = decode_body(CONSUMER_OFFSET_JSON, bytes)?;
        self.offset_table = wrapper.offset_table;
        Ok(())
    }

    fn is_dirty(&self) -> bool {
        self.dirty
    }

    fn set_dirty(&mut self, dirty: bool) {
        self.dirty = dirty;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ConsumerOffsetManager {
        let mut m = ConsumerOffsetManager::new();
        m.commit_offset("G", "T", 0, 15);
        m.commit_offset("G", "T", 1, 7);
        m.commit_offset("G", "%RETRY%G", 0, 2);
        m.commit_offset("H", "T", 0, 3);
        m.set_dirty(false);
        m
    }

    #[test]
    fn commit_and_query() {
        let mut m = sample();
        assert_eq!(m.query_offset("G", "T", 0), Some(15));
        assert_eq!(m.query_offset("G", "T", 2), None);
        assert_eq!(m.query_offset("X", "T", 0), None);
        assert_eq!(m.query_offsets("G", "T"), BTreeMap::from([(0, 15), (1, 7)]));
        assert!(m.query_offsets("G", "U").is_empty());
        assert!(!m.is_dirty());
        m.commit_offset("G", "T", 0, 10); // backwards: allowed
        assert_eq!(m.query_offset("G", "T", 0), Some(10));
        assert!(m.is_dirty());
    }

    #[test]
    fn which_topics_and_groups() {
        let m = sample();
        assert_eq!(
            m.which_topics_by_consumer("G"),
            BTreeSet::from(["T".to_owned(), "%RETRY%G".to_owned()])
        );
        assert_eq!(
            m.which_groups_by_topic("T"),
            BTreeSet::from(["G".to_owned(), "H".to_owned()])
        );
        assert!(m.which_groups_by_topic("nope").is_empty());
    }

    #[test]
    fn removals_mark_dirty_only_when_something_goes() {
        let mut m = sample();
        assert_eq!(m.remove_offset_by_group("nope"), 0);
        assert!(!m.is_dirty());
        assert_eq!(m.remove_offset_by_group("G"), 2);
        assert!(m.is_dirty());
        assert_eq!(m.which_topics_by_consumer("G").len(), 0);
        assert_eq!(m.query_offset("H", "T", 0), Some(3));

        let mut m = sample();
        assert_eq!(m.remove_offset_by_topic("T"), 2);
        assert_eq!(m.offset_table().len(), 1);
        assert!(m.remove_offset("G", "%RETRY%G"));
        assert!(!m.remove_offset("G", "%RETRY%G"));
        assert!(m.offset_table().is_empty());
    }

    #[test]
    fn clone_and_reset() {
        let mut m = sample();
        assert!(!m.clone_offset("nope", "G2", "T"));
        assert!(!m.is_dirty());
        assert!(m.clone_offset("G", "G2", "T"));
        assert_eq!(m.query_offsets("G2", "T"), m.query_offsets("G", "T"));
        m.commit_offset("G2", "T", 0, 99);
        assert_eq!(
            m.query_offset("G", "T", 0),
            Some(15),
            "copies are independent"
        );

        m.reset_offsets("G", "T", BTreeMap::from([(3, 1)]));
        assert_eq!(m.query_offsets("G", "T"), BTreeMap::from([(3, 1)]));
        m.reset_offsets("G", "T", BTreeMap::new());
        assert!(!m.which_topics_by_consumer("G").contains("T"));
    }

    #[test]
    fn json_file_format_has_unquoted_queue_ids() {
        let mut m = ConsumerOffsetManager::new();
        m.commit_offset("G", "T", 0, 15);
        m.commit_offset("G", "T", 1, 7);
        assert_eq!(
            String::from_utf8(m.encode_json()).unwrap(),
            r#"{"offsetTable":{"T@G":{0:15,1:7}}}"#
        );
        let mut back = ConsumerOffsetManager::new();
        back.commit_offset("old", "X", 0, 1);
        back.decode_json(br#"{"offsetTable":{"T@G":{"0":15,1:7}}}"#)
            .unwrap();
        assert_eq!(
            back.offset_table(),
            m.offset_table(),
            "decode replaces the table"
        );
        assert!(back
            .decode_json(b"{\"offsetTable\":{\"T@G\":{0:\"x\"}}}")
            .is_err());
        assert_eq!(
            back.offset_table(),
            m.offset_table(),
            "failed decode changes nothing"
        );
    }

    #[test]
    fn snapshot_and_replace() {
        let mut m = sample();
        assert!(m.snapshot_if_dirty().is_none());
        let other = BTreeMap::from([("A@B".to_owned(), BTreeMap::from([(0, 1)]))]);
        m.replace_table(other.clone());
        assert_eq!(m.offset_table(), &other);
        assert_eq!(
            m.snapshot_if_dirty().unwrap(),
            br#"{"offsetTable":{"A@B":{0:1}}}"#
        );
        assert!(!m.is_dirty());
    }
}
