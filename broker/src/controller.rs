//! [`BrokerServer`]: builds the broker from its configuration and runs it (RocketMQ
//! `BrokerController`), plus [`apply_broker_conf`] for `broker.conf` files.
//!
//! Start order (house rule 15): message store (open + recovery, service threads) → managers
//! (load the persisted topic, offset and group tables) → `persist` thread → remoting (the main
//! port `listenPort` and the fast/VIP port `listenPort − 2`, served identically by one event
//! loop) → registration with every NameServer. Shutdown runs in reverse: unregister from the
//! NameServers, stop accepting and close connections, persist offsets/topics/groups, then
//! `store.shutdown()` (final flush, checkpoint, abort file removed).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use protocol::message::UniqIdGenerator;
use protocol::remoting::{EventLoop, RemotingConfig, RemotingHandle};
use protocol::util::properties_file;

use crate::config::BrokerConfig;
use crate::error::{Error, Result};
use crate::ha::HaRuntime;
use crate::live_config::{write_overrides, LiveConfig};
use crate::manager::config_file::{config_file_path, write_snapshot, ConfigFile};
use crate::manager::{ConsumerOffsetManager, SubscriptionGroupManager, TopicConfigManager};
use crate::outer_api::{BrokerIdentity, OuterApiConfig, OuterApiService};
use crate::persist::{PersistJob, PersistService};
use crate::processor::pull_hold::PullHoldTable;
use crate::processor::{
    lock, wall_ms, Arrival, BrokerHandler, BrokerShared, PERSIST_BROKER_CONFIG,
    PERSIST_CONSUMER_OFFSETS, PERSIST_SUBSCRIPTION_GROUPS, PERSIST_TOPICS,
};
use crate::services::MessageServices;
use crate::stats::BrokerCounters;
use crate::store::{FlushDiskType, MessageStore, StoreConfig, StoreEnv};

/// Period of the dirty check for the topic and group tables (they are also saved at once
/// when marked dirty).
const TABLE_CHECK_PERIOD_MS: u64 = 1_000;

/// The broker's listening sockets, already bound (tests bind `127.0.0.1:0`).
#[derive(Debug)]
pub struct BrokerListeners {
    /// `listenPort`: clients, admin tools, other brokers.
    pub main: TcpListener,
    /// The fast/VIP port (`listenPort − 2`) older Java clients use; served like `main`.
    pub fast: Option<TcpListener>,
}

impl BrokerListeners {
    /// Binds `bindAddress:listenPort` and, when `listenPort > 2`, `bindAddress:listenPort−2`
    /// (like Java, the broker listens on every interface and advertises `brokerIP1`).
    pub fn bind(config: &BrokerConfig) -> io::Result<Self> {
        let main = TcpListener::bind((config.bind_address.as_str(), config.listen_port))?;
        let fast = match config.fast_listen_port() {
            0 => None,
            port => Some(TcpListener::bind((config.bind_address.as_str(), port))?),
        };
        Ok(BrokerListeners { main, fast })
    }
}

