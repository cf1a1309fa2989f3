//! END_TRANSACTION on a real store: half messages are invisible, commit makes the message
//! visible in its real topic exactly once with the committed layout, rollback never does, and
//! every refusal path answers as Java does.

mod common;
mod services_common;

use broker::store::AppendResult;
use broker::transaction::half::{HALF_TOPIC, OP_TOPIC};
use broker::transaction::{end_transaction, EndTransactionConfig, EndTxOutcome};
use protocol::code::ResponseCode;
use protocol::header::transaction::EndTransactionRequestHeader;
use protocol::message::{keys, sysflag, tags_code};

use services_common::{count, message, read_all, send_half, TestStore};

const CFG: EndTransactionConfig = EndTransactionConfig {
    is_slave: false,
    transaction_timeout_ms: 6_000,
    max_delay_level: 18,
};

fn half(t: &TestStore, extra: &[(&str, &str)]) -> AppendResult {
    let mut props = vec![
        ("PGROUP", "PG"),
        ("UNIQ_KEY", "TX-1"),
        ("TAGS", "paid"),
        ("KEYS", "order-7"),
    ];
    props.extend_from_slice(extra);
    let a = send_half(&t.store, message("Orders", 2, b"order", &props, t.now()));
    t.dispatched();
    a
}

fn header(a: &AppendResult, commit_or_rollback: i32) -> EndTransactionRequestHeader {
    EndTransactionRequestHeader {
        producer_group: "PG".into(),
        tran_state_table_offset: a.queue_offset,
        commit_log_offset: a.phy_offset as i64,
        commit_or_rollback,
        from_transaction_check: None,
        msg_id: "TX-1".into(),
        transaction_id: Some("TX-1".into()),
        topic: Some("Orders".into()),
    }
}

fn end(
    t: &TestStore,
    h: &EndTransactionRequestHeader,
    cfg: &EndTransactionConfig,
) -> (ResponseCode, Option<String>) {
    let out = end_transaction(&t.store, h, cfg, t.now()).unwrap();
    t.dispatched();
    match out {
        EndTxOutcome::Done { code, remark, .. } => (code, remark),
        EndTxOutcome::Ignored => panic!("ignored"),
    }
}

#[test]
fn half_is_invisible_and_commit_makes_it_visible_once() {
    let t = TestStore::new();
    let a = half(&t, &[]);
    assert_eq!(count(&t.store, "Orders", 2), 0, "half message not visible");
    assert_eq!(count(&t.store, HALF_TOPIC, 0), 1);
    let h = read_all(&t.store, HALF_TOPIC, 0);
    assert_eq!(
        h[0].1.sys_flag & sysflag::TRANSACTION_MASK,
        sysflag::TRANSACTION_NOT_TYPE
    );
    assert_eq!(h[0].1.properties.get(keys::TRANSACTION_ID), Some("TX-1"));

    let out = end_transaction(&t.store, &header(&a, 8), &CFG, t.now()).unwrap();
    let EndTxOutcome::Done { code, put, .. } = out else {
        panic!("ignored")
    };
    assert_eq!(code, ResponseCode::SUCCESS);
    assert!(
        put.and_then(|p| p.append).is_some(),
        "commit put returned for SYNC_FLUSH"
    );
    t.dispatched();
    let real = read_all(&t.store, "Orders", 2);
    assert_eq!(real.len(), 1, "visible exactly once");
    let (unit, m) = &real[0];
    assert_eq!(unit.tags_code, tags_code(Some("paid")));
    assert_eq!(&m.body[..], b"order");
    assert_eq!(
        m.sys_flag & sysflag::TRANSACTION_MASK,
        sysflag::TRANSACTION_COMMIT_TYPE
    );
    assert_eq!(m.prepared_transaction_offset, a.phy_offset as i64);
    assert_eq!(m.properties.get(keys::UNIQ_KEY), Some("TX-1"));
    assert_eq!(m.properties.get(keys::PGROUP), Some("PG"));
    let by_key = t
        .store
        .query_messages("Orders", "order-7", 10, 0, i64::MAX)
        .unwrap();
    assert_eq!(by_key.messages.len(), 1, "the committed message is indexed");

    let ops = read_all(&t.store, OP_TOPIC, 0);
    assert_eq!(ops.len(), 1);
    assert_eq!(&ops[0].1.body[..], b"0,");
    assert_eq!(ops[0].1.properties.get(keys::TAGS), Some("d"));
}

