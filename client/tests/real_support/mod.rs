//! Real-cluster support for the `real_*.rs` suites: one in-process NameServer and one or two
//! in-process brokers (`broker-a`, `broker-b`, cluster `RealCluster`) on 127.0.0.1 port 0
//! with temp stores and small segments. Topics are declared up front and written to each
//! broker's `config/topics.json` before it starts (the admin topic command is not needed).
//! Everything waits with deadlines ([`wait_until`]); nothing sleeps a fixed time.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker::config::{BrokerConfig, HostFacts};
use broker::store::StoreConfig;
use broker::{BrokerListeners, BrokerServer};
use client::MessageQueue;
use client::{ClientConfig, ClientInstance, MessageExt};
use namesrv::{NamesrvConfig, NamesrvServer};
use protocol::body::perm::PERM_READ_WRITE;
use protocol::body::{DataVersion, JsonBody, TopicConfig, TopicConfigSerializeWrapper};
use protocol::header::QueryConsumerOffsetRequestHeader;

/// Fifteen seconds: generous on a loaded 2-core machine, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(15);

/// The cluster name every test broker registers under.
pub const CLUSTER: &str = "RealCluster";

/// Short delay levels so retries and delayed messages take about a second.
pub const FAST_DELAY_LEVELS: &str = "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

/// Adjusts a broker's configuration before it starts (`index` 0 is `broker-a`).
pub type Tune = dyn Fn(usize, &mut BrokerConfig, &mut StoreConfig);

/// A NameServer plus brokers `broker-a`, `broker-b`, ... Dropping it stops everything.
pub struct RealCluster {
    /// `None` once stopped with [`RealCluster::stop_broker`].
    pub brokers: Vec<Option<BrokerServer>>,
    pub namesrv: NamesrvServer,
    broker_addrs: Vec<String>,
    topics: Vec<(String, i32)>,
    admin: Arc<ClientInstance>,
    dir: tempfile::TempDir,
}

/// Routes logs to the test output when RUST_LOG is set.
pub fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

/// The broker name of index `i`.
pub fn broker_name(i: usize) -> String {
    format!("broker-{}", (b'a' + i as u8) as char)
}

fn broker_config(i: usize, namesrv: &str) -> BrokerConfig {
    let mut c = BrokerConfig::with_host(&HostFacts {
        local_ip: "127.0.0.1".into(),
        ..HostFacts::default()
    });
    c.broker_ip1 = "127.0.0.1".into();
    c.broker_name = broker_name(i);
    c.broker_cluster_name = CLUSTER.into();
    c.namesrv_addr = Some(namesrv.to_string());
    c.auto_create_topic_enable = true;
    c.transaction_timeout_ms = 1_000;
    c.transaction_check_interval_ms = 200;
    c.message_delay_levels_ms = vec![1_000; 18];
    c
}

fn store_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::with_root(root);
    c.commit_log_segment_bytes = 1024 * 1024;
    c.consume_queue_file_bytes = 1000 * 20;
    c.max_hash_slot_num = 256;
    c.max_index_num = 4096;
    c.message_delay_level = FAST_DELAY_LEVELS.into();
    c
}

/// Writes `topics` (each with `queues` read and write queues) as the broker's topics.json.
fn write_topics(root: &Path, topics: &[(String, i32)]) {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion::new(protocol::util::clock::now_millis() as i64),
        ..Default::default()
    };
    for (name, queues) in topics {
        let config = TopicConfig::with_queues(name.clone(), *queues, *queues, PERM_READ_WRITE);
        wrapper.topic_config_table.insert(name.clone(), config);
    }
    let dir = root.join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("topics.json"), wrapper.encode_body()).unwrap();
}

impl RealCluster {
    /// A NameServer and `brokers` brokers, each serving every topic of `topics` with the given
    /// queue count; returns once the NameServer routes every topic to every broker.
    pub fn start(brokers: usize, topics: &[(&str, i32)]) -> RealCluster {
        Self::start_with(brokers, topics, &|_, _, _| {})
    }

