//! PULL_MESSAGE over loopback: zero-copy bodies equal the stored records, tag filtering with
//! the real-tag re-check, the status → code / nextBeginOffset table, long polling, committed
//! offsets across a restart, the heap transfer path and a clean shutdown.

mod broker_support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use broker::BrokerServer;
use broker_support::*;
use bytes::{Bytes, BytesMut};
use protocol::header::{
    PullMessageResponseHeader, PullSysFlag, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SendMessageResponseHeader,
};
use protocol::message::{decode_offset_msg_id, decode_records, Properties};
use protocol::remoting::RemotingHandle;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

/// Sends `tags.len()` messages to `topic`/0; returns their commitlog offsets.
fn send_tagged(c: &RemotingHandle, a: &str, topic: &str, tags: &[&str]) -> Vec<u64> {
    tags.iter()
        .enumerate()
        .map(|(i, tag)| {
            let props = tagged(tag, &format!("{:032X}", i + 1));
            let r = send(
                c,
                a,
                topic,
                0,
                &props,
                format!("{topic}-{i}-{tag}").as_bytes(),
            );
            assert_eq!(r.code, 0, "{:?}", r.remark);
            let h: SendMessageResponseHeader = r.decode_header().unwrap();
            decode_offset_msg_id(&h.msg_id).unwrap().1 as u64
        })
        .collect()
}

fn stored_bytes(b: &BrokerServer, offsets: &[u64]) -> Bytes {
    let mut all = BytesMut::new();
    for &o in offsets {
        all.extend_from_slice(&b.store().look_message_by_offset(o).unwrap().unwrap());
    }
    all.freeze()
}

fn header(r: &RemotingCommand) -> PullMessageResponseHeader {
    r.decode_header().unwrap()
}

/// Waits until the dispatcher has put `n` units into `topic`/0.
fn wait_dispatched(b: &BrokerServer, topic: &str, n: i64) {
    wait_until("dispatch", 10, || {
        b.store().max_offset_in_queue(topic, 0) >= n
    });
}

fn check_found_body(transfer_by_heap: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker_config(&[]);
    config.transfer_msg_by_heap = transfer_by_heap;
    let b = start_broker(config, store_config(dir.path()));
    let c = client();
    let a = addr(&b);
    let offsets = send_tagged(&c, &a, "PullT", &["A", "B", "A", "B", "A"]);
    wait_dispatched(&b, "PullT", 5);
    let r = pull(&c, &a, &pull_header("G", "PullT", 0, 0, "*"));
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(r.remark.as_deref(), Some("FOUND"));
    let h = header(&r);
    assert_eq!(
        (
            h.next_begin_offset,
            h.min_offset,
            h.max_offset,
            h.suggest_which_broker_id
        ),
        (5, 0, 5, 0)
    );
    assert_eq!(
        r.body,
        stored_bytes(&b, &offsets),
        "pulled bytes are the stored records"
    );
    let msgs = decode_records(&r.body).unwrap();
    assert_eq!(msgs.len(), 5);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.commit_log_offset as u64, offsets[i]);
        assert_eq!(
            m.offset_msg_id(),
            protocol::message::offset_msg_id(b.local_addr(), offsets[i] as i64)
        );
    }
    let mut h2 = pull_header("G", "PullT", 0, 1, "*");
    h2.max_msg_nums = 2;
    let r = pull(&c, &a, &h2);
    assert_eq!(header(&r).next_begin_offset, 3);
    assert_eq!(r.body, stored_bytes(&b, &offsets[1..3]));
}

#[test]
fn found_body_is_the_stored_records_zero_copy() {
    check_found_body(false);
}

#[test]
fn found_body_by_heap_is_identical() {
    check_found_body(true);
}

#[test]
fn tag_filter_with_real_tag_recheck() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    let a = addr(&b);
    // "Aa" and "BB" share a Java hashCode: the consume-queue filter passes both.
    assert_eq!(
        protocol::message::java_hash_code("Aa"),
        protocol::message::java_hash_code("BB")
    );
    let offsets = send_tagged(&c, &a, "TagT", &["A", "Aa", "B", "BB", "A"]);
    wait_dispatched(&b, "TagT", 5);
    let tags_of = |r: &RemotingCommand| -> Vec<String> {
        decode_records(&r.body)
            .unwrap()
            .iter()
            .map(|m| m.tags().unwrap_or("").to_string())
            .collect()
    };
    let r = pull(&c, &a, &pull_header("G", "TagT", 0, 0, "A"));
    assert_eq!(tags_of(&r), ["A", "A"]);
    assert_eq!(header(&r).next_begin_offset, 5);
    assert_eq!(
        r.body,
        stored_bytes(&b, &[offsets[0], offsets[4]]),
        "two runs, one region each"
    );
    let r = pull(&c, &a, &pull_header("G", "TagT", 0, 0, "Aa"));
    assert_eq!(tags_of(&r), ["Aa"], "BB dropped by the real-tag check");
    let r = pull(&c, &a, &pull_header("G", "TagT", 0, 0, " B ||A "));
    assert_eq!(tags_of(&r), ["A", "B", "A"]);
    let r = pull(&c, &a, &pull_header("G", "TagT", 0, 0, "C"));
    assert_eq!(r.code, ResponseCode::PULL_RETRY_IMMEDIATELY.code());
    assert_eq!(r.remark.as_deref(), Some("NO_MATCHED_MESSAGE"));
    assert_eq!(header(&r).next_begin_offset, 5);
    let r = pull(&c, &a, &pull_header("G", "TagT", 0, 0, "||"));
    assert_eq!(r.code, ResponseCode::SUBSCRIPTION_PARSE_FAILED.code());
}

