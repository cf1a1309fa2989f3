//! Read and admin operations on the [`RouteTable`]: topic routes, cluster info, topic lists,
//! topic deletion and write-permission changes. Split from `route_table.rs` by concern.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::perm::PERM_WRITE;
use protocol::body::route::{BrokerData, QueueData, TopicRouteData};

use crate::route_table::RouteTable;

impl<C: Copy + PartialEq> RouteTable<C> {
    /// GET_ROUTEINFO_BY_TOPIC: `None` when the topic or all of its brokers are unknown.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queues().get(topic)?;
        let queue_datas: Vec<QueueData> = queues.values().cloned().collect();
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.brokers().get(name).cloned())
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        let mut filter_server_table = BTreeMap::new();
        for broker in &broker_datas {
            for addr in broker.broker_addrs.values() {
                if let Some(servers) = self.filter_servers(&broker.cluster, addr) {
                    filter_server_table.insert(addr.clone(), servers.to_vec());
                }
            }
        }
        Some(TopicRouteData {
            broker_datas,
            queue_datas,
            filter_server_table,
            ..Default::default()
        })
    }

    /// Every topic name.
    pub fn all_topics(&self) -> Vec<String> {
        self.topic_queues().keys().cloned().collect()
    }

    /// Topics with at least one queue on a broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(names) = self.clusters().get(cluster) else {
            return Vec::new();
        };
        self.topic_queues()
            .iter()
            .filter(|(_, queues)| queues.keys().any(|b| names.contains(b)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// RocketMQ's "system topics" of a NameServer: every cluster name and broker name (brokers
    /// register a topic named after each), plus one broker address for the tool to query.
    pub fn system_topics(&self) -> (Vec<String>, Option<String>) {
        let mut topics = BTreeSet::new();
        let mut any_addr = None;
        for (cluster, names) in self.clusters() {
            topics.insert(cluster.clone());
            for name in names {
                topics.insert(name.clone());
                if any_addr.is_none() {
                    any_addr = self
                        .brokers()
                        .get(name)
                        .and_then(|b| b.broker_addrs.values().next().cloned());
                }
            }
        }
        (topics.into_iter().collect(), any_addr)
    }

    /// DELETE_TOPIC_IN_NAMESRV. With a cluster, only that cluster's brokers lose the topic.
    /// Returns true if anything was removed.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) -> bool {
        let Some(cluster) = cluster.filter(|c| !c.is_empty()) else {
            return self.topic_queues_mut().remove(topic).is_some();
        };
        let names = self.clusters().get(cluster).cloned().unwrap_or_default();
        let Some(queues) = self.topic_queues_mut().get_mut(topic) else {
            return false;
        };
        let before = queues.len();
        queues.retain(|broker, _| !names.contains(broker));
        let removed = queues.len() != before;
        if queues.is_empty() {
            self.topic_queues_mut().remove(topic);
        }
        removed
    }

    /// WIPE_WRITE_PERM_OF_BROKER: clears PERM_WRITE on every queue of `broker_name`; returns how
    /// many topics were changed.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |perm| perm & !PERM_WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: restores PERM_WRITE; returns how many topics were changed.
    pub fn add_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |perm| perm | PERM_WRITE)
    }

    fn update_perm(&mut self, broker_name: &str, f: impl Fn(i32) -> i32) -> i32 {
        let mut count = 0;
        for queues in self.topic_queues_mut().values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = f(q.perm);
                count += 1;
            }
        }
        count
    }

    /// REGISTER_TOPIC_IN_NAMESRV: sets the queue data of known brokers for one topic.
    pub fn register_topic(&mut self, topic: &str, queue_datas: Vec<QueueData>) -> bool {
        let known: Vec<QueueData> = queue_datas
            .into_iter()
            .filter(|q| self.brokers().contains_key(&q.broker_name))
            .collect();
        if known.is_empty() {
            return false;
        }
        let entry = self
            .topic_queues_mut()
            .entry(topic.to_string())
            .or_default();
        for q in known {
            entry.insert(q.broker_name.clone(), q);
        }
        true
    }
}
