//! A transactional producer: even-numbered orders commit, odd ones roll back, every fifth is
//! left unknown and resolved when the broker checks back (the check commits it).
//!
//! `cargo run -p client --example transaction -- 127.0.0.1:9876 [topic]`

use std::time::Duration;

use client::{
    LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer,
};

struct Orders;

impl TransactionListener for Orders {
    fn execute_local(&self, msg: &Message) -> LocalTransactionState {
        let n: u32 = String::from_utf8_lossy(&msg.body)
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        match n {
            n if n % 5 == 0 => LocalTransactionState::Unknown,
            n if n % 2 == 0 => LocalTransactionState::CommitMessage,
            _ => LocalTransactionState::RollbackMessage,
        }
    }

    fn check_local(&self, msg: &MessageExt) -> LocalTransactionState {
        println!("broker asks about {:?}", msg.uniq_key());
        LocalTransactionState::CommitMessage
    }
}

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args
        .next()
        .unwrap_or_else(|| "TransactionTopic".to_string());
    let producer = TransactionProducer::builder("example-tx-producer", Orders)
        .name_server(&namesrv)
        .start()?;
    for i in 1..=10 {
        let r = producer.send_in_transaction(Message::new(topic.as_str(), format!("order {i}")))?;
        println!("order {i}: {:?} {}", r.local_state, r.send_result.msg_id);
    }
    println!("waiting 90 s for check-backs of the unknown transactions");
    std::thread::sleep(Duration::from_secs(90));
    Ok(())
}
