//! Sends a batch of messages in one request.
//!
//! `cargo run -p client --example producer_batch -- 127.0.0.1:9876 [topic]`

mod support;

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TopicTest");
    let producer = Producer::builder("example-batch-producer")
        .name_server(&namesrv)
        .start()?;
    let batch: Vec<Message> = (0..16)
        .map(|i| Message::new(topic.as_str(), format!("batch item {i}")).with_tags("Batch"))
        .collect();
    let r = producer.send_batch(batch)?;
    println!("{:?} {} first offset {}", r.status, r.queue, r.queue_offset);
    println!("msgIds: {}", r.msg_id);
    Ok(())
}
