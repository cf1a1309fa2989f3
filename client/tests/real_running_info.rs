//! GET_CONSUMER_RUNNING_INFO through a real broker: an admin asks the broker (307), the broker
//! forwards to the consumer's client, and the client answers with its settings,
//! subscriptions and the state of every queue it owns.

mod real_support;

use std::sync::Arc;
use std::time::Duration;

use client::ConsumeFrom;
use protocol::body::running_info::{ConsumerRunningInfo, PROP_CONSUME_TYPE};
use protocol::body::JsonBody;
use protocol::header::GetConsumerRunningInfoRequestHeader;
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use real_support::*;

#[test]
fn a_push_consumer_reports_its_running_info_through_the_broker() {
    let cluster = RealCluster::start(1, &[("InfoT", 4)]);
    let p = producer(&cluster, "info-sender");
    send_n(&p, "InfoT", "m", 20, "TagA");
    let seen: Seen = Arc::default();
    let c = push_consumer(&cluster, "InfoG")
        .subscribe("InfoT", "TagA || TagB")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || seen
        .lock()
        .unwrap()
        .len()
        >= 20));
    let ids = cluster.consumer_ids(0, "InfoG");
    assert_eq!(ids.len(), 1);
    let ask = |group: &str| {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.into(),
            client_id: ids[0].clone(),
            jstack_enable: Some(false),
        };
        let req =
            RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO).with_header(&header);
        cluster
            .instance()
            .api()
            .handle()
            .invoke_sync(cluster.broker_addr(0), req, 5_000)
            .unwrap()
    };
    let r = ask("InfoG");
    assert_eq!(r.code, ResponseCode::SUCCESS.code(), "{:?}", r.remark);
    let info = ConsumerRunningInfo::decode_body(&r.body).unwrap();
    assert_eq!(
        info.property(PROP_CONSUME_TYPE).as_deref(),
        Some("CONSUME_PASSIVELY")
    );
    assert_eq!(info.property("consumerGroup").as_deref(), Some("InfoG"));
    let topics: Vec<&str> = info
        .subscription_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert!(
        topics.contains(&"InfoT") && topics.contains(&"%RETRY%InfoG"),
        "{topics:?}"
    );
    let sub = info
        .subscription_set
        .iter()
        .find(|s| s.topic == "InfoT")
        .unwrap();
    assert_eq!(sub.sub_string, "TagA || TagB");
    let queues: Vec<_> = info
        .mq_table
        .iter()
        .filter(|(mq, _)| mq.topic == "InfoT")
        .collect();
    assert_eq!(queues.len(), 4, "every owned queue is listed");
    assert!(queues
        .iter()
        .all(|(_, q)| !q.dropped && q.last_pull_timestamp > 0));
    let consumed: i64 = queues.iter().map(|(_, q)| q.commit_offset.max(0)).sum();
    assert_eq!(
        consumed, 20,
        "commit offsets cover the 20 consumed messages"
    );
    assert!(queues.iter().any(|(_, q)| q.last_consume_timestamp > 0));

    // A group this client does not have: the client says so (through the broker).
    let r = ask("NoSuchG");
    assert_ne!(r.code, ResponseCode::SUCCESS.code());
    c.close();
}
