//! The remoting runtime (feature `net`): one mio event loop per process role that is server,
//! client, or both at once, speaking RemotingCommand frames in both directions on every
//! connection.
//!
//! # Threading model
//! - An [`EventLoop`] runs on exactly one thread ([`EventLoop::run`] or
//!   [`EventLoop::spawn`]). It owns the `mio::Poll`, every socket, every read buffer and write
//!   queue, the pending-request table and the timers. Nothing in it is shared or locked.
//! - The application's [`RequestHandler`] runs on that thread too. It must never block; slow
//!   work (fsync, waiting for a slave) goes to a [`ServiceThread`], which answers later through
//!   a [`RemotingHandle`].
//! - [`RemotingHandle`] (`Clone + Send + Sync`) is the only way in from other threads: calls
//!   are encoded on the caller's thread, sent over an mpsc channel and signalled through the
//!   loop's single `Waker`, coalesced so that a burst of calls costs one wake-up.
//! - Response callbacks run on the loop thread (or, if the loop is already gone, on the
//!   caller's thread with [`RemotingError::Shutdown`]). Every callback runs exactly once.
//!
//! # Ownership
//! | file | owns |
//! |---|---|
//! | `event_loop.rs` | [`EventLoop`], the poll loop, timers, tick, idle sweep, shutdown |
//! | `io.rs` | accept, connect completion, read + dispatch, flush, close/remove |
//! | `send.rs` | queueing frames, outbound connection cache, pending registration |
//! | `commands.rs` | messages from handles and how the loop applies them |
//! | `connection.rs` | one connection's state machine ([`ConnId`]) |
//! | `outbound.rs` | [`Outbound`], [`FileRegion`], [`WriteQueue`] (writev + sendfile) |
//! | `pending.rs` | opaque → pending request table |
//! | `timer.rs` | deadline heap feeding the poll timeout |
//! | `handler.rs` | [`RequestHandler`], [`Reply`], [`Context`] |
//! | `client.rs` | [`RemotingHandle`] |
//! | `config.rs` | [`RemotingConfig`] |
//! | `error.rs` | [`RemotingError`] |
//! | `service_thread.rs` | [`ServiceThread`] |
//! | `sys.rs` | the crate's only `unsafe`: `sendfile(2)`, `read(2)` into spare capacity |
//!
//! # Invariants
//! 1. Bytes from the network never cause a panic: a bad length prefix, an oversized frame or an
//!    undecodable header closes that one connection (logged), never the loop.
//! 2. Readiness is edge-triggered and each socket is registered once for readable + writable:
//!    reads, writes and accepts are repeated until `WouldBlock`, or the connection is re-armed
//!    explicitly (read budget, back-pressure release) so no readiness is ever lost.
//! 3. Output is queued and flushed once per event batch, gathering many frames into one
//!    `writev`; file regions go out with `sendfile`.
//! 4. A connection's id carries a generation: stale ids (kept by a service thread after the
//!    connection closed) address nothing, never a newer connection in the same slot.
//! 5. Closed connections leave the slab only at the end of an event batch.
//! 6. A one-way request never gets a response; every sent request with a callback is answered
//!    exactly once (response, timeout, connect failure, connection closed, or shutdown).
//! 7. When a connection's write queue exceeds the high-water mark the loop stops reading from
//!    it until the queue drains below the low-water mark.
//!
//! The states and transitions are documented in `docs/connection-lifecycle.md`.

mod client;
mod commands;
mod config;
mod connection;
mod error;
mod event_loop;
mod handler;
mod io;
mod outbound;
mod pending;
mod send;
mod service_thread;
pub mod sys;
mod timer;

pub use client::RemotingHandle;
pub use config::RemotingConfig;
pub use connection::ConnId;
pub use error::RemotingError;
pub use event_loop::{EventLoop, MAX_LISTENERS};
pub use handler::{Context, Reply, RequestHandler};
pub use outbound::{FileRegion, Outbound, WriteProgress, WriteQueue, WriteTarget, MAX_IOVECS};
pub use service_thread::{ServiceControl, ServiceThread};
