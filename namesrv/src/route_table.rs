//! The NameServer's tables (RocketMQ `RouteInfoManager`): topic → queues per broker, broker name →
//! addresses, cluster → broker names, broker liveness and filter servers.
//!
//! A pure core: no sockets, no threads, no clock. Time comes in as `now_ms`; the connection a
//! registration arrived on is an opaque `C` (the remoting `ConnId`) so that a closed connection can
//! remove its brokers. Owned by the NameServer's event-loop thread; not thread-safe.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::perm::PERM_WRITE;
use protocol::body::register_broker::{DataVersion, TopicConfig};
use protocol::body::route::{BrokerData, QueueData, MASTER_ID};

/// What a broker sends with REGISTER_BROKER, already decoded.
#[derive(Debug, Clone)]
pub struct Registration<C> {
    /// `clusterName`.
    pub cluster: String,
    /// `brokerAddr` (`brokerIP1:listenPort`).
    pub broker_addr: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`: 0 = master.
    pub broker_id: i64,
    /// `haServerAddr`.
    pub ha_server_addr: String,
    /// Liveness timeout for this broker (`heartbeatTimeoutMillis` or the NameServer default).
    pub timeout_ms: u64,
    /// `enableActingMaster`.
    pub enable_acting_master: bool,
    /// The broker's data version and topic configs.
    pub data_version: DataVersion,
    /// Topic configs by name.
    pub topic_configs: BTreeMap<String, TopicConfig>,
    /// `filterServerList`.
    pub filter_servers: Vec<String>,
    /// The connection the registration came on.
    pub conn: C,
}

/// Outcome of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterOutcome {
    /// For a slave: its master's address, if the master is registered.
    pub master_addr: Option<String>,
    /// For a slave: its master's HA address.
    pub ha_server_addr: Option<String>,
    /// True when the registration was refused because another live broker holds this
    /// (brokerName, brokerId) with a newer state version.
    pub conflict: bool,
}

/// Liveness record of one broker address.
#[derive(Debug, Clone)]
pub struct BrokerLiveInfo<C> {
    /// Last registration or heartbeat, ms.
    pub last_update_ms: u64,
    /// Expiry timeout, ms.
    pub timeout_ms: u64,
    /// Data version of the last registration.
    pub data_version: DataVersion,
    /// Connection of the last registration.
    pub conn: C,
    /// HA address.
    pub ha_server_addr: String,
}

/// Key of the live table: (cluster, broker address).
type AddrKey = (String, String);

/// The route tables.
#[derive(Debug)]
pub struct RouteTable<C> {
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: BTreeMap<AddrKey, BrokerLiveInfo<C>>,
    filter_server_table: BTreeMap<AddrKey, Vec<String>>,
}

impl<C> Default for RouteTable<C> {
    fn default() -> Self {
        RouteTable {
            topic_queue_table: BTreeMap::new(),
            broker_addr_table: BTreeMap::new(),
            cluster_addr_table: BTreeMap::new(),
            broker_live_table: BTreeMap::new(),
            filter_server_table: BTreeMap::new(),
        }
    }
}

/// A broker address removed from the tables (by unregister, expiry or connection close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedBroker<C> {
    /// Cluster name.
    pub cluster: String,
    /// Broker address.
    pub broker_addr: String,
    /// Connection it registered on, if it was live.
    pub conn: Option<C>,
}

impl<C: Copy + PartialEq> RouteTable<C> {
    /// A new, empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// topic → broker name → queue data.
    pub fn topic_queues(&self) -> &BTreeMap<String, BTreeMap<String, QueueData>> {
        &self.topic_queue_table
    }

    pub(crate) fn topic_queues_mut(
        &mut self,
    ) -> &mut BTreeMap<String, BTreeMap<String, QueueData>> {
        &mut self.topic_queue_table
    }

    /// broker name → addresses by id.
    pub fn brokers(&self) -> &BTreeMap<String, BrokerData> {
        &self.broker_addr_table
    }

    /// cluster → broker names.
    pub fn clusters(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.cluster_addr_table
    }

    /// Filter servers registered by the broker at `(cluster, addr)`.
    pub fn filter_servers(&self, cluster: &str, addr: &str) -> Option<&[String]> {
        self.filter_server_table
            .get(&(cluster.to_string(), addr.to_string()))
            .map(Vec::as_slice)
    }

    /// Liveness record of the broker at `(cluster, addr)`.
    pub fn live_info(&self, cluster: &str, addr: &str) -> Option<&BrokerLiveInfo<C>> {
        self.broker_live_table
            .get(&(cluster.to_string(), addr.to_string()))
    }

    /// REGISTER_BROKER. See the wire reference §10 for the rules implemented here.
    pub fn register_broker(&mut self, reg: Registration<C>, now_ms: u64) -> RegisterOutcome {
        let key = (reg.cluster.clone(), reg.broker_addr.clone());
        if self.conflicts_with_live_broker(&reg) {
            log::warn!(
                "registration of {} as {}/{} conflicts with a live broker holding that id; ignored",
                reg.broker_addr,
                reg.broker_name,
                reg.broker_id
            );
            self.broker_live_table.remove(&key);
            return RegisterOutcome {
                conflict: true,
                ..Default::default()
            };
        }
        self.cluster_addr_table
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let broker = self
            .broker_addr_table
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData::new(&reg.cluster, &reg.broker_name));
        broker.enable_acting_master = reg.enable_acting_master;
        // An address moving to another id (slave promoted to master) loses its old id.
        broker
            .broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        let first_time = broker
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone())
            .is_none();
        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave = reg.enable_acting_master
            && !is_master
            && broker.broker_addrs.keys().next() == Some(&reg.broker_id);
        let changed = first_time
            || self
                .broker_live_table
                .get(&key)
                .is_none_or(|live| reg.data_version.changed_from(&live.data_version));
        if (is_master || is_prime_slave) && changed {
            self.apply_topic_configs(&reg, is_prime_slave);
        }
        self.broker_live_table.insert(
            key.clone(),
            BrokerLiveInfo {
                last_update_ms: now_ms,
                timeout_ms: reg.timeout_ms,
                data_version: reg.data_version,
                conn: reg.conn,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        if reg.filter_servers.is_empty() {
            self.filter_server_table.remove(&key);
        } else {
            self.filter_server_table.insert(key, reg.filter_servers);
        }
        self.master_of(&reg.cluster, &reg.broker_name, reg.broker_id)
    }

    fn conflicts_with_live_broker(&self, reg: &Registration<C>) -> bool {
        let Some(old_addr) = self
            .broker_addr_table
            .get(&reg.broker_name)
            .and_then(|b| b.broker_addrs.get(&reg.broker_id))
        else {
            return false;
        };
        if *old_addr == reg.broker_addr {
            return false;
        }
        self.broker_live_table
            .get(&(reg.cluster.clone(), old_addr.clone()))
            .is_some_and(|old| old.data_version.state_version > reg.data_version.state_version)
    }

    fn apply_topic_configs(&mut self, reg: &Registration<C>, wipe_write: bool) {
        for config in reg.topic_configs.values() {
            let mut perm = config.perm;
            if wipe_write {
                perm &= !PERM_WRITE;
            }
            let queue_data = QueueData {
                broker_name: reg.broker_name.clone(),
                perm,
                read_queue_nums: config.read_queue_nums,
                write_queue_nums: config.write_queue_nums,
                topic_sys_flag: config.topic_sys_flag,
            };
            self.topic_queue_table
                .entry(config.topic_name.clone())
                .or_default()
                .insert(reg.broker_name.clone(), queue_data);
        }
        // Topics this broker no longer has (deleted on the broker) lose its queues.
        let stale: Vec<String> = self
            .topic_queue_table
            .iter()
            .filter(|(topic, queues)| {
                queues.contains_key(&reg.broker_name) && !reg.topic_configs.contains_key(*topic)
            })
            .map(|(topic, _)| topic.clone())
            .collect();
        for topic in stale {
            self.remove_broker_from_topic(&topic, &reg.broker_name);
        }
    }

    fn remove_broker_from_topic(&mut self, topic: &str, broker_name: &str) {
        if let Some(queues) = self.topic_queue_table.get_mut(topic) {
            queues.remove(broker_name);
            if queues.is_empty() {
                self.topic_queue_table.remove(topic);
            }
        }
    }

    fn master_of(&self, cluster: &str, broker_name: &str, broker_id: i64) -> RegisterOutcome {
        if broker_id == MASTER_ID {
            return RegisterOutcome::default();
        }
        let master_addr = self
            .broker_addr_table
            .get(broker_name)
            .and_then(|b| b.broker_addrs.get(&MASTER_ID))
            .cloned();
        let ha_server_addr = master_addr.as_ref().and_then(|addr| {
            self.broker_live_table
                .get(&(cluster.to_string(), addr.clone()))
                .map(|live| live.ha_server_addr.clone())
        });
        RegisterOutcome {
            master_addr,
            ha_server_addr,
            conflict: false,
        }
    }

    /// UNREGISTER_BROKER (and the common path of expiry and connection close).
    pub fn unregister_broker(
        &mut self,
        cluster: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Option<RemovedBroker<C>> {
        let key = (cluster.to_string(), broker_addr.to_string());
        let live = self.broker_live_table.remove(&key);
        self.filter_server_table.remove(&key);
        let mut removed_name = false;
        if let Some(broker) = self.broker_addr_table.get_mut(broker_name) {
            if broker.broker_addrs.get(&broker_id).map(String::as_str) == Some(broker_addr) {
                broker.broker_addrs.remove(&broker_id);
            }
            if broker.broker_addrs.is_empty() {
                self.broker_addr_table.remove(broker_name);
                removed_name = true;
            }
        }
        if removed_name {
            if let Some(names) = self.cluster_addr_table.get_mut(cluster) {
                names.remove(broker_name);
                if names.is_empty() {
                    self.cluster_addr_table.remove(cluster);
                }
            }
            let topics: Vec<String> = self.topic_queue_table.keys().cloned().collect();
            for topic in topics {
                self.remove_broker_from_topic(&topic, broker_name);
            }
        }
        live.map(|l| RemovedBroker {
            cluster: cluster.to_string(),
            broker_addr: broker_addr.to_string(),
            conn: Some(l.conn),
        })
    }

    /// Removes the broker registered at `(cluster, broker_addr)`, whatever its name and id.
    fn remove_addr(&mut self, cluster: &str, broker_addr: &str) -> Option<RemovedBroker<C>> {
        let found = self.broker_addr_table.values().find_map(|b| {
            b.broker_addrs
                .iter()
                .find(|(_, a)| a.as_str() == broker_addr)
                .map(|(id, _)| (b.broker_name.clone(), *id))
        });
        match found {
            Some((name, id)) => self.unregister_broker(cluster, broker_addr, &name, id),
            None => {
                let key = (cluster.to_string(), broker_addr.to_string());
                self.filter_server_table.remove(&key);
                self.broker_live_table.remove(&key).map(|l| RemovedBroker {
                    cluster: cluster.to_string(),
                    broker_addr: broker_addr.to_string(),
                    conn: Some(l.conn),
                })
            }
        }
    }

    /// Expiry scan: removes brokers whose last update is older than their timeout.
    pub fn scan_not_active_brokers(&mut self, now_ms: u64) -> Vec<RemovedBroker<C>> {
        let expired: Vec<AddrKey> = self
            .broker_live_table
            .iter()
            .filter(|(_, l)| now_ms.saturating_sub(l.last_update_ms) > l.timeout_ms)
            .map(|(k, _)| k.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|(cluster, addr)| self.remove_addr(&cluster, &addr))
            .collect()
    }

    /// A connection closed: removes every broker that registered on it.
    pub fn on_connection_closed(&mut self, conn: C) -> Vec<RemovedBroker<C>> {
        let keys: Vec<AddrKey> = self
            .broker_live_table
            .iter()
            .filter(|(_, l)| l.conn == conn)
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|(cluster, addr)| self.remove_addr(&cluster, &addr))
            .collect()
    }

    /// BROKER_HEARTBEAT / unchanged QUERY_DATA_VERSION: refreshes liveness.
    pub fn refresh(&mut self, cluster: &str, broker_addr: &str, now_ms: u64) -> bool {
        match self
            .broker_live_table
            .get_mut(&(cluster.to_string(), broker_addr.to_string()))
        {
            Some(live) => {
                live.last_update_ms = now_ms;
                true
            }
            None => false,
        }
    }

    /// QUERY_DATA_VERSION: whether the broker's data version differs from the stored one.
    pub fn is_data_version_changed(
        &self,
        cluster: &str,
        broker_addr: &str,
        version: &DataVersion,
    ) -> bool {
        self.broker_live_table
            .get(&(cluster.to_string(), broker_addr.to_string()))
            .is_none_or(|live| version.changed_from(&live.data_version))
    }

    /// Stored data version of a broker.
    pub fn data_version(&self, cluster: &str, broker_addr: &str) -> Option<&DataVersion> {
        self.broker_live_table
            .get(&(cluster.to_string(), broker_addr.to_string()))
            .map(|l| &l.data_version)
    }
}
