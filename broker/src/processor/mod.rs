//! The broker's request handler: the [`RequestHandler`] run by the remoting event loop, which
//! routes each request code to its processor file (RocketMQ's processor table).
//!
//! | file | request codes |
//! |---|---|
//! | [`send_message`] (+ [`send_rewrite`]) | SEND_MESSAGE 10, SEND_MESSAGE_V2 310, SEND_BATCH_MESSAGE 320 |
//! | [`pull_message`] (+ [`pull_hold`]) | PULL_MESSAGE 11, LITE_PULL_MESSAGE 361 |
//! | [`client_manage`] | HEART_BEAT 34, UNREGISTER_CLIENT 35 |
//! | [`consumer_manage`] | GET_CONSUMER_LIST_BY_GROUP 38, QUERY/UPDATE_CONSUMER_OFFSET 14/15, GET_MIN/MAX_OFFSET 31/30, SEARCH_OFFSET_BY_TIMESTAMP 29, GET_EARLIEST_MSG_STORETIME 32 |
//! | [`query_message`] | QUERY_MESSAGE 12, VIEW_MESSAGE_BY_ID 33 |
//! | [`lock_batch`] | LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42 |
//! | [`consumer_admin`] | connections 203/204/328, CHECK_CLIENT_CONFIG 46, who consumes 300/343, calls to consumers 307/223 |
//! | [`offset_admin`] | slave sync 43/45, offset reset 222, time span 303, clone 314, correction 308 |
//! | [`admin`] | topics 17/18/215/21/351/22/23/305, subscription groups 200/207/352/201 |
//! | [`admin_stats`] | statistics 202/208/317/28/315, QUERY_CONSUME_QUEUE 321 |
//! | [`admin_broker`] | broker config 26/25, file cleaning 27/329/306/316 |
//! | [`admin_runtime`] | the GET_BROKER_RUNTIME_INFO table |
//! | [`flow_control`] | SYSTEM_BUSY for sends while the store is congested |
//! | [`deferred_reply`] | send replies deferred until SYNC_FLUSH durability / SYNC_MASTER slave ack |
//! | [`transfer`] | stored records as sendfile regions or a heap body (pull, query, view) |
//! | [`back_and_tx`] | CONSUMER_SEND_MSG_BACK 36, END_TRANSACTION 37; forwards CHECK_TRANSACTION_STATE 39 |
//!
//! Ownership: [`BrokerHandler`] is owned by the loop thread and keeps the loop-local tables
//! (consumers, producers, queue locks, parked pulls). [`BrokerShared`] is what service threads
//! see too (store, topic/offset/group tables behind short mutexes, the triggers of the persist
//! and registration services). Nothing here blocks: table writes go to the `persist` thread,
//! sync-flush and sync-master replies are sent by the flush and `ha-master` threads through a [`RemotingHandle`].
//!
//! Rules applied to every request: an unknown code gets REQUEST_CODE_NOT_SUPPORTED with remark
//! `" request type <code> not supported"`; a header that does not decode gets SYSTEM_ERROR with
//! the decoder's text; a one-way request is never answered. New processors plug in at
//! `BrokerHandler::dispatch` (core codes) or as a family in its `FAMILIES` table.

pub mod admin;
pub mod admin_broker;
pub mod admin_runtime;
pub mod admin_stats;
pub mod back_and_tx;
pub mod client_manage;
pub mod consumer_admin;
pub mod consumer_manage;
pub mod deferred_reply;
pub mod flow_control;
pub mod lock_batch;
pub mod offset_admin;
pub mod pull_hold;
pub mod pull_message;
pub mod query_message;
pub mod send_message;
pub mod send_rewrite;
pub mod transfer;
pub(crate) mod turn_commit;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use protocol::body::SubscriptionGroupConfig;
use protocol::header::CommandHeader;
use protocol::message::UniqIdGenerator;
use protocol::remoting::{ConnId, Context, RemotingHandle, Reply, RequestHandler};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::config::BrokerConfig;
use crate::live_config::LiveConfig;
use crate::manager::{
    ConsumerManager, ConsumerOffsetManager, ProducerManager, RebalanceLockManager,
    SubscriptionGroupManager, TopicConfigManager,
};
use crate::outer_api::RegisterTrigger;
use crate::persist::PersistTrigger;
use crate::stats::{BrokerCounters, StatsItemSet, TpsSampler};
use crate::store::MessageStore;
use pull_hold::PullHoldTable;

