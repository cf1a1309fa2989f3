//! The real `mqadmin` binary against an in-process NameServer with a broker registered by a raw
//! REGISTER_BROKER: the NameServer commands, output formats, errors and exit codes.

mod common;

use common::{dead_addr, mqadmin, mqadmin_env, start_namesrv, RegisteredBroker};
use serde_json::json;
use tools::AdminClient;

struct Fixture {
    _dir: tempfile::TempDir,
    srv: namesrv::NamesrvServer,
    ns: String,
    broker: RegisteredBroker,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_namesrv(dir.path());
    let ns = srv.local_addr().to_string();
    let broker = RegisteredBroker::register(
        &ns,
        "DefaultCluster",
        "broker-a",
        &dead_addr(),
        &["TopicTest", "OrderTopic"],
    );
    Fixture {
        _dir: dir,
        srv,
        ns,
        broker,
    }
}

#[test]
fn cluster_list_shows_each_broker_and_warns_about_missing_stats() {
    let f = fixture();
    let run = mqadmin(&["clusterList", "-n", &f.ns]);
    let out = run.ok();
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("#Cluster Name   #Broker Name  #BID  #Addr"),
        "{header}"
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        &row[..4],
        ["DefaultCluster", "broker-a", "0", f.broker.addr.as_str()]
    );
    assert!(
        run.stderr
            .contains(&format!("no runtime stats from {}", f.broker.addr)),
        "{}",
        run.stderr
    );

    let doc = mqadmin(&["clusterList", "-n", &f.ns, "--json"]).json();
    assert_eq!(doc[0]["clusterName"], "DefaultCluster");
    assert_eq!(doc[0]["brokerId"], 0);
    assert_eq!(doc[0]["addr"], json!(f.broker.addr));
    assert_eq!(doc[0]["runtimeInfo"], serde_json::Value::Null);

    let more = mqadmin(&["clusterList", "-n", &f.ns, "-m"]);
    assert!(
        more.ok()
            .starts_with("#Cluster Name   #Broker Name  #InTotalYest"),
        "{}",
        more.stdout
    );
}

#[test]
fn topic_list_and_cluster_model() {
    let f = fixture();
    let out = mqadmin(&["topicList", "-n", &f.ns]);
    let topics: Vec<&str> = out.ok().lines().collect();
    assert_eq!(topics, ["OrderTopic", "TopicTest"]);
    assert_eq!(
        mqadmin(&["topicList", "-n", &f.ns, "--json"]).json(),
        json!(["OrderTopic", "TopicTest"])
    );

    let doc = mqadmin(&["topicList", "-n", &f.ns, "-c", "--json"]).json();
    assert_eq!(
        doc,
        json!([
            {"clusterName": "DefaultCluster", "topic": "OrderTopic", "consumerGroup": ""},
            {"clusterName": "DefaultCluster", "topic": "TopicTest", "consumerGroup": ""},
        ])
    );
    let text = mqadmin(&["topicList", "-n", &f.ns, "-c"]);
    assert!(
        text.ok().starts_with(
            "#Cluster Name   #Topic      #Consumer Group\nDefaultCluster  OrderTopic\n"
        ),
        "{}",
        text.stdout
    );
}

#[test]
fn topic_route_prints_the_route_as_json() {
    let f = fixture();
    let text = mqadmin(&["topicRoute", "-n", &f.ns, "-t", "TopicTest"]);
    let pretty: serde_json::Value = serde_json::from_str(text.ok()).unwrap();
    let doc = mqadmin(&["topicRoute", "-n", &f.ns, "-t", "TopicTest", "--json"]).json();
    assert_eq!(pretty, doc);
    assert_eq!(doc["brokerDatas"][0]["brokerName"], "broker-a");
    assert_eq!(
        doc["brokerDatas"][0]["brokerAddrs"]["0"],
        json!(f.broker.addr)
    );
    assert_eq!(doc["queueDatas"][0]["readQueueNums"], 4);
    assert_eq!(doc["queueDatas"][0]["perm"], 6);
}

#[test]
fn unknown_topic_fails_with_a_clear_message() {
    let f = fixture();
    for cmd in ["topicRoute", "topicStatus", "topicClusterList"] {
        let run = mqadmin(&[cmd, "-n", &f.ns, "-t", "NoSuchTopic"]);
        assert_eq!(run.code, 1, "{cmd}");
        assert_eq!(
            run.stderr,
            format!("mqadmin {cmd}: topic NoSuchTopic does not exist\n")
        );
        // A script reading --json output gets nothing on stdout, not a half document.
        let run = mqadmin(&[cmd, "-n", &f.ns, "-t", "NoSuchTopic", "--json"]);
        assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    }
}

