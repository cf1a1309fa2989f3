//! Sends ten messages synchronously and prints each result.
//!
//! `cargo run -p client --example producer_sync -- 127.0.0.1:9876 [topic]`
//! (or set NAMESRV_ADDR).

mod support;

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TopicTest");
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
