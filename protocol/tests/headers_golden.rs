//! Golden-byte tests for the send, pull, route, consumer and transaction headers: exact JSON
//! text and binary bytes in both serializations, decode round trips, missing/bad fields and
//! ignored unknown keys (see `common::check`). Admin headers are in `headers_golden_admin.rs`.

mod common;

use common::{check, check_with, EXTRAS, EXTRAS_NO_BNAME};
use protocol::header::*;
use protocol::{ExtFields, RemotingCommand, SerializeType};

fn send_header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: "TopicA".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 2,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_123,
        flag: 0,
        properties: Some("KEYS\u{1}k1\u{2}WAIT\u{1}true\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: Some(16),
        batch: Some(false),
        broker_name: Some("broker-a".into()),
    }
}

#[test]
fn send_message_v1_long_names() {
    let spec = [
        ("producerGroup*", "PG"),
        ("topic*", "TopicA"),
        ("defaultTopic*", "TBW102"),
        ("defaultTopicQueueNums*", "4"),
        ("queueId*", "2"),
        ("sysFlag*", "0"),
        ("bornTimestamp*", "1700000000123"),
        ("flag*", "0"),
        ("properties", "KEYS\u{1}k1\u{2}WAIT\u{1}true\u{2}"),
        ("reconsumeTimes", "0"),
        ("unitMode", "false"),
        ("maxReconsumeTimes", "16"),
        ("batch", "false"),
        ("bname", "broker-a"),
    ];
    let read = SendMessageRequestHeader::read_from;
    let write = SendMessageRequestHeader::write_to;
    check_with(10, &send_header(), &spec, write, read, EXTRAS_NO_BNAME);
}

#[test]
fn send_message_v2_short_names() {
    let mut h = send_header();
    h.batch = Some(true);
    let spec = [
        ("a*", "PG"),
        ("b*", "TopicA"),
        ("c*", "TBW102"),
        ("d*", "4"),
        ("e*", "2"),
        ("f*", "0"),
        ("g*", "1700000000123"),
        ("h*", "0"),
        ("i", "KEYS\u{1}k1\u{2}WAIT\u{1}true\u{2}"),
        ("j", "0"),
        ("k", "false"),
        ("l", "16"),
        ("m", "true"),
        ("n", "broker-a"),
    ];
    let write = SendMessageRequestHeader::write_v2_to;
    let read_310 = |e: &ExtFields| SendMessageRequestHeader::read_for_code(310, e);
    let read_320 = |e: &ExtFields| SendMessageRequestHeader::read_for_code(320, e);
    check_with(310, &h, &spec, write, read_310, EXTRAS);
    check_with(320, &h, &spec, write, read_320, EXTRAS);
    // the trait decoder (no code at hand) detects the short names by itself
    let mut ext = ExtFields::new();
    h.write_v2_to(&mut ext);
    assert_eq!(SendMessageRequestHeader::read_from(&ext), Ok(h));
}

#[test]
fn send_message_response() {
    let h = SendMessageResponseHeader {
        msg_id: "7F00000100002A9F0000000000000000".into(),
        queue_id: 2,
        queue_offset: 17,
        transaction_id: Some("AC11000100002A9F00000001".into()),
        batch_uniq_id: Some("BATCHID".into()),
        msg_region: Some("DefaultRegion".into()),
        trace_on: Some("true".into()),
    };
    let spec = [
        ("msgId*", "7F00000100002A9F0000000000000000"),
        ("queueId*", "2"),
        ("queueOffset*", "17"),
        ("transactionId", "AC11000100002A9F00000001"),
        ("batchUniqId", "BATCHID"),
        ("MSG_REGION", "DefaultRegion"),
        ("TRACE_ON", "true"),
    ];
    check(0, &h, &spec);
}

fn pull_header() -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: "CG".into(),
        topic: "TopicA".into(),
        queue_id: 3,
        queue_offset: 1024,
        max_msg_nums: 32,
        sys_flag: PullSysFlag::build(true, true, true, false, false),
        commit_offset: 1000,
        suspend_timeout_millis: 15_000,
        subscription: Some("TagA || TagB".into()),
        sub_version: 1_700_000_000_000,
        expression_type: Some("TAG".into()),
        max_msg_bytes: Some(1_048_576),
        request_source: Some(-1),
        proxy_forward_client_id: Some("client-x".into()),
    }
}

