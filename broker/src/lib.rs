//! # broker: the ferromq broker
//!
//! ## Layout
//! | module | what it owns |
//! |---|---|
//! | [`config`] | `BrokerConfig`: RocketMQ key names, defaults, validation |
//! | [`store`] | commitlog, consume queues, index, flush, recovery, retention, queries |
//! | [`manager`] | the broker's metadata tables: topics, offsets, groups, clients, locks; persisted under `storePathRootDir/config/` |
//! | [`schedule`] | delay messages: put-side rewrite, `ScheduleMessageService`, `delayOffset.json` |
//! | [`retry`] | CONSUMER_SEND_MSG_BACK: retry topics and the DLQ |
//! | [`transaction`] | half messages, END_TRANSACTION, the transaction check service |
//! | [`inner_message`] | encoding, putting and loading messages the broker builds itself |
//! | [`service_thread`] | wake-up/stop signal and thread slot of the broker's services |
//! | [`error`] | the crate's [`Error`] |
//!
//! File formats, media assumptions, flush modes and the recovery algorithm are documented in
//! `docs/storage.md`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod inner_message;
pub mod manager;
pub mod retry;
pub mod schedule;
pub mod service_thread;
pub mod store;
pub mod transaction;

pub use config::BrokerConfig;
pub use error::{Error, Result};
