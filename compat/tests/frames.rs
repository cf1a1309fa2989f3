//! Frames encoded by rocketmq-client-rust's protocol crate decode with ours, and frames we
//! encode decode with theirs, in both header serializations.

use bytes::BytesMut;
use protocol::{frame, RemotingCommand, ResponseCode, SerializeType};
use rocketmq_protocol::protocol::header::client_request_header::GetRouteInfoRequestHeader;
use rocketmq_protocol::protocol::header::message_operation_header::send_message_request_header_v2::SendMessageRequestHeaderV2;
use rocketmq_protocol::protocol::header::message_operation_header::send_message_response_header::SendMessageResponseHeader;
use rocketmq_protocol::protocol::remoting_command::RemotingCommand as TheirCommand;
use rocketmq_protocol::protocol::SerializeType as TheirSerializeType;

const BOTH: [(TheirSerializeType, SerializeType); 2] = [
    (TheirSerializeType::JSON, SerializeType::Json),
    (TheirSerializeType::ROCKETMQ, SerializeType::RocketMq),
];

/// Encodes their command the way their transport writes it: header frame, then the body.
fn their_frame(mut cmd: TheirCommand) -> BytesMut {
    let mut out = BytesMut::new();
    cmd.try_fast_header_encode(&mut out).expect("their encoder");
    if let Some(body) = cmd.body() {
        out.extend_from_slice(body);
    }
    out
}

fn decode_ours(mut wire: BytesMut) -> RemotingCommand {
    let payload = frame::split(&mut wire, frame::DEFAULT_MAX_FRAME_BYTES)
        .expect("frame")
        .expect("a whole frame");
    assert!(wire.is_empty(), "exactly one frame");
    RemotingCommand::decode(payload).expect("our decoder")
}

#[test]
fn their_route_request_decodes() {
    for (theirs, ours) in BOTH {
        let header = GetRouteInfoRequestHeader::new("TopicA", Some(true));
        let cmd = TheirCommand::create_request_command(105, header)
            .set_serialize_type(theirs)
            .set_opaque(77)
            .set_body(&b"payload"[..]);
        let decoded = decode_ours(their_frame(cmd));
        assert_eq!(decoded.serialize_type, ours);
        assert_eq!(decoded.code, 105);
        assert_eq!(decoded.opaque, 77);
        assert!(!decoded.is_response());
        assert_eq!(decoded.ext_fields.get("topic"), Some("TopicA"));
        assert_eq!(
            decoded.ext_fields.get("acceptStandardJsonOnly"),
            Some("true")
        );
        assert_eq!(&decoded.body[..], b"payload");
    }
}

#[test]
fn their_v2_send_request_decodes() {
    for (theirs, _) in BOTH {
        let header = SendMessageRequestHeaderV2 {
            a: "PG".into(),
            b: "TopicA".into(),
            c: "TBW102".into(),
            d: 4,
            e: 3,
            f: 0,
            g: 1_700_000_000_123,
            h: 0,
            i: Some("TAGS\u{1}a\u{2}".into()),
            j: Some(0),
            k: Some(false),
            l: None,
            m: Some(false),
            n: Some("broker-a".into()),
            topic_request_header: None,
        };
        let cmd = TheirCommand::create_request_command(310, header)
            .set_serialize_type(theirs)
            .set_body(vec![7u8; 1024]);
        let decoded = decode_ours(their_frame(cmd));
        let ext = &decoded.ext_fields;
        assert_eq!(decoded.code, 310);
        assert_eq!(ext.get("a"), Some("PG"));
        assert_eq!(ext.get("b"), Some("TopicA"));
        assert_eq!(ext.i32_required("d"), Ok(4));
        assert_eq!(ext.i32_required("e"), Ok(3));
        assert_eq!(ext.i64_required("g"), Ok(1_700_000_000_123));
        assert_eq!(ext.get("i"), Some("TAGS\u{1}a\u{2}"));
        assert_eq!(ext.bool_opt("m"), Some(false));
        assert_eq!(decoded.body.len(), 1024);
    }
}

#[test]
fn our_send_response_decodes_with_theirs() {
    for (theirs, ours) in BOTH {
        let mut request = RemotingCommand::request_raw(310).with_serialize_type(ours);
        request.opaque = 4242;
        let mut response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS);
        let ext = &mut response.ext_fields;
        ext.insert("msgId", "7F00000100002A9F0000000000001234");
        ext.insert("queueId", "2");
        ext.insert("queueOffset", "99");
        ext.insert("transactionId", "UNIQ1");
        ext.insert("MSG_REGION", "DefaultRegion");
        ext.insert("TRACE_ON", "true");
        let mut wire = BytesMut::from(&response.encode_to_bytes().unwrap()[..]);
        let decoded = TheirCommand::decode(&mut wire).unwrap().expect("one frame");
        assert_eq!(decoded.serialize_type(), theirs);
        assert_eq!(decoded.code(), 0);
        assert_eq!(decoded.opaque(), 4242);
        let header = decoded
            .decode_command_custom_header::<SendMessageResponseHeader>()
            .expect("their typed header");
        assert_eq!(header.msg_id().as_str(), "7F00000100002A9F0000000000001234");
        assert_eq!(header.queue_id(), 2);
        assert_eq!(header.queue_offset(), 99);
        assert_eq!(header.transaction_id(), Some("UNIQ1"));
    }
}

#[test]
fn our_error_response_keeps_code_and_remark() {
    for (_, ours) in BOTH {
        let request = RemotingCommand::request_raw(9999).with_serialize_type(ours);
        let response = RemotingCommand::error_response(
            &request,
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            " request type 9999 not supported",
        )
        .with_body(&b"x"[..]);
        let mut wire = BytesMut::from(&response.encode_to_bytes().unwrap()[..]);
        let decoded = TheirCommand::decode(&mut wire).unwrap().expect("one frame");
        assert_eq!(decoded.code(), 3);
        assert_eq!(
            decoded.remark().map(|r| r.as_str()),
            Some(" request type 9999 not supported")
        );
        assert_eq!(decoded.body().map(|b| &b[..]), Some(&b"x"[..]));
    }
}
