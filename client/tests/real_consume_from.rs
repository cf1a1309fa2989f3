//! Where a new consumer group starts, against the real broker.
//!
//! Like RocketMQ, the broker answers QUERY_CONSUMER_OFFSET for a group without an offset
//! with 0 while the queue still holds its first message, so `consumeFromWhere` only matters
//! on a queue whose head was removed by retention. The aged-queue tests build one: 4 KiB
//! commitlog segments and 10-unit consume-queue files, a retention round run "100 hours
//! later" deletes all but the newest segment, and the queue's min offset moves past 0.

mod real_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use client::{ConsumeFrom, MessageQueue, PushConsumer};
use protocol::util::clock::now_millis;
use real_support::*;

const TOPIC: &str = "AgedT";

/// A 100-byte body for `name`.
fn padded(name: &str) -> String {
    format!("{name:-<100}")
}

fn unpadded(seen: &Seen) -> BTreeSet<String> {
    body_set(seen)
        .into_iter()
        .map(|b| b.trim_end_matches('-').to_string())
        .collect()
}

fn send_padded(cluster: &RealCluster, prefix: &str, n: usize) {
    let p = producer(cluster, &unique_group("aged-sender"));
    for i in 0..n {
        let msg = client::Message::new(TOPIC, padded(&format!("{prefix}-{i}")));
        p.send(msg).unwrap();
    }
}

/// One broker, `AgedT` with one queue, 40 `old-*` messages of which the first ones were
/// removed by retention. Returns the cluster and the queue's new min offset.
fn aged_cluster() -> (RealCluster, i64) {
    let cluster = RealCluster::start_with(1, &[(TOPIC, 1)], &|_, _, store| {
        store.commit_log_segment_bytes = 4096;
        store.consume_queue_file_bytes = 10 * 20;
    });
    send_padded(&cluster, "old", 40);
    assert!(wait_until(WAIT, || cluster.max_offset(0, TOPIC, 0) == 40));
    let store = cluster.broker(0).store();
    store.flush_now().unwrap();
    let later_ms = now_millis() as i64 + 100 * 3_600_000;
    let report = store.run_retention_once(later_ms, -1.0).unwrap();
    assert!(report.commit_log_segments > 0, "{report:?}");
    let mq = MessageQueue::new(TOPIC, broker_name(0), 0);
    let min = cluster
        .instance()
        .api()
        .get_min_offset(cluster.broker_addr(0), &mq, 3_000)
        .unwrap();
    assert!(min > 0 && min < 40, "min offset {min}");
    (cluster, min)
}

fn start(cluster: &RealCluster, group: &str, from: ConsumeFrom, seen: &Seen) -> PushConsumer {
    push_consumer(cluster, group)
        .subscribe(TOPIC, "*")
        .consume_from(from)
        .listener_concurrently(collecting(seen))
        .start()
        .unwrap()
}

fn owns_queue(c: &PushConsumer) -> bool {
    c.assigned_queues().iter().any(|q| q.topic == TOPIC)
}

#[test]
fn first_and_last_offset_on_an_aged_queue() {
    let (cluster, min) = aged_cluster();
    send_padded(&cluster, "mid", 5);
    let (first, last): (Seen, Seen) = (Arc::default(), Arc::default());
    let _f = start(&cluster, "FirstG", ConsumeFrom::FirstOffset, &first);
    let l = start(&cluster, "LastG", ConsumeFrom::LastOffset, &last);
    assert!(wait_until(WAIT, || owns_queue(&l)));
    send_padded(&cluster, "tail", 5);

    assert!(wait_until(WAIT, || unpadded(&last) == names("tail", 5)));
    let wanted: BTreeSet<String> = [names("mid", 5), names("tail", 5)]
        .into_iter()
        .flatten()
        .collect();
    assert!(wait_until(WAIT, || unpadded(&first).is_superset(&wanted)));
    let old: BTreeSet<usize> = unpadded(&first)
        .iter()
        .filter_map(|b| b.strip_prefix("old-"))
        .map(|i| i.parse().unwrap())
        .collect();
    // Everything still stored from the queue's new start: a non-empty suffix of `old`.
    let from = *old.first().expect("the surviving old messages");
    assert!(from as i64 >= min, "first old {from}, min {min}");
    assert_eq!(old, (from..40).collect::<BTreeSet<_>>());
    assert_eq!(
        last.lock().unwrap().len(),
        5,
        "LastOffset skips the backlog"
    );
}

#[test]
fn timestamp_on_an_aged_queue_starts_at_the_first_message_stored_after_it() {
    let (cluster, _) = aged_cluster();
    send_padded(&cluster, "mid", 5);
    let t = now_millis() + 1;
    assert!(wait_until(WAIT, || now_millis() > t));
    send_padded(&cluster, "new", 5);
    let seen: Seen = Arc::default();
    let _c = start(&cluster, "TimeG", ConsumeFrom::Timestamp(t as i64), &seen);
    assert!(wait_until(WAIT, || unpadded(&seen) == names("new", 5)));
    assert_eq!(seen.lock().unwrap().len(), 5);
}

#[test]
fn a_new_group_on_a_queue_still_holding_offset_0_starts_at_0() {
    let cluster = RealCluster::start(1, &[("YoungT", 1)]);
    let p = producer(&cluster, "young-sender");
    send_n(&p, "YoungT", "m", 5, "A");
    let seen: Seen = Arc::default();
    let _c = push_consumer(&cluster, "YoungG")
        .subscribe("YoungT", "*")
        .consume_from(ConsumeFrom::LastOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    assert!(
        wait_until(WAIT, || body_set(&seen) == names("m", 5)),
        "RocketMQ brokers answer 0 for a group without an offset on an unpruned queue"
    );
}
