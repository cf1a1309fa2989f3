//! Bounded, deterministic random-input test over every decoder in the crate: frames, command
//! headers (JSON and binary), stored records (owned and view), append patching, properties,
//! batch bodies, message ids, subscription expressions and JSON bodies (rectifier, heartbeat,
//! route, lock request, plain and compressed broker registration). Inputs are random bytes and
//! mutations of valid encodings (seeded xorshift, so failures reproduce). Nothing may panic,
//! and whatever decodes must be self-consistent.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use protocol::body::{
    from_json_slice, rectify, HeartbeatData, LockBatchRequestBody, RegisterBrokerBody, TopicConfig,
    TopicRouteData,
};
use protocol::message::properties::iter_raw;
use protocol::message::tags::java_hash_code_utf8;
use protocol::message::{
    decode_batch, decode_offset_msg_id, decode_records, encode_batch_item, encode_blank,
    encode_record, keys, parse_sub_expression, patch_append_fields, uniq_id_time_hint, MessageExt,
    MessageVersion, Properties, RecordParts, RecordRead, RecordView, ViewRead,
};
use protocol::{frame, serialize, RemotingCommand, RequestCode, SerializeType};

const ITERATIONS: usize = 200_000;
const MAX_FRAME_BYTES: usize = 4096;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn command_seed(serialize_type: SerializeType) -> Vec<u8> {
    let mut cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE)
        .with_remark("remark")
        .with_body(&b"body"[..])
        .with_serialize_type(serialize_type);
    cmd.ext_fields.insert("topic", "TopicTest");
    cmd.ext_fields.insert("queueId", "3");
    cmd.encode_to_bytes().unwrap().to_vec()
}

fn record_seed(born: &str, store: &str, topic: &str) -> Vec<u8> {
    let mut msg = MessageExt::new(topic, &b"0123456789"[..]);
    msg.born_host = born.parse().unwrap();
    msg.store_host = store.parse().unwrap();
    msg.update_body_crc();
    msg.properties.insert(keys::TAGS, "TagA");
    msg.properties
        .insert(keys::UNIQ_KEY, "C0A801022345FFFFFFFE4AAC36000000");
    let mut out = BytesMut::new();
    msg.encode(&mut out).unwrap();
    out.to_vec()
}

fn seeds() -> Vec<Vec<u8>> {
    let mut batch = BytesMut::new();
    encode_batch_item(1, b"first", b"TAGS\x01A\x02", &mut batch).unwrap();
    encode_batch_item(2, b"", b"", &mut batch).unwrap();
    let mut blank = BytesMut::new();
    encode_blank(64, &mut blank);
    let mut two = record_seed("1.2.3.4:5", "10.0.0.1:10911", "TopicTest");
    two.extend(record_seed("[::1]:5", "[fe80::1]:10911", "T"));
    let json = command_seed(SerializeType::Json);
    let binary = command_seed(SerializeType::RocketMq);
    vec![
        json[8..].to_vec(), // a bare JSON header
        binary[8..].to_vec(),
        json,
        binary,
        record_seed("1.2.3.4:5", "10.0.0.1:10911", "TopicTest"),
        record_seed("[::1]:5", "10.0.0.1:10911", &"t".repeat(130)),
        two,
        blank.to_vec(),
        batch.to_vec(),
        b"KEYS\x01a b\x02TAGS\x01TagA\x02\x01x\x02k\x01\x02".to_vec(),
        b"0A00000100002A9F0000000000001234".to_vec(),
        b"C0A801022345FFFFFFFE4AAC36000000".to_vec(),
        b" TagA || TagB ||".to_vec(),
        br#"{"clientID":"c@1","consumerDataSet":[{"consumeType":1,"groupName":"G","messageModel":"CLUSTERING","subscriptionDataSet":[{"subString":"A||B","subVersion":"5","tagsSet":["A"],"topic":"T"}]}],"producerDataSet":[{"groupName":"P"}]}"#.to_vec(),
        br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"b","cluster":"C"}],"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"writeQueueNums":4}]}"#.to_vec(),
        register_seed(true),
    ]
}

fn register_seed(compressed: bool) -> Vec<u8> {
    let mut body = RegisterBrokerBody::default();
    let mut topic = TopicConfig::new("T");
    topic.read_queue_nums = 4;
    body.topic_config_serialize_wrapper
        .topic_config_table
        .insert("T".into(), topic);
    body.encode(compressed, 479).unwrap()
}

/// Body decoders: the dialect rectifier and the bodies peers send us.
fn check_bodies(input: &[u8]) {
    if let Ok(fixed) = rectify(input) {
        // Rectified text is standard JSON: rectifying again changes nothing.
        assert_eq!(rectify(&fixed).ok().as_deref(), Some(&fixed[..]));
    }
    let _ = from_json_slice::<HeartbeatData>(input);
    let _ = from_json_slice::<TopicRouteData>(input);
    let _ = from_json_slice::<LockBatchRequestBody>(input);
    let _ = RegisterBrokerBody::decode(input, true, 479);
    let _ = RegisterBrokerBody::decode(input, false, 401);
}

