//! TopicConfigManager: system topics, auto-create rules, retry/DLQ topics, versioning and the
//! `topics.json` format.

use broker::config::{BrokerConfig, HostFacts};
use broker::manager::config_file::{config_file_path, ConfigFile, TOPICS_JSON};
use broker::manager::topic_validator as tv;
use broker::manager::TopicConfigManager;
use protocol::body::perm::{PERM_INHERIT, PERM_READ, PERM_READ_WRITE, PERM_WRITE};
use protocol::body::{TopicConfig, TopicConfigSerializeWrapper, TopicFilterType};

fn config() -> BrokerConfig {
    BrokerConfig::with_host(&HostFacts {
        hostname: Some("broker-a".into()),
        local_ip: "10.0.0.9".into(),
        ..Default::default()
    })
}

fn queues_and_perm(m: &TopicConfigManager, topic: &str) -> (i32, i32, i32) {
    let t = m.select(topic).unwrap_or_else(|| panic!("{topic} missing"));
    (t.read_queue_nums, t.write_queue_nums, t.perm)
}

#[test]
fn system_topics_follow_the_config() {
    let m = TopicConfigManager::new(&config(), 1_000);
    let mut names: Vec<&str> = m.table().keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "DefaultCluster",
            "DefaultCluster_REPLY_TOPIC",
            "OFFSET_MOVED_EVENT",
            "RMQ_SYS_TRANS_HALF_TOPIC",
            "RMQ_SYS_TRANS_OP_HALF_TOPIC",
            "SCHEDULE_TOPIC_XXXX",
            "SELF_TEST_TOPIC",
            "TBW102",
            "broker-a",
        ]
    );
    assert_eq!(queues_and_perm(&m, "TBW102"), (4, 4, 7));
    assert_eq!(queues_and_perm(&m, "SELF_TEST_TOPIC"), (1, 1, 6));
    assert_eq!(queues_and_perm(&m, "DefaultCluster"), (16, 16, 7));
    assert_eq!(queues_and_perm(&m, "broker-a"), (1, 1, 7));
    assert_eq!(queues_and_perm(&m, "SCHEDULE_TOPIC_XXXX"), (18, 18, 6));
    assert_eq!(queues_and_perm(&m, "DefaultCluster_REPLY_TOPIC"), (1, 1, 6));
    assert_eq!(queues_and_perm(&m, "RMQ_SYS_TRANS_HALF_TOPIC"), (1, 1, 6));
    assert_eq!(m.data_version().counter, 0);
    assert_eq!(m.data_version().timestamp, 1_000);
    assert!(!m.is_dirty());
    for t in m.table().keys() {
        assert!(m.is_system_topic(t), "{t}");
    }
    assert!(m.is_system_topic("TRANS_CHECK_MAX_TIME_TOPIC") && !m.is_system_topic("T"));

    let mut c = config();
    c.auto_create_topic_enable = false;
    c.cluster_topic_enable = false;
    c.broker_topic_enable = false;
    c.trace_topic_enable = true;
    c.msg_trace_topic_name = "MyTrace".into();
    c.set("messageDelayLevel", "1s 1m 1h").unwrap();
    let m = TopicConfigManager::new(&c, 0);
    assert!(m.select("TBW102").is_none());
    assert_eq!(
        queues_and_perm(&m, "DefaultCluster"),
        (16, 16, PERM_INHERIT)
    );
    assert_eq!(queues_and_perm(&m, "broker-a"), (1, 1, PERM_INHERIT));
    assert_eq!(queues_and_perm(&m, "MyTrace"), (1, 1, 6));
    assert_eq!(queues_and_perm(&m, "SCHEDULE_TOPIC_XXXX"), (3, 3, 6));
    assert!(m.is_system_topic("MyTrace"));
}

