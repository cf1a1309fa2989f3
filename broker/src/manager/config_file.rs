//! Load and save of the persisted manager tables (`<storePathRootDir>/config/*.json`), the
//! role of Java's `ConfigManager`.
//!
//! Writes go through [`protocol::util::atomic_file::write_atomically`] (temp file, fsync,
//! rename, previous content kept as `.bak`). Reads fall back to the `.bak` file when the main
//! file is missing, empty or does not parse. Every table tracks a dirty flag so the periodic
//! persist only writes after a change.
//!
//! These calls block on the disk: never call them on an event-loop thread. A typical shell
//! takes [`ConfigFile::snapshot_if_dirty`] under its lock and writes the bytes outside it with
//! [`write_snapshot`], calling [`ConfigFile::mark_dirty`] again if that fails.

use std::path::{Path, PathBuf};

use protocol::util::atomic_file::{read_with_backup, write_atomically};

use crate::error::{Error, Result};

/// `topics.json`: [`TopicConfigManager`](super::topic_config::TopicConfigManager).
pub const TOPICS_JSON: &str = "topics.json";
/// `consumerOffset.json`: [`ConsumerOffsetManager`](super::consumer_offset::ConsumerOffsetManager).
pub const CONSUMER_OFFSET_JSON: &str = "consumerOffset.json";
/// `subscriptionGroup.json`:
/// [`SubscriptionGroupManager`](super::subscription_group::SubscriptionGroupManager).
pub const SUBSCRIPTION_GROUP_JSON: &str = "subscriptionGroup.json";
/// `delayOffset.json`: the schedule service's per-level progress.
pub const DELAY_OFFSET_JSON: &str = "delayOffset.json";

/// `<storePathRootDir>/config/<file_name>`, where RocketMQ keeps its tables.
pub fn config_file_path(store_path_root_dir: &Path, file_name: &str) -> PathBuf {
    store_path_root_dir.join("config").join(file_name)
}

/// `path` with `.bak` appended (the previous version kept by the atomic write).
fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Writes bytes taken with [`ConfigFile::snapshot_if_dirty`] (or `encode_json`) to `path`.
pub fn write_snapshot(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes).map_err(|e| Error::io("persist config file", path, e))
}

/// A table persisted as one JSON file in RocketMQ's format.
pub trait ConfigFile {
    /// The file name under `<storePathRootDir>/config/`.
    const FILE_NAME: &'static str;

    /// The file content (fastjson dialect, as Java writes it).
    fn encode_json(&self) -> Vec<u8>;

    /// Merges or replaces the table from file content, as the Java manager's `decode` does.
    /// On error the table is unchanged.
    fn decode_json(&mut self, bytes: &[u8]) -> Result<()>;

    /// Whether the table changed since it was last written (or snapshotted).
    fn is_dirty(&self) -> bool;

    /// Sets or clears the dirty flag.
    fn set_dirty(&mut self, dirty: bool);

    /// Marks the table dirty again (after a failed write of a snapshot).
    fn mark_dirty(&mut self) {
        self.set_dirty(true);
    }

    /// The file content if the table changed since the last snapshot; clears the flag.
    fn snapshot_if_dirty(&mut self) -> Option<Vec<u8>> {
        if !self.is_dirty() {
            return None;
        }
        self.set_dirty(false);
        Some(self.encode_json())
    }

    /// Loads `path` (or its `.bak` when the main file is missing, empty or corrupt).
    /// `Ok(false)` when neither file exists: the table keeps its initial content. The table
    /// is clean afterwards.
    fn load(&mut self, path: &Path) -> Result<bool> {
        let Some(bytes) =
            read_with_backup(path).map_err(|e| Error::io("read config file", path, e))?
        else {
            return Ok(false);
        };
        let result = match self.decode_json(&bytes) {
            Ok(()) => Ok(true),
            Err(e) => self.load_backup_after(path, e),
        };
        self.set_dirty(false);
        result
    }

    /// After `path` failed to decode with `err`: tries `<path>.bak`, else reports `err`.
    #[doc(hidden)]
    fn load_backup_after(&mut self, path: &Path, err: Error) -> Result<bool> {
        let bak = backup_path(path);
        let detail = err.to_string();
        let Ok(bytes) = std::fs::read(&bak) else {
            return Err(Error::corrupt_file(path.display().to_string(), detail));
        };
        match self.decode_json(&bytes) {
            Ok(()) => {
                log::warn!(
                    "{} is corrupt ({detail}); loaded {} instead",
                    path.display(),
                    bak.display()
                );
                Ok(true)
            }
            Err(_) => Err(Error::corrupt_file(path.display().to_string(), detail)),
        }
    }

