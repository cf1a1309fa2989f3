//! Codes 36 and 37 and the check-back path through a running broker: a consumer's send-back
//! reappears in the group's retry topic after its delay; a half message becomes visible only
//! after END_TRANSACTION commit; a stale half message makes the broker send
//! CHECK_TRANSACTION_STATE to a producer of its group.

mod broker_support;

use std::time::Duration;

use broker_support::*;
use protocol::body::heartbeat::{HeartbeatData, ProducerData};
use protocol::body::JsonBody;
use protocol::header::*;
use protocol::message::{decode_offset_msg_id, decode_records, keys, sysflag, Properties};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn pulled_bodies(c: &protocol::remoting::RemotingHandle, a: &str, topic: &str) -> Vec<Vec<u8>> {
    let r = pull(c, a, &pull_header("Reader", topic, 0, 0, "*"));
    if r.code != 0 {
        return Vec::new();
    }
    decode_records(&r.body)
        .unwrap()
        .into_iter()
        .map(|m| m.body.to_vec())
        .collect()
}

#[test]
fn send_back_reappears_in_the_retry_topic_after_its_delay() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let (c, a) = (client(), addr(&b));
    let sent = send(&c, &a, "BackT", 0, &tagged("TagA", "U1"), b"retry me");
    let h: SendMessageResponseHeader = sent.decode_header().unwrap();
    let (_, phy) = decode_offset_msg_id(&h.msg_id).unwrap();
    let back = ConsumerSendMsgBackRequestHeader {
        offset: phy,
        group: "BackG".into(),
        delay_level: 1, // 1 s
        origin_msg_id: Some(h.msg_id.clone()),
        origin_topic: Some("BackT".into()),
        ..Default::default()
    };
    let r = call(
        &c,
        &a,
        RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back),
    );
    assert_eq!(r.code, ResponseCode::SUCCESS.code(), "{:?}", r.remark);
    assert!(pulled_bodies(&c, &a, "%RETRY%BackG").is_empty(), "delayed");
    wait_until("retry delivery", 20, || {
        pulled_bodies(&c, &a, "%RETRY%BackG") == vec![b"retry me".to_vec()]
    });
}

fn half_message(c: &protocol::remoting::RemotingHandle, a: &str) -> SendMessageResponseHeader {
    let mut props = Properties::new();
    props.insert(keys::TRAN_MSG, "true");
    props.insert(keys::PGROUP, "TxPG");
    props.insert(keys::UNIQ_KEY, "TXUNIQ0000000001");
    let mut h = send_header("TxT", 0, &props);
    h.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
    // Half messages older than the file retention are discarded, not checked: born now.
    h.born_timestamp = protocol::util::clock::now_millis() as i64;
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        protocol::SerializeType::Json,
        b"tx body",
    );
    let r = call(c, a, req);
    assert_eq!(r.code, 0, "{:?}", r.remark);
    r.decode_header().unwrap()
}

#[test]
fn a_half_message_is_visible_only_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let (c, a) = (client(), addr(&b));
    let half = half_message(&c, &a);
    assert!(pulled_bodies(&c, &a, "TxT").is_empty());
    let (_, phy) = decode_offset_msg_id(&half.msg_id).unwrap();
    let end = EndTransactionRequestHeader {
        producer_group: "TxPG".into(),
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: phy,
        commit_or_rollback: EndTransactionRequestHeader::COMMIT_TYPE,
        msg_id: "TXUNIQ0000000001".into(),
        ..Default::default()
    };
    let r = call(
        &c,
        &a,
        RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &end),
    );
    assert_eq!(r.code, 0, "{:?}", r.remark);
    wait_until("committed message", 10, || {
        pulled_bodies(&c, &a, "TxT") == vec![b"tx body".to_vec()]
    });
}

#[test]
fn a_stale_half_message_is_checked_with_a_producer_of_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.transaction_timeout_ms = 1;
    config.transaction_check_interval_ms = 50;
    let b = start_broker(config, store_config(dir.path()));
    let (c, inbox) = client_with_inbox();
    let a = addr(&b);
    let hb = HeartbeatData {
        client_id: "tx-client".into(),
        producer_data_set: vec![ProducerData {
            group_name: "TxPG".into(),
        }],
        ..Default::default()
    };
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode_body()),
    );
    assert_eq!(r.code, 0);
    half_message(&c, &a);
    let check = inbox
        .recv_timeout(Duration::from_secs(20))
        .expect("CHECK_TRANSACTION_STATE within the deadline");
    assert_eq!(check.code, RequestCode::CHECK_TRANSACTION_STATE.code());
    assert!(check.is_oneway());
    let header: CheckTransactionStateRequestHeader = check.decode_header().unwrap();
    assert_eq!(header.msg_id.as_deref(), Some("TXUNIQ0000000001"));
    let records = decode_records(&check.body).unwrap();
    assert_eq!(records[0].topic, "TxT");
    assert_eq!(&records[0].body[..], b"tx body");
}
