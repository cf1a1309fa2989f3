//! Crash consistency, in-process: a "crash" drops the store without shutdown (the abort file
//! stays) and then destroys what the page cache would have lost — the commitlog past a random
//! point at or beyond the durable (flushed = acknowledged) end, consume-queue tails past their
//! last flush, the checkpoint's freshness, or a body byte of an unflushed record. After reopen
//! no acknowledged message may be missing and nothing else may be returned.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use broker::store::{FaultHandle, MessageStore, StoreConfig};
use common::*;

const SEG: u64 = 4096;
const QUEUES: [(&str, i32); 3] = [("A", 0), ("A", 1), ("B", 0)];

#[derive(Debug, Clone)]
struct Written {
    topic: &'static str,
    queue_id: i32,
    key: String,
    body: Vec<u8>,
    phy: u64,
    end: u64,
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    TornTail,
    ConsumeQueueTails,
    StaleCheckpoint,
    CorruptUnflushedBody,
}

fn config(dir: &Path) -> StoreConfig {
    let mut c = small_config(dir);
    // Nothing is flushed behind the test's back: durability points are explicit.
    c.flush_interval_commit_log_ms = 3_600_000;
    c.flush_interval_consume_queue_ms = 3_600_000;
    c
}

fn append_random(
    store: &MessageStore,
    rng: &mut Rng,
    clock: &ManualClock,
    n: usize,
    out: &mut Vec<Written>,
) {
    for _ in 0..n {
        clock.advance(rng.range(0, 1500) as i64);
        let (topic, queue_id) = QUEUES[rng.range(0, 3) as usize];
        let key = format!("key{}", rng.next_u64() % 1_000_000);
        let len = rng.range(1, 700) as usize;
        let body = rng.bytes(len);
        let mut rec = Msg::new(topic, queue_id, &body)
            .keys(&key)
            .tags("T")
            .encode();
        let a = store
            .put_message(&mut rec, topic, queue_id)
            .append
            .expect("append");
        out.push(Written {
            topic,
            queue_id,
            key,
            body,
            phy: a.phy_offset,
            end: a.end_offset,
        });
    }
}

/// Cuts each consume queue somewhere at or beyond `durable_units[q]`.
fn truncate_consume_queues(
    root: &Path,
    rng: &mut Rng,
    durable_units: &BTreeMap<(&str, i32), u64>,
    written: &[Written],
) {
    for (topic, queue_id) in QUEUES {
        let dir = root
            .join("consumequeue")
            .join(topic)
            .join(queue_id.to_string());
        let total = written
            .iter()
            .filter(|w| w.topic == topic && w.queue_id == queue_id)
            .count() as u64;
        let lo = durable_units.get(&(topic, queue_id)).copied().unwrap_or(0) * 20;
        let cut = rng.range(lo, total * 20 + 1);
        for e in std::fs::read_dir(&dir).into_iter().flatten() {
            let e = e.unwrap();
            let base: u64 = e.file_name().to_str().unwrap().parse().unwrap();
            if base > cut {
                std::fs::remove_file(e.path()).unwrap();
            } else if base + 200 > cut {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(e.path())
                    .unwrap();
                f.set_len(cut - base).unwrap();
            }
        }
    }
}

