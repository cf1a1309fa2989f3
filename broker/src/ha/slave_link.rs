//! One slave connection on the master (RocketMQ `HAConnection`): reads the slave's offset
//! reports and streams commitlog bytes from the reported offset.
//!
//! States: `AwaitingReport` (nothing is sent before the first report) → `Streaming`
//! (`next_offset` known). While streaming, a transfer is a 12-byte header followed by up to
//! `haTransferBatchSize` bytes sent with sendfile(2) from the segment file (never crossing a
//! segment end, only below the readable end); a heartbeat header (body 0) goes out after 5 s
//! without a transfer. Invariants: memory per link is constant; bytes from the slave can only
//! close this link (a negative report, a first report beyond the master's log, a report of
//! data the master never had); `WouldBlock` is flow control, not an error. Owned by the
//! `ha-master` thread; not thread-safe.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use protocol::remoting::sys::sendfile;

use super::wire::{encode_header, ReportReader, HEADER_BYTES};
use crate::store::{CommitLog, FileRegion};

/// Idle time after which a heartbeat header is sent (RocketMQ: 5 s).
pub const HEARTBEAT_IDLE_MS: u64 = 5_000;

/// A transfer being written.
struct Pending {
    header: [u8; HEADER_BYTES],
    header_sent: usize,
    region: Option<FileRegion>,
    body_sent: usize,
    next_after: u64,
}

/// What `pump` left the link in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpState {
    /// Everything readable was sent; wait for an append (or the heartbeat deadline).
    CaughtUp,
    /// The socket buffer is full; wait for WRITABLE.
    Blocked,
    /// No report yet: nothing to send.
    AwaitingReport,
}

/// Why a link must be closed.
#[derive(Debug)]
pub enum Close {
    /// The slave closed or the socket failed.
    Io(io::Error),
    /// The slave sent something that is not a valid report here.
    Garbage(String),
}

/// One slave connection. See the module docs.
pub struct SlaveLink {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    reports: ReportReader,
    next_offset: Option<u64>,
    /// The slave's last report (its `slaveAckOffset`).
    pub(crate) ack_offset: Option<u64>,
    pending: Option<Pending>,
    blocked: bool,
    last_write: Instant,
    pub(crate) last_read: Instant,
}

impl SlaveLink {
    /// A freshly accepted connection.
    pub fn new(stream: TcpStream, peer: SocketAddr, now: Instant) -> Self {
        SlaveLink {
            stream,
            peer,
            reports: ReportReader::default(),
            next_offset: None,
            ack_offset: None,
            pending: None,
            blocked: false,
            last_write: now,
            last_read: now,
        }
    }

    /// Where the next transfer starts (None before the first report).
    pub fn next_offset(&self) -> Option<u64> {
        self.next_offset
    }

    /// Whether the link waits for data that `confirm` now makes available.
    pub fn has_new_data(&self, confirm: u64) -> bool {
        !self.blocked && self.pending.is_none() && self.next_offset.is_some_and(|n| n < confirm)
    }

    /// Reads until `WouldBlock`; returns the last complete report received, if any.
    pub fn on_readable(&mut self, log: &CommitLog, now: Instant) -> Result<Option<u64>, Close> {
        let mut buf = [0u8; 1024];
        let mut last = None;
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(Close::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => {
                    self.last_read = now;
                    if let Some(r) = self.reports.feed(&buf[..n]) {
                        last = Some(r);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Close::Io(e)),
            }
        }
        match last {
            Some(report) => self.on_report(report, log).map(Some),
            None => Ok(None),
        }
    }

    fn on_report(&mut self, report: i64, log: &CommitLog) -> Result<u64, Close> {
        let confirm = log.confirm_offset();
        let Ok(offset) = u64::try_from(report) else {
            return Err(Close::Garbage(format!("negative offset report {report}")));
        };
        if offset > confirm {
            return Err(Close::Garbage(format!(
                "slave reports offset {offset}, beyond the master's log end {confirm}"
            )));
        }
        if self.next_offset.is_none() {
            let start = if offset == 0 {
                confirm - confirm % log.segment_bytes()
            } else {
                offset
            };
            if offset != 0 && offset < log.min_offset() {
                return Err(Close::Garbage(format!(
                    "slave offset {offset} is below the master's oldest data {}",
                    log.min_offset()
                )));
            }
            log::info!(
                "slave {} reported {offset}; streaming from {start}",
                self.peer
            );
            self.next_offset = Some(start);
        }
        self.ack_offset = Some(offset);
        Ok(offset)
    }

    /// The socket became writable again.
    pub fn on_writable(&mut self) {
        self.blocked = false;
    }

    /// Sends transfers until caught up or the socket is full.
    pub fn pump(
        &mut self,
        log: &CommitLog,
        batch_bytes: u64,
        now: Instant,
    ) -> Result<PumpState, Close> {
        let Some(mut next) = self.next_offset else {
            return Ok(PumpState::AwaitingReport);
        };
        if self.blocked {
            return Ok(PumpState::Blocked);
        }
        loop {
            if self.pending.is_none() {
                self.pending = self.next_transfer(log, next, batch_bytes, now)?;
                if self.pending.is_none() {
                    return Ok(PumpState::CaughtUp);
                }
            }
            match self.write_pending() {
                Ok(true) => {}
                Ok(false) => {
                    self.blocked = true;
                    return Ok(PumpState::Blocked);
                }
                Err(e) => return Err(Close::Io(e)),
            }
            if let Some(p) = self.pending.take() {
                next = p.next_after;
            }
            self.next_offset = Some(next);
            self.last_write = now;
        }
    }

    /// The transfer to send from `next`: data when readable bytes exist, a heartbeat after
    /// [`HEARTBEAT_IDLE_MS`] without a transfer, else `None`.
    fn next_transfer(
        &self,
        log: &CommitLog,
        next: u64,
        batch_bytes: u64,
        now: Instant,
    ) -> Result<Option<Pending>, Close> {
        if let Some(region) = log.transfer_region(next, batch_bytes) {
            return Ok(Some(Pending {
                header: encode_header(next, region.len),
                header_sent: 0,
                next_after: next + u64::from(region.len),
                region: Some(region),
                body_sent: 0,
            }));
        }
        if next < log.min_offset() {
            return Err(Close::Garbage(format!(
                "offset {next} was deleted by retention before the slave got it"
            )));
        }
        let idle_ms = now.duration_since(self.last_write).as_millis();
        Ok((idle_ms >= u128::from(HEARTBEAT_IDLE_MS)).then(|| Pending {
            header: encode_header(next, 0),
            header_sent: 0,
            region: None,
            body_sent: 0,
            next_after: next,
        }))
    }

    /// Writes the pending transfer; `Ok(false)` when the socket is full.
    fn write_pending(&mut self) -> io::Result<bool> {
        let Some(p) = self.pending.as_mut() else {
            return Ok(true);
        };
        while p.header_sent < HEADER_BYTES {
            match (&self.stream).write(&p.header[p.header_sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => p.header_sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let Some(region) = &p.region else {
            return Ok(true);
        };
        let len = region.len as usize;
        while p.body_sent < len {
            let at = region.position + p.body_sent as u64;
            match sendfile(&self.stream, &region.file, at, len - p.body_sent) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => p.body_sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}
