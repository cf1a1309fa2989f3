//! Lite pull consumer over loopback: assign + poll, seek, manual and automatic commits,
//! subscribe mode with rebalancing, pause/resume.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use client::consumer::{LitePullConsumer, LitePullConsumerConfig};
use client::{ConsumeFrom, Error, Message, MessageExt, MessageQueue, Producer};
use support::{wait_until, Cluster, WAIT};

fn produce(cluster: &Cluster, topic: &str, n: usize) -> BTreeSet<String> {
    let p = Producer::builder("PG")
        .name_server(&cluster.namesrv_addr())
        .start()
        .unwrap();
    (0..n)
        .map(|i| p.send(Message::new(topic, format!("m{i}"))).unwrap().msg_id)
        .collect()
}

/// Polls until `want` messages arrived (or the deadline passes).
fn poll_n(c: &LitePullConsumer, want: usize) -> Vec<MessageExt> {
    let mut got = Vec::new();
    assert!(
        wait_until(WAIT, || {
            got.extend(c.poll(Duration::from_millis(50)).unwrap());
            got.len() >= want
        }),
        "polled {} of {want}",
        got.len()
    );
    got
}

fn ids(msgs: &[MessageExt]) -> BTreeSet<String> {
    msgs.iter()
        .filter_map(|m| m.uniq_key().map(str::to_string))
        .collect()
}

fn queues() -> Vec<MessageQueue> {
    (0..2)
        .map(|q| MessageQueue::new("T", "broker-a", q))
        .collect()
}

fn lite(cluster: &Cluster, group: &str, auto_commit: bool) -> LitePullConsumer {
    support::init_log();
    LitePullConsumer::builder(group)
        .name_server(&cluster.namesrv_addr())
        .consume_from(ConsumeFrom::FirstOffset)
        .auto_commit(auto_commit)
        .start()
        .unwrap()
}

#[test]
fn assign_poll_and_seek() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    let sent = produce(&cluster, "T", 10);
    let c = lite(&cluster, "LG", true);
    assert_eq!(c.fetch_message_queues("T").unwrap(), queues());
    c.assign(queues()).unwrap();
    assert_eq!(c.assignment(), queues());
    let got = poll_n(&c, 10);
    assert_eq!(ids(&got), sent);
    let q0 = &queues()[0];
    let q0_count = got.iter().filter(|m| m.queue_id == 0).count();
    c.seek(q0, 0).unwrap();
    let again = poll_n(&c, q0_count);
    assert!(again.iter().all(|m| m.queue_id == 0));
    let offsets: Vec<i64> = again.iter().map(|m| m.queue_offset).collect();
    assert_eq!(
        offsets,
        (0..q0_count as i64).collect::<Vec<_>>(),
        "from the sought offset, in order"
    );
    assert!(matches!(c.seek(q0, 1_000), Err(Error::IllegalState(_))));
    let stranger = MessageQueue::new("T", "broker-a", 9);
    assert!(matches!(c.seek(&stranger, 0), Err(Error::IllegalState(_))));
    c.seek_to_end(q0).unwrap();
    c.seek_to_begin(&queues()[1]).unwrap();
    let q1 = poll_n(&c, 10 - q0_count);
    assert!(q1.iter().all(|m| m.queue_id == 1));
    assert!(
        matches!(c.subscribe("T", "*"), Err(Error::IllegalState(_))),
        "assign and subscribe do not mix"
    );
}

#[test]
fn manual_commit_reaches_the_broker_only_on_commit() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    produce(&cluster, "T", 6);
    let c = lite(&cluster, "LG", false);
    c.assign(queues()).unwrap();
    let got = poll_n(&c, 6);
    let broker_offset = |q: i32| {
        cluster.brokers[0]
            .state()
            .offsets
            .get(&("LG".to_string(), "T".to_string(), q))
            .copied()
    };
    assert_eq!((broker_offset(0), broker_offset(1)), (None, None));
    c.commit().unwrap();
    let per_queue = |q: i32| got.iter().filter(|m| m.queue_id == q).count() as i64;
    assert_eq!(broker_offset(0), Some(per_queue(0)));
    assert_eq!(broker_offset(1), Some(per_queue(1)));
    assert_eq!(c.committed(&queues()[0]).unwrap(), Some(per_queue(0)));
    drop(c);
    // A new consumer of the group resumes after the commit.
    let c2 = lite(&cluster, "LG", false);
    c2.assign(queues()).unwrap();
    let more = produce(&cluster, "T", 2);
    assert_eq!(ids(&poll_n(&c2, 2)), more);
}

#[test]
fn auto_commit_persists_polled_offsets() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    produce(&cluster, "T", 3);
    let config = LitePullConsumerConfig {
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit_interval_ms: 1,
        ..LitePullConsumerConfig::default()
    };
    let c = LitePullConsumer::builder("AG")
        .name_server(&cluster.namesrv_addr())
        .config(config)
        .start()
        .unwrap();
    c.assign(vec![MessageQueue::new("T", "broker-a", 0)])
        .unwrap();
    poll_n(&c, 3);
    let key = ("AG".to_string(), "T".to_string(), 0);
    assert!(wait_until(WAIT, || {
        let _ = c.poll(Duration::from_millis(1));
        cluster.brokers[0].state().offsets.get(&key) == Some(&3)
    }));
}

#[test]
fn subscribe_mode_rebalances_between_members() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 4);
    let a = lite(&cluster, "SG", true);
    a.subscribe("T", "*").unwrap();
    assert!(wait_until(WAIT, || a.assignment().len() == 4));
    let b = lite(&cluster, "SG", true);
    b.subscribe("T", "*").unwrap();
    assert!(wait_until(WAIT, || a.assignment().len() == 2
        && b.assignment().len() == 2));
    let sa: BTreeSet<_> = a.assignment().into_iter().collect();
    let sb: BTreeSet<_> = b.assignment().into_iter().collect();
    assert!(sa.is_disjoint(&sb));
    let sent = produce(&cluster, "T", 12);
    let mut got = BTreeSet::new();
    assert!(wait_until(WAIT, || {
        got.extend(ids(&a.poll(Duration::from_millis(20)).unwrap()));
        got.extend(ids(&b.poll(Duration::from_millis(20)).unwrap()));
        got == sent
    }));
}

#[test]
fn paused_queues_are_not_pulled() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    let c = lite(&cluster, "PG2", true);
    c.assign(queues()).unwrap();
    c.pause(&queues()[..1]);
    let p = Producer::builder("PG")
        .name_server(&cluster.namesrv_addr())
        .start()
        .unwrap();
    for q in &queues() {
        p.send_to_queue(Message::new("T", format!("to {}", q.queue_id)), q)
            .unwrap();
    }
    let got = poll_n(&c, 1);
    assert!(got.iter().all(|m| m.queue_id == 1));
    assert!(
        c.poll(Duration::from_millis(300)).unwrap().is_empty(),
        "queue 0 stays paused"
    );
    c.resume(&queues()[..1]);
    let got = poll_n(&c, 1);
    assert_eq!(got[0].queue_id, 0);
}
