//! # tools: `mqadmin` and `mqbench` for ferromq
//!
//! RocketMQ's admin command line with the same sub-command names and option letters
//! (`mqadmin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t T`), built on the remoting
//! runtime of the `protocol` crate.
//!
//! | module | owns |
//! |---|---|
//! | [`admin`] (+ `admin_broker`, `admin_message`) | [`AdminClient`]: typed NameServer and broker RPCs, NameServer fail-over |
//! | [`command`] | the [`SubCommand`](command::SubCommand) trait, the registry and [`run`](command::run) |
//! | [`output`] | aligned text tables and `--json` documents |
//! | [`time`] | timestamp parsing and formatting (UTC) |
//! | [`error`] | [`Error`] and the exit codes (0 ok, 1 failed, 2 usage) |
//! | [`bench`](mod@bench) | `mqbench`: producer, consumer and end-to-end throughput/latency benchmarks |
//!
//! The `mqadmin` binary only collects `argv` and `NAMESRV_ADDR`, calls [`command::run`] and
//! prints what it returns. Every command is documented in `docs/mqadmin.md`.

#![forbid(unsafe_code)]

pub mod admin;
pub mod admin_broker;
pub mod admin_message;
pub mod bench;
pub mod command;
pub mod error;
pub mod output;
pub mod time;

pub use admin::AdminClient;
pub use error::{Error, Result};
