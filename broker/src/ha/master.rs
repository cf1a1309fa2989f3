//! [`HaService`]: the master side of replication (RocketMQ `DefaultHAService` +
//! `AcceptSocketService`). Listens on `haListenPort` and runs the `ha-master` thread: one mio
//! `Poll` over the listener, a `Waker` and every [`SlaveLink`] (a `Slab`), never the remoting
//! event loop. Non-blocking sockets drained until `WouldBlock`.
//!
//! The loop waits at most 100 ms; a commitlog append wakes it early (through the commitlog's
//! replication listener, only while some link is caught up and the loop is about to sleep, so
//! a busy master pays one atomic load per append). Each round it accepts, reads reports
//! (recording acknowledgements in [`HaState`], which releases SYNC_MASTER waiters), streams
//! to every link, closes links silent for `haHousekeepingInterval`, and expires SYNC_MASTER
//! waiters. Every broker runs it (a slave can feed slaves of its own; a promoted slave needs
//! nothing new to start).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use super::group_transfer::HaState;
use super::slave_link::{Close, PumpState, SlaveLink};
use crate::store::MessageStore;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_LINK: usize = 2;
/// Longest wait of the loop (RocketMQ's transfer thread waits 100 ms).
const MAX_WAIT: Duration = Duration::from_millis(100);
/// Most slave connections served at once; more are refused.
pub const MAX_SLAVE_LINKS: usize = 64;

/// Settings of the master side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaMasterConfig {
    /// `haTransferBatchSize`: largest body per transfer.
    pub transfer_batch_bytes: u64,
    /// `haHousekeepingInterval`: a link silent this long is closed.
    pub housekeeping_interval_ms: u64,
}

/// The running master side. See the module docs.
pub struct HaService {
    local_addr: SocketAddr,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    state: Arc<HaState>,
}

impl std::fmt::Debug for HaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaService")
            .field("local_addr", &self.local_addr)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

struct Loop {
    poll: Poll,
    listener: TcpListener,
    links: Slab<SlaveLink>,
    store: Arc<MessageStore>,
    state: Arc<HaState>,
    config: HaMasterConfig,
    stop: Arc<AtomicBool>,
    /// Set while the loop is about to sleep with a caught-up link: appends then wake it.
    idle: Arc<AtomicBool>,
}

impl HaService {
    /// Starts serving slaves on `listener` (already bound; tests bind port 0).
    pub fn start(
        listener: std::net::TcpListener,
        store: Arc<MessageStore>,
        config: HaMasterConfig,
        state: Arc<HaState>,
    ) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let idle = Arc::new(AtomicBool::new(false));
        {
            let (idle, waker) = (Arc::clone(&idle), Arc::clone(&waker));
            store.commit_log().set_replication_notify(Box::new(move || {
                // Pairs with the fence in `Loop::wait`: either the loop sees the new end
                // before sleeping, or this sees `idle` set and wakes it.
                fence(Ordering::SeqCst);
                if idle.load(Ordering::Relaxed) && idle.swap(false, Ordering::AcqRel) {
                    let _ = waker.wake();
                }
            }));
        }
        let mut l = Loop {
            poll,
            listener,
            links: Slab::new(),
            store,
            state: Arc::clone(&state),
            config,
            stop: Arc::clone(&stop),
            idle,
        };
        let thread = std::thread::Builder::new()
            .name("ha-master".into())
            .spawn(move || l.run())?;
        log::info!("HA service listening on {local_addr}");
        Ok(HaService {
            local_addr,
            waker,
            stop,
            thread: Some(thread),
            state,
        })
    }

    /// The bound HA address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Acknowledgements, connected slaves and SYNC_MASTER waiters.
    pub fn state(&self) -> &Arc<HaState> {
        &self.state
    }

    /// Stops the thread and closes every link; pending SYNC_MASTER waiters time out.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("ha-master thread panicked");
            }
        }
        self.state.expire(None);
    }
}

