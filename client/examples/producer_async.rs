//! Sends messages asynchronously: with futures and with callbacks.
//!
//! `cargo run -p client --example producer_async -- 127.0.0.1:9876 [topic]`

mod support;

use std::sync::mpsc;

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TopicTest");
    let producer = Producer::builder("example-async-producer")
        .name_server(&namesrv)
        .start()?;
    let futures: Vec<_> = (0..10)
        .map(|i| producer.send_async(Message::new(topic.as_str(), format!("async {i}"))))
        .collect();
    for f in futures {
        match f.wait() {
            Ok(r) => println!("future: {:?} {} {}", r.status, r.msg_id, r.queue),
            Err(e) => eprintln!("future failed: {e}"),
        }
    }
    let (tx, rx) = mpsc::channel();
    for i in 0..10 {
        let tx = tx.clone();
        producer.send_with_callback(
            Message::new(topic.as_str(), format!("callback {i}")),
            move |r| {
                let _ = tx.send(r);
            },
        );
    }
    drop(tx);
    for r in rx {
        match r {
            Ok(r) => println!("callback: {:?} {}", r.status, r.msg_id),
            Err(e) => eprintln!("callback failed: {e}"),
        }
    }
    Ok(())
}
