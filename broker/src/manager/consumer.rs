//! `ConsumerManager` (Java `ConsumerManager` + `ConsumerGroupInfo`): the live members of each
//! consumer group and the group's current subscriptions, fed by heartbeats.
//!
//! Generic over the connection id `C` the remoting layer uses. Pure: no sockets, no clock;
//! callers pass `now_ms` and act on the returned outcomes (send NOTIFY_CONSUMER_IDS_CHANGED to
//! [`ConsumerManager::notify_targets`], close expired connections). Not thread-safe.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::hash::Hash;

use protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerConnection, ConsumerData, MessageModel, SubscriptionData,
};

use super::client_channel::ClientChannelInfo;

/// One heartbeat's worth of a consumer group's registration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerRegistration {
    /// The member connection's identity (its `last_update_ms` is replaced by `now_ms`).
    pub channel_info: ClientChannelInfo,
    /// Push, pull or pop.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where the group starts without an offset.
    pub consume_from_where: ConsumeFromWhere,
    /// The group's subscriptions as the member sent them.
    pub subscriptions: Vec<SubscriptionData>,
    /// Whether to apply `subscriptions` (false for a [5.x] v2 heartbeat without them).
    pub update_subscription: bool,
    /// The group's `notifyConsumerIdsChangedEnable` (group config and broker config).
    pub notify_consumer_ids_changed_enable: bool,
}

impl ConsumerRegistration {
    /// The registration carried by one `ConsumerData` of a heartbeat.
    pub fn from_consumer_data(
        data: &ConsumerData,
        channel_info: ClientChannelInfo,
        notify_consumer_ids_changed_enable: bool,
    ) -> Self {
        ConsumerRegistration {
            channel_info,
            consume_type: data.consume_type,
            message_model: data.message_model,
            consume_from_where: data.consume_from_where,
            subscriptions: data.subscription_data_set.clone(),
            update_subscription: true,
            notify_consumer_ids_changed_enable,
        }
    }
}

/// What a registration changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegisterOutcome {
    /// A connection joined the group (or a known connection now reports another client id).
    pub ids_changed: bool,
    /// A topic was added or removed, or a subscription arrived with a newer `subVersion`.
    pub subscription_changed: bool,
    /// Whether the caller must send NOTIFY_CONSUMER_IDS_CHANGED to
    /// [`ConsumerManager::notify_targets`]: something changed, notification is enabled and the
    /// group is not BROADCASTING.
    pub notify: bool,
}

/// A consumer group's live state (Java `ConsumerGroupInfo`).
#[derive(Debug, Clone)]
pub struct ConsumerGroupInfo<C> {
    group_name: String,
    channels: HashMap<C, ClientChannelInfo>,
    subscription_table: BTreeMap<String, SubscriptionData>,
    consume_type: ConsumeType,
    message_model: MessageModel,
    consume_from_where: ConsumeFromWhere,
    last_update_ms: u64,
}

impl<C: Copy + Eq + Hash + Debug> ConsumerGroupInfo<C> {
    fn new(group_name: &str, reg: &ConsumerRegistration, now_ms: u64) -> Self {
        ConsumerGroupInfo {
            group_name: group_name.to_owned(),
            channels: HashMap::new(),
            subscription_table: BTreeMap::new(),
            consume_type: reg.consume_type,
            message_model: reg.message_model,
            consume_from_where: reg.consume_from_where,
            last_update_ms: now_ms,
        }
    }

    /// The group name.
    pub fn group_name(&self) -> &str {
        &self.group_name
    }

    /// Connection → member info.
    pub fn channels(&self) -> &HashMap<C, ClientChannelInfo> {
        &self.channels
    }

    /// Topic → current subscription.
    pub fn subscription_table(&self) -> &BTreeMap<String, SubscriptionData> {
        &self.subscription_table
    }

    /// As reported by the latest heartbeat.
    pub fn consume_type(&self) -> ConsumeType {
        self.consume_type
    }

    /// As reported by the latest heartbeat.
    pub fn message_model(&self) -> MessageModel {
        self.message_model
    }

    /// As reported by the latest heartbeat.
    pub fn consume_from_where(&self) -> ConsumeFromWhere {
        self.consume_from_where
    }

