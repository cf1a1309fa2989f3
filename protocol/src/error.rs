//! The protocol crate's error type.
//!
//! Decoding never panics on input bytes: every malformed frame, header, body or stored record
//! becomes an [`Error`]. "Need more bytes" is *not* an error; decoders report it as `Ok(None)`.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while encoding or decoding RocketMQ wire and disk formats.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A frame announced more bytes than the configured maximum.
    FrameTooLarge {
        /// Length announced by the frame's length prefix.
        len_bytes: usize,
        /// The configured maximum.
        max_bytes: usize,
    },
    /// Bytes that do not form a valid frame, header, body or record.
    Malformed {
        /// What was being decoded ("frame", "binary header", "message record", ...).
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
    /// A required header field (extFields key) is absent.
    MissingField(&'static str),
    /// A header field is present but does not parse as its declared type.
    InvalidField {
        /// The extFields key.
        field: &'static str,
        /// The offending value (truncated to 64 characters).
        value: String,
    },
    /// A JSON header or body that serde_json rejected.
    Json(String),
    /// A value cannot be encoded (for example a remark longer than the 24-bit header length).
    Encode(String),
}

impl Error {
    /// Shorthand for [`Error::Malformed`].
    pub fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }

    /// Shorthand for [`Error::InvalidField`], truncating long values.
    pub fn invalid_field(field: &'static str, value: &str) -> Self {
        let value = value.chars().take(64).collect();
        Error::InvalidField { field, value }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::FrameTooLarge {
                len_bytes,
                max_bytes,
            } => write!(
                f,
                "frame of {len_bytes} bytes exceeds the maximum of {max_bytes} bytes"
            ),
            Error::Malformed { what, detail } => write!(f, "malformed {what}: {detail}"),
            Error::MissingField(field) => write!(f, "the custom header field {field} is null"),
            Error::InvalidField { field, value } => {
                write!(
                    f,
                    "the custom header field {field} has an invalid value {value:?}"
                )
            }
            Error::Json(e) => write!(f, "invalid JSON: {e}"),
            Error::Encode(e) => write!(f, "cannot encode: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e.to_string())
    }
}
