//! Both directions on one connection, back-pressure, deadlock refusal on the loop thread, and
//! shutdown.

#![cfg(feature = "net")]

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
const CODE_PROXY: i32 = 9103;

/// On CODE_CALL_BACK, asks the calling client (on the same connection) to echo the request's
/// body, and answers the original request with the client's answer.
#[derive(Default)]
struct CallBackHandler {
    conns: Arc<Mutex<Vec<ConnId>>>,
    wakes: Arc<AtomicUsize>,
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
            CODE_PROXY => {
                // Forward to the backend named in the request, answer when it answers.
                let backend = request.ext_fields.get("backend").unwrap_or("").to_string();
                let forward =
                    RemotingCommand::request_raw(CODE_ECHO).with_body(request.body.clone());
                let handle = ctx.handle();
                ctx.invoke_async(&backend, forward, 5000, move |answer| {
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
            _ => Reply::Now(RemotingCommand::response_to(
                &request,
                ResponseCode::SUCCESS,
            )),
        }
    }

    fn on_wake(&mut self, _ctx: &mut Context<'_>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn on_connected(&mut self, _: &mut Context<'_>, conn: ConnId, _: SocketAddr, l: Option<usize>) {
        // Accepted connections only (listener 0); outbound ones report None.
        if l == Some(0) {
            self.conns.lock().unwrap().push(conn);
        }
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

#[test]
fn the_handler_can_call_other_servers_from_the_loop_thread() {
    let backend = start_server(RemotingConfig::default(), EchoHandler::default());
    let front = start_server(RemotingConfig::default(), CallBackHandler::default());
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    for i in 0..10 {
        let mut req = RemotingCommand::request_raw(CODE_PROXY).with_body(format!("hop {i}"));
        req.ext_fields.insert("backend", backend.addr_str());
        let resp = client
            .handle
            .invoke_sync(&front.addr_str(), req, 10_000)
            .unwrap();
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
        assert_eq!(resp.body, format!("hop {i}").as_bytes());
    }
    // A backend that is not there: the error travels back as the remark.
    let mut req = RemotingCommand::request_raw(CODE_PROXY);
    req.ext_fields.insert("backend", "127.0.0.1:1");
    let resp = client
        .handle
        .invoke_sync(&front.addr_str(), req, 10_000)
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR.code());
    assert!(resp.remark.unwrap().contains("cannot connect"));
    client.stop();
    front.stop();
    backend.stop();
}

#[test]
fn bursts_of_wakes_coalesce_and_none_is_lost() {
    let handler = CallBackHandler::default();
    let wakes = handler.wakes.clone();
    // Wake 10 000 times before the loop runs: it sees them in batches of at most 4096
    // commands per turn, one on_wake per batch.
    let event_loop = protocol::remoting::EventLoop::new(RemotingConfig::default()).unwrap();
    let handle = event_loop.handle();
    for _ in 0..10_000 {
        handle.wake();
    }
    let join = event_loop.spawn("wake-test", handler).unwrap();
    wait_until("the burst is delivered", 10_000, || {
        wakes.load(Ordering::SeqCst) == 3
    });
    // Each later wake is delivered exactly once: the coalescing flag never swallows one.
    for round in 1..=50 {
        handle.wake();
        wait_until("a single wake is delivered", 10_000, || {
            wakes.load(Ordering::SeqCst) > 2 + round
        });
        assert_eq!(wakes.load(Ordering::SeqCst), 3 + round);
    }
    handle.shutdown();
    join.join().unwrap().unwrap();
}
