//! The store side of replication: `append_raw` copies a master's commitlog in arbitrary
//! chunks (ending mid-record, spanning blank end-of-file records and segment ends); the
//! readable end only covers complete records; the copy dispatches the same queues; a partial
//! tail is truncated by recovery; `prepare_for_writes` continues the queues after promotion.

mod common;

use broker::store::{FaultHandle, PutMessageStatus as P};
use common::*;

/// Fills a master store with records of random sizes across several 4 KiB segments.
fn master_with_records(root: &std::path::Path, clock: &ManualClock) -> broker::store::MessageStore {
    let store = open(&small_config(root), env(clock, FaultHandle::none()));
    let mut rng = Rng::new(11);
    for i in 0..60i32 {
        let len = rng.range(40, 700) as usize;
        let body = rng.bytes(len);
        let mut rec = Msg::new("RepT", i % 3, &body)
            .uniq(&format!("U{i}"))
            .encode();
        assert_eq!(store.put_message(&mut rec, "RepT", i % 3).status, P::PUT_OK);
    }
    wait_dispatched(&store);
    store
}

fn copy_in_chunks(
    master: &broker::store::MessageStore,
    slave: &broker::store::MessageStore,
    from: u64,
    chunk: u64,
) {
    let end = master.commit_log().confirm_offset();
    let seg = master.commit_log().segment_bytes();
    let mut at = from;
    while at < end {
        let stop = end.min(at + chunk).min((at / seg + 1) * seg);
        let bytes = master
            .commit_log()
            .read(at, (stop - at) as u32)
            .unwrap()
            .unwrap();
        let r = slave.append_raw(at, &bytes).unwrap();
        assert_eq!(r.write_offset, stop);
        assert!(r.confirm_offset <= stop);
        at = stop;
    }
}

#[test]
fn chunked_copy_is_identical_and_dispatched() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let master = master_with_records(&dir.path().join("m"), &clock);
    let slave = open(
        &small_config(&dir.path().join("s")),
        env(&clock, FaultHandle::none()),
    );
    copy_in_chunks(&master, &slave, 0, 777);
    let end = master.commit_log().confirm_offset();
    assert!(end > 3 * 4096);
    assert_eq!(slave.commit_log().confirm_offset(), end);
    assert_eq!(slave.max_phy_offset(), end);
    wait_dispatched(&slave);
    for q in 0..3 {
        assert_eq!(
            read_queue(&slave, "RepT", q, 0),
            read_queue(&master, "RepT", q, 0)
        );
    }
    assert!(
        slave.append_raw(end + 1, b"x").is_err(),
        "not at the write end"
    );
}

#[test]
fn readable_end_stops_before_a_partial_record_and_recovery_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let master = master_with_records(&dir.path().join("m"), &clock);
    let first = master.commit_log().read_record(0).unwrap().unwrap();
    let cfg = small_config(&dir.path().join("s"));
    {
        let slave = open(&cfg, env(&clock, FaultHandle::none()));
        let two = master
            .commit_log()
            .read(0, first.len() as u32 + 10)
            .unwrap()
            .unwrap();
        let r = slave.append_raw(0, &two).unwrap();
        assert_eq!(
            r.confirm_offset,
            first.len() as u64,
            "only the complete record is readable"
        );
        assert_eq!(slave.max_phy_offset(), first.len() as u64 + 10);
        slave.shutdown().unwrap();
    }
    let slave = open(&cfg, env(&clock, FaultHandle::none()));
    assert_eq!(
        slave.max_phy_offset(),
        first.len() as u64,
        "the torn tail is gone"
    );
    copy_in_chunks(&master, &slave, first.len() as u64, 1000);
    assert_eq!(
        slave.commit_log().confirm_offset(),
        master.commit_log().confirm_offset()
    );
}

#[test]
fn empty_store_adopts_the_first_offset_and_continues_queues_after_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let master = master_with_records(&dir.path().join("m"), &clock);
    let end = master.commit_log().confirm_offset();
    let last = end - end % 4096;
    let slave = open(
        &small_config(&dir.path().join("s")),
        env(&clock, FaultHandle::none()),
    );
    let r = slave.append_raw(last, &[]).unwrap();
    assert!(r.rebased || last == 0);
    copy_in_chunks(&master, &slave, last, 512);
    assert_eq!(slave.commit_log().min_offset(), last);
    wait_dispatched(&slave);
    slave
        .prepare_for_writes(std::time::Duration::from_secs(5))
        .unwrap();
    let mut rec = Msg::new("RepT", 0, b"after promotion").encode();
    let put = slave.put_message(&mut rec, "RepT", 0);
    assert_eq!(put.status, P::PUT_OK);
    assert_eq!(
        put.append.unwrap().queue_offset,
        master.max_offset_in_queue("RepT", 0)
    );
}
