//! `ProducerManager` (Java `ProducerManager`): the live connections of each producer group,
//! fed by heartbeats; used to pick a producer for transaction check-back and for admin
//! connection listings.
//!
//! Generic over the connection id `C`. Pure: callers pass `now_ms`. Not thread-safe.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use protocol::body::ProducerConnection;

use super::client_channel::ClientChannelInfo;

/// Producer group name → connection → client info.
#[derive(Debug, Clone)]
pub struct ProducerManager<C> {
    groups: HashMap<String, HashMap<C, ClientChannelInfo>>,
}

impl<C> Default for ProducerManager<C> {
    fn default() -> Self {
        ProducerManager {
            groups: HashMap::new(),
        }
    }
}

impl<C: Copy + Eq + Hash + Debug> ProducerManager<C> {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers or refreshes `conn` in `group` (heartbeat); its `last_update_ms` becomes
    /// `now_ms`. Returns true for a new connection.
    pub fn register_producer(
        &mut self,
        group: &str,
        conn: C,
        info: ClientChannelInfo,
        now_ms: u64,
    ) -> bool {
        let info = ClientChannelInfo {
            last_update_ms: now_ms,
            ..info
        };
        let channels = self.groups.entry(group.to_owned()).or_default();
        let is_new = channels.insert(conn, info).is_none();
        if is_new {
            log::info!("new producer connected, group {group} {conn:?}");
        }
        is_new
    }

    /// Removes `conn` from `group` (UNREGISTER_CLIENT); an emptied group is removed. Returns
    /// whether it was registered.
    pub fn unregister_producer(&mut self, group: &str, conn: C) -> bool {
        let Some(channels) = self.groups.get_mut(group) else {
            return false;
        };
        let removed = channels.remove(&conn).is_some();
        if channels.is_empty() {
            self.groups.remove(group);
        }
        removed
    }

    /// A connection closed: removes it everywhere. Returns the affected groups, sorted.
    pub fn on_connection_closed(&mut self, conn: C) -> Vec<String> {
        let mut affected = Vec::new();
        self.groups.retain(|group, channels| {
            if channels.remove(&conn).is_some() {
                affected.push(group.clone());
            }
            !channels.is_empty()
        });
        affected.sort();
        affected
    }

    /// Removes connections silent for more than `timeout_ms` at `now_ms`. Returns the
    /// (group, connection) pairs removed, sorted by group, for the caller to close.
    pub fn scan_not_active(&mut self, now_ms: u64, timeout_ms: u64) -> Vec<(String, C)> {
        let mut expired = Vec::new();
        self.groups.retain(|group, channels| {
            channels.retain(|conn, info| {
                let dead = info.is_expired(now_ms, timeout_ms);
                if dead {
                    log::warn!(
                        "producer channel {conn:?} of group {group} expired ({})",
                        info.client_id
                    );
                    expired.push((group.clone(), *conn));
                }
                !dead
            });
            !channels.is_empty()
        });
        expired.sort_by(|a, b| a.0.cmp(&b.0));
        expired
    }

    /// The connections of `group` with their info, sorted by (client id, address).
    pub fn connections(&self, group: &str) -> Vec<(C, ClientChannelInfo)> {
        let mut list: Vec<(C, ClientChannelInfo)> = self
            .groups
            .get(group)
            .map(|m| m.iter().map(|(c, i)| (*c, i.clone())).collect())
            .unwrap_or_default();
        list.sort_by(|a, b| {
            (&a.1.client_id, &a.1.client_addr).cmp(&(&b.1.client_id, &b.1.client_addr))
        });
        list
    }

    /// Round robin over `group`'s connections (in [`connections`](Self::connections) order):
    /// the one at `counter % len`. The caller increments `counter` per call and skips a
    /// connection that turns out unwritable by asking again.
    pub fn any_channel(&self, group: &str, counter: u64) -> Option<C> {
        let list = self.connections(group);
        if list.is_empty() {
            return None;
        }
        let index = usize::try_from(counter % list.len() as u64).unwrap_or(0);
        list.get(index).map(|(c, _)| *c)
    }

    /// The connection whose client id is `client_id`, in any group.
    pub fn find_channel(&self, client_id: &str) -> Option<C> {
        self.groups
            .values()
            .flat_map(|m| m.iter())
            .find(|(_, info)| info.client_id == client_id)
            .map(|(c, _)| *c)
    }

    /// The admin body (GET_PRODUCER_CONNECTION_LIST); `None` for an unknown group.
    pub fn producer_connection(&self, group: &str) -> Option<ProducerConnection> {
        if !self.groups.contains_key(group) {
            return None;
        }
        let connection_set = self
            .connections(group)
            .iter()
            .map(|(_, info)| info.to_connection())
            .collect();
        Some(ProducerConnection { connection_set })
    }

    /// All producer group names, sorted.
    pub fn all_groups(&self) -> Vec<String> {
        let mut names: Vec<String> = self.groups.keys().cloned().collect();
        names.sort();
        names
    }
}