    /// [`RealCluster::start`] with `tune` applied to each broker's configuration.
    pub fn start_with(brokers: usize, topics: &[(&str, i32)], tune: &Tune) -> RealCluster {
        init_log();
        let dir = tempfile::tempdir().unwrap();
        let ns_config = NamesrvConfig {
            kv_config_path: dir.path().join("kvConfig.json"),
            ..NamesrvConfig::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let namesrv = NamesrvServer::start(ns_config, listener).unwrap();
        let ns_addr = namesrv.local_addr().to_string();
        let topics: Vec<(String, i32)> = topics.iter().map(|(t, q)| (t.to_string(), *q)).collect();
        let admin = ClientInstance::new(fast_config(&ns_addr)).unwrap();
        let mut cluster = RealCluster {
            brokers: Vec::new(),
            namesrv,
            broker_addrs: Vec::new(),
            topics,
            admin,
            dir,
        };
        for i in 0..brokers {
            let broker = cluster.start_broker(i, &ns_addr, tune);
            cluster.broker_addrs.push(broker.broker_addr());
            cluster.brokers.push(Some(broker));
        }
        // Registration is asynchronous: wait for the declared topics and the TBW102 template.
        let mut names: Vec<&str> = cluster.topics.iter().map(|(t, _)| t.as_str()).collect();
        names.push("TBW102");
        cluster.wait_routes(&names, brokers);
        cluster
    }

    fn start_broker(&self, i: usize, ns_addr: &str, tune: &Tune) -> BrokerServer {
        let root = self.dir.path().join(broker_name(i));
        write_topics(&root, &self.topics);
        let mut config = broker_config(i, ns_addr);
        let mut store = store_config(&root);
        tune(i, &mut config, &mut store);
        let listeners = BrokerListeners {
            main: TcpListener::bind("127.0.0.1:0").unwrap(),
            fast: Some(TcpListener::bind("127.0.0.1:0").unwrap()),
        };
        BrokerServer::start(config, store, listeners).unwrap()
    }

    pub fn namesrv_addr(&self) -> String {
        self.namesrv.local_addr().to_string()
    }

    /// The broker of index `i` (panics if it was stopped).
    pub fn broker(&self, i: usize) -> &BrokerServer {
        self.brokers[i].as_ref().expect("broker is running")
    }

    /// `127.0.0.1:<port>` of broker `i` (also after it stopped).
    pub fn broker_addr(&self, i: usize) -> &str {
        &self.broker_addrs[i]
    }

    /// Shuts broker `i` down gracefully (it unregisters from the NameServer).
    pub fn stop_broker(&mut self, i: usize) {
        if let Some(mut b) = self.brokers[i].take() {
            b.shutdown().unwrap();
        }
    }

    /// A client instance with short background periods, for route queries.
    pub fn instance(&self) -> Arc<ClientInstance> {
        ClientInstance::new(fast_config(&self.namesrv_addr())).unwrap()
    }

    /// Waits until the NameServer routes each of `topics` to `brokers` brokers.
    pub fn wait_routes(&self, topics: &[&str], brokers: usize) {
        for topic in topics {
            let routed = wait_until(WAIT, || {
                self.admin
                    .query_topic_route(topic)
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.queue_datas.len() == brokers)
            });
            assert!(routed, "no route of {topic} to {brokers} brokers");
        }
    }

    /// The offset `group` committed on `topic`/`queue_id` of broker `i`, as the broker has
    /// it (`None` when the group never committed there).
    pub fn committed(&self, i: usize, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            set_zero_if_not_found: Some(false),
        };
        self.admin
            .api()
            .query_consumer_offset(self.broker_addr(i), &header, 3_000)
            .ok()
            .flatten()
    }

    /// The max offset (next offset to write) of `topic`/`queue_id` on broker `i`.
    pub fn max_offset(&self, i: usize, topic: &str, queue_id: i32) -> i64 {
        let mq = MessageQueue::new(topic, broker_name(i), queue_id);
        self.admin
            .api()
            .get_max_offset(self.broker_addr(i), &mq, 3_000)
            .unwrap()
    }

    /// Whether `group` has committed every queue of `topic` (queues `0..queues` on every
    /// running broker) up to its max offset.
    pub fn fully_committed(&self, group: &str, topic: &str, queues: i32) -> bool {
        (0..self.brokers.len())
            .filter(|i| self.brokers[*i].is_some())
            .all(|i| {
                (0..queues).all(|q| {
                    let max = self.max_offset(i, topic, q);
                    max == 0 || self.committed(i, group, topic, q) == Some(max)
                })
            })
    }

    /// The client ids the broker `i` knows in `group`.
    pub fn consumer_ids(&self, i: usize, group: &str) -> Vec<String> {
        self.admin
            .api()
            .get_consumer_id_list(self.broker_addr(i), group, 3_000)
            .unwrap_or_default()
    }
}

