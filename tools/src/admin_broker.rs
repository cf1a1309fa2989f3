//! Broker admin RPCs of [`AdminClient`]: topics, groups, stats, connections, configuration,
//! offsets (wire reference §2.6). Each call goes to one broker address; callers decide which.

use protocol::body::cluster::{GroupList, KvTable};
use protocol::body::connection::{ConsumerConnection, ProducerConnection};
use protocol::body::register_broker::TopicConfig;
use protocol::body::running_info::ConsumerRunningInfo;
use protocol::body::stats::{ConsumeStats, ResetOffsetBody, TopicStatsTable};
use protocol::body::store_config::SubscriptionGroupConfig;
use protocol::body::JsonBody;
use protocol::header::*;
use protocol::util::properties_file;
use protocol::{RemotingCommand, RequestCode};

use crate::admin::{decode_body, decode_header, AdminClient};
use crate::error::{Error, Peer, Result};

/// The auto-create template topic sent as `defaultTopic`.
pub const DEFAULT_TEMPLATE_TOPIC: &str = "TBW102";

impl AdminClient {
    fn broker_ok(&self, addr: &str, req: RemotingCommand) -> Result<RemotingCommand> {
        self.invoke_ok(Peer::Broker, addr, req)
    }

    /// Creates or updates a topic on one broker (UPDATE_AND_CREATE_TOPIC, 17).
    pub fn create_topic(&self, addr: &str, config: &TopicConfig) -> Result<()> {
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: DEFAULT_TEMPLATE_TOPIC.to_string(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type.name().to_string(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: None,
            force: None,
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
        self.broker_ok(addr, req).map(|_| ())
    }

    /// Deletes a topic on one broker (DELETE_TOPIC_IN_BROKER, 215).
    pub fn delete_topic_in_broker(&self, addr: &str, topic: &str) -> Result<()> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_string(),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_BROKER, &header);
        self.broker_ok(addr, req).map(|_| ())
    }

    /// Per-queue min/max offsets of a topic on one broker (GET_TOPIC_STATS_INFO, 202).
    pub fn topic_stats(&self, addr: &str, topic: &str) -> Result<TopicStatsTable> {
        let header = GetTopicStatsInfoRequestHeader {
            topic: topic.to_string(),
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_TOPIC_STATS_INFO, &header);
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// A group's progress on one broker (GET_CONSUME_STATS, 208); `topic` `None` = every topic
    /// of the group.
    pub fn consume_stats(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.map(str::to_string),
            topic_list: None,
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &header);
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// A consumer group's live connections (GET_CONSUMER_CONNECTION_LIST, 203).
    pub fn consumer_connection(&self, addr: &str, group: &str) -> Result<ConsumerConnection> {
        let header = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_string(),
        };
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            &header,
        );
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// A consumer client's running info, asked through a broker it is connected to
    /// (GET_CONSUMER_RUNNING_INFO, 307; the broker forwards it to the client).
    pub fn consumer_running_info(
        &self,
        addr: &str,
        group: &str,
        client_id: &str,
    ) -> Result<ConsumerRunningInfo> {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_string(),
            client_id: client_id.to_string(),
            jstack_enable: Some(false),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &header);
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// A producer group's live connections (GET_PRODUCER_CONNECTION_LIST, 204).
    pub fn producer_connection(&self, addr: &str, group: &str) -> Result<ProducerConnection> {
        let header = GetProducerConnectionListRequestHeader {
            producer_group: group.to_string(),
        };
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_PRODUCER_CONNECTION_LIST,
            &header,
        );
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// The broker's runtime statistics table (GET_BROKER_RUNTIME_INFO, 28).
    pub fn broker_runtime_info(&self, addr: &str) -> Result<KvTable> {
        let req = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// The broker's configuration as (key, value) pairs in the broker's order
    /// (GET_BROKER_CONFIG, 26).
    pub fn broker_config(&self, addr: &str) -> Result<Vec<(String, String)>> {
        let req = RemotingCommand::request(RequestCode::GET_BROKER_CONFIG);
        let resp = self.broker_ok(addr, req)?;
        let text = String::from_utf8_lossy(&resp.body);
        let props = properties_file::parse(&text).map_err(|e| Error::Decode {
            addr: addr.to_string(),
            detail: format!("broker config: {e}"),
        })?;
        Ok(props.into_iter().map(|p| (p.key, p.value)).collect())
    }

    /// Changes broker configuration keys at runtime (UPDATE_BROKER_CONFIG, 25).
    pub fn update_broker_config(&self, addr: &str, entries: &[(String, String)]) -> Result<()> {
        let mut body = String::new();
        for (k, v) in entries {
            body.push_str(&escape_property(k));
            body.push('=');
            body.push_str(&escape_property(v));
            body.push('\n');
        }
        let req = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(body.into_bytes());
        self.broker_ok(addr, req).map(|_| ())
    }

    /// Creates or updates a subscription group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 200).
    pub fn create_subscription_group(
        &self,
        addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        let req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(config.encode_body());
        self.broker_ok(addr, req).map(|_| ())
    }

    /// Deletes a subscription group (DELETE_SUBSCRIPTIONGROUP, 207).
    pub fn delete_subscription_group(
        &self,
        addr: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<()> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_string(),
            clean_offset: Some(clean_offset),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::DELETE_SUBSCRIPTIONGROUP, &header);
        self.broker_ok(addr, req).map(|_| ())
    }

