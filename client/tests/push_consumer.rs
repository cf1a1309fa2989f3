//! Push consumer flows over loopback against the fake cluster: clustering delivery and
//! rebalancing, tag filters, RECONSUME_LATER → CONSUMER_SEND_MSG_BACK (and the retry-topic
//! fallback), the commit watermark, broadcasting with local offsets, and orderly consumption
//! with queue locks.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Mutex};

use client::consumer::{ConsistentHash, PushConsumer, PushConsumerBuilder};
use client::{
    ClientConfig, ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeOrderlyStatus,
    Message, MessageExt, MessageModel, MessageQueue, OrderlyContext, Producer,
};
use support::{wait_until, Cluster, WAIT};

type Seen = Arc<Mutex<Vec<MessageExt>>>;

fn collecting(
    seen: &Seen,
) -> impl Fn(&[MessageExt], &mut ConcurrentContext) -> ConsumeConcurrentlyStatus {
    let seen = seen.clone();
    move |msgs: &[MessageExt], _: &mut ConcurrentContext| {
        seen.lock().unwrap().extend(msgs.iter().cloned());
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

fn consumer(cluster: &Cluster, group: &str) -> PushConsumerBuilder {
    support::init_log();
    PushConsumer::builder(group)
        .name_server(&cluster.namesrv_addr())
        .consume_threads(4)
}

fn produce(cluster: &Cluster, topic: &str, n: usize, tag: &str) -> BTreeSet<String> {
    let p = Producer::builder("PG")
        .name_server(&cluster.namesrv_addr())
        .start()
        .unwrap();
    (0..n)
        .map(|i| {
            p.send(Message::new(topic, format!("{tag}-{i}")).with_tags(tag))
                .unwrap()
                .msg_id
        })
        .collect()
}

fn uniq_keys(seen: &Seen) -> BTreeSet<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|m| m.uniq_key().map(str::to_string))
        .collect()
}

#[test]
fn clustering_consumer_receives_everything_and_commits_offsets() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 4);
    let before = produce(&cluster, "T", 20, "A");
    let seen: Seen = Arc::default();
    let c = consumer(&cluster, "CG")
        .subscribe("T", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    let after = produce(&cluster, "T", 20, "A");
    let all: BTreeSet<String> = before.union(&after).cloned().collect();
    assert!(
        wait_until(WAIT, || uniq_keys(&seen) == all),
        "got {} of 40",
        uniq_keys(&seen).len()
    );
    assert_eq!(
        c.assigned_queues()
            .iter()
            .filter(|q| q.topic == "T")
            .count(),
        8
    );
    assert!(c.assigned_queues().iter().any(|q| q.topic == "%RETRY%CG"));
    c.close();
    let committed: i64 = cluster
        .brokers
        .iter()
        .flat_map(|b| {
            let st = b.state();
            st.offsets
                .iter()
                .filter(|((g, t, _), _)| g == "CG" && t == "T")
                .map(|(_, o)| *o)
                .collect::<Vec<_>>()
        })
        .sum();
    assert_eq!(
        committed, 40,
        "offsets persisted at close cover every message"
    );
    let unregistered = cluster.brokers[0]
        .state()
        .unregisters
        .iter()
        .any(|u| u.consumer_group.as_deref() == Some("CG"));
    assert!(unregistered);
}

#[test]
fn a_second_member_triggers_rebalance_and_queues_split_disjointly() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 4);
    let seen_a: Seen = Arc::default();
    let seen_b: Seen = Arc::default();
    let a = consumer(&cluster, "CG")
        .subscribe("T", "*")
        .listener_concurrently(collecting(&seen_a))
        .start()
        .unwrap();
    let t_queues = |c: &PushConsumer| -> BTreeSet<MessageQueue> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == "T")
            .collect()
    };
    assert!(wait_until(WAIT, || t_queues(&a).len() == 8));
    let b = consumer(&cluster, "CG")
        .subscribe("T", "*")
        .allocate_strategy(client::consumer::Averagely)
        .listener_concurrently(collecting(&seen_b))
        .start()
        .unwrap();
    // NOTIFY_CONSUMER_IDS_CHANGED makes `a` give up half its queues long before the 20 s
    // periodic rebalance.
    assert!(wait_until(WAIT, || t_queues(&a).len() == 4 && t_queues(&b).len() == 4));
    assert!(t_queues(&a).is_disjoint(&t_queues(&b)));
    let sent = produce(&cluster, "T", 40, "A");
    assert!(wait_until(WAIT, || {
        let got: BTreeSet<String> = uniq_keys(&seen_a)
            .union(&uniq_keys(&seen_b))
            .cloned()
            .collect();
        got == sent
    }));
    assert!(
        uniq_keys(&seen_a).is_disjoint(&uniq_keys(&seen_b)),
        "each message to one member"
    );
    drop(b);
    assert!(
        wait_until(WAIT, || t_queues(&a).len() == 8),
        "a takes everything back"
    );
}