#[test]
fn auto_create_on_send_takes_min_queues_and_drops_inherit() {
    let mut m = TopicConfigManager::new(&config(), 1_000);
    let t = m
        .create_topic_in_send_message_method("NewTopic", "TBW102", 4, 0, 2_000)
        .expect("TBW102 allows auto-create");
    assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 4, 6));
    assert_eq!(m.select("NewTopic"), Some(&t));
    assert_eq!(m.data_version().counter, 1);
    assert_eq!(m.data_version().timestamp, 2_000);
    assert!(m.is_dirty());

    let t = m
        .create_topic_in_send_message_method("Wide", "TBW102", 64, 1, 3_000)
        .expect("created");
    assert_eq!(
        (t.read_queue_nums, t.write_queue_nums),
        (4, 4),
        "capped by TBW102"
    );
    assert_eq!(t.topic_sys_flag, 1);
    let t = m
        .create_topic_in_send_message_method("Neg", "TBW102", -3, 0, 3_000)
        .expect("created");
    assert_eq!(t.write_queue_nums, 0);

    // Existing topic: returned unchanged, no version bump.
    let before = m.data_version();
    let again = m
        .create_topic_in_send_message_method("NewTopic", "TBW102", 1, 0, 4_000)
        .expect("exists");
    assert_eq!(again.write_queue_nums, 4);
    assert_eq!(m.data_version(), before);
}

#[test]
fn auto_create_refused_without_inherit_or_template() {
    let mut m = TopicConfigManager::new(&config(), 0);
    assert!(m
        .create_topic_in_send_message_method("A", "NoSuchTemplate", 4, 0, 1)
        .is_none());
    assert!(m
        .create_topic_in_send_message_method("A", "SELF_TEST_TOPIC", 4, 0, 1)
        .is_none());
    assert!(m
        .create_topic_in_send_message_method("bad name", "TBW102", 4, 0, 1)
        .is_none());
    assert!(m.select("A").is_none());
    assert_eq!(m.data_version().counter, 0);

    // A custom template with inherit works and keeps its filter type; RW minus X.
    let mut template = TopicConfig::with_queues("Tmpl", 2, 3, PERM_INHERIT | PERM_READ);
    template.topic_filter_type = TopicFilterType::MultiTag;
    m.update(template, 5);
    let t = m
        .create_topic_in_send_message_method("FromTmpl", "Tmpl", 16, 0, 6)
        .expect("inherit");
    assert_eq!(
        (t.read_queue_nums, t.write_queue_nums, t.perm),
        (3, 3, PERM_READ)
    );
    assert_eq!(t.topic_filter_type, TopicFilterType::MultiTag);

    // TBW102 loaded from a file while autoCreateTopicEnable=false does not act as template.
    let mut c = config();
    c.auto_create_topic_enable = false;
    let mut m = TopicConfigManager::new(&c, 0);
    m.update(TopicConfig::with_queues("TBW102", 8, 8, 7), 1);
    assert!(m
        .create_topic_in_send_message_method("B", "TBW102", 4, 0, 2)
        .is_none());
    m.set_auto_create_topic_enable(true);
    assert!(m
        .create_topic_in_send_message_method("B", "TBW102", 4, 0, 2)
        .is_some());
}

#[test]
fn retry_and_dlq_topics() {
    let mut m = TopicConfigManager::new(&config(), 0);
    let retry = m.create_retry_topic_if_absent("G", 2, 10).expect("created");
    assert_eq!(retry.topic_name, "%RETRY%G");
    assert_eq!(
        (retry.read_queue_nums, retry.write_queue_nums, retry.perm),
        (2, 2, 6)
    );
    assert_eq!(m.data_version().counter, 1);
    // Already there: same config, no new version even with another queue count.
    let again = m.create_retry_topic_if_absent("G", 5, 11).expect("exists");
    assert_eq!(again, retry);
    assert_eq!(m.data_version().counter, 1);
    assert!(m.create_retry_topic_if_absent("H", 0, 12).is_none());
    assert!(m
        .create_retry_topic_if_absent(&"g".repeat(249), 1, 12)
        .is_none());

    let dlq = m.create_dlq_topic_if_absent("G", 13).expect("created");
    assert_eq!(dlq.topic_name, tv::dlq_topic("G"));
    assert_eq!(
        (dlq.read_queue_nums, dlq.write_queue_nums, dlq.perm),
        (1, 1, PERM_READ_WRITE)
    );
    assert!(m.create_dlq_topic_if_absent("bad group", 14).is_none());

    // Send-back on an ordered group flips the order flag of an existing topic.
    let ordered =
        m.create_topic_in_send_message_back_method("%RETRY%G", 1, PERM_WRITE, true, 0, 15);
    assert!(ordered.order && m.is_order_topic("%RETRY%G"));
    assert_eq!(ordered.write_queue_nums, 2, "queues unchanged");
    assert_eq!(m.data_version().counter, 3);
    // Later retry creation keeps the order flag.
    assert!(
        m.create_retry_topic_if_absent("G", 1, 16)
            .expect("exists")
            .order
    );
    assert!(!m.is_order_topic("nope"));
}

