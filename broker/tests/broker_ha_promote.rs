//! Slave promotion: after the master is gone, UPDATE_BROKER_CONFIG `brokerRole=ASYNC_MASTER`
//! (or the optional automatic promotion) turns the slave into brokerId 0 with write
//! permission; sends succeed and the replicated messages are still readable.

mod broker_support;
mod ha_support;

use broker::config::BrokerRole;
use broker_support::*;
use ha_support::*;
use protocol::header::SendMessageResponseHeader;
use protocol::RequestCode;

fn assert_serves_as_master(ns: &Ns, slave: &broker::BrokerServer) {
    let c = client();
    let slave_addr = slave.broker_addr();
    wait_until("slave registered as id 0", 15, || {
        let ids = broker_a_addrs(&c, ns);
        ids.get(&0) == Some(&slave_addr) && !ids.contains_key(&1)
    });
    wait_until("writable route", 15, || {
        route(&c, ns, "PromT").is_some_and(|r| {
            r.queue_datas
                .iter()
                .any(|q| q.broker_name == "broker-a" && q.perm & 2 != 0)
                && r.broker_datas
                    .iter()
                    .any(|b| b.broker_addrs.get(&0) == Some(&slave_addr))
        })
    });
    assert!(slave.ha().is_master());
    assert_eq!(slave.ha().broker_id(), 0);
    let r = send(
        &c,
        &addr(slave),
        "PromT",
        0,
        &tagged("A", "0000000000000000000000000000ABCD"),
        b"after",
    );
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let h: SendMessageResponseHeader = r.decode_header().unwrap();
    assert_eq!(
        h.queue_offset, 10,
        "the queue continues after the replicated messages"
    );
    wait_until("all 11 readable", 10, || {
        pulled(&c, &addr(slave), "PromT", 0) == Some(11)
    });
    c.shutdown();
}

#[test]
fn operator_promotes_a_slave_with_update_broker_config() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    // The master first, so the slave learns its addresses at its first registration.
    let mut master = start_master(&ns, BrokerRole::AsyncMaster, &dir.path().join("m"));
    let slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    let c = client();
    send_n(&c, &addr(&master), "PromT", 0, 10, b"before promotion");
    wait_caught_up(&master, &slave);
    wait_until("topic synced", 10, || {
        pulled(&c, &addr(&slave), "PromT", 0) == Some(10)
    });
    master.shutdown().unwrap();
    drop(master);
    // Still a slave: sends refused.
    let r = send(
        &c,
        &addr(&slave),
        "PromT",
        0,
        &tagged("A", "0000000000000000000000000000ABCE"),
        b"x",
    );
    assert_eq!(r.code, 14);
    let r = admin_body(
        &c,
        &addr(&slave),
        RequestCode::UPDATE_BROKER_CONFIG,
        b"brokerRole=ASYNC_MASTER\n".to_vec(),
    );
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_serves_as_master(&ns, &slave);
    c.shutdown();
}

#[test]
fn slave_promotes_itself_when_enabled_and_the_master_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    let mut master = start_master(&ns, BrokerRole::AsyncMaster, &dir.path().join("m"));
    let mut sc = slave_config(&ns, 1);
    sc.enable_auto_promote = true;
    sc.auto_promote_after_ms = 300;
    let slave = start_slave(sc, &dir.path().join("s"));
    let c = client();
    send_n(&c, &addr(&master), "PromT", 0, 10, b"before promotion");
    wait_caught_up(&master, &slave);
    wait_until("topic synced", 10, || {
        pulled(&c, &addr(&slave), "PromT", 0) == Some(10)
    });
    assert!(
        !slave.ha().is_master(),
        "no promotion while the master lives"
    );
    master.shutdown().unwrap();
    drop(master);
    assert_serves_as_master(&ns, &slave);
    c.shutdown();
}
