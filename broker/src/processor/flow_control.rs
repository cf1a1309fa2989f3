//! Flow control of sends (RocketMQ `rejectRequest` + `isOSPageCacheBusy`): rather than
//! queueing without bound, a send is answered SYSTEM_BUSY with
//! `"[REJECTREQUEST]system busy, start flow control for a while"` while
//!
//! * another thread has held the commitlog append lock longer than
//!   `osPageCacheBusyTimeOutMills` (the page cache is stuck), or
//! * `maxSendsAwaitingFlush` earlier sends still wait for their SYNC_FLUSH group commit (the
//!   disk does not keep up; each waiting send holds its reply and the client's request).
//!
//! A store that refuses writes (disk full, failed flush) is not flow control: the send goes
//! on and gets SERVICE_NOT_AVAILABLE from the store, as in RocketMQ. The decision is the pure
//! [`busy_reason`]; [`check_send`] applies it to a request. Pulls and admin requests are never
//! throttled.

use std::sync::atomic::Ordering;

use protocol::{RemotingCommand, ResponseCode};

use super::{error, BrokerShared};

/// The remark of a send refused by flow control (RocketMQ's wording, which clients match).
pub const SYSTEM_BUSY_REMARK: &str = "[REJECTREQUEST]system busy, start flow control for a while";

/// What the store and the loop report right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Congestion {
    /// How long the current append has held the append lock, ms (0 when free).
    pub lock_held_ms: u64,
    /// Sends whose reply waits for a group commit.
    pub sends_awaiting_flush: usize,
}

/// The configured thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `osPageCacheBusyTimeOutMills`.
    pub os_page_cache_busy_timeout_ms: u64,
    /// `maxSendsAwaitingFlush`.
    pub max_sends_awaiting_flush: usize,
}

/// Why a send must be refused now, if it must.
pub fn busy_reason(now: Congestion, limits: Limits) -> Option<&'static str> {
    if now.lock_held_ms > limits.os_page_cache_busy_timeout_ms {
        Some("os page cache busy")
    } else if now.sends_awaiting_flush >= limits.max_sends_awaiting_flush {
        Some("too many sends wait for the disk flush")
    } else {
        None
    }
}

/// SYSTEM_BUSY for `request` when the broker is congested.
pub fn check_send(shared: &BrokerShared, request: &RemotingCommand) -> Result<(), RemotingCommand> {
    let now = Congestion {
        lock_held_ms: shared.store.commit_log().lock_held_ms(),
        sends_awaiting_flush: shared.sends_awaiting_flush.load(Ordering::Relaxed),
    };
    let limits = Limits {
        os_page_cache_busy_timeout_ms: shared.config.os_page_cache_busy_timeout_ms,
        max_sends_awaiting_flush: shared.config.max_sends_awaiting_flush,
    };
    match busy_reason(now, limits) {
        None => Ok(()),
        Some(reason) => {
            log::warn!("send refused by flow control: {reason} ({now:?})");
            Err(error(
                request,
                ResponseCode::SYSTEM_BUSY,
                SYSTEM_BUSY_REMARK,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let limits = Limits {
            os_page_cache_busy_timeout_ms: 1_000,
            max_sends_awaiting_flush: 2,
        };
        let calm = Congestion::default();
        assert_eq!(busy_reason(calm, limits), None);
        let held = Congestion {
            lock_held_ms: 1_001,
            ..calm
        };
        assert!(busy_reason(held, limits).is_some());
        let at_limit = Congestion {
            lock_held_ms: 1_000,
            sends_awaiting_flush: 2,
        };
        assert!(busy_reason(at_limit, limits).is_some());
        let below = Congestion {
            sends_awaiting_flush: 1,
            ..at_limit
        };
        assert_eq!(busy_reason(below, limits), None);
    }
}
