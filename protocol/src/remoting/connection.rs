//! One remoting connection's state machine: `Connecting → Open → Closing → Closed`.
//!
//! A [`Connection`] owns its mio socket, its read buffer and its [`WriteQueue`]. It never calls
//! the handler or touches other connections: its methods report what happened
//! ([`ConnectStatus`], [`ReadStatus`], [`WriteOutcome`]) and the event loop decides what to do
//! next. Owned by the event-loop thread; not thread-safe. The lifecycle, its transitions and
//! invariants are written down in `docs/connection-lifecycle.md`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use mio::net::TcpStream;

use super::outbound::WriteQueue;
use super::sys;
use crate::command::RemotingCommand;
use crate::frame;

/// Always keep at least this much free room before a read.
const MIN_READ_ROOM_BYTES: usize = 4 * 1024;

/// Identifies a connection for as long as it exists: its slab slot plus a generation that is
/// never reused, so a stale id can never address a newer connection in the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: usize,
    generation: u64,
}

impl ConnId {
    pub(crate) fn new(index: usize, generation: u64) -> Self {
        ConnId { index, generation }
    }

    /// The slab slot (reused after the connection closes).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The loop-wide generation number (unique per connection for the loop's lifetime).
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}.{}", self.index, self.generation)
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Outbound socket whose non-blocking connect has not completed; writes queue up.
    Connecting,
    /// Reading and writing.
    Open,
    /// No more reads; flushing what is queued until empty or the flush deadline.
    Closing,
    /// Done; removed from the slab at the end of the current event batch.
    Closed,
}

/// Why a connection closed (decides the error its pending requests fail with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The peer closed its side (read returned 0).
    PeerClosed,
    /// The peer closed in the middle of a frame.
    PeerClosedMidFrame(usize),
    /// A socket error.
    Io(String),
    /// Undecodable input: bad length prefix, oversized frame, bad header.
    Protocol(String),
    /// No activity for the idle timeout.
    Idle,
    /// Closed on request (handler, handle) after flushing.
    Local,
    /// The closing flush did not finish before its deadline.
    FlushTimeout,
    /// The outbound connect failed.
    ConnectFailed(String),
    /// The outbound connect did not complete in time.
    ConnectTimeout,
    /// The event loop is shutting down.
    Shutdown,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by peer"),
            CloseReason::PeerClosedMidFrame(n) => {
                write!(f, "closed by peer with {n} bytes of an incomplete frame")
            }
            CloseReason::Io(e) => write!(f, "I/O error: {e}"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::Idle => f.write_str("idle timeout"),
            CloseReason::Local => f.write_str("closed locally"),
            CloseReason::FlushTimeout => f.write_str("closing flush timed out"),
            CloseReason::ConnectFailed(e) => write!(f, "connect failed: {e}"),
            CloseReason::ConnectTimeout => f.write_str("connect timed out"),
            CloseReason::Shutdown => f.write_str("event loop shutdown"),
        }
    }
}

/// Outcome of checking a pending non-blocking connect (mio's documented procedure).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConnectStatus {
    /// Spurious wake-up: still connecting.
    Pending,
    /// Connected; the connection is now `Open`.
    Connected,
    /// The connect failed.
    Failed(String),
}

/// Outcome of one read.
#[derive(Debug)]
pub(crate) enum ReadStatus {
    /// This many bytes were appended to the read buffer.
    Data(usize),
    /// Nothing more to read now.
    WouldBlock,
    /// The peer closed its side.
    Eof,
    /// The socket failed.
    Error(io::Error),
}

/// Outcome of a flush.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteOutcome {
    /// Nothing changed that the loop must act on.
    Nothing,
    /// Back-pressure was released: the loop must read again (edge-triggered readiness may
    /// already have been consumed).
    Resumed,
    /// A closing connection finished flushing: it is now `Closed`.
    Finished,
    /// The write failed: the loop must close the connection.
    Failed(CloseReason),
}

