//! The broker crate's error type.
//!
//! Errors are only for I/O failures, on-disk corruption and invalid configuration. Expected
//! outcomes of store operations ("no message", "flush timed out", "disk full") are statuses in
//! [`crate::store::status`], never errors.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can fail in the broker's store and managers.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O call failed.
    Io {
        /// What was being done ("write commitlog segment", "create consume queue dir", ...).
        context: String,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file's content violates its format.
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset (within the file, or the commitlog's global offset where stated).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is invalid.
    Config {
        /// The RocketMQ key name (`mappedFileSizeCommitLog`, ...).
        key: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// [`crate::store::StoreConfig::set`] was given a key that is not a store key.
    UnknownConfigKey(String),
    /// A JSON config file could not be encoded or decoded.
    Json {
        /// The file involved.
        path: PathBuf,
        /// serde_json's message.
        detail: String,
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

    /// Builds [`Error::Config`].
    pub fn config(key: &str, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.to_string(),
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
            Error::UnknownConfigKey(key) => write!(f, "unknown store config key {key:?}"),
            Error::Json { path, detail } => write!(f, "JSON error in {}: {detail}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// I/O errors compare by kind so tests can `assert_eq!` on errors.
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
            (
                Error::Corrupt {
                    path: p1,
                    offset: o1,
                    reason: r1,
                },
                Error::Corrupt {
                    path: p2,
                    offset: o2,
                    reason: r2,
                },
            ) => p1 == p2 && o1 == o2 && r1 == r2,
            (
                Error::Config {
                    key: k1,
                    reason: r1,
                },
                Error::Config {
                    key: k2,
                    reason: r2,
                },
            ) => k1 == k2 && r1 == r2,
            (Error::UnknownConfigKey(a), Error::UnknownConfigKey(b)) => a == b,
            (
                Error::Json {
                    path: p1,
                    detail: d1,
                },
                Error::Json {
                    path: p2,
                    detail: d2,
                },
            ) => p1 == p2 && d1 == d2,
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
}
