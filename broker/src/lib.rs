//! # broker: the ferromq broker
//!
//! A RocketMQ-compatible broker: the message store, the metadata tables, the request
//! processors served on a mio event loop, registration with NameServers and the `mqbroker`
//! binary. [`controller::BrokerServer::start`] is the testable entry point.
//!
//! ## Layout
//! | module | what it owns |
//! |---|---|
//! | [`controller`] | `BrokerServer`: builds everything; start and shutdown order; broker.conf loading |
//! | [`processor`] | the event-loop request handler and one file per request family |
//! | [`outer_api`] | registration with every NameServer (`outer-api` thread) |
//! | [`ha`] | master/slave replication, SYNC_MASTER waits, slave metadata sync, promotion |
//! | [`persist`] | the `persist` thread writing topics, offsets and groups |
//! | [`config`] | `BrokerConfig`: RocketMQ key names, defaults, validation |
//! | [`live_config`] | configuration changed at run time (UPDATE_BROKER_CONFIG) and its write-back |
//! | [`manager`] | the broker's metadata tables: topics, offsets, groups, clients, locks |
//! | [`stats`] | message counters, TPS windows and stats items for the admin statistics |
//! | [`store`] | commitlog, consume queues, index, flush, recovery, retention, queries |
//! | [`schedule`] | delay messages: put-side rewrite, `ScheduleMessageService`, `delayOffset.json` |
//! | [`retry`] | CONSUMER_SEND_MSG_BACK: retry topics and the DLQ |
//! | [`transaction`] | half messages, END_TRANSACTION, the transaction check service |
//! | [`inner_message`] | encoding, putting and loading messages the broker builds itself |
//! | [`services`] | starts/stops delay delivery and transaction check-back; check requests to the loop |
//! | [`service_thread`] | wake-up/stop signal and thread slot of the broker's services |
//! | [`error`] | the crate's [`Error`] |
//!
//! Threads: `broker-loop` (remoting: accept, decode, dispatch, appends into the page cache),
//! the store's `flush-commitlog`, `flush-timeout`, `reput`, `flush-logics` and `clean`,
//! `persist`, `outer-api` and `outer-api-client`, `ha-master` (every broker); on slaves
//! `ha-client`, `slave-sync` (+ its client loop) and, if enabled, `auto-promote`. File formats, media assumptions, flush
//! modes and the recovery algorithm are documented in `docs/storage.md`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod controller;
pub mod error;
pub mod ha;
pub mod inner_message;
pub mod live_config;
pub mod manager;
pub mod outer_api;
pub mod persist;
pub mod processor;
pub mod retry;
pub mod schedule;
pub mod service_thread;
pub mod services;
pub mod stats;
pub mod store;
pub mod transaction;

pub use config::BrokerConfig;
pub use controller::{BrokerListeners, BrokerServer};
pub use error::{Error, Result};
