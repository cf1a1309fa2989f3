//! # broker: the ferromq broker
//!
//! For now this crate holds the message store and the persisted-table file helper; request
//! processors, networking, HA and the other services are built on top of
//! [`store::MessageStore`].
//!
//! ## Layout
//! | module | what it owns |
//! |---|---|
//! | [`store`] | commitlog, consume queues, index, flush, recovery, retention, queries |
//! | [`manager`] | persisted tables under `storePathRootDir/config/` |
//! | [`error`] | the crate's [`Error`]: I/O, corruption and configuration only |
//!
//! File formats, media assumptions, flush modes and the recovery algorithm are documented in
//! `docs/storage.md`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
pub mod manager;
pub mod store;

pub use error::{Error, Result};
