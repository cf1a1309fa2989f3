//! Offset administration over loopback: INVOKE_BROKER_TO_RESET_OFFSET (222, with the
//! RESET_CONSUMER_CLIENT_OFFSET 220 sent to members), QUERY_CONSUME_TIME_SPAN (303),
//! CLONE_GROUP_OFFSET (314), QUERY_CORRECTION_OFFSET (308), GET_ALL_CONSUMER_OFFSET (43) and
//! GET_ALL_DELAY_OFFSET (45).

mod broker_support;

use std::time::Duration;

use broker_support::*;
use protocol::body::{
    ConsumerOffsetSerializeWrapper, JsonBody, MessageQueue, MqMap, QueryConsumeTimeSpanBody,
    QueryCorrectionOffsetBody, ResetOffsetBody,
};
use protocol::header::*;
use protocol::message::decode_records;
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn commit(c: &RemotingHandle, a: &str, group: &str, topic: &str, queue_id: i32, offset: i64) {
    let h = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        commit_offset: offset,
    };
    assert_eq!(admin(c, a, RequestCode::UPDATE_CONSUMER_OFFSET, &h).code, 0);
}

fn committed(c: &RemotingHandle, a: &str, group: &str, queue_id: i32) -> Option<i64> {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: "RstT".into(),
        queue_id,
        set_zero_if_not_found: Some(false),
    };
    let r = admin(c, a, RequestCode::QUERY_CONSUMER_OFFSET, &h);
    r.decode_header::<QueryConsumerOffsetResponseHeader>()
        .ok()
        .map(|h| h.offset)
}

fn reset(
    c: &RemotingHandle,
    a: &str,
    group: &str,
    timestamp: i64,
    force: bool,
    queue_offset: Option<(i32, i64)>,
) -> RemotingCommand {
    let h = InvokeBrokerToResetOffsetRequestHeader {
        topic: "RstT".into(),
        group: group.into(),
        queue_id: queue_offset.map(|(q, _)| q).or(Some(-1)),
        offset: queue_offset.map(|(_, o)| o),
        timestamp,
        is_force: force,
    };
    admin(c, a, RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &h)
}

fn reset_table(r: &RemotingCommand) -> Vec<(i32, i64)> {
    assert_eq!(r.code, 0, "{:?}", r.remark);
    ResetOffsetBody::decode_body(&r.body)
        .unwrap()
        .offset_table
        .iter()
        .map(|(mq, o)| (mq.queue_id, *o))
        .collect()
}

#[test]
fn reset_offsets_and_notify_members() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    send_n(&c, &a, "RstT", 0, 3, b"r");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("RstT", 0) == 3
    });
    let (fc, inbox) = fake_consumer("10.0.0.9@rg", MqMap::new());
    assert_eq!(
        consumer_heartbeat(&fc, &a, "10.0.0.9@rg", "RG", &[("RstT", "*")]).code,
        0
    );
    commit(&c, &a, "RG", "RstT", 0, 3);

    let r = reset(&c, &a, "RG", 0, false, None);
    assert_eq!(
        reset_table(&r),
        [(0, 0), (1, 0), (2, 0), (3, 0)],
        "back to the start"
    );
    assert_eq!(committed(&c, &a, "RG", 0), Some(0));
    let notice = loop {
        let req = inbox
            .recv_timeout(Duration::from_secs(5))
            .expect("member told");
        if req.code == RequestCode::RESET_CONSUMER_CLIENT_OFFSET.code() {
            break req;
        }
    };
    assert!(notice.is_oneway());
    let h = notice.decode_header::<ResetOffsetRequestHeader>().unwrap();
    assert_eq!(
        (h.topic.as_str(), h.group.as_str(), h.timestamp),
        ("RstT", "RG", 0)
    );
    let told = ResetOffsetBody::decode_body(&notice.body).unwrap();
    assert_eq!(
        told.offset_table[&MessageQueue::new("RstT", "broker-a", 0)],
        0
    );

    let r = reset(&c, &a, "RG", -1, false, None);
    assert_eq!(
        reset_table(&r)[0],
        (0, 0),
        "without isForce offsets never move forward"
    );
    let r = reset(&c, &a, "RG", -1, true, None);
    assert_eq!(reset_table(&r)[0], (0, 3), "timestamp -1 = the queue's end");
    assert_eq!(committed(&c, &a, "RG", 0), Some(3));
    let r = reset(&c, &a, "RG", 0, false, Some((0, 2)));
    assert_eq!(
        reset_table(&r),
        [(0, 2)],
        "an explicit offset for one queue"
    );
    assert_eq!(committed(&c, &a, "RG", 0), Some(2));
    let r = reset(&c, &a, "RG", 0, false, Some((0, 9)));
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("Target offset 9 not in consume queue range [0-3]")
    );
    assert_eq!(
        reset(&c, &a, "NoSuchG", 0, true, None).code,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST.code()
    );
    let h = InvokeBrokerToResetOffsetRequestHeader {
        topic: "NoSuchT".into(),
        group: "RG".into(),
        queue_id: None,
        offset: None,
        timestamp: 0,
        is_force: true,
    };
    let r = admin(&c, &a, RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &h);
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST.code());
}

