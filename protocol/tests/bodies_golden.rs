//! Golden tests for every JSON body: the exact bytes Java/fastjson writes (alphabetical
//! properties, unquoted integer keys, `MessageQueue` object keys), and decoding of Java-, Go- and
//! C++-style input taken from the wire reference (§4, §6.4).

use std::collections::BTreeMap;
use std::fmt::Debug;

use protocol::body::heartbeat::SubscriptionData;
use protocol::body::*;
use protocol::LanguageCode;

/// `value` encodes to `golden` (fastjson default dialect) and `golden` decodes back to `value`;
/// the standard-JSON (quoted keys) rendering decodes to `value` too.
fn golden<T: JsonBody + PartialEq + Debug>(value: &T, golden: &str) {
    let encoded = String::from_utf8(value.encode_body()).expect("UTF-8");
    assert_eq!(encoded, golden);
    let decoded = T::decode_body(golden.as_bytes()).expect("golden decodes");
    assert_eq!(&decoded, value);
    let quoted = to_json_vec(value, IntKeys::Quoted);
    assert_eq!(&T::decode_body(&quoted).expect("quoted decodes"), value);
}

fn mq(topic: &str, broker: &str, queue_id: i32) -> MessageQueue {
    MessageQueue::new(topic, broker, queue_id)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn broker_a() -> BrokerData {
    BrokerData {
        broker_addrs: [
            (0, "10.0.0.1:10911".to_owned()),
            (1, "10.0.0.2:10911".to_owned()),
        ]
        .into(),
        broker_name: "broker-a".into(),
        cluster: "DefaultCluster".into(),
        enable_acting_master: false,
        zone_name: None,
    }
}

fn route() -> TopicRouteData {
    TopicRouteData {
        broker_datas: vec![broker_a()],
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        ..Default::default()
    }
}

const ROUTE_BODY: &str = concat!(
    r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"#,
    r#""brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"#,
    r#""filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"#,
    r#""readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
);

#[test]
fn topic_route_data_golden() {
    golden(&route(), ROUTE_BODY);
    let standard = ROUTE_BODY
        .replace("{0:", "{\"0\":")
        .replace(",1:", ",\"1\":");
    assert_eq!(route().encode(479, false), standard.as_bytes());
    assert_eq!(route().encode(317, false), ROUTE_BODY.as_bytes());
    let mut full = route();
    full.broker_datas[0].zone_name = Some("z1".into());
    full.order_topic_conf = Some("broker-a:4;broker-b:4".into());
    full.filter_server_table
        .insert("10.0.0.1:10911".into(), strings(&["10.0.0.1:9999"]));
    golden(
        &full,
        concat!(
            r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"#,
            r#""brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false,"#,
            r#""zoneName":"z1"}],"filterServerTable":{"10.0.0.1:10911":["10.0.0.1:9999"]},"#,
            r#""orderTopicConf":"broker-a:4;broker-b:4","queueDatas":[{"brokerName":"broker-a","#,
            r#""perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        ),
    );
}

#[test]
fn topic_route_data_decodes_go_and_5x_variants() {
    // Go writes standard JSON and may send null collections.
    let go = r#"{"orderTopicConf":"","queueDatas":[{"brokerName":"b","readQueueNums":2,"writeQueueNums":2,"perm":6,"topicSynFlag":0}],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"h:1"}}],"filterServerTable":null}"#;
    let r = TopicRouteData::decode_body(go.as_bytes()).expect("Go route");
    assert_eq!(r.broker_datas[0].select_master_addr(), Some("h:1"));
    assert!(r.filter_server_table.is_empty());
    // [5.x] static-topic mapping passes through (its integer keys are rectified).
    let v5 = r#"{"brokerDatas":[],"queueDatas":[],"topicQueueMappingByBroker":{"b":{"bname":"b","currIdMap":{0:1},"epoch":3}}}"#;
    let r = TopicRouteData::decode_body(v5.as_bytes()).expect("5.x route");
    let mapping = r.topic_queue_mapping_by_broker.expect("mapping kept");
    assert_eq!(mapping["b"]["currIdMap"]["0"], 1);
}

fn heartbeat() -> HeartbeatData {
    let tag_a = SubscriptionData::from_expression("T", "TagA", 1_700_000_000_000);
    let retry = SubscriptionData::from_expression("%RETRY%G", "*", 1_700_000_000_000);
    HeartbeatData {
        client_id: "10.0.0.9@12345#987654321".into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_type: ConsumeType::ConsumePassively,
            group_name: "G".into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![tag_a, retry],
            unit_mode: false,
        }],
        heartbeat_fingerprint: 0,
        producer_data_set: vec![
            ProducerData {
                group_name: "P".into(),
            },
            ProducerData {
                group_name: "CLIENT_INNER_PRODUCER".into(),
            },
        ],
        without_sub: false,
    }
}

