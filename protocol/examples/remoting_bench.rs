//! Loopback throughput check for the remoting runtime (not a test; run in release):
//!
//! ```text
//! cargo run -p protocol --release --example remoting_bench -- [echo|pull] [seconds] [window]
//! ```
//! `echo`: small async requests with `window` in flight, one client loop, one server loop.
//! `pull`: each response carries a 32 × 256-byte "message batch" sent from a file with
//! sendfile, as the broker's pull path does; reports messages per second.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use protocol::remoting::{
    ConnId, Context, EventLoop, FileRegion, RemotingConfig, Reply, RequestHandler,
};
use protocol::{RemotingCommand, ResponseCode};

const MSGS_PER_PULL: u64 = 32;
const MSG_BYTES: u64 = 256;

struct Server {
    file: Option<Arc<std::fs::File>>,
    next_pos: u64,
}

impl RequestHandler for Server {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, request: RemotingCommand) -> Reply {
        let response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS);
        match &self.file {
            None => Reply::Now(response.with_body(request.body)),
            Some(file) => {
                let len = MSGS_PER_PULL * MSG_BYTES;
                let pos = self.next_pos;
                self.next_pos = (self.next_pos + len) % (1 << 24);
                Reply::WithFiles {
                    response,
                    regions: vec![FileRegion::new(file.clone(), pos, len)],
                }
            }
        }
    }
}

struct Client;

impl RequestHandler for Client {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("echo")
        .to_string();
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let window: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2000);

    let file = (mode == "pull").then(|| {
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(&vec![b'm'; (1 << 24) + 65536]).expect("fill");
        Arc::new(f)
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let mut server = EventLoop::new(RemotingConfig::default()).expect("loop");
    server.listen(listener).expect("listen");
    let server_handle = server.handle();
    let server_join = server
        .spawn("bench-server", Server { file, next_pos: 0 })
        .expect("spawn");
    let client = EventLoop::new(RemotingConfig::default()).expect("loop");
    let handle = client.handle();
    let client_join = client.spawn("bench-client", Client).expect("spawn");

    let addr = addr.to_string();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let producer = thread::current();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let body = vec![b'x'; 64];
    while Instant::now() < deadline {
        while in_flight.load(Ordering::Acquire) >= window {
            thread::park_timeout(Duration::from_micros(200));
        }
        in_flight.fetch_add(1, Ordering::AcqRel);
        let (in_flight, done, failed, producer) = (
            in_flight.clone(),
            done.clone(),
            failed.clone(),
            producer.clone(),
        );
        let req = RemotingCommand::request_raw(11).with_body(body.clone());
        handle.invoke_async(&addr, req, 10_000, move |r| {
            match r {
                Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                Err(_) => failed.fetch_add(1, Ordering::Relaxed),
            };
            if in_flight.fetch_sub(1, Ordering::AcqRel) == window {
                producer.unpark();
            }
        });
    }
    while in_flight.load(Ordering::Acquire) > 0 {
        thread::park_timeout(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Release);
    let elapsed = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!(
        "{mode}: {n} responses in {elapsed:.2}s = {:.0} req/s ({} failed)",
        n as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
    if mode == "pull" {
        println!(
            "       = {:.0} msgs/s, {:.0} MB/s of message bodies",
            (n * MSGS_PER_PULL) as f64 / elapsed,
            (n * MSGS_PER_PULL * MSG_BYTES) as f64 / elapsed / 1e6
        );
    }
    handle.shutdown();
    server_handle.shutdown();
    client_join
        .join()
        .expect("client thread")
        .expect("client run");
    server_join
        .join()
        .expect("server thread")
        .expect("server run");
}
