//! Producer flows over loopback against the fake NameServer and brokers: sync, async,
//! one-way, ordered and batch sends, retries on another broker, auto-created topics,
//! compression, validation and NameServer fail-over.

mod support;

use std::collections::BTreeSet;
use std::sync::mpsc;

use client::producer::{MessageExtBuilder, SelectQueue};
use client::{ClientConfig, ClientInstance, Error, Message, MessageQueue, Producer, SendStatus};
use protocol::message::{keys, sysflag};
use protocol::ResponseCode;
use support::{wait_until, Cluster, WAIT};

fn producer(cluster: &Cluster, group: &str) -> Producer {
    support::init_log();
    Producer::builder(group)
        .name_server(&cluster.namesrv_addr())
        .start()
        .expect("producer starts")
}

#[test]
fn sync_send_stores_the_message_and_reports_ids() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 4);
    let p = producer(&cluster, "PG");
    let msg = Message::new("T", "hello")
        .with_tags("TagA")
        .with_keys(["k1", "k2"])
        .with_property("color", "blue")
        .with_delay_level(2);
    let r = p.send(msg).unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.queue.topic, "T");
    assert_eq!(r.queue.broker_name, "broker-a");
    let stored = cluster.messages("T");
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    assert_eq!(m.body.as_ref(), b"hello");
    assert_eq!(m.uniq_key(), Some(r.msg_id.as_str()));
    assert_eq!(m.offset_msg_id(), r.offset_msg_id);
    assert_eq!(
        (m.queue_id, m.queue_offset),
        (r.queue.queue_id, r.queue_offset)
    );
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.keys().collect::<Vec<_>>(), ["k1", "k2"]);
    assert_eq!(m.properties.get("color"), Some("blue"));
    assert_eq!(m.properties.get(keys::DELAY), Some("2"));
}

#[test]
fn sends_round_robin_over_queues_and_brokers() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 2);
    let p = producer(&cluster, "PG");
    let queues: BTreeSet<(String, i32)> = (0..8)
        .map(|i| {
            let r = p.send(Message::new("T", format!("m{i}"))).unwrap();
            (r.queue.broker_name, r.queue.queue_id)
        })
        .collect();
    assert_eq!(
        queues.len(),
        4,
        "eight sends cover all four queues: {queues:?}"
    );
    assert_eq!(cluster.messages("T").len(), 8);
}

#[test]
fn system_busy_is_retried_on_another_broker() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 2);
    cluster
        .broker("broker-a")
        .state()
        .fail_next_sends
        .extend([ResponseCode::SYSTEM_BUSY; 20]);
    let p = producer(&cluster, "PG");
    for i in 0..6 {
        let r = p.send(Message::new("T", format!("m{i}"))).unwrap();
        assert_eq!(r.queue.broker_name, "broker-b");
    }
    assert!(cluster.broker("broker-a").state().send_requests >= 1);
    assert_eq!(cluster.broker("broker-b").messages("T").len(), 6);
    assert!(cluster.broker("broker-a").messages("T").is_empty());
}

#[test]
fn non_retryable_errors_fail_at_once() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 1);
    for b in &cluster.brokers {
        b.state()
            .fail_next_sends
            .extend([ResponseCode::MESSAGE_ILLEGAL; 3]);
    }
    let p = producer(&cluster, "PG");
    let e = p.send(Message::new("T", "x")).unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode::MESSAGE_ILLEGAL));
    let total: usize = cluster
        .brokers
        .iter()
        .map(|b| b.state().send_requests)
        .sum();
    assert_eq!(total, 1, "no retry after MESSAGE_ILLEGAL");
}

#[test]
fn retries_are_bounded() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    cluster.brokers[0]
        .state()
        .fail_next_sends
        .extend([ResponseCode::SYSTEM_BUSY; 10]);
    let p = Producer::builder("PG")
        .name_server(&cluster.namesrv_addr())
        .retry_times(1)
        .start()
        .unwrap();
    let e = p.send(Message::new("T", "x")).unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_BUSY));
    assert_eq!(cluster.brokers[0].state().send_requests, 2);
}

#[test]
fn async_sends_complete_through_futures_and_callbacks() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 2);
    let p = producer(&cluster, "PG");
    let futures: Vec<_> = (0..20)
        .map(|i| p.send_async(Message::new("T", format!("a{i}"))))
        .collect();
    let mut ids = BTreeSet::new();
    for f in futures {
        let r = f.wait().unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        ids.insert(r.msg_id);
    }
    assert_eq!(ids.len(), 20);
    let (tx, rx) = mpsc::channel();
    for i in 0..5 {
        let tx = tx.clone();
        p.send_with_callback(Message::new("T", format!("c{i}")), move |r| {
            tx.send(r).unwrap();
        });
    }
    for _ in 0..5 {
        assert!(rx.recv_timeout(WAIT).unwrap().is_ok());
    }
    assert_eq!(cluster.messages("T").len(), 25);
    let (tx, rx) = mpsc::channel();
    p.send_with_callback(Message::new("T", ""), move |r| tx.send(r).unwrap());
    assert!(matches!(
        rx.recv_timeout(WAIT).unwrap(),
        Err(Error::InvalidMessage(_))
    ));
}

