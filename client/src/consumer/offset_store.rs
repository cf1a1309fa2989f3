//! Consumer offsets: the in-memory table of "next offset to consume" per queue, backed by the
//! broker (clustering: QUERY/UPDATE_CONSUMER_OFFSET) or by a local file (broadcasting, Java
//! `LocalFileOffsetStore`: `<dir>/<clientId>/<group>/offsets.json` in RocketMQ's JSON
//! dialect, written atomically with a `.bak` fallback).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use protocol::body::{from_json_slice, to_json_vec, IntKeys, MessageQueue, MqMap};
use protocol::header::{QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader};
use protocol::util::atomic_file::{read_with_backup, write_atomically};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::instance::{lock, InstanceCore};

/// Where [`OffsetStore::read`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOffsetType {
    /// The in-memory table only.
    Memory,
    /// The backing store (broker or file); the table is updated with the answer.
    Store,
    /// Memory, then the store if memory has nothing.
    MemoryThenStore,
}

/// The local offsets file (Java `OffsetSerializeWrapper`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    offset_table: MqMap<i64>,
}

#[derive(Debug)]
enum Backend {
    Remote(Arc<InstanceCore>),
    Local(PathBuf),
}

/// The offsets of one consumer group. Thread-safe.
#[derive(Debug)]
pub struct OffsetStore {
    group: String,
    table: Mutex<BTreeMap<MessageQueue, i64>>,
    backend: Backend,
}

/// The default directory of local offset files: `$HOME/.rocketmq_offsets`.
pub fn default_local_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".rocketmq_offsets")
}

/// The local offsets file of `group` for `client_id` under `dir`.
pub fn local_offsets_path(dir: &Path, client_id: &str, group: &str) -> PathBuf {
    dir.join(client_id).join(group).join("offsets.json")
}

impl OffsetStore {
    /// Offsets kept by the brokers (clustering).
    pub(crate) fn remote(core: Arc<InstanceCore>, group: &str) -> Self {
        OffsetStore {
            group: group.to_string(),
            table: Mutex::new(BTreeMap::new()),
            backend: Backend::Remote(core),
        }
    }

    /// Offsets kept in the file at `path` (broadcasting); call [`OffsetStore::load`] first.
    pub fn local(path: PathBuf, group: &str) -> Self {
        OffsetStore {
            group: group.to_string(),
            table: Mutex::new(BTreeMap::new()),
            backend: Backend::Local(path),
        }
    }

    /// Loads the local file (no-op for the remote store or a missing file).
    pub fn load(&self) -> Result<()> {
        let Backend::Local(path) = &self.backend else {
            return Ok(());
        };
        if let Some(table) = Self::read_file(path)? {
            lock(&self.table).extend(table);
        }
        Ok(())
    }

    fn read_file(path: &Path) -> Result<Option<BTreeMap<MessageQueue, i64>>> {
        let Some(bytes) = read_with_backup(path).map_err(|e| Error::io(path, &e))? else {
            return Ok(None);
        };
        let file: OffsetFile = from_json_slice(&bytes)?;
        Ok(Some(file.offset_table.0))
    }