/// Binds the HA listener: `haListenPort` when set; else `listenPort + 1`, except when the
/// caller bound the main port itself on another port than `listenPort` (tests binding port 0),
/// where an ephemeral port is used. Records the bound port in `config.ha_listen_port`, so the
/// advertised `haServerAddr` is the real one.
fn bind_ha_listener(config: &mut BrokerConfig, bound_main_port: u16) -> Result<TcpListener> {
    let port = match config.ha_listen_port {
        Some(port) => port,
        None if config.listen_port != bound_main_port => 0,
        None => config.effective_ha_listen_port(),
    };
    let listener = TcpListener::bind((config.bind_address.as_str(), port))
        .map_err(|e| io_err("bind haListenPort", Path::new("-"), e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| io_err("HA listener address", Path::new("-"), e))?;
    config.ha_listen_port = Some(bound.port());
    Ok(listener)
}

/// Applies a `broker.conf` text to both configurations: every key is offered to
/// [`BrokerConfig::set`] and [`StoreConfig::set`] (keys such as `storePathRootDir`,
/// `flushDiskType` or `maxMessageSize` belong to both). Returns the keys neither knows, for
/// the caller to warn about. A bad value is an error naming the key and line.
pub fn apply_broker_conf(
    text: &str,
    broker: &mut BrokerConfig,
    store: &mut StoreConfig,
) -> Result<Vec<String>> {
    let props = properties_file::parse(text)
        .map_err(|e| Error::InvalidConfig(format!("properties file: {e}")))?;
    let mut unknown = Vec::new();
    let home = std::env::var("HOME").unwrap_or_default();
    for p in props {
        let at_line = |e: Error| Error::InvalidConfig(format!("line {}: {e}", p.line));
        let value = if PATH_KEYS.contains(&p.key.as_str()) {
            expand_home(&p.value, &home)
        } else {
            p.value.clone()
        };
        let by_broker = broker.set(&p.key, &value).map_err(at_line)?;
        let by_store = match store.set(&p.key, &value) {
            Ok(()) => true,
            Err(Error::UnknownConfigKey(_)) => false,
            Err(e) => return Err(at_line(e)),
        };
        if !by_broker && !by_store {
            unknown.push(p.key);
        }
    }
    Ok(unknown)
}

/// Keys whose value is a path: a leading `~/`, `$HOME/` or `${HOME}/` is replaced by `$HOME`
/// (a ferromq convenience; Java takes the text literally).
const PATH_KEYS: [&str; 3] = ["storePathRootDir", "storePathCommitLog", "rocketmqHome"];

/// Expands a leading `~`, `$HOME` or `${HOME}` (alone or followed by `/`) to `home`.
pub fn expand_home(value: &str, home: &str) -> String {
    for prefix in ["${HOME}", "$HOME", "~"] {
        if let Some(rest) = value.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                return format!("{home}{rest}");
            }
        }
    }
    value.to_owned()
}

/// A running broker. Dropping it shuts it down.
pub struct BrokerServer {
    shared: Arc<BrokerShared>,
    local_addr: SocketAddr,
    fast_addr: Option<SocketAddr>,
    handle: RemotingHandle,
    loop_thread: Option<JoinHandle<io::Result<()>>>,
    persist: Option<PersistService>,
    stopped: bool,
}

impl std::fmt::Debug for BrokerServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerServer")
            .field("local_addr", &self.local_addr)
            .field("broker_addr", &self.broker_addr())
            .finish_non_exhaustive()
    }
}

fn io_err(context: &str, path: &Path, e: io::Error) -> Error {
    Error::io(context, path, e)
}

/// Loads a persisted table; a missing file leaves the initial content, marked dirty so it is
/// written once.
fn load_table<T: ConfigFile>(table: &mut T, root: &Path) -> Result<()> {
    let path = config_file_path(root, T::FILE_NAME);
    if !table.load(&path)? {
        table.mark_dirty();
    }
    Ok(())
}

/// A persist job writing `T` (taken from `shared` by `pick`) when it is dirty.
fn table_job<T: ConfigFile + Send + 'static>(
    name: &'static str,
    period_ms: u64,
    shared: &Arc<BrokerShared>,
    pick: fn(&BrokerShared) -> &Mutex<T>,
) -> PersistJob {
    let shared = Arc::clone(shared);
    let path = config_file_path(&shared.store.config().store_path_root_dir, T::FILE_NAME);
    PersistJob {
        name,
        period_ms: Some(period_ms),
        save: Box::new(move || {
            let snapshot = lock(pick(&shared)).snapshot_if_dirty();
            let Some(bytes) = snapshot else {
                return Ok(());
            };
            write_snapshot(&path, &bytes).inspect_err(|_| lock(pick(&shared)).mark_dirty())
        }),
    }
}

impl BrokerServer {
    /// Starts a broker on already-bound listeners. `listenPort` is taken from `listeners.main`
    /// (so tests may bind port 0); the store's `storePathRootDir` and `flushDiskType` win over
    /// the copies in `config`.
    pub fn start(
        config: BrokerConfig,
        store_config: StoreConfig,
        listeners: BrokerListeners,
    ) -> Result<BrokerServer> {
        Self::start_with_env(config, store_config, StoreEnv::default(), listeners)
    }

