//! # namesrv: the ferromq NameServer
//!
//! Brokers register with every NameServer and refresh their registration every 30 s; a broker
//! silent for 120 s (or whose connection closes) is removed. Clients ask for topic routes and
//! cluster info. Several NameServers run side by side with no coordination. Routes live in memory
//! only (brokers re-register within one period after a restart); the KV config is persisted.
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | `NamesrvConfig`, RocketMQ key names |
//! | [`route_table`], `route_query` | the pure route and liveness tables |
//! | [`processor`] | request code → table operation → response (pure) |
//! | [`kv_config`] | the namespaced KV table |
//! | [`persist`] | the thread that writes files for the loop |
//! | [`server`] | the event-loop shell: [`NamesrvServer::start`] |

#![forbid(unsafe_code)]

pub mod config;
pub mod kv_config;
pub mod persist;
pub mod processor;
mod route_query;
pub mod route_table;
pub mod server;

#[cfg(test)]
mod route_table_tests;

pub use config::NamesrvConfig;
pub use server::NamesrvServer;
