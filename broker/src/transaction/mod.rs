//! Transactional messages, wire reference §8 and §2.3.
//!
//! | module | what it owns |
//! |---|---|
//! | [`half`] | pure record builders: half message (put side), committed message, op record, renewed/discarded copies, check body |
//! | [`mod@end_transaction`] | END_TRANSACTION (37): checks, commit (real message + op record), rollback (op record) |
//! | [`check`] | one check round over the half and op queues with an explicit `now_ms` |
//! | [`check_service`] | `TransactionalMessageCheckService`: the periodic `transaction-check` thread |
//!
//! Storage: a prepared message is stored as a half message in `RMQ_SYS_TRANS_HALF_TOPIC`
//! queue 0 with transaction type NOT_TYPE (so it is dispatched and can be walked); resolution is
//! an op record in `RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0 whose body names the half offset; the
//! check walks both with the internal group `CID_RMQ_SYS_TRANS` offsets of the
//! `ConsumerOffsetManager`. Not owned here: the send processor (which calls
//! [`half::to_half_message`]) and the sockets (the broker sends [`check::CheckRequest`]s).

pub mod check;
pub mod check_service;
pub mod end_transaction;
pub mod half;

pub use check::{
    check_round, CheckReport, CheckRequest, TransactionCheckConfig, TransactionOffsets,
};
pub use check_service::{CheckHooks, CheckListener, EnsureTopic, TransactionalMessageCheckService};
pub use end_transaction::{end_transaction, EndTransactionConfig, EndTxOutcome};
pub use half::{to_half_message, HalfTarget};
