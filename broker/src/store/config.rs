//! `StoreConfig`: every store setting, with RocketMQ's `MessageStoreConfig` key names.
//!
//! Owns defaults, validation and `key=value` setting; the broker's properties-file parser calls
//! [`StoreConfig::set`] for each line and falls through to its own keys on
//! [`Error::UnknownConfigKey`].

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Bytes of one consume-queue unit.
pub const CQ_UNIT_BYTES: u64 = 20;

/// When the producer's reply waits for the disk (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH`: a flush thread syncs every `flushIntervalCommitLog` ms; replies do not wait.
    AsyncFlush,
    /// `SYNC_FLUSH`: replies wait for a group-commit fdatasync covering the message.
    SyncFlush,
}

impl FlushDiskType {
    /// The RocketMQ spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
    }
}

/// Store configuration. Each field names its RocketMQ key; units are in the field names.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// `storePathRootDir` (default `$HOME/store`): checkpoint, abort, config/, consumequeue/, index/.
    pub store_path_root_dir: PathBuf,
    /// `storePathCommitLog` (default `<root>/commitlog` when `None`).
    pub store_path_commit_log: Option<PathBuf>,
    /// `mappedFileSizeCommitLog`: bytes per commitlog segment (1 GiB).
    pub commit_log_segment_bytes: u64,
    /// `mappedFileSizeConsumeQueue`: bytes per consume-queue file, a multiple of 20
    /// (300 000 units × 20 = 6 000 000).
    pub consume_queue_file_bytes: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog`: async flush period (500 ms).
    pub flush_interval_commit_log_ms: u64,
    /// `flushIntervalConsumeQueue`: consume-queue flush + checkpoint period (1000 ms).
    pub flush_interval_consume_queue_ms: u64,
    /// `syncFlushTimeout`: a SYNC_FLUSH waiter gets `Timeout` after this (5000 ms).
    pub sync_flush_timeout_ms: u64,
    /// `fileReservedTime`: files are kept at least this many hours (72).
    pub file_reserved_hours: u64,
    /// `deleteWhen`: local hours at which expired files are deleted, `;`-separated ("04").
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`: above this disk usage (percent, 75) expired files are deleted
    /// at once instead of waiting for `deleteWhen`.
    pub disk_max_used_space_ratio_percent: u32,
    /// `diskSpaceCleanForciblyRatio`: above this (percent, 85) the oldest files are deleted even
    /// when not expired.
    pub disk_space_clean_forcibly_ratio_percent: u32,
    /// `diskSpaceWarningLevelRatio`: above this (percent, 90) writes are refused (disk full).
    pub disk_space_warning_level_ratio_percent: u32,
    /// `cleanResourceInterval`: retention check period (10 000 ms).
    pub clean_resource_interval_ms: u64,
    /// `deleteFileBatchMax`: at most this many files are deleted per retention round (10).
    pub delete_file_batch_max: usize,
    /// `checkCRCOnRecover`: verify BODYCRC while scanning the commitlog at start-up (true).
    pub check_crc_on_recover: bool,
    /// `maxMessageSize`: largest accepted encoded record in bytes (4 MiB).
    pub max_message_bytes: u64,
    /// `messageIndexEnable`: build the key index (true).
    pub message_index_enable: bool,
    /// `maxHashSlotNum`: hash slots per index file (5 000 000).
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`: entries per index file (20 000 000).
    pub max_index_num: u32,
    /// `messageDelayLevel`: delay of each level of `SCHEDULE_TOPIC_XXXX`.
    pub message_delay_level: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        StoreConfig {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            commit_log_segment_bytes: 1024 * 1024 * 1024,
            consume_queue_file_bytes: 300_000 * CQ_UNIT_BYTES,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log_ms: 500,
            flush_interval_consume_queue_ms: 1000,
            sync_flush_timeout_ms: 5000,
            file_reserved_hours: 72,
            delete_when: "04".to_string(),
            disk_max_used_space_ratio_percent: 75,
            disk_space_clean_forcibly_ratio_percent: 85,
            disk_space_warning_level_ratio_percent: 90,
            clean_resource_interval_ms: 10_000,
            delete_file_batch_max: 10,
            check_crc_on_recover: true,
            max_message_bytes: 4 * 1024 * 1024,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .to_string(),
        }
    }
}

/// Every key [`StoreConfig::set`] accepts.
pub const STORE_CONFIG_KEYS: &[&str] = &[
    "storePathRootDir",
    "storePathCommitLog",
    "mappedFileSizeCommitLog",
    "mappedFileSizeConsumeQueue",
    "flushDiskType",
    "flushIntervalCommitLog",
    "flushIntervalConsumeQueue",
    "syncFlushTimeout",
    "fileReservedTime",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "diskSpaceCleanForciblyRatio",
    "diskSpaceWarningLevelRatio",
    "cleanResourceInterval",
    "deleteFileBatchMax",
    "checkCRCOnRecover",
    "maxMessageSize",
    "messageIndexEnable",
    "maxHashSlotNum",
    "maxIndexNum",
    "messageDelayLevel",
];

fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::config(key, format!("{value:?} is not a valid number")))
}

/// Java's `Boolean.parseBoolean`: only `true` (any case) is true.
fn parse_bool(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

impl StoreConfig {
    /// A default config rooted at `root`.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            store_path_root_dir: root.into(),
            ..StoreConfig::default()
        }
    }

    /// The commitlog directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// Units per consume-queue file.
    pub fn consume_queue_file_units(&self) -> u64 {
        self.consume_queue_file_bytes / CQ_UNIT_BYTES
    }

    /// Sets one field from its RocketMQ key and string value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.trim();
        match key {
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(v),
            "storePathCommitLog" => self.store_path_commit_log = Some(PathBuf::from(v)),
            "mappedFileSizeCommitLog" => self.commit_log_segment_bytes = parse_num(key, v)?,
            "mappedFileSizeConsumeQueue" => self.consume_queue_file_bytes = parse_num(key, v)?,
            "flushDiskType" => {
                self.flush_disk_type = match v {
                    "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                    "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                    _ => return Err(Error::config(key, "expected ASYNC_FLUSH or SYNC_FLUSH")),
                }
            }
            "flushIntervalCommitLog" => self.flush_interval_commit_log_ms = parse_num(key, v)?,
            "flushIntervalConsumeQueue" => {
                self.flush_interval_consume_queue_ms = parse_num(key, v)?
            }
            "syncFlushTimeout" => self.sync_flush_timeout_ms = parse_num(key, v)?,
            "fileReservedTime" => self.file_reserved_hours = parse_num(key, v)?,
            "deleteWhen" => self.delete_when = v.to_string(),
            "diskMaxUsedSpaceRatio" => self.disk_max_used_space_ratio_percent = parse_num(key, v)?,
            "diskSpaceCleanForciblyRatio" => {
                self.disk_space_clean_forcibly_ratio_percent = parse_num(key, v)?
            }
            "diskSpaceWarningLevelRatio" => {
                self.disk_space_warning_level_ratio_percent = parse_num(key, v)?
            }
            "cleanResourceInterval" => self.clean_resource_interval_ms = parse_num(key, v)?,
            "deleteFileBatchMax" => self.delete_file_batch_max = parse_num(key, v)?,
            "checkCRCOnRecover" => self.check_crc_on_recover = parse_bool(v),
            "maxMessageSize" => self.max_message_bytes = parse_num(key, v)?,
            "messageIndexEnable" => self.message_index_enable = parse_bool(v),
            "maxHashSlotNum" => self.max_hash_slot_num = parse_num(key, v)?,
            "maxIndexNum" => self.max_index_num = parse_num(key, v)?,
            "messageDelayLevel" => {
                parse_delay_levels(v)?;
                self.message_delay_level = v.to_string();
            }
            _ => return Err(Error::UnknownConfigKey(key.to_string())),
        }
        Ok(())
    }

    /// Checks every constraint; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        if self.commit_log_segment_bytes < 4096 || self.commit_log_segment_bytes > i32::MAX as u64 {
            return Err(Error::config(
                "mappedFileSizeCommitLog",
                "must be between 4096 and 2^31-1 bytes",
            ));
        }
        let cq = self.consume_queue_file_bytes;
        if cq == 0 || !cq.is_multiple_of(CQ_UNIT_BYTES) {
            return Err(Error::config(
                "mappedFileSizeConsumeQueue",
                "must be a positive multiple of 20",
            ));
        }
        if self.max_message_bytes < 128 {
            return Err(Error::config(
                "maxMessageSize",
                "must be at least 128 bytes",
            ));
        }
        for (key, v) in [
            ("flushIntervalCommitLog", self.flush_interval_commit_log_ms),
            (
                "flushIntervalConsumeQueue",
                self.flush_interval_consume_queue_ms,
            ),
            ("syncFlushTimeout", self.sync_flush_timeout_ms),
            ("cleanResourceInterval", self.clean_resource_interval_ms),
        ] {
            if v == 0 {
                return Err(Error::config(key, "must be positive"));
            }
        }
        self.validate_ratios()?;
        if self.max_hash_slot_num == 0 || self.max_index_num < 2 {
            return Err(Error::config(
                "maxIndexNum",
                "maxHashSlotNum must be > 0 and maxIndexNum >= 2",
            ));
        }
        parse_delete_when(&self.delete_when)?;
        parse_delay_levels(&self.message_delay_level)?;
        Ok(())
    }

    fn validate_ratios(&self) -> Result<()> {
        for (key, v) in [
            (
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio_percent,
            ),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio_percent,
            ),
            (
                "diskSpaceWarningLevelRatio",
                self.disk_space_warning_level_ratio_percent,
            ),
        ] {
            if !(1..=100).contains(&v) {
                return Err(Error::config(key, "must be a percentage in 1..=100"));
            }
        }
        Ok(())
    }

    /// The parsed `messageDelayLevel` table: delay in ms of level 1, 2, ...
    pub fn delay_levels_ms(&self) -> Result<Vec<i64>> {
        parse_delay_levels(&self.message_delay_level)
    }

    /// The parsed `deleteWhen` hours.
    pub fn delete_when_hours(&self) -> Result<Vec<u32>> {
        parse_delete_when(&self.delete_when)
    }
}

/// Parses `"1s 5s 10s 1m 2h 1d"` into milliseconds per level.
pub fn parse_delay_levels(s: &str) -> Result<Vec<i64>> {
    let bad = |t: &str| Error::config("messageDelayLevel", format!("bad level {t:?}"));
    let mut out = Vec::new();
    for t in s.split_whitespace() {
        let (num, unit) = t.split_at(t.len().saturating_sub(1));
        let n: i64 = num.parse().map_err(|_| bad(t))?;
        let ms = match unit {
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad(t)),
        };
        out.push(n.checked_mul(ms).ok_or_else(|| bad(t))?);
    }
    Ok(out)
}

/// Parses `"04"` or `"04;05"` into hours.
pub fn parse_delete_when(s: &str) -> Result<Vec<u32>> {
    s.split(';')
        .filter(|t| !t.trim().is_empty())
        .map(|t| match t.trim().parse::<u32>() {
            Ok(h) if h < 24 => Ok(h),
            _ => Err(Error::config("deleteWhen", format!("bad hour {t:?}"))),
        })
        .collect()
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "storePathRootDir={} storePathCommitLog={} mappedFileSizeCommitLog={} \
             mappedFileSizeConsumeQueue={} flushDiskType={} flushIntervalCommitLog={} \
             flushIntervalConsumeQueue={} syncFlushTimeout={} fileReservedTime={} deleteWhen={} \
             diskMaxUsedSpaceRatio={} diskSpaceCleanForciblyRatio={} \
             diskSpaceWarningLevelRatio={} cleanResourceInterval={} deleteFileBatchMax={} \
             checkCRCOnRecover={} maxMessageSize={} messageIndexEnable={} maxHashSlotNum={} \
             maxIndexNum={} messageDelayLevel={:?}",
            self.store_path_root_dir.display(),
            self.commit_log_dir().display(),
            self.commit_log_segment_bytes,
            self.consume_queue_file_bytes,
            self.flush_disk_type.as_str(),
            self.flush_interval_commit_log_ms,
            self.flush_interval_consume_queue_ms,
            self.sync_flush_timeout_ms,
            self.file_reserved_hours,
            self.delete_when,
            self.disk_max_used_space_ratio_percent,
            self.disk_space_clean_forcibly_ratio_percent,
            self.disk_space_warning_level_ratio_percent,
            self.clean_resource_interval_ms,
            self.delete_file_batch_max,
            self.check_crc_on_recover,
            self.max_message_bytes,
            self.message_index_enable,
            self.max_hash_slot_num,
            self.max_index_num,
            self.message_delay_level,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_match_rocketmq() {
        let c = StoreConfig::with_root("/tmp/x");
        c.validate().unwrap();
        assert_eq!(c.consume_queue_file_units(), 300_000);
        assert_eq!(c.delay_levels_ms().unwrap().len(), 18);
        assert_eq!(c.delay_levels_ms().unwrap()[17], 7_200_000);
        assert_eq!(c.commit_log_dir(), PathBuf::from("/tmp/x/commitlog"));
    }

    #[test]
    fn every_key_is_settable() {
        let mut c = StoreConfig::default();
        let values = [
            "/r",
            "/r/cl",
            "8192",
            "200",
            "SYNC_FLUSH",
            "10",
            "20",
            "30",
            "1",
            "03;05",
            "80",
            "86",
            "91",
            "50",
            "5",
            "false",
            "65536",
            "FALSE",
            "11",
            "13",
            "1s 2m",
        ];
        for (k, v) in STORE_CONFIG_KEYS.iter().zip(values) {
            c.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        assert_eq!(c.commit_log_dir(), PathBuf::from("/r/cl"));
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.delete_when_hours().unwrap(), vec![3, 5]);
        assert!(!c.check_crc_on_recover && !c.message_index_enable);
        assert_eq!(c.delay_levels_ms().unwrap(), vec![1000, 120_000]);
        c.validate().unwrap();
        assert!(c.to_string().contains("flushDiskType=SYNC_FLUSH"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut c = StoreConfig::default();
        assert_eq!(
            c.set("nope", "1"),
            Err(Error::UnknownConfigKey("nope".into()))
        );
        assert!(
            matches!(c.set("syncFlushTimeout", "x"), Err(Error::Config { key, .. }) if key == "syncFlushTimeout")
        );
        c.consume_queue_file_bytes = 30;
        assert!(
            matches!(c.validate(), Err(Error::Config { key, .. }) if key == "mappedFileSizeConsumeQueue")
        );
        assert!(parse_delete_when("25").is_err());
        assert!(parse_delay_levels("5x").is_err());
    }
}
