//! Helpers shared by the broker loopback tests: NameServers and brokers on 127.0.0.1:0 with
//! temp store dirs, a remoting client, request builders and polling with a deadline (never a
//! sleep).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use broker::config::{BrokerConfig, HostFacts};
use broker::store::StoreConfig;
use broker::{BrokerListeners, BrokerServer};
use namesrv::{NamesrvConfig, NamesrvServer};
use protocol::header::{PullMessageRequestHeader, PullSysFlag, SendMessageRequestHeader};
use protocol::message::{keys, Properties};
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode, SerializeType};

pub const TIMEOUT_MS: u64 = 5_000;

/// Answers nothing; records server-initiated requests (e.g. NOTIFY_CONSUMER_IDS_CHANGED).
pub struct Recorder(pub std::sync::mpsc::Sender<RemotingCommand>);

impl RequestHandler for Recorder {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, req: RemotingCommand) -> Reply {
        let _ = self.0.send(req);
        Reply::Nothing
    }
}

/// A client event loop (shut down when the handle is shut down).
pub fn client() -> RemotingHandle {
    client_with_inbox().0
}

/// A client event loop plus the requests servers sent to it.
pub fn client_with_inbox() -> (RemotingHandle, std::sync::mpsc::Receiver<RemotingCommand>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let event_loop = EventLoop::new(RemotingConfig::default()).unwrap();
    let handle = event_loop.handle();
    event_loop.spawn("test-client", Recorder(tx)).unwrap();
    (handle, rx)
}

pub fn call(c: &RemotingHandle, addr: &str, req: RemotingCommand) -> RemotingCommand {
    c.invoke_sync(addr, req, TIMEOUT_MS)
        .unwrap_or_else(|e| panic!("request to {addr}: {e}"))
}

/// Polls `cond` until it holds or `secs` pass.
pub fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(5));
    }
}

pub fn start_namesrv(dir: &Path) -> NamesrvServer {
    start_namesrv_on(dir, TcpListener::bind("127.0.0.1:0").unwrap())
}

pub fn start_namesrv_on(dir: &Path, listener: TcpListener) -> NamesrvServer {
    let config = NamesrvConfig {
        kv_config_path: dir.join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    NamesrvServer::start(config, listener).unwrap()
}

/// Broker defaults for tests: 127.0.0.1, named `broker-a`, cluster `TestCluster`.
pub fn broker_config(namesrv: &[String]) -> BrokerConfig {
    let mut c = BrokerConfig::with_host(&HostFacts {
        local_ip: "127.0.0.1".into(),
        ..HostFacts::default()
    });
    c.broker_ip1 = "127.0.0.1".into();
    c.broker_name = "broker-a".into();
    c.broker_cluster_name = "TestCluster".into();
    c.namesrv_addr = (!namesrv.is_empty()).then(|| namesrv.join(";"));
    c.max_message_size_bytes = 64 * 1024;
    c
}

/// A small store under `root`: 1 MiB commitlog segments, 100-unit consume-queue files.
pub fn store_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::with_root(root);
    c.commit_log_segment_bytes = 1024 * 1024;
    c.consume_queue_file_bytes = 100 * 20;
    c.max_message_bytes = 256 * 1024;
    c.max_hash_slot_num = 64;
    c.max_index_num = 256;
    c
}

pub fn listeners() -> BrokerListeners {
    BrokerListeners {
        main: TcpListener::bind("127.0.0.1:0").unwrap(),
        fast: Some(TcpListener::bind("127.0.0.1:0").unwrap()),
    }
}

pub fn start_broker(config: BrokerConfig, store: StoreConfig) -> BrokerServer {
    BrokerServer::start(config, store, listeners()).unwrap()
}

/// A broker without NameServers on a fresh store under `root`.
pub fn solo_broker(root: &Path) -> BrokerServer {
    start_broker(broker_config(&[]), store_config(root))
}

pub fn addr(b: &BrokerServer) -> String {
    b.local_addr().to_string()
}

/// A send header for `topic` (queue `queue_id`, template TBW102, 4 queues).
pub fn send_header(topic: &str, queue_id: i32, props: &Properties) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props.to_wire_string()),
        batch: Some(false),
        ..Default::default()
    }
}

/// Which header naming a send uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    V1,
    V2,
}

/// A send request with `code`, the header in `naming` and `ser` serialization.
pub fn send_request(
    code: RequestCode,
    header: &SendMessageRequestHeader,
    naming: Naming,
    ser: SerializeType,
    body: &[u8],
) -> RemotingCommand {
    let mut req = RemotingCommand::request(code);
    match naming {
        Naming::V1 => protocol::header::CommandHeader::write_to(header, &mut req.ext_fields),
        Naming::V2 => header.write_v2_to(&mut req.ext_fields),
    }
    req.with_serialize_type(ser).with_body(body.to_vec())
}

/// Properties with a tag and a UNIQ_KEY.
pub fn tagged(tag: &str, uniq: &str) -> Properties {
    let mut p = Properties::new();
    p.insert(keys::TAGS, tag);
    p.insert(keys::UNIQ_KEY, uniq);
    p
}