fn check(store: &MessageStore, survivors: &[Written], lost: &[Written]) {
    for (topic, queue_id) in QUEUES {
        let want: Vec<&Written> = survivors
            .iter()
            .filter(|w| w.topic == topic && w.queue_id == queue_id)
            .collect();
        let got = read_queue(store, topic, queue_id, 0);
        assert_eq!(got.len(), want.len(), "queue {topic}/{queue_id}");
        for (i, ((qo, rec), w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(*qo, i as i64);
            assert_eq!(body_of(rec), w.body, "queue {topic}/{queue_id} offset {i}");
        }
        assert_eq!(
            store.max_offset_in_queue(topic, queue_id),
            want.len() as i64
        );
    }
    for w in survivors.iter().rev().take(5).chain(lost.iter().take(3)) {
        let found = store
            .query_messages(w.topic, &w.key, 64, 0, i64::MAX)
            .unwrap();
        let hit = found
            .messages
            .iter()
            .any(|m| m.phy_offset == w.phy && body_of(&m.region.read().unwrap()) == w.body);
        assert_eq!(
            hit,
            survivors.iter().any(|s| s.phy == w.phy),
            "index lookup of {}",
            w.key
        );
    }
}

fn crash_round(seed: u64, damage: Damage) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rng = Rng::new(seed);
    let clock = ManualClock::new(1_700_000_000_000);
    let cfg = config(root);
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let mut written = Vec::new();
    let n1 = rng.range(5, 60) as usize;
    append_random(&store, &mut rng, &clock, n1, &mut written);
    wait_dispatched(&store);
    let stale_checkpoint = std::fs::read(root.join("checkpoint")).unwrap();
    store.flush_now().unwrap();
    let durable = store.commit_log().flushed_offset();
    let mut durable_units = BTreeMap::new();
    for w in &written {
        *durable_units.entry((w.topic, w.queue_id)).or_insert(0u64) += 1;
    }
    let n2 = rng.range(1, 60) as usize;
    append_random(&store, &mut rng, &clock, n2, &mut written);
    if rng.chance(50) {
        wait_dispatched(&store);
    }
    let written_end = store.commit_log().confirm_offset();
    drop(store); // crash: no flush, abort file stays
    let mut cut = rng.range(durable, written_end + 1);
    match damage {
        Damage::TornTail => {}
        Damage::ConsumeQueueTails => {
            truncate_consume_queues(root, &mut rng, &durable_units, &written)
        }
        Damage::StaleCheckpoint => {
            std::fs::write(root.join("checkpoint"), &stale_checkpoint).unwrap()
        }
        Damage::CorruptUnflushedBody => {
            if let Some(w) = written
                .iter()
                .find(|w| w.phy >= durable && w.end <= cut && !w.body.is_empty())
            {
                // IPv4/V1 records keep the body at byte 88.
                let at = w.phy + 88 + w.body.len() as u64 / 2;
                let path = root
                    .join("commitlog")
                    .join(format!("{:020}", at - at % SEG));
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[(at % SEG) as usize] ^= 0x5A;
                std::fs::write(&path, bytes).unwrap();
                cut = cut.min(w.phy + 1); // everything from this record on is discarded
            }
        }
    }
    truncate_commit_log(root, SEG, cut);
    let (survivors, lost): (Vec<Written>, Vec<Written>) =
        written.iter().cloned().partition(|w| w.end <= cut);
    assert!(
        survivors.iter().all(|w| w.end <= cut)
            && written.iter().filter(|w| w.end <= durable).count() <= survivors.len()
    );
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let report = store.recovery_report().clone();
    assert!(report.abnormal);
    // The end never passes the cut, except that an intact end-of-file blank record before the
    // cut legitimately moves it to the next segment start.
    let end = report.commit_log_end;
    assert!(
        end <= cut || (end.is_multiple_of(SEG) && end - cut < SEG),
        "{report:?} cut {cut}"
    );
    assert!(
        report.commit_log_end >= survivors.last().map_or(0, |w| w.end),
        "{report:?}"
    );
    wait_dispatched(&store);
    check(&store, &survivors, &lost);
    // Appending continues each queue right after its survivors, and a clean restart keeps it.
    let mut all = survivors.clone();
    append_random(&store, &mut rng, &clock, 5, &mut all);
    store.shutdown().unwrap();
    drop(store);
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    assert!(!store.recovery_report().abnormal);
    check(&store, &all, &[]);
}

#[test]
fn torn_tail_at_random_points() {
    for seed in 0..25 {
        crash_round(seed, Damage::TornTail);
    }
}

#[test]
fn missing_consume_queue_tails_are_rebuilt() {
    for seed in 100..120 {
        crash_round(seed, Damage::ConsumeQueueTails);
    }
}

#[test]
fn stale_checkpoint_only_costs_work() {
    for seed in 200..215 {
        crash_round(seed, Damage::StaleCheckpoint);
    }
}

#[test]
fn corrupt_unflushed_record_is_cut_by_crc() {
    for seed in 300..315 {
        crash_round(seed, Damage::CorruptUnflushedBody);
    }
}

#[test]
fn garbage_after_the_end_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let cfg = config(dir.path());
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let mut rng = Rng::new(9);
    let mut written = Vec::new();
    append_random(&store, &mut rng, &clock, 20, &mut written);
    store.flush_now().unwrap();
    let end = store.commit_log().confirm_offset();
    drop(store);
    assert!(!end.is_multiple_of(SEG) && written.iter().any(|w| w.phy >= end - end % SEG));
    // Random bytes and a replayed copy of a valid record right after the end.
    let path = dir
        .path()
        .join("commitlog")
        .join(format!("{:020}", end - end % SEG));
    let mut bytes = std::fs::read(&path).unwrap();
    let first = written.iter().find(|w| w.phy >= end - end % SEG).unwrap();
    let copy = bytes[(first.phy % SEG) as usize..(first.end % SEG) as usize].to_vec();
    let at = (end % SEG) as usize;
    let n = copy.len().min(bytes.len() - at);
    bytes[at..at + n].copy_from_slice(&copy[..n]);
    std::fs::write(&path, bytes).unwrap();
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    assert_eq!(store.recovery_report().commit_log_end, end);
    wait_dispatched(&store);
    check(&store, &written, &[]);
}
