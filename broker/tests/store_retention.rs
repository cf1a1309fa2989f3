//! Retention: the pure decision functions, deletion of commitlog / consume-queue / index files
//! on a real store, forced cleaning and write refusal when the disk is nearly full.

mod common;

use broker::store::clean::{decide, select_expired, RetentionDecision};
use broker::store::time::{local_time, now_ms};
use broker::store::{
    FaultHandle, GetMessageStatus as G, PutMessageStatus as P, StoreConfig, WriteBlock,
};
use common::*;

const HOUR_MS: i64 = 3_600_000;

#[test]
fn decide_follows_delete_when_and_disk_ratios() {
    let mut c = StoreConfig::with_root("/unused");
    c.delete_when = "04;05".into();
    let at = |h: i64| 1_700_006_400_000 - 1_700_006_400_000 % (24 * HOUR_MS) + h * HOUR_MS + 60_000;
    assert_eq!(local_time(at(4), 0).hour, 4);
    let d = |now, ratio| decide(&c, now, 0, ratio);
    let none = RetentionDecision {
        delete_expired: false,
        clean_immediately: false,
        disk_full: false,
    };
    assert_eq!(d(at(3), 0.5), none);
    assert!(d(at(4), 0.5).delete_expired && d(at(5), 0.1).delete_expired);
    // UTC 03:01 is 04:01 at UTC+1.
    assert!(decide(&c, at(3), 3600, 0.5).delete_expired);
    let space = d(at(12), 0.76);
    assert!(space.delete_expired && !space.clean_immediately && !space.disk_full);
    let forced = d(at(12), 0.86);
    assert!(forced.delete_expired && forced.clean_immediately && !forced.disk_full);
    let full = d(at(12), 0.91);
    assert!(full.clean_immediately && full.disk_full);
    assert!(
        d(at(12), -1.0).delete_expired,
        "unknown usage deletes expired files"
    );
}

#[test]
fn select_expired_takes_a_leading_run_of_old_files() {
    let now = 100 * HOUR_MS;
    let seg = |h: i64| (0u64, 0u64, now - h * HOUR_MS);
    let segs = [seg(80), seg(75), seg(10), seg(90)];
    assert_eq!(select_expired(&segs, now, 72 * HOUR_MS, false, 10), 2);
    assert_eq!(select_expired(&segs, now, 72 * HOUR_MS, false, 1), 1);
    assert_eq!(select_expired(&segs, now, 72 * HOUR_MS, true, 3), 3);
    assert_eq!(select_expired(&segs, now, 200 * HOUR_MS, false, 10), 0);
    assert_eq!(select_expired(&[], now, 0, true, 10), 0);
}

fn filled_store(
    dir: &std::path::Path,
    hour_now: i64,
) -> (StoreConfig, broker::store::MessageStore) {
    let clock = ManualClock::new(now_ms());
    let mut cfg = small_config(dir);
    cfg.delete_when = format!("{:02}", local_time(hour_now, 0).hour);
    cfg.delete_file_batch_max = 4;
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    for i in 0..100 {
        let body = vec![b'a' + (i % 26) as u8; 300];
        let mut rec = Msg::new("Ret", 0, &body).keys(&format!("key{i}")).encode();
        assert!(store.put_message(&mut rec, "Ret", 0).is_ok());
    }
    wait_dispatched(&store);
    store.flush_now().unwrap();
    (cfg, store)
}

