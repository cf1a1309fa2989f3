//! `NamesrvProcessor`: request code → route table / KV config, building responses
//! (RocketMQ `DefaultRequestProcessor` + `ClientRequestProcessor`).
//!
//! Pure with respect to I/O: it takes the request, the connection it came on and `now_ms`, and
//! returns the response. Saving the KV table is handed to a callback (the persist thread in
//! production). The event-loop shell in `server.rs` does the rest.

use protocol::body::cluster::{ClusterInfo, KvTable, TopicList};
use protocol::body::dialect::{from_json_slice, to_json_vec, IntKeys};
use protocol::body::register_broker::{DataVersion, RegisterBrokerBody};
use protocol::body::route::TopicRouteData;
use protocol::header::*;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::config::NamesrvConfig;
use crate::kv_config::{KvConfig, NAMESPACE_ORDER_TOPIC_CONFIG};
use crate::route_table::{Registration, RouteTable};

/// Called with the KV table's new file content after each change.
pub type KvSaver = Box<dyn FnMut(Vec<u8>) + Send>;

/// The NameServer's request handling state.
pub struct NamesrvProcessor<C> {
    config: NamesrvConfig,
    routes: RouteTable<C>,
    kv: KvConfig,
    save_kv: KvSaver,
}

type Reply = Result<RemotingCommand, (ResponseCode, String)>;

fn err(code: ResponseCode, remark: impl Into<String>) -> (ResponseCode, String) {
    (code, remark.into())
}

fn bad_header(e: protocol::Error) -> (ResponseCode, String) {
    err(ResponseCode::SYSTEM_ERROR, e.to_string())
}

impl<C: Copy + PartialEq> NamesrvProcessor<C> {
    /// A processor with an empty route table and the given KV table.
    pub fn new(config: NamesrvConfig, kv: KvConfig, save_kv: KvSaver) -> Self {
        NamesrvProcessor {
            config,
            routes: RouteTable::new(),
            kv,
            save_kv,
        }
    }

    /// The route table (for the shell's liveness scan and for tests).
    pub fn routes_mut(&mut self) -> &mut RouteTable<C> {
        &mut self.routes
    }

    /// The effective configuration.
    pub fn config(&self) -> &NamesrvConfig {
        &self.config
    }

    /// Handles one request and returns its response (the caller drops it for one-way requests).
    pub fn process(&mut self, req: &RemotingCommand, conn: C, now_ms: u64) -> RemotingCommand {
        let reply = match req.request_code() {
            Some(code) => self.dispatch(code, req, conn, now_ms),
            None => Err(err(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {} not supported", req.code),
            )),
        };
        match reply {
            Ok(response) => response,
            Err((code, remark)) => RemotingCommand::error_response(req, code, remark),
        }
    }

