//! Client administration over loopback: GET_CONSUMER_CONNECTION_LIST (203),
//! GET_PRODUCER_CONNECTION_LIST (204), GET_ALL_PRODUCER_INFO (328), CHECK_CLIENT_CONFIG (46),
//! QUERY_TOPIC_CONSUME_BY_WHO (300), QUERY_TOPICS_BY_CONSUMER (343), the calls the broker
//! makes to consumers (GET_CONSUMER_RUNNING_INFO 307, INVOKE_BROKER_TO_GET_CONSUMER_STATUS
//! 223), and expiry of idle client channels.

mod broker_support;

use std::time::Duration;

use broker_support::*;
use protocol::body::heartbeat::SubscriptionData;
use protocol::body::{
    CheckClientRequestBody, ConsumerConnection, ConsumerRunningInfo, GetConsumerStatusBody,
    GroupList, JsonBody, MessageModel, MessageQueue, MqMap, ProducerConnection, ProducerTableInfo,
    TopicList,
};
use protocol::header::*;
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn consumer_connections(c: &RemotingHandle, a: &str, group: &str) -> RemotingCommand {
    let h = GetConsumerConnectionListRequestHeader {
        consumer_group: group.into(),
    };
    admin(c, a, RequestCode::GET_CONSUMER_CONNECTION_LIST, &h)
}

fn check_config(c: &RemotingHandle, a: &str, expression_type: &str) -> RemotingCommand {
    let mut sub = SubscriptionData::from_expression("ConnT", "TagA", 1);
    sub.expression_type = expression_type.into();
    let body = CheckClientRequestBody {
        client_id: "x".into(),
        group: "CG".into(),
        subscription_data: Some(sub),
    };
    admin_body(c, a, RequestCode::CHECK_CLIENT_CONFIG, body.encode_body())
}

#[test]
fn connections_who_consumes_and_client_config() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let r = consumer_connections(&c, &a, "CG");
    assert_eq!(r.code, ResponseCode::CONSUMER_NOT_ONLINE.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("the consumer group[CG] not online")
    );

    let (fc, _inbox) = fake_consumer("10.0.0.7@fc", MqMap::new());
    let hb = consumer_heartbeat(&fc, &a, "10.0.0.7@fc", "CG", &[("ConnT", "TagA")]);
    assert_eq!(hb.code, 0);
    let r = consumer_connections(&c, &a, "CG");
    assert_eq!(r.code, 0);
    let cc = ConsumerConnection::decode_body(&r.body).unwrap();
    assert_eq!(cc.connection_set.len(), 1);
    assert_eq!(cc.connection_set[0].client_id, "10.0.0.7@fc");
    assert_eq!(cc.connection_set[0].version, 479);
    assert_eq!(cc.message_model, MessageModel::Clustering);
    assert_eq!(cc.subscription_table["ConnT"].sub_string, "TagA");

    let producers = |group: &str| {
        let h = GetProducerConnectionListRequestHeader {
            producer_group: group.into(),
        };
        admin(&c, &a, RequestCode::GET_PRODUCER_CONNECTION_LIST, &h)
    };
    let r = producers("PG");
    assert_eq!(r.code, 0);
    let pc = ProducerConnection::decode_body(&r.body).unwrap();
    assert_eq!(pc.connection_set[0].client_id, "10.0.0.7@fc");
    let r = producers("NoPG");
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("the producer group[NoPG] not exist")
    );
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_ALL_PRODUCER_INFO),
    );
    let table = ProducerTableInfo::decode_body(&r.body).unwrap();
    let pg = &table.data["PG"];
    assert_eq!(pg.len(), 1);
    assert_eq!(pg[0].client_id, "10.0.0.7@fc");
    assert!(pg[0].last_update_timestamp > 0 && pg[0].remote_ip.starts_with("127.0.0.1:"));

    assert_eq!(check_config(&c, &a, "TAG").code, 0);
    let r = check_config(&c, &a, "SQL92");
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert!(r.remark.unwrap().contains("unsupported"));
    let r = admin_body(&c, &a, RequestCode::CHECK_CLIENT_CONFIG, b"{".to_vec());
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());

    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "OG".into(),
        topic: "ConnT".into(),
        queue_id: 0,
        commit_offset: 0,
    };
    assert_eq!(
        admin(&c, &a, RequestCode::UPDATE_CONSUMER_OFFSET, &commit).code,
        0
    );
    let h = QueryTopicConsumeByWhoRequestHeader {
        topic: "ConnT".into(),
    };
    let r = admin(&c, &a, RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &h);
    let groups = GroupList::decode_body(&r.body).unwrap().group_list;
    assert_eq!(groups, ["CG".to_owned(), "OG".to_owned()].into());
    let h = QueryTopicsByConsumerRequestHeader { group: "OG".into() };
    let r = admin(&c, &a, RequestCode::QUERY_TOPICS_BY_CONSUMER, &h);
    let topics = TopicList::decode_body(&r.body).unwrap();
    assert_eq!(topics.topic_list, ["ConnT".to_owned()].into());
    assert_eq!(topics.broker_addr.as_deref(), Some(a.as_str()));
}

fn status(offsets: &[(i32, i64)]) -> MqMap<i64> {
    offsets
        .iter()
        .map(|(q, o)| (MessageQueue::new("StT", "broker-a", *q), *o))
        .collect()
}

