//! The compressed REGISTER_BROKER body: Java's exact layout (built here by hand), round trips
//! for 4.x and 5.x brokers, and corrupt or truncated input.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use protocol::body::mq_version::{V5_0_0, V5_3_3};
use protocol::body::*;
use protocol::Error;

/// Big-endian length-prefixed chunks, the way Java's `convertIntToByteArray` + `write` lay them.
fn raw_layout(
    data_version: &str,
    lines: &[&str],
    filters: &str,
    mapping: Option<&[&str]>,
) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::new();
    chunk(&mut out, data_version.as_bytes());
    out.extend_from_slice(&(lines.len() as i32).to_be_bytes());
    for line in lines {
        chunk(&mut out, line.as_bytes());
    }
    chunk(&mut out, filters.as_bytes());
    if let Some(infos) = mapping {
        out.extend_from_slice(&(infos.len() as i32).to_be_bytes());
        for info in infos {
            chunk(&mut out, info.as_bytes());
        }
    }
    out
}

fn zlib(raw: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
    e.write_all(raw).expect("Vec write");
    e.finish().expect("Vec write")
}

fn inflate(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ZlibDecoder::new(body)
        .read_to_end(&mut out)
        .expect("valid zlib");
    out
}

const DV: &str = r#"{"counter":7,"stateVersion":0,"timestamp":1700000000000}"#;

fn body() -> RegisterBrokerBody {
    let mut b = RegisterBrokerBody::default();
    let w = &mut b.topic_config_serialize_wrapper;
    w.data_version = DataVersion {
        counter: 7,
        state_version: 0,
        timestamp: 1_700_000_000_000,
    };
    let mut t = TopicConfig::with_queues("T", 4, 8, 6);
    t.attributes.insert("+message.type".into(), "NORMAL".into());
    w.topic_config_table.insert("T".into(), t);
    let mut u = TopicConfig::with_queues("U", 2, 2, 4);
    u.topic_filter_type = TopicFilterType::MultiTag;
    w.topic_config_table.insert("U".into(), u);
    b.filter_server_list = vec!["10.0.0.1:9999".into()];
    b
}

#[test]
fn encode_matches_java_layout_for_4x_and_5x() {
    let v4 = body().encode(true, 400).expect("encode 4.x");
    let expected4 = raw_layout(
        DV,
        &["T 4 8 6 SINGLE_TAG", "U 2 2 4 MULTI_TAG"],
        r#"["10.0.0.1:9999"]"#,
        None,
    );
    assert_eq!(inflate(&v4), expected4);
    let v5 = body().encode(true, V5_3_3).expect("encode 5.x");
    let expected5 = raw_layout(
        DV,
        &[
            r#"T 4 8 6 SINGLE_TAG {"+message.type":"NORMAL"}"#,
            "U 2 2 4 MULTI_TAG {}",
        ],
        r#"["10.0.0.1:9999"]"#,
        Some(&[]),
    );
    assert_eq!(inflate(&v5), expected5);
}

#[test]
fn round_trips_drop_only_what_java_drops() {
    let mut original = body();
    original
        .topic_config_serialize_wrapper
        .topic_config_table
        .get_mut("T")
        .expect("T")
        .order = true;
    // 5.x: attributes travel, order/topicSysFlag do not; the mapping section is present.
    let decoded = RegisterBrokerBody::decode(
        &original.encode(true, V5_0_0).expect("encode"),
        true,
        V5_0_0,
    )
    .expect("decode");
    let mut expected = body();
    expected
        .topic_config_serialize_wrapper
        .topic_queue_mapping_info_map = Some(Default::default());
    assert_eq!(decoded, expected);
    // 4.x: no attributes, no mapping section.
    let decoded =
        RegisterBrokerBody::decode(&original.encode(true, 400).expect("encode"), true, 400)
            .expect("decode");
    let mut expected = body();
    for t in expected
        .topic_config_serialize_wrapper
        .topic_config_table
        .values_mut()
    {
        t.attributes.clear();
    }
    assert_eq!(decoded, expected);
}

#[test]
fn decodes_java_5x_stream_with_mapping_infos() {
    let info = r#"{"bname":"broker-a","currIdMap":{0:0,1:1},"dirty":false,"epoch":3,"scope":"__global__","topic":"S","totalQueues":2}"#;
    let raw = raw_layout(DV, &["S 2 2 6 SINGLE_TAG {}"], "[]", Some(&[info]));
    let decoded = RegisterBrokerBody::decode(&zlib(&raw), true, V5_3_3).expect("Java 5.x stream");
    let w = &decoded.topic_config_serialize_wrapper;
    assert_eq!(w.data_version.counter, 7);
    assert_eq!(
        w.topic_config_table["S"],
        TopicConfig::with_queues("S", 2, 2, 6)
    );
    let infos = w
        .topic_queue_mapping_info_map
        .as_ref()
        .expect("mapping section");
    assert_eq!(infos["S"]["epoch"], 3);
    assert_eq!(infos["S"]["currIdMap"]["1"], 1);
    assert!(decoded.filter_server_list.is_empty());
    // Re-encoding keeps the mapping entry (written as standard JSON inside the chunk).
    let again =
        RegisterBrokerBody::decode(&decoded.encode(true, V5_3_3).expect("encode"), true, V5_3_3)
            .expect("decode");
    assert_eq!(again, decoded);
}

