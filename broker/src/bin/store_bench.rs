//! Store micro-benchmark: append throughput of 1 KiB messages in ASYNC_FLUSH (1 writer) and
//! SYNC_FLUSH (1 and 64 writers), next to the raw sequential write bandwidth of the same disk
//! measured in the same run.
//!
//! Usage: `store_bench [DIR] [ASYNC_MESSAGES]` (DIR defaults to a fresh directory under the
//! system temp dir; it is removed at the end).

use std::fs::OpenOptions;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::store::record_format::{encode_record, RecordFields};
use broker::store::{FlushDiskType, MessageStore, PutMessageStatus, StoreConfig};

const BODY_BYTES: usize = 1024;
const RAW_BYTES: u64 = 512 << 20;

struct Outcome {
    name: String,
    messages: u64,
    bytes: u64,
    elapsed: Duration,
    syncs: u64,
}

impl Outcome {
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
    fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
}

fn template() -> Vec<u8> {
    let host = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 10911);
    encode_record(&RecordFields {
        topic: "BenchTopic",
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_tx_offset: 0,
        body: &[b'x'; BODY_BYTES],
        properties: &[("TAGS", "TagA"), ("WAIT", "true")],
    })
}

/// Sequential 1 MiB positioned writes into a preallocated file, then one fdatasync.
fn raw_sequential_write(dir: &Path) -> std::io::Result<Outcome> {
    let path = dir.join("raw.bin");
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    f.set_len(RAW_BYTES)?;
    let chunk = vec![0x5Au8; 1 << 20];
    let start = Instant::now();
    let mut pos = 0;
    while pos < RAW_BYTES {
        f.write_all_at(&chunk, pos)?;
        pos += chunk.len() as u64;
    }
    f.sync_data()?;
    let elapsed = start.elapsed();
    std::fs::remove_file(&path)?;
    Ok(Outcome {
        name: "raw sequential write (1 MiB pwrite + fdatasync)".into(),
        messages: RAW_BYTES >> 20,
        bytes: RAW_BYTES,
        elapsed,
        syncs: 1,
    })
}

fn open_store(dir: &Path, mode: FlushDiskType) -> MessageStore {
    let mut cfg = StoreConfig::with_root(dir);
    cfg.flush_disk_type = mode;
    cfg.message_index_enable = false;
    let store = MessageStore::open(cfg).expect("open store");
    store.start().expect("start store");
    store
}

fn put(store: &MessageStore, rec: &[u8], sync: bool) -> u64 {
    let mut buf = rec.to_vec();
    let mut r = store.put_message(&mut buf, "BenchTopic", 0);
    if sync {
        r = store.wait_for_flush(r);
    }
    assert_eq!(r.status, PutMessageStatus::PUT_OK, "put failed");
    buf.len() as u64
}

fn run_mode(
    dir: &Path,
    name: &str,
    mode: FlushDiskType,
    writers: usize,
    per_writer: u64,
) -> Outcome {
    let _ = std::fs::remove_dir_all(dir);
    let store = Arc::new(open_store(dir, mode));
    let rec = Arc::new(template());
    let sync = mode == FlushDiskType::SyncFlush;
    let syncs_before = store.commit_log().stats().syncs.load(Ordering::Relaxed);
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (store, rec) = (Arc::clone(&store), Arc::clone(&rec));
            std::thread::spawn(move || {
                (0..per_writer)
                    .map(|_| put(&store, &rec, sync))
                    .sum::<u64>()
            })
        })
        .collect();
    let bytes: u64 = handles.into_iter().map(|h| h.join().expect("writer")).sum();
    let elapsed = start.elapsed();
    let syncs = store.commit_log().stats().syncs.load(Ordering::Relaxed) - syncs_before;
    store.shutdown().expect("shutdown");
    Outcome {
        name: name.into(),
        messages: writers as u64 * per_writer,
        bytes,
        elapsed,
        syncs,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root: PathBuf = args.next().map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ferromq-store-bench-{}", std::process::id()))
    });
    let async_messages: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(500_000);
    std::fs::create_dir_all(&root).expect("create bench dir");
    println!(
        "store_bench in {} ({}-byte bodies, {} bytes per record)",
        root.display(),
        BODY_BYTES,
        template().len()
    );
    let raw = raw_sequential_write(&root).expect("raw write");
    let results = [
        run_mode(
            &root.join("async"),
            "ASYNC_FLUSH, 1 writer",
            FlushDiskType::AsyncFlush,
            1,
            async_messages,
        ),
        run_mode(
            &root.join("sync1"),
            "SYNC_FLUSH, 1 writer",
            FlushDiskType::SyncFlush,
            1,
            2_000,
        ),
        run_mode(
            &root.join("sync64"),
            "SYNC_FLUSH, 64 writers",
            FlushDiskType::SyncFlush,
            64,
            500,
        ),
    ];
    println!(
        "{:<48} {:>12} {:>10} {:>10} {:>10}",
        "run", "msgs/s", "MB/s", "fdatasync", "vs raw"
    );
    println!(
        "{:<48} {:>12} {:>10.1} {:>10} {:>10}",
        raw.name,
        "-",
        raw.mb_per_s(),
        raw.syncs,
        "1.00"
    );
    for r in &results {
        println!(
            "{:<48} {:>12.0} {:>10.1} {:>10} {:>10.2}   ({} msgs in {:.2} s)",
            r.name,
            r.msgs_per_s(),
            r.mb_per_s(),
            r.syncs,
            r.mb_per_s() / raw.mb_per_s(),
            r.messages,
            r.elapsed.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
