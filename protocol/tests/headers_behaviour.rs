//! Header behaviour beyond the golden tables: literal frames written out byte by byte, V1/V2
//! send naming, C++/Go style JSON with non-string ext values, errors through whole frames, and
//! property-based round trips of the send and pull headers in both serializations.

mod common;

use bytes::Bytes;
use proptest::option;
use proptest::prelude::*;
use protocol::header::*;
use protocol::{Error, ExtFields, RemotingCommand, ResponseCode, SerializeType};

fn decode_frame(frame: &[u8]) -> RemotingCommand {
    common::decode(frame)
}

/// Decodes a JSON header text as a frame body-less payload.
fn decode_json(text: &str) -> RemotingCommand {
    decode_frame(&common::json_frame(text))
}

#[test]
fn literal_query_consumer_offset_response() {
    let mut request = RemotingCommand::request_raw(14).with_serialize_type(SerializeType::RocketMq);
    request.opaque = 9;
    let h = QueryConsumerOffsetResponseHeader { offset: 42 };
    let resp = RemotingCommand::response_to(&request, ResponseCode::SUCCESS).with_header(&h);
    let want: [u8; 43] = [
        0x00, 0x00, 0x00, 0x27, 0x01, 0x00, 0x00, 0x23, // total 39, ROCKETMQ + hdr 35
        0x00, 0x00, 0x00, 0x01, 0xDF, // code 0, JAVA, version 479
        0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x01, // opaque 9, flag RESPONSE
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0E, // remark_len 0, ext_len 14
        0x00, 0x06, b'o', b'f', b'f', b's', b'e', b't', 0x00, 0x00, 0x00, 0x02, b'4', b'2',
    ];
    assert_eq!(&resp.encode_to_bytes().unwrap()[..], &want[..]);
    let back = decode_frame(&want);
    assert!(back.is_response());
    assert_eq!(back.decode_header(), Ok(h.clone()));

    let json = resp.with_serialize_type(SerializeType::Json);
    let text = r#"{"code":0,"extFields":{"offset":"42"},"flag":1,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let bytes = json.encode_to_bytes().unwrap();
    assert_eq!(&bytes[..], &common::json_frame(text)[..]);
    assert_eq!(&bytes[..8], &[0, 0, 0, 0x7F, 0, 0, 0, 0x7B]);
    assert_eq!(decode_frame(&bytes).decode_header(), Ok(h));
}

#[test]
fn literal_get_max_offset_request() {
    let h = GetMaxOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 3,
        committed: None,
    };
    let mut cmd = RemotingCommand::request_raw(30)
        .with_header(&h)
        .with_serialize_type(SerializeType::RocketMq);
    cmd.opaque = 2;
    let want: [u8; 55] = [
        0x00, 0x00, 0x00, 0x33, 0x01, 0x00, 0x00, 0x2F, // total 51, ROCKETMQ + hdr 47
        0x00, 0x1E, 0x0C, 0x01, 0xDF, // code 30, RUST, version 479
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // opaque 2, flag 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1A, // remark_len 0, ext_len 26
        0x00, 0x05, b't', b'o', b'p', b'i', b'c', 0x00, 0x00, 0x00, 0x01, b'T', //
        0x00, 0x07, b'q', b'u', b'e', b'u', b'e', b'I', b'd', 0x00, 0x00, 0x00, 0x01, b'3',
    ];
    assert_eq!(&cmd.encode_to_bytes().unwrap()[..], &want[..]);
    assert_eq!(decode_frame(&want).decode_header(), Ok(h.clone()));
    let text = r#"{"code":30,"extFields":{"topic":"T","queueId":"3"},"flag":0,"language":"RUST","opaque":2,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let json = cmd
        .with_serialize_type(SerializeType::Json)
        .encode_to_bytes()
        .unwrap();
    assert_eq!(&json[..], &common::json_frame(text)[..]);
    let back: GetMaxOffsetRequestHeader = decode_frame(&json).decode_header().unwrap();
    assert_eq!(back, h);
    assert!(back.is_committed(), "absent committed means true");
}

