//! The client's [`Error`] (+ [`Result`]): every way a client call can fail, with the context a
//! reader needs (broker address, response code and remark, topic, file path).
//!
//! Broker and NameServer answers that are not successes become [`Error::Broker`] /
//! [`Error::NameServer`], carrying RocketMQ's response code; [`Error::response_code`] gives the
//! typed code so callers can match on it. Expected outcomes that are not failures (a send stored
//! with `FLUSH_DISK_TIMEOUT`, a pull that found nothing) are statuses, not errors.

use std::fmt;

use protocol::remoting::RemotingError;
use protocol::{RemotingCommand, ResponseCode};

/// Result alias of the client crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a client operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid; the text names the key.
    Config(String),
    /// A message (or batch) was rejected before sending; the text says why.
    InvalidMessage(String),
    /// No route is known for the topic (the NameServers do not know it and auto-creation
    /// through `TBW102` is not possible).
    NoRoute {
        /// The topic.
        topic: String,
    },
    /// The broker group `broker_name` has no reachable address in the route.
    BrokerNotFound {
        /// The broker group.
        broker_name: String,
    },
    /// No NameServer answered (every address in the list failed).
    NoNameServer {
        /// The last failure.
        last_error: String,
    },
    /// A broker answered with a non-success response code.
    Broker {
        /// The broker's address.
        addr: String,
        /// The raw response code (see [`ResponseCode`]).
        code: i32,
        /// The broker's remark (empty if none).
        remark: String,
    },
    /// A NameServer answered with a non-success response code.
    NameServer {
        /// The NameServer's address.
        addr: String,
        /// The raw response code.
        code: i32,
        /// The remark (empty if none).
        remark: String,
    },
    /// The request did not get a response (timeout, connect failure, closed connection).
    Remoting(RemotingError),
    /// A response could not be decoded.
    Protocol(protocol::Error),
    /// The overall send timeout passed before a send succeeded.
    Timeout {
        /// What was being done.
        what: String,
        /// The timeout in milliseconds.
        timeout_ms: u64,
    },
    /// A local file (broadcast offsets) could not be read or written.
    Io {
        /// The file.
        path: String,
        /// The OS error text.
        detail: String,
    },
    /// The producer, consumer or client instance has been shut down (or not started).
    Shutdown,
    /// A producer or consumer group of the same name is already registered in this instance.
    GroupAlreadyRegistered {
        /// The group.
        group: String,
    },
    /// An operation was used in a state that does not allow it (e.g. `seek` on a queue that is
    /// not assigned).
    IllegalState(String),
}

impl Error {
    /// The typed response code of a [`Error::Broker`] / [`Error::NameServer`] error.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            Error::Broker { code, .. } | Error::NameServer { code, .. } => {
                ResponseCode::from_code(*code)
            }
            _ => None,
        }
    }

    /// Builds a [`Error::Broker`] from a broker's response.
    pub fn from_broker_response(addr: &str, response: &RemotingCommand) -> Self {
        Error::Broker {
            addr: addr.to_string(),
            code: response.code,
            remark: response.remark.clone().unwrap_or_default(),
        }
    }

    /// Builds a [`Error::NameServer`] from a NameServer's response.
    pub fn from_namesrv_response(addr: &str, response: &RemotingCommand) -> Self {
        Error::NameServer {
            addr: addr.to_string(),
            code: response.code,
            remark: response.remark.clone().unwrap_or_default(),
        }
    }

    /// True for failures of the transport (no response), as opposed to an answer.
    pub fn is_remoting(&self) -> bool {
        matches!(self, Error::Remoting(_))
    }

    /// Builds an [`Error::Io`] for `path`.
    pub(crate) fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

fn code_name(code: i32) -> String {
    match ResponseCode::from_code(code) {
        Some(c) => c.to_string(),
        None => format!("code {code}"),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(s) => write!(f, "invalid configuration: {s}"),
            Error::InvalidMessage(s) => write!(f, "invalid message: {s}"),
            Error::NoRoute { topic } => write!(f, "no route info for topic {topic}"),
            Error::BrokerNotFound { broker_name } => {
                write!(f, "no address known for broker {broker_name}")
            }
            Error::NoNameServer { last_error } => {
                write!(f, "no NameServer available: {last_error}")
            }
            Error::Broker { addr, code, remark } => {
                write!(f, "broker {addr} answered {}: {remark}", code_name(*code))
            }
            Error::NameServer { addr, code, remark } => {
                write!(
                    f,
                    "NameServer {addr} answered {}: {remark}",
                    code_name(*code)
                )
            }
            Error::Remoting(e) => write!(f, "{e}"),
            Error::Protocol(e) => write!(f, "undecodable response: {e}"),
            Error::Timeout { what, timeout_ms } => {
                write!(f, "{what} did not complete within {timeout_ms} ms")
            }
            Error::Io { path, detail } => write!(f, "{path}: {detail}"),
            Error::Shutdown => write!(f, "the client has been shut down"),
            Error::GroupAlreadyRegistered { group } => {
                write!(
                    f,
                    "group {group} is already registered in this client instance"
                )
            }
            Error::IllegalState(s) => write!(f, "illegal state: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Remoting(e) => Some(e),
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RemotingError> for Error {
    fn from(e: RemotingError) -> Self {
        Error::Remoting(e)
    }
}

impl From<protocol::Error> for Error {
    fn from(e: protocol::Error) -> Self {
        Error::Protocol(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_errors_carry_typed_codes() {
        let request = RemotingCommand::request(protocol::RequestCode::SEND_MESSAGE_V2);
        let response =
            RemotingCommand::error_response(&request, ResponseCode::SYSTEM_BUSY, "busy now");
        let e = Error::from_broker_response("10.0.0.1:10911", &response);
        assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_BUSY));
        assert_eq!(
            e.to_string(),
            "broker 10.0.0.1:10911 answered SYSTEM_BUSY(2): busy now"
        );
        let e = Error::Broker {
            addr: "a".into(),
            code: 9999,
            remark: String::new(),
        };
        assert_eq!(e.response_code(), None);
        assert!(e.to_string().contains("code 9999"));
    }

    #[test]
    fn remoting_errors_convert_and_chain() {
        let e: Error = RemotingError::Shutdown.into();
        assert!(e.is_remoting());
        assert!(std::error::Error::source(&e).is_some());
        assert!(!Error::Shutdown.is_remoting());
    }
}
