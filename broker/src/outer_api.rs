//! [`OuterApiService`]: the broker's registration with every NameServer (RocketMQ
//! `BrokerOuterAPI` + the `registerBrokerAll` schedule).
//!
//! Owns the `outer-api` service thread and a small client event loop of its own (so a slow or
//! dead NameServer never touches the broker's serving loop). At start, every
//! `registerNameServerPeriod`, and whenever [`RegisterTrigger::request`] is called (topic
//! created, updated or deleted) it sends REGISTER_BROKER to each NameServer in `namesrvAddr`
//! in parallel and waits up to `registerBrokerTimeoutMills` for the answers. A NameServer that
//! fails is logged and retried sooner (1 s, doubling, capped at the period) until it answers
//! again; when a NameServer connection closes (e.g. it restarted and forgot this broker) every
//! NameServer is re-registered at once. A slave remembers the master and HA addresses from the
//! response. [`OuterApiService::shutdown`] sends UNREGISTER_BROKER to all.
//!
//! The due-time bookkeeping is the pure [`RegisterSchedule`].

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use protocol::body::register_broker::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use protocol::header::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
};
use protocol::message::body_crc;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingError, RemotingHandle, Reply,
    RequestHandler, ServiceControl, ServiceThread,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

/// First retry delay after a failed registration.
const RETRY_MIN_MS: u64 = 1_000;
/// Upper bound of the wait for UNREGISTER_BROKER answers at shutdown.
const UNREGISTER_TIMEOUT_MS: u64 = 3_000;

/// Who this broker is, as sent in REGISTER_BROKER / UNREGISTER_BROKER headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerIdentity {
    /// `clusterName`.
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId` (0 = master).
    pub broker_id: i64,
    /// `brokerAddr`: `brokerIP1:listenPort`.
    pub broker_addr: String,
    /// `haServerAddr`: `brokerIP2:haListenPort`.
    pub ha_server_addr: String,
    /// `heartbeatTimeoutMillis`: how long NameServers keep this broker without a registration.
    pub heartbeat_timeout_ms: i64,
    /// `enableActingMaster`.
    pub enable_acting_master: bool,
}

/// Settings of the registration service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuterApiConfig {
    /// NameServer `host:port` addresses.
    pub namesrv_addrs: Vec<String>,
    /// Period between registrations (`registerNameServerPeriod`).
    pub register_period_ms: u64,
    /// Wait for each round's answers (`registerBrokerTimeoutMills`).
    pub register_timeout_ms: u64,
    /// Send the zlib-compressed body (`compressedRegister`).
    pub compressed: bool,
}

/// Builds the topic table to register (called on the `outer-api` thread for every round).
pub type TopicConfigSource = Box<dyn Fn() -> TopicConfigSerializeWrapper + Send>;

/// The master's addresses as reported to a slave by a NameServer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterAddrs {
    /// The master's remoting address (`masterAddr`).
    pub master_addr: Option<String>,
    /// The master's HA address (`haServerAddr`).
    pub ha_server_addr: Option<String>,
}

/// When each NameServer is due for its next registration. Pure: callers pass `now_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterSchedule {
    period_ms: u64,
    next_due_ms: Vec<u64>,
    failures: Vec<u32>,
}

impl RegisterSchedule {
    /// `count` NameServers, all due at once.
    pub fn new(count: usize, period_ms: u64) -> Self {
        RegisterSchedule {
            period_ms: period_ms.max(1),
            next_due_ms: vec![0; count],
            failures: vec![0; count],
        }
    }

    /// Indexes of the NameServers due at `now_ms`.
    pub fn due(&self, now_ms: u64) -> Vec<usize> {
        (0..self.next_due_ms.len())
            .filter(|&i| self.next_due_ms[i] <= now_ms)
            .collect()
    }

    /// Makes every NameServer due now (topic change, lost connection).
    pub fn all_due(&mut self, now_ms: u64) {
        self.next_due_ms.iter_mut().for_each(|d| *d = now_ms);
    }

