//! Topic and subscription-group administration over loopback: UPDATE_AND_CREATE_TOPIC (17),
//! UPDATE_AND_CREATE_TOPIC_LIST (18), DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21),
//! GET_TOPIC_CONFIG (351), GET_TOPIC_CONFIG_LIST (22), GET_TOPIC_NAME_LIST (23),
//! GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305), UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
//! DELETE_SUBSCRIPTIONGROUP (207), GET_SUBSCRIPTIONGROUP_CONFIG (352),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201); re-registration with the NameServer; and the
//! broker/topic permission checks of sends and pulls (NO_PERMISSION).

mod broker_support;

use broker_support::*;
use protocol::body::route::TopicRouteData;
use protocol::body::{
    from_json_slice, ConsumerOffsetSerializeWrapper, JsonBody, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicConfig, TopicConfigList, TopicConfigSerializeWrapper,
    TopicFilterType, TopicList,
};
use protocol::header::*;
use protocol::message::Properties;
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn route(c: &RemotingHandle, ns: &str, topic: &str) -> Option<TopicRouteData> {
    let h = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: Some(true),
    };
    let req = RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h);
    let r = c.invoke_sync(ns, req, TIMEOUT_MS).ok()?;
    (r.code == 0).then(|| from_json_slice(&r.body).unwrap())
}

fn create_header(topic: &str, read: i32, write: i32, perm: i32) -> CreateTopicRequestHeader {
    CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm,
        topic_filter_type: TOPIC_FILTER_SINGLE_TAG.into(),
        topic_sys_flag: None,
        order: false,
        attributes: None,
        force: None,
    }
}

fn create(c: &RemotingHandle, a: &str, h: &CreateTopicRequestHeader) -> RemotingCommand {
    admin(c, a, RequestCode::UPDATE_AND_CREATE_TOPIC, h)
}

fn topic_config(c: &RemotingHandle, a: &str, topic: &str) -> Option<TopicConfig> {
    let h = GetTopicConfigRequestHeader {
        topic: topic.into(),
    };
    let r = admin(c, a, RequestCode::GET_TOPIC_CONFIG, &h);
    if r.code == ResponseCode::TOPIC_NOT_EXIST.code() {
        return None;
    }
    assert_eq!(r.code, 0);
    Some(TopicConfig::decode_body(&r.body).unwrap())
}

fn rejects(r: RemotingCommand, needle: &str) {
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code(), "{:?}", r.remark);
    let remark = r.remark.unwrap_or_default();
    assert!(remark.contains(needle), "{remark:?} lacks {needle:?}");
}

fn topic_names(c: &RemotingHandle, a: &str, code: RequestCode) -> TopicList {
    let r = call(c, a, RemotingCommand::request(code));
    assert_eq!(r.code, 0);
    TopicList::decode_body(&r.body).unwrap()
}

