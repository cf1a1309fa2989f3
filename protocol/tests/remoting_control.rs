//! Both directions on one connection, back-pressure, deadlock refusal on the loop thread, and
//! shutdown.

mod util;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use protocol::remoting::{ConnId, Context, RemotingConfig, RemotingError, Reply, RequestHandler};
use protocol::{RemotingCommand, ResponseCode};
use util::*;

const CODE_CALL_BACK: i32 = 9100;
const CODE_SYNC_ON_LOOP: i32 = 9101;
const CODE_BIG_THEN_SHUTDOWN: i32 = 9102;

/// On CODE_CALL_BACK, asks the calling client (on the same connection) to echo the request's
/// body, and answers the original request with the client's answer.
#[derive(Default)]
struct CallBackHandler {
    conns: Arc<Mutex<Vec<ConnId>>>,
}

impl RequestHandler for CallBackHandler {
    fn on_request(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        match request.code {
            CODE_CALL_BACK => {
                let ask = RemotingCommand::request_raw(CODE_ECHO).with_body(request.body.clone());
                let handle = ctx.handle();
                ctx.send_request(conn, ask, 5000, move |answer| {
                    let response = match answer {
                        Ok(a) => RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
                            .with_body(a.body),
                        Err(e) => RemotingCommand::error_response(
                            &request,
                            ResponseCode::SYSTEM_ERROR,
                            e.to_string(),
                        ),
                    };
                    handle.send_to(conn, response).unwrap();
                });
                Reply::Later
            }
            CODE_SYNC_ON_LOOP => {
                let me = ctx.peer_addr(conn).unwrap().to_string();
                let result = ctx
                    .handle()
                    .invoke_sync(&me, RemotingCommand::request_raw(1), 1000);
                Reply::Now(
                    RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
                        .with_remark(format!("{result:?}")),
                )
            }
            CODE_BIG_THEN_SHUTDOWN => {
                let response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
                    .with_body(pattern(4 * 1024 * 1024));
                ctx.respond(conn, response).unwrap();
                ctx.handle().shutdown();
                Reply::Nothing
            }
            _ => Reply::Now(RemotingCommand::response_to(
                &request,
                ResponseCode::SUCCESS,
            )),
        }
    }

    fn on_connected(&mut self, _: &mut Context<'_>, conn: ConnId, _: SocketAddr, l: Option<usize>) {
        assert_eq!(l, Some(0));
        self.conns.lock().unwrap().push(conn);
    }
}

#[test]
fn server_to_client_requests_share_the_connection() {
    let handler = CallBackHandler::default();
    let conns = handler.conns.clone();
    let server = start_server(RemotingConfig::default(), handler);
    let client_handler = EchoHandler::default();
    let client_stats = client_handler.stats.clone();
    let client = start_client(RemotingConfig::default(), client_handler);
    let addr = server.addr_str();
    for i in 0..20 {
        let body = format!("round trip {i}");
        let req = RemotingCommand::request_raw(CODE_CALL_BACK).with_body(body.clone());
        let resp = client.handle.invoke_sync(&addr, req, 10_000).unwrap();
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
        assert_eq!(resp.body, body.as_bytes());
    }
    assert_eq!(client_stats.requests.load(Ordering::SeqCst), 20);
    assert_eq!(
        client_stats.connected.load(Ordering::SeqCst),
        1,
        "outbound on_connected"
    );

    // From another thread through the server's handle, on the accepted connection.
    let conn = conns.lock().unwrap()[0];
    let (tx, rx) = mpsc::channel();
    let ask = RemotingCommand::request_raw(CODE_ECHO).with_body("from a service thread");
    server
        .handle
        .request_on(conn, ask, 5000, move |r| tx.send(r).unwrap());
    let answer = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(&answer.body[..], b"from a service thread");

    // One-way server → client.
    let note = RemotingCommand::request_raw(CODE_ECHO);
    server.handle.send_to(conn, note).unwrap();
    wait_until("client receives the one-way request", 10_000, || {
        client_stats.oneways.load(Ordering::SeqCst) == 1
    });

    // A stale connection id reports SendFailed.
    client.stop();
    wait_until("server drops the closed connection", 10_000, || {
        let (tx, rx) = mpsc::channel();
        server
            .handle
            .request_on(conn, RemotingCommand::request_raw(1), 1000, move |r| {
                tx.send(r).unwrap()
            });
        matches!(rx.recv().unwrap(), Err(RemotingError::SendFailed { .. }))
    });
    server.stop();
}

#[test]
fn invoke_sync_on_the_loop_thread_refuses_instead_of_hanging() {
    let server = start_server(RemotingConfig::default(), CallBackHandler::default());
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    let resp = client
        .handle
        .invoke_sync(
            &server.addr_str(),
            RemotingCommand::request_raw(CODE_SYNC_ON_LOOP),
            5000,
        )
        .unwrap();
    assert_eq!(resp.remark.as_deref(), Some("Err(WouldDeadlock)"));
    client.stop();
    server.stop();
}

