//! Automatic slave promotion (ferromq extension; RocketMQ's classic mode has none — operators
//! promote a slave with `updateBrokerConfig brokerRole=ASYNC_MASTER`). Off by default
//! (`enableAutoPromote=false`). The decision is the pure [`should_promote`]; the
//! `auto-promote` thread of [`AutoPromoteService`] feeds it from the HA client's link state and
//! the NameServers' GET_BROKER_CLUSTER_INFO (106), and calls the promotion callback once.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use protocol::body::{ClusterInfo, JsonBody};
use protocol::remoting::{EventLoop, RemotingConfig, RemotingHandle};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::client::HaClientStatus;
use super::meta_sync::NoRequests;
use crate::processor::wall_ms;
use crate::service_thread::ServiceSignal;

/// What the promotion decision looks at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromoteState {
    /// `enableAutoPromote`.
    pub enabled: bool,
    /// `autoPromoteAfterMs`: how long both conditions must hold.
    pub after_ms: u64,
    /// The broker is (still) a slave.
    pub is_slave: bool,
    /// The HA link to the master is open.
    pub ha_connected: bool,
    /// Wall ms since which the HA link is down.
    pub ha_down_since_ms: u64,
    /// Wall ms since which the NameServers list no master (id 0) for this brokerName; `None`
    /// while one is listed or no NameServer answers (no promotion without evidence).
    pub master_absent_since_ms: Option<u64>,
    /// This broker's id.
    pub my_broker_id: u64,
    /// Ids the NameServers list for this brokerName (this broker's included).
    pub live_broker_ids: Vec<u64>,
}

/// Whether a slave should promote itself now: enabled, still a slave, HA link down and no
/// master listed, both for at least `after_ms`, and no live slave of the brokerName with a
/// lower id (only the lowest-id slave promotes).
pub fn should_promote(state: &PromoteState, now_ms: u64) -> bool {
    let long_enough = |since: u64| now_ms.saturating_sub(since) >= state.after_ms;
    state.enabled
        && state.is_slave
        && !state.ha_connected
        && long_enough(state.ha_down_since_ms)
        && state.master_absent_since_ms.is_some_and(long_enough)
        && state
            .live_broker_ids
            .iter()
            .all(|&id| id == 0 || id >= state.my_broker_id)
}

/// Settings of the auto-promotion thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoPromoteConfig {
    /// `autoPromoteAfterMs`.
    pub after_ms: u64,
    /// NameServer addresses.
    pub namesrv_addrs: Vec<String>,
    /// This broker's `brokerName`.
    pub broker_name: String,
    /// This broker's `brokerId`.
    pub broker_id: u64,
}

/// The running `auto-promote` thread.
pub struct AutoPromoteService {
    signal: Arc<ServiceSignal>,
    client: RemotingHandle,
    thread: Option<JoinHandle<()>>,
    loop_thread: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for AutoPromoteService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoPromoteService").finish_non_exhaustive()
    }
}

/// The ids the first answering NameServer lists for `broker_name` (`None`: no answer).
fn listed_ids(client: &RemotingHandle, config: &AutoPromoteConfig) -> Option<Vec<u64>> {
    for addr in &config.namesrv_addrs {
        let req = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        match client.invoke_sync(addr, req, 3_000) {
            Ok(r) if r.code == ResponseCode::SUCCESS.code() => {
                let info = ClusterInfo::decode_body(&r.body).ok()?;
                let ids = info
                    .broker_addr_table
                    .get(&config.broker_name)
                    .map(|b| b.broker_addrs.keys().map(|&id| id.max(0) as u64).collect())
                    .unwrap_or_default();
                return Some(ids);
            }
            _ => continue,
        }
    }
    None
}

impl AutoPromoteService {
    /// Starts the thread; `promote` is called at most once.
    pub fn start(
        config: AutoPromoteConfig,
        ha: Arc<HaClientStatus>,
        promote: Box<dyn FnOnce() + Send>,
    ) -> io::Result<Self> {
        let event_loop = EventLoop::new(RemotingConfig::default())?;
        let client = event_loop.handle();
        let loop_thread = event_loop.spawn("auto-promote-client", NoRequests)?;
        let signal = Arc::new(ServiceSignal::default());
        let (sig, cl) = (Arc::clone(&signal), client.clone());
        let period = Duration::from_millis((config.after_ms / 4).clamp(50, 5_000));
        let thread = std::thread::Builder::new()
            .name("auto-promote".into())
            .spawn(move || {
                let mut absent_since = None;
                while !sig.is_stopped() {
                    let now = wall_ms();
                    let ids = listed_ids(&cl, &config);
                    absent_since = match &ids {
                        Some(ids) if !ids.contains(&0) => absent_since.or(Some(now)),
                        _ => None,
                    };
                    let state = PromoteState {
                        enabled: true,
                        after_ms: config.after_ms,
                        is_slave: true,
                        ha_connected: ha.is_connected(),
                        ha_down_since_ms: ha.down_since_ms(),
                        master_absent_since_ms: absent_since,
                        my_broker_id: config.broker_id,
                        live_broker_ids: ids.unwrap_or_default(),
                    };
                    if should_promote(&state, now) {
                        log::warn!("no master for {} ms: promoting this slave", config.after_ms);
                        promote();
                        return;
                    }
                    sig.wait(period);
                }
            })?;
        Ok(AutoPromoteService {
            signal,
            client,
            thread: Some(thread),
            loop_thread: Some(loop_thread),
        })
    }

    /// Stops the thread (returns at once when called from the thread itself). Idempotent.
    pub fn shutdown(&mut self) {
        self.signal.stop();
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        self.client.shutdown();
        if let Some(t) = self.loop_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AutoPromoteService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> PromoteState {
        PromoteState {
            enabled: true,
            after_ms: 30_000,
            is_slave: true,
            ha_connected: false,
            ha_down_since_ms: 1_000,
            master_absent_since_ms: Some(2_000),
            my_broker_id: 1,
            live_broker_ids: vec![1, 2],
        }
    }

    #[test]
    fn promotes_only_after_both_conditions_held_long_enough() {
        let s = state();
        assert!(
            !should_promote(&s, 31_999),
            "master absent for 29.999 s only"
        );
        assert!(should_promote(&s, 32_000));
        let mut late_down = s.clone();
        late_down.ha_down_since_ms = 10_000;
        assert!(!should_promote(&late_down, 32_000));
        assert!(should_promote(&late_down, 40_000));
    }

    #[test]
    fn never_promotes_when_disabled_connected_master_listed_or_not_lowest() {
        let now = 100_000;
        let cases: [fn(&mut PromoteState); 5] = [
            |s| s.enabled = false,
            |s| s.is_slave = false,
            |s| s.ha_connected = true,
            |s| s.master_absent_since_ms = None,
            |s| s.my_broker_id = 2,
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut s = state();
            change(&mut s);
            assert!(!should_promote(&s, now), "case {i}");
        }
        let mut alone = state();
        alone.live_broker_ids = vec![]; // the NameServer dropped us too: still the lowest
        assert!(should_promote(&alone, now));
    }
}
