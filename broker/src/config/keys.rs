//! The properties-key table of [`BrokerConfig`]: [`BrokerConfig::set`] (key → field),
//! [`BrokerConfig::to_properties`] (field → key) and the value syntaxes (`messageDelayLevel`,
//! `deleteWhen`, booleans, numbers).

use std::path::PathBuf;
use std::str::FromStr;

use protocol::util::properties_file;

use super::{BrokerConfig, BrokerRole, FlushDiskType, REGISTER_NAME_SERVER_PERIOD_RANGE_MS};
use crate::error::{Error, Result};

/// Delay-level units, largest first (suffix, milliseconds).
const DELAY_UNITS: [(char, u64); 4] = [
    ('d', 86_400_000),
    ('h', 3_600_000),
    ('m', 60_000),
    ('s', 1_000),
];

/// Parses a `messageDelayLevel` value (`"1s 5s 10s 30s 1m ... 2h"`) into milliseconds per
/// level. Tokens are `<digits><s|m|h|d>` separated by whitespace; the error names the token.
pub fn parse_delay_levels(value: &str) -> std::result::Result<Vec<u64>, String> {
    let mut levels = Vec::new();
    for token in value.split_whitespace() {
        let bad = || format!("bad delay level {token:?} (expected e.g. 5s, 1m, 2h, 1d)");
        let unit = token.chars().last().ok_or_else(bad)?;
        let unit_ms = DELAY_UNITS
            .iter()
            .find(|(c, _)| *c == unit)
            .map(|(_, ms)| *ms)
            .ok_or_else(bad)?;
        let digits = &token[..token.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        levels.push(n.checked_mul(unit_ms).ok_or_else(bad)?);
    }
    if levels.is_empty() {
        return Err("no delay levels".into());
    }
    Ok(levels)
}

/// Writes delay levels back in `messageDelayLevel` syntax, each with the largest exact unit.
pub fn format_delay_levels(levels_ms: &[u64]) -> String {
    let token = |ms: u64| {
        DELAY_UNITS
            .iter()
            .find(|(_, unit)| ms != 0 && ms.is_multiple_of(*unit))
            .map_or_else(
                || format!("{}s", ms / 1_000),
                |(c, unit)| format!("{}{c}", ms / unit),
            )
    };
    levels_ms
        .iter()
        .map(|ms| token(*ms))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses `deleteWhen` (`04` or `03;04`) into hours of day.
pub(super) fn parse_delete_when(value: &str) -> std::result::Result<Vec<u8>, String> {
    let hours: std::result::Result<Vec<u8>, _> = value
        .split(';')
        .map(str::trim)
        .map(|h| h.parse::<u8>().ok().filter(|h| *h < 24).ok_or(h))
        .collect();
    hours.map_err(|h| format!("deleteWhen hour {h:?} is not within 00..23"))
}

fn invalid(key: &str, value: &str, expected: &str) -> Error {
    Error::InvalidConfig(format!(
        "invalid value {value:?} for {key} (expected {expected})"
    ))
}

fn num<T: FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(key, value, "a non-negative integer in range"))
}

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(key, value, "true or false")),
    }
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