/// Persist job name of the topic table.
pub const PERSIST_TOPICS: &str = "topics";
/// Persist job name of the consumer offsets.
pub const PERSIST_CONSUMER_OFFSETS: &str = "consumerOffset";
/// Persist job name of the subscription groups.
pub const PERSIST_SUBSCRIPTION_GROUPS: &str = "subscriptionGroup";
/// Persist job name of the `broker.conf` write-back (UPDATE_BROKER_CONFIG).
pub const PERSIST_BROKER_CONFIG: &str = "brokerConfig";
/// Java's default `traceOn`: sent as `TRACE_ON` in every send response.
pub const TRACE_ON: bool = true;
/// How often parked pulls are re-checked against the store even without an arrival signal.
const HOLD_RECHECK_INTERVAL_MS: u64 = 5_000;
/// How often expired queue locks are purged and idle clients scanned (at most; a shorter
/// `clientChannelExpiredTime` scans twice per expiry time).
const LOCK_PURGE_INTERVAL_MS: u64 = 10_000;
/// How often the statistics are sampled.
const STATS_SAMPLE_INTERVAL_MS: u64 = 1_000;

/// What a processor returns: a reply, or an error response to send now.
pub type Outcome = Result<Reply, RemotingCommand>;

/// A message arrival reported by the store's dispatcher: `(topic, queue_id, max_offset)`.
pub type Arrival = (String, i32, i64);

/// State shared by the event loop and the broker's service threads.
pub struct BrokerShared {
    /// The boot configuration (immutable while running; see `live` for what changes, and `ha`
    /// for the role and broker id now).
    pub config: BrokerConfig,
    /// Run-time role, broker id and the replication services.
    pub ha: crate::ha::HaRuntime,
    /// The values UPDATE_BROKER_CONFIG changes at run time, and the effective configuration.
    pub live: LiveConfig,
    /// Message counters (relaxed atomics, bumped per message).
    pub counters: BrokerCounters,
    /// Sends whose reply waits for a SYNC_FLUSH group commit (flow control).
    pub sends_awaiting_flush: AtomicUsize,
    /// When the broker started, ms since the epoch.
    pub boot_ms: u64,
    /// The message store.
    pub store: Arc<MessageStore>,
    /// `brokerIP1:listenPort`: STOREHOST of every record and the address in offset msgIds.
    pub store_host: SocketAddr,
    /// Number of delay levels of the store (`messageDelayLevel`); higher levels are clamped.
    pub max_delay_level: i32,
    /// The topic table.
    pub topics: Mutex<TopicConfigManager>,
    /// Committed consumer offsets.
    pub offsets: Mutex<ConsumerOffsetManager>,
    /// Consumer group settings.
    pub groups: Mutex<SubscriptionGroupManager>,
    /// UNIQ_KEYs for messages that arrive without one.
    pub uniq_ids: UniqIdGenerator,
    /// Set once the registration service runs.
    pub register_trigger: OnceLock<RegisterTrigger>,
    /// Set once the persist service runs.
    pub persist_trigger: OnceLock<PersistTrigger>,
}

impl std::fmt::Debug for BrokerShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerShared")
            .field("store_host", &self.store_host)
            .finish_non_exhaustive()
    }
}

/// Locks a table mutex; a poisoned lock (a panic elsewhere) still yields the table.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wall-clock milliseconds: the managers stamp data versions and heartbeats with it.
pub fn wall_ms() -> u64 {
    protocol::util::clock::now_millis()
}