#[test]
fn rollback_writes_only_the_op_record() {
    let t = TestStore::new();
    let a = half(&t, &[]);
    assert_eq!(
        end(&t, &header(&a, 12), &CFG),
        (ResponseCode::SUCCESS, None)
    );
    assert_eq!(count(&t.store, "Orders", 2), 0, "never visible");
    let ops = read_all(&t.store, OP_TOPIC, 0);
    assert_eq!(ops.len(), 1);
    assert_eq!(&ops[0].1.body[..], b"0,");
}

#[test]
fn unknown_state_is_ignored() {
    let t = TestStore::new();
    let a = half(&t, &[]);
    for state in [0, 4, 99] {
        let out = end_transaction(&t.store, &header(&a, state), &CFG, t.now()).unwrap();
        assert_eq!(out, EndTxOutcome::Ignored);
    }
    t.dispatched();
    assert_eq!(
        (count(&t.store, "Orders", 2), count(&t.store, OP_TOPIC, 0)),
        (0, 0)
    );
}

#[test]
fn refusals() {
    let t = TestStore::new();
    let a = half(&t, &[]);
    let slave = EndTransactionConfig {
        is_slave: true,
        ..CFG
    };
    assert_eq!(
        end(&t, &header(&a, 8), &slave).0,
        ResponseCode::SLAVE_NOT_AVAILABLE
    );

    let mut h = header(&a, 8);
    h.producer_group = "other".into();
    assert_eq!(
        end(&t, &h, &CFG),
        (
            ResponseCode::SYSTEM_ERROR,
            Some("The producer group wrong".into())
        )
    );
    let mut h = header(&a, 8);
    h.tran_state_table_offset += 1;
    assert_eq!(
        end(&t, &h, &CFG).1.as_deref(),
        Some("The transaction state table offset wrong")
    );
    let mut h = header(&a, 8);
    h.commit_log_offset += 3;
    assert_eq!(
        end(&t, &h, &CFG).1.as_deref(),
        Some("Find prepared transaction message failed")
    );

    // A normal message is not a half message even with matching fields.
    let normal = services_common::send(
        &t.store,
        message("Orders", 2, b"n", &[("PGROUP", "PG")], t.now()),
        18,
    );
    t.dispatched();
    assert_eq!(
        end(&t, &header(&normal, 8), &CFG).0,
        ResponseCode::SYSTEM_ERROR
    );
    assert_eq!(count(&t.store, "Orders", 2), 1, "only the normal message");
    assert_eq!(count(&t.store, OP_TOPIC, 0), 0);
}

#[test]
fn late_producer_commit_after_a_custom_immunity_is_refused() {
    let t = TestStore::new();
    let a = half(&t, &[("CHECK_IMMUNITY_TIME_IN_SECONDS", "10")]);
    t.clock.advance(11_000);
    assert_eq!(
        end(&t, &header(&a, 8), &CFG).0,
        ResponseCode::ILLEGAL_OPERATION
    );
    assert_eq!(count(&t.store, "Orders", 2), 0);
    let mut from_check = header(&a, 8);
    from_check.from_transaction_check = Some(true);
    assert_eq!(
        end(&t, &from_check, &CFG).0,
        ResponseCode::SUCCESS,
        "answers to checks pass"
    );
    assert_eq!(count(&t.store, "Orders", 2), 1);
}
