//! Helpers for the HA loopback tests: a NameServer plus a master and slaves in-process on
//! 127.0.0.1 port 0 with temp stores, byte comparison of commitlog ranges, NameServer route
//! and cluster queries. Polls with deadlines; never sleeps to wait.
#![allow(dead_code)]

use std::path::Path;

use broker::config::{BrokerConfig, BrokerRole};
use broker::store::{MessageStore, StoreConfig};
use broker::BrokerServer;
use namesrv::NamesrvServer;
use protocol::body::route::TopicRouteData;
use protocol::body::{from_json_slice, ClusterInfo, JsonBody};
use protocol::header::GetRouteInfoRequestHeader;
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode};

use crate::broker_support::*;

/// Commitlog segment size of the HA tests (small, so several segments fill quickly).
pub const SEGMENT_BYTES: u64 = 16 * 1024;

/// A NameServer with its address.
pub struct Ns {
    pub server: NamesrvServer,
    pub addr: String,
}

pub fn namesrv(dir: &Path) -> Ns {
    let server = start_namesrv(dir);
    let addr = server.local_addr().to_string();
    Ns { server, addr }
}

/// A store config with small segments.
pub fn ha_store(root: &Path) -> StoreConfig {
    let mut c = store_config(root);
    c.commit_log_segment_bytes = SEGMENT_BYTES;
    c
}

/// A master of `broker-a` with `role`.
pub fn master_config(ns: &Ns, role: BrokerRole) -> BrokerConfig {
    let mut c = broker_config(std::slice::from_ref(&ns.addr));
    c.broker_role = role;
    c
}

/// Slave `id` of `broker-a`: fast reconnects and metadata sync, reads allowed.
pub fn slave_config(ns: &Ns, id: u64) -> BrokerConfig {
    let mut c = broker_config(std::slice::from_ref(&ns.addr));
    c.broker_role = BrokerRole::Slave;
    c.broker_id = id;
    c.ha_reconnect_interval_ms = 100;
    c.slave_sync_metadata_interval_ms = 200;
    c.slave_read_enable = true;
    c
}

/// The ids the NameServer lists for `broker-a` (id → address).
pub fn broker_a_addrs(c: &RemotingHandle, ns: &Ns) -> std::collections::BTreeMap<i64, String> {
    let req = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
    match c.invoke_sync(&ns.addr, req, TIMEOUT_MS) {
        Ok(r) if r.code == 0 => ClusterInfo::decode_body(&r.body)
            .ok()
            .and_then(|i| i.broker_addr_table.get("broker-a").cloned())
            .map(|b| b.broker_addrs)
            .unwrap_or_default(),
        _ => Default::default(),
    }
}

/// Starts a master and waits until the NameServer lists it as id 0.
pub fn start_master(ns: &Ns, role: BrokerRole, root: &Path) -> BrokerServer {
    let m = start_broker(master_config(ns, role), ha_store(root));
    let c = client();
    let addr = m.broker_addr();
    wait_until("master registered", 10, || {
        broker_a_addrs(&c, ns).get(&0) == Some(&addr)
    });
    c.shutdown();
    m
}

/// Starts slave `config` and waits until its HA link is up.
pub fn start_slave(config: BrokerConfig, root: &Path) -> BrokerServer {
    let s = start_broker(config, ha_store(root));
    wait_until("slave HA link", 10, || {
        s.ha().client_status().is_some_and(|st| st.is_connected())
    });
    s
}

/// Waits until the slave's commitlog (written and readable) ends where the master's does.
pub fn wait_caught_up(master: &BrokerServer, slave: &BrokerServer) {
    wait_until("slave caught up", 15, || {
        let end = master.store().commit_log().confirm_offset();
        slave.store().commit_log().confirm_offset() == end && slave.store().max_phy_offset() == end
    });
}

/// Asserts `[from, to)` is byte-identical in both stores (compared segment by segment).
pub fn assert_same_bytes(a: &MessageStore, b: &MessageStore, from: u64, to: u64) {
    let seg = a.commit_log().segment_bytes();
    let mut at = from;
    while at < to {
        let end = to.min((at / seg + 1) * seg);
        let len = (end - at) as u32;
        let x = a
            .commit_log()
            .read(at, len)
            .unwrap()
            .expect("range readable on the first store");
        let y = b
            .commit_log()
            .read(at, len)
            .unwrap()
            .expect("range readable on the second store");
        assert!(x == y, "commitlog bytes differ in [{at}, {end})");
        at = end;
    }
}

/// The topic route the NameServer gives.
pub fn route(c: &RemotingHandle, ns: &Ns, topic: &str) -> Option<TopicRouteData> {
    let h = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: Some(true),
    };
    let req = RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h);
    let r = c.invoke_sync(&ns.addr, req, TIMEOUT_MS).ok()?;
    (r.code == 0).then(|| from_json_slice(&r.body).unwrap())
}

/// Number of messages a PULL from `addr` returns for `topic`/`queue_id` from offset 0 (None:
/// the pull did not answer FOUND).
pub fn pulled(c: &RemotingHandle, addr: &str, topic: &str, queue_id: i32) -> Option<usize> {
    let r = pull(c, addr, &pull_header("G1", topic, queue_id, 0, "*"));
    if r.code != 0 {
        return None;
    }
    Some(protocol::message::decode_records(&r.body).ok()?.len())
}
