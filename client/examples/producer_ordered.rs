//! Ordered sends: the steps of each order go to one queue, selected by the order id.
//!
//! `cargo run -p client --example producer_ordered -- 127.0.0.1:9876 [topic]`

mod support;

use client::{Message, Producer};

fn main() -> Result<(), client::Error> {
    env_logger::init();
    let (namesrv, topic, _) = support::args("OrderTopic");
    let producer = Producer::builder("example-ordered-producer")
        .name_server(&namesrv)
        .start()?;
    for order in 0..3 {
        let key = format!("order-{order}");
        for step in ["created", "paid", "shipped", "delivered"] {
            let msg =
                Message::new(topic.as_str(), format!("{key} {step}")).with_keys([key.as_str()]);
            let r = producer.send_ordered(msg, &key)?;
            println!("{key} {step} -> {}", r.queue);
        }
    }
    Ok(())
}
