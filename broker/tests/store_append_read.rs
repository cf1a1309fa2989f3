//! Append/read/roll/restart on temp dirs: segment rolls with blank records, batch append,
//! illegal records, pull statuses, transactional and schedule-topic dispatch rules, the
//! arriving listener, sync flush (ok, timeout, failure) and recovery after a clean stop.

mod common;

use std::sync::{mpsc, Arc, Mutex};

use broker::store::record_format::{self as rf, BLANK_MAGIC};
use broker::store::{
    FaultHandle, FaultInjector, FlushDiskType, FlushOutcome, GetMessageStatus as G, MessageStore,
    PutMessageStatus as P, WriteBlock,
};
use common::*;

#[test]
fn append_and_read_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cfg = small_config(dir.path());
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let mut rng = Rng::new(7);
    let mut appended = Vec::new();
    let mut next_qo = [0i64; 2];
    for i in 0..120i32 {
        let q = i % 2;
        let len = rng.range(50, 900) as usize;
        let body = rng.bytes(len);
        let mut rec = Msg::new("TopicA", q, &body).encode();
        let r = store.put_message(&mut rec, "TopicA", q);
        assert_eq!(r.status, P::PUT_OK);
        let a = r.append.unwrap();
        assert_eq!(a.queue_offset, next_qo[q as usize]);
        next_qo[q as usize] += 1;
        assert_eq!(
            a.phy_offset / 4096,
            (a.end_offset - 1) / 4096,
            "record crosses a segment"
        );
        assert!(4096 - a.end_offset % 4096 >= 8 || a.end_offset.is_multiple_of(4096));
        if let Some((_, prev_end, _)) = appended.last() {
            if a.phy_offset != *prev_end {
                // A roll: the previous segment ends with a blank record.
                assert_eq!(a.phy_offset % 4096, 0);
                let blank = store.commit_log().read(*prev_end, 8).unwrap().unwrap();
                assert_eq!(&blank[4..8], &BLANK_MAGIC.to_be_bytes());
                let len = i32::from_be_bytes([blank[0], blank[1], blank[2], blank[3]]) as u64;
                assert_eq!(prev_end + len, a.phy_offset);
            }
        }
        appended.push((a.phy_offset, a.end_offset, body));
    }
    let segments = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .count();
    assert!(segments > 5, "only {segments} segments");
    for (phy, end, body) in &appended {
        let rec = store
            .commit_log()
            .read(*phy, (end - phy) as u32)
            .unwrap()
            .unwrap();
        assert_eq!(&body_of(&rec), body);
        let info = rf::parse_dispatch(&rec, Some(*phy), true).unwrap();
        assert_eq!(info.store_timestamp, 1_000_000);
        assert_eq!(store.look_message_by_offset(*phy).unwrap().unwrap(), rec);
        let region = store.commit_log().region(*phy, (end - phy) as u32).unwrap();
        assert_eq!(region.read().unwrap(), rec);
    }
    assert!(store
        .look_message_by_offset(appended[0].0 + 1)
        .unwrap()
        .is_none());
    assert!(store
        .commit_log()
        .read(appended.last().unwrap().1, 1)
        .unwrap()
        .is_none());
    wait_dispatched(&store);
    for q in 0..2 {
        let got = read_queue(&store, "TopicA", q, 0);
        let want: Vec<_> = appended.iter().skip(q as usize).step_by(2).collect();
        assert_eq!(got.len(), want.len());
        for (i, ((qo, rec), (_, _, body))) in got.iter().zip(want).enumerate() {
            assert_eq!(*qo, i as i64);
            assert_eq!(&body_of(rec), body);
        }
    }
}

