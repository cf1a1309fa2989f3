//! Sends ten messages synchronously and prints each result.
//!
//! `cargo run -p client --example producer_sync -- 127.0.0.1:9876 [topic]`
//! (or set NAMESRV_ADDR).

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args.next().unwrap_or_else(|| "TopicTest".to_string());
    let producer = Producer::builder("example-sync-producer")
        .name_server(&namesrv)
        .start()?;
    for i in 0..10 {
        let msg = Message::new(topic.as_str(), format!("Hello ferromq {i}"))
            .with_tags("TagA")
            .with_keys([format!("key-{i}")]);
        let r = producer.send(msg)?;
        println!(
            "{:?} msgId={} offsetMsgId={} {} offset={}",
            r.status, r.msg_id, r.offset_msg_id, r.queue, r.queue_offset
        );
    }
    Ok(())
}
