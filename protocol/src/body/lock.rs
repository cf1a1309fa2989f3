//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ bodies (orderly consumers lock their queues on the broker).
//!
//! `onlyThisBroker` may be absent (the C++ client omits it, trap 20); it defaults to false.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::dialect::lenient_bool;
use super::message_queue::MessageQueue;
use super::{null_default, JsonBody};

/// LOCK_BATCH_MQ request body (Java `LockBatchRequestBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    /// The requesting client.
    #[serde(deserialize_with = "null_default")]
    pub client_id: String,
    /// The consumer group.
    #[serde(deserialize_with = "null_default")]
    pub consumer_group: String,
    /// The queues to lock.
    #[serde(deserialize_with = "null_default")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// [5.x] Do not forward the lock to the other replicas.
    #[serde(deserialize_with = "lenient_bool")]
    pub only_this_broker: bool,
}

impl JsonBody for LockBatchRequestBody {}

/// UNLOCK_BATCH_MQ request body (Java `UnlockBatchRequestBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UnlockBatchRequestBody {
    /// The requesting client.
    #[serde(deserialize_with = "null_default")]
    pub client_id: String,
    /// The consumer group.
    #[serde(deserialize_with = "null_default")]
    pub consumer_group: String,
    /// The queues to unlock.
    #[serde(deserialize_with = "null_default")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// [5.x] Do not forward the unlock to the other replicas.
    #[serde(deserialize_with = "lenient_bool")]
    pub only_this_broker: bool,
}

impl JsonBody for UnlockBatchRequestBody {}

/// LOCK_BATCH_MQ response body: `{"lockOKMQSet":[<mq>..]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    /// The queues now locked by the requester.
    #[serde(rename = "lockOKMQSet", deserialize_with = "null_default")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

impl JsonBody for LockBatchResponseBody {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::from_json_slice;

    #[test]
    fn only_this_broker_defaults_to_false() {
        let body: LockBatchRequestBody = from_json_slice(
            br#"{"clientId":"c","consumerGroup":"G","mqSet":[{"brokerName":"b","queueId":1,"topic":"T"}]}"#,
        )
        .expect("C++ lock body");
        assert!(!body.only_this_broker);
        assert!(body.mq_set.contains(&MessageQueue::new("T", "b", 1)));
        let body: UnlockBatchRequestBody =
            from_json_slice(br#"{"clientId":"c","consumerGroup":"G","mqSet":null}"#)
                .expect("null set");
        assert!(body.mq_set.is_empty() && !body.only_this_broker);
    }
}