impl BrokerConfig {
    /// Sets one key from its text value. `Ok(false)`: not a broker key (offer it to the store
    /// config, then warn). A bad value is an error naming the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        Ok(self.set_identity(key, value)?
            || self.set_topics(key, value)?
            || self.set_registration(key, value)?
            || self.set_clients(key, value)?
            || self.set_ha(key, value)?)
    }

    fn set_identity(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key {
            "rocketmqHome" => self.rocketmq_home = v.to_owned(),
            "brokerClusterName" => self.broker_cluster_name = v.to_owned(),
            "brokerName" => self.broker_name = v.to_owned(),
            "brokerId" => self.broker_id = num(key, v)?,
            "brokerIP1" => self.broker_ip1 = v.to_owned(),
            "brokerIP2" => self.broker_ip2 = optional(v),
            "bindAddress" => self.bind_address = v.to_owned(),
            "listenPort" => self.listen_port = num(key, v)?,
            "haListenPort" => self.ha_listen_port = Some(num(key, v)?),
            "namesrvAddr" => self.namesrv_addr = optional(v),
            "brokerConfigPath" => self.broker_config_path = optional(v).map(PathBuf::from),
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(v),
            "brokerRole" => {
                self.broker_role = BrokerRole::from_name(v)
                    .ok_or_else(|| invalid(key, v, "ASYNC_MASTER, SYNC_MASTER or SLAVE"))?
            }
            "flushDiskType" => {
                self.flush_disk_type = FlushDiskType::from_name(v)
                    .ok_or_else(|| invalid(key, v, "ASYNC_FLUSH or SYNC_FLUSH"))?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn set_topics(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key {
            "autoCreateTopicEnable" => self.auto_create_topic_enable = boolean(key, v)?,
            "autoCreateSubscriptionGroup" => self.auto_create_subscription_group = boolean(key, v)?,
            "defaultTopicQueueNums" => self.default_topic_queue_nums = num(key, v)?,
            "brokerPermission" => self.broker_permission = num(key, v)?,
            "clusterTopicEnable" => self.cluster_topic_enable = boolean(key, v)?,
            "brokerTopicEnable" => self.broker_topic_enable = boolean(key, v)?,
            "traceTopicEnable" => self.trace_topic_enable = boolean(key, v)?,
            "msgTraceTopicName" => self.msg_trace_topic_name = v.to_owned(),
            "maxMessageSize" => self.max_message_size_bytes = num(key, v)?,
            "messageDelayLevel" => {
                self.message_delay_levels_ms = parse_delay_levels(v)
                    .map_err(|e| Error::InvalidConfig(format!("invalid value for {key}: {e}")))?
            }
            "deleteWhen" => {
                parse_delete_when(v).map_err(Error::InvalidConfig)?;
                self.delete_when = v.to_owned();
            }
            "fileReservedTime" => self.file_reserved_hours = num(key, v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn set_registration(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key {
            "registerNameServerPeriod" => {
                let asked: u64 = num(key, v)?;
                let (lo, hi) = REGISTER_NAME_SERVER_PERIOD_RANGE_MS;
                let period = asked.clamp(lo, hi);
                if period != asked {
                    log::warn!("registerNameServerPeriod {asked} ms clamped to {period} ms");
                }
                self.register_name_server_period_ms = period;
            }
            "registerBrokerTimeoutMills" => self.register_broker_timeout_ms = num(key, v)?,
            "brokerNotActiveTimeoutMillis" | "heartbeatTimeoutMillis" => {
                self.broker_not_active_timeout_ms = num(key, v)?
            }
            "compressedRegister" => self.compressed_register = boolean(key, v)?,
            "forceRegister" => self.force_register = boolean(key, v)?,
            "enableActingMaster" | "enableSlaveActingMaster" => {
                self.enable_acting_master = boolean(key, v)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn set_clients(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key {
            "longPollingEnable" => self.long_polling_enable = boolean(key, v)?,
            "shortPollingTimeMills" => self.short_polling_time_ms = num(key, v)?,
            "notifyConsumerIdsChangedEnable" => {
                self.notify_consumer_ids_changed_enable = boolean(key, v)?
            }
            "transferMsgByHeap" => self.transfer_msg_by_heap = boolean(key, v)?,
            "rejectTransactionMessage" => self.reject_transaction_message = boolean(key, v)?,
            "transactionTimeOut" => self.transaction_timeout_ms = num(key, v)?,
            "transactionCheckMax" => self.transaction_check_max = num(key, v)?,
            "transactionCheckInterval" => self.transaction_check_interval_ms = num(key, v)?,
            "slaveReadEnable" => self.slave_read_enable = boolean(key, v)?,
            "offsetCheckInSlave" => self.offset_check_in_slave = boolean(key, v)?,
            "clientChannelExpiredTime" | "channelExpiredTimeout" => {
                self.client_channel_expired_time_ms = num(key, v)?
            }
            "rebalanceLockMaxLiveTime" => self.rebalance_lock_max_live_time_ms = num(key, v)?,
            "serverChannelMaxIdleTimeSeconds" => {
                self.server_channel_max_idle_time_secs = num(key, v)?
            }
            "flushConsumerOffsetInterval" => self.flush_consumer_offset_interval_ms = num(key, v)?,
            "frameMaxLength" | "maxFrameBytes" => self.frame_max_length_bytes = num(key, v)?,
            "osPageCacheBusyTimeOutMills" => self.os_page_cache_busy_timeout_ms = num(key, v)?,
            "maxSendsAwaitingFlush" => self.max_sends_awaiting_flush = num(key, v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn set_ha(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key {
            "haMasterAddress" => self.ha_master_address = optional(v),
            "haSendHeartbeatInterval" => self.ha_send_heartbeat_interval_ms = num(key, v)?,
            "haHousekeepingInterval" => self.ha_housekeeping_interval_ms = num(key, v)?,
            "haTransferBatchSize" => self.ha_transfer_batch_bytes = num(key, v)?,
            "haMaxGapNotInSync" => self.ha_max_gap_not_in_sync_bytes = num(key, v)?,
            "haReconnectInterval" => self.ha_reconnect_interval_ms = num(key, v)?,
            "slaveSyncMetadataInterval" => self.slave_sync_metadata_interval_ms = num(key, v)?,
            "enableAutoPromote" => self.enable_auto_promote = boolean(key, v)?,
            "autoPromoteAfterMs" => self.auto_promote_after_ms = num(key, v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Applies a properties file's text in order (the last duplicate wins). Returns the
    /// `(key, value)` pairs that are not broker keys, for the store config; a bad value is an
    /// error naming the key and the line.
    pub fn apply_properties(&mut self, text: &str) -> Result<Vec<(String, String)>> {
        let props = properties_file::parse(text)
            .map_err(|e| Error::InvalidConfig(format!("properties file: {e}")))?;
        let mut unknown = Vec::new();
        for p in props {
            let known = self.set(&p.key, &p.value).map_err(|e| match e {
                Error::InvalidConfig(msg) => {
                    Error::InvalidConfig(format!("line {}: {msg}", p.line))
                }
                other => other,
            })?;
            if !known {
                unknown.push((p.key, p.value));
            }
        }
        Ok(unknown)
    }

    /// Every key with its effective value, sorted by key.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut e = self.identity_entries();
        e.extend(self.behaviour_entries());
        e.sort_by(|a, b| a.0.cmp(b.0));
        e
    }

    fn identity_entries(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("rocketmqHome", self.rocketmq_home.clone()),
            ("brokerClusterName", self.broker_cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("brokerIP1", self.broker_ip1.clone()),
            ("brokerIP2", self.effective_broker_ip2().to_owned()),
            ("bindAddress", self.bind_address.clone()),
            ("listenPort", self.listen_port.to_string()),
            ("haListenPort", self.effective_ha_listen_port().to_string()),
            ("namesrvAddr", opt(&self.namesrv_addr)),
            (
                "storePathRootDir",
                self.store_path_root_dir.display().to_string(),
            ),
            ("brokerRole", self.broker_role.name().to_owned()),
            ("flushDiskType", self.flush_disk_type.name().to_owned()),
            ("haMasterAddress", opt(&self.ha_master_address)),
            (
                "brokerConfigPath",
                self.broker_config_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("msgTraceTopicName", self.msg_trace_topic_name.clone()),
            (
                "messageDelayLevel",
                format_delay_levels(&self.message_delay_levels_ms),
            ),
            ("deleteWhen", self.delete_when.clone()),
        ]
    }

    fn behaviour_entries(&self) -> Vec<(&'static str, String)> {
        let s = |v: &dyn ToString| v.to_string();
        vec![
            ("autoCreateTopicEnable", s(&self.auto_create_topic_enable)),
            (
                "autoCreateSubscriptionGroup",
                s(&self.auto_create_subscription_group),
            ),
            ("defaultTopicQueueNums", s(&self.default_topic_queue_nums)),
            ("brokerPermission", s(&self.broker_permission)),
            ("clusterTopicEnable", s(&self.cluster_topic_enable)),
            ("brokerTopicEnable", s(&self.broker_topic_enable)),
            ("traceTopicEnable", s(&self.trace_topic_enable)),
            ("maxMessageSize", s(&self.max_message_size_bytes)),
            ("fileReservedTime", s(&self.file_reserved_hours)),
            (
                "registerNameServerPeriod",
                s(&self.register_name_server_period_ms),
            ),
            (
                "registerBrokerTimeoutMills",
                s(&self.register_broker_timeout_ms),
            ),
            (
                "brokerNotActiveTimeoutMillis",
                s(&self.broker_not_active_timeout_ms),
            ),
            ("compressedRegister", s(&self.compressed_register)),
            ("forceRegister", s(&self.force_register)),
            ("enableActingMaster", s(&self.enable_acting_master)),
            ("longPollingEnable", s(&self.long_polling_enable)),
            ("shortPollingTimeMills", s(&self.short_polling_time_ms)),
            (
                "notifyConsumerIdsChangedEnable",
                s(&self.notify_consumer_ids_changed_enable),
            ),
            ("transferMsgByHeap", s(&self.transfer_msg_by_heap)),
            (
                "rejectTransactionMessage",
                s(&self.reject_transaction_message),
            ),
            ("transactionTimeOut", s(&self.transaction_timeout_ms)),
            ("transactionCheckMax", s(&self.transaction_check_max)),
            (
                "transactionCheckInterval",
                s(&self.transaction_check_interval_ms),
            ),
            ("slaveReadEnable", s(&self.slave_read_enable)),
            ("offsetCheckInSlave", s(&self.offset_check_in_slave)),
            (
                "clientChannelExpiredTime",
                s(&self.client_channel_expired_time_ms),
            ),
            (
                "rebalanceLockMaxLiveTime",
                s(&self.rebalance_lock_max_live_time_ms),
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                s(&self.server_channel_max_idle_time_secs),
            ),
            (
                "flushConsumerOffsetInterval",
                s(&self.flush_consumer_offset_interval_ms),
            ),
            (
                "haSendHeartbeatInterval",
                s(&self.ha_send_heartbeat_interval_ms),
            ),
            (
                "haHousekeepingInterval",
                s(&self.ha_housekeeping_interval_ms),
            ),
            ("haTransferBatchSize", s(&self.ha_transfer_batch_bytes)),
            ("haMaxGapNotInSync", s(&self.ha_max_gap_not_in_sync_bytes)),
            ("haReconnectInterval", s(&self.ha_reconnect_interval_ms)),
            (
                "slaveSyncMetadataInterval",
                s(&self.slave_sync_metadata_interval_ms),
            ),
            ("enableAutoPromote", s(&self.enable_auto_promote)),
            ("autoPromoteAfterMs", s(&self.auto_promote_after_ms)),
            ("frameMaxLength", s(&self.frame_max_length_bytes)),
            (
                "osPageCacheBusyTimeOutMills",
                s(&self.os_page_cache_busy_timeout_ms),
            ),
            ("maxSendsAwaitingFlush", s(&self.max_sends_awaiting_flush)),
        ]
    }

    /// The effective configuration as sorted `key=value` lines, each ending in `\n` (the
    /// GET_BROKER_CONFIG body and `mqbroker -p` output). Parses back to the same configuration.
    pub fn to_properties(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.entries() {
            out.push_str(key);
            out.push('=');
            out.push_str(&escape_value(&value));
            out.push('\n');
        }
        out
    }
}

/// Escapes what the properties parser would otherwise change: backslashes and line breaks.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}
