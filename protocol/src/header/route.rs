//! NameServer-facing headers: route lookup, broker registration and liveness, KV config and the
//! admin topic/permission commands served by the NameServer (wire reference §2.1, §2.4, §2.6).
//! Where the reference leaves required-ness open, Java's `@CFNotNull` annotations decide.

use super::field::command_header;

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request.
    pub struct GetRouteInfoRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `acceptStandardJsonOnly`: the client wants strictly standard JSON.
        accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// REGISTER_BROKER (103) request; the body is a RegisterBrokerBody.
    pub struct RegisterBrokerRequestHeader {
        /// `brokerName`.
        broker_name: String = "brokerName",
        /// `brokerAddr`: `brokerIP1:listenPort`.
        broker_addr: String = "brokerAddr",
        /// `clusterName`.
        cluster_name: String = "clusterName",
        /// `haServerAddr`: `brokerIP2:haListenPort`.
        ha_server_addr: String = "haServerAddr",
        /// `brokerId`: 0 for the master.
        broker_id: i64 = "brokerId",
        /// `heartbeatTimeoutMillis`: liveness timeout requested by the broker.
        heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        /// `enableActingMaster`.
        enable_acting_master: Option<bool> = "enableActingMaster",
        /// `compressed`: the body uses the compressed encoding.
        compressed: Option<bool> = "compressed",
        /// `bodyCrc32`: CRC32 of the body, 0 = unchecked.
        body_crc32: Option<i32> = "bodyCrc32",
        /// `__ZONE_NAME`: the broker's zone.
        zone_name: Option<String> = "__ZONE_NAME",
    }
}

command_header! {
    /// REGISTER_BROKER (103) response: where a slave finds its master.
    pub struct RegisterBrokerResponseHeader {
        /// `haServerAddr`: the master's HA address.
        ha_server_addr: Option<String> = "haServerAddr",
        /// `masterAddr`: the master's remoting address.
        master_addr: Option<String> = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104) request.
    pub struct UnregisterBrokerRequestHeader {
        /// `brokerName`.
        broker_name: String = "brokerName",
        /// `brokerAddr`.
        broker_addr: String = "brokerAddr",
        /// `clusterName`.
        cluster_name: String = "clusterName",
        /// `brokerId`.
        broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) request; the body is the broker's DataVersion JSON.
    pub struct QueryDataVersionRequestHeader {
        /// `brokerName`.
        broker_name: String = "brokerName",
        /// `brokerAddr`.
        broker_addr: String = "brokerAddr",
        /// `clusterName`.
        cluster_name: String = "clusterName",
        /// `brokerId`.
        broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response.
    pub struct QueryDataVersionResponseHeader {
        /// `changed`: the NameServer's stored DataVersion differs from the broker's.
        changed: bool = "changed",
    }
}

command_header! {
    /// BROKER_HEARTBEAT (904) one-way request ([5.x]).
    pub struct BrokerHeartbeatRequestHeader {
        /// `clusterName`.
        cluster_name: String = "clusterName",
        /// `brokerAddr`.
        broker_addr: String = "brokerAddr",
        /// `brokerName`.
        broker_name: String = "brokerName",
        /// `brokerId`.
        broker_id: Option<i64> = "brokerId",
        /// `epoch`: controller epoch.
        epoch: Option<i32> = "epoch",
        /// `maxOffset`: the broker's max commitlog offset.
        max_offset: Option<i64> = "maxOffset",
        /// `confirmOffset`.
        confirm_offset: Option<i64> = "confirmOffset",
        /// `heartbeatTimeoutMills` (sic).
        heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMills",
        /// `electionPriority`.
        election_priority: Option<i32> = "electionPriority",
    }
}

command_header! {
    /// PUT_KV_CONFIG (100) request.
    pub struct PutKvConfigRequestHeader {
        /// `namespace`.
        namespace: String = "namespace",
        /// `key`.
        key: String = "key",
        /// `value`.
        value: String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) request.
    pub struct GetKvConfigRequestHeader {
        /// `namespace`.
        namespace: String = "namespace",
        /// `key`.
        key: String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) response.
    pub struct GetKvConfigResponseHeader {
        /// `value`.
        value: Option<String> = "value",
    }
}

command_header! {
    /// DELETE_KV_CONFIG (102) request.
    pub struct DeleteKvConfigRequestHeader {
        /// `namespace`.
        namespace: String = "namespace",
        /// `key`.
        key: String = "key",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request.
    pub struct GetKvListByNamespaceRequestHeader {
        /// `namespace`.
        namespace: String = "namespace",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request.
    pub struct GetTopicsByClusterRequestHeader {
        /// `cluster`.
        cluster: String = "cluster",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request.
    pub struct DeleteTopicInNamesrvRequestHeader {
        /// `topic`.
        topic: String = "topic",
        /// `clusterName`: limit the deletion to one cluster.
        cluster_name: Option<String> = "clusterName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) request.
    pub struct WipeWritePermOfBrokerRequestHeader {
        /// `brokerName`.
        broker_name: String = "brokerName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        /// `wipeTopicCount`: topics whose write permission was removed.
        wipe_topic_count: i32 = "wipeTopicCount",
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) request.
    pub struct AddWritePermOfBrokerRequestHeader {
        /// `brokerName`.
        broker_name: String = "brokerName",
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response.
    pub struct AddWritePermOfBrokerResponseHeader {
        /// `addTopicCount`: topics whose write permission was restored.
        add_topic_count: i32 = "addTopicCount",
    }
}

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217) request; the body is TopicRouteData JSON.
    pub struct RegisterTopicInNamesrvRequestHeader {
        /// `topic`.
        topic: String = "topic",
    }
}
