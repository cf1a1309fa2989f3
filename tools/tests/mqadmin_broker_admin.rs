//! The broker admin commands of the real `mqadmin` binary against a real in-process broker:
//! topics (17, 215, 202), broker status and config (28, 26, 25), subscription groups (200,
//! 207), consumer and producer views (203, 204, 208, 300), offsets (222) and message queries
//! (33, 12).

mod common;

use common::{mqadmin, wait_until, Cluster};
use protocol::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use protocol::body::JsonBody;
use protocol::header::QueryConsumerOffsetRequestHeader;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode};
use serde_json::json;

struct Silent;

impl RequestHandler for Silent {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

/// A client connection that announced consumer group `group` (subscribed to `topic`) and
/// producer group `producer` by HEART_BEAT; it stays online while this value lives.
struct OnlineClient {
    handle: RemotingHandle,
    client_id: String,
}

impl OnlineClient {
    fn connect(broker: &str, group: &str, topic: &str, producer: &str) -> OnlineClient {
        let event_loop = EventLoop::new(RemotingConfig::default()).unwrap();
        let handle = event_loop.handle();
        event_loop.spawn("test-client", Silent).unwrap();
        let client_id = format!("127.0.0.1@{group}");
        let data = HeartbeatData {
            client_id: client_id.clone(),
            consumer_data_set: vec![ConsumerData {
                group_name: group.into(),
                subscription_data_set: vec![
                    SubscriptionData::from_expression(topic, "*", 1),
                    SubscriptionData::from_expression(format!("%RETRY%{group}"), "*", 1),
                ],
                ..Default::default()
            }],
            producer_data_set: vec![ProducerData {
                group_name: producer.into(),
            }],
            ..Default::default()
        };
        let req = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode_body());
        let resp = handle.invoke_sync(broker, req, 5_000).unwrap();
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
        OnlineClient { handle, client_id }
    }
}

impl Drop for OnlineClient {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

fn committed_offset(c: &Cluster, group: &str, topic: &str, queue_id: i32) -> i64 {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        set_zero_if_not_found: None,
    };
    let req = RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &h);
    let resp = c
        .admin
        .invoke_ok(tools::error::Peer::Broker, &c.addr(), req)
        .unwrap();
    resp.ext_fields.get("offset").unwrap().parse().unwrap()
}

/// Sends `n` messages to queue 0 of `topic` (auto-creating it) and waits for its route.
fn fill(c: &Cluster, topic: &str, n: usize) {
    for i in 0..n {
        c.send(
            topic,
            &["-p", &format!("m{i}"), "-b", "broker-a", "-i", "0"],
        );
        if i == 0 {
            c.wait_for_topic(topic);
        }
    }
}

