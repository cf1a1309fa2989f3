//! Broker configuration and file maintenance over loopback: GET_BROKER_CONFIG (26),
//! UPDATE_BROKER_CONFIG (25) with live keys and the `broker.conf` write-back,
//! TRIGGER_DELETE_FILES (27), DELETE_EXPIRED_COMMITLOG (329), CLEAN_EXPIRED_CONSUMEQUEUE
//! (306), CLEAN_UNUSED_TOPIC (316), and send flow control (SYSTEM_BUSY).

mod broker_support;

use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use broker::store::{FaultHandle, FaultInjector, FlushDiskType, StoreEnv};
use broker::BrokerServer;
use broker_support::*;
use protocol::body::{DataVersion, JsonBody, KvTable};
use protocol::header::*;
use protocol::message::Properties;
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn get_config(c: &RemotingHandle, a: &str) -> (String, DataVersion) {
    let r = call(
        c,
        a,
        RemotingCommand::request(RequestCode::GET_BROKER_CONFIG),
    );
    assert_eq!(r.code, 0);
    let h = r.decode_header::<GetBrokerConfigResponseHeader>().unwrap();
    let version = DataVersion::decode_body(h.version.as_bytes()).unwrap();
    (String::from_utf8(r.body.to_vec()).unwrap(), version)
}

fn update(c: &RemotingHandle, a: &str, text: &str) -> RemotingCommand {
    admin_body(
        c,
        a,
        RequestCode::UPDATE_BROKER_CONFIG,
        text.as_bytes().to_vec(),
    )
}

#[test]
fn get_and_update_broker_config() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "# my broker\nbrokerName=broker-a\nfileReservedTime=72\n",
    )
    .unwrap();
    let mut config = broker_config(&[]);
    config.broker_config_path = Some(conf.clone());
    let b = start_broker(config, store_config(&dir.path().join("store")));
    let a = addr(&b);
    let c = client();
    let (text, v1) = get_config(&c, &a);
    for line in [
        "brokerName=broker-a\n",
        "flushDiskType=ASYNC_FLUSH\n",
        "fileReservedTime=72\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(
        text.contains("syncFlushTimeout="),
        "store keys are listed too"
    );

    let r = update(
        &c,
        &a,
        "fileReservedTime=5\nflushDiskType=SYNC_FLUSH\nautoCreateSubscriptionGroup=false\n",
    );
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert!(r
        .remark
        .unwrap()
        .contains("effective after restart: [\"flushDiskType\"]"));
    let (text, v2) = get_config(&c, &a);
    assert!(text.contains("fileReservedTime=5\n") && text.contains("flushDiskType=SYNC_FLUSH\n"));
    assert!(v2.changed_from(&v1));
    assert_eq!(
        b.store().file_reserved_hours(),
        5,
        "applied to the running store"
    );
    send_n(&c, &a, "CfgT", 0, 1, b"x");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("CfgT", 0) == 1
    });
    let r = pull(&c, &a, &pull_header("NewGroup", "CfgT", 0, 0, "*"));
    assert_eq!(
        r.code,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST.code(),
        "autoCreateSubscriptionGroup=false applies at once"
    );
    wait_until("broker.conf written back", 10, || {
        let text = std::fs::read_to_string(&conf).unwrap_or_default();
        text.starts_with("# my broker\nbrokerName=broker-a\nfileReservedTime=5\n")
            && text.contains("flushDiskType=SYNC_FLUSH\n")
            && text.contains("autoCreateSubscriptionGroup=false\n")
    });

    assert_eq!(update(&c, &a, "autoCreateTopicEnable=false").code, 0);
    let r = send(&c, &a, "NotYetT", 0, &Properties::new(), b"x");
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert_eq!(update(&c, &a, "autoCreateTopicEnable=true").code, 0);
    assert_eq!(send(&c, &a, "NotYetT", 0, &Properties::new(), b"x").code, 0);

    let r = update(&c, &a, "brokerConfigPath=/etc/passwd");
    assert_eq!(r.code, ResponseCode::NO_PERMISSION.code());
    assert_eq!(r.remark.as_deref(), Some("Can not update config path"));
    let r = update(&c, &a, "brokerPermission=abc\nfileReservedTime=9");
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert!(r.remark.unwrap().contains("brokerPermission"));
    assert_eq!(
        b.store().file_reserved_hours(),
        5,
        "nothing applied from a bad update"
    );
}

/// Sends `n` messages of ~60 KB to `topic` (17 fill one 1 MiB test segment).
fn fill(c: &RemotingHandle, a: &str, topic: &str, n: usize) {
    send_n(c, a, topic, 0, n, &vec![b'x'; 60_000]);
}

fn age_segment(root: &std::path::Path, base: u64) {
    let path = root.join("commitlog").join(format!("{base:020}"));
    let file = std::fs::File::options().write(true).open(path).unwrap();
    let old = SystemTime::now() - Duration::from_secs(100 * 3_600);
    file.set_modified(old).unwrap();
}

fn runtime(c: &RemotingHandle, a: &str, key: &str) -> String {
    let r = call(
        c,
        a,
        RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
    );
    KvTable::decode_body(&r.body).unwrap().table[key].clone()
}

