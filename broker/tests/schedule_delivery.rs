//! Delay messages end to end on a real store: the put-side rewrite, delivery at the right time
//! with REAL_* handling, offsets persisted in delayOffset.json and resumed after a restart,
//! custom level tables, and the service thread (manual clock, deadlines, no sleeps).

mod common;
mod services_common;

use std::sync::Arc;

use broker::manager::config_file::{config_file_path, DELAY_OFFSET_JSON};
use broker::schedule::{ScheduleConfig, ScheduleMessageService, SCHEDULE_TOPIC};
use protocol::message::{keys, tags_code};

use services_common::{count, message, read_all, send, TestStore};

fn service(t: &TestStore) -> ScheduleMessageService {
    let mut config = ScheduleConfig::from_store(&t.store).unwrap();
    config.persist_interval_ms = 50;
    ScheduleMessageService::with_config(Arc::clone(&t.store), config, t.clock.clock()).unwrap()
}

fn delayed(
    topic: &str,
    queue_id: i32,
    level: &str,
    body: &[u8],
    born: i64,
) -> protocol::message::MessageExt {
    let props = [
        ("TAGS", "tagA"),
        ("KEYS", "k1"),
        ("UNIQ_KEY", "U-1"),
        ("DELAY", level),
        ("TIMER_DELAY_MS", "5"),
    ];
    let mut m = message(topic, queue_id, body, &props, born);
    m.flag = 9;
    m.reconsume_times = 2;
    m
}

#[test]
fn message_is_invisible_before_its_time_and_delivered_once_after() {
    let t = TestStore::new();
    let born = t.now() - 5;
    let put = send(&t.store, delayed("Orders", 1, "1", b"hello", born), 18);
    t.dispatched();
    assert_eq!(count(&t.store, "Orders", 1), 0, "not in the real topic yet");
    let sched = read_all(&t.store, SCHEDULE_TOPIC, 0);
    assert_eq!(sched.len(), 1);
    assert_eq!(
        sched[0].0.tags_code,
        put.store_timestamp_ms + 1000,
        "delivery time"
    );
    assert_eq!(sched[0].1.properties.get(keys::REAL_TOPIC), Some("Orders"));

    let svc = service(&t);
    let t0 = put.store_timestamp_ms;
    assert_eq!(
        svc.run_once(t0 + 400),
        100,
        "drained levels poll every 100 ms"
    );
    t.dispatched();
    assert_eq!(count(&t.store, "Orders", 1), 0);
    assert_eq!(svc.offset(1), Some(0), "level 1 waits at its first unit");
    assert_eq!(svc.run_once(t0 + 1000), 100);
    t.dispatched();
    let real = read_all(&t.store, "Orders", 1);
    assert_eq!(real.len(), 1, "delivered");
    let (unit, m) = &real[0];
    assert_eq!(
        unit.tags_code,
        tags_code(Some("tagA")),
        "tags code recomputed from TAGS"
    );
    assert_eq!((m.topic.as_str(), m.queue_id), ("Orders", 1));
    assert_eq!(&m.body[..], b"hello");
    assert_eq!((m.flag, m.reconsume_times, m.born_timestamp), (9, 2, born));
    assert_eq!(m.born_host, services_common::born_host());
    let p = &m.properties;
    assert_eq!((p.get(keys::DELAY), p.get("TIMER_DELAY_MS")), (None, None));
    assert_eq!(p.get(keys::WAIT), Some("false"));
    assert_eq!(
        (p.get(keys::REAL_TOPIC), p.get(keys::REAL_QID)),
        (Some("Orders"), Some("1"))
    );
    assert_eq!(
        (p.get(keys::KEYS), p.get(keys::UNIQ_KEY)),
        (Some("k1"), Some("U-1"))
    );
    assert_eq!(svc.offset(1), Some(1));

    svc.run_once(t0 + 5000);
    t.dispatched();
    assert_eq!(count(&t.store, "Orders", 1), 1, "delivered exactly once");
    let found = t
        .store
        .query_messages("Orders", "k1", 10, 0, i64::MAX)
        .unwrap();
    assert_eq!(
        found.messages.len(),
        1,
        "the real message is indexed by key"
    );
}

#[test]
fn run_once_reports_the_wait_until_the_next_due_message() {
    let t = TestStore::with_levels("1s 5s");
    let put = send(&t.store, delayed("T", 0, "2", b"x", t.now()), 2);
    t.dispatched();
    let svc = service(&t);
    // Level 1 is drained (100 ms poll); level 2 waits 5 s for its head.
    assert_eq!(svc.run_once(put.store_timestamp_ms), 100);
    let t1 = TestStore::with_levels("5s");
    let put = send(&t1.store, delayed("T", 0, "1", b"x", t1.now()), 1);
    t1.dispatched();
    let svc1 = service(&t1);
    assert_eq!(svc1.run_once(put.store_timestamp_ms + 1200), 3800);
}

