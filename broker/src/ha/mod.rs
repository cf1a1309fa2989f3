//! Classic master/slave replication (RocketMQ `DefaultHAService` family) and the broker's
//! run-time role.
//!
//! | file | what it owns |
//! |---|---|
//! | [`wire`] | the HA byte protocol: 8-byte reports, 12-byte transfer headers |
//! | [`master`] | `HaService`: the `ha-master` thread (mio `Poll`), accepting slaves, streaming |
//! | [`slave_link`] | one slave connection's state machine on the master |
//! | [`group_transfer`] | `HaState`: acknowledgements, connected slaves, SYNC_MASTER waiters |
//! | [`client`] | `HaClient`: the slave's `ha-client` thread, appending the master's bytes |
//! | [`meta_sync`] | `SlaveSyncService`: topics, offsets, delay offsets, groups from the master |
//! | [`promote`] | `should_promote` and the optional `auto-promote` thread |
//!
//! [`HaRuntime`] (one per broker, in `BrokerShared`) holds the role and broker id as they are
//! now (a promoted slave differs from its boot configuration), the HA state, and the
//! role-dependent services so a promotion can stop the slave side and start the master side:
//! stop `ha-client`, `slave-sync` and `auto-promote` → drop a partial record and let the
//! dispatcher catch up → role master, id 0 → start delay delivery and transaction check →
//! unregister the old id from every NameServer and register as id 0. Protocol, threads and
//! failure cases: `docs/replication.md`.

pub mod client;
pub mod group_transfer;
pub mod master;
pub mod meta_sync;
pub mod promote;
pub mod slave_link;
pub mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use protocol::remoting::RemotingHandle;

use crate::config::{BrokerConfig, BrokerRole};
use crate::error::{Error, Result};
use crate::outer_api::{MasterAddrs, OuterApiService};
use crate::processor::{lock, wall_ms, BrokerShared, PERSIST_BROKER_CONFIG};
use crate::services::MessageServices;
use crate::transaction::CheckRequest;
use client::{HaClient, HaClientConfig, HaClientStatus};
use group_transfer::HaState;
use master::{HaMasterConfig, HaService};
use meta_sync::SlaveSyncService;
use promote::{AutoPromoteConfig, AutoPromoteService};

/// Longest wait for the dispatcher to catch up during a promotion.
const PROMOTE_DISPATCH_TIMEOUT: Duration = Duration::from_secs(30);

fn role_code(role: BrokerRole) -> u8 {
    match role {
        BrokerRole::AsyncMaster => 0,
        BrokerRole::SyncMaster => 1,
        BrokerRole::Slave => 2,
    }
}

fn role_of(code: u8) -> BrokerRole {
    match code {
        0 => BrokerRole::AsyncMaster,
        1 => BrokerRole::SyncMaster,
        _ => BrokerRole::Slave,
    }
}

/// The role-dependent services.
#[derive(Default)]
struct Parts {
    master: Option<HaService>,
    client: Option<HaClient>,
    meta_sync: Option<SlaveSyncService>,
    auto_promote: Option<AutoPromoteService>,
    services: Option<MessageServices>,
    outer_api: Option<OuterApiService>,
    check_tx: Option<Sender<CheckRequest>>,
    loop_handle: Option<RemotingHandle>,
    promote_thread: Option<JoinHandle<()>>,
}

/// The broker's run-time role and replication services. See the module docs.
pub struct HaRuntime {
    role: AtomicU8,
    broker_id: AtomicU64,
    state: Arc<HaState>,
    ha_addr: Mutex<Option<SocketAddr>>,
    parts: Mutex<Parts>,
    promoting: AtomicBool,
    stopped: AtomicBool,
}

