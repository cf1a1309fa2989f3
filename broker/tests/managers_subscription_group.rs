//! SubscriptionGroupManager: system groups, auto-create rules, versioning and the
//! `subscriptionGroup.json` format.

use broker::manager::config_file::{config_file_path, ConfigFile, SUBSCRIPTION_GROUP_JSON};
use broker::manager::topic_validator::SYSTEM_GROUPS;
use broker::manager::SubscriptionGroupManager;
use protocol::body::SubscriptionGroupConfig;

#[test]
fn starts_with_the_java_system_groups() {
    let m = SubscriptionGroupManager::new(1_000);
    let names: Vec<&str> = m.table().keys().map(String::as_str).collect();
    let mut expected = SYSTEM_GROUPS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(m.contains("TOOLS_CONSUMER") && m.contains("CID_RMQ_SYS_TRANS"));
    assert_eq!(
        m.find("SELF_TEST_C_GROUP"),
        Some(&SubscriptionGroupConfig::new("SELF_TEST_C_GROUP"))
    );
    assert_eq!(
        (m.data_version().counter, m.data_version().timestamp),
        (0, 1_000)
    );
    assert!(!m.is_dirty());
}

#[test]
fn auto_create_rules() {
    let mut m = SubscriptionGroupManager::new(0);
    assert!(m.find_or_auto_create("G", false, 10).is_none());
    assert!(!m.contains("G"));
    let g = m
        .find_or_auto_create("G", true, 10)
        .expect("auto-created")
        .clone();
    assert_eq!(g, SubscriptionGroupConfig::new("G"));
    assert_eq!((g.retry_queue_nums, g.retry_max_times), (1, 16));
    assert_eq!(m.data_version().counter, 1);
    assert!(m.is_dirty());
    // Now it exists: found even with auto-create off, no new version.
    assert!(m.find_or_auto_create("G", false, 11).is_some());
    assert_eq!(m.data_version().counter, 1);
    // System consumer groups are always created; invalid names never.
    assert!(m.find_or_auto_create("CID_RMQ_SYS_X", false, 12).is_some());
    assert!(m.find_or_auto_create("bad group", true, 13).is_none());
    assert!(m.find_or_auto_create(&"g".repeat(121), true, 13).is_none());
    assert!(m.find_or_auto_create("", true, 13).is_none());
    assert_eq!(m.data_version().counter, 2);
}

#[test]
fn update_delete_disable() {
    let mut m = SubscriptionGroupManager::new(0);
    let mut g = SubscriptionGroupConfig::new("G");
    g.retry_queue_nums = 3;
    g.consume_message_orderly = true;
    assert!(m.update(g.clone(), 5).is_none());
    assert_eq!(m.find("G").map(|c| c.retry_queue_nums), Some(3));
    g.retry_max_times = 2;
    assert_eq!(m.update(g, 6).map(|old| old.retry_max_times), Some(16));
    assert!(m.disable_consume("G", 7));
    assert!(!m.find("G").unwrap().consume_enable);
    assert!(!m.disable_consume("nope", 8));
    assert_eq!(m.data_version().counter, 3);
    assert!(m.delete("G", 9).is_some());
    assert!(m.delete("G", 10).is_none());
    assert_eq!(
        (m.data_version().counter, m.data_version().timestamp),
        (4, 9)
    );
}

#[test]
fn json_literal_format_and_reload() {
    let mut m = SubscriptionGroupManager::new(0);
    // Keep one group to make the literal short.
    for g in SYSTEM_GROUPS {
        m.delete(g, 1);
    }
    m.update(SubscriptionGroupConfig::new("G"), 2_000);
    let expected = concat!(
        r#"{"dataVersion":{"counter":9,"stateVersion":0,"timestamp":2000},"#,
        r#""subscriptionGroupTable":{"G":{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"#,
        r#""consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"#,
        r#""consumeTimeoutMinute":15,"groupName":"G","groupSysFlag":0,"#,
        r#""notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"#,
        r#""whichBrokerWhenConsumeSlowly":1}}}"#
    );
    assert_eq!(String::from_utf8(m.encode_json()).unwrap(), expected);

    let dir = tempfile::tempdir().unwrap();
    let path = config_file_path(dir.path(), SUBSCRIPTION_GROUP_JSON);
    assert!(m.persist_if_dirty(&path).unwrap());
    let mut back = SubscriptionGroupManager::new(5);
    assert!(back.load(&path).unwrap());
    assert_eq!(back.find("G"), m.find("G"));
    assert_eq!(back.data_version(), m.data_version());
    assert!(
        back.contains("TOOLS_CONSUMER"),
        "loaded groups merge over the system groups"
    );
    assert_eq!(back.table().len(), SYSTEM_GROUPS.len() + 1);
}

#[test]
fn decodes_java_file_with_extra_fields() {
    // As a Java 5.x broker writes it: forbiddenTable, groupRetryPolicy, subscriptionDataSet.
    let text = r#"{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":17},
        "forbiddenTable":{},
        "subscriptionGroupTable":{"OrderG":{"brokerId":0,"consumeBroadcastEnable":true,
        "consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":true,
        "groupName":"OrderG","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,
        "notifyConsumerIdsChangedEnable":false,"retryMaxTimes":5,"retryQueueNums":2,
        "whichBrokerWhenConsumeSlowly":1}}}"#;
    let mut m = SubscriptionGroupManager::new(0);
    m.decode_json(text.as_bytes()).unwrap();
    let g = m.find("OrderG").expect("loaded");
    assert!(g.consume_message_orderly && !g.notify_consumer_ids_changed_enable);
    assert_eq!((g.retry_queue_nums, g.retry_max_times), (2, 5));
    assert!(g.group_retry_policy.is_some());
    assert_eq!(m.data_version().counter, 3);
    assert!(m.decode_json(b"[1,2]").is_err());
    assert!(m.find("OrderG").is_some(), "failed decode keeps the table");
}

#[test]
fn slave_sync() {
    let mut master = SubscriptionGroupManager::new(0);
    master.find_or_auto_create("G", true, 3);
    let mut slave = SubscriptionGroupManager::new(0);
    assert!(slave.sync_from_master(master.to_wrapper()));
    assert_eq!(slave.table(), master.table());
    assert!(slave.is_dirty());
    assert!(!slave.sync_from_master(master.to_wrapper()));
}
