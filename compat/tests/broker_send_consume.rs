//! rocketmq-client-rust sends sync, async and one-way messages to our NameServer + broker and
//! consumes them with its push consumer.
//!
//! Their consumer sometimes refuses a consume task when its own blocking-work lane is full
//! ("runtime.capacity.exhausted", a limit of that client) and then returns the message with
//! CONSUMER_SEND_MSG_BACK; our broker redelivers it through `%RETRY%<group>` after the delay,
//! so the test also exercises the retry path with a third-party client.

mod support;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::config::{BrokerConfig, HostFacts};
use broker::store::StoreConfig;
use broker::{BrokerListeners, BrokerServer};
use namesrv::{NamesrvConfig, NamesrvServer};
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer,
    DefaultMQPushConsumer, MQPushConsumer, MessageListenerConcurrently, SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;

const TOPIC: &str = "CompatTopic";
const PER_MODE: usize = 20;

/// Field order is drop order: the broker stops before the NameServer and the temp dir goes last.
struct Cluster {
    broker: BrokerServer,
    namesrv: NamesrvServer,
    _dir: tempfile::TempDir,
}

fn start_cluster() -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let ns_config = NamesrvConfig {
        kv_config_path: dir.path().join("kv.json"),
        ..NamesrvConfig::default()
    };
    let namesrv =
        NamesrvServer::start(ns_config, TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let mut config = BrokerConfig::with_host(&HostFacts {
        local_ip: "127.0.0.1".into(),
        ..HostFacts::default()
    });
    config.broker_ip1 = "127.0.0.1".into();
    config.broker_name = "broker-a".into();
    config.namesrv_addr = Some(namesrv.local_addr().to_string());
    let mut store = StoreConfig::with_root(dir.path().join("store"));
    store.commit_log_segment_bytes = 16 * 1024 * 1024;
    let listeners = BrokerListeners {
        main: TcpListener::bind("127.0.0.1:0").unwrap(),
        fast: None,
    };
    let broker = BrokerServer::start(config, store, listeners).unwrap();
    Cluster {
        broker,
        namesrv,
        _dir: dir,
    }
}

fn message(mode: &str, i: usize) -> Message {
    Message::builder()
        .topic(TOPIC)
        .tags("TagA")
        .body_slice(format!("{mode}-{i}").as_bytes())
        .build_unchecked()
}

async fn produce_all(producer: &DefaultMQProducer) {
    for i in 0..PER_MODE {
        let result = producer.send(message("sync", i)).await.expect("sync send");
        let result = result.expect("a send result");
        assert_eq!(result.send_status, SendStatus::SendOk);
        assert!(result.offset_msg_id.is_some_and(|id| id.len() == 32));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..PER_MODE {
        let tx = tx.clone();
        producer
            .send_with_callback(message("async", i), move |result, error| {
                let ok =
                    error.is_none() && result.is_some_and(|r| r.send_status == SendStatus::SendOk);
                let _ = tx.send(ok);
            })
            .await
            .expect("async send accepted");
    }
    for _ in 0..PER_MODE {
        let ok = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("async callback in time");
        assert_eq!(ok, Some(true), "async send succeeded");
    }
    for i in 0..PER_MODE {
        producer
            .send_oneway(message("oneway", i))
            .await
            .expect("oneway send");
    }
}

struct Collect(Arc<Mutex<BTreeSet<String>>>);

impl MessageListenerConcurrently for Collect {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _: &ConsumeConcurrentlyContext,
    ) -> rocketmq_client_rust::ClientResult<ConsumeConcurrentlyStatus> {
        let mut seen = self.0.lock().unwrap();
        for m in msgs {
            assert_eq!(m.topic().as_str(), TOPIC);
            let body = m.body().expect("body");
            seen.insert(String::from_utf8_lossy(&body).into_owned());
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn their_producer_and_push_consumer_work_against_our_broker() {
    let cluster = start_cluster();
    let nameserver = cluster.namesrv.local_addr().to_string();
    assert!(cluster.broker.local_addr().port() > 0);
    let runtime = support::TheirRuntime::new("send-consume");

    let mut producer = DefaultMQProducer::builder(runtime.client_runtime())
        .producer_group("compat_producer_group".to_string())
        .name_server_addr(nameserver.clone())
        .build();
    producer.start().await.expect("producer start");
    // The topic does not exist yet: the client falls back to TBW102 and the broker
    // auto-creates it on the first send.
    produce_all(&producer).await;

    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let mut consumer = DefaultMQPushConsumer::builder(runtime.client_runtime())
        .consumer_group("compat_consumer_group".to_string())
        .name_server_addr(nameserver.clone())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe(TOPIC, "*").await.expect("subscribe");
    consumer.register_message_listener_concurrently(Collect(Arc::clone(&seen)));
    consumer.start().await.expect("consumer start");

    let expected: BTreeSet<String> = ["sync", "async", "oneway"]
        .iter()
        .flat_map(|mode| (0..PER_MODE).map(move |i| format!("{mode}-{i}")))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if *seen.lock().unwrap() == expected {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumed {} of {} messages",
            seen.lock().unwrap().len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    runtime.shutdown().await;
    drop(cluster);
}
