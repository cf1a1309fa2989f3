//! Unit tests of the pure route table: no sockets, explicit time.

use std::collections::BTreeMap;

use protocol::body::perm::{PERM_READ, PERM_WRITE};
use protocol::body::register_broker::{DataVersion, TopicConfig};

use crate::route_table::{Registration, RouteTable};

const TIMEOUT_MS: u64 = 120_000;

fn topics(names: &[&str]) -> BTreeMap<String, TopicConfig> {
    names
        .iter()
        .map(|n| {
            let mut c = TopicConfig::new(*n);
            c.read_queue_nums = 4;
            c.write_queue_nums = 4;
            c.perm = PERM_READ | PERM_WRITE;
            (n.to_string(), c)
        })
        .collect()
}

fn reg(name: &str, id: i64, addr: &str, conn: u32, counter: i64, t: &[&str]) -> Registration<u32> {
    Registration {
        cluster: "DefaultCluster".into(),
        broker_addr: addr.into(),
        broker_name: name.into(),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        timeout_ms: TIMEOUT_MS,
        enable_acting_master: false,
        data_version: DataVersion {
            counter,
            state_version: 0,
            timestamp: 1,
        },
        topic_configs: topics(t),
        filter_servers: Vec::new(),
        conn,
    }
}

#[test]
fn master_and_slave_share_a_route_and_the_slave_learns_its_master() {
    let mut rt = RouteTable::new();
    let out = rt.register_broker(reg("broker-a", 0, "10.0.0.1:10911", 1, 1, &["T"]), 0);
    assert_eq!(out.master_addr, None);
    let out = rt.register_broker(reg("broker-a", 1, "10.0.0.2:10911", 2, 1, &["T"]), 0);
    assert_eq!(out.master_addr.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(out.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
    let route = rt.topic_route("T").unwrap();
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    assert!(rt.topic_route("Unknown").is_none());
}

#[test]
fn unchanged_data_version_keeps_wiped_permissions() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T"]), 0);
    assert_eq!(rt.wipe_write_perm("broker-a"), 1);
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T"]), 10);
    assert_eq!(rt.topic_route("T").unwrap().queue_datas[0].perm, PERM_READ);
    assert_eq!(rt.add_write_perm("broker-a"), 1);
    assert_eq!(
        rt.topic_route("T").unwrap().queue_datas[0].perm,
        PERM_READ | PERM_WRITE
    );
}

#[test]
fn a_new_data_version_replaces_the_topic_set() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T1", "T2"]), 0);
    rt.register_broker(reg("broker-b", 0, "b:1", 2, 1, &["T2"]), 0);
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 2, &["T1"]), 0);
    assert!(rt.topic_route("T1").is_some());
    let t2 = rt.topic_route("T2").unwrap();
    assert_eq!(t2.queue_datas.len(), 1);
    assert_eq!(t2.queue_datas[0].broker_name, "broker-b");
}

#[test]
fn silent_brokers_expire_after_their_timeout() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T"]), 1_000);
    assert!(rt.scan_not_active_brokers(1_000 + TIMEOUT_MS).is_empty());
    assert!(rt.refresh("DefaultCluster", "a:1", 50_000));
    assert!(rt
        .scan_not_active_brokers(1_000 + TIMEOUT_MS + 1)
        .is_empty());
    let removed = rt.scan_not_active_brokers(50_000 + TIMEOUT_MS + 1);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].conn, Some(1));
    assert!(rt.topic_route("T").is_none());
    assert!(rt.clusters().is_empty());
    assert!(rt.brokers().is_empty());
}

#[test]
fn a_closed_connection_removes_its_broker_but_the_slave_keeps_the_route() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T"]), 0);
    rt.register_broker(reg("broker-a", 1, "a:2", 2, 1, &["T"]), 0);
    let removed = rt.on_connection_closed(1);
    assert_eq!(removed.len(), 1);
    let route = rt.topic_route("T").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 1);
    assert!(rt.on_connection_closed(99).is_empty());
}

#[test]
fn unregistering_the_last_address_drops_broker_topics_and_cluster() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T"]), 0);
    rt.register_broker(reg("broker-b", 0, "b:1", 2, 1, &["T"]), 0);
    assert!(rt
        .unregister_broker("DefaultCluster", "a:1", "broker-a", 0)
        .is_some());
    assert_eq!(rt.topic_route("T").unwrap().queue_datas.len(), 1);
    assert!(rt
        .unregister_broker("DefaultCluster", "b:1", "broker-b", 0)
        .is_some());
    assert!(rt.topic_route("T").is_none());
    assert!(rt.all_topics().is_empty());
    assert!(rt.clusters().is_empty());
}

#[test]
fn delete_topic_everywhere_or_in_one_cluster() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 0, "a:1", 1, 1, &["T", "U"]), 0);
    let mut other = reg("broker-x", 0, "x:1", 2, 1, &["T"]);
    other.cluster = "Other".into();
    rt.register_broker(other, 0);
    assert_eq!(rt.topics_of_cluster("Other"), vec!["T".to_string()]);
    assert!(rt.delete_topic("T", Some("Other")));
    assert_eq!(rt.topic_route("T").unwrap().queue_datas.len(), 1);
    assert!(rt.delete_topic("U", None));
    assert!(!rt.delete_topic("U", None));
    assert_eq!(rt.all_topics(), vec!["T".to_string()]);
}

#[test]
fn conflicting_registration_with_an_older_state_is_refused() {
    let mut rt = RouteTable::new();
    let mut live = reg("broker-a", 0, "a:1", 1, 1, &["T"]);
    live.data_version.state_version = 5;
    rt.register_broker(live, 0);
    let out = rt.register_broker(reg("broker-a", 0, "z:9", 2, 1, &["T"]), 0);
    assert!(out.conflict);
    let route = rt.topic_route("T").unwrap();
    assert_eq!(
        route.broker_datas[0]
            .broker_addrs
            .get(&0)
            .map(String::as_str),
        Some("a:1")
    );
}

#[test]
fn a_promoted_slave_loses_its_old_id() {
    let mut rt = RouteTable::new();
    rt.register_broker(reg("broker-a", 1, "a:2", 2, 1, &["T"]), 0);
    rt.register_broker(reg("broker-a", 0, "a:2", 2, 2, &["T"]), 0);
    let addrs = &rt.brokers()["broker-a"].broker_addrs;
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs.get(&0).map(String::as_str), Some("a:2"));
    assert!(
        rt.topic_route("T").is_some(),
        "master registration adds queues"
    );
}

#[test]
fn acting_master_slave_registers_read_only_queues() {
    let mut rt = RouteTable::new();
    let mut slave = reg("broker-a", 1, "a:2", 2, 1, &["T"]);
    slave.enable_acting_master = true;
    rt.register_broker(slave, 0);
    assert_eq!(rt.topic_route("T").unwrap().queue_datas[0].perm, PERM_READ);
}

#[test]
fn data_version_queries() {
    let mut rt = RouteTable::new();
    let r = reg("broker-a", 0, "a:1", 1, 3, &["T"]);
    let version = r.data_version;
    rt.register_broker(r, 0);
    assert!(!rt.is_data_version_changed("DefaultCluster", "a:1", &version));
    let newer = DataVersion {
        counter: 4,
        ..version
    };
    assert!(rt.is_data_version_changed("DefaultCluster", "a:1", &newer));
    assert!(rt.is_data_version_changed("DefaultCluster", "nobody:1", &newer));
}
