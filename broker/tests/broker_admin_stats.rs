//! Admin statistics over loopback: GET_TOPIC_STATS_INFO (202), GET_CONSUME_STATS (208),
//! GET_BROKER_CONSUME_STATS (317), GET_BROKER_RUNTIME_INFO (28), VIEW_BROKER_STATS_DATA (315)
//! and QUERY_CONSUME_QUEUE (321), with real counters behind them.

mod broker_support;

use broker_support::*;
use protocol::body::{
    BrokerStatsData, ConsumeStats, ConsumeStatsList, JsonBody, KvTable, MessageQueue,
    QueryConsumeQueueResponseBody, TopicStatsTable,
};
use protocol::header::*;
use protocol::message::{decode_records, java_hash_code, MessageExt};
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn mq(topic: &str, q: i32) -> MessageQueue {
    MessageQueue::new(topic, "broker-a", q)
}

fn consume_stats(c: &RemotingHandle, a: &str, topic: Option<&str>) -> ConsumeStats {
    let h = GetConsumeStatsRequestHeader {
        consumer_group: "SG1".into(),
        topic: topic.map(str::to_owned),
        topic_list: None,
    };
    let r = admin(c, a, RequestCode::GET_CONSUME_STATS, &h);
    assert_eq!(r.code, 0);
    ConsumeStats::decode_body(&r.body).unwrap()
}

fn stats_data(c: &RemotingHandle, a: &str, name: &str, key: &str) -> RemotingCommand {
    let h = ViewBrokerStatsDataRequestHeader {
        stats_name: name.into(),
        stats_key: key.into(),
    };
    admin(c, a, RequestCode::VIEW_BROKER_STATS_DATA, &h)
}

/// A broker with 3 messages in StatT/0 (TagA) and 2 in StatT/1 (TagB); group SG1 (subscribed
/// to `*`) pulled queue 0 and committed offset 2 there. Returns the pulled messages.
fn scenario(c: &RemotingHandle, a: &str, b: &broker::BrokerServer) -> Vec<MessageExt> {
    send_n(c, a, "StatT", 0, 3, b"zero");
    for uniq in ["B1", "B2"] {
        assert_eq!(
            send(c, a, "StatT", 1, &tagged("TagB", uniq), b"one!").code,
            0
        );
    }
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("StatT", 0) == 3
            && b.store().max_offset_in_queue("StatT", 1) == 2
    });
    let hb = consumer_heartbeat(
        c,
        a,
        "10.0.0.1@sg1",
        "SG1",
        &[("StatT", "*"), ("%RETRY%SG1", "*")],
    );
    assert_eq!(hb.code, 0);
    let r = pull(c, a, &pull_header("SG1", "StatT", 0, 0, "*"));
    assert_eq!(r.code, 0);
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "SG1".into(),
        topic: "StatT".into(),
        queue_id: 0,
        commit_offset: 2,
    };
    assert_eq!(
        admin(c, a, RequestCode::UPDATE_CONSUMER_OFFSET, &commit).code,
        0
    );
    decode_records(&r.body).unwrap()
}

