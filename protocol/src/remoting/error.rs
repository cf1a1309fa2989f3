//! [`RemotingError`]: why a remote call did not produce a response.
//!
//! This is a separate enum from [`crate::Error`] on purpose: `crate::Error` describes bytes
//! that do not decode and must stay usable without the `net` feature, while these are runtime
//! outcomes of the event loop (timeouts, refused connects, closed connections). A codec failure
//! met while sending is carried inside as [`RemotingError::Protocol`].

use std::fmt;

/// Why a request sent through the remoting runtime did not get a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemotingError {
    /// No response arrived within the request's timeout.
    Timeout {
        /// The peer the request went to.
        addr: String,
        /// The timeout the caller gave.
        timeout_ms: u64,
    },
    /// The connection to `addr` could not be established (refused, unreachable, timed out,
    /// invalid address, connection limit reached).
    Connect {
        /// The address as the caller spelled it.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The connection closed (peer close, I/O error, idle sweep, explicit close) before the
    /// response arrived.
    ConnectionClosed {
        /// The peer address.
        addr: String,
    },
    /// The command could not be queued: the target connection no longer exists or is closing.
    SendFailed {
        /// What went wrong.
        reason: String,
    },
    /// `invoke_sync` was called on the event-loop thread, which would wait for itself forever.
    WouldDeadlock,
    /// The event loop has shut down (or is shutting down) and will not run the request.
    Shutdown,
    /// The command could not be encoded.
    Protocol(crate::Error),
}

impl fmt::Display for RemotingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemotingError::Timeout { addr, timeout_ms } => {
                write!(f, "no response from {addr} within {timeout_ms} ms")
            }
            RemotingError::Connect { addr, reason } => {
                write!(f, "cannot connect to {addr}: {reason}")
            }
            RemotingError::ConnectionClosed { addr } => {
                write!(f, "connection to {addr} closed before the response arrived")
            }
            RemotingError::SendFailed { reason } => write!(f, "send failed: {reason}"),
            RemotingError::WouldDeadlock => {
                write!(
                    f,
                    "invoke_sync called on the event-loop thread would deadlock"
                )
            }
            RemotingError::Shutdown => write!(f, "the remoting event loop is shut down"),
            RemotingError::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

impl std::error::Error for RemotingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RemotingError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for RemotingError {
    fn from(e: crate::Error) -> Self {
        RemotingError::Protocol(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_context() {
        let e = RemotingError::Timeout {
            addr: "127.0.0.1:9876".into(),
            timeout_ms: 3000,
        };
        assert_eq!(
            e.to_string(),
            "no response from 127.0.0.1:9876 within 3000 ms"
        );
        let e = RemotingError::Connect {
            addr: "10.0.0.1:1".into(),
            reason: "refused".into(),
        };
        assert_eq!(e.to_string(), "cannot connect to 10.0.0.1:1: refused");
        let e: RemotingError = crate::Error::Encode("x".into()).into();
        assert!(matches!(e, RemotingError::Protocol(_)));
    }
}