    fn dispatch(&mut self, code: RequestCode, req: &RemotingCommand, conn: C, now: u64) -> Reply {
        use RequestCode as R;
        match code {
            R::REGISTER_BROKER => self.register_broker(req, conn, now),
            R::UNREGISTER_BROKER => self.unregister_broker(req),
            R::QUERY_DATA_VERSION => self.query_data_version(req, now),
            R::BROKER_HEARTBEAT => self.broker_heartbeat(req, now),
            R::GET_ROUTEINFO_BY_TOPIC => self.route_by_topic(req),
            R::GET_BROKER_CLUSTER_INFO => self.cluster_info(req),
            R::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
                Ok(topic_list(req, self.routes.all_topics(), None))
            }
            R::GET_TOPICS_BY_CLUSTER => {
                let h: GetTopicsByClusterRequestHeader = req.decode_header().map_err(bad_header)?;
                Ok(topic_list(
                    req,
                    self.routes.topics_of_cluster(&h.cluster),
                    None,
                ))
            }
            R::GET_SYSTEM_TOPIC_LIST_FROM_NS => {
                let (topics, addr) = self.routes.system_topics();
                Ok(topic_list(req, topics, addr))
            }
            R::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(req),
            R::REGISTER_TOPIC_IN_NAMESRV => self.register_topic(req),
            R::WIPE_WRITE_PERM_OF_BROKER => self.change_write_perm(req, false),
            R::ADD_WRITE_PERM_OF_BROKER => self.change_write_perm(req, true),
            R::PUT_KV_CONFIG => self.put_kv(req),
            R::GET_KV_CONFIG => self.get_kv(req),
            R::DELETE_KV_CONFIG => self.delete_kv(req),
            R::GET_KVLIST_BY_NAMESPACE => self.kv_list(req),
            R::GET_NAMESRV_CONFIG => Ok(success(req).with_body(self.config.to_properties())),
            R::UPDATE_NAMESRV_CONFIG => self.update_config(req),
            other => Err(err(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {} not supported", other.code()),
            )),
        }
    }

    fn register_broker(&mut self, req: &RemotingCommand, conn: C, now: u64) -> Reply {
        let h: RegisterBrokerRequestHeader = req.decode_header().map_err(bad_header)?;
        if let Some(crc) = h.body_crc32.filter(|c| *c != 0) {
            let actual = protocol::message::body_crc(&req.body);
            if actual != crc {
                return Err(err(ResponseCode::SYSTEM_ERROR, "crc32 not match"));
            }
        }
        let body = if req.body.is_empty() {
            RegisterBrokerBody::default()
        } else {
            RegisterBrokerBody::decode(&req.body, h.compressed.unwrap_or(false), req.version)
                .map_err(|e| {
                    err(
                        ResponseCode::SYSTEM_ERROR,
                        format!("bad register body: {e}"),
                    )
                })?
        };
        let wrapper = body.topic_config_serialize_wrapper;
        let timeout_ms = h
            .heartbeat_timeout_millis
            .filter(|t| *t > 0)
            .map_or(self.config.broker_channel_expired_time_ms, |t| t as u64);
        let outcome = self.routes.register_broker(
            Registration {
                cluster: h.cluster_name,
                broker_addr: h.broker_addr,
                broker_name: h.broker_name,
                broker_id: h.broker_id,
                ha_server_addr: h.ha_server_addr,
                timeout_ms,
                enable_acting_master: h.enable_acting_master.unwrap_or(false),
                data_version: wrapper.data_version,
                topic_configs: wrapper.topic_config_table,
                filter_servers: body.filter_server_list,
                conn,
            },
            now,
        );
        if outcome.conflict {
            return Err(err(
                ResponseCode::SYSTEM_ERROR,
                "brokerId already held by a live broker with a newer state version",
            ));
        }
        let header = RegisterBrokerResponseHeader {
            ha_server_addr: outcome.ha_server_addr,
            master_addr: outcome.master_addr,
        };
        let mut response = success(req).with_header(&header);
        if let Some(ns) = self.kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG) {
            let table = KvTable { table: ns.clone() };
            response = response.with_body(to_json_vec(&table, IntKeys::Quoted));
        }
        Ok(response)
    }

    fn unregister_broker(&mut self, req: &RemotingCommand) -> Reply {
        let h: UnregisterBrokerRequestHeader = req.decode_header().map_err(bad_header)?;
        if self
            .routes
            .unregister_broker(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id)
            .is_some()
        {
            log::info!(
                "broker {} ({}/{}) unregistered",
                h.broker_addr,
                h.broker_name,
                h.broker_id
            );
        }
        Ok(success(req))
    }

    fn query_data_version(&mut self, req: &RemotingCommand, now: u64) -> Reply {
        let h: QueryDataVersionRequestHeader = req.decode_header().map_err(bad_header)?;
        let version: DataVersion = from_json_slice(&req.body)
            .map_err(|e| err(ResponseCode::SYSTEM_ERROR, format!("bad data version: {e}")))?;
        let changed =
            self.routes
                .is_data_version_changed(&h.cluster_name, &h.broker_addr, &version);
        if !changed {
            self.routes.refresh(&h.cluster_name, &h.broker_addr, now);
        }
        let stored = self
            .routes
            .data_version(&h.cluster_name, &h.broker_addr)
            .map(|v| to_json_vec(v, IntKeys::Quoted));
        let mut response = success(req).with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(body) = stored {
            response = response.with_body(body);
        }
        Ok(response)
    }

    fn broker_heartbeat(&mut self, req: &RemotingCommand, now: u64) -> Reply {
        let h: BrokerHeartbeatRequestHeader = req.decode_header().map_err(bad_header)?;
        self.routes.refresh(&h.cluster_name, &h.broker_addr, now);
        Ok(success(req))
    }

    fn route_by_topic(&self, req: &RemotingCommand) -> Reply {
        let h: GetRouteInfoRequestHeader = req.decode_header().map_err(bad_header)?;
        let Some(mut route) = self.routes.topic_route(&h.topic) else {
            return Err(err(
                ResponseCode::TOPIC_NOT_EXIST,
                format!(
                    "No topic route info in name server for the topic: {}",
                    h.topic
                ),
            ));
        };
        if self.config.order_message_enable {
            route.order_topic_conf = self
                .kv
                .get(NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic)
                .map(str::to_owned);
        }
        let body = TopicRouteData::encode(
            &route,
            req.version,
            h.accept_standard_json_only.unwrap_or(false),
        );
        Ok(success(req).with_body(body))
    }

    fn cluster_info(&self, req: &RemotingCommand) -> Reply {
        let info = ClusterInfo {
            broker_addr_table: self.routes.brokers().clone(),
            cluster_addr_table: self.routes.clusters().clone(),
        };
        Ok(success(req).with_body(to_json_vec(&info, IntKeys::Unquoted)))
    }

    fn delete_topic(&mut self, req: &RemotingCommand) -> Reply {
        let h: DeleteTopicInNamesrvRequestHeader = req.decode_header().map_err(bad_header)?;
        self.routes
            .delete_topic(&h.topic, h.cluster_name.as_deref());
        Ok(success(req))
    }

    fn register_topic(&mut self, req: &RemotingCommand) -> Reply {
        let h: RegisterTopicInNamesrvRequestHeader = req.decode_header().map_err(bad_header)?;
        let route: TopicRouteData = from_json_slice(&req.body)
            .map_err(|e| err(ResponseCode::SYSTEM_ERROR, format!("bad topic route: {e}")))?;
        self.routes.register_topic(&h.topic, route.queue_datas);
        Ok(success(req))
    }

    fn change_write_perm(&mut self, req: &RemotingCommand, add: bool) -> Reply {
        if add {
            let h: AddWritePermOfBrokerRequestHeader = req.decode_header().map_err(bad_header)?;
            let add_topic_count = self.routes.add_write_perm(&h.broker_name);
            let header = AddWritePermOfBrokerResponseHeader { add_topic_count };
            return Ok(success(req).with_header(&header));
        }
        let h: WipeWritePermOfBrokerRequestHeader = req.decode_header().map_err(bad_header)?;
        let wipe_topic_count = self.routes.wipe_write_perm(&h.broker_name);
        log::info!(
            "wiped write perm of broker {}: {wipe_topic_count} topics",
            h.broker_name
        );
        Ok(success(req).with_header(&WipeWritePermOfBrokerResponseHeader { wipe_topic_count }))
    }

    fn put_kv(&mut self, req: &RemotingCommand) -> Reply {
        let h: PutKvConfigRequestHeader = req.decode_header().map_err(bad_header)?;
        if self.kv.put(&h.namespace, &h.key, &h.value) {
            (self.save_kv)(self.kv.to_json());
        }
        Ok(success(req))
    }

    fn get_kv(&self, req: &RemotingCommand) -> Reply {
        let h: GetKvConfigRequestHeader = req.decode_header().map_err(bad_header)?;
        match self.kv.get(&h.namespace, &h.key) {
            Some(value) => Ok(success(req).with_header(&GetKvConfigResponseHeader {
                value: Some(value.to_string()),
            })),
            None => Err(err(
                ResponseCode::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
            )),
        }
    }

    fn delete_kv(&mut self, req: &RemotingCommand) -> Reply {
        let h: DeleteKvConfigRequestHeader = req.decode_header().map_err(bad_header)?;
        if self.kv.delete(&h.namespace, &h.key) {
            (self.save_kv)(self.kv.to_json());
        }
        Ok(success(req))
    }

    fn kv_list(&self, req: &RemotingCommand) -> Reply {
        let h: GetKvListByNamespaceRequestHeader = req.decode_header().map_err(bad_header)?;
        match self.kv.namespace(&h.namespace) {
            Some(ns) => {
                let table = KvTable { table: ns.clone() };
                Ok(success(req).with_body(to_json_vec(&table, IntKeys::Quoted)))
            }
            None => Err(err(
                ResponseCode::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {}", h.namespace),
            )),
        }
    }

    fn update_config(&mut self, req: &RemotingCommand) -> Reply {
        let text = std::str::from_utf8(&req.body)
            .map_err(|_| err(ResponseCode::SYSTEM_ERROR, "config body is not UTF-8"))?;
        let mut next = self.config.clone();
        next.apply_properties(text)
            .map_err(|e| err(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
        next.validate()
            .map_err(|e| err(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
        self.config = next;
        Ok(success(req))
    }
}

fn success(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(req, ResponseCode::SUCCESS)
}

fn topic_list(req: &RemotingCommand, topics: Vec<String>, addr: Option<String>) -> RemotingCommand {
    let list = TopicList {
        topic_list: topics.into_iter().collect(),
        broker_addr: addr,
    };
    success(req).with_body(to_json_vec(&list, IntKeys::Quoted))
}
