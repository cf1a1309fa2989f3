//! The transaction check on a real store with explicit `now_ms`: stale half messages are
//! re-appended and checked with the right header and body, check counts grow until the half is
//! discarded, op records stop checks of finished transactions, young halves stop the walk,
//! immunity copies are resolved by the producer's own END_TRANSACTION, and the service thread
//! hands requests to its listener.

mod common;
mod services_common;

use std::sync::{Arc, Mutex};

use broker::manager::topic_validator::CID_SYS_RMQ_TRANS;
use broker::manager::ConsumerOffsetManager;
use broker::store::AppendResult;
use broker::transaction::half::{CHECK_MAX_TIME_TOPIC, HALF_TOPIC, OP_TOPIC};
use broker::transaction::{
    check_round, end_transaction, CheckHooks, CheckReport, CheckRequest, EndTransactionConfig,
    EndTxOutcome, TransactionCheckConfig, TransactionalMessageCheckService,
};
use protocol::code::ResponseCode;
use protocol::header::transaction::EndTransactionRequestHeader;
use protocol::message::{keys, offset_msg_id, MessageExt, RecordRead};

use services_common::{count, message, read_all, send_half, store_host, TestStore};

const END_CFG: EndTransactionConfig = EndTransactionConfig {
    is_slave: false,
    transaction_timeout_ms: 6_000,
    max_delay_level: 18,
};

fn cfg(check_max: i32) -> TransactionCheckConfig {
    TransactionCheckConfig {
        transaction_timeout_ms: 6_000,
        transaction_check_max: check_max,
        file_reserved_time_ms: 72 * 3_600_000,
        max_records_per_round: 1000,
    }
}

struct Fixture {
    t: TestStore,
    offsets: Arc<Mutex<ConsumerOffsetManager>>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            t: TestStore::new(),
            offsets: Arc::new(Mutex::new(ConsumerOffsetManager::new())),
        }
    }

    fn half(&self, uniq: &str, extra: &[(&str, &str)]) -> AppendResult {
        let mut props = vec![("PGROUP", "PG"), ("UNIQ_KEY", uniq), ("TAGS", "t")];
        props.extend_from_slice(extra);
        let a = send_half(
            &self.t.store,
            message("Orders", 2, b"order", &props, self.t.now()),
        );
        self.t.dispatched();
        a
    }

    /// Advances the clock by `ms` and runs a round at the new time.
    fn round_after(&self, ms: i64, check_max: i32) -> CheckReport {
        let now = self.t.clock.advance(ms);
        let r = check_round(&self.t.store, self.offsets.as_ref(), &cfg(check_max), now).unwrap();
        self.t.dispatched();
        r
    }

    fn committed(&self, topic: &str) -> Option<i64> {
        self.offsets
            .lock()
            .unwrap()
            .query_offset(CID_SYS_RMQ_TRANS, topic, 0)
    }

    fn end(&self, h: &EndTransactionRequestHeader) -> ResponseCode {
        let out = end_transaction(&self.t.store, h, &END_CFG, self.t.now()).unwrap();
        self.t.dispatched();
        match out {
            EndTxOutcome::Done { code, .. } => code,
            EndTxOutcome::Ignored => panic!("ignored"),
        }
    }
}

fn end_header(
    pg: &str,
    queue_offset: i64,
    phy: i64,
    state: i32,
    from_check: bool,
) -> EndTransactionRequestHeader {
    EndTransactionRequestHeader {
        producer_group: pg.into(),
        tran_state_table_offset: queue_offset,
        commit_log_offset: phy,
        commit_or_rollback: state,
        from_transaction_check: Some(from_check),
        msg_id: "TX".into(),
        ..Default::default()
    }
}

fn answer(req: &CheckRequest, state: i32) -> EndTransactionRequestHeader {
    let h = &req.header;
    end_header(
        &req.producer_group,
        h.tran_state_table_offset,
        h.commit_log_offset,
        state,
        true,
    )
}

