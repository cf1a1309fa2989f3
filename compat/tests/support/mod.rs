//! Shared set-up for tests that drive rocketmq-client-rust: its client runtime (built the way
//! the crate's own examples build it) and a remoting client of ours for arranging state.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::RemotingCommand;
use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig};
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

/// The third-party client's runtime: owner, telemetry guard and client runtime.
pub struct TheirRuntime {
    owner: RuntimeOwner,
    client_runtime: Arc<ClientRuntime>,
    telemetry_guard: rocketmq_observability::TelemetryRuntimeGuard,
}

impl TheirRuntime {
    pub fn new(scope: &str) -> Self {
        // Their default blocking capacity is derived from the core count (2 here) and is too
        // small for a push consumer delivering on many queues at once; raise it.
        let config = RuntimeConfig {
            thread_name: format!("compat-{scope}"),
            ..Default::default()
        }
        .with_max_blocking_threads(64)
        .expect("blocking capacity");
        let owner = RuntimeOwner::plan(config)
            .expect("runtime config")
            .build()
            .expect("runtime");
        let telemetry_guard = rocketmq_observability::install_global(
            &rocketmq_observability::TelemetryBootstrapConfig::default(),
        )
        .expect("telemetry");
        let client_runtime = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig::default(),
            telemetry_guard.handle(),
        )
        .expect("client runtime");
        TheirRuntime {
            owner,
            client_runtime,
            telemetry_guard,
        }
    }

    pub fn client_runtime(&self) -> Arc<ClientRuntime> {
        Arc::clone(&self.client_runtime)
    }

    pub async fn shutdown(self) {
        let _ = self.client_runtime.shutdown().await;
        let _ = self.owner.shutdown_tasks().await;
        let _ = self.owner.shutdown_background();
        let _ = self.telemetry_guard.shutdown();
    }
}

struct Silent;
impl RequestHandler for Silent {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, _: RemotingCommand) -> Reply {
        Reply::Nothing
    }
}

/// A remoting client of ours (for registering brokers, creating topics, ...).
pub fn our_client() -> RemotingHandle {
    let event_loop = EventLoop::new(RemotingConfig::default()).expect("event loop");
    let handle = event_loop.handle();
    event_loop.spawn("compat-client", Silent).expect("spawn");
    handle
}

/// Polls `cond` until it holds or 20 s pass.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}
