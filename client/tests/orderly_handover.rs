//! An orderly queue handed to another member while its listener is in the middle of a batch
//! (fake cluster): the rebalance waits for the batch (up to 1 s, then retries later), so the
//! batch is committed before the broker lock is released and the new owner neither consumes
//! the queue at the same time nor consumes the batch again.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};

use client::{
    ClientConfig, ConsumeFrom, ConsumeOrderlyStatus, Message, MessageExt, MessageQueue,
    OrderlyContext, Producer, PushConsumer,
};
use support::{wait_until, Cluster, WAIT};

const STEPS: i64 = 12;
/// The step at which the first member's listener blocks until the test opens the gate.
const GATE_STEP: i64 = 5;

/// Consumptions in call order: (queue id, offset, member).
type Log = Arc<Mutex<Vec<(i32, i64, &'static str)>>>;

/// Closed until the test opens it; counts listeners waiting at it.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, usize)>,
    cond: Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut st = self.state.lock().unwrap();
        st.1 += 1;
        self.cond.notify_all();
        while !st.0 {
            let (next, timeout) = self.cond.wait_timeout(st, WAIT).unwrap();
            st = next;
            assert!(!timeout.timed_out(), "the gate was never opened");
        }
    }

    fn waiting(&self) -> usize {
        self.state.lock().unwrap().1
    }

    fn open(&self) {
        self.state.lock().unwrap().0 = true;
        self.cond.notify_all();
    }
}

fn config(cluster: &Cluster) -> ClientConfig {
    let mut c = ClientConfig::new(&cluster.namesrv_addr());
    c.rebalance_interval_ms = 300;
    c.persist_consumer_offset_interval_ms = 200;
    c
}

fn member(
    cluster: &Cluster,
    log: &Log,
    name: &'static str,
    gate: Option<Arc<Gate>>,
) -> PushConsumer {
    let log = log.clone();
    PushConsumer::builder("HandoverG")
        .client_config(config(cluster))
        .consume_threads(4)
        .subscribe("HandoverT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_orderly(move |msgs: &[MessageExt], _: &mut OrderlyContext| {
            for m in msgs {
                log.lock().unwrap().push((m.queue_id, m.queue_offset, name));
                if let Some(gate) = gate.as_ref().filter(|_| m.queue_offset == GATE_STEP) {
                    gate.pass();
                }
            }
            ConsumeOrderlyStatus::Success
        })
        .start()
        .unwrap()
}

fn owned(c: &PushConsumer) -> usize {
    c.assigned_queues()
        .iter()
        .filter(|q| q.topic == "HandoverT")
        .count()
}

#[test]
fn a_queue_is_handed_over_only_after_its_batch_in_flight_is_committed() {
    support::init_log();
    let cluster = Cluster::start(1);
    cluster.create_topic("HandoverT", 2);
    let p = Producer::builder("HandoverP")
        .name_server(&cluster.namesrv_addr())
        .start()
        .unwrap();
    for step in 0..STEPS {
        for q in 0..2 {
            let mq = MessageQueue::new("HandoverT", "broker-a", q);
            p.send_to_queue(Message::new("HandoverT", format!("{q}:{step}")), &mq)
                .unwrap();
        }
    }
    let log: Log = Arc::default();
    let gate = Arc::new(Gate::default());
    let a = member(&cluster, &log, "A", Some(gate.clone()));
    assert!(
        wait_until(WAIT, || gate.waiting() == 2),
        "A blocks in both queues at step {GATE_STEP}"
    );
    let b = member(&cluster, &log, "B", None);
    let members = || {
        cluster.brokers[0]
            .state()
            .consumers
            .get("HandoverG")
            .map_or(0, |m| m.len())
    };
    assert!(wait_until(WAIT, || members() == 2));
    // A must give one queue up; its listener is still inside that queue's batch.
    a.rebalance_now();
    gate.open();
    assert!(
        wait_until(WAIT, || log.lock().unwrap().len() >= 2 * STEPS as usize
            && owned(&a) == 1
            && owned(&b) == 1),
        "{:?}",
        log.lock().unwrap()
    );
    let mut per_queue: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (q, offset, _) in log.lock().unwrap().iter() {
        per_queue.entry(*q).or_default().push(*offset);
    }
    for (q, offsets) in per_queue {
        assert_eq!(
            offsets,
            (0..STEPS).collect::<Vec<_>>(),
            "queue {q}: each message once, in order ({:?})",
            log.lock().unwrap()
        );
    }
}
