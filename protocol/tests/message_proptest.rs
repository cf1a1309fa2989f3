//! Property tests: round trips of records, properties, batch bodies and message ids.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use protocol::message::msg_id::month_start_ms;
use protocol::message::record::MessageVersion;
use protocol::message::{
    decode_batch, decode_offset_msg_id, encode_batch, find_property, offset_msg_id,
    patch_append_fields, uniq_id_time_hint, BatchItem, MessageExt, Properties, RecordRead,
    RecordView, UniqIdGenerator, ViewRead,
};

fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

/// Keys and values Java can round-trip: non-empty, without the separators.
fn properties() -> impl Strategy<Value = Properties> {
    let text = "[^\u{1}\u{2}]{1,12}";
    prop::collection::vec((text, text), 0..8).prop_map(|pairs| pairs.into_iter().collect())
}

prop_compose! {
    fn message_ext()(
        topic in "[A-Za-z0-9_%-]{1,300}",
        body in prop::collection::vec(any::<u8>(), 0..300),
        properties in properties(),
        ints in any::<(i32, i32, i32, i32, i32)>(),
        longs in any::<(i64, i64, i64, i64, i64)>(),
        born_host in socket_addr(),
        store_host in socket_addr(),
        v2 in any::<bool>(),
    ) -> MessageExt {
        let mut m = MessageExt::new(topic, body);
        m.version = if v2 { MessageVersion::V2 } else { MessageVersion::V1 };
        (m.body_crc, m.queue_id, m.flag, m.sys_flag, m.reconsume_times) = ints;
        (
            m.queue_offset,
            m.commit_log_offset,
            m.born_timestamp,
            m.store_timestamp,
            m.prepared_transaction_offset,
        ) = longs;
        m.born_host = born_host;
        m.store_host = store_host;
        m.properties = properties;
        m
    }
}

proptest! {
    #[test]
    fn message_ext_round_trips(msg in message_ext()) {
        let mut out = BytesMut::new();
        msg.encode(&mut out).unwrap();
        prop_assert_eq!(out.len(), msg.encoded_len());
        let bytes = out.freeze();
        let RecordRead::Message(back, len) = MessageExt::decode(&bytes).unwrap() else {
            panic!("expected a message");
        };
        prop_assert_eq!(len, bytes.len());
        let mut expected = msg.clone();
        expected.store_size = len as i32;
        expected.sys_flag = msg.effective_sys_flag();
        expected.version = msg.effective_version();
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn truncated_records_are_incomplete(msg in message_ext(), cut in any::<prop::sample::Index>()) {
        let mut out = BytesMut::new();
        msg.encode(&mut out).unwrap();
        let cut = cut.index(out.len());
        let prefix = Bytes::copy_from_slice(&out[..cut]);
        prop_assert_eq!(MessageExt::decode(&prefix).unwrap(), RecordRead::Incomplete);
    }

    #[test]
    fn patched_records_keep_their_crc(
        mut msg in message_ext(),
        fields in any::<(i64, i64, i64)>(),
    ) {
        msg.update_body_crc();
        let mut out = BytesMut::new();
        msg.encode(&mut out).unwrap();
        patch_append_fields(&mut out, fields.0, fields.1, fields.2).unwrap();
        let ViewRead::Message(v) = RecordView::parse(&out).unwrap() else {
            panic!("expected a message");
        };
        prop_assert_eq!((v.queue_offset, v.commit_log_offset, v.store_timestamp), fields);
        prop_assert_eq!(v.store_host, msg.store_host);
        prop_assert_eq!(v.reconsume_times, msg.reconsume_times);
        prop_assert!(v.verify_crc());
    }

    #[test]
    fn properties_round_trip(props in properties()) {
        let raw = props.to_bytes();
        prop_assert_eq!(raw.len(), props.encoded_len());
        let wire = props.to_wire_string();
        prop_assert_eq!(wire.as_bytes(), &raw[..]);
        prop_assert_eq!(&Properties::decode(&raw), &props);
        for (k, v) in props.iter() {
            prop_assert_eq!(find_property(&raw, k), Some(v.as_bytes()));
        }
    }

    #[test]
    fn property_parsing_is_a_fixpoint(raw in prop::collection::vec(
        prop_oneof![Just(1u8), Just(2u8), any::<u8>()], 0..64)) {
        let once = Properties::decode(&raw);
        prop_assert_eq!(Properties::decode(&once.to_bytes()), once.clone());
        // Keys are looked up by their decoded text, so only valid UTF-8 input maps back.
        let utf8 = std::str::from_utf8(&raw).is_ok();
        for (k, v) in once.iter().filter(|_| utf8) {
            let found = find_property(&raw, k).map(|b| String::from_utf8_lossy(b).into_owned());
            prop_assert_eq!(found.as_deref(), Some(v));
        }
    }

    #[test]
    fn batch_round_trips(items in prop::collection::vec(
        (any::<i32>(), prop::collection::vec(any::<u8>(), 0..64),
         prop::collection::vec(any::<u8>(), 0..64)),
        0..6,
    )) {
        let items: Vec<BatchItem> = items
            .into_iter()
            .map(|(flag, body, props)| BatchItem {
                flag,
                body: body.into(),
                properties: props.into(),
            })
            .collect();
        let mut out = BytesMut::new();
        encode_batch(&items, &mut out).unwrap();
        prop_assert_eq!(decode_batch(&out.freeze()).unwrap(), items);
    }

    #[test]
    fn offset_msg_ids_round_trip(host in socket_addr(), offset in any::<i64>()) {
        let id = offset_msg_id(host, offset);
        prop_assert_eq!(id.len(), if host.is_ipv4() { 32 } else { 56 });
        prop_assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
        prop_assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, offset));
    }

    #[test]
    fn uniq_id_time_hint_recovers_creation_time(
        host in socket_addr(),
        pid in any::<u32>(),
        hash in any::<i32>(),
        now_ms in 0i64..4_102_444_800_000,
        delay_ms in 1i64..(20 * 86_400_000),
    ) {
        let id = UniqIdGenerator::new(host.ip(), pid, hash).next_id(now_ms);
        prop_assert_eq!(id.len(), if host.is_ipv4() { 32 } else { 56 });
        prop_assert_eq!(uniq_id_time_hint(&id, now_ms + delay_ms).unwrap(), now_ms);
        prop_assert!(month_start_ms(now_ms, 0) <= now_ms);
        prop_assert!(now_ms < month_start_ms(now_ms, 1));
    }
}
