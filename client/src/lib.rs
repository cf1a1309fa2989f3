//! ferromq client (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
mod compress;
pub mod config;
pub mod consumer;
pub mod error;
mod inbound;
pub mod instance;
pub mod md5;
pub mod producer;
pub mod route;
pub mod scheduler;

pub use config::ClientConfig;
pub use error::{Error, Result};
pub use instance::ClientInstance;
pub use producer::{
    LocalTransactionState, MessageQueueSelector, Producer, ProducerConfig, SendFuture,
    SendResult, SendStatus, TransactionListener, TransactionProducer, TransactionSendResult,
};
pub use consumer::{
    ConcurrentContext, ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeOrderlyStatus,
    LitePullConsumer, MessageModel, OrderlyContext, PushConsumer,
};
pub use protocol::body::MessageQueue;
pub use protocol::message::{Message, MessageExt};
