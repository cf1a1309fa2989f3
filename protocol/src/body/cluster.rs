//! Cluster-level bodies: `ClusterInfo` (GET_BROKER_CLUSTER_INFO), `KvTable` (KV config and
//! broker runtime info), `TopicList`, `GroupList` and the consumer id list of a group.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::route::BrokerData;
use super::{null_default, JsonBody};

/// Every broker group and cluster the NameServer knows (Java `ClusterInfo`).
///
/// `{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911"},...}},
/// "clusterAddrTable":{"DefaultCluster":["broker-a"]}}`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → its group.
    #[serde(deserialize_with = "null_default")]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    #[serde(deserialize_with = "null_default")]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl JsonBody for ClusterInfo {}

impl ClusterInfo {
    /// The master addresses of every broker group of `cluster` (what `updateTopic -c` targets).
    pub fn master_addrs_of_cluster(&self, cluster: &str) -> Vec<&str> {
        self.cluster_addr_table
            .get(cluster)
            .into_iter()
            .flatten()
            .filter_map(|name| self.broker_addr_table.get(name))
            .filter_map(BrokerData::select_master_addr)
            .collect()
    }
}

/// A string-to-string table (Java `KVTable`): `{"table":{"k":"v"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KvTable {
    /// The entries.
    #[serde(deserialize_with = "null_default")]
    pub table: BTreeMap<String, String>,
}

impl JsonBody for KvTable {}

/// A set of topic names (Java `TopicList`): `{"topicList":["a","b"],"brokerAddr":"x"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    /// Set only by GET_SYSTEM_TOPIC_LIST_FROM_NS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    /// The topic names.
    #[serde(deserialize_with = "null_default")]
    pub topic_list: BTreeSet<String>,
}

impl JsonBody for TopicList {}

/// A set of consumer group names (Java `GroupList`): `{"groupList":["G"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    /// The group names.
    #[serde(deserialize_with = "null_default")]
    pub group_list: BTreeSet<String>,
}

impl JsonBody for GroupList {}

/// GET_CONSUMER_LIST_BY_GROUP response body: `{"consumerIdList":["clientId1"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetConsumerListByGroupResponseBody {
    /// Client ids of the group's live members.
    #[serde(deserialize_with = "null_default")]
    pub consumer_id_list: Vec<String>,
}

impl JsonBody for GetConsumerListByGroupResponseBody {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_addrs_of_cluster() {
        let mut info = ClusterInfo::default();
        for (name, addrs) in [("a", vec![(0, "a0"), (1, "a1")]), ("b", vec![(1, "b1")])] {
            let mut b = BrokerData::new("C", name);
            b.broker_addrs = addrs.into_iter().map(|(i, s)| (i, s.to_owned())).collect();
            info.broker_addr_table.insert(name.to_owned(), b);
        }
        info.cluster_addr_table.insert(
            "C".into(),
            ["a".to_owned(), "b".to_owned(), "gone".to_owned()].into(),
        );
        assert_eq!(info.master_addrs_of_cluster("C"), ["a0"]);
        assert!(info.master_addrs_of_cluster("X").is_empty());
    }
}
