//! The HA byte protocol against fake slaves (raw sockets on the master's HA port) and the
//! SYNC_MASTER send path: SUCCESS only once a slave has the bytes, SLAVE_NOT_AVAILABLE without
//! a slave, FLUSH_SLAVE_TIMEOUT when the slave stops acknowledging.

mod broker_support;
mod ha_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use broker::config::BrokerRole;
use broker::BrokerServer;
use broker_support::*;
use ha_support::*;
use protocol::header::SendMessageResponseHeader;
use protocol::message::decode_offset_msg_id;

fn ha_socket(master: &BrokerServer) -> TcpStream {
    let s = TcpStream::connect(master.ha_addr().unwrap()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    s
}

/// Reads one transfer: `(masterPhyOffset, body)`.
fn read_transfer(s: &mut TcpStream) -> (u64, Vec<u8>) {
    let mut h = [0u8; 12];
    s.read_exact(&mut h).unwrap();
    let offset = i64::from_be_bytes(h[..8].try_into().unwrap());
    let size = i32::from_be_bytes(h[8..].try_into().unwrap());
    let mut body = vec![0u8; size as usize];
    s.read_exact(&mut body).unwrap();
    (offset as u64, body)
}

/// Reads transfers until `[from, to)` was received; returns the bytes.
fn read_range(s: &mut TcpStream, from: u64, to: u64) -> Vec<u8> {
    let mut got = Vec::new();
    while from + (got.len() as u64) < to {
        let (offset, body) = read_transfer(s);
        assert_eq!(offset, from + got.len() as u64, "transfers are contiguous");
        assert!(
            body.len() <= 32 * 1024,
            "at most haTransferBatchSize per transfer"
        );
        let seg_end = (offset / SEGMENT_BYTES + 1) * SEGMENT_BYTES;
        assert!(
            offset + body.len() as u64 <= seg_end,
            "a transfer never crosses a segment"
        );
        got.extend_from_slice(&body);
    }
    got
}

fn master_bytes(master: &BrokerServer, from: u64, to: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let end = to.min((at / SEGMENT_BYTES + 1) * SEGMENT_BYTES);
        let b = master
            .store()
            .commit_log()
            .read(at, (end - at) as u32)
            .unwrap()
            .unwrap();
        out.extend_from_slice(&b);
        at = end;
    }
    out
}

#[test]
fn ha_protocol_against_fake_slaves() {
    let dir = tempfile::tempdir().unwrap();
    let master = solo_broker_with(&dir, BrokerRole::AsyncMaster, 5_000);
    let c = client();
    send_n(&c, &addr(&master), "ProtoT", 0, 20, &[3u8; 1200]);
    let end = master.store().commit_log().confirm_offset();
    let last_segment = end - end % SEGMENT_BYTES;
    let mut fake = ha_socket(&master);
    // Nothing is sent before the first report.
    fake.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(
        fake.read(&mut [0u8; 1]).is_err(),
        "no bytes before the first report"
    );
    fake.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    fake.write_all(&0i64.to_be_bytes()).unwrap();
    let got = read_range(&mut fake, last_segment, end);
    assert_eq!(
        got,
        master_bytes(&master, last_segment, end),
        "report 0: from the last segment"
    );
    // Garbage from a second connection closes only that connection.
    let mut bad = ha_socket(&master);
    wait_until("two slaves", 5, || {
        master.ha().state().connected_slaves() == 2
    });
    bad.write_all(&[0xff; 8]).unwrap();
    let mut buf = [0u8; 16];
    assert!(
        matches!(bad.read(&mut buf), Ok(0) | Err(_)),
        "garbage closes the link"
    );
    wait_until("one slave left", 5, || {
        master.ha().state().connected_slaves() == 1
    });
    fake.write_all(&(end as i64).to_be_bytes()).unwrap();
    wait_until("ack recorded", 5, || {
        master.ha().state().max_acked_offset() == end
    });
    send_n(&c, &addr(&master), "ProtoT", 0, 1, b"after");
    let end2 = master.store().commit_log().confirm_offset();
    assert_eq!(
        read_range(&mut fake, end, end2),
        master_bytes(&master, end, end2)
    );
    // Idle: a heartbeat header (body 0, the next offset) after about 5 s.
    let started = Instant::now();
    let (offset, body) = read_transfer(&mut fake);
    assert_eq!((offset, body.len()), (end2, 0), "heartbeat");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "not before the idle time"
    );
    c.shutdown();
}

