//! An orderly push consumer: each queue is locked on its broker and consumed in order by one
//! thread at a time. Stops after 60 s.
//!
//! `cargo run -p client --example consumer_orderly -- 127.0.0.1:9876 [topic]`

use std::time::Duration;

use client::{ConsumeFrom, ConsumeOrderlyStatus, MessageExt, OrderlyContext, PushConsumer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args.next().unwrap_or_else(|| "OrderTopic".to_string());
    let _consumer = PushConsumer::builder("example-orderly-consumer")
        .name_server(&namesrv)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_orderly(|msgs: &[MessageExt], ctx: &mut OrderlyContext| {
            for m in msgs {
                println!(
                    "{} {} {}",
                    ctx.queue,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
            }
            ConsumeOrderlyStatus::Success
        })
        .start()?;
    std::thread::sleep(Duration::from_secs(60));
    Ok(())
}
