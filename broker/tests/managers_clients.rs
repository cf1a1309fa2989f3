//! ConsumerManager and ProducerManager: membership change detection, subscription updates,
//! connection close, expiry scans with explicit time, round robin.

use broker::manager::{
    ClientChannelInfo, ConsumerManager, ConsumerRegistration, ProducerManager, RegisterOutcome,
};
use protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, JsonBody, MessageModel,
    SubscriptionData,
};
use protocol::LanguageCode;

type Conn = u32;

fn info(client_id: &str) -> ClientChannelInfo {
    ClientChannelInfo::new(
        client_id,
        LanguageCode::JAVA,
        479,
        format!("{client_id}:1"),
        0,
    )
}

fn sub(topic: &str, expr: &str, version: i64) -> SubscriptionData {
    SubscriptionData::from_expression(topic, expr, version)
}

fn reg(client_id: &str, subs: Vec<SubscriptionData>) -> ConsumerRegistration {
    ConsumerRegistration {
        channel_info: info(client_id),
        consume_type: ConsumeType::ConsumePassively,
        message_model: MessageModel::Clustering,
        consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
        subscriptions: subs,
        update_subscription: true,
        notify_consumer_ids_changed_enable: true,
    }
}

fn outcome(ids: bool, subs: bool, notify: bool) -> RegisterOutcome {
    RegisterOutcome {
        ids_changed: ids,
        subscription_changed: subs,
        notify,
    }
}

#[test]
fn membership_changes_are_detected() {
    let mut m: ConsumerManager<Conn> = ConsumerManager::new();
    let subs = vec![sub("T", "*", 1), sub("%RETRY%G", "*", 1)];
    assert_eq!(
        m.register_consumer("G", 1, reg("c1", subs.clone()), 100),
        outcome(true, true, true)
    );
    // Same member, same subscriptions: nothing changed.
    assert_eq!(
        m.register_consumer("G", 1, reg("c1", subs.clone()), 200),
        outcome(false, false, false)
    );
    // A second member joins with the same subscriptions.
    assert_eq!(
        m.register_consumer("G", 2, reg("c2", subs.clone()), 300),
        outcome(true, false, true)
    );
    assert_eq!(m.consumer_ids("G"), ["c1", "c2"]);
    let mut chans = m.channels_of("G");
    chans.sort_unstable();
    assert_eq!(chans, [1, 2]);
    // A known connection reporting another client id counts as a change.
    assert_eq!(
        m.register_consumer("G", 2, reg("c3", subs), 400),
        outcome(true, false, true)
    );
    assert_eq!(m.consumer_ids("G"), ["c1", "c3"]);
    let g = m.group_info("G").expect("group");
    assert_eq!((g.group_name(), g.last_update_ms()), ("G", 400));
    assert_eq!(g.channels()[&1].last_update_ms, 200);
    assert_eq!(g.channels()[&2].last_update_ms, 400);
    assert_eq!(m.find_channel("G", "c3"), Some(2));
    assert_eq!(m.find_channel("G", "c2"), None);
    assert!(m.consumer_ids("nope").is_empty() && m.channels_of("nope").is_empty());
}

#[test]
fn subscription_updates_follow_sub_version_and_topic_set() {
    let mut m: ConsumerManager<Conn> = ConsumerManager::new();
    m.register_consumer(
        "G",
        1,
        reg("c1", vec![sub("T", "A", 10), sub("U", "*", 10)]),
        1,
    );
    // Older or equal version with another expression is ignored.
    let r = m.register_consumer(
        "G",
        1,
        reg("c1", vec![sub("T", "B", 9), sub("U", "*", 10)]),
        2,
    );
    assert_eq!(r, outcome(false, false, false));
    assert_eq!(m.find_subscription("G", "T").unwrap().sub_string, "A");
    // Newer version replaces.
    let r = m.register_consumer(
        "G",
        1,
        reg("c1", vec![sub("T", "B", 11), sub("U", "*", 10)]),
        3,
    );
    assert_eq!(r, outcome(false, true, true));
    assert_eq!(m.find_subscription("G", "T").unwrap().sub_string, "B");
    // A topic no longer subscribed is removed; a new one is added.
    let r = m.register_consumer(
        "G",
        1,
        reg("c1", vec![sub("T", "B", 11), sub("V", "*", 12)]),
        4,
    );
    assert_eq!(r, outcome(false, true, true));
    let topics: Vec<&String> = m
        .group_info("G")
        .unwrap()
        .subscription_table()
        .keys()
        .collect();
    assert_eq!(topics, ["T", "V"]);
    assert!(m.find_subscription("G", "U").is_none());
    assert_eq!(m.groups_subscribing("V"), ["G"]);
    assert!(m.groups_subscribing("U").is_empty());

    // A v2 heartbeat without subscriptions leaves them alone.
    let mut r2 = reg("c1", Vec::new());
    r2.update_subscription = false;
    assert_eq!(
        m.register_consumer("G", 1, r2, 5),
        outcome(false, false, false)
    );
    assert_eq!(m.group_info("G").unwrap().subscription_table().len(), 2);
}

#[test]
fn broadcasting_and_disabled_groups_are_not_notified() {
    let mut m: ConsumerManager<Conn> = ConsumerManager::new();
    let mut r = reg("c1", vec![sub("T", "*", 1)]);
    r.message_model = MessageModel::Broadcasting;
    assert_eq!(
        m.register_consumer("B", 1, r, 1),
        outcome(true, true, false)
    );
    assert!(m.notify_targets("B", true).is_empty());
    assert_eq!(
        m.group_info("B").unwrap().message_model(),
        MessageModel::Broadcasting
    );

    let mut r = reg("c1", vec![sub("T", "*", 1)]);
    r.notify_consumer_ids_changed_enable = false;
    assert_eq!(
        m.register_consumer("Q", 1, r, 1),
        outcome(true, true, false)
    );
    assert!(m.notify_targets("Q", false).is_empty());
    assert_eq!(m.notify_targets("Q", true), [1]);
    assert!(m.notify_targets("nope", true).is_empty());
}

