//! Group append with concurrent appenders: every acknowledged record is readable byte-exact
//! at its offset, queue offsets stay dense and unique, segment rolls stay correct, and an
//! injected write failure in the middle of concurrent appends never loses or corrupts an
//! acknowledged record (checked again after a restart's recovery).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use broker::store::fault::FaultInjector;
use broker::store::{FaultHandle, MessageStore, PutMessageStatus as P};
use common::*;

const THREADS: usize = 8;
const PER_THREAD: usize = 150;

/// Small segments (many rolls) and consume-queue files big enough for every test message.
fn group_config(root: &std::path::Path) -> broker::store::StoreConfig {
    let mut cfg = small_config(root);
    cfg.commit_log_segment_bytes = 16 << 10;
    cfg.consume_queue_file_bytes = 1000 * 20;
    cfg
}

/// (queue id, queue offset, phy offset, body) of every acknowledged append.
type Acked = Vec<(i32, i64, u64, Vec<u8>)>;

fn run_appenders(store: &Arc<MessageStore>) -> (Acked, usize) {
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(store);
            std::thread::spawn(move || {
                let mut rng = Rng::new(t as u64 + 7);
                let (mut acked, mut failed) = (Vec::new(), 0);
                for _ in 0..PER_THREAD {
                    let queue_id = rng.range(0, 3) as i32;
                    let len = rng.range(1, 700) as usize;
                    let body = rng.bytes(len);
                    let mut rec = Msg::new("GA", queue_id, &body).encode();
                    let r = store.put_message(&mut rec, "GA", queue_id);
                    match (r.status, r.append) {
                        (P::PUT_OK, Some(a)) => {
                            acked.push((queue_id, a.queue_offset, a.phy_offset, body))
                        }
                        _ => failed += 1,
                    }
                }
                (acked, failed)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failed = 0;
    for h in handles {
        let (a, f) = h.join().expect("appender");
        all.extend(a);
        failed += f;
    }
    (all, failed)
}

fn check_acked(store: &MessageStore, acked: &Acked) {
    let mut per_queue: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (queue_id, queue_offset, phy, body) in acked {
        let rec = store
            .commit_log()
            .read_record(*phy)
            .expect("read")
            .expect("acknowledged record present");
        assert_eq!(&body_of(&rec), body, "record at {phy}");
        per_queue.entry(*queue_id).or_default().push(*queue_offset);
    }
    wait_dispatched(store);
    for (queue_id, mut offsets) in per_queue {
        offsets.sort_unstable();
        offsets.dedup();
        let stored: BTreeMap<i64, Vec<u8>> =
            read_queue(store, "GA", queue_id, 0).into_iter().collect();
        for qo in &offsets {
            assert!(
                stored.contains_key(qo),
                "queue {queue_id} offset {qo} missing"
            );
        }
        assert_eq!(
            stored.len(),
            offsets.len(),
            "queue {queue_id}: extra records"
        );
    }
}

#[test]
fn concurrent_appenders_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000);
    let cfg = group_config(dir.path());
    let store = Arc::new(open(&cfg, env(&clock, FaultHandle::none())));
    let (acked, failed) = run_appenders(&store);
    assert_eq!((acked.len(), failed), (THREADS * PER_THREAD, 0));
    check_acked(&store, &acked);
    store.shutdown().unwrap();
    drop(store);
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    check_acked(&store, &acked);
}

#[test]
fn a_failed_group_write_loses_no_acknowledged_record() {
    for fail_at in [0u64, 3, 40, 200] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_000);
        let cfg = group_config(dir.path());
        let faults = FaultInjector::new();
        let e = env(&clock, FaultHandle::with(Arc::clone(&faults)));
        let store = Arc::new(open(&cfg, e));
        faults.fail_write_in(fail_at);
        let (acked, failed) = run_appenders(&store);
        assert!(
            failed > 0,
            "the injected failure at write {fail_at} hit no append"
        );
        faults.clear();
        check_acked(&store, &acked);
        let _ = store.shutdown(); // may refuse a clean stop after a failed write
        drop(store);
        let store = open(&cfg, env(&clock, FaultHandle::none()));
        check_acked(&store, &acked);
        // The store takes writes again after the restart.
        let mut rec = Msg::new("GA", 0, b"after").encode();
        assert_eq!(store.put_message(&mut rec, "GA", 0).status, P::PUT_OK);
    }
}

#[test]
fn staged_appends_stay_unreadable_until_committed_and_fail_as_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000);
    let cfg = group_config(dir.path());
    let faults = FaultInjector::new();
    let store = open(&cfg, env(&clock, FaultHandle::with(Arc::clone(&faults))));
    let stage = |body: &[u8]| {
        let mut rec = Msg::new("ST", 0, body).encode();
        let (r, ticket) = store.put_message_staged(&mut rec, "ST", 0);
        assert_eq!(r.status, P::PUT_OK);
        (
            r.append.unwrap(),
            ticket.expect("a staged put has a ticket"),
        )
    };
    let confirm_before = store.commit_log().confirm_offset();
    let staged: Vec<_> = (0..5u8).map(|i| stage(&[i; 100])).collect();
    assert_eq!(store.commit_log().confirm_offset(), confirm_before);
    assert!(store
        .commit_log()
        .read_record(staged[0].0.phy_offset)
        .unwrap()
        .is_none());
    assert_eq!(store.commit_staged(&staged[4].1), Ok(()));
    for (i, (append, ticket)) in staged.iter().enumerate() {
        assert_eq!(store.commit_staged(ticket), Ok(()), "already written");
        assert_eq!(append.queue_offset, i as i64);
        let rec = store
            .commit_log()
            .read_record(append.phy_offset)
            .unwrap()
            .unwrap();
        assert_eq!(body_of(&rec), vec![i as u8; 100]);
    }
    // A failed group write fails every ticket in it and rolls the queue offsets back.
    faults.fail_write_in(0);
    let failed: Vec<_> = (0..3u8).map(|i| stage(&[0xF0 | i; 50])).collect();
    assert!(store.commit_staged(&failed[2].1).is_err());
    for (_, ticket) in &failed {
        assert!(store.commit_staged(ticket).is_err());
    }
    faults.clear();
    let (append, ticket) = stage(b"after the failure");
    assert_eq!(store.commit_staged(&ticket), Ok(()));
    assert_eq!(
        append.queue_offset, 5,
        "queue offsets of the failed group are reused"
    );
    assert_eq!(append.phy_offset, failed[0].0.phy_offset);
    wait_dispatched(&store);
    let queue = read_queue(&store, "ST", 0, 0);
    assert_eq!(queue.len(), 6);
    assert_eq!(body_of(&queue[5].1), b"after the failure");
}