    /// Writes the table to `path` now and clears the dirty flag on success.
    fn persist(&mut self, path: &Path) -> Result<()> {
        write_snapshot(path, &self.encode_json())?;
        self.set_dirty(false);
        Ok(())
    }

    /// Writes the table to `path` if it is dirty. `Ok(true)` if it wrote.
    fn persist_if_dirty(&mut self, path: &Path) -> Result<bool> {
        let Some(bytes) = self.snapshot_if_dirty() else {
            return Ok(false);
        };
        match write_snapshot(path, &bytes) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.mark_dirty();
                Err(e)
            }
        }
    }
}

/// Decodes a JSON body, turning the protocol error into [`Error::Corrupt`] naming `what`.
pub(crate) fn decode_body<T: protocol::body::JsonBody>(what: &str, bytes: &[u8]) -> Result<T> {
    T::decode_body(bytes).map_err(|e| Error::corrupt_file(what, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-number table for exercising the trait's default methods.
    #[derive(Default)]
    struct Counter {
        value: i64,
        dirty: bool,
    }

    impl ConfigFile for Counter {
        const FILE_NAME: &'static str = "counter.json";
        fn encode_json(&self) -> Vec<u8> {
            format!("{{\"value\":{}}}", self.value).into_bytes()
        }
        fn decode_json(&mut self, bytes: &[u8]) -> Result<()> {
            let v: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| Error::corrupt_file(Self::FILE_NAME, e.to_string()))?;
            self.value = v["value"]
                .as_i64()
                .ok_or_else(|| Error::corrupt_file(Self::FILE_NAME, "no value"))?;
            Ok(())
        }
        fn is_dirty(&self) -> bool {
            self.dirty
        }
        fn set_dirty(&mut self, dirty: bool) {
            self.dirty = dirty;
        }
    }

    #[test]
    fn path_layout() {
        assert_eq!(
            config_file_path(Path::new("/root/store"), TOPICS_JSON),
            PathBuf::from("/root/store/config/topics.json")
        );
    }

    #[test]
    fn persist_only_when_dirty_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_file_path(dir.path(), Counter::FILE_NAME);
        let mut c = Counter::default();
        assert!(!c.load(&path).unwrap(), "nothing to load yet");
        assert!(!c.persist_if_dirty(&path).unwrap());
        assert!(!path.exists());
        c.value = 7;
        c.mark_dirty();
        assert!(c.persist_if_dirty(&path).unwrap());
        assert!(!c.is_dirty());
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"value\":7}");
        let mut d = Counter::default();
        assert!(d.load(&path).unwrap());
        assert_eq!(d.value, 7);
    }

    #[test]
    fn corrupt_main_falls_back_to_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_file_path(dir.path(), Counter::FILE_NAME);
        let mut c = Counter {
            value: 1,
            dirty: true,
        };
        c.persist(&path).unwrap();
        c.value = 2;
        c.persist(&path).unwrap(); // .bak now holds 1
        std::fs::write(&path, b"{\"value\":").unwrap();
        let mut d = Counter::default();
        assert!(d.load(&path).unwrap());
        assert_eq!(d.value, 1);

        std::fs::write(backup_path(&path), b"garbage").unwrap();
        let mut e = Counter::default();
        match e.load(&path) {
            Err(Error::Corrupt { path, .. }) => {
                assert!(path.ends_with("counter.json"), "{}", path.display())
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn failed_write_keeps_the_table_dirty() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the write fails.
        let path = dir.path().join("config");
        std::fs::create_dir_all(path.join("x")).unwrap();
        let mut c = Counter {
            value: 3,
            dirty: true,
        };
        match c.persist_if_dirty(&path) {
            Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
            other => panic!("expected Io, got {other:?}"),
        }
        assert!(c.is_dirty());
        assert_eq!(c.snapshot_if_dirty().unwrap(), b"{\"value\":3}");
        assert!(c.snapshot_if_dirty().is_none());
    }
}
