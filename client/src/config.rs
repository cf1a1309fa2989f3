//! [`ClientConfig`]: what one [`ClientInstance`](crate::ClientInstance) needs — the NameServer
//! list, the instance name that makes up the client id, and the periods of its background
//! tasks. Producer and consumer settings live next to their types.
//!
//! Every duration is in milliseconds; [`Default`] holds RocketMQ's defaults.

use std::fmt;
use std::net::IpAddr;

use protocol::remoting::RemotingConfig;

use crate::error::{Error, Result};

/// The environment variable RocketMQ tools read the NameServer list from.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// The instance name that is replaced by `<pid>#<nanos>` to keep client ids unique.
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

/// Settings of one client instance (Java `ClientConfig`).
///
/// # Examples
/// ```
/// use client::ClientConfig;
/// let config = ClientConfig::new("10.0.0.1:9876;10.0.0.2:9876");
/// assert_eq!(config.namesrv_addrs.len(), 2);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// NameServer addresses (`ip:port`). Requests go to one of them and fail over to the next
    /// on a transport error. Key `namesrvAddr` (`;`-separated).
    pub namesrv_addrs: Vec<String>,
    /// Second part of the client id `ip@instance_name`. The default `DEFAULT` is replaced by
    /// `<pid>#<nanos>` so that every instance in a process has its own id.
    pub instance_name: String,
    /// The IP announced in the client id and message ids. `None`: the local address of the
    /// route to the first NameServer (falls back to 127.0.0.1).
    pub client_ip: Option<IpAddr>,
    /// Optional unit name, appended to the client id as `@unit`.
    pub unit_name: Option<String>,
    /// Period of the topic-route refresh. Default 30 000 (`pollNameServerInterval`).
    pub poll_name_server_interval_ms: u64,
    /// Period of heartbeats to every broker. Default 30 000 (`heartbeatBrokerInterval`).
    pub heartbeat_broker_interval_ms: u64,
    /// Period of consumer-offset persistence. Default 5 000 (`persistConsumerOffsetInterval`).
    pub persist_consumer_offset_interval_ms: u64,
    /// Period of consumer rebalancing. Default 20 000.
    pub rebalance_interval_ms: u64,
    /// Timeout of NameServer and administrative broker calls. Default 3 000.
    pub rpc_timeout_ms: u64,
    /// Threads that run completion callbacks of asynchronous sends (never the event loop).
    /// Default 2.
    pub callback_threads: usize,
    /// Settings of the instance's remoting event loop.
    pub remoting: RemotingConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addrs: Vec::new(),
            instance_name: DEFAULT_INSTANCE_NAME.to_string(),
            client_ip: None,
            unit_name: None,
            poll_name_server_interval_ms: 30_000,
            heartbeat_broker_interval_ms: 30_000,
            persist_consumer_offset_interval_ms: 5_000,
            rebalance_interval_ms: 20_000,
            rpc_timeout_ms: 3_000,
            callback_threads: 2,
            remoting: RemotingConfig::default(),
        }
    }
}

impl ClientConfig {
    /// Defaults with the NameServer list `addrs` (`;`-separated, whitespace ignored).
    pub fn new(addrs: &str) -> Self {
        ClientConfig {
            namesrv_addrs: parse_namesrv_list(addrs),
            ..Default::default()
        }
    }

    /// Defaults with the NameServer list from the `NAMESRV_ADDR` environment variable.
    pub fn from_env() -> Result<Self> {
        let addrs = std::env::var(NAMESRV_ADDR_ENV)
            .map_err(|_| Error::Config(format!("{NAMESRV_ADDR_ENV} is not set")))?;
        Ok(Self::new(&addrs))
    }

    /// Sets the instance name (builder style).
    pub fn with_instance_name(mut self, name: impl Into<String>) -> Self {
        self.instance_name = name.into();
        self
    }

    /// Checks every field; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        if self.namesrv_addrs.is_empty() {
            return Err(Error::Config("namesrvAddr: no NameServer address".into()));
        }
        for addr in &self.namesrv_addrs {
            if !is_host_port(addr) {
                return Err(Error::Config(format!(
                    "namesrvAddr: {addr:?} is not host:port"
                )));
            }
        }
        if self.instance_name.is_empty() || self.instance_name.contains('@') {
            return Err(Error::Config(format!(
                "instanceName: {:?} must be non-empty and contain no '@'",
                self.instance_name
            )));
        }
        let periods = [
            ("pollNameServerInterval", self.poll_name_server_interval_ms),
            ("heartbeatBrokerInterval", self.heartbeat_broker_interval_ms),
            (
                "persistConsumerOffsetInterval",
                self.persist_consumer_offset_interval_ms,
            ),
            ("rebalanceInterval", self.rebalance_interval_ms),
            ("mqClientApiTimeout", self.rpc_timeout_ms),
        ];
        for (key, value) in periods {
            if value == 0 {
                return Err(Error::Config(format!("{key} must be positive")));
            }
        }
        if self.callback_threads == 0 {
            return Err(Error::Config("callbackThreads must be positive".into()));
        }
        self.remoting
            .validate()
            .map_err(|e| Error::Config(format!("remoting: {e}")))
    }
}

/// Splits a `;`-separated NameServer list, dropping blanks.
pub fn parse_namesrv_list(addrs: &str) -> Vec<String> {
    addrs
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_host_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

impl fmt::Display for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "namesrvAddr={} instanceName={} clientIp={} pollNameServerInterval={} \
             heartbeatBrokerInterval={} persistConsumerOffsetInterval={} rebalanceInterval={} \
             rpcTimeout={} callbackThreads={}",
            self.namesrv_addrs.join(";"),
            self.instance_name,
            self.client_ip
                .map_or_else(|| "auto".to_string(), |ip| ip.to_string()),
            self.poll_name_server_interval_ms,
            self.heartbeat_broker_interval_ms,
            self.persist_consumer_offset_interval_ms,
            self.rebalance_interval_ms,
            self.rpc_timeout_ms,
            self.callback_threads
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_validates() {
        let c = ClientConfig::new(" 127.0.0.1:9876 ;; host:1;");
        assert_eq!(c.namesrv_addrs, ["127.0.0.1:9876", "host:1"]);
        assert_eq!(c.validate(), Ok(()));
        assert!(c.to_string().contains("namesrvAddr=127.0.0.1:9876;host:1"));
    }

    #[test]
    fn validate_names_the_bad_key() {
        let err = |c: ClientConfig| c.validate().unwrap_err().to_string();
        assert!(err(ClientConfig::new("")).contains("namesrvAddr"));
        assert!(err(ClientConfig::new("nohost")).contains("namesrvAddr"));
        assert!(err(ClientConfig::new("h:99999")).contains("namesrvAddr"));
        let c = ClientConfig::new("h:1").with_instance_name("a@b");
        assert!(err(c).contains("instanceName"));
        let c = ClientConfig {
            rebalance_interval_ms: 0,
            ..ClientConfig::new("h:1")
        };
        assert!(err(c).contains("rebalanceInterval"));
        let c = ClientConfig {
            callback_threads: 0,
            ..ClientConfig::new("h:1")
        };
        assert!(err(c).contains("callbackThreads"));
    }
}
