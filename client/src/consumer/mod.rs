//! Consumers.
pub mod allocate;
pub mod process_queue;
pub mod rebalance;