    /// Asks the broker to reset a group's offsets on a topic to `timestamp_ms` (-1 = the
    /// queue's max offset) and push the change to online consumers
    /// (INVOKE_BROKER_TO_RESET_OFFSET, 222). Returns the new offsets.
    pub fn reset_offset(
        &self,
        addr: &str,
        topic: &str,
        group: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> Result<ResetOffsetBody> {
        let header = InvokeBrokerToResetOffsetRequestHeader {
            topic: topic.to_string(),
            group: group.to_string(),
            queue_id: Some(-1),
            offset: Some(-1),
            timestamp: timestamp_ms,
            is_force: force,
        };
        let req = RemotingCommand::request_with_header(
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
            &header,
        );
        let resp = self.broker_ok(addr, req)?;
        if resp.body.is_empty() {
            return Ok(ResetOffsetBody::default());
        }
        decode_body(addr, &resp)
    }

    /// The groups that consume a topic, as a broker knows them (QUERY_TOPIC_CONSUME_BY_WHO, 300).
    pub fn topic_consumed_by(&self, addr: &str, topic: &str) -> Result<GroupList> {
        let header = QueryTopicConsumeByWhoRequestHeader {
            topic: topic.to_string(),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &header);
        let resp = self.broker_ok(addr, req)?;
        decode_body(addr, &resp)
    }

    /// Stores a group's offset for one queue (UPDATE_CONSUMER_OFFSET, 15, sent synchronously).
    pub fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
            commit_offset: offset,
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        self.broker_ok(addr, req).map(|_| ())
    }

    /// The smallest offset still stored in a queue (GET_MIN_OFFSET, 31).
    pub fn min_offset(&self, addr: &str, topic: &str, queue_id: i32) -> Result<i64> {
        let header = GetMinOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_MIN_OFFSET, &header);
        let resp = self.broker_ok(addr, req)?;
        let h: GetMinOffsetResponseHeader = decode_header(addr, &resp)?;
        Ok(h.offset)
    }

    /// The next offset to be written in a queue (GET_MAX_OFFSET, 30).
    pub fn max_offset(&self, addr: &str, topic: &str, queue_id: i32) -> Result<i64> {
        let header = GetMaxOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
            committed: None,
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &header);
        let resp = self.broker_ok(addr, req)?;
        let h: GetMaxOffsetResponseHeader = decode_header(addr, &resp)?;
        Ok(h.offset)
    }

    /// The first offset whose message was stored at or after `timestamp_ms`
    /// (SEARCH_OFFSET_BY_TIMESTAMP, 29).
    pub fn search_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
    ) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
            timestamp: timestamp_ms,
            boundary_type: None,
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let resp = self.broker_ok(addr, req)?;
        let h: SearchOffsetResponseHeader = decode_header(addr, &resp)?;
        Ok(h.offset)
    }
}

/// Escapes a key or value for a Java properties body (`=`, `:`, `\`, newlines).
fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            ':' => out.push_str("\\:"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_body_round_trips_through_the_parser() {
        let entries = [
            ("flushDiskType".to_string(), "SYNC_FLUSH".to_string()),
            ("odd=key".to_string(), "a:b\\c\nd".to_string()),
        ];
        let mut body = String::new();
        for (k, v) in &entries {
            body.push_str(&format!("{}={}\n", escape_property(k), escape_property(v)));
        }
        let parsed = properties_file::parse(&body).unwrap();
        let parsed: Vec<_> = parsed.into_iter().map(|p| (p.key, p.value)).collect();
        assert_eq!(parsed, entries);
    }
}
