//! Shared helpers for the mqadmin end-to-end tests: an in-process NameServer, a broker
//! registered by a raw REGISTER_BROKER, and a runner for the real `mqadmin` binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use namesrv::{NamesrvConfig, NamesrvServer};
use protocol::body::register_broker::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use protocol::header::RegisterBrokerRequestHeader;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

/// Starts a NameServer on 127.0.0.1:0 with its KV file in `dir`.
pub fn start_namesrv(dir: &Path) -> NamesrvServer {
    let config = NamesrvConfig {
        kv_config_path: dir.join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    NamesrvServer::start(config, TcpListener::bind("127.0.0.1:0").unwrap()).unwrap()
}

/// An address on which nothing listens (connections are refused at once).
pub fn dead_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    addr
}

struct Silent;

impl RequestHandler for Silent {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

/// A broker that exists only as a NameServer registration. The registration lives as long as
/// this value: the NameServer drops a broker whose registering connection closes.
pub struct RegisteredBroker {
    handle: RemotingHandle,
    /// The broker address announced to the NameServer.
    pub addr: String,
}

impl RegisteredBroker {
    /// Registers `broker_name` (id 0) of `cluster` at `addr` with `topics` (4 queues, RW).
    pub fn register(
        namesrv: &str,
        cluster: &str,
        broker_name: &str,
        addr: &str,
        topics: &[&str],
    ) -> Self {
        let event_loop = EventLoop::new(RemotingConfig::default()).unwrap();
        let handle = event_loop.handle();
        event_loop.spawn("fake-broker", Silent).unwrap();
        let mut table = BTreeMap::new();
        for t in topics {
            table.insert(t.to_string(), TopicConfig::with_queues(*t, 4, 4, 6));
        }
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version: DataVersion::new(1),
                topic_config_table: table,
                ..Default::default()
            },
            filter_server_list: Vec::new(),
        };
        let header = RegisterBrokerRequestHeader {
            broker_name: broker_name.into(),
            broker_addr: addr.into(),
            cluster_name: cluster.into(),
            ha_server_addr: addr.into(),
            broker_id: 0,
            heartbeat_timeout_millis: Some(120_000),
            ..Default::default()
        };
        let req = RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header)
            .with_body(
                body.encode(false, protocol::command::CURRENT_VERSION)
                    .unwrap(),
            );
        let resp = handle.invoke_sync(namesrv, req, 3_000).unwrap();
        assert_eq!(resp.code, ResponseCode::SUCCESS.code(), "{:?}", resp.remark);
        RegisteredBroker {
            handle,
            addr: addr.to_string(),
        }
    }
}

impl Drop for RegisteredBroker {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// What one `mqadmin` run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Parses stdout as JSON (after asserting success).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs the real binary with `args`, `NAMESRV_ADDR` unset unless given in `env`.
pub fn mqadmin_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mqadmin"));
    cmd.args(args)
        .env_remove("NAMESRV_ADDR")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run mqadmin");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the real binary with `args`.
pub fn mqadmin(args: &[&str]) -> Run {
    mqadmin_env(args, &[])
}

/// Polls `cond` until it holds, failing after `secs` seconds (no fixed sleeps).
pub fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::park_timeout(std::time::Duration::from_millis(5));
    }
}

/// A real broker `broker-a` of cluster `TestCluster` on 127.0.0.1:0 with its store under
/// `dir`, registered with `namesrv`.
pub fn start_broker(dir: &Path, namesrv: &str) -> broker::BrokerServer {
    use broker::config::{BrokerConfig, HostFacts};
    use broker::store::StoreConfig;
    let mut c = BrokerConfig::with_host(&HostFacts {
        local_ip: "127.0.0.1".into(),
        ..HostFacts::default()
    });
    c.broker_ip1 = "127.0.0.1".into();
    c.broker_name = "broker-a".into();
    c.broker_cluster_name = "TestCluster".into();
    c.namesrv_addr = Some(namesrv.to_string());
    let mut s = StoreConfig::with_root(dir);
    s.commit_log_segment_bytes = 1024 * 1024;
    s.consume_queue_file_bytes = 100 * 20;
    let listeners = broker::BrokerListeners {
        main: TcpListener::bind("127.0.0.1:0").unwrap(),
        fast: None,
    };
    broker::BrokerServer::start(c, s, listeners).unwrap()
}

/// A NameServer plus one real broker, and an admin client for polling.
pub struct Cluster {
    _dir: tempfile::TempDir,
    _ns: namesrv::NamesrvServer,
    /// The broker.
    pub broker: broker::BrokerServer,
    /// The NameServer address.
    pub ns: String,
    /// An admin client on the NameServer.
    pub admin: tools::AdminClient,
}

impl Cluster {
    /// Starts both and waits until the broker is registered.
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ns_srv = start_namesrv(&dir.path().join("ns"));
        let ns = ns_srv.local_addr().to_string();
        let broker = start_broker(&dir.path().join("store"), &ns);
        let admin = tools::AdminClient::start(vec![ns.clone()], 3_000).unwrap();
        wait_until("broker registration", 10, || {
            admin.topic_route("TBW102").is_ok()
        });
        Cluster {
            _dir: dir,
            _ns: ns_srv,
            broker,
            ns,
            admin,
        }
    }

    /// The broker address.
    pub fn addr(&self) -> String {
        self.broker.broker_addr()
    }

    /// Waits until the NameServer routes `topic`.
    pub fn wait_for_topic(&self, topic: &str) {
        wait_until("topic registration", 10, || {
            self.admin.topic_route(topic).is_ok()
        });
    }

    /// Sends one message with mqadmin and returns the JSON result.
    pub fn send(&self, topic: &str, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["sendMessage", "-n", &self.ns, "-t", topic, "--json"];
        args.extend_from_slice(extra);
        mqadmin(&args).json()
    }
}