#[test]
fn create_update_list_and_reregister_topics() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(&dir.path().join("ns"));
    let ns_addr = ns.local_addr().to_string();
    let mut config = broker_config(std::slice::from_ref(&ns_addr));
    config.register_name_server_period_ms = 60_000;
    let b = start_broker(config, store_config(&dir.path().join("store")));
    let a = addr(&b);
    let c = client();

    let mut h = create_header("AdmT", 8, 6, 6);
    h.topic_filter_type = "MULTI_TAG".into();
    h.order = true;
    h.attributes = Some("+message.type=FIFO".into());
    assert_eq!(create(&c, &a, &h).code, 0);
    wait_until("route of the created topic", 10, || {
        route(&c, &ns_addr, "AdmT").is_some_and(|r| {
            r.queue_datas
                .iter()
                .any(|q| q.read_queue_nums == 8 && q.write_queue_nums == 6)
        })
    });
    let t = topic_config(&c, &a, "AdmT").unwrap();
    assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (8, 6, 6));
    assert!(t.order && t.topic_filter_type == TopicFilterType::MultiTag);
    assert_eq!(
        t.attributes.get("message.type").map(String::as_str),
        Some("FIFO")
    );
    h.perm = 4;
    h.attributes = Some("-message.type".into());
    assert_eq!(create(&c, &a, &h).code, 0);
    let t = topic_config(&c, &a, "AdmT").unwrap();
    assert!(t.attributes.is_empty() && t.perm == 4);
    assert!(topic_config(&c, &a, "NoSuchT").is_none());

    rejects(
        create(&c, &a, &create_header("bad topic!", 1, 1, 6)),
        "illegal characters",
    );
    rejects(
        create(&c, &a, &create_header("TBW102", 1, 1, 6)),
        "conflict with system topic",
    );
    rejects(
        create(&c, &a, &create_header("ZeroT", 0, 1, 6)),
        "readQueueNums",
    );
    rejects(create(&c, &a, &create_header("PermT", 1, 1, 99)), "perm 99");
    let mut bad = create_header("FilterT", 1, 1, 6);
    bad.topic_filter_type = "WHATEVER".into();
    rejects(create(&c, &a, &bad), "topicFilterType");
    bad = create_header("AttrT", 1, 1, 6);
    bad.attributes = Some("+no.such=1".into());
    rejects(create(&c, &a, &bad), "unsupported key");
    assert!(
        topic_config(&c, &a, "ZeroT").is_none(),
        "nothing created on error"
    );

    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG),
    );
    let all = TopicConfigSerializeWrapper::decode_body(&r.body).unwrap();
    assert!(all.topic_config_table.contains_key("AdmT"));
    assert!(all.data_version.counter >= 2);
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_TOPIC_CONFIG_LIST),
    );
    let list = TopicConfigList::decode_body(&r.body).unwrap();
    assert!(list
        .topic_config_list
        .iter()
        .any(|t| t.topic_name == "AdmT"));
    assert_eq!(list.topic_config_list.len(), all.topic_config_table.len());
    let names = topic_names(&c, &a, RequestCode::GET_TOPIC_NAME_LIST);
    assert!(names.topic_list.contains("AdmT"));
    assert_eq!(names.broker_addr.as_deref(), Some(a.as_str()));
    let system = topic_names(&c, &a, RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER).topic_list;
    for t in ["TBW102", "SCHEDULE_TOPIC_XXXX", "TestCluster", "broker-a"] {
        assert!(system.contains(t), "{t} is a system topic");
    }
    assert!(!system.contains("AdmT"));

    let list = |names: &[&str], read: i32| TopicConfigList {
        topic_config_list: names
            .iter()
            .map(|n| TopicConfig::with_queues(*n, read, 2, 6))
            .collect(),
    };
    let r = admin_body(
        &c,
        &a,
        RequestCode::UPDATE_AND_CREATE_TOPIC_LIST,
        list(&["L1", "L2"], 2).encode_body(),
    );
    assert_eq!(r.code, 0);
    assert_eq!(topic_config(&c, &a, "L2").unwrap().read_queue_nums, 2);
    let mut mixed = list(&["L3"], 2);
    mixed
        .topic_config_list
        .push(TopicConfig::with_queues("bad name", 1, 1, 6));
    let r = admin_body(
        &c,
        &a,
        RequestCode::UPDATE_AND_CREATE_TOPIC_LIST,
        mixed.encode_body(),
    );
    rejects(r, "illegal characters");
    assert!(topic_config(&c, &a, "L3").is_none(), "all or nothing");
    wait_until("route of a listed topic", 10, || {
        route(&c, &ns_addr, "L1").is_some()
    });
}

