//! The store side of replication (RocketMQ `DefaultMessageStore.appendToCommitLog` and the
//! slave-to-master switch): appending the master's bytes, the offsets the HA services report,
//! and making a replicated log writable when a slave is promoted.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::commit_log::RawAppend;
use super::MessageStore;
use crate::error::{Error, Result};

impl MessageStore {
    /// Appends replicated commitlog bytes at `phy_offset` (see [`super::CommitLog::append_raw`]);
    /// when a fresh store adopts the master's position, dispatching starts there too.
    pub fn append_raw(&self, phy_offset: u64, data: &[u8]) -> Result<RawAppend> {
        let r = self.inner.commit_log.append_raw(phy_offset, data)?;
        if r.rebased {
            self.inner
                .reput
                .reput_offset
                .store(phy_offset, Ordering::Release);
            self.inner.reput.signal.wakeup();
        }
        Ok(r)
    }

    /// The commitlog's write end (what a slave reports to its master).
    pub fn max_phy_offset(&self) -> u64 {
        self.inner.commit_log.write_offset()
    }

    /// Prepares a replicated store for writes of its own (slave promotion): drops a partial
    /// record after the readable end, waits up to `timeout` until everything readable is
    /// dispatched, then rebuilds the next queue offsets ("topicQueueTable") from the consume
    /// queues so new messages continue each queue without a gap or a duplicate offset.
    pub fn prepare_for_writes(&self, timeout: Duration) -> Result<()> {
        let i = &self.inner;
        i.commit_log.discard_unconfirmed_tail()?;
        let deadline = Instant::now() + timeout;
        while i.reput.behind() > 0 {
            if Instant::now() >= deadline {
                return Err(Error::io(
                    "promote",
                    &i.config.store_path_root_dir,
                    std::io::Error::other("the dispatcher did not catch up in time"),
                ));
            }
            i.reput.signal.wakeup();
            std::thread::park_timeout(Duration::from_millis(2));
        }
        i.commit_log
            .restore_topic_queue_table(i.cq_table.max_offsets());
        Ok(())
    }
}
