//! # protocol: RocketMQ's remoting protocol for ferromq
//!
//! Everything that crosses a socket or sits in a store file, as plain codecs with no I/O, plus
//! (feature `net`, on by default) the mio remoting runtime shared by the NameServer, the broker
//! and the client.
//!
//! ## Layout
//! | module | what it owns |
//! |---|---|
//! | [`frame`] | length-prefixed framing: `check` then `split` (two-phase decode) |
//! | [`command`] | [`RemotingCommand`]: encode, decode, `encode_header` for zero-copy bodies |
//! | [`serialize`] | JSON (type 0) and ROCKETMQ binary (type 1) header codecs |
//! | [`ext_fields`] | the string map carrying typed header fields, Java-style typed getters |
//! | [`code`] | request, response and language codes pinned to RocketMQ's numbers |
//! | [`header`] | typed headers (`CommandHeader`) |
//! | [`message`] | stored records (owned and zero-copy view), properties, sysflag, batch body, ids, tags |
//! | [`body`] | JSON bodies in RocketMQ's fastjson dialect (route, heartbeat, registration, stats, store config files) |
//! | [`error`] | the crate's [`Error`]; decoders never panic on input bytes |
//! | [`util`] | `key=value` config files, the clock |
//! | `remoting` | (feature `net`) the mio event loop: server, client, write queues, sendfile |
//!
//! The wire format is documented in `docs/wire-protocol.md`, which links the reference in
//! `shared/docs/rocketmq-wire-reference.md`.

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod body;
pub mod code;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod frame;
pub mod header;
pub mod message;
pub mod serialize;
pub mod util;

#[cfg(feature = "net")]
pub mod remoting;

pub use code::{LanguageCode, RequestCode, ResponseCode};
pub use command::{RemotingCommand, SerializeType};
pub use error::{Error, Result};
pub use ext_fields::ExtFields;
