//! The "client in 20 lines" of the README (kept here so it is compiled and cannot rot).
//! Run: `cargo run -p client --example readme` with a NameServer on 127.0.0.1:9876.

use client::{
    ConcurrentContext, ConsumeConcurrentlyStatus, Message, MessageExt, Producer, PushConsumer,
};

fn main() -> Result<(), client::Error> {
    let producer = Producer::builder("my_producers")
        .name_server("127.0.0.1:9876")
        .start()?;
    let result = producer.send(Message::new("TopicTest", "hello").with_tags("TagA"))?;
    println!(
        "sent {} to queue {} at offset {}",
        result.msg_id, result.queue.queue_id, result.queue_offset
    );

    let consumer = PushConsumer::builder("my_consumers")
        .name_server("127.0.0.1:9876")
        .subscribe("TopicTest", "TagA || TagB")
        .listener_concurrently(|msgs: &[MessageExt], _: &mut ConcurrentContext| {
            for m in msgs {
                println!("received {}", String::from_utf8_lossy(&m.body));
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?;
    std::thread::sleep(std::time::Duration::from_secs(5));
    consumer.close();
    Ok(())
}