#[test]
fn literal_oneway_notify_consumer_ids_changed() {
    let h = NotifyConsumerIdsChangedRequestHeader {
        consumer_group: "G".into(),
    };
    let mut cmd = RemotingCommand::request_raw(40)
        .with_header(&h)
        .with_serialize_type(SerializeType::RocketMq)
        .into_oneway();
    cmd.language = protocol::LanguageCode::JAVA;
    cmd.opaque = 5;
    let mut want = vec![0x00, 0x00, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x29];
    want.extend_from_slice(&[0x00, 0x28, 0x00, 0x01, 0xDF, 0, 0, 0, 5, 0, 0, 0, 2]);
    want.extend_from_slice(&[0, 0, 0, 0, 0x00, 0x00, 0x00, 0x14, 0x00, 0x0D]);
    want.extend_from_slice(b"consumerGroup");
    want.extend_from_slice(&[0x00, 0x00, 0x00, 0x01, b'G']);
    assert_eq!(&cmd.encode_to_bytes().unwrap()[..], &want[..]);
    let back = decode_frame(&want);
    assert!(back.is_oneway());
    assert_eq!(back.decode_header(), Ok(h));
}

fn send_v2_pairs() -> ExtFields {
    [
        ("a", "PG"),
        ("b", "TopicA"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "0"),
        ("f", "0"),
        ("g", "1700000000123"),
        ("h", "0"),
        ("i", "WAIT\u{1}true\u{2}"),
        ("j", "0"),
        ("k", "false"),
        ("l", "16"),
        ("m", "false"),
    ]
    .into_iter()
    .collect()
}

fn send_v1_pairs() -> ExtFields {
    [
        ("producerGroup", "PG"),
        ("topic", "TopicA"),
        ("defaultTopic", "TBW102"),
        ("defaultTopicQueueNums", "4"),
        ("queueId", "0"),
        ("sysFlag", "0"),
        ("bornTimestamp", "1700000000123"),
        ("flag", "0"),
        ("properties", "WAIT\u{1}true\u{2}"),
        ("reconsumeTimes", "0"),
        ("unitMode", "false"),
        ("maxReconsumeTimes", "16"),
        ("batch", "false"),
    ]
    .into_iter()
    .collect()
}

#[test]
fn send_v1_and_v2_names_decode_to_the_same_header_under_every_code() {
    let expected = SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: "TopicA".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_123,
        flag: 0,
        properties: Some("WAIT\u{1}true\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: Some(16),
        batch: Some(false),
        broker_name: None,
    };
    for code in [10, 310, 320] {
        for ext in [send_v1_pairs(), send_v2_pairs()] {
            for t in [SerializeType::Json, SerializeType::RocketMq] {
                let cmd = decode_frame(&common::encode(code, ext.clone(), t));
                let h = SendMessageRequestHeader::read_for_code(cmd.code, &cmd.ext_fields);
                assert_eq!(h.as_ref(), Ok(&expected), "code {code} {t:?}");
                assert_eq!(h.unwrap().is_batch(code), code == 320);
            }
        }
    }
    // V1 reads the broker name from `bname` (and the older `brokerName`), V2 from `n`
    let mut v1 = send_v1_pairs();
    v1.insert("brokerName", "broker-old");
    let h = SendMessageRequestHeader::read_from(&v1).unwrap();
    assert_eq!(h.broker_name.as_deref(), Some("broker-old"));
    v1.insert("bname", "broker-a");
    let h = SendMessageRequestHeader::read_from(&v1).unwrap();
    assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    let mut v2 = send_v2_pairs();
    v2.insert("bname", "ignored");
    assert_eq!(
        SendMessageRequestHeader::read_for_code(310, &v2)
            .unwrap()
            .broker_name,
        None
    );
}

