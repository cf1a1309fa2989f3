//! A transactional producer: even-numbered orders commit, odd ones roll back, every fifth is
//! left unknown and resolved when the broker checks back (the check commits it). Exits once
//! every unknown order was checked, or after `RUN_SECS` (default 90) with an error.
//!
//! `cargo run -p client --example transaction -- 127.0.0.1:9876 [topic]`
//! (the broker checks after `transactionTimeOut`, every `transactionCheckInterval`).

mod support;

use std::collections::BTreeSet;
use std::sync::Mutex;

use client::{
    LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer,
};

struct Orders {
    checked: Mutex<BTreeSet<String>>,
    progress: support::Received,
}

fn order_number(body: &[u8]) -> u32 {
    String::from_utf8_lossy(body)
        .rsplit(' ')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl TransactionListener for Orders {
    fn execute_local(&self, msg: &Message) -> LocalTransactionState {
        match order_number(&msg.body) {
            n if n % 5 == 0 => LocalTransactionState::Unknown,
            n if n % 2 == 0 => LocalTransactionState::CommitMessage,
            _ => LocalTransactionState::RollbackMessage,
        }
    }

    fn check_local(&self, msg: &MessageExt) -> LocalTransactionState {
        let n = order_number(&msg.body);
        println!("broker asks about order {n} ({:?}): commit", msg.uniq_key());
        let first_time = self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(msg.uniq_key().unwrap_or_default().to_string());
        if first_time {
            self.progress.add(1);
        }
        LocalTransactionState::CommitMessage
    }
}

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TransactionTopic");
    let progress = support::Received::default();
    let orders = Orders {
        checked: Mutex::new(BTreeSet::new()),
        progress: progress.clone(),
    };
    let producer = TransactionProducer::builder("example-tx-producer", orders)
        .name_server(&namesrv)
        .start()?;
    let mut unknown = 0;
    for i in 1..=10 {
        let r = producer.send_in_transaction(Message::new(topic.as_str(), format!("order {i}")))?;
        println!("order {i}: {:?} {}", r.local_state, r.send_result.msg_id);
        if r.local_state == LocalTransactionState::Unknown {
            unknown += 1;
        }
    }
    println!("waiting for the broker to check {unknown} unknown transactions");
    let checked = progress.wait_for(Some(unknown), 90)?;
    println!("all {checked} unknown transactions checked");
    Ok(())
}
