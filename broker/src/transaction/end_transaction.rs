//! END_TRANSACTION (37), wire reference §2.3 and §8 steps 3-5, as [`end_transaction`]: commit
//! writes the real message then an op record, rollback writes the op record only.
//!
//! Owns no state. The caller (the request processor) decodes the header, passes the broker
//! role and settings, and sends a response only when the request was not one-way.

use std::net::SocketAddr;

use protocol::code::ResponseCode;
use protocol::header::transaction::EndTransactionRequestHeader;
use protocol::message::{keys, MessageExt};

use crate::error::Result;
use crate::inner_message as im;
use crate::schedule::delay::{delay_level_of, rewrite_for_delay};
use crate::store::{MessageStore, PutMessageResult};
use crate::transaction::half::{self, HALF_TOPIC};

/// Broker settings END_TRANSACTION depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTransactionConfig {
    /// `brokerRole == SLAVE`: every request is refused with SLAVE_NOT_AVAILABLE.
    pub is_slave: bool,
    /// `transactionTimeOut` in ms (with `CHECK_IMMUNITY_TIME_IN_SECONDS`, the window in which
    /// a producer may still end a transaction without being asked).
    pub transaction_timeout_ms: i64,
    /// Number of delay levels, for the (rare) delayed committed message.
    pub max_delay_level: i32,
}

/// What [`end_transaction`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndTxOutcome {
    /// `commitOrRollback` was 0 (unknown) or not a valid value: nothing done, no response
    /// (Java returns null).
    Ignored,
    /// Answer with `code` / `remark`.
    Done {
        /// 0 SUCCESS, 1 SYSTEM_ERROR, 11 SLAVE_NOT_AVAILABLE, 13, 14 or 604 ILLEGAL_OPERATION.
        code: ResponseCode,
        /// Why, on failure.
        remark: Option<String>,
        /// The put of the committed real message (commit only): in SYNC_FLUSH mode a non-one-way
        /// caller defers the response until `append.end_offset` is flushed.
        put: Option<PutMessageResult>,
    },
}

impl EndTxOutcome {
    fn done(code: ResponseCode, remark: Option<&str>) -> Self {
        EndTxOutcome::Done {
            code,
            remark: remark.map(str::to_string),
            put: None,
        }
    }
}

/// Java `checkPrepareMessage`: the half record must carry the requesting producer group and
/// sit at the offsets the request names. `Err` is the SYSTEM_ERROR remark.
pub fn check_prepare_message(
    half: &MessageExt,
    header: &EndTransactionRequestHeader,
) -> std::result::Result<(), &'static str> {
    if half.topic != HALF_TOPIC {
        return Err("Find prepared transaction message failed");
    }
    if half.properties.get(keys::PGROUP) != Some(header.producer_group.as_str()) {
        return Err("The producer group wrong");
    }
    if half.queue_offset != header.tran_state_table_offset {
        return Err("The transaction state table offset wrong");
    }
    if half.commit_log_offset != header.commit_log_offset {
        return Err("The commit log offset wrong");
    }
    Ok(())
}

/// [5.x] `rejectCommitOrRollback`: a producer-initiated (not check-answering) request for a
/// half message with `CHECK_IMMUNITY_TIME_IN_SECONDS` that arrives after its immunity window is
/// refused (604); the check service asks the producer again instead.
pub fn reject_commit_or_rollback(
    half: &MessageExt,
    from_check: bool,
    transaction_timeout_ms: i64,
    now_ms: i64,
) -> bool {
    if from_check {
        return false;
    }
    match half::immunity_time_ms(half, transaction_timeout_ms) {
        (immunity, true) => now_ms.saturating_sub(half.born_timestamp) > immunity,
        (_, false) => false,
    }
}

/// Maps a put of the committed message to a response (Java `sendFinalMessage`).
fn final_put_code(put: &PutMessageResult) -> (ResponseCode, Option<&'static str>) {
    use crate::store::PutMessageStatus as S;
    if im::is_stored(put) {
        return (ResponseCode::SUCCESS, None);
    }
    match put.status {
        S::MESSAGE_ILLEGAL | S::PROPERTIES_SIZE_EXCEEDED => (
            ResponseCode::MESSAGE_ILLEGAL,
            Some("The message is illegal, maybe msg body or properties length not matched."),
        ),
        S::SERVICE_NOT_AVAILABLE => (
            ResponseCode::SERVICE_NOT_AVAILABLE,
            Some("Service not available now."),
        ),
        S::CREATE_MAPPED_FILE_FAILED => (
            ResponseCode::SYSTEM_ERROR,
            Some("Create mapped file failed."),
        ),
        S::OS_PAGE_CACHE_BUSY => (
            ResponseCode::SYSTEM_ERROR,
            Some("OS page cache busy, please try another machine"),
        ),
        _ => (ResponseCode::SYSTEM_ERROR, Some("UNKNOWN_ERROR")),
    }
}

/// Writes the op record removing `half` (Java `deletePrepareMessage`); failures are logged
/// (the check service will then ask the producer again).
pub fn put_op_record(store: &MessageStore, half: &MessageExt, now_ms: i64) -> PutMessageResult {
    let op = half::op_message(half.queue_id, half.queue_offset, op_host(half), now_ms);
    let put = im::put_message_ext(store, &op);
    if !im::is_stored(&put) {
        log::error!(
            "op record for half offset {} not stored ({:?}); the transaction will be checked again",
            half.queue_offset,
            put.status
        );
    }
    put
}

