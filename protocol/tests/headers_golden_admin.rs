//! Golden-byte tests for the admin headers (topics, messages, groups, broker stats); same
//! checks as `headers_golden.rs` (see `common::check`).

mod common;

use common::check;
use protocol::header::*;

#[test]
fn create_and_delete_topic() {
    let h = CreateTopicRequestHeader {
        topic: "TopicA".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 8,
        write_queue_nums: 8,
        perm: 6,
        topic_filter_type: TOPIC_FILTER_SINGLE_TAG.into(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: Some("+message.type=NORMAL".into()),
        force: Some(false),
    };
    let spec = [
        ("topic*", "TopicA"),
        ("defaultTopic*", "TBW102"),
        ("readQueueNums*", "8"),
        ("writeQueueNums*", "8"),
        ("perm*", "6"),
        ("topicFilterType*", "SINGLE_TAG"),
        ("topicSysFlag", "0"),
        ("order*", "false"),
        ("attributes", "+message.type=NORMAL"),
        ("force", "false"),
    ];
    check(17, &h, &spec);
    let h = DeleteTopicRequestHeader {
        topic: "TopicA".into(),
    };
    check(215, &h, &[("topic*", "TopicA")]);
}

#[test]
fn topic_lookups() {
    let h = GetTopicStatsInfoRequestHeader {
        topic: "TopicA".into(),
    };
    check(202, &h, &[("topic*", "TopicA")]);
    let h = GetTopicConfigRequestHeader {
        topic: "TopicA".into(),
    };
    check(351, &h, &[("topic*", "TopicA")]);
    let h = QueryTopicConsumeByWhoRequestHeader {
        topic: "TopicA".into(),
    };
    check(300, &h, &[("topic*", "TopicA")]);
    let h = QueryTopicsByConsumerRequestHeader { group: "CG".into() };
    check(343, &h, &[("group*", "CG")]);
}

#[test]
fn query_and_view_message() {
    let h = QueryMessageRequestHeader {
        topic: "TopicA".into(),
        key: "AC11000100002A9F00000001".into(),
        max_num: 32,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        unique_key_query: Some(true),
    };
    let spec = [
        ("topic*", "TopicA"),
        ("key*", "AC11000100002A9F00000001"),
        ("maxNum*", "32"),
        ("beginTimestamp*", "0"),
        ("endTimestamp*", "9223372036854775807"),
        ("_UNIQUE_KEY_QUERY", "true"),
    ];
    check(12, &h, &spec);
    assert!(h.is_unique_key_query());
    assert_eq!(UNIQUE_KEY_QUERY_KEY, "_UNIQUE_KEY_QUERY");
    let h = QueryMessageResponseHeader {
        index_last_update_timestamp: 1_700_000_000_000,
        index_last_update_phyoffset: 65_536,
    };
    let spec = [
        ("indexLastUpdateTimestamp*", "1700000000000"),
        ("indexLastUpdatePhyoffset*", "65536"),
    ];
    check(0, &h, &spec);
    let h = ViewMessageRequestHeader {
        offset: 65_536,
        topic: Some("TopicA".into()),
    };
    check(33, &h, &[("offset*", "65536"), ("topic", "TopicA")]);
}

#[test]
fn consume_queue_and_half_messages() {
    let h = QueryConsumeQueueRequestHeader {
        topic: Some("TopicA".into()),
        queue_id: Some(1),
        index: Some(100),
        count: Some(10),
        consumer_group: Some("CG".into()),
    };
    let spec = [
        ("topic", "TopicA"),
        ("queueId", "1"),
        ("index", "100"),
        ("count", "10"),
        ("consumerGroup", "CG"),
    ];
    check(321, &h, &spec);
    let h = ResumeCheckHalfMessageRequestHeader {
        topic: Some("TopicA".into()),
        msg_id: Some("AC11000100002A9F00000001".into()),
    };
    let spec = [("topic", "TopicA"), ("msgId", "AC11000100002A9F00000001")];
    check(323, &h, &spec);
}

#[test]
fn groups_and_connections() {
    let h = GetConsumeStatsRequestHeader {
        consumer_group: "CG".into(),
        topic: Some("TopicA".into()),
        topic_list: Some("TopicA,TopicB".into()),
    };
    let spec = [
        ("consumerGroup*", "CG"),
        ("topic", "TopicA"),
        ("topicList", "TopicA,TopicB"),
    ];
    check(208, &h, &spec);
    let h = GetConsumerConnectionListRequestHeader {
        consumer_group: "CG".into(),
    };
    check(203, &h, &[("consumerGroup*", "CG")]);
    let h = GetProducerConnectionListRequestHeader {
        producer_group: "PG".into(),
    };
    check(204, &h, &[("producerGroup*", "PG")]);
    let h = DeleteSubscriptionGroupRequestHeader {
        group_name: "CG".into(),
        clean_offset: Some(true),
    };
    check(207, &h, &[("groupName*", "CG"), ("cleanOffset", "true")]);
    let h = GetSubscriptionGroupConfigRequestHeader { group: "CG".into() };
    check(352, &h, &[("group*", "CG")]);
}

#[test]
fn offsets_and_time_spans() {
    let h: InvokeBrokerToResetOffsetRequestHeader = ResetOffsetRequestHeader {
        topic: "TopicA".into(),
        group: "CG".into(),
        queue_id: Some(2),
        offset: None,
        timestamp: 1_700_000_000_000,
        is_force: false,
    };
    let spec = [
        ("topic*", "TopicA"),
        ("group*", "CG"),
        ("queueId", "2"),
        ("timestamp*", "1700000000000"),
        ("isForce*", "false"),
    ];
    check(222, &h, &spec);
    let h = QueryConsumeTimeSpanRequestHeader {
        topic: "TopicA".into(),
        group: "CG".into(),
    };
    check(303, &h, &[("topic*", "TopicA"), ("group*", "CG")]);
    let h = CloneGroupOffsetRequestHeader {
        src_group: "CG1".into(),
        dest_group: "CG2".into(),
        topic: Some("TopicA".into()),
        offline: Some(true),
    };
    let spec = [
        ("srcGroup*", "CG1"),
        ("destGroup*", "CG2"),
        ("topic", "TopicA"),
        ("offline", "true"),
    ];
    check(314, &h, &spec);
    let h = QueryCorrectionOffsetRequestHeader {
        filter_groups: Some("CG1,CG2".into()),
        compare_group: "CG3".into(),
        topic: "TopicA".into(),
    };
    let spec = [
        ("filterGroups", "CG1,CG2"),
        ("compareGroup*", "CG3"),
        ("topic*", "TopicA"),
    ];
    check(308, &h, &spec);
}

#[test]
fn broker_stats_and_config() {
    let h = GetBrokerConsumeStatsRequestHeader { is_order: true };
    check(317, &h, &[("isOrder*", "true")]);
    let h = ViewBrokerStatsDataRequestHeader {
        stats_name: "TOPIC_PUT_NUMS".into(),
        stats_key: "TopicA".into(),
    };
    let spec = [("statsName*", "TOPIC_PUT_NUMS"), ("statsKey*", "TopicA")];
    check(315, &h, &spec);
    let h = GetBrokerConfigResponseHeader {
        version: r#"{"counter":3,"timestamp":1700000000000}"#.into(),
    };
    check(
        0,
        &h,
        &[("version*", r#"{"counter":3,"timestamp":1700000000000}"#)],
    );
}
