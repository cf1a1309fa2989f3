//! [`RemotingHandle`]: the thread-safe way into an event loop, for callers on other threads
//! (producers, service threads, the broker's flush and reput services).
//!
//! Every call encodes its command on the *caller's* thread (so JSON encoding does not load the
//! loop), assigns the opaque from a counter shared with the loop, pushes a message on an mpsc
//! channel and wakes the loop through its single `Waker`. A coalescing flag makes a burst of
//! calls cost one wake-up: only the call that flips the flag from false to true wakes, and the
//! loop clears the flag *before* draining the channel, so nothing sent is ever left unseen.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use super::commands::Command;
use super::connection::ConnId;
use super::error::RemotingError;
use super::outbound::{EncodedFrame, FileRegion};
use super::pending::ResponseCallback;
use crate::command::{RemotingCommand, FLAG_ONEWAY, FLAG_RESPONSE};

/// Extra time `invoke_sync` waits beyond the request timeout before concluding that the loop
/// itself is stuck (normally the loop reports the timeout first).
const SYNC_GRACE_MS: u64 = 1000;
/// How long one `invoke_sync` caller yields the CPU waiting for the answer before it sleeps
/// (a loopback or LAN round trip with a busy broker is typically shorter).
const SYNC_SPIN: Duration = Duration::from_micros(100);

/// State shared by the loop and all its handles.
#[derive(Debug)]
pub(crate) struct Shared {
    tx: Sender<Command>,
    waker: mio::Waker,
    wake_pending: AtomicBool,
    /// Set while one `invoke_sync` caller spins for its answer (at most one at a time, so
    /// many blocked callers do not burn the CPUs the loops need).
    sync_spinner: AtomicBool,
    /// Moving average of recent `invoke_sync` round trips, µs (decides whether to spin).
    sync_rt_us: AtomicU64,
    next_opaque: AtomicI32,
    /// Set once `run` starts on its thread; `invoke_sync` refuses to block that thread.
    pub(crate) loop_thread: OnceLock<ThreadId>,
    /// Set when the loop stops accepting work (shutdown requested or `run` returned).
    pub(crate) stopped: AtomicBool,
}

impl Shared {
    pub(crate) fn new(tx: Sender<Command>, waker: mio::Waker) -> Self {
        Shared {
            tx,
            waker,
            wake_pending: AtomicBool::new(false),
            sync_spinner: AtomicBool::new(false),
            sync_rt_us: AtomicU64::new(0),
            next_opaque: AtomicI32::new(0),
            loop_thread: OnceLock::new(),
            stopped: AtomicBool::new(false),
        }
    }

    /// A fresh request id (wraps around; the loop skips ids still pending).
    pub(crate) fn next_opaque(&self) -> i32 {
        self.next_opaque
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
    }

    /// Queues a command for the loop. If the loop is gone the command is dropped here, which
    /// completes any callback it carries with [`RemotingError::Shutdown`].
    pub(crate) fn send(&self, command: Command) -> Result<(), RemotingError> {
        if self.stopped.load(Ordering::Acquire) && !command.allowed_when_stopped() {
            return Err(RemotingError::Shutdown);
        }
        self.tx.send(command).map_err(|_| RemotingError::Shutdown)?;
        self.notify();
        Ok(())
    }

    /// Folds one `invoke_sync` round trip into the moving average (weight 1/8; races between
    /// callers only lose a sample).
    fn note_sync_rt(&self, rt: Duration) {
        let rt_us = u64::try_from(rt.as_micros()).unwrap_or(u64::MAX);
        let old = self.sync_rt_us.load(Ordering::Relaxed);
        let avg = old - old / 8 + rt_us / 8;
        self.sync_rt_us.store(avg, Ordering::Relaxed);
    }

    /// Wakes the loop unless a wake-up is already on its way.
    fn notify(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.waker.wake() {
                log::warn!("cannot wake the remoting event loop: {e}");
            }
        }
    }

    /// Called by the loop before draining the channel.
    pub(crate) fn clear_wake(&self) {
        self.wake_pending.swap(false, Ordering::AcqRel);
    }

    fn on_loop_thread(&self) -> bool {
        self.loop_thread.get() == Some(&thread::current().id())
    }
}

