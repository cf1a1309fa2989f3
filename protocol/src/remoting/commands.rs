//! Messages from [`RemotingHandle`](super::RemotingHandle)s to the loop, and how the loop
//! applies them. Drained at most [`MAX_COMMANDS_PER_TURN`] at a time so that a flood of calls
//! cannot starve socket I/O; a backlog makes the next poll non-blocking.

use std::net::SocketAddr;
use std::sync::mpsc::TryRecvError;

use super::connection::{CloseReason, ConnId};
use super::error::RemotingError;
use super::event_loop::Core;
use super::handler::{Context, RequestHandler};
use super::outbound::EncodedFrame;
use super::pending::ResponseCallback;

/// Commands applied per loop iteration before I/O gets its turn again.
pub(crate) const MAX_COMMANDS_PER_TURN: usize = 4096;

/// One cross-thread request to the loop. Frames arrive already encoded.
#[derive(Debug)]
pub(crate) enum Command {
    /// A request (or, without callback, a one-way request) to an address.
    Invoke {
        addr: String,
        resolved: Option<SocketAddr>,
        opaque: i32,
        frame: EncodedFrame,
        timeout_ms: u64,
        callback: Option<ResponseCallback>,
    },
    /// Bytes for an existing connection (deferred response or one-way request).
    Send { conn: ConnId, frame: EncodedFrame },
    /// A request on an existing connection.
    RequestOn {
        conn: ConnId,
        opaque: i32,
        frame: EncodedFrame,
        timeout_ms: u64,
        callback: ResponseCallback,
    },
    /// Close a connection after flushing.
    Close(ConnId),
    /// Close the cached outbound connection to an address.
    CloseAddr(String),
    /// Call the handler's `on_wake`.
    Wake,
    /// Stop the loop.
    Shutdown,
}

impl Command {
    /// Commands that carry no response callback are still delivered while shutting down (a
    /// deferred response can still make it out during the closing flush).
    pub(crate) fn allowed_when_stopped(&self) -> bool {
        !matches!(self, Command::Invoke { .. } | Command::RequestOn { .. })
    }
}

impl Core {
    /// Applies queued commands; calls `on_wake` once if any `Wake` was among them.
    pub(crate) fn drain_commands<H: RequestHandler>(&mut self, handler: &mut H) {
        self.shared.clear_wake();
        let mut woken = false;
        self.command_backlog = true;
        for _ in 0..MAX_COMMANDS_PER_TURN {
            match self.commands.try_recv() {
                Ok(command) => self.apply(command, &mut woken),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => {
                    self.command_backlog = false;
                    break;
                }
            }
        }
        if woken {
            handler.on_wake(&mut Context::new(self));
        }
    }

    fn apply(&mut self, command: Command, woken: &mut bool) {
        match command {
            Command::Invoke {
                addr,
                resolved,
                opaque,
                frame,
                timeout_ms,
                callback,
            } => self.invoke(&addr, resolved, opaque, frame, timeout_ms, callback),
            Command::Send { conn, frame } => {
                if let Err(e) = self.queue_frame(conn, frame) {
                    log::debug!("dropping a deferred send to {conn}: {e}");
                }
            }
            Command::RequestOn {
                conn,
                opaque,
                frame,
                timeout_ms,
                callback,
            } => self.request_on(conn, opaque, frame, timeout_ms, callback),
            Command::Close(conn) => self.close_gracefully(conn),
            Command::CloseAddr(addr) => {
                if let Some(conn) = self.outbound_by_addr.get(&addr).copied() {
                    self.close_gracefully(conn);
                }
            }
            Command::Wake => *woken = true,
            Command::Shutdown => self.begin_shutdown(),
        }
    }

    /// Sends an encoded request to `addr`, connecting first if needed.
    pub(crate) fn invoke(
        &mut self,
        addr: &str,
        resolved: Option<SocketAddr>,
        opaque: i32,
        frame: EncodedFrame,
        timeout_ms: u64,
        callback: Option<ResponseCallback>,
    ) {
        if self.is_shutting_down() {
            if let Some(cb) = callback {
                cb.complete(Err(RemotingError::Shutdown));
            }
            return;
        }
        let conn = match self.conn_for_addr(addr, resolved) {
            Ok(conn) => conn,
            Err(e) => {
                match callback {
                    Some(cb) => cb.complete(Err(e)),
                    None => log::debug!("one-way request to {addr} dropped: {e}"),
                }
                return;
            }
        };
        match callback {
            Some(cb) => self.request_on(conn, opaque, frame, timeout_ms, cb),
            None => {
                if let Err(e) = self.queue_frame(conn, frame) {
                    log::debug!("one-way request to {addr} dropped: {e}");
                }
            }
        }
    }

    /// Registers a pending request and queues its frame on `conn`.
    pub(crate) fn request_on(
        &mut self,
        conn: ConnId,
        opaque: i32,
        frame: EncodedFrame,
        timeout_ms: u64,
        callback: ResponseCallback,
    ) {
        if self.is_shutting_down() {
            return callback.complete(Err(RemotingError::Shutdown));
        }
        let addr = match self.conn(conn) {
            Some(c) if c.can_send() => c.addr_label.clone(),
            _ => {
                return callback.complete(Err(RemotingError::SendFailed {
                    reason: format!("{conn} is closed"),
                }))
            }
        };
        if let Err(pending) = self.register_pending(conn, addr, opaque, timeout_ms, callback) {
            return pending.fail(RemotingError::SendFailed {
                reason: format!("opaque {opaque} is still in use"),
            });
        }
        if let Err(e) = self.queue_frame(conn, frame) {
            if let Some(p) = self.pending.take_response(opaque, conn) {
                p.fail(e);
            }
        }
    }

    /// Starts a graceful close (used by handles, the handler and `CloseAddr`).
    pub(crate) fn close_gracefully(&mut self, conn: ConnId) {
        let deadline = self.now_ms + self.config.close_flush_timeout_ms;
        let Some(c) = self.conn_mut(conn) else {
            return;
        };
        match c.state {
            super::connection::State::Connecting => self.close(conn, CloseReason::Local),
            super::connection::State::Open => {
                c.start_closing();
                self.timers
                    .push(deadline, super::timer::TimerKey::Closing(conn));
                self.mark_dirty(conn);
            }
            _ => {}
        }
    }
}
