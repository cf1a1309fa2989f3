//! A clustering push consumer printing what it receives. Run it twice to see the queues
//! split between the two processes. Stops after `RUN_SECS` (default 60) or once
//! `EXPECT_MESSAGES` messages arrived (see `support`).
//!
//! `cargo run -p client --example consumer_push -- 127.0.0.1:9876 [topic] [tag-expression]`

mod support;

use client::{ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, MessageExt, PushConsumer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, rest) = support::args("TopicTest");
    let expression = rest.first().cloned().unwrap_or_else(|| "*".to_string());
    let received = support::Received::default();
    let counter = received.clone();
    let consumer = PushConsumer::builder("example-push-consumer")
        .name_server(&namesrv)
        .subscribe(topic, expression)
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(move |msgs: &[MessageExt], ctx: &mut ConcurrentContext| {
            for m in msgs {
                println!(
                    "{} offset={} tags={:?} reconsume={} body={}",
                    ctx.queue,
                    m.queue_offset,
                    m.tags(),
                    m.reconsume_times,
                    String::from_utf8_lossy(&m.body)
                );
            }
            counter.add(msgs.len());
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?;
    let total = received.wait(60)?;
    println!("received {total} messages");
    println!("assigned queues at exit: {:?}", consumer.assigned_queues());
    Ok(())
}