    /// [`BrokerServer::start`] with an explicit store environment (tests inject disk probes,
    /// clocks and faults through it).
    pub fn start_with_env(
        mut config: BrokerConfig,
        store_config: StoreConfig,
        store_env: StoreEnv,
        listeners: BrokerListeners,
    ) -> Result<BrokerServer> {
        let local_addr = listeners
            .main
            .local_addr()
            .map_err(|e| io_err("listener address", Path::new("-"), e))?;
        let fast_addr = listeners.fast.as_ref().and_then(|l| l.local_addr().ok());
        let ha_listener = bind_ha_listener(&mut config, local_addr.port())?;
        config.listen_port = local_addr.port();
        config.store_path_root_dir = store_config.store_path_root_dir.clone();
        config.flush_disk_type = match store_config.flush_disk_type {
            FlushDiskType::AsyncFlush => crate::config::FlushDiskType::AsyncFlush,
            FlushDiskType::SyncFlush => crate::config::FlushDiskType::SyncFlush,
        };
        config.normalize();
        config.validate()?;
        let ip: IpAddr = config.broker_ip1.parse().map_err(|_| {
            Error::InvalidConfig(format!(
                "brokerIP1 {:?} is not an IP address",
                config.broker_ip1
            ))
        })?;
        let store_host = SocketAddr::new(ip, config.listen_port);
        let store = Arc::new(MessageStore::open_with(store_config, store_env)?);
        let served = build_shared(config, Arc::clone(&store), store_host).and_then(|shared| {
            Self::serve(
                Arc::new(shared),
                listeners,
                ha_listener,
                local_addr,
                fast_addr,
            )
        });
        let mut server = match served {
            Ok(server) => server,
            Err(e) => {
                if let Err(e2) = store.shutdown() {
                    log::error!("store shutdown after a failed start: {e2}");
                }
                return Err(e);
            }
        };
        server.start_registration()?;
        log::info!(
            "broker {} serving on {local_addr} (fast port {fast_addr:?})",
            server.broker_addr()
        );
        Ok(server)
    }

    /// Store threads, persist thread and the event loop.
    fn serve(
        shared: Arc<BrokerShared>,
        listeners: BrokerListeners,
        ha_listener: TcpListener,
        local_addr: SocketAddr,
        fast_addr: Option<SocketAddr>,
    ) -> Result<BrokerServer> {
        let config = &shared.config;
        let remoting = RemotingConfig {
            max_frame_bytes: config.frame_max_length_bytes,
            idle_timeout_ms: config.server_channel_max_idle_time_secs * 1000,
            ..RemotingConfig::default()
        };
        let loop_err = |e| io_err("start remoting", Path::new("-"), e);
        let mut event_loop = EventLoop::new(remoting).map_err(loop_err)?;
        let handle = event_loop.handle();
        let holds = PullHoldTable::new();
        let arrivals = install_arrival_listener(&shared, &holds, handle.clone());
        shared.store.start()?;
        shared.ha.start_master_side(ha_listener, &shared)?;
        let persist = start_persist(&shared)?;
        let _ = shared.persist_trigger.set(persist.trigger());
        event_loop.listen(listeners.main).map_err(loop_err)?;
        if let Some(fast) = listeners.fast {
            event_loop.listen(fast).map_err(loop_err)?;
        }
        let (check_tx, checks) = MessageServices::check_channel();
        shared
            .ha
            .start_message_services(&shared, handle.clone(), check_tx)?;
        let handler =
            BrokerHandler::new(Arc::clone(&shared), holds, arrivals, checks, handle.clone());
        let loop_thread = event_loop.spawn("broker-loop", handler).map_err(loop_err)?;
        Ok(BrokerServer {
            shared,
            local_addr,
            fast_addr,
            handle,
            loop_thread: Some(loop_thread),
            persist: Some(persist),
            stopped: false,
        })
    }

    fn start_registration(&mut self) -> Result<()> {
        let c = &self.shared.config;
        let identity = BrokerIdentity {
            cluster_name: c.broker_cluster_name.clone(),
            broker_name: c.broker_name.clone(),
            broker_id: self.shared.ha.broker_id() as i64,
            broker_addr: c.broker_addr(),
            ha_server_addr: c.ha_server_addr(),
            heartbeat_timeout_ms: c.broker_not_active_timeout_ms as i64,
            enable_acting_master: c.enable_acting_master,
        };
        let outer = OuterApiConfig {
            namesrv_addrs: c.namesrv_addrs(),
            register_period_ms: c.register_name_server_period_ms,
            register_timeout_ms: c.register_broker_timeout_ms,
            compressed: c.compressed_register,
        };
        let shared = Arc::clone(&self.shared);
        let source = Box::new(move || {
            let wrapper = lock(&shared.topics).to_wrapper();
            registered_topics(wrapper, shared.broker_permission())
        });
        let service = OuterApiService::start(identity, outer, source)
            .map_err(|e| io_err("start outer-api", Path::new("outer-api"), e))?;
        let _ = self.shared.register_trigger.set(service.trigger());
        self.shared.ha.set_outer_api(service);
        self.shared.ha.start_slave_side(&self.shared)
    }

