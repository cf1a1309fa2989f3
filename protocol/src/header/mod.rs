//! Typed request/response headers ("custom headers") and their extFields mapping.
//!
//! Each header type is written by hand (Java uses reflection): `write_to` renders every non-null
//! field as a string under RocketMQ's key name, `read_from` parses them back and fails with
//! [`Error::MissingField`](crate::Error::MissingField) for a missing required field and
//! [`Error::InvalidField`](crate::Error::InvalidField) for a number that does not parse. Unknown
//! keys (the 5.x RPC fields `ns`, `bname`, `oway`, ACL keys, ...) are always ignored.
//!
//! Conventions: fields are `pub` and snake_case; a plain field is required (Java `@CFNotNull`),
//! an `Option` field may be absent. Keys and types follow `rocketmq-wire-reference.md` §2.
//!
//! | module | headers |
//! |---|---|
//! | [`send_message`] | send request (V1 long / V2 short names) and response |
//! | [`pull_message`] | pull / lite-pull request and response, [`PullSysFlag`] |
//! | [`route`] | NameServer: route, broker registration, KV config, permissions |
//! | [`consumer`] | consumer offsets, queue offsets, send-back, broker→client calls |
//! | [`transaction`] | end transaction, check transaction state |
//! | [`admin_topic`] | admin: topics and messages |
//! | [`admin_broker`] | admin: groups, connections, broker stats |

use crate::error::Result;
use crate::ext_fields::ExtFields;

mod field;

pub mod admin_broker;
pub mod admin_topic;
pub mod consumer;
pub mod pull_message;
pub mod route;
pub mod send_message;
pub mod transaction;

pub use admin_broker::*;
pub use admin_topic::*;
pub use consumer::*;
pub use pull_message::*;
pub use route::*;
pub use send_message::*;
pub use transaction::*;

/// A typed view of a command's extFields.
pub trait CommandHeader: Sized {
    /// Renders the fields into `ext` (null fields are skipped).
    fn write_to(&self, ext: &mut ExtFields);
    /// Parses the fields from `ext`.
    fn read_from(ext: &ExtFields) -> Result<Self>;
}
