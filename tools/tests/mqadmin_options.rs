//! Option parsing of every mqadmin command: RocketMQ's letters and long names, which options are
//! required, the common options, and the usage text. No server is involved.

use tools::command::{commands, find, parse_args, run, usage_of, Env};

/// (letter, long name, takes a value, required) as in RocketMQ's `buildCommandlineOptions`.
type OptSpec = (&'static str, &'static str, bool, bool);

const SPECS: &[(&str, &[OptSpec])] = &[
    (
        "updateTopic",
        &[
            ("b", "brokerAddr", true, false),
            ("c", "clusterName", true, false),
            ("t", "topic", true, true),
            ("r", "readQueueNums", true, false),
            ("w", "writeQueueNums", true, false),
            ("p", "perm", true, false),
            ("o", "order", true, false),
            ("u", "unit", true, false),
            ("s", "hasUnitSub", true, false),
        ],
    ),
    (
        "deleteTopic",
        &[("t", "topic", true, true), ("c", "clusterName", true, true)],
    ),
    ("topicList", &[("c", "clusterModel", false, false)]),
    ("topicRoute", &[("t", "topic", true, true)]),
    ("topicStatus", &[("t", "topic", true, true)]),
    ("topicClusterList", &[("t", "topic", true, true)]),
    ("clusterList", &[("m", "moreStats", false, false)]),
    (
        "brokerStatus",
        &[
            ("b", "brokerAddr", true, false),
            ("c", "clusterName", true, false),
        ],
    ),
    (
        "getBrokerConfig",
        &[
            ("b", "brokerAddr", true, false),
            ("c", "clusterName", true, false),
        ],
    ),
    (
        "updateBrokerConfig",
        &[
            ("b", "brokerAddr", true, false),
            ("c", "clusterName", true, false),
            ("k", "key", true, true),
            ("v", "value", true, true),
        ],
    ),
    (
        "updateSubGroup",
        &[
            ("b", "brokerAddr", true, false),
            ("c", "clusterName", true, false),
            ("g", "groupName", true, true),
            ("s", "consumeEnable", true, false),
            ("m", "consumeFromMinEnable", true, false),
            ("d", "consumeBroadcastEnable", true, false),
            ("q", "retryQueueNums", true, false),
            ("r", "retryMaxTimes", true, false),
            ("i", "brokerId", true, false),
            ("w", "whichBrokerWhenConsumeSlowly", true, false),
            ("a", "notifyConsumerIdsChanged", true, false),
        ],
    ),
    (
        "deleteSubGroup",
        &[
            ("b", "brokerAddr", true, false),
            ("c", "clusterName", true, false),
            ("g", "groupName", true, true),
            ("r", "removeOffset", true, false),
        ],
    ),
    (
        "consumerProgress",
        &[
            ("g", "groupName", true, false),
            ("t", "topicName", true, false),
        ],
    ),
    ("consumerConnection", &[("g", "consumerGroup", true, true)]),
    (
        "consumerStatus",
        &[
            ("g", "consumerGroup", true, true),
            ("i", "clientId", true, false),
            ("s", "jstack", true, false),
        ],
    ),
    (
        "producerConnection",
        &[
            ("g", "producerGroup", true, true),
            ("t", "topic", true, true),
        ],
    ),
    (
        "queryMsgById",
        &[
            ("i", "msgId", true, true),
            ("t", "topic", true, false),
            ("f", "bodyFormat", true, false),
        ],
    ),
    (
        "queryMsgByKey",
        &[("t", "topic", true, true), ("k", "msgKey", true, true)],
    ),
    (
        "queryMsgByUniqueKey",
        &[("i", "msgId", true, true), ("t", "topic", true, true)],
    ),
    (
        "queryMsgByOffset",
        &[
            ("t", "topic", true, true),
            ("b", "brokerName", true, true),
            ("i", "queueId", true, true),
            ("o", "offset", true, true),
        ],
    ),
    (
        "resetOffsetByTime",
        &[
            ("g", "group", true, true),
            ("t", "topic", true, true),
            ("s", "timestamp", true, true),
            ("f", "force", true, false),
            ("c", "cplus", false, false),
        ],
    ),
    (
        "sendMessage",
        &[
            ("t", "topic", true, true),
            ("p", "body", true, true),
            ("k", "key", true, false),
            ("c", "tags", true, false),
            ("b", "broker", true, false),
            ("i", "qid", true, false),
        ],
    ),
    (
        "consumeMessage",
        &[
            ("t", "topic", true, true),
            ("b", "brokerName", true, false),
            ("i", "queueId", true, false),
            ("o", "offset", true, false),
            ("g", "consumerGroup", true, false),
            ("s", "beginTimestamp", true, false),
            ("e", "endTimestamp", true, false),
            ("c", "MessageNumber", true, false),
        ],
    ),
    (
        "printMsg",
        &[
            ("t", "topic", true, true),
            ("c", "charsetName", true, false),
            ("s", "subExpression", true, false),
            ("b", "beginTimestamp", true, false),
            ("e", "endTimestamp", true, false),
            ("d", "printBody", true, false),
        ],
    ),
    ("wipeWritePerm", &[("b", "brokerName", true, true)]),
    ("getNamesrvConfig", &[]),
    (
        "updateKvConfig",
        &[
            ("s", "namespace", true, true),
            ("k", "key", true, true),
            ("v", "value", true, true),
        ],
    ),
    (
        "deleteKvConfig",
        &[("s", "namespace", true, true), ("k", "key", true, true)],
    ),
];