    /// Records one registration outcome.
    pub fn record(&mut self, index: usize, ok: bool, now_ms: u64) {
        if ok {
            self.failures[index] = 0;
            self.next_due_ms[index] = now_ms + self.period_ms;
        } else {
            let n = self.failures[index].min(16);
            self.failures[index] = n + 1;
            let backoff = RETRY_MIN_MS
                .saturating_mul(1 << n.min(10))
                .min(self.period_ms);
            self.next_due_ms[index] = now_ms + backoff;
        }
    }

    /// How long to sleep from `now_ms` until the next NameServer is due (at most one period).
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        self.next_due_ms
            .iter()
            .map(|d| d.saturating_sub(now_ms))
            .min()
            .unwrap_or(self.period_ms)
    }
}

/// Asks the registration service for an immediate round with every NameServer. Cheap to
/// clone; callable from any thread (the event loop calls it after creating a topic).
#[derive(Debug, Clone)]
pub struct RegisterTrigger {
    control: ServiceControl,
    all_due: Arc<AtomicBool>,
}

impl RegisterTrigger {
    /// Requests a registration round with every NameServer now.
    pub fn request(&self) {
        self.all_due.store(true, Ordering::Release);
        self.control.wakeup();
    }
}

/// The client loop's handler: no inbound requests; a closed NameServer connection asks for a
/// re-registration with everyone.
struct ClientSide {
    trigger: Option<RegisterTrigger>,
}

impl RequestHandler for ClientSide {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }

    fn on_connected(&mut self, _: &mut Context<'_>, _: ConnId, peer: SocketAddr, _: Option<usize>) {
        log::debug!("connected to NameServer {peer}");
    }

    fn on_closed(&mut self, _: &mut Context<'_>, conn: ConnId) {
        log::info!("NameServer connection {conn} closed; re-registering");
        if let Some(t) = &self.trigger {
            t.request();
        }
    }
}

/// Everything the `outer-api` thread needs.
struct Registrar {
    identity: Arc<Mutex<BrokerIdentity>>,
    config: OuterApiConfig,
    source: TopicConfigSource,
    client: RemotingHandle,
    master: Arc<Mutex<MasterAddrs>>,
}

/// The running registration service. See the module docs.
pub struct OuterApiService {
    thread: Option<ServiceThread>,
    trigger: RegisterTrigger,
    client: RemotingHandle,
    client_join: Option<JoinHandle<io::Result<()>>>,
    identity: Arc<Mutex<BrokerIdentity>>,
    config: OuterApiConfig,
    master: Arc<Mutex<MasterAddrs>>,
}

impl std::fmt::Debug for OuterApiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OuterApiService")
            .field("identity", &self.identity)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OuterApiService {
    /// Starts the client loop and the `outer-api` thread; the first round runs at once.
    pub fn start(
        identity: BrokerIdentity,
        config: OuterApiConfig,
        source: TopicConfigSource,
    ) -> io::Result<Self> {
        let event_loop = EventLoop::new(RemotingConfig::default())?;
        let client = event_loop.handle();
        let all_due = Arc::new(AtomicBool::new(false));
        let master = Arc::new(Mutex::new(MasterAddrs::default()));
        let identity = Arc::new(Mutex::new(identity));
        let registrar = Registrar {
            identity: Arc::clone(&identity),
            config: config.clone(),
            source,
            client: client.clone(),
            master: Arc::clone(&master),
        };
        let thread = ServiceThread::start("outer-api", {
            let all_due = Arc::clone(&all_due);
            move |ctl| registrar.run(ctl, all_due)
        })?;
        let trigger = RegisterTrigger {
            control: thread.control(),
            all_due,
        };
        let handler = ClientSide {
            trigger: Some(trigger.clone()),
        };
        let client_join = event_loop.spawn("outer-api-client", handler)?;
        Ok(OuterApiService {
            thread: Some(thread),
            trigger,
            client,
            client_join: Some(client_join),
            identity,
            config,
            master,
        })
    }

    /// A handle that requests an immediate registration round.
    pub fn trigger(&self) -> RegisterTrigger {
        self.trigger.clone()
    }

    /// The master's addresses learnt from the last registration answer (slaves).
    pub fn master_addrs(&self) -> MasterAddrs {
        lock(&self.master).clone()
    }

    /// The shared cell holding [`OuterApiService::master_addrs`] (read by the HA client).
    pub fn master_addrs_cell(&self) -> Arc<Mutex<MasterAddrs>> {
        Arc::clone(&self.master)
    }

    /// The identity currently registered.
    pub fn identity(&self) -> BrokerIdentity {
        lock(&self.identity).clone()
    }

    /// Re-registers under a new identity (slave promotion: `brokerId` 0): sends
    /// UNREGISTER_BROKER for the old identity to every NameServer (waiting at most a few
    /// seconds, on the caller's thread), then registers the new one at once.
    pub fn change_identity(&self, identity: BrokerIdentity) {
        let old = std::mem::replace(&mut *lock(&self.identity), identity);
        unregister_all(&self.client, &old, &self.config);
        *lock(&self.master) = MasterAddrs::default();
        self.trigger.request();
    }

    /// Stops the periodic registration, sends UNREGISTER_BROKER to every NameServer (waiting
    /// at most a few seconds), then stops the client loop. Idempotent.
    pub fn shutdown(&mut self) {
        let Some(mut thread) = self.thread.take() else {
            return;
        };
        thread.shutdown();
        let identity = lock(&self.identity).clone();
        unregister_all(&self.client, &identity, &self.config);
        self.client.shutdown();
        if let Some(join) = self.client_join.take() {
            if join.join().is_err() {
                log::error!("outer-api client loop panicked");
            }
        }
    }
}

