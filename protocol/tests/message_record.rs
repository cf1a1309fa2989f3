//! Golden-byte tests for the stored message record (wire reference §5.1): V1/IPv4, V2, IPv6,
//! blank, append-time patching and truncation.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use protocol::message::record::{fixed_len, MessageVersion};
use protocol::message::sysflag::{BORNHOST_V6, STOREHOST_V6, TRANSACTION_COMMIT_TYPE};
use protocol::message::{
    body_crc, encode_blank, encode_record, keys, patch_append_fields, MessageExt, RecordParts,
    RecordRead, RecordView, ViewRead, BLANK_MAGIC, MAGIC_V2,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// TopicTest / "Hello" / TAGS=TagA, IPv4 hosts.
fn sample() -> MessageExt {
    let mut msg = MessageExt::new("TopicTest", Bytes::from_static(b"Hello"));
    msg.update_body_crc();
    msg.queue_id = 3;
    msg.flag = 0;
    msg.queue_offset = 0x10;
    msg.commit_log_offset = 0x1000;
    msg.sys_flag = 0;
    msg.born_timestamp = 1_700_000_000_000;
    msg.born_host = addr("192.168.0.10:54321");
    msg.store_timestamp = 1_700_000_000_123;
    msg.store_host = addr("10.0.0.1:10911");
    msg.reconsume_times = 1;
    msg.prepared_transaction_offset = 0;
    msg.properties.insert(keys::TAGS, "TagA");
    msg
}

#[rustfmt::skip]
const V1_IPV4_GOLDEN: [u8; 115] = [
    0x00, 0x00, 0x00, 0x73,                         //   0 TOTALSIZE 115 = 91 + 5 + 9 + 10
    0xDA, 0xA3, 0x20, 0xA7,                         //   4 MAGICCODE V1
    0x77, 0xD1, 0x89, 0x82,                         //   8 BODYCRC crc32("Hello") & 0x7FFFFFFF
    0x00, 0x00, 0x00, 0x03,                         //  12 QUEUEID 3
    0x00, 0x00, 0x00, 0x00,                         //  16 FLAG 0
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, //  20 QUEUEOFFSET 16
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, //  28 PHYSICALOFFSET 4096
    0x00, 0x00, 0x00, 0x00,                         //  36 SYSFLAG 0
    0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, //  40 BORNTIMESTAMP 1700000000000
    0xC0, 0xA8, 0x00, 0x0A, 0x00, 0x00, 0xD4, 0x31, //  48 BORNHOST 192.168.0.10:54321
    0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B, //  56 STORETIMESTAMP 1700000000123
    0x0A, 0x00, 0x00, 0x01, 0x00, 0x00, 0x2A, 0x9F, //  64 STOREHOST 10.0.0.1:10911
    0x00, 0x00, 0x00, 0x01,                         //  72 RECONSUMETIMES 1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //  76 PREPARED_TX_OFFSET 0
    0x00, 0x00, 0x00, 0x05,                         //  84 BODYLEN 5
    b'H', b'e', b'l', b'l', b'o',                   //  88 BODY
    0x09,                                           //  93 TOPICLEN 9 (u8)
    b'T', b'o', b'p', b'i', b'c', b'T', b'e', b's', b't',
    0x00, 0x0A,                                     // 103 PROPERTIESLEN 10
    b'T', b'A', b'G', b'S', 0x01, b'T', b'a', b'g', b'A', 0x02,
];

#[test]
fn v1_ipv4_golden_bytes() {
    let msg = sample();
    assert_eq!(msg.encoded_len(), 115);
    let mut out = BytesMut::new();
    msg.encode(&mut out).unwrap();
    assert_eq!(&out[..], &V1_IPV4_GOLDEN[..]);

    // The documented byte offsets of §5.1.
    let at = |pos: usize, len: usize| &V1_IPV4_GOLDEN[pos..pos + len];
    assert_eq!(at(20, 8), &16i64.to_be_bytes());
    assert_eq!(at(28, 8), &4096i64.to_be_bytes());
    assert_eq!(at(36, 4), &0i32.to_be_bytes());
    assert_eq!(at(56, 8), &1_700_000_000_123i64.to_be_bytes());
    assert_eq!(at(72, 4), &1i32.to_be_bytes());
    assert_eq!(at(84, 4), &5i32.to_be_bytes());

    let bytes = Bytes::copy_from_slice(&V1_IPV4_GOLDEN);
    let RecordRead::Message(decoded, len) = MessageExt::decode(&bytes).unwrap() else {
        panic!("expected a message");
    };
    assert_eq!(len, 115);
    assert_eq!(decoded.store_size, 115);
    let mut expected = msg.clone();
    expected.store_size = 115;
    assert_eq!(decoded, expected);
    // zero-copy: the body points into the decoded buffer
    assert_eq!(decoded.body.as_ptr(), bytes[88..].as_ptr());
    assert_eq!(decoded.offset_msg_id(), "0A00000100002A9F0000000000001000");
}

#[test]
fn view_exposes_every_field() {
    let ViewRead::Message(v) = RecordView::parse(&V1_IPV4_GOLDEN).unwrap() else {
        panic!("expected a message");
    };
    assert_eq!(v.total_size, 115);
    assert_eq!(v.magic, protocol::message::MAGIC_V1);
    assert_eq!(v.version, MessageVersion::V1);
    assert_eq!(v.body_crc, 0x77D1_8982);
    assert!(v.verify_crc());
    assert_eq!((v.queue_id, v.flag, v.sys_flag), (3, 0, 0));
    assert_eq!((v.queue_offset, v.commit_log_offset), (16, 4096));
    assert_eq!(v.born_timestamp, 1_700_000_000_000);
    assert_eq!(v.born_host, addr("192.168.0.10:54321"));
    assert_eq!(v.store_timestamp, 1_700_000_000_123);
    assert_eq!(v.store_host, addr("10.0.0.1:10911"));
    assert_eq!((v.reconsume_times, v.prepared_transaction_offset), (1, 0));
    assert_eq!(v.body, b"Hello");
    assert_eq!(v.body_offset(), 88);
    assert_eq!(v.topic_str().unwrap(), "TopicTest");
    assert_eq!(v.properties, b"TAGS\x01TagA\x02");
    assert_eq!(v.property(keys::TAGS), Some(&b"TagA"[..]));
    assert_eq!(v.tags_code(), 2598919);
    assert_eq!(v.raw, &V1_IPV4_GOLDEN[..]);
}

#[test]
fn v2_for_long_topic() {
    let topic = "a".repeat(200);
    let mut msg = sample();
    msg.topic = topic.clone();
    msg.properties = Default::default();
    let mut out = BytesMut::new();
    msg.encode(&mut out).unwrap();
    // 91 + 1 (V2) + body 5 + topic 200 + props 0 = 297
    assert_eq!(out.len(), 297);
    assert_eq!(&out[0..4], &297i32.to_be_bytes());
    assert_eq!(&out[4..8], &[0xDA, 0xA3, 0x20, 0xAB]);
    assert_eq!(&out[88..93], b"Hello");
    assert_eq!(&out[93..95], &[0x00, 0xC8]); // i16 topic length 200
    assert_eq!(&out[95..295], topic.as_bytes());
    assert_eq!(&out[295..297], &[0x00, 0x00]);
    let RecordRead::Message(back, _) = MessageExt::decode(&out.freeze()).unwrap() else {
        panic!("expected a message");
    };
    assert_eq!(back.version, MessageVersion::V2);
    assert_eq!(back.topic, topic);

    // a 127-byte topic still fits V1
    let mut v1 = sample();
    v1.topic = "b".repeat(127);
    let mut out = BytesMut::new();
    v1.encode(&mut out).unwrap();
    assert_eq!(
        i32::from_be_bytes([out[4], out[5], out[6], out[7]]),
        0xDAA3_20A7_u32 as i32
    );
    assert_eq!(out[93], 127);
    assert_ne!(MAGIC_V2, 0);
}

#[test]
fn ipv6_hosts() {
    let mut msg = sample();
    msg.born_host = addr("[2001:db8::1]:8080");
    msg.body = Bytes::from_static(b"body-v6");
    msg.update_body_crc();
    msg.properties = Default::default();
    let mut out = BytesMut::new();
    msg.encode(&mut out).unwrap();
    // 91 + 12 + 7 + 9 = 119
    assert_eq!(out.len(), 119);
    assert_eq!(&out[8..12], &[0x04, 0x28, 0x9F, 0xFC]);
    assert_eq!(&out[36..40], &[0, 0, 0, 0x10]); // BORNHOST_V6 set from the address kind
    #[rustfmt::skip]
    let born: [u8; 20] = [
        0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x1F, 0x90,
    ];
    assert_eq!(&out[48..68], &born);
    assert_eq!(&out[68..76], &1_700_000_000_123i64.to_be_bytes()); // STORETIMESTAMP moved
    assert_eq!(&out[76..84], &[0x0A, 0, 0, 0x01, 0, 0, 0x2A, 0x9F]);
    assert_eq!(&out[96..100], &7i32.to_be_bytes()); // BODYLEN
    assert_eq!(&out[100..107], b"body-v6");

    msg.store_host = addr("[::1]:10911");
    let mut both = BytesMut::new();
    msg.encode(&mut both).unwrap();
    assert_eq!(both.len(), 131);
    assert_eq!(&both[36..40], &[0, 0, 0, 0x30]);
    let ViewRead::Message(v) = RecordView::parse(&both).unwrap() else {
        panic!("expected a message");
    };
    assert_eq!(v.store_host, addr("[::1]:10911"));
    assert_eq!(v.born_host, addr("[2001:db8::1]:8080"));
    assert_eq!(v.body, b"body-v6");
    assert_eq!(v.sys_flag, BORNHOST_V6 | STOREHOST_V6);
    assert_eq!(fixed_len(v.sys_flag, v.version), 115);
    assert_eq!(v.offset_msg_id().len(), 56);

    // an IPv4 address with a stale V6 bit is written as IPv4
    let mut stale = sample();
    stale.sys_flag = STOREHOST_V6 | TRANSACTION_COMMIT_TYPE;
    assert_eq!(stale.effective_sys_flag(), TRANSACTION_COMMIT_TYPE);
    assert_eq!(stale.encoded_len(), 115);
}

#[test]
fn blank_record() {
    let mut out = BytesMut::new();
    encode_blank(1000, &mut out);
    assert_eq!(&out[..], &[0x00, 0x00, 0x03, 0xE8, 0xCB, 0xD4, 0x31, 0x94]);
    assert_eq!(BLANK_MAGIC, -875286124);
    let bytes = out.freeze();
    assert_eq!(MessageExt::decode(&bytes).unwrap(), RecordRead::Blank(1000));
    assert_eq!(RecordView::parse(&bytes).unwrap(), ViewRead::Blank(1000));
    let mut tiny = BytesMut::new();
    encode_blank(4, &mut tiny);
    assert!(RecordView::parse(&tiny).is_err());
}

#[test]
fn patch_then_decode() {
    for born in ["1.2.3.4:5", "[fe80::2]:5"] {
        let mut msg = sample();
        msg.born_host = addr(born);
        let mut out = BytesMut::new();
        msg.encode(&mut out).unwrap();
        out.extend_from_slice(b"trailing bytes of the next record");
        patch_append_fields(&mut out, 77, 1 << 40, 1_800_000_000_000).unwrap();
        let ViewRead::Message(v) = RecordView::parse(&out).unwrap() else {
            panic!("expected a message");
        };
        assert_eq!(v.queue_offset, 77);
        assert_eq!(v.commit_log_offset, 1 << 40);
        assert_eq!(v.store_timestamp, 1_800_000_000_000);
        assert_eq!(v.born_timestamp, msg.born_timestamp);
        assert_eq!(v.born_host, msg.born_host);
        assert_eq!(v.store_host, msg.store_host);
        assert!(v.verify_crc());
    }
    let mut short = V1_IPV4_GOLDEN[..100].to_vec();
    assert!(patch_append_fields(&mut short, 1, 2, 3).is_err());
    let mut bad_magic = V1_IPV4_GOLDEN.to_vec();
    bad_magic[4] = 0;
    assert!(patch_append_fields(&mut bad_magic, 1, 2, 3).is_err());
    assert!(patch_append_fields(&mut [], 1, 2, 3).is_err());
}

#[test]
fn encode_record_from_parts_matches_message_ext() {
    let msg = sample();
    let props = msg.properties.to_bytes();
    let parts = RecordParts {
        version: MessageVersion::V1,
        body_crc: body_crc(&msg.body),
        queue_id: 3,
        flag: 0,
        queue_offset: 0x10,
        commit_log_offset: 0x1000,
        sys_flag: 0,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        store_timestamp: msg.store_timestamp,
        store_host: msg.store_host,
        reconsume_times: 1,
        prepared_transaction_offset: 0,
        body: &msg.body,
        topic: &msg.topic,
        properties: &props,
    };
    let mut out = BytesMut::new();
    assert_eq!(encode_record(&parts, &mut out).unwrap(), 115);
    assert_eq!(&out[..], &V1_IPV4_GOLDEN[..]);
}

#[test]
fn every_truncation_is_incomplete() {
    for cut in 0..V1_IPV4_GOLDEN.len() {
        let bytes = Bytes::copy_from_slice(&V1_IPV4_GOLDEN[..cut]);
        assert_eq!(
            MessageExt::decode(&bytes).unwrap(),
            RecordRead::Incomplete,
            "{cut}"
        );
        assert_eq!(
            RecordView::parse(&bytes).unwrap(),
            ViewRead::Incomplete,
            "{cut}"
        );
    }
}

#[test]
fn inconsistent_lengths_are_errors() {
    let cases: &[(usize, &[u8])] = &[
        (0, &[0xFF, 0xFF, 0xFF, 0xFF]),  // negative total
        (0, &[0x00, 0x00, 0x00, 0x10]),  // total below the minimum
        (0, &[0x00, 0x00, 0x00, 0x72]),  // total one short of the fields
        (4, &[0x12, 0x34, 0x56, 0x78]),  // bad magic
        (84, &[0xFF, 0xFF, 0xFF, 0xFB]), // negative body length
        (84, &[0x00, 0x00, 0x01, 0x00]), // body length past TOTALSIZE
        (93, &[0x00]),                   // topic length 0
        (93, &[0xFF]),                   // topic length past TOTALSIZE
        (103, &[0x80, 0x00]),            // negative properties length
        (103, &[0x00, 0x09]),            // properties end before TOTALSIZE
        (52, &[0x00, 0x01, 0x00, 0x00]), // port 65536
        (36, &[0x00, 0x00, 0x00, 0x30]), // V6 bits: fields overrun TOTALSIZE
    ];
    for (pos, patch) in cases {
        let mut bad = V1_IPV4_GOLDEN.to_vec();
        bad[*pos..*pos + patch.len()].copy_from_slice(patch);
        assert!(RecordView::parse(&bad).is_err(), "patch at {pos}");
        assert!(
            MessageExt::decode(&Bytes::from(bad)).is_err(),
            "patch at {pos}"
        );
    }
    let mut grown = V1_IPV4_GOLDEN.to_vec();
    grown[3] = 0x74;
    grown.push(0);
    assert!(
        RecordView::parse(&grown).is_err(),
        "TOTALSIZE one larger than the fields"
    );
}
