//! # broker: the ferromq broker
//!
//! ## Layout
//! | module | what it owns |
//! |---|---|
//! | [`config`] | `BrokerConfig`: RocketMQ key names, defaults, validation |
//! | [`store`] | commitlog, consume queues, index, flush, recovery, retention, queries |
//! | [`manager`] | the broker's metadata tables: topics, offsets, groups, clients, locks; persisted under `storePathRootDir/config/` |
//! | [`error`] | the crate's [`Error`] |
//!
//! File formats, media assumptions, flush modes and the recovery algorithm are documented in
//! `docs/storage.md`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod manager;
pub mod store;

pub use config::BrokerConfig;
pub use error::{Error, Result};