#[test]
fn delete_topic_removes_offsets_and_queues() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    send_n(&c, &a, "DelT", 0, 3, b"gone soon");
    send_n(&c, &a, "KeepT", 0, 1, b"stays");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("DelT", 0) == 3
            && b.store().max_offset_in_queue("KeepT", 0) == 1
    });
    for topic in ["DelT", "KeepT"] {
        let h = UpdateConsumerOffsetRequestHeader {
            consumer_group: "DG".into(),
            topic: topic.into(),
            queue_id: 0,
            commit_offset: 1,
        };
        assert_eq!(
            admin(&c, &a, RequestCode::UPDATE_CONSUMER_OFFSET, &h).code,
            0
        );
    }
    let h = DeleteTopicRequestHeader {
        topic: "DelT".into(),
    };
    assert_eq!(
        admin(&c, &a, RequestCode::DELETE_TOPIC_IN_BROKER, &h).code,
        0
    );
    assert!(topic_config(&c, &a, "DelT").is_none());
    assert_eq!(
        b.store().max_offset_in_queue("DelT", 0),
        0,
        "consume queue removed"
    );
    assert!(!dir.path().join("consumequeue").join("DelT").exists());
    assert_eq!(b.store().max_offset_in_queue("KeepT", 0), 1);
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET),
    );
    let offsets = ConsumerOffsetSerializeWrapper::decode_body(&r.body).unwrap();
    assert!(!offsets.offset_table.contains_key("DelT@DG"));
    assert!(offsets.offset_table.contains_key("KeepT@DG"));
    let h = DeleteTopicRequestHeader {
        topic: "SCHEDULE_TOPIC_XXXX".into(),
    };
    rejects(
        admin(&c, &a, RequestCode::DELETE_TOPIC_IN_BROKER, &h),
        "system topic",
    );
    // A re-created topic starts from offset 0 again.
    send_n(&c, &a, "DelT", 0, 1, b"again");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("DelT", 0) == 1
    });
    let r = pull(&c, &a, &pull_header("DG2", "DelT", 0, 0, "*"));
    assert_eq!(r.code, 0);
    let msgs = protocol::message::decode_records(&r.body).unwrap();
    assert_eq!((msgs.len(), msgs[0].queue_offset), (1, 0));
}

fn group_config(c: &RemotingHandle, a: &str, group: &str) -> Option<SubscriptionGroupConfig> {
    let h = GetSubscriptionGroupConfigRequestHeader {
        group: group.into(),
    };
    let r = admin(c, a, RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG, &h);
    if r.code != 0 {
        assert_eq!(r.remark.as_deref(), Some("No group in this broker"));
        return None;
    }
    Some(SubscriptionGroupConfig::decode_body(&r.body).unwrap())
}

fn offsets_have(c: &RemotingHandle, a: &str, key: &str) -> bool {
    let r = call(
        c,
        a,
        RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET),
    );
    ConsumerOffsetSerializeWrapper::decode_body(&r.body)
        .unwrap()
        .offset_table
        .contains_key(key)
}

#[test]
fn subscription_groups() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let a = addr(&b);
    let c = client();
    let sg = SubscriptionGroupConfig {
        retry_max_times: 3,
        consume_enable: false,
        ..SubscriptionGroupConfig::new("SG")
    };
    let create = |g: &SubscriptionGroupConfig| {
        admin_body(
            &c,
            &a,
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
            g.encode_body(),
        )
    };
    assert_eq!(create(&sg).code, 0);
    assert_eq!(group_config(&c, &a, "SG").unwrap(), sg);
    assert!(group_config(&c, &a, "NoSuchG").is_none());
    rejects(
        create(&SubscriptionGroupConfig::new("bad group")),
        "illegal characters",
    );
    let r = call(
        &c,
        &a,
        RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
    );
    let all = SubscriptionGroupWrapper::decode_body(&r.body).unwrap();
    assert!(all.subscription_group_table.contains_key("SG"));
    assert!(all.subscription_group_table.contains_key("TOOLS_CONSUMER"));

    send_n(&c, &a, "GrpT", 0, 1, b"x");
    let r = pull(&c, &a, &pull_header("SG", "GrpT", 0, 0, "*"));
    assert_eq!(
        r.code,
        ResponseCode::NO_PERMISSION.code(),
        "consumeEnable=false"
    );
    assert_eq!(
        r.remark.as_deref(),
        Some("subscription group no permission, SG")
    );

    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "SG".into(),
        topic: "GrpT".into(),
        queue_id: 0,
        commit_offset: 1,
    };
    assert_eq!(
        admin(&c, &a, RequestCode::UPDATE_CONSUMER_OFFSET, &commit).code,
        0
    );
    let delete = |clean: bool| {
        let h = DeleteSubscriptionGroupRequestHeader {
            group_name: "SG".into(),
            clean_offset: Some(clean),
        };
        admin(&c, &a, RequestCode::DELETE_SUBSCRIPTIONGROUP, &h)
    };
    assert_eq!(delete(false).code, 0);
    assert!(group_config(&c, &a, "SG").is_none());
    assert!(
        offsets_have(&c, &a, "GrpT@SG"),
        "offsets kept without cleanOffset"
    );
    assert_eq!(create(&sg).code, 0);
    assert_eq!(delete(true).code, 0);
    assert!(!offsets_have(&c, &a, "GrpT@SG"));
}

