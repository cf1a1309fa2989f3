//! Push consumers against the real NameServer and brokers: clustering delivers every message
//! exactly once, three members split eight queues with one owner each, broadcasting delivers
//! to everybody, a restarted member resumes from the committed offset, RECONSUME_LATER comes
//! back through the group's %RETRY% topic after the delay level's time, tag expressions
//! deliver only matching messages, and a delayed message waits for its level (1 s here).

mod real_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{
    ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, MessageExt, MessageModel,
    MessageQueue, PushConsumer,
};
use real_support::*;

fn topic_queues(c: &PushConsumer, topic: &str) -> BTreeSet<MessageQueue> {
    c.assigned_queues()
        .into_iter()
        .filter(|q| q.topic == topic)
        .collect()
}

#[test]
fn clustering_members_receive_everything_exactly_once() {
    let cluster = RealCluster::start(2, &[("ClusterT", 4)]);
    let p = producer(&cluster, "cluster-sender");
    send_n(&p, "ClusterT", "before", 40, "A");
    let seen: Seen = Arc::default();
    let member = || {
        push_consumer(&cluster, "ClusterG")
            .subscribe("ClusterT", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .listener_concurrently(collecting(&seen))
            .start()
            .unwrap()
    };
    let first = member();
    assert!(wait_until(WAIT, || body_set(&seen) == names("before", 40)));
    // A queue handed over before its offset is committed is consumed again by its new owner
    // (RocketMQ is at-least-once across rebalances): let the first member commit first.
    assert!(wait_until(WAIT, || cluster.fully_committed("ClusterG", "ClusterT", 4)));
    let second = member();
    let split = || {
        topic_queues(&first, "ClusterT").len() == 4 && topic_queues(&second, "ClusterT").len() == 4
    };
    assert!(wait_stable(WAIT, Duration::from_millis(1_500), split));
    send_n(&p, "ClusterT", "after", 40, "A");
    let all: BTreeSet<String> = names("before", 40)
        .union(&names("after", 40))
        .cloned()
        .collect();
    assert!(
        wait_until(WAIT, || body_set(&seen) == all),
        "got {} of 80",
        body_set(&seen).len()
    );
    assert!(
        wait_until(WAIT, || cluster.fully_committed("ClusterG", "ClusterT", 4)),
        "offsets committed up to the end of every queue"
    );
    let counts = body_counts(&seen);
    assert!(counts.values().all(|n| *n == 1), "duplicates: {counts:?}");
}

#[test]
fn three_members_own_eight_queues_exactly_once() {
    let cluster = RealCluster::start(2, &[("RebT", 4)]);
    let seen: Vec<Seen> = (0..3).map(|_| Seen::default()).collect();
    let members: Vec<PushConsumer> = seen
        .iter()
        .map(|s| {
            push_consumer(&cluster, "RebG")
                .subscribe("RebT", "*")
                .listener_concurrently(collecting(s))
                .start()
                .unwrap()
        })
        .collect();
    let one_owner_each = || {
        let sets: Vec<BTreeSet<MessageQueue>> =
            members.iter().map(|m| topic_queues(m, "RebT")).collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<&MessageQueue> = sets.iter().flatten().collect();
        let mut sizes: Vec<usize> = sets.iter().map(BTreeSet::len).collect();
        sizes.sort();
        total == 8 && union.len() == 8 && sizes == [2, 3, 3]
    };
    assert!(
        wait_stable(WAIT, Duration::from_millis(2_500), one_owner_each),
        "assignments: {:?}",
        members
            .iter()
            .map(|m| topic_queues(m, "RebT"))
            .collect::<Vec<_>>()
    );
    for i in 0..2 {
        assert_eq!(cluster.consumer_ids(i, "RebG").len(), 3);
    }
    let p = producer(&cluster, "reb-sender");
    send_n(&p, "RebT", "m", 64, "A");
    let all = names("m", 64);
    let union = || -> BTreeSet<String> { seen.iter().flat_map(body_set).collect() };
    assert!(wait_until(WAIT, || union() == all));
    for (member, s) in members.iter().zip(&seen) {
        let owned = topic_queues(member, "RebT");
        for m in s.lock().unwrap().iter() {
            let mq = MessageQueue::new("RebT", store_broker(&cluster, m), m.queue_id);
            assert!(owned.contains(&mq), "{mq} delivered to a non-owner");
        }
    }
    let total: usize = seen.iter().map(|s| s.lock().unwrap().len()).sum();
    assert_eq!(total, 64, "each message to one member once");
}

/// The broker name of the broker that stored `m`.
fn store_broker(cluster: &RealCluster, m: &MessageExt) -> String {
    let host = m.store_host.to_string();
    let i = (0..2).find(|i| cluster.broker_addr(*i) == host).unwrap();
    broker_name(i)
}

#[test]
fn broadcasting_delivers_everything_to_every_member() {
    let cluster = RealCluster::start(1, &[("CastT", 4)]);
    let dir = tempfile::tempdir().unwrap();
    let seen: Vec<Seen> = (0..3).map(|_| Seen::default()).collect();
    let members: Vec<PushConsumer> = seen
        .iter()
        .map(|s| {
            push_consumer(&cluster, "CastG")
                .message_model(MessageModel::Broadcasting)
                .offset_store_dir(dir.path())
                .subscribe("CastT", "*")
                .consume_from(ConsumeFrom::FirstOffset)
                .listener_concurrently(collecting(s))
                .start()
                .unwrap()
        })
        .collect();
    assert!(wait_until(WAIT, || members.iter().all(|m| topic_queues(
        m, "CastT"
    )
    .len()
        == 4)));
    let p = producer(&cluster, "cast-sender");
    send_n(&p, "CastT", "m", 30, "A");
    let all = names("m", 30);
    assert!(wait_until(WAIT, || seen.iter().all(|s| body_set(s) == all)));
    for s in &seen {
        assert_eq!(s.lock().unwrap().len(), 30, "once per member");
    }
    assert_eq!(
        cluster.committed(0, "CastG", "CastT", 0),
        None,
        "broadcasting offsets stay local"
    );
}

#[test]
fn a_restarted_member_resumes_from_the_committed_offset() {
    let cluster = RealCluster::start(1, &[("ResumeT", 4)]);
    let namesrv = cluster.namesrv_addr();
    let sender = std::thread::spawn(move || {
        let p = client::Producer::builder("resume-sender")
            .client_config(fast_config(&namesrv))
            .start()
            .unwrap();
        send_n(&p, "ResumeT", "m", 300, "A");
    });
    let first: Seen = Arc::default();
    let a = push_consumer(&cluster, "ResumeG")
        .subscribe("ResumeT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&first))
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || first.lock().unwrap().len() >= 40));
    a.close();
    let committed: BTreeMap<i32, i64> = (0..4)
        .map(|q| {
            (
                q,
                cluster.committed(0, "ResumeG", "ResumeT", q).unwrap_or(0),
            )
        })
        .collect();
    let second: Seen = Arc::default();
    let _b = push_consumer(&cluster, "ResumeG")
        .subscribe("ResumeT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&second))
        .start()
        .unwrap();
    sender.join().unwrap();
    let all = names("m", 300);
    let union = || -> BTreeSet<String> {
        body_set(&first)
            .union(&body_set(&second))
            .cloned()
            .collect()
    };
    assert!(wait_until(WAIT, || union() == all), "no message lost");
    for m in second.lock().unwrap().iter() {
        assert!(
            m.queue_offset >= committed[&m.queue_id],
            "queue {} redelivered offset {} below the committed {}",
            m.queue_id,
            m.queue_offset,
            committed[&m.queue_id]
        );
    }
    let duplicates = body_set(&first).intersection(&body_set(&second)).count() as i64;
    let committed_total: i64 = committed.values().sum();
    assert!(
        duplicates <= first.lock().unwrap().len() as i64 - committed_total,
        "duplicates are only the consumed-but-uncommitted messages"
    );
    assert!(committed_total > 0, "the first member committed progress");
}

#[test]
fn reconsume_later_redelivers_through_the_retry_topic_after_the_delay() {
    let cluster = RealCluster::start(1, &[("LaterT", 2)]);
    type Delivery = (String, i32, String, Instant);
    let deliveries: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let log = deliveries.clone();
    let _c = push_consumer(&cluster, "LaterG")
        .subscribe("LaterT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(move |msgs: &[MessageExt], ctx: &mut ConcurrentContext| {
            let mut later = false;
            for m in msgs {
                let body = String::from_utf8_lossy(&m.body).into_owned();
                later |= body.starts_with("later") && m.reconsume_times == 0;
                let entry = (
                    body,
                    m.reconsume_times,
                    ctx.queue.topic.clone(),
                    Instant::now(),
                );
                log.lock().unwrap().push(entry);
            }
            if later {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .consume_batch_size(1)
        .start()
        .unwrap();
    let p = producer(&cluster, "later-sender");
    send_n(&p, "LaterT", "later", 3, "A");
    send_n(&p, "LaterT", "ok", 3, "A");
    let of = |body: &str| -> Vec<Delivery> {
        deliveries
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.0 == body)
            .cloned()
            .collect()
    };
    let redelivered = || (0..3).all(|i| of(&format!("later-{i}")).len() >= 2);
    assert!(
        wait_until(WAIT, redelivered),
        "{:?}",
        deliveries.lock().unwrap()
    );
    for i in 0..3 {
        let d = of(&format!("later-{i}"));
        assert_eq!((d[0].1, d[0].2.as_str()), (0, "LaterT"));
        assert_eq!((d[1].1, d[1].2.as_str()), (1, "%RETRY%LaterG"));
        let waited = d[1].3 - d[0].3;
        assert!(
            waited >= Duration::from_millis(950),
            "redelivered after {waited:?}"
        );
        assert_eq!(of(&format!("ok-{i}")).len(), 1);
    }
    let retry_committed = || {
        let max = cluster.max_offset(0, "%RETRY%LaterG", 0);
        max >= 3 && cluster.committed(0, "LaterG", "%RETRY%LaterG", 0) == Some(max)
    };
    assert!(wait_until(WAIT, retry_committed), "retry queue consumed");
    for i in 0..3 {
        assert_eq!(
            of(&format!("later-{i}")).len(),
            2,
            "consumed once after the retry"
        );
    }
}

#[test]
fn tag_expressions_deliver_only_matching_messages() {
    let cluster = RealCluster::start(1, &[("TagT", 2)]);
    let p = producer(&cluster, "tag-sender");
    for tag in ["TagA", "TagB", "TagC"] {
        send_n(&p, "TagT", tag, 10, tag);
    }
    for i in 0..5 {
        p.send(client::Message::new("TagT", format!("untagged-{i}")))
            .unwrap();
    }
    // Sent last, to both queues: once they arrive, everything before them was passed.
    send_n(&p, "TagT", "tail", 4, "TagB");
    let seen: Seen = Arc::default();
    let _c = push_consumer(&cluster, "TagG")
        .subscribe("TagT", "TagA || TagB")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    let wanted: BTreeSet<String> = [names("TagA", 10), names("TagB", 10), names("tail", 4)]
        .into_iter()
        .flatten()
        .collect();
    assert!(wait_until(WAIT, || body_set(&seen) == wanted));
    assert_eq!(
        seen.lock().unwrap().len(),
        24,
        "each match once, nothing else"
    );
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|m| matches!(m.tags(), Some("TagA" | "TagB"))));
}

#[test]
fn a_delayed_message_is_delivered_after_its_level() {
    let cluster = RealCluster::start(1, &[("DelayT", 2)]);
    let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let log = arrivals.clone();
    let _c = push_consumer(&cluster, "DelayG")
        .subscribe("DelayT", "*")
        .listener_concurrently(move |msgs: &[MessageExt], _: &mut ConcurrentContext| {
            for m in msgs {
                let body = String::from_utf8_lossy(&m.body).into_owned();
                log.lock().unwrap().push((body, Instant::now()));
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    let p = producer(&cluster, "delay-sender");
    let sent = Instant::now();
    let delayed = client::Message::new("DelayT", "delayed").with_delay_level(2);
    assert_eq!(p.send(delayed).unwrap().status, client::SendStatus::SendOk);
    p.send(client::Message::new("DelayT", "plain")).unwrap();
    assert!(wait_until(WAIT, || arrivals.lock().unwrap().len() == 2));
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(
        arrivals[0].0, "plain",
        "the plain message overtakes the delayed one"
    );
    assert_eq!(arrivals[1].0, "delayed");
    let waited = arrivals[1].1 - sent;
    assert!(
        waited >= Duration::from_millis(950),
        "delivered after {waited:?}"
    );
}
