//! `TopicConfigManager` (Java `TopicConfigManager`): the broker's topic table with its data
//! version, persisted as `topics.json` and registered with NameServers.
//!
//! Owns: topic name → [`TopicConfig`], the system topics created at start, the auto-create
//! rules for sends and for retry/DLQ topics. Does not own: name validation rules
//! ([`topic_validator`](super::topic_validator)), registration, the consume queues.
//!
//! Not thread-safe; the broker keeps it behind one lock. Every change bumps the
//! [`DataVersion`] (so the next registration carries the new table) and marks the table dirty.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::perm::{is_inherited, PERM_INHERIT, PERM_READ_WRITE};
use protocol::body::{DataVersion, JsonBody, TopicConfig, TopicConfigSerializeWrapper};

use super::config_file::{decode_body, ConfigFile, TOPICS_JSON};
use super::topic_validator::{self as tv, AUTO_CREATE_TOPIC_KEY_TOPIC};
use super::version_stamp;
use crate::config::BrokerConfig;
use crate::error::Result;

/// Queue count of a group's dead-letter topic.
pub const DLQ_NUMS_PER_GROUP: i32 = 1;

/// The broker's topic table.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfigManager {
    table: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
    /// Topics created by `new` (cluster, broker and reply topics have config-dependent names).
    system_topics: BTreeSet<String>,
    /// `autoCreateTopicEnable`: whether `TBW102` may serve as a template.
    auto_create_topic_enable: bool,
    dirty: bool,
}

impl TopicConfigManager {
    /// A table with the system topics of reference §10 for `config`:
    /// `SELF_TEST_TOPIC`(1), `TBW102` (`defaultTopicQueueNums`, perm RWX, only with
    /// `autoCreateTopicEnable`), `<brokerClusterName>` (16, inherit + RW if
    /// `clusterTopicEnable`), `<brokerName>` (1, inherit + RW if `brokerTopicEnable`),
    /// `OFFSET_MOVED_EVENT`(1), `SCHEDULE_TOPIC_XXXX` (one queue per delay level), the trace
    /// topic (1, if `traceTopicEnable`), `<cluster>_REPLY_TOPIC`(1), `RMQ_SYS_TRANS_HALF_TOPIC`(1)
    /// and `RMQ_SYS_TRANS_OP_HALF_TOPIC`(1). Version counter 0, stamped `now_ms`; not dirty.
    pub fn new(config: &BrokerConfig, now_ms: u64) -> Self {
        let mut m = TopicConfigManager::empty(now_ms);
        m.auto_create_topic_enable = config.auto_create_topic_enable;
        let rw_if = |enabled: bool| PERM_INHERIT | if enabled { PERM_READ_WRITE } else { 0 };
        let schedule_queues =
            i32::try_from(config.message_delay_levels_ms.len()).unwrap_or(i32::MAX);
        let mut topics = vec![
            (tv::RMQ_SYS_SELF_TEST_TOPIC.to_owned(), 1, PERM_READ_WRITE),
            (
                config.broker_cluster_name.clone(),
                16,
                rw_if(config.cluster_topic_enable),
            ),
            (
                config.broker_name.clone(),
                1,
                rw_if(config.broker_topic_enable),
            ),
            (
                tv::RMQ_SYS_OFFSET_MOVED_EVENT.to_owned(),
                1,
                PERM_READ_WRITE,
            ),
            (
                tv::RMQ_SYS_SCHEDULE_TOPIC.to_owned(),
                schedule_queues,
                PERM_READ_WRITE,
            ),
            (
                tv::reply_topic(&config.broker_cluster_name),
                1,
                PERM_READ_WRITE,
            ),
            (tv::RMQ_SYS_TRANS_HALF_TOPIC.to_owned(), 1, PERM_READ_WRITE),
            (
                tv::RMQ_SYS_TRANS_OP_HALF_TOPIC.to_owned(),
                1,
                PERM_READ_WRITE,
            ),
        ];
        if config.auto_create_topic_enable {
            let q = config.default_topic_queue_nums;
            topics.push((
                AUTO_CREATE_TOPIC_KEY_TOPIC.to_owned(),
                q,
                PERM_INHERIT | PERM_READ_WRITE,
            ));
        }
        if config.trace_topic_enable {
            topics.push((config.msg_trace_topic_name.clone(), 1, PERM_READ_WRITE));
        }
        for (name, queues, perm) in topics {
            m.system_topics.insert(name.clone());
            m.table.insert(
                name.clone(),
                TopicConfig::with_queues(name, queues, queues, perm),
            );
        }
        m
    }