#[test]
fn topic_cluster_list_names_the_cluster() {
    let f = fixture();
    let other = RegisteredBroker::register(
        &f.ns,
        "OtherCluster",
        "broker-b",
        &dead_addr(),
        &["TopicTest"],
    );
    let out = mqadmin(&["topicClusterList", "-n", &f.ns, "-t", "TopicTest"]);
    assert_eq!(out.ok(), "DefaultCluster\nOtherCluster\n");
    let out = mqadmin(&[
        "topicClusterList",
        "-n",
        &f.ns,
        "-t",
        "OrderTopic",
        "--json",
    ]);
    assert_eq!(out.json(), json!(["DefaultCluster"]));
    drop(other);
}

#[test]
fn wipe_write_perm_makes_routes_read_only() {
    let f = fixture();
    let out = mqadmin(&["wipeWritePerm", "-n", &f.ns, "-b", "broker-a"]);
    assert_eq!(
        out.ok(),
        format!(
            "wipe write perm of broker[broker-a] in name server[{}] OK, 2\n",
            f.ns
        )
    );
    let doc = mqadmin(&["topicRoute", "-n", &f.ns, "-t", "TopicTest", "--json"]).json();
    assert_eq!(doc["queueDatas"][0]["perm"], 4);
    let doc = mqadmin(&["wipeWritePerm", "-n", &f.ns, "-b", "broker-a", "--json"]).json();
    assert_eq!(
        doc,
        json!([{"namesrv": f.ns, "ok": true, "wipeTopicCount": 2}])
    );
}

#[test]
fn wipe_write_perm_reports_each_namesrv_and_fails_if_one_is_down() {
    let f = fixture();
    let dead = dead_addr();
    let list = format!("{};{dead}", f.ns);
    let run = mqadmin(&["wipeWritePerm", "-n", &list, "-b", "broker-a"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains(&format!("in name server[{}] OK, 2", f.ns)),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "in name server[{dead}] Failed: connect to namesrv {dead} failed"
        )),
        "{}",
        run.stdout
    );
    assert!(run
        .stderr
        .contains("wipe write perm failed on 1 name server(s)"));
}

#[test]
fn get_namesrv_config_prints_every_key() {
    let f = fixture();
    let out = mqadmin(&["getNamesrvConfig", "-n", &f.ns]);
    let text = out.ok();
    assert!(
        text.starts_with(&format!("============{}============\n", f.ns)),
        "{text}"
    );
    let kv_line = text
        .lines()
        .find(|l| l.starts_with("kvConfigPath"))
        .unwrap();
    assert!(
        kv_line.contains("=  ") && kv_line.ends_with("kvConfig.json"),
        "{kv_line}"
    );
    let doc = mqadmin(&["getNamesrvConfig", "-n", &f.ns, "--json"]).json();
    assert_eq!(doc[&f.ns]["listenPort"], "9876");
    assert!(doc[&f.ns]["kvConfigPath"]
        .as_str()
        .unwrap()
        .ends_with("kvConfig.json"));
}

#[test]
fn kv_config_is_created_updated_and_deleted() {
    let f = fixture();
    let admin = AdminClient::start(vec![f.ns.clone()], 3_000).unwrap();
    let out = mqadmin(&[
        "updateKvConfig",
        "-n",
        &f.ns,
        "-s",
        "ns1",
        "-k",
        "k1",
        "-v",
        "v1",
    ]);
    assert_eq!(
        out.ok(),
        "create or update kv config to namespace success.\n"
    );
    assert_eq!(
        admin.get_kv_config("ns1", "k1").unwrap().as_deref(),
        Some("v1")
    );
    let doc = mqadmin(&[
        "updateKvConfig",
        "-n",
        &f.ns,
        "-s",
        "ns1",
        "-k",
        "k1",
        "-v",
        "v2",
        "--json",
    ])
    .json();
    assert_eq!(
        doc,
        json!({"namespace": "ns1", "key": "k1", "value": "v2", "namesrvs": [f.ns]})
    );
    assert_eq!(
        admin.get_kv_config("ns1", "k1").unwrap().as_deref(),
        Some("v2")
    );
    let out = mqadmin(&["deleteKvConfig", "-n", &f.ns, "-s", "ns1", "-k", "k1"]);
    assert_eq!(out.ok(), "delete kv config from namespace success.\n");
    assert_eq!(admin.get_kv_config("ns1", "k1").unwrap(), None);
    let doc = mqadmin(&[
        "deleteKvConfig",
        "-n",
        &f.ns,
        "-s",
        "ns1",
        "-k",
        "k1",
        "--json",
    ])
    .json();
    assert_eq!(doc["key"], "k1");
}

#[test]
fn kv_config_goes_to_every_namesrv() {
    let f = fixture();
    let dir2 = tempfile::tempdir().unwrap();
    let srv2 = start_namesrv(dir2.path());
    let ns2 = srv2.local_addr().to_string();
    let list = format!("{};{ns2}", f.ns);
    mqadmin(&[
        "updateKvConfig",
        "-n",
        &list,
        "-s",
        "ns",
        "-k",
        "k",
        "-v",
        "v",
    ])
    .ok();
    for ns in [&f.ns, &ns2] {
        let admin = AdminClient::start(vec![ns.clone()], 3_000).unwrap();
        assert_eq!(
            admin.get_kv_config("ns", "k").unwrap().as_deref(),
            Some("v"),
            "{ns}"
        );
    }
}

