//! Transactional-message headers: END_TRANSACTION (37, producer→broker) and
//! CHECK_TRANSACTION_STATE (39, broker→producer), wire reference §2.3.

use super::field::command_header;

command_header! {
    /// END_TRANSACTION (37) request, normally one-way. The remark may carry the local
    /// transaction's exception text.
    pub struct EndTransactionRequestHeader {
        /// `producerGroup`: must match the half message's PGROUP property.
        producer_group: String = "producerGroup",
        /// `tranStateTableOffset`: queue offset of the half message (from the send response).
        tran_state_table_offset: i64 = "tranStateTableOffset",
        /// `commitLogOffset`: commitlog offset of the half message.
        commit_log_offset: i64 = "commitLogOffset",
        /// `commitOrRollback`: one of [`EndTransactionRequestHeader::NOT_TYPE`],
        /// [`EndTransactionRequestHeader::COMMIT_TYPE`], [`EndTransactionRequestHeader::ROLLBACK_TYPE`].
        commit_or_rollback: i32 = "commitOrRollback",
        /// `fromTransactionCheck`: true when answering a CHECK_TRANSACTION_STATE.
        from_transaction_check: Option<bool> = "fromTransactionCheck",
        /// `msgId`: the message's UNIQ_KEY.
        msg_id: String = "msgId",
        /// `transactionId`.
        transaction_id: Option<String> = "transactionId",
        /// `topic`.
        topic: Option<String> = "topic",
    }
}

impl EndTransactionRequestHeader {
    /// `commitOrRollback`: state unknown; the broker ignores the request.
    pub const NOT_TYPE: i32 = 0;
    /// `commitOrRollback`: commit the half message.
    pub const COMMIT_TYPE: i32 = 0x8;
    /// `commitOrRollback`: roll the half message back.
    pub const ROLLBACK_TYPE: i32 = 0xC;

    /// True for a commit.
    pub fn is_commit(&self) -> bool {
        self.commit_or_rollback == Self::COMMIT_TYPE
    }

    /// True for a rollback.
    pub fn is_rollback(&self) -> bool {
        self.commit_or_rollback == Self::ROLLBACK_TYPE
    }

    /// True when this request answers a transaction check (absent = false).
    pub fn is_from_transaction_check(&self) -> bool {
        self.from_transaction_check.unwrap_or(false)
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39) one-way broker→producer request; the body is the half
    /// message in stored format.
    pub struct CheckTransactionStateRequestHeader {
        /// `topic`: the real topic of the half message.
        topic: Option<String> = "topic",
        /// `tranStateTableOffset`: queue offset of the current half record.
        tran_state_table_offset: i64 = "tranStateTableOffset",
        /// `commitLogOffset`: commitlog offset of the current half record.
        commit_log_offset: i64 = "commitLogOffset",
        /// `msgId`: the UNIQ_KEY.
        msg_id: Option<String> = "msgId",
        /// `transactionId`: equal to the UNIQ_KEY.
        transaction_id: Option<String> = "transactionId",
        /// `offsetMsgId`: the offset id of the half record.
        offset_msg_id: Option<String> = "offsetMsgId",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_or_rollback_helpers() {
        let mut h = EndTransactionRequestHeader {
            commit_or_rollback: EndTransactionRequestHeader::COMMIT_TYPE,
            ..Default::default()
        };
        assert!(h.is_commit() && !h.is_rollback() && !h.is_from_transaction_check());
        h.commit_or_rollback = 12;
        assert!(h.is_rollback());
        h.commit_or_rollback = 0;
        assert!(!h.is_commit() && !h.is_rollback());
    }
}
