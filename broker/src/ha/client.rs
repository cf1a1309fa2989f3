//! [`HaClient`]: the slave side of replication (RocketMQ `HAClient`), on its own `ha-client`
//! thread with a mio `Poll` (never the remoting loop).
//!
//! States: `Disconnected` (retry every `haReconnectInterval`; the master HA address is
//! `haMasterAddress` or the one the NameServer registration reported, re-read at every
//! attempt) → `Connected`. On connect the slave reports its commitlog write end; then it
//! reports again after every read batch that advanced the log, and at least every
//! `haSendHeartbeatInterval`. Each transfer `offset | size | bytes` is appended at exactly
//! that offset ([`MessageStore::append_raw`]); a header whose offset differs from the local
//! write end (when the local log is not empty) closes the link, and the reconnect re-reports
//! so the master re-bases. The link is also closed after `haHousekeepingInterval` without
//! any byte from the master, on a protocol error, and when the master address changes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use super::wire::{decode_header, encode_report, HEADER_BYTES};
use crate::processor::wall_ms;
use crate::store::commit_log::lock;
use crate::store::MessageStore;

const STREAM: Token = Token(0);
const WAKER: Token = Token(1);
/// Largest transfer body accepted from a master (far above any sane `haTransferBatchSize`).
pub const MAX_TRANSFER_BYTES: u32 = 64 * 1024 * 1024;

/// Where the master's HA address comes from (re-evaluated at every connect attempt).
pub type MasterAddrSource = Box<dyn Fn() -> Option<String> + Send>;

/// Settings of the slave side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaClientConfig {
    /// `haSendHeartbeatInterval`: longest time between two reports.
    pub heartbeat_interval_ms: u64,
    /// `haHousekeepingInterval`: close after this long without a byte from the master.
    pub housekeeping_interval_ms: u64,
    /// `haReconnectInterval` (ferromq): wait between connection attempts.
    pub reconnect_interval_ms: u64,
}

/// What others may observe of the client (admin, auto-promotion, tests).
#[derive(Debug, Default)]
pub struct HaClientStatus {
    connected: AtomicBool,
    /// Wall ms when the link last went down (or the client started while down).
    down_since_ms: AtomicU64,
    /// The master's HA address currently used.
    master_addr: Mutex<Option<String>>,
}

impl HaClientStatus {
    /// Whether a link to the master is open.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Wall ms since which the link is down (meaningless while connected).
    pub fn down_since_ms(&self) -> u64 {
        self.down_since_ms.load(Ordering::Acquire)
    }

    /// The master HA address of the current or last link.
    pub fn master_addr(&self) -> Option<String> {
        lock(&self.master_addr).clone()
    }
}

/// The running slave side. See the module docs.
pub struct HaClient {
    status: Arc<HaClientStatus>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaClient")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// An open link to the master.
struct Link {
    stream: TcpStream,
    addr: String,
    rbuf: Vec<u8>,
    out: Vec<u8>,
    reported: u64,
    last_report: Instant,
    last_read: Instant,
}

struct Client {
    poll: Poll,
    store: Arc<MessageStore>,
    config: HaClientConfig,
    source: MasterAddrSource,
    status: Arc<HaClientStatus>,
    stop: Arc<AtomicBool>,
    link: Option<Link>,
    next_attempt: Instant,
}

impl HaClient {
    /// Starts the `ha-client` thread.
    pub fn start(
        store: Arc<MessageStore>,
        config: HaClientConfig,
        source: MasterAddrSource,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let status = Arc::new(HaClientStatus::default());
        status.down_since_ms.store(wall_ms(), Ordering::Release);
        let stop = Arc::new(AtomicBool::new(false));
        let mut client = Client {
            poll,
            store,
            config,
            source,
            status: Arc::clone(&status),
            stop: Arc::clone(&stop),
            link: None,
            next_attempt: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("ha-client".into())
            .spawn(move || client.run())?;
        Ok(HaClient {
            status,
            stop,
            waker,
            thread: Some(thread),
        })
    }

    /// The observable state.
    pub fn status(&self) -> &Arc<HaClientStatus> {
        &self.status
    }

    /// Stops the thread and closes the link. Idempotent.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("ha-client thread panicked");
            }
        }
    }
}

impl Drop for HaClient {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn resolve(addr: &str) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("cannot resolve {addr}")))
}