    /// A table without any topic (a slave about to sync from its master, tools, tests).
    /// `TBW102` never acts as a template unless [`set_auto_create_topic_enable`] says so.
    ///
    /// [`set_auto_create_topic_enable`]: Self::set_auto_create_topic_enable
    pub fn empty(now_ms: u64) -> Self {
        TopicConfigManager {
            table: BTreeMap::new(),
            data_version: DataVersion::new(version_stamp(now_ms)),
            system_topics: BTreeSet::new(),
            auto_create_topic_enable: false,
            dirty: false,
        }
    }

    /// Changes `autoCreateTopicEnable` at run time (UPDATE_BROKER_CONFIG).
    pub fn set_auto_create_topic_enable(&mut self, enabled: bool) {
        self.auto_create_topic_enable = enabled;
    }

    /// The config of `topic`.
    pub fn select(&self, topic: &str) -> Option<&TopicConfig> {
        self.table.get(topic)
    }

    /// Whether `topic` exists.
    pub fn contains(&self, topic: &str) -> bool {
        self.table.contains_key(topic)
    }

    /// The whole table (GET_ALL_TOPIC_CONFIG, topic lists).
    pub fn table(&self) -> &BTreeMap<String, TopicConfig> {
        &self.table
    }

    /// The table's version.
    pub fn data_version(&self) -> DataVersion {
        self.data_version
    }

    fn changed(&mut self, now_ms: u64) {
        self.data_version.next_version(version_stamp(now_ms));
        self.dirty = true;
    }

    /// Bumps the data version without changing a topic: what is registered changed anyway
    /// (the broker permission masks the registered topic permissions).
    pub fn touch(&mut self, now_ms: u64) {
        self.changed(now_ms);
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC); returns the previous config.
    pub fn update(&mut self, config: TopicConfig, now_ms: u64) -> Option<TopicConfig> {
        match self.table.get(&config.topic_name) {
            Some(o) => log::info!("update topic config, old: {o:?} new: {config:?}"),
            None => log::info!("create new topic {config:?}"),
        }
        let old = self.table.insert(config.topic_name.clone(), config);
        self.changed(now_ms);
        old
    }

    /// Removes a topic (DELETE_TOPIC_IN_BROKER); returns what was removed.
    pub fn delete(&mut self, topic: &str, now_ms: u64) -> Option<TopicConfig> {
        let old = self.table.remove(topic);
        match &old {
            Some(_) => {
                log::info!("delete topic config OK, topic: {topic}");
                self.changed(now_ms);
            }
            None => log::warn!("delete topic config failed, topic: {topic} not exist"),
        }
        old
    }

    /// Auto-creates `topic` on a send that names `default_topic` as template (Java
    /// `createTopicInSendMessageMethod`). An existing topic is returned as is. Otherwise the
    /// template must exist and carry PERM_INHERIT (`TBW102` only while `autoCreateTopicEnable`):
    /// the new topic gets `min(remote_queue_nums, template writeQueueNums)` read and write
    /// queues (at least 0), the template's perm without INHERIT, its filter type and
    /// `topic_sys_flag`. `None` when the template does not allow it or the name is invalid.
    pub fn create_topic_in_send_message_method(
        &mut self,
        topic: &str,
        default_topic: &str,
        remote_queue_nums: i32,
        topic_sys_flag: i32,
        now_ms: u64,
    ) -> Option<TopicConfig> {
        if let Some(existing) = self.table.get(topic) {
            return Some(existing.clone());
        }
        if tv::validate_topic(topic).is_err() {
            return None;
        }
        let Some(template) = self.table.get(default_topic) else {
            log::warn!("create new topic {topic} failed: default topic {default_topic} not exist");
            return None;
        };
        let mut perm = template.perm;
        if default_topic == AUTO_CREATE_TOPIC_KEY_TOPIC && !self.auto_create_topic_enable {
            perm &= !PERM_INHERIT;
        }
        if !is_inherited(perm) {
            log::warn!("create new topic {topic} failed: default topic {default_topic} perm {perm} lacks inherit");
            return None;
        }
        let queues = remote_queue_nums.min(template.write_queue_nums).max(0);
        let config = TopicConfig {
            topic_sys_flag,
            topic_filter_type: template.topic_filter_type,
            ..TopicConfig::with_queues(topic, queues, queues, perm & !PERM_INHERIT)
        };
        log::info!("create new topic by default topic {default_topic}: {config:?}");
        self.table.insert(topic.to_owned(), config.clone());
        self.changed(now_ms);
        Some(config)
    }