/// Answers CODE_BIG and records the write-queue sizes and pauses it observes.
#[derive(Clone, Default)]
struct PressureHandler {
    requests: Arc<AtomicUsize>,
    max_queued_before_reply: Arc<AtomicU64>,
    max_queued_seen: Arc<AtomicU64>,
    paused_seen: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<ConnId>>>,
}

impl RequestHandler for PressureHandler {
    fn on_request(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let queued = ctx.queued_bytes(conn).unwrap();
        self.max_queued_before_reply
            .fetch_max(queued, Ordering::SeqCst);
        EchoHandler::default().on_request(ctx, conn, request)
    }

    fn on_connected(&mut self, _: &mut Context<'_>, conn: ConnId, _: SocketAddr, _: Option<usize>) {
        self.conns.lock().unwrap().push(conn);
    }

    fn on_tick(&mut self, ctx: &mut Context<'_>, _now_ms: u64) {
        for &conn in self.conns.lock().unwrap().iter() {
            if let Some(q) = ctx.queued_bytes(conn) {
                self.max_queued_seen.fetch_max(q, Ordering::SeqCst);
            }
            if ctx.is_inbound_paused(conn) == Some(true) {
                self.paused_seen.store(true, Ordering::SeqCst);
            }
        }
    }
}

#[test]
fn a_client_that_never_reads_stops_being_read_from_until_it_drains() {
    let high = 1024 * 1024;
    let config = RemotingConfig {
        write_queue_high_water_bytes: high,
        write_queue_low_water_bytes: 256 * 1024,
        tick_interval_ms: 5,
        ..Default::default()
    };
    let handler = PressureHandler::default();
    let h = handler.clone();
    let server = start_server(config, handler);
    let response_size = 256 * 1024;
    let total = 400;
    let mut s = raw_connect(server.addr);
    let mut wire = Vec::new();
    for i in 0..total {
        let mut req = big_request(response_size);
        req.opaque = i;
        wire.extend_from_slice(&encode(&req));
    }
    std::io::Write::write_all(&mut s, &wire).unwrap();

    wait_until("the server pauses reading", 10_000, || {
        h.paused_seen.load(Ordering::SeqCst)
    });
    let read_while_paused = h.requests.load(Ordering::SeqCst);
    assert!(
        read_while_paused < total as usize,
        "server must stop reading requests"
    );
    assert!(h.max_queued_before_reply.load(Ordering::SeqCst) <= high as u64);

    // Drain: every response arrives, in order, so reading resumed.
    for i in 0..total {
        let resp = read_frame(&mut s);
        assert_eq!(resp.opaque, i);
        assert_eq!(resp.body.len(), response_size);
    }
    assert_eq!(h.requests.load(Ordering::SeqCst), total as usize);
    let bound = (high + response_size + 1024) as u64;
    assert!(h.max_queued_seen.load(Ordering::SeqCst) <= bound);
    assert!(h.max_queued_before_reply.load(Ordering::SeqCst) <= high as u64);
    server.stop();
}

#[test]
fn shutdown_flushes_queued_output_then_closes_and_returns() {
    let server = start_server(RemotingConfig::default(), CallBackHandler::default());
    let mut s = raw_connect(server.addr);
    let mut req = RemotingCommand::request_raw(CODE_BIG_THEN_SHUTDOWN);
    req.opaque = 5;
    write_frame(&mut s, &req);
    let resp = read_frame(&mut s);
    assert_eq!(resp.opaque, 5);
    assert!(
        resp.body == pattern(4 * 1024 * 1024),
        "queued output is flushed first"
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "then the connection closes");
    let mut server = server;
    let join = server.join.take().unwrap();
    wait_until("run returns after shutdown", 10_000, || join.is_finished());
    join.join().unwrap().unwrap();
}

#[test]
fn shutdown_fails_pending_requests_on_both_sides() {
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(RemotingConfig::default(), handler);
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    let addr = server.addr_str();
    // Warm the connection so the pending request is really in flight.
    client
        .handle
        .invoke_sync(&addr, RemotingCommand::request_raw(CODE_ECHO), 5000)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    client.handle.invoke_async(
        &addr,
        RemotingCommand::request_raw(CODE_LATER),
        60_000,
        move |r| tx.send(r).unwrap(),
    );
    // Once the request is in the server's hands, the server goes away: the client's pending
    // request fails as ConnectionClosed.
    wait_until("the server holds the request", 10_000, || {
        stats.requests.load(Ordering::SeqCst) == 2
    });
    server.stop();
    let r = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        r,
        Err(RemotingError::ConnectionClosed { addr: addr.clone() })
    );

    // A request still pending when the client itself shuts down fails with Shutdown.
    let server = start_server(RemotingConfig::default(), EchoHandler::default());
    let addr = server.addr_str();
    client
        .handle
        .invoke_sync(&addr, RemotingCommand::request_raw(CODE_ECHO), 5000)
        .unwrap();
    client.handle.invoke_async(
        &addr,
        RemotingCommand::request_raw(CODE_LATER),
        60_000,
        move |r| tx2.send(r).unwrap(),
    );
    client.stop();
    let r = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(r, Err(RemotingError::Shutdown));
    server.stop();
}