#[test]
fn expired_files_are_deleted_at_delete_when_and_reads_move_on() {
    let dir = tempfile::tempdir().unwrap();
    let later = now_ms() + 73 * HOUR_MS;
    let (_cfg, store) = filled_store(dir.path(), later);
    let segs = || {
        std::fs::read_dir(dir.path().join("commitlog"))
            .unwrap()
            .count()
    };
    let cq_dir = dir.path().join("consumequeue/Ret/0");
    let cq_files = || std::fs::read_dir(&cq_dir).unwrap().count();
    let index_files = || std::fs::read_dir(dir.path().join("index")).unwrap().count();
    let (segs0, cq0, idx0) = (segs(), cq_files(), index_files());
    assert!(segs0 >= 8 && cq0 == 10, "{segs0} segments, {cq0} cq files");
    // Not expired yet, disk fine: nothing happens.
    let r = store.run_retention_once(now_ms(), 0.1).unwrap();
    assert_eq!((r.commit_log_segments, segs()), (0, segs0));
    // Expired but not the delete hour and the disk is fine: nothing happens.
    let r = store.run_retention_once(later + HOUR_MS, 0.1).unwrap();
    assert_eq!(r.commit_log_segments, 0);
    // Expired at the delete hour: a batch of 4 goes, then consume-queue files follow.
    let r = store.run_retention_once(later, 0.1).unwrap();
    assert_eq!(r.commit_log_segments, 4);
    assert_eq!(segs(), segs0 - 4);
    assert!(r.consume_queue_files > 0 && cq_files() < cq0);
    let min_phy = store.commit_log().min_offset();
    assert_eq!(min_phy, 4 * 4096);
    let min = store.min_offset_in_queue("Ret", 0);
    assert!(min > 0);
    let r = store
        .get_messages("g", "Ret", 0, 0, 10, u64::MAX, None)
        .unwrap();
    assert_eq!((r.status, r.next_begin_offset), (G::OFFSET_TOO_SMALL, min));
    let r = store
        .get_messages("g", "Ret", 0, min, 10, u64::MAX, None)
        .unwrap();
    assert_eq!(r.status, G::FOUND);
    assert!(r.messages[0].phy_offset >= min_phy);
    assert!(store.look_message_by_offset(0).unwrap().is_none());
    // Repeated rounds delete everything but the newest segment.
    for _ in 0..5 {
        store.run_retention_once(later, 0.1).unwrap();
    }
    assert_eq!(segs(), 1);
    assert_eq!(cq_files(), 1);
    assert!(
        index_files() < idx0,
        "index files {idx0} -> {}",
        index_files()
    );
    let last = store.max_offset_in_queue("Ret", 0);
    assert_eq!(last, 100);
    let got = read_queue(&store, "Ret", 0, store.min_offset_in_queue("Ret", 0));
    assert_eq!(got.last().unwrap().0, 99);
    let mut rec = Msg::new("Ret", 0, b"new").encode();
    assert_eq!(
        store
            .put_message(&mut rec, "Ret", 0)
            .append
            .unwrap()
            .queue_offset,
        100
    );
}

#[test]
fn forced_cleaning_and_disk_full_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let (_cfg, store) = filled_store(dir.path(), now + 5 * HOUR_MS);
    // Above diskMaxUsedSpaceRatio only: files are not expired, nothing is deleted.
    assert_eq!(
        store
            .run_retention_once(now, 0.80)
            .unwrap()
            .commit_log_segments,
        0
    );
    // Above diskSpaceCleanForciblyRatio: the oldest go even though not expired.
    let r = store.run_retention_once(now, 0.86).unwrap();
    assert_eq!((r.commit_log_segments, r.disk_full), (4, false));
    // Above diskSpaceWarningLevelRatio: writes are refused until usage drops.
    let r = store.run_retention_once(now, 0.95).unwrap();
    assert!(r.disk_full);
    assert_eq!(store.write_block(), Some(WriteBlock::DiskFull));
    let mut rec = Msg::new("Ret", 0, b"refused").encode();
    assert_eq!(
        store.put_message(&mut rec, "Ret", 0).status,
        P::SERVICE_NOT_AVAILABLE
    );
    store.run_retention_once(now, 0.5).unwrap();
    assert_eq!(store.write_block(), None);
    assert!(store.put_message(&mut rec, "Ret", 0).is_ok());
}
