//! `BrokerConfig`: the broker's settings with RocketMQ's property keys, one source of defaults.
//!
//! Precedence (applied by the binary): defaults < `-c broker.conf` < command-line flags.
//! [`BrokerConfig::set`] knows the broker keys; a key it does not know returns `Ok(false)` so
//! the caller can offer it to the message-store config and warn if nobody takes it. A known key
//! with a bad value is an [`Error::InvalidConfig`] naming the key (and the line, from
//! [`BrokerConfig::apply_properties`]).
//!
//! Keys that belong to the message store (segment sizes, flush intervals, `syncFlushTimeout`,
//! ...) are not here; `brokerRole`, `flushDiskType`, `storePathRootDir`, `maxMessageSize`,
//! `messageDelayLevel`, `deleteWhen` and `fileReservedTime` are, because the broker's
//! managers and processors need them too.
//!
//! The key ↔ field table is [`BrokerConfig::to_properties`] (`keys.rs`); every field's doc
//! below starts with its key.

mod keys;
pub mod local_ip;

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

pub use keys::{format_delay_levels, parse_delay_levels};

/// Default client port (`listenPort`).
pub const DEFAULT_LISTEN_PORT: u16 = 10911;
/// Default `messageDelayLevel`.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
/// Lowest and highest allowed `registerNameServerPeriod` in ms (Java clamps to this range).
pub const REGISTER_NAME_SERVER_PERIOD_RANGE_MS: (u64, u64) = (10_000, 60_000);

/// A broker's replication role (Java `BrokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BrokerRole {
    /// Master; sends succeed without waiting for slaves (the default).
    #[default]
    AsyncMaster,
    /// Master; sends wait until a slave has the message.
    SyncMaster,
    /// Slave: replicates a master, serves reads only.
    Slave,
}

impl BrokerRole {
    /// The RocketMQ name (`ASYNC_MASTER`, `SYNC_MASTER`, `SLAVE`).
    pub fn name(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    /// Parses a RocketMQ name, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AsyncMaster, Self::SyncMaster, Self::Slave]
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// When the commit log is forced to disk (Java `FlushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FlushDiskType {
    /// A background thread flushes periodically (the default).
    #[default]
    AsyncFlush,
    /// Sends wait for the flush (group commit).
    SyncFlush,
}

impl FlushDiskType {
    /// The RocketMQ name (`ASYNC_FLUSH`, `SYNC_FLUSH`).
    pub fn name(self) -> &'static str {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
    }

    /// Parses a RocketMQ name, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AsyncFlush, Self::SyncFlush]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// Facts about the host that some defaults come from; [`HostFacts::detect`] reads them, tests
/// build them by hand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// Env `HOSTNAME` (default `brokerName`).
    pub hostname: Option<String>,
    /// Env `NAMESRV_ADDR` (default `namesrvAddr`).
    pub namesrv_addr: Option<String>,
    /// Env `HOME` (parent of the default `storePathRootDir`).
    pub home: Option<String>,
    /// Env `ROCKETMQ_HOME`.
    pub rocketmq_home: Option<String>,
    /// The machine's address (default `brokerIP1`).
    pub local_ip: String,
}

impl HostFacts {
    /// Reads the environment and `/proc/net` (never a socket).
    pub fn detect() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        HostFacts {
            hostname: env("HOSTNAME"),
            namesrv_addr: env("NAMESRV_ADDR"),
            home: env("HOME"),
            rocketmq_home: env("ROCKETMQ_HOME"),
            local_ip: local_ip::detect_broker_ip(),
        }
    }
}