#[test]
fn a_slave_refuses_topic_and_group_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.broker_role = broker::config::BrokerRole::Slave;
    config.broker_id = 1;
    let b = start_broker(config, store_config(dir.path()));
    let a = addr(&b);
    let c = client();
    let slave = "Can't modify topic or subscription group from slave broker";
    rejects(create(&c, &a, &create_header("SlaveT", 1, 1, 6)), slave);
    let h = DeleteTopicRequestHeader {
        topic: "SlaveT".into(),
    };
    rejects(
        admin(&c, &a, RequestCode::DELETE_TOPIC_IN_BROKER, &h),
        slave,
    );
    let g = SubscriptionGroupConfig::new("SG").encode_body();
    rejects(
        admin_body(&c, &a, RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, g),
        slave,
    );
    let h = DeleteSubscriptionGroupRequestHeader {
        group_name: "SG".into(),
        clean_offset: None,
    };
    rejects(
        admin(&c, &a, RequestCode::DELETE_SUBSCRIPTIONGROUP, &h),
        slave,
    );
}

fn update_config(c: &RemotingHandle, a: &str, text: &str) {
    let r = admin_body(
        c,
        a,
        RequestCode::UPDATE_BROKER_CONFIG,
        text.as_bytes().to_vec(),
    );
    assert_eq!(r.code, 0, "{:?}", r.remark);
}

#[test]
fn broker_and_topic_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(&dir.path().join("ns"));
    let ns_addr = ns.local_addr().to_string();
    let mut config = broker_config(std::slice::from_ref(&ns_addr));
    config.register_name_server_period_ms = 60_000;
    let b = start_broker(config, store_config(&dir.path().join("store")));
    let a = addr(&b);
    let c = client();
    send_n(&c, &a, "PermT", 0, 1, b"x");
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue("PermT", 0) == 1
    });
    let send_code = || {
        let r = send(&c, &a, "PermT", 0, &Properties::new(), b"y");
        (r.code, r.remark.unwrap_or_default())
    };
    let pull_code = || {
        let r = pull(&c, &a, &pull_header("PG1", "PermT", 0, 0, "*"));
        (r.code, r.remark.unwrap_or_default())
    };
    let denied = ResponseCode::NO_PERMISSION.code();
    let route_perm = || route(&c, &ns_addr, "PermT").map(|r| r.queue_datas[0].perm);
    wait_until("registered", 10, || route_perm() == Some(6));

    update_config(&c, &a, "brokerPermission=4");
    assert_eq!(
        send_code(),
        (
            denied,
            "the broker[127.0.0.1] sending message is forbidden".into()
        )
    );
    assert_eq!(pull_code().0, 0);
    wait_until("re-registered with read-only perms", 10, || {
        route_perm() == Some(4)
    });

    update_config(&c, &a, "brokerPermission=2");
    assert_eq!(
        pull_code(),
        (
            denied,
            "the broker[127.0.0.1] pulling message is forbidden".into()
        )
    );
    assert_eq!(send_code().0, 0);
    wait_until("re-registered with write-only perms", 10, || {
        route_perm() == Some(2)
    });

    update_config(&c, &a, "brokerPermission=6");
    wait_until("re-registered read-write", 10, || route_perm() == Some(6));
    assert_eq!(create(&c, &a, &create_header("PermT", 4, 4, 4)).code, 0);
    assert_eq!(
        send_code(),
        (
            denied,
            "the topic[PermT] sending message is forbidden".into()
        )
    );
    assert_eq!(create(&c, &a, &create_header("PermT", 4, 4, 2)).code, 0);
    assert_eq!(
        pull_code(),
        (
            denied,
            "the topic[PermT] pulling message is forbidden".into()
        )
    );
    assert_eq!(send_code().0, 0);
}
