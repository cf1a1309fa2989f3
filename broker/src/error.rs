//! The broker crate's error type.
//!
//! `Err` is for failures: I/O, corrupt files, bad configuration, undecodable protocol data and
//! names a client may not use. Expected outcomes of normal operation ("no offset yet", "topic
//! does not exist", "lock held by another client") are plain return values (`Option`, `bool`,
//! status enums), never errors.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the broker.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed.
    Io {
        /// The file or directory being accessed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A persisted file (or other stored data) does not parse.
    Corrupt {
        /// What was being read (usually a path, e.g. `/root/store/config/topics.json`).
        what: String,
        /// Why it was rejected.
        detail: String,
    },
    /// A configuration key has a bad value, or the configuration is inconsistent. The message
    /// names the key (and the line, for properties files).
    Config(String),
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
    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Corrupt`].
    pub fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            what: what.into(),
            detail: detail.into(),
        }
    }

    /// Shorthand for [`Error::InvalidName`].
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
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Corrupt { what, detail } => write!(f, "corrupt {what}: {detail}"),
            Error::Config(msg) => write!(f, "configuration: {msg}"),
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

/// Equality for tests: I/O errors compare by path and [`io::ErrorKind`] only.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Error::Io { path: a, source: x }, Error::Io { path: b, source: y }) => {
                a == b && x.kind() == y.kind()
            }
            (Error::Corrupt { what: a, detail: x }, Error::Corrupt { what: b, detail: y }) => {
                a == b && x == y
            }
            (Error::Config(a), Error::Config(b)) => a == b,
            (Error::Protocol(a), Error::Protocol(b)) => a == b,
            (
                Error::InvalidName {
                    kind: k1,
                    name: n1,
                    reason: r1,
                },
                Error::InvalidName {
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
    fn display_carries_context() {
        let e = Error::io("/x/topics.json", io::Error::from(io::ErrorKind::NotFound));
        assert!(e.to_string().starts_with("/x/topics.json: "), "{e}");
        let e = Error::corrupt("topics.json", "expected value");
        assert_eq!(e.to_string(), "corrupt topics.json: expected value");
        let e = Error::Config("invalid value \"x\" for listenPort".into());
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
    fn equality_compares_io_by_kind_and_path() {
        let a = Error::io("/a", io::Error::new(io::ErrorKind::NotFound, "one"));
        let b = Error::io("/a", io::Error::new(io::ErrorKind::NotFound, "two"));
        let c = Error::io("/b", io::Error::new(io::ErrorKind::NotFound, "one"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Error::Config("x".into()));
        let long = "x".repeat(400);
        match Error::invalid_name("group", &long, "too long") {
            Error::InvalidName { name, .. } => assert_eq!(name.len(), 300),
            other => panic!("unexpected {other:?}"),
        }
    }
}
