use super::*;

fn host() -> HostFacts {
    HostFacts {
        hostname: Some("node-7".into()),
        namesrv_addr: Some("10.0.0.1:9876;10.0.0.2:9876".into()),
        home: Some("/home/mq".into()),
        rocketmq_home: None,
        local_ip: "10.0.0.9".into(),
    }
}

/// `conf/2m-2s-sync/broker-a.properties` from the RocketMQ distribution, plus the keys an
/// operator usually adds (store keys included, which the broker config must hand back).
const BROKER_A: &str = "\
# Licensed to the Apache Software Foundation (ASF) under one or more
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
deleteWhen=04
fileReservedTime=48
brokerRole=SYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=192.168.0.1:9876;192.168.0.2:9876
listenPort=10911
storePathRootDir=/data/rocketmq/store
storePathCommitLog=/data/rocketmq/store/commitlog
mapedFileSizeCommitLog=1073741824
autoCreateTopicEnable=false
";

/// `conf/2m-2s-sync/broker-a-s.properties`.
const BROKER_A_S: &str = "\
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=1
deleteWhen=04
fileReservedTime=48
brokerRole=SLAVE
flushDiskType=ASYNC_FLUSH
listenPort=11011
";

#[test]
fn defaults_come_from_the_host_facts() {
    let c = BrokerConfig::with_host(&host());
    assert_eq!(c.broker_name, "node-7");
    assert_eq!(c.broker_cluster_name, "DefaultCluster");
    assert_eq!(c.broker_ip1, "10.0.0.9");
    assert_eq!(c.effective_broker_ip2(), "10.0.0.9");
    assert_eq!(c.store_path_root_dir, PathBuf::from("/home/mq/store"));
    assert_eq!(c.namesrv_addrs(), ["10.0.0.1:9876", "10.0.0.2:9876"]);
    assert_eq!(
        (c.listen_port, c.effective_ha_listen_port()),
        (10911, 10912)
    );
    assert_eq!(c.fast_listen_port(), 10909);
    assert_eq!(c.broker_addr(), "10.0.0.9:10911");
    assert_eq!(c.ha_server_addr(), "10.0.0.9:10912");
    assert_eq!(c.message_delay_levels_ms.len(), 18);
    assert_eq!(
        parse_delay_levels(DEFAULT_MESSAGE_DELAY_LEVEL).unwrap(),
        c.message_delay_levels_ms
    );
    assert_eq!(c.max_message_size_bytes, 4 * 1024 * 1024);
    assert_eq!(c.default_topic_queue_nums, 4);
    assert!(!c.transfer_msg_by_heap && c.auto_create_topic_enable);
    c.validate().unwrap();

    let bare = BrokerConfig::with_host(&HostFacts {
        local_ip: "127.0.0.1".into(),
        ..Default::default()
    });
    assert_eq!(bare.broker_name, "broker-a");
    assert!(bare.namesrv_addrs().is_empty());
    bare.validate().unwrap();
}

#[test]
fn rocketmq_2m_2s_sync_files_parse() {
    let mut master = BrokerConfig::with_host(&host());
    let unknown = master.apply_properties(BROKER_A).unwrap();
    assert_eq!(
        unknown,
        vec![
            (
                "storePathCommitLog".to_owned(),
                "/data/rocketmq/store/commitlog".to_owned()
            ),
            ("mapedFileSizeCommitLog".to_owned(), "1073741824".to_owned()),
        ]
    );
    assert_eq!(master.broker_name, "broker-a");
    assert_eq!(master.broker_role, BrokerRole::SyncMaster);
    assert_eq!(master.flush_disk_type, FlushDiskType::AsyncFlush);
    assert_eq!(master.file_reserved_hours, 48);
    assert_eq!(master.delete_when, "04");
    assert_eq!(
        master.namesrv_addrs(),
        ["192.168.0.1:9876", "192.168.0.2:9876"]
    );
    assert_eq!(
        master.store_path_root_dir,
        PathBuf::from("/data/rocketmq/store")
    );
    assert!(!master.auto_create_topic_enable);
    master.validate().unwrap();

    let mut slave = BrokerConfig::with_host(&host());
    assert!(slave.apply_properties(BROKER_A_S).unwrap().is_empty());
    assert_eq!((slave.broker_id, slave.broker_role), (1, BrokerRole::Slave));
    assert!(!slave.is_master());
    assert_eq!(slave.ha_server_addr(), "10.0.0.9:11012");
    slave.validate().unwrap();
}