#[test]
fn consistent_hash_members_share_queues() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 8);
    let noop =
        |_: &[MessageExt], _: &mut ConcurrentContext| ConsumeConcurrentlyStatus::ConsumeSuccess;
    let members: Vec<PushConsumer> = (0..3)
        .map(|_| {
            consumer(&cluster, "CH")
                .subscribe("T", "*")
                .allocate_strategy(ConsistentHash::default())
                .listener_concurrently(noop)
                .start()
                .unwrap()
        })
        .collect();
    let union_ok = || {
        let sets: Vec<BTreeSet<MessageQueue>> = members
            .iter()
            .map(|m| {
                m.assigned_queues()
                    .into_iter()
                    .filter(|q| q.topic == "T")
                    .collect()
            })
            .collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<&MessageQueue> = sets.iter().flatten().collect();
        total == 8 && union.len() == 8
    };
    assert!(wait_until(WAIT, union_ok));
}

#[test]
fn tag_expressions_filter_messages() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    let seen: Seen = Arc::default();
    let _c = consumer(&cluster, "CG")
        .subscribe("T", "TagA || TagB")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    let wanted: BTreeSet<String> = produce(&cluster, "T", 5, "TagA")
        .union(&produce(&cluster, "T", 5, "TagB"))
        .cloned()
        .collect();
    let unwanted = produce(&cluster, "T", 5, "TagC");
    assert!(wait_until(WAIT, || uniq_keys(&seen) == wanted));
    assert!(uniq_keys(&seen).is_disjoint(&unwanted));
}

#[test]
fn reconsume_later_sends_the_message_back_and_it_returns_with_its_topic() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let _c = consumer(&cluster, "CG")
        .subscribe("T", "*")
        .listener_concurrently(move |msgs: &[MessageExt], ctx: &mut ConcurrentContext| {
            s.lock().unwrap().extend(msgs.iter().cloned());
            if msgs[0].reconsume_times == 0 {
                ctx.delay_level_when_next_consume = 2;
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || !_c.assigned_queues().is_empty()));
    let id = produce(&cluster, "T", 1, "A").into_iter().next().unwrap();
    assert!(wait_until(WAIT, || seen.lock().unwrap().len() >= 2));
    let broker = &cluster.brokers[0];
    let backs = broker.state().send_backs.clone();
    assert_eq!(backs.len(), 1);
    assert_eq!((backs[0].group.as_str(), backs[0].delay_level), ("CG", 2));
    assert_eq!(backs[0].origin_topic.as_deref(), Some("T"));
    assert_eq!(backs[0].origin_msg_id.as_deref(), Some(id.as_str()));
    let seen = seen.lock().unwrap();
    let second = &seen[1];
    assert_eq!(second.topic, "T", "RETRY_TOPIC restored before user code");
    assert_eq!(second.reconsume_times, 1);
    assert_eq!(second.uniq_key(), Some(id.as_str()));
}

#[test]
fn failed_send_back_falls_back_to_the_retry_topic() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    cluster.brokers[0].state().fail_send_back = true;
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let c = consumer(&cluster, "CG")
        .subscribe("T", "*")
        .listener_concurrently(move |msgs: &[MessageExt], _: &mut ConcurrentContext| {
            s.lock().unwrap().extend(msgs.iter().cloned());
            if msgs[0].reconsume_times == 0 {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || !c.assigned_queues().is_empty()));
    let id = produce(&cluster, "T", 1, "A").into_iter().next().unwrap();
    assert!(wait_until(WAIT, || seen.lock().unwrap().len() >= 2));
    let retry = cluster.brokers[0].messages("%RETRY%CG");
    assert_eq!(retry.len(), 1);
    let r = &retry[0];
    assert_eq!(r.properties.get("RETRY_TOPIC"), Some("T"));
    assert_eq!(r.properties.get("ORIGIN_MESSAGE_ID"), Some(id.as_str()));
    assert_eq!(r.properties.get("DELAY"), Some("3"));
    assert_eq!(r.reconsume_times, 1, "RECONSUME_TIME moved into the header");
    let second = seen.lock().unwrap()[1].clone();
    assert_eq!((second.topic.as_str(), second.reconsume_times), ("T", 1));
}

