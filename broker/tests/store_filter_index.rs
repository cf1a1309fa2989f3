//! Tag filtering at the consume-queue level, key/time lookups through the index (many small
//! index files), search of queue offsets by store time, and per-queue store times.

mod common;

use broker::store::record_format::{self as rf, java_hash_code};
use broker::store::{FaultHandle, GetMessageStatus as G};
use common::*;

#[test]
fn tag_filter_selects_by_tags_code_and_reports_regions() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(10_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let tags = ["TagA", "TagB", "", "TagA", "TagC", "TagB", "TagA"];
    for (i, t) in tags.iter().enumerate() {
        let mut m = Msg::new("F", 0, format!("{i}").as_bytes());
        if !t.is_empty() {
            m = m.tags(t);
        }
        assert!(store.put_message(&mut m.encode(), "F", 0).is_ok());
    }
    // Offsets 7..=9: no TagA at all.
    for i in 7..10 {
        let mut rec = Msg::new("F", 0, format!("{i}").as_bytes())
            .tags("TagZ")
            .encode();
        assert!(store.put_message(&mut rec, "F", 0).is_ok());
    }
    wait_dispatched(&store);
    let code_a = i64::from(java_hash_code("TagA"));
    let only_a = move |code: i64| code == code_a;
    let r = store
        .get_messages("g", "F", 0, 0, 32, u64::MAX, Some(&only_a))
        .unwrap();
    assert_eq!(r.status, G::FOUND);
    let offsets: Vec<i64> = r.messages.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, vec![0, 3, 6]);
    assert_eq!(r.next_begin_offset, 10);
    for m in &r.messages {
        assert_eq!(m.tags_code, code_a);
        let rec = store
            .commit_log()
            .read(m.phy_offset, m.size)
            .unwrap()
            .unwrap();
        let info = rf::parse_dispatch(&rec, Some(m.phy_offset), true).unwrap();
        assert_eq!(info.tags.as_deref(), Some("TagA"));
    }
    let r = store
        .get_messages("g", "F", 0, 7, 32, u64::MAX, Some(&only_a))
        .unwrap();
    assert_eq!(
        (r.status, r.messages.len(), r.next_begin_offset),
        (G::NO_MATCHED_MESSAGE, 0, 10)
    );
    let no_tag = |code: i64| code == 0;
    let r = store
        .get_messages("g", "F", 0, 0, 32, u64::MAX, Some(&no_tag))
        .unwrap();
    assert_eq!(
        r.messages
            .iter()
            .map(|m| m.queue_offset)
            .collect::<Vec<_>>(),
        vec![2]
    );
}

#[test]
fn index_lookup_by_key_and_time_across_many_index_files() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000;
    let clock = ManualClock::new(start);
    let cfg = small_config(dir.path());
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    let mut times = Vec::new();
    for i in 0..60 {
        let t = clock.advance(2_000);
        let mut rec = Msg::new("K", i % 3, format!("body{i}").as_bytes())
            .keys(&format!("k{i} common"))
            .uniq(&format!("UNIQ{i:04}"))
            .encode();
        assert!(store.put_message(&mut rec, "K", i % 3).is_ok());
        times.push(t);
    }
    let mut other = Msg::new("Other", 0, b"x").keys("k5").encode();
    assert!(store.put_message(&mut other, "Other", 0).is_ok());
    wait_dispatched(&store);
    let files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert!(files >= 4, "expected several index files, got {files}");
    let bodies = |key: &str, max: usize, b: i64, e: i64| -> Vec<Vec<u8>> {
        let r = store.query_messages("K", key, max, b, e).unwrap();
        r.messages
            .iter()
            .map(|m| body_of(&m.region.read().unwrap()))
            .collect()
    };
    assert_eq!(bodies("k5", 10, 0, i64::MAX), vec![b"body5".to_vec()]);
    assert_eq!(
        bodies("UNIQ0042", 10, 0, i64::MAX),
        vec![b"body42".to_vec()]
    );
    assert!(bodies("k60", 10, 0, i64::MAX).is_empty());
    let all = bodies("common", 1000, 0, i64::MAX);
    assert_eq!(all.len(), 60);
    assert_eq!(all[0], b"body59".to_vec(), "newest first");
    assert_eq!(bodies("common", 7, 0, i64::MAX).len(), 7);
    let window = bodies("common", 1000, times[10], times[19]);
    let mut want: Vec<Vec<u8>> = (10..20)
        .rev()
        .map(|i| format!("body{i}").into_bytes())
        .collect();
    let mut got = window.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(bodies("common", 10, times[59] + 10_000, i64::MAX).is_empty());
    let other = store
        .query_messages("Other", "k5", 10, 0, i64::MAX)
        .unwrap();
    assert_eq!(other.messages.len(), 1);
    assert!(other.index_last_update_timestamp >= times[59]);
    // The index survives a clean restart.
    store.shutdown().unwrap();
    drop(store);
    let store = open(&cfg, env(&clock, FaultHandle::none()));
    assert_eq!(
        store
            .query_messages("K", "k33", 10, 0, i64::MAX)
            .unwrap()
            .messages
            .len(),
        1
    );
}

#[test]
fn search_offset_by_timestamp_and_store_times() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let store = open(&small_config(dir.path()), env(&clock, FaultHandle::none()));
    let mut times = Vec::new();
    for i in 0..30 {
        // Two messages per millisecond step, so equal store times exist.
        if i % 2 == 0 {
            clock.advance(10);
        }
        let mut rec = Msg::new("S", 1, format!("{i}").as_bytes()).encode();
        let a = store.put_message(&mut rec, "S", 1).append.unwrap();
        times.push(a.store_timestamp_ms);
    }
    wait_dispatched(&store);
    assert_eq!(store.offset_by_time("S", 1, 0).unwrap(), 0);
    assert_eq!(store.offset_by_time("S", 1, times[0]).unwrap(), 0);
    assert_eq!(store.offset_by_time("S", 1, times[4]).unwrap(), 4);
    assert_eq!(store.offset_by_time("S", 1, times[5]).unwrap(), 4);
    assert_eq!(store.offset_by_time("S", 1, times[5] + 1).unwrap(), 6);
    assert_eq!(store.offset_by_time("S", 1, times[29] + 1).unwrap(), 30);
    assert_eq!(store.offset_by_time("Nope", 1, 5).unwrap(), 0);
    assert_eq!(
        store.message_store_timestamp("S", 1, 7).unwrap(),
        Some(times[7])
    );
    assert_eq!(store.message_store_timestamp("S", 1, 30).unwrap(), None);
    assert_eq!(store.earliest_message_time("S", 1).unwrap(), Some(times[0]));
    assert_eq!(store.earliest_commit_log_time().unwrap(), Some(times[0]));
}