#[test]
fn cpp_style_json_with_numbers_and_booleans_decodes() {
    let text = r#"{"code":310,"language":"CPP","version":0,"opaque":3,"flag":0,"remark":"","extFields":{"a":"PG","b":"TopicA","c":"TBW102","d":4,"e":0,"f":0,"g":1700000000123,"h":0,"i":"WAIT\u0001true\u0002","j":0,"k":false,"l":16,"m":"1"}}"#;
    let cmd = decode_json(text);
    let h = SendMessageRequestHeader::read_for_code(cmd.code, &cmd.ext_fields).unwrap();
    assert_eq!(h.queue_id, 0);
    assert_eq!(h.born_timestamp, 1_700_000_000_123);
    assert_eq!(h.unit_mode, Some(false));
    assert_eq!(h.properties.as_deref(), Some("WAIT\u{1}true\u{2}"));
    assert_eq!(h.batch, Some(false), "parseBoolean(\"1\") is false");
    assert!(!h.is_batch(310));
    assert!(h.is_batch(320));

    let text = r#"{"code":11,"language":"CPP","extFields":{"consumerGroup":"CG","topic":"TopicA","queueId":1,"queueOffset":12,"maxMsgNums":32,"sysFlag":2,"commitOffset":0,"suspendTimeoutMillis":20000,"subVersion":0,"subscription":"*","expressionType":"TAG"}}"#;
    let h: PullMessageRequestHeader = decode_json(text).decode_header().unwrap();
    assert_eq!((h.queue_id, h.queue_offset, h.max_msg_nums), (1, 12, 32));
    assert!(h.has_suspend() && !h.has_commit_offset());
    assert_eq!(h.subscription.as_deref(), Some("*"));

    let text = r#"{"code":14,"extFields":{"consumerGroup":"CG","topic":"T","queueId":7,"setZeroIfNotFound":true}}"#;
    let h: QueryConsumerOffsetRequestHeader = decode_json(text).decode_header().unwrap();
    assert_eq!((h.queue_id, h.set_zero_if_not_found), (7, Some(true)));
}

#[test]
fn go_style_json_with_rpc_and_acl_keys_decodes() {
    let text = r#"{"code":10,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"producerGroup":"PG","topic":"TopicA","defaultTopic":"TBW102","defaultTopicQueueNums":"4","queueId":"0","sysFlag":"0","bornTimestamp":"1700000000123","flag":"0","properties":"WAIT\u0001true\u0002","reconsumeTimes":"0","unitMode":"false","maxReconsumeTimes":"16","batch":"false","bname":"broker-a","ns":"","AccessKey":"ak","Signature":"sig","OnsChannel":"ALIYUN"}}"#;
    let cmd = decode_json(text);
    let h = SendMessageRequestHeader::read_for_code(cmd.code, &cmd.ext_fields).unwrap();
    assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    let mut want = SendMessageRequestHeader::read_from(&send_v1_pairs()).unwrap();
    want.broker_name = Some("broker-a".into());
    assert_eq!(h, want);
}

#[test]
fn errors_through_whole_frames() {
    let mut ext = send_v2_pairs();
    ext.insert("e", "abc");
    let cmd = decode_frame(&common::encode(310, ext, SerializeType::RocketMq));
    assert_eq!(
        SendMessageRequestHeader::read_for_code(310, &cmd.ext_fields),
        Err(Error::InvalidField {
            field: "e",
            value: "abc".into()
        })
    );
    let text = r#"{"code":11,"extFields":{"consumerGroup":"CG","topic":"T","queueOffset":"1","maxMsgNums":"1","sysFlag":"0","commitOffset":"0","suspendTimeoutMillis":"0","subVersion":"0"}}"#;
    let r: protocol::Result<PullMessageRequestHeader> = decode_json(text).decode_header();
    assert_eq!(r, Err(Error::MissingField("queueId")));
    let text = r#"{"code":30,"extFields":{"topic":"T","queueId":"99999999999"}}"#;
    let r: protocol::Result<GetMaxOffsetRequestHeader> = decode_json(text).decode_header();
    assert!(
        matches!(
            r,
            Err(Error::InvalidField {
                field: "queueId",
                ..
            })
        ),
        "i32 overflow"
    );
    let text = r#"{"code":0,"flag":1}"#;
    let r: protocol::Result<SendMessageResponseHeader> = decode_json(text).decode_header();
    assert_eq!(r, Err(Error::MissingField("msgId")));
}