/// A master without NameServer, small segments, `role` and `syncFlushTimeout`.
fn solo_broker_with(dir: &tempfile::TempDir, role: BrokerRole, timeout_ms: u64) -> BrokerServer {
    let mut config = broker_config(&[]);
    config.broker_role = role;
    let mut store = ha_store(&dir.path().join("m"));
    store.sync_flush_timeout_ms = timeout_ms;
    start_broker(config, store)
}

fn send_one(
    c: &protocol::remoting::RemotingHandle,
    master: &BrokerServer,
    i: u32,
) -> protocol::RemotingCommand {
    let uniq = format!("{:032X}", 1000 + i);
    send(
        c,
        &addr(master),
        "SyncT",
        0,
        &tagged("A", &uniq),
        b"sync-master",
    )
}

#[test]
fn sync_master_without_slave_answers_slave_not_available() {
    let dir = tempfile::tempdir().unwrap();
    let master = solo_broker_with(&dir, BrokerRole::SyncMaster, 5_000);
    let c = client();
    let r = send_one(&c, &master, 1);
    assert_eq!(r.code, 11, "SLAVE_NOT_AVAILABLE");
    let h: SendMessageResponseHeader = r.decode_header().unwrap();
    assert_eq!(h.queue_offset, 0);
    assert!(
        decode_offset_msg_id(&h.msg_id).is_ok(),
        "msgId still filled"
    );
    c.shutdown();
}

#[test]
fn sync_master_times_out_when_the_slave_stops_acknowledging() {
    let dir = tempfile::tempdir().unwrap();
    let master = solo_broker_with(&dir, BrokerRole::SyncMaster, 300);
    let c = client();
    let mut fake = ha_socket(&master);
    let end = master.store().commit_log().confirm_offset();
    fake.write_all(&(end as i64).to_be_bytes()).unwrap(); // in sync, then silent
    wait_until("fake slave acked", 5, || {
        master.ha().state().connected_slaves() == 1
    });
    let started = Instant::now();
    let r = send_one(&c, &master, 2);
    assert_eq!(r.code, 12, "FLUSH_SLAVE_TIMEOUT");
    assert!(started.elapsed() >= Duration::from_millis(250));
    let h: SendMessageResponseHeader = r.decode_header().unwrap();
    assert_eq!(h.queue_offset, 0);
    // Acknowledging the record afterwards makes the next send wait for its own ack only.
    let now_end = master.store().commit_log().confirm_offset();
    fake.write_all(&(now_end as i64).to_be_bytes()).unwrap();
    wait_until("late ack", 5, || {
        master.ha().state().max_acked_offset() == now_end
    });
    assert_eq!(master.ha().state().waiting(), 0);
    c.shutdown();
    drop(fake);
}

#[test]
fn sync_master_replies_success_once_the_slave_has_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let ns = namesrv(dir.path());
    let mut mc = master_config(&ns, BrokerRole::SyncMaster);
    mc.flush_disk_type = broker::config::FlushDiskType::SyncFlush;
    let mut ms = ha_store(&dir.path().join("m"));
    ms.flush_disk_type = broker::store::FlushDiskType::SyncFlush;
    let master = start_broker(mc, ms);
    let cl = client();
    wait_until("master registered", 10, || {
        broker_a_addrs(&cl, &ns).contains_key(&0)
    });
    let slave = start_slave(slave_config(&ns, 1), &dir.path().join("s"));
    for i in 0..5 {
        let r = send_one(&cl, &master, 10 + i);
        assert_eq!(r.code, 0, "{:?}", r.remark);
        let h: SendMessageResponseHeader = r.decode_header().unwrap();
        let (_, phy) = decode_offset_msg_id(&h.msg_id).unwrap();
        let rec = master
            .store()
            .commit_log()
            .read_record(phy as u64)
            .unwrap()
            .unwrap();
        let record_end = phy as u64 + rec.len() as u64;
        assert!(
            slave.store().max_phy_offset() >= record_end,
            "the slave has the record when the reply arrives"
        );
        assert!(
            master.store().commit_log().flushed_offset() >= record_end,
            "and it is durable"
        );
    }
    cl.shutdown();
}