impl Client {
    fn run(&mut self) {
        let mut events = Events::with_capacity(16);
        while !self.stop.load(Ordering::Acquire) {
            let now = Instant::now();
            if self.link.is_none() && now >= self.next_attempt {
                self.connect(now);
            }
            let timeout = match &self.link {
                Some(_) => Duration::from_millis(100),
                None => self
                    .next_attempt
                    .saturating_duration_since(now)
                    .min(Duration::from_millis(100)),
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("ha-client poll failed: {e}");
                    std::thread::park_timeout(Duration::from_millis(100));
                }
            }
            let readable = events.iter().any(|e| e.token() == STREAM);
            if let Err(why) = self.service(readable) {
                self.disconnect(&why);
            }
        }
        self.disconnect("shutdown");
    }

    fn connect(&mut self, now: Instant) {
        self.next_attempt = now + Duration::from_millis(self.config.reconnect_interval_ms);
        let Some(addr) = (self.source)() else {
            return;
        };
        let timeout = Duration::from_millis(self.config.reconnect_interval_ms.clamp(100, 3_000));
        let std_stream =
            match resolve(&addr).and_then(|a| std::net::TcpStream::connect_timeout(&a, timeout)) {
                Ok(s) => s,
                Err(e) => {
                    log::debug!("cannot connect to master HA {addr}: {e}");
                    return;
                }
            };
        if let Err(e) = std_stream.set_nonblocking(true) {
            log::warn!("HA socket to {addr}: {e}");
            return;
        }
        let _ = std_stream.set_nodelay(true);
        let mut stream = TcpStream::from_std(std_stream);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.poll.registry().register(&mut stream, STREAM, interest) {
            log::warn!("cannot register the HA socket to {addr}: {e}");
            return;
        }
        let offset = self.store.max_phy_offset();
        log::info!("connected to master HA {addr}; reporting offset {offset}");
        self.link = Some(Link {
            stream,
            addr: addr.clone(),
            rbuf: Vec::with_capacity(64 * 1024),
            out: encode_report(offset).to_vec(),
            reported: offset,
            last_report: now,
            last_read: now,
        });
        *lock(&self.status.master_addr) = Some(addr);
        self.status.connected.store(true, Ordering::Release);
    }

    fn disconnect(&mut self, why: &str) {
        if let Some(mut link) = self.link.take() {
            let _ = self.poll.registry().deregister(&mut link.stream);
            log::info!("HA link to master {} closed: {why}", link.addr);
            self.status.connected.store(false, Ordering::Release);
            self.status
                .down_since_ms
                .store(wall_ms(), Ordering::Release);
            self.next_attempt =
                Instant::now() + Duration::from_millis(self.config.reconnect_interval_ms);
        }
    }

    /// One round on an open link: read and apply transfers, report, housekeeping.
    fn service(&mut self, readable: bool) -> Result<(), String> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        if readable && read_available(link, now)? {
            apply_transfers(link, &self.store)?;
        }
        let offset = self.store.max_phy_offset();
        let heartbeat_due = now.duration_since(link.last_report)
            >= Duration::from_millis(self.config.heartbeat_interval_ms);
        if link.out.is_empty() && (offset > link.reported || heartbeat_due) {
            link.out.extend_from_slice(&encode_report(offset));
            link.reported = offset;
            link.last_report = now;
        }
        flush_out(link).map_err(|e| format!("write: {e}"))?;
        if now.duration_since(link.last_read)
            > Duration::from_millis(self.config.housekeeping_interval_ms)
        {
            return Err("nothing received within haHousekeepingInterval".into());
        }
        if (self.source)().is_some_and(|a| a != link.addr) {
            return Err("the master HA address changed".into());
        }
        Ok(())
    }
}

/// Reads until `WouldBlock`; returns whether anything arrived.
fn read_available(link: &mut Link, now: Instant) -> Result<bool, String> {
    let mut buf = [0u8; 64 * 1024];
    let mut got = false;
    loop {
        match link.stream.read(&mut buf) {
            Ok(0) => return Err("the master closed the connection".into()),
            Ok(n) => {
                link.rbuf.extend_from_slice(&buf[..n]);
                link.last_read = now;
                got = true;
                if link.rbuf.len() >= 4 * 1024 * 1024 {
                    return Ok(true); // apply what is buffered, read the rest next round
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// Appends every complete transfer in the read buffer.
fn apply_transfers(link: &mut Link, store: &MessageStore) -> Result<(), String> {
    let mut at = 0usize;
    loop {
        let header = decode_header(&link.rbuf[at..], MAX_TRANSFER_BYTES)
            .map_err(|e| format!("bad transfer header: {e}"))?;
        let Some(h) = header else { break };
        let body_end = at + HEADER_BYTES + h.body_bytes as usize;
        if link.rbuf.len() < body_end {
            break;
        }
        let local = store.max_phy_offset();
        if local != 0 && local != h.phy_offset {
            return Err(format!(
                "master sends offset {}, but the local log ends at {local}",
                h.phy_offset
            ));
        }
        if h.body_bytes > 0 {
            store
                .append_raw(h.phy_offset, &link.rbuf[at + HEADER_BYTES..body_end])
                .map_err(|e| format!("append at {}: {e}", h.phy_offset))?;
        }
        at = body_end;
    }
    link.rbuf.drain(..at);
    Ok(())
}

fn flush_out(link: &mut Link) -> io::Result<()> {
    while !link.out.is_empty() {
        match (&link.stream).write(&link.out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                link.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