#[test]
fn delete_expired_files_and_clean_consume_queues() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    const SEGMENT: u64 = 1024 * 1024;
    fill(&c, &a, "OldT", 17);
    fill(&c, &a, "MidT", 17);
    fill(&c, &a, "NewT", 2);
    wait_until("flushed and dispatched", 10, || {
        b.store().unflushed_bytes() == 0 && b.store().dispatch_behind_bytes() == 0
    });
    assert_eq!(b.store().commit_log_offsets().0, 0);

    age_segment(dir.path(), 0);
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::TRIGGER_DELETE_FILES),
    );
    assert_eq!(r.code, 0);
    wait_until("first segment deleted", 15, || {
        b.store().commit_log_offsets().0 == SEGMENT
    });
    assert_eq!(runtime(&c, &a, "commitLogMinOffset"), SEGMENT.to_string());

    age_segment(dir.path(), SEGMENT);
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::DELETE_EXPIRED_COMMITLOG),
    );
    assert_eq!(r.code, 0);
    wait_until("second segment deleted", 15, || {
        b.store().commit_log_offsets().0 == 2 * SEGMENT
    });

    assert_eq!(
        b.store().max_offset_in_queue("OldT", 0),
        17,
        "queue outlives its messages"
    );
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE),
    );
    assert_eq!(r.code, 0);
    for gone in ["OldT", "MidT"] {
        assert_eq!(b.store().max_offset_in_queue(gone, 0), 0, "{gone}");
        assert!(!dir.path().join("consumequeue").join(gone).exists());
    }
    assert_eq!(b.store().max_offset_in_queue("NewT", 0), 2);
    let r = pull(&c, &a, &pull_header("G", "NewT", 0, 0, "*"));
    assert_eq!(r.code, 0, "live messages still readable");
}

#[test]
fn clean_unused_topic_removes_queues_of_unknown_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = solo_broker(dir.path());
    let c = client();
    for topic in ["OrphanT", "KeptT"] {
        send_n(&c, &addr(&b), topic, 0, 1, b"x");
    }
    wait_until("dispatch", 10, || b.store().dispatch_behind_bytes() == 0);
    b.shutdown().unwrap();
    drop(b);
    // The topic disappears from the topic table behind the store's back.
    let topics = dir.path().join("config").join("topics.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&topics).unwrap()).unwrap();
    json["topicConfigTable"]
        .as_object_mut()
        .unwrap()
        .remove("OrphanT");
    std::fs::write(&topics, serde_json::to_vec(&json).unwrap()).unwrap();

    let b = solo_broker(dir.path());
    let a = addr(&b);
    assert_eq!(b.store().max_offset_in_queue("OrphanT", 0), 1);
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::CLEAN_UNUSED_TOPIC),
    );
    assert_eq!(r.code, 0);
    assert_eq!(b.store().max_offset_in_queue("OrphanT", 0), 0);
    assert!(!dir.path().join("consumequeue").join("OrphanT").exists());
    assert_eq!(b.store().max_offset_in_queue("KeptT", 0), 1);
}

#[test]
fn sends_waiting_for_a_slow_disk_trigger_flow_control() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.max_sends_awaiting_flush = 1;
    let mut store = store_config(dir.path());
    store.flush_disk_type = FlushDiskType::SyncFlush;
    let faults = FaultInjector::new();
    let env = StoreEnv {
        faults: FaultHandle::with(faults.clone()),
        ..StoreEnv::default()
    };
    let b = BrokerServer::start_with_env(config, store, env, listeners()).unwrap();
    let a = addr(&b);
    let c = client();
    send_n(&c, &a, "FlowT", 0, 1, b"warm-up");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("FlowT", 0) == 1
    });
    faults.delay_syncs(3_000);

    let (tx, rx) = mpsc::channel();
    let h = send_header(
        "FlowT",
        0,
        &tagged("TagA", "0000000000000000000000000000F001"),
    );
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        protocol::SerializeType::Json,
        b"slow",
    );
    c.invoke_async(&a, req, 20_000, move |r| {
        let _ = tx.send(r.map(|r| r.code));
    });
    // Same connection, so the broker has taken the first send before this one.
    let r = send(
        &c,
        &a,
        "FlowT",
        0,
        &tagged("TagA", "0000000000000000000000000000F002"),
        b"busy",
    );
    assert_eq!(r.code, ResponseCode::SYSTEM_BUSY.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("[REJECTREQUEST]system busy, start flow control for a while")
    );
    assert_eq!(runtime(&c, &a, "sendThreadPoolQueueSize"), "1");
    let pulled = pull(&c, &a, &pull_header("G", "FlowT", 0, 0, "*"));
    assert_eq!(pulled.code, 0, "pulls are not throttled");

    let first = rx.recv_timeout(Duration::from_secs(15)).unwrap().unwrap();
    assert!(
        first == 0 || first == ResponseCode::FLUSH_DISK_TIMEOUT.code(),
        "{first}"
    );
    faults.clear();
    wait_until("backlog drained", 10, || {
        runtime(&c, &a, "sendThreadPoolQueueSize") == "0"
    });
    send_n(&c, &a, "FlowT", 0, 1, b"calm again");
}
