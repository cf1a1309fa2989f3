//! rocketmq-client-rust gets usable routes from our NameServer.

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;

use namesrv::{NamesrvConfig, NamesrvServer};
use protocol::body::register_broker::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use protocol::header::RegisterBrokerRequestHeader;
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use rocketmq_client_rust::DefaultMQProducer;

fn register(nameserver: &str) {
    let mut table = BTreeMap::new();
    let mut topic = TopicConfig::new("CompatTopic");
    topic.read_queue_nums = 4;
    topic.write_queue_nums = 4;
    topic.perm = 6;
    table.insert("CompatTopic".to_string(), topic);
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion::new(1),
            topic_config_table: table,
            ..Default::default()
        },
        filter_server_list: Vec::new(),
    };
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        ..Default::default()
    };
    let request = RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header)
        .with_body(
            body.encode(false, protocol::command::CURRENT_VERSION)
                .unwrap(),
        );
    let client = support::our_client();
    let response = client.invoke_sync(nameserver, request, 3_000).unwrap();
    assert_eq!(response.response_code(), Some(ResponseCode::SUCCESS));
    // The registration stays while this connection lives: keep the client running.
    std::mem::forget(client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn their_producer_reads_our_route() {
    let dir = tempfile::tempdir().unwrap();
    let config = NamesrvConfig {
        kv_config_path: dir.path().join("kv.json"),
        ..NamesrvConfig::default()
    };
    let server = NamesrvServer::start(config, TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let nameserver = server.local_addr().to_string();
    register(&nameserver);

    let runtime = support::TheirRuntime::new("route");
    let mut producer = DefaultMQProducer::builder(runtime.client_runtime())
        .producer_group("compat_route_group".to_string())
        .name_server_addr(nameserver.clone())
        .build();
    producer.start().await.expect("producer start");
    let queues = producer
        .fetch_publish_message_queues("CompatTopic")
        .await
        .expect("route from our NameServer");
    let mut ids: Vec<i32> = queues.iter().map(|q| q.queue_id()).collect();
    ids.sort();
    assert_eq!(ids, vec![0, 1, 2, 3]);
    assert!(queues.iter().all(|q| q.broker_name() == "broker-a"));
    producer.shutdown().await;
    runtime.shutdown().await;
}
