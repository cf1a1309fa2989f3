//! What the application plugs into the loop: the [`RequestHandler`] trait, the [`Reply`] it
//! returns for each request, and [`Context`], its view of the loop while it runs.
//!
//! Every handler method runs on the loop thread and must not block: no disk syncs, no locks
//! held by slow threads, no `invoke_sync` (it returns `WouldDeadlock`). Slow work goes to a
//! service thread, which answers later through [`RemotingHandle::send_to`].

use std::net::SocketAddr;

use super::client::RemotingHandle;
use super::connection::ConnId;
use super::error::RemotingError;
use super::event_loop::Core;
use super::outbound::FileRegion;
use super::pending::ResponseCallback;
use crate::command::RemotingCommand;

/// The application side of an event loop (NameServer processor, broker processors, client
/// inbound processor). Only `on_request` is required.
///
/// Unknown request codes are the handler's business: answer them with
/// `ResponseCode::REQUEST_CODE_NOT_SUPPORTED` (the loop does not interpret codes).
pub trait RequestHandler: Send + 'static {
    /// A request (not a response) arrived on `conn`. Runs on the loop thread: must not block.
    /// The loop copies the request's opaque into the reply, sets the response flag, and drops
    /// the reply if the request was one-way.
    fn on_request(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Reply;

    /// A connection was accepted from listener `listener` (`Some`) or an outbound connect
    /// completed (`None`).
    fn on_connected(
        &mut self,
        _ctx: &mut Context<'_>,
        _conn: ConnId,
        _peer: SocketAddr,
        _listener: Option<usize>,
    ) {
    }

    /// A connection announced by `on_connected` is gone (its id is now stale).
    fn on_closed(&mut self, _ctx: &mut Context<'_>, _conn: ConnId) {}

    /// Called every `tick_interval_ms` with the loop's monotonic clock.
    fn on_tick(&mut self, _ctx: &mut Context<'_>, _now_ms: u64) {}

    /// Another thread called [`RemotingHandle::wake`] (coalesced: one call per burst).
    fn on_wake(&mut self, _ctx: &mut Context<'_>) {}

    /// The loop finished handling one poll's events and is about to write every queued reply
    /// to the sockets. A handler that batches work over a turn (the broker writes the turn's
    /// appended messages with one system call) completes it here, then answers with
    /// [`Context::respond`]; replies queued now go out in the same writes.
    fn on_turn_end(&mut self, _ctx: &mut Context<'_>) {}
}

/// The handler's answer to one request.
#[derive(Debug)]
pub enum Reply {
    /// Send this response now.
    Now(RemotingCommand),
    /// Send `response`'s header and body followed by the bytes of `regions`, with `sendfile`
    /// (zero-copy). The header announces the body length as body + regions.
    WithFiles {
        /// Header; its body (if any) is sent before the regions.
        response: RemotingCommand,
        /// File ranges appended to the body, in order.
        regions: Vec<FileRegion>,
    },
    /// The handler answers later, with [`Context::respond`] or [`RemotingHandle::send_to`],
    /// using a response built from the request (same opaque).
    Later,
    /// No response (the request was one-way, or the handler chose to drop it).
    Nothing,
}

/// The handler's view of the loop during a callback. Methods never block.
#[derive(Debug)]
pub struct Context<'a> {
    core: &'a mut Core,
}

impl<'a> Context<'a> {
    pub(crate) fn new(core: &'a mut Core) -> Self {
        Context { core }
    }

    /// The loop's monotonic clock in milliseconds (as of the current batch).
    pub fn now_ms(&self) -> u64 {
        self.core.now_ms
    }

    /// Queues `response` (the response flag is forced) on `conn`. Use the request's opaque,
    /// e.g. `RemotingCommand::response_to(&request, code)`.
    pub fn respond(
        &mut self,
        conn: ConnId,
        response: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.core.respond(conn, response, Vec::new())
    }

    /// Queues `response`'s header and body followed by `regions` (zero-copy) on `conn`.
    pub fn respond_with_files(
        &mut self,
        conn: ConnId,
        response: RemotingCommand,
        regions: Vec<FileRegion>,
    ) -> Result<(), RemotingError> {
        self.core.respond(conn, response, regions)
    }

    /// Sends a request on an existing connection (server → client); `callback` runs on the loop
    /// thread with the response or the failure (timeout, connection closed, send failed).
    pub fn send_request(
        &mut self,
        conn: ConnId,
        request: RemotingCommand,
        timeout_ms: u64,
        callback: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) {
        let callback = ResponseCallback::new(callback);
        match self.core.encode_request(request, false) {
            Ok((opaque, frame)) => self
                .core
                .request_on(conn, opaque, frame, timeout_ms, callback),
            Err(e) => callback.complete(Err(e)),
        }
    }

    /// Sends a one-way request on an existing connection.
    pub fn send_oneway(
        &mut self,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        let (_, frame) = self.core.encode_request(request, true)?;
        self.core.queue_frame(conn, frame)
    }

    /// Sends a request to `addr` ("ip:port": host names are not resolved on the loop thread),
    /// connecting first if there is no cached connection.
    pub fn invoke_async(
        &mut self,
        addr: &str,
        request: RemotingCommand,
        timeout_ms: u64,
        callback: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) {
        let callback = ResponseCallback::new(callback);
        match self.core.encode_request(request, false) {
            Ok((opaque, frame)) => {
                self.core
                    .invoke(addr, None, opaque, frame, timeout_ms, Some(callback))
            }
            Err(e) => callback.complete(Err(e)),
        }
    }

    /// Sends a one-way request to `addr` ("ip:port"), connecting first if needed.
    pub fn invoke_oneway(
        &mut self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        let (opaque, frame) = self.core.encode_request(request, true)?;
        self.core.conn_for_addr(addr, None)?;
        self.core.invoke(addr, None, opaque, frame, 0, None);
        Ok(())
    }

    /// Closes `conn` after flushing what is already queued for it.
    pub fn close(&mut self, conn: ConnId) {
        self.core.close_gracefully(conn);
    }

    /// The peer address of `conn`, if it still exists.
    pub fn peer_addr(&self, conn: ConnId) -> Option<SocketAddr> {
        self.core.conn(conn).map(|c| c.peer)
    }

    /// Bytes queued on `conn` and not yet written, if it still exists.
    pub fn queued_bytes(&self, conn: ConnId) -> Option<u64> {
        self.core.conn(conn).map(|c| c.write_queue.queued_bytes())
    }

    /// Whether reads from `conn` are paused by back-pressure, if it still exists.
    pub fn is_inbound_paused(&self, conn: ConnId) -> Option<bool> {
        self.core.conn(conn).map(|c| c.inbound_paused)
    }

    /// Number of connections in the loop (all states).
    pub fn connection_count(&self) -> usize {
        self.core.conns.len()
    }

    /// A thread-safe handle to this loop (for service threads that answer later).
    pub fn handle(&self) -> RemotingHandle {
        RemotingHandle::new(self.core.shared.clone())
    }
}
