//! The per-turn group write of sends (`processor/turn_commit.rs`): pipelined sends on one
//! connection all get their own consecutive queue offsets and SUCCESS, in both flush modes; a
//! failed commitlog write answers SYSTEM_ERROR (never SUCCESS) and the next send reuses the
//! queue offset the failed one had.

mod broker_support;

use std::sync::mpsc;
use std::time::Duration;

use broker::store::{FaultHandle, FaultInjector, FlushDiskType, StoreEnv};
use broker::BrokerServer;
use broker_support::*;
use protocol::header::SendMessageResponseHeader;
use protocol::{RequestCode, ResponseCode};

fn start(
    dir: &std::path::Path,
    flush: FlushDiskType,
    faults: &std::sync::Arc<FaultInjector>,
) -> BrokerServer {
    let mut store = store_config(dir);
    store.flush_disk_type = flush;
    let env = StoreEnv {
        faults: FaultHandle::with(faults.clone()),
        ..StoreEnv::default()
    };
    BrokerServer::start_with_env(broker_config(&[]), store, env, listeners()).unwrap()
}

/// Sends `n` messages without waiting between them; returns (code, queue offset) per send.
fn pipelined(c: &protocol::remoting::RemotingHandle, a: &str, n: usize) -> Vec<(i32, i64)> {
    let (tx, rx) = mpsc::channel();
    for i in 0..n {
        let uniq = format!("{i:032X}");
        let h = send_header("TurnT", 0, &tagged("TagA", &uniq));
        let req = send_request(
            RequestCode::SEND_MESSAGE_V2,
            &h,
            Naming::V2,
            protocol::SerializeType::Json,
            format!("m{i}").as_bytes(),
        );
        let tx = tx.clone();
        c.invoke_async(a, req, 20_000, move |r| {
            let r = r.expect("answered");
            let offset = r
                .decode_header::<SendMessageResponseHeader>()
                .map(|h| h.queue_offset)
                .unwrap_or(-1);
            let _ = tx.send((r.code, offset));
        });
    }
    (0..n)
        .map(|_| rx.recv_timeout(Duration::from_secs(20)).unwrap())
        .collect()
}

#[test]
fn pipelined_sends_get_consecutive_offsets_in_both_flush_modes() {
    for flush in [FlushDiskType::AsyncFlush, FlushDiskType::SyncFlush] {
        let dir = tempfile::tempdir().unwrap();
        let faults = FaultInjector::new();
        let b = start(dir.path(), flush, &faults);
        let (c, a) = (client(), addr(&b));
        let mut answers = pipelined(&c, &a, 200);
        assert!(
            answers.iter().all(|(code, _)| *code == 0),
            "{flush:?}: {answers:?}"
        );
        answers.sort_unstable_by_key(|(_, offset)| *offset);
        let offsets: Vec<i64> = answers.iter().map(|(_, o)| *o).collect();
        assert_eq!(offsets, (0..200).collect::<Vec<i64>>(), "{flush:?}");
        wait_until("dispatch", 10, || {
            b.store().max_offset_in_queue("TurnT", 0) == 200
        });
    }
}

#[test]
fn a_failed_write_answers_an_error_and_frees_the_offset() {
    for flush in [FlushDiskType::AsyncFlush, FlushDiskType::SyncFlush] {
        let dir = tempfile::tempdir().unwrap();
        let faults = FaultInjector::new();
        let b = start(dir.path(), flush, &faults);
        let (c, a) = (client(), addr(&b));
        let ok = |r: &protocol::RemotingCommand| {
            assert_eq!(r.code, 0, "{flush:?}: {:?}", r.remark);
            r.decode_header::<SendMessageResponseHeader>()
                .unwrap()
                .queue_offset
        };
        let props = tagged("TagA", "0000000000000000000000000000A001");
        assert_eq!(ok(&send(&c, &a, "TurnT", 0, &props, b"first")), 0);
        faults.fail_write_in(0);
        let props = tagged("TagA", "0000000000000000000000000000A002");
        let failed = send(&c, &a, "TurnT", 0, &props, b"lost");
        assert_eq!(failed.code, ResponseCode::SYSTEM_ERROR.code(), "{flush:?}");
        faults.clear();
        let props = tagged("TagA", "0000000000000000000000000000A003");
        assert_eq!(ok(&send(&c, &a, "TurnT", 0, &props, b"second")), 1);
        wait_until("dispatch", 10, || {
            b.store().max_offset_in_queue("TurnT", 0) == 2
        });
    }
}
