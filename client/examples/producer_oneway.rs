//! Sends one-way messages (no answer from the broker).
//!
//! `cargo run -p client --example producer_oneway -- 127.0.0.1:9876 [topic]`

mod support;

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TopicTest");
    let producer = Producer::builder("example-oneway-producer")
        .name_server(&namesrv)
        .start()?;
    for i in 0..10 {
        producer.send_oneway(Message::new(topic.as_str(), format!("oneway {i}")))?;
    }
    println!("sent 10 one-way messages to {topic}");
    // Dropping the producer flushes the connection before the client shuts down.
    Ok(())
}
