//! The two header serializations of RocketMQ: [`json`] (serialize type 0, what Java clients send
//! by default) and [`binary`] ("ROCKETMQ", type 1). Both encode and decode the same logical
//! fields of [`RemotingCommand`](crate::RemotingCommand); the frame carries which one is used.

pub mod binary;
pub mod json;
