//! # tools: ferromq's command-line tools
//!
//! | module | owns |
//! |---|---|
//! | [`bench`](mod@bench) | `mqbench`: producer, consumer and end-to-end throughput/latency benchmarks |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bench;
