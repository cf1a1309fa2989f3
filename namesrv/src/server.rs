//! The NameServer's event-loop shell: feeds requests to the [`NamesrvProcessor`], runs the
//! liveness scan on the loop's tick, and removes brokers whose connection closes.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;

use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::util::atomic_file::read_with_backup;
use protocol::RemotingCommand;

use crate::config::NamesrvConfig;
use crate::kv_config::KvConfig;
use crate::persist::Persister;
use crate::processor::NamesrvProcessor;
use crate::route_table::RemovedBroker;

struct NamesrvHandler {
    processor: NamesrvProcessor<ConnId>,
    scan_interval_ms: u64,
    next_scan_ms: u64,
}

impl NamesrvHandler {
    fn drop_brokers(&self, ctx: &mut Context<'_>, removed: Vec<RemovedBroker<ConnId>>, why: &str) {
        for broker in removed {
            log::info!(
                "broker {} of cluster {} removed: {why}",
                broker.broker_addr,
                broker.cluster
            );
            if let Some(conn) = broker.conn {
                ctx.close(conn);
            }
        }
    }
}

impl RequestHandler for NamesrvHandler {
    fn on_request(&mut self, ctx: &mut Context<'_>, conn: ConnId, req: RemotingCommand) -> Reply {
        let response = self.processor.process(&req, conn, ctx.now_ms());
        if req.is_oneway() {
            Reply::Nothing
        } else {
            Reply::Now(response)
        }
    }

    fn on_closed(&mut self, _ctx: &mut Context<'_>, conn: ConnId) {
        for broker in self.processor.routes_mut().on_connection_closed(conn) {
            log::info!(
                "broker {} of cluster {} removed: connection closed",
                broker.broker_addr,
                broker.cluster
            );
        }
    }

    fn on_tick(&mut self, ctx: &mut Context<'_>, now_ms: u64) {
        if now_ms < self.next_scan_ms {
            return;
        }
        self.next_scan_ms = now_ms + self.scan_interval_ms;
        let removed = self.processor.routes_mut().scan_not_active_brokers(now_ms);
        self.drop_brokers(ctx, removed, "no heartbeat within its timeout");
    }
}

/// A running NameServer. Dropping it shuts it down.
pub struct NamesrvServer {
    local_addr: SocketAddr,
    handle: RemotingHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
    persister: Persister,
}

fn load_kv(config: &NamesrvConfig) -> io::Result<KvConfig> {
    let path = &config.kv_config_path;
    match read_with_backup(path)? {
        None => Ok(KvConfig::default()),
        Some(bytes) => KvConfig::from_json(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "KV config file {} is corrupt ({e}); fix or remove it",
                    path.display()
                ),
            )
        }),
    }
}

impl NamesrvServer {
    /// Starts a NameServer on an already-bound listener (tests bind 127.0.0.1:0).
    pub fn start(config: NamesrvConfig, listener: TcpListener) -> io::Result<Self> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let local_addr = listener.local_addr()?;
        let kv = load_kv(&config)?;
        let persister = Persister::start()?;
        let sender = persister.sender();
        let kv_path = config.kv_config_path.clone();
        let remoting = RemotingConfig {
            max_frame_bytes: config.frame_max_length_bytes,
            idle_timeout_ms: config.server_channel_max_idle_time_secs * 1000,
            tick_interval_ms: config.scan_not_active_broker_interval_ms.min(1000),
            ..RemotingConfig::default()
        };
        let scan_interval_ms = config.scan_not_active_broker_interval_ms;
        let save = Box::new(move |bytes: Vec<u8>| sender.write(kv_path.clone(), bytes));
        let handler = NamesrvHandler {
            processor: NamesrvProcessor::new(config, kv, save),
            scan_interval_ms,
            next_scan_ms: 0,
        };
        let mut event_loop = EventLoop::new(remoting)?;
        event_loop.listen(listener)?;
        let handle = event_loop.handle();
        let thread = event_loop.spawn("namesrv-loop", handler)?;
        log::info!("NameServer listening on {local_addr}");
        Ok(NamesrvServer {
            local_addr,
            handle,
            thread: Some(thread),
            persister,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the event loop, then writes any pending KV change.
    pub fn shutdown(&mut self) -> io::Result<()> {
        self.handle.shutdown();
        let result = match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("namesrv event loop panicked"))?,
            None => Ok(()),
        };
        self.persister.shutdown();
        result
    }
}

impl Drop for NamesrvServer {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            log::error!("NameServer shutdown: {e}");
        }
    }
}
