//! Producers against the real NameServer and brokers: every send mode (sync, future, callback,
//! one-way, batch, ordered) and what its SendResult says, checked against what the brokers
//! then serve; topic auto-creation through TBW102; retries on the other broker when one is
//! down.

mod real_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use client::{ClientConfig, Message, MessageExt, Producer, SendResult, SendStatus};
use protocol::message::decode_offset_msg_id;
use real_support::{broker_name, fast_config, read_all, wait_until, RealCluster, WAIT};

fn producer(cluster: &RealCluster, group: &str) -> Producer {
    Producer::builder(group)
        .client_config(fast_config(&cluster.namesrv_addr()))
        .start()
        .unwrap()
}

/// Asserts `r` is a stored send of `topic` whose offset msgId names the broker of its queue.
fn assert_stored(cluster: &RealCluster, r: &SendResult, topic: &str) -> (String, i64) {
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.queue.topic, topic);
    assert_eq!(r.msg_id.len(), 32, "UNIQ_KEY msgId {}", r.msg_id);
    let index = usize::from(r.queue.broker_name.as_bytes()[7] - b'a');
    let (host, phy) = decode_offset_msg_id(&r.offset_msg_id).unwrap();
    assert_eq!(host.to_string(), cluster.broker_addr(index), "{r:?}");
    assert!(phy >= 0);
    (r.msg_id.clone(), r.queue_offset)
}

/// The stored message of each UNIQ_KEY.
fn by_uniq_key(msgs: &[MessageExt]) -> BTreeMap<String, MessageExt> {
    msgs.iter()
        .map(|m| (m.uniq_key().unwrap().to_string(), m.clone()))
        .collect()
}

fn body(m: &MessageExt) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

#[test]
fn every_send_mode_stores_what_its_result_says() {
    let cluster = RealCluster::start(2, &[("SendT", 4)]);
    let p = producer(&cluster, "send-modes");
    let mut results: Vec<(String, SendResult)> = Vec::new();
    for i in 0..8 {
        let msg = Message::new("SendT", format!("sync-{i}"))
            .with_tags("TagS")
            .with_keys([format!("key-{i}")])
            .with_property("region", "eu");
        results.push((format!("sync-{i}"), p.send(msg).unwrap()));
    }
    let futures: Vec<_> = (0..8)
        .map(|i| p.send_async(Message::new("SendT", format!("future-{i}"))))
        .collect();
    for (i, f) in futures.into_iter().enumerate() {
        results.push((format!("future-{i}"), f.wait().unwrap()));
    }
    let (tx, rx) = mpsc::channel();
    for i in 0..8 {
        let tx = tx.clone();
        p.send_with_callback(Message::new("SendT", format!("callback-{i}")), move |r| {
            tx.send((format!("callback-{i}"), r)).unwrap();
        });
    }
    for _ in 0..8 {
        let (name, r) = rx.recv_timeout(WAIT).unwrap();
        results.push((name, r.unwrap()));
    }
    for i in 0..8 {
        p.send_oneway(Message::new("SendT", format!("oneway-{i}")))
            .unwrap();
    }
    let brokers: BTreeSet<&str> = results
        .iter()
        .map(|(_, r)| r.queue.broker_name.as_str())
        .collect();
    assert_eq!(brokers.len(), 2, "round-robin reaches both brokers");

    let stored = by_uniq_key(&read_all(&cluster.namesrv_addr(), "SendT", 32));
    assert_eq!(stored.len(), 32, "sync + future + callback + one-way");
    for (name, r) in &results {
        let (uniq, queue_offset) = assert_stored(&cluster, r, "SendT");
        let m = &stored[&uniq];
        assert_eq!(&body(m), name);
        assert_eq!(
            (m.queue_id, m.queue_offset),
            (r.queue.queue_id, queue_offset)
        );
        assert_eq!(
            m.commit_log_offset,
            decode_offset_msg_id(&r.offset_msg_id).unwrap().1
        );
    }
    let sync0 = stored.values().find(|m| body(m) == "sync-0").unwrap();
    assert_eq!(sync0.tags(), Some("TagS"));
    assert_eq!(sync0.keys().collect::<Vec<_>>(), ["key-0"]);
    assert_eq!(sync0.properties.get("region"), Some("eu"));
    let oneway: BTreeSet<String> = stored
        .values()
        .map(body)
        .filter(|b| b.starts_with("oneway-"))
        .collect();
    assert_eq!(oneway, real_support::names("oneway", 8));
}

#[test]
fn a_batch_is_stored_as_consecutive_messages_of_one_queue() {
    let cluster = RealCluster::start(1, &[("BatchT", 4)]);
    let p = producer(&cluster, "batch-sender");
    let batch: Vec<Message> = (0..10)
        .map(|i| Message::new("BatchT", format!("item-{i}")).with_tags("Batch"))
        .collect();
    let r = p.send_batch(batch).unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    let offset_ids: Vec<&str> = r.offset_msg_id.split(',').collect();
    assert_eq!((ids.len(), offset_ids.len()), (10, 10), "{r:?}");
    let phys: Vec<i64> = offset_ids
        .iter()
        .map(|id| {
            let (host, phy) = decode_offset_msg_id(id).unwrap();
            assert_eq!(host.to_string(), cluster.broker_addr(0));
            phy
        })
        .collect();
    assert!(phys.windows(2).all(|w| w[0] < w[1]), "{phys:?}");
    let stored = read_all(&cluster.namesrv_addr(), "BatchT", 10);
    assert_eq!(stored.len(), 10);
    for (i, m) in stored.iter().enumerate() {
        assert_eq!(m.queue_id, r.queue.queue_id);
        assert_eq!(m.queue_offset, r.queue_offset + i as i64);
        assert_eq!(body(m), format!("item-{i}"));
        assert_eq!(m.uniq_key(), Some(ids[i]));
        assert_eq!(m.tags(), Some("Batch"));
    }
}