fn args(items: &[String]) -> Vec<String> {
    items.to_vec()
}

/// Arguments setting every option of `spec` by its letter (or long name), value `v<letter>`.
fn all_options(spec: &[OptSpec], long: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (letter, name, value, _) in spec {
        out.push(if long {
            format!("--{name}")
        } else {
            format!("-{letter}")
        });
        if *value {
            out.push(format!("v{letter}"));
        }
    }
    out
}

fn required_only(spec: &[OptSpec], except: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for (letter, _, _, required) in spec {
        if *required && Some(*letter) != except {
            out.push(format!("-{letter}"));
            out.push(format!("v{letter}"));
        }
    }
    out
}

#[test]
fn the_registry_has_exactly_the_specified_commands() {
    let mut names: Vec<&str> = commands().iter().map(|c| c.name()).collect();
    let mut specified: Vec<&str> = SPECS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    specified.sort_unstable();
    assert_eq!(names, specified);
    assert_eq!(names.len(), 28);
}

#[test]
fn every_option_parses_by_letter_and_by_long_name() {
    for (name, spec) in SPECS {
        let cmd = find(name).unwrap();
        for long in [false, true] {
            let m = parse_args(cmd.as_ref(), &all_options(spec, long))
                .unwrap_or_else(|e| panic!("{name} (long={long}): {e}"));
            for (letter, long_name, value, _) in *spec {
                assert!(m.opt_present(letter), "{name} -{letter}");
                if *value {
                    let want = format!("v{letter}");
                    assert_eq!(
                        m.opt_str(letter).as_deref(),
                        Some(want.as_str()),
                        "{name} -{letter}"
                    );
                    assert_eq!(m.opt_str(long_name).as_deref(), Some(want.as_str()));
                }
            }
        }
    }
}

#[test]
fn each_required_option_is_enforced() {
    for (name, spec) in SPECS {
        let cmd = find(name).unwrap();
        parse_args(cmd.as_ref(), &required_only(spec, None))
            .unwrap_or_else(|e| panic!("{name} with its required options: {e}"));
        for (letter, long, _, required) in *spec {
            if *required {
                let e = parse_args(cmd.as_ref(), &required_only(spec, Some(letter))).unwrap_err();
                assert_eq!(e.exit_code(), 2, "{name} without -{letter}");
                assert!(
                    e.to_string().contains(&format!("'{long}' missing")),
                    "{name}: {e}"
                );
            }
        }
    }
}

#[test]
fn common_options_are_on_every_command() {
    for (name, spec) in SPECS {
        let cmd = find(name).unwrap();
        let mut a = required_only(spec, None);
        a.extend(args(&[
            "-n".into(),
            "127.0.0.1:9876;127.0.0.2:9876".into(),
            "--json".into(),
        ]));
        let m = parse_args(cmd.as_ref(), &a).unwrap();
        assert!(m.opt_present("json"));
        let env = Env::default();
        assert_eq!(env.namesrv_addrs(&m), ["127.0.0.1:9876", "127.0.0.2:9876"]);
        let a = [String::from("--namesrvAddr"), String::from("x:1")];
        let mut all = required_only(spec, None);
        all.extend(a);
        let m = parse_args(cmd.as_ref(), &all).unwrap();
        assert_eq!(env.namesrv_addrs(&m), ["x:1"]);
    }
}