/// Broker configuration. Each field's doc gives the properties key, the unit and the default.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    /// `rocketmqHome`: installation directory (env `ROCKETMQ_HOME`); informational.
    pub rocketmq_home: String,
    /// `brokerClusterName`: cluster this broker registers in. Default `DefaultCluster`.
    pub broker_cluster_name: String,
    /// `brokerName`: the master/slave set name. Default env `HOSTNAME`, else `broker-a`.
    pub broker_name: String,
    /// `brokerId`: 0 = master, ≥ 1 = slave. Default 0.
    pub broker_id: u64,
    /// `brokerIP1`: address clients use (brokerAddr = `brokerIP1:listenPort`, also the store
    /// host in message ids). Default: the first non-loopback IPv4 from `/proc/net`, else
    /// 127.0.0.1.
    pub broker_ip1: String,
    /// `brokerIP2`: address slaves use for HA. Default (None): `brokerIP1`.
    pub broker_ip2: Option<String>,
    /// `bindAddress` (ferromq extension): local address the listeners bind. Default `0.0.0.0`.
    pub bind_address: String,
    /// `listenPort`: client port. Default 10911. 0 = ephemeral (tests); the derived HA and
    /// fast ports are then 0 too.
    pub listen_port: u16,
    /// `haListenPort`: HA port. Default (None): `listenPort + 1`.
    pub ha_listen_port: Option<u16>,
    /// `namesrvAddr`: `;`-separated NameServer `host:port` list. Default env `NAMESRV_ADDR`.
    pub namesrv_addr: Option<String>,
    /// `storePathRootDir`: store directory. Default `$HOME/store`.
    pub store_path_root_dir: PathBuf,
    /// `brokerRole`: `ASYNC_MASTER` | `SYNC_MASTER` | `SLAVE`. Default `ASYNC_MASTER`.
    pub broker_role: BrokerRole,
    /// `flushDiskType`: `ASYNC_FLUSH` | `SYNC_FLUSH`. Default `ASYNC_FLUSH`.
    pub flush_disk_type: FlushDiskType,
    /// `autoCreateTopicEnable`: create `TBW102` so producers can auto-create topics. Default true.
    pub auto_create_topic_enable: bool,
    /// `autoCreateSubscriptionGroup`: create unknown consumer groups on first use. Default true.
    pub auto_create_subscription_group: bool,
    /// `defaultTopicQueueNums`: queues of `TBW102` (and so the cap for auto-created topics).
    /// Default 4, as the product spec fixes it and as clients ask by default (Java's
    /// `BrokerConfig` uses 8; set 8 here to match a Java broker exactly).
    pub default_topic_queue_nums: i32,
    /// `brokerPermission`: permission bits of the whole broker (6 = read + write). Default 6.
    pub broker_permission: i32,
    /// `clusterTopicEnable`: the cluster-name topic is readable/writable. Default true.
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable`: the broker-name topic is readable/writable. Default true.
    pub broker_topic_enable: bool,
    /// `traceTopicEnable`: create the message-trace topic. Default false.
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName`: the trace topic's name. Default `RMQ_SYS_TRACE_TOPIC`.
    pub msg_trace_topic_name: String,
    /// `maxMessageSize`: largest message body in bytes. Default 4 MiB.
    pub max_message_size_bytes: usize,
    /// `messageDelayLevel`: delay of each level in ms (level L = element L−1), written as
    /// space-separated `<n><s|m|h|d>` tokens. Default 18 levels, 1s … 2h.
    pub message_delay_levels_ms: Vec<u64>,
    /// `deleteWhen`: hour(s) of day (`04`, or `03;04`) when expired files are deleted.
    /// Default `04`.
    pub delete_when: String,
    /// `fileReservedTime`: hours commit-log files are kept. Default 72.
    pub file_reserved_hours: u32,
    /// `registerNameServerPeriod`: ms between registrations, clamped to 10000..=60000 when set.
    /// Default 30000.
    pub register_name_server_period_ms: u64,
    /// `registerBrokerTimeoutMills`: ms to wait for each NameServer's reply. Default 6000.
    pub register_broker_timeout_ms: u64,
    /// `brokerNotActiveTimeoutMillis` (also accepted: `heartbeatTimeoutMillis`): ms without
    /// registration after which NameServers drop this broker (sent in the registration header).
    /// Default 120000.
    pub broker_not_active_timeout_ms: u64,
    /// `compressedRegister`: send REGISTER_BROKER bodies zlib-compressed. Default false.
    pub compressed_register: bool,
    /// `forceRegister`: register even when the topic-config version is unchanged. Default true.
    pub force_register: bool,
    /// `enableActingMaster` (also accepted: `enableSlaveActingMaster`): let NameServers treat
    /// the lowest slave as acting master. Default false.
    pub enable_acting_master: bool,
    /// `longPollingEnable`: hold pull requests until messages arrive. Default true.
    pub long_polling_enable: bool,
    /// `shortPollingTimeMills`: ms a pull is held when long polling is off. Default 1000.
    pub short_polling_time_ms: u64,
    /// `notifyConsumerIdsChangedEnable`: tell group members when membership changes.
    /// Default true.
    pub notify_consumer_ids_changed_enable: bool,
    /// `transferMsgByHeap`: copy pulled messages through memory instead of sending them from
    /// the store files with sendfile(2). Default false: ferromq uses sendfile (Java defaults
    /// to true).
    pub transfer_msg_by_heap: bool,
    /// `rejectTransactionMessage`: refuse transactional (half) messages. Default false.
    pub reject_transaction_message: bool,
    /// `transactionTimeOut`: ms before an unresolved half message is first checked. Default 6000.
    pub transaction_timeout_ms: u64,
    /// `transactionCheckMax`: checks before a half message is discarded. Default 15.
    pub transaction_check_max: u32,
    /// `transactionCheckInterval`: ms between check runs. Default 30000.
    pub transaction_check_interval_ms: u64,
    /// `slaveReadEnable`: suggest slaves to consumers that lag. Default false.
    pub slave_read_enable: bool,
    /// `offsetCheckInSlave`: a slave corrects consumers' bad pull offsets too. Default false.
    pub offset_check_in_slave: bool,
    /// `clientChannelExpiredTime` (ferromq name; Java 5.x `channelExpiredTimeout` is also
    /// accepted): ms without heartbeat after which a client connection is dropped.
    /// Default 120000.
    pub client_channel_expired_time_ms: u64,
    /// `rebalanceLockMaxLiveTime` (ferromq extension; Java's system property
    /// `rocketmq.broker.rebalance.lockMaxLiveTime`): ms an ordered-queue lock lives without
    /// renewal. Default 60000.
    pub rebalance_lock_max_live_time_ms: u64,
    /// `serverChannelMaxIdleTimeSeconds`: idle connections are closed after this. Default 120.
    pub server_channel_max_idle_time_secs: u64,
    /// `flushConsumerOffsetInterval`: ms between consumer-offset persists. Default 5000.
    pub flush_consumer_offset_interval_ms: u64,
    /// `haMasterAddress`: the master's HA `ip:port` for a slave; None = learn it from the
    /// NameServer registration.
    pub ha_master_address: Option<String>,
    /// `haSendHeartbeatInterval`: ms between a slave's offset reports. Default 5000.
    pub ha_send_heartbeat_interval_ms: u64,
    /// `haHousekeepingInterval`: ms of silence after which an HA link is closed. Default 20000.
    pub ha_housekeeping_interval_ms: u64,
    /// `haTransferBatchSize`: largest HA push in bytes. Default 32768.
    pub ha_transfer_batch_bytes: usize,
    /// `haMaxGapNotInSync`: bytes a slave may lag before SYNC_MASTER sends fail fast with
    /// SLAVE_NOT_AVAILABLE. Default 256 MiB.
    pub ha_max_gap_not_in_sync_bytes: u64,
    /// `haReconnectInterval` (ferromq extension; RocketMQ fixes 5 s): ms between a slave's
    /// attempts to connect to its master's HA port. Default 5000.
    pub ha_reconnect_interval_ms: u64,
    /// `slaveSyncMetadataInterval` (ferromq extension; RocketMQ 4.x fixes 10 s): ms between a
    /// slave's copies of its master's topics, offsets, delay offsets and groups. Default 10000.
    pub slave_sync_metadata_interval_ms: u64,
    /// `enableAutoPromote` (ferromq extension): a slave whose master is gone (HA link down and
    /// no brokerId 0 at the NameServers for `autoPromoteAfterMs`) promotes itself, if it has
    /// the lowest id. Default false.
    pub enable_auto_promote: bool,
    /// `autoPromoteAfterMs` (ferromq extension): see `enableAutoPromote`. Default 30000.
    pub auto_promote_after_ms: u64,
    /// `frameMaxLength` (also accepted: `maxFrameBytes`): largest accepted frame in bytes.
    /// Default 16 MiB.
    pub frame_max_length_bytes: usize,
    /// `brokerConfigPath`: the `broker.conf` this configuration came from (set by `mqbroker
    /// -c`); UPDATE_BROKER_CONFIG writes changed keys back to it. Default: none.
    pub broker_config_path: Option<PathBuf>,
    /// `osPageCacheBusyTimeOutMills`: sends are answered SYSTEM_BUSY while another thread has
    /// held the commitlog append lock longer than this. Default 1000.
    pub os_page_cache_busy_timeout_ms: u64,
    /// `maxSendsAwaitingFlush` (ferromq; the counterpart of Java's
    /// `sendThreadPoolQueueCapacity`): sends are answered SYSTEM_BUSY while this many earlier
    /// sends still wait for their SYNC_FLUSH group commit. Default 10000.
    pub max_sends_awaiting_flush: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig::with_host(&HostFacts::detect())
    }
}