#[test]
fn ordered_sends_keep_each_key_on_one_queue_in_order() {
    let cluster = RealCluster::start(2, &[("OrderT", 4)]);
    let p = producer(&cluster, "ordered-sender");
    let mut queue_of: BTreeMap<String, BTreeSet<(String, i32)>> = BTreeMap::new();
    for step in 0..5 {
        for order in 0..6 {
            let key = format!("order-{order}");
            let msg = Message::new("OrderT", format!("{key}:{step}")).with_keys([key.as_str()]);
            let r = p.send_ordered(msg, &key).unwrap();
            assert_eq!(r.status, SendStatus::SendOk);
            queue_of
                .entry(key)
                .or_default()
                .insert((r.queue.broker_name, r.queue.queue_id));
        }
    }
    assert!(queue_of.values().all(|qs| qs.len() == 1), "{queue_of:?}");
    let stored = read_all(&cluster.namesrv_addr(), "OrderT", 30);
    let mut steps: BTreeMap<String, Vec<(i64, u32)>> = BTreeMap::new();
    for m in &stored {
        let b = body(m);
        let (key, step) = b.split_once(':').unwrap();
        steps
            .entry(key.to_string())
            .or_default()
            .push((m.queue_offset, step.parse().unwrap()));
    }
    for (key, mut seq) in steps {
        seq.sort();
        let in_queue_order: Vec<u32> = seq.iter().map(|(_, s)| *s).collect();
        assert_eq!(in_queue_order, [0, 1, 2, 3, 4], "{key}");
    }
}

#[test]
fn a_new_topic_is_created_through_tbw102() {
    let cluster = RealCluster::start(1, &[]);
    let instance = cluster.instance();
    assert!(instance.query_topic_route("AutoT").unwrap().is_none());
    let p = producer(&cluster, "auto-creator");
    let r = p
        .send(Message::new("AutoT", "first").with_tags("A"))
        .unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.queue.broker_name, broker_name(0));
    let routed = wait_until(WAIT, || {
        instance
            .query_topic_route("AutoT")
            .ok()
            .flatten()
            .is_some_and(|route| route.queue_datas.iter().any(|q| q.write_queue_nums == 4))
    });
    assert!(
        routed,
        "the broker registers the created topic with 4 queues"
    );
    let r2 = p.send(Message::new("AutoT", "second")).unwrap();
    assert_eq!(r2.status, SendStatus::SendOk);
    let bodies: BTreeSet<String> = read_all(&cluster.namesrv_addr(), "AutoT", 2)
        .iter()
        .map(body)
        .collect();
    assert_eq!(bodies, ["first", "second"].map(String::from).into());
}

#[test]
fn sends_retry_on_the_other_broker_when_one_is_down() {
    let mut cluster = RealCluster::start(2, &[("FailT", 4)]);
    // An instance refreshes its routes 10 ms after it starts and then every 30 s (the
    // default): once past the first refresh, both producers keep routing to the stopped
    // broker, and only retries can save the sends.
    let started = Instant::now();
    let config = ClientConfig::new(&cluster.namesrv_addr());
    let retrying = Producer::builder("retrying")
        .client_config(config.clone())
        .start()
        .unwrap();
    let single_shot = Producer::builder("single-shot")
        .client_config(config)
        .retry_times(0)
        .latency_fault(false)
        .start()
        .unwrap();
    let mut warm_on_a = 0;
    for p in [&retrying, &single_shot] {
        let brokers: Vec<String> = (0..8)
            .map(|i| {
                p.send(Message::new("FailT", format!("warm-{i}")))
                    .unwrap()
                    .queue
                    .broker_name
            })
            .collect();
        assert_eq!(brokers.iter().collect::<BTreeSet<_>>().len(), 2);
        warm_on_a += brokers.iter().filter(|b| **b == broker_name(0)).count();
    }
    wait_until(WAIT, || started.elapsed() >= Duration::from_millis(200));
    cluster.stop_broker(1);
    for i in 0..10 {
        let r = retrying
            .send(Message::new("FailT", format!("after-{i}")))
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        assert_eq!(r.queue.broker_name, broker_name(0));
    }
    let failures = (0..10)
        .filter(|i| {
            single_shot
                .send(Message::new("FailT", format!("single-{i}")))
                .is_err()
        })
        .count();
    assert!(
        failures > 0,
        "without retries some sends hit the stopped broker"
    );
    let on_a = warm_on_a + 10 + (10 - failures);
    let stored: BTreeSet<String> = read_all(&cluster.namesrv_addr(), "FailT", on_a)
        .iter()
        .map(body)
        .filter(|b| b.starts_with("after-"))
        .collect();
    assert_eq!(stored, real_support::names("after", 10));
}
