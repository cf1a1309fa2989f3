//! SYNC_FLUSH group commit: 64 concurrent senders are all acknowledged, every acknowledged
//! message is durable, and the number of fdatasync calls is far below the number of messages.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use broker::store::{FaultHandle, FlushDiskType, PutMessageStatus as P};
use common::*;

const THREADS: usize = 64;
const PER_THREAD: usize = 20;

#[test]
fn sixty_four_sync_senders_share_fdatasyncs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000);
    let mut cfg = small_config(dir.path());
    cfg.commit_log_segment_bytes = 16 << 20;
    cfg.flush_disk_type = FlushDiskType::SyncFlush;
    cfg.flush_interval_commit_log_ms = 600_000; // no periodic flushes: only group commits
    cfg.sync_flush_timeout_ms = 30_000;
    let store = Arc::new(open(&cfg, env(&clock, FaultHandle::none())));
    let syncs_before = store.commit_log().stats().syncs.load(Ordering::SeqCst);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut ends = Vec::new();
                for i in 0..PER_THREAD {
                    let body = vec![t as u8; 1024];
                    let topic = "G";
                    let queue_id = (t % 4) as i32;
                    let mut rec = Msg::new(topic, queue_id, &body)
                        .keys(&format!("{t}-{i}"))
                        .encode();
                    let r = store.wait_for_flush(store.put_message(&mut rec, topic, queue_id));
                    assert_eq!(r.status, P::PUT_OK);
                    let end = r.append.unwrap().end_offset;
                    // Acknowledged means durable.
                    assert!(store.commit_log().flushed_offset() >= end);
                    ends.push(end);
                }
                ends
            })
        })
        .collect();
    let mut acked = 0;
    for h in handles {
        acked += h.join().unwrap().len();
    }
    let syncs = store.commit_log().stats().syncs.load(Ordering::SeqCst) - syncs_before;
    let total = THREADS * PER_THREAD;
    assert_eq!(acked, total);
    println!("{total} sync-flushed messages, {syncs} fdatasync calls");
    assert!(
        syncs as usize * 4 <= total,
        "{syncs} fdatasyncs for {total} messages"
    );
    wait_dispatched(&store);
    let stored: i64 = (0..4).map(|q| store.max_offset_in_queue("G", q)).sum();
    assert_eq!(stored as usize, total);
}

#[test]
fn a_single_sync_sender_needs_one_fdatasync_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000);
    let mut cfg = small_config(dir.path());
    cfg.commit_log_segment_bytes = 16 << 20;
    cfg.flush_disk_type = FlushDiskType::SyncFlush;
    cfg.flush_interval_commit_log_ms = 600_000;
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let before = store.commit_log().stats().syncs.load(Ordering::SeqCst);
    for i in 0..30 {
        let mut rec = Msg::new("One", 0, format!("{i}").as_bytes()).encode();
        assert_eq!(
            store
                .wait_for_flush(store.put_message(&mut rec, "One", 0))
                .status,
            P::PUT_OK
        );
    }
    let syncs = store.commit_log().stats().syncs.load(Ordering::SeqCst) - before;
    assert_eq!(syncs, 30);
}
