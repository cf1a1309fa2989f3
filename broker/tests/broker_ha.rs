//! Master/slave replication over loopback: byte-identical commitlog copies, pulls served by
//! the slave, restart without gap or duplicate, a fresh slave starting at the master's last
//! segment, a slave closing on a diverging offset, metadata sync.

mod broker_support;
mod ha_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use broker::config::BrokerRole;
use broker_support::*;
use ha_support::*;
use protocol::body::{ConsumerOffsetSerializeWrapper, JsonBody, TopicConfigSerializeWrapper};
use protocol::header::{CreateTopicRequestHeader, UpdateConsumerOffsetRequestHeader};
use protocol::RequestCode;

#[test]
fn slave_copies_the_commitlog_byte_for_byte_and_serves_pulls() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    let master = start_master(&ns, BrokerRole::AsyncMaster, &dir.path().join("m"));
    let slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    let c = client();
    send_n(&c, &addr(&master), "HaT", 0, 25, &[7u8; 900]);
    wait_caught_up(&master, &slave);
    let end = master.store().commit_log().confirm_offset();
    assert!(
        end > SEGMENT_BYTES,
        "the messages span more than one segment"
    );
    assert_same_bytes(master.store(), slave.store(), 0, end);
    wait_until("master sees the slave's ack", 10, || {
        master.ha().state().max_acked_offset() == end
    });
    assert_eq!(master.ha().state().connected_slaves(), 1);
    // The topic arrives with the metadata sync; the consume queue was built on the slave.
    wait_until("pull from the slave", 10, || {
        pulled(&c, &addr(&slave), "HaT", 0) == Some(25)
    });
    assert_eq!(slave.store().max_offset_in_queue("HaT", 0), 25);
    c.shutdown();
}

#[test]
fn restarted_slave_resumes_from_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    let master = start_master(&ns, BrokerRole::AsyncMaster, &dir.path().join("m"));
    let c = client();
    let mut slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    send_n(&c, &addr(&master), "HaR", 1, 10, b"first");
    wait_caught_up(&master, &slave);
    slave.shutdown().unwrap();
    drop(slave);
    send_n(&c, &addr(&master), "HaR", 1, 10, b"second");
    let slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    wait_caught_up(&master, &slave);
    let end = master.store().commit_log().confirm_offset();
    assert_same_bytes(master.store(), slave.store(), 0, end);
    wait_until("slave dispatched", 10, || {
        slave.store().max_offset_in_queue("HaR", 1) == 20
    });
    assert_eq!(slave.store().min_offset_in_queue("HaR", 1), 0, "no gap");
    c.shutdown();
}

#[test]
fn fresh_slave_starts_at_the_masters_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    let master = start_master(&ns, BrokerRole::AsyncMaster, &dir.path().join("m"));
    let c = client();
    send_n(&c, &addr(&master), "HaF", 0, 30, &[1u8; 1500]);
    let end = master.store().commit_log().confirm_offset();
    let last_segment = end - end % SEGMENT_BYTES;
    assert!(last_segment >= 2 * SEGMENT_BYTES);
    let slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    wait_caught_up(&master, &slave);
    assert_eq!(slave.store().commit_log().min_offset(), last_segment);
    assert_same_bytes(master.store(), slave.store(), last_segment, end);
    // More messages continue the copy; the slave's queue starts mid-way, like its log.
    send_n(&c, &addr(&master), "HaF", 0, 5, &[2u8; 1500]);
    wait_caught_up(&master, &slave);
    let end = master.store().commit_log().confirm_offset();
    assert_same_bytes(master.store(), slave.store(), last_segment, end);
    wait_until("slave dispatched", 10, || {
        slave.store().max_offset_in_queue("HaF", 0) == 35
    });
    assert!(slave.store().min_offset_in_queue("HaF", 0) > 0);
    c.shutdown();
}

