//! The real `mqadmin` binary against an in-process NameServer and a real broker
//! (`broker::BrokerServer`): sending, reading back by queue offset, the route and cluster views
//! with a live broker, broker error reporting.
//!
//! The broker admin processor (codes 17, 25, 26, 28, 33, 12, 200, 202, 203, 204, 207, 208,
//! 215, 222, 300) is exercised by `mqadmin_broker_admin.rs`.

mod common;

use common::{dead_addr, mqadmin, Cluster};
use serde_json::{json, Value};

#[test]
fn send_auto_creates_the_topic_and_every_reader_finds_the_messages() {
    let c = Cluster::start();
    let first = c.send(
        "E2ETopic",
        &["-p", "hello-0", "-c", "TagA", "-k", "key0 other"],
    );
    assert_eq!(first["sendStatus"], "SEND_OK");
    assert_eq!(first["brokerName"], "broker-a");
    assert_eq!(first["msgId"].as_str().unwrap().len(), 32);
    c.wait_for_topic("E2ETopic");
    let first_queue = first["queueId"].as_i64().unwrap().to_string();
    for (i, tag) in ["TagB", "TagA", "TagB"].iter().enumerate() {
        let body = format!("hello-{}", i + 1);
        let sent = c.send(
            "E2ETopic",
            &["-p", &body, "-c", tag, "-b", "broker-a", "-i", &first_queue],
        );
        assert_eq!(sent["queueId"].as_i64().unwrap().to_string(), first_queue);
        assert_eq!(sent["queueOffset"], json!(i + 1));
    }

    // consumeMessage: everything, then one queue from an offset with a count.
    let all = mqadmin(&["consumeMessage", "-n", &c.ns, "-t", "E2ETopic", "--json"]).json();
    let bodies: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["hello-0", "hello-1", "hello-2", "hello-3"]);
    assert_eq!(all[0]["keys"], json!(["key0", "other"]));
    assert_eq!(all[0]["offsetMsgId"], first["offsetMsgId"]);
    assert_eq!(all[0]["msgId"], first["msgId"]);
    let some = mqadmin(&[
        "consumeMessage",
        "-n",
        &c.ns,
        "-t",
        "E2ETopic",
        "-b",
        "broker-a",
        "-i",
        &first_queue,
        "-o",
        "1",
        "-c",
        "2",
        "--json",
    ])
    .json();
    let offsets: Vec<i64> = some
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["queueOffset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [1, 2]);
    let text = mqadmin(&["consumeMessage", "-n", &c.ns, "-t", "E2ETopic", "-c", "1"]);
    let text = text.ok();
    assert!(
        text.starts_with("#Broker Name  #QID  #Offset  #MsgId"),
        "{text}"
    );
    assert!(
        text.contains("hello-0") && text.ends_with("consumed 1 message(s)\n"),
        "{text}"
    );

    // printMsg with a tag filter, and without bodies.
    let tagged = mqadmin(&[
        "printMsg", "-n", &c.ns, "-t", "E2ETopic", "-s", "TagB", "--json",
    ])
    .json();
    let found: Vec<&Value> = tagged
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|q| q["messages"].as_array().unwrap())
        .collect();
    let bodies: Vec<&str> = found.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["hello-1", "hello-3"]);
    assert_eq!(tagged.as_array().unwrap().len(), 4, "one entry per queue");
    let no_body = mqadmin(&["printMsg", "-n", &c.ns, "-t", "E2ETopic", "-d", "false"]);
    let text = no_body.ok();
    assert!(
        text.contains("NOT PRINT BODY") && !text.contains("hello-"),
        "{text}"
    );
    assert!(
        text.contains(
            "minOffset=0, maxOffset=4, MessageQueue [topic=E2ETopic, brokerName=broker-a"
        ),
        "{text}"
    );

    // queryMsgByOffset: the detail view of one message; past the end is an error.
    let detail = mqadmin(&[
        "queryMsgByOffset",
        "-n",
        &c.ns,
        "-t",
        "E2ETopic",
        "-b",
        "broker-a",
        "-i",
        &first_queue,
        "-o",
        "0",
    ]);
    let text = detail.ok();
    assert!(
        text.starts_with(&format!(
            "{:<20} {}\n",
            "OffsetID:",
            first["offsetMsgId"].as_str().unwrap()
        )),
        "{text}"
    );
    for (label, value) in [
        ("Topic:", "E2ETopic"),
        ("Tags:", "[TagA]"),
        ("Keys:", "[key0 other]"),
        ("Message Body:", "hello-0"),
    ] {
        let line = format!("{label:<20} {value}");
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    let doc = mqadmin(&[
        "queryMsgByOffset",
        "-n",
        &c.ns,
        "-t",
        "E2ETopic",
        "-b",
        "broker-a",
        "-i",
        &first_queue,
        "-o",
        "3",
        "--json",
    ])
    .json();
    assert_eq!(doc[0]["body"], "hello-3");
    assert_eq!(doc[0]["storeHost"], json!(c.addr()));
    let past = mqadmin(&[
        "queryMsgByOffset",
        "-n",
        &c.ns,
        "-t",
        "E2ETopic",
        "-b",
        "broker-a",
        "-i",
        &first_queue,
        "-o",
        "9",
    ]);
    assert_eq!(past.code, 1);
    assert!(
        past.stderr.contains("no message at offset 9"),
        "{}",
        past.stderr
    );
}