/// Sends one message with SEND_MESSAGE_V2 and returns the response.
pub fn send(
    c: &RemotingHandle,
    addr: &str,
    topic: &str,
    queue_id: i32,
    props: &Properties,
    body: &[u8],
) -> RemotingCommand {
    let h = send_header(topic, queue_id, props);
    let req = send_request(
        RequestCode::SEND_MESSAGE_V2,
        &h,
        Naming::V2,
        SerializeType::Json,
        body,
    );
    call(c, addr, req)
}

/// A pull header with the SUBSCRIPTION flag and `expression`.
pub fn pull_header(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    expression: &str,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: PullSysFlag::build(false, false, true, false, false),
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some(expression.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        ..Default::default()
    }
}

pub fn pull(c: &RemotingHandle, addr: &str, header: &PullMessageRequestHeader) -> RemotingCommand {
    call(
        c,
        addr,
        RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, header),
    )
}

/// Sends `code` with `header` and returns the response.
pub fn admin<H: protocol::header::CommandHeader>(
    c: &RemotingHandle,
    addr: &str,
    code: RequestCode,
    header: &H,
) -> RemotingCommand {
    call(c, addr, RemotingCommand::request_with_header(code, header))
}

/// Sends `code` without header fields, with `body`.
pub fn admin_body(
    c: &RemotingHandle,
    addr: &str,
    code: RequestCode,
    body: Vec<u8>,
) -> RemotingCommand {
    call(c, addr, RemotingCommand::request(code).with_body(body))
}

/// A HEART_BEAT of consumer `client_id` in `group` subscribing `(topic, expression)` pairs
/// (plus producer group `PG`); `sub_version` stays constant across calls.
pub fn consumer_heartbeat(
    c: &RemotingHandle,
    addr: &str,
    client_id: &str,
    group: &str,
    subscriptions: &[(&str, &str)],
) -> RemotingCommand {
    use protocol::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
    use protocol::body::JsonBody;
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            subscription_data_set: subscriptions
                .iter()
                .map(|(t, e)| SubscriptionData::from_expression(*t, e, 1_000))
                .collect(),
            ..Default::default()
        }],
        producer_data_set: vec![ProducerData {
            group_name: "PG".into(),
        }],
        ..Default::default()
    };
    let req = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode_body());
    call(c, addr, req)
}

/// A consumer stand-in: records every broker-initiated request and answers
/// GET_CONSUMER_RUNNING_INFO (307) with a running info naming `client_id` and
/// GET_CONSUMER_STATUS_FROM_CLIENT (221) with `status` as its queue offsets.
pub struct FakeConsumer {
    pub tx: std::sync::mpsc::Sender<RemotingCommand>,
    pub client_id: String,
    pub status: protocol::body::MqMap<i64>,
}

impl RequestHandler for FakeConsumer {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, req: RemotingCommand) -> Reply {
        use protocol::body::{ConsumerRunningInfo, GetConsumerStatusBody, JsonBody};
        let _ = self.tx.send(req.clone());
        let ok = RemotingCommand::response_to(&req, protocol::ResponseCode::SUCCESS);
        match req.request_code() {
            Some(RequestCode::GET_CONSUMER_RUNNING_INFO) => {
                let mut info = ConsumerRunningInfo::default();
                info.properties.insert(
                    "PROP_CLIENT_ID".into(),
                    serde_json::Value::String(self.client_id.clone()),
                );
                Reply::Now(ok.with_body(info.encode_body()))
            }
            Some(RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT) => {
                let body = GetConsumerStatusBody {
                    message_queue_table: self.status.clone(),
                    ..Default::default()
                };
                Reply::Now(ok.with_body(body.encode_body()))
            }
            _ => Reply::Nothing,
        }
    }
}

/// A client loop whose handler is a [`FakeConsumer`].
pub fn fake_consumer(
    client_id: &str,
    status: protocol::body::MqMap<i64>,
) -> (RemotingHandle, std::sync::mpsc::Receiver<RemotingCommand>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let event_loop = EventLoop::new(RemotingConfig::default()).unwrap();
    let handle = event_loop.handle();
    let handler = FakeConsumer {
        tx,
        client_id: client_id.into(),
        status,
    };
    event_loop.spawn("fake-consumer", handler).unwrap();
    (handle, rx)
}

/// Sends `n` messages with `body` to `topic`/`queue_id`, asserting success; returns the
/// responses.
pub fn send_n(
    c: &RemotingHandle,
    addr: &str,
    topic: &str,
    queue_id: i32,
    n: usize,
    body: &[u8],
) -> Vec<RemotingCommand> {
    (0..n)
        .map(|i| {
            let uniq = format!("{:032X}", i as u128 + 1);
            let r = send(c, addr, topic, queue_id, &tagged("TagA", &uniq), body);
            assert_eq!(r.code, 0, "send {i} to {topic}: {:?}", r.remark);
            r
        })
        .collect()
}