#[test]
fn batch_append_is_one_write_with_consecutive_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let mut single = Msg::new("B", 0, b"first").encode();
    assert!(store.put_message(&mut single, "B", 0).is_ok());
    for round in 0..6 {
        let mut batch = Vec::new();
        for i in 0..5 {
            batch.extend(
                Msg::new(
                    "B",
                    0,
                    format!("r{round}-m{i}-{}", "x".repeat(100)).as_bytes(),
                )
                .encode(),
            );
        }
        let r = store.put_messages(&mut batch, "B", 0);
        assert_eq!(r.status, P::PUT_OK);
        let a = r.append.unwrap();
        assert_eq!((a.msg_count, a.queue_offset), (5, 1 + round * 5));
        assert_eq!(a.wrote_bytes as usize, batch.len());
        assert_eq!(a.batch_phy_offsets.len(), 5);
        assert_eq!(a.batch_phy_offsets[0], a.phy_offset);
        assert_eq!(a.phy_offset / 4096, (a.end_offset - 1) / 4096);
    }
    let mut mixed = Msg::new("B", 0, b"a").encode();
    mixed.extend(Msg::new("C", 0, b"b").encode());
    assert_eq!(
        store.put_messages(&mut mixed, "B", 0).status,
        P::MESSAGE_ILLEGAL
    );
    let mut prepared = Msg {
        sys_flag: rf::TRANSACTION_PREPARED,
        ..Msg::new("B", 0, b"p")
    }
    .encode();
    prepared.extend(Msg::new("B", 0, b"q").encode());
    assert_eq!(
        store.put_messages(&mut prepared, "B", 0).status,
        P::MESSAGE_ILLEGAL
    );
    wait_dispatched(&store);
    let got = read_queue(&store, "B", 0, 0);
    assert_eq!(got.len(), 31);
    assert_eq!(
        body_of(&got[30].1),
        format!("r5-m4-{}", "x".repeat(100)).into_bytes()
    );
}

#[test]
fn illegal_records_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let before = store.commit_log().confirm_offset();
    let good = Msg::new("T", 1, b"body").encode();
    let mut wrong_topic = good.clone();
    assert_eq!(
        store.put_message(&mut wrong_topic, "U", 1).status,
        P::MESSAGE_ILLEGAL
    );
    assert_eq!(
        store.put_message(&mut good.clone(), "T", 2).status,
        P::MESSAGE_ILLEGAL
    );
    let mut bad_crc = good.clone();
    let l = rf::parse_layout(&bad_crc).unwrap();
    bad_crc[l.body_pos] ^= 0xFF;
    assert_eq!(
        store.put_message(&mut bad_crc, "T", 1).status,
        P::MESSAGE_ILLEGAL
    );
    let mut garbage = vec![0xAB; 200];
    assert_eq!(
        store.put_message(&mut garbage, "T", 1).status,
        P::MESSAGE_ILLEGAL
    );
    let mut short = good[..good.len() - 1].to_vec();
    assert_eq!(
        store.put_message(&mut short, "T", 1).status,
        P::MESSAGE_ILLEGAL
    );
    let mut huge = Msg::new("T", 1, &[1u8; 3000]).encode();
    assert_eq!(
        store.put_message(&mut huge, "T", 1).status,
        P::MESSAGE_ILLEGAL
    );
    let mut dots = Msg::new("..", 1, b"x").encode();
    assert_eq!(
        store.put_message(&mut dots, "..", 1).status,
        P::MESSAGE_ILLEGAL
    );
    assert_eq!(store.commit_log().confirm_offset(), before);
    assert!(store.put_message(&mut good.clone(), "T", 1).is_ok());
}

