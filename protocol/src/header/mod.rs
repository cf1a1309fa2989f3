//! Typed request/response headers ("custom headers") and their extFields mapping.
//!
//! Each header type is written by hand (Java uses reflection): `write_to` renders every non-null
//! field as a string under RocketMQ's key name, `read_from` parses them back and fails with
//! [`Error::MissingField`](crate::Error::MissingField) for a missing required field. Unknown keys
//! (the 5.x RPC fields `ns`, `bname`, `oway`, ACL keys, ...) are always ignored.

use crate::error::Result;
use crate::ext_fields::ExtFields;

/// A typed view of a command's extFields.
pub trait CommandHeader: Sized {
    /// Renders the fields into `ext` (null fields are skipped).
    fn write_to(&self, ext: &mut ExtFields);
    /// Parses the fields from `ext`.
    fn read_from(ext: &ExtFields) -> Result<Self>;
}