/// Random bytes, or a seed with a few mutations (byte flips, extreme length bytes,
/// truncation, duplication).
fn next_input(rng: &mut XorShift, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(4) == 0 {
        let len = rng.below(160);
        return (0..len).map(|_| rng.byte()).collect();
    }
    let mut input = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        if input.is_empty() {
            break;
        }
        let pos = rng.below(input.len());
        match rng.below(6) {
            0 => input[pos] = rng.byte(),
            1 => input[pos] = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF][rng.below(6)],
            2 => input.truncate(pos),
            3 => input.insert(pos, rng.byte()),
            4 => {
                input.remove(pos);
            }
            _ => input.extend_from_within(pos..),
        }
    }
    input
}

fn check_frames(input: &[u8]) {
    if let Ok(Some(n)) = frame::check(input, MAX_FRAME_BYTES) {
        assert!(n <= input.len());
    }
    let mut buf = BytesMut::from(input);
    while let Ok(Some(payload)) = frame::split(&mut buf, MAX_FRAME_BYTES) {
        let _ = RemotingCommand::decode(payload);
    }
    let _ = RemotingCommand::decode(Bytes::copy_from_slice(input));
    let _ = serialize::json::decode(input);
    let _ = serialize::binary::decode(input);
}

/// Re-encodes a parsed view from its own fields: must give back the exact bytes.
fn check_reencode(v: &RecordView<'_>) {
    let Ok(topic) = v.topic_str() else { return };
    if v.version == MessageVersion::V1 && topic.len() > 127 {
        return; // a V1 record with a 128..255-byte topic re-encodes as V2
    }
    let parts = RecordParts {
        version: v.version,
        body_crc: v.body_crc,
        queue_id: v.queue_id,
        flag: v.flag,
        queue_offset: v.queue_offset,
        commit_log_offset: v.commit_log_offset,
        sys_flag: v.sys_flag,
        born_timestamp: v.born_timestamp,
        born_host: v.born_host,
        store_timestamp: v.store_timestamp,
        store_host: v.store_host,
        reconsume_times: v.reconsume_times,
        prepared_transaction_offset: v.prepared_transaction_offset,
        body: v.body,
        topic,
        properties: v.properties,
    };
    let mut out = BytesMut::new();
    encode_record(&parts, &mut out).unwrap();
    assert_eq!(&out[..], v.raw);
}

fn check_records(input: &[u8]) {
    let bytes = Bytes::copy_from_slice(input);
    let owned = MessageExt::decode(&bytes);
    match RecordView::parse(input) {
        Ok(ViewRead::Message(v)) => {
            assert_eq!(v.raw.len(), v.total_size as usize);
            assert!(v.raw.len() <= input.len());
            let _ = (v.verify_crc(), v.tags_code(), v.offset_msg_id());
            check_reencode(&v);
            let Ok(RecordRead::Message(m, len)) = owned else {
                panic!("owned decode disagrees with the view: {owned:?}");
            };
            assert_eq!((len, m.body.len()), (v.raw.len(), v.body.len()));
            let mut copy = input.to_vec();
            patch_append_fields(&mut copy, 1, 2, 3).unwrap();
            let Ok(ViewRead::Message(p)) = RecordView::parse(&copy) else {
                panic!("patched record no longer parses");
            };
            assert_eq!(
                (p.queue_offset, p.commit_log_offset, p.store_timestamp),
                (1, 2, 3)
            );
        }
        Ok(ViewRead::Blank(n)) => assert_eq!(owned, Ok(RecordRead::Blank(n))),
        Ok(ViewRead::Incomplete) => assert_eq!(owned, Ok(RecordRead::Incomplete)),
        Err(_) => assert!(owned.is_err()),
    }
    let _ = decode_records(&bytes);
    let _ = patch_append_fields(&mut input.to_vec(), -1, -1, -1);
}

fn check_properties(input: &[u8]) {
    let props = Properties::decode(input);
    assert_eq!(Properties::decode(&props.to_bytes()), props);
    assert!(iter_raw(input).count() >= props.len());
    let _ = protocol::message::find_property(input, keys::TAGS);
}

fn check_batch(input: &[u8]) {
    if let Ok(items) = decode_batch(&Bytes::copy_from_slice(input)) {
        let total: usize = items
            .iter()
            .map(|i| 22 + i.body.len() + i.properties.len())
            .sum();
        assert_eq!(total, input.len());
    }
}

fn check_text(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok((host, offset)) = decode_offset_msg_id(&text) {
        let again = protocol::message::offset_msg_id(host, offset);
        assert!(again.eq_ignore_ascii_case(&text));
        let _: SocketAddr = host;
    }
    let _ = uniq_id_time_hint(&text, 1_710_504_000_000);
    let filter = parse_sub_expression(&text);
    assert_eq!(filter.tags().len(), filter.codes().len());
    let _ = java_hash_code_utf8(input);
}

#[test]
fn random_inputs_never_panic() {
    let seeds = seeds();
    for seed in &seeds {
        check_frames(seed);
        check_records(seed);
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut decoded_records = 0;
    for _ in 0..ITERATIONS {
        let input = next_input(&mut rng, &seeds);
        check_frames(&input);
        check_records(&input);
        check_properties(&input);
        check_batch(&input);
        check_text(&input);
        check_bodies(&input);
        if matches!(RecordView::parse(&input), Ok(ViewRead::Message(_))) {
            decoded_records += 1;
        }
    }
    // The mutations must leave a useful share of inputs valid, or the test explores nothing.
    assert!(
        decoded_records > ITERATIONS / 50,
        "only {decoded_records} records decoded"
    );
}