#[test]
fn update_topic_on_a_cluster_and_on_one_broker() {
    let c = Cluster::start();
    let run = mqadmin(&[
        "updateTopic",
        "-n",
        &c.ns,
        "-c",
        "TestCluster",
        "-t",
        "AdminTopic",
        "-r",
        "2",
        "-w",
        "3",
    ]);
    let text = run.ok();
    assert!(
        text.starts_with(&format!("create topic to {} success.\n", c.addr())),
        "{text}"
    );
    assert!(
        text.contains(
            "TopicConfig [topicName=AdminTopic, readQueueNums=2, writeQueueNums=3, perm=RW-"
        ),
        "{text}"
    );
    wait_until("the new queue counts", 10, || {
        c.admin.topic_route("AdminTopic").is_ok_and(|r| {
            r.queue_datas
                .first()
                .is_some_and(|q| q.read_queue_nums == 2 && q.write_queue_nums == 3)
        })
    });
    let doc = mqadmin(&[
        "updateTopic",
        "-n",
        &c.ns,
        "-b",
        &c.addr(),
        "-t",
        "OrderedTopic",
        "-o",
        "true",
        "-w",
        "2",
        "--json",
    ])
    .json();
    assert_eq!(doc["orderConf"], "broker-a:2");
    assert_eq!(doc["brokers"], json!([c.addr()]));
    assert_eq!(
        c.admin
            .get_kv_config("ORDER_TOPIC_CONFIG", "OrderedTopic")
            .unwrap()
            .as_deref(),
        Some("broker-a:2")
    );
    let run = mqadmin(&["updateTopic", "-n", &c.ns, "-c", "NoSuchCluster", "-t", "X"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cluster NoSuchCluster has no broker"),
        "{}",
        run.stderr
    );
}

#[test]
fn delete_topic_removes_it_from_broker_and_namesrv() {
    let c = Cluster::start();
    fill(&c, "DelTopic", 1);
    let run = mqadmin(&[
        "deleteTopic",
        "-n",
        &c.ns,
        "-t",
        "DelTopic",
        "-c",
        "TestCluster",
    ]);
    assert_eq!(
        run.ok(),
        "delete topic [DelTopic] from cluster [TestCluster] success.\ndelete topic [DelTopic] from NameServer success.\n"
    );
    wait_until("the route to disappear", 10, || {
        c.admin.topic_route("DelTopic").is_err()
    });
    let run = mqadmin(&["topicRoute", "-n", &c.ns, "-t", "DelTopic"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("topic DelTopic does not exist"));
}

#[test]
fn topic_status_shows_offsets_per_queue() {
    let c = Cluster::start();
    fill(&c, "StatTopic", 3);
    let doc = mqadmin(&["topicStatus", "-n", &c.ns, "-t", "StatTopic", "--json"]).json();
    let rows = doc.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["queueId"], 0);
    assert_eq!(rows[0]["minOffset"], 0);
    assert_eq!(rows[0]["maxOffset"], 3);
    assert!(rows[0]["lastUpdateTimestamp"].as_i64().unwrap() > 0);
    assert_eq!(rows[1]["maxOffset"], 0);
    let text = mqadmin(&["topicStatus", "-n", &c.ns, "-t", "StatTopic"]);
    assert!(text.ok().starts_with("#Broker Name  #QID  #Min Offset  #Max Offset  #Last Updated\nbroker-a      0     0            3"), "{}", text.stdout);
}

#[test]
fn broker_status_by_address_and_by_cluster() {
    let c = Cluster::start();
    let doc = mqadmin(&["brokerStatus", "-n", &c.ns, "-b", &c.addr(), "--json"]).json();
    assert!(doc.as_object().is_some_and(|o| !o.is_empty()), "{doc}");
    assert!(doc.get("msgPutTotalTodayNow").is_some(), "{doc}");
    let text = mqadmin(&["brokerStatus", "-n", &c.ns, "-b", &c.addr()]);
    assert!(
        text.ok()
            .lines()
            .all(|l| l.contains(": ") || l.ends_with(':')),
        "{}",
        text.stdout
    );
    let doc = mqadmin(&["brokerStatus", "-n", &c.ns, "-c", "TestCluster", "--json"]).json();
    assert!(doc[c.addr()].is_object(), "{doc}");
    let rows = mqadmin(&["clusterList", "-n", &c.ns, "--json"]).json();
    assert!(rows[0]["runtimeInfo"].is_object());
}

#[test]
fn broker_config_is_read_and_updated() {
    let c = Cluster::start();
    let doc = mqadmin(&["getBrokerConfig", "-n", &c.ns, "-b", &c.addr(), "--json"]).json();
    assert_eq!(doc[c.addr()]["brokerName"], "broker-a");
    let run = mqadmin(&[
        "updateBrokerConfig",
        "-n",
        &c.ns,
        "-c",
        "TestCluster",
        "-k",
        "defaultTopicQueueNums",
        "-v",
        "6",
    ]);
    assert_eq!(
        run.ok(),
        format!("update broker config success, {}\n", c.addr())
    );
    let text = mqadmin(&["getBrokerConfig", "-n", &c.ns, "-c", "TestCluster"]);
    let text = text.ok();
    assert!(
        text.starts_with(&format!("============Master: {}============\n", c.addr())),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("defaultTopicQueueNums "))
        .unwrap();
    assert!(line.ends_with("=  6"), "{line}");
}

#[test]
fn subscription_groups_are_created_and_deleted() {
    let c = Cluster::start();
    let run = mqadmin(&[
        "updateSubGroup",
        "-n",
        &c.ns,
        "-c",
        "TestCluster",
        "-g",
        "AdminGroup",
        "-r",
        "5",
        "-q",
        "2",
    ]);
    let text = run.ok();
    assert!(
        text.starts_with(&format!(
            "create subscription group to {} success.\n",
            c.addr()
        )),
        "{text}"
    );
    assert!(text.contains("SubscriptionGroupConfig [groupName=AdminGroup, consumeEnable=true, consumeFromMinEnable=false, consumeBroadcastEnable=false, retryQueueNums=2, retryMaxTimes=5"), "{text}");
    let doc = mqadmin(&[
        "updateSubGroup",
        "-n",
        &c.ns,
        "-b",
        &c.addr(),
        "-g",
        "G2",
        "-s",
        "false",
        "--json",
    ])
    .json();
    assert_eq!(doc["subscriptionGroupConfig"]["consumeEnable"], false);
    let run = mqadmin(&["deleteSubGroup", "-n", &c.ns, "-b", &c.addr(), "-g", "G2"]);
    assert_eq!(
        run.ok(),
        format!(
            "delete subscription group [G2] from broker [{}] success.\n",
            c.addr()
        )
    );
    let run = mqadmin(&[
        "deleteSubGroup",
        "-n",
        &c.ns,
        "-c",
        "TestCluster",
        "-g",
        "AdminGroup",
        "-r",
        "true",
    ]);
    assert!(run.ok().starts_with(&format!("delete subscription group [AdminGroup] from broker [{}] in cluster [TestCluster] success.\n", c.addr())), "{}", run.stdout);
}

#[test]
fn consumer_and_producer_views() {
    let c = Cluster::start();
    fill(&c, "CTopic", 2);
    let client = OnlineClient::connect(&c.addr(), "CG", "CTopic", "PG");
    c.wait_for_topic("%RETRY%CG");
    c.admin
        .update_consumer_offset(&c.addr(), "CG", "CTopic", 0, 1)
        .unwrap();

    let doc = mqadmin(&["consumerConnection", "-n", &c.ns, "-g", "CG", "--json"]).json();
    assert_eq!(doc["connections"][0]["clientId"], json!(client.client_id));
    assert_eq!(doc["consumeType"], "CONSUME_PASSIVELY");
    assert!(doc["subscriptions"]
        .as_array()
        .unwrap()
        .contains(&json!({"topic": "CTopic", "subExpression": "*"})));
    let text = mqadmin(&["consumerConnection", "-n", &c.ns, "-g", "CG"]);
    assert!(
        text.ok().contains("Below is subscription:"),
        "{}",
        text.stdout
    );

    let doc = mqadmin(&["consumerProgress", "-n", &c.ns, "-g", "CG", "--json"]).json();
    let q0 = doc["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["topic"] == "CTopic" && o["queueId"] == 0)
        .unwrap()
        .clone();
    assert_eq!(
        (
            q0["brokerOffset"].clone(),
            q0["consumerOffset"].clone(),
            q0["diff"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    assert!(doc["diffTotal"].as_i64().unwrap() >= 1);
    let all = mqadmin(&["consumerProgress", "-n", &c.ns, "--json"]).json();
    let cg = all
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "CG")
        .unwrap()
        .clone();
    assert_eq!(cg["count"], 1);

    let doc = mqadmin(&[
        "producerConnection",
        "-n",
        &c.ns,
        "-g",
        "PG",
        "-t",
        "CTopic",
        "--json",
    ])
    .json();
    assert_eq!(doc[0]["clientId"], json!(client.client_id));
    let run = mqadmin(&[
        "producerConnection",
        "-n",
        &c.ns,
        "-g",
        "NoSuchPG",
        "-t",
        "CTopic",
    ]);
    assert_eq!(run.code, 1);
    let run = mqadmin(&["consumerConnection", "-n", &c.ns, "-g", "Nobody"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("consumer group Nobody is not online"),
        "{}",
        run.stderr
    );

    let doc = mqadmin(&["topicList", "-n", &c.ns, "-c", "--json"]).json();
    assert!(
        doc.as_array().unwrap().contains(
            &json!({"clusterName": "TestCluster", "topic": "CTopic", "consumerGroup": "CG"})
        ),
        "{doc}"
    );
}

#[test]
fn reset_offset_by_time_moves_committed_offsets() {
    let c = Cluster::start();
    let before = protocol::util::clock::now_millis().to_string();
    fill(&c, "RTopic", 3);
    c.admin
        .update_consumer_offset(&c.addr(), "RG", "RTopic", 0, 3)
        .unwrap();
    let doc = mqadmin(&[
        "resetOffsetByTime",
        "-n",
        &c.ns,
        "-g",
        "RG",
        "-t",
        "RTopic",
        "-s",
        &before,
        "--json",
    ])
    .json();
    let q0 = doc
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["queueId"] == 0)
        .unwrap()
        .clone();
    assert_eq!(
        q0,
        json!({"brokerName": "broker-a", "queueId": 0, "offset": 0})
    );
    assert_eq!(committed_offset(&c, "RG", "RTopic", 0), 0);
    let run = mqadmin(&[
        "resetOffsetByTime",
        "-n",
        &c.ns,
        "-g",
        "RG",
        "-t",
        "RTopic",
        "-s",
        "now",
    ]);
    assert!(run.ok().starts_with("rollback consumer offset by specified group[RG], topic[RTopic], force[true], timestamp(string)[now], timestamp(long)[-1]\n"), "{}", run.stdout);
    assert_eq!(committed_offset(&c, "RG", "RTopic", 0), 3);
}

#[test]
fn messages_are_found_by_id_key_and_unique_key() {
    let c = Cluster::start();
    let sent = c.send("QTopic", &["-p", "payload", "-k", "biz-1", "-c", "TagQ"]);
    let offset_id = sent["offsetMsgId"].as_str().unwrap().to_string();
    let uniq = sent["msgId"].as_str().unwrap().to_string();
    c.wait_for_topic("QTopic");
    let run = mqadmin(&["queryMsgById", "-n", &c.ns, "-i", &offset_id]);
    let text = run.ok();
    assert!(
        text.lines()
            .any(|l| l == format!("{:<20} payload", "Message Body:")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == format!("{:<20} {offset_id}", "OffsetID:")),
        "{text}"
    );

    wait_until("the index", 10, || {
        mqadmin(&[
            "queryMsgByKey",
            "-n",
            &c.ns,
            "-t",
            "QTopic",
            "-k",
            "biz-1",
            "--json",
        ])
        .json()
        .as_array()
        .is_some_and(|a| a.len() == 1)
    });
    let doc = mqadmin(&[
        "queryMsgByKey",
        "-n",
        &c.ns,
        "-t",
        "QTopic",
        "-k",
        "biz-1",
        "--json",
    ])
    .json();
    assert_eq!(doc[0]["msgId"], json!(uniq));
    let text = mqadmin(&["queryMsgByKey", "-n", &c.ns, "-t", "QTopic", "-k", "biz-1"]);
    assert!(text.ok().starts_with("#Message ID"), "{}", text.stdout);
    assert_eq!(
        mqadmin(&[
            "queryMsgByKey",
            "-n",
            &c.ns,
            "-t",
            "QTopic",
            "-k",
            "nothing",
            "--json"
        ])
        .json(),
        json!([])
    );

    let doc = mqadmin(&[
        "queryMsgByUniqueKey",
        "-n",
        &c.ns,
        "-i",
        &uniq,
        "-t",
        "QTopic",
        "--json",
    ])
    .json();
    assert_eq!(doc[0]["body"], "payload");
    assert_eq!(doc[0]["tags"], "TagQ");
    let doc = mqadmin(&[
        "queryMsgById",
        "-n",
        &c.ns,
        "-i",
        &uniq,
        "-t",
        "QTopic",
        "--json",
    ])
    .json();
    assert_eq!(doc[0]["offsetMsgId"], json!(offset_id));
    let run = mqadmin(&[
        "queryMsgByUniqueKey",
        "-n",
        &c.ns,
        "-i",
        "0000000000000000000000000000FFFF",
        "-t",
        "QTopic",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not found in topic QTopic"),
        "{}",
        run.stderr
    );
}
