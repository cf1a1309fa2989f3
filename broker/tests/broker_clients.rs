//! What every real consumer needs besides PULL_MESSAGE, over loopback: HEART_BEAT (with
//! NOTIFY_CONSUMER_IDS_CHANGED to the group), UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP,
//! QUERY/UPDATE_CONSUMER_OFFSET, GET_MIN/MAX_OFFSET, and pulls that use the
//! heartbeat-registered subscription.

mod broker_support;

use std::time::Duration;

use broker_support::*;
use protocol::body::cluster::GetConsumerListByGroupResponseBody;
use protocol::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use protocol::body::JsonBody;
use protocol::header::*;
use protocol::message::{decode_records, Properties};
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn heartbeat(c: &RemotingHandle, a: &str, client_id: &str, sub_version: i64) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "CG".into(),
            subscription_data_set: vec![
                SubscriptionData::from_expression("CliT", "TagA", sub_version),
                SubscriptionData::from_expression("%RETRY%CG", "*", sub_version),
            ],
            ..Default::default()
        }],
        producer_data_set: vec![ProducerData {
            group_name: "PG".into(),
        }],
        ..Default::default()
    };
    let req = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode_body());
    call(c, a, req)
}

fn consumer_ids(c: &RemotingHandle, a: &str, group: &str) -> Option<Vec<String>> {
    let h = GetConsumerListByGroupRequestHeader {
        consumer_group: group.into(),
    };
    let r = call(
        c,
        a,
        RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &h),
    );
    (r.code == 0).then(|| {
        GetConsumerListByGroupResponseBody::decode_body(&r.body)
            .unwrap()
            .consumer_id_list
    })
}

fn registered_pull(group: &str, offset: i64, sub_version: i64) -> PullMessageRequestHeader {
    let mut h = pull_header(group, "CliT", 0, offset, "");
    h.sys_flag = PullSysFlag::build(false, false, false, false, false);
    h.subscription = None;
    h.sub_version = sub_version;
    h
}

#[test]
fn heartbeat_membership_notifications_and_registered_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let (c1, inbox1) = client_with_inbox();
    let c2 = client();
    for tag in ["TagA", "TagB", "TagA"] {
        assert_eq!(
            send(
                &c1,
                &a,
                "CliT",
                0,
                &tagged(tag, "0000000000000000000000000000AAAA"),
                tag.as_bytes()
            )
            .code,
            0
        );
    }
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("CliT", 0) == 3
    });

    let r = pull(&c1, &a, &registered_pull("CG", 0, 100));
    assert_eq!(
        r.code,
        ResponseCode::SUBSCRIPTION_NOT_EXIST.code(),
        "no heartbeat yet"
    );
    assert_eq!(consumer_ids(&c1, &a, "CG"), None);

    assert_eq!(heartbeat(&c1, &a, "10.0.0.1@one", 100).code, 0);
    assert_eq!(consumer_ids(&c1, &a, "CG").unwrap(), ["10.0.0.1@one"]);
    let r = pull(&c1, &a, &registered_pull("CG", 0, 100));
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let tags: Vec<_> = decode_records(&r.body)
        .unwrap()
        .iter()
        .map(|m| m.tags().unwrap().to_string())
        .collect();
    assert_eq!(
        tags,
        ["TagA", "TagA"],
        "the registered TagA subscription filters"
    );
    let r = pull(&c1, &a, &registered_pull("CG", 0, 200));
    assert_eq!(r.code, ResponseCode::SUBSCRIPTION_NOT_LATEST.code());
    let mut other_topic = registered_pull("CG", 0, 100);
    other_topic.topic = "%RETRY%CG".into();
    assert_eq!(
        pull(&c1, &a, &other_topic).code,
        ResponseCode::PULL_NOT_FOUND.code(),
        "retry topic exists"
    );

    assert_eq!(heartbeat(&c2, &a, "10.0.0.2@two", 100).code, 0);
    assert_eq!(
        consumer_ids(&c1, &a, "CG").unwrap(),
        ["10.0.0.1@one", "10.0.0.2@two"]
    );
    let notify = inbox1
        .recv_timeout(Duration::from_secs(5))
        .expect("member 1 notified");
    assert_eq!(notify.code, RequestCode::NOTIFY_CONSUMER_IDS_CHANGED.code());
    assert!(notify.is_oneway());
    assert_eq!(notify.ext_fields.get("consumerGroup"), Some("CG"));

    let h = UnregisterClientRequestHeader {
        client_id: "10.0.0.2@two".into(),
        producer_group: Some("PG".into()),
        consumer_group: Some("CG".into()),
    };
    let r = call(
        &c2,
        &a,
        RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, &h),
    );
    assert_eq!(r.code, 0);
    assert_eq!(consumer_ids(&c1, &a, "CG").unwrap(), ["10.0.0.1@one"]);
    inbox1
        .recv_timeout(Duration::from_secs(5))
        .expect("notified of the departure");

    c1.shutdown();
    wait_until("group emptied by the closed connection", 10, || {
        consumer_ids(&c2, &a, "CG").is_none()
    });
}

