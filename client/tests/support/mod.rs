//! Test support: a fake NameServer and fake brokers built on `protocol::remoting`, wired
//! together as a [`Cluster`]. Tests talk to the cluster only through `namesrv_addr()`,
//! `create_topic()` and the brokers' inspection methods, so the fakes can later be replaced
//! by the real NameServer and broker.

#![allow(dead_code)]

pub mod broker;
pub mod namesrv;
pub mod store;

use std::time::{Duration, Instant};

pub use broker::FakeBroker;
pub use namesrv::FakeNameServer;

/// A fake NameServer plus broker groups named `broker-a`, `broker-b`, ...
pub struct Cluster {
    pub brokers: Vec<FakeBroker>,
    pub namesrv: FakeNameServer,
}

impl Cluster {
    /// Starts a NameServer and `n` brokers.
    pub fn start(n: usize) -> Cluster {
        let namesrv = FakeNameServer::start();
        let brokers = (0..n)
            .map(|i| {
                let name = format!("broker-{}", (b'a' + i as u8) as char);
                FakeBroker::start(&name, namesrv.routes())
            })
            .collect();
        Cluster { brokers, namesrv }
    }

    pub fn namesrv_addr(&self) -> String {
        self.namesrv.addr()
    }

    /// Creates `topic` with `queues` queues on every broker.
    pub fn create_topic(&self, topic: &str, queues: i32) {
        for b in &self.brokers {
            b.state().create_topic(topic, queues, 6);
        }
    }

    /// Lets brokers auto-create topics sent with defaultTopic TBW102 (and publishes TBW102).
    pub fn enable_auto_create(&self) {
        for b in &self.brokers {
            let mut st = b.state();
            st.auto_create = true;
            st.create_topic("TBW102", 8, 7);
        }
    }

    /// Every stored message of `topic` across brokers.
    pub fn messages(&self, topic: &str) -> Vec<protocol::message::MessageExt> {
        self.brokers
            .iter()
            .flat_map(|b| b.messages(topic))
            .collect()
    }

    pub fn broker(&self, name: &str) -> &FakeBroker {
        self.brokers
            .iter()
            .find(|b| b.state().name == name)
            .expect("broker")
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Ten seconds: generous for loopback, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(10);

/// Routes logs to the test output when RUST_LOG is set.
pub fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}
