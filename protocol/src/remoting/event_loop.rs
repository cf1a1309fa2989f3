//! [`EventLoop`]: one `mio::Poll`, a `Slab` of [`Connection`]s, any number of listeners, the
//! `Waker` shared with [`RemotingHandle`]s, the pending-request table and the deadline queue.
//!
//! One iteration (see [`Core::turn`]): poll (timeout = nearest deadline, or zero when work is
//! left over) → handle readiness events (accept / connect / read + dispatch; writable only
//! marks the connection for flushing) → resume connections whose read budget ran out or whose
//! back-pressure lifted → apply handle commands → fire due timers → tick and idle sweep →
//! flush every connection with queued output (one gathered write per connection per batch) →
//! remove connections closed during the batch and call `on_closed`.

use std::collections::HashMap;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use super::client::{RemotingHandle, Shared};
use super::commands::Command;
use super::config::RemotingConfig;
use super::connection::{CloseReason, ConnId, Connection, State};
use super::error::RemotingError;
use super::handler::{Context, RequestHandler};
use super::pending::PendingTable;
use super::timer::{TimerKey, TimerQueue};

/// Token of the cross-thread `Waker`.
pub(crate) const WAKER_TOKEN: Token = Token(0);
/// Listener `i` is registered under token `FIRST_LISTENER_TOKEN + i`.
pub(crate) const FIRST_LISTENER_TOKEN: usize = 1;
/// At most this many listeners per loop.
pub const MAX_LISTENERS: usize = 63;
/// Connection in slab slot `i` is registered under token `FIRST_CONN_TOKEN + i`.
pub(crate) const FIRST_CONN_TOKEN: usize = FIRST_LISTENER_TOKEN + MAX_LISTENERS;

/// Capacity of the readiness event buffer.
const EVENTS_CAPACITY: usize = 1024;
/// Consecutive poll failures after which `run` gives up.
const MAX_POLL_ERRORS: u32 = 16;
/// Upper bound of the idle-sweep period.
const MAX_SWEEP_INTERVAL_MS: u64 = 1000;

/// A remoting event loop: server (listeners), client (outbound connections by address) and
/// both directions on every connection. Build it, add listeners, take handles, then
/// [`run`](EventLoop::run) it on a thread of its own (or [`spawn`](EventLoop::spawn) one).
#[derive(Debug)]
pub struct EventLoop {
    core: Core,
}

/// Everything the loop owns except the handler; [`Context`] is a view of it.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) poll: Poll,
    pub(crate) config: RemotingConfig,
    pub(crate) conns: Slab<Connection>,
    pub(crate) listeners: Vec<Option<mio::net::TcpListener>>,
    /// Cached outbound connections: the caller's address spelling → connection.
    pub(crate) outbound_by_addr: HashMap<String, ConnId>,
    pub(crate) pending: PendingTable,
    pub(crate) timers: TimerQueue,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Receiver<Command>,
    pub(crate) command_backlog: bool,
    pub(crate) next_generation: u64,
    /// Milliseconds since the loop was created (monotonic); refreshed after every poll.
    pub(crate) now_ms: u64,
    clock_base: Instant,
    /// Connections with output to flush at the end of this batch.
    pub(crate) dirty: Vec<ConnId>,
    /// Connections closed during this batch, removed at its end.
    pub(crate) closed: Vec<ConnId>,
    /// Connections to read from again next turn (budget exhausted or back-pressure lifted).
    pub(crate) rearm: Vec<ConnId>,
    /// Set by `begin_shutdown`: the time at which remaining connections are dropped.
    pub(crate) shutdown_deadline_ms: Option<u64>,
    /// Header-encoding scratch for frames built on the loop thread.
    pub(crate) scratch: BytesMut,
    next_tick_ms: u64,
    next_sweep_ms: u64,
}

