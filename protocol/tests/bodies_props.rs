//! Randomized tests of the fastjson dialect: body round trips through both key modes, the
//! rectifier on standard JSON (identity) and on arbitrary bytes (never panics).

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use protocol::body::*;
use serde_json::Value;

/// Arbitrary text not starting with U+0000 (a marked key holding a JSON object is written raw
/// and would come back without its mark).
fn key() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.trim_start_matches('\u{0}').to_owned())
}

fn broker_data() -> impl Strategy<Value = BrokerData> {
    (
        btree_map(any::<i64>(), any::<String>(), 0..4),
        any::<String>(),
        any::<String>(),
        any::<bool>(),
        proptest::option::of(any::<String>()),
    )
        .prop_map(
            |(broker_addrs, broker_name, cluster, enable_acting_master, zone_name)| BrokerData {
                broker_addrs,
                broker_name,
                cluster,
                enable_acting_master,
                zone_name,
            },
        )
}

fn queue_data() -> impl Strategy<Value = QueueData> {
    (
        any::<String>(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
    )
        .prop_map(
            |(broker_name, perm, read_queue_nums, topic_sys_flag, write_queue_nums)| QueueData {
                broker_name,
                perm,
                read_queue_nums,
                topic_sys_flag,
                write_queue_nums,
            },
        )
}

fn route() -> impl Strategy<Value = TopicRouteData> {
    (
        vec(broker_data(), 0..4),
        btree_map(key(), vec(any::<String>(), 0..3), 0..3),
        proptest::option::of(any::<String>()),
        vec(queue_data(), 0..4),
    )
        .prop_map(
            |(broker_datas, filter_server_table, order_topic_conf, queue_datas)| TopicRouteData {
                broker_datas,
                filter_server_table,
                order_topic_conf,
                queue_datas,
                topic_queue_mapping_by_broker: None,
            },
        )
}

fn message_queue() -> impl Strategy<Value = MessageQueue> {
    (any::<String>(), any::<String>(), any::<i32>())
        .prop_map(|(t, b, q)| MessageQueue::new(t, b, q))
}

fn consume_stats() -> impl Strategy<Value = ConsumeStats> {
    let wrapper =
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(b, c, l, p)| {
            OffsetWrapper {
                broker_offset: b,
                consumer_offset: c,
                last_timestamp: l,
                pull_offset: p,
            }
        });
    // Quarter steps are exact in binary and decimal, so the f64 survives text exactly.
    (any::<i32>(), btree_map(message_queue(), wrapper, 0..6)).prop_map(|(tps, table)| {
        ConsumeStats {
            consume_tps: f64::from(tps) / 4.0,
            offset_table: table.into(),
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bytes drawn mostly from JSON's structural alphabet, to reach the rectifier's edge cases.
fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"{}[]:,\"'\\ 0-9aZ\n\x00\xff".to_vec();
    vec(proptest::sample::select(alphabet), 0..64)
}

proptest! {
    #[test]
    fn topic_route_data_round_trips_in_both_modes(route in route()) {
        for keys in [IntKeys::Unquoted, IntKeys::Quoted] {
            let bytes = to_json_vec(&route, keys);
            prop_assert_eq!(&TopicRouteData::decode_body(&bytes).expect("decode"), &route);
        }
        let quoted = route.encode(479, false);
        let standard: TopicRouteData = serde_json::from_slice(&quoted).expect("standard JSON");
        prop_assert_eq!(standard, route);
    }

    #[test]
    fn consume_stats_round_trip_in_both_modes(stats in consume_stats()) {
        for keys in [IntKeys::Unquoted, IntKeys::Quoted] {
            let bytes = to_json_vec(&stats, keys);
            prop_assert_eq!(&ConsumeStats::decode_body(&bytes).expect("decode"), &stats);
        }
    }

    #[test]
    fn unquoted_integer_keys_rectify_to_the_quoted_form(map in btree_map(any::<i64>(), any::<String>(), 0..8)) {
        let unquoted = to_json_vec(&map, IntKeys::Unquoted);
        let quoted = to_json_vec(&map, IntKeys::Quoted);
        prop_assert_eq!(rectify(&unquoted).expect("rectify"), quoted);
        let back: BTreeMap<i64, String> = from_json_slice(&unquoted).expect("decode");
        prop_assert_eq!(back, map);
    }

    #[test]
    fn rectify_is_the_identity_on_standard_json(value in json_value()) {
        let text = serde_json::to_vec(&value).expect("serialize");
        prop_assert_eq!(rectify(&text).expect("standard JSON rectifies"), text.clone());
        prop_assert_eq!(from_json_slice::<Value>(&text).expect("parse"), value);
    }

    #[test]
    fn rectify_never_panics_on_random_bytes(bytes in vec(any::<u8>(), 0..256)) {
        let _ = rectify(&bytes);
        let _ = from_json_slice::<Value>(&bytes);
        let _ = HeartbeatData::decode_body(&bytes);
        let _ = RegisterBrokerBody::decode(&bytes, true, 479);
    }

    #[test]
    fn rectify_never_panics_on_jsonish_bytes(bytes in jsonish_bytes()) {
        if let Ok(out) = rectify(&bytes) {
            prop_assert!(out.len() <= bytes.len() * 4 + 1024);
        }
        let _ = ConsumeStats::decode_body(&bytes);
        let _ = TopicRouteData::decode_body(&bytes);
    }
}
