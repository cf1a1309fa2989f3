//! `mqbench` end to end: the real binary against an in-process NameServer and broker on
//! 127.0.0.1 port 0, checking its JSON summaries.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use broker::config::{BrokerConfig, HostFacts};
use broker::store::StoreConfig;
use broker::{BrokerListeners, BrokerServer};
use client::{ClientConfig, ClientInstance};
use namesrv::{NamesrvConfig, NamesrvServer};
use serde_json::Value;

struct Cluster {
    namesrv: NamesrvServer,
    broker: BrokerServer,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let namesrv = NamesrvServer::start(
            NamesrvConfig {
                kv_config_path: dir.path().join("kvConfig.json"),
                ..NamesrvConfig::default()
            },
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
        .unwrap();
        let mut config = BrokerConfig::with_host(&HostFacts {
            local_ip: "127.0.0.1".into(),
            ..HostFacts::default()
        });
        config.broker_ip1 = "127.0.0.1".into();
        config.broker_name = "bench-broker".into();
        config.namesrv_addr = Some(namesrv.local_addr().to_string());
        config.auto_create_topic_enable = true;
        let listeners = BrokerListeners {
            main: TcpListener::bind("127.0.0.1:0").unwrap(),
            fast: None,
        };
        let store = StoreConfig::with_root(dir.path().join("store"));
        let broker = BrokerServer::start(config, store, listeners).unwrap();
        let cluster = Cluster {
            namesrv,
            broker,
            _dir: dir,
        };
        cluster.wait_for_route("TBW102");
        cluster
    }

    fn namesrv_addr(&self) -> String {
        self.namesrv.local_addr().to_string()
    }

    /// Polls the NameServer until `topic` has a route (the broker registered).
    fn wait_for_route(&self, topic: &str) {
        let instance = ClientInstance::new(
            ClientConfig::new(&self.namesrv_addr()).with_instance_name("route-probe"),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !matches!(instance.query_topic_route(topic), Ok(Some(_))) {
            assert!(Instant::now() < deadline, "no route for {topic}");
            std::thread::park_timeout(Duration::from_millis(20));
        }
        instance.shutdown();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.broker.shutdown();
        let _ = self.namesrv.shutdown();
    }
}

fn mqbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqbench"))
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "mqbench failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn assert_latency(v: &Value, count: u64) {
    assert_eq!(v["count"], count, "{v}");
    let p = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
    };
    assert!(p("p50") >= 1 && p("p50") <= p("p90"), "{v}");
    assert!(p("p90") <= p("p99") && p("p99") <= p("p999"), "{v}");
    assert!(p("p999") <= p("max") + p("max") / 500 + 1, "{v}");
}

#[test]
fn produce_then_consume_counts_match() {
    let cluster = Cluster::start();
    let ns = cluster.namesrv_addr();
    let produce = json_of(&mqbench(&[
        "produce",
        "-n",
        &ns,
        "-t",
        "BenchCli",
        "--count",
        "2000",
        "--mode",
        "async",
        "--threads",
        "2",
        "--inflight",
        "64",
        "--size",
        "100",
        "--json",
    ]));
    assert_eq!(produce["role"], "produce");
    assert_eq!(produce["messages"], 2000);
    assert_eq!(produce["bytes"], 200_000);
    assert_eq!(produce["failures"], 0);
    assert_eq!(produce["params"]["mode"], "async");
    assert!(produce["tps"].as_f64().unwrap() > 0.0);
    assert_latency(&produce["send_rt_us"], 2000);
    assert!(produce["e2e_latency_us"].is_null());

    // Batches, synchronous.
    let batch = json_of(&mqbench(&[
        "produce",
        "-n",
        &ns,
        "-t",
        "BenchCli",
        "--count",
        "1000",
        "--batch",
        "64",
        "--size",
        "100",
        "--json",
        "--report-interval-secs",
        "0",
    ]));
    assert_eq!(batch["messages"], 1000);
    // 15 full batches and one of 40: one RT per request.
    assert_latency(&batch["send_rt_us"], 16);

    let consume = json_of(&mqbench(&[
        "consume",
        "-n",
        &ns,
        "-t",
        "BenchCli",
        "-g",
        "cli_group",
        "--from",
        "first",
        "--count",
        "3000",
        "--duration-secs",
        "60",
        "--json",
    ]));
    assert_eq!(consume["role"], "consume");
    assert_eq!(consume["messages"], 3000);
    assert_eq!(consume["bytes"], 300_000);
    assert_latency(&consume["e2e_latency_us"], 3000);
    assert!(consume["sample"]
        .as_str()
        .unwrap()
        .contains("topic=BenchCli"));
}

#[test]
fn e2e_receives_everything_it_sent() {
    let cluster = Cluster::start();
    let ns = cluster.namesrv_addr();
    let out = json_of(&mqbench(&[
        "e2e",
        "-n",
        &ns,
        "-t",
        "BenchE2e",
        "--duration-secs",
        "1.5",
        "--mode",
        "sync",
        "--size",
        "256",
        "--tags",
        "TagB",
        "--json",
    ]));
    let sent = out["produce"]["messages"].as_u64().unwrap();
    assert!(sent > 0, "{out}");
    assert_eq!(out["produce"]["failures"], 0);
    assert_eq!(out["consume"]["messages"], sent);
    assert_eq!(out["missing"], 0);
    assert_latency(&out["produce"]["send_rt_us"], sent);
    assert_latency(&out["consume"]["e2e_latency_us"], sent);
    let sample = out["sample"].as_str().unwrap();
    assert!(
        sample.contains("tags=TagB") && sample.contains("body[256]"),
        "{sample}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = mqbench(&["produce", "--mode", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mode"));
    let out = mqbench(&["help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mqbench <produce|consume|e2e>"));
}

#[test]
fn unreachable_namesrv_fails() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = mqbench(&[
        "produce",
        "-n",
        &format!("127.0.0.1:{port}"),
        "--count",
        "1",
        "--json",
        "--send-timeout-ms",
        "500",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
