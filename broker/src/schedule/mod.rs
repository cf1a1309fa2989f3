//! Delay (scheduled) messages, wire reference §7.
//!
//! | module | what it owns |
//! |---|---|
//! | [`delay`] | pure arithmetic: due check, put-side rewrite to `SCHEDULE_TOPIC_XXXX`, the real message built at delivery |
//! | [`offset_table`] | `DelayOffsetTable`: per-level progress, persisted as `config/delayOffset.json` |
//! | [`service`] | `ScheduleMessageService`: the `schedule` thread delivering due messages |
//!
//! Flow: the send path calls [`delay::rewrite_for_delay`] and stores the message in queue
//! `level − 1` of `SCHEDULE_TOPIC_XXXX`; the store's dispatcher writes the delivery time
//! (store time + level delay) as the unit's tags code; the service re-puts each due message to
//! `REAL_TOPIC`/`REAL_QID`. Delay levels use RocketMQ's units (`s`, `m`, `h`, `d`) and come
//! from the store's `messageDelayLevel`, so dispatcher and service agree. Not owned here: the
//! send processor, and the store's dispatch.

pub mod delay;
pub mod offset_table;
pub mod service;

pub use delay::{build_real_message, due, rewrite_for_delay, DelayRewrite, SCHEDULE_TOPIC};
pub use offset_table::DelayOffsetTable;
pub use service::{deliver_level, LevelPass, ScheduleConfig, ScheduleMessageService};
