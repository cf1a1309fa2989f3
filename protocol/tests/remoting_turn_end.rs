//! `RequestHandler::on_turn_end`: a handler may hold the replies of one poll turn and answer
//! them all at the turn's end (the broker writes a turn's appends with one system call first);
//! those replies reach the client in order, and pipelined requests share turns.

#![cfg(feature = "net")]

mod util;

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use protocol::remoting::{ConnId, Context, RemotingConfig, Reply, RequestHandler};
use protocol::{RemotingCommand, ResponseCode};
use util::*;

/// Answers CODE_ECHO at the end of the turn; records each turn's batch size.
#[derive(Default)]
struct TurnBatcher {
    held: Vec<(ConnId, RemotingCommand)>,
    batches: Arc<Mutex<Vec<usize>>>,
}

impl RequestHandler for TurnBatcher {
    fn on_request(
        &mut self,
        _ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        let response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
            .with_body(request.body.clone());
        self.held.push((conn, response));
        Reply::Later
    }

    fn on_turn_end(&mut self, ctx: &mut Context<'_>) {
        if self.held.is_empty() {
            return;
        }
        self.batches.lock().unwrap().push(self.held.len());
        for (conn, response) in self.held.drain(..) {
            ctx.respond(conn, response).unwrap();
        }
    }
}

#[test]
fn replies_held_until_the_turn_end_arrive_in_order_and_batched() {
    let handler = TurnBatcher::default();
    let batches = Arc::clone(&handler.batches);
    let server = start_server(RemotingConfig::default(), handler);
    let mut s = raw_connect(server.addr);
    let mut burst = BytesMut::new();
    for i in 0..64 {
        let mut req = RemotingCommand::request_raw(CODE_ECHO).with_body(vec![i as u8; 16]);
        req.opaque = 1000 + i;
        req.encode(&mut burst).unwrap();
    }
    std::io::Write::write_all(&mut s, &burst).unwrap();
    for i in 0..64 {
        let resp = read_frame(&mut s);
        assert!(resp.is_response());
        assert_eq!(resp.opaque, 1000 + i);
        assert_eq!(&resp.body[..], &[i as u8; 16][..]);
    }
    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 64);
    assert!(
        batches.len() < 64,
        "pipelined requests should share turns: {batches:?}"
    );
    raw_echo_after_turns(&mut s);
    server.stop();
}

/// The connection stays usable for single requests (each its own turn).
fn raw_echo_after_turns(s: &mut std::net::TcpStream) {
    for opaque in [7, 8] {
        raw_echo(s, opaque, b"single");
    }
}