impl BrokerShared {
    /// A topic was created, updated or deleted: persist the table and re-register with every
    /// NameServer now.
    pub fn topics_changed(&self) {
        self.mark_dirty(PERSIST_TOPICS);
        if let Some(t) = self.register_trigger.get() {
            t.request();
        }
    }

    /// Runs `f` on the topic table; if it changed the table (its data version moved), persists
    /// it and re-registers.
    pub fn change_topics<R>(&self, f: impl FnOnce(&mut TopicConfigManager) -> R) -> R {
        let mut topics = lock(&self.topics);
        let before = topics.data_version();
        let result = f(&mut topics);
        let changed = topics.data_version() != before;
        drop(topics);
        if changed {
            self.topics_changed();
        }
        result
    }

    /// The settings of consumer group `group`, auto-creating it (and persisting the table)
    /// when `autoCreateSubscriptionGroup` allows; `None` if it does not exist.
    pub fn find_or_create_group(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        let auto_create = self.live.auto_create_subscription_group();
        let mut groups = lock(&self.groups);
        let existed = groups.contains(group);
        let found = groups
            .find_or_auto_create(group, auto_create, wall_ms())
            .cloned();
        drop(groups);
        if !existed && found.is_some() {
            self.mark_dirty(PERSIST_SUBSCRIPTION_GROUPS);
        }
        found
    }

    /// Asks the persist thread to save table `name` soon.
    pub fn mark_dirty(&self, name: &str) {
        if let Some(t) = self.persist_trigger.get() {
            t.mark_dirty(name);
        }
    }

    /// Whether this broker is a master now (a promoted slave is).
    pub fn is_master(&self) -> bool {
        self.ha.is_master()
    }

    /// The effective `brokerPermission`.
    pub fn broker_permission(&self) -> i32 {
        self.live.broker_permission()
    }
}

/// The broker's [`RequestHandler`]; see the module docs.
pub struct BrokerHandler {
    pub(crate) shared: Arc<BrokerShared>,
    pub(crate) consumers: ConsumerManager<ConnId>,
    pub(crate) producers: ProducerManager<ConnId>,
    pub(crate) locks: RebalanceLockManager,
    pub(crate) holds: PullHoldTable<ConnId, RemotingCommand>,
    arrivals: Receiver<Arrival>,
    /// Check-back requests from the transaction check service, sent on to producers.
    pub(crate) checks: Receiver<crate::transaction::CheckRequest>,
    /// Round-robin counter for choosing the producer channel of a check-back.
    pub(crate) check_counter: u64,
    /// Answers deferred replies from other threads (sync flush).
    pub(crate) handle: RemotingHandle,
    random: u64,
    next_hold_recheck_ms: u64,
    next_lock_purge_ms: u64,
    next_client_scan_ms: u64,
    next_stats_sample_ms: u64,
    /// Sliding TPS windows and day snapshots of the counters (GET_BROKER_RUNTIME_INFO).
    pub(crate) tps: TpsSampler,
    /// Named stats items (VIEW_BROKER_STATS_DATA, topic and consume TPS).
    pub(crate) stats: StatsItemSet,
    /// `topic@group` → queue → next offset of the group's last successful pull (the
    /// `pullOffset` of GET_CONSUME_STATS; memory only, as in RocketMQ).
    pub(crate) pull_offsets: HashMap<String, BTreeMap<i32, i64>>,
    /// Sends staged this turn, committed and answered at its end.
    pub(crate) turn_puts: turn_commit::TurnPuts,
}