/// The reference's §4.2 example (Java 5.x client), byte for byte.
const HEARTBEAT_BODY: &str = concat!(
    r#"{"clientID":"10.0.0.9@12345#987654321","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","#,
    r#""consumeType":"CONSUME_PASSIVELY","groupName":"G","messageModel":"CLUSTERING","subscriptionDataSet":["#,
    r#"{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","#,
    r#""subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T"},{"classFilterMode":false,"codeSet":[],"#,
    r#""expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"%RETRY%G"}],"#,
    r#""unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"P"},"#,
    r#"{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#
);

#[test]
fn heartbeat_golden() {
    golden(&heartbeat(), HEARTBEAT_BODY);
}

#[test]
fn heartbeat_decodes_java_4x_without_5x_fields() {
    let java4 = HEARTBEAT_BODY
        .replace(r#","heartbeatFingerprint":0"#, "")
        .replace(r#","withoutSub":false"#, "");
    assert_eq!(
        HeartbeatData::decode_body(java4.as_bytes()).expect("4.x"),
        heartbeat()
    );
}

#[test]
fn heartbeat_decodes_cpp_style() {
    // Ordinals, string subVersion, no classFilterMode/expressionType/5.x fields, no producers.
    let cpp = r#"{"clientID":"192.168.1.5@7788","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"G","messageModel":1,"subscriptionDataSet":[{"codeSet":[2598919],"subString":"TagA","subVersion":"1700000000000","tagsSet":["TagA"],"topic":"T"}],"unitMode":false}]}"#;
    let hb = HeartbeatData::decode_body(cpp.as_bytes()).expect("C++ heartbeat");
    assert_eq!(hb.client_id, "192.168.1.5@7788");
    assert!(hb.producer_data_set.is_empty());
    let c = &hb.consumer_data_set[0];
    assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
    assert_eq!(c.message_model, MessageModel::Clustering);
    assert_eq!(
        c.consume_from_where,
        ConsumeFromWhere::ConsumeFromLastOffset
    );
    let s = &c.subscription_data_set[0];
    assert_eq!(
        (s.sub_version, s.expression_type.as_str()),
        (1_700_000_000_000, "TAG")
    );
    assert!(s.code_set.contains(&2_598_919) && !s.class_filter_mode);
    // Broadcasting C++ pull consumer starting from the first offset.
    let cpp2 = r#"{"clientID":"x","consumerDataSet":[{"consumeFromWhere":4,"consumeType":0,"groupName":"G","messageModel":0,"subscriptionDataSet":[],"unitMode":false}],"producerDataSet":[]}"#;
    let c = &HeartbeatData::decode_body(cpp2.as_bytes())
        .expect("C++")
        .consumer_data_set[0];
    assert_eq!(c.consume_type, ConsumeType::ConsumeActively);
    assert_eq!(c.message_model, MessageModel::Broadcasting);
    assert_eq!(
        c.consume_from_where,
        ConsumeFromWhere::ConsumeFromFirstOffset
    );
}

#[test]
fn heartbeat_decodes_go_style() {
    let go = r#"{"clientID":"10.0.0.3@123","producerDataSet":null,"consumerDataSet":[{"groupName":"G","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_TIMESTAMP","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"*","tagsSet":null,"codeSet":null,"subVersion":1700000000000,"expressionType":"TAG"}],"unitMode":false}]}"#;
    let hb = HeartbeatData::decode_body(go.as_bytes()).expect("Go heartbeat");
    assert!(hb.producer_data_set.is_empty());
    let c = &hb.consumer_data_set[0];
    assert_eq!(c.consume_from_where, ConsumeFromWhere::ConsumeFromTimestamp);
    assert!(c.subscription_data_set[0].tags_set.is_empty());
    assert!(c.subscription_data_set[0].is_sub_all());
}

fn topic_config(name: &str) -> TopicConfig {
    TopicConfig::with_queues(name, 4, 4, 6)
}

const TOPIC_CONFIG_T: &str = r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}"#;

fn wrapper() -> TopicConfigSerializeWrapper {
    TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter: 7,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        },
        topic_config_table: [("T".to_owned(), topic_config("T"))].into(),
        ..Default::default()
    }
}

