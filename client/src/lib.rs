//! ferromq client (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod config;
pub mod consumer;
pub mod error;
mod inbound;
pub mod instance;
pub mod md5;
pub mod producer;
pub mod route;
pub mod scheduler;

pub use config::ClientConfig;
pub use error::{Error, Result};
pub use instance::ClientInstance;
