//! Queue selection for ordered sends: [`MessageQueueSelector`] (implemented by closures) and
//! the stock selectors [`SelectByHash`] (a sharding key) and [`SelectQueue`] (a given queue).

use protocol::body::MessageQueue;
use protocol::message::{java_hash_code, Message};

use crate::error::{Error, Result};

/// Picks the queue of a message among the topic's writable queues (broker groups in name
/// order, queue ids ascending). Returns an index into `queues`, or `None` to refuse.
///
/// Any `Fn(&[MessageQueue], &Message) -> Option<usize>` is a selector:
/// ```
/// use client::producer::MessageQueueSelector;
/// let by_tag = |queues: &[client::MessageQueue], msg: &client::Message| {
///     Some(usize::from(msg.tags() == Some("vip")) % queues.len().max(1))
/// };
/// fn takes(_: &dyn MessageQueueSelector) {}
/// takes(&by_tag);
/// ```
pub trait MessageQueueSelector: Send + Sync {
    /// The index of the chosen queue.
    fn select(&self, queues: &[MessageQueue], msg: &Message) -> Option<usize>;
}

impl<F> MessageQueueSelector for F
where
    F: Fn(&[MessageQueue], &Message) -> Option<usize> + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message) -> Option<usize> {
        self(queues, msg)
    }
}

/// Chooses by the Java hash of a sharding key, exactly like Java's
/// `SelectMessageQueueByHash` with a `String` argument, so Java and Rust producers of the
/// same topic put a key on the same queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectByHash {
    key: String,
}

impl SelectByHash {
    /// A selector for `key`.
    pub fn new(key: impl Into<String>) -> Self {
        SelectByHash { key: key.into() }
    }

    /// The index chosen among `n` queues (`None` when `n` is 0).
    pub fn index(&self, n: usize) -> Option<usize> {
        let n = i32::try_from(n).ok().filter(|n| *n > 0)?;
        let value = java_hash_code(&self.key) % n;
        Some(value.unsigned_abs() as usize)
    }
}

impl MessageQueueSelector for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message) -> Option<usize> {
        self.index(queues.len())
    }
}

/// Chooses one given queue (by broker name and queue id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectQueue {
    queue: MessageQueue,
}

impl SelectQueue {
    /// A selector of `queue`.
    pub fn new(queue: MessageQueue) -> Self {
        SelectQueue { queue }
    }
}

impl MessageQueueSelector for SelectQueue {
    fn select(&self, queues: &[MessageQueue], _msg: &Message) -> Option<usize> {
        queues.iter().position(|q| {
            q.broker_name == self.queue.broker_name && q.queue_id == self.queue.queue_id
        })
    }
}

/// Runs `selector` and checks its answer.
pub(crate) fn select_from(
    selector: &dyn MessageQueueSelector,
    queues: &[MessageQueue],
    msg: &Message,
) -> Result<MessageQueue> {
    selector
        .select(queues, msg)
        .and_then(|i| queues.get(i))
        .cloned()
        .ok_or_else(|| {
            Error::InvalidMessage(format!(
                "the selector chose no queue among {} of topic {}",
                queues.len(),
                msg.topic
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    #[test]
    fn hash_selector_matches_java() {
        // "TagA".hashCode() = 2598919; 2598919 % 4 = 3.
        assert_eq!(SelectByHash::new("TagA").index(4), Some(3));
        // "polygenelubricants".hashCode() = Integer.MIN_VALUE; MIN % 3 = -2 → abs 2.
        assert_eq!(SelectByHash::new("polygenelubricants").index(3), Some(2));
        assert_eq!(SelectByHash::new("x").index(0), None);
        let msg = Message::new("T", "b");
        for key in ["order-1", "order-2", "", "订单"] {
            let s = SelectByHash::new(key);
            let first = select_from(&s, &queues(8), &msg).unwrap();
            for _ in 0..5 {
                assert_eq!(select_from(&s, &queues(8), &msg).unwrap(), first);
            }
        }
    }

    #[test]
    fn queue_and_closure_selectors() {
        let msg = Message::new("T", "b");
        let s = SelectQueue::new(MessageQueue::new("T", "b", 2));
        assert_eq!(select_from(&s, &queues(4), &msg).unwrap().queue_id, 2);
        assert!(select_from(&s, &queues(2), &msg).is_err());
        let last = |qs: &[MessageQueue], _: &Message| qs.len().checked_sub(1);
        assert_eq!(select_from(&last, &queues(3), &msg).unwrap().queue_id, 2);
        let out_of_range = |_: &[MessageQueue], _: &Message| Some(99);
        assert!(select_from(&out_of_range, &queues(3), &msg).is_err());
    }
}
