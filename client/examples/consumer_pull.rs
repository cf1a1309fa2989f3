//! A lite pull consumer: assigns every queue of the topic, reads everything from the start,
//! commits, and exits when a poll comes back empty.
//!
//! `cargo run -p client --example consumer_pull -- 127.0.0.1:9876 [topic]`

mod support;

use std::time::Duration;

use client::LitePullConsumer;

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("TopicTest");
    let consumer = LitePullConsumer::builder("example-pull-consumer")
        .name_server(&namesrv)
        .auto_commit(false)
        .start()?;
    let queues = consumer.fetch_message_queues(&topic)?;
    consumer.assign(queues.clone())?;
    for mq in &queues {
        consumer.seek_to_begin(mq)?;
    }
    let mut total = 0;
    loop {
        let msgs = consumer.poll(Duration::from_secs(3))?;
        if msgs.is_empty() {
            break;
        }
        for m in &msgs {
            println!(
                "{} q{} offset={} {}",
                m.topic,
                m.queue_id,
                m.queue_offset,
                String::from_utf8_lossy(&m.body)
            );
        }
        total += msgs.len();
        consumer.commit()?;
    }
    println!("read {total} messages");
    Ok(())
}
