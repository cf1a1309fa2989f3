//! Orderly consumption across a rebalance, against the real broker: consumer A starts,
//! ordered messages flow, consumer B joins mid-stream and A stops. Queue locks
//! (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) make sure only one member consumes a queue at a time, so
//! every key's steps are consumed once each, in order.

mod real_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use client::{ConsumeFrom, ConsumeOrderlyStatus, MessageExt, OrderlyContext, PushConsumer};
use real_support::*;

const KEYS: usize = 12;
const STEPS: u32 = 40;

type Steps = Arc<Mutex<Vec<(String, u32)>>>;

fn member(cluster: &RealCluster, steps: &Steps) -> PushConsumer {
    let steps = steps.clone();
    push_consumer(cluster, "SeqG")
        .subscribe("SeqT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_orderly(move |msgs: &[MessageExt], _: &mut OrderlyContext| {
            let mut steps = steps.lock().unwrap();
            for m in msgs {
                let body = String::from_utf8_lossy(&m.body).into_owned();
                let (key, step) = body.split_once(':').unwrap();
                steps.push((key.to_string(), step.parse().unwrap()));
            }
            ConsumeOrderlyStatus::Success
        })
        .start()
        .unwrap()
}

fn owned(c: &PushConsumer) -> usize {
    c.assigned_queues()
        .iter()
        .filter(|q| q.topic == "SeqT")
        .count()
}

/// Sends steps `steps` of every key, ordered by key.
fn send_steps(p: &client::Producer, steps: std::ops::Range<u32>) {
    for step in steps {
        for key in 0..KEYS {
            let key = format!("k{key}");
            let msg = client::Message::new("SeqT", format!("{key}:{step}"));
            p.send_ordered(msg, &key).unwrap();
        }
    }
}

#[test]
fn ordered_keys_stay_in_order_across_a_rebalance() {
    let cluster = RealCluster::start(1, &[("SeqT", 8)]);
    let p = producer(&cluster, "seq-sender");
    let steps: Steps = Arc::default();
    let consumed = || steps.lock().unwrap().len();
    let a = member(&cluster, &steps);
    assert!(wait_until(WAIT, || owned(&a) == 8));
    send_steps(&p, 0..STEPS / 2);
    assert!(wait_until(WAIT, || consumed() >= KEYS * 4));
    // B joins while A still has messages to consume; more arrive during the handover.
    let b = member(&cluster, &steps);
    send_steps(&p, STEPS / 2..STEPS * 3 / 4);
    assert!(
        wait_until(WAIT, || owned(&a) == 4 && owned(&b) == 4),
        "B takes half of the queues while A still runs"
    );
    a.close();
    send_steps(&p, STEPS * 3 / 4..STEPS);
    assert!(
        wait_until(WAIT, || owned(&b) == 8),
        "B takes over A's queues"
    );
    let total = KEYS * STEPS as usize;
    assert!(wait_until(WAIT, || consumed() >= total));
    let mut per_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (key, step) in steps.lock().unwrap().iter() {
        per_key.entry(key.clone()).or_default().push(*step);
    }
    assert_eq!(per_key.len(), KEYS);
    for (key, seq) in per_key {
        assert_eq!(
            seq,
            (0..STEPS).collect::<Vec<_>>(),
            "key {key}: once each, in order"
        );
    }
}
