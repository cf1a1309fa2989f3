//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) over loopback: both
//! header namings and serializations, reply fields, auto-create, validation errors, sync
//! flush, the fast port, and the delay / transaction / retry rewrites.

mod broker_support;

use broker_support::*;
use bytes::{Bytes, BytesMut};
use protocol::header::{SendMessageResponseHeader, MSG_REGION_KEY, TRACE_ON_KEY};
use protocol::message::{
    decode_offset_msg_id, encode_message_batch, keys, sysflag, Message, MessageExt, Properties,
    RecordRead,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

fn stored(b: &broker::BrokerServer, phy: i64) -> MessageExt {
    let raw = b
        .store()
        .look_message_by_offset(phy as u64)
        .unwrap()
        .expect("record at offset");
    match MessageExt::decode(&raw).unwrap() {
        RecordRead::Message(m, len) => {
            assert_eq!(len, raw.len());
            m
        }
        other => panic!("not a message: {other:?}"),
    }
}

fn ok_header(r: &RemotingCommand) -> SendMessageResponseHeader {
    assert_eq!(r.code, 0, "remark: {:?}", r.remark);
    r.decode_header().unwrap()
}

#[test]
fn every_code_naming_and_serialization_stores_and_replies() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    let cases = [
        (RequestCode::SEND_MESSAGE, Naming::V1, SerializeType::Json),
        (
            RequestCode::SEND_MESSAGE,
            Naming::V1,
            SerializeType::RocketMq,
        ),
        (RequestCode::SEND_MESSAGE, Naming::V2, SerializeType::Json),
        (
            RequestCode::SEND_MESSAGE_V2,
            Naming::V2,
            SerializeType::Json,
        ),
        (
            RequestCode::SEND_MESSAGE_V2,
            Naming::V2,
            SerializeType::RocketMq,
        ),
        (
            RequestCode::SEND_MESSAGE_V2,
            Naming::V1,
            SerializeType::Json,
        ),
    ];
    for (i, (code, naming, ser)) in cases.into_iter().enumerate() {
        let uniq = format!("{:032X}", i + 1);
        let mut props = tagged("TagA", &uniq);
        props.insert("__RMQ.TRANSIENT.local", "not stored");
        props.insert(keys::CLUSTER, "SpoofedCluster");
        let body = format!("body-{i}");
        let h = send_header("SendT", 1, &props);
        let resp = call(
            &c,
            &addr(&b),
            send_request(code, &h, naming, ser, body.as_bytes()),
        );
        assert_eq!(
            resp.serialize_type, ser,
            "response mirrors the request's serialization"
        );
        let rh = ok_header(&resp);
        assert_eq!(
            (rh.queue_id, rh.queue_offset),
            (1, i as i64),
            "{code:?} {naming:?} {ser:?}"
        );
        assert_eq!(rh.transaction_id.as_deref(), Some(uniq.as_str()));
        assert_eq!(resp.ext_fields.get(MSG_REGION_KEY), Some("DefaultRegion"));
        assert_eq!(resp.ext_fields.get(TRACE_ON_KEY), Some("true"));
        let (host, phy) = decode_offset_msg_id(&rh.msg_id).unwrap();
        assert_eq!(host, b.local_addr(), "msgId carries brokerIP1:listenPort");
        let m = stored(&b, phy);
        assert_eq!(
            (m.topic.as_str(), m.queue_id, m.queue_offset),
            ("SendT", 1, i as i64)
        );
        assert_eq!(m.body, Bytes::from(body));
        assert_eq!(m.store_host, b.local_addr());
        assert_eq!(m.born_host.ip().to_string(), "127.0.0.1");
        assert_eq!(m.born_timestamp, 1_700_000_000_000);
        assert_eq!(m.properties.get(keys::CLUSTER), Some("TestCluster"));
        assert_eq!(m.properties.get("__RMQ.TRANSIENT.local"), None);
        assert_eq!(m.uniq_key(), Some(uniq.as_str()));
        assert_eq!(m.tags(), Some("TagA"));
    }
}