#[test]
fn time_span_clone_correction_and_slave_sync_tables() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    send_n(&c, &a, "RstT", 0, 3, b"t");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("RstT", 0) == 3
    });
    let r = pull(&c, &a, &pull_header("X", "RstT", 0, 0, "*"));
    let times: Vec<i64> = decode_records(&r.body)
        .unwrap()
        .iter()
        .map(|m| m.store_timestamp)
        .collect();
    commit(&c, &a, "RG", "RstT", 0, 2);

    let span = |topic: &str| {
        let h = QueryConsumeTimeSpanRequestHeader {
            topic: topic.into(),
            group: "RG".into(),
        };
        admin(&c, &a, RequestCode::QUERY_CONSUME_TIME_SPAN, &h)
    };
    let r = span("RstT");
    assert_eq!(r.code, 0);
    let spans = QueryConsumeTimeSpanBody::decode_body(&r.body)
        .unwrap()
        .consume_time_span_set;
    assert_eq!(spans.len(), 4);
    let q0 = &spans[0];
    assert_eq!(q0.message_queue, MessageQueue::new("RstT", "broker-a", 0));
    assert_eq!((q0.min_time_stamp, q0.max_time_stamp), (times[0], times[2]));
    assert_eq!(
        q0.consume_time_stamp, times[1],
        "store time of the last consumed"
    );
    assert!(q0.delay_time >= 0);
    assert_eq!((spans[1].min_time_stamp, spans[1].max_time_stamp), (-1, -1));
    assert_eq!(span("NoSuchT").code, ResponseCode::TOPIC_NOT_EXIST.code());

    let clone = |src: &str, dest: &str, topic: Option<&str>| {
        let h = CloneGroupOffsetRequestHeader {
            src_group: src.into(),
            dest_group: dest.into(),
            topic: topic.map(str::to_owned),
            offline: Some(true),
        };
        assert_eq!(admin(&c, &a, RequestCode::CLONE_GROUP_OFFSET, &h).code, 0);
    };
    clone("RG", "CG2", Some("RstT"));
    assert_eq!(committed(&c, &a, "CG2", 0), Some(2));
    clone("RG", "CG3", None);
    assert_eq!(committed(&c, &a, "CG3", 0), Some(2));

    commit(&c, &a, "G3", "RstT", 0, 1);
    commit(&c, &a, "G4", "RstT", 0, 0);
    let correction = |filter: &str, compare: &str| {
        let h = QueryCorrectionOffsetRequestHeader {
            filter_groups: Some(filter.into()),
            compare_group: compare.into(),
            topic: "RstT".into(),
        };
        let r = admin(&c, &a, RequestCode::QUERY_CORRECTION_OFFSET, &h);
        assert_eq!(r.code, 0);
        QueryCorrectionOffsetBody::decode_body(&r.body)
            .unwrap()
            .correction_offsets[&0]
    };
    assert_eq!(correction("G4", "RG"), 1, "the minimum of the other groups");
    assert_eq!(correction("G4,G3", "RG"), 2);
    assert_eq!(
        correction("G4", "G4"),
        i64::MAX,
        "the compared group is behind the others"
    );
    assert_eq!(correction("", "RG"), 0, "G4 counts when not filtered");

    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET),
    );
    let all = ConsumerOffsetSerializeWrapper::decode_body(&r.body).unwrap();
    assert_eq!(all.offset_table["RstT@RG"][&0], 2);
    assert_eq!(all.offset_table["RstT@CG3"][&0], 2);

    let delay = || {
        call(
            &c,
            &a,
            RemotingCommand::request(RequestCode::GET_ALL_DELAY_OFFSET),
        )
    };
    assert_eq!(&delay().body[..], b"{}");
    let path = dir.path().join("config").join("delayOffset.json");
    std::fs::write(&path, br#"{"offsetTable":{1:5,3:2}}"#).unwrap();
    assert_eq!(&delay().body[..], br#"{"offsetTable":{1:5,3:2}}"#);
}