#[test]
fn pull_statuses_limits_and_next_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let r = store
        .get_messages("g", "P", 0, 0, 10, u64::MAX, None)
        .unwrap();
    assert_eq!(
        (r.status, r.next_begin_offset),
        (G::NO_MATCHED_LOGIC_QUEUE, 0)
    );
    for i in 0..25 {
        let mut rec = Msg::new("P", 0, format!("m{i}").as_bytes()).encode();
        assert!(store.put_message(&mut rec, "P", 0).is_ok());
    }
    wait_dispatched(&store);
    let r = store
        .get_messages("g", "P", 0, 3, 4, u64::MAX, None)
        .unwrap();
    assert_eq!(
        (r.status, r.messages.len(), r.next_begin_offset),
        (G::FOUND, 4, 7)
    );
    assert_eq!((r.min_offset, r.max_offset), (0, 25));
    assert_eq!(body_of(&r.messages[0].region.read().unwrap()), b"m3");
    let size = u64::from(r.messages[0].size);
    let r = store
        .get_messages("g", "P", 0, 0, 10, size * 2 + 1, None)
        .unwrap();
    assert_eq!((r.messages.len(), r.next_begin_offset), (2, 2));
    let r = store
        .get_messages("g", "P", 0, 25, 10, u64::MAX, None)
        .unwrap();
    assert_eq!(
        (r.status, r.next_begin_offset),
        (G::OFFSET_OVERFLOW_ONE, 25)
    );
    let r = store
        .get_messages("g", "P", 0, 40, 10, u64::MAX, None)
        .unwrap();
    assert_eq!(
        (r.status, r.next_begin_offset),
        (G::OFFSET_OVERFLOW_BADLY, 0)
    );
    let r = store
        .get_messages("g", "P", 0, -1, 10, u64::MAX, None)
        .unwrap();
    assert_eq!((r.status, r.next_begin_offset), (G::OFFSET_TOO_SMALL, 0));
    // A pull never crosses a consume-queue file (10 units here).
    let r = store
        .get_messages("g", "P", 0, 8, 32, u64::MAX, None)
        .unwrap();
    assert_eq!((r.messages.len(), r.next_begin_offset), (2, 10));
    assert_eq!(
        (
            store.min_offset_in_queue("P", 0),
            store.max_offset_in_queue("P", 0)
        ),
        (0, 25)
    );
}

#[test]
fn transactional_and_schedule_dispatch_rules() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let put = |m: Msg| {
        let mut rec = m.encode();
        let r = store.put_message(&mut rec, &m.topic, m.queue_id);
        assert!(r.is_ok());
        r.append.unwrap()
    };
    let a = put(Msg::new("X", 0, b"normal").keys("k1"));
    let p = put(Msg {
        sys_flag: rf::TRANSACTION_PREPARED,
        ..Msg::new("X", 0, b"half").keys("k2")
    });
    let rb = put(Msg {
        sys_flag: rf::TRANSACTION_ROLLBACK,
        ..Msg::new("X", 0, b"rb").keys("k3")
    });
    let c = put(Msg {
        sys_flag: rf::TRANSACTION_COMMIT,
        ..Msg::new("X", 0, b"commit").keys("k4")
    });
    assert_eq!(
        (
            a.queue_offset,
            p.queue_offset,
            rb.queue_offset,
            c.queue_offset
        ),
        (0, 0, 0, 1)
    );
    let d = put(Msg {
        delay: Some("3".into()),
        ..Msg::new("SCHEDULE_TOPIC_XXXX", 2, b"later").tags("TagA")
    });
    let d_max = put(Msg {
        delay: Some("99".into()),
        ..Msg::new("SCHEDULE_TOPIC_XXXX", 2, b"max")
    });
    wait_dispatched(&store);
    let got = read_queue(&store, "X", 0, 0);
    let bodies: Vec<_> = got.iter().map(|(_, r)| body_of(r)).collect();
    assert_eq!(bodies, vec![b"normal".to_vec(), b"commit".to_vec()]);
    let sched = store
        .get_messages("g", "SCHEDULE_TOPIC_XXXX", 2, 0, 10, u64::MAX, None)
        .unwrap();
    assert_eq!(sched.messages[0].tags_code, d.store_timestamp_ms + 10_000);
    assert_eq!(
        sched.messages[1].tags_code,
        d_max.store_timestamp_ms + 7_200_000
    );
    let q = |k: &str| {
        store
            .query_messages("X", k, 10, 0, i64::MAX)
            .unwrap()
            .messages
            .len()
    };
    assert_eq!((q("k1"), q("k2"), q("k3"), q("k4")), (1, 1, 0, 1));
}

#[test]
fn arriving_listener_reports_max_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    store.set_arriving_listener(Box::new(move |t, q, max| {
        s2.lock().unwrap().push((t.to_string(), q, max))
    }));
    for i in 0..3 {
        let mut rec = Msg::new("L", 4, format!("{i}").as_bytes()).encode();
        assert!(store.put_message(&mut rec, "L", 4).is_ok());
    }
    wait_until("listener", || {
        seen.lock().unwrap().last() == Some(&("L".to_string(), 4, 3))
    });
}

