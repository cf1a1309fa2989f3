//! [`LiveConfig`]: the part of the configuration that UPDATE_BROKER_CONFIG (25) may change
//! while the broker runs, the effective configuration GET_BROKER_CONFIG (26) reports, and the
//! write-back of changed keys to `broker.conf`.
//!
//! Keys that take effect at once ([`LIVE_KEYS`]): `brokerPermission` (send/pull checks, and
//! the topic permissions registered with NameServers, which are re-registered at once),
//! `autoCreateTopicEnable` (enabling it also creates `TBW102` if it is missing),
//! `autoCreateSubscriptionGroup`, `fileReservedTime` (the next retention round) and
//! `brokerRole` (a slave set to `ASYNC_MASTER`/`SYNC_MASTER` is promoted at once and its
//! `brokerId` becomes 0; a master switches between SYNC and ASYNC at once; a master set to
//! `SLAVE` changes only after a restart: see `docs/replication.md`). Every
//! other known key is validated, reported by GET_BROKER_CONFIG and written to `broker.conf`,
//! but only takes effect after a restart (ports, paths, roles, flush mode, store geometry,
//! intervals read by threads at start). Unknown keys are kept and written back too, as Java
//! does with its `Configuration`.
//!
//! Thread-safety: the hot values are atomics (read per request); the effective configuration
//! and the pending overrides sit behind short mutexes. The file is written by the `persist`
//! thread ([`write_overrides`]), never by the event loop.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;

use protocol::body::{to_json_string, DataVersion, IntKeys};
use protocol::util::atomic_file::write_atomically;
use protocol::util::properties_file;

use crate::config::BrokerConfig;
use crate::controller::store_properties;
use crate::error::{Error, Result};
use crate::processor::lock;
use crate::store::StoreConfig;

/// Keys UPDATE_BROKER_CONFIG applies to the running broker at once.
pub const LIVE_KEYS: [&str; 5] = [
    "brokerPermission",
    "brokerRole",
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "fileReservedTime",
];

/// The key that may never be changed remotely (Java answers NO_PERMISSION).
pub const CONFIG_PATH_KEY: &str = "brokerConfigPath";

/// Run-time configuration state. See the module docs.
#[derive(Debug)]
pub struct LiveConfig {
    broker_permission: AtomicI32,
    auto_create_subscription_group: AtomicBool,
    auto_create_topic_enable: AtomicBool,
    /// The broker and store configuration as last updated (boot values + overrides).
    effective: Mutex<(BrokerConfig, StoreConfig)>,
    /// Every key changed at run time with its text value, for `broker.conf`.
    overrides: Mutex<BTreeMap<String, String>>,
    /// Bumped by every update; sent as GET_BROKER_CONFIG's `version`.
    version: Mutex<DataVersion>,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigUpdate {
    /// `(key, value)` pairs of [`LIVE_KEYS`] to apply now.
    pub live: Vec<(String, String)>,
    /// Keys validated and recorded that take effect after a restart.
    pub on_restart: Vec<String>,
    /// Keys neither config knows (recorded and written back, otherwise ignored).
    pub unknown: Vec<String>,
}

impl LiveConfig {
    /// The live state of a broker started with `broker` and `store`.
    pub fn new(broker: &BrokerConfig, store: &StoreConfig, now_ms: i64) -> Self {
        LiveConfig {
            broker_permission: AtomicI32::new(broker.broker_permission),
            auto_create_subscription_group: AtomicBool::new(broker.auto_create_subscription_group),
            auto_create_topic_enable: AtomicBool::new(broker.auto_create_topic_enable),
            effective: Mutex::new((broker.clone(), store.clone())),
            overrides: Mutex::new(BTreeMap::new()),
            version: Mutex::new(DataVersion::new(now_ms)),
        }
    }

    /// The effective `brokerPermission`.
    pub fn broker_permission(&self) -> i32 {
        self.broker_permission.load(Ordering::Relaxed)
    }

    /// The effective `autoCreateSubscriptionGroup`.
    pub fn auto_create_subscription_group(&self) -> bool {
        self.auto_create_subscription_group.load(Ordering::Relaxed)
    }

    /// The effective `autoCreateTopicEnable`.
    pub fn auto_create_topic_enable(&self) -> bool {
        self.auto_create_topic_enable.load(Ordering::Relaxed)
    }

    /// GET_BROKER_CONFIG's body: every broker key, then the store keys the broker config does
    /// not carry, as sorted `key=value` lines.
    pub fn properties_text(&self) -> String {
        let effective = lock(&self.effective);
        let (broker, store) = &*effective;
        let mut out = broker.to_properties();
        let broker_keys: Vec<&str> = broker.entries().iter().map(|(k, _)| *k).collect();
        for (key, value) in store_properties(store) {
            if !broker_keys.contains(&key) {
                out.push_str(&format!("{key}={value}\n"));
            }
        }
        out
    }

    /// The configuration's DataVersion as JSON (GET_BROKER_CONFIG's `version`).
    pub fn version_json(&self) -> String {
        to_json_string(&*lock(&self.version), IntKeys::Unquoted)
    }