#[test]
fn pull_message_request_and_lite_pull() {
    let spec = [
        ("consumerGroup*", "CG"),
        ("topic*", "TopicA"),
        ("queueId*", "3"),
        ("queueOffset*", "1024"),
        ("maxMsgNums*", "32"),
        ("sysFlag*", "7"),
        ("commitOffset*", "1000"),
        ("suspendTimeoutMillis*", "15000"),
        ("subscription", "TagA || TagB"),
        ("subVersion*", "1700000000000"),
        ("expressionType", "TAG"),
        ("maxMsgBytes", "1048576"),
        ("requestSource", "-1"),
        ("proxyFrowardClientId", "client-x"),
    ];
    check(11, &pull_header(), &spec);
    let lite = PullMessageRequestHeader {
        sys_flag: PullSysFlag::LITE_PULL,
        subscription: None,
        expression_type: None,
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
        ..pull_header()
    };
    let spec = [
        ("consumerGroup*", "CG"),
        ("topic*", "TopicA"),
        ("queueId*", "3"),
        ("queueOffset*", "1024"),
        ("maxMsgNums*", "32"),
        ("sysFlag*", "16"),
        ("commitOffset*", "1000"),
        ("suspendTimeoutMillis*", "15000"),
        ("subVersion*", "1700000000000"),
    ];
    check(361, &lite, &spec);
    assert!(lite.is_lite_pull());
}

#[test]
fn pull_message_response() {
    let h = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: 1056,
        min_offset: 0,
        max_offset: 2048,
        offset_delta: Some(5),
        topic_sys_flag: Some(0),
        group_sys_flag: Some(1),
        forbidden_type: Some(2),
    };
    let spec = [
        ("suggestWhichBrokerId*", "0"),
        ("nextBeginOffset*", "1056"),
        ("minOffset*", "0"),
        ("maxOffset*", "2048"),
        ("offsetDelta", "5"),
        ("topicSysFlag", "0"),
        ("groupSysFlag", "1"),
        ("forbiddenType", "2"),
    ];
    check(19, &h, &spec);
}

#[test]
fn route_and_broker_registration() {
    let h = GetRouteInfoRequestHeader {
        topic: "TopicA".into(),
        accept_standard_json_only: Some(true),
    };
    check(
        105,
        &h,
        &[("topic*", "TopicA"), ("acceptStandardJsonOnly", "true")],
    );

    let h = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "10.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "10.0.0.1:10912".into(),
        broker_id: 0,
        heartbeat_timeout_millis: Some(120_000),
        enable_acting_master: Some(false),
        compressed: Some(false),
        body_crc32: Some(-123_456),
        zone_name: Some("zone-1".into()),
    };
    let spec = [
        ("brokerName*", "broker-a"),
        ("brokerAddr*", "10.0.0.1:10911"),
        ("clusterName*", "DefaultCluster"),
        ("haServerAddr*", "10.0.0.1:10912"),
        ("brokerId*", "0"),
        ("heartbeatTimeoutMillis", "120000"),
        ("enableActingMaster", "false"),
        ("compressed", "false"),
        ("bodyCrc32", "-123456"),
        ("__ZONE_NAME", "zone-1"),
    ];
    check(103, &h, &spec);

    let h = RegisterBrokerResponseHeader {
        ha_server_addr: Some("10.0.0.1:10912".into()),
        master_addr: Some("10.0.0.1:10911".into()),
    };
    let spec = [
        ("haServerAddr", "10.0.0.1:10912"),
        ("masterAddr", "10.0.0.1:10911"),
    ];
    check(0, &h, &spec);
    check(0, &RegisterBrokerResponseHeader::default(), &[]);

    let spec = [
        ("brokerName*", "broker-a"),
        ("brokerAddr*", "10.0.0.2:10911"),
        ("clusterName*", "C1"),
        ("brokerId*", "1"),
    ];
    let h = UnregisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "10.0.0.2:10911".into(),
        cluster_name: "C1".into(),
        broker_id: 1,
    };
    check(104, &h, &spec);
    let h = QueryDataVersionRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "10.0.0.2:10911".into(),
        cluster_name: "C1".into(),
        broker_id: 1,
    };
    check(322, &h, &spec);
    check(
        0,
        &QueryDataVersionResponseHeader { changed: true },
        &[("changed*", "true")],
    );
}