#[test]
fn unregister_and_connection_close() {
    let mut m: ConsumerManager<Conn> = ConsumerManager::new();
    m.register_consumer("G", 1, reg("c1", vec![sub("T", "*", 1)]), 1);
    m.register_consumer("G", 2, reg("c2", vec![sub("T", "*", 1)]), 1);
    m.register_consumer("H", 1, reg("c1", vec![sub("T", "*", 1)]), 1);
    assert!(!m.unregister_consumer("G", 9));
    assert!(!m.unregister_consumer("nope", 1));
    assert!(m.unregister_consumer("G", 2));
    assert_eq!(m.consumer_ids("G"), ["c1"]);
    assert_eq!(m.on_connection_closed(1), ["G", "H"]);
    assert!(m.group_info("G").is_none() && m.group_info("H").is_none());
    assert!(m.groups().is_empty());
    assert!(m.on_connection_closed(1).is_empty());
}

#[test]
fn expiry_scan_uses_explicit_time() {
    let mut m: ConsumerManager<Conn> = ConsumerManager::new();
    m.register_consumer("G", 1, reg("c1", vec![]), 1_000);
    m.register_consumer("G", 2, reg("c2", vec![]), 50_000);
    m.register_consumer("H", 3, reg("c3", vec![]), 1_000);
    assert!(
        m.scan_not_active_channels(121_000, 120_000).is_empty(),
        "exactly at the limit"
    );
    assert_eq!(
        m.scan_not_active_channels(121_001, 120_000),
        [("G".to_owned(), 1), ("H".to_owned(), 3)]
    );
    assert_eq!(m.groups(), ["G"]);
    assert_eq!(m.consumer_ids("G"), ["c2"]);
    assert_eq!(
        m.scan_not_active_channels(200_000, 120_000),
        [("G".to_owned(), 2)]
    );
    assert!(m.groups().is_empty());
}

#[test]
fn consumer_connection_body_and_registration_from_heartbeat() {
    let body = br#"{"clientID":"10.0.0.9@1","consumerDataSet":[{"consumeFromWhere":4,"consumeType":0,
        "groupName":"G","messageModel":"BROADCASTING","subscriptionDataSet":[{"subString":"A||B",
        "subVersion":"7","tagsSet":["A","B"],"codeSet":[65,66],"topic":"T"}]}],"producerDataSet":[]}"#;
    let hb = HeartbeatData::decode_body(body).unwrap();
    let data: &ConsumerData = &hb.consumer_data_set[0];
    let r = ConsumerRegistration::from_consumer_data(data, info(&hb.client_id), true);
    assert!(r.update_subscription);
    let mut m: ConsumerManager<Conn> = ConsumerManager::new();
    assert_eq!(
        m.register_consumer(&data.group_name, 7, r, 5),
        outcome(true, true, false)
    );
    let g = m.group_info("G").unwrap();
    assert_eq!(g.consume_type(), ConsumeType::ConsumeActively);
    assert_eq!(
        g.consume_from_where(),
        ConsumeFromWhere::ConsumeFromFirstOffset
    );
    let cc = g.to_consumer_connection();
    assert_eq!(cc.connection_set.len(), 1);
    assert_eq!(cc.connection_set[0].client_id, "10.0.0.9@1");
    assert_eq!(cc.message_model, MessageModel::Broadcasting);
    assert_eq!(cc.subscription_table["T"].sub_version, 7);
}

#[test]
fn producers_register_expire_and_round_robin() {
    let mut p: ProducerManager<Conn> = ProducerManager::new();
    assert!(p.register_producer("P", 1, info("b"), 1_000));
    assert!(!p.register_producer("P", 1, info("b"), 2_000));
    assert!(p.register_producer("P", 2, info("a"), 1_000));
    assert!(p.register_producer("Q", 3, info("c"), 1_000));
    assert_eq!(p.all_groups(), ["P", "Q"]);
    let conns = p.connections("P");
    let ids: Vec<&str> = conns.iter().map(|(_, i)| i.client_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "sorted by client id");
    assert_eq!(conns[1].1.last_update_ms, 2_000);
    let picks: Vec<Conn> = (0..4).filter_map(|n| p.any_channel("P", n)).collect();
    assert_eq!(picks, [2, 1, 2, 1]);
    assert_eq!(p.any_channel("nope", 0), None);
    assert_eq!(p.find_channel("c"), Some(3));
    assert_eq!(p.find_channel("zz"), None);
    let pc = p.producer_connection("P").expect("group exists");
    assert_eq!(pc.connection_set.len(), 2);
    assert!(p.producer_connection("nope").is_none());

    assert_eq!(
        p.scan_not_active(121_500, 120_000),
        [("P".to_owned(), 2), ("Q".to_owned(), 3)]
    );
    assert_eq!(p.all_groups(), ["P"]);
    assert_eq!(p.any_channel("P", 5), Some(1));
    assert!(!p.unregister_producer("P", 9));
    assert!(p.unregister_producer("P", 1));
    assert!(p.all_groups().is_empty());

    p.register_producer("P", 1, info("a"), 0);
    p.register_producer("R", 1, info("a"), 0);
    p.register_producer("R", 2, info("b"), 0);
    assert_eq!(p.on_connection_closed(1), ["P", "R"]);
    assert_eq!(p.all_groups(), ["R"]);
    assert!(p.on_connection_closed(1).is_empty());
}
