//! Partial reads, partial writes to a slow reader, and zero-copy file-region responses.

#![cfg(feature = "net")]

mod util;

use std::io::{Read, Write};
use std::sync::Arc;

use protocol::remoting::{ConnId, Context, FileRegion, RemotingConfig, Reply, RequestHandler};
use protocol::{RemotingCommand, ResponseCode};
use util::*;

#[test]
fn a_frame_written_one_byte_at_a_time_is_reassembled() {
    let server = start_server(RemotingConfig::default(), EchoHandler::default());
    let mut s = raw_connect(server.addr);
    let mut req = RemotingCommand::request_raw(CODE_ECHO).with_body(pattern(3000));
    req.ext_fields.insert("k", "v");
    req.opaque = 42;
    let wire = encode(&req);
    // Two frames back to back, each byte its own write (TCP_NODELAY: its own segment).
    for _ in 0..2 {
        for b in &wire {
            s.write_all(std::slice::from_ref(b)).unwrap();
        }
    }
    for _ in 0..2 {
        let resp = read_frame(&mut s);
        assert_eq!(resp.opaque, 42);
        assert_eq!(resp.ext_fields.get("k"), Some("v"));
        assert!(resp.body == pattern(3000));
    }
    server.stop();
}

#[test]
fn an_8_mib_response_reaches_a_slow_reader_intact() {
    let server = start_server(RemotingConfig::default(), EchoHandler::default());
    let mut s = raw_connect(server.addr);
    let size = 8 * 1024 * 1024;
    let mut req = big_request(size);
    req.opaque = 7;
    write_frame(&mut s, &req);
    // Read in small chunks so the server's writes stay partial and must resume exactly.
    let mut wire = Vec::with_capacity(size + 1024);
    let mut chunk = [0u8; 4096];
    let mut expected_len = None;
    while expected_len.is_none_or(|n| wire.len() < n) {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed early");
        wire.extend_from_slice(&chunk[..n]);
        if expected_len.is_none() && wire.len() >= 4 {
            let total = i32::from_be_bytes([wire[0], wire[1], wire[2], wire[3]]) as usize;
            expected_len = Some(4 + total);
        }
    }
    assert_eq!(Some(wire.len()), expected_len, "exactly one frame");
    let resp = RemotingCommand::decode(wire.split_off(4).into()).unwrap();
    assert_eq!(resp.opaque, 7);
    assert!(resp.body == pattern(size));
    // The connection is still healthy afterwards.
    raw_echo(&mut s, 8, b"after");
    server.stop();
}

/// Answers every request with a header, a small inline body, then several file regions.
struct FileHandler {
    file: Arc<std::fs::File>,
    regions: Vec<(u64, u64)>,
}

impl RequestHandler for FileHandler {
    fn on_request(
        &mut self,
        _ctx: &mut Context<'_>,
        _conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        let mut response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
            .with_body(b"inline|".to_vec());
        response
            .ext_fields
            .insert("regions", self.regions.len().to_string());
        let regions = self
            .regions
            .iter()
            .map(|&(pos, len)| FileRegion::new(self.file.clone(), pos, len))
            .collect();
        Reply::WithFiles { response, regions }
    }
}

#[test]
fn file_regions_are_sent_byte_exact_after_the_header() {
    let content = pattern(3 * 1024 * 1024);
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&content).unwrap();
    let regions = vec![
        (0u64, 100u64),
        (5000, 1_000_000),
        (2_000_000, 1_000_000),
        (17, 3),
    ];
    let handler = FileHandler {
        file: Arc::new(file),
        regions: regions.clone(),
    };
    let server = start_server(RemotingConfig::default(), handler);

    let mut expected = b"inline|".to_vec();
    for &(pos, len) in &regions {
        expected.extend_from_slice(&content[pos as usize..(pos + len) as usize]);
    }
    // Through a raw socket: the bytes on the wire form exactly one well-formed frame.
    let mut s = raw_connect(server.addr);
    let mut req = RemotingCommand::request_raw(1);
    req.opaque = 99;
    write_frame(&mut s, &req);
    let resp = read_frame(&mut s);
    assert_eq!(resp.opaque, 99);
    assert_eq!(resp.ext_fields.get("regions"), Some("4"));
    assert!(resp.body == expected);
    second_request_stays_in_sync(&mut s);

    // And through a client loop.
    let client = start_client(RemotingConfig::default(), EchoHandler::default());
    for _ in 0..3 {
        let resp = client
            .handle
            .invoke_sync(&server.addr_str(), RemotingCommand::request_raw(1), 10_000)
            .unwrap();
        assert!(resp.body == expected);
    }
    client.stop();
    server.stop();
}

/// The file handler answers every code, so a second request on the same socket must also
/// come back as a well-formed frame (the stream stayed in sync after the regions).
fn second_request_stays_in_sync(s: &mut std::net::TcpStream) {
    let mut req = RemotingCommand::request_raw(2);
    req.opaque = 100;
    write_frame(s, &req);
    let resp = read_frame(s);
    assert_eq!(resp.opaque, 100);
}
