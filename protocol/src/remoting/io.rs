//! The loop's readiness side: accepting, completing connects, reading and dispatching frames,
//! flushing, and closing/removing connections. All socket operations drain until
//! `WouldBlock` (readiness is edge-triggered) except where a read budget defers the rest of a
//! busy connection to the next turn (it is then re-armed explicitly, never forgotten).

use std::io;
use std::mem;

use mio::event::Event;

use super::connection::WriteOutcome;
use super::connection::{CloseReason, ConnId, ConnectStatus, Connection, ReadStatus, State};
use super::error::RemotingError;
use super::event_loop::Core;
use super::handler::{Context, Reply, RequestHandler};
use super::timer::TimerKey;
use crate::code::ResponseCode;
use crate::command::RemotingCommand;

/// Bytes read from one connection per turn before other connections get their turn.
const READ_BUDGET_BYTES: usize = 1024 * 1024;
/// Delay before retrying `accept` after an error such as running out of descriptors.
const ACCEPT_RETRY_MS: u64 = 100;

impl Core {
    /// Accepts on listener `index` until `WouldBlock`.
    pub(crate) fn accept<H: RequestHandler>(&mut self, handler: &mut H, index: usize) {
        loop {
            let Some(Some(listener)) = self.listeners.get(index) else {
                return; // unknown token or closed listener
            };
            let (stream, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("listener {index}: accept failed: {e}; retrying shortly");
                    let at = self.now_ms + ACCEPT_RETRY_MS;
                    self.timers.push(at, TimerKey::RetryAccept(index));
                    return;
                }
            };
            if self.conns.len() >= self.config.max_connections {
                log::warn!(
                    "listener {index}: refusing {peer}: connection limit of {} reached",
                    self.config.max_connections
                );
                continue; // dropping the stream closes it
            }
            if let Err(e) = stream.set_nodelay(true) {
                log::debug!("{peer}: cannot set TCP_NODELAY: {e}");
            }
            let conn = match self
                .insert_conn(|id, now_ms| Connection::accepted(id, stream, peer, index, now_ms))
            {
                Ok(conn) => conn,
                Err(e) => {
                    log::warn!("listener {index}: cannot register {peer}: {e}");
                    continue;
                }
            };
            log::debug!("{conn}: accepted {peer} on listener {index}");
            self.announce(handler, conn, peer, Some(index));
        }
    }

    fn announce<H: RequestHandler>(
        &mut self,
        handler: &mut H,
        conn: ConnId,
        peer: std::net::SocketAddr,
        listener: Option<usize>,
    ) {
        if let Some(c) = self.conn_mut(conn) {
            c.announced = true;
        }
        handler.on_connected(&mut Context::new(self), conn, peer, listener);
    }

    /// A readiness event for slab slot `index` (ignored if the slot is empty or closed).
    pub(crate) fn on_conn_event<H: RequestHandler>(
        &mut self,
        handler: &mut H,
        index: usize,
        event: &Event,
    ) {
        let Some(c) = self.conns.get_mut(index) else {
            return;
        };
        let conn = c.id;
        match c.state {
            State::Closed => return,
            State::Connecting => match c.on_connect_ready() {
                ConnectStatus::Pending => return,
                ConnectStatus::Connected => {
                    let peer = c.peer;
                    log::debug!("{conn}: connected to {}", c.addr_label);
                    self.announce(handler, conn, peer, None);
                    self.mark_dirty(conn);
                }
                ConnectStatus::Failed(reason) => {
                    self.close(conn, CloseReason::ConnectFailed(reason));
                    return;
                }
            },
            State::Open | State::Closing => {}
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            self.mark_dirty(conn);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read_and_dispatch(handler, conn);
        }
    }

    /// Connections whose reads were deferred (budget) or resumed (back-pressure lifted).
    pub(crate) fn resume_rearmed<H: RequestHandler>(&mut self, handler: &mut H) {
        if self.rearm.is_empty() {
            return;
        }
        let mut rearm = mem::take(&mut self.rearm);
        for conn in rearm.drain(..) {
            self.read_and_dispatch(handler, conn);
        }
        if self.rearm.is_empty() {
            self.rearm = rearm; // keep the allocation
        }
    }

    /// Dispatches buffered frames, then reads and dispatches until `WouldBlock`, the read
    /// budget, back-pressure, or close.
    fn read_and_dispatch<H: RequestHandler>(&mut self, handler: &mut H, conn: ConnId) {
        let read_buffer_bytes = self.config.read_buffer_bytes;
        let max_frame_bytes = self.config.max_frame_bytes;
        let now_ms = self.now_ms;
        let mut budget = READ_BUDGET_BYTES;
        loop {
            if !self.dispatch_buffered(handler, conn) {
                return;
            }
            let Some(c) = self.conn_mut(conn) else {
                return;
            };
            if budget == 0 {
                self.rearm.push(conn);
                return;
            }
            match c.read_once(read_buffer_bytes, max_frame_bytes, budget, now_ms) {
                ReadStatus::Data(n) => budget = budget.saturating_sub(n),
                ReadStatus::WouldBlock => return,
                ReadStatus::Eof => {
                    let partial = c.buffered_bytes();
                    let reason = if partial > 0 {
                        log::info!("{conn}: {} vanished mid-frame", c.addr_label);
                        CloseReason::PeerClosedMidFrame(partial)
                    } else {
                        CloseReason::PeerClosed
                    };
                    self.close(conn, reason);
                    return;
                }
                ReadStatus::Error(e) => {
                    self.close(conn, CloseReason::Io(e.to_string()));
                    return;
                }
            }
        }
    }

    /// Hands every whole buffered frame to the pending table (responses) or the handler
    /// (requests). Returns false when the connection can no longer be read from.
    fn dispatch_buffered<H: RequestHandler>(&mut self, handler: &mut H, conn: ConnId) -> bool {
        let max_frame_bytes = self.config.max_frame_bytes;
        loop {
            let Some(c) = self.conn_mut(conn) else {
                return false;
            };
            if !c.can_read() {
                return false;
            }
            let cmd = match c.next_frame(max_frame_bytes) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => return true,
                Err(e) => {
                    log::warn!("{conn}: closing {}: {e}", c.addr_label);
                    self.close(conn, CloseReason::Protocol(e.to_string()));
                    return false;
                }
            };
            if cmd.is_response() {
                self.on_response(conn, cmd);
            } else {
                self.dispatch_request(handler, conn, cmd);
            }
        }
    }

    /// Runs the handler for one request and queues its reply (never for one-way requests).
    fn dispatch_request<H: RequestHandler>(
        &mut self,
        handler: &mut H,
        conn: ConnId,
        request: RemotingCommand,
    ) {
        let opaque = request.opaque;
        let oneway = request.is_oneway();
        let serialize_type = request.serialize_type;
        let code = request.code;
        let reply = handler.on_request(&mut Context::new(self), conn, request);
        let (mut response, regions) = match reply {
            Reply::Now(response) => (response, Vec::new()),
            Reply::WithFiles { response, regions } => (response, regions),
            Reply::Later | Reply::Nothing => return,
        };
        if oneway {
            return; // a one-way request never gets a response
        }
        response.opaque = opaque;
        match self.respond(conn, response, regions) {
            Ok(()) => {}
            Err(RemotingError::Protocol(e)) => {
                log::warn!("{conn}: cannot encode the response to code {code}: {e}");
                let request = RemotingCommand {
                    opaque,
                    serialize_type,
                    ..Default::default()
                };
                let error = RemotingCommand::error_response(
                    &request,
                    ResponseCode::SYSTEM_ERROR,
                    format!("cannot encode response: {e}"),
                );
                let _ = self.respond(conn, error, Vec::new());
            }
            Err(e) => log::debug!("{conn}: response to code {code} not sent: {e}"),
        }
    }

    /// Flushes every connection marked dirty during this batch.
    pub(crate) fn flush_dirty(&mut self) {
        let low_water = self.config.write_queue_low_water_bytes;
        let now_ms = self.now_ms;
        let mut dirty = mem::take(&mut self.dirty);
        for conn in dirty.drain(..) {
            let Some(c) = self.conn_mut(conn) else {
                continue;
            };
            c.dirty = false;
            match c.on_writable(now_ms, low_water) {
                WriteOutcome::Nothing => {}
                WriteOutcome::Resumed => {
                    log::debug!("{conn}: write queue drained, resuming reads");
                    self.rearm.push(conn);
                }
                WriteOutcome::Finished => self.closed.push(conn),
                WriteOutcome::Failed(reason) => self.close(conn, reason),
            }
        }
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    /// Marks `conn` closed now (queued output is dropped); removed at the end of the batch.
    pub(crate) fn close(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(c) = self.conn_mut(conn) {
            if c.state != State::Closed {
                c.mark_closed(reason);
                self.closed.push(conn);
            }
        }
    }

    /// Removes closed connections: deregisters, fails their pending requests, uncaches
    /// outbound addresses, calls `on_closed` for announced ones.
    pub(crate) fn remove_closed<H: RequestHandler>(&mut self, handler: &mut H) {
        while let Some(conn) = self.closed.pop() {
            if self.conn(conn).is_none() {
                continue;
            }
            let mut c = self.conns.remove(conn.index());
            let _ = self.poll.registry().deregister(&mut c.stream);
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
            if self.outbound_by_addr.get(&*c.addr_label) == Some(&conn) {
                self.outbound_by_addr.remove(&*c.addr_label);
            }
            let reason = c.close_reason.clone().unwrap_or(CloseReason::Local);
            log_close(&c, &reason);
            let error = pending_error(&c, &reason);
            for p in self.pending.take_for_conn(conn) {
                p.fail(error.clone());
            }
            if c.announced {
                handler.on_closed(&mut Context::new(self), conn);
            }
        }
    }
}

fn log_close(c: &Connection, reason: &CloseReason) {
    match reason {
        CloseReason::Protocol(_) | CloseReason::FlushTimeout => {
            log::warn!("{}: closed {}: {reason}", c.id, c.addr_label)
        }
        _ => log::debug!("{}: closed {}: {reason}", c.id, c.addr_label),
    }
}

/// What pending requests on a closed connection fail with.
fn pending_error(c: &Connection, reason: &CloseReason) -> RemotingError {
    let addr = c.addr_label.to_string();
    match reason {
        CloseReason::ConnectFailed(e) => RemotingError::Connect {
            addr,
            reason: e.clone(),
        },
        CloseReason::ConnectTimeout => RemotingError::Connect {
            addr,
            reason: "connect timed out".into(),
        },
        CloseReason::Shutdown => RemotingError::Shutdown,
        _ => RemotingError::ConnectionClosed { addr },
    }
}