    /// The broker's run-time role, HA state and replication services.
    pub fn ha(&self) -> &HaRuntime {
        &self.shared.ha
    }

    /// The bound HA address (`haListenPort`).
    pub fn ha_addr(&self) -> Option<SocketAddr> {
        self.shared.ha.ha_addr()
    }

    /// The main port's local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The fast/VIP port's local address, if it listens.
    pub fn fast_addr(&self) -> Option<SocketAddr> {
        self.fast_addr
    }

    /// `brokerIP1:listenPort`, the address registered with NameServers.
    pub fn broker_addr(&self) -> String {
        self.shared.config.broker_addr()
    }

    /// The effective configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.shared.config
    }

    /// The message store (tests read stored records through it).
    pub fn store(&self) -> &Arc<MessageStore> {
        &self.shared.store
    }

    /// The master's addresses learnt from NameServers (slaves).
    pub fn master_addrs(&self) -> crate::outer_api::MasterAddrs {
        self.shared.ha.master_addrs()
    }

    /// Graceful shutdown: unregister, stop serving, persist the tables, shut the store down
    /// (removing the abort file). Idempotent.
    pub fn shutdown(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        log::info!("broker {} shutting down", self.broker_addr());
        self.shared.ha.shutdown_registration();
        self.shared.ha.shutdown_services();
        self.handle.shutdown();
        if let Some(t) = self.loop_thread.take() {
            match t.join() {
                Ok(Err(e)) => log::error!("broker event loop failed: {e}"),
                Err(_) => log::error!("broker event loop panicked"),
                Ok(Ok(())) => {}
            }
        }
        if let Some(mut p) = self.persist.take() {
            p.shutdown();
        }
        self.shared.store.shutdown()?;
        log::info!("broker {} shut down", self.broker_addr());
        Ok(())
    }
}

impl Drop for BrokerServer {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            log::error!("broker shutdown: {e}");
        }
    }
}

/// The topic table as registered: with a broker permission lacking read or write, every
/// topic's permission is masked with it (so routes steer clients away, as RocketMQ does).
fn registered_topics(
    mut wrapper: protocol::body::TopicConfigSerializeWrapper,
    broker_permission: i32,
) -> protocol::body::TopicConfigSerializeWrapper {
    use protocol::body::perm::{is_readable, is_writeable};
    if !is_writeable(broker_permission) || !is_readable(broker_permission) {
        for topic in wrapper.topic_config_table.values_mut() {
            topic.perm &= broker_permission;
        }
    }
    wrapper
}

/// With long polling on, the store's dispatcher reports arrivals into a channel and wakes the
/// loop, but only while some pull is parked.
fn install_arrival_listener(
    shared: &BrokerShared,
    holds: &PullHoldTable<protocol::remoting::ConnId, protocol::RemotingCommand>,
    wake: RemotingHandle,
) -> mpsc::Receiver<Arrival> {
    let (tx, rx) = mpsc::channel::<Arrival>();
    if shared.config.long_polling_enable {
        let waiting = holds.waiting_counter();
        shared
            .store
            .set_arriving_listener(Box::new(move |topic, queue_id, max_offset| {
                if waiting.load(Ordering::SeqCst) > 0
                    && tx.send((topic.to_owned(), queue_id, max_offset)).is_ok()
                {
                    wake.wake();
                }
            }));
    }
    rx
}

/// The `persist` thread: topics and groups when changed, consumer offsets every
/// `flushConsumerOffsetInterval`, all of them at shutdown.
fn start_persist(shared: &Arc<BrokerShared>) -> Result<PersistService> {
    let offsets_ms = shared.config.flush_consumer_offset_interval_ms;
    let table_ms = TABLE_CHECK_PERIOD_MS;
    PersistService::start(vec![
        table_job(PERSIST_TOPICS, table_ms, shared, |s| &s.topics),
        table_job(PERSIST_CONSUMER_OFFSETS, offsets_ms, shared, |s| &s.offsets),
        table_job(PERSIST_SUBSCRIPTION_GROUPS, table_ms, shared, |s| &s.groups),
        broker_config_job(shared),
    ])
    .map_err(|e| io_err("start persist thread", Path::new("persist"), e))
}

