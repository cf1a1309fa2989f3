//! Message and offset lookups over loopback: QUERY_MESSAGE (12) by key and by unique key,
//! VIEW_MESSAGE_BY_ID (33), SEARCH_OFFSET_BY_TIMESTAMP (29) and GET_EARLIEST_MSG_STORETIME
//! (32).

mod broker_support;

use broker_support::*;
use bytes::Bytes;
use protocol::header::*;
use protocol::message::{decode_offset_msg_id, decode_records, keys, MessageExt, Properties};
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn keyed(keys_value: &str, uniq: &str) -> Properties {
    let mut p = Properties::new();
    p.insert(keys::KEYS, keys_value);
    p.insert(keys::UNIQ_KEY, uniq);
    p
}

fn query(c: &RemotingHandle, a: &str, key: &str, unique: bool) -> RemotingCommand {
    let h = QueryMessageRequestHeader {
        topic: "QryT".into(),
        key: key.into(),
        max_num: 32,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        unique_key_query: unique.then_some(true),
    };
    admin(c, a, RequestCode::QUERY_MESSAGE, &h)
}

fn bodies(r: &RemotingCommand) -> Vec<String> {
    let mut v: Vec<String> = decode_records(&r.body)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    v.sort();
    v
}

fn query_by_key_and_unique_key(heap: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.transfer_msg_by_heap = heap;
    let b = start_broker(config, store_config(dir.path()));
    let a = addr(&b);
    let c = client();
    let sent = [
        ("k1 k2", "00000000000000000000000000000001", "one"),
        ("k2", "00000000000000000000000000000002", "two"),
        ("k3", "00000000000000000000000000000003", "three"),
    ];
    for (k, u, body) in sent {
        assert_eq!(
            send(&c, &a, "QryT", 0, &keyed(k, u), body.as_bytes()).code,
            0
        );
    }
    assert_eq!(
        send(&c, &a, "OtherT", 0, &keyed("k2", "0A"), b"other").code,
        0
    );
    wait_until("index built", 10, || query(&c, &a, "k3", false).code == 0);
    let r = query(&c, &a, "k2", false);
    assert_eq!(r.code, 0);
    assert_eq!(
        bodies(&r),
        ["one", "two"],
        "other topics and keys are not returned"
    );
    let h = r.decode_header::<QueryMessageResponseHeader>().unwrap();
    assert!(h.index_last_update_timestamp > 0);
    assert!(h.index_last_update_phyoffset > 0);
    assert_eq!(bodies(&query(&c, &a, "k1", false)), ["one"]);
    let r = query(&c, &a, "00000000000000000000000000000002", true);
    assert_eq!(bodies(&r), ["two"], "unique-key query");
    let r = query(&c, &a, "nope", false);
    assert_eq!(r.code, ResponseCode::QUERY_NOT_FOUND.code());
    assert!(r
        .decode_header::<QueryMessageResponseHeader>()
        .is_ok_and(|h| h.index_last_update_timestamp > 0));
}

#[test]
fn query_message_sendfile() {
    query_by_key_and_unique_key(false);
}

#[test]
fn query_message_heap() {
    query_by_key_and_unique_key(true);
}

#[test]
fn view_message_by_offset_msg_id() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let r = send(&c, &a, "ViewT", 1, &keyed("v", "0B"), b"viewed");
    let msg_id = r
        .decode_header::<SendMessageResponseHeader>()
        .unwrap()
        .msg_id;
    let (store_host, offset) = decode_offset_msg_id(&msg_id).unwrap();
    assert_eq!(
        store_host.to_string(),
        a,
        "STOREHOST is the broker's address"
    );
    let view = |offset: i64| {
        let h = ViewMessageRequestHeader {
            offset,
            topic: Some("ViewT".into()),
        };
        admin(&c, &a, RequestCode::VIEW_MESSAGE_BY_ID, &h)
    };
    let r = view(offset);
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let msgs = decode_records(&r.body).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0].body[..], b"viewed");
    assert_eq!(msgs[0].offset_msg_id(), msg_id);
    for bad in [offset + 1, -5, 1 << 40] {
        let r = view(bad);
        assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code(), "offset {bad}");
        assert!(r
            .remark
            .unwrap()
            .contains("can not find message by the offset"));
    }
}

fn pulled(c: &RemotingHandle, a: &str) -> Vec<MessageExt> {
    let r = pull(c, a, &pull_header("G", "TimeT", 2, 0, "*"));
    assert_eq!(r.code, 0);
    decode_records(&Bytes::clone(&r.body)).unwrap()
}

#[test]
fn search_offset_by_timestamp_and_earliest_store_time() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let search = |timestamp: i64, queue_id: i32| {
        let h = SearchOffsetRequestHeader {
            topic: "TimeT".into(),
            queue_id,
            timestamp,
            boundary_type: None,
        };
        let r = admin(&c, &a, RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &h);
        assert_eq!(r.code, 0);
        r.decode_header::<SearchOffsetResponseHeader>()
            .unwrap()
            .offset
    };
    let earliest = |queue_id: i32| {
        let h = GetEarliestMsgStoretimeRequestHeader {
            topic: "TimeT".into(),
            queue_id,
        };
        let r = admin(&c, &a, RequestCode::GET_EARLIEST_MSG_STORETIME, &h);
        assert_eq!(r.code, 0);
        r.decode_header::<GetEarliestMsgStoretimeResponseHeader>()
            .unwrap()
            .timestamp
    };
    assert_eq!(earliest(2), -1, "unknown queue");
    assert_eq!(search(1, 2), 0, "unknown queue");
    for i in 0..5 {
        send_n(&c, &a, "TimeT", 2, 1, format!("m{i}").as_bytes());
        // Distinct store times (ms clock) make the search meaningful.
        let t = protocol::util::clock::now_millis();
        wait_until("next millisecond", 5, || {
            protocol::util::clock::now_millis() > t
        });
    }
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("TimeT", 2) == 5
    });
    let msgs = pulled(&c, &a);
    let times: Vec<i64> = msgs.iter().map(|m| m.store_timestamp).collect();
    assert_eq!(earliest(2), times[0]);
    for (i, t) in times.iter().enumerate() {
        let expected = times.iter().position(|x| x >= t).unwrap() as i64;
        assert_eq!(search(*t, 2), expected, "message {i}");
    }
    assert_eq!(search(0, 2), 0);
    assert_eq!(
        search(times[4] + 1, 2),
        5,
        "after the last message: max offset"
    );
}