#[test]
fn update_and_delete_bump_the_version() {
    let mut m = TopicConfigManager::new(&config(), 0);
    assert!(m
        .update(TopicConfig::with_queues("T", 4, 4, 6), 100)
        .is_none());
    assert_eq!(m.data_version().counter, 1);
    let old = m
        .update(TopicConfig::with_queues("T", 8, 8, 4), 200)
        .expect("replaced");
    assert_eq!(old.read_queue_nums, 4);
    assert_eq!(m.data_version().counter, 2);
    assert_eq!(m.delete("T", 300).map(|t| t.read_queue_nums), Some(8));
    assert_eq!(m.data_version().counter, 3);
    assert!(m.delete("T", 400).is_none());
    assert_eq!(
        m.data_version().counter,
        3,
        "deleting nothing changes nothing"
    );
    assert_eq!(m.data_version().timestamp, 300);
}

#[test]
fn topics_json_literal_format() {
    let mut m = TopicConfigManager::empty(0);
    m.update(TopicConfig::with_queues("T", 4, 4, 6), 2_000);
    let expected = concat!(
        r#"{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":2000},"#,
        r#""topicConfigTable":{"T":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"#,
        r#""topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}"#
    );
    assert_eq!(String::from_utf8(m.encode_json()).unwrap(), expected);
    let w = m.to_wrapper();
    assert_eq!(w.data_version, m.data_version());
    assert_eq!(w.topic_config_table.len(), 1);
}

/// A `topics.json` as a Java 5.x broker writes it (extra keys ignored).
const JAVA_TOPICS_JSON: &str = r#"{"dataVersion":{"counter":42,"stateVersion":0,"timestamp":1700000000000},
"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,
"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},
"TBW102":{"order":false,"perm":7,"readQueueNums":16,"topicFilterType":"SINGLE_TAG",
"topicName":"TBW102","topicSysFlag":0,"writeQueueNums":16}},"unknownKey":[1,2]}"#;

#[test]
fn load_merges_over_system_topics_and_persist_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file_path(dir.path(), TOPICS_JSON);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, JAVA_TOPICS_JSON).unwrap();

    let mut m = TopicConfigManager::new(&config(), 5);
    assert!(m.load(&path).unwrap());
    assert_eq!(m.data_version().counter, 42);
    assert_eq!(queues_and_perm(&m, "TopicTest"), (4, 4, 6));
    assert_eq!(
        queues_and_perm(&m, "TBW102"),
        (16, 16, 7),
        "file overrides init"
    );
    assert!(m.select("SELF_TEST_TOPIC").is_some(), "system topics kept");
    assert!(!m.is_dirty());

    m.create_retry_topic_if_absent("G", 1, 6);
    assert!(m.persist_if_dirty(&path).unwrap());
    let mut reloaded = TopicConfigManager::new(&config(), 7);
    assert!(reloaded.load(&path).unwrap());
    assert_eq!(reloaded.table(), m.table());
    assert_eq!(reloaded.data_version(), m.data_version());
    assert!(!reloaded.persist_if_dirty(&path).unwrap());

    std::fs::write(&path, b"{\"topicConfigTable\":").unwrap();
    std::fs::remove_file(dir.path().join("config/topics.json.bak")).unwrap();
    assert!(TopicConfigManager::new(&config(), 8).load(&path).is_err());
}

#[test]
fn slave_sync_replaces_table_and_version() {
    let mut master = TopicConfigManager::new(&config(), 0);
    master.update(TopicConfig::new("T"), 10);
    let mut slave = TopicConfigManager::empty(0);
    assert!(slave.sync_from_master(master.to_wrapper()));
    assert!(slave.is_dirty());
    assert_eq!(slave.table(), master.table());
    assert_eq!(slave.data_version(), master.data_version());
    slave.set_dirty(false);
    assert!(!slave.sync_from_master(master.to_wrapper()));
    assert!(!slave.is_dirty());
    let empty = TopicConfigSerializeWrapper::default();
    assert!(slave.sync_from_master(empty));
    assert!(slave.table().is_empty());
}
