//! The broker crate's error type.
//!
//! `Err` is for failures: I/O, corrupt files, bad configuration, undecodable protocol data and
//! names a client may not use. Expected outcomes of normal operation ("no message", "flush timed
//! out", "disk full", "no offset yet", "lock held by another client") are statuses or plain
//! return values, never errors.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the broker.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O call failed.
    Io {
        /// What was being done ("write commitlog segment", "persist topics.json", ...).
        context: String,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file's content violates its format.
    Corrupt {
        /// The damaged file (or the name of the persisted table).
        path: PathBuf,
        /// Byte offset (within the file, or the commitlog's global offset where stated); 0 for
        /// whole-file problems such as unparsable JSON.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// One configuration key has an invalid value.
    Config {
        /// The RocketMQ key name (`mappedFileSizeCommitLog`, ...).
        key: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// A configuration problem described in full (naming the key, and the line for files).
    BadConfig(String),
    /// [`crate::store::StoreConfig::set`] was given a key that is not a store key.
    UnknownConfigKey(String),
    /// A JSON config file could not be encoded or decoded.
    Json {
        /// The file involved.
        path: PathBuf,
        /// serde_json's message.
        detail: String,
    },
    /// A wire or body format error from the protocol crate.
    Protocol(protocol::Error),
    /// A topic or group name that RocketMQ does not allow.
    InvalidName {
        /// `"topic"` or `"group"`.
        kind: &'static str,
        /// The rejected name (truncated to 300 characters).
        name: String,
        /// Why, in the words RocketMQ uses in its response remarks.
        reason: String,
    },
}

impl Error {
    /// Builds [`Error::Io`].
    pub fn io(context: impl Into<String>, path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Builds [`Error::Corrupt`].
    pub fn corrupt(path: impl AsRef<Path>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.as_ref().to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }

    /// A whole persisted file (or table) that does not parse.
    pub fn corrupt_file(what: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Self::corrupt(what, 0, reason)
    }

    /// Builds [`Error::Config`].
    pub fn config(key: &str, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    /// Builds [`Error::InvalidName`].
    pub fn invalid_name(kind: &'static str, name: &str, reason: impl Into<String>) -> Self {
        Error::InvalidName {
            kind,
            name: name.chars().take(300).collect(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                context,
                path,
                source,
            } => write!(f, "{context} ({}): {source}", path.display()),
            Error::Corrupt {
                path,
                offset,
                reason,
            } => write!(f, "corrupt {} at offset {offset}: {reason}", path.display()),
            Error::Config { key, reason } => write!(f, "invalid config {key}: {reason}"),
            Error::BadConfig(msg) => write!(f, "configuration: {msg}"),
            Error::UnknownConfigKey(key) => write!(f, "unknown store config key {key:?}"),
            Error::Json { path, detail } => write!(f, "JSON error in {}: {detail}", path.display()),
            Error::Protocol(e) => write!(f, "protocol: {e}"),
            Error::InvalidName { kind, name, reason } => {
                write!(f, "invalid {kind} name {name:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<protocol::Error> for Error {
    fn from(e: protocol::Error) -> Self {
        Error::Protocol(e)
    }
}

/// Equality for tests: I/O errors compare by context, path and [`io::ErrorKind`]; every other
/// variant by its fields (through the same variant and the same rendered text).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Error::Io {
                    context: c1,
                    path: p1,
                    source: s1,
                },
                Error::Io {
                    context: c2,
                    path: p2,
                    source: s2,
                },
            ) => c1 == c2 && p1 == p2 && s1.kind() == s2.kind(),
            (Error::Io { .. }, _) | (_, Error::Io { .. }) => false,
            (a, b) => {
                std::mem::discriminant(a) == std::mem::discriminant(b)
                    && a.to_string() == b.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_context() {
        let e = Error::io(
            "read",
            "/x/topics.json",
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(e.to_string().starts_with("read (/x/topics.json): "), "{e}");
        let e = Error::corrupt_file("topics.json", "expected value");
        assert_eq!(
            e.to_string(),
            "corrupt topics.json at offset 0: expected value"
        );
        let e = Error::BadConfig("invalid value \"x\" for listenPort".into());
        assert_eq!(
            e.to_string(),
            "configuration: invalid value \"x\" for listenPort"
        );
        let e = Error::invalid_name("topic", "a b", "illegal characters");
        assert_eq!(
            e.to_string(),
            "invalid topic name \"a b\": illegal characters"
        );
        let e: Error = protocol::Error::MissingField("topic").into();
        assert!(e.to_string().starts_with("protocol: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn equality_compares_io_by_kind() {
        let a = Error::io("read", "/x", io::Error::new(io::ErrorKind::NotFound, "a"));
        let b = Error::io("read", "/x", io::Error::new(io::ErrorKind::NotFound, "b"));
        let c = Error::io("read", "/x", io::Error::other("c"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Error::BadConfig("x".into()));
        assert_eq!(Error::config("k", "r"), Error::config("k", "r"));
        assert_ne!(Error::config("k", "r"), Error::config("k", "s"));
        match Error::invalid_name("group", &"x".repeat(400), "too long") {
            Error::InvalidName { name, .. } => assert_eq!(name.len(), 300),
            other => panic!("unexpected {other:?}"),
        }
    }
}