#[test]
fn namesrv_falls_back_to_the_environment() {
    let cmd = find("topicList").unwrap();
    let m = parse_args(cmd.as_ref(), &[]).unwrap();
    let env = Env {
        namesrv_addr: Some("a:1;b:2".into()),
        ..Env::default()
    };
    assert_eq!(env.namesrv_addrs(&m), ["a:1", "b:2"]);
    assert!(Env::default().namesrv_addrs(&m).is_empty());
}

#[test]
fn unknown_options_and_stray_arguments_are_usage_errors() {
    let cmd = find("topicRoute").unwrap();
    for bad in [&["-t", "T", "-z"][..], &["-t", "T", "extra"], &["-t"]] {
        let a: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            parse_args(cmd.as_ref(), &a).unwrap_err().exit_code(),
            2,
            "{bad:?}"
        );
    }
}

#[test]
fn usage_text_lists_every_option() {
    for (name, spec) in SPECS {
        let cmd = find(name).unwrap();
        let usage = usage_of(cmd.as_ref());
        assert!(usage.contains(&format!("mqadmin {name}")), "{usage}");
        assert!(usage.contains(cmd.description()));
        for (letter, long, _, _) in *spec {
            assert!(
                usage.contains(&format!("-{letter}, --{long}")),
                "{name}: -{letter} missing in\n{usage}"
            );
        }
        assert!(usage.contains("--namesrvAddr") && usage.contains("--json"));
    }
}

#[test]
fn command_names_are_case_insensitive_and_help_works_without_a_server() {
    assert_eq!(find("TOPICLIST").unwrap().name(), "topicList");
    let out = run(&["help".into(), "updatetopic".into()], &Env::default());
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("-t, --topic"));
    let out = run(&["topicRoute".into(), "-h".into()], &Env::default());
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("mqadmin topicRoute"));
    let out = run(
        &[
            "topicRoute".into(),
            "-t".into(),
            "T".into(),
            "--help".into(),
        ],
        &Env::default(),
    );
    assert_eq!(
        (out.code, out.stdout.contains("Usage: mqadmin topicRoute")),
        (0, true)
    );
    // "-h" as an option value is a value, not a help request.
    let cmd = find("sendMessage").unwrap();
    let a: Vec<String> = ["-t", "T", "-p", "-h"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let m = parse_args(cmd.as_ref(), &a).unwrap();
    assert_eq!(m.opt_str("p").as_deref(), Some("-h"));
    assert!(!m.opt_present("h"));
}

#[test]
fn bad_values_are_usage_errors_before_any_network_call() {
    let env = Env::default();
    let cases: &[&[&str]] = &[
        &[
            "updateTopic",
            "-n",
            "127.0.0.1:1",
            "-t",
            "T",
            "-c",
            "C",
            "-r",
            "eight",
        ],
        &[
            "updateTopic",
            "-n",
            "127.0.0.1:1",
            "-t",
            "bad topic",
            "-c",
            "C",
        ],
        &[
            "updateTopic",
            "-n",
            "127.0.0.1:1",
            "-t",
            "T",
            "-c",
            "C",
            "-p",
            "7",
        ],
        &[
            "updateTopic",
            "-n",
            "127.0.0.1:1",
            "-t",
            "T",
            "-c",
            "C",
            "-o",
            "maybe",
        ],
        &["updateTopic", "-n", "127.0.0.1:1", "-t", "T"],
        &["brokerStatus", "-n", "127.0.0.1:1"],
        &[
            "sendMessage",
            "-n",
            "127.0.0.1:1",
            "-t",
            "T",
            "-p",
            "x",
            "-i",
            "0",
        ],
        &["consumeMessage", "-n", "127.0.0.1:1", "-t", "T", "-i", "0"],
        &["consumeMessage", "-n", "127.0.0.1:1", "-t", "T", "-c", "0"],
        &[
            "resetOffsetByTime",
            "-n",
            "127.0.0.1:1",
            "-g",
            "G",
            "-t",
            "T",
            "-s",
            "yesterday",
        ],
        &["printMsg", "-n", "127.0.0.1:1", "-t", "T", "-c", "GBK"],
        &["topicList"],
    ];
    for case in cases {
        let a: Vec<String> = case.iter().map(|s| s.to_string()).collect();
        let out = run(&a, &env);
        assert_eq!(out.code, 2, "{case:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("usage") || out.stderr.contains("Usage"),
            "{case:?}: {}",
            out.stderr
        );
    }
}