#[test]
fn topic_config_and_wrapper_golden() {
    golden(&topic_config("T"), TOPIC_CONFIG_T);
    golden(
        &DataVersion {
            counter: 7,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        },
        r#"{"counter":7,"stateVersion":0,"timestamp":1700000000000}"#,
    );
    let wrapper_body = format!(
        r#"{{"dataVersion":{{"counter":7,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"T":{TOPIC_CONFIG_T}}}}}"#
    );
    golden(&wrapper(), &wrapper_body);
    let mut ordered = topic_config("O");
    ordered.order = true;
    ordered.topic_filter_type = TopicFilterType::MultiTag;
    ordered
        .attributes
        .insert("+message.type".into(), "FIFO".into());
    golden(
        &ordered,
        r#"{"attributes":{"+message.type":"FIFO"},"order":true,"perm":6,"readQueueNums":4,"topicFilterType":"MULTI_TAG","topicName":"O","topicSysFlag":0,"writeQueueNums":4}"#,
    );
}

#[test]
fn register_broker_body_golden_and_java_5x_input() {
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: wrapper(),
    };
    let expected = format!(
        r#"{{"filterServerList":[],"topicConfigSerializeWrapper":{{"dataVersion":{{"counter":7,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"T":{TOPIC_CONFIG_T}}}}}}}"#
    );
    golden(&body, &expected);
    assert_eq!(body.encode(false, 479).expect("JSON"), expected.as_bytes());
    // A Java 5.x broker adds the mapping fields; integer keys inside them are unquoted.
    let java5 = r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,"stateVersion":0,"timestamp":1700000000000},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000001},"topicConfigTable":{"T":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{"S":{"bname":"b","currIdMap":{0:0,1:1},"dirty":false,"epoch":1,"scope":"__global__","topic":"S","totalQueues":2}}}}"#;
    let decoded = RegisterBrokerBody::decode(java5.as_bytes(), false, 479).expect("Java 5.x body");
    let w = &decoded.topic_config_serialize_wrapper;
    assert_eq!(w.topic_config_table["T"], topic_config("T"));
    assert_eq!(
        w.mapping_data_version.map(|v| v.timestamp),
        Some(1_700_000_000_001)
    );
    let infos = w
        .topic_queue_mapping_info_map
        .as_ref()
        .expect("mapping infos");
    assert_eq!(infos["S"]["currIdMap"]["1"], 1);
    assert!(w
        .topic_queue_mapping_detail_map
        .as_ref()
        .is_some_and(BTreeMap::is_empty));
}