fn decode(body: &bytes::Bytes) -> MessageExt {
    match MessageExt::decode(body).unwrap() {
        RecordRead::Message(m, len) => {
            assert_eq!(len, body.len());
            m
        }
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn stale_half_is_checked_once_answered_and_never_again() {
    let f = Fixture::new();
    f.half("TX-1", &[]);
    let r = f.round_after(1_000, 15);
    assert!(r.checks.is_empty(), "younger than transactionTimeOut");
    assert_eq!(f.committed(HALF_TOPIC), Some(0));

    let r = f.round_after(6_000, 15);
    assert_eq!(r.checks.len(), 1);
    assert_eq!(r.half_offsets, (0, 1));
    let req = &r.checks[0];
    let halves = read_all(&f.t.store, HALF_TOPIC, 0);
    assert_eq!(halves.len(), 2, "the half was re-appended");
    let copy_phy = halves[1].0.phy_offset as i64;
    assert_eq!(
        halves[1].1.properties.get(keys::TRANSACTION_CHECK_TIMES),
        Some("1")
    );
    assert_eq!(req.producer_group, "PG");
    assert_eq!(req.header.topic.as_deref(), Some("Orders"));
    assert_eq!(
        (
            req.header.tran_state_table_offset,
            req.header.commit_log_offset
        ),
        (1, copy_phy)
    );
    assert_eq!(req.header.msg_id.as_deref(), Some("TX-1"));
    assert_eq!(req.header.transaction_id.as_deref(), Some("TX-1"));
    assert_eq!(
        req.header.offset_msg_id,
        Some(offset_msg_id(store_host(), copy_phy))
    );
    let body = decode(&req.body);
    assert_eq!(
        (body.topic.as_str(), body.queue_id, &body.body[..]),
        ("Orders", 2, &b"order"[..])
    );
    assert_eq!((body.queue_offset, body.commit_log_offset), (1, copy_phy));
    assert_eq!(
        body.properties.get(keys::TRANSACTION_CHECK_TIMES),
        Some("1")
    );
    assert_eq!(f.committed(HALF_TOPIC), Some(1));

    assert_eq!(f.end(&answer(req, 8)), ResponseCode::SUCCESS);
    assert_eq!(count(&f.t.store, "Orders", 2), 1);
    for _ in 0..3 {
        let r = f.round_after(7_000, 15);
        assert!(r.checks.is_empty(), "the op record resolves it: {r:?}");
    }
    assert_eq!(count(&f.t.store, "Orders", 2), 1, "committed exactly once");
    assert_eq!(
        (f.committed(HALF_TOPIC), f.committed(OP_TOPIC)),
        (Some(2), Some(1))
    );
}

#[test]
fn check_times_grow_until_the_half_is_discarded() {
    let f = Fixture::new();
    f.half("TX-2", &[]);
    let mut times = Vec::new();
    for _ in 0..2 {
        let r = f.round_after(7_000, 2);
        assert_eq!(r.checks.len(), 1);
        times.push(
            decode(&r.checks[0].body)
                .properties
                .get(keys::TRANSACTION_CHECK_TIMES)
                .map(str::to_string),
        );
    }
    assert_eq!(times, vec![Some("1".to_string()), Some("2".to_string())]);
    let r = f.round_after(7_000, 2);
    assert!(r.checks.is_empty(), "{r:?}");
    assert_eq!(r.discarded, vec![2], "{r:?}");
    let discarded = read_all(&f.t.store, CHECK_MAX_TIME_TOPIC, 0);
    assert_eq!(discarded.len(), 1);
    assert_eq!(discarded[0].1.properties.get(keys::UNIQ_KEY), Some("TX-2"));
    let r = f.round_after(7_000, 2);
    assert!(r.checks.is_empty() && r.discarded.is_empty(), "{r:?}");
    assert_eq!(count(&f.t.store, "Orders", 2), 0);
}

#[test]
fn op_records_prevent_checks_of_finished_transactions() {
    let f = Fixture::new();
    let a = f.half("TX-A", &[]);
    let b = f.half("TX-B", &[]);
    let commit = end_header("PG", a.queue_offset, a.phy_offset as i64, 8, false);
    assert_eq!(f.end(&commit), ResponseCode::SUCCESS);
    let rollback = end_header("PG", b.queue_offset, b.phy_offset as i64, 12, false);
    assert_eq!(f.end(&rollback), ResponseCode::SUCCESS);
    let r = f.round_after(7_000, 15);
    assert!(r.checks.is_empty(), "{r:?}");
    assert_eq!(r.resolved, 2);
    assert_eq!((r.half_offsets, r.op_offsets), ((0, 2), (0, 2)));
    assert_eq!(count(&f.t.store, "Orders", 2), 1);
    assert_eq!(count(&f.t.store, HALF_TOPIC, 0), 2, "nothing re-appended");
}

#[test]
fn a_young_half_stops_the_walk() {
    let f = Fixture::new();
    f.half("TX-OLD", &[]);
    f.t.clock.advance(5_000);
    f.half("TX-NEW", &[]);
    let r = f.round_after(2_000, 15);
    let ids: Vec<_> = r
        .checks
        .iter()
        .map(|c| c.header.msg_id.clone().unwrap())
        .collect();
    assert_eq!(ids, vec!["TX-OLD"]);
    assert_eq!(r.half_offsets, (0, 1), "stopped at the young one");
    let r = f.round_after(5_000, 15);
    let ids: Vec<_> = r
        .checks
        .iter()
        .map(|c| c.header.msg_id.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["TX-NEW", "TX-OLD"],
        "the old copy is checked again"
    );
    assert_eq!(
        r.half_offsets,
        (1, 3),
        "stopped at a copy stored in this round"
    );
}

#[test]
fn immunity_copy_is_resolved_by_the_producers_own_end() {
    let f = Fixture::new();
    let a = f.half("TX-I", &[("CHECK_IMMUNITY_TIME_IN_SECONDS", "60")]);
    let r = f.round_after(7_000, 15);
    assert!(r.checks.is_empty());
    assert_eq!((r.immunity_renewed, r.half_offsets), (1, (0, 1)));
    let copy = &read_all(&f.t.store, HALF_TOPIC, 0)[1].1;
    assert_eq!(
        copy.properties.get(keys::TRAN_PREPARED_QUEUE_OFFSET),
        Some("0")
    );
    let commit = end_header("PG", a.queue_offset, a.phy_offset as i64, 8, false);
    assert_eq!(
        f.end(&commit),
        ResponseCode::SUCCESS,
        "within the immunity window"
    );
    let r = f.round_after(1_000, 15);
    assert_eq!((r.resolved, r.checks.len()), (1, 0));
    for _ in 0..3 {
        assert!(f.round_after(30_000, 15).checks.is_empty());
    }
    assert_eq!(count(&f.t.store, "Orders", 2), 1);
}

#[test]
fn immunity_half_without_an_answer_is_checked_after_its_time() {
    let f = Fixture::new();
    f.half("TX-J", &[("CHECK_IMMUNITY_TIME_IN_SECONDS", "20")]);
    assert!(f.round_after(7_000, 15).checks.is_empty());
    assert!(f.round_after(7_000, 15).checks.is_empty());
    let r = f.round_after(7_000, 15);
    assert_eq!(r.checks.len(), 1, "21 s > 20 s immunity: {r:?}");
}

#[test]
fn service_thread_hands_checks_to_the_listener_and_registers_the_discard_topic() {
    let f = Fixture::new();
    let sent: Arc<Mutex<Vec<CheckRequest>>> = Arc::default();
    let topics: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
    let (s, t) = (Arc::clone(&sent), Arc::clone(&topics));
    let hooks = CheckHooks {
        check_listener: Box::new(move |req| s.lock().unwrap().push(req)),
        ensure_topic: Some(Box::new(move |topic, n| {
            t.lock().unwrap().push((topic.to_string(), n))
        })),
    };
    let svc = TransactionalMessageCheckService::new(
        Arc::clone(&f.t.store),
        f.offsets.clone(),
        cfg(1),
        5,
        f.t.clock.clock(),
        hooks,
    );
    svc.start().unwrap();
    f.half("TX-S", &[]);
    f.t.clock.advance(7_000);
    common::wait_until("a check request", || !sent.lock().unwrap().is_empty());
    common::wait_until("the discard after transactionCheckMax=1", || {
        f.t.clock.advance(10);
        !topics.lock().unwrap().is_empty()
    });
    svc.shutdown();
    assert_eq!(
        topics.lock().unwrap()[0],
        (CHECK_MAX_TIME_TOPIC.to_string(), 1)
    );
    assert_eq!(
        sent.lock().unwrap()[0].header.msg_id.as_deref(),
        Some("TX-S")
    );
    f.t.dispatched();
    assert_eq!(count(&f.t.store, CHECK_MAX_TIME_TOPIC, 0), 1);
}

#[test]
fn an_unusable_half_record_is_skipped_not_blocking() {
    let f = Fixture::new();
    let bad = message(HALF_TOPIC, 0, b"bad", &[("PGROUP", "PG")], f.t.now());
    assert!(broker::inner_message::is_stored(
        &broker::inner_message::put_message_ext(&f.t.store, &bad)
    ));
    f.half("TX-GOOD", &[]);
    let r = f.round_after(7_000, 15);
    let ids: Vec<_> = r
        .checks
        .iter()
        .map(|c| c.header.msg_id.clone().unwrap())
        .collect();
    assert_eq!(ids, vec!["TX-GOOD"]);
    assert_eq!(r.half_offsets, (0, 2));
}