    /// Sets the offset of `mq`; with `increase_only`, never moves it backwards.
    pub fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut table = lock(&self.table);
        let entry = table.entry(mq.clone()).or_insert(offset);
        if !increase_only || offset > *entry {
            *entry = offset;
        }
    }

    /// The offset of `mq`: `Ok(None)` when it is not known (a new group or queue).
    pub fn read(&self, mq: &MessageQueue, how: ReadOffsetType) -> Result<Option<i64>> {
        if how != ReadOffsetType::Store {
            if let Some(o) = lock(&self.table).get(mq) {
                return Ok(Some(*o));
            }
            if how == ReadOffsetType::Memory {
                return Ok(None);
            }
        }
        let core = match &self.backend {
            Backend::Remote(core) => core,
            Backend::Local(path) => {
                let found = Self::read_file(path)?.and_then(|t| t.get(mq).copied());
                if let Some(o) = found {
                    self.update(mq, o, false);
                }
                return Ok(found);
            }
        };
        let addr = core.find_broker_master_or_refresh(&mq.broker_name, &mq.topic)?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        let found = core
            .api
            .query_consumer_offset(&addr, &header, core.config.rpc_timeout_ms)?;
        if let Some(o) = found {
            self.update(mq, o, false);
        }
        Ok(found)
    }

    /// Forgets `mq` (its queue was taken away).
    pub fn remove(&self, mq: &MessageQueue) {
        lock(&self.table).remove(mq);
    }

    /// A copy of the table.
    pub fn snapshot(&self) -> BTreeMap<MessageQueue, i64> {
        lock(&self.table).clone()
    }

    fn update_header(&self, mq: &MessageQueue, offset: i64) -> UpdateConsumerOffsetRequestHeader {
        UpdateConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        }
    }

    /// Persists the offsets of `mqs`: one-way UPDATE_CONSUMER_OFFSET per queue to its master,
    /// or one atomic write of the whole table to the local file.
    pub fn persist_all(&self, mqs: &BTreeSet<MessageQueue>) -> Result<()> {
        match &self.backend {
            Backend::Local(path) => self.write_file(path),
            Backend::Remote(core) => {
                let table = self.snapshot();
                for (mq, offset) in table.iter().filter(|(mq, _)| mqs.contains(*mq)) {
                    let Some(addr) = core.find_broker_master(&mq.broker_name) else {
                        log::warn!("no master for {mq}; offset {offset} not persisted");
                        continue;
                    };
                    let header = self.update_header(mq, *offset);
                    if let Err(e) = core.api.update_consumer_offset_oneway(&addr, &header) {
                        log::warn!("persisting offset of {mq} to {addr} failed: {e}");
                    }
                }
                Ok(())
            }
        }
    }

    /// Persists the offset of one queue (one-way for the remote store).
    pub fn persist(&self, mq: &MessageQueue) -> Result<()> {
        self.persist_all(&BTreeSet::from([mq.clone()]))
    }

    /// Persists the offset of `mq` and waits for the broker's answer (lite pull commits).
    pub fn persist_sync(&self, mq: &MessageQueue) -> Result<()> {
        let Some(offset) = lock(&self.table).get(mq).copied() else {
            return Ok(());
        };
        match &self.backend {
            Backend::Local(path) => self.write_file(path),
            Backend::Remote(core) => {
                let addr = core.find_broker_master_or_refresh(&mq.broker_name, &mq.topic)?;
                let header = self.update_header(mq, offset);
                core.api
                    .update_consumer_offset(&addr, &header, core.config.rpc_timeout_ms)
            }
        }
    }

    fn write_file(&self, path: &Path) -> Result<()> {
        let file = OffsetFile {
            offset_table: MqMap(self.snapshot()),
        };
        let bytes = to_json_vec(&file, IntKeys::Unquoted);
        write_atomically(path, &bytes).map_err(|e| Error::io(path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "b", q)
    }

    #[test]
    fn update_respects_increase_only() {
        let s = OffsetStore::local(PathBuf::from("/nonexistent/x"), "G");
        s.update(&mq(0), 10, true);
        s.update(&mq(0), 5, true);
        assert_eq!(s.read(&mq(0), ReadOffsetType::Memory).unwrap(), Some(10));
        s.update(&mq(0), 5, false);
        assert_eq!(
            s.read(&mq(0), ReadOffsetType::MemoryThenStore).unwrap(),
            Some(5)
        );
        assert_eq!(s.read(&mq(1), ReadOffsetType::Memory).unwrap(), None);
        s.remove(&mq(0));
        assert!(s.snapshot().is_empty());
    }

    #[test]
    fn local_file_round_trip_in_java_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = local_offsets_path(dir.path(), "10.0.0.1@x", "G");
        let s = OffsetStore::local(path.clone(), "G");
        s.load().unwrap();
        s.update(&mq(0), 42, false);
        s.update(&MessageQueue::new("U", "a", 3), 7, false);
        s.persist_all(&BTreeSet::new()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:42,{"brokerName":"a","queueId":3,"topic":"U"}:7}}"#
        );
        let again = OffsetStore::local(path.clone(), "G");
        again.load().unwrap();
        assert_eq!(again.snapshot(), s.snapshot());
        again.remove(&mq(0));
        assert_eq!(again.read(&mq(0), ReadOffsetType::Memory).unwrap(), None);
        assert_eq!(
            again.read(&mq(0), ReadOffsetType::Store).unwrap(),
            Some(42),
            "re-read from the file"
        );
        assert_eq!(
            again.read(&mq(0), ReadOffsetType::Memory).unwrap(),
            Some(42)
        );
        // A second write keeps the first as .bak; a lost main file falls back to it.
        s.update(&mq(0), 43, false);
        s.persist_sync(&mq(0)).unwrap();
        std::fs::remove_file(&path).unwrap();
        let from_backup = OffsetStore::local(path, "G");
        from_backup.load().unwrap();
        assert_eq!(
            from_backup.read(&mq(0), ReadOffsetType::Memory).unwrap(),
            Some(42)
        );
    }

    #[test]
    fn corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(OffsetStore::local(path, "G").load().is_err());
    }
}
