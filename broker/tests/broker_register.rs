//! Registration with real NameServers over loopback: every NameServer gets the broker, a new
//! topic is re-registered at once, a restarted NameServer (or one that was down at start) gets
//! the broker back without waiting for the 60 s period, and shutdown unregisters.

mod broker_support;

use std::net::TcpListener;

use broker_support::*;
use protocol::body::dialect::from_json_slice;
use protocol::body::route::TopicRouteData;
use protocol::header::GetRouteInfoRequestHeader;
use protocol::message::Properties;
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode};

/// The route of `topic` on the NameServer at `ns`, if it has one.
fn route(c: &RemotingHandle, ns: &str, topic: &str) -> Option<TopicRouteData> {
    let h = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: Some(true),
    };
    let r = c
        .invoke_sync(
            ns,
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h),
            TIMEOUT_MS,
        )
        .ok()?;
    (r.code == 0).then(|| from_json_slice(&r.body).unwrap())
}

/// True when `ns` routes `topic` to the master `broker_addr` with `queues` write queues.
fn routed(c: &RemotingHandle, ns: &str, topic: &str, broker_addr: &str, queues: i32) -> bool {
    route(c, ns, topic).is_some_and(|r| {
        r.broker_datas.iter().any(|b| {
            b.broker_name == "broker-a"
                && b.broker_addrs.get(&0).map(String::as_str) == Some(broker_addr)
        }) && r.queue_datas.iter().any(|q| q.write_queue_nums == queues)
    })
}

#[test]
fn registers_with_every_namesrv_and_reregisters_on_change_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ns1 = start_namesrv(&dir.path().join("ns1"));
    let ns2 = start_namesrv(&dir.path().join("ns2"));
    let (a1, a2) = (ns1.local_addr().to_string(), ns2.local_addr().to_string());
    let mut config = broker_config(&[a1.clone(), a2.clone()]);
    config.register_name_server_period_ms = 60_000;
    let mut b = start_broker(config, store_config(&dir.path().join("store")));
    let c = client();
    let ba = b.broker_addr();
    assert_eq!(ba, format!("127.0.0.1:{}", b.local_addr().port()));
    for ns in [&a1, &a2] {
        wait_until("initial registration", 10, || {
            routed(&c, ns, "SELF_TEST_TOPIC", &ba, 1)
        });
    }
    let cluster = route(&c, &a1, "TestCluster").expect("cluster topic");
    assert_eq!(cluster.broker_datas[0].cluster, "TestCluster");

    // Auto-creating a topic triggers a registration round right away.
    assert_eq!(send(&c, &ba, "RegT", 0, &Properties::new(), b"x").code, 0);
    for ns in [&a1, &a2] {
        wait_until("topic re-registration", 10, || {
            routed(&c, ns, "RegT", &ba, 4)
        });
    }

    // A NameServer restart loses the routes; the broker registers again well before 60 s.
    let port = ns1.local_addr();
    drop(ns1);
    let ns1 = start_namesrv_on(&dir.path().join("ns1"), TcpListener::bind(port).unwrap());
    assert!(route(&c, &a1, "RegT").is_none() || routed(&c, &a1, "RegT", &ba, 4));
    wait_until("registration after a NameServer restart", 15, || {
        routed(&c, &a1, "RegT", &ba, 4)
    });

    b.shutdown().unwrap();
    for ns in [&a1, &a2] {
        wait_until("unregistration", 10, || {
            route(&c, ns, "SELF_TEST_TOPIC").is_none()
        });
    }
    drop(ns1);
}

#[test]
fn a_namesrv_down_at_start_gets_the_broker_when_it_comes_up() {
    let dir = tempfile::tempdir().unwrap();
    let spare = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = spare.local_addr().unwrap();
    drop(spare);
    let mut config = broker_config(&[port.to_string()]);
    config.register_name_server_period_ms = 60_000;
    let b = start_broker(config, store_config(&dir.path().join("store")));
    let ns = start_namesrv_on(&dir.path().join("ns"), TcpListener::bind(port).unwrap());
    let c = client();
    wait_until("late NameServer", 15, || {
        routed(
            &c,
            &ns.local_addr().to_string(),
            "SELF_TEST_TOPIC",
            &b.broker_addr(),
            1,
        )
    });
}

#[test]
fn compressed_registration_is_understood() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(&dir.path().join("ns"));
    let a = ns.local_addr().to_string();
    let mut config = broker_config(std::slice::from_ref(&a));
    config.compressed_register = true;
    let b = start_broker(config, store_config(&dir.path().join("store")));
    let c = client();
    wait_until("compressed registration", 10, || {
        routed(&c, &a, "SELF_TEST_TOPIC", &b.broker_addr(), 1)
    });
}

#[test]
fn a_slave_learns_its_master_from_the_namesrv() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(&dir.path().join("ns"));
    let a = ns.local_addr().to_string();
    let master = start_broker(
        broker_config(std::slice::from_ref(&a)),
        store_config(&dir.path().join("m")),
    );
    let c = client();
    wait_until("master registered", 10, || {
        routed(&c, &a, "SELF_TEST_TOPIC", &master.broker_addr(), 1)
    });
    let mut config = broker_config(std::slice::from_ref(&a));
    config.broker_role = broker::config::BrokerRole::Slave;
    config.broker_id = 1;
    let slave = start_broker(config, store_config(&dir.path().join("s")));
    wait_until("master address learnt", 10, || {
        slave.master_addrs().master_addr.as_deref() == Some(master.broker_addr().as_str())
    });
    let ha = slave
        .master_addrs()
        .ha_server_addr
        .expect("master HA address");
    assert_eq!(ha, master.config().ha_server_addr());
}
