//! Crash test with a real process: an `mqbroker` with SYNC_FLUSH is killed with SIGKILL while
//! several senders are writing, in a loop; after every restart each message that was
//! acknowledged before the kill must be readable, byte-exact, at the queue offset its
//! acknowledgement named.

mod broker_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use broker_support::*;
use protocol::header::SendMessageResponseHeader;
use protocol::message::{decode_records, Properties};
use protocol::ResponseCode;

const BIN: &str = env!("CARGO_BIN_EXE_mqbroker");
const ROUNDS: usize = 5;
const SENDERS: usize = 4;
const TOPIC: &str = "CrashT";

/// (queue id, queue offset, body) of every acknowledged message.
type Acked = Arc<Mutex<Vec<(i32, i64, Vec<u8>)>>>;

fn start(conf: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap()])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let prefix = "The broker[crash, ";
    assert!(line.starts_with(prefix), "unexpected boot line {line:?}");
    let addr = line[prefix.len()..line.find(']').unwrap()].to_string();
    (child, addr)
}

fn body(round: usize, sender: usize, i: usize) -> Vec<u8> {
    let mut b = format!("r{round}-s{sender}-m{i}-").into_bytes();
    b.resize(1024, b'x' + (i % 3) as u8);
    b
}

/// Sends until `stop`; records only messages whose SUCCESS response arrived.
fn sender(addr: String, round: usize, id: usize, stop: Arc<AtomicBool>, acked: Acked) {
    let c = client();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let queue_id = ((id + i) % 4) as i32;
        let payload = body(round, id, i);
        let h = send_header(TOPIC, queue_id, &Properties::new());
        let req = send_request(
            protocol::RequestCode::SEND_MESSAGE_V2,
            &h,
            Naming::V2,
            protocol::SerializeType::Json,
            &payload,
        );
        match c.invoke_sync(&addr, req, TIMEOUT_MS) {
            Ok(resp) if resp.code == ResponseCode::SUCCESS.code() => {
                let h: SendMessageResponseHeader = resp.decode_header().unwrap();
                acked
                    .lock()
                    .unwrap()
                    .push((h.queue_id, h.queue_offset, payload));
            }
            Ok(resp) => panic!("send refused: {} {:?}", resp.code, resp.remark),
            Err(_) => break, // the broker was killed
        }
        i += 1;
    }
    c.shutdown();
}

fn verify(addr: &str, acked: &Acked) {
    let c = client();
    for (queue_id, offset, expected) in acked.lock().unwrap().iter() {
        let mut h = pull_header("CrashCheck", TOPIC, *queue_id, *offset, "*");
        h.max_msg_nums = 1;
        let resp = pull(&c, addr, &h);
        assert_eq!(
            resp.code,
            ResponseCode::SUCCESS.code(),
            "acknowledged message {queue_id}/{offset} not found: {:?}",
            resp.remark
        );
        let records = decode_records(&resp.body).unwrap();
        assert_eq!(records[0].queue_offset, *offset);
        assert_eq!(&records[0].body[..], &expected[..], "{queue_id}/{offset}");
    }
    c.shutdown();
}

#[test]
fn sigkill_under_sync_flush_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("crash.conf");
    let text = format!(
        "brokerName=crash\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\nlistenPort=0\n\
         storePathRootDir={}\nflushDiskType=SYNC_FLUSH\nmappedFileSizeCommitLog=262144\n",
        dir.path().join("store").display()
    );
    std::fs::write(&conf, text).unwrap();
    let acked: Acked = Arc::default();
    for round in 0..ROUNDS {
        let (mut child, addr) = start(&conf);
        verify(&addr, &acked);
        let before = acked.lock().unwrap().len();
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..SENDERS)
            .map(|id| {
                let (addr, stop, acked) = (addr.clone(), stop.clone(), acked.clone());
                thread::spawn(move || sender(addr, round, id, stop, acked))
            })
            .collect();
        // Kill at a different point each round, while the senders are still writing.
        let target = before + 50 + round * 37;
        wait_until("acknowledgements", 60, || {
            acked.lock().unwrap().len() >= target
        });
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
    }
    let (mut child, addr) = start(&conf);
    verify(&addr, &acked);
    assert!(acked.lock().unwrap().len() >= ROUNDS * 50);
    child.kill().unwrap();
    child.wait().unwrap();
}