#[test]
fn broker_heartbeat() {
    let h = BrokerHeartbeatRequestHeader {
        cluster_name: "C1".into(),
        broker_addr: "10.0.0.1:10911".into(),
        broker_name: "broker-a".into(),
        broker_id: Some(0),
        epoch: Some(3),
        max_offset: Some(1 << 33),
        confirm_offset: Some(1 << 32),
        heartbeat_timeout_millis: Some(10_000),
        election_priority: Some(1),
    };
    let spec = [
        ("clusterName*", "C1"),
        ("brokerAddr*", "10.0.0.1:10911"),
        ("brokerName*", "broker-a"),
        ("brokerId", "0"),
        ("epoch", "3"),
        ("maxOffset", "8589934592"),
        ("confirmOffset", "4294967296"),
        ("heartbeatTimeoutMills", "10000"),
        ("electionPriority", "1"),
    ];
    check(904, &h, &spec);
}

#[test]
fn kv_config() {
    let h = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "TopicA".into(),
        value: "broker-a:4".into(),
    };
    let spec = [
        ("namespace*", "ORDER_TOPIC_CONFIG"),
        ("key*", "TopicA"),
        ("value*", "broker-a:4"),
    ];
    check(100, &h, &spec);
    let spec = [("namespace*", "ORDER_TOPIC_CONFIG"), ("key*", "TopicA")];
    let h = GetKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "TopicA".into(),
    };
    check(101, &h, &spec);
    let h = DeleteKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "TopicA".into(),
    };
    check(102, &h, &spec);
    let h = GetKvConfigResponseHeader {
        value: Some("broker-a:4".into()),
    };
    check(0, &h, &[("value", "broker-a:4")]);
    let h = GetKvListByNamespaceRequestHeader {
        namespace: "NS".into(),
    };
    check(219, &h, &[("namespace*", "NS")]);
}

#[test]
fn namesrv_admin() {
    let h = GetTopicsByClusterRequestHeader {
        cluster: "C1".into(),
    };
    check(224, &h, &[("cluster*", "C1")]);
    let h = DeleteTopicInNamesrvRequestHeader {
        topic: "TopicA".into(),
        cluster_name: Some("C1".into()),
    };
    check(216, &h, &[("topic*", "TopicA"), ("clusterName", "C1")]);
    let h = WipeWritePermOfBrokerRequestHeader {
        broker_name: "broker-a".into(),
    };
    check(205, &h, &[("brokerName*", "broker-a")]);
    let h = WipeWritePermOfBrokerResponseHeader {
        wipe_topic_count: 12,
    };
    check(0, &h, &[("wipeTopicCount*", "12")]);
    let h = AddWritePermOfBrokerRequestHeader {
        broker_name: "broker-a".into(),
    };
    check(327, &h, &[("brokerName*", "broker-a")]);
    let h = AddWritePermOfBrokerResponseHeader { add_topic_count: 9 };
    check(0, &h, &[("addTopicCount*", "9")]);
    let h = RegisterTopicInNamesrvRequestHeader {
        topic: "TopicA".into(),
    };
    check(217, &h, &[("topic*", "TopicA")]);
}

#[test]
fn consumer_offsets() {
    let h = GetConsumerListByGroupRequestHeader {
        consumer_group: "CG".into(),
    };
    check(38, &h, &[("consumerGroup*", "CG")]);
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: "CG".into(),
        topic: "TopicA".into(),
        queue_id: 1,
        set_zero_if_not_found: Some(false),
    };
    let spec = [
        ("consumerGroup*", "CG"),
        ("topic*", "TopicA"),
        ("queueId*", "1"),
        ("setZeroIfNotFound", "false"),
    ];
    check(14, &h, &spec);
    let h = QueryConsumerOffsetResponseHeader { offset: 77 };
    check(0, &h, &[("offset*", "77")]);
    let h = UpdateConsumerOffsetRequestHeader {
        consumer_group: "CG".into(),
        topic: "TopicA".into(),
        queue_id: 1,
        commit_offset: 78,
    };
    let spec = [
        ("consumerGroup*", "CG"),
        ("topic*", "TopicA"),
        ("queueId*", "1"),
        ("commitOffset*", "78"),
    ];
    check(15, &h, &spec);
}

