//! # broker: the ferromq broker
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | `BrokerConfig`: RocketMQ key names, defaults, validation |
//! | [`manager`] | the broker's metadata tables: topics, offsets, groups, clients, locks |
//! | [`error`] | the crate's [`Error`] |

#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod manager;

pub use config::BrokerConfig;
pub use error::{Error, Result};
