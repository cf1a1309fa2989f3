//! [`ClientInstance`]: the connections, route cache and background tasks shared by the
//! producers and consumers of one client id (Java `MQClientInstance`).
//!
//! # Threads
//! * `client-remoting`: the mio event loop for every NameServer and broker connection; runs
//!   response callbacks and the [`inbound`](crate::inbound) handler; never blocks.
//! * `client-scheduler`: route refresh (30 s), heartbeats (30 s), offset persistence (5 s),
//!   rebalance (20 s and on demand). Its tasks may block on remote calls.
//! * `client-timer`: delayed pull requests and consume retries; its tasks never block.
//! * `client-callback-*`: completions of asynchronous sends (retries included).
//!
//! Producers and consumers hold an `Arc<ClientInstance>`; background tasks hold only the inner
//! core, so the instance shuts down (unregistering nothing itself: members unregister when
//! they close) when the last producer or consumer using it is dropped.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::thread::JoinHandle;

use protocol::body::{ConsumerData, HeartbeatData, MessageQueue, ProducerData, TopicRouteData};
use protocol::header::CheckTransactionStateRequestHeader;
use protocol::message::{MessageExt, UniqIdGenerator};
use protocol::remoting::{ConnId, EventLoop};

use crate::api::{is_transport_failure, Api};
use crate::config::{ClientConfig, DEFAULT_INSTANCE_NAME};
use crate::error::{Error, Result};
use crate::inbound::InboundHandler;
use crate::route::{subscribe_queues, TopicPublishInfo, AUTO_CREATE_TOPIC_KEY};
use crate::scheduler::{Executor, Scheduler};

/// The producer group Java clients announce for their internal retry producer.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// A producer registered in an instance (heartbeats, transaction checks).
pub(crate) trait ProducerMember: Send + Sync {
    /// The producer group.
    fn group(&self) -> &str;
    /// The broker on `conn` asks for the state of a half message. Must not block: hand the
    /// work to another thread.
    fn check_transaction(
        &self,
        _conn: ConnId,
        _header: CheckTransactionStateRequestHeader,
        _msg: MessageExt,
    ) {
        log::warn!("producer group {} got a transaction check but is not transactional", self.group());
    }
}

/// A consumer registered in an instance (heartbeats, routes, rebalance, offsets).
pub(crate) trait ConsumerMember: Send + Sync {
    /// The consumer group.
    fn group(&self) -> &str;
    /// The group's heartbeat entry.
    fn consumer_data(&self) -> ConsumerData;
    /// The topics whose routes the consumer needs (retry topic included).
    fn topics(&self) -> Vec<String>;
    /// The readable queues of `topic` changed.
    fn update_subscribe_info(&self, topic: &str, queues: std::collections::BTreeSet<MessageQueue>);
    /// Recomputes the assignment (may block on remote calls).
    fn rebalance(&self);
    /// Persists consumed offsets.
    fn persist_offsets(&self);
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Everything an instance shares with its members and background tasks.
pub(crate) struct InstanceCore {
    /// This core itself, for tasks scheduled from `&self` methods.
    me: Weak<InstanceCore>,
    pub(crate) config: ClientConfig,
    pub(crate) client_id: String,
    pub(crate) client_ip: IpAddr,
    pub(crate) api: Api,
    pub(crate) uniq_ids: UniqIdGenerator,
    pub(crate) scheduler: Scheduler,
    pub(crate) timer: Scheduler,
    pub(crate) callbacks: Executor,
    loop_thread: Mutex<Option<JoinHandle<io::Result<()>>>>,
    routes: RwLock<HashMap<String, TopicRouteData>>,
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    publish: RwLock<HashMap<String, Arc<TopicPublishInfo>>>,
    producers: Mutex<HashMap<String, Arc<dyn ProducerMember>>>,
    consumers: Mutex<HashMap<String, Arc<dyn ConsumerMember>>>,
    namesrv_index: AtomicUsize,
    rebalance_pending: AtomicBool,
    stopped: AtomicBool,
}

impl std::fmt::Debug for InstanceCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceCore")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// One client: its connections (one event-loop thread), topic-route cache, heartbeats and
/// NameServer fail-over, shared by the producers and consumers built on it.
///
/// Create one with [`ClientInstance::new`] and pass it to several builders to share it; a
/// builder given only a NameServer address creates a private one. The instance shuts down
/// when the last `Arc` is dropped (or on [`ClientInstance::shutdown`]).
///
/// # Examples
/// ```no_run
/// use client::{ClientConfig, ClientInstance, Producer, PushConsumer};
/// let instance = ClientInstance::new(ClientConfig::new("127.0.0.1:9876"))?;
/// let producer = Producer::builder("PG").instance(instance.clone()).start()?;
/// println!("client id {}", instance.client_id());
/// # Ok::<(), client::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientInstance {
    core: Arc<InstanceCore>,
}

