//! The route side of [`InstanceCore`]: NameServer fail-over, the topic-route cache, the
//! broker address table and the publish infos producers select queues from.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use protocol::body::{MessageQueue, TopicRouteData};

use super::{read, write, InstanceCore};
use crate::api::is_transport_failure;
use crate::error::{Error, Result};
use crate::route::{subscribe_queues, TopicPublishInfo, AUTO_CREATE_TOPIC_KEY};

impl InstanceCore {
    /// Runs `f` against the NameServers, starting with the last one that answered and moving
    /// on after transport failures.
    pub(crate) fn namesrv_call<T>(&self, f: impl Fn(&str) -> Result<T>) -> Result<T> {
        let addrs = &self.config.namesrv_addrs;
        let start = self.namesrv_index.load(Ordering::Relaxed);
        let mut last_error = String::from("no NameServer configured");
        for i in 0..addrs.len() {
            let index = (start + i) % addrs.len();
            match f(&addrs[index]) {
                Err(e) if is_transport_failure(&e) => {
                    log::warn!("NameServer {} failed: {e}", addrs[index]);
                    last_error = e.to_string();
                }
                result => {
                    self.namesrv_index.store(index, Ordering::Relaxed);
                    return result;
                }
            }
        }
        Err(Error::NoNameServer { last_error })
    }