#[test]
fn batches_in_both_namings_store_each_message() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    for (round, naming) in [Naming::V2, Naming::V1].into_iter().enumerate() {
        let msgs: Vec<Message> = (0..3)
            .map(|i| {
                Message::new("BatchT", format!("m{round}-{i}"))
                    .with_property(keys::UNIQ_KEY, format!("{:032X}", 100 + round * 10 + i))
            })
            .collect();
        let mut body = BytesMut::new();
        encode_message_batch(&msgs, &mut body).unwrap();
        let mut h = send_header("BatchT", 0, &Properties::new());
        h.batch = Some(true);
        let req = send_request(
            RequestCode::SEND_BATCH_MESSAGE,
            &h,
            naming,
            SerializeType::Json,
            &body,
        );
        let rh = ok_header(&call(&c, &addr(&b), req));
        assert_eq!(
            rh.queue_offset,
            round as i64 * 3,
            "queueOffset = first record's"
        );
        let ids: Vec<&str> = rh.msg_id.split(',').collect();
        assert_eq!(ids.len(), 3);
        for (i, id) in ids.iter().enumerate() {
            let (_, phy) = decode_offset_msg_id(id).unwrap();
            let m = stored(&b, phy);
            assert_eq!(m.queue_offset, round as i64 * 3 + i as i64);
            assert_eq!(m.body, Bytes::from(format!("m{round}-{i}")));
            assert_eq!(
                m.uniq_key(),
                msgs[i].uniq_key(),
                "each item keeps its UNIQ_KEY"
            );
            assert_eq!(m.properties.get(keys::CLUSTER), Some("TestCluster"));
        }
    }
    // 310 with m=true is a batch too (the flag decides, not the code).
    let mut body = BytesMut::new();
    encode_message_batch(
        &[Message::new("BatchT", "x"), Message::new("BatchT", "y")],
        &mut body,
    )
    .unwrap();
    let mut h = send_header("BatchT", 0, &Properties::new());
    h.batch = Some(true);
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        SerializeType::Json,
        &body,
    );
    let rh = ok_header(&call(&c, &addr(&b), req));
    assert_eq!(rh.msg_id.split(',').count(), 2);
    assert_eq!(rh.queue_offset, 6);
}

#[test]
fn auto_create_queue_selection_and_validation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    let a = addr(&b);
    let props = Properties::new();
    // Unknown topic with template TBW102: created with min(4, TBW102 queues) queues.
    let rh = ok_header(&send(&c, &a, "AutoT", 3, &props, b"x"));
    let assigned = rh.transaction_id.expect("UNIQ_KEY assigned by the broker");
    assert_eq!(assigned.len(), 32);
    let m = stored(&b, decode_offset_msg_id(&rh.msg_id).unwrap().1);
    assert_eq!(m.uniq_key(), Some(assigned.as_str()));
    let r = send(&c, &a, "AutoT", 4, &props, b"x");
    assert_eq!(
        r.code,
        ResponseCode::SYSTEM_ERROR.code(),
        "queueId beyond the queues"
    );
    assert!(r.remark.unwrap().contains("queueId[4] is illegal"));
    for _ in 0..8 {
        let rh = ok_header(&send(&c, &a, "AutoT", -1, &props, b"r"));
        assert!((0..4).contains(&rh.queue_id), "random writable queue");
    }
    let mut h = send_header("NoTemplate", 0, &props);
    h.default_topic = "NOPE".into();
    let r = call(
        &c,
        &a,
        send_request(
            RequestCode::SEND_MESSAGE,
            &h,
            Naming::V1,
            SerializeType::Json,
            b"x",
        ),
    );
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST.code());
    let bad = send(&c, &a, "bad topic!", 0, &props, b"x");
    assert_eq!(
        bad.code,
        ResponseCode::MESSAGE_ILLEGAL.code(),
        "{:?}",
        bad.remark
    );
    let big = vec![7u8; 70 * 1024];
    assert_eq!(
        send(&c, &a, "AutoT", 0, &props, &big).code,
        ResponseCode::MESSAGE_ILLEGAL.code()
    );
    for system in ["SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_HALF_TOPIC", "TBW102"] {
        let r = send(&c, &a, system, 0, &props, b"x");
        assert_eq!(
            r.code,
            ResponseCode::NO_PERMISSION.code(),
            "{system}: {:?}",
            r.remark
        );
    }
    let r = call(&c, &a, RemotingCommand::request_raw(9999));
    assert_eq!(r.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code());
    assert_eq!(
        r.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    let mut missing = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
    missing.ext_fields.insert("a", "PG");
    let r = call(&c, &a, missing);
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert!(r.remark.unwrap().contains('b'), "names the missing field");
}

#[test]
fn sync_flush_replies_only_after_the_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_config(dir.path());
    store.flush_disk_type = broker::store::FlushDiskType::SyncFlush;
    store.flush_interval_commit_log_ms = 60_000;
    let b = start_broker(broker_config(&[]), store);
    let c = client();
    let rh = ok_header(&send(
        &c,
        &addr(&b),
        "SyncT",
        0,
        &Properties::new(),
        b"durable",
    ));
    let (_, phy) = decode_offset_msg_id(&rh.msg_id).unwrap();
    let len = b
        .store()
        .look_message_by_offset(phy as u64)
        .unwrap()
        .unwrap()
        .len() as u64;
    assert!(
        b.store().commit_log().flushed_offset() >= phy as u64 + len,
        "replied before the flush"
    );
    // WAIT=false: the reply does not wait (the periodic flush is a minute away).
    let mut nowait = Properties::new();
    nowait.insert(keys::WAIT, "false");
    let rh = ok_header(&send(&c, &addr(&b), "SyncT", 0, &nowait, b"later"));
    let (_, phy) = decode_offset_msg_id(&rh.msg_id).unwrap();
    assert!(b.store().commit_log().flushed_offset() <= phy as u64);
}