#[test]
fn bad_values_name_the_key_and_line() {
    let cases = [
        ("listenPort=99999\n", "listenPort", 1),
        ("\nbrokerId=-1\n", "brokerId", 2),
        ("a=b\n\nbrokerRole=LEADER\n", "brokerRole", 3),
        ("flushDiskType=sometimes\n", "flushDiskType", 1),
        ("autoCreateTopicEnable=yes\n", "autoCreateTopicEnable", 1),
        ("x=1\nmessageDelayLevel=1s 5x 10s\n", "messageDelayLevel", 2),
        ("deleteWhen=25\n", "deleteWhen", 1),
    ];
    for (text, key, line) in cases {
        let mut c = BrokerConfig::with_host(&host());
        let err = c.apply_properties(text).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
        assert!(err.contains(&format!("line {line}:")), "{err}");
    }
    let mut c = BrokerConfig::with_host(&host());
    let err = c.apply_properties("k=\\uZZZZ\n").unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
    let err = c.set("messageDelayLevel", "1s 5x").unwrap_err().to_string();
    assert!(
        err.contains("messageDelayLevel") && err.contains("\"5x\""),
        "{err}"
    );
}

#[test]
fn to_properties_round_trips() {
    let mut c = BrokerConfig::with_host(&host());
    c.apply_properties(BROKER_A).unwrap();
    c.set("messageDelayLevel", "1s 90s 2m 1d 36h").unwrap();
    c.set("haMasterAddress", "10.0.0.3:10912").unwrap();
    c.set("storePathRootDir", "/tmp/a\\b").unwrap();
    let text = c.to_properties();
    let lines: Vec<&str> = text.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "lines are sorted by key");
    assert!(lines.contains(&"messageDelayLevel=1s 90s 2m 1d 36h"));
    assert!(lines.contains(&"brokerRole=SYNC_MASTER"));
    assert!(lines.contains(&"brokerIP2=10.0.0.9"));

    let mut back = BrokerConfig::with_host(&HostFacts::default());
    assert!(back.apply_properties(&text).unwrap().is_empty());
    assert_eq!(back.to_properties(), text);
    // Optional fields become explicit; everything else is identical.
    c.broker_ip2 = Some("10.0.0.9".into());
    c.ha_listen_port = Some(10912);
    assert_eq!(back, c);
    assert_eq!(c.to_string(), text);
}

#[test]
fn every_printed_key_is_settable() {
    let c = BrokerConfig::with_host(&host());
    let mut d = BrokerConfig::with_host(&host());
    for (key, value) in c.entries() {
        assert_eq!(d.set(key, &value), Ok(true), "{key}");
    }
    assert_eq!(d.set("syncFlushTimeout", "5000"), Ok(false));
}

#[test]
fn aliases_and_clamping() {
    let mut c = BrokerConfig::with_host(&host());
    for (key, value) in [
        ("heartbeatTimeoutMillis", "30000"),
        ("channelExpiredTimeout", "90000"),
        ("enableSlaveActingMaster", "TRUE"),
        ("maxFrameBytes", "8388608"),
    ] {
        assert_eq!(c.set(key, value), Ok(true), "{key}");
    }
    assert_eq!(c.broker_not_active_timeout_ms, 30_000);
    assert_eq!(c.client_channel_expired_time_ms, 90_000);
    assert!(c.enable_acting_master);
    assert_eq!(c.frame_max_length_bytes, 8 * 1024 * 1024);
    c.set("registerNameServerPeriod", "1000").unwrap();
    assert_eq!(c.register_name_server_period_ms, 10_000);
    c.set("registerNameServerPeriod", "600000").unwrap();
    assert_eq!(c.register_name_server_period_ms, 60_000);
    c.set("registerNameServerPeriod", "45000").unwrap();
    assert_eq!(c.register_name_server_period_ms, 45_000);
    c.set("brokerIP2", "10.1.1.1").unwrap();
    c.set("haListenPort", "20000").unwrap();
    assert_eq!(c.ha_server_addr(), "10.1.1.1:20000");
    c.set("namesrvAddr", "").unwrap();
    assert!(c.namesrv_addrs().is_empty());
    c.set("namesrvAddr", " a:1 ;; b:2 ;").unwrap();
    assert_eq!(c.namesrv_addrs(), ["a:1", "b:2"]);
}