impl BrokerConfig {
    /// The defaults, taking host-dependent ones from `host`.
    pub fn with_host(host: &HostFacts) -> Self {
        let home = host.home.clone().unwrap_or_else(|| ".".into());
        BrokerConfig {
            rocketmq_home: host.rocketmq_home.clone().unwrap_or_default(),
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: host.hostname.clone().unwrap_or_else(|| "broker-a".into()),
            broker_id: 0,
            broker_ip1: host.local_ip.clone(),
            broker_ip2: None,
            bind_address: "0.0.0.0".into(),
            listen_port: DEFAULT_LISTEN_PORT,
            ha_listen_port: None,
            namesrv_addr: host.namesrv_addr.clone(),
            store_path_root_dir: PathBuf::from(home).join("store"),
            broker_role: BrokerRole::AsyncMaster,
            flush_disk_type: FlushDiskType::AsyncFlush,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 4,
            broker_permission: protocol::body::perm::PERM_READ_WRITE,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic_enable: false,
            msg_trace_topic_name: crate::manager::topic_validator::RMQ_SYS_TRACE_TOPIC.into(),
            max_message_size_bytes: 4 * 1024 * 1024,
            message_delay_levels_ms: vec![
                1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000,
                420_000, 480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
            ],
            delete_when: "04".into(),
            file_reserved_hours: 72,
            register_name_server_period_ms: 30_000,
            register_broker_timeout_ms: 6_000,
            broker_not_active_timeout_ms: 120_000,
            compressed_register: false,
            force_register: true,
            enable_acting_master: false,
            long_polling_enable: true,
            short_polling_time_ms: 1_000,
            notify_consumer_ids_changed_enable: true,
            transfer_msg_by_heap: false,
            reject_transaction_message: false,
            transaction_timeout_ms: 6_000,
            transaction_check_max: 15,
            transaction_check_interval_ms: 30_000,
            slave_read_enable: false,
            offset_check_in_slave: false,
            client_channel_expired_time_ms: 120_000,
            rebalance_lock_max_live_time_ms: 60_000,
            server_channel_max_idle_time_secs: 120,
            flush_consumer_offset_interval_ms: 5_000,
            ha_master_address: None,
            ha_send_heartbeat_interval_ms: 5_000,
            ha_housekeeping_interval_ms: 20_000,
            ha_transfer_batch_bytes: 32 * 1024,
            ha_max_gap_not_in_sync_bytes: 256 * 1024 * 1024,
            ha_reconnect_interval_ms: 5_000,
            slave_sync_metadata_interval_ms: 10_000,
            enable_auto_promote: false,
            auto_promote_after_ms: 30_000,
            frame_max_length_bytes: protocol::frame::DEFAULT_MAX_FRAME_BYTES,
            broker_config_path: None,
            os_page_cache_busy_timeout_ms: 1_000,
            max_sends_awaiting_flush: 10_000,
        }
    }

