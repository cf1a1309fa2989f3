//! The broker crate's error type.
//!
//! `Err` is for failures: I/O, corrupt files, bad configuration, undecodable protocol data and
//! names a client may not use. Expected outcomes of normal operation ("no message", "flush
//! timed out", "disk full", "no offset yet", "topic does not exist") are statuses or plain
//! return values ([`crate::store::status`], `Option`, `bool`), never errors.

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
        /// What was being done ("write commitlog segment", "save table", ...).
        context: String,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A store file's content violates its format.
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset (within the file, or the commitlog's global offset where stated).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A persisted table (`config/*.json`) or other stored data does not parse.
    CorruptTable {
        /// What was being read (usually a path, e.g. `/root/store/config/topics.json`).
        what: String,
        /// Why it was rejected.
        detail: String,
    },
    /// A store configuration value is invalid.
    Config {
        /// The RocketMQ key name (`mappedFileSizeCommitLog`, ...).
        key: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// A broker configuration key has a bad value, or the configuration is inconsistent. The
    /// message names the key (and the line, for properties files).
    InvalidConfig(String),
    /// [`crate::store::StoreConfig::set`] was given a key that is not a store key.
    UnknownConfigKey(String),
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

    /// Builds [`Error::CorruptTable`].
    pub fn corrupt_table(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::CorruptTable {
            what: what.into(),
            detail: detail.into(),
        }
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
            Error::CorruptTable { what, detail } => write!(f, "corrupt {what}: {detail}"),
            Error::Config { key, reason } => write!(f, "invalid config {key}: {reason}"),
            Error::InvalidConfig(msg) => write!(f, "configuration: {msg}"),
            Error::UnknownConfigKey(key) => write!(f, "unknown store config key {key:?}"),
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

/// Equality for tests: I/O errors compare by context, path and [`io::ErrorKind`] only.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        use Error as E;
        match (self, other) {
            (
                E::Io {
                    context: c1,
                    path: p1,
                    source: s1,
                },
                E::Io {
                    context: c2,
                    path: p2,
                    source: s2,
                },
            ) => c1 == c2 && p1 == p2 && s1.kind() == s2.kind(),
            (
                E::Corrupt {
                    path: p1,
                    offset: o1,
                    reason: r1,
                },
                E::Corrupt {
                    path: p2,
                    offset: o2,
                    reason: r2,
                },
            ) => p1 == p2 && o1 == o2 && r1 == r2,
            (E::CorruptTable { what: a, detail: x }, E::CorruptTable { what: b, detail: y }) => {
                a == b && x == y
            }
            (
                E::Config {
                    key: k1,
                    reason: r1,
                },
                E::Config {
                    key: k2,
                    reason: r2,
                },
            ) => k1 == k2 && r1 == r2,
            (E::InvalidConfig(a), E::InvalidConfig(b)) => a == b,
            (E::UnknownConfigKey(a), E::UnknownConfigKey(b)) => a == b,
            (E::Protocol(a), E::Protocol(b)) => a == b,
            (
                E::InvalidName {
                    kind: k1,
                    name: n1,
                    reason: r1,
                },
                E::InvalidName {
                    kind: k2,
                    name: n2,
                    reason: r2,
                },
            ) => k1 == k2 && n1 == n2 && r1 == r2,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_compare_by_kind() {
        let a = Error::io("read", "/x", io::Error::new(io::ErrorKind::NotFound, "a"));
        let b = Error::io("read", "/x", io::Error::new(io::ErrorKind::NotFound, "b"));
        let c = Error::io("read", "/x", io::Error::other("c"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.to_string().contains("/x"));
    }

    #[test]
    fn display_carries_context() {
        let e = Error::corrupt_table("topics.json", "expected value");
        assert_eq!(e.to_string(), "corrupt topics.json: expected value");
        let e = Error::InvalidConfig("invalid value \"x\" for listenPort".into());
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
        match Error::invalid_name("group", &"x".repeat(400), "too long") {
            Error::InvalidName { name, .. } => assert_eq!(name.len(), 300),
            other => panic!("unexpected {other:?}"),
        }
    }
}
