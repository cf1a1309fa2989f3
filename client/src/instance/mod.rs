//! [`ClientInstance`]: the connections, route cache and background tasks shared by the
//! producers and consumers of one client id (Java `MQClientInstance`).
//!
//! # Threads
//! * `client-remoting`: the mio event loop for every NameServer and broker connection; runs
//!   response callbacks and the inbound handler (broker-initiated requests); never blocks.
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

mod members;
mod routes;

use protocol::body::{ConsumerData, MessageQueue, TopicRouteData};
use protocol::header::CheckTransactionStateRequestHeader;
use protocol::message::{MessageExt, UniqIdGenerator};
use protocol::remoting::{ConnId, EventLoop};

use crate::api::Api;
use crate::config::{ClientConfig, DEFAULT_INSTANCE_NAME};
use crate::error::{Error, Result};
use crate::inbound::InboundHandler;
use crate::route::TopicPublishInfo;
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
        log::warn!(
            "producer group {} got a transaction check but is not transactional",
            self.group()
        );
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
    /// The broker asks to move the group's offsets of `topic` (RESET_CONSUMER_CLIENT_OFFSET).
    /// Runs on the event loop: must hand the work to another thread.
    /// GET_CONSUMER_RUNNING_INFO: `None` when this kind of consumer does not report one.
    fn running_info(&self) -> Option<protocol::body::running_info::ConsumerRunningInfo> {
        None
    }
    fn reset_offset(&self, topic: &str, _offsets: std::collections::BTreeMap<MessageQueue, i64>) {
        log::warn!(
            "group {}: offset reset of {topic} not supported by this consumer",
            self.group()
        );
    }
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
    /// A retry of an incomplete rebalance is scheduled (see `retry_rebalance_soon`).
    rebalance_retry_pending: AtomicBool,
    stopped: AtomicBool,
}

impl std::fmt::Debug for InstanceCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceCore")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// How long an idle callback thread yields for the next send completion before it sleeps.
const CALLBACK_SPIN: std::time::Duration = std::time::Duration::from_micros(50);

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
        // Send completions arrive every few microseconds under load: spin briefly rather
        // than sleep between them.
        let callbacks =
            Executor::start_spinning("client-callback", config.callback_threads, CALLBACK_SPIN)
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
            rebalance_retry_pending: AtomicBool::new(false),
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
        log::info!(
            "client instance {} started: {}",
            core.client_id,
            core.config
        );
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

    /// Typed RPCs over this instance's connections (for tools built on the client).
    pub fn api(&self) -> &Api {
        &self.core.api
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
        periodic(
            10,
            c.poll_name_server_interval_ms,
            InstanceCore::refresh_all_routes,
        );
        periodic(
            1_000,
            c.heartbeat_broker_interval_ms,
            InstanceCore::send_heartbeat_to_all,
        );
        periodic(
            c.persist_consumer_offset_interval_ms,
            c.persist_consumer_offset_interval_ms,
            InstanceCore::persist_all_offsets,
        );
        periodic(
            c.rebalance_interval_ms,
            c.rebalance_interval_ms,
            InstanceCore::rebalance_all,
        );
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
}

/// Where a producer or consumer builder gets its client instance from.
#[derive(Debug, Default)]
pub(crate) enum InstanceSource {
    /// Not configured yet: `start` fails.
    #[default]
    Unset,
    /// A private instance is created from this configuration.
    Config(Box<ClientConfig>),
    /// An existing, shared instance.
    Shared(Arc<ClientInstance>),
}

impl InstanceSource {
    /// Sets the NameServer list, keeping other settings of a private configuration.
    pub(crate) fn set_namesrv(&mut self, addrs: &str) {
        match self {
            InstanceSource::Config(c) => c.namesrv_addrs = crate::config::parse_namesrv_list(addrs),
            _ => *self = InstanceSource::Config(Box::new(ClientConfig::new(addrs))),
        }
    }

    /// The instance to use.
    pub(crate) fn resolve(self) -> Result<Arc<ClientInstance>> {
        match self {
            InstanceSource::Unset => Err(Error::Config(
                "no NameServer address or client instance given".into(),
            )),
            InstanceSource::Config(c) => ClientInstance::new(*c),
            InstanceSource::Shared(i) => Ok(i),
        }
    }
}
