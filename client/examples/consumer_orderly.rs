//! An orderly push consumer: each queue is locked on its broker and consumed in order by one
//! thread at a time. Stops after `RUN_SECS` (default 60) or once `EXPECT_MESSAGES` messages
//! arrived (see `support`).
//!
//! `cargo run -p client --example consumer_orderly -- 127.0.0.1:9876 [topic]`

mod support;

use client::{ConsumeFrom, ConsumeOrderlyStatus, MessageExt, OrderlyContext, PushConsumer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("OrderTopic");
    let received = support::Received::default();
    let counter = received.clone();
    let _consumer = PushConsumer::builder("example-orderly-consumer")
        .name_server(&namesrv)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_orderly(move |msgs: &[MessageExt], ctx: &mut OrderlyContext| {
            for m in msgs {
                println!(
                    "{} {} {}",
                    ctx.queue,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
            }
            counter.add(msgs.len());
            ConsumeOrderlyStatus::Success
        })
        .start()?;
    let total = received.wait(60)?;
    println!("received {total} messages");
    Ok(())
}
