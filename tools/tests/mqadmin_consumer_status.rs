//! `mqadmin consumerStatus` against a live NameServer + broker and a ferromq push consumer:
//! the broker forwards GET_CONSUMER_RUNNING_INFO to the client, whose answer is printed.

mod common;

use client::{ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, MessageExt, PushConsumer};
use common::*;

#[test]
fn consumer_status_shows_each_clients_queues_and_subscriptions() {
    let c = Cluster::start();
    c.send("StatusT", &["-p", "hello"]);
    c.wait_for_topic("StatusT");
    let consumer = PushConsumer::builder("StatusG")
        .name_server(&c.ns)
        .subscribe("StatusT", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(|_: &[MessageExt], _: &mut ConcurrentContext| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    let owned = || {
        consumer
            .assigned_queues()
            .iter()
            .any(|q| q.topic == "StatusT")
    };
    wait_until("queues assigned", 20, owned);
    c.wait_for_topic("%RETRY%StatusG");
    let doc = || mqadmin(&["consumerStatus", "-n", &c.ns, "-g", "StatusG", "--json"]).json();
    wait_until("the consumer is online", 20, || {
        mqadmin(&["consumerStatus", "-n", &c.ns, "-g", "StatusG", "--json"]).code == 0
    });
    let d = doc();
    let client = &d[0];
    let client_id = client["clientId"].as_str().unwrap().to_string();
    assert_eq!(client["properties"]["consumerGroup"], "StatusG");
    assert_eq!(
        client["properties"]["PROP_CONSUME_TYPE"],
        "CONSUME_PASSIVELY"
    );
    let subs = client["subscriptions"].as_array().unwrap();
    assert!(subs.iter().any(|s| s["topic"] == "StatusT"), "{subs:?}");
    let queues = client["queues"].as_array().unwrap();
    assert!(queues.iter().any(|q| q["topic"] == "StatusT"), "{queues:?}");

    let text = mqadmin(&[
        "consumerStatus",
        "-n",
        &c.ns,
        "-g",
        "StatusG",
        "-i",
        &client_id,
    ]);
    let out = text.ok();
    assert!(
        out.contains(&client_id) && out.contains("#Commit Offset"),
        "{out}"
    );
    assert!(out.contains("StatusT"), "{out}");

    let missing = mqadmin(&[
        "consumerStatus",
        "-n",
        &c.ns,
        "-g",
        "StatusG",
        "-i",
        "nobody",
    ]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("not connected"),
        "{}",
        missing.stderr
    );
    let offline = mqadmin(&["consumerStatus", "-n", &c.ns, "-g", "NoSuchGroup"]);
    assert_ne!(offline.code, 0);
    assert!(offline.stderr.contains("not online"), "{}", offline.stderr);
    consumer.close();
}