fn op_host(half: &MessageExt) -> SocketAddr {
    half.store_host
}

/// Stores the committed real message; the delay rewrite applies as for any put.
fn put_commit(
    store: &MessageStore,
    half: &MessageExt,
    cfg: &EndTransactionConfig,
) -> Result<PutMessageResult> {
    let mut m = half::commit_message(half)?;
    if delay_level_of(&m.properties) > 0 {
        if let Some(d) = rewrite_for_delay(
            &m.topic,
            m.queue_id,
            m.sys_flag,
            &m.properties,
            cfg.max_delay_level,
        ) {
            m.topic = d.topic.to_string();
            m.queue_id = d.queue_id;
            m.properties = d.properties;
        }
    }
    Ok(im::put_message_ext(store, &m))
}

/// The commit branch: real message first, the op record only once it is stored.
fn commit(
    store: &MessageStore,
    half: &MessageExt,
    cfg: &EndTransactionConfig,
    now_ms: i64,
) -> EndTxOutcome {
    let put = match put_commit(store, half, cfg) {
        Ok(put) => put,
        Err(e) => return EndTxOutcome::done(ResponseCode::SYSTEM_ERROR, Some(&e.to_string())),
    };
    let (code, remark) = final_put_code(&put);
    if code == ResponseCode::SUCCESS {
        put_op_record(store, half, now_ms);
    }
    EndTxOutcome::Done {
        code,
        remark: remark.map(str::to_string),
        put: Some(put),
    }
}

/// END_TRANSACTION (37). Refused on a slave (11); `commitOrRollback` 0 or unknown →
/// [`EndTxOutcome::Ignored`]. Loads the half record at `commitLogOffset` (1 if absent), checks
/// it ([`check_prepare_message`], 1 on mismatch; [`reject_commit_or_rollback`], 604), then:
/// commit → stores the real message and, once stored, the op record; rollback → the op record.
/// `Err` only for store read I/O failures (answer SYSTEM_ERROR).
pub fn end_transaction(
    store: &MessageStore,
    header: &EndTransactionRequestHeader,
    cfg: &EndTransactionConfig,
    now_ms: i64,
) -> Result<EndTxOutcome> {
    if cfg.is_slave {
        return Ok(EndTxOutcome::done(ResponseCode::SLAVE_NOT_AVAILABLE, None));
    }
    if !header.is_commit() && !header.is_rollback() {
        log::warn!(
            "end transaction {} ignored: state {}",
            header.msg_id,
            header.commit_or_rollback
        );
        return Ok(EndTxOutcome::Ignored);
    }
    let Some(half) = im::load_message(store, header.commit_log_offset)? else {
        return Ok(EndTxOutcome::done(
            ResponseCode::SYSTEM_ERROR,
            Some("Find prepared transaction message failed"),
        ));
    };
    if reject_commit_or_rollback(
        &half,
        header.is_from_transaction_check(),
        cfg.transaction_timeout_ms,
        now_ms,
    ) {
        log::warn!(
            "end transaction {} refused: past the check immunity time, wait for the check",
            header.msg_id
        );
        return Ok(EndTxOutcome::done(ResponseCode::ILLEGAL_OPERATION, None));
    }
    if let Err(remark) = check_prepare_message(&half, header) {
        return Ok(EndTxOutcome::done(ResponseCode::SYSTEM_ERROR, Some(remark)));
    }
    if header.is_rollback() {
        put_op_record(store, &half, now_ms);
        return Ok(EndTxOutcome::done(ResponseCode::SUCCESS, None));
    }
    Ok(commit(store, &half, cfg, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn half() -> MessageExt {
        let mut m = MessageExt::new(HALF_TOPIC, Bytes::from_static(b"x"));
        m.properties.insert(keys::PGROUP, "PG");
        m.queue_offset = 3;
        m.commit_log_offset = 900;
        m.born_timestamp = 1_000;
        m
    }

    fn header() -> EndTransactionRequestHeader {
        EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 3,
            commit_log_offset: 900,
            commit_or_rollback: EndTransactionRequestHeader::COMMIT_TYPE,
            ..Default::default()
        }
    }

    #[test]
    fn prepare_checks() {
        assert_eq!(check_prepare_message(&half(), &header()), Ok(()));
        let mut h = header();
        h.producer_group = "other".into();
        assert_eq!(
            check_prepare_message(&half(), &h),
            Err("The producer group wrong")
        );
        let mut h = header();
        h.tran_state_table_offset = 4;
        assert_eq!(
            check_prepare_message(&half(), &h),
            Err("The transaction state table offset wrong")
        );
        let mut not_half = half();
        not_half.topic = "Orders".into();
        assert!(check_prepare_message(&not_half, &header()).is_err());
    }

    #[test]
    fn late_producer_answers_are_refused_only_with_a_custom_immunity() {
        let mut h = half();
        assert!(
            !reject_commit_or_rollback(&h, false, 6_000, 1_000_000),
            "no property"
        );
        h.properties
            .insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, "10");
        assert!(!reject_commit_or_rollback(&h, false, 6_000, 11_000));
        assert!(reject_commit_or_rollback(&h, false, 6_000, 11_001));
        assert!(
            !reject_commit_or_rollback(&h, true, 6_000, 99_999),
            "answers to checks pass"
        );
    }
}