#[test]
fn status_codes_and_next_begin_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    let a = addr(&b);
    let big = vec![b'x'; 10 * 1024];
    for _ in 0..120 {
        assert_eq!(send(&c, &a, "OffT", 0, &Properties::new(), &big).code, 0);
    }
    wait_dispatched(&b, "OffT", 120);
    let code_next = |offset: i64, queue: i32| {
        let r = pull(&c, &a, &pull_header("G", "OffT", queue, offset, "*"));
        (
            r.code,
            header(&r).next_begin_offset,
            r.remark.unwrap_or_default(),
        )
    };
    assert_eq!(code_next(120, 0), (19, 120, "OFFSET_OVERFLOW_ONE".into()));
    assert_eq!(
        code_next(130, 0),
        (21, 0, "OFFSET_OVERFLOW_BADLY".into()),
        "min 0: back to min"
    );
    assert_eq!(code_next(0, 1), (19, 0, "NO_MATCHED_LOGIC_QUEUE".into()));
    assert_eq!(code_next(3, 1), (21, 0, "NO_MATCHED_LOGIC_QUEUE".into()));
    let far_future = protocol::util::clock::now_millis() as i64 + 100 * 3_600_000;
    b.store().flush_now().unwrap();
    let report = b.store().run_retention_once(far_future, 0.88).unwrap();
    assert!(report.commit_log_segments >= 1, "{report:?}");
    let min = b.store().min_offset_in_queue("OffT", 0);
    assert!(
        min > 0,
        "the first consume-queue file went with the commitlog segment"
    );
    assert_eq!(code_next(5, 0), (21, min, "OFFSET_TOO_SMALL".into()));
    assert_eq!(
        code_next(500, 0),
        (21, 120, "OFFSET_OVERFLOW_BADLY".into()),
        "min > 0: to max"
    );
    let (code, next, _) = code_next(min, 0);
    assert_eq!((code, next > min), (0, true));
}

fn pull_async(
    c: &RemotingHandle,
    a: &str,
    h: &protocol::header::PullMessageRequestHeader,
) -> mpsc::Receiver<RemotingCommand> {
    let (tx, rx) = mpsc::channel();
    let req = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, h);
    c.invoke_async(a, req, 30_000, move |r| {
        let _ = tx.send(r.expect("pull response"));
    });
    rx
}

fn suspend_header(
    topic: &str,
    offset: i64,
    suspend_ms: i64,
) -> protocol::header::PullMessageRequestHeader {
    let mut h = pull_header("G", topic, 0, offset, "*");
    h.sys_flag = PullSysFlag::build(false, true, true, false, false);
    h.suspend_timeout_millis = suspend_ms;
    h
}

#[test]
fn long_polling_waits_for_a_message_or_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let b = solo_broker(dir.path());
    let c = client();
    let a = addr(&b);
    send_tagged(&c, &a, "LongT", &["A"]);
    wait_dispatched(&b, "LongT", 1);
    let started = Instant::now();
    let parked = pull_async(&c, &a, &suspend_header("LongT", 1, 20_000));
    // A request on the same connection is processed after the pull: the pull is parked.
    let probe = RemotingCommand::request_with_header(
        RequestCode::GET_MAX_OFFSET,
        &protocol::header::GetMaxOffsetRequestHeader {
            topic: "LongT".into(),
            queue_id: 0,
            committed: None,
        },
    );
    assert_eq!(call(&c, &a, probe).code, 0);
    assert!(
        parked.try_recv().is_err(),
        "a caught-up pull with SUSPEND is held"
    );
    let other = client();
    let offsets = send_tagged(&other, &a, "LongT", &["B"]);
    let r = parked
        .recv_timeout(Duration::from_secs(10))
        .expect("woken by the arrival");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(header(&r).next_begin_offset, 2);
    assert_eq!(r.body, stored_bytes(&b, &offsets));

    let started = Instant::now();
    let r = pull_async(&c, &a, &suspend_header("LongT", 2, 300))
        .recv_timeout(Duration::from_secs(10))
        .expect("answered at the deadline");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND.code());
    assert_eq!(header(&r).next_begin_offset, 2);
}

#[test]
fn committed_offsets_survive_a_restart_and_shutdown_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let query = |b: &BrokerServer| {
        let h = QueryConsumerOffsetRequestHeader {
            consumer_group: "CG".into(),
            topic: "CommitT".into(),
            queue_id: 0,
            set_zero_if_not_found: Some(false),
        };
        let r = call(
            &c,
            &addr(b),
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &h),
        );
        (r.code == 0).then(|| {
            r.decode_header::<QueryConsumerOffsetResponseHeader>()
                .unwrap()
                .offset
        })
    };
    let abort = dir.path().join("abort");
    {
        let mut b = solo_broker(dir.path());
        send_tagged(&c, &addr(&b), "CommitT", &["A", "A", "A", "A"]);
        wait_dispatched(&b, "CommitT", 4);
        assert_eq!(query(&b), None, "nothing committed yet");
        let mut h = pull_header("CG", "CommitT", 0, 3, "*");
        h.sys_flag = PullSysFlag::build(true, false, true, false, false);
        h.commit_offset = 3;
        assert_eq!(pull(&c, &addr(&b), &h).code, 0);
        assert_eq!(query(&b), Some(3));
        assert!(abort.exists(), "abort marker while running");
        b.shutdown().unwrap();
        assert!(!abort.exists(), "graceful shutdown removes the abort file");
    }
    assert!(dir.path().join("config/consumerOffset.json").exists());
    let b = solo_broker(dir.path());
    assert_eq!(query(&b), Some(3), "offset survived the restart");
    assert!(
        !b.store().recovery_report().abnormal,
        "{:?}",
        b.store().recovery_report()
    );
}