#[test]
fn offsets_commit_only_up_to_the_lowest_unacknowledged_message() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let done = Arc::new(Mutex::new(0usize));
    let d = done.clone();
    let c = consumer(&cluster, "CG")
        .subscribe("T", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(move |msgs: &[MessageExt], _: &mut ConcurrentContext| {
            if msgs[0].queue_offset == 0 {
                let _ = release_rx.lock().unwrap().recv_timeout(WAIT);
            }
            *d.lock().unwrap() += 1;
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    produce(&cluster, "T", 5, "A");
    let mq = MessageQueue::new("T", "broker-a", 0);
    assert!(
        wait_until(WAIT, || *done.lock().unwrap() == 4),
        "offsets 1..=4 finish first"
    );
    assert_eq!(
        c.offsets().get(&mq).copied().unwrap_or(0),
        0,
        "offset 0 is still in flight"
    );
    release_tx.send(()).unwrap();
    assert!(wait_until(WAIT, || c.offsets().get(&mq) == Some(&5)));
}

#[test]
fn broker_offset_reset_replays_messages() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let seen: Seen = Arc::default();
    let c = consumer(&cluster, "RG")
        .subscribe("T", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    let sent = produce(&cluster, "T", 5, "A");
    assert!(wait_until(WAIT, || uniq_keys(&seen) == sent));
    let mq = MessageQueue::new("T", "broker-a", 0);
    assert!(wait_until(WAIT, || c.offsets().get(&mq) == Some(&5)));
    assert_eq!(
        cluster.brokers[0].reset_offset("RG", "T", &[(mq.clone(), 2)]),
        1
    );
    assert!(
        wait_until(WAIT, || seen.lock().unwrap().len() == 8),
        "offsets 2..5 delivered again"
    );
    let replayed: Vec<i64> = seen.lock().unwrap()[5..]
        .iter()
        .map(|m| m.queue_offset)
        .collect();
    let mut sorted = replayed.clone();
    sorted.sort();
    assert_eq!(sorted, [2, 3, 4]);
}

#[test]
fn consume_from_last_offset_skips_old_messages() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    let old = produce(&cluster, "T", 4, "A");
    let seen: Seen = Arc::default();
    let c = consumer(&cluster, "NEW")
        .subscribe("T", "*")
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || c.assigned_queues().len() >= 2));
    // "Last offset" is looked up when a queue's first pull starts, which may be after a batch
    // produced right now: produce batches until one arrives whole. Whatever arrives must be
    // new; the old messages must never be delivered.
    let mut produced_new = BTreeSet::new();
    assert!(wait_until(WAIT, || {
        let batch = produce(&cluster, "T", 4, "A");
        produced_new.extend(batch.iter().cloned());
        wait_until(std::time::Duration::from_millis(500), || {
            batch.is_subset(&uniq_keys(&seen))
        })
    }));
    assert!(uniq_keys(&seen).is_subset(&produced_new));
    assert!(uniq_keys(&seen).is_disjoint(&old));
}

#[test]
fn consume_from_timestamp_starts_at_the_first_later_message() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    produce(&cluster, "T", 3, "old");
    let last_old = cluster
        .messages("T")
        .iter()
        .map(|m| m.store_timestamp)
        .max()
        .unwrap();
    assert!(wait_until(WAIT, || protocol::util::clock::now_millis()
        as i64
        > last_old));
    let from = protocol::util::clock::now_millis() as i64;
    let new = produce(&cluster, "T", 3, "new");
    let seen: Seen = Arc::default();
    let _c = consumer(&cluster, "TS")
        .subscribe("T", "*")
        .consume_from(ConsumeFrom::Timestamp(from))
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || uniq_keys(&seen) == new));
}

#[test]
fn broadcasting_delivers_to_every_member_and_keeps_offsets_locally() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str, seen: &Seen| {
        let config = ClientConfig::new(&cluster.namesrv_addr()).with_instance_name(name);
        PushConsumer::builder("BG")
            .client_config(config)
            .message_model(MessageModel::Broadcasting)
            .consume_from(ConsumeFrom::FirstOffset)
            .offset_store_dir(dir.path())
            .subscribe("T", "*")
            .listener_concurrently(collecting(seen))
            .start()
            .unwrap()
    };
    let (seen1, seen2): (Seen, Seen) = (Arc::default(), Arc::default());
    let c1 = start("one", &seen1);
    let c2 = start("two", &seen2);
    let sent = produce(&cluster, "T", 10, "A");
    assert!(wait_until(WAIT, || uniq_keys(&seen1) == sent
        && uniq_keys(&seen2) == sent));
    let client_id = c1.instance().client_id().to_string();
    drop(c1);
    drop(c2);
    let file = dir.path().join(&client_id).join("BG").join("offsets.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:"#),
        "{text}"
    );
    assert!(
        cluster.brokers[0]
            .state()
            .offsets
            .keys()
            .all(|(g, _, _)| g != "BG"),
        "nothing on the broker"
    );
    // A restart of the same instance resumes after what it consumed.
    let seen3: Seen = Arc::default();
    let c3 = start("one", &seen3);
    let more = produce(&cluster, "T", 4, "B");
    assert!(wait_until(WAIT, || uniq_keys(&seen3) == more));
    assert!(uniq_keys(&seen3).is_disjoint(&sent));
    drop(c3);
}

