//! The tools crate's one error type and the process exit codes it maps to.
//!
//! Every message names what the operator needs to act on: the address that could not be
//! reached, the topic that does not exist, the peer's response code with its remark. Usage
//! mistakes (unknown command, missing or malformed option) exit with [`EXIT_USAGE`]; everything
//! else that fails exits with [`EXIT_FAILED`].

use std::fmt;

use protocol::remoting::RemotingError;
use protocol::ResponseCode;

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code when the operation failed (unreachable server, error response, not found).
pub const EXIT_FAILED: i32 = 1;
/// Exit code for a usage error (unknown command, bad or missing option).
pub const EXIT_USAGE: i32 = 2;

/// Result alias of the tools crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Which kind of server a request went to (used in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A NameServer.
    Namesrv,
    /// A broker.
    Broker,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Peer::Namesrv => "namesrv",
            Peer::Broker => "broker",
        })
    }
}

/// Everything an mqadmin command can fail with.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The command line is wrong; the text explains what (usage is appended by the runner).
    Usage(String),
    /// A request could not be delivered to `addr` or got no response (connect refused,
    /// timeout, connection closed).
    Unreachable {
        /// NameServer or broker.
        peer: Peer,
        /// The address as configured.
        addr: String,
        /// What the remoting layer reported.
        source: RemotingError,
    },
    /// Every configured NameServer failed; one entry per address.
    NamesrvsUnreachable(Vec<Error>),
    /// The server answered with an error code.
    Response {
        /// NameServer or broker.
        peer: Peer,
        /// The server's address.
        addr: String,
        /// The raw response code.
        code: i32,
        /// The server's remark, if any.
        remark: Option<String>,
    },
    /// The NameServer has no route for the topic.
    TopicNotExist(String),
    /// A message, group or other object was not found; the text says what.
    NotFound(String),
    /// A response body or header did not decode.
    Decode {
        /// The server's address.
        addr: String,
        /// What was being decoded and why it failed.
        detail: String,
    },
    /// The operation failed for another reason stated in the text.
    Failed(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }

    /// Shorthand for [`Error::Usage`].
    pub fn usage(text: impl Into<String>) -> Self {
        Error::Usage(text.into())
    }

    /// The response code, if this is an error response.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            Error::Response { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn code_name(code: i32) -> String {
    match ResponseCode::from_code(code) {
        Some(c) => format!("{} ({code})", c.name()),
        None => format!("code {code}"),
    }
}

fn write_unreachable(
    f: &mut fmt::Formatter<'_>,
    peer: Peer,
    addr: &str,
    source: &RemotingError,
) -> fmt::Result {
    match source {
        RemotingError::Connect { reason, .. } => {
            write!(f, "connect to {peer} {addr} failed: {reason}")
        }
        RemotingError::Timeout { timeout_ms, .. } => {
            write!(f, "{peer} {addr} did not answer within {timeout_ms} ms")
        }
        other => write!(f, "request to {peer} {addr} failed: {other}"),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(text) => f.write_str(text),
            Error::Unreachable { peer, addr, source } => write_unreachable(f, *peer, addr, source),
            Error::NamesrvsUnreachable(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Error::Response {
                peer,
                addr,
                code,
                remark,
            } => {
                write!(f, "{peer} {addr} answered {}", code_name(*code))?;
                match remark.as_deref().map(str::trim) {
                    Some(r) if !r.is_empty() => write!(f, ": {r}"),
                    _ => Ok(()),
                }
            }
            Error::TopicNotExist(topic) => write!(f, "topic {topic} does not exist"),
            Error::NotFound(what) => f.write_str(what),
            Error::Decode { addr, detail } => write!(f, "bad response from {addr}: {detail}"),
            Error::Failed(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Unreachable { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_address_and_code() {
        let e = Error::Unreachable {
            peer: Peer::Namesrv,
            addr: "127.0.0.1:9".into(),
            source: RemotingError::Connect {
                addr: "127.0.0.1:9".into(),
                reason: "Connection refused (os error 111)".into(),
            },
        };
        assert_eq!(
            e.to_string(),
            "connect to namesrv 127.0.0.1:9 failed: Connection refused (os error 111)"
        );
        assert_eq!(e.exit_code(), EXIT_FAILED);
        let e = Error::Response {
            peer: Peer::Broker,
            addr: "10.0.0.1:10911".into(),
            code: 17,
            remark: Some("topic[T] not exist".into()),
        };
        assert_eq!(
            e.to_string(),
            "broker 10.0.0.1:10911 answered TOPIC_NOT_EXIST (17): topic[T] not exist"
        );
        assert_eq!(e.response_code(), Some(17));
        let e = Error::Response {
            peer: Peer::Namesrv,
            addr: "a:1".into(),
            code: 9999,
            remark: None,
        };
        assert_eq!(e.to_string(), "namesrv a:1 answered code 9999");
        assert_eq!(
            Error::TopicNotExist("T".into()).to_string(),
            "topic T does not exist"
        );
        assert_eq!(Error::usage("x").exit_code(), EXIT_USAGE);
    }

    #[test]
    fn all_namesrvs_failing_lists_each() {
        let one = |addr: &str| Error::Unreachable {
            peer: Peer::Namesrv,
            addr: addr.into(),
            source: RemotingError::Timeout {
                addr: addr.into(),
                timeout_ms: 5,
            },
        };
        let e = Error::NamesrvsUnreachable(vec![one("a:1"), one("b:2")]);
        assert_eq!(
            e.to_string(),
            "namesrv a:1 did not answer within 5 ms; namesrv b:2 did not answer within 5 ms"
        );
    }
}
