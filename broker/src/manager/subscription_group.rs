//! `SubscriptionGroupManager` (Java `SubscriptionGroupManager`): the broker-side config of
//! each consumer group (retry queues, max retries, orderly, ...), persisted as
//! `subscriptionGroup.json` (`{"dataVersion":{..},"subscriptionGroupTable":{"G":{..}}}`).
//!
//! Owns the table, its version and the system groups created at start. Does not own the
//! live members of a group (that is [`ConsumerManager`](super::consumer::ConsumerManager)).
//! Not thread-safe.

use std::collections::BTreeMap;

use protocol::body::{DataVersion, JsonBody, SubscriptionGroupConfig, SubscriptionGroupWrapper};

use super::config_file::{decode_body, ConfigFile, SUBSCRIPTION_GROUP_JSON};
use super::topic_validator::{self as tv, SYSTEM_GROUPS};
use super::version_stamp;
use crate::error::Result;

/// The subscription-group table.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionGroupManager {
    table: BTreeMap<String, SubscriptionGroupConfig>,
    data_version: DataVersion,
    dirty: bool,
}

impl SubscriptionGroupManager {
    /// A table holding the system groups of Java's `SubscriptionGroupManager.init`
    /// ([`SYSTEM_GROUPS`], default settings). Version counter 0 stamped `now_ms`; not dirty.
    pub fn new(now_ms: u64) -> Self {
        let table = SYSTEM_GROUPS
            .iter()
            .map(|g| ((*g).to_owned(), SubscriptionGroupConfig::new(*g)))
            .collect();
        SubscriptionGroupManager {
            table,
            data_version: DataVersion::new(version_stamp(now_ms)),
            dirty: false,
        }
    }

    /// The config of `group`, if it exists.
    pub fn find(&self, group: &str) -> Option<&SubscriptionGroupConfig> {
        self.table.get(group)
    }

    /// Whether `group` exists.
    pub fn contains(&self, group: &str) -> bool {
        self.table.contains_key(group)
    }

    /// The config of `group`, creating it with defaults when absent and either `auto_create`
    /// (`autoCreateSubscriptionGroup`) is on or the group is a system group (`CID_RMQ_SYS_*`).
    /// `None` when the group does not exist and may not be created, or its name is invalid.
    /// Creating bumps the version and marks the table dirty.
    pub fn find_or_auto_create(
        &mut self,
        group: &str,
        auto_create: bool,
        now_ms: u64,
    ) -> Option<&SubscriptionGroupConfig> {
        if !self.table.contains_key(group) {
            if !(auto_create || tv::is_sys_consumer_group(group))
                || tv::validate_group(group).is_err()
            {
                return None;
            }
            log::info!("auto create a subscription group {group}");
            self.table
                .insert(group.to_owned(), SubscriptionGroupConfig::new(group));
            self.changed(now_ms);
        }
        self.table.get(group)
    }

    fn changed(&mut self, now_ms: u64) {
        self.data_version.next_version(version_stamp(now_ms));
        self.dirty = true;
    }

    /// Creates or replaces a group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP); returns the previous
    /// config.
    pub fn update(
        &mut self,
        config: SubscriptionGroupConfig,
        now_ms: u64,
    ) -> Option<SubscriptionGroupConfig> {
        let old = self.table.insert(config.group_name.clone(), config);
        self.changed(now_ms);
        old
    }

    /// Removes a group (DELETE_SUBSCRIPTIONGROUP); returns what was removed.
    pub fn delete(&mut self, group: &str, now_ms: u64) -> Option<SubscriptionGroupConfig> {
        let old = self.table.remove(group);
        if old.is_some() {
            self.changed(now_ms);
        } else {
            log::warn!("delete subscription group failed: {group} not exist");
        }
        old
    }

    /// Stops a group from consuming (`consumeEnable` = false), as Java does for slow groups.
    /// Returns whether the group exists.
    pub fn disable_consume(&mut self, group: &str, now_ms: u64) -> bool {
        let Some(config) = self.table.get_mut(group) else {
            return false;
        };
        config.consume_enable = false;
        self.changed(now_ms);
        true
    }

    /// The whole table.
    pub fn table(&self) -> &BTreeMap<String, SubscriptionGroupConfig> {
        &self.table
    }

    /// The table's version.
    pub fn data_version(&self) -> DataVersion {
        self.data_version
    }

    /// The GET_ALL_SUBSCRIPTIONGROUP_CONFIG body / file shape.
    pub fn to_wrapper(&self) -> SubscriptionGroupWrapper {
        SubscriptionGroupWrapper {
            data_version: self.data_version,
            subscription_group_table: self.table.clone(),
        }
    }

    /// A slave adopting its master's groups: replaces table and version when they differ.
    /// Returns whether anything changed (then the table is dirty).
    pub fn sync_from_master(&mut self, wrapper: SubscriptionGroupWrapper) -> bool {
        if wrapper.data_version == self.data_version
            && wrapper.subscription_group_table == self.table
        {
            return false;
        }
        self.table = wrapper.subscription_group_table;
        self.data_version = wrapper.data_version;
        self.dirty = true;
        true
    }
}

impl ConfigFile for SubscriptionGroupManager {
    const FILE_NAME: &'static str = SUBSCRIPTION_GROUP_JSON;

    /// `{"dataVersion":{...},"subscriptionGroupTable":{"G":{...}}}`.
    fn encode_json(&self) -> Vec<u8> {
        self.to_wrapper().encode_body()
    }

    /// Loaded groups are added over the current ones; the version becomes the file's.
    fn decode_json(&mut self, bytes: &[u8]) -> Result<()> {
        let wrapper: SubscriptionGroupWrapper = decode_body(SUBSCRIPTION_GROUP_JSON, bytes)?;
        self.table.extend(wrapper.subscription_group_table);
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