#[test]
fn unreachable_namesrv_exits_1_with_the_address() {
    let dead = dead_addr();
    let run = mqadmin(&["topicList", "-n", &dead]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with(&format!(
            "mqadmin topicList: connect to namesrv {dead} failed: "
        )),
        "{}",
        run.stderr
    );
    let run = mqadmin(&["topicList", "-n", "127.0.0.1:9"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("connect to namesrv 127.0.0.1:9 failed"),
        "{}",
        run.stderr
    );
}

#[test]
fn namesrv_fail_over_and_environment() {
    let f = fixture();
    let dead = dead_addr();
    let list = format!("{dead};{}", f.ns);
    assert_eq!(
        mqadmin(&["topicList", "-n", &list]).ok(),
        "OrderTopic\nTopicTest\n"
    );
    let run = mqadmin_env(&["topicList"], &[("NAMESRV_ADDR", f.ns.as_str())]);
    assert_eq!(run.ok(), "OrderTopic\nTopicTest\n");
    // -n wins over the environment.
    let run = mqadmin_env(
        &["topicList", "-n", &dead],
        &[("NAMESRV_ADDR", f.ns.as_str())],
    );
    assert_eq!(run.code, 1);
    let both_dead = format!("{dead};{}", dead_addr());
    let run = mqadmin(&["topicList", "-n", &both_dead]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.matches("connect to namesrv").count(),
        2,
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2_with_usage_text() {
    let run = mqadmin(&["topicRoute", "-n", "127.0.0.1:9876"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("Required option 'topic' missing"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Usage: mqadmin topicRoute"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("-t, --topic <topic>"), "{}", run.stderr);

    let run = mqadmin(&["noSuchCommand"]);
    assert_eq!(run.code, 2);
    assert!(run
        .stderr
        .starts_with("The sub command noSuchCommand not exist."));

    let run = mqadmin(&["updateTopic", "-n", "127.0.0.1:9876", "-t", "T"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("one of -b <brokerAddr> or -c <clusterName> is required"),
        "{}",
        run.stderr
    );

    let run = mqadmin(&["topicList"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no NameServer address"),
        "{}",
        run.stderr
    );

    let run = mqadmin(&["topicRoute", "-t", "T", "--bogus"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("Unrecognized option: 'bogus'"),
        "{}",
        run.stderr
    );
}

#[test]
fn listing_and_help() {
    let run = mqadmin(&[]);
    let text = run.ok();
    assert!(text.starts_with("The most commonly used mqadmin commands are:\n"));
    for name in [
        "updateTopic",
        "clusterList",
        "queryMsgByUniqueKey",
        "consumeMessage",
        "deleteKvConfig",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
    assert!(text
        .ends_with("See 'mqadmin help <command>' for more information on a specific command.\n"));

    let run = mqadmin(&["help", "updateTopic"]);
    let text = run.ok();
    assert!(text.starts_with("Usage: mqadmin updateTopic"), "{text}");
    for opt in [
        "-b, --brokerAddr",
        "-c, --clusterName",
        "-t, --topic",
        "-r, --readQueueNums",
        "-w, --writeQueueNums",
        "-p, --perm",
        "-o, --order",
        "-n, --namesrvAddr",
        "--json",
    ] {
        assert!(text.contains(opt), "{opt} missing:\n{text}");
    }
    let run = mqadmin(&["help", "nope"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        mqadmin(&["clusterList", "--help"]).ok(),
        mqadmin(&["help", "clusterList"]).ok()
    );
}

#[test]
fn json_output_of_namesrv_commands_parses() {
    let f = fixture();
    let ns = f.ns.as_str();
    let runs: &[&[&str]] = &[
        &["clusterList", "-n", ns, "--json"],
        &["clusterList", "-n", ns, "-m", "--json"],
        &["topicList", "-n", ns, "--json"],
        &["topicList", "-n", ns, "-c", "--json"],
        &["topicRoute", "-n", ns, "-t", "TopicTest", "--json"],
        &["topicClusterList", "-n", ns, "-t", "TopicTest", "--json"],
        &["getNamesrvConfig", "-n", ns, "--json"],
        &[
            "updateKvConfig",
            "-n",
            ns,
            "-s",
            "a",
            "-k",
            "b",
            "-v",
            "c",
            "--json",
        ],
        &["deleteKvConfig", "-n", ns, "-s", "a", "-k", "b", "--json"],
        &["wipeWritePerm", "-n", ns, "-b", "broker-a", "--json"],
    ];
    for args in runs {
        let doc = mqadmin(args).json();
        assert!(!doc.is_null(), "{args:?} printed null");
    }
    drop(f.srv);
}
