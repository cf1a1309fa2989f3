//! Echo server under load: many concurrent connections, sync + async + one-way requests,
//! large bodies both ways, unknown request codes.

#![cfg(feature = "net")]

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use protocol::remoting::{RemotingConfig, RemotingError};
use protocol::{RemotingCommand, ResponseCode};
use util::*;

#[test]
fn fifty_raw_connections_pipeline_thousands_of_requests() {
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(RemotingConfig::default(), handler);
    let addr = server.addr;
    let per_conn = 200;
    let workers: Vec<_> = (0..50)
        .map(|c| {
            thread::spawn(move || {
                let mut s = raw_connect(addr);
                // Pipeline: write every request first, then read every response.
                let mut wire = Vec::new();
                for i in 0..per_conn {
                    let mut req = RemotingCommand::request_raw(CODE_ECHO)
                        .with_body(format!("conn {c} req {i}").into_bytes());
                    req.opaque = i;
                    wire.extend_from_slice(&encode(&req));
                }
                std::io::Write::write_all(&mut s, &wire).unwrap();
                for i in 0..per_conn {
                    let resp = read_frame(&mut s);
                    assert_eq!(
                        resp.opaque, i,
                        "responses keep request order per connection"
                    );
                    assert_eq!(resp.body, format!("conn {c} req {i}").into_bytes());
                    assert_eq!(resp.code, ResponseCode::SUCCESS.code());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(
        stats.requests.load(Ordering::SeqCst),
        50 * per_conn as usize
    );
    wait_until("server sees 50 connections", 10_000, || {
        stats.connected.load(Ordering::SeqCst) == 50
    });
    server.stop();
}

#[test]
fn handle_sync_async_and_oneway_from_many_threads() {
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(RemotingConfig::default(), handler);
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    let addr = server.addr_str();

    // Synchronous calls from 8 threads sharing the client's single cached connection.
    let sync_threads: Vec<_> = (0..8)
        .map(|t| {
            let handle = client.handle.clone();
            let addr = addr.clone();
            thread::spawn(move || {
                for i in 0..250 {
                    let body = format!("sync {t} {i}").into_bytes();
                    let req = RemotingCommand::request_raw(CODE_ECHO).with_body(body.clone());
                    let resp = handle.invoke_sync(&addr, req, 10_000).unwrap();
                    assert_eq!(resp.body, body);
                }
            })
        })
        .collect();

    // Asynchronous calls: 5000 in flight at once, answered through callbacks.
    let (tx, rx) = mpsc::channel();
    let async_count = 5000;
    for i in 0..async_count {
        let tx = tx.clone();
        let body = format!("async {i}").into_bytes();
        let req = RemotingCommand::request_raw(CODE_ECHO).with_body(body.clone());
        client.handle.invoke_async(&addr, req, 10_000, move |r| {
            let ok = matches!(&r, Ok(resp) if resp.body == body);
            tx.send(ok).unwrap();
        });
    }
    for _ in 0..async_count {
        assert!(rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap());
    }

    // One-way requests: no response; the server counts them.
    for _ in 0..1000 {
        let req = RemotingCommand::request_raw(CODE_ECHO);
        client.handle.invoke_oneway(&addr, req).unwrap();
    }
    for t in sync_threads {
        t.join().unwrap();
    }
    wait_until("1000 one-way requests arrive", 10_000, || {
        stats.oneways.load(Ordering::SeqCst) == 1000
    });
    assert_eq!(
        stats.connected.load(Ordering::SeqCst),
        1,
        "one cached connection per address"
    );
    client.stop();
    server.stop();
}

#[test]
fn large_bodies_both_ways_and_unknown_codes() {
    let server = start_server(RemotingConfig::default(), EchoHandler::default());
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    let addr = server.addr_str();

    let body = pattern(6 * 1024 * 1024);
    let req = RemotingCommand::request_raw(CODE_ECHO).with_body(body.clone());
    let resp = client.handle.invoke_sync(&addr, req, 20_000).unwrap();
    assert_eq!(resp.body.len(), body.len());
    assert!(resp.body == body);

    let resp = client
        .handle
        .invoke_sync(&addr, big_request(12 * 1024 * 1024), 20_000)
        .unwrap();
    assert!(resp.body == pattern(12 * 1024 * 1024));

    let resp = client
        .handle
        .invoke_sync(&addr, RemotingCommand::request_raw(123_456), 5000)
        .unwrap();
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code());
    assert!(resp.remark.unwrap().contains("123456"));
    client.stop();
    server.stop();
}

#[test]
fn callbacks_after_shutdown_report_shutdown() {
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    let handle = client.handle.clone();
    client.stop();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    handle.invoke_async(
        "127.0.0.1:1",
        RemotingCommand::request_raw(1),
        1000,
        move |r| {
            assert_eq!(r.unwrap_err(), RemotingError::Shutdown);
            seen.fetch_add(1, Ordering::SeqCst);
        },
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        handle.invoke_sync("127.0.0.1:1", RemotingCommand::request_raw(1), 1000),
        Err(RemotingError::Shutdown)
    );
    assert!(handle.is_shutdown());
}

#[test]
fn one_way_requests_never_get_a_response_and_stray_responses_are_dropped() {
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(RemotingConfig::default(), handler);
    let mut s = raw_connect(server.addr);
    let mut oneway = RemotingCommand::request_raw(CODE_ECHO).into_oneway();
    oneway.opaque = 1;
    write_frame(&mut s, &oneway);
    // A response nobody asked for (unknown opaque) is dropped without harming the connection.
    let mut stray = RemotingCommand::response_to(&oneway, ResponseCode::SUCCESS);
    stray.opaque = 424_242;
    write_frame(&mut s, &stray);
    raw_echo(&mut s, 2, b"only this is answered");
    assert_eq!(stats.oneways.load(Ordering::SeqCst), 1);
    assert_eq!(
        stats.requests.load(Ordering::SeqCst),
        2,
        "the stray response is no request"
    );
    server.stop();
}