    /// `brokerIP1:listenPort`: the address registered with NameServers and stored in messages.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    /// The effective `brokerIP2` (`brokerIP1` when unset).
    pub fn effective_broker_ip2(&self) -> &str {
        self.broker_ip2.as_deref().unwrap_or(&self.broker_ip1)
    }

    /// The effective HA port: `haListenPort`, else `listenPort + 1` (0 when `listenPort` is 0).
    pub fn effective_ha_listen_port(&self) -> u16 {
        match (self.ha_listen_port, self.listen_port) {
            (Some(port), _) => port,
            (None, 0) => 0,
            (None, port) => port.saturating_add(1),
        }
    }

    /// The "VIP"/fast port older Java clients use: `listenPort − 2` (0 when that underflows).
    pub fn fast_listen_port(&self) -> u16 {
        self.listen_port.saturating_sub(2)
    }

    /// `brokerIP2:haListenPort`: the HA address given to NameServers for slaves.
    pub fn ha_server_addr(&self) -> String {
        format!(
            "{}:{}",
            self.effective_broker_ip2(),
            self.effective_ha_listen_port()
        )
    }

    /// The NameServer addresses of `namesrvAddr`, trimmed, empty entries dropped.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether this broker is a master (`brokerRole` other than `SLAVE`).
    pub fn is_master(&self) -> bool {
        self.broker_role != BrokerRole::Slave
    }

    /// Java `BrokerStartup`'s fix-up: a master's `brokerId` is always 0.
    pub fn normalize(&mut self) {
        if self.is_master() && self.broker_id != 0 {
            log::info!(
                "brokerRole {} forces brokerId {} to 0",
                self.broker_role.name(),
                self.broker_id
            );
            self.broker_id = 0;
        }
    }