#[test]
fn async_flush_replies_at_once_and_the_fast_port_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_config(dir.path());
    store.flush_interval_commit_log_ms = 60_000;
    let b = start_broker(broker_config(&[]), store);
    let c = client();
    let fast = b.fast_addr().expect("fast port").to_string();
    let rh = ok_header(&send(
        &c,
        &fast,
        "FastT",
        0,
        &Properties::new(),
        b"via fast port",
    ));
    let (host, phy) = decode_offset_msg_id(&rh.msg_id).unwrap();
    assert_eq!(
        host,
        b.local_addr(),
        "the advertised address is the main port"
    );
    assert!(
        b.store().commit_log().flushed_offset() <= phy as u64,
        "not flushed yet"
    );
    assert_eq!(stored(&b, phy).body, Bytes::from_static(b"via fast port"));
}

#[test]
fn delay_transaction_and_retry_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    let a = addr(&b);
    let mut p = tagged("T1", "00000000000000000000000000000001");
    p.insert(keys::DELAY, "3");
    let rh = ok_header(&send(&c, &a, "DelayT", 2, &p, b"later"));
    assert_eq!(rh.queue_id, 2, "the reply names the requested queue");
    let m = stored(&b, decode_offset_msg_id(&rh.msg_id).unwrap().1);
    assert_eq!((m.topic.as_str(), m.queue_id), ("SCHEDULE_TOPIC_XXXX", 2));
    assert_eq!(m.properties.get(keys::REAL_TOPIC), Some("DelayT"));
    assert_eq!(m.properties.get(keys::REAL_QID), Some("2"));

    let mut p = tagged("T1", "00000000000000000000000000000002");
    p.insert(keys::TRAN_MSG, "true");
    p.insert(keys::PGROUP, "PG");
    let mut h = send_header("TxT", 1, &p);
    h.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        SerializeType::Json,
        b"half",
    );
    let rh = ok_header(&call(&c, &a, req));
    assert_eq!(
        rh.transaction_id.as_deref(),
        Some("00000000000000000000000000000002")
    );
    let m = stored(&b, decode_offset_msg_id(&rh.msg_id).unwrap().1);
    assert_eq!(
        (m.topic.as_str(), m.queue_id),
        ("RMQ_SYS_TRANS_HALF_TOPIC", 0)
    );
    assert_eq!(
        sysflag::transaction_value(m.sys_flag),
        sysflag::TRANSACTION_NOT_TYPE
    );
    assert_eq!(m.properties.get(keys::REAL_TOPIC), Some("TxT"));
    assert_eq!(m.properties.get(keys::REAL_QID), Some("1"));

    let mut h = send_header("%RETRY%G1", 0, &Properties::new());
    h.reconsume_times = Some(17);
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        SerializeType::Json,
        b"dead",
    );
    let m = stored(
        &b,
        decode_offset_msg_id(&ok_header(&call(&c, &a, req)).msg_id)
            .unwrap()
            .1,
    );
    assert_eq!((m.topic.as_str(), m.queue_id), ("%DLQ%G1", 0));
    assert_eq!(m.properties.get(keys::DELAY), Some("-1"));
    assert_eq!(m.reconsume_times, 17);

    let mut retry = Properties::new();
    retry.insert(keys::DELAY, "4");
    let mut h = send_header("%RETRY%G1", 0, &retry);
    h.reconsume_times = Some(2);
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        SerializeType::Json,
        b"again",
    );
    let m = stored(
        &b,
        decode_offset_msg_id(&ok_header(&call(&c, &a, req)).msg_id)
            .unwrap()
            .1,
    );
    assert_eq!((m.topic.as_str(), m.queue_id), ("SCHEDULE_TOPIC_XXXX", 3));
    assert_eq!(m.properties.get(keys::REAL_TOPIC), Some("%RETRY%G1"));

    let mut body = BytesMut::new();
    encode_message_batch(&[Message::new("%RETRY%G1", "x")], &mut body).unwrap();
    let req = send_request(
        RequestCode::SEND_BATCH_MESSAGE,
        &h,
        Naming::V2,
        SerializeType::Json,
        &body,
    );
    assert_eq!(
        call(&c, &a, req).code,
        ResponseCode::MESSAGE_ILLEGAL.code(),
        "no batches to retry topics"
    );
}

#[test]
fn rejected_transactions_and_slave_role() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.reject_transaction_message = true;
    let b = start_broker(config, store_config(&dir.path().join("m")));
    let c = client();
    let mut p = Properties::new();
    p.insert(keys::TRAN_MSG, "true");
    assert_eq!(
        send(&c, &addr(&b), "TxT", 0, &p, b"x").code,
        ResponseCode::NO_PERMISSION.code()
    );
    assert_eq!(
        send(&c, &addr(&b), "TxT", 0, &Properties::new(), b"x").code,
        0
    );

    let mut config = broker_config(&[]);
    config.broker_role = broker::config::BrokerRole::Slave;
    config.broker_id = 1;
    let s = start_broker(config, store_config(&dir.path().join("s")));
    let r = send(&c, &addr(&s), "TxT", 0, &Properties::new(), b"x");
    assert_eq!(r.code, ResponseCode::SERVICE_NOT_AVAILABLE.code());
}
