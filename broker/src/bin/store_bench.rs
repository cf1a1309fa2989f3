//! Store micro-benchmark: append throughput of 1 KiB messages in ASYNC_FLUSH (1 writer) and
//! SYNC_FLUSH (1 and 64 writers), next to the raw sequential write bandwidth of the same disk
//! measured in the same run.
//!
//! Usage: `store_bench [DIR] [ASYNC_MESSAGES] [ROUNDS]` (DIR defaults to a fresh directory
//! under the system temp dir; it is removed at the end). Each round runs raw, ASYNC (each
//! append written by itself, and staged 32 per group write — how the broker's event loop
//! appends a poll turn's sends), SYNC×1 and SYNC×64 back to back, so every ratio compares runs made seconds apart on the same disk (a
//! VM disk's speed drifts by several times within minutes); the summary gives each round's
//! ratios and their median.

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
    /// Until the last append (or sync-flush acknowledgement) returned.
    elapsed: Duration,
    /// Until everything was durable (after a final flush).
    elapsed_durable: Duration,
    syncs: u64,
    /// Time spent in those fdatasyncs, in µs.
    sync_micros: u64,
}

impl Outcome {
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
    fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
    fn durable_mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed_durable.as_secs_f64()
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
    let elapsed_durable = elapsed;
    std::fs::remove_file(&path)?;
    Ok(Outcome {
        name: "raw seq. write (1 MiB pwrites, fdatasync)".into(),
        messages: RAW_BYTES >> 20,
        bytes: RAW_BYTES,
        elapsed,
        elapsed_durable,
        syncs: 1,
        sync_micros: 0,
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

/// `n` appends staged `turn` at a time, each group written by one commit — how the broker's
/// event loop appends the sends of one poll turn.
fn put_turns(store: &MessageStore, rec: &[u8], n: u64, turn: u64) -> u64 {
    let mut bytes = 0;
    for i in 1..=n {
        let mut buf = rec.to_vec();
        let (r, ticket) = store.put_message_staged(&mut buf, "BenchTopic", 0);
        assert_eq!(r.status, PutMessageStatus::PUT_OK, "put failed");
        bytes += buf.len() as u64;
        let ticket = ticket.expect("a staged put has a ticket");
        if i % turn == 0 || i == n {
            assert_eq!(store.commit_staged(&ticket), Ok(()), "group write failed");
        }
    }
    bytes
}

fn run_mode(
    dir: &Path,
    name: &str,
    mode: FlushDiskType,
    writers: usize,
    per_writer: u64,
    turn: u64,
) -> Outcome {
    let _ = std::fs::remove_dir_all(dir);
    let store = Arc::new(open_store(dir, mode));
    let rec = Arc::new(template());
    let sync = mode == FlushDiskType::SyncFlush;
    let stats = store.commit_log().stats();
    let syncs_before = stats.syncs.load(Ordering::Relaxed);
    let sync_micros_before = stats.sync_micros.load(Ordering::Relaxed);
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (store, rec) = (Arc::clone(&store), Arc::clone(&rec));
            std::thread::spawn(move || {
                if turn > 1 {
                    return put_turns(&store, &rec, per_writer, turn);
                }
                (0..per_writer)
                    .map(|_| put(&store, &rec, sync))
                    .sum::<u64>()
            })
        })
        .collect();
    let bytes: u64 = handles.into_iter().map(|h| h.join().expect("writer")).sum();
    let elapsed = start.elapsed();
    store.flush_now().expect("final flush");
    let elapsed_durable = start.elapsed();
    let stats = store.commit_log().stats();
    let syncs = stats.syncs.load(Ordering::Relaxed) - syncs_before;
    let sync_micros = stats.sync_micros.load(Ordering::Relaxed) - sync_micros_before;
    store.shutdown().expect("shutdown");
    Outcome {
        name: name.into(),
        messages: writers as u64 * per_writer,
        bytes,
        elapsed,
        elapsed_durable,
        syncs,
        sync_micros,
    }
}

fn print_header() {
    println!(
        "{:<34} {:>8} {:>7} {:>7} {:>8} {:>9} {:>8} {:>9}",
        "run", "msgs/s", "MB/s", "vs raw", "durable", "fdatasync", "us/sync", "msgs/sync"
    );
}

fn print_line(raw: &Outcome, r: &Outcome) {
    let msgs = if !r.name.starts_with("raw") {
        format!("{:.0}", r.msgs_per_s())
    } else {
        "-".into()
    };
    let per_sync = |x: u64| x as f64 / r.syncs.max(1) as f64;
    println!(
        "{:<34} {:>8} {:>7.1} {:>7.2} {:>8.1} {:>9} {:>8.0} {:>9.1}",
        r.name,
        msgs,
        r.mb_per_s(),
        r.mb_per_s() / raw.mb_per_s(),
        r.durable_mb_per_s(),
        r.syncs,
        per_sync(r.sync_micros),
        per_sync(r.messages),
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A benchmarked mode: name, flush type, writer threads, appends per writer, appends per
/// group write (1: `put_message`, each append written by itself).
type Mode = (&'static str, FlushDiskType, usize, u64, u64);

/// One round: raw, ASYNC×1 (each append written alone, and staged 32 per group write as the
/// broker's loop does), SYNC×1, SYNC×64, printed as they finish. Returns (ASYNC durable MB/s ÷
/// raw, the same for the staged ASYNC run, SYNC×64 msgs/s ÷ SYNC×1 msgs/s).
fn round(root: &Path, async_messages: u64) -> [f64; 3] {
    let raw = raw_sequential_write(root).expect("raw write");
    print_line(&raw, &raw);
    let (a, s) = (FlushDiskType::AsyncFlush, FlushDiskType::SyncFlush);
    let modes: [Mode; 4] = [
        ("ASYNC_FLUSH, 1 writer", a, 1, async_messages, 1),
        (
            "ASYNC_FLUSH, 1 writer, 32 per write",
            a,
            1,
            async_messages,
            32,
        ),
        ("SYNC_FLUSH, 1 writer", s, 1, 5_000, 1),
        ("SYNC_FLUSH, 64 writers", s, 64, 2_000, 1),
    ];
    // Profiling aid: STORE_BENCH_ONLY="64 writers" runs only the matching modes (no summary).
    let only = std::env::var("STORE_BENCH_ONLY").unwrap_or_default();
    let results: Vec<Outcome> = modes
        .iter()
        .filter(|m| m.0.contains(&only))
        .map(|&(name, mode, writers, per_writer, turn)| {
            let r = run_mode(&root.join("store"), name, mode, writers, per_writer, turn);
            print_line(&raw, &r);
            r
        })
        .collect();
    if results.len() < modes.len() {
        return [f64::NAN; 3];
    }
    [
        results[0].durable_mb_per_s() / raw.mb_per_s(),
        results[1].durable_mb_per_s() / raw.mb_per_s(),
        results[3].msgs_per_s() / results[2].msgs_per_s(),
    ]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root: PathBuf = args.next().map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ferromq-store-bench-{}", std::process::id()))
    });
    let async_messages: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(500_000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all(&root).expect("create bench dir");
    println!(
        "store_bench in {} ({BODY_BYTES}-byte bodies, {} bytes per record, {rounds} rounds)",
        root.display(),
        template().len()
    );
    print_header();
    let ratios: Vec<[f64; 3]> = (0..rounds).map(|_| round(&root, async_messages)).collect();
    let _ = std::fs::remove_dir_all(&root);
    println!("MB/s: until the last put returned; durable: until a final flush completed");
    for (i, [a, a32, s]) in ratios.iter().enumerate() {
        println!(
            "round {}: ASYNC durable / raw = {a:.2} (32 per write: {a32:.2}); SYNC x64 / SYNC x1 = {s:.1}x",
            i + 1
        );
    }
    let med = |k: usize| median(ratios.iter().map(|r| r[k]).collect());
    println!(
        "median: ASYNC durable / raw = {:.2} (32 per write: {:.2}; target >= 0.70); \
         SYNC x64 / SYNC x1 = {:.1}x (target >= 20x)",
        med(0),
        med(1),
        med(2),
    );
}