#[test]
fn levels_are_clamped_and_independent() {
    let t = TestStore::with_levels("1s 5s 10s");
    let now = t.now();
    send(&t.store, delayed("T", 0, "3", b"c", now), 3);
    send(&t.store, delayed("T", 0, "1", b"a", now), 3);
    send(&t.store, delayed("T", 0, "99", b"clamped", now), 3);
    send(&t.store, delayed("T", 0, "0", b"now", now), 3);
    t.dispatched();
    assert_eq!(count(&t.store, "T", 0), 1, "DELAY=0 is not delayed");
    assert_eq!(count(&t.store, SCHEDULE_TOPIC, 2), 2, "levels 3 and 99→3");
    let clamped = read_all(&t.store, SCHEDULE_TOPIC, 2);
    assert_eq!(clamped[1].1.properties.get(keys::DELAY), Some("3"));
    let svc = service(&t);
    svc.run_once(now + 1000);
    t.dispatched();
    let bodies: Vec<Vec<u8>> = read_all(&t.store, "T", 0)
        .iter()
        .map(|(_, m)| m.body.to_vec())
        .collect();
    assert_eq!(bodies, vec![b"now".to_vec(), b"a".to_vec()]);
    svc.run_once(now + 10_000);
    t.dispatched();
    assert_eq!(count(&t.store, "T", 0), 4);
    assert_eq!(svc.offset(3), Some(2));
}

#[test]
fn offsets_are_persisted_and_resumed_after_restart() {
    let mut t = TestStore::with_levels("1s 5s");
    let now = t.now();
    send(&t.store, delayed("T", 0, "1", b"first", now), 2);
    t.dispatched();
    let svc = service(&t);
    svc.run_once(now + 1000);
    svc.shutdown().unwrap();
    let path = config_file_path(t.store.root(), DELAY_OFFSET_JSON);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"offsetTable\":{1:1,2:0}}"
    );
    drop(svc);
    t.dispatched();
    assert_eq!(count(&t.store, "T", 0), 1);

    t.restart();
    send(&t.store, delayed("T", 0, "1", b"second", t.now()), 2);
    t.dispatched();
    let svc = service(&t);
    assert_eq!(svc.offset(1), Some(1), "loaded from delayOffset.json");
    svc.run_once(t.now() + 500);
    t.dispatched();
    assert_eq!(
        count(&t.store, "T", 0),
        1,
        "the first one is not delivered again"
    );
    svc.run_once(t.now() + 1000);
    t.dispatched();
    let bodies: Vec<Vec<u8>> = read_all(&t.store, "T", 0)
        .iter()
        .map(|(_, m)| m.body.to_vec())
        .collect();
    assert_eq!(bodies, vec![b"first".to_vec(), b"second".to_vec()]);
}

#[test]
fn saved_offsets_beyond_the_queue_are_corrected_on_load() {
    let t = TestStore::with_levels("1s");
    let path = config_file_path(t.store.root(), DELAY_OFFSET_JSON);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"offsetTable\":{1:50}}").unwrap();
    send(&t.store, delayed("T", 0, "1", b"x", t.now()), 1);
    t.dispatched();
    let svc = service(&t);
    assert_eq!(svc.offset(1), Some(1), "clamped to the queue's max offset");
}

#[test]
fn custom_table_with_19_levels() {
    let levels = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h 1d";
    let t = TestStore::with_levels(levels);
    let svc = service(&t);
    assert_eq!(svc.max_delay_level(), 19);
    assert_eq!(svc.delay_levels_ms()[18], 86_400_000);
    let put = send(&t.store, delayed("T", 3, "19", b"day", t.now()), 19);
    send(&t.store, delayed("T", 3, "25", b"clamped", t.now()), 19);
    t.dispatched();
    assert_eq!(count(&t.store, SCHEDULE_TOPIC, 18), 2);
    let sched = read_all(&t.store, SCHEDULE_TOPIC, 18);
    assert_eq!(sched[0].0.tags_code, put.store_timestamp_ms + 86_400_000);
    svc.run_once(put.store_timestamp_ms + 3_600_000);
    t.dispatched();
    assert_eq!(count(&t.store, "T", 3), 0, "an hour is not a day");
    svc.run_once(put.store_timestamp_ms + 86_400_000);
    t.dispatched();
    assert_eq!(count(&t.store, "T", 3), 2);
}

#[test]
fn service_thread_delivers_when_the_clock_passes_the_delivery_time() {
    let t = TestStore::with_levels("1s 5s");
    let svc = service(&t);
    svc.start().unwrap();
    send(&t.store, delayed("T", 0, "2", b"later", t.now()), 2);
    t.dispatched();
    svc.wakeup();
    t.clock.advance(4_000);
    svc.wakeup();
    t.dispatched();
    assert_eq!(count(&t.store, "T", 0), 0);
    t.clock.advance(1_000);
    common::wait_until("delivery by the schedule thread", || {
        svc.wakeup();
        count(&t.store, "T", 0) == 1
    });
    common::wait_until("offsets persisted by the thread", || {
        let path = config_file_path(t.store.root(), DELAY_OFFSET_JSON);
        t.clock.advance(100);
        svc.wakeup();
        std::fs::read_to_string(path).is_ok_and(|s| s.contains("2:1"))
    });
    svc.shutdown().unwrap();
    assert_eq!(svc.offset(2), Some(1));
}

#[test]
fn a_schedule_record_without_real_topic_is_skipped() {
    let t = TestStore::with_levels("1s");
    let bad = message(SCHEDULE_TOPIC, 0, b"bad", &[("DELAY", "1")], t.now());
    assert!(broker::inner_message::is_stored(
        &broker::inner_message::put_message_ext(&t.store, &bad)
    ));
    send(&t.store, delayed("T", 0, "1", b"good", t.now()), 1);
    t.dispatched();
    let svc = service(&t);
    svc.run_once(t.now() + 1000);
    t.dispatched();
    let bodies: Vec<Vec<u8>> = read_all(&t.store, "T", 0)
        .iter()
        .map(|(_, m)| m.body.to_vec())
        .collect();
    assert_eq!(bodies, vec![b"good".to_vec()]);
    assert_eq!(svc.offset(1), Some(2));
}