impl ClientInstance {
    /// Validates `config`, starts the event loop and background threads.
    pub fn new(config: ClientConfig) -> Result<Arc<ClientInstance>> {
        config.validate()?;
        let io_err = |what: &str, e: io::Error| Error::Config(format!("cannot start {what}: {e}"));
        let event_loop =
            EventLoop::new(config.remoting.clone()).map_err(|e| io_err("the event loop", e))?;
        let handle = event_loop.handle();
        let client_ip = config
            .client_ip
            .unwrap_or_else(|| detect_client_ip(&config.namesrv_addrs));
        let client_id = build_client_id(client_ip, &config);
        let scheduler =
            Scheduler::start("client-scheduler").map_err(|e| io_err("the scheduler", e))?;
        let timer = Scheduler::start("client-timer").map_err(|e| io_err("the timer", e))?;
        let callbacks = Executor::start("client-callback", config.callback_threads)
            .map_err(|e| io_err("the callback threads", e))?;
        let core = Arc::new_cyclic(|me| InstanceCore {
            me: me.clone(),
            api: Api::new(handle.clone()),
            uniq_ids: UniqIdGenerator::for_this_process(client_ip),
            scheduler,
            timer,
            callbacks,
            loop_thread: Mutex::new(None),
            routes: RwLock::new(HashMap::new()),
            brokers: RwLock::new(HashMap::new()),
            publish: RwLock::new(HashMap::new()),
            producers: Mutex::new(HashMap::new()),
            consumers: Mutex::new(HashMap::new()),
            namesrv_index: AtomicUsize::new(start_index(&client_id, config.namesrv_addrs.len())),
            rebalance_pending: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            client_id,
            client_ip,
            config,
        });
        let inbound = InboundHandler::new(Arc::downgrade(&core));
        let thread = event_loop
            .spawn("client-remoting", inbound)
            .map_err(|e| io_err("the event loop thread", e))?;
        *lock(&core.loop_thread) = Some(thread);
        core.start_periodic_tasks();
        log::info!("client instance {} started: {}", core.client_id, core.config);
        Ok(Arc::new(ClientInstance { core }))
    }

    /// This client's id (`ip@instance`), as brokers see it.
    pub fn client_id(&self) -> &str {
        &self.core.client_id
    }

    /// The IP announced in the client id and message ids.
    pub fn client_ip(&self) -> IpAddr {
        self.core.client_ip
    }

    /// The configuration the instance runs with.
    pub fn config(&self) -> &ClientConfig {
        &self.core.config
    }

    /// Asks the NameServers for the route of `topic` now (`None` if the topic is unknown).
    pub fn query_topic_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        self.core.query_route(topic)
    }

    /// Stops the background threads and the event loop. Idempotent; also done on drop.
    /// Producers and consumers still using the instance fail with [`Error::Shutdown`].
    pub fn shutdown(&self) {
        self.core.shutdown();
    }

    pub(crate) fn core(&self) -> &Arc<InstanceCore> {
        &self.core
    }
}

impl Drop for ClientInstance {
    fn drop(&mut self) {
        self.core.shutdown();
    }
}

fn start_index(client_id: &str, n: usize) -> usize {
    (protocol::message::java_hash_code(client_id).unsigned_abs() as usize) % n.max(1)
}

/// `ip@instance[@unit]`, with the default instance name made unique per instance.
fn build_client_id(ip: IpAddr, config: &ClientConfig) -> String {
    let instance = if config.instance_name == DEFAULT_INSTANCE_NAME {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}#{nanos}", std::process::id())
    } else {
        config.instance_name.clone()
    };
    match &config.unit_name {
        Some(unit) if !unit.is_empty() => format!("{ip}@{instance}@{unit}"),
        _ => format!("{ip}@{instance}"),
    }
}

/// The local address used to reach the first NameServer (a UDP "connect" sends nothing).
fn detect_client_ip(namesrv_addrs: &[String]) -> IpAddr {
    let fallback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Some(target) = namesrv_addrs.first() else {
        return fallback;
    };
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect(target.as_str()).map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(fallback)
}