    /// Checks values and cross-field constraints; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        for (key, value) in [
            ("brokerClusterName", &self.broker_cluster_name),
            ("brokerName", &self.broker_name),
            ("brokerIP1", &self.broker_ip1),
        ] {
            if value.trim().is_empty() || value.contains(char::is_whitespace) {
                return bad(format!("{key} must be a non-empty word, got {value:?}"));
            }
        }
        if self.broker_role == BrokerRole::Slave && self.broker_id == 0 {
            return bad("brokerId must be > 0 for brokerRole SLAVE".into());
        }
        if self.is_master() && self.broker_id != 0 {
            return bad(format!(
                "brokerId must be 0 for brokerRole {}",
                self.broker_role.name()
            ));
        }
        if self.default_topic_queue_nums <= 0 {
            return bad("defaultTopicQueueNums must be positive".into());
        }
        if !(0..=15).contains(&self.broker_permission) {
            return bad("brokerPermission must be a bit set within 0..=15".into());
        }
        if self.max_message_size_bytes == 0
            || self.max_message_size_bytes >= self.frame_max_length_bytes
        {
            return bad("maxMessageSize must be positive and below frameMaxLength".into());
        }
        if self.message_delay_levels_ms.is_empty() {
            return bad("messageDelayLevel must list at least one level".into());
        }
        keys::parse_delete_when(&self.delete_when).map_err(Error::InvalidConfig)?;
        let (lo, hi) = REGISTER_NAME_SERVER_PERIOD_RANGE_MS;
        if !(lo..=hi).contains(&self.register_name_server_period_ms) {
            return bad(format!("registerNameServerPeriod must be in {lo}..={hi}"));
        }
        for addr in self.namesrv_addrs() {
            if !is_host_port(&addr) {
                return bad(format!("namesrvAddr entry {addr:?} is not host:port"));
            }
        }
        if let Some(addr) = self.ha_master_address.as_deref() {
            if !is_host_port(addr) {
                return bad(format!("haMasterAddress {addr:?} is not host:port"));
            }
        }
        self.validate_positive()
    }

    /// Every duration, count and size that must be > 0.
    fn validate_positive(&self) -> Result<()> {
        let values: [(&str, u64); 18] = [
            (
                "registerBrokerTimeoutMills",
                self.register_broker_timeout_ms,
            ),
            (
                "brokerNotActiveTimeoutMillis",
                self.broker_not_active_timeout_ms,
            ),
            ("shortPollingTimeMills", self.short_polling_time_ms),
            ("transactionTimeOut", self.transaction_timeout_ms),
            (
                "transactionCheckInterval",
                self.transaction_check_interval_ms,
            ),
            (
                "clientChannelExpiredTime",
                self.client_channel_expired_time_ms,
            ),
            (
                "rebalanceLockMaxLiveTime",
                self.rebalance_lock_max_live_time_ms,
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                self.server_channel_max_idle_time_secs,
            ),
            (
                "flushConsumerOffsetInterval",
                self.flush_consumer_offset_interval_ms,
            ),
            (
                "haSendHeartbeatInterval",
                self.ha_send_heartbeat_interval_ms,
            ),
            ("haHousekeepingInterval", self.ha_housekeeping_interval_ms),
            ("haTransferBatchSize", self.ha_transfer_batch_bytes as u64),
            ("haReconnectInterval", self.ha_reconnect_interval_ms),
            (
                "slaveSyncMetadataInterval",
                self.slave_sync_metadata_interval_ms,
            ),
            ("autoPromoteAfterMs", self.auto_promote_after_ms),
            ("fileReservedTime", u64::from(self.file_reserved_hours)),
            (
                "osPageCacheBusyTimeOutMills",
                self.os_page_cache_busy_timeout_ms,
            ),
            (
                "maxSendsAwaitingFlush",
                self.max_sends_awaiting_flush as u64,
            ),
        ];
        match values.iter().find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(Error::InvalidConfig(format!("{key} must be positive"))),
            None if self.frame_max_length_bytes < 1024 => Err(Error::InvalidConfig(
                "frameMaxLength must be at least 1024".into(),
            )),
            None => Ok(()),
        }
    }
}

/// Whether `addr` looks like `host:port` with a valid, non-zero port.
fn is_host_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0),
        None => false,
    }
}

impl fmt::Display for BrokerConfig {
    /// The effective configuration as sorted `key=value` lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_properties())
    }
}

#[cfg(test)]
mod tests;