#[test]
fn topic_and_consume_stats() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let msgs = scenario(&c, &a, &b);

    let h = GetTopicStatsInfoRequestHeader {
        topic: "StatT".into(),
    };
    let r = admin(&c, &a, RequestCode::GET_TOPIC_STATS_INFO, &h);
    let table = TopicStatsTable::decode_body(&r.body).unwrap();
    assert_eq!(table.offset_table.len(), 4);
    let q0 = table.offset_table[&mq("StatT", 0)];
    assert_eq!((q0.min_offset, q0.max_offset), (0, 3));
    assert_eq!(q0.last_update_timestamp, msgs[2].store_timestamp);
    let q3 = table.offset_table[&mq("StatT", 3)];
    assert_eq!((q3.max_offset, q3.last_update_timestamp), (0, 0));
    assert!(table.topic_put_tps > 0.0);
    let h = GetTopicStatsInfoRequestHeader {
        topic: "NoSuchT".into(),
    };
    let r = admin(&c, &a, RequestCode::GET_TOPIC_STATS_INFO, &h);
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST.code());

    let stats = consume_stats(&c, &a, Some("StatT"));
    let w0 = stats.offset_table[&mq("StatT", 0)];
    assert_eq!(
        (w0.broker_offset, w0.consumer_offset, w0.pull_offset),
        (3, 2, 3)
    );
    assert_eq!(w0.last_timestamp, msgs[1].store_timestamp);
    let w1 = stats.offset_table[&mq("StatT", 1)];
    assert_eq!(
        (w1.broker_offset, w1.consumer_offset, w1.last_timestamp),
        (2, 0, 0)
    );
    assert_eq!(stats.compute_total_diff(), 3);
    assert!(stats.consume_tps > 0.0);
    let all = consume_stats(&c, &a, None);
    assert!(
        all.offset_table.contains_key(&mq("%RETRY%SG1", 0)),
        "retry topic included"
    );
    assert!(all.offset_table.contains_key(&mq("StatT", 1)));

    let broker_stats = |is_order: bool| {
        let h = GetBrokerConsumeStatsRequestHeader { is_order };
        let r = admin(&c, &a, RequestCode::GET_BROKER_CONSUME_STATS, &h);
        assert_eq!(r.code, 0);
        ConsumeStatsList::decode_body(&r.body).unwrap()
    };
    let list = broker_stats(false);
    assert_eq!(list.broker_addr.as_deref(), Some(a.as_str()));
    assert_eq!(list.total_diff, 3);
    let sg1 = list
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("SG1"))
        .expect("SG1 listed");
    assert_eq!(sg1.len(), 1);
    assert_eq!(sg1[0].offset_table[&mq("StatT", 0)].consumer_offset, 2);
    assert_eq!(broker_stats(true).total_diff, 0, "StatT is not ordered");
}

#[test]
fn runtime_info_and_stats_items() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let msgs = scenario(&c, &a, &b);
    wait_until("dispatched", 10, || b.store().dispatch_behind_bytes() == 0);
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
    );
    assert_eq!(r.code, 0);
    let t = KvTable::decode_body(&r.body).unwrap().table;
    let get = |k: &str| t.get(k).unwrap_or_else(|| panic!("{k} missing")).as_str();
    assert_eq!(get("msgPutTotalTodayNow"), "5");
    assert_eq!(get("msgGetTotalTodayNow"), "3");
    assert_eq!(get("brokerVersionDesc"), "V5_3_3");
    assert_eq!(get("brokerVersion"), "479");
    assert_eq!(get("dispatchBehindBytes"), "0");
    assert_eq!(get("sendThreadPoolQueueSize"), "0");
    assert_eq!(
        get("earliestMessageTimeStamp"),
        msgs[0].store_timestamp.to_string()
    );
    assert!(get("bootTimestamp").parse::<u64>().unwrap() > 0);
    assert!(get("commitLogMaxOffset").parse::<u64>().unwrap() > 0);
    let put_tps: Vec<f64> = get("putTps")
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(put_tps.len(), 3);
    assert!(put_tps[0] > 0.0, "{put_tps:?}");
    assert_eq!(get("getTransferedTps").split(' ').count(), 3);
    let ratio: f64 = get("commitLogDiskRatio").parse().unwrap();
    assert!((0.0..=1.0).contains(&ratio), "disk ratio {ratio}");
    for key in [
        "msgPutTotalTodayMorning",
        "msgGetTotalYesterdayMorning",
        "pageCacheLockTimeMills",
        "runtime",
        "getFoundTps",
        "remainHowManyDataToFlush",
    ] {
        assert!(t.contains_key(key), "{key}");
    }

    let r = stats_data(&c, &a, "TOPIC_PUT_NUMS", "StatT");
    assert_eq!(r.code, 0);
    let data = BrokerStatsData::decode_body(&r.body).unwrap();
    assert_eq!(
        (
            data.stats_minute.sum,
            data.stats_hour.sum,
            data.stats_day.sum
        ),
        (5, 5, 5)
    );
    assert!(
        (data.stats_day.avgpt - 1.0).abs() < 1e-9,
        "one message per put"
    );
    let size =
        BrokerStatsData::decode_body(&stats_data(&c, &a, "TOPIC_PUT_SIZE", "StatT").body).unwrap();
    let stored: i64 = msgs.iter().map(|m| i64::from(m.store_size)).sum::<i64>();
    assert!(
        size.stats_minute.sum > stored,
        "5 records are bigger than 3"
    );
    let got = BrokerStatsData::decode_body(&stats_data(&c, &a, "GROUP_GET_NUMS", "StatT@SG1").body)
        .unwrap();
    assert_eq!(got.stats_minute.sum, 3);
    let r = stats_data(&c, &a, "TOPIC_PUT_NUMS", "Nope");
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("The stats <TOPIC_PUT_NUMS> <Nope> not exist")
    );
}