#[test]
fn route_and_cluster_views_show_the_live_broker() {
    let c = Cluster::start();
    c.send("ViewTopic", &["-p", "x"]);
    c.wait_for_topic("ViewTopic");
    let route = mqadmin(&["topicRoute", "-n", &c.ns, "-t", "ViewTopic", "--json"]).json();
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], json!(c.addr()));
    assert_eq!(route["brokerDatas"][0]["cluster"], "TestCluster");
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4);
    let clusters = mqadmin(&["topicClusterList", "-n", &c.ns, "-t", "ViewTopic"]);
    assert_eq!(clusters.ok(), "TestCluster\n");
    let list = mqadmin(&["topicList", "-n", &c.ns, "--json"]).json();
    assert!(
        list.as_array().unwrap().contains(&json!("ViewTopic")),
        "{list}"
    );
    let rows = mqadmin(&["clusterList", "-n", &c.ns, "--json"]).json();
    assert_eq!(rows[0]["clusterName"], "TestCluster");
    assert_eq!(rows[0]["brokerName"], "broker-a");
    assert_eq!(rows[0]["addr"], json!(c.addr()));
}

#[test]
fn wipe_write_perm_stops_sends_through_the_route() {
    let c = Cluster::start();
    c.send("WipeTopic", &["-p", "x"]);
    c.wait_for_topic("WipeTopic");
    let out = mqadmin(&["wipeWritePerm", "-n", &c.ns, "-b", "broker-a"]);
    assert!(
        out.ok().contains("wipe write perm of broker[broker-a]"),
        "{}",
        out.stdout
    );
    let run = mqadmin(&["sendMessage", "-n", &c.ns, "-t", "WipeTopic", "-p", "y"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "mqadmin sendMessage: topic WipeTopic has no writable queue\n"
    );
}

#[test]
fn send_to_a_missing_queue_or_topic_is_reported() {
    let c = Cluster::start();
    c.send("QTopic", &["-p", "x"]);
    c.wait_for_topic("QTopic");
    let run = mqadmin(&[
        "sendMessage",
        "-n",
        &c.ns,
        "-t",
        "QTopic",
        "-p",
        "x",
        "-b",
        "broker-a",
        "-i",
        "99",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("has no writable queue 99 on broker broker-a"),
        "{}",
        run.stderr
    );
    let run = mqadmin(&[
        "consumeMessage",
        "-n",
        &c.ns,
        "-t",
        "QTopic",
        "-b",
        "broker-x",
        "-i",
        "0",
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no readable queue"), "{}", run.stderr);
}

#[test]
fn broker_error_codes_come_with_their_remark() {
    let c = Cluster::start();
    // A NameServer does not serve broker requests: its answer must reach the operator intact.
    let run = mqadmin(&["brokerStatus", "-b", &c.ns]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("mqadmin brokerStatus: broker {} answered REQUEST_CODE_NOT_SUPPORTED (3): request type 28 not supported\n", c.ns)
    );
    let dead = dead_addr();
    let run = mqadmin(&["getBrokerConfig", "-b", &dead]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "mqadmin getBrokerConfig: connect to broker {dead} failed: "
        )),
        "{}",
        run.stderr
    );
}
