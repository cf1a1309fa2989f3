//! Transactional producers against the real broker (transactionTimeOut 1 s, check interval
//! 200 ms): committed half messages become visible, rolled-back ones never do, and unknown
//! ones are resolved by the broker's check-back, committing or rolling back as the
//! producer's `check_local` answers.

mod real_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use client::{
    ConsumeFrom, LocalTransactionState, Message, MessageExt, SendStatus, TransactionListener,
    TransactionProducer,
};
use real_support::*;

/// Decides by the body's prefix; records every check-back.
struct ByPrefix {
    checked: Arc<Mutex<Vec<String>>>,
}

fn decide(body: &str) -> LocalTransactionState {
    if body.starts_with("unknown-commit") || body.starts_with("commit") {
        LocalTransactionState::CommitMessage
    } else {
        LocalTransactionState::RollbackMessage
    }
}

impl TransactionListener for ByPrefix {
    fn execute_local(&self, msg: &Message) -> LocalTransactionState {
        let body = String::from_utf8_lossy(&msg.body);
        if body.starts_with("unknown") {
            LocalTransactionState::Unknown
        } else {
            decide(&body)
        }
    }

    fn check_local(&self, msg: &MessageExt) -> LocalTransactionState {
        let body = String::from_utf8_lossy(&msg.body).into_owned();
        let state = decide(&body);
        self.checked.lock().unwrap().push(body);
        state
    }
}

#[test]
fn commit_rollback_and_check_back_decide_what_consumers_see() {
    let cluster = RealCluster::start(1, &[("TxT", 2)]);
    let checked: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = ByPrefix {
        checked: checked.clone(),
    };
    let producer = TransactionProducer::builder("tx-producers", listener)
        .client_config(fast_config(&cluster.namesrv_addr()))
        .start()
        .unwrap();
    let seen: Seen = Arc::default();
    let _consumer = push_consumer(&cluster, "TxG")
        .subscribe("TxT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    let kinds = ["commit", "rollback", "unknown-commit", "unknown-rollback"];
    for i in 0..3 {
        for kind in kinds {
            let r = producer
                .send_in_transaction(Message::new("TxT", format!("{kind}-{i}")))
                .unwrap();
            assert_eq!(r.send_result.status, SendStatus::SendOk);
            assert!(r.send_result.transaction_id.is_some());
            let expected = match kind {
                "commit" => LocalTransactionState::CommitMessage,
                "rollback" => LocalTransactionState::RollbackMessage,
                _ => LocalTransactionState::Unknown,
            };
            assert_eq!(r.local_state, expected);
        }
    }
    let unknowns: BTreeSet<String> = names("unknown-commit", 3)
        .union(&names("unknown-rollback", 3))
        .cloned()
        .collect();
    let all_checked = || {
        checked
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            == unknowns
    };
    assert!(
        wait_until(WAIT, all_checked),
        "checked {:?}",
        checked.lock().unwrap()
    );
    // Ends on the same connection after the check answers: once it is visible, the broker
    // has applied every answer before it.
    producer
        .send_in_transaction(Message::new("TxT", "commit-tail"))
        .unwrap();
    let visible: BTreeSet<String> = [names("commit", 3), names("unknown-commit", 3)]
        .into_iter()
        .flatten()
        .chain(["commit-tail".to_string()])
        .collect();
    assert!(
        wait_until(WAIT, || body_set(&seen) == visible),
        "visible {:?}",
        body_set(&seen)
    );
    assert_eq!(seen.lock().unwrap().len(), 7, "each committed message once");
    let checked = checked.lock().unwrap().clone();
    assert!(
        checked.iter().all(|b| b.starts_with("unknown")),
        "only unresolved transactions are checked: {checked:?}"
    );
    for m in seen.lock().unwrap().iter() {
        assert_eq!(m.topic, "TxT");
        assert!(m.uniq_key().is_some());
    }
}