/// On demand only: writes the keys UPDATE_BROKER_CONFIG changed into `brokerConfigPath`.
fn broker_config_job(shared: &Arc<BrokerShared>) -> PersistJob {
    let shared = Arc::clone(shared);
    PersistJob {
        name: PERSIST_BROKER_CONFIG,
        period_ms: None,
        save: Box::new(move || match &shared.config.broker_config_path {
            Some(path) => write_overrides(path, &shared.live.overrides()),
            None => {
                log::info!("no brokerConfigPath: run-time config changes are not persisted");
                Ok(())
            }
        }),
    }
}

/// The managers, loaded from `<storePathRootDir>/config/`, and the shared state around them.
fn build_shared(
    config: BrokerConfig,
    store: Arc<MessageStore>,
    store_host: SocketAddr,
) -> Result<BrokerShared> {
    let root = store.config().store_path_root_dir.clone();
    let now = wall_ms();
    let mut topics = TopicConfigManager::new(&config, now);
    load_table(&mut topics, &root)?;
    let mut offsets = ConsumerOffsetManager::new();
    load_table(&mut offsets, &root)?;
    let mut groups = SubscriptionGroupManager::new(now);
    load_table(&mut groups, &root)?;
    let max_delay_level = store.config().delay_levels_ms()?.len() as i32;
    log::info!(
        "loaded {} topics and {} subscription groups",
        topics.table().len(),
        groups.table().len()
    );
    let live = LiveConfig::new(&config, store.config(), now as i64);
    Ok(BrokerShared {
        ha: HaRuntime::new(&config),
        uniq_ids: UniqIdGenerator::for_this_process(store_host.ip()),
        live,
        counters: BrokerCounters::default(),
        sends_awaiting_flush: std::sync::atomic::AtomicUsize::new(0),
        boot_ms: now,
        config,
        store,
        store_host,
        max_delay_level,
        topics: Mutex::new(topics),
        offsets: Mutex::new(offsets),
        groups: Mutex::new(groups),
        register_trigger: OnceLock::new(),
        persist_trigger: OnceLock::new(),
    })
}

/// Every message-store key with its effective value, in `StoreConfig::set` syntax (for
/// `mqbroker -p`).
pub fn store_properties(c: &StoreConfig) -> Vec<(&'static str, String)> {
    let path = |p: &Path| p.display().to_string();
    vec![
        ("storePathRootDir", path(&c.store_path_root_dir)),
        ("storePathCommitLog", path(&c.commit_log_dir())),
        (
            "mappedFileSizeCommitLog",
            c.commit_log_segment_bytes.to_string(),
        ),
        (
            "mappedFileSizeConsumeQueue",
            c.consume_queue_file_bytes.to_string(),
        ),
        ("flushDiskType", c.flush_disk_type.as_str().to_string()),
        (
            "flushIntervalCommitLog",
            c.flush_interval_commit_log_ms.to_string(),
        ),
        (
            "flushIntervalConsumeQueue",
            c.flush_interval_consume_queue_ms.to_string(),
        ),
        ("syncFlushTimeout", c.sync_flush_timeout_ms.to_string()),
        ("fileReservedTime", c.file_reserved_hours.to_string()),
        ("deleteWhen", c.delete_when.clone()),
        (
            "diskMaxUsedSpaceRatio",
            c.disk_max_used_space_ratio_percent.to_string(),
        ),
        (
            "diskSpaceCleanForciblyRatio",
            c.disk_space_clean_forcibly_ratio_percent.to_string(),
        ),
        (
            "diskSpaceWarningLevelRatio",
            c.disk_space_warning_level_ratio_percent.to_string(),
        ),
        (
            "cleanResourceInterval",
            c.clean_resource_interval_ms.to_string(),
        ),
        ("deleteFileBatchMax", c.delete_file_batch_max.to_string()),
        ("checkCRCOnRecover", c.check_crc_on_recover.to_string()),
        ("maxMessageSize", c.max_message_bytes.to_string()),
        ("messageIndexEnable", c.message_index_enable.to_string()),
        ("maxHashSlotNum", c.max_hash_slot_num.to_string()),
        ("maxIndexNum", c.max_index_num.to_string()),
        ("messageDelayLevel", c.message_delay_level.clone()),
    ]
}
