//! [`AdminClient`]: typed admin RPCs over the remoting runtime (Java `DefaultMQAdminExt`).
//!
//! The client owns one event loop on its own thread and calls it through a
//! [`RemotingHandle`]. This file holds the transport (NameServer fail-over, error mapping) and
//! the NameServer RPCs; broker RPCs are in `admin_broker.rs` and message RPCs in
//! `admin_message.rs`. Workflows that combine several RPCs (for example "create the topic on
//! every master of a cluster") live in the commands, not here.

use std::io;
use std::thread::JoinHandle;

use protocol::body::cluster::{ClusterInfo, TopicList};
use protocol::body::route::TopicRouteData;
use protocol::body::JsonBody;
use protocol::header::*;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::error::{Error, Peer, Result};

/// Default RPC timeout, as Java's admin tools use.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// The admin client never serves requests; anything a peer sends is dropped.
struct NoInbound;

impl RequestHandler for NoInbound {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

/// Splits a `-n` / `NAMESRV_ADDR` value: `;`-separated addresses, blanks dropped.
pub fn parse_namesrv_addrs(value: &str) -> Vec<String> {
    value
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// A connection to a RocketMQ cluster for admin operations. Not shared between threads; one
/// per command run. Dropping it stops its event loop.
pub struct AdminClient {
    handle: RemotingHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
    namesrv_addrs: Vec<String>,
    timeout_ms: u64,
}

impl AdminClient {
    /// Starts the client's event loop. `namesrv_addrs` may be empty for commands that only talk
    /// to a broker given by address; NameServer calls then fail with a usage error.
    pub fn start(namesrv_addrs: Vec<String>, timeout_ms: u64) -> Result<Self> {
        let config = RemotingConfig {
            connect_timeout_ms: timeout_ms.min(3_000),
            ..RemotingConfig::default()
        };
        let event_loop = EventLoop::new(config)
            .map_err(|e| Error::Failed(format!("cannot start the remoting client: {e}")))?;
        let handle = event_loop.handle();
        let thread = event_loop
            .spawn("mqadmin-remoting", NoInbound)
            .map_err(|e| Error::Failed(format!("cannot start the remoting thread: {e}")))?;
        Ok(AdminClient {
            handle,
            thread: Some(thread),
            namesrv_addrs,
            timeout_ms,
        })
    }

    /// The configured NameServer addresses, in fail-over order.
    pub fn namesrv_addrs(&self) -> &[String] {
        &self.namesrv_addrs
    }

    /// The configured NameServers, or a usage error when none is configured.
    pub fn require_namesrv(&self) -> Result<&[String]> {
        if self.namesrv_addrs.is_empty() {
            return Err(Error::usage(
                "no NameServer address: use -n <host:port[;host:port]> or set NAMESRV_ADDR",
            ));
        }
        Ok(&self.namesrv_addrs)
    }

    /// Sends `request` to `addr` and returns the response, whatever its code.
    pub fn invoke(
        &self,
        peer: Peer,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        log::debug!("{peer} {addr} <- code {}", request.code);
        self.handle
            .invoke_sync(addr, request, self.timeout_ms)
            .map_err(|source| Error::Unreachable {
                peer,
                addr: addr.to_string(),
                source,
            })
    }

    /// Sends `request` to `addr` and fails unless the response code is SUCCESS.
    pub fn invoke_ok(
        &self,
        peer: Peer,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let response = self.invoke(peer, addr, request)?;
        expect_success(peer, addr, response)
    }

    /// Sends `request` to the first NameServer that answers (fail-over in configured order).
    /// Returns the answering address and its response, whatever its code.
    pub fn invoke_namesrv(&self, request: RemotingCommand) -> Result<(String, RemotingCommand)> {
        let addrs = self.require_namesrv()?;
        let mut failures = Vec::new();
        for addr in addrs {
            match self.invoke(Peer::Namesrv, addr, request.clone()) {
                Ok(response) => return Ok((addr.clone(), response)),
                Err(e) => {
                    log::debug!("{e}; trying the next NameServer");
                    failures.push(e);
                }
            }
        }
        Err(match failures.len() {
            1 => failures.remove(0),
            _ => Error::NamesrvsUnreachable(failures),
        })
    }

    /// Like [`invoke_namesrv`](Self::invoke_namesrv) but fails unless the code is SUCCESS.
    pub fn invoke_namesrv_ok(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let (addr, response) = self.invoke_namesrv(request)?;
        expect_success(Peer::Namesrv, &addr, response)
    }

    /// Cluster and broker tables (GET_BROKER_CLUSTER_INFO, 106).
    pub fn cluster_info(&self) -> Result<ClusterInfo> {
        let (addr, resp) = self.invoke_namesrv(RemotingCommand::request(
            RequestCode::GET_BROKER_CLUSTER_INFO,
        ))?;
        let resp = expect_success(Peer::Namesrv, &addr, resp)?;
        decode_body(&addr, &resp)
    }

    /// A topic's route (GET_ROUTEINFO_BY_TOPIC, 105); [`Error::TopicNotExist`] if it has none.
    pub fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let (addr, resp) = self.invoke_namesrv(req)?;
        if resp.code == ResponseCode::TOPIC_NOT_EXIST.code() {
            return Err(Error::TopicNotExist(topic.to_string()));
        }
        let resp = expect_success(Peer::Namesrv, &addr, resp)?;
        decode_body(&addr, &resp)
    }

    /// Every topic the NameServer knows (GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 206).
    pub fn all_topics(&self) -> Result<TopicList> {
        let req = RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let (addr, resp) = self.invoke_namesrv(req)?;
        let resp = expect_success(Peer::Namesrv, &addr, resp)?;
        decode_body(&addr, &resp)
    }

    /// The topics hosted by one cluster (GET_TOPICS_BY_CLUSTER, 224).
    pub fn topics_by_cluster(&self, cluster: &str) -> Result<TopicList> {
        let header = GetTopicsByClusterRequestHeader {
            cluster: cluster.to_string(),
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_TOPICS_BY_CLUSTER, &header);
        let (addr, resp) = self.invoke_namesrv(req)?;
        let resp = expect_success(Peer::Namesrv, &addr, resp)?;
        decode_body(&addr, &resp)
    }

    /// Removes write permission of `broker_name` on one NameServer (WIPE_WRITE_PERM_OF_BROKER,
    /// 205); returns how many topics were affected.
    pub fn wipe_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<i32> {
        let header = WipeWritePermOfBrokerRequestHeader {
            broker_name: broker_name.to_string(),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &header);
        let resp = self.invoke_ok(Peer::Namesrv, namesrv, req)?;
        let h: WipeWritePermOfBrokerResponseHeader = decode_header(namesrv, &resp)?;
        Ok(h.wipe_topic_count)
    }

    /// Sets a KV config entry on every NameServer (PUT_KV_CONFIG, 100), as Java does.
    pub fn put_kv_config(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let header = PutKvConfigRequestHeader {
            namespace: namespace.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        };
        for addr in self.require_namesrv()? {
            let req = RemotingCommand::request_with_header(RequestCode::PUT_KV_CONFIG, &header);
            self.invoke_ok(Peer::Namesrv, addr, req)?;
        }
        Ok(())
    }

    /// Deletes a KV config entry on every NameServer (DELETE_KV_CONFIG, 102).
    pub fn delete_kv_config(&self, namespace: &str, key: &str) -> Result<()> {
        let header = DeleteKvConfigRequestHeader {
            namespace: namespace.to_string(),
            key: key.to_string(),
        };
        for addr in self.require_namesrv()? {
            let req = RemotingCommand::request_with_header(RequestCode::DELETE_KV_CONFIG, &header);
            self.invoke_ok(Peer::Namesrv, addr, req)?;
        }
        Ok(())
    }

    /// Reads a KV config entry (GET_KV_CONFIG, 101); `None` when absent.
    pub fn get_kv_config(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let header = GetKvConfigRequestHeader {
            namespace: namespace.to_string(),
            key: key.to_string(),
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &header);
        let (addr, resp) = self.invoke_namesrv(req)?;
        if resp.code == ResponseCode::QUERY_NOT_FOUND.code() {
            return Ok(None);
        }
        let resp = expect_success(Peer::Namesrv, &addr, resp)?;
        let h: GetKvConfigResponseHeader = decode_header(&addr, &resp)?;
        Ok(h.value)
    }

    /// One NameServer's configuration as properties text (GET_NAMESRV_CONFIG, 319).
    pub fn namesrv_config(&self, namesrv: &str) -> Result<String> {
        let req = RemotingCommand::request(RequestCode::GET_NAMESRV_CONFIG);
        let resp = self.invoke_ok(Peer::Namesrv, namesrv, req)?;
        Ok(String::from_utf8_lossy(&resp.body).into_owned())
    }

    /// Deletes a topic's route on one NameServer (DELETE_TOPIC_IN_NAMESRV, 216).
    pub fn delete_topic_in_namesrv(
        &self,
        namesrv: &str,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<()> {
        let header = DeleteTopicInNamesrvRequestHeader {
            topic: topic.to_string(),
            cluster_name: cluster.map(str::to_string),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_NAMESRV, &header);
        self.invoke_ok(Peer::Namesrv, namesrv, req).map(|_| ())
    }

    /// The master address of every broker group of `cluster`, sorted; an error if the cluster
    /// is unknown or has no master (Java: "Make sure the specified clusterName exists").
    pub fn master_addrs_of_cluster(&self, cluster: &str) -> Result<Vec<String>> {
        let info = self.cluster_info()?;
        let mut addrs: Vec<String> = info
            .master_addrs_of_cluster(cluster)
            .into_iter()
            .map(str::to_string)
            .collect();
        if addrs.is_empty() {
            return Err(no_brokers_in(cluster));
        }
        addrs.sort();
        Ok(addrs)
    }

    /// Every broker group of `cluster` as (broker name, id → address), sorted by name; an error
    /// if the cluster is unknown.
    pub fn broker_groups_of_cluster(
        &self,
        cluster: &str,
    ) -> Result<Vec<protocol::body::route::BrokerData>> {
        let info = self.cluster_info()?;
        let groups: Vec<_> = info
            .cluster_addr_table
            .get(cluster)
            .into_iter()
            .flatten()
            .filter_map(|name| info.broker_addr_table.get(name).cloned())
            .collect();
        if groups.is_empty() {
            return Err(no_brokers_in(cluster));
        }
        Ok(groups)
    }

    /// Stops the event loop (also done on drop).
    pub fn shutdown(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::warn!("remoting loop ended with {e}"),
                Err(_) => log::warn!("remoting loop panicked"),
            }
        }
    }
}