    /// Java `createTopicInSendMessageBackMethod`: returns `topic`, creating it with
    /// `queue_nums` queues and `perm` if absent; an existing topic whose `order` flag differs
    /// from `is_order` is updated.
    pub fn create_topic_in_send_message_back_method(
        &mut self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
        is_order: bool,
        topic_sys_flag: i32,
        now_ms: u64,
    ) -> TopicConfig {
        if let Some(existing) = self.table.get_mut(topic) {
            if existing.order == is_order {
                return existing.clone();
            }
            existing.order = is_order;
            let updated = existing.clone();
            self.changed(now_ms);
            return updated;
        }
        let config = TopicConfig {
            order: is_order,
            topic_sys_flag,
            ..TopicConfig::with_queues(topic, queue_nums, queue_nums, perm)
        };
        log::info!("create new topic {topic} in send-back/heartbeat: {config:?}");
        self.table.insert(topic.to_owned(), config.clone());
        self.changed(now_ms);
        config
    }

    /// Creates `%RETRY%<group>` with `retry_queue_nums` read-write queues if absent (on
    /// heartbeat and send-back). `None` when `retry_queue_nums ≤ 0` or the name is invalid.
    pub fn create_retry_topic_if_absent(
        &mut self,
        group: &str,
        retry_queue_nums: i32,
        now_ms: u64,
    ) -> Option<TopicConfig> {
        let topic = tv::retry_topic(group);
        if retry_queue_nums <= 0 || tv::validate_topic(&topic).is_err() {
            return None;
        }
        let existing_order = self.table.get(&topic).is_some_and(|t| t.order);
        Some(self.create_topic_in_send_message_back_method(
            &topic,
            retry_queue_nums,
            PERM_READ_WRITE,
            existing_order,
            0,
            now_ms,
        ))
    }

    /// Creates `%DLQ%<group>` (1 read-write queue) if absent. `None` if the name is invalid.
    pub fn create_dlq_topic_if_absent(&mut self, group: &str, now_ms: u64) -> Option<TopicConfig> {
        let topic = tv::dlq_topic(group);
        tv::validate_topic(&topic).ok()?;
        let existing_order = self.table.get(&topic).is_some_and(|t| t.order);
        Some(self.create_topic_in_send_message_back_method(
            &topic,
            DLQ_NUMS_PER_GROUP,
            PERM_READ_WRITE,
            existing_order,
            0,
            now_ms,
        ))
    }

    /// Whether `topic` is a system topic: a fixed system name, `rmq_sys_*`, or one of the
    /// config-named topics this broker created at start (cluster, broker, reply, trace).
    pub fn is_system_topic(&self, topic: &str) -> bool {
        tv::is_system_topic(topic) || self.system_topics.contains(topic)
    }

    /// Whether `topic` exists and is flagged ordered.
    pub fn is_order_topic(&self, topic: &str) -> bool {
        self.table.get(topic).is_some_and(|t| t.order)
    }

    /// The REGISTER_BROKER / GET_ALL_TOPIC_CONFIG wrapper: table and version.
    pub fn to_wrapper(&self) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            data_version: self.data_version,
            topic_config_table: self.table.clone(),
            ..Default::default()
        }
    }

    /// A slave adopting its master's table: replaces the table and version when the master's
    /// version differs. Returns whether anything changed (then the table is dirty).
    pub fn sync_from_master(&mut self, wrapper: TopicConfigSerializeWrapper) -> bool {
        if wrapper.data_version == self.data_version && wrapper.topic_config_table == self.table {
            return false;
        }
        self.table = wrapper.topic_config_table;
        self.data_version = wrapper.data_version;
        self.dirty = true;
        true
    }
}

impl ConfigFile for TopicConfigManager {
    const FILE_NAME: &'static str = TOPICS_JSON;

    /// `{"dataVersion":{...},"topicConfigTable":{"T":{...}}}`.
    fn encode_json(&self) -> Vec<u8> {
        self.to_wrapper().encode_body()
    }

    /// Loaded topics are added over the current ones (system topics created by `new` stay
    /// unless the file overrides them); the version becomes the file's.
    fn decode_json(&mut self, bytes: &[u8]) -> Result<()> {
        let wrapper: TopicConfigSerializeWrapper = decode_body(TOPICS_JSON, bytes)?;
        self.table.extend(wrapper.topic_config_table);
        self.data_version = wrapper.data_version;
        Ok(())
    }

    fn is_dirty(&self) -> bool {
        self.dirty
    }

    fn set_dirty(&mut self, dirty: bool) {
        self.dirty = dirty;
    }
}
