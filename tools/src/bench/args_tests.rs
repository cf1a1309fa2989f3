use super::*;

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn produce(s: &str) -> ProduceArgs {
    match parse(&argv(s), None).unwrap() {
        Command::Produce(p) => p,
        other => panic!("not produce: {other:?}"),
    }
}

#[test]
fn produce_defaults() {
    let p = produce("produce");
    assert_eq!(p.common.namesrv, "127.0.0.1:9876");
    assert_eq!(p.common.topic, "BenchmarkTest");
    assert_eq!(p.common.limit.duration, Some(Duration::from_secs(10)));
    assert_eq!(p.common.limit.count, None);
    assert!(!p.common.json);
    assert_eq!((p.threads, p.size_bytes, p.batch), (1, 1024, 1));
    assert_eq!((p.mode, p.inflight), (SendMode::Sync, 1024));
    assert_eq!(p.tags, None);
}

#[test]
fn produce_all_options() {
    let p = produce(
        "produce -n 10.0.0.1:9876;10.0.0.2:9876 -t T --threads 8 --size 100 --mode async \
         --inflight 64 --tags TagA --count 5000 --json --report-interval-secs 0",
    );
    assert_eq!(p.common.namesrv, "10.0.0.1:9876;10.0.0.2:9876");
    assert_eq!(p.common.topic, "T");
    assert_eq!(
        (p.threads, p.size_bytes, p.mode, p.inflight),
        (8, 100, SendMode::Async, 64)
    );
    assert_eq!(p.tags.as_deref(), Some("TagA"));
    // --count alone: no default duration.
    assert_eq!(
        p.common.limit,
        Limit {
            duration: None,
            count: Some(5000)
        }
    );
    assert!(p.common.json);
    assert_eq!(p.common.report_interval_secs, 0.0);
}

#[test]
fn both_limits_are_kept() {
    let p = produce("produce --count 10 --duration-secs 1.5");
    assert_eq!(p.common.limit.count, Some(10));
    assert_eq!(p.common.limit.duration, Some(Duration::from_millis(1500)));
}

#[test]
fn namesrv_from_environment_unless_given() {
    let Command::Produce(p) = parse(&argv("produce"), Some("1.2.3.4:9876")).unwrap() else {
        panic!()
    };
    assert_eq!(p.common.namesrv, "1.2.3.4:9876");
    let Command::Produce(p) = parse(&argv("produce -n 5.6.7.8:1"), Some("1.2.3.4:9876")).unwrap()
    else {
        panic!()
    };
    assert_eq!(p.common.namesrv, "5.6.7.8:1");
}

#[test]
fn inflight_is_at_least_one_per_thread() {
    assert_eq!(
        produce("produce --mode async --threads 4 --inflight 2").inflight,
        4
    );
}

#[test]
fn rejects_bad_values() {
    for bad in [
        "produce --mode fast",
        "produce --batch 0",
        "produce --threads 0",
        "produce --batch 16 --mode async",
        "produce --size -1",
        "produce --count 0",
        "produce --duration-secs 0",
        "produce --duration-secs abc",
        "produce --report-interval-secs -1",
        "produce extra",
        "produce --unknown",
        "consume --from middle",
        "consume --pull-batch 0",
        "send",
        "",
    ] {
        match parse(&argv(bad), None) {
            Err(Error::Usage(_)) => {}
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn consume_options() {
    let Command::Consume(c) = parse(
        &argv("consume -t T -g G --from first --threads 2 --pull-batch 64 --consume-batch 8 --expression A||B --count 9"),
        None,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!((c.common.topic.as_str(), c.group.as_str()), ("T", "G"));
    assert_eq!(c.from, ConsumeFrom::FirstOffset);
    assert_eq!((c.threads, c.pull_batch, c.consume_batch), (2, 64, 8));
    assert_eq!(c.expression, "A||B");
    assert_eq!(c.common.limit.count, Some(9));
    let Command::Consume(c) = parse(&argv("consume"), None).unwrap() else {
        panic!()
    };
    assert_eq!(c.from, ConsumeFrom::LastOffset);
    assert!(c.group.starts_with("mqbench_consumer_"));
}

#[test]
fn e2e_has_both_sides_and_starts_from_first() {
    let Command::E2e(p, c) = parse(
        &argv("e2e -t T --mode async --threads 2 --consume-threads 3 --count 100"),
        None,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        (p.common.topic.as_str(), c.common.topic.as_str()),
        ("T", "T")
    );
    assert_eq!((p.mode, p.threads, c.threads), (SendMode::Async, 2, 3));
    assert_eq!(c.from, ConsumeFrom::FirstOffset);
    assert_eq!(p.common.limit.count, Some(100));
}

#[test]
fn help() {
    assert!(matches!(parse(&argv("help"), None), Ok(Command::Help(_))));
    let Ok(Command::Help(text)) = parse(&argv("produce -h"), None) else {
        panic!()
    };
    assert!(text.contains("--inflight"));
}