#[test]
fn delay_levels_parse_and_format() {
    assert_eq!(
        parse_delay_levels("1s  5s\t1m 2h 1d").unwrap(),
        [1_000, 5_000, 60_000, 7_200_000, 86_400_000]
    );
    for bad in [
        "",
        "   ",
        "5",
        "s",
        "-1s",
        "1.5s",
        "5ms",
        "1w",
        "99999999999999999d",
    ] {
        assert!(parse_delay_levels(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        format_delay_levels(&[1_000, 60_000, 90_000, 86_400_000, 3_600_000 * 36]),
        "1s 1m 90s 1d 36h"
    );
    let text = format_delay_levels(&BrokerConfig::with_host(&host()).message_delay_levels_ms);
    assert_eq!(text, DEFAULT_MESSAGE_DELAY_LEVEL);
}

#[test]
fn validate_rejects_inconsistent_settings() {
    let base = BrokerConfig::with_host(&host());
    let check = |f: &dyn Fn(&mut BrokerConfig), key: &str| {
        let mut c = base.clone();
        f(&mut c);
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    };
    check(&|c| c.broker_role = BrokerRole::Slave, "brokerId");
    check(&|c| c.broker_id = 2, "brokerId");
    check(&|c| c.broker_name = " ".into(), "brokerName");
    check(&|c| c.broker_ip1 = String::new(), "brokerIP1");
    check(&|c| c.default_topic_queue_nums = 0, "defaultTopicQueueNums");
    check(&|c| c.broker_permission = 16, "brokerPermission");
    check(&|c| c.max_message_size_bytes = 32 << 20, "maxMessageSize");
    check(&|c| c.message_delay_levels_ms.clear(), "messageDelayLevel");
    check(&|c| c.delete_when = "04;xx".into(), "deleteWhen");
    check(
        &|c| c.register_name_server_period_ms = 5,
        "registerNameServerPeriod",
    );
    check(&|c| c.namesrv_addr = Some("nohost".into()), "namesrvAddr");
    check(&|c| c.namesrv_addr = Some("h:0".into()), "namesrvAddr");
    check(
        &|c| c.ha_master_address = Some("h:x".into()),
        "haMasterAddress",
    );
    check(
        &|c| c.client_channel_expired_time_ms = 0,
        "clientChannelExpiredTime",
    );
    check(&|c| c.ha_transfer_batch_bytes = 0, "haTransferBatchSize");
    check(&|c| c.frame_max_length_bytes = 10, "frameMaxLength");

    let mut master = base.clone();
    master.broker_id = 3;
    master.normalize();
    assert_eq!(master.broker_id, 0);
    master.validate().unwrap();
    let mut slave = base.clone();
    slave.broker_role = BrokerRole::Slave;
    slave.broker_id = 2;
    slave.normalize();
    assert_eq!(slave.broker_id, 2);
    slave.validate().unwrap();
}

#[test]
fn ephemeral_port_derives_zero_ports() {
    let mut c = BrokerConfig::with_host(&host());
    c.listen_port = 0;
    assert_eq!((c.effective_ha_listen_port(), c.fast_listen_port()), (0, 0));
    c.listen_port = 1;
    assert_eq!(c.fast_listen_port(), 0);
}

#[test]
fn role_and_flush_names() {
    for r in [
        BrokerRole::AsyncMaster,
        BrokerRole::SyncMaster,
        BrokerRole::Slave,
    ] {
        assert_eq!(BrokerRole::from_name(r.name()), Some(r));
    }
    assert_eq!(BrokerRole::from_name("slave"), Some(BrokerRole::Slave));
    assert_eq!(BrokerRole::from_name("MASTER"), None);
    assert_eq!(
        FlushDiskType::from_name("sync_flush"),
        Some(FlushDiskType::SyncFlush)
    );
    assert_eq!(FlushDiskType::from_name("x"), None);
}