impl InstanceCore {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    fn start_periodic_tasks(self: &Arc<Self>) {
        let periodic = |initial_ms: u64, period_ms: u64, task: fn(&InstanceCore)| {
            let weak: Weak<InstanceCore> = Arc::downgrade(self);
            self.scheduler
                .schedule_periodic(initial_ms, period_ms, move || match weak.upgrade() {
                    Some(core) => {
                        task(&core);
                        true
                    }
                    None => false,
                });
        };
        let c = &self.config;
        periodic(10, c.poll_name_server_interval_ms, InstanceCore::refresh_all_routes);
        periodic(1_000, c.heartbeat_broker_interval_ms, InstanceCore::send_heartbeat_to_all);
        periodic(
            c.persist_consumer_offset_interval_ms,
            c.persist_consumer_offset_interval_ms,
            InstanceCore::persist_all_offsets,
        );
        periodic(c.rebalance_interval_ms, c.rebalance_interval_ms, InstanceCore::rebalance_all);
    }

    fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.scheduler.shutdown();
        self.timer.shutdown();
        self.callbacks.shutdown();
        self.api.handle().shutdown();
        let thread = lock(&self.loop_thread).take();
        if let Some(t) = thread {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        log::info!("client instance {} shut down", self.client_id);
    }

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
                publish.insert(topic.to_string(), Arc::new(TopicPublishInfo::from_route(topic, route)));
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
                new_addr |= bd.broker_addrs.values().any(|a| !entry.values().any(|e| e == a));
                *entry = bd.broker_addrs.clone();
            }
        }
        new_addr
    }

    /// The publish info of `topic`, fetching its route (or the template's) when not cached.
    pub(crate) fn publish_info(&self, topic: &str, default_queue_nums: i32) -> Result<Arc<TopicPublishInfo>> {
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
            .ok_or_else(|| Error::NoRoute { topic: topic.to_string() })?;
        if self.merge_brokers(&template) {
            self.schedule_heartbeat();
        }
        let info = Arc::new(TopicPublishInfo::from_default_route(topic, &template, default_queue_nums));
        if !info.is_ok() {
            return Err(Error::NoRoute { topic: topic.to_string() });
        }
        log::info!("topic {topic} has no route; sending through {AUTO_CREATE_TOPIC_KEY}");
        write(&self.publish).insert(topic.to_string(), info.clone());
        Ok(info)
    }

    /// The readable queues of `topic`, fetching the route if needed.
    pub(crate) fn subscribe_queues(&self, topic: &str) -> Result<std::collections::BTreeSet<MessageQueue>> {
        if let Some(route) = read(&self.routes).get(topic) {
            return Ok(subscribe_queues(topic, route));
        }
        if !self.update_topic_route(topic)? {
            return Err(Error::NoRoute { topic: topic.to_string() });
        }
        Ok(read(&self.routes)
            .get(topic)
            .map(|r| subscribe_queues(topic, r))
            .unwrap_or_default())
    }

    fn refresh_all_routes(&self) {
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
            routes.values().any(|r| r.broker_datas.iter().any(|b| &b.broker_name == name))
        });
    }

    /// The master address of broker group `broker_name`.
    pub(crate) fn find_broker_master(&self, broker_name: &str) -> Option<String> {
        read(&self.brokers).get(broker_name).and_then(|a| a.get(&0).cloned())
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
    pub(crate) fn find_broker_master_or_refresh(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(addr) = self.find_broker_master(broker_name) {
            return Ok(addr);
        }
        let _ = self.update_topic_route(topic);
        self.find_broker_master(broker_name).ok_or_else(|| Error::BrokerNotFound {
            broker_name: broker_name.to_string(),
        })
    }

    /// Some broker serving `topic` (any member), for group-wide queries.
    pub(crate) fn find_any_broker_of_topic(&self, topic: &str) -> Option<String> {
        let routes = read(&self.routes);
        let route = routes.get(topic)?;
        route.broker_datas.iter().find_map(|b| b.select_broker_addr().map(str::to_string))
    }

    pub(crate) fn register_producer(&self, member: Arc<dyn ProducerMember>) -> Result<()> {
        let group = member.group().to_string();
        let mut producers = lock(&self.producers);
        if producers.contains_key(&group) {
            return Err(Error::GroupAlreadyRegistered { group });
        }
        producers.insert(group, member);
        Ok(())
    }

    pub(crate) fn register_consumer(&self, member: Arc<dyn ConsumerMember>) -> Result<()> {
        let group = member.group().to_string();
        let mut consumers = lock(&self.consumers);
        if consumers.contains_key(&group) {
            return Err(Error::GroupAlreadyRegistered { group });
        }
        consumers.insert(group, member);
        Ok(())
    }

    pub(crate) fn producer(&self, group: &str) -> Option<Arc<dyn ProducerMember>> {
        lock(&self.producers).get(group).cloned()
    }

    pub(crate) fn consumer_members(&self) -> Vec<Arc<dyn ConsumerMember>> {
        lock(&self.consumers).values().cloned().collect()
    }

    /// Removes a member and tells every broker (UNREGISTER_CLIENT).
    pub(crate) fn unregister(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        if let Some(g) = producer_group {
            lock(&self.producers).remove(g);
        }
        if let Some(g) = consumer_group {
            lock(&self.consumers).remove(g);
        }
        if self.is_stopped() {
            return;
        }
        let addrs: Vec<String> = read(&self.brokers).values().flat_map(|a| a.values().cloned()).collect();
        for addr in addrs {
            let timeout = self.config.rpc_timeout_ms;
            if let Err(e) = self.api.unregister_client(&addr, &self.client_id, producer_group, consumer_group, timeout) {
                log::warn!("unregister of {} from {addr} failed: {e}", self.client_id);
            }
        }
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let mut producer_data_set: Vec<ProducerData> = lock(&self.producers)
            .keys()
            .map(|g| ProducerData { group_name: g.clone() })
            .collect();
        producer_data_set.push(ProducerData {
            group_name: CLIENT_INNER_PRODUCER_GROUP.to_string(),
        });
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: self.consumer_members().iter().map(|c| c.consumer_data()).collect(),
            producer_data_set,
            ..Default::default()
        }
    }

    /// Sends a heartbeat to every known broker (only masters when there is no consumer).
    pub(crate) fn send_heartbeat_to_all(&self) {
        if self.is_stopped() {
            return;
        }
        let data = self.heartbeat_data();
        let with_consumers = !data.consumer_data_set.is_empty();
        if !with_consumers && data.producer_data_set.len() <= 1 {
            return;
        }
        let brokers: Vec<(i64, String)> = read(&self.brokers)
            .values()
            .flat_map(|a| a.iter().map(|(id, addr)| (*id, addr.clone())))
            .collect();
        for (id, addr) in brokers {
            if !with_consumers && id != 0 {
                continue;
            }
            if let Err(e) = self.api.send_heartbeat(&addr, &data, self.config.rpc_timeout_ms) {
                log::warn!("heartbeat to {addr} failed: {e}");
            }
        }
    }

    /// Sends heartbeats soon, on the scheduler thread.
    pub(crate) fn schedule_heartbeat(self: &InstanceCore) {
        let Some(me) = self.self_weak() else { return };
        self.scheduler.schedule(0, move || {
            if let Some(core) = me.upgrade() {
                core.send_heartbeat_to_all();
            }
        });
    }

    fn persist_all_offsets(&self) {
        for c in self.consumer_members() {
            c.persist_offsets();
        }
    }

    fn rebalance_all(&self) {
        if self.is_stopped() {
            return;
        }
        for c in self.consumer_members() {
            c.rebalance();
        }
    }

    /// Runs a rebalance of every consumer soon (coalesced), e.g. after
    /// NOTIFY_CONSUMER_IDS_CHANGED.
    pub(crate) fn request_rebalance(&self) {
        if self.rebalance_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(me) = self.self_weak() else { return };
        self.scheduler.schedule(0, move || {
            if let Some(core) = me.upgrade() {
                core.rebalance_pending.store(false, Ordering::Release);
                core.rebalance_all();
            }
        });
    }

    /// A weak reference to this core (it always lives in an `Arc`).
    fn self_weak(&self) -> Option<Weak<InstanceCore>> {
        Some(self.me.clone())
    }
}

/// Where a producer or consumer builder gets its client instance from.
#[derive(Debug, Default)]
pub(crate) enum InstanceSource {
    /// Not configured yet: `start` fails.
    #[default]
    Unset,
    /// A private instance is created from this configuration.
    Config(ClientConfig),
    /// An existing, shared instance.
    Shared(Arc<ClientInstance>),
}

impl InstanceSource {
    /// Sets the NameServer list, keeping other settings of a private configuration.
    pub(crate) fn set_namesrv(&mut self, addrs: &str) {
        match self {
            InstanceSource::Config(c) => c.namesrv_addrs = crate::config::parse_namesrv_list(addrs),
            _ => *self = InstanceSource::Config(ClientConfig::new(addrs)),
        }
    }

    /// The instance to use.
    pub(crate) fn resolve(self) -> Result<Arc<ClientInstance>> {
        match self {
            InstanceSource::Unset => Err(Error::Config(
                "no NameServer address or client instance given".into(),
            )),
            InstanceSource::Config(c) => ClientInstance::new(c),
            InstanceSource::Shared(i) => Ok(i),
        }
    }
}
