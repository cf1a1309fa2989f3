//! The table of requests this side sent and awaits a response for: opaque → [`Pending`], each
//! with its connection, deadline and [`ResponseCallback`].
//!
//! Owned by the event loop; not thread-safe. Deadlines live in the loop's
//! [`TimerQueue`](super::timer::TimerQueue); this table only answers "is it still pending".

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::connection::ConnId;
use super::error::RemotingError;
use crate::command::RemotingCommand;

/// The boxed closure type that receives a response or the reason there is none.
pub(crate) type CallbackFn = Box<dyn FnOnce(Result<RemotingCommand, RemotingError>) + Send>;

/// A response callback that is called exactly once: with the response, with the failure, or —
/// if it is dropped unanswered (for example still queued when the loop shut down) — with
/// [`RemotingError::Shutdown`] on the thread that drops it.
pub(crate) struct ResponseCallback(Option<CallbackFn>);

impl ResponseCallback {
    pub(crate) fn new(
        f: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) -> Self {
        ResponseCallback(Some(Box::new(f)))
    }

    /// Runs the callback.
    pub(crate) fn complete(mut self, result: Result<RemotingCommand, RemotingError>) {
        if let Some(f) = self.0.take() {
            f(result);
        }
    }
}

impl Drop for ResponseCallback {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f(Err(RemotingError::Shutdown));
        }
    }
}

impl std::fmt::Debug for ResponseCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseCallback")
    }
}

/// One request awaiting its response.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The connection the request went out on; a response on another connection is ignored.
    pub(crate) conn: ConnId,
    /// Peer address, for error messages.
    pub(crate) addr: Arc<str>,
    pub(crate) timeout_ms: u64,
    pub(crate) deadline_ms: u64,
    pub(crate) callback: ResponseCallback,
}

impl Pending {
    pub(crate) fn complete(self, response: RemotingCommand) {
        self.callback.complete(Ok(response));
    }

    pub(crate) fn fail(self, error: RemotingError) {
        self.callback.complete(Err(error));
    }

    pub(crate) fn timeout_error(&self) -> RemotingError {
        RemotingError::Timeout {
            addr: self.addr.to_string(),
            timeout_ms: self.timeout_ms,
        }
    }
}

/// Opaques are small sequential integers: a multiplicative hash spreads them well and costs a
/// fraction of SipHash on this hot path.
#[derive(Default)]
pub(crate) struct OpaqueHasher(u64);

impl Hasher for OpaqueHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i32(&mut self, i: i32) {
        self.0 = u64::from(i as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// opaque → pending request.
#[derive(Debug, Default)]
pub(crate) struct PendingTable {
    map: HashMap<i32, Pending, BuildHasherDefault<OpaqueHasher>>,
}

impl PendingTable {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, opaque: i32) -> bool {
        self.map.contains_key(&opaque)
    }

    /// Registers a request; gives it back if the opaque is already in use.
    pub(crate) fn insert(&mut self, opaque: i32, pending: Pending) -> Result<(), Pending> {
        if self.map.contains_key(&opaque) {
            return Err(pending);
        }
        self.map.insert(opaque, pending);
        Ok(())
    }

    /// Takes the request a response with `opaque` arriving on `conn` answers.
    pub(crate) fn take_response(&mut self, opaque: i32, conn: ConnId) -> Option<Pending> {
        match self.map.get(&opaque) {
            Some(p) if p.conn == conn => self.map.remove(&opaque),
            _ => None,
        }
    }

    /// Takes the request if it is still pending and its deadline is `deadline_ms`.
    pub(crate) fn take_expired(&mut self, opaque: i32, deadline_ms: u64) -> Option<Pending> {
        match self.map.get(&opaque) {
            Some(p) if p.deadline_ms == deadline_ms => self.map.remove(&opaque),
            _ => None,
        }
    }

    /// True if `opaque` is pending with exactly this deadline (timer liveness check).
    pub(crate) fn is_live(&self, opaque: i32, deadline_ms: u64) -> bool {
        self.map
            .get(&opaque)
            .is_some_and(|p| p.deadline_ms == deadline_ms)
    }

    /// Takes every request sent on `conn`.
    pub(crate) fn take_for_conn(&mut self, conn: ConnId) -> Vec<Pending> {
        let opaques: Vec<i32> = self
            .map
            .iter()
            .filter(|(_, p)| p.conn == conn)
            .map(|(o, _)| *o)
            .collect();
        opaques
            .into_iter()
            .filter_map(|o| self.map.remove(&o))
            .collect()
    }

    /// Takes every request.
    pub(crate) fn take_all(&mut self) -> Vec<Pending> {
        self.map.drain().map(|(_, p)| p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn pending(conn: ConnId, deadline_ms: u64, tx: mpsc::Sender<String>) -> Pending {
        Pending {
            conn,
            addr: Arc::from("127.0.0.1:1"),
            timeout_ms: 10,
            deadline_ms,
            callback: ResponseCallback::new(move |r| {
                let _ = tx.send(match r {
                    Ok(c) => format!("ok {}", c.opaque),
                    Err(e) => e.to_string(),
                });
            }),
        }
    }

    #[test]
    fn responses_match_by_opaque_and_connection() {
        let (tx, rx) = mpsc::channel();
        let a = ConnId::new(1, 1);
        let b = ConnId::new(2, 2);
        let mut t = PendingTable::new();
        t.insert(7, pending(a, 100, tx.clone())).unwrap();
        assert!(t.insert(7, pending(a, 100, tx.clone())).is_err());
        assert!(t.take_response(7, b).is_none(), "wrong connection");
        assert!(!t.is_live(7, 99));
        assert!(t.is_live(7, 100));
        let p = t.take_response(7, a).unwrap();
        p.complete(RemotingCommand {
            opaque: 7,
            ..Default::default()
        });
        // The duplicate insert above handed back a callback, which reported Shutdown on drop.
        assert_eq!(rx.recv().unwrap(), RemotingError::Shutdown.to_string());
        assert_eq!(rx.recv().unwrap(), "ok 7");
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn expiry_and_connection_failure() {
        let (tx, rx) = mpsc::channel();
        let a = ConnId::new(1, 1);
        let mut t = PendingTable::new();
        t.insert(1, pending(a, 50, tx.clone())).unwrap();
        t.insert(2, pending(a, 60, tx.clone())).unwrap();
        assert!(t.take_expired(1, 49).is_none());
        let p = t.take_expired(1, 50).unwrap();
        let err = p.timeout_error();
        p.fail(err);
        assert!(rx.recv().unwrap().contains("within 10 ms"));
        let rest = t.take_for_conn(a);
        assert_eq!(rest.len(), 1);
        assert!(!t.contains(2));
    }
}