impl EventLoop {
    /// Creates a loop with no listeners. Fails if `config` is invalid or the OS refuses a poll
    /// instance.
    pub fn new(config: RemotingConfig) -> io::Result<EventLoop> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER_TOKEN)?;
        let (tx, commands) = mpsc::channel();
        let shared = Arc::new(Shared::new(tx, waker));
        let core = Core {
            poll,
            conns: Slab::with_capacity(config.max_connections.min(1024)),
            listeners: Vec::new(),
            outbound_by_addr: HashMap::new(),
            pending: PendingTable::new(),
            timers: TimerQueue::new(),
            shared,
            commands,
            command_backlog: false,
            next_generation: 0,
            now_ms: 0,
            clock_base: Instant::now(),
            dirty: Vec::new(),
            closed: Vec::new(),
            rearm: Vec::new(),
            shutdown_deadline_ms: None,
            scratch: BytesMut::new(),
            next_tick_ms: config.tick_interval_ms,
            next_sweep_ms: sweep_interval_ms(config.idle_timeout_ms),
            config,
        };
        Ok(EventLoop { core })
    }

    /// Adds a bound listener (any number up to [`MAX_LISTENERS`]); returns its index, which
    /// [`RequestHandler::on_connected`] reports for connections accepted from it.
    pub fn listen(&mut self, listener: TcpListener) -> io::Result<usize> {
        let index = self.core.listeners.len();
        if index >= MAX_LISTENERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("at most {MAX_LISTENERS} listeners per event loop"),
            ));
        }
        listener.set_nonblocking(true)?;
        let mut listener = mio::net::TcpListener::from_std(listener);
        let token = Token(FIRST_LISTENER_TOKEN + index);
        self.core
            .poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        log::info!("remoting listener {index} on {:?}", listener.local_addr());
        self.core.listeners.push(Some(listener));
        Ok(index)
    }

    /// A handle for other threads (and for the handler, via [`Context::handle`]).
    pub fn handle(&self) -> RemotingHandle {
        RemotingHandle::new(self.core.shared.clone())
    }

    /// Runs the loop on the current thread until [`RemotingHandle::shutdown`] completes, then
    /// returns. Errors only if polling fails persistently.
    pub fn run<H: RequestHandler>(mut self, mut handler: H) -> io::Result<()> {
        let _ = self.core.shared.loop_thread.set(thread::current().id());
        log::info!("remoting event loop started: {}", self.core.config);
        let result = self.core.run_loop(&mut handler);
        self.core.finish(&mut handler);
        log::info!("remoting event loop stopped");
        result
    }

    /// Runs the loop on a new thread named `thread_name`.
    pub fn spawn<H: RequestHandler>(
        self,
        thread_name: &str,
        handler: H,
    ) -> io::Result<JoinHandle<io::Result<()>>> {
        thread::Builder::new()
            .name(thread_name.to_string())
            .spawn(move || self.run(handler))
    }
}