#[test]
fn running_info_and_consumer_status_come_from_the_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let (fc1, inbox1) = fake_consumer("10.0.0.1@fc1", status(&[(0, 5)]));
    let (fc2, _inbox2) = fake_consumer("10.0.0.2@fc2", status(&[(1, 7), (2, 9)]));
    for (fc, id) in [(&fc1, "10.0.0.1@fc1"), (&fc2, "10.0.0.2@fc2")] {
        assert_eq!(
            consumer_heartbeat(fc, &a, id, "CG", &[("StT", "*")]).code,
            0
        );
    }
    let running = |client_id: &str| {
        let h = GetConsumerRunningInfoRequestHeader {
            consumer_group: "CG".into(),
            client_id: client_id.into(),
            jstack_enable: Some(false),
        };
        admin(&c, &a, RequestCode::GET_CONSUMER_RUNNING_INFO, &h)
    };
    let r = running("10.0.0.1@fc1");
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let info = ConsumerRunningInfo::decode_body(&r.body).unwrap();
    assert_eq!(
        info.property("PROP_CLIENT_ID").as_deref(),
        Some("10.0.0.1@fc1")
    );
    let forwarded = loop {
        let req = inbox1
            .recv_timeout(Duration::from_secs(5))
            .expect("forwarded");
        if req.code == RequestCode::GET_CONSUMER_RUNNING_INFO.code() {
            break req;
        }
    };
    assert_eq!(forwarded.ext_fields.get("clientId"), Some("10.0.0.1@fc1"));
    let r = running("nope");
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("The Consumer <CG> <nope> not online")
    );

    let consumer_status = |group: &str, only: Option<&str>| {
        let h = GetConsumerStatusRequestHeader {
            topic: "StT".into(),
            group: group.into(),
            client_addr: only.map(str::to_owned),
        };
        admin(
            &c,
            &a,
            RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
            &h,
        )
    };
    let r = consumer_status("CG", None);
    assert_eq!(r.code, 0);
    let body = GetConsumerStatusBody::decode_body(&r.body).unwrap();
    assert_eq!(body.consumer_table.len(), 2);
    assert_eq!(body.consumer_table["10.0.0.1@fc1"], status(&[(0, 5)]));
    assert_eq!(
        body.consumer_table["10.0.0.2@fc2"],
        status(&[(1, 7), (2, 9)])
    );
    let r = consumer_status("CG", Some("10.0.0.2@fc2"));
    let body = GetConsumerStatusBody::decode_body(&r.body).unwrap();
    assert_eq!(
        body.consumer_table.keys().collect::<Vec<_>>(),
        ["10.0.0.2@fc2"]
    );
    let r = consumer_status("NoG", None);
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert!(r.remark.unwrap().contains("No Any Consumer online"));
}

fn consumer_ids(c: &RemotingHandle, a: &str) -> Vec<String> {
    let h = GetConsumerListByGroupRequestHeader {
        consumer_group: "IG".into(),
    };
    let r = admin(c, a, RequestCode::GET_CONSUMER_LIST_BY_GROUP, &h);
    if r.code != 0 {
        return Vec::new();
    }
    protocol::body::GetConsumerListByGroupResponseBody::decode_body(&r.body)
        .unwrap()
        .consumer_id_list
}

#[test]
fn an_idle_consumer_expires_and_the_others_are_notified() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.client_channel_expired_time_ms = 1_500;
    let b = start_broker(config, store_config(dir.path()));
    let a = addr(&b);
    let (idle, _) = client_with_inbox();
    let (active, inbox) = client_with_inbox();
    let beat = |c: &RemotingHandle, id: &str| {
        assert_eq!(
            consumer_heartbeat(c, &a, id, "IG", &[("IdleT", "*")]).code,
            0
        );
    };
    beat(&idle, "10.0.0.1@idle");
    beat(&active, "10.0.0.2@active");
    assert_eq!(
        consumer_ids(&active, &a),
        ["10.0.0.1@idle", "10.0.0.2@active"]
    );
    while inbox.try_recv().is_ok() {}
    // Only the active member keeps heartbeating; the scan drops the idle one.
    wait_until("idle consumer expired", 20, || {
        beat(&active, "10.0.0.2@active");
        consumer_ids(&active, &a) == ["10.0.0.2@active"]
    });
    let notice = inbox
        .recv_timeout(Duration::from_secs(5))
        .expect("the remaining member is notified");
    assert_eq!(notice.code, RequestCode::NOTIFY_CONSUMER_IDS_CHANGED.code());
    assert_eq!(notice.ext_fields.get("consumerGroup"), Some("IG"));
    // The idle client's producer registration went with it.
    let h = GetProducerConnectionListRequestHeader {
        producer_group: "PG".into(),
    };
    let r = admin(&active, &a, RequestCode::GET_PRODUCER_CONNECTION_LIST, &h);
    let ids: Vec<String> = ProducerConnection::decode_body(&r.body)
        .unwrap()
        .connection_set
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["10.0.0.2@active"]);
}

#[test]
fn a_silent_consumer_makes_running_info_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let (silent, inbox) = client_with_inbox();
    let hb = consumer_heartbeat(&silent, &a, "10.0.0.3@silent", "CG", &[("StT", "*")]);
    assert_eq!(hb.code, 0);
    let h = GetConsumerRunningInfoRequestHeader {
        consumer_group: "CG".into(),
        client_id: "10.0.0.3@silent".into(),
        jstack_enable: None,
    };
    let req = RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &h);
    let c = client();
    let r = c.invoke_sync(&a, req, 30_000).unwrap();
    assert_eq!(r.code, ResponseCode::CONSUME_MSG_TIMEOUT.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("consumer <CG> <10.0.0.3@silent> Timeout")
    );
    assert!(inbox
        .try_iter()
        .any(|req| req.code == RequestCode::GET_CONSUMER_RUNNING_INFO.code()));
}