/// A remoting connection (inbound or outbound).
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: ConnId,
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    /// Address as the loop reports it: the caller's spelling for outbound connections, the peer
    /// address for inbound ones.
    pub(crate) addr_label: Arc<str>,
    /// Listener index for accepted connections; `None` for outbound ones.
    pub(crate) listener: Option<usize>,
    pub(crate) state: State,
    pub(crate) close_reason: Option<CloseReason>,
    read_buf: BytesMut,
    pub(crate) write_queue: WriteQueue,
    pub(crate) last_activity_ms: u64,
    /// Back-pressure: reads stop while the write queue is above the high-water mark.
    pub(crate) inbound_paused: bool,
    /// `on_connected` was delivered, so `on_closed` must be too.
    pub(crate) announced: bool,
    /// Already in the loop's flush list.
    pub(crate) dirty: bool,
}

impl Connection {
    /// A connection accepted from `listener`; it starts `Open`.
    pub(crate) fn accepted(
        id: ConnId,
        stream: TcpStream,
        peer: SocketAddr,
        listener: usize,
        now_ms: u64,
    ) -> Self {
        let mut conn = Self::new(id, stream, peer, Arc::from(peer.to_string()), now_ms);
        conn.listener = Some(listener);
        conn.state = State::Open;
        conn
    }

    /// An outbound connection whose connect is in progress; it starts `Connecting`.
    pub(crate) fn connecting(
        id: ConnId,
        stream: TcpStream,
        peer: SocketAddr,
        addr_label: Arc<str>,
        now_ms: u64,
    ) -> Self {
        Self::new(id, stream, peer, addr_label, now_ms)
    }

    fn new(
        id: ConnId,
        stream: TcpStream,
        peer: SocketAddr,
        addr_label: Arc<str>,
        now_ms: u64,
    ) -> Self {
        Connection {
            id,
            stream,
            peer,
            addr_label,
            listener: None,
            state: State::Connecting,
            close_reason: None,
            read_buf: BytesMut::new(),
            write_queue: WriteQueue::new(),
            last_activity_ms: now_ms,
            inbound_paused: false,
            announced: false,
            dirty: false,
        }
    }

    /// True while frames may be read and dispatched.
    pub(crate) fn can_read(&self) -> bool {
        self.state == State::Open && !self.inbound_paused
    }

    /// True while commands may be queued for sending.
    pub(crate) fn can_send(&self) -> bool {
        matches!(self.state, State::Connecting | State::Open | State::Closing)
    }

