//! Producers.
pub mod validate;
