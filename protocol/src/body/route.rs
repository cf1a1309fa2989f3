//! Topic route data: the GET_ROUTEINFO_BY_TOPIC response body (and REGISTER_TOPIC_IN_NAMESRV
//! request body).
//!
//! ```text
//! {"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a",
//!   "cluster":"DefaultCluster","enableActingMaster":false}],
//!  "filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,
//!   "topicSysFlag":0,"writeQueueNums":4}]}
//! ```
//! The NameServer writes integer keys quoted for clients at version ≥ 401 (V4_9_4) or that set
//! `acceptStandardJsonOnly`, unquoted otherwise ([`TopicRouteData::encode`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dialect::{to_json_vec, IntKeys};
use super::mq_version::V4_9_4;
use super::perm;
use super::JsonBody;

/// The broker id of a master; slaves have ids ≥ 1.
pub const MASTER_ID: i64 = 0;

/// One broker group (master + slaves) of a cluster (Java `BrokerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id → `ip:port`; id 0 is the master.
    pub broker_addrs: BTreeMap<i64, String>,
    /// The broker group name.
    pub broker_name: String,
    /// The cluster the group belongs to.
    pub cluster: String,
    /// [5.x] Whether a slave acts as master while the master is down.
    pub enable_acting_master: bool,
    /// [5.x] The zone, when zone mode is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// A group without addresses.
    pub fn new(cluster: impl Into<String>, broker_name: impl Into<String>) -> Self {
        BrokerData {
            broker_name: broker_name.into(),
            cluster: cluster.into(),
            ..Default::default()
        }
    }

    /// The master's address (broker id 0), if the group has a master.
    pub fn select_master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }

    /// The master's address, else the slave with the lowest id (Java picks a random slave; a
    /// deterministic choice keeps this pure).
    pub fn select_broker_addr(&self) -> Option<&str> {
        self.select_master_addr()
            .or_else(|| self.broker_addrs.values().next().map(String::as_str))
    }

    /// The address of broker `broker_id` in this group.
    pub fn addr_of(&self, broker_id: i64) -> Option<&str> {
        self.broker_addrs.get(&broker_id).map(String::as_str)
    }

    /// Whether the group currently has a master.
    pub fn has_master(&self) -> bool {
        self.broker_addrs.contains_key(&MASTER_ID)
    }
}

/// The queues of one topic on one broker group (Java `QueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    /// The broker group hosting the queues.
    pub broker_name: String,
    /// Permission bits (see [`perm`]).
    pub perm: i32,
    /// Number of queues consumers read.
    pub read_queue_nums: i32,
    /// Topic system flag (`topicSynFlag` in old releases, accepted on input).
    #[serde(alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    /// Number of queues producers write.
    pub write_queue_nums: i32,
}

impl QueueData {
    /// Whether producers may send to these queues.
    pub fn is_writeable(&self) -> bool {
        perm::is_writeable(self.perm)
    }

    /// Whether consumers may read these queues.
    pub fn is_readable(&self) -> bool {
        perm::is_readable(self.perm)
    }
}

/// The route of one topic: which broker groups host it and with how many queues.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// The broker groups hosting the topic.
    #[serde(deserialize_with = "super::null_default")]
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → its filter servers (legacy; normally empty).
    #[serde(deserialize_with = "super::null_default")]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `broker-a:4;broker-b:4` for ordered topics when the NameServer has order config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// One entry per broker group hosting the topic.
    #[serde(deserialize_with = "super::null_default")]
    pub queue_datas: Vec<QueueData>,
    /// [5.x] Static-topic mapping per broker, passed through unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<BTreeMap<String, serde_json::Value>>,
}

impl JsonBody for TopicRouteData {}

impl TopicRouteData {
    /// Encodes the body for a client: standard JSON (quoted integer keys) when the request's
    /// `version` is at least 401 (V4_9_4) or it set `acceptStandardJsonOnly`, fastjson's
    /// unquoted dialect otherwise (trap 8). Map entries are sorted either way.
    pub fn encode(&self, client_version: i32, accept_standard_json_only: bool) -> Vec<u8> {
        let keys = if client_version >= V4_9_4 || accept_standard_json_only {
            IntKeys::Quoted
        } else {
            IntKeys::Unquoted
        };
        to_json_vec(self, keys)
    }

    /// The broker group named `broker_name`.
    pub fn find_broker(&self, broker_name: &str) -> Option<&BrokerData> {
        self.broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
    }

    /// The queue data of broker group `broker_name`.
    pub fn find_queue_data(&self, broker_name: &str) -> Option<&QueueData> {
        self.queue_datas
            .iter()
            .find(|q| q.broker_name == broker_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(addrs: &[(i64, &str)]) -> BrokerData {
        let mut b = BrokerData::new("C", "b");
        b.broker_addrs = addrs.iter().map(|(id, a)| (*id, (*a).to_owned())).collect();
        b
    }

    #[test]
    fn address_selection() {
        let b = broker(&[(2, "s2:1"), (0, "m:1"), (1, "s1:1")]);
        assert_eq!(b.select_master_addr(), Some("m:1"));
        assert_eq!(b.select_broker_addr(), Some("m:1"));
        assert_eq!(b.addr_of(2), Some("s2:1"));
        assert!(b.has_master());
        let b = broker(&[(2, "s2:1"), (1, "s1:1")]);
        assert_eq!(b.select_master_addr(), None);
        assert_eq!(b.select_broker_addr(), Some("s1:1"));
        assert!(!b.has_master());
        assert_eq!(broker(&[]).select_broker_addr(), None);
    }

    #[test]
    fn encode_picks_the_dialect_by_client_version() {
        let route = TopicRouteData {
            broker_datas: vec![broker(&[(0, "m:1")])],
            ..Default::default()
        };
        let old = String::from_utf8(route.encode(317, false)).expect("UTF-8");
        assert!(old.contains(r#"{"brokerAddrs":{0:"m:1"}"#), "{old}");
        let flagged = String::from_utf8(route.encode(317, true)).expect("UTF-8");
        assert!(
            flagged.contains(r#"{"brokerAddrs":{"0":"m:1"}"#),
            "{flagged}"
        );
        let new = String::from_utf8(route.encode(401, false)).expect("UTF-8");
        assert_eq!(new, flagged);
        let older = String::from_utf8(route.encode(400, false)).expect("UTF-8");
        assert_eq!(older, old);
    }

    #[test]
    fn queue_data_accepts_the_old_flag_name() {
        let q: QueueData = crate::body::from_json_slice(
            br#"{"brokerName":"b","perm":6,"readQueueNums":4,"topicSynFlag":3,"writeQueueNums":2}"#,
        )
        .expect("old QueueData");
        assert_eq!(q.topic_sys_flag, 3);
        assert!(q.is_readable() && q.is_writeable());
    }
}
