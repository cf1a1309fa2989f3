//! Request codes (RocketMQ `RequestCode`).

use super::coded_enum;

coded_enum! {
    /// Request codes of the classic remoting protocol, with RocketMQ's numbers.
    pub enum RequestCode: i32 {
        /// Send one message, long header names.
        SEND_MESSAGE = 10,
        /// Pull messages from a consume queue.
        PULL_MESSAGE = 11,
        /// Query messages by key through the index.
        QUERY_MESSAGE = 12,
        /// Query a consumer group's committed offset.
        QUERY_CONSUMER_OFFSET = 14,
        /// Commit a consumer group's offset.
        UPDATE_CONSUMER_OFFSET = 15,
        /// Create or update a topic on a broker.
        UPDATE_AND_CREATE_TOPIC = 17,
        /// Create or update several topics on a broker.
        UPDATE_AND_CREATE_TOPIC_LIST = 18,
        /// All topic configs of a broker.
        GET_ALL_TOPIC_CONFIG = 21,
        /// Topic config list.
        GET_TOPIC_CONFIG_LIST = 22,
        /// Topic name list.
        GET_TOPIC_NAME_LIST = 23,
        /// Update broker configuration properties.
        UPDATE_BROKER_CONFIG = 25,
        /// Read broker configuration properties.
        GET_BROKER_CONFIG = 26,
        /// Force retention to run.
        TRIGGER_DELETE_FILES = 27,
        /// Broker runtime statistics.
        GET_BROKER_RUNTIME_INFO = 28,
        /// Queue offset for a store timestamp.
        SEARCH_OFFSET_BY_TIMESTAMP = 29,
        /// Next consume-queue index of a queue.
        GET_MAX_OFFSET = 30,
        /// Lowest consume-queue index of a queue.
        GET_MIN_OFFSET = 31,
        /// Store time of the oldest message of a queue.
        GET_EARLIEST_MSG_STORETIME = 32,
        /// One stored message by commitlog offset.
        VIEW_MESSAGE_BY_ID = 33,
        /// Client heartbeat (producer and consumer groups).
        HEART_BEAT = 34,
        /// Client going away.
        UNREGISTER_CLIENT = 35,
        /// Consumer returns a failed message for retry.
        CONSUMER_SEND_MSG_BACK = 36,
        /// Commit or roll back a half message.
        END_TRANSACTION = 37,
        /// Client ids of a consumer group.
        GET_CONSUMER_LIST_BY_GROUP = 38,
        /// Broker asks a producer for a transaction's state.
        CHECK_TRANSACTION_STATE = 39,
        /// Broker tells consumers that the group changed.
        NOTIFY_CONSUMER_IDS_CHANGED = 40,
        /// Lock queues for orderly consumption.
        LOCK_BATCH_MQ = 41,
        /// Unlock queues.
        UNLOCK_BATCH_MQ = 42,
        /// All consumer offsets (slave sync).
        GET_ALL_CONSUMER_OFFSET = 43,
        /// All delay offsets (slave sync).
        GET_ALL_DELAY_OFFSET = 45,
        /// Validate a client's subscription config.
        CHECK_CLIENT_CONFIG = 46,
        /// Put a NameServer KV config entry.
        PUT_KV_CONFIG = 100,
        /// Get a NameServer KV config entry.
        GET_KV_CONFIG = 101,
        /// Delete a NameServer KV config entry.
        DELETE_KV_CONFIG = 102,
        /// Broker registers with a NameServer.
        REGISTER_BROKER = 103,
        /// Broker unregisters from a NameServer.
        UNREGISTER_BROKER = 104,
        /// Route of a topic.
        GET_ROUTEINFO_BY_TOPIC = 105,
        /// Clusters and brokers known to a NameServer.
        GET_BROKER_CLUSTER_INFO = 106,
        /// Create or update a subscription group.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
        /// All subscription groups (slave sync).
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
        /// Offsets of every queue of a topic.
        GET_TOPIC_STATS_INFO = 202,
        /// Connections of a consumer group.
        GET_CONSUMER_CONNECTION_LIST = 203,
        /// Connections of a producer group.
        GET_PRODUCER_CONNECTION_LIST = 204,
        /// Remove write permission of a broker's queues.
        WIPE_WRITE_PERM_OF_BROKER = 205,
        /// All topics known to a NameServer.
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        /// Delete a subscription group.
        DELETE_SUBSCRIPTIONGROUP = 207,
        /// Consumption progress of a group.
        GET_CONSUME_STATS = 208,
        /// Defined by RocketMQ, not served.
        WHO_CONSUME_THE_MESSAGE = 214,
        /// Delete a topic on a broker.
        DELETE_TOPIC_IN_BROKER = 215,
        /// Delete a topic's routes on a NameServer.
        DELETE_TOPIC_IN_NAMESRV = 216,
        /// Register one topic's route.
        REGISTER_TOPIC_IN_NAMESRV = 217,
        /// KV config entries of a namespace.
        GET_KVLIST_BY_NAMESPACE = 219,
        /// Broker tells a consumer to reset offsets.
        RESET_CONSUMER_CLIENT_OFFSET = 220,
        /// Broker asks a consumer for its offsets.
        GET_CONSUMER_STATUS_FROM_CLIENT = 221,
        /// Admin asks a broker to reset a group's offsets.
        INVOKE_BROKER_TO_RESET_OFFSET = 222,
        /// Admin asks a broker for a group's client status.
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223,
        /// Topics of a cluster.
        GET_TOPICS_BY_CLUSTER = 224,
        /// Groups that consume a topic.
        QUERY_TOPIC_CONSUME_BY_WHO = 300,
        /// Consumption time span of a group on a topic.
        QUERY_CONSUME_TIME_SPAN = 303,
        /// System topics known to a NameServer.
        GET_SYSTEM_TOPIC_LIST_FROM_NS = 304,
        /// System topics of a broker.
        GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305,
        /// Remove consume queues of deleted topics.
        CLEAN_EXPIRED_CONSUMEQUEUE = 306,
        /// A consumer's running info (forwarded by the broker).
        GET_CONSUMER_RUNNING_INFO = 307,
        /// Offset correction across groups.
        QUERY_CORRECTION_OFFSET = 308,
        /// Ask a consumer to consume one message directly.
        CONSUME_MESSAGE_DIRECTLY = 309,
        /// Send one message, short header names.
        SEND_MESSAGE_V2 = 310,
        /// Copy a group's offsets to another group.
        CLONE_GROUP_OFFSET = 314,
        /// Broker statistics item.
        VIEW_BROKER_STATS_DATA = 315,
        /// Remove topics that no longer exist.
        CLEAN_UNUSED_TOPIC = 316,
        /// Consume stats of every group on a broker.
        GET_BROKER_CONSUME_STATS = 317,
        /// Update NameServer configuration.
        UPDATE_NAMESRV_CONFIG = 318,
        /// Read NameServer configuration.
        GET_NAMESRV_CONFIG = 319,
        /// Send a batch of messages.
        SEND_BATCH_MESSAGE = 320,
        /// Read consume-queue units.
        QUERY_CONSUME_QUEUE = 321,
        /// Compare a broker's data version with the NameServer's.
        QUERY_DATA_VERSION = 322,
        /// Resume check-back of a half message.
        RESUME_CHECK_HALF_MESSAGE = 323,
        /// Request/reply: send a reply message.
        SEND_REPLY_MESSAGE = 324,
        /// Request/reply: send a reply message, short names.
        SEND_REPLY_MESSAGE_V2 = 325,
        /// Request/reply: push a reply to the requester.
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
        /// Restore write permission of a broker's queues.
        ADD_WRITE_PERM_OF_BROKER = 327,
        /// All producers of a broker.
        GET_ALL_PRODUCER_INFO = 328,
        /// Delete expired commitlog files now.
        DELETE_EXPIRED_COMMITLOG = 329,
        /// Topics consumed by a group.
        QUERY_TOPICS_BY_CONSUMER = 343,
        /// One topic config.
        GET_TOPIC_CONFIG = 351,
        /// One subscription group config.
        GET_SUBSCRIPTIONGROUP_CONFIG = 352,
        /// Lite pull consumer pull.
        LITE_PULL_MESSAGE = 361,
        /// Message request modes (slave sync).
        GET_ALL_MESSAGE_REQUEST_MODE = 402,
        /// Broker liveness heartbeat to a NameServer.
        BROKER_HEARTBEAT = 904,
    }
}

impl RequestCode {
    /// True for the three send codes that carry a message body (10, 310, 320).
    pub fn is_send(self) -> bool {
        matches!(
            self,
            RequestCode::SEND_MESSAGE
                | RequestCode::SEND_MESSAGE_V2
                | RequestCode::SEND_BATCH_MESSAGE
        )
    }
}
