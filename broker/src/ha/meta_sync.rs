//! [`SlaveSyncService`]: a slave's copy of its master's metadata (RocketMQ
//! `SlaveSynchronize`). Every `slaveSyncMetadataInterval` (default 10 s, as RocketMQ 4.x) the
//! `slave-sync` thread asks the master over remoting for GET_ALL_TOPIC_CONFIG (21),
//! GET_ALL_CONSUMER_OFFSET (43), GET_ALL_DELAY_OFFSET (45) and
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) and replaces the local tables (persisted by the
//! `persist` thread; `delayOffset.json` is written here, so a promoted slave's delay delivery
//! resumes where the master was). The master's remoting address is the `masterAddr` the
//! NameServer registration reported. Uses its own client event loop; a failing master only
//! logs.

use std::io;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use protocol::body::{
    ConsumerOffsetSerializeWrapper, JsonBody, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::util::atomic_file::write_atomically;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::manager::config_file::{config_file_path, DELAY_OFFSET_JSON};
use crate::processor::{lock, BrokerShared, PERSIST_CONSUMER_OFFSETS, PERSIST_SUBSCRIPTION_GROUPS};
use crate::service_thread::ServiceSignal;

/// Timeout of each metadata request.
const SYNC_TIMEOUT_MS: u64 = 3_000;

/// Where the master's remoting address comes from.
pub type MasterRemotingAddr = Box<dyn Fn() -> Option<String> + Send>;

/// The client loop's handler: the master never sends requests on this connection.
pub(crate) struct NoRequests;

impl RequestHandler for NoRequests {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

/// The running metadata sync. See the module docs.
pub struct SlaveSyncService {
    signal: Arc<ServiceSignal>,
    client: RemotingHandle,
    thread: Option<JoinHandle<()>>,
    loop_thread: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for SlaveSyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlaveSyncService").finish_non_exhaustive()
    }
}

impl SlaveSyncService {
    /// Starts the `slave-sync` thread; the first round runs at once.
    pub fn start(
        shared: Weak<BrokerShared>,
        interval_ms: u64,
        master: MasterRemotingAddr,
    ) -> io::Result<Self> {
        let event_loop = EventLoop::new(RemotingConfig::default())?;
        let client = event_loop.handle();
        let loop_thread = event_loop.spawn("slave-sync-client", NoRequests)?;
        let signal = Arc::new(ServiceSignal::default());
        let (sig, cl) = (Arc::clone(&signal), client.clone());
        let thread = std::thread::Builder::new()
            .name("slave-sync".into())
            .spawn(move || {
                while !sig.is_stopped() {
                    if let (Some(addr), Some(shared)) = (master(), shared.upgrade()) {
                        sync_all(&cl, &addr, &shared);
                    }
                    sig.wait(Duration::from_millis(interval_ms));
                }
            })?;
        Ok(SlaveSyncService {
            signal,
            client,
            thread: Some(thread),
            loop_thread: Some(loop_thread),
        })
    }

    /// Asks for a sync round now.
    pub fn wakeup(&self) {
        self.signal.wakeup();
    }

    /// Stops both threads. Idempotent.
    pub fn shutdown(&mut self) {
        self.signal.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.client.shutdown();
        if let Some(t) = self.loop_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SlaveSyncService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Fetches one table; `None` (logged) when the master does not answer SUCCESS.
fn fetch(client: &RemotingHandle, addr: &str, code: RequestCode) -> Option<Vec<u8>> {
    match client.invoke_sync(addr, RemotingCommand::request(code), SYNC_TIMEOUT_MS) {
        Ok(r) if r.code == ResponseCode::SUCCESS.code() => Some(r.body.to_vec()),
        Ok(r) => {
            log::warn!(
                "master {addr} answered {code:?} with {}: {:?}",
                r.code,
                r.remark
            );
            None
        }
        Err(e) => {
            log::warn!("slave sync {code:?} from master {addr} failed: {e}");
            None
        }
    }
}

/// One round: topics, consumer offsets, delay offsets, subscription groups.
pub fn sync_all(client: &RemotingHandle, addr: &str, shared: &BrokerShared) {
    if shared.is_master() {
        return;
    }
    if let Some(body) = fetch(client, addr, RequestCode::GET_ALL_TOPIC_CONFIG) {
        match TopicConfigSerializeWrapper::decode_body(&body) {
            Ok(w) => {
                if lock(&shared.topics).sync_from_master(w) {
                    log::info!("topic table synchronized from master {addr}");
                    shared.topics_changed();
                }
            }
            Err(e) => log::warn!("bad topic table from master {addr}: {e}"),
        }
    }
    if let Some(body) = fetch(client, addr, RequestCode::GET_ALL_CONSUMER_OFFSET) {
        match ConsumerOffsetSerializeWrapper::decode_body(&body) {
            Ok(w) => {
                lock(&shared.offsets).replace_table(w.offset_table);
                shared.mark_dirty(PERSIST_CONSUMER_OFFSETS);
            }
            Err(e) => log::warn!("bad consumer offsets from master {addr}: {e}"),
        }
    }
    if let Some(body) = fetch(client, addr, RequestCode::GET_ALL_DELAY_OFFSET) {
        save_delay_offsets(shared, &body);
    }
    if let Some(body) = fetch(client, addr, RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG) {
        match SubscriptionGroupWrapper::decode_body(&body) {
            Ok(w) => {
                if lock(&shared.groups).sync_from_master(w) {
                    shared.mark_dirty(PERSIST_SUBSCRIPTION_GROUPS);
                }
            }
            Err(e) => log::warn!("bad subscription groups from master {addr}: {e}"),
        }
    }
}

/// Writes the master's `delayOffset.json` when it is valid JSON and differs from ours.
fn save_delay_offsets(shared: &BrokerShared, body: &[u8]) {
    if serde_json::from_slice::<serde_json::Value>(body).is_err() {
        log::warn!("master sent a delay offset table that is not JSON; ignored");
        return;
    }
    let path = config_file_path(
        &shared.store.config().store_path_root_dir,
        DELAY_OFFSET_JSON,
    );
    if std::fs::read(&path).is_ok_and(|old| old == body) {
        return;
    }
    if let Err(e) = write_atomically(&path, body) {
        log::warn!("cannot write {}: {e}", path.display());
    }
}
