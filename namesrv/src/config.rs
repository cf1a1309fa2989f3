//! `NamesrvConfig`: every setting of the NameServer, with RocketMQ's key names.
//!
//! Precedence: defaults < `-c namesrv.conf` (`key=value`) < command-line flags. Unknown keys are
//! logged and ignored, as RocketMQ does, so an operator's existing file works; a known key with a
//! bad value is an error naming the key.

use std::fmt;
use std::path::PathBuf;

use protocol::util::properties_file;

/// Default client port.
pub const DEFAULT_LISTEN_PORT: u16 = 9876;

/// NameServer configuration. Field docs give the properties key, unit and default.
#[derive(Debug, Clone, PartialEq)]
pub struct NamesrvConfig {
    /// `listenPort`: TCP port for brokers and clients. Default 9876.
    pub listen_port: u16,
    /// `bindAddress`: address to listen on. Default `0.0.0.0`.
    pub bind_address: String,
    /// `rocketmqHome`: base directory (env `ROCKETMQ_HOME`); informational.
    pub rocketmq_home: String,
    /// `kvConfigPath`: KV config file. Default `~/namesrv/kvConfig.json`.
    pub kv_config_path: PathBuf,
    /// `orderMessageEnable`: attach `orderTopicConf` from the KV namespace ORDER_TOPIC_CONFIG to
    /// routes. Default false.
    pub order_message_enable: bool,
    /// `scanNotActiveBrokerInterval`: liveness scan period in ms. Default 5000.
    pub scan_not_active_broker_interval_ms: u64,
    /// `brokerChannelExpiredTime` (ferromq extension): broker expiry in ms when the broker's
    /// registration carries no `heartbeatTimeoutMillis`. Default 120000.
    pub broker_channel_expired_time_ms: u64,
    /// `serverChannelMaxIdleTimeSeconds`: idle connections are closed after this. Default 120.
    pub server_channel_max_idle_time_secs: u64,
    /// `frameMaxLength`: largest accepted frame in bytes. Default 16 MiB.
    pub frame_max_length_bytes: usize,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        NamesrvConfig {
            listen_port: DEFAULT_LISTEN_PORT,
            bind_address: "0.0.0.0".into(),
            rocketmq_home: std::env::var("ROCKETMQ_HOME").unwrap_or_default(),
            kv_config_path: PathBuf::from(home).join("namesrv").join("kvConfig.json"),
            order_message_enable: false,
            scan_not_active_broker_interval_ms: 5_000,
            broker_channel_expired_time_ms: 120_000,
            server_channel_max_idle_time_secs: 120,
            frame_max_length_bytes: protocol::frame::DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("invalid value {value:?} for {key}")))
}

impl NamesrvConfig {
    /// Sets one key. Returns `Ok(false)` for a key this NameServer does not know (ignored).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        match key {
            "listenPort" => self.listen_port = parse(key, value)?,
            "bindAddress" => self.bind_address = value.to_string(),
            "rocketmqHome" => self.rocketmq_home = value.to_string(),
            "kvConfigPath" => self.kv_config_path = PathBuf::from(value),
            "orderMessageEnable" => self.order_message_enable = parse(key, value)?,
            "scanNotActiveBrokerInterval" => {
                self.scan_not_active_broker_interval_ms = parse(key, value)?
            }
            "brokerChannelExpiredTime" => self.broker_channel_expired_time_ms = parse(key, value)?,
            "serverChannelMaxIdleTimeSeconds" => {
                self.server_channel_max_idle_time_secs = parse(key, value)?
            }
            "frameMaxLength" => self.frame_max_length_bytes = parse(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Applies a properties file's text; unknown keys are returned for the caller to log.
    pub fn apply_properties(&mut self, text: &str) -> Result<Vec<String>, ConfigError> {
        let props = properties_file::parse(text).map_err(|e| ConfigError(e.to_string()))?;
        let mut unknown = Vec::new();
        for p in props {
            let known = self
                .set(&p.key, &p.value)
                .map_err(|e| ConfigError(format!("line {}: {e}", p.line)))?;
            if !known {
                unknown.push(p.key);
            }
        }
        Ok(unknown)
    }

    /// Checks cross-field constraints.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.scan_not_active_broker_interval_ms == 0 {
            return Err(ConfigError(
                "scanNotActiveBrokerInterval must be positive".into(),
            ));
        }
        if self.broker_channel_expired_time_ms == 0 {
            return Err(ConfigError(
                "brokerChannelExpiredTime must be positive".into(),
            ));
        }
        if self.frame_max_length_bytes < 1024 {
            return Err(ConfigError("frameMaxLength must be at least 1024".into()));
        }
        Ok(())
    }

    /// The effective configuration as `key=value` lines (RocketMQ's `-p` output and
    /// GET_NAMESRV_CONFIG body).
    pub fn to_properties(&self) -> String {
        format!(
            "bindAddress={}\nbrokerChannelExpiredTime={}\nframeMaxLength={}\nkvConfigPath={}\n\
             listenPort={}\norderMessageEnable={}\nrocketmqHome={}\n\
             scanNotActiveBrokerInterval={}\nserverChannelMaxIdleTimeSeconds={}\n",
            self.bind_address,
            self.broker_channel_expired_time_ms,
            self.frame_max_length_bytes,
            self.kv_config_path.display(),
            self.listen_port,
            self.order_message_enable,
            self.rocketmq_home,
            self.scan_not_active_broker_interval_ms,
            self.server_channel_max_idle_time_secs,
        )
    }
}

impl fmt::Display for NamesrvConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_properties())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_unknown_keys_are_reported() {
        let mut c = NamesrvConfig::default();
        let unknown = c
            .apply_properties("listenPort=9877\nkvConfigPath=/tmp/kv.json\nfooBar=1\n")
            .unwrap();
        assert_eq!(c.listen_port, 9877);
        assert_eq!(c.kv_config_path, PathBuf::from("/tmp/kv.json"));
        assert_eq!(unknown, vec!["fooBar".to_string()]);
        c.validate().unwrap();
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let mut c = NamesrvConfig::default();
        let err = c.apply_properties("\nlistenPort=abc\n").unwrap_err();
        assert!(
            err.0.contains("listenPort") && err.0.contains("line 2"),
            "{err}"
        );
        c.scan_not_active_broker_interval_ms = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn printed_config_parses_back_to_the_same() {
        let c = NamesrvConfig {
            listen_port: 1234,
            order_message_enable: true,
            ..Default::default()
        };
        let mut d = NamesrvConfig::default();
        assert!(d.apply_properties(&c.to_properties()).unwrap().is_empty());
        assert_eq!(c, d);
    }
}
