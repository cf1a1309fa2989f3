//! Sends a batch of messages in one request.
//!
//! `cargo run -p client --example producer_batch -- 127.0.0.1:9876 [topic]`

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args.next().unwrap_or_else(|| "TopicTest".to_string());
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