#[test]
fn consumer_offsets_and_queue_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    for i in 0..3 {
        assert_eq!(
            send(
                &c,
                &a,
                "OfsT",
                1,
                &Properties::new(),
                format!("{i}").as_bytes()
            )
            .code,
            0
        );
    }
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("OfsT", 1) == 3
    });
    let max = GetMaxOffsetRequestHeader {
        topic: "OfsT".into(),
        queue_id: 1,
        committed: None,
    };
    let r = call(
        &c,
        &a,
        RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &max),
    );
    assert_eq!(
        r.decode_header::<GetMaxOffsetResponseHeader>()
            .unwrap()
            .offset,
        3
    );
    let min = GetMinOffsetRequestHeader {
        topic: "OfsT".into(),
        queue_id: 1,
    };
    let r = call(
        &c,
        &a,
        RemotingCommand::request_with_header(RequestCode::GET_MIN_OFFSET, &min),
    );
    assert_eq!(
        r.decode_header::<GetMinOffsetResponseHeader>()
            .unwrap()
            .offset,
        0
    );

    let query = |zero: Option<bool>| {
        let h = QueryConsumerOffsetRequestHeader {
            consumer_group: "OG".into(),
            topic: "OfsT".into(),
            queue_id: 1,
            set_zero_if_not_found: zero,
        };
        let r = call(
            &c,
            &a,
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &h),
        );
        (
            r.code,
            r.decode_header::<QueryConsumerOffsetResponseHeader>()
                .ok()
                .map(|h| h.offset),
        )
    };
    assert_eq!(
        query(Some(false)),
        (ResponseCode::QUERY_NOT_FOUND.code(), None)
    );
    assert_eq!(
        query(None),
        (0, Some(0)),
        "queue starts at 0: a new group starts there"
    );
    let update = UpdateConsumerOffsetRequestHeader {
        consumer_group: "OG".into(),
        topic: "OfsT".into(),
        queue_id: 1,
        commit_offset: 2,
    };
    let req = RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &update);
    c.invoke_oneway(&a, req).unwrap();
    wait_until("one-way offset commit", 10, || {
        query(Some(false)) == (0, Some(2))
    });
    let update = UpdateConsumerOffsetRequestHeader {
        commit_offset: 3,
        ..update
    };
    let r = call(
        &c,
        &a,
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &update),
    );
    assert_eq!(r.code, 0);
    assert_eq!(query(Some(false)), (0, Some(3)));
    let bad = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET);
    let r = call(&c, &a, bad);
    assert_eq!(
        r.code,
        ResponseCode::SYSTEM_ERROR.code(),
        "header decode error"
    );
}