#[test]
fn async_send_retries_on_another_broker() {
    let cluster = Cluster::start(2);
    cluster.create_topic("T", 1);
    cluster
        .broker("broker-a")
        .state()
        .fail_next_sends
        .extend([ResponseCode::SYSTEM_BUSY; 10]);
    let p = producer(&cluster, "PG");
    for i in 0..4 {
        let r = p
            .send_async(Message::new("T", format!("m{i}")))
            .wait()
            .unwrap();
        assert_eq!(r.queue.broker_name, "broker-b");
    }
}

#[test]
fn oneway_send_arrives() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 2);
    let p = producer(&cluster, "PG");
    for i in 0..3 {
        p.send_oneway(Message::new("T", format!("o{i}"))).unwrap();
    }
    assert!(wait_until(WAIT, || cluster.messages("T").len() == 3));
}

#[test]
fn ordered_sends_by_key_land_on_one_queue() {
    let cluster = Cluster::start(2);
    cluster.create_topic("Orders", 4);
    let p = producer(&cluster, "PG");
    for order in ["order-1", "order-2", "order-3"] {
        let queues: BTreeSet<MessageQueue> = (0..10)
            .map(|step| {
                let msg =
                    Message::new("Orders", format!("{order}:{step}")).with_sharding_key(order);
                p.send_ordered(msg, order).unwrap().queue
            })
            .collect();
        assert_eq!(queues.len(), 1, "{order}: {queues:?}");
        let q = queues.into_iter().next().unwrap();
        let bodies: Vec<String> = cluster.broker(&q.broker_name).state().queues
            [&("Orders".to_string(), q.queue_id)]
            .iter()
            .filter_map(|m| String::from_utf8(m.body.to_vec()).ok())
            .filter(|b| b.starts_with(order))
            .collect();
        let expected: Vec<String> = (0..10).map(|s| format!("{order}:{s}")).collect();
        assert_eq!(bodies, expected, "in order on one queue");
    }
    let target = MessageQueue::new("Orders", "broker-b", 3);
    let r = p
        .send_with_selector(
            Message::new("Orders", "pinned"),
            &SelectQueue::new(target.clone()),
        )
        .unwrap();
    assert_eq!(r.queue, target);
    let r = p
        .send_to_queue(Message::new("Orders", "direct"), &target)
        .unwrap();
    assert_eq!(r.queue, target);
    assert!(p
        .send_to_queue(Message::new("Other", "x"), &target)
        .is_err());
}

#[test]
fn batch_is_stored_as_consecutive_messages() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let p = producer(&cluster, "PG");
    let msgs: Vec<Message> = (0..3)
        .map(|i| {
            Message::new("T", format!("b{i}"))
                .with_tags("B")
                .with_keys([format!("k{i}")])
        })
        .collect();
    let r = p.send_batch(msgs).unwrap();
    let stored = cluster.messages("T");
    assert_eq!(stored.len(), 3);
    let uniq: Vec<&str> = stored.iter().filter_map(|m| m.uniq_key()).collect();
    assert_eq!(r.msg_id, uniq.join(","));
    assert_eq!(r.offset_msg_id.split(',').count(), 3);
    assert_eq!(r.queue_offset, 0);
    for (i, m) in stored.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.body.as_ref(), format!("b{i}").as_bytes());
        assert_eq!(m.keys().collect::<Vec<_>>(), [format!("k{i}")]);
    }
    let mixed = vec![Message::new("T", "a"), Message::new("U", "b")];
    assert!(matches!(p.send_batch(mixed), Err(Error::InvalidMessage(_))));
}

#[test]
fn unknown_topic_is_auto_created_through_tbw102() {
    let cluster = Cluster::start(1);
    cluster.enable_auto_create();
    let p = producer(&cluster, "PG");
    let r = p.send(Message::new("BrandNew", "first")).unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert!(r.queue.queue_id < 4, "at most defaultTopicQueueNums queues");
    assert_eq!(cluster.messages("BrandNew").len(), 1);
    assert_eq!(cluster.brokers[0].state().topics.get("BrandNew"), Some(&4));
    p.send(Message::new("BrandNew", "second")).unwrap();
    assert_eq!(cluster.messages("BrandNew").len(), 2);
}

#[test]
fn unknown_topic_without_auto_create_has_no_route() {
    let cluster = Cluster::start(1);
    let p = producer(&cluster, "PG");
    assert!(matches!(
        p.send(Message::new("Nope", "x")),
        Err(Error::NoRoute { .. })
    ));
}