/// A fake master: the slave reports its offset, gets a header at another offset, and must
/// close and reconnect (reporting again) without appending anything.
#[test]
fn slave_closes_on_a_diverging_offset_and_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = slave_config_without_ns();
    config.ha_master_address = Some(fake.local_addr().unwrap().to_string());
    let mut store = ha_store(&dir.path().join("s"));
    store.commit_log_segment_bytes = SEGMENT_BYTES;
    let slave = start_broker(config, store);
    let (mut first, _) = fake.accept().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut report = [0u8; 8];
    first.read_exact(&mut report).unwrap();
    assert_eq!(i64::from_be_bytes(report), 0, "an empty slave reports 0");
    // Give the slave data at offset 0 first: a valid header with a partial record.
    let mut hdr = 0i64.to_be_bytes().to_vec();
    hdr.extend_from_slice(&4i32.to_be_bytes());
    hdr.extend_from_slice(&[0, 0, 0, 100]);
    first.write_all(&hdr).unwrap();
    first.read_exact(&mut report).unwrap();
    assert_eq!(i64::from_be_bytes(report), 4, "written end after the chunk");
    assert_eq!(
        slave.store().commit_log().confirm_offset(),
        0,
        "no complete record"
    );
    // Now a header at a different offset: the slave must close the link.
    let mut bad = 999i64.to_be_bytes().to_vec();
    bad.extend_from_slice(&0i32.to_be_bytes());
    first.write_all(&bad).unwrap();
    let mut buf = [0u8; 8];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match first.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("expected a close, got {e}"),
        }
        assert!(Instant::now() < deadline);
    }
    let (mut second, _) = fake.accept().unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    second.read_exact(&mut report).unwrap();
    assert_eq!(
        i64::from_be_bytes(report),
        4,
        "re-reports its offset after reconnecting"
    );
    assert_eq!(slave.store().max_phy_offset(), 4);
}

fn slave_config_without_ns() -> broker::config::BrokerConfig {
    let mut c = broker_config(&[]);
    c.broker_role = BrokerRole::Slave;
    c.broker_id = 1;
    c.ha_reconnect_interval_ms = 100;
    c
}

#[test]
fn slave_copies_topics_and_consumer_offsets_from_the_master() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    let master = start_master(&ns, BrokerRole::AsyncMaster, &dir.path().join("m"));
    let slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    let c = client();
    let create = CreateTopicRequestHeader {
        topic: "MetaT".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 3,
        write_queue_nums: 3,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: None,
        order: false,
        attributes: None,
        force: None,
    };
    assert_eq!(
        admin(
            &c,
            &addr(&master),
            RequestCode::UPDATE_AND_CREATE_TOPIC,
            &create
        )
        .code,
        0
    );
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "MetaG".into(),
        topic: "MetaT".into(),
        queue_id: 2,
        commit_offset: 42,
    };
    assert_eq!(
        admin(
            &c,
            &addr(&master),
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &commit
        )
        .code,
        0
    );
    wait_until("topic on the slave", 10, || {
        let r = admin_body(&c, &addr(&slave), RequestCode::GET_ALL_TOPIC_CONFIG, vec![]);
        TopicConfigSerializeWrapper::decode_body(&r.body).is_ok_and(|w| {
            w.topic_config_table
                .get("MetaT")
                .is_some_and(|t| t.read_queue_nums == 3)
        })
    });
    wait_until("offsets on the slave", 10, || {
        let r = admin_body(
            &c,
            &addr(&slave),
            RequestCode::GET_ALL_CONSUMER_OFFSET,
            vec![],
        );
        ConsumerOffsetSerializeWrapper::decode_body(&r.body).is_ok_and(|w| {
            w.offset_table
                .get("MetaT@MetaG")
                .and_then(|q| q.get(&2))
                .copied()
                == Some(42)
        })
    });
    // A slave refuses sends (SERVICE_NOT_AVAILABLE, as the Java store does).
    let r = send(
        &c,
        &addr(&slave),
        "MetaT",
        0,
        &tagged("A", "00000000000000000000000000000001"),
        b"x",
    );
    assert_eq!(r.code, 14);
    c.shutdown();
}