    /// Fetches the route of `topic` from the NameServers without caching it.
    pub(crate) fn query_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        if self.is_stopped() {
            return Err(Error::Shutdown);
        }
        let timeout = self.config.rpc_timeout_ms;
        self.namesrv_call(|addr| self.api.get_topic_route(addr, topic, timeout))
    }

    /// Refreshes the cached route of `topic`; tells producers' and consumers' tables when it
    /// changed. Returns whether a route exists.
    pub(crate) fn update_topic_route(&self, topic: &str) -> Result<bool> {
        let Some(route) = self.query_route(topic)? else {
            return Ok(false);
        };
        let changed = read(&self.routes).get(topic) != Some(&route);
        if changed {
            log::info!("route of topic {topic} changed: {route:?}");
            self.apply_route(topic, &route);
            write(&self.routes).insert(topic.to_string(), route);
        }
        Ok(true)
    }

    fn apply_route(&self, topic: &str, route: &TopicRouteData) {
        let new_broker = self.merge_brokers(route);
        {
            let mut publish = write(&self.publish);
            if publish.contains_key(topic) {
                publish.insert(
                    topic.to_string(),
                    Arc::new(TopicPublishInfo::from_route(topic, route)),
                );
            }
        }
        let queues = subscribe_queues(topic, route);
        for consumer in self.consumer_members() {
            if consumer.topics().iter().any(|t| t == topic) {
                consumer.update_subscribe_info(topic, queues.clone());
            }
        }
        if new_broker {
            self.schedule_heartbeat();
        }
    }

    /// Adds the route's broker addresses; returns true when an address is new.
    fn merge_brokers(&self, route: &TopicRouteData) -> bool {
        let mut brokers = write(&self.brokers);
        let mut new_addr = false;
        for bd in &route.broker_datas {
            let entry = brokers.entry(bd.broker_name.clone()).or_default();
            if *entry != bd.broker_addrs {
                new_addr |= bd
                    .broker_addrs
                    .values()
                    .any(|a| !entry.values().any(|e| e == a));
                *entry = bd.broker_addrs.clone();
            }
        }
        new_addr
    }

    /// The publish info of `topic`, fetching its route (or the template's) when not cached.
    pub(crate) fn publish_info(
        &self,
        topic: &str,
        default_queue_nums: i32,
    ) -> Result<Arc<TopicPublishInfo>> {
        if let Some(info) = read(&self.publish).get(topic).filter(|i| i.is_ok()) {
            return Ok(info.clone());
        }
        if let Some(route) = self.query_route(topic)? {
            let info = Arc::new(TopicPublishInfo::from_route(topic, &route));
            write(&self.publish).insert(topic.to_string(), info.clone());
            self.apply_route(topic, &route);
            write(&self.routes).insert(topic.to_string(), route);
            if info.is_ok() {
                return Ok(info);
            }
        }
        let template = self
            .query_route(AUTO_CREATE_TOPIC_KEY)?
            .ok_or_else(|| Error::NoRoute {
                topic: topic.to_string(),
            })?;
        if self.merge_brokers(&template) {
            self.schedule_heartbeat();
        }
        // Keep the template's brokers known until the topic has a route of its own.
        write(&self.routes).insert(AUTO_CREATE_TOPIC_KEY.to_string(), template.clone());
        let info = Arc::new(TopicPublishInfo::from_default_route(
            topic,
            &template,
            default_queue_nums,
        ));
        if !info.is_ok() {
            return Err(Error::NoRoute {
                topic: topic.to_string(),
            });
        }
        log::info!("topic {topic} has no route; sending through {AUTO_CREATE_TOPIC_KEY}");
        write(&self.publish).insert(topic.to_string(), info.clone());
        Ok(info)
    }

    /// The readable queues of `topic`, fetching the route if needed.
    pub(crate) fn subscribe_queues(&self, topic: &str) -> Result<BTreeSet<MessageQueue>> {
        if let Some(route) = read(&self.routes).get(topic) {
            return Ok(subscribe_queues(topic, route));
        }
        if !self.update_topic_route(topic)? {
            return Err(Error::NoRoute {
                topic: topic.to_string(),
            });
        }
        Ok(read(&self.routes)
            .get(topic)
            .map(|r| subscribe_queues(topic, r))
            .unwrap_or_default())
    }

    pub(super) fn refresh_all_routes(&self) {
        let mut topics: Vec<String> = read(&self.publish).keys().cloned().collect();
        for c in self.consumer_members() {
            topics.extend(c.topics());
        }
        topics.sort();
        topics.dedup();
        for topic in topics {
            if let Err(e) = self.update_topic_route(&topic) {
                log::warn!("route refresh of {topic} failed: {e}");
            }
        }
        self.clean_offline_brokers();
    }

    /// Drops broker groups no cached route mentions any more.
    fn clean_offline_brokers(&self) {
        let routes = read(&self.routes);
        let mut brokers = write(&self.brokers);
        brokers.retain(|name, _| {
            routes
                .values()
                .any(|r| r.broker_datas.iter().any(|b| &b.broker_name == name))
        });
    }

    /// The master address of broker group `broker_name`.
    pub(crate) fn find_broker_master(&self, broker_name: &str) -> Option<String> {
        read(&self.brokers)
            .get(broker_name)
            .and_then(|a| a.get(&0).cloned())
    }

    /// The address of `broker_id` in `broker_name`, else the master, else any member.
    pub(crate) fn find_broker_addr(&self, broker_name: &str, broker_id: i64) -> Option<String> {
        let brokers = read(&self.brokers);
        let addrs = brokers.get(broker_name)?;
        addrs
            .get(&broker_id)
            .or_else(|| addrs.get(&0))
            .or_else(|| addrs.values().next())
            .cloned()
    }

    /// The master address of `broker_name`, refreshing `topic`'s route once if unknown.
    pub(crate) fn find_broker_master_or_refresh(
        &self,
        broker_name: &str,
        topic: &str,
    ) -> Result<String> {
        if let Some(addr) = self.find_broker_master(broker_name) {
            return Ok(addr);
        }
        let _ = self.update_topic_route(topic);
        self.find_broker_master(broker_name)
            .ok_or_else(|| Error::BrokerNotFound {
                broker_name: broker_name.to_string(),
            })
    }

    /// Some broker serving `topic` (any member), for group-wide queries.
    pub(crate) fn find_any_broker_of_topic(&self, topic: &str) -> Option<String> {
        let routes = read(&self.routes);
        let route = routes.get(topic)?;
        route
            .broker_datas
            .iter()
            .find_map(|b| b.select_broker_addr().map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use protocol::remoting::RemotingError;

    use crate::config::ClientConfig;
    use crate::error::Error;
    use crate::instance::ClientInstance;

    fn timeout(addr: &str) -> Error {
        Error::Remoting(RemotingError::Timeout {
            addr: addr.to_string(),
            timeout_ms: 1,
        })
    }

    #[test]
    fn namesrv_calls_fail_over_and_stick_to_the_one_that_answered() {
        let instance = ClientInstance::new(ClientConfig::new("a:1;b:1;c:1")).unwrap();
        let core = instance.core();
        let tried = Mutex::new(Vec::new());
        let only_c = |addr: &str| {
            tried.lock().unwrap().push(addr.to_string());
            if addr == "c:1" {
                Ok(addr.to_string())
            } else {
                Err(timeout(addr))
            }
        };
        assert_eq!(core.namesrv_call(only_c).unwrap(), "c:1");
        assert!(tried.lock().unwrap().len() <= 3);
        tried.lock().unwrap().clear();
        assert_eq!(core.namesrv_call(only_c).unwrap(), "c:1");
        assert_eq!(
            *tried.lock().unwrap(),
            ["c:1"],
            "the last good NameServer is tried first"
        );
        let all_down =
            core.namesrv_call(|addr: &str| -> crate::error::Result<()> { Err(timeout(addr)) });
        assert!(matches!(all_down, Err(Error::NoNameServer { .. })));
        // An answer (even an error answer) does not fail over.
        tried.lock().unwrap().clear();
        let refused = core.namesrv_call(|addr: &str| -> crate::error::Result<()> {
            tried.lock().unwrap().push(addr.to_string());
            Err(Error::NameServer {
                addr: addr.into(),
                code: 1,
                remark: String::new(),
            })
        });
        assert!(matches!(refused, Err(Error::NameServer { .. })));
        assert_eq!(tried.lock().unwrap().len(), 1);
    }
}
