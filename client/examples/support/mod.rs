//! Shared by the examples: where the NameServer is, and how long a consumer example runs.
//!
//! Every example takes the NameServer address as its first argument (else `NAMESRV_ADDR`,
//! else `127.0.0.1:9876`) and the topic as its second. Consumer examples stop after
//! `RUN_SECS` seconds (default 60), or as soon as `EXPECT_MESSAGES` messages arrived; when
//! `EXPECT_MESSAGES` is set and not reached in time they exit with an error, which is how
//! `scripts/run-examples.sh` checks them.

#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The NameServer address, the topic (default `default_topic`) and any further arguments.
pub fn args(default_topic: &str) -> (String, String, Vec<String>) {
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args.next().unwrap_or_else(|| default_topic.to_string());
    (namesrv, topic, args.collect())
}

fn env_number(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.trim().parse().ok())
}

/// Counts what a listener received and lets `main` wait for it.
#[derive(Clone, Default)]
pub struct Received(Arc<(Mutex<usize>, Condvar)>);

impl Received {
    /// Adds `n` received messages.
    pub fn add(&self, n: usize) {
        let (count, cond) = &*self.0;
        *count.lock().unwrap_or_else(|p| p.into_inner()) += n;
        cond.notify_all();
    }

    /// Waits until `EXPECT_MESSAGES` messages arrived or `RUN_SECS` (default
    /// `default_secs`) passed. Returns the count, or an error when an expected count was
    /// not reached.
    pub fn wait(&self, default_secs: u64) -> Result<usize, client::Error> {
        let expect = env_number("EXPECT_MESSAGES").map(|n| n as usize);
        self.wait_for(expect, default_secs)
    }

    /// Waits until `expect` (if any) were counted or `RUN_SECS` (default `default_secs`)
    /// passed; an error when `expect` was not reached.
    pub fn wait_for(
        &self,
        expect: Option<usize>,
        default_secs: u64,
    ) -> Result<usize, client::Error> {
        let secs = env_number("RUN_SECS").unwrap_or(default_secs);
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (count, cond) = &*self.0;
        let mut got = count.lock().unwrap_or_else(|p| p.into_inner());
        while expect.is_none_or(|n| *got < n) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            got = cond
                .wait_timeout(got, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        match expect {
            Some(n) if *got < n => Err(client::Error::IllegalState(format!(
                "got {} of {n} expected in {secs} s",
                *got
            ))),
            _ => Ok(*got),
        }
    }
}
