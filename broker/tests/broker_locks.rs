//! Orderly consumers' queue locks over loopback: LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42),
//! including the C++ client's body without `onlyThisBroker` and one-way unlocks.

mod broker_support;

use std::collections::BTreeSet;

use broker_support::*;
use protocol::body::{
    JsonBody, LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn mqs(ids: &[i32]) -> BTreeSet<MessageQueue> {
    ids.iter()
        .map(|q| MessageQueue::new("LockT", "broker-a", *q))
        .collect()
}

fn lock_mqs(c: &RemotingHandle, a: &str, client: &str, ids: &[i32]) -> BTreeSet<i32> {
    let body = LockBatchRequestBody {
        client_id: client.into(),
        consumer_group: "OG".into(),
        mq_set: mqs(ids),
        only_this_broker: false,
    };
    let r = admin_body(c, a, RequestCode::LOCK_BATCH_MQ, body.encode_body());
    assert_eq!(r.code, 0, "{:?}", r.remark);
    LockBatchResponseBody::decode_body(&r.body)
        .unwrap()
        .lock_ok_mq_set
        .iter()
        .map(|m| m.queue_id)
        .collect()
}

fn unlock_body(client: &str, ids: &[i32]) -> Vec<u8> {
    UnlockBatchRequestBody {
        client_id: client.into(),
        consumer_group: "OG".into(),
        mq_set: mqs(ids),
        only_this_broker: true,
    }
    .encode_body()
}

#[test]
fn lock_and_unlock_batches() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    assert_eq!(lock_mqs(&c, &a, "A", &[0, 1]), BTreeSet::from([0, 1]));
    assert_eq!(
        lock_mqs(&c, &a, "B", &[1, 2]),
        BTreeSet::from([2]),
        "queue 1 is A's"
    );
    assert_eq!(
        lock_mqs(&c, &a, "A", &[0, 1, 2]),
        BTreeSet::from([0, 1]),
        "renewal"
    );

    // C++ clients omit onlyThisBroker (trap 20).
    let cpp = br#"{"clientId":"C","consumerGroup":"OG","mqSet":[{"brokerName":"broker-a","queueId":3,"topic":"LockT"}]}"#;
    let r = admin_body(&c, &a, RequestCode::LOCK_BATCH_MQ, cpp.to_vec());
    assert_eq!(r.code, 0);
    let ok = LockBatchResponseBody::decode_body(&r.body).unwrap();
    assert_eq!(ok.lock_ok_mq_set, mqs(&[3]));

    let r = admin_body(
        &c,
        &a,
        RequestCode::UNLOCK_BATCH_MQ,
        unlock_body("B", &[0, 1]),
    );
    assert_eq!(r.code, 0, "unlocking someone else's queues is ignored");
    assert_eq!(lock_mqs(&c, &a, "B", &[1]), BTreeSet::new());
    let r = admin_body(&c, &a, RequestCode::UNLOCK_BATCH_MQ, unlock_body("A", &[1]));
    assert_eq!(r.code, 0);
    assert_eq!(lock_mqs(&c, &a, "B", &[1]), BTreeSet::from([1]));

    let oneway = RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ)
        .with_body(unlock_body("A", &[0]))
        .into_oneway();
    c.invoke_oneway(&a, oneway).unwrap();
    wait_until("one-way unlock", 10, || {
        lock_mqs(&c, &a, "B", &[0]) == BTreeSet::from([0])
    });

    let r = admin_body(&c, &a, RequestCode::LOCK_BATCH_MQ, b"not json".to_vec());
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
}