/// A client config for `namesrv` with background periods short enough for tests: routes and
/// heartbeats every second, rebalance every second, offsets persisted every 500 ms.
pub fn fast_config(namesrv: &str) -> ClientConfig {
    let mut c = ClientConfig::new(namesrv);
    c.poll_name_server_interval_ms = 1_000;
    c.heartbeat_broker_interval_ms = 1_000;
    c.rebalance_interval_ms = 1_000;
    c.persist_consumer_offset_interval_ms = 500;
    c
}

/// Messages received by a listener, shared with the test.
pub type Seen = Arc<Mutex<Vec<MessageExt>>>;

/// The bodies of `seen` as strings.
pub fn bodies(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

/// The distinct bodies of `seen`.
pub fn body_set(seen: &Seen) -> BTreeSet<String> {
    bodies(seen).into_iter().collect()
}

/// How often each body occurs in `seen`.
pub fn body_counts(seen: &Seen) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for b in bodies(seen) {
        *counts.entry(b).or_insert(0) += 1;
    }
    counts
}

/// `prefix-0` .. `prefix-(n-1)`.
pub fn names(prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// A fresh consumer group name `prefix-<n>` (unique within the process).
pub fn unique_group(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{n}")
}

/// Reads every queue of `topic` from offset 0 with a lite pull consumer of a fresh group
/// until `expected` messages arrived (or [`WAIT`] passed); returns what it read.
pub fn read_all(namesrv: &str, topic: &str, expected: usize) -> Vec<MessageExt> {
    let reader = client::LitePullConsumer::builder(unique_group("reader"))
        .client_config(fast_config(namesrv))
        .auto_commit(false)
        .start()
        .unwrap();
    let queues = reader.fetch_message_queues(topic).unwrap();
    reader.assign(queues.clone()).unwrap();
    for mq in &queues {
        reader.seek(mq, 0).unwrap();
    }
    let mut out = Vec::new();
    wait_until(WAIT, || {
        out.extend(reader.poll(Duration::from_millis(100)).unwrap());
        out.len() >= expected
    });
    out
}

/// Waits until `cond` has held on every poll for `hold` in a row (or `timeout` passed);
/// returns whether it did.
pub fn wait_stable(timeout: Duration, hold: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let mut since: Option<Instant> = None;
    wait_until(timeout, || {
        if !cond() {
            since = None;
            return false;
        }
        let start = *since.get_or_insert_with(Instant::now);
        start.elapsed() >= hold
    })
}

/// A concurrent listener that records every message and consumes it successfully.
pub fn collecting(
    seen: &Seen,
) -> impl Fn(&[MessageExt], &mut client::ConcurrentContext) -> client::ConsumeConcurrentlyStatus {
    let seen = seen.clone();
    move |msgs: &[MessageExt], _: &mut client::ConcurrentContext| {
        seen.lock().unwrap().extend(msgs.iter().cloned());
        client::ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

/// A push consumer builder for `group` on `cluster` with the fast client config.
pub fn push_consumer(cluster: &RealCluster, group: &str) -> client::consumer::PushConsumerBuilder {
    client::PushConsumer::builder(group)
        .client_config(fast_config(&cluster.namesrv_addr()))
        .consume_threads(4)
}

/// A producer of `group` on `cluster` with the fast client config.
pub fn producer(cluster: &RealCluster, group: &str) -> client::Producer {
    client::Producer::builder(group)
        .client_config(fast_config(&cluster.namesrv_addr()))
        .start()
        .unwrap()
}

/// Sends `prefix-0..n` to `topic` with `tag` synchronously.
pub fn send_n(p: &client::Producer, topic: &str, prefix: &str, n: usize, tag: &str) {
    for i in 0..n {
        let msg = client::Message::new(topic, format!("{prefix}-{i}")).with_tags(tag);
        assert_eq!(p.send(msg).unwrap().status, client::SendStatus::SendOk);
    }
}
