//! Loopback tests of the NameServer: a real server on 127.0.0.1:0 and a remoting client.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use namesrv::{NamesrvConfig, NamesrvServer};
use protocol::body::cluster::{ClusterInfo, KvTable, TopicList};
use protocol::body::dialect::{from_json_slice, to_json_vec, IntKeys};
use protocol::body::register_broker::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use protocol::body::route::TopicRouteData;
use protocol::header::*;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

const TIMEOUT_MS: u64 = 3_000;

struct Silent;
impl RequestHandler for Silent {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

/// A client event loop; the thread stops when the returned handle is shut down.
fn client() -> RemotingHandle {
    let event_loop = EventLoop::new(RemotingConfig::default()).unwrap();
    let handle = event_loop.handle();
    event_loop.spawn("test-client", Silent).unwrap();
    handle
}

fn start(dir: &Path, tweak: impl FnOnce(&mut NamesrvConfig)) -> NamesrvServer {
    let mut config = NamesrvConfig {
        kv_config_path: dir.join("kvConfig.json"),
        scan_not_active_broker_interval_ms: 20,
        ..NamesrvConfig::default()
    };
    tweak(&mut config);
    NamesrvServer::start(config, TcpListener::bind("127.0.0.1:0").unwrap()).unwrap()
}

fn call(c: &RemotingHandle, srv: &NamesrvServer, req: RemotingCommand) -> RemotingCommand {
    c.invoke_sync(&srv.local_addr().to_string(), req, TIMEOUT_MS)
        .expect("response")
}

fn register_request(
    name: &str,
    id: i64,
    addr: &str,
    topics: &[&str],
    timeout_ms: i64,
) -> RemotingCommand {
    let mut table = BTreeMap::new();
    for t in topics {
        let mut c = TopicConfig::new(*t);
        c.read_queue_nums = 4;
        c.write_queue_nums = 4;
        c.perm = 6;
        table.insert(t.to_string(), c);
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
        broker_name: name.into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: format!("{addr}0"),
        broker_id: id,
        heartbeat_timeout_millis: Some(timeout_ms),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header).with_body(
        body.encode(false, protocol::command::CURRENT_VERSION)
            .unwrap(),
    )
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    )
}

fn route(c: &RemotingHandle, srv: &NamesrvServer, topic: &str) -> Option<TopicRouteData> {
    let resp = call(c, srv, route_request(topic));
    match resp.response_code() {
        Some(ResponseCode::SUCCESS) => Some(from_json_slice(&resp.body).unwrap()),
        Some(ResponseCode::TOPIC_NOT_EXIST) => None,
        other => panic!("unexpected {other:?} {:?}", resp.remark),
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn master_and_slave_register_and_routes_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), |_| {});
    let c = client();
    let resp = call(
        &c,
        &srv,
        register_request("broker-a", 0, "127.0.0.1:10911", &["T"], 120_000),
    );
    assert_eq!(resp.response_code(), Some(ResponseCode::SUCCESS));
    let resp = call(
        &c,
        &srv,
        register_request("broker-a", 1, "127.0.0.1:10921", &["T"], 120_000),
    );
    let h: RegisterBrokerResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.master_addr.as_deref(), Some("127.0.0.1:10911"));
    assert_eq!(h.ha_server_addr.as_deref(), Some("127.0.0.1:109110"));

    for ser in [SerializeType::Json, SerializeType::RocketMq] {
        let resp = call(&c, &srv, route_request("T").with_serialize_type(ser));
        assert_eq!(
            resp.serialize_type, ser,
            "response mirrors the request's serialization"
        );
        let route: TopicRouteData = from_json_slice(&resp.body).unwrap();
        assert_eq!(route.queue_datas[0].read_queue_nums, 4);
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    }
    assert!(route(&c, &srv, "Nope").is_none());

    let resp = call(
        &c,
        &srv,
        RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
    );
    let info: ClusterInfo = from_json_slice(&resp.body).unwrap();
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
    let resp = call(
        &c,
        &srv,
        RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    );
    let list: TopicList = from_json_slice(&resp.body).unwrap();
    assert!(list.topic_list.contains("T"));
    c.shutdown();
}

#[test]
fn a_broker_that_stops_heartbeating_expires() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), |_| {});
    let c = client();
    // The broker registers on its own connection: expiry closes that connection, as in Java.
    let broker = client();
    call(
        &broker,
        &srv,
        register_request("broker-a", 0, "127.0.0.1:1", &["T"], 200),
    );
    assert!(route(&c, &srv, "T").is_some());
    wait_until("expiry", || route(&c, &srv, "T").is_none());
    broker.shutdown();
    c.shutdown();
}

#[test]
fn unregister_and_closed_connection_remove_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), |_| {});
    let c = client();
    call(
        &c,
        &srv,
        register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000),
    );
    let header = UnregisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:1".into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::UNREGISTER_BROKER, &header),
    );
    assert!(route(&c, &srv, "T").is_none());

    let other = client();
    call(
        &other,
        &srv,
        register_request("broker-b", 0, "127.0.0.1:2", &["U"], 120_000),
    );
    assert!(route(&c, &srv, "U").is_some());
    other.close_addr(&srv.local_addr().to_string());
    wait_until("removal on close", || route(&c, &srv, "U").is_none());
    other.shutdown();
    c.shutdown();
}