impl BrokerHandler {
    /// A handler over `shared`; `holds` must be the table whose waiting counter the store's
    /// arriving listener reads, `arrivals` the receiving end of that listener's channel.
    pub fn new(
        shared: Arc<BrokerShared>,
        holds: PullHoldTable<ConnId, RemotingCommand>,
        arrivals: Receiver<Arrival>,
        checks: Receiver<crate::transaction::CheckRequest>,
        handle: RemotingHandle,
    ) -> Self {
        let lock_ttl = shared.config.rebalance_lock_max_live_time_ms;
        let mut handler = BrokerHandler {
            shared,
            consumers: ConsumerManager::new(),
            producers: ProducerManager::new(),
            locks: RebalanceLockManager::new(lock_ttl),
            holds,
            arrivals,
            checks,
            check_counter: 0,
            handle,
            random: wall_ms() | 1,
            next_hold_recheck_ms: 0,
            next_lock_purge_ms: 0,
            next_client_scan_ms: 0,
            next_stats_sample_ms: 0,
            tps: TpsSampler::new(),
            stats: StatsItemSet::new(),
            pull_offsets: HashMap::new(),
            turn_puts: Default::default(),
        };
        // The boot sample: rates are measured from here until the windows fill.
        handler.sample_stats();
        handler
    }

    /// A pseudo-random number below `bound` (> 0) for queue selection (xorshift; not crypto).
    pub(crate) fn random_below(&mut self, bound: i32) -> i32 {
        let mut x = self.random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random = x;
        // Fits: the remainder is below `bound`, an i32.
        (x % u64::from(bound.max(1).unsigned_abs())) as i32
    }

    /// The processor table: request code → processor. New processors are added here (the
    /// core codes below, the admin families through [`FAMILIES`]).
    fn dispatch(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Outcome {
        use RequestCode as C;
        let Some(code) = request.request_code() else {
            return Err(not_supported(&request));
        };
        match code {
            C::SEND_MESSAGE | C::SEND_MESSAGE_V2 | C::SEND_BATCH_MESSAGE => {
                flow_control::check_send(&self.shared, &request)?;
                send_message::process(self, ctx, conn, &request)
            }
            C::PULL_MESSAGE | C::LITE_PULL_MESSAGE => {
                pull_message::process(self, ctx, conn, request)
            }
            C::HEART_BEAT => client_manage::heartbeat(self, ctx, conn, &request),
            C::UNREGISTER_CLIENT => client_manage::unregister_client(self, ctx, conn, &request),
            C::CONSUMER_SEND_MSG_BACK => back_and_tx::send_back(self, conn, &request),
            C::END_TRANSACTION => back_and_tx::end_tx(self, conn, &request),
            _ => FAMILIES
                .iter()
                .find_map(|family| family(self, ctx, conn, code, &request))
                .unwrap_or_else(|| Err(not_supported(&request))),
        }
    }

    /// The next offsets of `group`'s last pulls on `topic`, by queue.
    pub(crate) fn pull_offsets_of(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.pull_offsets
            .get(&format!("{topic}@{group}"))
            .cloned()
            .unwrap_or_default()
    }

    /// Samples the counters into the TPS windows and the stats items.
    fn sample_stats(&mut self) {
        let now = wall_ms();
        let utc_offset_ms = i64::from(self.shared.store.utc_offset_secs()) * 1_000;
        let day = (now as i64 + utc_offset_ms).div_euclid(86_400_000);
        self.tps.sample(now, day, self.shared.counters.snapshot());
        self.stats.sample(now);
    }

    /// Drains the arrival channel and answers the parked pulls that can now read something.
    fn release_arrived(&mut self, ctx: &mut Context<'_>) {
        while let Ok((topic, queue_id, max_offset)) = self.arrivals.try_recv() {
            for held in self.holds.take_arrived(&topic, queue_id, max_offset) {
                pull_message::answer_held(self, ctx, held);
            }
        }
    }

    /// Safety net for lost signals (and the only check when long polling is off): compares
    /// every watched queue with the store's max offset.
    fn recheck_holds(&mut self, ctx: &mut Context<'_>) {
        for (topic, queue_id, _) in self.holds.watched_queues() {
            let max = self.shared.store.max_offset_in_queue(&topic, queue_id);
            for held in self.holds.take_arrived(&topic, queue_id, max) {
                pull_message::answer_held(self, ctx, held);
            }
        }
    }
}

/// A request family: answers the codes it owns (`Some`), ignores the others (`None`).
type Family = fn(
    &mut BrokerHandler,
    &mut Context<'_>,
    ConnId,
    RequestCode,
    &RemotingCommand,
) -> Option<Outcome>;

/// The request families tried, in order, for codes the core table does not own.
const FAMILIES: [Family; 8] = [
    consumer_manage::handle,
    query_message::handle,
    lock_batch::handle,
    consumer_admin::handle,
    offset_admin::handle,
    admin::handle,
    admin_stats::handle,
    admin_broker::handle,
];

/// REQUEST_CODE_NOT_SUPPORTED with RocketMQ's remark.
fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    error(
        request,
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {} not supported", request.code),
    )
}