    /// When the latest heartbeat arrived.
    pub fn last_update_ms(&self) -> u64 {
        self.last_update_ms
    }

    /// The members' client ids, sorted (GET_CONSUMER_LIST_BY_GROUP).
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .channels
            .values()
            .map(|c| c.client_id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Java `updateChannel`: refreshes the group settings and the member. True when the
    /// member is new or its client id changed.
    fn update_channel(&mut self, conn: C, reg: &ConsumerRegistration, now_ms: u64) -> bool {
        self.consume_type = reg.consume_type;
        self.message_model = reg.message_model;
        self.consume_from_where = reg.consume_from_where;
        self.last_update_ms = now_ms;
        let info = ClientChannelInfo {
            last_update_ms: now_ms,
            ..reg.channel_info.clone()
        };
        match self.channels.insert(conn, info) {
            None => {
                log::info!(
                    "new consumer connected, group {} {:?}",
                    self.group_name,
                    conn
                );
                true
            }
            Some(old) if old.client_id != reg.channel_info.client_id => {
                log::warn!(
                    "consumer connection {conn:?} of group {} changed client id {} -> {}",
                    self.group_name,
                    old.client_id,
                    reg.channel_info.client_id
                );
                true
            }
            Some(_) => false,
        }
    }

    /// Java `updateSubscription`: adds new topics, replaces subscriptions that arrive with a
    /// newer `subVersion`, removes topics no longer subscribed. True if anything changed.
    fn update_subscription(&mut self, subscriptions: &[SubscriptionData]) -> bool {
        let mut changed = false;
        for sub in subscriptions {
            match self.subscription_table.get(&sub.topic) {
                None => {
                    self.subscription_table
                        .insert(sub.topic.clone(), sub.clone());
                    changed = true;
                }
                Some(old) if sub.sub_version > old.sub_version => {
                    log::info!(
                        "subscription changed, group {} topic {} {:?} -> {:?}",
                        self.group_name,
                        sub.topic,
                        old.sub_string,
                        sub.sub_string
                    );
                    self.subscription_table
                        .insert(sub.topic.clone(), sub.clone());
                    changed = true;
                }
                Some(_) => {}
            }
        }
        let before = self.subscription_table.len();
        self.subscription_table
            .retain(|topic, _| subscriptions.iter().any(|s| &s.topic == topic));
        changed || self.subscription_table.len() != before
    }

    /// The admin body (GET_CONSUMER_CONNECTION_LIST), connections sorted by client id.
    pub fn to_consumer_connection(&self) -> ConsumerConnection {
        let mut connection_set: Vec<_> =
            self.channels.values().map(|c| c.to_connection()).collect();
        connection_set
            .sort_by(|a, b| (&a.client_id, &a.client_addr).cmp(&(&b.client_id, &b.client_addr)));
        ConsumerConnection {
            connection_set,
            consume_from_where: self.consume_from_where,
            consume_type: self.consume_type,
            message_model: self.message_model,
            subscription_table: self.subscription_table.clone(),
        }
    }
}

/// Consumer group name → live group state.
#[derive(Debug, Clone)]
pub struct ConsumerManager<C> {
    groups: HashMap<String, ConsumerGroupInfo<C>>,
}

impl<C> Default for ConsumerManager<C> {
    fn default() -> Self {
        ConsumerManager {
            groups: HashMap::new(),
        }
    }
}

impl<C: Copy + Eq + Hash + Debug> ConsumerManager<C> {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or refreshes) member `conn` of `group` from a heartbeat (Java
    /// `registerConsumer`). See [`RegisterOutcome`] for what is reported.
    pub fn register_consumer(
        &mut self,
        group: &str,
        conn: C,
        reg: ConsumerRegistration,
        now_ms: u64,
    ) -> RegisterOutcome {
        let info = self
            .groups
            .entry(group.to_owned())
            .or_insert_with(|| ConsumerGroupInfo::new(group, &reg, now_ms));
        let ids_changed = info.update_channel(conn, &reg, now_ms);
        let subscription_changed =
            reg.update_subscription && info.update_subscription(&reg.subscriptions);
        let notify = (ids_changed || subscription_changed)
            && reg.notify_consumer_ids_changed_enable
            && info.message_model != MessageModel::Broadcasting;
        RegisterOutcome {
            ids_changed,
            subscription_changed,
            notify,
        }
    }

    /// Removes member `conn` from `group` (UNREGISTER_CLIENT). Returns whether it was a
    /// member; a group left without members is removed. After a removal the caller notifies
    /// [`notify_targets`](Self::notify_targets) (the remaining members).
    pub fn unregister_consumer(&mut self, group: &str, conn: C) -> bool {
        let Some(info) = self.groups.get_mut(group) else {
            return false;
        };
        let removed = info.channels.remove(&conn).is_some();
        if info.channels.is_empty() {
            self.groups.remove(group);
            log::info!("unregister consumer ok, no member left, remove group {group}");
        }
        removed
    }

    /// A connection closed: removes it from every group. Returns the groups it was a member
    /// of, sorted (groups left empty are removed); the caller notifies each group's
    /// [`notify_targets`](Self::notify_targets).
    pub fn on_connection_closed(&mut self, conn: C) -> Vec<String> {
        let mut changed: Vec<String> = Vec::new();
        self.groups.retain(|name, info| {
            if info.channels.remove(&conn).is_some() {
                changed.push(name.clone());
            }
            !info.channels.is_empty()
        });
        changed.sort();
        changed
    }

    /// Removes members silent for more than `timeout_ms` at `now_ms` (Java
    /// `scanNotActiveChannel`); groups left empty are removed. Returns (group, connection)
    /// pairs, sorted by group, for the caller to close.
    pub fn scan_not_active_channels(&mut self, now_ms: u64, timeout_ms: u64) -> Vec<(String, C)> {
        let mut expired = Vec::new();
        self.groups.retain(|name, info| {
            info.channels.retain(|conn, ch| {
                let dead = ch.is_expired(now_ms, timeout_ms);
                if dead {
                    log::warn!(
                        "consumer channel {conn:?} of group {name} expired ({})",
                        ch.client_id
                    );
                    expired.push((name.clone(), *conn));
                }
                !dead
            });
            !info.channels.is_empty()
        });
        expired.sort_by(|a, b| a.0.cmp(&b.0));
        expired
    }

    /// The sorted client ids of `group` (empty if unknown).
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.groups
            .get(group)
            .map(|g| g.client_ids())
            .unwrap_or_default()
    }

