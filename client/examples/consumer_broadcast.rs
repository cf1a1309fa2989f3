//! A broadcasting consumer: every running copy receives every message; offsets are kept in
//! `OFFSET_STORE_DIR` (default `~/.rocketmq_offsets`). Starts from the first stored message
//! the first time. Stops after `RUN_SECS` (default 60) or once `EXPECT_MESSAGES` messages
//! arrived (see `support`).
//!
//! `cargo run -p client --example consumer_broadcast -- 127.0.0.1:9876 [topic]`

mod support;

use client::{
    ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, MessageExt, MessageModel,
    PushConsumer,
};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TopicTest");
    let received = support::Received::default();
    let counter = received.clone();
    let mut builder = PushConsumer::builder("example-broadcast-consumer")
        .name_server(&namesrv)
        .message_model(MessageModel::Broadcasting)
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe(topic, "*");
    if let Ok(dir) = std::env::var("OFFSET_STORE_DIR") {
        builder = builder.offset_store_dir(dir);
    }
    let consumer = builder
        .listener_concurrently(move |msgs: &[MessageExt], _: &mut ConcurrentContext| {
            for m in msgs {
                println!("{} {}", m.queue_offset, String::from_utf8_lossy(&m.body));
            }
            counter.add(msgs.len());
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?;
    let total = received.wait(60)?;
    println!("received {total} messages");
    println!("offsets at exit: {:?}", consumer.offsets());
    Ok(())
}