fn dump(
    c: &RemotingHandle,
    a: &str,
    queue_id: i32,
    index: i64,
    group: Option<&str>,
) -> RemotingCommand {
    let h = QueryConsumeQueueRequestHeader {
        topic: Some("StatT".into()),
        queue_id: Some(queue_id),
        index: Some(index),
        count: Some(10),
        consumer_group: group.map(str::to_owned),
    };
    admin(c, a, RequestCode::QUERY_CONSUME_QUEUE, &h)
}

#[test]
fn query_consume_queue() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let msgs = scenario(&c, &a, &b);
    let r = dump(&c, &a, 0, 0, Some("SG1"));
    assert_eq!(r.code, 0);
    let body = QueryConsumeQueueResponseBody::decode_body(&r.body).unwrap();
    assert_eq!((body.min_queue_index, body.max_queue_index), (0, 3));
    assert_eq!(body.queue_data.len(), 3);
    for (unit, m) in body.queue_data.iter().zip(&msgs) {
        assert_eq!(unit.physic_offset, m.commit_log_offset);
        assert_eq!(unit.physic_size, m.store_size);
        assert_eq!(unit.tags_code, i64::from(java_hash_code("TagA")));
        assert!(unit.eval, "SG1 subscribes *");
    }
    assert_eq!(body.subscription_data.unwrap().sub_string, "*");

    let hb = consumer_heartbeat(&c, &a, "10.0.0.2@sg2", "SG2", &[("StatT", "TagB")]);
    assert_eq!(hb.code, 0);
    let body =
        QueryConsumeQueueResponseBody::decode_body(&dump(&c, &a, 0, 1, Some("SG2")).body).unwrap();
    assert_eq!(body.queue_data.len(), 2, "from index 1");
    assert!(
        body.queue_data.iter().all(|u| !u.eval),
        "TagA units do not match TagB"
    );
    let body =
        QueryConsumeQueueResponseBody::decode_body(&dump(&c, &a, 1, 0, Some("SG2")).body).unwrap();
    assert!(body.queue_data.iter().all(|u| u.eval));
    let body =
        QueryConsumeQueueResponseBody::decode_body(&dump(&c, &a, 0, 0, Some("Off")).body).unwrap();
    assert_eq!(
        body.filter_data.as_deref(),
        Some("Off@StatT is not online!")
    );
    let body = QueryConsumeQueueResponseBody::decode_body(&dump(&c, &a, 0, 7, None).body).unwrap();
    assert!(body.queue_data.is_empty());
    let r = dump(&c, &a, 9, 0, None);
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(r.remark.as_deref(), Some("9@StatT is not exist!"));
}
