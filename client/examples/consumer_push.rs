//! A clustering push consumer printing what it receives; Ctrl-C (or 60 s) to stop.
//! Run it twice to see the queues split between the two processes.
//!
//! `cargo run -p client --example consumer_push -- 127.0.0.1:9876 [topic] [tag-expression]`

use std::time::Duration;

use client::{ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, MessageExt, PushConsumer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let namesrv = args
        .next()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let topic = args.next().unwrap_or_else(|| "TopicTest".to_string());
    let expression = args.next().unwrap_or_else(|| "*".to_string());
    let consumer = PushConsumer::builder("example-push-consumer")
        .name_server(&namesrv)
        .subscribe(topic, expression)
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(|msgs: &[MessageExt], ctx: &mut ConcurrentContext| {
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
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?;
    std::thread::sleep(Duration::from_secs(60));
    println!("assigned queues at exit: {:?}", consumer.assigned_queues());
    Ok(())
}
