//! The loop's sending side: queueing frames on connections (with back-pressure bookkeeping),
//! the outbound-connection cache, registering pending requests and matching responses.

use std::net::SocketAddr;
use std::sync::Arc;

use mio::{Interest, Token};

use super::connection::{ConnId, Connection, State};
use super::error::RemotingError;
use super::event_loop::{Core, FIRST_CONN_TOKEN};
use super::outbound::{EncodedFrame, FileRegion};
use super::pending::{Pending, ResponseCallback};
use super::timer::TimerKey;
use crate::command::{RemotingCommand, FLAG_ONEWAY, FLAG_RESPONSE};

impl Core {
    /// Queues an encoded frame on `conn` and schedules a flush.
    pub(crate) fn queue_frame(
        &mut self,
        conn: ConnId,
        frame: EncodedFrame,
    ) -> Result<(), RemotingError> {
        let high_water = self.config.write_queue_high_water_bytes;
        let c = self.sendable(conn)?;
        c.write_queue.push_frame(frame);
        Self::after_queue(c, high_water);
        self.mark_dirty(conn);
        Ok(())
    }

    /// Encodes and queues `cmd` (body inline or by reference) followed by `regions`.
    pub(crate) fn queue_command(
        &mut self,
        conn: ConnId,
        cmd: &RemotingCommand,
        regions: Vec<FileRegion>,
    ) -> Result<(), RemotingError> {
        let high_water = self.config.write_queue_high_water_bytes;
        let c = self.sendable(conn)?;
        c.write_queue.push_command_with_files(cmd, regions)?;
        Self::after_queue(c, high_water);
        self.mark_dirty(conn);
        Ok(())
    }

    fn sendable(&mut self, conn: ConnId) -> Result<&mut Connection, RemotingError> {
        match self.conn_mut(conn) {
            Some(c) if c.can_send() => Ok(c),
            _ => Err(RemotingError::SendFailed {
                reason: format!("{conn} is closed"),
            }),
        }
    }

    fn after_queue(c: &mut Connection, high_water: usize) {
        if c.check_high_water(high_water) {
            log::debug!(
                "{}: {} bytes queued, pausing reads",
                c.id,
                c.write_queue.queued_bytes()
            );
        }
    }

    /// Queues a response (forcing the response flag) on `conn`.
    pub(crate) fn respond(
        &mut self,
        conn: ConnId,
        mut response: RemotingCommand,
        regions: Vec<FileRegion>,
    ) -> Result<(), RemotingError> {
        response.flag |= FLAG_RESPONSE;
        response.flag &= !FLAG_ONEWAY;
        self.queue_command(conn, &response, regions)
    }

    /// Encodes a request on the loop thread: fresh opaque, request flag, optional one-way bit.
    pub(crate) fn encode_request(
        &mut self,
        mut request: RemotingCommand,
        oneway: bool,
    ) -> Result<(i32, EncodedFrame), RemotingError> {
        request.opaque = self.shared.next_opaque();
        request.flag &= !FLAG_RESPONSE;
        if oneway {
            request.flag |= FLAG_ONEWAY;
        }
        let frame = EncodedFrame::encode(&request, Vec::new(), &mut self.scratch)?;
        Ok((request.opaque, frame))
    }

    /// Adds a pending request and its timeout timer; gives the pending entry back if the
    /// opaque is taken.
    pub(crate) fn register_pending(
        &mut self,
        conn: ConnId,
        addr: Arc<str>,
        opaque: i32,
        timeout_ms: u64,
        callback: ResponseCallback,
    ) -> Result<(), Pending> {
        let deadline_ms = self.now_ms.saturating_add(timeout_ms);
        let pending = Pending {
            conn,
            addr,
            timeout_ms,
            deadline_ms,
            callback,
        };
        self.pending.insert(opaque, pending)?;
        self.timers.push(deadline_ms, TimerKey::Pending(opaque));
        Ok(())
    }

    /// A response arrived on `conn`: complete its pending request, or drop it.
    pub(crate) fn on_response(&mut self, conn: ConnId, response: RemotingCommand) {
        match self.pending.take_response(response.opaque, conn) {
            Some(p) => p.complete(response),
            None => log::debug!(
                "{conn}: dropping a response with unknown opaque {} (code {})",
                response.opaque,
                response.code
            ),
        }
    }

    /// The cached outbound connection to `addr`, or a new one (non-blocking connect).
    pub(crate) fn conn_for_addr(
        &mut self,
        addr: &str,
        resolved: Option<SocketAddr>,
    ) -> Result<ConnId, RemotingError> {
        if let Some(&conn) = self.outbound_by_addr.get(addr) {
            if self
                .conn(conn)
                .is_some_and(|c| matches!(c.state, State::Connecting | State::Open))
            {
                return Ok(conn);
            }
        }
        let connect_error = |reason: String| RemotingError::Connect {
            addr: addr.to_string(),
            reason,
        };
        let peer = match resolved {
            Some(a) => a,
            None => addr
                .parse::<SocketAddr>()
                .map_err(|_| connect_error("not an ip:port address".into()))?,
        };
        if self.conns.len() >= self.config.max_connections {
            return Err(connect_error(format!(
                "connection limit of {} reached",
                self.config.max_connections
            )));
        }
        let stream =
            mio::net::TcpStream::connect(peer).map_err(|e| connect_error(e.to_string()))?;
        let conn = self
            .insert_conn(|id, now_ms| {
                Connection::connecting(id, stream, peer, Arc::from(addr), now_ms)
            })
            .map_err(|e| connect_error(e.to_string()))?;
        let deadline = self.now_ms + self.config.connect_timeout_ms;
        self.timers.push(deadline, TimerKey::Connect(conn));
        self.outbound_by_addr.insert(addr.to_string(), conn);
        log::debug!("{conn}: connecting to {addr}");
        Ok(conn)
    }

    /// Inserts a connection built by `make` into the slab and registers its socket for
    /// readable + writable, edge-triggered, once for its whole life.
    pub(crate) fn insert_conn(
        &mut self,
        make: impl FnOnce(ConnId, u64) -> Connection,
    ) -> std::io::Result<ConnId> {
        self.next_generation += 1;
        let entry = self.conns.vacant_entry();
        let id = ConnId::new(entry.key(), self.next_generation);
        let mut conn = make(id, self.now_ms);
        let token = Token(FIRST_CONN_TOKEN + id.index());
        self.poll.registry().register(
            &mut conn.stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(conn);
        Ok(id)
    }

    /// Schedules a flush of `conn` at the end of the batch (once per batch).
    pub(crate) fn mark_dirty(&mut self, conn: ConnId) {
        if let Some(c) = self.conn_mut(conn) {
            if !c.dirty {
                c.dirty = true;
                self.dirty.push(conn);
            }
        }
    }
}