impl Drop for HaService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Loop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(128);
        while !self.stop.load(Ordering::Acquire) {
            let caught_up = self.pump_all();
            let timeout = self.wait_timeout(caught_up);
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("ha-master poll failed: {e}");
                    std::thread::park_timeout(MAX_WAIT);
                }
            }
            self.idle.store(false, Ordering::Relaxed);
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER => {}
                    Token(t) if t >= FIRST_LINK => self.on_link_event(
                        t - FIRST_LINK,
                        event.is_readable(),
                        event.is_writable(),
                        now,
                    ),
                    Token(_) => {}
                }
            }
            self.housekeeping(now);
            self.state.expire(Some(now));
        }
        let keys: Vec<usize> = self.links.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.close(k, "shutdown");
        }
    }

    /// How long to sleep: 0 when a caught-up link has new data already, else up to 100 ms
    /// (the append listener ends the sleep early while `idle` is set).
    fn wait_timeout(&self, caught_up: bool) -> Duration {
        if !caught_up {
            return MAX_WAIT;
        }
        self.idle.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let confirm = self.store.commit_log().confirm_offset();
        if self.links.iter().any(|(_, l)| l.has_new_data(confirm)) {
            self.idle.store(false, Ordering::Relaxed);
            return Duration::ZERO;
        }
        MAX_WAIT
    }

    /// Streams to every link; returns whether some link is caught up (waiting for appends).
    fn pump_all(&mut self) -> bool {
        let now = Instant::now();
        let log = self.store.commit_log();
        let mut caught_up = false;
        let mut failed = Vec::new();
        for (k, link) in self.links.iter_mut() {
            match link.pump(log, self.config.transfer_batch_bytes, now) {
                Ok(PumpState::CaughtUp) => caught_up = true,
                Ok(_) => {}
                Err(e) => failed.push((k, e)),
            }
        }
        for (k, e) in failed {
            self.close(k, &describe(&e));
        }
        caught_up
    }

    fn accept(&mut self, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    if self.links.len() >= MAX_SLAVE_LINKS {
                        log::warn!("refusing HA connection from {peer}: too many slaves");
                        continue;
                    }
                    let entry = self.links.vacant_entry();
                    let token = Token(entry.key() + FIRST_LINK);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) = self.poll.registry().register(&mut stream, token, interest) {
                        log::warn!("cannot register HA connection from {peer}: {e}");
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    entry.insert(SlaveLink::new(stream, peer, now));
                    self.state.slave_connected();
                    log::info!("slave connected to the HA service from {peer}");
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("HA accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn on_link_event(&mut self, key: usize, readable: bool, writable: bool, now: Instant) {
        let log = self.store.commit_log();
        let Some(link) = self.links.get_mut(key) else {
            return; // closed earlier in this batch
        };
        if writable {
            link.on_writable();
        }
        if readable {
            match link.on_readable(log, now) {
                Ok(Some(offset)) => self.state.on_ack(offset),
                Ok(None) => {}
                Err(e) => self.close(key, &describe(&e)),
            }
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        let limit = Duration::from_millis(self.config.housekeeping_interval_ms);
        let silent: Vec<usize> = self
            .links
            .iter()
            .filter(|(_, l)| now.duration_since(l.last_read) > limit)
            .map(|(k, _)| k)
            .collect();
        for k in silent {
            self.close(k, "no report within haHousekeepingInterval");
        }
    }

    fn close(&mut self, key: usize, why: &str) {
        if let Some(mut link) = self.links.try_remove(key) {
            let _ = self.poll.registry().deregister(&mut link.stream);
            self.state.slave_disconnected();
            log::info!(
                "HA connection from {} closed ({why}); last ack {:?}, next offset {:?}",
                link.peer,
                link.ack_offset,
                link.next_offset()
            );
        }
    }
}

fn describe(c: &Close) -> String {
    match c {
        Close::Io(e) => format!("i/o: {e}"),
        Close::Garbage(g) => format!("protocol violation: {g}"),
    }
}