#[test]
fn clean_restart_keeps_everything_and_continues_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let cfg = small_config(dir.path());
    let mut bodies = Vec::new();
    {
        let store = open(&cfg, env(&clock, FaultHandle::none()));
        assert!(dir.path().join("abort").exists());
        for i in 0..40 {
            let body = format!("{i}-{}", "y".repeat(i * 10)).into_bytes();
            let mut rec = Msg::new("R", 0, &body).keys(&format!("key{i}")).encode();
            assert!(store.put_message(&mut rec, "R", 0).is_ok());
            bodies.push(body);
        }
        store.shutdown().unwrap();
        assert!(!dir.path().join("abort").exists());
    }
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let rep = store.recovery_report().clone();
    assert!(!rep.abnormal);
    assert_eq!(rep.commit_log_end, store.commit_log().confirm_offset());
    let got: Vec<_> = read_queue(&store, "R", 0, 0)
        .into_iter()
        .map(|(_, r)| body_of(&r))
        .collect();
    assert_eq!(got, bodies);
    let mut rec = Msg::new("R", 0, b"after").encode();
    assert_eq!(
        store
            .put_message(&mut rec, "R", 0)
            .append
            .unwrap()
            .queue_offset,
        40
    );
    assert_eq!(
        store
            .query_messages("R", "key7", 5, 0, i64::MAX)
            .unwrap()
            .messages
            .len(),
        1
    );
}

#[test]
fn sync_flush_ok_timeout_and_failure() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let mut cfg = small_config(dir.path());
    cfg.flush_disk_type = FlushDiskType::SyncFlush;
    cfg.flush_interval_commit_log_ms = 60_000;
    cfg.sync_flush_timeout_ms = 100;
    let faults = FaultInjector::new();
    let store = open(&cfg, env(&clock, FaultHandle::with(Arc::clone(&faults))));
    let mut rec = Msg::new("S", 0, b"one").encode();
    let r = store.wait_for_flush(store.put_message(&mut rec, "S", 0));
    assert_eq!(r.status, P::PUT_OK);
    assert!(store.commit_log().flushed_offset() >= r.append.unwrap().end_offset);
    // A stalled disk: the waiter times out, the write itself stays stored.
    faults.delay_syncs(600);
    let mut rec = Msg::new("S", 0, b"two").encode();
    let r = store.wait_for_flush(store.put_message(&mut rec, "S", 0));
    assert_eq!(r.status, P::FLUSH_DISK_TIMEOUT);
    let two_end = r.append.unwrap().end_offset;
    faults.delay_syncs(0);
    wait_until("stalled flush", || {
        store.commit_log().flushed_offset() >= two_end
    });
    // A failed fdatasync is never acknowledged and blocks further writes.
    faults.fail_sync_in(0);
    let mut rec = Msg::new("S", 0, b"three").encode();
    let a = store.put_message(&mut rec, "S", 0).append.unwrap();
    let (tx, rx) = mpsc::channel();
    store.request_flush(a.end_offset, Box::new(move |o| tx.send(o).unwrap()));
    assert_eq!(rx.recv().unwrap(), FlushOutcome::Failed);
    assert_eq!(store.write_block(), Some(WriteBlock::FlushFailed));
    let mut rec = Msg::new("S", 0, b"four").encode();
    assert_eq!(
        store.put_message(&mut rec, "S", 0).status,
        P::SERVICE_NOT_AVAILABLE
    );
    assert!(store.shutdown().is_err());
    assert!(dir.path().join("abort").exists());
}

#[test]
fn a_second_store_on_the_same_directory_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000);
    let cfg = small_config(dir.path());
    let first = open(&cfg, env(&clock, FaultHandle::none()));
    let err = MessageStore::open_with(cfg.clone(), env(&clock, FaultHandle::none()))
        .expect_err("the directory is locked");
    assert!(
        err.to_string()
            .contains("already uses this store directory"),
        "{err}"
    );
    first.shutdown().unwrap();
    drop(first);
    let again = open(&cfg, env(&clock, FaultHandle::none()));
    assert!(
        !again.recovery_report().abnormal,
        "the refused open left no abort file"
    );
}
