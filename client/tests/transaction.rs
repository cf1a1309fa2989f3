//! Transactional producer over loopback: commit, rollback, unknown + broker check-back.

mod support;

use std::sync::{Arc, Mutex};

use client::{
    LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer,
};
use protocol::header::EndTransactionRequestHeader;
use protocol::message::{decode_offset_msg_id, keys};
use support::{wait_until, Cluster, WAIT};

/// Answers executions with a fixed state and checks with another, recording what it saw.
struct Scripted {
    execute: LocalTransactionState,
    check: LocalTransactionState,
    checked: Arc<Mutex<Vec<MessageExt>>>,
}

impl TransactionListener for Scripted {
    fn execute_local(&self, msg: &Message) -> LocalTransactionState {
        assert!(
            msg.transaction_id.is_some(),
            "the transaction id is set before execution"
        );
        self.execute
    }

    fn check_local(&self, msg: &MessageExt) -> LocalTransactionState {
        self.checked.lock().unwrap().push(msg.clone());
        self.check
    }
}

fn start(
    cluster: &Cluster,
    execute: LocalTransactionState,
    check: LocalTransactionState,
) -> (TransactionProducer, Arc<Mutex<Vec<MessageExt>>>) {
    support::init_log();
    let checked = Arc::default();
    let listener = Scripted {
        execute,
        check,
        checked: Arc::clone(&checked),
    };
    let p = TransactionProducer::builder("TXG", listener)
        .name_server(&cluster.namesrv_addr())
        .start()
        .unwrap();
    (p, checked)
}

fn end_txs(cluster: &Cluster) -> Vec<EndTransactionRequestHeader> {
    cluster.brokers[0].state().end_transactions.clone()
}

#[test]
fn commit_makes_the_half_message_visible() {
    let cluster = Cluster::start(1);
    cluster.create_topic("Orders", 2);
    let (p, _) = start(
        &cluster,
        LocalTransactionState::CommitMessage,
        LocalTransactionState::Unknown,
    );
    let r = p
        .send_in_transaction(
            Message::new("Orders", "order-1")
                .with_tags("new")
                .with_delay_level(3),
        )
        .unwrap();
    assert_eq!(r.local_state, LocalTransactionState::CommitMessage);
    assert!(wait_until(WAIT, || end_txs(&cluster).len() == 1));
    let end = &end_txs(&cluster)[0];
    let (_, half_offset) = decode_offset_msg_id(&r.send_result.offset_msg_id).unwrap();
    assert!(end.is_commit() && !end.is_from_transaction_check());
    assert_eq!(end.producer_group, "TXG");
    assert_eq!(end.commit_log_offset, half_offset);
    assert_eq!(end.tran_state_table_offset, r.send_result.queue_offset);
    assert_eq!(end.msg_id, r.send_result.msg_id);
    let visible = cluster.messages("Orders");
    assert_eq!(visible.len(), 1);
    let m = &visible[0];
    assert_eq!(m.uniq_key(), Some(r.send_result.msg_id.as_str()));
    assert_eq!(m.properties.get(keys::TRAN_MSG), Some("true"));
    assert_eq!(m.properties.get(keys::PGROUP), Some("TXG"));
    assert_eq!(
        m.properties.get(keys::DELAY),
        None,
        "delay is cleared on half messages"
    );
    assert!(cluster.brokers[0].state().half.is_empty());
}

#[test]
fn rollback_discards_the_half_message() {
    let cluster = Cluster::start(1);
    cluster.create_topic("Orders", 1);
    let (p, _) = start(
        &cluster,
        LocalTransactionState::RollbackMessage,
        LocalTransactionState::Unknown,
    );
    let r = p
        .send_in_transaction(Message::new("Orders", "order-2"))
        .unwrap();
    assert_eq!(r.local_state, LocalTransactionState::RollbackMessage);
    assert!(wait_until(WAIT, || end_txs(&cluster).len() == 1));
    assert!(end_txs(&cluster)[0].is_rollback());
    assert!(cluster.messages("Orders").is_empty());
    assert!(cluster.brokers[0].state().half.is_empty());
}

#[test]
fn unknown_state_is_resolved_by_the_check_back() {
    let cluster = Cluster::start(1);
    cluster.create_topic("Orders", 1);
    let (p, checked) = start(
        &cluster,
        LocalTransactionState::Unknown,
        LocalTransactionState::CommitMessage,
    );
    let r = p
        .send_in_transaction(Message::new("Orders", "order-3").with_keys(["o3"]))
        .unwrap();
    assert_eq!(r.local_state, LocalTransactionState::Unknown);
    assert!(wait_until(WAIT, || end_txs(&cluster).len() == 1));
    assert_eq!(
        end_txs(&cluster)[0].commit_or_rollback,
        0,
        "unknown is reported as NOT_TYPE"
    );
    assert_eq!(cluster.brokers[0].state().half.len(), 1);
    let broker = &cluster.brokers[0];
    assert!(wait_until(WAIT, || broker
        .state()
        .producers
        .get("TXG")
        .is_some_and(|m| !m.is_empty())));
    assert!(broker.check_transaction("TXG"));
    assert!(wait_until(WAIT, || end_txs(&cluster).len() == 2));
    let answer = &end_txs(&cluster)[1];
    assert!(answer.is_commit() && answer.is_from_transaction_check());
    assert_eq!(answer.msg_id, r.send_result.msg_id);
    assert_eq!(answer.tran_state_table_offset, r.send_result.queue_offset);
    let seen = checked.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].topic, "Orders");
    assert_eq!(seen[0].keys().collect::<Vec<_>>(), ["o3"]);
    assert_eq!(cluster.messages("Orders").len(), 1);
}

#[test]
fn per_message_local_transactions_and_panics() {
    let cluster = Cluster::start(1);
    cluster.create_topic("Orders", 1);
    let (p, _) = start(
        &cluster,
        LocalTransactionState::RollbackMessage,
        LocalTransactionState::Unknown,
    );
    let r = p
        .send_in_transaction_with(Message::new("Orders", "a"), |m| {
            assert_eq!(m.body.as_ref(), b"a");
            LocalTransactionState::CommitMessage
        })
        .unwrap();
    assert_eq!(r.local_state, LocalTransactionState::CommitMessage);
    let r = p
        .send_in_transaction_with(Message::new("Orders", "b"), |_| {
            panic!("local transaction crashed")
        })
        .unwrap();
    assert_eq!(r.local_state, LocalTransactionState::Unknown);
    assert!(wait_until(WAIT, || end_txs(&cluster).len() == 2));
    assert_eq!(cluster.messages("Orders").len(), 1);
    assert!(p.producer().send(Message::new("Orders", "plain")).is_ok());
}