    /// Validates `text` (a properties body) against a copy of the effective configuration and,
    /// when every value is valid, adopts it: the effective configuration and the overrides are
    /// updated and the version bumped. The caller then applies [`ConfigUpdate::live`] to the
    /// running parts and asks the persist thread to write the file. On error nothing changes.
    pub fn update(&self, text: &str, now_ms: i64) -> Result<ConfigUpdate> {
        let props = properties_file::parse(text)
            .map_err(|e| Error::InvalidConfig(format!("properties: {e}")))?;
        if props.iter().any(|p| p.key == CONFIG_PATH_KEY) {
            return Err(Error::InvalidConfig("Can not update config path".into()));
        }
        let mut effective = lock(&self.effective);
        let (mut broker, mut store) = effective.clone();
        let mut update = ConfigUpdate::default();
        for p in &props {
            let by_broker = broker.set(&p.key, &p.value)?;
            let by_store = match store.set(&p.key, &p.value) {
                Ok(()) => true,
                Err(Error::UnknownConfigKey(_)) => false,
                Err(e) => return Err(e),
            };
            if LIVE_KEYS.contains(&p.key.as_str()) {
                update.live.push((p.key.clone(), p.value.trim().to_owned()));
            } else if by_broker || by_store {
                update.on_restart.push(p.key.clone());
            } else {
                update.unknown.push(p.key.clone());
            }
        }
        let promoted = broker.is_master()
            && broker.broker_id != 0
            && props.iter().any(|p| p.key == "brokerRole");
        if promoted {
            broker.normalize(); // a slave promoted by brokerRole becomes brokerId 0
        }
        broker.validate()?;
        store.validate()?;
        self.broker_permission
            .store(broker.broker_permission, Ordering::Relaxed);
        self.auto_create_subscription_group
            .store(broker.auto_create_subscription_group, Ordering::Relaxed);
        self.auto_create_topic_enable
            .store(broker.auto_create_topic_enable, Ordering::Relaxed);
        *effective = (broker, store);
        drop(effective);
        let mut overrides = lock(&self.overrides);
        for p in props {
            overrides.insert(p.key, p.value);
        }
        if promoted {
            overrides.insert("brokerId".into(), "0".into());
        }
        drop(overrides);
        lock(&self.version).next_version(now_ms);
        Ok(update)
    }

    /// The keys changed at run time, for [`write_overrides`].
    pub fn overrides(&self) -> BTreeMap<String, String> {
        lock(&self.overrides).clone()
    }
}

/// Writes `overrides` into the properties file at `path`: lines of overridden keys are
/// replaced (continuation lines included), missing keys appended, comments and other keys
/// kept. A missing file is created. Blocks on the disk: `persist` thread only.
pub fn write_overrides(path: &Path, overrides: &BTreeMap<String, String>) -> Result<()> {
    if overrides.is_empty() {
        return Ok(());
    }
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("read broker config", path, e)),
    };
    let text = merge_properties(&old, overrides);
    write_atomically(path, text.as_bytes()).map_err(|e| Error::io("write broker config", path, e))
}

/// [`write_overrides`]' text transformation (pure).
pub fn merge_properties(old: &str, overrides: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(old.len() + 64);
    let mut written: Vec<&str> = Vec::new();
    let mut skipping_continuation = false;
    for line in old.lines() {
        if skipping_continuation {
            skipping_continuation = line.ends_with('\\');
            continue;
        }
        let key = properties_file::parse(line)
            .ok()
            .and_then(|p| p.into_iter().next())
            .map(|p| p.key);
        match key.as_deref().and_then(|k| overrides.get_key_value(k)) {
            Some((k, v)) => {
                out.push_str(&format!("{k}={}\n", escape(v)));
                written.push(k);
                skipping_continuation = line.ends_with('\\');
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (k, v) in overrides {
        if !written.contains(&k.as_str()) {
            out.push_str(&format!("{k}={}\n", escape(v)));
        }
    }
    out
}

/// Escapes what the properties parser would otherwise change.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostFacts;

    fn live() -> LiveConfig {
        let broker = BrokerConfig::with_host(&HostFacts {
            local_ip: "127.0.0.1".into(),
            ..HostFacts::default()
        });
        let store = StoreConfig::with_root("/tmp/ferromq-live-config-test");
        LiveConfig::new(&broker, &store, 1)
    }

    #[test]
    fn update_classifies_keys_and_applies_live_values() {
        let l = live();
        let before = l.version_json();
        let u = l
            .update(
                "brokerPermission=4\nflushDiskType=SYNC_FLUSH\nfoo=bar\nfileReservedTime=5\n",
                2,
            )
            .unwrap();
        assert_eq!(
            u.live,
            [
                ("brokerPermission".to_owned(), "4".to_owned()),
                ("fileReservedTime".to_owned(), "5".to_owned())
            ]
        );
        assert_eq!(u.on_restart, ["flushDiskType"]);
        assert_eq!(u.unknown, ["foo"]);
        assert_eq!(l.broker_permission(), 4);
        assert!(l.properties_text().contains("flushDiskType=SYNC_FLUSH\n"));
        assert!(l.properties_text().contains("syncFlushTimeout="));
        assert_ne!(l.version_json(), before);
        assert_eq!(l.overrides().get("foo").map(String::as_str), Some("bar"));
    }

    #[test]
    fn bad_values_change_nothing() {
        let l = live();
        assert!(l.update("brokerPermission=4\nbrokerId=x\n", 2).is_err());
        assert!(l.update("brokerPermission=99\n", 2).is_err());
        assert!(l.update("brokerConfigPath=/etc/x\n", 2).is_err());
        assert_eq!(l.broker_permission(), 6);
        assert!(l.overrides().is_empty());
    }

    #[test]
    fn merge_replaces_appends_and_keeps_comments() {
        let old = "# broker\nbrokerName = a\nmessageDelayLevel=1s \\\n  5s\nlistenPort=1\n";
        let overrides: BTreeMap<String, String> = [
            ("messageDelayLevel".to_owned(), "2s".to_owned()),
            ("brokerPermission".to_owned(), "4".to_owned()),
        ]
        .into();
        assert_eq!(
            merge_properties(old, &overrides),
            "# broker\nbrokerName = a\nmessageDelayLevel=2s\nlistenPort=1\nbrokerPermission=4\n"
        );
    }
}