impl Drop for OuterApiService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registrar {
    fn run(self, ctl: ServiceControl, all_due: Arc<AtomicBool>) {
        let start = Instant::now();
        let now_ms = || start.elapsed().as_millis() as u64;
        let mut schedule = RegisterSchedule::new(
            self.config.namesrv_addrs.len(),
            self.config.register_period_ms,
        );
        if self.config.namesrv_addrs.is_empty() {
            log::warn!("namesrvAddr is empty: this broker registers with no NameServer");
        }
        while !ctl.is_stopped() {
            if all_due.swap(false, Ordering::AcqRel) {
                schedule.all_due(now_ms());
            }
            let due = schedule.due(now_ms());
            if !due.is_empty() {
                for (index, ok) in self.register_round(&due) {
                    schedule.record(index, ok, now_ms());
                }
            }
            let wait = schedule.wait_ms(now_ms()).max(1);
            ctl.wait_for_running(Duration::from_millis(wait));
        }
    }

    /// One REGISTER_BROKER to each NameServer in `due`, in parallel; returns each outcome.
    fn register_round(&self, due: &[usize]) -> Vec<(usize, bool)> {
        let request = match self.build_request() {
            Ok(r) => r,
            Err(e) => {
                log::error!("cannot encode the REGISTER_BROKER body: {e}");
                return due.iter().map(|&i| (i, false)).collect();
            }
        };
        let (tx, rx) = mpsc::channel();
        let timeout_ms = self.config.register_timeout_ms;
        for &i in due {
            let tx = tx.clone();
            let addr = &self.config.namesrv_addrs[i];
            self.client
                .invoke_async(addr, request.clone(), timeout_ms, move |r| {
                    let _ = tx.send((i, r));
                });
        }
        drop(tx);
        let deadline = Instant::now() + Duration::from_millis(timeout_ms + 1_000);
        let mut outcomes: Vec<(usize, bool)> = due.iter().map(|&i| (i, false)).collect();
        for _ in due {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((i, result)) = rx.recv_timeout(left) else {
                break;
            };
            let ok = self.on_register_response(&self.config.namesrv_addrs[i], result);
            if let Some(o) = outcomes.iter_mut().find(|(idx, _)| *idx == i) {
                o.1 = ok;
            }
        }
        outcomes
    }