    /// mio's non-blocking connect steps: after a readiness event, `take_error` reports a failed
    /// connect; otherwise `peer_addr` succeeding means connected and `NotConnected` means the
    /// event was spurious.
    pub(crate) fn on_connect_ready(&mut self) -> ConnectStatus {
        match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => return ConnectStatus::Failed(e.to_string()),
            Ok(None) => {}
        }
        match self.stream.peer_addr() {
            Ok(_) => {
                if let Err(e) = self.stream.set_nodelay(true) {
                    log::debug!("{}: cannot set TCP_NODELAY: {e}", self.addr_label);
                }
                self.state = State::Open;
                ConnectStatus::Connected
            }
            Err(e)
                if e.kind() == io::ErrorKind::NotConnected
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                ConnectStatus::Pending
            }
            Err(e) => ConnectStatus::Failed(e.to_string()),
        }
    }

    /// Bytes buffered that do not yet form a whole frame (after all whole ones were taken).
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.read_buf.len()
    }

    /// Takes the next whole frame out of the read buffer and decodes it. `Ok(None)` = need
    /// more bytes. `Err` = bad length prefix, oversized frame or undecodable header: the
    /// connection must close.
    pub(crate) fn next_frame(
        &mut self,
        max_frame_bytes: usize,
    ) -> crate::Result<Option<RemotingCommand>> {
        match frame::split(&mut self.read_buf, max_frame_bytes)? {
            None => Ok(None),
            Some(payload) => RemotingCommand::decode(payload).map(Some),
        }
    }

    /// One read into the buffer (at most `max_bytes`), growing it first: to the whole size of a
    /// partially received frame if its length is known, else by `read_buffer_bytes`.
    pub(crate) fn read_once(
        &mut self,
        read_buffer_bytes: usize,
        max_frame_bytes: usize,
        max_bytes: usize,
        now_ms: u64,
    ) -> ReadStatus {
        self.reserve_for_read(read_buffer_bytes, max_frame_bytes);
        loop {
            match sys::read_into_spare(&self.stream, &mut self.read_buf, max_bytes) {
                Ok(0) => return ReadStatus::Eof,
                Ok(n) => {
                    self.last_activity_ms = now_ms;
                    return ReadStatus::Data(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadStatus::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return ReadStatus::Error(e),
            }
        }
    }

    fn reserve_for_read(&mut self, read_buffer_bytes: usize, max_frame_bytes: usize) {
        let len = self.read_buf.len();
        let mut want = MIN_READ_ROOM_BYTES;
        if len >= 4 {
            let prefix = i32::from_be_bytes([
                self.read_buf[0],
                self.read_buf[1],
                self.read_buf[2],
                self.read_buf[3],
            ]);
            // A bad prefix is rejected by next_frame before any read; only trust sane ones.
            if prefix > 0 && (prefix as usize) <= max_frame_bytes {
                want = want.max((4 + prefix as usize).saturating_sub(len));
            }
        }
        if self.read_buf.capacity() - len < want {
            self.read_buf.reserve(want.max(read_buffer_bytes));
        }
    }

    /// Flushes the write queue and reports what the loop must do.
    pub(crate) fn on_writable(&mut self, now_ms: u64, low_water_bytes: usize) -> WriteOutcome {
        if !matches!(self.state, State::Open | State::Closing) || self.write_queue.is_empty() {
            return self.after_flush(low_water_bytes);
        }
        match self.write_queue.write_to(&self.stream) {
            Ok(progress) => {
                if progress.written_bytes > 0 {
                    self.last_activity_ms = now_ms;
                }
                self.after_flush(low_water_bytes)
            }
            Err(e) => WriteOutcome::Failed(CloseReason::Io(e.to_string())),
        }
    }

    fn after_flush(&mut self, low_water_bytes: usize) -> WriteOutcome {
        if self.state == State::Closing && self.write_queue.is_empty() {
            self.mark_closed(CloseReason::Local);
            return WriteOutcome::Finished;
        }
        if self.inbound_paused && self.write_queue.queued_bytes() <= low_water_bytes as u64 {
            self.inbound_paused = false;
            return WriteOutcome::Resumed;
        }
        WriteOutcome::Nothing
    }

    /// Applies the high-water mark after something was queued. Returns true if reading was
    /// paused just now.
    pub(crate) fn check_high_water(&mut self, high_water_bytes: usize) -> bool {
        if !self.inbound_paused && self.write_queue.queued_bytes() > high_water_bytes as u64 {
            self.inbound_paused = true;
            return true;
        }
        false
    }

    /// Stops reading; keeps flushing until the queue is empty (then `Closed`).
    pub(crate) fn start_closing(&mut self) {
        if matches!(self.state, State::Open | State::Connecting) {
            self.state = State::Closing;
        }
    }

    /// Marks the connection `Closed` (the first reason wins) and drops queued output.
    pub(crate) fn mark_closed(&mut self, reason: CloseReason) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.close_reason = Some(reason);
            self.write_queue.clear();
        }
    }

    /// True if idle for at least `idle_timeout_ms` (never when that is 0).
    pub(crate) fn is_idle(&self, now_ms: u64, idle_timeout_ms: u64) -> bool {
        idle_timeout_ms > 0 && now_ms.saturating_sub(self.last_activity_ms) >= idle_timeout_ms
    }
}