#[test]
fn misspelled_and_correct_proxy_forward_keys_are_both_read() {
    let mut ext = ExtFields::new();
    let h = PullMessageRequestHeader::default();
    h.write_to(&mut ext);
    ext.insert("proxyForwardClientId", "c1");
    let back = PullMessageRequestHeader::read_from(&ext).unwrap();
    assert_eq!(back.proxy_forward_client_id.as_deref(), Some("c1"));
    let mut out = ExtFields::new();
    back.write_to(&mut out);
    assert_eq!(
        out.get("proxyFrowardClientId"),
        Some("c1"),
        "written in Java's spelling"
    );
}

fn send_strategy() -> impl Strategy<Value = SendMessageRequestHeader> {
    let required = (
        any::<String>(),
        any::<String>(),
        any::<String>(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
    );
    let optional = (
        option::of(any::<String>()),
        option::of(any::<i32>()),
        option::of(any::<bool>()),
        option::of(any::<i32>()),
        option::of(any::<bool>()),
        option::of(any::<String>()),
    );
    (required, optional).prop_map(|((a, b, c, d, e, f, g, h), (i, j, k, l, m, n))| {
        SendMessageRequestHeader {
            producer_group: a,
            topic: b,
            default_topic: c,
            default_topic_queue_nums: d,
            queue_id: e,
            sys_flag: f,
            born_timestamp: g,
            flag: h,
            properties: i,
            reconsume_times: j,
            unit_mode: k,
            max_reconsume_times: l,
            batch: m,
            broker_name: n,
        }
    })
}

fn pull_strategy() -> impl Strategy<Value = PullMessageRequestHeader> {
    let required = (
        any::<String>(),
        any::<String>(),
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
        0..32i32,
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
    );
    let optional = (
        option::of(any::<String>()),
        option::of(any::<String>()),
        option::of(any::<i32>()),
        option::of(any::<i32>()),
        option::of(any::<String>()),
    );
    (required, optional).prop_map(|((cg, t, q, qo, n, sf, co, st, sv), (s, et, mb, rs, p))| {
        PullMessageRequestHeader {
            consumer_group: cg,
            topic: t,
            queue_id: q,
            queue_offset: qo,
            max_msg_nums: n,
            sys_flag: sf,
            commit_offset: co,
            suspend_timeout_millis: st,
            subscription: s,
            sub_version: sv,
            expression_type: et,
            max_msg_bytes: mb,
            request_source: rs,
            proxy_forward_client_id: p,
        }
    })
}

fn serialize_type() -> impl Strategy<Value = SerializeType> {
    prop_oneof![Just(SerializeType::Json), Just(SerializeType::RocketMq)]
}

/// Encodes `ext` as a whole frame and returns the decoded extFields.
fn through_frame(code: i32, ext: ExtFields, t: SerializeType) -> ExtFields {
    let frame = common::encode(code, ext, t);
    let cmd = RemotingCommand::decode(Bytes::copy_from_slice(&frame[4..])).unwrap();
    assert_eq!(cmd.serialize_type, t);
    cmd.ext_fields
}

proptest! {
    #[test]
    fn send_header_round_trips(
        h in send_strategy(),
        t in serialize_type(),
        code in prop::sample::select(vec![10, 310, 320]),
    ) {
        let mut v1 = ExtFields::new();
        h.write_to(&mut v1);
        let back = through_frame(code, v1, t);
        prop_assert_eq!(SendMessageRequestHeader::read_for_code(code, &back), Ok(h.clone()));
        let mut v2 = ExtFields::new();
        h.write_v2_to(&mut v2);
        let back = through_frame(code, v2, t);
        prop_assert_eq!(SendMessageRequestHeader::read_for_code(code, &back), Ok(h.clone()));
        prop_assert_eq!(SendMessageRequestHeader::read_from(&back), Ok(h));
    }

    #[test]
    fn pull_header_round_trips(h in pull_strategy(), t in serialize_type(), lite in any::<bool>()) {
        let code = if lite { 361 } else { 11 };
        let mut ext = ExtFields::new();
        h.write_to(&mut ext);
        let back = through_frame(code, ext, t);
        prop_assert_eq!(PullMessageRequestHeader::read_from(&back), Ok(h));
    }
}