/// Per queue: offsets consecutive, only offset 2 delivered twice (reconsume times 0 then 1).
fn assert_in_order_with_one_redelivery(seen: &[(i32, i64, i32)]) {
    let mut per_queue: BTreeMap<i32, Vec<(i64, i32)>> = BTreeMap::new();
    for (q, off, times) in seen {
        per_queue.entry(*q).or_default().push((*off, *times));
    }
    for (q, deliveries) in &per_queue {
        let offsets: Vec<i64> = deliveries.iter().map(|d| d.0).collect();
        let redelivered: Vec<i64> = offsets
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        assert!(
            redelivered.len() <= 1 && redelivered.iter().all(|o| *o == 2),
            "{q}: {offsets:?}"
        );
        let mut dedup = offsets.clone();
        dedup.dedup();
        assert!(
            dedup.windows(2).all(|w| w[1] == w[0] + 1),
            "queue {q} in order: {offsets:?}"
        );
        if !redelivered.is_empty() {
            let again = deliveries
                .iter()
                .filter(|d| d.0 == 2)
                .map(|d| d.1)
                .collect::<Vec<_>>();
            assert_eq!(
                again,
                [0, 1],
                "the same message again, reconsume times raised"
            );
        }
    }
}

#[test]
fn orderly_consumer_locks_queues_and_consumes_in_order() {
    let cluster = Cluster::start(1);
    cluster.create_topic("Orders", 2);
    let seen: Arc<Mutex<Vec<(i32, i64, i32)>>> = Arc::default();
    let s = seen.clone();
    let suspended_once = Arc::new(Mutex::new(false));
    let c = consumer(&cluster, "OG")
        .subscribe("Orders", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_orderly(move |msgs: &[MessageExt], ctx: &mut OrderlyContext| {
            let m = &msgs[0];
            s.lock()
                .unwrap()
                .push((m.queue_id, m.queue_offset, m.reconsume_times));
            let mut once = suspended_once.lock().unwrap();
            if m.queue_offset == 2 && !*once {
                *once = true;
                ctx.suspend_current_queue_time_ms = Some(10);
                return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
            }
            ConsumeOrderlyStatus::Success
        })
        .start()
        .unwrap();
    let p = Producer::builder("PG")
        .name_server(&cluster.namesrv_addr())
        .start()
        .unwrap();
    for i in 0..20 {
        let key = format!("order-{}", i % 2);
        p.send_ordered(Message::new("Orders", format!("{key}:{i}")), &key)
            .unwrap();
    }
    assert!(
        wait_until(WAIT, || seen.lock().unwrap().len() == 21),
        "20 messages + 1 redelivery"
    );
    assert_in_order_with_one_redelivery(&seen.lock().unwrap());
    let broker = &cluster.brokers[0];
    assert!(broker.state().lock_requests >= 1);
    let locks = broker.state().locks.clone();
    let client_id = c.instance().client_id().to_string();
    let held = locks
        .iter()
        .filter(|((_, mq), holder)| mq.topic == "Orders" && **holder == client_id);
    assert_eq!(held.count(), 2);
    drop(c);
    assert!(broker.state().locks.is_empty(), "locks released at close");
}

#[test]
fn a_topic_created_after_start_is_assigned_without_waiting_for_the_periodic_rebalance() {
    let cluster = Cluster::start(1);
    cluster.create_topic("Known", 1);
    let seen: Seen = Arc::default();
    let c = consumer(&cluster, "LateCG")
        .subscribe("Known", "*")
        .subscribe("Late", "*")
        .listener_concurrently(collecting(&seen))
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || !c.assigned_queues().is_empty()));
    cluster.create_topic("Late", 2);
    // The periodic rebalance runs every 20 s; an undecided topic is retried within ~1 s.
    let late = |c: &PushConsumer| {
        c.assigned_queues()
            .iter()
            .filter(|q| q.topic == "Late")
            .count()
    };
    assert!(wait_until(std::time::Duration::from_secs(5), || late(&c) == 2));
    let id = produce(&cluster, "Late", 1, "L")
        .into_iter()
        .next()
        .unwrap();
    assert!(wait_until(WAIT, || uniq_keys(&seen).contains(&id)));
}
