//! Administrative operations of the [`MessageStore`] facade: run-time retention settings,
//! manual deletion of expired files, removal of deleted or unused topics' consume queues,
//! and the figures GET_BROKER_RUNTIME_INFO reports (disk usage, lock time, offsets).
//!
//! Owns no state of its own. Commitlog deletion is only requested here and done by the
//! `clean` thread (it unlinks large files); consume-queue directories of deleted topics are
//! removed by the caller's thread (RocketMQ does the same in its admin processor).

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use crate::error::Result;
use crate::manager::topic_validator as tv;
use crate::store::commit_log::write_lock;
use crate::store::consume_queue::ConsumeQueue;
use crate::store::MessageStore;

impl MessageStore {
    /// The effective `fileReservedTime` in hours.
    pub fn file_reserved_hours(&self) -> u64 {
        self.inner.file_reserved_hours.load(Ordering::Relaxed)
    }

    /// Changes `fileReservedTime` at run time; the next retention round uses it.
    pub fn set_file_reserved_hours(&self, hours: u64) {
        self.inner
            .file_reserved_hours
            .store(hours, Ordering::Relaxed);
    }

    /// Asks the `clean` thread to delete expired commitlog segments (and the consume-queue and
    /// index files below the new commitlog start) now, whatever `deleteWhen` and the disk usage
    /// say (RocketMQ `executeDeleteFilesManually`). Returns at once.
    pub fn request_delete_expired_files(&self) {
        self.inner.manual_delete.store(true, Ordering::Release);
        self.inner.clean_signal.wakeup();
    }

    /// Disk usage of the store's file system measured by the last clean round (`[0, 1]`), or
    /// `None` before the first measurement.
    pub fn last_disk_used_ratio(&self) -> Option<f64> {
        let ratio = f64::from_bits(self.inner.disk_used_ratio_bits.load(Ordering::Relaxed));
        (ratio >= 0.0).then_some(ratio)
    }

    /// Local UTC offset the store uses for `deleteWhen` and day boundaries.
    pub fn utc_offset_secs(&self) -> i32 {
        self.inner.utc_offset_secs
    }

    /// Whether the append lock has been held longer than `timeout_ms` (RocketMQ
    /// `isOSPageCacheBusy`): a stuck write elsewhere; new sends should back off.
    pub fn is_os_page_cache_busy(&self, timeout_ms: u64) -> bool {
        self.inner.commit_log.lock_held_ms() > timeout_ms
    }

    /// Removes the consume queues of `topics` (files included) and forgets their next queue
    /// offsets (DELETE_TOPIC_IN_BROKER). Returns the number of queues removed.
    pub fn delete_topics(&self, topics: &HashSet<String>) -> Result<usize> {
        self.remove_queues(|q| topics.contains(q.topic()))
    }

    /// Removes the consume queues of every topic not in `keep`, except system and
    /// retry/DLQ-free system topics (CLEAN_UNUSED_TOPIC). Returns the number removed.
    pub fn clean_unused_topics(&self, keep: &HashSet<String>) -> Result<usize> {
        self.remove_queues(|q| !keep.contains(q.topic()) && !tv::is_system_topic(q.topic()))
    }

    /// Removes consume queues whose every unit points below the commitlog's first offset
    /// (their messages are all gone; CLEAN_EXPIRED_CONSUMEQUEUE). The schedule topic is kept.
    /// Returns the number removed.
    pub fn clean_expired_consume_queues(&self) -> Result<usize> {
        let commit_log_min = self.inner.commit_log.min_offset();
        let mut expired = Vec::new();
        for q in self.inner.cq_table.all() {
            if q.topic() == tv::RMQ_SYS_SCHEDULE_TOPIC || q.max_offset() <= 0 {
                continue;
            }
            let last = q.unit_at(q.max_offset() - 1)?;
            let end = last
                .filter(|u| !u.is_blank() && u.phy_offset >= 0)
                .map(|u| u.phy_offset as u64 + u.size.max(0) as u64);
            if end.is_some_and(|end| end <= commit_log_min) {
                expired.push((q.topic().to_owned(), q.queue_id()));
            }
        }
        self.remove_queues(|q| expired.contains(&(q.topic().to_owned(), q.queue_id())))
    }

    /// Takes the matching queues out of the table, deletes their files and their topics'
    /// next-offset entries.
    fn remove_queues(&self, doomed: impl Fn(&ConsumeQueue) -> bool) -> Result<usize> {
        let removed = self.inner.cq_table.remove_where(&doomed);
        let mut topics: Vec<&str> = removed.iter().map(|q| q.topic()).collect();
        topics.dedup();
        for topic in topics {
            if self.inner.cq_table.queues_of(topic) == 0 {
                self.inner.commit_log.remove_topic_queues(topic);
            }
        }
        for q in &removed {
            log::info!("consume queue {}/{} removed", q.topic(), q.queue_id());
            q.destroy()?;
            let topic_dir = self.root().join("consumequeue").join(q.topic());
            // Only succeeds once the topic's last queue directory is gone.
            let _ = std::fs::remove_dir(topic_dir);
        }
        Ok(removed.len())
    }

    /// The consume queue of `topic`/`queue_id`, if it exists (QUERY_CONSUME_QUEUE dumps).
    pub fn consume_queue(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Option<std::sync::Arc<ConsumeQueue>> {
        self.inner.cq_table.find(topic, queue_id)
    }

    /// `(min, max)` commitlog offsets: the start of the oldest segment and the write end.
    pub fn commit_log_offsets(&self) -> (u64, u64) {
        let cl = &self.inner.commit_log;
        (cl.min_offset(), cl.confirm_offset())
    }

    /// Bytes written but not yet flushed to disk.
    pub fn unflushed_bytes(&self) -> u64 {
        let cl = &self.inner.commit_log;
        cl.confirm_offset().saturating_sub(cl.flushed_offset())
    }
}

impl crate::store::consume_queue_table::ConsumeQueueTable {
    /// Takes every queue matching `doomed` out of the table and returns them.
    pub(crate) fn remove_where(
        &self,
        doomed: &dyn Fn(&ConsumeQueue) -> bool,
    ) -> Vec<std::sync::Arc<ConsumeQueue>> {
        let mut map = write_lock(self.queues_lock());
        let mut removed = Vec::new();
        map.retain(|_, per_topic| {
            per_topic.retain(|_, q| {
                let gone = doomed(q);
                if gone {
                    removed.push(std::sync::Arc::clone(q));
                }
                !gone
            });
            !per_topic.is_empty()
        });
        removed
    }

    /// Number of queues `topic` still has.
    pub(crate) fn queues_of(&self, topic: &str) -> usize {
        let map = self.queues_lock().read().unwrap_or_else(|p| p.into_inner());
        map.get(topic).map_or(0, |m| m.len())
    }
}
