//! Failure paths: request timeout, a peer vanishing mid-frame, malformed input, refused
//! connects, idle connections.

#![cfg(feature = "net")]

mod util;

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use protocol::remoting::{RemotingConfig, RemotingError};
use protocol::RemotingCommand;
use util::*;

#[test]
fn an_unanswered_request_times_out_and_the_loop_stays_healthy() {
    let server = start_server(RemotingConfig::default(), EchoHandler::default());
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    let addr = server.addr_str();
    let started = Instant::now();
    let result = client
        .handle
        .invoke_sync(&addr, RemotingCommand::request_raw(CODE_LATER), 300);
    let elapsed = started.elapsed();
    assert_eq!(
        result,
        Err(RemotingError::Timeout {
            addr: addr.clone(),
            timeout_ms: 300
        })
    );
    assert!(
        elapsed >= Duration::from_millis(290),
        "too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(1200),
        "too late: {elapsed:?}"
    );
    // The same connection keeps working.
    let resp = client
        .handle
        .invoke_sync(
            &addr,
            RemotingCommand::request_raw(CODE_ECHO).with_body("x"),
            5000,
        )
        .unwrap();
    assert_eq!(&resp.body[..], b"x");
    client.stop();
    server.stop();
}

#[test]
fn a_peer_vanishing_mid_frame_affects_only_itself() {
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(RemotingConfig::default(), handler);
    let mut healthy = raw_connect(server.addr);
    raw_echo(&mut healthy, 1, b"before");

    let mut vanishing = raw_connect(server.addr);
    let wire = encode(&RemotingCommand::request_raw(CODE_ECHO).with_body(pattern(1000)));
    vanishing.write_all(&wire[..wire.len() / 2]).unwrap();
    drop(vanishing);
    wait_until("server notices the vanished peer", 10_000, || {
        stats.closed.load(Ordering::SeqCst) == 1
    });
    assert_eq!(
        stats.requests.load(Ordering::SeqCst),
        1,
        "half a frame is no request"
    );
    raw_echo(&mut healthy, 2, b"after");
    server.stop();
}

/// Sends `bytes` on a fresh connection and asserts that the server closes it while a second
/// connection keeps working.
fn assert_closes_only_that_connection(config: RemotingConfig, bytes: &[u8]) {
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(config, handler);
    let mut healthy = raw_connect(server.addr);
    raw_echo(&mut healthy, 1, b"before");
    let mut bad = raw_connect(server.addr);
    bad.write_all(bytes).unwrap();
    assert!(
        is_closed_by_peer(&mut bad),
        "server must close the bad connection"
    );
    wait_until("on_closed for the bad connection", 10_000, || {
        stats.closed.load(Ordering::SeqCst) == 1
    });
    raw_echo(&mut healthy, 2, b"after");
    assert_eq!(stats.requests.load(Ordering::SeqCst), 2);
    server.stop();
}

#[test]
fn a_negative_length_prefix_closes_the_connection() {
    assert_closes_only_that_connection(RemotingConfig::default(), &[0xFF, 0xFF, 0xFF, 0xF0, 1]);
}

#[test]
fn a_length_prefix_below_the_header_word_closes_the_connection() {
    assert_closes_only_that_connection(RemotingConfig::default(), &[0, 0, 0, 2, 0, 0]);
}

#[test]
fn an_oversized_frame_closes_the_connection() {
    let config = RemotingConfig {
        max_frame_bytes: 64 * 1024,
        ..Default::default()
    };
    let wire = encode(&RemotingCommand::request_raw(CODE_ECHO).with_body(pattern(100_000)));
    assert_closes_only_that_connection(config, &wire[..1000]);
}

#[test]
fn an_unknown_serialize_type_closes_the_connection() {
    let mut wire = encode(&RemotingCommand::request_raw(CODE_ECHO));
    wire[4] = 7; // serialize type byte
    assert_closes_only_that_connection(RemotingConfig::default(), &wire);
}

#[test]
fn an_undecodable_json_header_closes_the_connection() {
    let header = br#"{"code":9000,"opaque":"#;
    let mut wire = Vec::new();
    wire.extend_from_slice(&(4 + header.len() as i32).to_be_bytes());
    wire.extend_from_slice(&(header.len() as u32).to_be_bytes());
    wire.extend_from_slice(header);
    assert_closes_only_that_connection(RemotingConfig::default(), &wire);
}

#[test]
fn a_header_length_beyond_the_frame_closes_the_connection() {
    let mut wire = Vec::new();
    wire.extend_from_slice(&8i32.to_be_bytes());
    wire.extend_from_slice(&1000u32.to_be_bytes());
    wire.extend_from_slice(b"{}{}");
    assert_closes_only_that_connection(RemotingConfig::default(), &wire);
}

#[test]
fn connecting_to_a_closed_port_fails_fast() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    for _ in 0..2 {
        let started = Instant::now();
        let result =
            client
                .handle
                .invoke_sync(&addr, RemotingCommand::request_raw(CODE_ECHO), 10_000);
        match result {
            Err(RemotingError::Connect { addr: a, .. }) => assert_eq!(a, addr),
            other => panic!("expected a connect error, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "must not wait for the timeout"
        );
    }
    let result = client
        .handle
        .invoke_sync("not an address", RemotingCommand::request_raw(1), 1000);
    assert!(matches!(result, Err(RemotingError::Connect { .. })));
    client.stop();
}

#[test]
fn idle_connections_are_closed() {
    let config = RemotingConfig {
        idle_timeout_ms: 200,
        ..Default::default()
    };
    let handler = EchoHandler::default();
    let stats = handler.stats.clone();
    let server = start_server(config, handler);
    let started = Instant::now();
    let mut idle = raw_connect(server.addr);
    assert!(
        is_closed_by_peer(&mut idle),
        "an idle connection must be closed"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(190),
        "closed too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "closed too late: {elapsed:?}"
    );
    wait_until("on_closed for the idle connection", 10_000, || {
        stats.closed.load(Ordering::SeqCst) == 1
    });
    // A client loop's outbound connection is swept too, and replaced transparently on reuse.
    let client = start_client(
        RemotingConfig {
            idle_timeout_ms: 100,
            ..Default::default()
        },
        EchoHandler::default(),
    );
    let addr = server.addr_str();
    let req = || RemotingCommand::request_raw(CODE_ECHO).with_body("x");
    client.handle.invoke_sync(&addr, req(), 5000).unwrap();
    wait_until("the client's idle connection is closed", 10_000, || {
        stats.closed.load(Ordering::SeqCst) == 2
    });
    client.handle.invoke_sync(&addr, req(), 5000).unwrap();
    assert_eq!(stats.connected.load(Ordering::SeqCst), 3);
    client.stop();
    server.stop();
}