    /// The connections of `group` (empty if unknown).
    pub fn channels_of(&self, group: &str) -> Vec<C> {
        self.groups
            .get(group)
            .map(|g| g.channels.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The connections to send NOTIFY_CONSUMER_IDS_CHANGED to after `group` changed: its
    /// members, unless `enabled` is false or the group is BROADCASTING (then none).
    pub fn notify_targets(&self, group: &str, enabled: bool) -> Vec<C> {
        match self.groups.get(group) {
            Some(g) if enabled && g.message_model != MessageModel::Broadcasting => {
                g.channels.keys().copied().collect()
            }
            _ => Vec::new(),
        }
    }

    /// The connection of `group` whose client id is `client_id`.
    pub fn find_channel(&self, group: &str, client_id: &str) -> Option<C> {
        self.groups
            .get(group)?
            .channels
            .iter()
            .find(|(_, ch)| ch.client_id == client_id)
            .map(|(conn, _)| *conn)
    }

    /// `group`'s current subscription to `topic`.
    pub fn find_subscription(&self, group: &str, topic: &str) -> Option<&SubscriptionData> {
        self.groups.get(group)?.subscription_table.get(topic)
    }

    /// The live state of `group`.
    pub fn group_info(&self, group: &str) -> Option<&ConsumerGroupInfo<C>> {
        self.groups.get(group)
    }

    /// The groups currently subscribing `topic`, sorted (Java `queryTopicConsumeByWho`).
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.subscription_table.contains_key(topic))
            .map(|(name, _)| name.clone())
            .collect();
        groups.sort();
        groups
    }

    /// All group names with live members, sorted.
    pub fn groups(&self) -> Vec<String> {
        let mut names: Vec<String> = self.groups.keys().cloned().collect();
        names.sort();
        names
    }
}
