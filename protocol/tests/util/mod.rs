//! Shared helpers for the remoting tests: start loops on 127.0.0.1:0, an echo handler, raw
//! frame I/O over blocking std sockets, and polling with a deadline (no sleeps).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, ResponseCode};

/// Echo: the response carries the request's body and ext fields.
pub const CODE_ECHO: i32 = 9000;
/// Respond with a body of `size` bytes (ext field), each byte `i % 251`.
pub const CODE_BIG: i32 = 9001;
/// Never answered (Reply::Later).
pub const CODE_LATER: i32 = 9002;

/// A running loop on its own thread.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: RemotingHandle,
    pub join: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn addr_str(&self) -> String {
        self.addr.to_string()
    }

    /// Shuts the loop down and asserts that `run` returns Ok within the deadline.
    pub fn stop(mut self) {
        self.handle.shutdown();
        let join = self.join.take().expect("joined once");
        wait_until("event loop thread exits", 10_000, || join.is_finished());
        join.join()
            .expect("loop thread panicked")
            .expect("run failed");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(join) = self.join.take() {
            self.handle.shutdown();
            let _ = join.join();
        }
    }
}

/// Starts a server loop with one listener on 127.0.0.1:0.
pub fn start_server<H: RequestHandler>(config: RemotingConfig, handler: H) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut event_loop = EventLoop::new(config).unwrap();
    event_loop.listen(listener).unwrap();
    let handle = event_loop.handle();
    let join = event_loop.spawn("test-server", handler).unwrap();
    Running {
        addr,
        handle,
        join: Some(join),
    }
}

/// Starts a loop with no listener (a client).
pub fn start_client<H: RequestHandler>(config: RemotingConfig, handler: H) -> Running {
    let event_loop = EventLoop::new(config).unwrap();
    let handle = event_loop.handle();
    let join = event_loop.spawn("test-client", handler).unwrap();
    Running {
        addr: "0.0.0.0:0".parse().unwrap(),
        handle,
        join: Some(join),
    }
}

/// Counters an [`EchoHandler`] updates, readable from the test thread.
#[derive(Default)]
pub struct EchoStats {
    pub requests: AtomicUsize,
    pub oneways: AtomicUsize,
    pub connected: AtomicUsize,
    pub closed: AtomicUsize,
    pub closed_ids: Mutex<Vec<ConnId>>,
}

/// Answers CODE_ECHO, CODE_BIG, CODE_LATER; unknown codes get REQUEST_CODE_NOT_SUPPORTED.
#[derive(Clone, Default)]
pub struct EchoHandler {
    pub stats: Arc<EchoStats>,
}

impl RequestHandler for EchoHandler {
    fn on_request(
        &mut self,
        _ctx: &mut Context<'_>,
        _conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        self.stats.requests.fetch_add(1, Ordering::SeqCst);
        if request.is_oneway() {
            self.stats.oneways.fetch_add(1, Ordering::SeqCst);
        }
        match request.code {
            CODE_ECHO => {
                let mut response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
                    .with_body(request.body.clone());
                response.ext_fields = request.ext_fields.clone();
                Reply::Now(response)
            }
            CODE_BIG => {
                let size: usize = request
                    .ext_fields
                    .get("size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                Reply::Now(
                    RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
                        .with_body(pattern(size)),
                )
            }
            CODE_LATER => Reply::Later,
            _ => Reply::Now(RemotingCommand::error_response(
                &request,
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!("request code {} not supported", request.code),
            )),
        }
    }

    fn on_connected(
        &mut self,
        _ctx: &mut Context<'_>,
        _conn: ConnId,
        _peer: SocketAddr,
        _listener: Option<usize>,
    ) {
        self.stats.connected.fetch_add(1, Ordering::SeqCst);
    }

    fn on_closed(&mut self, _ctx: &mut Context<'_>, conn: ConnId) {
        self.stats.closed.fetch_add(1, Ordering::SeqCst);
        self.stats.closed_ids.lock().unwrap().push(conn);
    }
}

/// `size` bytes of a recognisable pattern.
pub fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// A CODE_BIG request for `size` bytes.
pub fn big_request(size: usize) -> RemotingCommand {
    let mut cmd = RemotingCommand::request_raw(CODE_BIG);
    cmd.ext_fields.insert("size", size.to_string());
    cmd
}

/// Polls `cond` until it holds, panicking with `what` after `timeout_ms`.
pub fn wait_until(what: &str, timeout_ms: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::park_timeout(Duration::from_millis(1));
    }
}

/// A blocking std connection with a read timeout, for raw-byte tests.
pub fn raw_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Encodes a whole frame.
pub fn encode(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = BytesMut::new();
    cmd.encode(&mut out).unwrap();
    out.to_vec()
}

/// Reads one whole frame from a blocking socket and decodes it.
pub fn read_frame(s: &mut TcpStream) -> RemotingCommand {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let total = i32::from_be_bytes(len) as usize;
    let mut payload = vec![0u8; total];
    s.read_exact(&mut payload).unwrap();
    RemotingCommand::decode(payload.into()).unwrap()
}

/// Writes one frame to a blocking socket.
pub fn write_frame(s: &mut TcpStream, cmd: &RemotingCommand) {
    s.write_all(&encode(cmd)).unwrap();
}

/// True when the server closed `s`: a read returns EOF or a reset within the read timeout.
pub fn is_closed_by_peer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // drain whatever was sent before the close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// A echo round trip through a raw socket (proves a connection is healthy).
pub fn raw_echo(s: &mut TcpStream, opaque: i32, body: &[u8]) {
    let mut req = RemotingCommand::request_raw(CODE_ECHO).with_body(body.to_vec());
    req.opaque = opaque;
    write_frame(s, &req);
    let resp = read_frame(s);
    assert!(resp.is_response());
    assert_eq!(resp.opaque, opaque);
    assert_eq!(&resp.body[..], body);
}