#[test]
fn version_decides_whether_the_mapping_section_is_read() {
    // A 4.x stream read as 5.x lacks the mapping count: truncated.
    let raw4 = raw_layout(DV, &["T 1 1 6 SINGLE_TAG"], "[]", None);
    assert!(RegisterBrokerBody::decode(&zlib(&raw4), true, V5_0_0).is_err());
    let ok = RegisterBrokerBody::decode(&zlib(&raw4), true, V5_0_0 - 1).expect("4.x");
    assert_eq!(
        ok.topic_config_serialize_wrapper
            .topic_queue_mapping_info_map,
        None
    );
    // Java ignores an unparsable filter server list.
    let raw = raw_layout(DV, &[], "not json", None);
    let ok = RegisterBrokerBody::decode(&zlib(&raw), true, 400).expect("bad filter list ignored");
    assert!(ok.filter_server_list.is_empty());
}

#[test]
fn corrupt_input_is_an_error() {
    let cases: Vec<Vec<u8>> = vec![
        b"not zlib at all".to_vec(),
        vec![0x78, 0xDA],
        zlib(b""),
        zlib(&[0, 0, 0]),
        zlib(&(-1i32).to_be_bytes()),
        zlib(&i32::MAX.to_be_bytes()),
        zlib(&raw_layout("{bad", &[], "[]", None)),
        zlib(&raw_layout(DV, &["T 4 4 6"], "[]", None)),
        zlib(&raw_layout(DV, &["T 4 4 6 SOME_TAG"], "[]", None)),
        zlib(&raw_layout(DV, &["\u{0}\u{1}"], "[]", None)),
        zlib(&raw_layout(DV, &[], "[]", Some(&["{bad"]))),
    ];
    for (i, case) in cases.iter().enumerate() {
        let r = RegisterBrokerBody::decode(case, true, V5_3_3);
        assert!(
            matches!(r, Err(Error::Malformed { .. }) | Err(Error::Json(_))),
            "case {i}: {r:?}"
        );
    }
    // A topic count far beyond the data, and a non-UTF-8 topic line.
    let mut raw = raw_layout(DV, &[], "[]", None);
    let count_at = 4 + DV.len();
    raw[count_at..count_at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(RegisterBrokerBody::decode(&zlib(&raw), true, 400).is_err());
    let mut raw = raw_layout(DV, &["T 4 4 6 SINGLE_TAG"], "[]", None);
    raw[count_at + 8] = 0xFF;
    assert!(RegisterBrokerBody::decode(&zlib(&raw), true, 400).is_err());
}

#[test]
fn every_truncation_fails_cleanly() {
    let full = body().encode(true, V5_3_3).expect("encode");
    let expected = RegisterBrokerBody::decode(&full, true, V5_3_3).expect("decode");
    // An empty body is a registration without topics (see `decode`); every other cut fails.
    assert_eq!(
        RegisterBrokerBody::decode(&[], true, V5_3_3).expect("empty"),
        RegisterBrokerBody::default()
    );
    for cut in 1..full.len() {
        match RegisterBrokerBody::decode(&full[..cut], true, V5_3_3) {
            Err(_) => {}
            // Only the stream tail (end-of-block code, adler32) may be missing: content complete.
            Ok(decoded) => {
                assert!(cut + 8 >= full.len(), "cut {cut} of {} decoded", full.len());
                assert_eq!(decoded, expected);
            }
        }
    }
    let raw = inflate(&full);
    for cut in 0..raw.len() {
        assert!(
            RegisterBrokerBody::decode(&zlib(&raw[..cut]), true, V5_3_3).is_err(),
            "raw cut {cut}"
        );
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let full = body().encode(true, V5_3_3).expect("encode");
    for i in 0..full.len() {
        for bit in [0x01u8, 0x10, 0x80] {
            let mut bad = full.clone();
            bad[i] ^= bit;
            let _ = RegisterBrokerBody::decode(&bad, true, V5_3_3);
        }
    }
    let raw = inflate(&full);
    for i in 0..raw.len() {
        let mut bad = raw.clone();
        bad[i] ^= 0x80;
        let _ = RegisterBrokerBody::decode(&zlib(&bad), true, V5_3_3);
    }
}
