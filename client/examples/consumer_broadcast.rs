//! A broadcasting consumer: every running copy receives every message; offsets are kept in
//! `~/.rocketmq_offsets`. Stops after 60 s.
//!
//! `cargo run -p client --example consumer_broadcast -- 127.0.0.1:9876 [topic]`

use std::time::Duration;

use client::{
    ConcurrentContext, ConsumeConcurrentlyStatus, MessageExt, MessageModel, PushConsumer,
};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args.next().unwrap_or_else(|| "TopicTest".to_string());
    let consumer = PushConsumer::builder("example-broadcast-consumer")
        .name_server(&namesrv)
        .message_model(MessageModel::Broadcasting)
        .subscribe(topic, "*")
        .listener_concurrently(|msgs: &[MessageExt], _: &mut ConcurrentContext| {
            for m in msgs {
                println!("{} {}", m.queue_offset, String::from_utf8_lossy(&m.body));
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?;
    std::thread::sleep(Duration::from_secs(60));
    println!("offsets at exit: {:?}", consumer.offsets());
    Ok(())
}