#[test]
fn queue_offsets() {
    let h = GetMaxOffsetRequestHeader {
        topic: "TopicA".into(),
        queue_id: 0,
        committed: Some(true),
    };
    let spec = [
        ("topic*", "TopicA"),
        ("queueId*", "0"),
        ("committed", "true"),
    ];
    check(30, &h, &spec);
    check(
        0,
        &GetMaxOffsetResponseHeader { offset: 100 },
        &[("offset*", "100")],
    );
    let h = GetMinOffsetRequestHeader {
        topic: "TopicA".into(),
        queue_id: 5,
    };
    check(31, &h, &[("topic*", "TopicA"), ("queueId*", "5")]);
    check(
        0,
        &GetMinOffsetResponseHeader { offset: 3 },
        &[("offset*", "3")],
    );
    let h = SearchOffsetRequestHeader {
        topic: "TopicA".into(),
        queue_id: 5,
        timestamp: 1_700_000_000_000,
        boundary_type: Some("lower".into()),
    };
    let spec = [
        ("topic*", "TopicA"),
        ("queueId*", "5"),
        ("timestamp*", "1700000000000"),
        ("boundaryType", "lower"),
    ];
    check(29, &h, &spec);
    check(
        0,
        &SearchOffsetResponseHeader { offset: 42 },
        &[("offset*", "42")],
    );
    let h = GetEarliestMsgStoretimeRequestHeader {
        topic: "TopicA".into(),
        queue_id: 5,
    };
    check(32, &h, &[("topic*", "TopicA"), ("queueId*", "5")]);
    let h = GetEarliestMsgStoretimeResponseHeader {
        timestamp: 1_600_000_000_000,
    };
    check(0, &h, &[("timestamp*", "1600000000000")]);
}

#[test]
fn client_lifecycle_and_send_back() {
    let h = UnregisterClientRequestHeader {
        client_id: "10.0.0.9@1234".into(),
        producer_group: Some("PG".into()),
        consumer_group: Some("CG".into()),
    };
    let spec = [
        ("clientID*", "10.0.0.9@1234"),
        ("producerGroup", "PG"),
        ("consumerGroup", "CG"),
    ];
    check(35, &h, &spec);
    let h = ConsumerSendMsgBackRequestHeader {
        offset: 4096,
        group: "CG".into(),
        delay_level: 0,
        origin_msg_id: Some("AC110001ABCD".into()),
        origin_topic: Some("TopicA".into()),
        unit_mode: Some(false),
        max_reconsume_times: Some(16),
    };
    let spec = [
        ("offset*", "4096"),
        ("group*", "CG"),
        ("delayLevel*", "0"),
        ("originMsgId", "AC110001ABCD"),
        ("originTopic", "TopicA"),
        ("unitMode", "false"),
        ("maxReconsumeTimes", "16"),
    ];
    check(36, &h, &spec);
    let h = NotifyConsumerIdsChangedRequestHeader {
        consumer_group: "CG".into(),
    };
    check(40, &h, &[("consumerGroup*", "CG")]);
}

#[test]
fn broker_to_client_calls() {
    let h = ResetOffsetRequestHeader {
        topic: "TopicA".into(),
        group: "CG".into(),
        queue_id: Some(-1),
        offset: Some(10),
        timestamp: 1_700_000_000_000,
        is_force: true,
    };
    let spec = [
        ("topic*", "TopicA"),
        ("group*", "CG"),
        ("queueId", "-1"),
        ("offset", "10"),
        ("timestamp*", "1700000000000"),
        ("isForce*", "true"),
    ];
    check(220, &h, &spec);
    let h = GetConsumerRunningInfoRequestHeader {
        consumer_group: "CG".into(),
        client_id: "10.0.0.9@1234".into(),
        jstack_enable: Some(false),
    };
    let spec = [
        ("consumerGroup*", "CG"),
        ("clientId*", "10.0.0.9@1234"),
        ("jstackEnable", "false"),
    ];
    check(307, &h, &spec);
    let h = GetConsumerStatusRequestHeader {
        topic: "TopicA".into(),
        group: "CG".into(),
        client_addr: Some("10.0.0.9:5555".into()),
    };
    let spec = [
        ("topic*", "TopicA"),
        ("group*", "CG"),
        ("clientAddr", "10.0.0.9:5555"),
    ];
    check(221, &h, &spec);
}