#[test]
fn two_nameservers_serve_the_same_routes_independently() {
    let dir = tempfile::tempdir().unwrap();
    let a = start(&dir.path().join("a"), |_| {});
    let b = start(&dir.path().join("b"), |_| {});
    let c = client();
    for srv in [&a, &b] {
        call(
            &c,
            srv,
            register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000),
        );
    }
    assert_eq!(route(&c, &a, "T"), route(&c, &b, "T"));
    drop(a);
    assert!(route(&c, &b, "T").is_some());
    c.shutdown();
}

#[test]
fn delete_topic_and_wipe_write_perm() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), |_| {});
    let c = client();
    call(
        &c,
        &srv,
        register_request("broker-a", 0, "127.0.0.1:1", &["T", "U"], 120_000),
    );
    let wipe = WipeWritePermOfBrokerRequestHeader {
        broker_name: "broker-a".into(),
    };
    let resp = call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &wipe),
    );
    let h: WipeWritePermOfBrokerResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.wipe_topic_count, 2);
    assert_eq!(route(&c, &srv, "T").unwrap().queue_datas[0].perm, 4);
    let del = DeleteTopicInNamesrvRequestHeader {
        topic: "T".into(),
        cluster_name: None,
    };
    let resp = call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_NAMESRV, &del),
    );
    assert_eq!(resp.response_code(), Some(ResponseCode::SUCCESS));
    assert!(route(&c, &srv, "T").is_none());
    assert!(route(&c, &srv, "U").is_some());
    c.shutdown();
}

#[test]
fn kv_config_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T".into(),
        value: "broker-a:4".into(),
    };
    {
        let srv = start(dir.path(), |_| {});
        let resp = call(
            &c,
            &srv,
            RemotingCommand::request_with_header(RequestCode::PUT_KV_CONFIG, &put),
        );
        assert_eq!(resp.response_code(), Some(ResponseCode::SUCCESS));
    }
    let srv = start(dir.path(), |cfg| cfg.order_message_enable = true);
    let get = GetKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T".into(),
    };
    let resp = call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &get),
    );
    let h: GetKvConfigResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.value.as_deref(), Some("broker-a:4"));
    let list = GetKvListByNamespaceRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
    };
    let resp = call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::GET_KVLIST_BY_NAMESPACE, &list),
    );
    let table: KvTable = from_json_slice(&resp.body).unwrap();
    assert_eq!(table.table["T"], "broker-a:4");
    // Routes carry orderTopicConf when orderMessageEnable is on.
    call(
        &c,
        &srv,
        register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000),
    );
    assert_eq!(
        route(&c, &srv, "T").unwrap().order_topic_conf.as_deref(),
        Some("broker-a:4")
    );
    let del = DeleteKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T".into(),
    };
    call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::DELETE_KV_CONFIG, &del),
    );
    let resp = call(
        &c,
        &srv,
        RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &get),
    );
    assert_eq!(resp.response_code(), Some(ResponseCode::QUERY_NOT_FOUND));
    c.shutdown();
}

#[test]
fn bad_requests_get_error_codes_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), |_| {});
    let c = client();
    let resp = call(&c, &srv, RemotingCommand::request_raw(9999));
    assert_eq!(
        resp.response_code(),
        Some(ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
    );
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );

    let mut bad = register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000);
    bad.body = bytes::Bytes::from_static(b"{not json");
    let resp = call(&c, &srv, bad);
    assert_eq!(resp.response_code(), Some(ResponseCode::SYSTEM_ERROR));
    assert!(resp.remark.unwrap().contains("bad register body"));

    let mut missing = register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000);
    missing.ext_fields.remove("brokerName");
    let resp = call(&c, &srv, missing);
    assert_eq!(resp.response_code(), Some(ResponseCode::SYSTEM_ERROR));

    let mut crc = register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000);
    crc.ext_fields.insert("bodyCrc32", "12345");
    let resp = call(&c, &srv, crc);
    assert_eq!(resp.remark.as_deref(), Some("crc32 not match"));

    let ok = register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000);
    assert_eq!(
        call(&c, &srv, ok).response_code(),
        Some(ResponseCode::SUCCESS)
    );
    let route_body = to_json_vec(&route(&c, &srv, "T").unwrap(), IntKeys::Quoted);
    assert!(!route_body.is_empty());
    c.shutdown();
}

#[test]
fn a_flood_of_connections_and_garbage_does_not_stop_service() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), |_| {});
    let c = client();
    call(
        &c,
        &srv,
        register_request("broker-a", 0, "127.0.0.1:1", &["T"], 120_000),
    );
    let mut flood = Vec::new();
    for i in 0..300 {
        let mut s = std::net::TcpStream::connect(srv.local_addr()).unwrap();
        if i % 3 == 0 {
            // A length prefix far beyond the frame limit, then garbage.
            let _ = s.write_all(&[0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3]);
        } else if i % 3 == 1 {
            // Half a frame, never finished.
            let _ = s.write_all(&[0, 0, 0, 100, 0, 0]);
        }
        flood.push(s);
    }
    assert!(route(&c, &srv, "T").is_some());
    drop(flood);
    assert!(route(&c, &srv, "T").is_some());
    c.shutdown();
}
