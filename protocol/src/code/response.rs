//! Response codes (RocketMQ `ResponseCode` + `RemotingSysResponseCode`).

use super::coded_enum;

coded_enum! {
    /// Response codes with RocketMQ's numbers.
    pub enum ResponseCode: i32 {
        /// Success.
        SUCCESS = 0,
        /// Generic failure; the remark says why.
        SYSTEM_ERROR = 1,
        /// Overloaded or rejecting; retry later.
        SYSTEM_BUSY = 2,
        /// Unknown request code.
        REQUEST_CODE_NOT_SUPPORTED = 3,
        /// Transaction failed.
        TRANSACTION_FAILED = 4,
        /// Stored, but not flushed to disk in time.
        FLUSH_DISK_TIMEOUT = 10,
        /// Stored, but no slave to replicate to.
        SLAVE_NOT_AVAILABLE = 11,
        /// Stored, but the slave did not acknowledge in time.
        FLUSH_SLAVE_TIMEOUT = 12,
        /// Invalid message (size, properties, topic).
        MESSAGE_ILLEGAL = 13,
        /// Service not available (slave, shutting down, disk full).
        SERVICE_NOT_AVAILABLE = 14,
        /// Version not supported.
        VERSION_NOT_SUPPORTED = 15,
        /// Permission denied.
        NO_PERMISSION = 16,
        /// Topic does not exist.
        TOPIC_NOT_EXIST = 17,
        /// Topic already exists.
        TOPIC_EXIST_ALREADY = 18,
        /// No new message: the consumer has caught up.
        PULL_NOT_FOUND = 19,
        /// Pull again at once (filtered out or moved).
        PULL_RETRY_IMMEDIATELY = 20,
        /// The requested offset is illegal; use nextBeginOffset.
        PULL_OFFSET_MOVED = 21,
        /// Nothing found for the query.
        QUERY_NOT_FOUND = 22,
        /// Subscription expression did not parse.
        SUBSCRIPTION_PARSE_FAILED = 23,
        /// No subscription registered.
        SUBSCRIPTION_NOT_EXIST = 24,
        /// Registered subscription is older than the request's.
        SUBSCRIPTION_NOT_LATEST = 25,
        /// Subscription group does not exist.
        SUBSCRIPTION_GROUP_NOT_EXIST = 26,
        /// Filter data does not exist.
        FILTER_DATA_NOT_EXIST = 27,
        /// Filter data is not the latest.
        FILTER_DATA_NOT_LATEST = 28,
        /// Invalid parameter.
        INVALID_PARAMETER = 29,
        /// Transaction should commit.
        TRANSACTION_SHOULD_COMMIT = 200,
        /// Transaction should roll back.
        TRANSACTION_SHOULD_ROLLBACK = 201,
        /// Transaction state unknown.
        TRANSACTION_STATE_UNKNOW = 202,
        /// Transaction group wrong.
        TRANSACTION_STATE_GROUP_WRONG = 203,
        /// No buyer id.
        NO_BUYER_ID = 204,
        /// Not in current unit.
        NOT_IN_CURRENT_UNIT = 205,
        /// No consumer of the group is online.
        CONSUMER_NOT_ONLINE = 206,
        /// Consume timed out.
        CONSUME_MSG_TIMEOUT = 207,
        /// No message.
        NO_MESSAGE = 208,
        /// Flow control.
        FLOW_CONTROL = 215,
        /// Operation not allowed now.
        ILLEGAL_OPERATION = 604,
    }
}

impl ResponseCode {
    /// The send outcomes that a Java client treats as a *completed* send (with a status).
    pub fn is_send_completed(self) -> bool {
        matches!(
            self,
            ResponseCode::SUCCESS
                | ResponseCode::FLUSH_DISK_TIMEOUT
                | ResponseCode::FLUSH_SLAVE_TIMEOUT
                | ResponseCode::SLAVE_NOT_AVAILABLE
        )
    }
}