impl std::fmt::Debug for HaRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaRuntime")
            .field("role", &self.role())
            .field("broker_id", &self.broker_id())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl HaRuntime {
    /// The boot role and id of `config`; no service runs yet.
    pub fn new(config: &BrokerConfig) -> Self {
        HaRuntime {
            role: AtomicU8::new(role_code(config.broker_role)),
            broker_id: AtomicU64::new(config.broker_id),
            state: Arc::new(HaState::default()),
            ha_addr: Mutex::new(None),
            parts: Mutex::new(Parts::default()),
            promoting: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }

    /// The role now.
    pub fn role(&self) -> BrokerRole {
        role_of(self.role.load(Ordering::Acquire))
    }

    /// Whether the broker is a master now.
    pub fn is_master(&self) -> bool {
        self.role() != BrokerRole::Slave
    }

    /// The broker id now (0 once promoted).
    pub fn broker_id(&self) -> u64 {
        self.broker_id.load(Ordering::Acquire)
    }

    /// Acknowledgements, connected slaves and SYNC_MASTER waiters (master side).
    pub fn state(&self) -> &Arc<HaState> {
        &self.state
    }

    /// The bound HA listen address.
    pub fn ha_addr(&self) -> Option<SocketAddr> {
        *lock(&self.ha_addr)
    }

    /// The slave side's link state (slaves only).
    pub fn client_status(&self) -> Option<Arc<HaClientStatus>> {
        lock(&self.parts)
            .client
            .as_ref()
            .map(|c| Arc::clone(c.status()))
    }

    /// The master's addresses learnt from NameServers (slaves).
    pub fn master_addrs(&self) -> MasterAddrs {
        lock(&self.parts)
            .outer_api
            .as_ref()
            .map(|o| o.master_addrs())
            .unwrap_or_default()
    }

    /// Whether a promotion is running.
    pub fn is_promoting(&self) -> bool {
        self.promoting.load(Ordering::Acquire)
    }

    /// Starts the `ha-master` thread on `listener` (every role).
    pub(crate) fn start_master_side(
        &self,
        listener: std::net::TcpListener,
        shared: &BrokerShared,
    ) -> Result<()> {
        let c = &shared.config;
        let config = HaMasterConfig {
            transfer_batch_bytes: c.ha_transfer_batch_bytes as u64,
            housekeeping_interval_ms: c.ha_housekeeping_interval_ms,
        };
        let service = HaService::start(
            listener,
            Arc::clone(&shared.store),
            config,
            Arc::clone(&self.state),
        )
        .map_err(|e| Error::io("start HA service", "ha-master", e))?;
        *lock(&self.ha_addr) = Some(service.local_addr());
        lock(&self.parts).master = Some(service);
        Ok(())
    }

    /// Starts delay delivery and transaction check (masters), remembering how to start them
    /// again after a promotion.
    pub(crate) fn start_message_services(
        &self,
        shared: &Arc<BrokerShared>,
        handle: RemotingHandle,
        check_tx: Sender<CheckRequest>,
    ) -> Result<()> {
        let services = MessageServices::start(shared, handle.clone(), check_tx.clone())?;
        let mut p = lock(&self.parts);
        p.services = Some(services);
        p.check_tx = Some(check_tx);
        p.loop_handle = Some(handle);
        Ok(())
    }

    /// Hands over the registration service.
    pub(crate) fn set_outer_api(&self, service: OuterApiService) {
        lock(&self.parts).outer_api = Some(service);
    }

    /// Starts the slave side (slaves only): HA client, metadata sync, auto-promotion.
    pub(crate) fn start_slave_side(&self, shared: &Arc<BrokerShared>) -> Result<()> {
        if self.is_master() {
            return Ok(());
        }
        let c = &shared.config;
        let cell = lock(&self.parts)
            .outer_api
            .as_ref()
            .map(|o| o.master_addrs_cell())
            .unwrap_or_default();
        let fixed = c.ha_master_address.clone();
        let ha_cell = Arc::clone(&cell);
        let source = Box::new(move || {
            fixed
                .clone()
                .or_else(|| lock(&ha_cell).ha_server_addr.clone())
        });
        let config = HaClientConfig {
            heartbeat_interval_ms: c.ha_send_heartbeat_interval_ms,
            housekeeping_interval_ms: c.ha_housekeeping_interval_ms,
            reconnect_interval_ms: c.ha_reconnect_interval_ms,
        };
        let io_err = |what: &str| {
            let what = what.to_owned();
            move |e| Error::io(format!("start {what}"), "ha", e)
        };
        let client = HaClient::start(Arc::clone(&shared.store), config, source)
            .map_err(io_err("HA client"))?;
        let status = Arc::clone(client.status());
        let meta_source = Box::new(move || lock(&cell).master_addr.clone());
        let meta = SlaveSyncService::start(
            Arc::downgrade(shared),
            c.slave_sync_metadata_interval_ms,
            meta_source,
        )
        .map_err(io_err("slave metadata sync"))?;
        let auto = self.start_auto_promote(shared, status)?;
        let mut p = lock(&self.parts);
        p.client = Some(client);
        p.meta_sync = Some(meta);
        p.auto_promote = auto;
        Ok(())
    }

    /// The `auto-promote` thread, when `enableAutoPromote` is on.
    fn start_auto_promote(
        &self,
        shared: &Arc<BrokerShared>,
        status: Arc<HaClientStatus>,
    ) -> Result<Option<AutoPromoteService>> {
        let c = &shared.config;
        if !c.enable_auto_promote {
            return Ok(None);
        }
        let weak = Arc::downgrade(shared);
        let config = AutoPromoteConfig {
            after_ms: c.auto_promote_after_ms,
            namesrv_addrs: c.namesrv_addrs(),
            broker_name: c.broker_name.clone(),
            broker_id: self.broker_id(),
        };
        let promote = Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                let role = BrokerRole::AsyncMaster;
                if let Err(e) = shared.ha.request_promotion(&shared, role) {
                    log::error!("automatic promotion failed to start: {e}");
                }
            }
        });
        AutoPromoteService::start(config, status, promote)
            .map(Some)
            .map_err(|e| Error::io("start auto-promote", "ha", e))
    }

    /// Applies a role change asked for at run time (UPDATE_BROKER_CONFIG): a slave becoming a
    /// master is promoted in the background (returns `true`); SYNC_MASTER ↔ ASYNC_MASTER on a
    /// master applies at once. A master cannot become a slave while running (`false`: after a
    /// restart).
    pub fn request_promotion(&self, shared: &Arc<BrokerShared>, role: BrokerRole) -> Result<bool> {
        if role == BrokerRole::Slave {
            return Ok(false);
        }
        if self.is_master() {
            self.role.store(role_code(role), Ordering::Release);
            return Ok(true);
        }
        if self.promoting.swap(true, Ordering::AcqRel) {
            return Ok(true);
        }
        let owner = Arc::clone(shared);
        let thread = std::thread::Builder::new()
            .name("promote".into())
            .spawn(move || {
                let ha = &owner.ha;
                if let Err(e) = ha.promote(&owner, role) {
                    log::error!("promotion to {} failed: {e}; staying a slave", role.name());
                    if let Err(e) = ha.start_slave_side(&owner) {
                        log::error!("cannot restart the slave side: {e}");
                    }
                }
                ha.promoting.store(false, Ordering::Release);
            })
            .map_err(|e| Error::io("start promotion", "promote", e))?;
        lock(&self.parts).promote_thread = Some(thread);
        Ok(true)
    }

    /// The promotion steps (module docs), on the `promote` thread.
    fn promote(&self, shared: &Arc<BrokerShared>, role: BrokerRole) -> Result<()> {
        log::warn!("promoting this slave to {}", role.name());
        let (client, meta, auto) = {
            let mut p = lock(&self.parts);
            (p.client.take(), p.meta_sync.take(), p.auto_promote.take())
        };
        drop((client, meta, auto)); // each stops and joins its threads
        if self.stopped.load(Ordering::Acquire) {
            return Ok(());
        }
        shared.store.prepare_for_writes(PROMOTE_DISPATCH_TIMEOUT)?;
        self.broker_id.store(0, Ordering::Release);
        self.role.store(role_code(role), Ordering::Release);
        let text = format!("brokerRole={}\nbrokerId=0\n", role.name());
        if let Err(e) = shared.live.update(&text, wall_ms() as i64) {
            log::warn!("cannot record the promotion in the configuration: {e}");
        }
        shared.mark_dirty(PERSIST_BROKER_CONFIG);
        let (handle, tx) = {
            let p = lock(&self.parts);
            (p.loop_handle.clone(), p.check_tx.clone())
        };
        if let (Some(handle), Some(tx)) = (handle, tx) {
            let services = MessageServices::start(shared, handle, tx)?;
            lock(&self.parts).services = Some(services);
        }
        let outer = lock(&self.parts).outer_api.take();
        if let Some(outer) = outer {
            let mut identity = outer.identity();
            identity.broker_id = 0;
            outer.change_identity(identity);
            lock(&self.parts).outer_api = Some(outer);
        }
        log::warn!(
            "promotion done: this broker is now {} with brokerId 0",
            role.name()
        );
        Ok(())
    }

    /// Unregisters from every NameServer (first step of a broker shutdown).
    pub(crate) fn shutdown_registration(&self) {
        self.stopped.store(true, Ordering::Release);
        let promote = lock(&self.parts).promote_thread.take();
        if let Some(t) = promote {
            let _ = t.join();
        }
        let outer = lock(&self.parts).outer_api.take();
        if let Some(mut outer) = outer {
            outer.shutdown();
        }
    }

    /// Stops every role service (slave side, message services, then the HA master side).
    pub(crate) fn shutdown_services(&self) {
        let mut parts = std::mem::take(&mut *lock(&self.parts));
        drop(parts.auto_promote.take());
        drop(parts.client.take());
        drop(parts.meta_sync.take());
        if let Some(mut s) = parts.services.take() {
            s.shutdown();
        }
        if let Some(mut m) = parts.master.take() {
            m.shutdown();
        }
    }
}
