//! The member side of [`InstanceCore`]: registered producers and consumers, heartbeats,
//! unregistration, and the periodic offset persistence and rebalancing they need.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use protocol::body::{HeartbeatData, ProducerData};

use super::{
    lock, read, ConsumerMember, InstanceCore, ProducerMember, CLIENT_INNER_PRODUCER_GROUP,
};
use crate::error::{Error, Result};

/// Delay of the retry of a rebalance that could not decide a topic (see
/// [`InstanceCore::retry_rebalance_soon`]).
pub(crate) const REBALANCE_RETRY_MS: u64 = 1_000;

impl InstanceCore {
    pub(crate) fn register_producer(&self, member: Arc<dyn ProducerMember>) -> Result<()> {
        let group = member.group().to_string();
        let mut producers = lock(&self.producers);
        if producers.contains_key(&group) {
            return Err(Error::GroupAlreadyRegistered { group });
        }
        producers.insert(group, member);
        Ok(())
    }

    pub(crate) fn register_consumer(&self, member: Arc<dyn ConsumerMember>) -> Result<()> {
        let group = member.group().to_string();
        let mut consumers = lock(&self.consumers);
        if consumers.contains_key(&group) {
            return Err(Error::GroupAlreadyRegistered { group });
        }
        consumers.insert(group, member);
        Ok(())
    }

    pub(crate) fn producer(&self, group: &str) -> Option<Arc<dyn ProducerMember>> {
        lock(&self.producers).get(group).cloned()
    }

    pub(crate) fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerMember>> {
        lock(&self.consumers).get(group).cloned()
    }

    pub(crate) fn consumer_members(&self) -> Vec<Arc<dyn ConsumerMember>> {
        lock(&self.consumers).values().cloned().collect()
    }

    /// Removes a member and tells every broker (UNREGISTER_CLIENT).
    pub(crate) fn unregister(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        if let Some(g) = producer_group {
            lock(&self.producers).remove(g);
        }
        if let Some(g) = consumer_group {
            lock(&self.consumers).remove(g);
        }
        if self.is_stopped() {
            return;
        }
        let addrs: Vec<String> = read(&self.brokers)
            .values()
            .flat_map(|a| a.values().cloned())
            .collect();
        for addr in addrs {
            let timeout = self.config.rpc_timeout_ms;
            if let Err(e) = self.api.unregister_client(
                &addr,
                &self.client_id,
                producer_group,
                consumer_group,
                timeout,
            ) {
                log::warn!("unregister of {} from {addr} failed: {e}", self.client_id);
            }
        }
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let mut producer_data_set: Vec<ProducerData> = lock(&self.producers)
            .keys()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        producer_data_set.push(ProducerData {
            group_name: CLIENT_INNER_PRODUCER_GROUP.to_string(),
        });
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: self
                .consumer_members()
                .iter()
                .map(|c| c.consumer_data())
                .collect(),
            producer_data_set,
            ..Default::default()
        }
    }

    /// Sends a heartbeat to every known broker (only masters when there is no consumer).
    pub(crate) fn send_heartbeat_to_all(&self) {
        if self.is_stopped() {
            return;
        }
        let data = self.heartbeat_data();
        let with_consumers = !data.consumer_data_set.is_empty();
        if !with_consumers && data.producer_data_set.len() <= 1 {
            return;
        }
        let brokers: Vec<(i64, String)> = read(&self.brokers)
            .values()
            .flat_map(|a| a.iter().map(|(id, addr)| (*id, addr.clone())))
            .collect();
        for (id, addr) in brokers {
            if !with_consumers && id != 0 {
                continue;
            }
            if let Err(e) = self
                .api
                .send_heartbeat(&addr, &data, self.config.rpc_timeout_ms)
            {
                log::warn!("heartbeat to {addr} failed: {e}");
            }
        }
    }

    /// Sends heartbeats soon, on the scheduler thread.
    pub(crate) fn schedule_heartbeat(self: &InstanceCore) {
        let Some(me) = self.self_weak() else { return };
        self.scheduler.schedule(0, move || {
            if let Some(core) = me.upgrade() {
                core.send_heartbeat_to_all();
            }
        });
    }

    pub(super) fn persist_all_offsets(&self) {
        for c in self.consumer_members() {
            c.persist_offsets();
        }
    }

    pub(super) fn rebalance_all(&self) {
        if self.is_stopped() {
            return;
        }
        for c in self.consumer_members() {
            c.rebalance();
        }
    }

    /// Runs a rebalance of every consumer soon (coalesced), e.g. after
    /// NOTIFY_CONSUMER_IDS_CHANGED.
    pub(crate) fn request_rebalance(&self) {
        if self.rebalance_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(me) = self.self_weak() else { return };
        self.scheduler.schedule(0, move || {
            if let Some(core) = me.upgrade() {
                core.rebalance_pending.store(false, Ordering::Release);
                core.rebalance_all();
            }
        });
    }

    /// Runs a rebalance again in [`REBALANCE_RETRY_MS`] (coalesced) when one could not decide
    /// a topic: its route or the group's members were not known yet — typically the retry
    /// topic and this client's membership right after start, which the broker creates and
    /// learns from our first heartbeat. The Java client waits for the next 20 s round.
    pub(crate) fn retry_rebalance_soon(&self) {
        if self.rebalance_retry_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(me) = self.self_weak() else { return };
        self.scheduler.schedule(REBALANCE_RETRY_MS, move || {
            if let Some(core) = me.upgrade() {
                core.rebalance_retry_pending.store(false, Ordering::Release);
                core.request_rebalance();
            }
        });
    }

    /// A weak reference to this core (it always lives in an `Arc`).
    fn self_weak(&self) -> Option<Weak<InstanceCore>> {
        Some(self.me.clone())
    }
}