    fn build_request(&self) -> protocol::Result<RemotingCommand> {
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: (self.source)(),
        }
        .encode(self.config.compressed, protocol::command::CURRENT_VERSION)?;
        let id = lock(&self.identity).clone();
        let header = RegisterBrokerRequestHeader {
            broker_name: id.broker_name.clone(),
            broker_addr: id.broker_addr.clone(),
            cluster_name: id.cluster_name.clone(),
            ha_server_addr: id.ha_server_addr.clone(),
            broker_id: id.broker_id,
            heartbeat_timeout_millis: Some(id.heartbeat_timeout_ms),
            enable_acting_master: Some(id.enable_acting_master),
            compressed: Some(self.config.compressed),
            body_crc32: Some(body_crc(&body)),
            zone_name: None,
        };
        Ok(
            RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header)
                .with_body(body),
        )
    }

    fn on_register_response(
        &self,
        addr: &str,
        result: Result<RemotingCommand, RemotingError>,
    ) -> bool {
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                log::warn!("register broker to NameServer {addr} failed: {e}");
                return false;
            }
        };
        if response.code != ResponseCode::SUCCESS.code() {
            log::warn!(
                "NameServer {addr} refused the registration: code {} {}",
                response.code,
                response.remark.as_deref().unwrap_or("")
            );
            return false;
        }
        let identity = lock(&self.identity).clone();
        log::debug!(
            "registered broker {} with NameServer {addr}",
            identity.broker_addr
        );
        if identity.broker_id != 0 {
            if let Ok(h) = response.decode_header::<RegisterBrokerResponseHeader>() {
                let mut m = lock(&self.master);
                if h.master_addr.is_some() {
                    m.master_addr = h.master_addr;
                }
                if h.ha_server_addr.is_some() {
                    m.ha_server_addr = h.ha_server_addr;
                }
            }
        }
        true
    }
}

/// UNREGISTER_BROKER to every NameServer in parallel; failures are logged.
fn unregister_all(client: &RemotingHandle, id: &BrokerIdentity, config: &OuterApiConfig) {
    let header = UnregisterBrokerRequestHeader {
        broker_name: id.broker_name.clone(),
        broker_addr: id.broker_addr.clone(),
        cluster_name: id.cluster_name.clone(),
        broker_id: id.broker_id,
    };
    let request = RemotingCommand::request_with_header(RequestCode::UNREGISTER_BROKER, &header);
    let timeout_ms = config.register_timeout_ms.min(UNREGISTER_TIMEOUT_MS);
    let (tx, rx) = mpsc::channel();
    for addr in &config.namesrv_addrs {
        let (tx, addr_owned) = (tx.clone(), addr.clone());
        client.invoke_async(addr, request.clone(), timeout_ms, move |r| {
            let _ = tx.send((addr_owned, r));
        });
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_millis(timeout_ms + 500);
    for _ in &config.namesrv_addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((addr, Ok(r))) if r.code == ResponseCode::SUCCESS.code() => {
                log::info!(
                    "unregistered broker {} from NameServer {addr}",
                    id.broker_addr
                );
            }
            Ok((addr, Ok(r))) => log::warn!(
                "NameServer {addr} refused UNREGISTER_BROKER: code {}",
                r.code
            ),
            Ok((addr, Err(e))) => log::warn!("unregister from NameServer {addr} failed: {e}"),
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_registers_all_then_waits_a_period() {
        let mut s = RegisterSchedule::new(2, 30_000);
        assert_eq!(s.due(0), [0, 1]);
        s.record(0, true, 0);
        s.record(1, true, 0);
        assert!(s.due(29_999).is_empty());
        assert_eq!(s.wait_ms(10_000), 20_000);
        assert_eq!(s.due(30_000), [0, 1]);
    }

    #[test]
    fn failures_back_off_up_to_the_period() {
        let mut s = RegisterSchedule::new(2, 10_000);
        s.record(0, true, 0);
        s.record(1, false, 0);
        assert_eq!(s.wait_ms(0), 1_000);
        assert_eq!(s.due(1_000), [1]);
        s.record(1, false, 1_000);
        assert_eq!(s.wait_ms(1_000), 2_000);
        for _ in 0..20 {
            s.record(1, false, 5_000);
        }
        assert_eq!(
            s.wait_ms(5_000),
            5_000,
            "min(backoff, period) with 0 due at 10 s"
        );
        s.record(1, true, 6_000);
        assert_eq!(s.due(15_999), [0]);
        s.all_due(7_000);
        assert_eq!(s.due(7_000), [0, 1]);
    }
}
