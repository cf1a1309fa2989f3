//! Outcomes of store operations (RocketMQ's `*Result` / `*Status` pairs). These are expected
//! results, not errors: "no message", "flush timed out", "disk full" are statuses.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;

/// Outcome of a put (RocketMQ `PutMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum PutMessageStatus {
    /// Stored (and, for a SYNC_FLUSH wait, durable).
    PUT_OK,
    /// Stored, but the sync flush did not finish within `syncFlushTimeout`.
    FLUSH_DISK_TIMEOUT,
    /// Stored, but the slave did not acknowledge in time (HA; set by the broker).
    FLUSH_SLAVE_TIMEOUT,
    /// Stored, but no slave is available for a SYNC_MASTER (HA; set by the broker).
    SLAVE_NOT_AVAILABLE,
    /// The store refuses writes: shut down, disk full, or a failed fdatasync (see
    /// [`WriteBlock`]).
    SERVICE_NOT_AVAILABLE,
    /// A new commitlog segment could not be created.
    CREATE_MAPPED_FILE_FAILED,
    /// The record is malformed, too large, or does not match the given topic/queue.
    MESSAGE_ILLEGAL,
    /// The properties string exceeds 32 767 bytes (checked by the encoder).
    PROPERTIES_SIZE_EXCEEDED,
    /// The append lock was held too long (reserved; not produced by this store).
    OS_PAGE_CACHE_BUSY,
    /// The segment write failed; nothing was stored.
    UNKNOWN_ERROR,
}

/// Why the store currently refuses writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBlock {
    /// Disk usage passed `diskSpaceWarningLevelRatio`; cleared when retention frees space.
    DiskFull,
    /// An fdatasync failed: durability of written data is unknown until a restart recovers.
    FlushFailed,
    /// A group write failed while later appends were staged behind it: the log has a hole
    /// until a restart recovers.
    WriteFailed,
    /// The store is shut down.
    ShutDown,
}

/// Where one append landed (RocketMQ `AppendMessageResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// Commitlog offset of the first record.
    pub phy_offset: u64,
    /// Bytes written (all records of a batch; blank records not counted).
    pub wrote_bytes: u32,
    /// Queue offset of the first record (0 for prepared/rollback transactional records).
    pub queue_offset: i64,
    /// Store timestamp assigned to every record of the append.
    pub store_timestamp_ms: i64,
    /// Number of records.
    pub msg_count: u32,
    /// Commitlog offset just past the last record: pass it to `request_flush`.
    pub end_offset: u64,
    /// Commitlog offset of each record of a batch (empty for a single record).
    pub batch_phy_offsets: Vec<u64>,
}

/// Result of a put: a status and, when anything was stored, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMessageResult {
    /// The outcome.
    pub status: PutMessageStatus,
    /// Present when the records were written (PUT_OK and the flush/slave timeouts).
    pub append: Option<AppendResult>,
}

impl PutMessageResult {
    /// A result with no stored records.
    pub fn failed(status: PutMessageStatus) -> Self {
        PutMessageResult {
            status,
            append: None,
        }
    }

    /// True for PUT_OK.
    pub fn is_ok(&self) -> bool {
        self.status == PutMessageStatus::PUT_OK
    }
}

/// Outcome of a consume-queue read (RocketMQ `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum GetMessageStatus {
    /// At least one message returned.
    FOUND,
    /// Units were scanned but the filter matched none.
    NO_MATCHED_MESSAGE,
    /// The commitlog data of the scanned units was already deleted.
    MESSAGE_WAS_REMOVING,
    /// The consume-queue file holding the offset is gone.
    OFFSET_FOUND_NULL,
    /// offset > max offset.
    OFFSET_OVERFLOW_BADLY,
    /// offset == max offset: caught up (PULL_NOT_FOUND, not an error).
    OFFSET_OVERFLOW_ONE,
    /// offset < min offset.
    OFFSET_TOO_SMALL,
    /// No consume queue for this topic/queue.
    NO_MATCHED_LOGIC_QUEUE,
    /// The queue exists but has never held a message.
    NO_MESSAGE_IN_QUEUE,
}

/// A byte range of a segment file, for sendfile or a positioned read. Holding it keeps the
/// file open even if retention deletes it.
#[derive(Debug, Clone)]
pub struct FileRegion {
    /// The segment file.
    pub file: Arc<File>,
    /// Byte position within the file.
    pub position: u64,
    /// Length in bytes.
    pub len: u32,
}

impl FileRegion {
    /// Reads the region into memory.
    pub fn read(&self) -> io::Result<Bytes> {
        let mut buf = vec![0u8; self.len as usize];
        self.file.read_exact_at(&mut buf, self.position)?;
        Ok(Bytes::from(buf))
    }
}

/// One message selected by a consume-queue read.
#[derive(Debug, Clone)]
pub struct MessageRegion {
    /// Its queue offset.
    pub queue_offset: i64,
    /// Its commitlog offset.
    pub phy_offset: u64,
    /// Record size in bytes.
    pub size: u32,
    /// The consume-queue tags code.
    pub tags_code: i64,
    /// Where the record bytes are.
    pub region: FileRegion,
}

/// Result of `get_messages` (RocketMQ `GetMessageResult`).
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    /// The outcome.
    pub status: GetMessageStatus,
    /// Offset the consumer should ask for next.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset (next offset to be written).
    pub max_offset: i64,
    /// Selected messages, in queue order.
    pub messages: Vec<MessageRegion>,
    /// Sum of the selected record sizes.
    pub total_bytes: u64,
}

/// Result of a query by key (RocketMQ `QueryMessageResult`).
#[derive(Debug, Clone, Default)]
pub struct QueryMessageResult {
    /// Matching records (verified: topic equal, key among KEYS or equal to UNIQ_KEY), newest
    /// first.
    pub messages: Vec<MessageRegion>,
    /// End timestamp of the newest index file.
    pub index_last_update_timestamp: i64,
    /// End commitlog offset of the newest index file.
    pub index_last_update_phy_offset: i64,
}

/// Filters consume-queue units by tags code before any commitlog read (RocketMQ
/// `MessageFilter.isMatchedByConsumeQueue`). Callers re-check the real tag afterwards.
pub trait MessageFilter {
    /// True when the unit may match.
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool;
}

impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}