#[test]
fn cluster_bodies_golden() {
    let info = ClusterInfo {
        broker_addr_table: [("broker-a".to_owned(), {
            let mut b = broker_a();
            b.broker_addrs.remove(&1);
            b
        })]
        .into(),
        cluster_addr_table: [(
            "DefaultCluster".to_owned(),
            ["broker-a".to_owned(), "broker-b".to_owned()].into(),
        )]
        .into(),
    };
    golden(
        &info,
        concat!(
            r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","#,
            r#""cluster":"DefaultCluster","enableActingMaster":false}},"#,
            r#""clusterAddrTable":{"DefaultCluster":["broker-a","broker-b"]}}"#
        ),
    );
    let kv = KvTable {
        table: [
            ("brokerVersion".to_owned(), "479".to_owned()),
            ("putTps".to_owned(), "0.0".to_owned()),
        ]
        .into(),
    };
    golden(&kv, r#"{"table":{"brokerVersion":"479","putTps":"0.0"}}"#);
    let mut topics = TopicList {
        broker_addr: None,
        topic_list: ["a".to_owned(), "b".to_owned()].into(),
    };
    golden(&topics, r#"{"topicList":["a","b"]}"#);
    topics.broker_addr = Some("10.0.0.1:10911".into());
    golden(
        &topics,
        r#"{"brokerAddr":"10.0.0.1:10911","topicList":["a","b"]}"#,
    );
    let groups = GroupList {
        group_list: ["G1".to_owned(), "G2".to_owned()].into(),
    };
    golden(&groups, r#"{"groupList":["G1","G2"]}"#);
    let ids = GetConsumerListByGroupResponseBody {
        consumer_id_list: strings(&["clientId1", "clientId2"]),
    };
    golden(&ids, r#"{"consumerIdList":["clientId1","clientId2"]}"#);
}

fn connection() -> Connection {
    Connection {
        client_addr: "10.0.0.9:52311".into(),
        client_id: "10.0.0.9@1".into(),
        language: LanguageCode::JAVA,
        version: 479,
    }
}

const CONNECTION: &str =
    r#"{"clientAddr":"10.0.0.9:52311","clientId":"10.0.0.9@1","language":"JAVA","version":479}"#;

#[test]
fn connection_bodies_golden() {
    let sub = SubscriptionData::from_expression("T", "*", 5);
    let consumer = ConsumerConnection {
        connection_set: vec![connection()],
        consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
        consume_type: ConsumeType::ConsumeActively,
        message_model: MessageModel::Broadcasting,
        subscription_table: [("T".to_owned(), sub)].into(),
    };
    golden(
        &consumer,
        &format!(
            concat!(
                r#"{{"connectionSet":[{}],"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","#,
                r#""consumeType":"CONSUME_ACTIVELY","messageModel":"BROADCASTING","subscriptionTable":"#,
                r#"{{"T":{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","#,
                r#""subVersion":5,"tagsSet":[],"topic":"T"}}}}}}"#
            ),
            CONNECTION
        ),
    );
    let producer = ProducerConnection {
        connection_set: vec![connection()],
    };
    golden(&producer, &format!(r#"{{"connectionSet":[{CONNECTION}]}}"#));
    let table = ProducerTableInfo {
        data: [(
            "P".to_owned(),
            vec![ProducerInfo {
                client_id: "c".into(),
                language: LanguageCode::GO,
                last_update_timestamp: 9,
                remote_ip: "10.0.0.9:1".into(),
                version: 317,
            }],
        )]
        .into(),
    };
    golden(
        &table,
        r#"{"data":{"P":[{"clientId":"c","language":"GO","lastUpdateTimestamp":9,"remoteIP":"10.0.0.9:1","version":317}]}}"#,
    );
}

const MQ_T0: &str = r#"{"brokerName":"b","queueId":0,"topic":"T"}"#;
const MQ_T1: &str = r#"{"brokerName":"b","queueId":1,"topic":"T"}"#;

#[test]
fn stats_bodies_golden() {
    let topic_stats = TopicStatsTable {
        offset_table: [(
            mq("T", "b", 0),
            TopicOffset {
                last_update_timestamp: 1_700_000_000_000,
                max_offset: 10,
                min_offset: 0,
            },
        )]
        .into_iter()
        .collect(),
        topic_put_tps: 0.0,
    };
    golden(
        &topic_stats,
        &format!(
            r#"{{"offsetTable":{{{MQ_T0}:{{"lastUpdateTimestamp":1700000000000,"maxOffset":10,"minOffset":0}}}},"topicPutTps":0.0}}"#
        ),
    );
    let consume_stats = ConsumeStats {
        consume_tps: 2.5,
        offset_table: [
            (
                mq("T", "b", 1),
                OffsetWrapper {
                    broker_offset: 9,
                    consumer_offset: 5,
                    last_timestamp: 1_700_000_000_000,
                    pull_offset: 6,
                },
            ),
            (mq("T", "b", 0), OffsetWrapper::default()),
        ]
        .into_iter()
        .collect(),
    };
    golden(
        &consume_stats,
        &format!(
            concat!(
                r#"{{"consumeTps":2.5,"offsetTable":{{{}:{{"brokerOffset":0,"consumerOffset":0,"lastTimestamp":0,"pullOffset":0}},"#,
                r#"{}:{{"brokerOffset":9,"consumerOffset":5,"lastTimestamp":1700000000000,"pullOffset":6}}}}}}"#
            ),
            MQ_T0, MQ_T1
        ),
    );
}

#[test]
fn offset_and_time_span_bodies_golden() {
    let reset = ResetOffsetBody {
        offset_table: [(mq("T", "b", 1), 42)].into_iter().collect(),
    };
    golden(&reset, &format!(r#"{{"offsetTable":{{{MQ_T1}:42}}}}"#));
    let span = QueryConsumeTimeSpanBody {
        consume_time_span_set: vec![QueueTimeSpan {
            consume_time_stamp: 5,
            delay_time: 10,
            max_time_stamp: 15,
            message_queue: mq("T", "b", 0),
            min_time_stamp: 1,
            ..Default::default()
        }],
    };
    golden(
        &span,
        &format!(
            r#"{{"consumeTimeSpanSet":[{{"consumeTimeStamp":5,"delayTime":10,"maxTimeStamp":15,"messageQueue":{MQ_T0},"minTimeStamp":1}}]}}"#
        ),
    );
    let correction = QueryCorrectionOffsetBody {
        correction_offsets: [(0, 123), (1, -1)].into(),
    };
    golden(&correction, r#"{"correctionOffsets":{0:123,1:-1}}"#);
}

#[test]
fn stats_bodies_decode_java_input_with_extra_fields() {
    // Java 4.x ConsumeStats lacks pullOffset; Java also writes getters such as *Str.
    let java = format!(
        r#"{{"consumeTps":0.0,"offsetTable":{{{MQ_T0}:{{"brokerOffset":9,"consumerOffset":5,"lastTimestamp":0}}}}}}"#
    );
    let stats = ConsumeStats::decode_body(java.as_bytes()).expect("4.x stats");
    assert_eq!(stats.offset_table[&mq("T", "b", 0)].pull_offset, 0);
    assert_eq!(stats.compute_total_diff(), 4);
    let span = format!(
        r#"{{"consumeTimeSpanSet":[{{"consumeTimeStamp":5,"consumeTimeStampStr":"2023-11-14 22:13:20,005","delayTime":1,"maxTimeStamp":6,"messageQueue":{MQ_T0},"minTimeStamp":1}}]}}"#
    );
    let body = QueryConsumeTimeSpanBody::decode_body(span.as_bytes()).expect("span");
    let first = &body.consume_time_span_set[0];
    assert_eq!(
        first.consume_time_stamp_str.as_deref(),
        Some("2023-11-14 22:13:20,005")
    );
    assert_eq!(String::from_utf8(body.encode_body()).expect("UTF-8"), span);
}

#[test]
fn lock_bodies_golden() {
    let request = LockBatchRequestBody {
        client_id: "c1".into(),
        consumer_group: "G".into(),
        mq_set: [mq("T", "b", 0)].into(),
        only_this_broker: false,
    };
    let expected = format!(
        r#"{{"clientId":"c1","consumerGroup":"G","mqSet":[{MQ_T0}],"onlyThisBroker":false}}"#
    );
    golden(&request, &expected);
    let unlock = UnlockBatchRequestBody {
        client_id: "c1".into(),
        consumer_group: "G".into(),
        mq_set: [mq("T", "b", 0)].into(),
        only_this_broker: true,
    };
    golden(&unlock, &expected.replace("false", "true"));
    let response = LockBatchResponseBody {
        lock_ok_mq_set: [mq("T", "b", 1), mq("T", "b", 0)].into(),
    };
    golden(
        &response,
        &format!(r#"{{"lockOKMQSet":[{MQ_T0},{MQ_T1}]}}"#),
    );
    // Trap 20: the C++ client omits onlyThisBroker.
    let cpp = format!(r#"{{"clientId":"c1","consumerGroup":"G","mqSet":[{MQ_T0}]}}"#);
    assert_eq!(
        LockBatchRequestBody::decode_body(cpp.as_bytes()).expect("C++ lock"),
        request
    );
}

#[test]
fn store_config_files_golden() {
    let offsets = ConsumerOffsetSerializeWrapper {
        data_version: None,
        offset_table: [("T@G".to_owned(), [(0, 15), (1, 7)].into())].into(),
    };
    golden(&offsets, r#"{"offsetTable":{"T@G":{0:15,1:7}}}"#);
    let with_version = ConsumerOffsetSerializeWrapper {
        data_version: Some(DataVersion {
            counter: 2,
            state_version: 0,
            timestamp: 3,
        }),
        ..offsets
    };
    golden(
        &with_version,
        r#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":3},"offsetTable":{"T@G":{0:15,1:7}}}"#,
    );
    let delay = DelayOffsetSerializeWrapper {
        data_version: None,
        offset_table: [(1, 0), (2, 5)].into(),
    };
    golden(&delay, r#"{"offsetTable":{1:0,2:5}}"#);
    let group = SubscriptionGroupConfig::new("G");
    let group_json = concat!(
        r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"#,
        r#""consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"#,
        r#""groupName":"G","groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"#,
        r#""retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#
    );
    golden(&group, group_json);
    let groups = SubscriptionGroupWrapper {
        data_version: DataVersion {
            counter: 1,
            state_version: 0,
            timestamp: 5,
        },
        subscription_group_table: [("G".to_owned(), group)].into(),
    };
    golden(
        &groups,
        &format!(
            r#"{{"dataVersion":{{"counter":1,"stateVersion":0,"timestamp":5}},"subscriptionGroupTable":{{"G":{group_json}}}}}"#
        ),
    );
}

#[test]
fn store_config_files_decode_java_4x_files() {
    // 4.x subscriptionGroup.json: no 5.x fields, pretty printed, table before version.
    let file = "{\n\t\"subscriptionGroupTable\":{\n\t\t\"G\":{\n\t\t\t\"brokerId\":0,\n\t\t\t\"consumeBroadcastEnable\":true,\n\t\t\t\"groupName\":\"G\",\n\t\t\t\"retryMaxTimes\":3\n\t\t}\n\t},\n\t\"dataVersion\":{\n\t\t\"counter\":4,\n\t\t\"timestamp\":99\n\t}\n}";
    let w = SubscriptionGroupWrapper::decode_body(file.as_bytes()).expect("4.x file");
    assert_eq!(w.data_version.counter, 4);
    assert_eq!(w.subscription_group_table["G"].retry_max_times, 3);
    assert_eq!(w.subscription_group_table["G"].consume_timeout_minute, 15);
    let topics = "{\"dataVersion\":{\"counter\":1,\"timestamp\":2},\"topicConfigTable\":{\"TBW102\":{\"order\":false,\"perm\":7,\"readQueueNums\":8,\"topicFilterType\":\"SINGLE_TAG\",\"topicName\":\"TBW102\",\"topicSysFlag\":0,\"writeQueueNums\":8}}}";
    let t = TopicConfigSerializeWrapper::decode_body(topics.as_bytes()).expect("topics.json");
    assert_eq!(t.topic_config_table["TBW102"].perm, 7);
    assert!(t.topic_config_table["TBW102"].attributes.is_empty());
}

#[test]
fn consumer_running_info_golden() {
    let mut info = ConsumerRunningInfo::default();
    info.properties
        .insert("PROP_CONSUME_TYPE".into(), "CONSUME_PASSIVELY".into());
    info.properties.insert(
        "PROP_CONSUMER_START_TIMESTAMP".into(),
        1_700_000_000_000_i64.into(),
    );
    info.subscription_set
        .push(SubscriptionData::from_expression("T", "A||B", 7));
    info.mq_table.insert(
        mq("T", "b", 0),
        ProcessQueueInfo {
            cached_msg_count: 1,
            commit_offset: 3,
            locked: true,
            ..Default::default()
        },
    );
    info.status_table.insert(
        "T".into(),
        ConsumeStatus {
            consume_ok_tps: 1.5,
            pull_rt: 3.0,
            ..Default::default()
        },
    );
    golden(
        &info,
        &format!(
            concat!(
                r#"{{"mqPopTable":{{}},"mqTable":{{{}:{{"cachedMsgCount":1,"cachedMsgMaxOffset":0,"#,
                r#""cachedMsgMinOffset":0,"cachedMsgSizeInMiB":0,"commitOffset":3,"dropped":false,"#,
                r#""lastConsumeTimestamp":0,"lastLockTimestamp":0,"lastPullTimestamp":0,"locked":true,"#,
                r#""transactionMsgCount":0,"transactionMsgMaxOffset":0,"transactionMsgMinOffset":0,"#,
                r#""tryUnlockTimes":0}}}},"properties":{{"PROP_CONSUMER_START_TIMESTAMP":1700000000000,"#,
                r#""PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"}},"statusTable":{{"T":{{"consumeFailedMsgs":0,"#,
                r#""consumeFailedTPS":0.0,"consumeOKTPS":1.5,"consumeRT":0.0,"pullRT":3.0,"pullTPS":0.0}}}},"#,
                r#""subscriptionSet":[{{"classFilterMode":false,"codeSet":[65,66],"expressionType":"TAG","#,
                r#""subString":"A||B","subVersion":7,"tagsSet":["A","B"],"topic":"T"}}],"userConsumerInfo":{{}}}}"#
            ),
            MQ_T0
        ),
    );
}