/// A cloneable, thread-safe handle to a running (or not yet started)
/// [`EventLoop`](super::EventLoop). Callbacks passed here run on the loop thread and must not
/// block; if the loop is already gone they run at once on the caller's thread with
/// [`RemotingError::Shutdown`].
///
/// # Examples
/// ```no_run
/// use protocol::remoting::{EventLoop, RemotingConfig, Reply, RequestHandler, Context, ConnId};
/// use protocol::{RemotingCommand, RequestCode};
///
/// struct NoInbound;
/// impl RequestHandler for NoInbound {
///     fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
///         Reply::Nothing
///     }
/// }
///
/// let event_loop = EventLoop::new(RemotingConfig::default())?;
/// let handle = event_loop.handle();
/// let join = event_loop.spawn("client-remoting", NoInbound)?;
/// let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
/// match handle.invoke_sync("127.0.0.1:9876", request, 3000) {
///     Ok(response) => println!("code {}", response.code),
///     Err(e) => eprintln!("{e}"),
/// }
/// handle.shutdown();
/// join.join().expect("loop thread")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RemotingHandle {
    shared: Arc<Shared>,
}

impl RemotingHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        RemotingHandle { shared }
    }

    /// Sends `request` to `addr` ("ip:port"; a host name is resolved on the caller's thread) and
    /// blocks the calling thread until the response, a failure, or `timeout_ms`. Returns
    /// [`RemotingError::WouldDeadlock`] when called on the loop thread itself.
    pub fn invoke_sync(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout_ms: u64,
    ) -> Result<RemotingCommand, RemotingError> {
        if self.shared.on_loop_thread() {
            return Err(RemotingError::WouldDeadlock);
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let start = Instant::now();
        self.invoke_async(addr, request, timeout_ms, move |result| {
            let _ = tx.send(result);
        });
        if let Some(early) = self.spin_for(&rx) {
            self.shared.note_sync_rt(start.elapsed());
            return early;
        }
        let wait = Duration::from_millis(timeout_ms.saturating_add(SYNC_GRACE_MS));
        match rx.recv_timeout(wait) {
            Ok(result) => {
                self.shared.note_sync_rt(start.elapsed());
                result
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(RemotingError::Timeout {
                addr: addr.to_string(),
                timeout_ms,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(RemotingError::Shutdown),
        }
    }

    /// Yields the CPU for up to [`SYNC_SPIN`] waiting for an answer, if answers come that fast
    /// lately and no other caller of this loop is spinning: a fast answer then finds the caller
    /// runnable, which spares the loop a futex wake and the caller a sleep and wake-up. Slow
    /// calls (large batches, sync flush) never spin. `None`: no answer yet.
    fn spin_for(
        &self,
        rx: &mpsc::Receiver<Result<RemotingCommand, RemotingError>>,
    ) -> Option<Result<RemotingCommand, RemotingError>> {
        let typical_us = self.shared.sync_rt_us.load(Ordering::Relaxed);
        if typical_us > SYNC_SPIN.as_micros() as u64
            || self.shared.sync_spinner.swap(true, Ordering::Acquire)
        {
            return None;
        }
        let spin_until = Instant::now() + SYNC_SPIN;
        let mut answer = None;
        while Instant::now() < spin_until {
            match rx.try_recv() {
                Ok(result) => answer = Some(result),
                Err(mpsc::TryRecvError::Disconnected) => {
                    answer = Some(Err(RemotingError::Shutdown))
                }
                Err(mpsc::TryRecvError::Empty) => {
                    thread::yield_now();
                    continue;
                }
            }
            break;
        }
        self.shared.sync_spinner.store(false, Ordering::Release);
        answer
    }

    /// Sends `request` to `addr`; `callback` runs on the loop thread with the response or the
    /// failure (timeout, connect failure, connection closed). The request's opaque is replaced.
    pub fn invoke_async(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout_ms: u64,
        callback: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) {
        let callback = ResponseCallback::new(callback);
        let resolved = match resolve(addr) {
            Ok(a) => a,
            Err(e) => return callback.complete(Err(e)),
        };
        let (opaque, frame) = match self.encode_request(request, false) {
            Ok(x) => x,
            Err(e) => return callback.complete(Err(e)),
        };
        let command = Command::Invoke {
            addr: addr.to_string(),
            resolved,
            opaque,
            frame,
            timeout_ms,
            callback: Some(callback),
        };
        // On failure the command was dropped, which reported Shutdown to the callback.
        let _ = self.shared.send(command);
    }

    /// Sends a one-way request to `addr` (no response expected). Returns once the request is
    /// handed to the loop; connect failures are only logged.
    pub fn invoke_oneway(&self, addr: &str, request: RemotingCommand) -> Result<(), RemotingError> {
        let resolved = resolve(addr)?;
        let (opaque, frame) = self.encode_request(request, true)?;
        let command = Command::Invoke {
            addr: addr.to_string(),
            resolved,
            opaque,
            frame,
            timeout_ms: 0,
            callback: None,
        };
        self.shared.send(command)
    }

    /// Sends `cmd` on an existing connection: a deferred response (the caller keeps the
    /// request's opaque and the response flag), or, if `cmd` is not a response, a one-way
    /// request (a fresh opaque and the one-way flag are set). A connection that is gone by the
    /// time the loop sees this is logged at debug and skipped.
    pub fn send_to(&self, conn: ConnId, cmd: RemotingCommand) -> Result<(), RemotingError> {
        self.send_files(conn, cmd, Vec::new())
    }

    /// Like [`send_to`](Self::send_to) with file regions appended to the body (zero-copy pull
    /// responses answered off the loop thread).
    pub fn send_files(
        &self,
        conn: ConnId,
        mut cmd: RemotingCommand,
        regions: Vec<FileRegion>,
    ) -> Result<(), RemotingError> {
        if !cmd.is_response() {
            cmd.opaque = self.shared.next_opaque();
            cmd.flag |= FLAG_ONEWAY;
        }
        let frame = EncodedFrame::encode_alone(&cmd, regions)?;
        self.shared.send(Command::Send { conn, frame })
    }

    /// Sends a request on an existing connection (server → client, e.g.
    /// CHECK_TRANSACTION_STATE); `callback` runs on the loop thread with the response or the
    /// failure ([`RemotingError::SendFailed`] if the connection is gone).
    pub fn request_on(
        &self,
        conn: ConnId,
        request: RemotingCommand,
        timeout_ms: u64,
        callback: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) {
        let callback = ResponseCallback::new(callback);
        let (opaque, frame) = match self.encode_request(request, false) {
            Ok(x) => x,
            Err(e) => return callback.complete(Err(e)),
        };
        let _ = self.shared.send(Command::RequestOn {
            conn,
            opaque,
            frame,
            timeout_ms,
            callback,
        });
    }

    /// Closes a connection after flushing what is queued for it.
    pub fn close_connection(&self, conn: ConnId) {
        let _ = self.shared.send(Command::Close(conn));
    }

    /// Closes the cached outbound connection to `addr`, if any.
    pub fn close_addr(&self, addr: &str) {
        let _ = self.shared.send(Command::CloseAddr(addr.to_string()));
    }

    /// Makes the loop call [`RequestHandler::on_wake`](super::RequestHandler::on_wake) soon;
    /// many calls before the loop gets to it result in one call.
    pub fn wake(&self) {
        let _ = self.shared.send(Command::Wake);
    }

    /// Asks the loop to stop: listeners close, connections flush (bounded by
    /// `close_flush_timeout_ms`) and close, pending requests fail with
    /// [`RemotingError::Shutdown`], and `run` returns. Idempotent.
    pub fn shutdown(&self) {
        let _ = self.shared.send(Command::Shutdown);
        self.shared.stopped.store(true, Ordering::Release);
    }

    /// True once shutdown was requested or the loop has exited.
    pub fn is_shutdown(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
    }

    fn encode_request(
        &self,
        mut request: RemotingCommand,
        oneway: bool,
    ) -> Result<(i32, EncodedFrame), RemotingError> {
        let opaque = self.shared.next_opaque();
        request.opaque = opaque;
        request.flag &= !FLAG_RESPONSE;
        if oneway {
            request.flag |= FLAG_ONEWAY;
        }
        let frame = EncodedFrame::encode_alone(&request, Vec::new())?;
        Ok((opaque, frame))
    }
}

/// Parses "ip:port"; resolves a host name (blocking, on the caller's thread). `Ok(None)` is
/// never returned for a valid address; it is kept for addresses the loop must parse itself.
fn resolve(addr: &str) -> Result<Option<SocketAddr>, RemotingError> {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return Ok(Some(a));
    }
    let connect_error = |reason: String| RemotingError::Connect {
        addr: addr.to_string(),
        reason,
    };
    let mut addrs = addr
        .to_socket_addrs()
        .map_err(|e| connect_error(format!("cannot resolve: {e}")))?;
    addrs
        .next()
        .map(Some)
        .ok_or_else(|| connect_error("address resolves to nothing".into()))
}