impl Core {
    fn run_loop<H: RequestHandler>(&mut self, handler: &mut H) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let mut poll_errors = 0;
        loop {
            let timeout = Duration::from_millis(self.poll_timeout_ms());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                poll_errors += 1;
                log::error!("poll failed ({poll_errors} in a row): {e}");
                if poll_errors >= MAX_POLL_ERRORS {
                    return Err(e);
                }
                continue;
            }
            poll_errors = 0;
            self.turn(handler, &events);
            if self.shutdown_complete() {
                return Ok(());
            }
        }
    }

    /// One iteration after `poll` returned.
    fn turn<H: RequestHandler>(&mut self, handler: &mut H, events: &Events) {
        self.now_ms = self.clock_ms();
        for event in events.iter() {
            let token = event.token().0;
            if token == WAKER_TOKEN.0 {
                continue; // the channel is drained below on every turn
            } else if token < FIRST_CONN_TOKEN {
                self.accept(handler, token - FIRST_LISTENER_TOKEN);
            } else {
                self.on_conn_event(handler, token - FIRST_CONN_TOKEN, event);
            }
        }
        self.resume_rearmed(handler);
        self.drain_commands(handler);
        self.fire_timers(handler);
        self.run_periodic(handler);
        handler.on_turn_end(&mut Context::new(self));
        self.flush_dirty();
        self.remove_closed(handler);
    }

    pub(crate) fn clock_ms(&self) -> u64 {
        self.clock_base.elapsed().as_millis() as u64
    }

    /// Zero while work is left over; otherwise the time to the nearest deadline.
    fn poll_timeout_ms(&self) -> u64 {
        if self.command_backlog
            || !self.rearm.is_empty()
            || !self.dirty.is_empty()
            || !self.closed.is_empty()
        {
            return 0;
        }
        let mut deadline = self.next_tick_ms;
        if self.config.idle_timeout_ms > 0 {
            deadline = deadline.min(self.next_sweep_ms);
        }
        if let Some(t) = self.timers.next_deadline_ms() {
            deadline = deadline.min(t);
        }
        deadline.saturating_sub(self.clock_ms())
    }

    fn fire_timers<H: RequestHandler>(&mut self, handler: &mut H) {
        while let Some((deadline_ms, key)) = self.timers.pop_due(self.now_ms) {
            match key {
                TimerKey::Pending(opaque) => {
                    if let Some(p) = self.pending.take_expired(opaque, deadline_ms) {
                        let error = p.timeout_error();
                        log::debug!("{error} (opaque {opaque})");
                        p.fail(error);
                    }
                }
                TimerKey::Connect(conn) => {
                    if self
                        .conn(conn)
                        .is_some_and(|c| c.state == State::Connecting)
                    {
                        self.close(conn, CloseReason::ConnectTimeout);
                    }
                }
                TimerKey::Closing(conn) => {
                    if self.conn(conn).is_some_and(|c| c.state == State::Closing) {
                        self.close(conn, CloseReason::FlushTimeout);
                    }
                }
                TimerKey::RetryAccept(index) => self.accept(handler, index),
            }
        }
        // Completed requests leave stale entries behind; keep the heap near the live count.
        if self.timers.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.timers.compact(|deadline_ms, key| match key {
                TimerKey::Pending(opaque) => pending.is_live(opaque, deadline_ms),
                _ => true,
            });
        }
    }

    fn run_periodic<H: RequestHandler>(&mut self, handler: &mut H) {
        if self.now_ms >= self.next_tick_ms {
            self.next_tick_ms = self.now_ms + self.config.tick_interval_ms;
            let now_ms = self.now_ms;
            handler.on_tick(&mut Context::new(self), now_ms);
        }
        let idle_ms = self.config.idle_timeout_ms;
        if idle_ms > 0 && self.now_ms >= self.next_sweep_ms {
            self.next_sweep_ms = self.now_ms + sweep_interval_ms(idle_ms);
            let now_ms = self.now_ms;
            let idle: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|(_, c)| c.state == State::Open && c.is_idle(now_ms, idle_ms))
                .map(|(_, c)| c.id)
                .collect();
            for conn in idle {
                log::info!("{conn}: closing after {idle_ms} ms without activity");
                self.close(conn, CloseReason::Idle);
            }
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown_deadline_ms.is_some()
    }

    /// Stops accepting, fails pending requests, and lets every connection flush and close.
    pub(crate) fn begin_shutdown(&mut self) {
        if self.is_shutting_down() {
            return;
        }
        self.shared.stopped.store(true, Ordering::Release);
        let deadline = self.now_ms + self.config.close_flush_timeout_ms;
        self.shutdown_deadline_ms = Some(deadline);
        log::info!("remoting event loop shutting down");
        for listener in self.listeners.iter_mut() {
            if let Some(mut l) = listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
        }
        for p in self.pending.take_all() {
            p.fail(RemotingError::Shutdown);
        }
        let ids: Vec<ConnId> = self.conns.iter().map(|(_, c)| c.id).collect();
        for conn in ids {
            self.close_gracefully(conn);
        }
    }

    fn shutdown_complete(&mut self) -> bool {
        let Some(deadline) = self.shutdown_deadline_ms else {
            return false;
        };
        if self.conns.is_empty() {
            return true;
        }
        // Closing timers enforce the deadline; this is a backstop.
        if self.now_ms > deadline + self.config.close_flush_timeout_ms {
            log::warn!("{} connections did not close in time", self.conns.len());
            return true;
        }
        false
    }

    /// After the loop: close whatever is left and fail every outstanding callback.
    fn finish<H: RequestHandler>(&mut self, handler: &mut H) {
        self.shared.stopped.store(true, Ordering::Release);
        let ids: Vec<ConnId> = self.conns.iter().map(|(_, c)| c.id).collect();
        for conn in ids {
            self.close(conn, CloseReason::Shutdown);
        }
        self.remove_closed(handler);
        for p in self.pending.take_all() {
            p.fail(RemotingError::Shutdown);
        }
        // Commands still queued are dropped; their callbacks report Shutdown.
        while self.commands.try_recv().is_ok() {}
    }

    pub(crate) fn conn(&self, id: ConnId) -> Option<&Connection> {
        self.conns.get(id.index()).filter(|c| c.id == id)
    }

    pub(crate) fn conn_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        self.conns.get_mut(id.index()).filter(|c| c.id == id)
    }
}

/// The idle sweep runs four times per idle timeout, bounded to [10 ms, 1 s].
fn sweep_interval_ms(idle_timeout_ms: u64) -> u64 {
    (idle_timeout_ms / 4).clamp(10, MAX_SWEEP_INTERVAL_MS)
}
