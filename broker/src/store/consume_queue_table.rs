//! `ConsumeQueueTable`: every [`ConsumeQueue`] of the store, by topic and queue id
//! (RocketMQ `DefaultMessageStore.consumeQueueTable`).
//!
//! Owns the `consumequeue/` directory tree. Queues are created by the dispatcher the first time
//! a record of their topic-queue is dispatched, and looked up by readers; the map is behind a
//! read-write lock and queues are shared as `Arc`s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};
use crate::store::commit_log::write_lock;
use crate::store::consume_queue::ConsumeQueue;

pub(crate) type QueueMap = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

/// All consume queues. See the module docs.
#[derive(Debug)]
pub struct ConsumeQueueTable {
    root: PathBuf,
    file_bytes: u64,
    queues: RwLock<QueueMap>,
}

/// True when `topic` can safely be used as a directory name.
pub(crate) fn is_safe_topic_dir(topic: &str) -> bool {
    !topic.is_empty() && topic != "." && topic != ".." && !topic.contains(['/', '\0'])
}

impl ConsumeQueueTable {
    /// Opens every `<root>/<topic>/<queueId>/` directory (offsets are set by recovery).
    pub(crate) fn load(root: &Path, file_bytes: u64) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io("create consumequeue dir", root, e))?;
        let mut map = QueueMap::new();
        for topic_entry in read_dir(root)? {
            let Some(topic) = topic_entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !topic_entry.path().is_dir() || !is_safe_topic_dir(&topic) {
                continue;
            }
            for q_entry in read_dir(&topic_entry.path())? {
                let Some(queue_id) = q_entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                let cq = ConsumeQueue::load(&q_entry.path(), &topic, queue_id, file_bytes)?;
                map.entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::new(cq));
            }
        }
        Ok(ConsumeQueueTable {
            root: root.to_path_buf(),
            file_bytes,
            queues: RwLock::new(map),
        })
    }

    /// The queue for `topic`/`queue_id`, if it exists.
    pub fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        let map = self.queues.read().unwrap_or_else(|p| p.into_inner());
        map.get(topic).and_then(|m| m.get(&queue_id)).cloned()
    }

    /// The queue for `topic`/`queue_id`, created (with its directory) if missing.
    pub(crate) fn find_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>> {
        if let Some(cq) = self.find(topic, queue_id) {
            return Ok(cq);
        }
        if !is_safe_topic_dir(topic) {
            return Err(Error::corrupt(
                &self.root,
                0,
                format!("topic {topic:?} cannot be a directory name"),
            ));
        }
        let mut map = write_lock(&self.queues);
        let per_topic = map.entry(topic.to_string()).or_default();
        if let Some(cq) = per_topic.get(&queue_id) {
            return Ok(Arc::clone(cq));
        }
        let dir = self.root.join(topic).join(queue_id.to_string());
        let cq = Arc::new(ConsumeQueue::load(&dir, topic, queue_id, self.file_bytes)?);
        per_topic.insert(queue_id, Arc::clone(&cq));
        Ok(cq)
    }

    /// The lock around the topic → queue map (for the admin operations in `store::admin`).
    pub(crate) fn queues_lock(&self) -> &RwLock<QueueMap> {
        &self.queues
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        let map = self.queues.read().unwrap_or_else(|p| p.into_inner());
        map.values().flat_map(|m| m.values().cloned()).collect()
    }

    /// `(topic, queue_id, max_offset)` of every queue.
    pub fn max_offsets(&self) -> Vec<(String, i32, i64)> {
        self.all()
            .iter()
            .map(|q| (q.topic().to_string(), q.queue_id(), q.max_offset()))
            .collect()
    }

    /// fdatasyncs every queue's unflushed files.
    pub(crate) fn flush_all(&self) -> Result<()> {
        for q in self.all() {
            q.flush()?;
        }
        Ok(())
    }

    /// Recovers every queue (see [`ConsumeQueue::recover`]).
    pub(crate) fn recover_all(&self, keep_below_phy: u64, commit_log_min: u64) -> Result<()> {
        for q in self.all() {
            q.recover(keep_below_phy, commit_log_min)?;
        }
        Ok(())
    }

    /// Deletes expired files of every queue; returns the number deleted.
    pub(crate) fn delete_expired_all(&self, commit_log_min: u64) -> Result<usize> {
        let mut n = 0;
        for q in self.all() {
            n += q.delete_expired(commit_log_min)?;
        }
        Ok(n)
    }
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    std::fs::read_dir(dir)
        .and_then(|it| it.collect::<std::io::Result<Vec<_>>>())
        .map_err(|e| Error::io("list consumequeue dir", dir, e))
}