#[test]
fn big_bodies_are_compressed() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let p = producer(&cluster, "PG");
    let body: String = "abcdefgh".repeat(2_000);
    p.send(Message::new("T", body.clone())).unwrap();
    let stored = &cluster.messages("T")[0];
    assert!(sysflag::is_compressed(stored.sys_flag));
    assert!(stored.body.len() < body.len() / 10);
    let small = p.send(Message::new("T", "tiny")).unwrap();
    let stored = cluster.messages("T");
    assert!(!sysflag::is_compressed(stored[1].sys_flag), "{small:?}");
}

#[test]
fn invalid_messages_never_reach_the_broker() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let p = Producer::builder("PG")
        .name_server(&cluster.namesrv_addr())
        .max_message_bytes(16)
        .start()
        .unwrap();
    let cases = [
        Message::new("T", ""),
        Message::new("T", "x".repeat(17)),
        Message::new("bad topic", "x"),
        Message::new("T", "x").with_property(keys::TRAN_MSG, "true"),
    ];
    for msg in cases {
        assert!(matches!(p.send(msg), Err(Error::InvalidMessage(_))));
    }
    assert_eq!(cluster.brokers[0].state().send_requests, 0);
}

#[test]
fn namesrv_failover_and_total_failure() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let dead = "127.0.0.1:1";
    let config = ClientConfig::new(&format!("{dead};{}", cluster.namesrv_addr()));
    let p = Producer::builder("PG")
        .client_config(config)
        .start()
        .unwrap();
    p.send(Message::new("T", "x")).unwrap();
    assert!(cluster.namesrv.route_queries() >= 1);
    let all_dead = Producer::builder("PG2")
        .name_server("127.0.0.1:1;127.0.0.1:2")
        .start()
        .unwrap();
    assert!(matches!(
        all_dead.send(Message::new("T", "x")),
        Err(Error::NoNameServer { .. })
    ));
}

#[test]
fn shared_instance_and_unregister_on_drop() {
    let cluster = Cluster::start(1);
    cluster.create_topic("T", 1);
    let instance = ClientInstance::new(ClientConfig::new(&cluster.namesrv_addr())).unwrap();
    let a = Producer::builder("PA")
        .instance(instance.clone())
        .start()
        .unwrap();
    let b = Producer::builder("PB")
        .instance(instance.clone())
        .start()
        .unwrap();
    assert!(matches!(
        Producer::builder("PA").instance(instance.clone()).start(),
        Err(Error::GroupAlreadyRegistered { .. })
    ));
    a.send(Message::new("T", "from a")).unwrap();
    b.send(Message::new("T", "from b")).unwrap();
    let broker = &cluster.brokers[0];
    assert!(wait_until(WAIT, || broker
        .state()
        .producers
        .get("PA")
        .is_some_and(|m| !m.is_empty())));
    drop(a);
    let unregistered = broker
        .state()
        .unregisters
        .iter()
        .any(|u| u.producer_group.as_deref() == Some("PA"));
    assert!(unregistered);
    assert!(b.send(Message::new("T", "still works")).is_ok());
    assert_eq!(instance.client_id(), b.instance().client_id());
}

#[test]
fn routes_refresh_and_heartbeats_run_periodically() {
    let cluster = Cluster::start(2);
    cluster
        .broker("broker-a")
        .state()
        .create_topic("Grow", 2, 6);
    let config = ClientConfig {
        poll_name_server_interval_ms: 20,
        heartbeat_broker_interval_ms: 20,
        ..ClientConfig::new(&cluster.namesrv_addr())
    };
    let p = Producer::builder("PG")
        .client_config(config)
        .start()
        .unwrap();
    let r = p.send(Message::new("Grow", "first")).unwrap();
    assert_eq!(r.queue.broker_name, "broker-a");
    let a = cluster.broker("broker-a");
    let beats = a.state().heartbeats;
    assert!(
        wait_until(WAIT, || a.state().heartbeats >= beats + 3),
        "heartbeats repeat"
    );
    // The topic appears on broker-b; the periodic refresh picks it up.
    cluster
        .broker("broker-b")
        .state()
        .create_topic("Grow", 2, 6);
    assert!(wait_until(WAIT, || p
        .fetch_publish_queues("Grow")
        .unwrap()
        .len()
        == 4));
    let brokers: BTreeSet<String> = (0..8)
        .map(|i| {
            p.send(Message::new("Grow", format!("m{i}")))
                .unwrap()
                .queue
                .broker_name
        })
        .collect();
    assert_eq!(brokers.len(), 2);
    assert!(
        cluster.broker("broker-b").state().heartbeats >= 1,
        "new broker gets heartbeats"
    );
}