impl Drop for AdminClient {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn no_brokers_in(cluster: &str) -> Error {
    Error::Failed(format!(
        "cluster {cluster} has no broker; make sure the cluster name exists and the NameServer is the right one"
    ))
}

/// Turns a non-SUCCESS response into [`Error::Response`].
pub(crate) fn expect_success(
    peer: Peer,
    addr: &str,
    resp: RemotingCommand,
) -> Result<RemotingCommand> {
    if resp.code == ResponseCode::SUCCESS.code() {
        Ok(resp)
    } else {
        Err(response_error(peer, addr, &resp))
    }
}

/// The [`Error::Response`] describing `resp`.
pub(crate) fn response_error(peer: Peer, addr: &str, resp: &RemotingCommand) -> Error {
    Error::Response {
        peer,
        addr: addr.to_string(),
        code: resp.code,
        remark: resp.remark.clone(),
    }
}

/// Decodes a JSON body in RocketMQ's dialect.
pub(crate) fn decode_body<T: JsonBody>(addr: &str, resp: &RemotingCommand) -> Result<T> {
    T::decode_body(&resp.body).map_err(|e| Error::Decode {
        addr: addr.to_string(),
        detail: e.to_string(),
    })
}

/// Decodes a typed response header.
pub(crate) fn decode_header<H: CommandHeader>(addr: &str, resp: &RemotingCommand) -> Result<H> {
    resp.decode_header().map_err(|e| Error::Decode {
        addr: addr.to_string(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_list_is_semicolon_separated() {
        assert_eq!(
            parse_namesrv_addrs(" a:1; b:2 ;;"),
            vec!["a:1".to_string(), "b:2".to_string()]
        );
        assert!(parse_namesrv_addrs("").is_empty());
    }

    #[test]
    fn missing_namesrv_is_a_usage_error() {
        let client = AdminClient::start(Vec::new(), 100).unwrap();
        let e = client.all_topics().unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
    }

    #[test]
    fn non_success_maps_to_response_error() {
        let req = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let resp = RemotingCommand::error_response(&req, ResponseCode::SYSTEM_ERROR, "boom");
        let e = expect_success(Peer::Broker, "x:1", resp).unwrap_err();
        assert_eq!(e.to_string(), "broker x:1 answered SYSTEM_ERROR (1): boom");
    }
}