#[test]
fn transactions() {
    let h = EndTransactionRequestHeader {
        producer_group: "PG".into(),
        tran_state_table_offset: 5,
        commit_log_offset: 123_456,
        commit_or_rollback: EndTransactionRequestHeader::COMMIT_TYPE,
        from_transaction_check: Some(true),
        msg_id: "AC11000100002A9F00000001".into(),
        transaction_id: Some("AC11000100002A9F00000001".into()),
        topic: Some("TopicA".into()),
    };
    let spec = [
        ("producerGroup*", "PG"),
        ("tranStateTableOffset*", "5"),
        ("commitLogOffset*", "123456"),
        ("commitOrRollback*", "8"),
        ("fromTransactionCheck", "true"),
        ("msgId*", "AC11000100002A9F00000001"),
        ("transactionId", "AC11000100002A9F00000001"),
        ("topic", "TopicA"),
    ];
    check(37, &h, &spec);
    let h = CheckTransactionStateRequestHeader {
        topic: Some("TopicA".into()),
        tran_state_table_offset: 5,
        commit_log_offset: 123_456,
        msg_id: Some("AC11000100002A9F00000001".into()),
        transaction_id: Some("AC11000100002A9F00000001".into()),
        offset_msg_id: Some("0A0000010000000000001E240".into()),
    };
    let spec = [
        ("topic", "TopicA"),
        ("tranStateTableOffset*", "5"),
        ("commitLogOffset*", "123456"),
        ("msgId", "AC11000100002A9F00000001"),
        ("transactionId", "AC11000100002A9F00000001"),
        ("offsetMsgId", "0A0000010000000000001E240"),
    ];
    check(39, &h, &spec);
}

/// Reference §1.4 worked example, byte for byte: GET_ROUTEINFO_BY_TOPIC, JAVA, opaque 1.
#[test]
fn literal_route_request_bytes() {
    let h = GetRouteInfoRequestHeader {
        topic: "T".into(),
        accept_standard_json_only: None,
    };
    let mut cmd =
        RemotingCommand::request_with_header(protocol::RequestCode::GET_ROUTEINFO_BY_TOPIC, &h)
            .with_serialize_type(SerializeType::RocketMq);
    cmd.language = protocol::LanguageCode::JAVA;
    cmd.opaque = 1;
    let want: [u8; 41] = [
        0x00, 0x00, 0x00, 0x25, 0x01, 0x00, 0x00, 0x21, // total 37, ROCKETMQ + hdr 33
        0x00, 0x69, 0x00, 0x01, 0xDF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // fixed
        0x00, 0x00, 0x00, 0x00, // remark_len
        0x00, 0x00, 0x00, 0x0C, // ext_len
        0x00, 0x05, b't', b'o', b'p', b'i', b'c', 0x00, 0x00, 0x00, 0x01, b'T',
    ];
    assert_eq!(&cmd.encode_to_bytes().unwrap()[..], &want[..]);
    let back = common::decode(&want);
    assert_eq!(
        back.decode_header::<GetRouteInfoRequestHeader>(),
        Ok(h.clone())
    );

    let json = cmd
        .with_serialize_type(SerializeType::Json)
        .encode_to_bytes()
        .unwrap();
    let text = br#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    assert_eq!(&json[..4], &(4 + text.len() as u32).to_be_bytes());
    assert_eq!(&json[4..8], &(text.len() as u32).to_be_bytes());
    assert_eq!(&json[8..], &text[..]);
    assert_eq!(common::decode(&json).decode_header(), Ok(h));
}
