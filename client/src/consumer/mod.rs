//! Consumers: [`PushConsumer`] (listener driven) and [`LitePullConsumer`] (polled), their
//! shared pure cores (allocation, rebalance diff, process queue) and offset stores.
//!
//! | module | owns |
//! |---|---|
//! | [`push`] | [`PushConsumer`], its builder and config, the pull-result handling |
//! | `push_rebalance` | applying rebalance results, orderly queue locks |
//! | `consume_concurrent` / `consume_orderly` | the two consume services |
//! | [`pull`] | [`LitePullConsumer`] |
//! | [`listener`] | listener traits, statuses and contexts |
//! | [`allocate`] | queue allocation strategies (pure) |
//! | [`rebalance`] | target assignment and diff (pure) |
//! | [`process_queue`] | in-flight messages, commit watermark, flow control (pure core) |
//! | [`offset_store`] | broker-backed and file-backed offsets |
//! | `group` | state shared by both consumer kinds: subscriptions, start offsets, pull results |
//! | `pull_loop` | the asynchronous per-queue pull loop |

pub mod allocate;
mod consume_concurrent;
mod consume_orderly;
mod group;
pub mod listener;
pub mod offset_store;
pub mod process_queue;
pub mod pull;
mod pull_inner;
mod pull_loop;
pub mod push;
mod push_config;
mod push_rebalance;
pub mod rebalance;
mod running_info;

pub use allocate::{
    AllocateStrategy, Averagely, AveragelyByCircle, ByConfig, ByMachineRoom, ConsistentHash,
    MachineRoomNearby, MachineRoomResolver,
};
pub use group::{process_pulled, reset_retry_topic, retry_topic, ConsumeFrom};
pub use listener::{
    ConcurrentContext, ConcurrentListener, ConsumeConcurrentlyStatus, ConsumeOrderlyStatus,
    MessageListener, OrderlyContext, OrderlyListener,
};
pub use protocol::body::MessageModel;
pub use pull::{LitePullConsumer, LitePullConsumerBuilder, LitePullConsumerConfig};
pub use push::PushConsumer;
pub use push_config::{PushConsumerBuilder, PushConsumerConfig};