/// A plain SUCCESS response to `request`.
pub fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS)
}

/// Whether replies to puts wait for the flush (SYNC_FLUSH).
pub(crate) fn is_sync_flush(shared: &BrokerShared) -> bool {
    shared.store.config().flush_disk_type == crate::store::FlushDiskType::SyncFlush
}

/// An error response to `request` with `remark`.
pub fn error(
    request: &RemotingCommand,
    code: ResponseCode,
    remark: impl Into<String>,
) -> RemotingCommand {
    RemotingCommand::error_response(request, code, remark)
}

/// Decodes a typed header; a failure becomes SYSTEM_ERROR with the decoder's text.
pub fn decode<H: CommandHeader>(request: &RemotingCommand) -> Result<H, RemotingCommand> {
    request
        .decode_header::<H>()
        .map_err(|e| error(request, ResponseCode::SYSTEM_ERROR, e.to_string()))
}

impl RequestHandler for BrokerHandler {
    fn on_request(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        let oneway = request.is_oneway();
        let code = request.code;
        let reply = match self.dispatch(ctx, conn, request) {
            Ok(reply) => reply,
            Err(response) => {
                log::debug!("request {code} from {conn} failed: {:?}", response.remark);
                Reply::Now(response)
            }
        };
        if oneway {
            Reply::Nothing
        } else {
            reply
        }
    }

    fn on_closed(&mut self, ctx: &mut Context<'_>, conn: ConnId) {
        let dropped = self.holds.remove_conn(conn);
        if dropped > 0 {
            log::debug!("{conn} closed: dropped {dropped} parked pulls");
        }
        client_manage::on_connection_closed(self, ctx, conn);
    }

    fn on_tick(&mut self, ctx: &mut Context<'_>, now_ms: u64) {
        for (_, _, held) in self.holds.take_expired(now_ms) {
            pull_message::answer_held(self, ctx, held);
        }
        let recheck_ms = if self.shared.config.long_polling_enable {
            HOLD_RECHECK_INTERVAL_MS
        } else {
            self.shared.config.short_polling_time_ms
        };
        if now_ms >= self.next_hold_recheck_ms {
            self.next_hold_recheck_ms = now_ms + recheck_ms;
            if !self.holds.is_empty() {
                self.recheck_holds(ctx);
            }
        }
        if now_ms >= self.next_lock_purge_ms {
            self.next_lock_purge_ms = now_ms + LOCK_PURGE_INTERVAL_MS;
            self.locks.remove_expired(wall_ms());
        }
        if now_ms >= self.next_client_scan_ms {
            let expiry_ms = self.shared.config.client_channel_expired_time_ms;
            self.next_client_scan_ms = now_ms + (expiry_ms / 2).clamp(1, LOCK_PURGE_INTERVAL_MS);
            client_manage::scan_not_active(self, ctx);
        }
        if now_ms >= self.next_stats_sample_ms {
            self.next_stats_sample_ms = now_ms + STATS_SAMPLE_INTERVAL_MS;
            self.sample_stats();
        }
    }

    fn on_wake(&mut self, ctx: &mut Context<'_>) {
        self.release_arrived(ctx);
        back_and_tx::forward_checks(self, ctx);
    }

    fn on_turn_end(&mut self, ctx: &mut Context<'_>) {
        if self.turn_puts.is_empty() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        self.turn_puts.commit(&shared, &self.handle, ctx);
    }
}
